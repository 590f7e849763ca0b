"""One batch after phase 1: the cut-off rule, phase 2, the items to report and the summary for metrics.

Every record received is counted once in the summary: ``records_valid`` + ``records_quarantined`` (stored
now) + ``records_redelivered`` (stored by an earlier delivery) + ``records_failed`` (phase 1 failures, and
records S3 could not take) + ``records_deferred`` (held back behind a phase-1 failure) = ``records_received``.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, NamedTuple

from data_contracts.validation import classify as contract_classify
from lambda_src.ingest_core.lines import Classify, Line, RecordRef, SourceRecord, to_line
from lambda_src.ingest_core.objects import ObjectNaming, Objects, Written

__all__ = ["Batch", "Outcome"]


class Outcome(NamedTuple):
    failures: list[dict[str, Any]]
    """The partial batch response items, ``[{"itemIdentifier": ...}, ...]``, by partition and position."""
    summary: dict[str, Any]
    """Counts for metrics and the log line (see :meth:`Batch.finish`)."""


class Batch:
    """One invocation's ingest into ``bronze_bucket``/``quarantine_bucket`` through ``s3``.

    :meth:`line` is phase 1 for one record (raises on a bug: the record is a failure), :meth:`finish` the
    rest, given the successful lines and the failed records.
    """

    def __init__(self, s3: Any, *, bronze_bucket: str, quarantine_bucket: str, naming: ObjectNaming,
                 classify: Classify = contract_classify, logger: logging.Logger | None = None) -> None:
        self.objects = Objects(s3, bronze_bucket, quarantine_bucket, naming, logger or logging.getLogger(__name__))
        self.classify = classify

    def line(self, record: SourceRecord) -> Line:
        return to_line(record, self.classify)

    def finish(self, lines: Iterable[Line], failed: Iterable[RecordRef], received: int) -> Outcome:
        """Apply the phase-1 cut-off, write (each record once), and report per partition the lowest record
        not stored."""
        reported: dict[tuple[str, int], Any] = {}
        first_failure: dict[str, int] = {}
        for ref in failed:
            reported[(ref.partition, ref.position)] = ref.item_id
            first_failure[ref.partition] = min(first_failure.get(ref.partition, ref.position), ref.position)
        lines = list(lines)
        writable = [line for line in lines if line.partition not in first_failure
                    or line.position < first_failure[line.partition]]
        deferred = len(lines) - len(writable)
        phase1_failed = len(reported)

        written = self.objects.write(writable)
        cut: dict[str, Line] = {}
        for line in written.pending:
            if line.partition not in cut or line.position < cut[line.partition].position:
                cut[line.partition] = line
        for line in cut.values():
            reported.setdefault((line.partition, line.position), line.item_id)
        failures = [{"itemIdentifier": reported[key]} for key in sorted(reported)]
        return Outcome(failures, _summary(written, failures, received, deferred, phase1_failed))


def _summary(written: Written, failures: list, received: int, deferred: int, phase1_failed: int
             ) -> dict[str, Any]:
    valid = sum(len(obj.lines) for obj in written.objects if obj.group[0] == "bronze")
    by_reason: dict[str, int] = {}
    for obj in written.objects:
        if obj.group[0] == "quarantine":
            for line in obj.lines:
                by_reason[line.reason] = by_reason.get(line.reason, 0) + 1
    return {
        "records_received": received,
        "records_valid": valid,
        "records_quarantined": sum(by_reason.values()),
        "records_redelivered": len(written.redelivered),
        "records_failed": phase1_failed + len(written.pending),
        "records_deferred": deferred,
        "objects_written": len(written.objects),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "batch_item_failures": len(failures),
    }
