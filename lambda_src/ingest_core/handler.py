"""The Lambda side every ingest handler shares: Powertools phase 1, metrics, the log line, the S3 client.

Environment: ``BRONZE_BUCKET``, ``QUARANTINE_BUCKET`` (read on every invocation). Metrics (EMF, in the
handler's ``Metrics`` namespace, ``service`` dimension): records_received, records_valid,
records_quarantined (total, and per ``reason`` dimension), records_redelivered, records_failed, records_deferred,
objects_written. Log line: ``ingest batch done`` with the summary as extra keys.
"""
from __future__ import annotations

import os
from typing import Any, Callable, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from data_contracts.validation import classify as contract_classify
from data_contracts.validation import warm_up
from lambda_src.ingest_core.batch import Batch
from lambda_src.ingest_core.lines import Classify, RecordRef, SourceRecord
from lambda_src.ingest_core.objects import ObjectNaming

__all__ = ["Adapter", "ContainerS3", "handler_for", "ingest"]

COUNTS = ("records_valid", "records_quarantined", "records_redelivered", "records_failed", "records_deferred",
          "objects_written")


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
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        logger.append_keys(aws_request_id=request_id)
    metrics.add_metric(name="records_received", unit=MetricUnit.Count, value=len(records))
    batch = Batch(s3, bronze_bucket=os.environ["BRONZE_BUCKET"], quarantine_bucket=os.environ["QUARANTINE_BUCKET"],
                  naming=adapter.naming, classify=classify, logger=logger)
    warm_up()

    # Phase 1 (raises BatchProcessingError when every record fails).
    with processor(records=records, handler=lambda record: batch.line(adapter.to_record(record))):
        results = processor.process()
    lines = [result for status, result, _ in results if status == "success"]
    failed = [adapter.locate(record) for status, _, record in results if status == "fail"]

    # Phase 2.
    outcome = batch.finish(lines, failed, len(records))
    for name in COUNTS:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=outcome.summary[name])
    for reason, count in outcome.summary["quarantined_by_reason"].items():
        with single_metric(name="records_quarantined", unit=MetricUnit.Count, value=count, namespace=namespace,
                           default_dimensions={"service": service}) as metric:
            metric.add_dimension(name="reason", value=reason)
    logger.info("ingest batch done", extra=outcome.summary)
    return {"batchItemFailures": outcome.failures}
