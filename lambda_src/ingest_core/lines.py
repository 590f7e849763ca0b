"""Phase 1 of the ingest: one neutral record -> its contract check and its serialised output line."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, NamedTuple

from data_contracts import reasons
from data_contracts.validation import classify as contract_classify

__all__ = ["Classify", "Line", "RecordRef", "SourceRecord", "quarantined_event_id", "to_line"]

Classify = Callable[[bytes], "tuple[dict | None, str | None, str | None]"]
"""``payload -> (envelope, reason, error)``, as :func:`data_contracts.validation.classify`."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
_encode = _ENCODER.encode
_NO_PAYLOAD_ERROR = "the record has no value (a tombstone): there is no payload to check"
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class RecordRef(NamedTuple):
    """Where a record sits in its stream, and how the partial batch response names it."""

    partition: str
    """Stream/partition id (a shard, a topic-partition): part of the object name; the cut-off
    rule applies per partition."""
    position: int
    """Place in the partition, orderable (a sequence number, an offset)."""
    item_id: Any
    """The ``itemIdentifier`` reported in ``batchItemFailures`` for this record."""


class SourceRecord(NamedTuple):
    """A stream record in source-neutral form (what an adapter makes of its event's records)."""

    partition: str
    position: int
    item_id: Any
    payload: bytes | None
    """The raw payload, transport encoding (e.g. base64) removed; None when the record carries none (a Kafka
    tombstone): it is quarantined with reason ``tombstone``, payload and encoding null."""
    arrival_ms: int
    """Arrival time, epoch milliseconds: gives ``ingest_date`` and the line's ``arrival_time``."""
    ingest: Mapping[str, Any]
    """Source metadata stored in the line's ``ingest`` object (``arrival_time`` is added here)."""


class Line:
    """One processed record: its place in the output, its serialised line and its envelope's ``event_id``
    (the log lines' correlation key; None when the record has none)."""

    __slots__ = ("partition", "position", "item_id", "group", "line", "reason", "event_id")

    def __init__(self, record: SourceRecord, group: tuple, line: bytes, reason: str | None,
                 event_id: str | None = None) -> None:
        self.partition = record.partition
        self.position = record.position
        self.item_id = record.item_id
        self.group = group
        self.line = line
        self.reason = reason
        self.event_id = event_id


def quarantined_event_id(payload: bytes, reason: str) -> str | None:
    """The ``event_id`` a quarantined payload names, for its log line, or None. The payload is read again as
    plain JSON (NaN, which the contract refuses, included; never when the checks themselves raised on it) and
    the id is kept only when the payload is a JSON object whose ``event_id`` is short identifier text (a UUID,
    as the envelope wants, or any id of at most 128 letters, digits and ``._:-``): nothing else of the payload
    reaches a log."""
    if reason == reasons.VALIDATION_ERROR:
        return None
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    event_id = document.get("event_id") if type(document) is dict else None
    return event_id if isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id) else None


_arrival_cache: dict[int, tuple[str, str]] = {}


def arrival(millis: int) -> tuple[str, str]:
    """(ingest date, ISO time with ms) for epoch milliseconds, in UTC."""
    seconds, ms = divmod(millis, 1000)
    cached = _arrival_cache.get(seconds)
    if cached is None:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        cached = (moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m-%dT%H:%M:%S"))
        if len(_arrival_cache) > 4096:
            _arrival_cache.clear()
        _arrival_cache[seconds] = cached
    return cached[0], f"{cached[1]}.{ms:03d}Z"


def to_line(record: SourceRecord, classify: Classify = contract_classify) -> Line:
    """Phase 1 for one record: classify it and serialise its bronze or quarantine line.

    Group keys: ``("bronze", source, entity, ingest date, partition)`` and ``("quarantine", ingest date,
    partition)``. Whatever the checks raise on a record (a payload nested too deep for a library, a bug)
    quarantines that record with reason ``validation_error`` and the exception's type, so one poison pill
    never holds back the records after it; the message carries no value of the payload.
    """
    day, arrival_time = arrival(record.arrival_ms)
    ingest = {"arrival_time": arrival_time, **record.ingest}
    payload = record.payload
    if payload is None:
        line = _encode({"error": _NO_PAYLOAD_ERROR, "ingest": ingest, "payload": None, "payload_encoding": None,
                        "reason": reasons.TOMBSTONE}).encode("utf-8")
        return Line(record, ("quarantine", day, record.partition), line, reasons.TOMBSTONE)
    try:
        envelope, reason, error = classify(payload)
        if envelope is not None:
            line = _encode({"event": envelope, "ingest": ingest}).encode("utf-8")
            return Line(record, ("bronze", envelope["source"], envelope["entity"], day, record.partition), line,
                        None, envelope.get("event_id"))
    except Exception as exc:  # noqa: BLE001 - any exception of the checks is this record's verdict
        reason, error = reasons.VALIDATION_ERROR, f"checking the record raised {type(exc).__name__}"
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    line = _encode({"error": error, "ingest": ingest, "payload": text, "payload_encoding": encoding,
                    "reason": reason}).encode("utf-8")
    return Line(record, ("quarantine", day, record.partition), line, reason, quarantined_event_id(payload, reason))
