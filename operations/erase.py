"""Erase one customer (LGPD): remove its records from every layer of the lake and report exactly what went.

Silver and gold are only ever written by their jobs (journal, manifest, publication record), so an erasure
has two phases, with the normal workflow (bronze->silver, silver->gold) run between them::

    python -m operations.erase request (--customer-id ID | --document-number N) LAKE [--endpoint URL]
    python -m operations.erase finish --customer-id ID LAKE [--endpoint URL]

    LAKE = --outputs FILE (the JSON of `make outputs ENV=...`) and/or --bronze s3://<bucket> --quarantine ...
           --silver ... --gold ... --artifacts ... (an explicit bucket wins over the file)

``request``
    * ``--document-number`` is resolved to customer ids by scanning the raw customer records (bronze, the
      landing exports, both quarantines); the report lists the ids (never the number).
    * Writes ONE delete event per customer into bronze (``source=erp/entity=customer/ingest_date=<today>/``,
      named ``layout.erasure_object_name(customer_id)``, created only if no erasure object of that customer
      exists in any day), its ``event_time`` later than every event of the customer the scan saw and than now.
      The next bronze->silver run tombstones the customer; the next silver->gold run drops it from the
      published ``dim_customer``.
    * Rewrites every object holding a record of the customer without those lines: bronze stream and backfill
      objects, the landing exports (JSON lines or CSV, ``.gz`` too), the ingest quarantine, the silver rule
      quarantine. Lines are matched on the parsed record (``customer_id``, or the document number), never
      by substring; every other byte stays as it was. Each rewrite is conditional on the version read. An
      object left empty is deleted, except a stream object (bronze or ingest quarantine): it stays as an
      empty object, because its name is what tells the ingest that its range of stream positions is stored
      (``lambda_src/ingest_core/objects.py``, ``Objects.stored``); deleting it would let a redelivery of
      that range (a Lambda retry, ``operations.replay``) write the erased record again while the stream
      still holds it.
    * Deletes the noncurrent versions of every rewritten or deleted key, and any other noncurrent version
      of the scanned prefixes that still holds a record of the customer (so a rerun after a crash finishes
      the job), by version id: the raw data is really gone, not just hidden.
    * Rewritten bronze objects get a new ETag, so bronze->silver processes them again as corrected objects
      (their remaining rows replace the ones they held; their silver quarantine rows are rewritten).

``finish`` (after the workflow ran)
    * Reads the silver customer table (and any leftover staging of it) and the published gold
      ``dim_customer`` with pyarrow: a row of the customer there is reported and exits 1.
    * Drops from the gold publication record the kept generations from the newest one still holding the
      customer on (conditional write), and deletes their prefixes (every version).
    * Deletes the noncurrent versions under the customer's silver table, its tombstones, its staging, its
      silver quarantine and the kept gold copies' ``dim_customer``.
    * Scans bronze and both quarantines again (current and noncurrent versions): a line left is reported.

Prints one JSON report; exit status 0 when done (finish: nothing of the customer remains), 1 when something
remains or a write lost a race (run the command again), 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Iterator, Mapping

from data_contracts import layout
from data_contracts.contracts import CUSTOMER_ID_PATTERN, REGISTRY, SCHEMA_VERSION
from lakehouse.objects import is_precondition

__all__ = [
    "Filtered", "Lake", "Parsed", "Target", "bronze_record", "delete_event_line", "filter_csv", "filter_lines",
    "finish", "ingest_quarantine_record", "landing_record", "main", "request", "silver_quarantine_record",
]

CUSTOMER = REGISTRY[("erp", "customer")]
ID_FIELD = CUSTOMER.business_key[0]
DOCUMENT_FIELD = "document_number"
ERASURE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://lakeforge.invalid/erasure")
ERASURE_SHARD = "erasure"
"""``ingest.shard_id`` of an erasure's delete event (bronze->silver requires one)."""
LAKE_BUCKETS = ("bronze", "quarantine", "silver", "gold", "artifacts")
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


# --- matching records (pure) ----------------------------------------------------------------------------

def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value))


@dataclass(frozen=True)
class Target:
    """Whose records go: customer ids, and document numbers (digits only; formatting is ignored)."""

    customer_ids: frozenset[str] = frozenset()
    document_numbers: frozenset[str] = frozenset()

    def matches(self, data: Any) -> bool:
        """True when ``data`` (a customer record's fields) is the customer's."""
        if not isinstance(data, dict):
            return False
        cid = data.get(ID_FIELD)
        if isinstance(cid, str) and cid.strip() in self.customer_ids:
            return True
        doc = data.get(DOCUMENT_FIELD)
        return bool(self.document_numbers) and isinstance(doc, (str, int)) and _digits(doc) in self.document_numbers


@dataclass(frozen=True)
class Parsed:
    """What one line holds: a customer record's fields (``data``), or None (another entity, unreadable)."""

    data: dict | None = None
    event_time: str | None = None
    readable: bool = True


UNREADABLE = Parsed(readable=False)
OTHER = Parsed()


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return UNREADABLE


def _is_customer(envelope: dict) -> bool:
    return (str(envelope.get("source", "")).strip().lower() == CUSTOMER.source
            and str(envelope.get("entity", "")).strip().lower() == CUSTOMER.entity)


def _envelope_record(envelope: Any, any_entity: bool) -> Parsed:
    if not isinstance(envelope, dict):
        return UNREADABLE
    if not (any_entity or _is_customer(envelope)):
        return OTHER
    data = envelope.get("data")
    time = envelope.get("event_time")
    return Parsed(data if isinstance(data, dict) else None, time if isinstance(time, str) else None)


def bronze_record(line: bytes | str, any_entity: bool = True) -> Parsed:
    """A bronze line (``{"event": envelope, "ingest": ...}``, stream or backfill). In the customer partition
    every line is a customer record whatever its envelope claims (``any_entity``)."""
    obj = _json(line)
    if obj is UNREADABLE or not isinstance(obj, dict):
        return UNREADABLE
    return _envelope_record(obj.get("event"), any_entity)


def ingest_quarantine_record(line: bytes | str) -> Parsed:
    """An ingest quarantine line (``{"payload": raw text or base64, "payload_encoding", "reason", ...}``): the
    payload's envelope when it parses and names the customer entity."""
    obj = _json(line)
    if obj is UNREADABLE or not isinstance(obj, dict):
        return UNREADABLE
    payload = obj.get("payload")
    if obj.get("payload_encoding") == "base64":
        import base64
        import binascii
        try:
            payload = base64.b64decode(str(payload), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return UNREADABLE
    return _envelope_record(_json(payload), any_entity=False)


def silver_quarantine_record(line: bytes | str) -> Parsed:
    """A silver rule-quarantine row (JSON, its ``line`` the bronze line that failed)."""
    obj = _json(line)
    if obj is UNREADABLE or not isinstance(obj, dict) or not isinstance(obj.get("line"), str):
        return UNREADABLE
    return bronze_record(obj["line"])


def landing_record(line: bytes | str) -> Parsed:
    """A line of a JSON-lines landing export: the record's fields themselves."""
    obj = _json(line)
    if obj is UNREADABLE or not isinstance(obj, dict):
        return UNREADABLE
    time = next((obj[f] for f in ("updated_at", "issued_at", "created_at") if isinstance(obj.get(f), str)), None)
    return Parsed(obj, time)


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or an offset; naive = UTC), else None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Filtered:
    """One object without the customer's lines."""

    body: bytes
    removed: int = 0
    kept: int = 0
    unreadable: int = 0
    customer_ids: set[str] = field(default_factory=set)
    """Ids of the records removed (those that look like customer ids)."""
    latest: datetime | None = None
    """The latest event time among the records removed."""

    def take(self, parsed: Parsed) -> None:
        self.removed += 1
        cid = parsed.data.get(ID_FIELD) if parsed.data else None
        if isinstance(cid, str) and _CUSTOMER_ID.match(cid.strip()):
            self.customer_ids.add(cid.strip())
        moment = parse_time(parsed.event_time)
        if moment and (self.latest is None or moment > self.latest):
            self.latest = moment

    @property
    def empty(self) -> bool:
        return self.kept == 0


def _physical_lines(body: bytes) -> Iterator[bytes]:
    """Each line with its ``\\n`` (the last one without, when the object does not end with one)."""
    start = 0
    while start < len(body):
        end = body.find(b"\n", start)
        end = len(body) if end < 0 else end + 1
        yield body[start:end]
        start = end


def filter_lines(body: bytes, extract: Callable[[bytes], Parsed], target: Target) -> Filtered:
    """JSON lines without the target's records; every other line (blank ones too) byte for byte."""
    out = Filtered(b"")
    kept: list[bytes] = []
    for line in _physical_lines(body):
        text = line.strip()
        if not text:
            kept.append(line)
            continue
        parsed = extract(text)
        if not parsed.readable:
            out.unreadable += 1
        if parsed.data is not None and target.matches(parsed.data):
            out.take(parsed)
            continue
        out.kept += 1
        kept.append(line)
    out.body = b"".join(kept) if out.kept else b""
    return out


def filter_csv(body: bytes, target: Target) -> Filtered:
    """A CSV export (header row, contract field names as columns, matched case-insensitively) without the
    target's records; the header and every other record byte for byte (quoted line breaks included)."""
    text = body.decode("utf-8")
    records: list[str] = []
    pending = ""
    for line in text.splitlines(keepends=True):
        pending += line
        if pending.count('"') % 2 == 0:  # a record ends where its quotes are balanced
            records.append(pending)
            pending = ""
    if pending:
        records.append(pending)
    out = Filtered(b"")
    if not records:
        return out
    header = [name.strip().lstrip("\ufeff").lower() for name in next(csv.reader([records[0]]))]
    kept = [records[0]]
    for record in records[1:]:
        if not record.strip():
            kept.append(record)
            continue
        try:
            values = next(csv.reader([record]))
        except (csv.Error, StopIteration):
            out.unreadable += 1
            out.kept += 1
            kept.append(record)
            continue
        data = dict(zip(header, values))
        if target.matches(data):
            time = next((data[f] for f in ("updated_at", "issued_at", "created_at") if data.get(f)), None)
            out.take(Parsed(data, time))
            continue
        out.kept += 1
        kept.append(record)
    out.body = "".join(kept).encode("utf-8") if out.kept else b""
    return out


def delete_event_line(customer_id: str, event_time: datetime, arrival: datetime) -> bytes:
    """The bronze line of an erasure's delete event (the stream's line format; ``event_id`` derived from the
    customer id, so the same erasure always carries the same id)."""
    def iso(moment: datetime) -> str:
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    event = {"source": CUSTOMER.source, "entity": CUSTOMER.entity, "schema_version": SCHEMA_VERSION,
             "event_id": str(uuid.uuid5(ERASURE_NAMESPACE, customer_id)), "event_time": iso(event_time),
             "op": "delete", "data": {ID_FIELD: customer_id}}
    ingest = {"arrival_time": iso(arrival), "partition_key": customer_id, "sequence_number": "0",
              "shard_id": ERASURE_SHARD}
    return _ENCODE({"event": event, "ingest": ingest}).encode("utf-8") + b"\n"


def erasure_event_time(latest_seen: datetime | None, now: datetime) -> datetime:
    """Later than every event of the customer seen, and not before now."""
    now = now.astimezone(timezone.utc)
    if latest_seen is not None and latest_seen >= now:
        return latest_seen + timedelta(seconds=1)
    return now


# --- the lake's locations -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """A scanned prefix: which records its objects hold and how they are named."""

    layer: str
    bucket: str
    prefix: str
    kind: str
    """``bronze``, ``landing``, ``ingest_quarantine`` or ``silver_quarantine``."""

    def wanted(self, key: str) -> bool:
        name = PurePosixPath(key).name
        if name.startswith(("_", ".")):
            return False
        if self.kind == "bronze":
            return name.endswith(layout.OBJECT_SUFFIX) and layout.parse_erasure_object_name(name) is None
        if self.kind == "silver_quarantine":
            return name.startswith("part-")
        if self.kind == "ingest_quarantine":
            return name.endswith(layout.OBJECT_SUFFIX)
        return True

    def keeps_empty(self, key: str) -> bool:
        """A stream object stays (empty): its name claims its range of stream positions for the ingest."""
        name = PurePosixPath(key).name
        return self.kind in ("bronze", "ingest_quarantine") and (
            layout.parse_stream_object_name(name) is not None or layout.parse_msk_object_name(name) is not None)


def filter_object(kind: str, key: str, body: bytes, target: Target) -> Filtered:
    """The object without the target's records, by kind (landing: by extension, gzip undone and redone)."""
    if kind == "landing":
        name = key.lower()
        if name.endswith(".gz"):
            out = filter_object(kind, key[:-3], gzip.decompress(body), target)
            if out.removed and out.body:
                out.body = gzip.compress(out.body, mtime=0)
            return out
        if name.endswith(".csv"):
            return filter_csv(body, target)
        return filter_lines(body, landing_record, target)
    extract = {"bronze": bronze_record, "ingest_quarantine": ingest_quarantine_record,
               "silver_quarantine": silver_quarantine_record}[kind]
    return filter_lines(body, extract, target)


@dataclass(frozen=True)
class Lake:
    """The deployed buckets (``{layer: bucket name}``) and the locations each phase reads, all from the
    layout and the jobs' contracts."""

    buckets: Mapping[str, str]

    def uri(self, path) -> str:
        return path.uri(self.buckets)

    def scanned(self) -> list[Location]:
        from glue_jobs.bronze_to_silver import SILVER_QUARANTINE

        b, q = self.buckets["bronze"], self.buckets["quarantine"]
        return [
            Location("bronze", b, layout.entity_prefix(CUSTOMER.source, CUSTOMER.entity), "bronze"),
            Location("landing", b, layout.landing_prefix(CUSTOMER.entity), "landing"),
            Location("ingest_quarantine", q, layout.STREAM_QUARANTINE_PREFIX, "ingest_quarantine"),
            Location("ingest_quarantine", q, layout.MSK_QUARANTINE_PREFIX, "ingest_quarantine"),
            Location("silver_quarantine", q, _silver_quarantine_prefix(SILVER_QUARANTINE.prefix), "silver_quarantine"),
        ]


def _silver_quarantine_prefix(root_prefix: str) -> str:
    from glue_jobs.bronze_to_silver import quarantine_root

    return quarantine_root(root_prefix, CUSTOMER.source, CUSTOMER.entity).strip("/") + "/"


# --- S3 -------------------------------------------------------------------------------------------------

def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            yield item["Key"]


def list_versions(s3: Any, bucket: str, prefix: str) -> Iterator[dict]:
    """Every version and delete marker below ``prefix`` (``Marker`` true for a delete marker)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Versions", ()):
            yield {**item, "Marker": False}
        for item in page.get("DeleteMarkers", ()):
            yield {**item, "Marker": True}


def delete_versions(s3: Any, bucket: str, key: str, keep_latest: bool) -> int:
    """Delete the key's versions and delete markers by id (every one, or all but the current version)."""
    deleted = 0
    for version in list(list_versions(s3, bucket, key)):
        if version["Key"] != key or (keep_latest and version["IsLatest"] and not version["Marker"]):
            continue
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
        deleted += 0 if version["Marker"] else 1
    return deleted


# --- phase 1: request -----------------------------------------------------------------------------------

def _objects_report() -> dict:
    return {"objects": {}, "unreadable_lines": {}}


def _scan(s3: Any, locations: list[Location], target: Target) -> Iterator[tuple[Location, str, dict, Filtered]]:
    for loc in locations:
        for key in list_keys(s3, loc.bucket, loc.prefix):
            if not loc.wanted(key):
                continue
            got = s3.get_object(Bucket=loc.bucket, Key=key)
            body = got["Body"].read()
            yield loc, key, got, filter_object(loc.kind, key, body, target)


def resolve_document(s3: Any, lake: Lake, document_number: str) -> tuple[list[str], dict[str, int]]:
    """The customer ids whose raw records carry the document number, and where they were found (layer ->
    records)."""
    target = Target(document_numbers=frozenset({_digits(document_number)}))
    ids: set[str] = set()
    found: dict[str, int] = {}
    for loc, _key, _got, filtered in _scan(s3, lake.scanned(), target):
        ids |= filtered.customer_ids
        if filtered.removed:
            found[loc.layer] = found.get(loc.layer, 0) + filtered.removed
    return sorted(ids), found


def _erasure_objects(s3: Any, bucket: str) -> dict[str, str]:
    """``{customer id: key}`` of the erasure objects already in bronze (any day)."""
    out = {}
    for key in list_keys(s3, bucket, layout.entity_prefix(CUSTOMER.source, CUSTOMER.entity)):
        cid = layout.parse_erasure_object_name(PurePosixPath(key).name)
        if cid:
            out[cid] = key
    return out


def request(s3: Any, lake: Lake, target: Target, now: datetime | None = None) -> tuple[dict, int]:
    """Phase 1 (see the module's docstring). Returns the report and the exit status."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    locations = lake.scanned()
    layers: dict[str, dict] = {loc.layer: _objects_report() for loc in locations}
    errors: list[str] = []

    # 1. read everything once: what goes from where, and the latest event time of each customer
    plans = []
    latest: dict[str, datetime] = {}
    for loc, key, got, filtered in _scan(s3, locations, target):
        if filtered.unreadable:
            layers[loc.layer]["unreadable_lines"][key] = filtered.unreadable
        if filtered.removed:
            plans.append((loc, key, got, filtered))
            if filtered.latest:
                for cid in filtered.customer_ids or target.customer_ids:
                    if cid not in latest or filtered.latest > latest[cid]:
                        latest[cid] = filtered.latest

    # 2. the delete events first: once the lines are gone a rerun could no longer resolve a document number
    bronze = lake.buckets["bronze"]
    existing = _erasure_objects(s3, bronze)
    events = []
    for cid in sorted(target.customer_ids):
        key = existing.get(cid) or (layout.bronze_partition_prefix(CUSTOMER.source, CUSTOMER.entity,
                                                                   now.strftime("%Y-%m-%d"))
                                    + layout.erasure_object_name(cid))
        when = erasure_event_time(latest.get(cid), now)
        entry = {"customer_id": cid, "key": key, "written": False}
        try:
            if cid in existing:
                got = s3.get_object(Bucket=bronze, Key=key)
                stored = bronze_record(got["Body"].read().strip())
                stored_time = parse_time(stored.event_time)
                entry["event_time"] = stored.event_time
                if stored_time is None or (cid in latest and latest[cid] >= stored_time):
                    # a record newer than the stored delete arrived since: the delete must win again
                    line = delete_event_line(cid, when, now)
                    s3.put_object(Bucket=bronze, Key=key, Body=line, ContentType="application/x-ndjson",
                                  IfMatch=got["ETag"])
                    entry.update(written=True, event_time=bronze_record(line).event_time, rewritten=True)
            else:
                line = delete_event_line(cid, when, now)
                s3.put_object(Bucket=bronze, Key=key, Body=line, ContentType="application/x-ndjson", IfNoneMatch="*")
                entry.update(written=True, event_time=bronze_record(line).event_time)
        except Exception as exc:  # botocore ClientError
            if not is_precondition(exc):
                raise
            errors.append(f"s3://{bronze}/{key} was written by someone else meanwhile: run the command again")
        events.append(entry)
    if errors:  # without its delete event no line of a customer goes (a rerun must still find them)
        return request_report(target, events, layers, errors), 1

    # 3. rewrite (or empty, or delete) each object holding the customer's lines, conditional on the version read
    touched: set[tuple[str, str]] = set()
    for loc, key, got, filtered in plans:
        entry = {"lines_removed": filtered.removed, "lines_kept": filtered.kept, "versions_deleted": 0}
        layers[loc.layer]["objects"][key] = entry
        touched.add((loc.bucket, key))
        changed = f"s3://{loc.bucket}/{key} changed while it was read: run the command again"
        if filtered.empty and not loc.keeps_empty(key):
            # every version goes, the current one included (deleting only it would bring the previous back)
            current = next((v for v in list_versions(s3, loc.bucket, key)
                            if v["Key"] == key and v["IsLatest"] and not v["Marker"]), None)
            if current is None or current["ETag"] != got["ETag"]:
                errors.append(changed)
                entry["action"] = "changed meanwhile, not deleted"
                continue
            entry["versions_deleted"] = delete_versions(s3, loc.bucket, key, keep_latest=False)
            entry["action"] = "deleted"
            continue
        try:
            s3.put_object(Bucket=loc.bucket, Key=key, Body=filtered.body, IfMatch=got["ETag"],
                          ContentType=got.get("ContentType") or "application/octet-stream")
        except Exception as exc:  # botocore ClientError
            if not is_precondition(exc):
                raise
            errors.append(changed)
            entry["action"] = "changed meanwhile, not rewritten"
            continue
        entry["action"] = "emptied" if filtered.empty else "rewritten"
        entry["versions_deleted"] = delete_versions(s3, loc.bucket, key, keep_latest=True)

    # 4. any other noncurrent version still holding the customer (a rerun after a crash between 3 and here)
    for loc in locations:
        for version in list(list_versions(s3, loc.bucket, loc.prefix)):
            key = version["Key"]
            if version["IsLatest"] or version["Marker"] or not loc.wanted(key) or (loc.bucket, key) in touched:
                continue
            body = s3.get_object(Bucket=loc.bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
            removed = filter_object(loc.kind, key, body, target).removed
            if not removed:
                continue
            entry = layers[loc.layer]["objects"].setdefault(
                key, {"lines_removed": 0, "lines_kept": None, "action": "noncurrent versions only",
                      "versions_deleted": 0, "noncurrent_lines_removed": 0})
            entry["noncurrent_lines_removed"] += removed
            s3.delete_object(Bucket=loc.bucket, Key=key, VersionId=version["VersionId"])
            entry["versions_deleted"] += 1

    return request_report(target, events, layers, errors), 1 if errors else 0


def request_report(target: Target, events: list[dict], layers: dict, errors: list[str]) -> dict:
    report = {"command": "request", "customer_ids": sorted(target.customer_ids), "delete_events": events,
              "layers": layers, "errors": errors}
    report["totals"] = request_totals(report)
    return report


def request_totals(report: dict) -> dict:
    """Totals of a request report, over every layer and object."""
    entries = [e for layer in report["layers"].values() for e in layer["objects"].values()]
    return {
        "objects_rewritten": sum(1 for e in entries if e.get("action") in ("rewritten", "emptied")),
        "objects_deleted": sum(1 for e in entries if e.get("action") == "deleted"),
        "lines_removed": sum(e.get("lines_removed", 0) for e in entries),
        "noncurrent_lines_removed": sum(e.get("noncurrent_lines_removed", 0) for e in entries),
        "versions_deleted": sum(e.get("versions_deleted", 0) for e in entries),
        "unreadable_lines": sum(n for layer in report["layers"].values() for n in layer["unreadable_lines"].values()),
        "delete_events_written": sum(1 for e in report["delete_events"] if e["written"]),
        "errors": len(report["errors"]),
    }


# --- phase 2: finish ------------------------------------------------------------------------------------

def _parquet_rows(s3: Any, bucket: str, key: str, customer_id: str) -> int:
    import pyarrow.parquet as pq

    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    parquet = pq.ParquetFile(io.BytesIO(body))
    if ID_FIELD not in parquet.schema_arrow.names:
        return 0
    return parquet.read(columns=[ID_FIELD]).column(ID_FIELD).to_pylist().count(customer_id)


def _parquet_keys(s3: Any, bucket: str, prefix: str, keep: Callable[[str], bool] = lambda key: True) -> list[str]:
    return [k for k in list_keys(s3, bucket, prefix)
            if k.endswith(".parquet") and not PurePosixPath(k).name.startswith(("_", ".")) and keep(k)]


def _rows_by_object(s3: Any, bucket: str, keys: Iterable[str], customer_id: str) -> dict[str, int]:
    counts = {key: _parquet_rows(s3, bucket, key, customer_id) for key in keys}
    return {key: n for key, n in counts.items() if n}


def _delete_noncurrent(s3: Any, bucket: str, prefix: str, keep: Callable[[str], bool] = lambda key: True) -> int:
    deleted = 0
    for version in list(list_versions(s3, bucket, prefix)):
        if version["IsLatest"] or not keep(version["Key"]):
            continue
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        deleted += 0 if version["Marker"] else 1
    return deleted


def _delete_prefix(s3: Any, bucket: str, prefix: str) -> dict:
    objects = versions = 0
    for version in list(list_versions(s3, bucket, prefix)):
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        if not version["Marker"]:
            versions += 1
            objects += 1 if version["IsLatest"] else 0
    return {"objects": objects, "versions_deleted": versions}


def gold_cut(holding: list[int]) -> int:
    """Given the customer's ``dim_customer`` rows in each generation (published first, then the history
    newest first), how many generations stay: every one before the newest that still holds the customer."""
    for index, rows in enumerate(holding):
        if rows:
            return index
    return len(holding)


def finish(s3: Any, lake: Lake, customer_id: str) -> tuple[dict, int]:
    """Phase 2 (see the module's docstring). Returns the report and the exit status."""
    from glue_jobs.silver_to_gold import STATE as GOLD_STATE
    from lakehouse import gold_publication
    from lakehouse.gold_tables import DIM_CUSTOMER
    from lakehouse.objects import ConcurrentUpdate
    from lakehouse.silver_journal import STAGING, TOMBSTONES
    from lakehouse.silver_tables import silver_table

    remaining: list[dict] = []
    errors: list[str] = []
    silver, gold = lake.buckets["silver"], lake.buckets["gold"]
    table = silver_table(CUSTOMER.source, CUSTOMER.entity).location.strip("/") + "/"
    tombstones = f"{TOMBSTONES}/{table}"
    staging = f"{STAGING}/"

    def in_staging(key: str) -> bool:
        return f"/{table}" in key and f"/{TOMBSTONES}/" not in key

    # silver: the table and any staging a crashed run left
    rows = _rows_by_object(s3, silver, _parquet_keys(s3, silver, table), customer_id)
    staged = _rows_by_object(s3, silver, _parquet_keys(s3, silver, staging, in_staging), customer_id)
    remaining += [{"layer": "silver", "object": f"s3://{silver}/{k}", "rows": n} for k, n in rows.items()]
    remaining += [{"layer": "silver_staging", "object": f"s3://{silver}/{k}", "rows": n} for k, n in staged.items()]
    tomb_rows = sum(_rows_by_object(s3, silver, _parquet_keys(s3, silver, tombstones), customer_id).values())

    # gold: the published copy, the kept ones
    pub = gold_publication.load(lake.uri(GOLD_STATE))
    generations = [g for g in (pub.published, *pub.history) if g is not None]
    gold_report: dict = {"generations": [], "prefixes_deleted": {}}
    if pub.pending is not None:
        errors.append(f"gold publication of generation {pub.pending.generation} is pending: run silver_to_gold "
                      f"(it finishes it), then finish again; gold left as it is")
    holding = []
    for g in generations:
        prefix = g.prefix + DIM_CUSTOMER.location
        holding.append(sum(_rows_by_object(s3, gold, _parquet_keys(s3, gold, prefix), customer_id).values()))
    keep = gold_cut(holding)
    if pub.published is not None and holding and holding[0]:
        remaining.append({"layer": "gold", "object": f"s3://{gold}/{pub.published.prefix}{DIM_CUSTOMER.location}",
                          "rows": holding[0]})
    dropped = generations[keep:] if keep >= 1 and pub.pending is None else []
    for g, n in zip(generations, holding):
        gold_report["generations"].append({"generation": g.generation, "prefix": g.prefix, "rows": n,
                                           "action": "dropped" if g in dropped else "kept"})
    if dropped:
        pub.history = generations[1:keep]
        try:
            pub.save()
        except ConcurrentUpdate as exc:
            errors.append(f"{exc}: silver_to_gold published meanwhile; run finish again")
            dropped = []
            for entry in gold_report["generations"]:
                entry["action"] = "kept"
        for g in dropped:
            gold_report["prefixes_deleted"][g.prefix] = _delete_prefix(s3, gold, g.prefix)
    # a copy no record names (a run that crashed before recording it): the next publication deletes it
    named = pub.kept() | {g.prefix for g in dropped}
    for key in _parquet_keys(s3, gold, gold_publication.RUNS_PREFIX, lambda k: f"/{DIM_CUSTOMER.location}" in k):
        prefix = "/".join(key.split("/")[:2]) + "/"
        if prefix not in named:
            n = _parquet_rows(s3, gold, key, customer_id)
            if n:
                remaining.append({"layer": "gold_unpublished_copy", "object": f"s3://{gold}/{key}", "rows": n,
                                  "note": "a copy no publication names: the next silver_to_gold run deletes it"})

    # noncurrent versions under the customer's tables
    from glue_jobs.bronze_to_silver import SILVER_QUARANTINE

    quarantine = lake.buckets["quarantine"]
    noncurrent = {
        f"s3://{silver}/{table}": _delete_noncurrent(s3, silver, table),
        f"s3://{silver}/{tombstones}": _delete_noncurrent(s3, silver, tombstones),
        f"s3://{silver}/{staging}": _delete_noncurrent(s3, silver, staging, lambda k: f"/{table}" in k),
        f"s3://{quarantine}/{_silver_quarantine_prefix(SILVER_QUARANTINE.prefix)}":
            _delete_noncurrent(s3, quarantine, _silver_quarantine_prefix(SILVER_QUARANTINE.prefix)),
    }
    for g in generations[:keep]:
        prefix = g.prefix + DIM_CUSTOMER.location
        noncurrent[f"s3://{gold}/{prefix}"] = _delete_noncurrent(s3, gold, prefix)

    # bronze and both quarantines, current and noncurrent versions: nothing of the customer may be left
    target = Target(frozenset({customer_id}))
    raw: dict[str, dict[str, int]] = {}
    for loc in lake.scanned():
        for version in list_versions(s3, loc.bucket, loc.prefix):
            if version["Marker"] or not loc.wanted(version["Key"]):
                continue
            body = s3.get_object(Bucket=loc.bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            n = filter_object(loc.kind, version["Key"], body, target).removed
            if n:
                where = f"s3://{loc.bucket}/{version['Key']}" + ("" if version["IsLatest"] else
                                                                  f"?versionId={version['VersionId']}")
                raw.setdefault(loc.layer, {})[where] = n
                remaining.append({"layer": loc.layer, "object": where, "rows": n})

    # what stays by design: the tombstones' key, and other tables' references to the customer id
    references = _references(s3, lake, pub, customer_id)
    report = {
        "command": "finish", "customer_id": customer_id,
        "layers": {
            "silver": {"objects": rows, "staging": staged, "tombstone_rows_kept": tomb_rows},
            "gold": gold_report,
            "raw": raw,
        },
        "noncurrent_versions_deleted": noncurrent,
        "references_kept": references,
        "remaining": remaining,
        "errors": errors,
    }
    report["totals"] = {
        "rows_remaining": sum(r["rows"] for r in remaining),
        "generations_dropped": sum(1 for g in gold_report["generations"] if g["action"] == "dropped"),
        "prefix_versions_deleted": sum(p["versions_deleted"] for p in gold_report["prefixes_deleted"].values()),
        "noncurrent_versions_deleted": sum(noncurrent.values()),
        "tombstone_rows_kept": tomb_rows,
        "errors": len(errors),
    }
    return report, 1 if remaining or errors else 0


def _references(s3: Any, lake: Lake, pub, customer_id: str) -> dict[str, int]:
    """Rows of other tables that name the customer id (policies and what is built from them): not personal data
    by themselves, kept; counted so the report says what still points at the customer."""
    from lakehouse.gold_tables import DIM_CUSTOMER, GOLD_TABLES
    from lakehouse.silver_tables import silver_table

    out: dict[str, int] = {}
    silver, gold = lake.buckets["silver"], lake.buckets["gold"]
    for (source, entity), contract in sorted(REGISTRY.items()):
        if contract is CUSTOMER or ID_FIELD not in contract.field_names:
            continue
        location = silver_table(source, entity).location
        n = sum(_rows_by_object(s3, silver, _parquet_keys(s3, silver, location), customer_id).values())
        if n:
            out[f"silver.{silver_table(source, entity).name}"] = n
    if pub.published is not None:
        for table in GOLD_TABLES:
            if table is DIM_CUSTOMER or ID_FIELD not in [c.name for c in table.columns]:
                continue
            prefix = pub.published.prefix + table.location
            n = sum(_rows_by_object(s3, gold, _parquet_keys(s3, gold, prefix), customer_id).values())
            if n:
                out[f"gold.{table.name}"] = n
    return out


# --- command line ---------------------------------------------------------------------------------------

class BadInput(ValueError):
    """One clear line saying what to change."""


def bucket_name(option: str, value: str) -> str:
    """``s3://<bucket>`` (a trailing ``/`` allowed) -> the bucket name."""
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/?", value.strip())
    if not match:
        raise BadInput(f"{option} {value!r}: give the bucket as s3://<bucket name> (the bucket's root)")
    return match.group(1)


def lake_buckets(outputs: Mapping[str, Any] | None, explicit: Mapping[str, str | None],
                 needed: Iterable[str]) -> dict[str, str]:
    """``{layer: bucket}`` from the explicit ``--<layer>`` options, else the stack outputs (``<layer>_bucket``,
    plain values or Terraform's ``{"value": ...}``)."""
    out: dict[str, str] = {}
    for layer in needed:
        if explicit.get(layer):
            out[layer] = bucket_name(f"--{layer}", explicit[layer])
            continue
        value = (outputs or {}).get(f"{layer}_bucket")
        if isinstance(value, dict):
            value = value.get("value")
        if not isinstance(value, str) or not value:
            where = "" if outputs is None else " (the --outputs file has no " + f"{layer}_bucket)"
            raise BadInput(f"--{layer}: missing{where}; give --{layer} s3://<bucket> or --outputs FILE "
                           f"(make outputs ENV=<env> > FILE)")
        out[layer] = value
    return out


def read_outputs(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise BadInput(f"--outputs {path}: cannot read it ({exc.strerror}); write it with "
                       f"make outputs ENV=<env> > {path}") from None
    except ValueError:
        raise BadInput(f"--outputs {path}: not JSON; write it with make outputs ENV=<env> > {path}") from None
    if not isinstance(data, dict):
        raise BadInput(f"--outputs {path}: not a JSON object of stack outputs (make outputs ENV=<env>)")
    return data


def check_customer_id(value: str) -> str:
    if not _CUSTOMER_ID.match(value or ""):
        raise BadInput(f"--customer-id {value!r}: a customer id looks like CUS-00000001 ({CUSTOMER_ID_PATTERN})")
    return value


def check_document_number(value: str) -> str:
    digits = _digits(value)
    if len(digits) not in (11, 14):
        raise BadInput("--document-number: give the CPF (11 digits) or CNPJ (14 digits); punctuation is ignored")
    return digits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m operations.erase", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="request|finish")
    for name, help_ in (("request", "delete event into bronze; the customer's raw lines out of bronze and "
                                    "quarantine (old versions included)"),
                        ("finish", "after bronze->silver and silver->gold ran: verify silver and gold, drop the "
                                   "gold copies that still hold the customer, delete old versions")):
        sub = commands.add_parser(name, help=help_, description=help_)
        if name == "request":
            who = sub.add_mutually_exclusive_group(required=True)
            who.add_argument("--customer-id", help="the ERP customer id (CUS-00000001)")
            who.add_argument("--document-number", help="CPF/CNPJ, resolved to customer ids from the raw records; "
                                                        "'-' reads it from standard input (keeps it out of the "
                                                        "shell history and the process list)")
        else:
            sub.add_argument("--customer-id", required=True, help="the ERP customer id (CUS-00000001)")
        sub.add_argument("--outputs", help="the stack outputs as JSON (make outputs ENV=<env> > FILE)")
        for layer in LAKE_BUCKETS:
            sub.add_argument(f"--{layer}", help=f"the {layer} bucket, s3://<bucket> (default: the outputs' "
                                                f"{layer}_bucket)")
        sub.add_argument("--endpoint", default=None, help="an AWS endpoint URL (the local emulator); default: AWS")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    needed = ("bronze", "quarantine") if args.command == "request" else LAKE_BUCKETS
    try:
        customer_id = check_customer_id(args.customer_id) if args.customer_id else None
        document = getattr(args, "document_number", None)
        if document == "-":
            document = sys.stdin.readline().strip()
        document = check_document_number(document) if document is not None else None
        outputs = read_outputs(args.outputs) if args.outputs else None
        buckets = lake_buckets(outputs, {layer: getattr(args, layer) for layer in LAKE_BUCKETS}, needed)
    except BadInput as exc:
        parser.error(str(exc))

    import boto3

    if args.endpoint:  # lakehouse.objects (the publication record) uses the default client
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    s3 = boto3.client("s3", endpoint_url=args.endpoint) if args.endpoint else boto3.client("s3")
    lake = Lake(buckets)
    if args.command == "finish":
        report, status = finish(s3, lake, customer_id)
    else:
        resolved: dict = {}
        if document:
            ids, found = resolve_document(s3, lake, document)
            resolved = {"document_number_matched": {"customer_ids": ids, "records_by_layer": found}}
            if not ids:
                print(json.dumps({"command": "request", **resolved, "error": "no customer record carries this "
                                  "document number (already erased? use --customer-id)"}, sort_keys=True))
                return 1
            target = Target(frozenset(ids), frozenset({document}))
        else:
            target = Target(frozenset({customer_id}))
        report, status = request(s3, lake, target)
        report.update(resolved)
    print(json.dumps(report, indent=1, sort_keys=True, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
