"""Glue job: silver -> gold (star schema + KPIs), gated by data quality. Thin: arguments and I/O only.

Arguments (Glue style, ``--name value``) and the prefixes the job reads and writes: :data:`CONTRACT`
(deployed values in brackets)::

    --silver_path            [s3://<silver>/]   silver tables below it: erp/customer/, ...
    --gold_path              [s3://<gold>/]     gold tables below it: <table>/
    --reports_path           [s3://<artifacts>/dq-reports/]   the data-quality report goes below it
    --run_id                 optional; default "auto-" + 16 hex digits of the SHA-256 of the silver
                             Parquet file names (the same silver gives the same run id)
    --company_insurer_code   optional; default data_contracts.reference.COMPANY_INSURER_CODE

Steps: read the silver tables (and the previous gold ``dim_customer`` for the type 2 history), build every
gold table (:func:`lakehouse.gold.build_gold`), run the quality gate BEFORE writing anything, write
``<reports_path>/silver_to_gold/run_id=<id>/report.json``, print the summary, raise
:class:`~lakehouse.quality.QualityGateFailed` when a check failed (nothing is written to gold). Otherwise
write every table as Parquet: dimensions with a full overwrite, facts and KPIs partitioned by ``month``
with dynamic partition overwrite (months absent from this run's output are left as they are).
``dim_customer`` is read and rewritten by the same run, so it is first staged under
``<gold_path>/_staging/silver_to_gold/run_id=<id>/`` (removed after a successful write).
"""
from __future__ import annotations

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor

from data_contracts import reference as ref
from lakehouse import fs
from lakehouse.gold_tables import DIM_CUSTOMER, GOLD_TABLES, SILVER_INPUTS, column_names
from lakehouse.job import JobArgument, JobContract, LakePath, S3Grant, list_files, start_job, write_text
from lakehouse.quality import REPORTS, REPORTS_GRANT, QualityReport, report_path

JOB = "silver_to_gold"
CONTRACT = JobContract(
    name=JOB,
    description="silver -> gold (star schema and KPIs), quality-gated",
    arguments=(
        JobArgument("silver_path", "silver tables below it: erp/customer/, ...", path=LakePath("silver")),
        JobArgument("gold_path", "gold tables below it: <table>/", path=LakePath("gold")),
        JobArgument("reports_path", "the data-quality report goes below it", path=REPORTS),
        JobArgument("run_id", 'default "auto-" + 16 hex digits of the SHA-256 of the silver Parquet file names',
                    default=""),
        JobArgument("company_insurer_code", "default data_contracts.reference.COMPANY_INSURER_CODE",
                    default=ref.COMPANY_INSURER_CODE),
    ),
    grants=(
        S3Grant("ReadSilver", "silver"),
        S3Grant("ReadWriteGold", "gold", write=True, delete=True),
        REPORTS_GRANT,
    ),
    catalog_layers=("silver", "gold"),
)
PARALLEL = 3  # checks and table writes run in this many threads (Spark schedules their jobs together)
SMALL_TABLES = frozenset({"dim_date", "dim_insurer", "dim_line_of_business", "dim_state"})  # one file each


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def _remove_staging(spark, uri: str) -> None:
    """Delete the run's staging folder, then its parents up to ``<gold>/_staging`` when left empty."""
    fs.delete(spark, uri)
    for _ in range(2):
        uri = uri.rsplit("/", 1)[0]
        if not fs.exists(spark, uri) or fs.list_dir(spark, uri):
            break
        fs.delete(spark, uri)


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


def read_existing_dim_customer(spark, gold_path: str):
    uri = _join(gold_path, DIM_CUSTOMER.location)
    return spark.read.parquet(uri) if list_files(spark, uri, ".parquet") else None


def write_table(df, spec, uri: str) -> None:
    df = df.select(*column_names(spec))
    if spec.partition_keys:
        keys = [c.name for c in spec.partition_keys]
        (df.repartition(*keys).write.mode("overwrite").option("partitionOverwriteMode", "dynamic")
         .partitionBy(*keys).parquet(uri))
    else:
        (df.coalesce(1) if spec.name in SMALL_TABLES else df).write.mode("overwrite").parquet(uri)


def run(spark, silver_path: str, gold_path: str, reports_path: str, run_id: str = "",
        company_insurer_code: str = ref.COMPANY_INSURER_CODE) -> QualityReport:
    """Build gold from silver, gate it, write it (the session configured by :func:`lakehouse.job.configure`:
    months and dates of timestamps are UTC). Returns the (passed) report; raises QualityGateFailed."""
    from lakehouse import gold  # Spark: imported when the job runs, not when its contract is read

    files = silver_files(spark, silver_path)
    run_id = run_id or default_run_id(files)
    silver = read_silver(spark, silver_path, files)
    existing = read_existing_dim_customer(spark, gold_path)
    tables = gold.build_gold(silver, existing, company_insurer_code, persist=True)
    try:
        report = QualityReport(JOB, run_id)
        report.counts = {"silver_files": {name: len(paths) for name, paths in files.items()},
                         "gold_rows": {name: df.count() for name, df in tables.items()},
                         "company_insurer_code": company_insurer_code,
                         "previous_dim_customer": existing is not None}
        for result in gold.quality_checks(tables, parallel=PARALLEL):
            report.add(result)
        write_text(spark, report_path(reports_path, JOB, run_id), report.to_json())
        print(report.summary(), flush=True)
        report.gate()  # nothing has been written to gold yet

        staging = _join(gold_path, "_staging", JOB, f"run_id={run_id}")
        final = {}
        for spec in GOLD_TABLES:
            df = tables[spec.name]
            if spec.name == DIM_CUSTOMER.name:  # it was read from its own location: stage it first
                staged = _join(staging, spec.location)
                df.select(*column_names(spec)).write.mode("overwrite").parquet(staged)
                df = spark.read.parquet(staged)
            final[spec.name] = df
        # every table goes to its own location: write them side by side
        with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="write") as pool:
            list(pool.map(lambda spec: write_table(final[spec.name], spec, _join(gold_path, spec.location)),
                          GOLD_TABLES))
        _remove_staging(spark, staging)
        return report
    finally:
        for df in tables.values():
            df.unpersist()


def main(argv: list[str] | None = None) -> QualityReport:
    ctx = start_job(CONTRACT, argv)
    args = ctx.args
    report = run(ctx.spark, args["silver_path"], args["gold_path"], args["reports_path"], args["run_id"],
                 args["company_insurer_code"] or ref.COMPANY_INSURER_CODE)
    ctx.commit()
    return report


if __name__ == "__main__":
    main(sys.argv)
