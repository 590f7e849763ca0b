"""The warehouse load: the PUBLISHED gold copy into the warehouse's star schema, all tables at once.

Runs after silver->gold. Steps (:func:`load_published`):

1. Read the publication record (:func:`lakehouse.gold_publication.load`): the generation whose copy is
   published, ``runs/g<generation>-<run_id>-<token>/``. Nothing published: a clear error.
2. Create the schema if it is not there (:mod:`warehouse.schema`, ``IF NOT EXISTS``; on AWS Terraform
   applies the same statements first).
3. The load log (``<schema>.load_log``): if its latest row is this generation at this prefix, the warehouse
   already holds it: nothing is done (``force`` reloads it, cleanly, the same way).
4. Every gold table's Parquet files in the published copy, grouped by partition folder (``month=...``), and
   their row counts from the Parquet footers (two ranged reads per file).
5. Staging tables ``<schema>.stg_<table>`` (dropped and created ``LIKE`` the live table), filled with
   :meth:`warehouse.connection.Warehouse.copy_parquet` (Redshift: COPY ... FORMAT AS PARQUET through the Data
   API; locally: ``COPY ... FROM STDIN``). The partition column comes from the folder names (see
   :mod:`warehouse.connection`).
6. Count check: rows per staging table == rows in the published copy, else fail (the live star untouched).
7. The swap, ONE transaction (:meth:`~warehouse.connection.Warehouse.run_transaction`): ``DELETE FROM`` every
   live table (children first), ``INSERT INTO <live> SELECT ... FROM <staging>`` (parents first: PostgreSQL
   enforces the foreign keys), a guard statement that divides by zero unless every live table now holds
   exactly the expected rows (so the count check also holds inside the transaction), and the load log row.
   Readers see the previous star until the commit and the new one after it, never a mix. No TRUNCATE
   (Redshift commits implicitly on TRUNCATE) and no RENAME (PostgreSQL's foreign keys follow the renamed
   table): DELETE and INSERT behave the same in both engines. A failure anywhere leaves the previous star
   and the load log as they were; the next run loads again.
8. Drop the staging tables.

Fault point (:mod:`lakehouse.faults`): ``warehouse_during_swap``, inside the swap transaction after every
live table was emptied and the first one refilled.

Entrypoint: ``python -m warehouse.load --gold_path s3://<gold>/ [--state_path ...] --target postgres|redshift-data
...`` (:data:`CONTRACT`; ``--help`` lists the arguments); deployed as the Glue job ``warehouse_load``
(``glue_jobs/warehouse_load.py``), the batch workflow's step after silver->gold. It prints its result as JSON
on one line (:data:`RESULT_MARK`, :func:`parse_result`), then its run summary.

Logs (:mod:`lakehouse.run_log`): one JSON line per step (``generation already loaded``, ``table staged``,
``generation loaded``), each with the ``run_id`` of the gold run whose copy it loads and the ``generation``;
then one run summary (EMF, ``service`` = ``--JOB_NAME``) with :func:`run_counts`, whether the load succeeded
or raised.
"""
from __future__ import annotations

import io
import json
import os
import struct
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from urllib.parse import unquote

from data_contracts.metrics import RECORDS_IN, RECORDS_OUT
from lakehouse import faults, run_log
from lakehouse import gold_publication as publication
from lakehouse.catalog_spec import TableSpec
from lakehouse.gold_tables import GOLD_TABLES
from lakehouse.job import (
    WAREHOUSE_CREDENTIALS, JobArgument, JobContract, LakePath, S3Grant, resolve_options, service_name,
)
from lakehouse.objects import join_uri, s3_client
from warehouse import schema as ddl
from warehouse.connection import (DataApiSettings, ParquetSource, PostgresSettings, Warehouse, connect, list_parquet,
                                  quote_literal)

__all__ = ["CONTRACT", "SWAP_FAULT", "CountMismatch", "LoadResult", "NothingPublished", "load_published", "main",
           "parse_result", "published_files", "run_counts", "staging_name"]

JOB = "warehouse_load"
SWAP_FAULT = "warehouse_during_swap"
TARGETS = ("redshift-data", "postgres")

CONTRACT = JobContract(
    name=JOB,
    description="the published gold copy -> the warehouse star schema (staging tables swapped in one transaction)",
    arguments=(
        JobArgument("gold_path", "gold copies below it: runs/g<generation>-<run_id>-<token>/<table>/",
                    path=LakePath("gold")),
        JobArgument("state_path", 'holds publication.json (written by silver_to_gold); "" = <gold_path>/_state/',
                    default="", path=publication.STATE),
        JobArgument("schema", "warehouse schema of the star and the load log", default=ddl.DEFAULT_SCHEMA),
        JobArgument("target", "redshift-data (Amazon Redshift through the Data API) or postgres (the local stand-in)",
                    default="redshift-data"),
        JobArgument("database", "database name", default="lakeforge"),
        JobArgument("workgroup", "Redshift Serverless workgroup (redshift-data)", default=""),
        JobArgument("cluster_identifier", "provisioned Redshift cluster, instead of a workgroup (redshift-data)",
                    default=""),
        JobArgument("secret_arn", "Secrets Manager secret with the database credentials (redshift-data)", default="",
                    secret=WAREHOUSE_CREDENTIALS),
        JobArgument("db_user", "provisioned cluster only, instead of secret_arn: temporary credentials of this user",
                    default=""),
        JobArgument("iam_role", "role ARN Redshift assumes to read gold in COPY, or 'default' (redshift-data)",
                    default=""),
        JobArgument("host", "PostgreSQL host (postgres)", default="127.0.0.1"),
        JobArgument("port", "PostgreSQL port (postgres)", default="5439"),
        JobArgument("user", "PostgreSQL user (postgres)", default="lakeforge"),
        JobArgument("passfile", "libpq password file holding the user's password (postgres)", default=""),
        JobArgument("s3_endpoint", 'S3 endpoint for reading gold ("" = AWS, or AWS_ENDPOINT_URL when set)',
                    default=""),
        JobArgument("force", "true: reload even when the load log says this generation is loaded", default="false"),
    ),
    grants=(
        S3Grant("ReadPublishedGold", "gold", (publication.RUNS_PREFIX,)),
        S3Grant("ReadPublication", publication.STATE.bucket, (publication.STATE.prefix,)),
    ),
)


class NothingPublished(SystemExit):
    """The publication record names no published gold copy yet (silver->gold has not published)."""


class CountMismatch(SystemExit):
    """The warehouse's rows differ from the published copy's; the live star was not changed."""


@dataclass
class TableFiles:
    spec: TableSpec
    sources: list[ParquetSource] = field(default_factory=list)
    rows: int = 0
    files: int = 0


@dataclass
class LoadResult:
    generation: int
    run_id: str
    prefix: str
    counts: dict[str, int]
    """Rows per gold table in the warehouse after the load."""
    skipped: bool = False
    """True when the warehouse already held this generation (nothing was loaded)."""

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


def staging_name(schema: str, table: str) -> str:
    return f"{schema}.stg_{table}"


def _data_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in spec.columns]


def _all_columns(spec: TableSpec) -> list[str]:
    return [c.name for c in (*spec.columns, *spec.partition_keys)]


def parquet_rows(s3, bucket: str, key: str, size: int) -> int:
    """Rows of one Parquet file, from its footer (two ranged reads; the data pages are not read)."""
    import pyarrow.parquet as pq

    if size < 12:
        raise ValueError(f"s3://{bucket}/{key} is {size} bytes: not a Parquet file")
    tail = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={size - 8}-{size - 1}")["Body"].read()
    if tail[4:] != b"PAR1":
        raise ValueError(f"s3://{bucket}/{key} does not end like a Parquet file")
    footer_len = struct.unpack("<I", tail[:4])[0]
    start = size - 8 - footer_len
    footer = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{size - 1}")["Body"].read()
    return pq.ParquetFile(io.BytesIO(b"PAR1" + footer)).metadata.num_rows


def published_files(s3, gen: publication.Generation, gold_path: str) -> dict[str, TableFiles]:
    """Every gold table's Parquet folders in the copy of ``gen`` (with the partition values of their folder
    names) and its rows (from the footers)."""
    out: dict[str, TableFiles] = {}
    for spec in GOLD_TABLES:
        root = gen.location(gold_path, spec.location)  # s3://<gold>/runs/g.../<table>/
        found = TableFiles(spec)
        folders: dict[tuple[tuple[str, str], ...], str] = {}
        bucket_root = root.split("://", 1)[1].split("/", 1)[1]  # the key prefix of the table folder
        for bucket, key, size in list_parquet(s3, root):
            relative = key[len(bucket_root):].split("/")[:-1]
            constants = tuple((name, unquote(value)) for name, _, value in (part.partition("=") for part in relative))
            names = tuple(name for name, _ in constants)
            if names != tuple(c.name for c in spec.partition_keys) or not all("=" in part for part in relative):
                raise publication.BrokenPublication(
                    f"s3://{bucket}/{key}: expected the folders {[c.name for c in spec.partition_keys]} below "
                    f"{root}, found {relative}")
            folders.setdefault(constants, join_uri(root, *relative) + "/")
            found.rows += parquet_rows(s3, bucket, key, size)
            found.files += 1
        found.sources = [ParquetSource(uri, constants) for constants, uri in sorted(folders.items())]
        out[spec.name] = found
    if not any(found.files for found in out.values()):
        raise publication.BrokenPublication(
            f"the published copy {join_uri(gold_path, gen.prefix)} has no Parquet files: it is gone or was never "
            f"written; restore it (the bucket is versioned) or publish again; the warehouse was not changed")
    return out


def _latest_load(warehouse: Warehouse, schema: str) -> tuple[int, str] | None:
    rows = warehouse.query(f"SELECT generation, prefix FROM {schema}.{ddl.LOAD_LOG} "
                           f"ORDER BY loaded_at DESC, generation DESC LIMIT 1")
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def _counts(warehouse: Warehouse, tables: dict[str, str]) -> dict[str, int]:
    """Rows of each table (``{name: qualified table}``), in one query."""
    if not tables:
        return {}
    parts = [f"SELECT {quote_literal(name)}, COUNT(*) FROM {qualified}" for name, qualified in tables.items()]
    rows = warehouse.query(" UNION ALL ".join(parts))
    return {str(name): int(count) for name, count in rows}


def swap_statements(schema: str, expected: dict[str, int], gen: publication.Generation,
                    loaded_at: datetime) -> list[str]:
    """The statements of the swap transaction (see the module docstring, step 7)."""
    order = ddl.load_order()
    statements = [f"DELETE FROM {schema}.{spec.name}" for spec in reversed(order)]
    for spec in order:
        cols = ", ".join(_all_columns(spec))
        statements.append(f"INSERT INTO {schema}.{spec.name} ({cols}) SELECT {cols} "
                          f"FROM {staging_name(schema, spec.name)}")
    checks = " AND ".join(f"(SELECT COUNT(*) FROM {schema}.{spec.name}) = {int(expected[spec.name])}"
                          for spec in order)
    statements.append(f"SELECT 1 / (CASE WHEN {checks} THEN 1 ELSE 0 END) AS count_check")
    stamp = loaded_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    statements.append(
        f"INSERT INTO {schema}.{ddl.LOAD_LOG} (generation, run_id, prefix, loaded_at, total_rows) VALUES "
        f"({int(gen.generation)}, {quote_literal(gen.run_id)}, {quote_literal(gen.prefix)}, "
        f"TIMESTAMP {quote_literal(stamp)}, {int(sum(expected.values()))})")
    return statements


def load_published(warehouse: Warehouse, gold_path: str, state_path: str = "", *, schema: str = ddl.DEFAULT_SCHEMA,
                   force: bool = False, s3=None, log=run_log.log) -> LoadResult:
    """Load the published gold copy into ``warehouse`` (steps in the module docstring). Returns the rows per
    table in the warehouse afterwards; ``skipped`` when the warehouse already held that generation.
    ``s3``: the client that reads gold's footers (default: boto3's, honouring ``AWS_ENDPOINT_URL``); ``log``
    takes ``(event, **keys)`` (default: :func:`lakehouse.run_log.log`)."""
    ddl.validate_name(schema)
    pub = publication.load(state_path or join_uri(gold_path, "_state"))
    gen = pub.published
    if gen is None:
        raise NothingPublished(f"[{JOB}] {pub.uri} names no published gold copy: run silver->gold first")
    if s3 is None:
        s3 = s3_client()
    create = ddl.redshift_ddl(schema) if warehouse.dialect == "redshift" else ddl.postgres_ddl(schema)
    warehouse.run_transaction(create)
    live = {spec.name: f"{schema}.{spec.name}" for spec in GOLD_TABLES}
    if not force and _latest_load(warehouse, schema) == (gen.generation, gen.prefix):
        log("generation already loaded", message=f"generation {gen.generation} ({gen.prefix}) is already loaded "
            f"into {schema}: nothing to do", run_id=gen.run_id, generation=gen.generation, schema=schema)
        return LoadResult(gen.generation, gen.run_id, gen.prefix, _counts(warehouse, live), skipped=True)

    files = published_files(s3, gen, gold_path)
    expected = {name: found.rows for name, found in files.items()}
    staging = {spec.name: staging_name(schema, spec.name) for spec in GOLD_TABLES}
    warehouse.run_transaction([sql for spec in GOLD_TABLES for sql in (
        f"DROP TABLE IF EXISTS {staging[spec.name]}",
        f"CREATE TABLE {staging[spec.name]} (LIKE {schema}.{spec.name})")])
    for spec in GOLD_TABLES:
        found = files[spec.name]
        if found.sources:
            warehouse.copy_parquet(staging[spec.name], _data_columns(spec), found.sources)
        log("table staged", message=f"staged {spec.name}: {found.rows} rows from {found.files} files in "
            f"{len(found.sources)} folders", run_id=gen.run_id, generation=gen.generation, table=spec.name,
            rows=found.rows, files=found.files)
    staged = _counts(warehouse, staging)
    wrong = {name: (staged[name], expected[name]) for name in expected if staged[name] != expected[name]}
    if wrong:
        raise CountMismatch(f"[{JOB}] staging rows differ from the published copy {gen.prefix} "
                            f"(table: warehouse, gold): {wrong}; the live star was not changed")

    swap = swap_statements(schema, expected, gen, datetime.now(timezone.utc))
    first_insert = len(GOLD_TABLES)  # after every DELETE: the live star is empty, one table refilled
    warehouse.run_transaction(swap, on_statement=lambda i: faults.point(SWAP_FAULT) if i == first_insert else None)
    warehouse.run_transaction([f"DROP TABLE IF EXISTS {name}" for name in staging.values()])
    counts = _counts(warehouse, live)
    log("generation loaded", message=f"loaded generation {gen.generation} ({gen.prefix}) into {schema}: "
        f"{sum(counts.values())} rows in {len(counts)} tables", run_id=gen.run_id, generation=gen.generation,
        schema=schema, rows=sum(counts.values()))
    return LoadResult(gen.generation, gen.run_id, gen.prefix, counts)


# --- entrypoint --------------------------------------------------------------------------------------

def usage() -> str:
    lines = [f"python -m warehouse.load --name value ...: {CONTRACT.description}", ""]
    for arg in CONTRACT.arguments:
        default = "required" if arg.default is None else f"default {arg.default!r}"
        lines.append(f"  --{arg.name:<20} {arg.help} ({default})")
    return "\n".join(lines)


def settings_from_args(args: dict[str, str]) -> PostgresSettings | DataApiSettings:
    target = args["target"]
    if target == "postgres":
        try:
            port = int(args["port"])
        except ValueError:
            raise SystemExit(f"--port {args['port']!r}: use a port number") from None
        return PostgresSettings(args["host"], port, args["database"], args["user"], args["passfile"])
    if target == "redshift-data":
        try:
            return DataApiSettings(args["database"], args["iam_role"], args["workgroup"],
                                   args["cluster_identifier"], args["secret_arn"], args["db_user"])
        except ValueError as exc:
            raise SystemExit(f"--target redshift-data: {exc}") from None
    raise SystemExit(f"--target {target!r}: use one of {', '.join(TARGETS)}")


def run_counts(result: LoadResult) -> dict[str, int]:
    """The load's record counts (:data:`data_contracts.metrics.RECORD_COUNTS`): the rows of the published copy
    read and loaded (the count check makes them equal); zeros when the warehouse already held it."""
    rows = 0 if result.skipped else result.total_rows
    return {RECORDS_IN: rows, RECORDS_OUT: rows}


def main(argv: list[str] | None = None) -> LoadResult:
    """The job (see the module docstring); ``--help`` prints the arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--help" in argv or "-h" in argv:
        print(usage())
        raise SystemExit(0)
    return run_log.summarised(JOB, service_name(CONTRACT, argv), lambda: _load(argv), counts=run_counts)


def _load(argv: list[str]) -> LoadResult:
    args = resolve_options(argv, CONTRACT.argument_names, CONTRACT.defaults)
    if args["force"] not in ("true", "false"):
        raise SystemExit(f"--force {args['force']!r}: use true or false")
    if args["s3_endpoint"]:
        os.environ["AWS_ENDPOINT_URL"] = args["s3_endpoint"]  # boto3 (and lakehouse.objects) read it
    with connect(settings_from_args(args)) as warehouse:
        result = load_published(warehouse, args["gold_path"], args["state_path"], schema=args["schema"],
                                force=args["force"] == "true")
    run_log.bind(run_id=result.run_id, generation=result.generation)  # for the run summary
    print(RESULT_MARK + json.dumps(asdict(result)), flush=True)  # counts in table order, as loaded
    return result


RESULT_MARK = f"[{JOB}] result: "
"""Starts the line :func:`main` prints last before its run summary: the :class:`LoadResult` as JSON (the job's
log says what it did; the local runner reads the result back from it, :func:`parse_result`)."""


def parse_result(output: str) -> LoadResult:
    """The :class:`LoadResult` of a run, from its output (the last :data:`RESULT_MARK` line)."""
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    if not lines:
        raise ValueError(f"no {RESULT_MARK!r} line in the output: the load did not finish")
    return LoadResult(**json.loads(lines[-1][len(RESULT_MARK):]))


if __name__ == "__main__":
    main()
