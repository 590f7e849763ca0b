"""The Lambda side every ingest handler shares: Powertools phase 1, metrics, the log lines, the S3 client.

Environment: ``BRONZE_BUCKET``, ``QUARANTINE_BUCKET`` (read on every invocation). Metrics (EMF, in the
handler's ``Metrics`` namespace, :data:`~data_contracts.metrics.NAMESPACE` when deployed, one
:data:`~data_contracts.metrics.SERVICE_DIMENSION` dimension), per invocation: the contract's record counts
(:data:`~data_contracts.metrics.RECORD_COUNTS`: ``records_in`` = the records of the batch, ``records_out`` =
those stored in bronze now, ``records_quarantined`` = those stored in quarantine now, also once per
``reason`` with that second dimension, ``records_failed`` = those left to Lambda's retry), the ingest's own
``records_redelivered``, ``records_deferred`` and ``objects_written`` (:mod:`lambda_src.ingest_core.batch`),
and :data:`~data_contracts.metrics.STREAM_LAG`: the age of the oldest record of the batch (its arrival time:
Kinesis' ``approximateArrivalTimestamp``, the Kafka record's timestamp) when the batch was processed. When
every record fails (Powertools raises ``BatchProcessingError``), ``records_failed`` = ``records_in``.

Log lines (Powertools JSON, each with ``aws_request_id``): ``record quarantined`` and ``record failed`` per
record set aside (with its ``event_id`` when known, :mod:`lambda_src.ingest_core.batch`), then ``ingest
batch done`` with the summary as extra keys (the counts above, ``quarantined_by_reason``,
``batch_item_failures``, ``event_id_count``: the batch's distinct event ids, and ``lag_seconds``).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from data_contracts.metrics import (
    RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED, SERVICE_DIMENSION, STREAM_LAG, UNITS,
)
from data_contracts.validation import classify as contract_classify
from data_contracts.validation import warm_up
from lambda_src.ingest_core.batch import OBJECTS_WRITTEN, RECORDS_DEFERRED, RECORDS_REDELIVERED, Batch
from lambda_src.ingest_core.lines import Classify, RecordRef, SourceRecord
from lambda_src.ingest_core.objects import ObjectNaming

__all__ = ["Adapter", "COUNTS", "ContainerS3", "handler_for", "ingest"]

COUNTS = (RECORDS_OUT, RECORDS_QUARANTINED, RECORDS_REDELIVERED, RECORDS_FAILED, RECORDS_DEFERRED, OBJECTS_WRITTEN)
"""The summary's counts published after phase 2 (``records_in`` is published before phase 1)."""


def _unit(name: str) -> MetricUnit:
    return MetricUnit(UNITS.get(name, MetricUnit.Count.value))


class Adapter(NamedTuple):
    """What a stream source supplies (see the package docstring)."""

    records: Callable[[dict], list]
    """``event -> `` the list of raw records the Powertools ``BatchProcessor`` of that source takes."""
    to_record: Callable[[Any], SourceRecord]
    """One Powertools record -> the neutral record (any exception makes the record a failure)."""
    locate: Callable[[Any], RecordRef]
    """One Powertools record that failed -> its partition, position and item identifier."""
    naming: ObjectNaming


class ContainerS3:
    """The container's S3 client, created on first use and kept for the container's life.

    ``factory`` makes the client (default: boto3, which comes with the Lambda runtime and is not bundled).
    """

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self._factory = factory or _boto3_s3
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def put_object(self, **kwargs: Any) -> Any:
        return self.client().put_object(**kwargs)

    def list_objects_v2(self, **kwargs: Any) -> Any:
        return self.client().list_objects_v2(**kwargs)


def _boto3_s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))


def handler_for(adapter: Callable[[], Adapter], s3: Any, *, processor: Any, logger: Any, metrics: Any,
                namespace: str, service: str, classify: Callable[[], Classify] = lambda: contract_classify
                ) -> Callable[[dict, Any], dict]:
    """The Lambda handler of the adapter ``adapter()`` writing through ``s3`` (its ``.s3`` attribute); the
    metrics are flushed on return. ``adapter()`` and ``classify()`` are called on every invocation, so the
    adapter module's current values are used (a test may swap either)."""

    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handler(event: dict, context: Any) -> dict:
        return ingest(event, context, adapter=adapter(), s3=s3, processor=processor, logger=logger, metrics=metrics,
                      namespace=namespace, service=service, classify=classify())

    handler.s3 = s3
    return handler


def ingest(event: dict, context: Any, *, adapter: Adapter, s3: Any, processor: Any, logger: Any, metrics: Any,
           namespace: str, service: str, classify: Classify = contract_classify) -> dict:
    """One invocation: phase 1 through ``processor`` (a Powertools ``BatchProcessor``), then phase 2 through
    ``s3``; adds the metrics to ``metrics`` (the handler flushes them) and logs the summary with ``logger``.
    Returns the partial batch response; raises ``BatchProcessingError`` when every record fails."""
    records = adapter.records(event)
    # set on every invocation (None drops the key), so a line never carries an earlier invocation's id
    logger.append_keys(aws_request_id=getattr(context, "aws_request_id", None))
    metrics.add_metric(name=RECORDS_IN, unit=_unit(RECORDS_IN), value=len(records))
    batch = Batch(s3, bronze_bucket=os.environ["BRONZE_BUCKET"], quarantine_bucket=os.environ["QUARANTINE_BUCKET"],
                  naming=adapter.naming, classify=classify, logger=logger)
    warm_up()

    # Phase 1 (raises BatchProcessingError when every record fails).
    try:
        with processor(records=records, handler=lambda record: batch.line(adapter.to_record(record))):
            results = processor.process()
    except BatchProcessingError:
        metrics.add_metric(name=RECORDS_FAILED, unit=_unit(RECORDS_FAILED), value=len(records))
        logger.error("ingest batch failed: every record failed", extra={RECORDS_IN: len(records),
                                                                        RECORDS_FAILED: len(records)})
        raise
    lines = [result for status, result, _ in results if status == "success"]
    failed = [adapter.locate(record) for status, _, record in results if status == "fail"]

    # Phase 2.
    outcome = batch.finish(lines, failed, len(records))
    for name in COUNTS:
        metrics.add_metric(name=name, unit=_unit(name), value=outcome.summary[name])
    lag = batch.lag_seconds(time.time())
    if lag is not None:
        metrics.add_metric(name=STREAM_LAG, unit=_unit(STREAM_LAG), value=lag)
        outcome.summary[STREAM_LAG] = lag
    for reason, count in outcome.summary["quarantined_by_reason"].items():
        with single_metric(name=RECORDS_QUARANTINED, unit=_unit(RECORDS_QUARANTINED), value=count,
                           namespace=namespace, default_dimensions={SERVICE_DIMENSION: service}) as metric:
            metric.add_dimension(name="reason", value=reason)
    logger.info("ingest batch done", extra=outcome.summary)
    return {"batchItemFailures": outcome.failures}
