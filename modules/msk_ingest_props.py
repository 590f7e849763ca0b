"""Options of :class:`modules.msk_ingest.MskEventSource` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .kafka_topics_props import TOPIC_PATTERN
from .options import Limit, Props, between, create_option, matches, one_of, option, outputs, tags_option

CONSUMER_GROUP_PATTERN = r"[a-zA-Z0-9\-/*:_+=.@]{1,200}"
"""What Lambda accepts as a Kafka consumer group id."""


@dataclass(frozen=True)
class MskEventSourceProps(Props):
    """Options of :class:`modules.msk_ingest.MskEventSource`."""

    function_name: str = option(doc="Function to invoke (name or ARN).")
    cluster_arn: str = option(doc="ARN of the MSK cluster (``event_source_arn``).")
    topic: str = option(limit=matches(TOPIC_PATTERN, "a Kafka topic name"),
                        doc="The topic the mapping consumes (Lambda takes exactly one).")
    topic_arn: str = option(doc="ARN of that topic (``kafka-cluster`` topic grants).")
    consumer_group_id: str = option(limit=matches(CONSUMER_GROUP_PATTERN, "1-200 of letters, digits and -/*:_+=.@"),
                                    doc="Kafka consumer group of the mapping (its committed offsets).")
    group_arn: str = option(doc="ARN of that consumer group (``kafka-cluster`` group grants).")
    subnet_ids: tuple[str, ...] = option(
        limit=Limit("at least one subnet (tokens allowed)", lambda v: len(v) >= 1, terraform="length({v}) >= 1"),
        doc="The cluster's subnets: Lambda's poller places its network interfaces there (under the function's "
            "role).")
    security_group_ids: tuple[str, ...] = option(
        limit=Limit("at least one security group", lambda v: len(v) >= 1, terraform="length({v}) >= 1"),
        doc="The cluster's security groups: the poller's network interfaces use them to reach the brokers.")
    on_failure_destination_arn: str | None = option(
        None,
        doc="SQS queue, SNS topic or S3 bucket ARN receiving the metadata of a batch the function failed on (the "
            "records' topic, partition and offsets). Strongly recommended: without it a failing batch's records "
            "are skipped without a trace.")
    role_name: str | None = option(
        None, doc="Execution role to grant the cluster, topic, group and network-interface actions to (``None``: "
                  "granted elsewhere).")
    starting_position: str = option(
        "TRIM_HORIZON", limit=one_of("TRIM_HORIZON", "LATEST"),
        doc="Where a new consumer group starts: ``TRIM_HORIZON`` (oldest retained record, nothing is skipped) or "
            "``LATEST``.")
    batch_size: int = option(100, limit=between(1, 10000), doc="Records per invocation.")
    batching_window_seconds: int = option(
        1, limit=between(0, 300), doc="``maximum_batching_window_in_seconds``: how long to wait to fill a batch.")
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
