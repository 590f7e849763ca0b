"""The streaming layer: the Kinesis ingest stream, the ingest Lambda (``lambda_src/ingest``) with its log group
and failure queue, and the event source mapping between them; with ``[services] msk`` (dev, prod) the MSK cluster
in the network's private subnets, the MSK ingest Lambda (``lambda_src/ingest_msk``, in the same subnets and the
data services' security group: the brokers are private) and its event source mapping on the ingest topic; with
``[services] msk_ingest_lambda`` (local) the MSK ingest Lambda alone: no emulator creates MSK or accepts a Kafka
event source mapping, so the local Kafka broker (its address: the ``kafka_bootstrap_servers`` variable) and
``local_runtime.msk_poller`` stand in, the poller reading the mapping's settings from the ``msk_ingest_mapping``
output. Both mappings take their settings from :func:`msk_mapping_settings` (``[msk]``): one definition.

Valid records land in bronze, contract violations in quarantine (``data_contracts.layout``). The function
may only put the stream's objects (``layout.STREAM_BRONZE_KEY_GLOB``, ``layout.STREAM_QUARANTINE_KEY_GLOB``)
and list those same keys (its shard's objects, to find what an earlier delivery already wrote); it never
deletes, and never touches the backfill's objects, the landing zone or the documents. The MSK function likewise,
with the MSK objects' keys (``layout.MSK_BRONZE_KEY_GLOB``, ``layout.MSK_QUARANTINE_KEY_GLOB``).
"""
from __future__ import annotations

from compose.foundation import Foundation, KeyUsers, Naming
from compose.monitoring import FUNCTION_METRICS
from compose.inputs import INGEST_FUNCTION, INGEST_MSK_FUNCTION, KAFKA_TOPICS_FUNCTION, BuildInputs
from compose.outputs import StackOutput
from environments import EnvironmentConfig
from data_contracts import layout, metrics, topics
from modules.iam import Condition, Statement
from modules.kafka_topics_props import KafkaTopicsProps, TopicSpec
from modules.kinesis_ingest_props import KinesisEventSourceProps
from modules.kinesis_props import KinesisStreamProps
from modules.lambda_function_props import PythonFunctionProps
from modules.msk_ingest_props import MskEventSourceProps
from modules.msk_props import MskClusterProps
from modules._bindings import core

def _has_msk_function(config: EnvironmentConfig) -> bool:
    """The MSK ingest function exists: with its cluster (``msk``) or alone (``msk_ingest_lambda``, local)."""
    return config.services.msk or config.services.msk_ingest_lambda


OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("ingest_stream_name", "kinesis", "Kinesis stream receiving raw events"),
    StackOutput("ingest_stream_arn", "kinesis", "ARN of the ingest Kinesis stream"),
    StackOutput("ingest_function_name", "ingest_lambda", "Name of the ingest Lambda function"),
    StackOutput("ingest_failure_queue_url", "ingest_lambda", "SQS queue receiving failed ingest batches/events"),
    StackOutput("msk_cluster_arn", "msk", "ARN of the MSK cluster"),
    StackOutput("msk_bootstrap_brokers_sasl_iam", "msk", "Private SASL/IAM bootstrap brokers (host:9098,...)"),
    StackOutput("ingest_bootstrap_servers", None, "Bootstrap servers of the Kafka cluster the MSK ingest function "
                "reads (MSK: SASL/IAM on 9098; local: the plaintext local broker)", when=_has_msk_function),
    StackOutput("ingest_topic", None, "Kafka topic the MSK ingest function consumes", when=_has_msk_function),
    StackOutput("msk_ingest_function_name", None, "Name of the MSK ingest Lambda function", when=_has_msk_function),
    StackOutput("msk_ingest_failure_queue_url", None, "SQS queue receiving failed MSK ingest batches",
                when=_has_msk_function),
    StackOutput("msk_ingest_mapping", None, "Settings of the MSK ingest event source mapping (topic, consumer group, "
                "starting position, batch size, batching window, on-failure destination)", when=_has_msk_function),
)

MSK_POLLER_ENDPOINTS: tuple[str, ...] = ("sts", "lambda")
"""Interface endpoints Lambda's MSK poller needs in a VPC without NAT (the network layer adds them with MSK)."""


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The stream, the function's environment and the failure queue encrypt with the key; MSK its brokers'
    storage."""
    return KeyUsers(via_services=("kinesis", "lambda", "sqs", *(("kafka",) if config.services.msk else ())))


def ingest_s3_statements(bronze_arn: str, quarantine_arn: str, *, bronze_glob: str = layout.STREAM_BRONZE_KEY_GLOB,
                         quarantine_glob: str = layout.STREAM_QUARANTINE_KEY_GLOB) -> tuple[Statement, ...]:
    """An ingest function's S3 grants: put the stream's bronze and quarantine objects, and list exactly those
    keys in each bucket (the handler lists ``bronze_partition_prefix(...) + "kinesis-<shardId>-"`` and the
    quarantine's ``source=kinesis/ingest_date=<day>/kinesis-<shardId>-``; the MSK function the same with its
    ``msk-<topic partition>-`` objects: :func:`msk_ingest_s3_statements`)."""
    return (
        Statement(sid="PutStreamObjects", actions=("s3:PutObject",),
                  resources=(f"{bronze_arn}/{bronze_glob}", f"{quarantine_arn}/{quarantine_glob}")),
        Statement(sid="ListStreamBronzeObjects", actions=("s3:ListBucket",), resources=(bronze_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", (bronze_glob,)),)),
        Statement(sid="ListStreamQuarantineObjects", actions=("s3:ListBucket",), resources=(quarantine_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", (quarantine_glob,)),)),
    )


def msk_ingest_s3_statements(bronze_arn: str, quarantine_arn: str) -> tuple[Statement, ...]:
    """The MSK ingest function's S3 grants: :func:`ingest_s3_statements` for the MSK objects' keys."""
    return ingest_s3_statements(bronze_arn, quarantine_arn, bronze_glob=layout.MSK_BRONZE_KEY_GLOB,
                                quarantine_glob=layout.MSK_QUARANTINE_KEY_GLOB)


def ingest_environment(config: EnvironmentConfig, lake, service: str) -> dict[str, str]:
    """The environment of an ingest function (the buckets it writes, Powertools' service and log level).
    ``service``: the function's name (its metrics' ``service`` dimension, which its alarms watch)."""
    return {
        "BRONZE_BUCKET": lake.bucket_names["bronze"],
        "QUARANTINE_BUCKET": lake.bucket_names["quarantine"],
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
        "LOG_LEVEL": config.lambda_.log_level,
    }


def build(base: Foundation, inputs: BuildInputs) -> None:
    from modules.kinesis import KinesisStream
    from modules.kinesis_ingest import KinesisEventSource
    from modules.lambda_function import PythonFunction

    stack, names, key, lake = base.stack, base.naming, base.key, base.lake
    config, prefix, tags = names.config, names.prefix, names.tags
    svc = config.services

    stream = KinesisStream(stack, "ingest_stream", KinesisStreamProps(
        name=f"{prefix}-ingest", kms_key_arn=key.arn, **config.kinesis.values_for(KinesisStreamProps),
        **config.values_for(KinesisStreamProps),
        tags=tags, create=svc.kinesis,
    ))
    if stream.name:
        base.outputs.emit("ingest_stream_name", stream.name)
        base.outputs.emit("ingest_stream_arn", stream.arn)
    if svc.msk:
        _msk(base, inputs)
    elif svc.msk_ingest_lambda:
        _local_msk_function(base, inputs)
    if not svc.ingest_lambda:
        return

    lam = config.lambda_
    bronze, quarantine = lake.bucket_arns["bronze"], lake.bucket_arns["quarantine"]
    fn = PythonFunction(stack, "ingest_function", PythonFunctionProps(
        function_name=f"{prefix}-ingest", zip_path=inputs.lambda_zips[INGEST_FUNCTION],
        description="Kinesis -> validated records in bronze, rejects in quarantine",
        **lam.values_for(PythonFunctionProps), kms_key_arn=key.arn,
        **config.values_for(PythonFunctionProps),
        environment=ingest_environment(config, lake, f"{prefix}-ingest"),
        policy_statements=ingest_s3_statements(bronze, quarantine), app_metrics=FUNCTION_METRICS,
        tags=tags,
    ))
    KinesisEventSource(stack, "ingest_source", KinesisEventSourceProps(
        function_name=fn.arn, stream_arn=stream.arn, on_failure_destination_arn=fn.failure_queue_arn,
        role_name=fn.role_name, **lam.values_for(KinesisEventSourceProps), tags=tags,
    ))
    base.outputs.emit("ingest_function_name", fn.function_name)
    base.outputs.emit("ingest_failure_queue_url", fn.failure_queue_url)


def msk_mapping_settings(config: EnvironmentConfig) -> dict:
    """The MSK ingest mapping's settings, from ``[msk]`` and the topic's one definition: the dev/prod
    :class:`~modules.msk_ingest.MskEventSource` takes them, the local poller reads them from the
    ``msk_ingest_mapping`` output."""
    return {"topic": topics.INGEST_TOPIC, **config.msk.values_for(MskEventSourceProps)}


def _msk_function(base: Foundation, inputs: BuildInputs, subnets: tuple = (), groups: tuple = ()):
    """The MSK ingest function (in ``subnets`` with ``groups`` where the cluster is in a VPC)."""
    from modules.lambda_function import PythonFunction

    names, key, lake = base.naming, base.key, base.lake
    config, prefix, tags = names.config, names.prefix, names.tags
    bronze, quarantine = lake.bucket_arns["bronze"], lake.bucket_arns["quarantine"]
    return PythonFunction(base.stack, "ingest_msk_function", PythonFunctionProps(
        function_name=f"{prefix}-ingest-msk", zip_path=inputs.lambda_zips[INGEST_MSK_FUNCTION],
        description="MSK topic -> validated records in bronze, rejects in quarantine",
        **{**config.lambda_.values_for(PythonFunctionProps), **config.msk.values_for(PythonFunctionProps)},
        kms_key_arn=key.arn, **config.values_for(PythonFunctionProps),
        environment=ingest_environment(config, lake, f"{prefix}-ingest-msk"), app_metrics=FUNCTION_METRICS,
        subnet_ids=subnets, security_group_ids=groups,
        policy_statements=msk_ingest_s3_statements(bronze, quarantine), tags=tags,
    ))


def _emit_msk_function_outputs(base: Foundation, fn, bootstrap_servers, settings: dict) -> None:
    base.outputs.emit("ingest_bootstrap_servers", bootstrap_servers)
    base.outputs.emit("ingest_topic", settings["topic"])
    base.outputs.emit("msk_ingest_function_name", fn.function_name)
    base.outputs.emit("msk_ingest_failure_queue_url", fn.failure_queue_url)
    base.outputs.emit("msk_ingest_mapping", {**settings, "function_name": fn.function_name,
                                             "on_failure_destination_arn": fn.failure_queue_arn})


def _local_msk_function(base: Foundation, inputs: BuildInputs) -> None:
    """Local: the MSK ingest function alone; the local broker's address comes in as a variable (its port is
    per machine: ``local_runtime.stacks`` passes it)."""
    TerraformVariable = core.TerraformVariable

    bootstrap = TerraformVariable(
        base.stack, "kafka_bootstrap_servers", type="string", default="",
        description="The local Kafka broker (host:port) standing in for MSK; local_runtime.stacks passes it "
                    "(empty: an apply that names no broker)")
    fn = _msk_function(base, inputs)
    _emit_msk_function_outputs(base, fn, bootstrap.string_value, msk_mapping_settings(base.naming.config))


def _msk(base: Foundation, inputs: BuildInputs) -> None:
    """The MSK cluster, its ingest topic (created by the topic-admin function during the apply), the MSK ingest
    function in its subnets and the mapping between them (created once the topic exists)."""
    from modules.kafka_topics import KafkaTopics
    from modules.msk import MskCluster
    from modules.msk_ingest import MskEventSource

    stack, names, key, network = base.stack, base.naming, base.key, base.network
    config, prefix, tags = names.config, names.prefix, names.tags
    subnets, groups = tuple(network.private_subnet_ids), (network.data_security_group_id,)
    msk = config.msk
    cluster = MskCluster(stack, "msk", MskClusterProps(
        name=prefix, subnet_ids=subnets, security_group_ids=groups, kms_key_arn=key.arn, region=config.region,
        account_id=names.account_id, partition=names.partition, log_retention_days=config.log_retention_days,
        ingest_topic=topics.INGEST_TOPIC, topic_partitions=topics.INGEST_TOPIC_PARTITIONS,
        **msk.values_for(MskClusterProps), tags=tags,
    ))
    ingest_topic = TopicSpec(topics.INGEST_TOPIC, topics.INGEST_TOPIC_PARTITIONS)
    topic_admin = KafkaTopics(stack, "kafka_topics", KafkaTopicsProps(
        function_name=f"{prefix}-kafka-topics", zip_path=inputs.lambda_zips[KAFKA_TOPICS_FUNCTION],
        bootstrap_servers=cluster.bootstrap_brokers_sasl_iam, topics=(ingest_topic,), auth="iam",
        cluster_arn=cluster.arn, topic_arns=(cluster.topic_arn(ingest_topic.name),),
        subnet_ids=subnets, security_group_ids=groups, kms_key_arn=key.arn,
        log_retention_days=config.log_retention_days,
        function_settings={"architecture": config.lambda_.architecture},
        tags=tags,
    ))
    fn = _msk_function(base, inputs, subnets, groups)
    settings = msk_mapping_settings(config)
    source = MskEventSource(stack, "ingest_msk_source", MskEventSourceProps(
        function_name=fn.arn, cluster_arn=cluster.arn, topic_arn=cluster.ingest_topic_arn,
        group_arn=cluster.group_arn(msk.consumer_group_id), subnet_ids=subnets, security_group_ids=groups,
        on_failure_destination_arn=fn.failure_queue_arn, role_name=fn.role_name, **settings, tags=tags,
    ))
    invocation = topic_admin.invocation  # the mapping polls a topic that exists: created after the invocation
    source.mapping.depends_on = [*(source.mapping.depends_on or ()),
                                 f"{invocation.terraform_resource_type}.{invocation.friendly_unique_id}"]
    base.outputs.emit("msk_cluster_arn", cluster.arn)
    base.outputs.emit("msk_bootstrap_brokers_sasl_iam", cluster.bootstrap_brokers_sasl_iam)
    _emit_msk_function_outputs(base, fn, cluster.bootstrap_brokers_sasl_iam, settings)
