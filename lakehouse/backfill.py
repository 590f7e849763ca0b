"""EMR historical backfill: ERP exports (CSV with header, or JSON lines) -> bronze JSON lines, exactly the
stream's format, so bronze->silver treats both alike.

An export holds one entity, with the contract's field names as columns (CSV headers are matched
case-insensitively; missing columns become null, extra columns are ignored for CSV and carried for JSON).
Each record becomes one bronze line::

    {"event": {"data": {...}, "entity": "<e>", "event_id": "<uuid5>", "event_time": "...Z", "op": "upsert",
               "schema_version": 1, "source": "erp"},
     "ingest": {"arrival_time": "<export time>", "partition_key": "<business key>",
                "sequence_number": "<line number, zero-padded to 20>", "shard_id": "backfill-<export_id>"}}

written as the export's bronze objects (:func:`data_contracts.layout.backfill_object_name`) in the bronze
partition of its export date (:func:`data_contracts.layout.bronze_partition_prefix`).

* Values are carried as they come: CSV values as JSON strings (blank -> null), JSON-lines records
  verbatim (a line that is not a JSON object is carried as a JSON string, so bronze->silver
  quarantines it instead of losing it). Typing and validation happen in bronze->silver.
* ``sequence_number`` is the record's line number in the export (physical line for JSON lines, record
  number for CSV, from 1), ``event_id`` is ``uuid5(BACKFILL_NAMESPACE, "<export_id>:<line number>")``,
  ``event_time`` the record's ``updated_at`` (else ``issued_at``, ``created_at``) when it parses as a
  timestamp, else the export time. Everything derives from the export and the arguments: a rerun
  writes byte-identical objects under the same names (the previous ones of that export are replaced).

Line numbers are computed without a global sort: rows are tagged with ``monotonically_increasing_id``
at the file scan (partition index in the upper bits, in file order), one small aggregation gives the
row count of every scan partition, and the offsets turn the ids into consecutive numbers.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timezone
from pathlib import PurePosixPath

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data_contracts import layout
from data_contracts.contracts import SCHEMA_VERSION, Contract
from lakehouse.bronze_silver import clean_text, parse_timestamp

__all__ = [
    "BACKFILL_NAMESPACE",
    "EVENT_TIME_FIELDS",
    "SEQUENCE_DIGITS",
    "bronze_lines",
    "event_id",
    "export_id_from_path",
    "export_time_from_path",
    "number_rows",
    "read_export",
    "write_bronze",
]

BACKFILL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://lakeforge.invalid/backfill")
SEQUENCE_DIGITS = 20
EVENT_TIME_FIELDS: tuple[str, ...] = ("updated_at", "issued_at", "created_at")
DEFAULT_RECORDS_PER_FILE = 1_000_000
_ID_OK = re.compile(r"[^A-Za-z0-9_.-]+")
_MASK33 = (1 << 33) - 1


# --- names and identities ---------------------------------------------------------------------------------

def export_id_from_path(path: str) -> str:
    """``s3://b/landing/erp/policy/policy_2024-06-01.csv`` -> ``policy_2024-06-01`` (safe characters only)."""
    name = PurePosixPath(path.rstrip("/")).name
    for suffix in (".gz", ".csv", ".jsonl", ".json", ".ndjson", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    cleaned = _ID_OK.sub("-", name).strip("-.")
    if not cleaned:
        raise ValueError(f"cannot derive an export id from {path!r}")
    return cleaned


def export_time_from_path(path: str) -> str | None:
    """The export time found in a file name (``2024-06-01``, ``20240601`` or ``20240601T101500``), UTC, or None."""
    name = PurePosixPath(path.rstrip("/")).name
    m = re.search(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T_-]?(\d{2})(\d{2})(\d{2}))?", name)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        moment = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_export_time(text: str) -> datetime:
    """ISO-8601 (``Z``/offset/naive = UTC) -> aware UTC datetime."""
    value = text.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def event_id(export_id: str, line_number: int) -> str:
    """The event id of line ``line_number`` of export ``export_id`` (what :func:`bronze_lines` computes)."""
    return str(uuid.uuid5(BACKFILL_NAMESPACE, f"{export_id}:{line_number}"))


def _event_id_column(export_id: str, line_number: Column) -> Column:
    """uuid5 in Spark: SHA-1 of namespace bytes + name, version nibble 5, RFC 4122 variant."""
    name = F.concat(F.lit(f"{export_id}:"), line_number.cast("string"))
    digest = F.sha1(F.concat(F.lit(bytearray(BACKFILL_NAMESPACE.bytes)), F.encode(name, "UTF-8")))
    variant = F.lit("89ab" * 4).substr(F.conv(F.substring(digest, 17, 1), 16, 10).cast("int") + 1, F.lit(1))
    return F.concat_ws("-", F.substring(digest, 1, 8), F.substring(digest, 9, 4),
                       F.concat(F.lit("5"), F.substring(digest, 14, 3)),
                       F.concat(variant, F.substring(digest, 18, 3)), F.substring(digest, 21, 12))


# --- reading ---------------------------------------------------------------------------------------------

def number_rows(df: DataFrame) -> tuple[DataFrame, int]:
    """Adds ``line_number`` (1..n in scan order: file order for one file) to a frame read straight from a
    file (no shuffle before this call); returns it with n. Runs one small aggregation."""
    tagged = df.withColumn("_mid", F.monotonically_increasing_id())
    counts = (tagged.groupBy(F.shiftright(F.col("_mid"), 33).alias("pid")).count().collect())
    offsets: dict[int, int] = {}
    running = 0
    for row in sorted(counts, key=lambda r: r["pid"]):
        offsets[int(row["pid"])] = running
        running += int(row["count"])
    if not offsets:
        return tagged.withColumn("line_number", F.lit(None).cast("long")).drop("_mid"), 0
    offset_map = F.create_map(*[F.lit(x) for pid, off in sorted(offsets.items()) for x in (pid, off)])
    numbered = tagged.withColumn(
        "line_number",
        (offset_map[F.shiftright(F.col("_mid"), 33)] + F.col("_mid").bitwiseAND(F.lit(_MASK33)) + 1).cast("long"),
    ).drop("_mid")
    return numbered, running


def read_export(spark, path: str, fmt: str, contract: Contract, *, delimiter: str = ",",
                encoding: str = "UTF-8") -> tuple[DataFrame, int]:
    """An export file -> ``(records, n)``: ``line_number``, ``data_json`` (the ``data`` object as JSON text)
    and one string column per contract field (for event time and partition key); n = numbered rows
    (for JSON lines: physical lines, blank ones included in the numbering but not in the records)."""
    fields = list(contract.field_names)
    if fmt == "csv":
        raw = (spark.read.option("header", "true").option("sep", delimiter).option("encoding", encoding)
               .option("inferSchema", "false").option("mode", "PERMISSIVE").option("multiLine", "false")
               .csv(path))
        by_name = {c.strip().lstrip("\ufeff").lower(): c for c in raw.columns}
        selected = raw.select(*[
            (F.col(f"`{by_name[f.lower()]}`") if f.lower() in by_name else F.lit(None)).cast("string").alias(f)
            for f in fields])
        numbered, n = number_rows(selected)
        values = {f: clean_text(F.col(f)) for f in fields}
        data = F.to_json(F.struct(*[values[f].alias(f) for f in sorted(fields)]), {"ignoreNullFields": "false"})
        records = numbered.select("line_number", data.alias("data_json"), *[values[f].alias(f) for f in fields])
        return records, n
    if fmt in ("jsonl", "json"):
        raw = spark.read.option("wholetext", "false").text(path)
        numbered, n = number_rows(raw.select(F.col("value").alias("line")))
        text = F.regexp_replace(F.col("line"), r"^[\s\ufeff]+|\s+$", "")
        numbered = numbered.select("line_number", text.alias("line")).where(F.col("line") != "")
        is_object = F.from_json(F.col("line"), T.MapType(T.StringType(), T.StringType())).isNotNull()
        as_string = F.expr("substring(to_json(array(line)), 2, length(to_json(array(line))) - 2)")
        data = F.when(is_object & F.col("line").startswith("{"), F.col("line")).otherwise(as_string)
        records = numbered.select(
            "line_number", data.alias("data_json"),
            *[F.when(is_object, clean_text(F.get_json_object(F.col("line"), f"$.{f}"))).alias(f) for f in fields])
        return records, n
    raise ValueError(f"unknown export format {fmt!r} (csv, jsonl)")


# --- bronze lines ------------------------------------------------------------------------------------------

def bronze_lines(records: DataFrame, contract: Contract, export_id: str, export_time: str) -> DataFrame:
    """Records from :func:`read_export` -> ``(line_number, line)`` in the stream's bronze line format."""
    moment = normalize_export_time(export_time)
    arrival = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    export_micros = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    candidates = [parse_timestamp(F.col(f)) for f in EVENT_TIME_FIELDS if f in contract.field_names]
    event_ts = F.coalesce(*candidates, F.timestamp_micros(F.lit(export_micros)))
    key = F.concat_ws("|", *[F.coalesce(F.col(k), F.lit("")) for k in contract.business_key])
    rest = F.to_json(F.struct(
        F.lit(contract.entity).alias("entity"),
        _event_id_column(export_id, F.col("line_number")).alias("event_id"),
        event_ts.alias("event_time"),
        F.lit("upsert").alias("op"),
        F.lit(SCHEMA_VERSION).alias("schema_version"),
        F.lit(contract.source).alias("source"),
    ), {"timeZone": "UTC", "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'", "ignoreNullFields": "false"})
    ingest = F.to_json(F.struct(
        F.lit(arrival).alias("arrival_time"),
        key.alias("partition_key"),
        F.lpad(F.col("line_number").cast("string"), SEQUENCE_DIGITS, "0").alias("sequence_number"),
        F.lit(f"backfill-{export_id}").alias("shard_id"),
    ), {"ignoreNullFields": "false"})
    line = F.concat(F.lit('{"event":{"data":'), F.col("data_json"), F.lit(","), F.expr("substring(_rest, 2)"),
                    F.lit(',"ingest":'), ingest, F.lit("}"))
    return records.withColumn("_rest", rest).select("line_number", line.alias("line"))


# --- writing -------------------------------------------------------------------------------------------------

def write_bronze(spark, lines: DataFrame, total_lines: int, bronze_path: str, contract: Contract,
                 export_id: str, export_time: str, records_per_file: int = DEFAULT_RECORDS_PER_FILE) -> list[str]:
    """Write the lines of one export as its bronze objects (``layout.backfill_object_name``; line-number
    order, a fixed number of parts = ceil(total_lines / records_per_file)) and return their URIs. Objects
    of an earlier run of the same export are replaced."""
    from lakehouse import fs

    moment = normalize_export_time(export_time)
    root = bronze_path.rstrip("/")
    day = moment.strftime("%Y-%m-%d")
    target = f"{root}/{layout.bronze_partition_prefix(contract.source, contract.entity, day)}".rstrip("/")
    tmp = f"{root}/{layout.backfill_tmp_prefix(contract.source, contract.entity, export_id)}".rstrip("/")
    parts = max(1, math.ceil(max(total_lines, 1) / max(1, records_per_file)))
    part = F.floor((F.col("line_number") - 1) * F.lit(parts) / F.lit(max(total_lines, 1))).cast("int")
    fs.delete(spark, tmp)
    (lines.withColumn("part", part)
     .repartition(parts, "part").sortWithinPartitions("part", "line_number")
     .select("line", "part")
     .write.mode("overwrite").partitionBy("part").text(tmp))
    previous = layout.backfill_object_prefix(export_id)
    for name, is_dir in fs.list_dir(spark, target):
        if not is_dir and name.startswith(previous) and name.endswith(layout.OBJECT_SUFFIX):
            fs.delete(spark, f"{target}/{name}", recursive=False)
    written = []
    for name, is_dir in fs.list_dir(spark, tmp):
        if not (is_dir and name.startswith("part=")):
            continue
        index = int(name.split("=", 1)[1])
        files = [f for f, d in fs.list_dir(spark, f"{tmp}/{name}") if not d and f.startswith("part-")
                 and not f.endswith(".crc")]
        if len(files) != 1:
            raise RuntimeError(f"expected one file in {tmp}/{name}, found {files}")
        dest = f"{target}/{layout.backfill_object_name(export_id, index)}"
        fs.rename(spark, f"{tmp}/{name}/{files[0]}", dest)
        written.append(dest)
    fs.delete(spark, tmp)
    return sorted(written)
