"""The streaming layer: the Kinesis ingest stream, the ingest Lambda (``lambda_src/ingest``) with its log group
and failure queue, and the event source mapping between them.

Valid records land in bronze, contract violations in quarantine (``data_contracts.layout``). The function
may only put the stream's objects (``layout.STREAM_BRONZE_KEY_GLOB``, ``layout.STREAM_QUARANTINE_KEY_GLOB``)
and list those same keys (its shard's objects, to find what an earlier delivery already wrote); it never
deletes, and never touches the backfill's objects, the landing zone or the documents.
"""
from __future__ import annotations

from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import INGEST_FUNCTION, BuildInputs
from compose.outputs import StackOutput
from environments import EnvironmentConfig
from data_contracts import layout
from modules.iam import Condition, Statement
from modules.kinesis_ingest_props import KinesisEventSourceProps
from modules.kinesis_props import KinesisStreamProps
from modules.lambda_function_props import PythonFunctionProps

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("ingest_stream_name", "kinesis", "Kinesis stream receiving raw events"),
    StackOutput("ingest_stream_arn", "kinesis", "ARN of the ingest Kinesis stream"),
    StackOutput("ingest_function_name", "ingest_lambda", "Name of the ingest Lambda function"),
    StackOutput("ingest_failure_queue_url", "ingest_lambda", "SQS queue receiving failed ingest batches/events"),
)


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The stream, the function's environment and the failure queue encrypt with the key."""
    return KeyUsers(via_services=("kinesis", "lambda", "sqs"))


def ingest_s3_statements(bronze_arn: str, quarantine_arn: str) -> tuple[Statement, ...]:
    """The ingest function's S3 grants: put the stream's bronze and quarantine objects, and list exactly those
    keys in each bucket (the handler lists ``bronze_partition_prefix(...) + "kinesis-<shardId>-"`` and the
    quarantine's ``source=kinesis/ingest_date=<day>/kinesis-<shardId>-``)."""
    return (
        Statement(sid="PutStreamObjects", actions=("s3:PutObject",),
                  resources=(f"{bronze_arn}/{layout.STREAM_BRONZE_KEY_GLOB}",
                             f"{quarantine_arn}/{layout.STREAM_QUARANTINE_KEY_GLOB}")),
        Statement(sid="ListStreamBronzeObjects", actions=("s3:ListBucket",), resources=(bronze_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", (layout.STREAM_BRONZE_KEY_GLOB,)),)),
        Statement(sid="ListStreamQuarantineObjects", actions=("s3:ListBucket",), resources=(quarantine_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", (layout.STREAM_QUARANTINE_KEY_GLOB,)),)),
    )


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
    if not svc.ingest_lambda:
        return

    lam = config.lambda_
    bronze, quarantine = lake.bucket_arns["bronze"], lake.bucket_arns["quarantine"]
    fn = PythonFunction(stack, "ingest_function", PythonFunctionProps(
        function_name=f"{prefix}-ingest", zip_path=inputs.lambda_zips[INGEST_FUNCTION],
        description="Kinesis -> validated records in bronze, rejects in quarantine",
        **lam.values_for(PythonFunctionProps), kms_key_arn=key.arn,
        **config.values_for(PythonFunctionProps),
        environment={
            "BRONZE_BUCKET": lake.bucket_names["bronze"],
            "QUARANTINE_BUCKET": lake.bucket_names["quarantine"],
            "POWERTOOLS_SERVICE_NAME": "lakeforge-ingest",
            "POWERTOOLS_METRICS_NAMESPACE": "Lakeforge",
            "LOG_LEVEL": lam.log_level,
        },
        policy_statements=ingest_s3_statements(bronze, quarantine),
        tags=tags,
    ))
    KinesisEventSource(stack, "ingest_source", KinesisEventSourceProps(
        function_name=fn.arn, stream_arn=stream.arn, on_failure_destination_arn=fn.failure_queue_arn,
        role_name=fn.role_name, **lam.values_for(KinesisEventSourceProps), tags=tags,
    ))
    base.outputs.emit("ingest_function_name", fn.function_name)
    base.outputs.emit("ingest_failure_queue_url", fn.failure_queue_url)
