"""Options of :class:`modules.kinesis.KinesisStream` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .options import Props, at_least, between, create_option, one_of, option, outputs, tags_option


@dataclass(frozen=True)
class KinesisStreamProps(Props):
    """Options of :class:`modules.kinesis.KinesisStream`."""

    name: str = option(doc="Stream name, e.g. ``lakeforge-dev-ingest``.")
    kms_key_arn: str | None = option(
        None,
        doc="Customer-managed key for server-side encryption. ``None`` uses the AWS-managed "
            "``alias/aws/kinesis`` key (still encrypted, but checkov CKV_AWS_185 wants a CMK).")
    capacity_mode: str = option(
        "ON_DEMAND", limit=one_of("ON_DEMAND", "PROVISIONED"),
        doc="``ON_DEMAND`` (scales automatically) or ``PROVISIONED`` (``shard_count`` shards).")
    shard_count: int = option(1, limit=at_least(1), doc="Shards for ``PROVISIONED``; not sent for ``ON_DEMAND``.")
    retention_hours: int = option(24, limit=between(24, 8760), doc="Record retention in hours.")
    shard_level_metrics: tuple[str, ...] = option(
        (),
        doc="Enhanced shard-level metrics (extra cost), e.g. ``(\"IncomingBytes\", "
            "\"IteratorAgeMilliseconds\")``.")
    enforce_consumer_deletion: bool = option(
        True,
        doc="Deregister enhanced fan-out consumers on stream deletion instead of failing the destroy.")
    prevent_destroy: bool = option(
        False,
        doc="Terraform ``lifecycle.prevent_destroy`` on the stream: a plan that would delete or replace it "
            "(and the records it retains) fails, so ``terraform destroy`` stops before changing anything. "
            "For prod; to really delete, deploy with it off first.")
    tags: dict[str, str] = tags_option("the stream")
    create: bool = create_option()


OUTPUTS = outputs(
    ("stream", "The ``aws_kinesis_stream`` resource."),
    ("name", "Name of the stream."),
    ("arn", "ARN of the stream."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
