"""Data-quality checks and the gate: a run's report (JSON, written to S3) and its pass/fail verdict.

Checks are plain functions returning a :class:`CheckResult`; a job collects them in a
:class:`QualityReport`, writes the report, prints its summary, and calls :meth:`QualityReport.gate`
BEFORE publishing (gold is written only when every check passed).

Reports live at ``<reports root>/<job>/run_id=<id>/report.json``; the deployed root is :data:`REPORTS`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.job import LakePath, S3Grant

REPORTS = LakePath("artifacts", "dq-reports/")
"""Where the jobs' data-quality reports go once deployed."""
REPORT_NAME = "report.json"
REPORTS_GRANT = S3Grant("WriteDqReports", REPORTS.bucket, (REPORTS.prefix,), write=True, delete=True)
"""What a job that writes reports may do below :data:`REPORTS` (part of its contract)."""


def report_prefix(job: str) -> str:
    """Key prefix (below :data:`REPORTS`) of one job's reports."""
    return f"{job}/"


def report_path(reports_root: str, job: str, run_id: str) -> str:
    """``<reports_root>/<job>/run_id=<id>/report.json``."""
    return "/".join([reports_root.rstrip("/"), report_prefix(job).rstrip("/"), f"run_id={run_id}", REPORT_NAME])


class QualityGateFailed(RuntimeError):
    """Raised by :meth:`QualityReport.gate` when a check failed; the job must not publish."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    message: str
    observed: dict[str, Any] = field(default_factory=dict)


@dataclass
class QualityReport:
    job: str
    run_id: str
    checks: list[CheckResult] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def add(self, result: CheckResult) -> CheckResult:
        self.checks.append(result)
        return result

    def to_dict(self) -> dict:
        return {"job": self.job, "run_id": self.run_id, "passed": self.passed, "counts": self.counts,
                "checks": [asdict(c) for c in self.checks]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    def summary(self) -> str:
        lines = [f"data quality [{self.job} run {self.run_id}]: {'PASSED' if self.passed else 'FAILED'}"]
        for c in self.checks:
            lines.append(f"  {'ok  ' if c.passed else 'FAIL'} {c.name}: {c.message}")
        return "\n".join(lines)

    def gate(self) -> None:
        if not self.passed:
            failed = ", ".join(c.name for c in self.checks if not c.passed)
            raise QualityGateFailed(f"{self.job}: data-quality checks failed: {failed}")


def check_accounting(name: str, source_rows: int, **outputs: int) -> CheckResult:
    """Every input row is accounted for: source_rows == sum(outputs) (e.g. silver + quarantined)."""
    total = sum(outputs.values())
    passed = source_rows == total
    parts = " + ".join(f"{k} {v}" for k, v in outputs.items())
    return CheckResult(name, passed, f"input {source_rows} {'==' if passed else '!='} {parts} = {total}",
                       {"input": source_rows, **outputs})


def check_unique(name: str, df, key: list[str]) -> CheckResult:
    """No two rows of ``df`` share ``key``."""
    from pyspark.sql import functions as F
    dupes = df.groupBy(*key).count().filter(F.col("count") > 1).count()
    return CheckResult(name, dupes == 0, f"{dupes} duplicated keys on ({', '.join(key)})", {"duplicated_keys": dupes})


def check_not_null(name: str, df, columns: list[str]) -> CheckResult:
    """None of ``columns`` is null in any row."""
    from pyspark.sql import functions as F
    row = df.select(*[F.sum(F.col(c).isNull().cast("long")).alias(c) for c in columns]).first()
    nulls = {c: int(row[c] or 0) for c in columns} if row is not None else {c: 0 for c in columns}
    bad = {c: n for c, n in nulls.items() if n}
    return CheckResult(name, not bad, f"nulls: {bad}" if bad else f"no nulls in {len(columns)} columns", {"nulls": nulls})


def check_references_of(table: str, fact, references: list[tuple[str, object, str, str]]) -> list[CheckResult]:
    """Every non-null ``table.fk`` exists in ``dim.pk`` (no orphan facts), for several foreign keys of one
    table in a single pass.

    ``references``: ``(fk, dim DataFrame, dim name, pk)``. Each dimension's keys are broadcast (they are
    one column of a dimension) and left-joined to the table, so the table is read once and never shuffled.
    Results are named ``<table>.<fk>-><dim>.<pk>``.
    """
    from pyspark.sql import functions as F
    if not references:
        return []
    joined = fact
    orphan = []  # per reference: the row's key is set and missing from the dimension
    for i, (fk, dim, _, pk) in enumerate(references):
        ref = f"__ref{i}"
        keys = dim.select(dim[pk].alias(ref)).where(F.col(ref).isNotNull()).distinct()
        joined = joined.join(F.broadcast(keys), joined[fk] == F.col(ref), "left")
        orphan.append(F.col(ref).isNull() & F.col(fk).isNotNull())
    # orphan rows per reference (plain sums: no distinct aggregation)
    row = joined.agg(*[F.sum(cond.cast("long")).alias(f"__ref{i}") for i, cond in enumerate(orphan)]).first()
    results = []
    for i, (fk, _, dim_name, pk) in enumerate(references):
        orphans = int(row[f"__ref{i}"] or 0) if row is not None else 0
        if orphans:  # a failing check reports distinct missing values, as the message says
            orphans = joined.where(orphan[i]).select(fk).distinct().count()
        results.append(CheckResult(f"{table}.{fk}->{dim_name}.{pk}", orphans == 0,
                                   f"{orphans} {fk} values missing from the dimension", {"orphan_keys": orphans}))
    return results
