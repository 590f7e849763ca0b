"""One batch after phase 1: the cut-off rule, phase 2, the items to report and the summary for metrics.

Every record received is counted once in the summary (names from :mod:`data_contracts.metrics`):
``records_out`` (stored in bronze now) + ``records_quarantined`` (stored in quarantine now) +
``records_redelivered`` (stored by an earlier delivery) + ``records_failed`` (phase 1 failures, and records S3
could not take) + ``records_deferred`` (held back behind a phase-1 failure) = ``records_in``.

Log lines, one per record set aside (never one per record stored: bronze holds those, each with its
``event_id``): ``record quarantined`` (INFO: a contract's verdict, not a fault; ``event_id`` when the payload
names one, ``reason``, ``partition``, ``position``) for each quarantine line stored now, ``record failed``
(ERROR; ``partition``, ``position``, ``item``) for each phase-1 failure. The summary counts the batch's
distinct event ids (``event_id_count``).
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, NamedTuple

from data_contracts.metrics import RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED
from data_contracts.validation import classify as contract_classify
from lambda_src.ingest_core.lines import Classify, Line, RecordRef, SourceRecord, to_line
from lambda_src.ingest_core.objects import ObjectNaming, Objects, Written

__all__ = ["Batch", "Outcome", "RECORDS_DEFERRED", "OBJECTS_WRITTEN", "RECORDS_REDELIVERED"]

RECORDS_REDELIVERED = "records_redelivered"
"""Records an earlier delivery had already stored (skipped: each record once)."""
RECORDS_DEFERRED = "records_deferred"
"""Good records held back behind a phase-1 failure of their partition (redelivered by Lambda)."""
OBJECTS_WRITTEN = "objects_written"
"""Objects put in bronze and quarantine."""


class Outcome(NamedTuple):
    failures: list[dict[str, Any]]
    """The partial batch response items, ``[{"itemIdentifier": ...}, ...]``, by partition and position."""
    summary: dict[str, Any]
    """Counts for metrics and the log line (see :meth:`Batch.finish`)."""


class Batch:
    """One invocation's ingest into ``bronze_bucket``/``quarantine_bucket`` through ``s3``.

    :meth:`line` is phase 1 for one record (raises on a bug: the record is a failure), :meth:`finish` the
    rest, given the successful lines and the failed records. :attr:`oldest_arrival_ms` is the arrival time
    of the oldest record phase 1 read (None before the first): what the stream lag is measured from.
    """

    def __init__(self, s3: Any, *, bronze_bucket: str, quarantine_bucket: str, naming: ObjectNaming,
                 classify: Classify = contract_classify, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(__name__)
        self.objects = Objects(s3, bronze_bucket, quarantine_bucket, naming, self.logger)
        self.classify = classify
        self.oldest_arrival_ms: int | None = None

    def line(self, record: SourceRecord) -> Line:
        if self.oldest_arrival_ms is None or record.arrival_ms < self.oldest_arrival_ms:
            self.oldest_arrival_ms = record.arrival_ms
        return to_line(record, self.classify)

    def lag_seconds(self, now: float) -> float | None:
        """How old the oldest record read was at ``now`` (epoch seconds); None when none was read."""
        if self.oldest_arrival_ms is None:
            return None
        return max(0.0, round(now - self.oldest_arrival_ms / 1000, 3))

    def finish(self, lines: Iterable[Line], failed: Iterable[RecordRef], received: int) -> Outcome:
        """Apply the phase-1 cut-off, write (each record once), and report per partition the lowest record
        not stored."""
        reported: dict[tuple[str, int], Any] = {}
        first_failure: dict[str, int] = {}
        for ref in failed:
            reported[(ref.partition, ref.position)] = ref.item_id
            first_failure[ref.partition] = min(first_failure.get(ref.partition, ref.position), ref.position)
            self.logger.error("record failed", extra={"partition": ref.partition, "position": ref.position,
                                                      "item": ref.item_id})
        lines = list(lines)
        writable = [line for line in lines if line.partition not in first_failure
                    or line.position < first_failure[line.partition]]
        deferred = len(lines) - len(writable)
        phase1_failed = len(reported)

        written = self.objects.write(writable)
        for obj in written.objects:
            if obj.group[0] == "quarantine":
                for line in obj.lines:
                    self.logger.info("record quarantined", extra={
                        "event_id": line.event_id, "reason": line.reason, "partition": line.partition,
                        "position": line.position})
        cut: dict[str, Line] = {}
        for line in written.pending:
            if line.partition not in cut or line.position < cut[line.partition].position:
                cut[line.partition] = line
        for line in cut.values():
            reported.setdefault((line.partition, line.position), line.item_id)
        failures = [{"itemIdentifier": reported[key]} for key in sorted(reported)]
        event_ids = len({line.event_id for line in lines if line.event_id is not None})
        return Outcome(failures, _summary(written, failures, received, deferred, phase1_failed, event_ids))


def _summary(written: Written, failures: list, received: int, deferred: int, phase1_failed: int,
             event_ids: int) -> dict[str, Any]:
    stored = sum(len(obj.lines) for obj in written.objects if obj.group[0] == "bronze")
    by_reason: dict[str, int] = {}
    for obj in written.objects:
        if obj.group[0] == "quarantine":
            for line in obj.lines:
                by_reason[line.reason] = by_reason.get(line.reason, 0) + 1
    return {
        RECORDS_IN: received,
        RECORDS_OUT: stored,
        RECORDS_QUARANTINED: sum(by_reason.values()),
        RECORDS_REDELIVERED: len(written.redelivered),
        RECORDS_FAILED: phase1_failed + len(written.pending),
        RECORDS_DEFERRED: deferred,
        OBJECTS_WRITTEN: len(written.objects),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "batch_item_failures": len(failures),
        "event_id_count": event_ids,
    }
