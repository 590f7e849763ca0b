"""Ingest Lambda: Kinesis batch -> S3 bronze (valid envelopes) and quarantine (contract violations).

Handler: ``lambda_src.ingest.app.lambda_handler`` in the repository, ``app.lambda_handler`` in the zip
(this file sits at the zip root next to ``data_contracts/`` and ``lambda_src/ingest_core/``; only absolute
imports are used, so both layouts work).

Environment: ``BRONZE_BUCKET``, ``QUARANTINE_BUCKET``, ``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``LOG_LEVEL``. Needs ``s3:PutObject`` on the stream objects of both
buckets and ``s3:ListBucket`` for their prefixes (``layout.STREAM_BRONZE_KEY_GLOB``,
``layout.STREAM_QUARANTINE_KEY_GLOB``); it never deletes.

This module is the Kinesis adapter of :mod:`lambda_src.ingest_core`, which holds the two phases (contract
check and serialisation per record through a Powertools ``BatchProcessor``; objects, S3 writes that store
each record once whatever Lambda redelivers, the partial-failure cut-off rule), the metrics and the log lines.
Here: each Kinesis record becomes a neutral record with partition = the shard id (from ``eventID``,
``shardId-unknown`` without one), position = the sequence number, reported item = the sequence number,
payload = the base64-decoded ``data``, arrival = ``approximateArrivalTimestamp``; objects are named
(:mod:`data_contracts.layout`)::

    bronze:     source=<source>/entity=<entity>/ingest_date=<YYYY-MM-DD>/kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl
    quarantine: source=kinesis/ingest_date=<YYYY-MM-DD>/kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl

Bronze line: ``{"event": <envelope>, "ingest": {"arrival_time", "partition_key", "sequence_number",
"shard_id"}}``; quarantine line: ``{"error", "ingest", "payload", "payload_encoding", "reason"}``.
A Kinesis batch holds one shard, so the cut-off is that of the shard: Lambda resumes it from the LOWEST
reported sequence number.

Returns the partial batch response ``{"batchItemFailures": [{"itemIdentifier": "<seq>"}, ...]}``; raises
``BatchProcessingError`` when every record fails. S3 is injected: :func:`handler_for` binds a handler to
any object with boto3's ``put_object``/``list_objects_v2``; :data:`lambda_handler` uses the container's client
(:class:`~lambda_src.ingest_core.handler.ContainerS3`, created on first use).
"""
from __future__ import annotations

import base64
import os
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from data_contracts import layout
from data_contracts.metrics import NAMESPACE as DEFAULT_NAMESPACE
from data_contracts.validation import classify
from lambda_src.ingest_core.handler import Adapter, ContainerS3
from lambda_src.ingest_core.handler import handler_for as make_handler
from lambda_src.ingest_core.lines import RecordRef, SourceRecord
from lambda_src.ingest_core.objects import ObjectNaming

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lakeforge-ingest")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
processor = BatchProcessor(event_type=EventType.KinesisDataStreams, logger=logger)


def _shard_id(record: dict) -> str:
    event_id = record.get("eventID") or ""
    shard, sep, _ = event_id.rpartition(":")
    return shard if sep and shard else "shardId-unknown"


def locate(record) -> RecordRef:
    """Shard, sequence number and reported identifier of a Powertools ``KinesisStreamRecord``."""
    raw = record.raw_event
    sequence = raw["kinesis"]["sequenceNumber"]
    return RecordRef(_shard_id(raw), int(sequence), sequence)


def to_record(record) -> SourceRecord:
    """A Powertools ``KinesisStreamRecord`` as the core's neutral record."""
    kinesis = record.raw_event["kinesis"]
    shard, position, sequence = locate(record)
    arrival_ms = round(float(kinesis["approximateArrivalTimestamp"]) * 1000)
    ingest_fields = {"partition_key": kinesis.get("partitionKey"), "sequence_number": sequence, "shard_id": shard}
    return SourceRecord(shard, position, sequence, base64.b64decode(kinesis["data"]), arrival_ms, ingest_fields)


KINESIS = Adapter(records=lambda event: event.get("Records") or [], to_record=to_record, locate=locate,
                  naming=ObjectNaming(object_name=layout.stream_object_name, name_prefix=layout.stream_object_prefix,
                                      parse_name=layout.parse_stream_object_name,
                                      quarantine_prefix=layout.stream_quarantine_prefix))


def handler_for(s3: Any) -> Callable[[dict, Any], dict]:
    """The Lambda handler writing through ``s3`` (its ``.s3`` attribute); metrics are flushed on return."""
    # ``KINESIS`` and ``classify`` are looked up on every call, so a test can replace them.
    return make_handler(lambda: KINESIS, s3, processor=processor, logger=logger, metrics=metrics, namespace=NAMESPACE,
                        service=SERVICE, classify=lambda: classify)


lambda_handler = handler_for(ContainerS3())
