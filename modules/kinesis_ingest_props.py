"""Options of :class:`modules.kinesis_ingest.KinesisEventSource` (standard library only: see
:mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .options import Props, between, create_option, one_of, option, outputs, tags_option


@dataclass(frozen=True)
class KinesisEventSourceProps(Props):
    """Options of :class:`modules.kinesis_ingest.KinesisEventSource`."""

    function_name: str = option(doc="Function to invoke (name or ARN).")
    stream_arn: str = option(doc="Kinesis stream ARN.")
    on_failure_destination_arn: str | None = option(
        None,
        doc="SQS queue (or SNS topic) ARN receiving metadata of batches that exhausted their retries. "
            "Strongly recommended: without it, failed records are dropped silently.")
    role_name: str | None = option(
        None,
        doc="Execution role to grant the stream read actions to (``None``: granted elsewhere).")
    starting_position: str = option(
        "TRIM_HORIZON", limit=one_of("TRIM_HORIZON", "LATEST"),
        doc="``TRIM_HORIZON`` (oldest record, nothing is skipped) or ``LATEST``.")
    batch_size: int = option(100, limit=between(1, 10000), doc="Records per invocation.")
    batching_window_seconds: int = option(
        1, limit=between(0, 300),
        doc="``maximum_batching_window_in_seconds``: how long to wait to fill a batch.")
    bisect_batch_on_function_error: bool = option(
        True,
        doc="Split a failing batch in two and retry, isolating poison records.")
    max_retry_attempts: int = option(
        3, limit=between(0, 10000),
        doc="Retries of a failing batch before its failed records go to the failure destination. Always "
            "bounded: Lambda's -1 (retry until the record expires) is refused, because one poison record "
            "would then block its shard, delaying every record behind it until it ages out.")
    max_record_age_seconds: int = option(
        3600, limit=between(60, 604800, "s"),
        doc="Records older than this go to the failure destination instead of being retried. Always bounded: "
            "Lambda's -1 (never) is refused, because a failing record would then stay until the stream drops "
            "it, lost without a trace in the failure queue. At most the stream's retention (environment "
            "rule).")
    parallelization_factor: int = option(1, limit=between(1, 10), doc="Concurrent batches per shard.")
    report_batch_item_failures: bool = option(
        True,
        doc="``function_response_types = [\"ReportBatchItemFailures\"]``: the function returns the failed "
            "sequence numbers and only those are retried.")
    enabled: bool = option(True, doc="Whether the mapping polls.")
    tags: dict[str, str] = tags_option("the mapping")
    create: bool = create_option()


OUTPUTS = outputs(
    ("mapping", "The ``aws_lambda_event_source_mapping`` resource."),
    ("uuid", "UUID of the mapping."),
    ("arn", "ARN of the mapping."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
