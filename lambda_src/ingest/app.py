"""Ingest Lambda: Kinesis batch -> S3 bronze (valid envelopes) and quarantine (contract violations).

Handler: ``lambda_src.ingest.app.lambda_handler`` in the repository, ``app.lambda_handler`` in the zip
(the folder's contents sit at the zip root next to ``data_contracts/``; only absolute imports of
``data_contracts`` are used, so both layouts work).

Environment: ``BRONZE_BUCKET``, ``QUARANTINE_BUCKET``, ``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``LOG_LEVEL``. Needs ``s3:PutObject`` on both buckets, and
``s3:DeleteObject`` on them for the S3-failure repair path described below.

Phase 1, per record (Powertools ``BatchProcessor``): base64-decode, :func:`data_contracts.validation.classify`,
and serialise the output line. A contract violation is not a failure: the record goes to quarantine with
its reason code. Any exception (a bug, never a bad payload) makes the record a failure.

Phase 2: lines are grouped per object (bronze: source, entity, ingest date, shard; quarantine: ingest
date, shard), sorted by sequence number, and written one object per group::

    bronze:     source=<source>/entity=<entity>/ingest_date=<YYYY-MM-DD>/kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl
    quarantine: source=kinesis/ingest_date=<YYYY-MM-DD>/kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl

``ingest_date`` is the UTC date of the record's ``approximateArrivalTimestamp``; first/last are the lowest
and highest sequence numbers in the object. Bronze line: ``{"event": <envelope>, "ingest": {"arrival_time",
"partition_key", "sequence_number", "shard_id"}}``; quarantine line: ``{"error", "ingest", "payload",
"payload_encoding" ("utf-8" | "base64"), "reason"}``. Compact JSON, sorted keys, UTF-8, one line per
record, in sequence order. Nothing depends on the wall clock, so a redelivered identical batch rewrites
byte-identical objects at the same keys (an overwrite, never a duplicate).

Retries without duplicates. With ``ReportBatchItemFailures``, Lambda resumes a Kinesis shard from the
LOWEST reported sequence number and redelivers every record after it. Hence the cut-off rule: every
record with a sequence number >= the cut-off is left to the retry, every record below it is written now.

* Phase 1 failures: the cut-off is the lowest failed sequence number. The failed records are reported in
  ``batchItemFailures``; good records after the first failure are NOT written in this invocation (they
  are redelivered and written by the retry), records before it are.
* Phase 2 (S3) failures: objects are written in order of their first sequence number; at the first
  failed put, the cut-off drops to that object's first sequence number and no later object is written.
  Objects already written that hold records at or above the cut-off (groups interleave) are replaced by
  a copy holding only the records below it (new key, as its last sequence number changed) and deleted;
  should that put fail, the cut-off drops further and the loop repeats. For every object, the lowest
  sequence number among its records that were not written is reported, so the retry rewrites exactly
  the remainder. (If even the delete fails, the error is logged: the retry may then duplicate those
  records in bronze; the event_id dedup downstream still removes them.)
* Every record failing in phase 1: Powertools raises ``BatchProcessingError`` so Lambda retries (and, if
  configured, bisects) the whole batch.

Returns the partial batch response ``{"batchItemFailures": [{"itemIdentifier": "<seq>"}, ...]}`` and
emits EMF metrics: records_received, records_valid, records_quarantined (total, and per ``reason``
dimension), records_failed, records_deferred, objects_written.
"""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from data_contracts.validation import classify, warm_up

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lakeforge-ingest")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Lakeforge")
CONTENT_TYPE = "application/x-ndjson"

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.KinesisDataStreams, logger=logger)

_S3_CLIENT = None  # one client per container, created on first use
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_encode = _ENCODER.encode


def s3_client():
    """The container's S3 client (boto3 comes with the Lambda runtime; it is not bundled)."""
    global _S3_CLIENT
    if _S3_CLIENT is None:
        import boto3
        from botocore.config import Config

        _S3_CLIENT = boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    return _S3_CLIENT


def reset_client() -> None:
    """Forget the cached S3 client (tests)."""
    global _S3_CLIENT
    _S3_CLIENT = None


class _Line:
    """One processed record: its place in the output and its serialised line."""

    __slots__ = ("seq", "group", "line", "reason")

    def __init__(self, seq: int, group: tuple, line: bytes, reason: str | None) -> None:
        self.seq = seq
        self.group = group
        self.line = line
        self.reason = reason


class _Object:
    """One S3 object to write: a group of lines in sequence order."""

    __slots__ = ("bucket", "group", "lines", "first", "last", "key")

    def __init__(self, bucket: str, group: tuple, lines: list[_Line]) -> None:
        self.bucket = bucket
        self.group = group
        self.lines = lines
        self.first = lines[0].seq
        self.last = lines[-1].seq
        if group[0] == "bronze":
            _, source, entity, day, shard = group
            prefix = f"source={source}/entity={entity}/ingest_date={day}"
        else:
            _, day, shard = group
            prefix = f"source=kinesis/ingest_date={day}"
        self.key = f"{prefix}/kinesis-{shard}-{self.first}-{self.last}.jsonl"

    def body(self) -> bytes:
        return b"\n".join(line.line for line in self.lines) + b"\n"


_arrival_cache: dict[int, tuple[str, str]] = {}


def _arrival(timestamp: float) -> tuple[str, str]:
    """(ingest date, ISO time with ms) for an epoch-seconds float, in UTC."""
    millis = round(float(timestamp) * 1000)
    seconds, ms = divmod(millis, 1000)
    cached = _arrival_cache.get(seconds)
    if cached is None:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        cached = (moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m-%dT%H:%M:%S"))
        if len(_arrival_cache) > 4096:
            _arrival_cache.clear()
        _arrival_cache[seconds] = cached
    return cached[0], f"{cached[1]}.{ms:03d}Z"


def _shard_id(record: dict) -> str:
    event_id = record.get("eventID") or ""
    shard, sep, _ = event_id.rpartition(":")
    return shard if sep and shard else "shardId-unknown"


def _process(record) -> _Line:
    """Phase 1 for one record (a Powertools KinesisStreamRecord): classify and serialise."""
    raw = record.raw_event
    kinesis = raw["kinesis"]
    sequence = kinesis["sequenceNumber"]
    shard = _shard_id(raw)
    day, arrival_time = _arrival(kinesis["approximateArrivalTimestamp"])
    ingest = {
        "arrival_time": arrival_time,
        "partition_key": kinesis.get("partitionKey"),
        "sequence_number": sequence,
        "shard_id": shard,
    }
    payload = base64.b64decode(kinesis["data"])
    envelope, reason, error = classify(payload)
    if envelope is not None:
        line = _encode({"event": envelope, "ingest": ingest}).encode("utf-8")
        return _Line(int(sequence), ("bronze", envelope["source"], envelope["entity"], day, shard), line, None)
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    line = _encode({"error": error, "ingest": ingest, "payload": text, "payload_encoding": encoding,
                    "reason": reason}).encode("utf-8")
    return _Line(int(sequence), ("quarantine", day, shard), line, reason)


def _plan(lines: list[_Line], bronze: str, quarantine: str) -> list[_Object]:
    """Group the lines into objects, each in sequence order, sorted by first sequence number."""
    groups: dict[tuple, list[_Line]] = {}
    for line in sorted(lines, key=lambda item: item.seq):
        groups.setdefault(line.group, []).append(line)
    objects = [_Object(bronze if group[0] == "bronze" else quarantine, group, members)
               for group, members in groups.items()]
    objects.sort(key=lambda obj: obj.first)
    return objects


def _put(s3, obj: _Object) -> None:
    s3.put_object(Bucket=obj.bucket, Key=obj.key, Body=obj.body(), ContentType=CONTENT_TYPE)


def _write(objects: list[_Object]) -> tuple[list[_Object], int | None]:
    """Phase 2: write in order; on failure apply the cut-off rule. Returns (objects in S3, cut-off)."""
    s3 = s3_client()
    stored: dict[str, _Object] = {}
    cut: int | None = None
    for obj in objects:
        try:
            _put(s3, obj)
        except Exception:
            logger.exception("put_object failed", extra={"bucket": obj.bucket, "key": obj.key})
            cut = obj.first
            break
        stored[obj.key] = obj
    if cut is None:
        return list(stored.values()), None

    stuck: list[_Object] = []  # could not be removed: its records stay in S3 (logged)
    while True:
        tainted = sorted((obj for obj in stored.values() if obj.last >= cut), key=lambda obj: obj.first)
        if not tainted:
            break
        for obj in tainted:
            if obj.key not in stored:
                continue
            del stored[obj.key]
            try:
                s3.delete_object(Bucket=obj.bucket, Key=obj.key)
            except Exception:
                logger.exception("could not remove an object holding records past the retry point; the retry "
                                 "may duplicate them", extra={"bucket": obj.bucket, "key": obj.key})
                stuck.append(obj)
                continue
            keep = [line for line in obj.lines if line.seq < cut]
            if not keep:
                continue
            replacement = _Object(obj.bucket, obj.group, keep)
            try:
                _put(s3, replacement)
            except Exception:
                logger.exception("put_object failed", extra={"bucket": obj.bucket, "key": replacement.key})
                cut = min(cut, obj.first)
                continue
            stored[replacement.key] = replacement
    return list(stored.values()) + stuck, cut


def _summary(objects_written: list[_Object], response: dict, received: int, deferred: int,
             failed: int) -> dict[str, Any]:
    valid = sum(len(obj.lines) for obj in objects_written if obj.group[0] == "bronze")
    by_reason: dict[str, int] = {}
    for obj in objects_written:
        if obj.group[0] == "quarantine":
            for line in obj.lines:
                by_reason[line.reason] = by_reason.get(line.reason, 0) + 1
    return {
        "records_received": received,
        "records_valid": valid,
        "records_quarantined": sum(by_reason.values()),
        "records_failed": failed,
        "records_deferred": deferred,
        "objects_written": len(objects_written),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "batch_item_failures": len(response["batchItemFailures"]),
    }


@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict, context: Any) -> dict:
    records = event.get("Records") or []
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        logger.append_keys(aws_request_id=request_id)
    metrics.add_metric(name="records_received", unit=MetricUnit.Count, value=len(records))
    bronze = os.environ["BRONZE_BUCKET"]
    quarantine = os.environ["QUARANTINE_BUCKET"]
    warm_up()

    # Phase 1 (raises BatchProcessingError when every record fails).
    with processor(records=records, handler=_process):
        results = processor.process()
    phase1 = processor.response()
    failures = {int(item["itemIdentifier"]): item["itemIdentifier"] for item in phase1["batchItemFailures"]}
    failed_seqs = sorted(failures)
    first_failure = failed_seqs[0] if failed_seqs else None
    lines = [result for status, result, _ in results if status == "success"]
    if first_failure is not None:
        writable = [line for line in lines if line.seq < first_failure]
    else:
        writable = lines
    deferred = len(lines) - len(writable)

    # Phase 2.
    objects = _plan(writable, bronze, quarantine)
    written, cut = _write(objects) if objects else ([], None)
    unwritten = 0
    if cut is not None:
        for obj in objects:
            pending = [line.seq for line in obj.lines if line.seq >= cut]
            unwritten += len(pending)
            if pending:
                failures.setdefault(min(pending), str(min(pending)))
    response = {"batchItemFailures": [{"itemIdentifier": failures[seq]} for seq in sorted(failures)]}

    summary = _summary(written, response, len(records), deferred, len(failed_seqs) + unwritten)
    for name in ("records_valid", "records_quarantined", "records_failed", "records_deferred", "objects_written"):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[name])
    for reason, count in summary["quarantined_by_reason"].items():
        with single_metric(name="records_quarantined", unit=MetricUnit.Count, value=count, namespace=NAMESPACE,
                           default_dimensions={"service": SERVICE}) as metric:
            metric.add_dimension(name="reason", value=reason)
    logger.info("ingest batch done", extra=summary)
    return response
