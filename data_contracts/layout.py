"""The raw layers' object layout, defined once: where every bronze, landing, document and stream-quarantine
object lives and how it is named. Every writer (the ingest Lambda, the EMR backfill, the demo, the
benchmarks) and every reader (bronze->silver, the crawler paths, the local runtime, the tests) uses these.

Bronze (the bronze bucket)::

    source=<source>/entity=<entity>/ingest_date=<YYYY-MM-DD>/<object>.jsonl

    <object> = kinesis-<shardId>-<firstSeq>-<lastSeq>     stream batch (Kinesis ingest Lambda)
             = msk-<topic>-<partition>-<first>-<last>     stream batch (MSK ingest Lambda; offsets)
             = backfill-<export_id>-<part:05d>            historical export (EMR backfill)
             = erasure-<business key>                     the delete event of an erasure (operations.erase)

Landing zone of the historical exports (the bronze bucket, read by the backfill)::

    landing/erp/<entity>/<export file>                    e.g. landing/erp/policy/policy_2024-06-01.csv

Unstructured documents (the bronze bucket, kept as they arrive)::

    unstructured/source=<source>/<document path>          e.g. unstructured/source=erp/claims/CLM-.../vistoria.json

Stream quarantine (the quarantine bucket: records that failed their contract at ingestion)::

    source=kinesis/ingest_date=<YYYY-MM-DD>/kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl
    source=msk/ingest_date=<YYYY-MM-DD>/msk-<topic>-<partition>-<firstOffset>-<lastOffset>.jsonl

Scratch space of the backfill (the bronze bucket, removed after each export)::

    _tmp/backfill/<source>/<entity>/<export_id>/

Standard library only: shipped inside the Lambda zip and the Spark jobs' shared-code zip.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BACKFILL_TMP_PREFIX",
    "BRONZE_FOLDER_PREFIXES",
    "BRONZE_KEY_PATTERN",
    "BRONZE_KEY_SEGMENTS",
    "BRONZE_PARTITION_KEYS",
    "BRONZE_RECORDS_PREFIX",
    "BronzeKey",
    "ERASURE_OBJECT_PREFIX",
    "LANDING_PREFIX",
    "MSK_BRONZE_KEY_GLOB",
    "MSK_OBJECT_PREFIX",
    "MSK_QUARANTINE_KEY_GLOB",
    "MSK_QUARANTINE_PREFIX",
    "MSK_SOURCE",
    "OBJECT_SUFFIX",
    "STREAM_BRONZE_KEY_GLOB",
    "STREAM_OBJECT_PREFIX",
    "STREAM_QUARANTINE_KEY_GLOB",
    "STREAM_QUARANTINE_PREFIX",
    "UNSTRUCTURED_PREFIX",
    "backfill_object_name",
    "backfill_object_prefix",
    "backfill_tmp_prefix",
    "bronze_partition_prefix",
    "crawler_prefixes",
    "erasure_object_name",
    "document_key",
    "document_prefix",
    "entity_prefix",
    "landing_prefix",
    "msk_object_name",
    "msk_object_prefix",
    "msk_quarantine_prefix",
    "parse_msk_object_name",
    "parse_bronze_key",
    "parse_erasure_object_name",
    "parse_stream_object_name",
    "source_prefix",
    "stream_object_name",
    "stream_object_prefix",
    "stream_quarantine_key",
    "stream_quarantine_prefix",
    "topic_partition",
]

OBJECT_SUFFIX = ".jsonl"
"""Every record object (bronze and stream quarantine) is JSON lines."""

BRONZE_PARTITION_KEYS = ("source", "entity", "ingest_date")
"""The Hive-style partition keys of a bronze key's folders, outermost first."""
BRONZE_FOLDER_PREFIXES = tuple(f"{key}=" for key in BRONZE_PARTITION_KEYS)
"""How each folder of a bronze key starts (``source=``, ``entity=``, ``ingest_date=``)."""
BRONZE_KEY_SEGMENTS = len(BRONZE_PARTITION_KEYS) + 1
"""Path segments of a bronze key: its partition folders, then the object name."""

BRONZE_RECORDS_PREFIX = BRONZE_FOLDER_PREFIXES[0]
"""Every bronze record object is below this prefix (what bronze->silver may read)."""

BRONZE_KEY_PATTERN = "(" + "".join(f"{prefix}([^/]+)/" for prefix in BRONZE_FOLDER_PREFIXES) + "([^/]+))$"
"""The bronze part of an object URI: groups 1 (relative key), 2 source, 3 entity, 4 ingest date, 5 name."""
_BRONZE_KEY = re.compile(BRONZE_KEY_PATTERN)

LANDING_PREFIX = "landing/erp/"
"""Historical ERP exports land here, one folder per entity."""

UNSTRUCTURED_PREFIX = "unstructured/"
"""Unstructured documents (PDF, text, JSON reports), kept as they arrive."""

BACKFILL_TMP_PREFIX = "_tmp/backfill/"
"""Scratch space of the backfill's Spark writes."""


def _folders(*values: str) -> str:
    """The bronze folders for the first ``len(values)`` partition keys: ``source=<s>/entity=<e>/...``."""
    return "".join(f"{prefix}{value}/" for prefix, value in zip(BRONZE_FOLDER_PREFIXES, values))


def source_prefix(source: str) -> str:
    """``source=<source>/``: every bronze object of one source."""
    return _folders(source)


def entity_prefix(source: str, entity: str) -> str:
    """``source=<source>/entity=<entity>/``: every bronze object of one contract."""
    return _folders(source, entity)


def bronze_partition_prefix(source: str, entity: str, ingest_date: str) -> str:
    """``source=<s>/entity=<e>/ingest_date=<YYYY-MM-DD>/``: one ingest day of one contract."""
    return _folders(source, entity, ingest_date)


STREAM_QUARANTINE_SOURCE = "kinesis"
STREAM_QUARANTINE_PREFIX = source_prefix(STREAM_QUARANTINE_SOURCE)
"""Stream records that failed their contract (in the quarantine bucket)."""


STREAM_OBJECT_PREFIX = f"{STREAM_QUARANTINE_SOURCE}-"
"""Every stream batch object's name starts with this (bronze and stream quarantine)."""

def stream_object_prefix(shard_id: str) -> str:
    """``kinesis-<shardId>-``: how the name of every stream object of one shard starts."""
    return f"{STREAM_OBJECT_PREFIX}{shard_id}-"


def stream_object_name(shard_id: str, first_sequence: int | str, last_sequence: int | str) -> str:
    """``kinesis-<shardId>-<firstSeq>-<lastSeq>.jsonl``: a stream object, named by the range of sequence
    numbers it covers (it holds every record of its folder's group in that range: see lambda_src.ingest_core)."""
    return f"{stream_object_prefix(shard_id)}{first_sequence}-{last_sequence}{OBJECT_SUFFIX}"


def _parse_range_name(name: str, prefix: str) -> tuple[str, int, int] | None:
    """``(partition, first, last)`` of ``<prefix><partition>-<first>-<last>.jsonl``, else None."""
    if not (name.startswith(prefix) and name.endswith(OBJECT_SUFFIX)):
        return None
    partition, _, rest = name[len(prefix):-len(OBJECT_SUFFIX)].rpartition("-")
    partition, _, first = partition.rpartition("-")
    if not (partition and first.isdigit() and rest.isdigit()):
        return None
    return partition, int(first), int(rest)


def parse_stream_object_name(name: str) -> tuple[str, int, int] | None:
    """``(shardId, first, last)`` of a stream object's name (:func:`stream_object_name`), else None."""
    return _parse_range_name(name, STREAM_OBJECT_PREFIX)


def stream_quarantine_prefix(ingest_date: str) -> str:
    """``source=kinesis/ingest_date=<YYYY-MM-DD>/``: the stream quarantine folder of one arrival day."""
    return f"{STREAM_QUARANTINE_PREFIX}{BRONZE_FOLDER_PREFIXES[-1]}{ingest_date}/"


def stream_quarantine_key(ingest_date: str, shard_id: str, first_sequence: int | str,
                          last_sequence: int | str) -> str:
    """Key of a stream quarantine object in the quarantine bucket."""
    return stream_quarantine_prefix(ingest_date) + stream_object_name(shard_id, first_sequence, last_sequence)


STREAM_BRONZE_KEY_GLOB = bronze_partition_prefix("*", "*", "*") + STREAM_OBJECT_PREFIX + "*"
"""Every bronze object the stream ingest writes, as an IAM resource/``s3:prefix`` glob."""
STREAM_QUARANTINE_KEY_GLOB = stream_quarantine_prefix("*") + STREAM_OBJECT_PREFIX + "*"
"""Every quarantine object the stream ingest writes, as an IAM resource/``s3:prefix`` glob."""


# --- MSK (Kafka) stream objects: the same scheme, named by topic-partition and offsets --------------------

MSK_SOURCE = "msk"
MSK_QUARANTINE_PREFIX = source_prefix(MSK_SOURCE)
"""MSK records that failed their contract, or carried no value (in the quarantine bucket)."""
MSK_OBJECT_PREFIX = f"{MSK_SOURCE}-"
"""Every MSK batch object's name starts with this (bronze and MSK quarantine)."""


def topic_partition(topic: str, partition: int | str) -> str:
    """``<topic>-<partition>``: a Kafka topic-partition's id, as Lambda keys an MSK event's ``records`` map and
    Powertools names it in ``batchItemFailures``."""
    return f"{topic}-{partition}"


def msk_object_prefix(partition_id: str) -> str:
    """``msk-<topic>-<partition>-``: how the name of every MSK object of one topic-partition starts."""
    return f"{MSK_OBJECT_PREFIX}{partition_id}-"


def msk_object_name(partition_id: str, first_offset: int | str, last_offset: int | str) -> str:
    """``msk-<topic>-<partition>-<firstOffset>-<lastOffset>.jsonl``: an MSK object, named by the range of offsets
    it covers (it holds every record of its folder's group in that range: see lambda_src.ingest_core)."""
    return f"{msk_object_prefix(partition_id)}{first_offset}-{last_offset}{OBJECT_SUFFIX}"


def parse_msk_object_name(name: str) -> tuple[str, int, int] | None:
    """``(<topic>-<partition>, first, last)`` of an MSK object's name (:func:`msk_object_name`), else None."""
    return _parse_range_name(name, MSK_OBJECT_PREFIX)


def msk_quarantine_prefix(ingest_date: str) -> str:
    """``source=msk/ingest_date=<YYYY-MM-DD>/``: the MSK quarantine folder of one arrival day."""
    return f"{MSK_QUARANTINE_PREFIX}{BRONZE_FOLDER_PREFIXES[-1]}{ingest_date}/"


MSK_BRONZE_KEY_GLOB = bronze_partition_prefix("*", "*", "*") + MSK_OBJECT_PREFIX + "*"
"""Every bronze object the MSK ingest writes, as an IAM resource/``s3:prefix`` glob."""
MSK_QUARANTINE_KEY_GLOB = msk_quarantine_prefix("*") + MSK_OBJECT_PREFIX + "*"
"""Every quarantine object the MSK ingest writes, as an IAM resource/``s3:prefix`` glob."""


def backfill_object_prefix(export_id: str) -> str:
    """Name prefix of every object of one export (``backfill-<export_id>-``)."""
    return f"backfill-{export_id}-"


def backfill_object_name(export_id: str, part: int) -> str:
    """``backfill-<export_id>-<part:05d>.jsonl``: one part of a backfilled export."""
    return f"{backfill_object_prefix(export_id)}{part:05d}{OBJECT_SUFFIX}"


ERASURE_OBJECT_PREFIX = "erasure-"
"""Every erasure delete-event object's name starts with this (never a stream or backfill name)."""
_ERASURE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def erasure_object_name(business_key: str) -> str:
    """``erasure-<business key>.jsonl``: the object holding the one delete event an erasure writes for a record
    (``python -m operations.erase``). Named by the key alone, so a rerun finds it instead of writing another."""
    if not _ERASURE_KEY.match(business_key):
        raise ValueError(f"{business_key!r}: an erasure object is named by a key of letters, digits, '.', '_', '-'")
    return f"{ERASURE_OBJECT_PREFIX}{business_key}{OBJECT_SUFFIX}"


def parse_erasure_object_name(name: str) -> str | None:
    """The business key of an erasure object's name (:func:`erasure_object_name`), else None."""
    if not (name.startswith(ERASURE_OBJECT_PREFIX) and name.endswith(OBJECT_SUFFIX)):
        return None
    key = name[len(ERASURE_OBJECT_PREFIX):-len(OBJECT_SUFFIX)]
    return key if _ERASURE_KEY.match(key) else None


def backfill_tmp_prefix(source: str, entity: str, export_id: str) -> str:
    """Scratch folder of one export's Spark write."""
    return f"{BACKFILL_TMP_PREFIX}{source}/{entity}/{export_id}/"


def landing_prefix(entity: str) -> str:
    """``landing/erp/<entity>/``: where the exports of one ERP entity land."""
    return f"{LANDING_PREFIX}{entity}/"


def document_prefix(source: str) -> str:
    """``unstructured/source=<source>/``: the documents of one source."""
    return f"{UNSTRUCTURED_PREFIX}{source_prefix(source)}"


def document_key(source: str, path: str) -> str:
    """Key of one unstructured document (``path`` below its source folder, e.g. ``claims/CLM-1/note.txt``)."""
    return f"{document_prefix(source)}{path.lstrip('/')}"


def crawler_prefixes(sources) -> tuple[str, ...]:
    """The raw and unstructured prefixes of bronze a crawler catalogs: each source's records, then documents."""
    return tuple(source_prefix(s) for s in sources) + (UNSTRUCTURED_PREFIX,)


@dataclass(frozen=True)
class BronzeKey:
    """The parts of a bronze object's key."""

    key: str
    """``source=<s>/entity=<e>/ingest_date=<d>/<name>`` (relative to the bucket)."""
    source: str
    entity: str
    ingest_date: str
    name: str


def parse_bronze_key(path: str) -> BronzeKey | None:
    """The bronze key at the end of an object path or URI, or None when it is not in the layout."""
    match = _BRONZE_KEY.search(path)
    if not match:
        return None
    return BronzeKey(*match.groups())
