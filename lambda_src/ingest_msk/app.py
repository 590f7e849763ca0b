"""MSK ingest Lambda: Kafka batch -> S3 bronze (valid envelopes) and quarantine (contract violations, tombstones).

Handler: ``lambda_src.ingest_msk.app.lambda_handler`` in the repository, ``app.lambda_handler`` in the zip
(this file sits at the zip root next to ``data_contracts/`` and ``lambda_src/ingest_core/``; only absolute
imports are used, so both layouts work).

Environment: ``BRONZE_BUCKET``, ``QUARANTINE_BUCKET``, ``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``LOG_LEVEL``. Needs ``s3:PutObject`` on the MSK objects of both buckets and
``s3:ListBucket`` for their prefixes (``layout.MSK_BRONZE_KEY_GLOB``, ``layout.MSK_QUARANTINE_KEY_GLOB``); it
never deletes.

This module is the MSK adapter of :mod:`lambda_src.ingest_core` (the same two phases, exactly-once writes,
cut-off rule, metrics and log line as the Kinesis adapter, :mod:`lambda_src.ingest.app`). The event::

    {"eventSource": "aws:kafka", "eventSourceArn": ..., "bootstrapServers": ...,
     "records": {"<topic>-<partition>": [{"topic", "partition", "offset", "timestamp", "timestampType",
                                          "key" (base64, may be absent), "value" (base64; null for a tombstone),
                                          "headers": [{"<name>": [<byte ints, maybe signed>]}, ...]}, ...]}}

Each record becomes a neutral record with partition = ``<topic>-<partition>`` (``layout.topic_partition``),
position = the offset, reported item = Powertools' Kafka identifier ``{"partition": "<topic>-<partition>",
"offset": <offset>}``, payload = the base64-decoded ``value`` (None for a tombstone: quarantined with reason
``tombstone``), arrival = the record ``timestamp`` (epoch ms). Objects (:mod:`data_contracts.layout`)::

    bronze:     source=<source>/entity=<entity>/ingest_date=<YYYY-MM-DD>/msk-<topic>-<partition>-<first>-<last>.jsonl
    quarantine: source=msk/ingest_date=<YYYY-MM-DD>/msk-<topic>-<partition>-<first>-<last>.jsonl

Bronze line: ``{"event": <envelope>, "ingest": {"arrival_time", "shard_id", "sequence_number",
"partition_key", "topic", "partition", "offset", "timestamp", "timestamp_type", "key", "key_encoding",
"headers"}}``. The first four are the stream fields bronze->silver reads from every bronze line (as the
Kinesis ingest and the backfill write them): ``shard_id`` = ``<topic>-<partition>``, ``sequence_number`` = the
offset as digits, ``partition_key`` = the key. The rest is the Kafka record: ``key`` is the decoded key as
text (``key_encoding`` "utf-8"), base64 when it is not UTF-8 (``"base64"``), null when absent; ``headers`` is
a list of ``{"name", "value", "value_encoding"}`` in the record's order (a name may repeat). Quarantine line: ``{"error", "ingest",
"payload", "payload_encoding", "reason"}``.

A batch may hold several topic-partitions: the cut-off applies per topic-partition (Lambda resumes each from
the LOWEST offset reported for it). Returns ``{"batchItemFailures": [{"itemIdentifier": {"partition",
"offset"}}, ...]}``; raises ``BatchProcessingError`` when every record fails. S3 is injected: :func:`handler_for`
binds a handler to any object with boto3's ``put_object``/``list_objects_v2``; :data:`lambda_handler` uses the
container's client.
"""
from __future__ import annotations

import base64
import os
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.shared.functions import decode_header_bytes
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from data_contracts import layout
from data_contracts.metrics import NAMESPACE as DEFAULT_NAMESPACE
from data_contracts.validation import classify
from lambda_src.ingest_core.handler import Adapter, ContainerS3
from lambda_src.ingest_core.handler import handler_for as make_handler
from lambda_src.ingest_core.lines import RecordRef, SourceRecord
from lambda_src.ingest_core.objects import ObjectNaming

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lakeforge-ingest-msk")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.Kafka, logger=logger)


def records(event: dict) -> list[dict]:
    """Every record of the event's ``records`` map, topic-partition by topic-partition, in the event's order."""
    return [record for batch in (event.get("records") or {}).values() for record in batch]


def locate(record) -> RecordRef:
    """Topic-partition, offset and reported identifier of a Powertools ``KafkaEventRecord``."""
    raw = record.raw_event
    partition_id = layout.topic_partition(raw["topic"], int(raw["partition"]))
    offset = int(raw["offset"])
    return RecordRef(partition_id, offset, {"partition": partition_id, "offset": offset})


def _text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 text when the bytes are UTF-8, else their base64."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def _headers(raw_headers: list | None) -> list[dict[str, str]]:
    out = []
    for chunk in raw_headers or ():
        for name, value in chunk.items():
            text, encoding = _text(decode_header_bytes(value))
            out.append({"name": name, "value": text, "value_encoding": encoding})
    return out


def to_record(record) -> SourceRecord:
    """A Powertools ``KafkaEventRecord`` as the core's neutral record (raises on an unreadable record)."""
    raw = record.raw_event
    partition_id, offset, item = locate(record)
    value = raw.get("value")
    payload = None if value is None else base64.b64decode(value, validate=True)
    key = raw.get("key")
    key_text, key_encoding = (None, None) if key is None else _text(base64.b64decode(key, validate=True))
    timestamp = int(raw["timestamp"])
    ingest_fields = {
        # the lake's stream fields, which bronze->silver reads from every bronze line (Kinesis, backfill, MSK)
        "shard_id": partition_id, "sequence_number": str(offset), "partition_key": key_text,
        # the Kafka record as it was
        "topic": raw["topic"], "partition": int(raw["partition"]), "offset": offset, "timestamp": timestamp,
        "timestamp_type": raw.get("timestampType"), "key": key_text, "key_encoding": key_encoding,
        "headers": _headers(raw.get("headers"))}
    return SourceRecord(partition_id, offset, item, payload, timestamp, ingest_fields)


MSK = Adapter(records=records, to_record=to_record, locate=locate,
              naming=ObjectNaming(object_name=layout.msk_object_name, name_prefix=layout.msk_object_prefix,
                                  parse_name=layout.parse_msk_object_name,
                                  quarantine_prefix=layout.msk_quarantine_prefix))


def handler_for(s3: Any) -> Callable[[dict, Any], dict]:
    """The Lambda handler writing through ``s3`` (its ``.s3`` attribute); metrics are flushed on return."""
    # ``MSK`` and ``classify`` are looked up on every call, so a test can replace them.
    return make_handler(lambda: MSK, s3, processor=processor, logger=logger, metrics=metrics, namespace=NAMESPACE,
                        service=SERVICE, classify=lambda: classify)


lambda_handler = handler_for(ContainerS3())
