"""The source-agnostic stream ingest: records -> contract check -> bronze and quarantine objects in S3.

Every stream Lambda (one adapter per source: :mod:`lambda_src.ingest.app` for Kinesis,
:mod:`lambda_src.ingest_msk.app` for MSK) runs the same two phases
over a batch:

Phase 1, per record (:func:`~lambda_src.ingest_core.lines.to_line`): :func:`data_contracts.validation.classify`
the payload, and serialise the output line. A contract violation is not a failure: the record goes to
quarantine with its reason code; so does a record on which the checks themselves raise (reason
``validation_error``). Only an adapter failing to read its own event record makes a record a failure.

Phase 2 (:class:`~lambda_src.ingest_core.batch.Batch`, :class:`~lambda_src.ingest_core.objects.Objects`):
lines are grouped per object (bronze: source, entity, ingest date, partition; quarantine: ingest date,
partition), sorted by position, and written one object per group, at keys from :mod:`data_contracts.layout`
and the adapter's naming::

    bronze:     source=<source>/entity=<entity>/ingest_date=<YYYY-MM-DD>/<object name>
    quarantine: <adapter's quarantine folder>/<object name>
    <object name> = <adapter prefix>-<partition>-<first position>-<last position>.jsonl

``ingest_date`` is the UTC date of the record's arrival time. Bronze line: ``{"event": <envelope>, "ingest":
{"arrival_time", <the adapter's metadata>}}``; quarantine line: ``{"error", "ingest", "payload",
"payload_encoding" ("utf-8" | "base64"), "reason"}``. Compact JSON, sorted keys, UTF-8, one line per record,
in position order. Nothing depends on the wall clock.

Each record once, whatever Lambda redelivers (the same batch again after a timeout or a crash, the halves
of a bisected batch, a batch of another size or start, a replay): an object holds every line of its group
between its first and last position, so before writing a group its stored objects are listed, and every
line inside one of their ranges is skipped (counted as ``records_redelivered``). See
:mod:`lambda_src.ingest_core.objects`.

Partial failures. With ``ReportBatchItemFailures``, Lambda resumes each partition (a shard, a
topic-partition) from the LOWEST position reported for it and redelivers every record after it.

* Phase 1 failures: the cut-off is the lowest failed position. The failed records are reported; good
  records after the first failure are NOT written in this invocation (they are redelivered and written by
  the retry), records before it are.
* Phase 2 (S3) failures: groups are written in order of their first position; at the first failed list or
  put nothing more is attempted, and each partition reports its lowest record not stored. Objects already
  written stay: the retry finds them and skips their records.
* Every record failing in phase 1: Powertools raises ``BatchProcessingError`` so Lambda retries (and, if
  configured, bisects) the whole batch.

What an adapter supplies (:class:`~lambda_src.ingest_core.handler.Adapter`). An adapter turns one Powertools
record of its event type into a neutral :class:`~lambda_src.ingest_core.lines.SourceRecord` (``to_record``:
the partition id for the object name, the position as an orderable integer, the item identifier its
partial batch response reports, the raw payload bytes with any transport encoding such as base64 removed,
the arrival time in epoch milliseconds, and the source-specific fields of the line's ``ingest`` object),
locates a record that failed without converting it (``locate``: partition, position, item identifier), and
names objects (:class:`~lambda_src.ingest_core.objects.ObjectNaming`: the object name from partition and
first/last position, its prefix per partition and its parser, the quarantine folder of a day), all from
:mod:`data_contracts.layout`. Its handler module
keeps the Powertools ``BatchProcessor`` (of its event type), ``Logger`` and ``Metrics`` and binds them with
:func:`~lambda_src.ingest_core.handler.handler_for` (which calls :func:`~lambda_src.ingest_core.handler.ingest`). The MSK adapter (:mod:`lambda_src.ingest_msk.app`)
maps each record of the ``records`` map to partition ``<topic>-<partition>``, position = offset, item
identifier = Powertools' ``{"partition", "offset"}``, payload = the base64-decoded value (None for a tombstone,
which phase 1 quarantines with reason ``tombstone``), arrival = the record timestamp, and keeps key, headers,
offset and timestamp in the ingest metadata.

Modules: :mod:`.lines` (phase 1), :mod:`.objects` (grouping, naming, writing each record once), :mod:`.batch`
(the cut-off rule, the reported items, the summary and the per-record log lines), :mod:`.handler` (the Lambda
side: Powertools phase 1, the metrics of :mod:`data_contracts.metrics`, the log lines, keyed by ``event_id``
and ``aws_request_id``, the container's S3 client). S3 is injected: any object with boto3's ``put_object``
and ``list_objects_v2``.
"""
from lambda_src.ingest_core.batch import Batch, Outcome
from lambda_src.ingest_core.handler import Adapter, ContainerS3, handler_for, ingest
from lambda_src.ingest_core.lines import Line, RecordRef, SourceRecord, to_line
from lambda_src.ingest_core.objects import ObjectNaming

__all__ = ["Adapter", "Batch", "ContainerS3", "Line", "ObjectNaming", "Outcome", "RecordRef", "SourceRecord",
           "handler_for", "ingest", "to_line"]
