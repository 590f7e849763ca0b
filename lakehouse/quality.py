"""Data-quality checks and the gate: a run's report (JSON, written to S3) and its pass/fail verdict.

Checks are plain functions returning a :class:`CheckResult`; :func:`run_checks` computes the unique,
not-null and foreign-key checks of several tables (:class:`TableChecks`) and their row counts (one aggregation,
one Spark action, per table), and :func:`check_unique`, :func:`check_not_null` and
:func:`check_references_of` are that for one table. A job collects the results in a
:class:`QualityReport`, writes the report, logs its verdict (:meth:`QualityReport.log`: one JSON line), and
calls :meth:`QualityReport.gate` BEFORE publishing (gold is written only when every check passed).

Reports live at ``<reports root>/<job>/run_id=<id>/report.json``; the deployed root is :data:`REPORTS`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse import run_log
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

    def log(self) -> None:
        """The verdict as one JSON log line (:func:`lakehouse.run_log.log`, event ``data quality checked``):
        ``message`` the summary's first line (``data quality [<job> run <id>]: PASSED|FAILED``), ``passed``,
        ``failed_checks`` (names) and ``checks`` (each check's name, verdict and message); ERROR when a
        check failed."""
        run_log.log("data quality checked", level="INFO" if self.passed else "ERROR",
                    message=self.summary().splitlines()[0], run_id=self.run_id, passed=self.passed,
                    failed_checks=[c.name for c in self.checks if not c.passed],
                    checks=[{"name": c.name, "passed": c.passed, "message": c.message} for c in self.checks])

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
    return run_checks([TableChecks(df, uniques=(Unique(name, tuple(key)),))])[0].results[0]


def check_not_null(name: str, df, columns: list[str]) -> CheckResult:
    """None of ``columns`` is null in any row."""
    return run_checks([TableChecks(df, not_null=(name, tuple(columns)))])[0].results[0]


def check_references_of(table: str, fact, references: list[tuple[str, object, str, str]]) -> list[CheckResult]:
    """Every non-null ``table.fk`` exists in ``dim.pk`` (no orphan facts), for several foreign keys of one
    table in a single pass; results are named ``<table>.<fk>-><dim>.<pk>`` (see :class:`TableChecks`)."""
    return run_checks([TableChecks(fact, table=table, references=tuple(references))])[0].results


# --- several checks of a table in one aggregation ---------------------------------------------------------------

@dataclass(frozen=True)
class Unique:
    """Check ``name``: no two rows of the table (those where the SQL boolean ``where`` holds, if given) share
    ``key``; it reports the number of duplicated key values (null keys are one value)."""
    name: str
    key: tuple[str, ...]
    where: str | None = None


@dataclass(frozen=True)
class TableChecks:
    """The checks of one table, computed together in one aggregation (see :func:`run_checks`).

    ``uniques``: :class:`Unique` checks; the first has no ``where`` (its groups also give the row count).
    ``not_null``: ``(check name, columns)``: none of the columns is null in any row.
    ``references``: ``(fk, dim DataFrame, dim name, pk)``: every non-null ``fk`` exists in ``dim.pk`` (no
    orphans); results named ``<table>.<fk>-><dim>.<pk>``, reporting the number of distinct missing values.
    Each dimension's distinct keys are broadcast (one column of a dimension) and left-joined to the table,
    so the table is read once and shuffled once (by the first unique key).
    """
    df: Any
    table: str = ""
    uniques: tuple[Unique, ...] = ()
    not_null: tuple[str, tuple[str, ...]] | None = None
    references: tuple[tuple[str, Any, str, str], ...] = ()


@dataclass(frozen=True)
class TableOutcome:
    rows: int
    """Rows of the table."""
    results: list[CheckResult]
    """The uniques' results, then not_null's, then the references' (each in the order given)."""


def _keys(dim, pk: str):
    """The distinct non-null values of ``dim.pk`` as one column ``__key`` (the same plan for the same
    dimension, so one query computes and broadcasts it once however many tables refer to it)."""
    from pyspark.sql import functions as F
    return dim.select(F.col(pk).alias("__key")).where(F.col("__key").isNotNull()).distinct()


def _with_orphan_flags(checks: TableChecks):
    """The table with one column ``__orphan<i>`` per reference: 1 when the row's key is set and missing from
    the dimension, else 0 (left joins to the broadcast keys: no row is added or lost)."""
    from pyspark.sql import functions as F
    joined = checks.df
    for i, (fk, dim, _, pk) in enumerate(checks.references):
        ref = f"__ref{i}"
        joined = joined.join(F.broadcast(_keys(dim, pk).withColumnRenamed("__key", ref)),
                             joined[fk] == F.col(ref), "left")
        joined = joined.withColumn(f"__orphan{i}", (F.col(ref).isNull() & F.col(fk).isNotNull()).cast("long"))
    return joined


def _counts(checks: TableChecks):
    """One row, one column ``counts`` (array of longs): rows, duplicated keys per unique, nulls per not_null
    column, orphan rows per reference. One grouping by every unique's key at once (each row is expanded
    into one entry per unique), then one global aggregation."""
    from pyspark.sql import functions as F
    uniques = checks.uniques or (Unique("", ()),)  # no unique check: group 0 only counts the rows
    if uniques[0].where is not None:
        raise ValueError(f"the first unique check ({uniques[0].name}) must cover every row")
    required = checks.not_null[1] if checks.not_null else ()
    joined = _with_orphan_flags(checks)
    types = dict(checks.df.dtypes)
    key_cols = list(dict.fromkeys(c for u in uniques for c in u.key))
    flags = [F.col(c).isNull().cast("long").alias(f"__null{j}") for j, c in enumerate(required)]
    flags += [F.col(f"__orphan{i}").alias(f"__orphan{i}") for i in range(len(checks.references))]
    flag_names = [f"__null{j}" for j in range(len(required))] + [f"__orphan{i}" for i in range(len(checks.references))]
    entries = F.array(*[F.struct(F.lit(i).alias("__u"), (F.expr(u.where) if u.where else F.lit(True)).alias("__in"),
                                 *[(F.col(c) if c in u.key else F.lit(None).cast(types[c])).alias(c)
                                   for c in key_cols])
                        for i, u in enumerate(uniques)])
    first = F.col("__u") == 0  # every row once: the null and orphan flags are summed there
    groups = (joined.select(F.inline(entries), *flags).where("__in")
              .groupBy("__u", *key_cols)
              .agg(F.count(F.lit(1)).alias("__n"), *[F.sum(F.when(first, F.col(f))).alias(f) for f in flag_names]))
    totals = [F.sum(F.when(first, F.col("__n")))]
    totals += [F.sum(F.when((F.col("__u") == i) & (F.col("__n") > 1), 1)) for i in range(len(checks.uniques))]
    totals += [F.sum(f) for f in flag_names]
    return groups.agg(F.array(*[F.coalesce(t.cast("long"), F.lit(0).cast("long")) for t in totals]).alias("counts"))


def _outcome(checks: TableChecks, counts: list[int]) -> TableOutcome:
    from pyspark.sql import functions as F
    rows, counts = counts[0], counts[1:]
    results = []
    for u in checks.uniques:
        dupes, counts = counts[0], counts[1:]
        results.append(CheckResult(u.name, dupes == 0, f"{dupes} duplicated keys on ({', '.join(u.key)})",
                                   {"duplicated_keys": dupes}))
    if checks.not_null:
        name, columns = checks.not_null
        nulls, counts = dict(zip(columns, counts)), counts[len(columns):]
        bad = {c: n for c, n in nulls.items() if n}
        results.append(CheckResult(name, not bad, f"nulls: {bad}" if bad else f"no nulls in {len(columns)} columns",
                                   {"nulls": nulls}))
    joined = None
    for i, (fk, _, dim_name, pk) in enumerate(checks.references):
        orphans = counts[i]
        if orphans:  # a failing check reports distinct missing values, as the message says
            joined = _with_orphan_flags(checks) if joined is None else joined
            orphans = joined.where(F.col(f"__orphan{i}") == 1).select(fk).distinct().count()
        results.append(CheckResult(f"{checks.table}.{fk}->{dim_name}.{pk}", orphans == 0,
                                   f"{orphans} {fk} values missing from the dimension", {"orphan_keys": orphans}))
    return TableOutcome(rows, results)


def run_checks(tables: list[TableChecks], parallel: int = 1) -> list[TableOutcome]:
    """Every check of ``tables``: one Spark action per table (its aggregation; a failing reference check then
    counts its distinct missing values), in ``parallel`` threads. Outcomes in the order of ``tables``.

    (One action over the union of every table's aggregation was measured slower: planning and scheduling
    one query over the whole lineage of every table costs more than it saves.)"""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="check") as pool:
        return list(pool.map(lambda t: _outcome(t, list(_counts(t).first()["counts"])), tables))
