"""KinesisEventSource: a Lambda event source mapping reading a Kinesis stream, with partial-batch
failure reporting, batch bisection, bounded retries and an SQS on-failure destination.

When ``role_name`` is given it also grants that role (the function's execution role) the read actions
Lambda needs on that one stream, and creates the mapping only after the grant exists (Lambda validates
the role's permissions when the mapping is created).
"""
from __future__ import annotations

from constructs import Construct

from .iam import Statement, policy_document
from .lambda_function import function_name_of
from .monitoring_props import consumer_watch
from .kinesis_ingest_props import OUTPUTS, KinesisEventSourceProps
from ._bindings import aws

KINESIS_READ_ACTIONS: tuple[str, ...] = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:SubscribeToShard",
)
"""What a Lambda event source mapping needs on its stream."""


class KinesisEventSource(Construct):
    """Kinesis -> Lambda event source mapping.

    Options: :class:`KinesisEventSourceProps`; outputs: :data:`OUTPUTS` (``modules/kinesis_ingest_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: KinesisEventSourceProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.mapping = None
        self.uuid: str | None = None
        self.arn: str | None = None
        if not props.create:
            return

        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        binding = aws.lambda_event_source_mapping
        LambdaEventSourceMapping = binding.LambdaEventSourceMapping
        LambdaEventSourceMappingDestinationConfig = binding.LambdaEventSourceMappingDestinationConfig
        LambdaEventSourceMappingDestinationConfigOnFailure = binding.LambdaEventSourceMappingDestinationConfigOnFailure

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
        self.watches = (consumer_watch(function_name_of(props.function_name), kafka=False),)
