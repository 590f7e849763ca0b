"""KinesisEventSource: a Lambda event source mapping reading a Kinesis stream, with partial-batch
failure reporting, batch bisection, bounded retries and an SQS on-failure destination.

When ``role_name`` is given it also grants that role (the function's execution role) the read actions
Lambda needs on that one stream, and creates the mapping only after the grant exists (Lambda validates
the role's permissions when the mapping is created).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

from modules.iam import Statement, policy_document

KINESIS_READ_ACTIONS: tuple[str, ...] = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
)
"""What a Lambda event source mapping needs on its stream."""


@dataclass(frozen=True)
class KinesisEventSourceProps:
    """Options of :class:`KinesisEventSource`."""

    function_name: str
    """Function to invoke (name or ARN)."""

    stream_arn: str
    """Kinesis stream ARN."""

    on_failure_destination_arn: str | None = None
    """SQS queue (or SNS topic) ARN receiving metadata of batches that exhausted their retries.
    Strongly recommended: without it, failed records are dropped silently."""

    role_name: str | None = None
    """Execution role to grant the stream read actions to (``None``: granted elsewhere)."""

    starting_position: str = "TRIM_HORIZON"
    """``TRIM_HORIZON`` (oldest record, nothing is skipped) or ``LATEST``."""

    batch_size: int = 100
    """Records per invocation, 1-10000."""

    batching_window_seconds: int = 1
    """``maximum_batching_window_in_seconds``, 0-300: wait to fill a batch."""

    bisect_batch_on_function_error: bool = True
    """Split a failing batch in two and retry, isolating poison records."""

    max_retry_attempts: int = 3
    """Retries of a failing batch, -1 (until the record expires) to 10000."""

    max_record_age_seconds: int = 3600
    """Skip records older than this, -1 (never) or 60-604800."""

    parallelization_factor: int = 1
    """Concurrent batches per shard, 1-10."""

    report_batch_item_failures: bool = True
    """``function_response_types = ["ReportBatchItemFailures"]``: the function returns the failed
    sequence numbers and only those are retried."""

    enabled: bool = True
    """Whether the mapping polls."""

    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the mapping."""

    create: bool = True
    """False creates nothing; the outputs are then ``None``."""


class KinesisEventSource(Construct):
    """Kinesis -> Lambda event source mapping.

    Outputs: ``mapping`` (resource), ``uuid``, ``arn``.
    """

    def __init__(self, scope: Construct, id_: str, props: KinesisEventSourceProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.mapping = None
        self.uuid: str | None = None
        self.arn: str | None = None
        if not props.create:
            return
        if props.starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("starting_position must be TRIM_HORIZON or LATEST")
        if not 1 <= props.batch_size <= 10000:
            raise ValueError("batch_size must be 1-10000")
        if not 0 <= props.batching_window_seconds <= 300:
            raise ValueError("batching_window_seconds must be 0-300")
        if not 1 <= props.parallelization_factor <= 10:
            raise ValueError("parallelization_factor must be 1-10")

        from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
        from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
            LambdaEventSourceMapping,
            LambdaEventSourceMappingDestinationConfig,
            LambdaEventSourceMappingDestinationConfigOnFailure,
        )

        depends_on = []
        if props.role_name:
            grant = IamRolePolicy(
                self, "read_grant", name="kinesis-event-source-read", role=props.role_name,
                policy=policy_document([Statement(sid="ReadIngestStream", actions=KINESIS_READ_ACTIONS,
                                                  resources=(props.stream_arn,))]),
            )
            depends_on.append(grant)

        destination = None
        if props.on_failure_destination_arn:
            destination = LambdaEventSourceMappingDestinationConfig(
                on_failure=LambdaEventSourceMappingDestinationConfigOnFailure(
                    destination_arn=props.on_failure_destination_arn))

        self.mapping = LambdaEventSourceMapping(
            self, "mapping",
            function_name=props.function_name,
            event_source_arn=props.stream_arn,
            starting_position=props.starting_position,
            batch_size=props.batch_size,
            maximum_batching_window_in_seconds=props.batching_window_seconds,
            bisect_batch_on_function_error=props.bisect_batch_on_function_error,
            maximum_retry_attempts=props.max_retry_attempts,
            maximum_record_age_in_seconds=props.max_record_age_seconds,
            parallelization_factor=props.parallelization_factor,
            function_response_types=["ReportBatchItemFailures"] if props.report_batch_item_failures else None,
            destination_config=destination,
            enabled=props.enabled,
            tags=dict(props.tags),
            depends_on=depends_on or None,
        )
        self.uuid = self.mapping.uuid
        self.arn = self.mapping.arn
