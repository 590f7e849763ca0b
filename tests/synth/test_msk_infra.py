"""MSK ingestion on AWS: compliance of the dev and prod stacks (``synth``) and of the constructs alone
(``bindings``): the cluster private in the network's subnets, SASL/IAM the only authentication, TLS only, the lake
key at rest, broker logs to a KMS log group, enhanced monitoring, a configuration without topic auto-creation;
the MSK ingest function in the private subnets with its event source mapping on the ingest topic, and its role
granted the poller's cluster, topic, group and network-interface actions and nothing more; nothing of it in
local."""
from __future__ import annotations

import json

import pytest

from compose.streaming import MSK_POLLER_ENDPOINTS, OUTPUTS as STREAMING_OUTPUTS
from data_contracts import layout, topics
from modules.lambda_function_props import PythonFunctionProps
from modules.msk_ingest_props import MskEventSourceProps
from modules.msk_props import MskClusterProps
from modules.options import OptionError

from .test_constructs import TAGS, new_stack, synth_json

CLOUD = ("dev", "prod")
MSK_OUTPUTS = ("msk_cluster_arn", "msk_bootstrap_brokers_sasl_iam", "ingest_topic")


def _policy(synth, env, name_part):
    (policy,) = [json.loads(p["policy"]) for n, p in synth.resources(env, "aws_iam_role_policy").items()
                 if name_part in n]
    return {s["Sid"]: s for s in policy["Statement"]}


def _actions(statement) -> set[str]:
    return set([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])


@pytest.mark.parametrize("env", CLOUD)
def test_the_cluster_is_private_iam_only_tls_only_encrypted_logged_and_monitored(synth, env):
    cfg = synth.configs[env]
    (cluster,) = synth.resources(env, "aws_msk_cluster").values()
    brokers = cluster["broker_node_group_info"]
    assert brokers["connectivity_info"]["public_access"]["type"] == "DISABLED"
    assert brokers["client_subnets"] == [f"${{aws_subnet.{n}.id}}" for n in sorted(synth.resources(env, "aws_subnet"))]
    (group,) = brokers["security_groups"]
    assert group.startswith("${aws_security_group.network_data_sg_")
    assert brokers["instance_type"] == cfg.msk.broker_instance_type
    assert brokers["storage_info"]["ebs_storage_info"]["volume_size"] == cfg.msk.ebs_volume_gb
    assert cluster["number_of_broker_nodes"] == cfg.msk.broker_count
    assert cluster["number_of_broker_nodes"] % len(brokers["client_subnets"]) == 0
    assert cluster["kafka_version"] == cfg.msk.kafka_version
    auth = cluster["client_authentication"]
    assert auth == {"sasl": {"iam": True, "scram": False}, "unauthenticated": False}
    encryption = cluster["encryption_info"]
    assert encryption["encryption_in_transit"] == {"client_broker": "TLS", "in_cluster": True}
    assert encryption["encryption_at_rest_kms_key_arn"].startswith("${aws_kms_key.")
    logs = cluster["logging_info"]["broker_logs"]["cloudwatch_logs"]
    assert logs["enabled"] is True
    (log_group,) = [g for n, g in synth.resources(env, "aws_cloudwatch_log_group").items() if n in logs["log_group"]]
    assert log_group["name"] == f"/aws/msk/{cfg.name_prefix}" and log_group["kms_key_id"].startswith("${aws_kms_key.")
    assert log_group["retention_in_days"] == cfg.log_retention_days
    assert cluster["enhanced_monitoring"] == cfg.msk.enhanced_monitoring == "PER_TOPIC_PER_BROKER"
    assert cluster["tags"] == cfg.tags


@pytest.mark.parametrize("env", CLOUD)
def test_the_configuration_creates_no_topic_and_replicates_safely(synth, env):
    (configuration,) = synth.resources(env, "aws_msk_configuration").values()
    (cluster,) = synth.resources(env, "aws_msk_cluster").values()
    assert cluster["configuration_info"]["arn"].startswith("${aws_msk_configuration.")
    props = dict(line.split("=", 1) for line in configuration["server_properties"].splitlines())
    assert props["auto.create.topics.enable"] == "false"
    assert props["default.replication.factor"] == "3" and props["min.insync.replicas"] == "2"
    assert props["num.partitions"] == str(topics.INGEST_TOPIC_PARTITIONS)
    assert props["unclean.leader.election.enable"] == "false"
    assert props["log.retention.hours"] == str(synth.configs[env].msk.retention_hours)
    assert configuration["kafka_versions"] == [cluster["kafka_version"]]


@pytest.mark.parametrize("env", CLOUD)
def test_the_poller_reaches_sts_and_lambda_through_endpoints(synth, env):
    services = {e["service_name"].rsplit(".", 1)[-1] for e in synth.resources(env, "aws_vpc_endpoint").values()}
    assert set(MSK_POLLER_ENDPOINTS) <= services


@pytest.mark.parametrize("env", CLOUD)
def test_the_msk_function_runs_in_the_private_subnets(synth, env):
    cfg = synth.configs[env]
    _, fn = synth.one(env, "aws_lambda_function", "/ingest_msk_function/function")
    assert fn["function_name"] == f"{cfg.name_prefix}-ingest-msk" and fn["handler"] == "app.lambda_handler"
    (cluster,) = synth.resources(env, "aws_msk_cluster").values()
    assert fn["vpc_config"]["subnet_ids"] == cluster["broker_node_group_info"]["client_subnets"]
    assert fn["vpc_config"]["security_group_ids"] == cluster["broker_node_group_info"]["security_groups"]
    assert fn["memory_size"] == cfg.msk.memory_mb and fn["timeout"] == cfg.msk.timeout_seconds
    assert fn["reserved_concurrent_executions"] == cfg.msk.reserved_concurrency
    assert fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"] == fn["function_name"]
    assert fn["kms_key_arn"].startswith("${aws_kms_key.")


@pytest.mark.parametrize("env", CLOUD)
def test_the_event_source_mapping_reads_the_ingest_topic_into_the_function(synth, env):
    cfg = synth.configs[env]
    _, mapping = synth.one(env, "aws_lambda_event_source_mapping", "/ingest_msk_source/mapping")
    source = mapping["event_source_arn"]
    assert source.startswith("${aws_msk_cluster.") and source.endswith(".arn}")
    assert mapping["function_name"].startswith("${aws_lambda_function.ingest_msk_function_")
    assert mapping["topics"] == [topics.INGEST_TOPIC]
    assert mapping["amazon_managed_kafka_event_source_config"] == {"consumer_group_id": cfg.msk.consumer_group_id}
    assert mapping["starting_position"] == cfg.msk.starting_position == "TRIM_HORIZON"
    assert mapping["batch_size"] == cfg.msk.batch_size
    assert mapping["maximum_batching_window_in_seconds"] == cfg.msk.batching_window_seconds
    assert mapping["destination_config"]["on_failure"]["destination_arn"].startswith(
        "${aws_sqs_queue.ingest_msk_function_failure_queue_")
    assert "function_response_types" not in mapping  # Kafka mappings take no partial-batch responses
    grant, topic = mapping["depends_on"]
    assert grant.startswith("aws_iam_role_policy.ingest_msk_source_poller_grant_")
    assert topic.startswith("aws_lambda_invocation.kafka_topics_ensure_")  # polls a topic that exists


@pytest.mark.parametrize("env", CLOUD)
def test_the_topic_admin_creates_the_ingest_topic_during_the_apply_with_create_topic_only(synth, env):
    """The ingest topic is part of the deployment: the topic-admin function, in the cluster's subnets and its
    security group, SASL/IAM against the cluster's IAM brokers, is invoked with the topic's one definition
    (``data_contracts.topics``) and may connect, describe and create that topic, nothing else."""
    (invocation,) = synth.resources(env, "aws_lambda_invocation").values()
    assert json.loads(invocation["input"]) == {"topics": [{
        "name": topics.INGEST_TOPIC, "partitions": topics.INGEST_TOPIC_PARTITIONS, "replication_factor": -1,
        "configs": {}}]}
    assert invocation["function_name"].startswith("${aws_lambda_function.kafka_topics_function_")
    assert set(invocation["triggers"]) == {"topics", "code"}  # runs again when the topics or the code change
    (fn,) = [f for n, f in synth.resources(env, "aws_lambda_function").items() if n.startswith("kafka_topics_")]
    assert fn["environment"]["variables"] == {
        "BOOTSTRAP_SERVERS": synth.docs[env]["output"]["msk_bootstrap_brokers_sasl_iam"]["value"],
        "KAFKA_AUTH": "iam"}
    (msk_fn,) = [f for n, f in synth.resources(env, "aws_lambda_function").items() if n.startswith("ingest_msk_")]
    assert fn["vpc_config"] == msk_fn["vpc_config"] and fn["reserved_concurrent_executions"] == 1
    own = _policy(synth, env, "kafka_topics_function_role_policy")
    kafka = {sid: s for sid, s in own.items() if any(a.startswith("kafka") for a in _actions(s))}
    assert {sid: _actions(s) for sid, s in kafka.items()} == {
        "KafkaConnect": {"kafka-cluster:Connect"},
        "KafkaCreateTopics": {"kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic"}}
    cluster_arn = kafka["KafkaConnect"]["Resource"]
    assert cluster_arn.startswith("${aws_msk_cluster.") and cluster_arn.endswith(".arn}")
    (topic_arn,) = [kafka["KafkaCreateTopics"]["Resource"]]
    assert ":topic/" in topic_arn and topic_arn.endswith("/" + topics.INGEST_TOPIC)


@pytest.mark.parametrize("env", CLOUD)
def test_the_function_role_gets_the_pollers_grants_and_nothing_more(synth, env):
    poller = _policy(synth, env, "ingest_msk_source_poller_grant")
    assert {sid: _actions(s) for sid, s in poller.items()} == {
        "MskDescribeCluster": {"kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"},
        "MskConnect": {"kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"},
        "MskReadTopic": {"kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"},
        "MskConsumerGroup": {"kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"},
        "MskPollerCreateNetworkInterfaces": {"ec2:CreateNetworkInterface"},
        "MskPollerDeleteNetworkInterfaces": {"ec2:DeleteNetworkInterface"},
        "MskPollerDescribeNetwork": {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
                                     "ec2:DescribeSubnets", "ec2:DescribeVpcs"},
    }
    cluster_arn = poller["MskConnect"]["Resource"]
    assert cluster_arn.startswith("${aws_msk_cluster.") and poller["MskDescribeCluster"]["Resource"] == cluster_arn
    assert poller["MskReadTopic"]["Resource"].endswith(f"/{topics.INGEST_TOPIC}")
    assert ":topic/${aws_msk_cluster." in poller["MskReadTopic"]["Resource"]
    assert poller["MskConsumerGroup"]["Resource"].endswith(f":group/${{aws_msk_cluster.{cluster_arn.split('.')[1]}"
                                                           f".cluster_name}}/${{aws_msk_cluster."
                                                           f"{cluster_arn.split('.')[1]}.cluster_uuid}}/"
                                                           f"{synth.configs[env].msk.consumer_group_id}")
    subnets = [r for r in poller["MskPollerCreateNetworkInterfaces"]["Resource"] if ":subnet/" in r]
    assert len(subnets) == len(synth.resources(env, "aws_subnet"))
    own = _policy(synth, env, "ingest_msk_function_role_policy")
    puts = own["PutStreamObjects"]["Resource"]
    assert [p.split("}/", 1)[1] for p in puts] == [layout.MSK_BRONZE_KEY_GLOB, layout.MSK_QUARANTINE_KEY_GLOB]
    assert not any(a.startswith(("s3:Delete", "s3:Get", "kafka-cluster:Write", "kafka-cluster:Create"))
                   for s in (*own.values(), *poller.values()) for a in _actions(s))


@pytest.mark.parametrize("env", CLOUD)
def test_the_stack_outputs_the_cluster_and_the_topic(synth, env):
    outputs = synth.docs[env]["output"]
    assert set(MSK_OUTPUTS) <= set(outputs)
    assert outputs["ingest_topic"]["value"] == topics.INGEST_TOPIC
    assert outputs["msk_bootstrap_brokers_sasl_iam"]["value"].endswith(".bootstrap_brokers_sasl_iam}")
    declared = {o.name: o for o in STREAMING_OUTPUTS}
    assert declared["msk_cluster_arn"].switch == declared["msk_bootstrap_brokers_sasl_iam"].switch == "msk"
    # the topic and the bootstrap servers name what the function reads, with or without a cluster (local)
    assert outputs["ingest_bootstrap_servers"]["value"] == outputs["msk_bootstrap_brokers_sasl_iam"]["value"]
    assert declared["ingest_topic"].expected(synth.configs[env])


def test_local_has_no_msk_cluster_but_the_function_and_the_mapping_settings(synth):
    """No emulator creates MSK or accepts a Kafka event source mapping: locally the stack has the MSK ingest
    function alone, outside a VPC, and outputs the mapping's settings (from the same [msk] settings as the
    dev/prod mapping) and the local broker's address (a variable: its port is per machine) for the poller."""
    doc = synth.docs["local"]
    resources = doc["resource"]
    assert "aws_msk_cluster" not in resources and "aws_msk_serverless_cluster" not in resources
    assert "aws_msk_configuration" not in resources
    assert not [n for n, m in resources["aws_lambda_event_source_mapping"].items() if "topics" in m]
    (fn,) = [f for n, f in resources["aws_lambda_function"].items() if n.startswith("ingest_msk_function")]
    assert "vpc_config" not in fn and fn["handler"] == "app.lambda_handler"
    outputs = doc["output"]
    assert "msk_cluster_arn" not in outputs and "msk_bootstrap_brokers_sasl_iam" not in outputs
    assert outputs["ingest_bootstrap_servers"]["value"] == "${var.kafka_bootstrap_servers}"
    assert doc["variable"]["kafka_bootstrap_servers"]["default"] == ""  # local_runtime.stacks passes the broker
    assert outputs["ingest_topic"]["value"] == topics.INGEST_TOPIC
    config = synth.configs["local"]
    mapping = outputs["msk_ingest_mapping"]["value"]
    assert mapping == {
        "topic": topics.INGEST_TOPIC, "consumer_group_id": config.msk.consumer_group_id,
        "starting_position": config.msk.starting_position, "batch_size": config.msk.batch_size,
        "batching_window_seconds": config.msk.batching_window_seconds,
        "function_name": "${" + f"aws_lambda_function.{fn['//']['metadata']['uniqueId']}.function_name" + "}",
        "on_failure_destination_arn": mapping["on_failure_destination_arn"]}
    assert mapping["on_failure_destination_arn"].startswith("${aws_sqs_queue.ingest_msk_function_failure_queue")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_mapping_output_names_the_deployed_mappings_settings(synth, env):
    """One definition: the dev/prod mapping and its ``msk_ingest_mapping`` output (what the local poller reads
    in local) carry the same [msk] values."""
    (mapping,) = [m for m in synth.docs[env]["resource"]["aws_lambda_event_source_mapping"].values() if "topics" in m]
    out = synth.docs[env]["output"]["msk_ingest_mapping"]["value"]
    assert mapping["topics"] == [out["topic"]] and mapping["batch_size"] == out["batch_size"]
    assert mapping["maximum_batching_window_in_seconds"] == out["batching_window_seconds"]
    assert mapping["starting_position"] == out["starting_position"]
    assert mapping["amazon_managed_kafka_event_source_config"]["consumer_group_id"] == out["consumer_group_id"]
    assert mapping["destination_config"]["on_failure"]["destination_arn"] == out["on_failure_destination_arn"]


# ==================================================================================================
# The constructs alone
# ==================================================================================================
def msk_props(**overrides) -> MskClusterProps:
    values = dict(name="lf-test", subnet_ids=("subnet-0aaaaaaa", "subnet-0bbbbbbb", "subnet-0ccccccc"),
                  security_group_ids=("sg-1",), kms_key_arn="arn:aws:kms:sa-east-1:1:key/k", region="sa-east-1",
                  account_id="123456789012", ingest_topic="t.ingest", topic_partitions=6, tags=TAGS)
    values.update(overrides)
    return MskClusterProps(**values)


def source_props(**overrides) -> MskEventSourceProps:
    values = dict(function_name="fn", cluster_arn="arn:aws:kafka:sa-east-1:123456789012:cluster/c/u", topic="t.ingest",
                  topic_arn="arn:aws:kafka:sa-east-1:123456789012:topic/c/u/t.ingest", consumer_group_id="g",
                  group_arn="arn:aws:kafka:sa-east-1:123456789012:group/c/u/g", subnet_ids=("subnet-0aaaaaaa",),
                  security_group_ids=("sg-1",), tags=TAGS)
    values.update(overrides)
    return MskEventSourceProps(**values)


def test_serverless_is_iam_only_in_the_private_subnets(bindings):
    from modules.msk import MskCluster

    stack = new_stack(bindings)
    cluster = MskCluster(stack, "msk", msk_props(deployment="serverless"))
    doc = synth_json(bindings, stack)["resource"]
    assert set(doc) == {"aws_msk_serverless_cluster"}
    (serverless,) = doc["aws_msk_serverless_cluster"].values()
    assert serverless["client_authentication"] == {"sasl": {"iam": {"enabled": True}}}
    assert serverless["vpc_config"] == [{"subnet_ids": list(msk_props().subnet_ids), "security_group_ids": ["sg-1"]}]
    assert serverless["tags"] == TAGS
    assert cluster.ingest_topic == "t.ingest" and cluster.configuration_arn is None
    assert cluster.ingest_topic_arn.startswith("arn:aws:kafka:sa-east-1:123456789012:topic/")


def test_the_topic_admin_alone_on_a_plaintext_broker_grants_no_kafka_action(bindings, tmp_path):
    from modules.kafka_topics import KafkaTopics, KafkaTopicsProps, TopicSpec

    package = tmp_path / "kafka_topics.zip"
    package.write_bytes(b"PK\x05\x06" + bytes(18))
    stack = new_stack(bindings)
    admin = KafkaTopics(stack, "topics", KafkaTopicsProps(
        function_name="fn-topics", zip_path=package, bootstrap_servers="broker:9092", auth="plaintext",
        topics=(TopicSpec("a", 2), TopicSpec("b", 1, 3, {"retention.ms": "60000"})), tags=TAGS))
    doc = synth_json(bindings, stack)["resource"]
    (invocation,) = doc["aws_lambda_invocation"].values()
    assert [t["name"] for t in json.loads(invocation["input"])["topics"]] == ["a", "b"]
    assert json.loads(invocation["input"])["topics"][1] == {"name": "b", "partitions": 1, "replication_factor": 3,
                                                           "configs": {"retention.ms": "60000"}}
    (policy,) = doc["aws_iam_role_policy"].values()
    assert "kafka" not in policy["policy"] and admin.invocation is not None and admin.result


def test_the_topic_admins_options_are_checked(tmp_path):
    from modules.kafka_topics_props import KafkaTopicsProps, TopicSpec

    base = dict(function_name="f", zip_path=tmp_path / "z.zip", bootstrap_servers="b:9098", topics=(TopicSpec("a", 1),))
    with pytest.raises(OptionError, match="cluster_arn"):
        KafkaTopicsProps(**base)
    with pytest.raises(OptionError, match="topic_arns"):
        KafkaTopicsProps(**base, cluster_arn="arn:c", topic_arns=())
    for bad in ((TopicSpec("a", 1), TopicSpec("a", 2)), ()):
        with pytest.raises(OptionError, match="topics"):
            KafkaTopicsProps(**{**base, "topics": bad}, auth="plaintext")
    for field, bad in (("name", dict(name="no spaces", partitions=1)), ("partitions", dict(name="a", partitions=0)),
                       ("replication_factor", dict(name="a", partitions=1, replication_factor=0))):
        with pytest.raises(OptionError, match=field):
            TopicSpec(**bad)
    with pytest.raises(OptionError, match="function_settings"):
        KafkaTopicsProps(**base, auth="plaintext", function_settings={"environment": {}})
    assert KafkaTopicsProps(**base, cluster_arn="arn:c", topic_arns=("arn:t",)).auth == "iam"


def test_the_constructs_off_create_nothing(bindings):
    from modules.kafka_topics import KafkaTopics, KafkaTopicsProps, TopicSpec
    from modules.msk import MskCluster
    from modules.msk_ingest import MskEventSource

    stack = new_stack(bindings)
    cluster = MskCluster(stack, "msk", msk_props(create=False))
    source = MskEventSource(stack, "src", source_props(create=False))
    admin = KafkaTopics(stack, "topics", KafkaTopicsProps(
        function_name="f", zip_path="missing.zip", bootstrap_servers="b:9092", topics=(TopicSpec("a", 1),),
        auth="plaintext", create=False))
    assert "resource" not in synth_json(bindings, stack)
    assert admin.function is None and admin.invocation is None
    assert cluster.arn is None and cluster.bootstrap_brokers_sasl_iam is None and cluster.ingest_topic_arn is None
    assert source.mapping is None and source.uuid is None


def test_the_mapping_alone_grants_nothing_without_a_role(bindings):
    from modules.msk_ingest import MskEventSource

    stack = new_stack(bindings)
    MskEventSource(stack, "src", source_props(on_failure_destination_arn="arn:aws:sqs:sa-east-1:1:q"))
    doc = synth_json(bindings, stack)["resource"]
    assert set(doc) == {"aws_lambda_event_source_mapping"}
    (mapping,) = doc["aws_lambda_event_source_mapping"].values()
    assert mapping["topics"] == ["t.ingest"] and mapping["tags"] == TAGS


def test_bad_options_are_refused():
    with pytest.raises(OptionError, match="subnet_ids"):
        msk_props(subnet_ids=("subnet-0aaaaaaa",), broker_count=2)
    with pytest.raises(OptionError, match="broker_count: must be a multiple of the subnets"):
        msk_props(broker_count=4)
    with pytest.raises(OptionError, match="min_insync_replicas: must be below replication_factor"):
        msk_props(replication_factor=2, min_insync_replicas=2)
    with pytest.raises(OptionError, match="replication_factor: at most broker_count"):
        msk_props(subnet_ids=("subnet-0aaaaaaa", "subnet-0bbbbbbb"), broker_count=2)
    with pytest.raises(OptionError, match="enhanced_monitoring"):
        msk_props(enhanced_monitoring="ALL")
    with pytest.raises(OptionError, match="ingest_topic"):
        msk_props(ingest_topic="no spaces")
    with pytest.raises(OptionError, match="deployment"):
        msk_props(deployment="self-managed")
    with pytest.raises(OptionError, match="broker_instance_type"):
        msk_props(broker_instance_type="m5.large")
    with pytest.raises(OptionError, match="starting_position"):
        source_props(starting_position="AT_TIMESTAMP")
    with pytest.raises(OptionError, match="batch_size"):
        source_props(batch_size=0)
    with pytest.raises(OptionError, match="consumer_group_id"):
        source_props(consumer_group_id="")
    with pytest.raises(OptionError, match="subnet_ids and security_group_ids go together"):
        PythonFunctionProps(function_name="f", zip_path="x.zip", subnet_ids=("subnet-0aaaaaaa",))
