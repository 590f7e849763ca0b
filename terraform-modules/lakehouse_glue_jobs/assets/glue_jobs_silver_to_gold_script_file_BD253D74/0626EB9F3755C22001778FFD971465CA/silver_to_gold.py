"""Glue job: silver -> gold (star schema + KPIs), gated by data quality, published all tables at once.
Thin: arguments and I/O only.

Arguments (Glue style, ``--name value``) and the prefixes the job reads and writes: :data:`CONTRACT`
(deployed values in brackets)::

    --silver_path            [s3://<silver>/]   silver tables below it: erp/customer/, ...
    --gold_path              [s3://<gold>/]     gold copies below it: runs/g<generation>-<run_id>-<token>/<table>/
    --reports_path           [s3://<artifacts>/dq-reports/]   the data-quality report goes below it
    --state_path             [s3://<artifacts>/state/silver_to_gold/]   holds publication.json (optional
                             where no deployment sets it: default <gold_path>/_state/)
    --gold_database          [<the gold Glue database>]   tables switched at publication ("" = none: the
                             publication record alone, for local file paths)
    --runs_kept              optional; default 3: previous published copies kept (rolling back = switching back)
    --run_id                 optional; default "auto-" + 16 hex digits of the SHA-256 of the silver
                             Parquet file names (the same silver gives the same run id)
    --company_insurer_code   optional; default data_contracts.reference.COMPANY_INSURER_CODE

Steps (:mod:`lakehouse.gold_publication` says what a crash at each one leaves and how the next run
recovers): finish a publication a crashed run left; read the silver tables, the customers silver deleted
(tombstones: their policies stay and are no orphans) and the previous ``dim_customer``
from the PUBLISHED copy (type 2 history); build every gold table (:func:`lakehouse.gold.build_gold`); run
the quality gate BEFORE writing anything; write ``<reports_path>/silver_to_gold/run_id=<id>/report.json``,
log the verdict, raise :class:`~lakehouse.quality.QualityGateFailed` when a check failed (nothing is
written to gold). Otherwise write every table under a new prefix, record it as pending, switch every
table's location in the catalog, record it as published, and delete the copies older than ``runs_kept``.
Each copy is complete (every month, every dimension), so months that become empty simply are not in it.

Logs (:mod:`lakehouse.run_log`): JSON lines, each with ``job``, ``service`` (``--JOB_NAME``) and, once known,
``run_id`` (the gold run id, part of the copy's prefix); then one run summary (EMF) with :func:`run_counts`.
"""
from __future__ import annotations

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor

from data_contracts import reference as ref
from data_contracts.metrics import RECORDS_OUT
from lakehouse import faults, fs, run_log
from lakehouse import gold_publication as publication
from lakehouse.gold_tables import DIM_CUSTOMER, GOLD_TABLES, SILVER_INPUTS, SMALL_TABLES, column_names
from lakehouse.job import JobArgument, JobContract, LakePath, S3Grant, list_files, run_entrypoint, write_text
from lakehouse.objects import ConcurrentUpdate
from lakehouse.objects import join_uri as _join
from lakehouse.quality import REPORTS, REPORTS_GRANT, QualityReport, report_path

JOB = "silver_to_gold"
STATE = publication.STATE
RUNS_KEPT = "3"
CONTRACT = JobContract(
    name=JOB,
    description="silver -> gold (star schema and KPIs), quality-gated",
    arguments=(
        JobArgument("silver_path", "silver tables below it: erp/customer/, ...", path=LakePath("silver")),
        JobArgument("gold_path", "gold copies below it: runs/g<generation>-<run_id>-<token>/<table>/",
                    path=LakePath("gold")),
        JobArgument("reports_path", "the data-quality report goes below it", path=REPORTS),
        JobArgument("state_path", 'holds publication.json (what is published, what is kept); "" = <gold_path>/_state/',
                    default="", path=STATE),
        JobArgument("gold_database", 'Glue database whose tables are switched at publication ("" = none)',
                    default="", database="gold"),
        JobArgument("runs_kept", "previous published copies kept (rolling back = switching back)",
                    default=RUNS_KEPT),
        JobArgument("run_id", 'default "auto-" + 16 hex digits of the SHA-256 of the silver Parquet file names',
                    default=""),
        JobArgument("company_insurer_code", "default data_contracts.reference.COMPANY_INSURER_CODE",
                    default=ref.COMPANY_INSURER_CODE),
    ),
    grants=(
        S3Grant("ReadSilver", "silver"),
        S3Grant("ReadWriteGold", "gold", write=True, delete=True),
        # the publication record: a small object, conditional single puts (lakehouse.objects)
        S3Grant("ReadWriteState", STATE.bucket, (STATE.prefix,), write=True, multipart=False),
        REPORTS_GRANT,
    ),
    catalog_layers=("silver", "gold"),
    catalog_publish=("gold",),
)
PARALLEL = 3  # checks and table writes run in this many threads (Spark schedules their jobs together)



def silver_files(spark, silver_path: str) -> dict[str, list[str]]:
    """The Parquet files of every silver input table (empty list when the table does not exist yet)."""
    return {name: list_files(spark, _join(silver_path, location), ".parquet")
            for name, (location, _) in SILVER_INPUTS.items()}


def default_run_id(files: dict[str, list[str]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        for path in files[name]:
            digest.update(f"{name}\t{path}\n".encode("utf-8"))
    return "auto-" + digest.hexdigest()[:16]


def read_silver(spark, silver_path: str, files: dict[str, list[str]]) -> dict:
    """Every silver input, conformed (:func:`lakehouse.gold.conform_silver`); missing tables are empty."""
    from lakehouse import gold
    key = "spark.sql.sources.partitionColumnTypeInference.enabled"
    previous = spark.conf.get(key, "true")
    spark.conf.set(key, "false")  # yyyy-MM partition values stay strings (inference happens at read time)
    try:
        out = {}
        for name, (location, _) in SILVER_INPUTS.items():
            if files[name]:
                df = spark.read.parquet(_join(silver_path, location))
            else:
                df = spark.createDataFrame([], gold.silver_schema(name))
            out[name] = gold.conform_silver(df, name)
        return out
    finally:
        spark.conf.set(key, previous)


def read_deleted_customers(spark, silver_path: str):
    """The ``customer_id`` of every customer silver holds a tombstone of (deleted at the source or erased),
    None when there is none: their policies stay in gold and still name them."""
    from lakehouse.silver_journal import TOMBSTONES
    from lakehouse.silver_tables import silver_table

    uri = _join(silver_path, TOMBSTONES, silver_table("erp", "customer").location)
    if not list_files(spark, uri, ".parquet"):
        return None
    return spark.read.parquet(uri).select("customer_id").distinct()


def read_published_dim_customer(spark, pub: publication.Publication, gold_path: str):
    """The previous ``dim_customer`` (type 2 history) from the published copy; None before the first
    publication. A published copy without its files is an error, never an empty history."""
    uri = publication.table_location(pub, gold_path, DIM_CUSTOMER.location)
    if uri is None:
        return None
    if not list_files(spark, uri, ".parquet"):
        raise publication.BrokenPublication(
            f"the published dim_customer {uri} has no Parquet files: its type 2 history would restart; restore "
            f"the copy (the bucket is versioned) or point {pub.uri} at a copy that is whole")
    return spark.read.parquet(uri)


def write_table(df, spec, uri: str) -> None:
    """One table into a fresh folder (the run's own copy: plain overwrite, every partition written)."""
    df = df.select(*column_names(spec))
    writer = df.repartition(*[c.name for c in spec.partition_keys]) if spec.partition_keys else \
        (df.coalesce(1) if spec.name in SMALL_TABLES else df)
    writer = writer.write.mode("overwrite").option("partitionOverwriteMode", "static")
    if spec.partition_keys:
        writer = writer.partitionBy(*[c.name for c in spec.partition_keys])
    writer.parquet(uri)


class ConcurrentRun(SystemExit):
    """Another run of this job published while this one ran; this run published nothing."""


def _save(pub: publication.Publication) -> None:
    try:
        pub.save()
    except ConcurrentUpdate as exc:
        raise ConcurrentRun(f"[{JOB}] {exc}: another run published meanwhile; this run's copy was not published, "
                            f"run the job again") from None


def _locations(gen: publication.Generation, gold_path: str) -> dict[str, str]:
    return {spec.name: gen.location(gold_path, spec.location) for spec in GOLD_TABLES}


def finish_publication(pub: publication.Publication, gold_path: str, database: str) -> None:
    """Switch every table to the pending copy (if any), record it as published; and make sure the catalog
    shows the published copy (a crash during a switch, a catalog reset by hand)."""
    if pub.pending is not None:
        run_log.log("switching gold to a pending copy", message=f"switching gold to generation "
                    f"{pub.pending.generation} (run {pub.pending.run_id}, recorded as pending)",
                    generation=pub.pending.generation, run_id=pub.pending.run_id)
        if database:
            publication.switch_catalog(database, _locations(pub.pending, gold_path))
        faults.point("gold_before_record_commit")
        if pub.published is not None and pub.published != pub.pending:
            pub.history.insert(0, pub.published)
        pub.published, pub.pending = pub.pending, None
        _save(pub)
    elif pub.published is not None and database:
        publication.switch_catalog(database, _locations(pub.published, gold_path))


def remove_old_copies(spark, pub: publication.Publication, gold_path: str, runs_kept: int) -> list[str]:
    """Trim the history to ``runs_kept`` and delete every copy of a generation up to the published one that
    the record no longer names (older runs, copies of crashed runs). Returns the deleted prefixes."""
    if len(pub.history) > runs_kept:
        pub.history = pub.history[:runs_kept]
        _save(pub)
    kept = pub.kept()
    newest = pub.published.generation if pub.published else 0
    deleted = []
    root = _join(gold_path, publication.RUNS_PREFIX)
    for name, is_dir in fs.list_dir(spark, root):
        generation = publication.generation_of(name)
        prefix = f"{publication.RUNS_PREFIX}{name}/"
        if is_dir and generation is not None and generation <= newest and prefix not in kept:
            fs.delete(spark, _join(gold_path, prefix))
            deleted.append(prefix)
    return deleted


def roll_back(state_path: str, gold_path: str, gold_database: str = "", generation: int | None = None
              ) -> publication.Generation:
    """Publish a kept copy again (default: the one published before the current one): switch every table
    back to it; the copy it replaces goes into the history. Returns the copy now published."""
    pub = publication.load(state_path)
    finish_publication(pub, gold_path, gold_database)
    candidates = [g for g in pub.history if generation is None or g.generation == generation]
    if not candidates:
        kept = ", ".join(str(g.generation) for g in pub.history) or "none"
        raise SystemExit(f"[{JOB}] no kept copy {'to roll back to' if generation is None else generation} in "
                         f"{pub.uri} (kept generations: {kept})")
    target = candidates[0]
    pub.history.remove(target)
    pub.pending = target
    _save(pub)
    finish_publication(pub, gold_path, gold_database)
    return target


def run(spark, silver_path: str, gold_path: str, reports_path: str, run_id: str = "",
        company_insurer_code: str = ref.COMPANY_INSURER_CODE, *, state_path: str | None = None,
        gold_database: str = "", runs_kept: int = int(RUNS_KEPT)) -> QualityReport:
    """Build gold from silver, gate it, write it under a new prefix and publish it (the session configured by
    :func:`lakehouse.job.configure`: months and dates of timestamps are UTC). Returns the (passed) report;
    raises QualityGateFailed."""
    from lakehouse import gold  # Spark: imported when the job runs, not when its contract is read

    if runs_kept < 0:
        raise SystemExit(f"--runs_kept {runs_kept}: use 0 or more")
    state_path = state_path or _join(gold_path, "_state")
    pub = publication.load(state_path)
    finish_publication(pub, gold_path, gold_database)  # before anything else

    files = silver_files(spark, silver_path)
    run_id = run_id or default_run_id(files)
    run_log.bind(run_id=run_id)  # every later line, and the run summary, carry the gold run id
    silver = read_silver(spark, silver_path, files)
    existing = read_published_dim_customer(spark, pub, gold_path)
    deleted = read_deleted_customers(spark, silver_path)
    tables = gold.build_gold(silver, existing, company_insurer_code, persist=True)
    try:
        gold_rows, results = gold.quality_checks(tables, deleted_customers=deleted, parallel=PARALLEL)
        report = QualityReport(JOB, run_id)
        report.counts = {"silver_files": {name: len(paths) for name, paths in files.items()},
                         "gold_rows": gold_rows,
                         "company_insurer_code": company_insurer_code,
                         "previous_dim_customer": existing is not None}
        for result in results:
            report.add(result)
        write_text(spark, report_path(reports_path, JOB, run_id), report.to_json())
        report.log()
        report.gate()  # nothing has been written to gold yet

        gen = publication.Generation.new(pub.next_generation(), run_id)
        # every table goes to its own folder of the run's copy: write them side by side
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="write") as pool:
            list(pool.map(lambda spec: write_table(tables[spec.name], spec, gen.location(gold_path, spec.location)),
                          GOLD_TABLES))
    finally:
        gold.release(tables)
    faults.point("gold_after_staging")
    pub.pending = gen
    _save(pub)  # from here on, the next run finishes this publication if this one dies
    finish_publication(pub, gold_path, gold_database)
    deleted = remove_old_copies(spark, pub, gold_path, runs_kept)
    run_log.log("gold published", message=f"published generation {gen.generation} at {_join(gold_path, gen.prefix)}"
                + (f" (catalog {gold_database})" if gold_database else "")
                + (f"; removed {len(deleted)} older copies" if deleted else ""),
                generation=gen.generation, prefix=gen.prefix, removed=len(deleted))
    report.counts["published"] = {"generation": gen.generation, "prefix": gen.prefix}
    return report


def run_job(spark, args: dict) -> QualityReport:
    """:func:`run` with the job's parsed arguments (what :func:`main` runs)."""
    try:
        runs_kept = int(args["runs_kept"])
    except ValueError:
        raise SystemExit(f"--runs_kept {args['runs_kept']!r}: use a whole number (0 or more)") from None
    return run(spark, args["silver_path"], args["gold_path"], args["reports_path"], args["run_id"],
               args["company_insurer_code"] or ref.COMPANY_INSURER_CODE, state_path=args["state_path"] or None,
               gold_database=args["gold_database"], runs_kept=runs_kept)


def run_counts(report: QualityReport) -> dict[str, int]:
    """The run's record counts (:data:`data_contracts.metrics.RECORD_COUNTS`): the gold rows of the copy it
    published. Its input is whole silver tables, not records it could count without another pass, and it
    sets nothing aside: a check that fails fails the run."""
    return {RECORDS_OUT: sum(report.counts.get("gold_rows", {}).values())}


def main(argv: list[str] | None = None) -> QualityReport:
    """The job: :func:`run_job` through :func:`lakehouse.job.run_entrypoint` (its one run summary)."""
    return run_entrypoint(run_job, CONTRACT, argv, counts=run_counts)


if __name__ == "__main__":
    main(sys.argv)
