"""KinesisStream: a Kinesis Data Stream encrypted with KMS, ON_DEMAND or PROVISIONED."""
from __future__ import annotations

from constructs import Construct

from .kinesis_props import OUTPUTS, KinesisStreamProps
from .monitoring_props import stream_watch
from ._bindings import aws, core

AWS_MANAGED_KINESIS_KEY = "alias/aws/kinesis"


class KinesisStream(Construct):
    """Encrypted Kinesis Data Stream.

    Options: :class:`KinesisStreamProps`; outputs: :data:`OUTPUTS` (``modules/kinesis_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: KinesisStreamProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.stream = None
        self.name: str | None = None
        self.arn: str | None = None
        if not props.create:
            return

        TerraformResourceLifecycle = core.TerraformResourceLifecycle
        Stream = aws.kinesis_stream.KinesisStream
        KinesisStreamStreamModeDetails = aws.kinesis_stream.KinesisStreamStreamModeDetails

        self.stream = Stream(
            self, "stream",
            name=props.name,
            encryption_type="KMS",
            kms_key_id=props.kms_key_arn or AWS_MANAGED_KINESIS_KEY,
            stream_mode_details=KinesisStreamStreamModeDetails(stream_mode=props.capacity_mode),
            shard_count=props.shard_count if props.capacity_mode == "PROVISIONED" else None,
            retention_period=props.retention_hours,
            shard_level_metrics=list(props.shard_level_metrics) or None,
            enforce_consumer_deletion=props.enforce_consumer_deletion,
            tags=dict(props.tags),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )
        self.name = self.stream.name
        self.arn = self.stream.arn
        self.watches = (stream_watch(self.name),)
