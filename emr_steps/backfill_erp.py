"""EMR step (EMR 7, Spark 3.5): historical ERP exports -> bronze JSON lines, in the stream's format.

Arguments (``--name value``)::

    --input            an export file, or a prefix whose files are each one export
                       (e.g. s3://<bronze>/landing/erp/policy/ or .../policy/policy_2024-06-01.csv)
    --entity           ERP entity of the export(s): customer, policy, premium_installment, claim
    --bronze_path      s3://<bronze>/  (objects go to the bronze partition of the export date)
    --format           csv | jsonl | auto (default auto: by file extension; .json/.ndjson are JSON lines)
    --export_id        optional, single-file input only (default: the file name without extension)
    --export_time      ISO-8601 time of the export (default: the date/time in the file name)
    --delimiter        CSV delimiter (default ",")
    --encoding         CSV encoding (default UTF-8; e.g. ISO-8859-1 for older ERP extracts)
    --records_per_file bronze lines per output object (default 1000000)

Every export is written as ``layout.backfill_object_name`` objects (see :mod:`lakehouse.backfill`);
a rerun overwrites them with identical bytes. The bronze->silver Glue job then picks them up like any
stream object. Logs one JSON line per export (:mod:`lakehouse.run_log`: ``export``, ``export_id``,
``entity``, ``lines``, ``objects``), then the step's one run summary (EMF, ``service`` = the contract's name:
EMR passes no job name) with :func:`run_counts`. Each line's ``event_id`` derives from its export id and line
number (:func:`lakehouse.backfill.event_id`).
"""
from __future__ import annotations

import sys

from data_contracts import layout
from data_contracts.contracts import get_contract
from data_contracts.metrics import RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED
from lakehouse import run_log
from lakehouse.job import JobArgument, JobContract, LakePath, S3Grant, list_files, run_entrypoint

SOURCE = "erp"
CONTRACT = JobContract(
    name="backfill_erp",
    description="historical ERP exports (landing zone) -> bronze JSON lines, in the stream's format",
    arguments=(
        JobArgument("input", "an export file, or a prefix whose files are each one export"),
        JobArgument("entity", "ERP entity of the export(s): customer, policy, premium_installment, claim"),
        JobArgument("bronze_path", "root of bronze", path=LakePath("bronze")),
        JobArgument("format", "csv | jsonl | auto (by file extension)", default="auto"),
        JobArgument("export_id", "single-file input only (default: the file name without extension)", default=""),
        JobArgument("export_time", "ISO-8601 time of the export (default: the date/time in the file name)",
                    default=""),
        JobArgument("delimiter", "CSV delimiter", default=","),
        JobArgument("encoding", "CSV encoding (e.g. ISO-8859-1 for older ERP extracts)", default="UTF-8"),
        JobArgument("records_per_file", "bronze lines per output object", default="1000000"),
    ),
    grants=(
        S3Grant("ReadErpExports", "bronze", (layout.LANDING_PREFIX,)),
        S3Grant("WriteBronzeBackfill", "bronze", (layout.source_prefix(SOURCE), layout.BACKFILL_TMP_PREFIX),
                write=True, delete=True),
    ),
)
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def export_format(path: str, requested: str) -> str:
    if requested and requested != "auto":
        return "jsonl" if requested == "json" else requested
    name = path.lower().removesuffix(".gz")
    for ext, fmt in _FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise SystemExit(f"{path}: cannot tell the format from the extension; pass --format csv|jsonl")


def export_files(spark, uri: str) -> list[str]:
    """The export files at ``uri``: itself when it is a file, else every data file below it, sorted."""
    from lakehouse import fs

    if fs.is_file(spark, uri):
        return [uri]
    return [f for f in list_files(spark, uri) if not f.rsplit("/", 1)[-1].startswith((".", "_"))]


def run(spark, args: dict) -> list[dict]:
    from lakehouse.backfill import (
        bronze_lines, export_id_from_path, export_time_from_path, read_export, write_bronze,
    )

    contract = get_contract(SOURCE, args["entity"])
    if contract is None:
        raise SystemExit(f"--entity {args['entity']!r}: no {SOURCE} contract")
    files = export_files(spark, args["input"])
    if args.get("export_id") and len(files) != 1:
        raise SystemExit("--export_id needs a single export file as --input")
    summaries = []
    for path in files:
        export_id = args.get("export_id") or export_id_from_path(path)
        export_time = args.get("export_time") or export_time_from_path(path)
        if not export_time:
            raise SystemExit(f"{path}: no date in the file name; pass --export_time")
        fmt = export_format(path, args.get("format", "auto"))
        records, total = read_export(spark, path, fmt, contract, delimiter=args.get("delimiter") or ",",
                                     encoding=args.get("encoding") or "UTF-8")
        lines = bronze_lines(records, contract, export_id, export_time)
        written = write_bronze(spark, lines, total, args["bronze_path"], contract, export_id, export_time,
                               int(args.get("records_per_file") or 1_000_000))
        summary = {"export": path, "export_id": export_id, "entity": contract.entity, "format": fmt,
                   "lines": total, "objects": written}
        run_log.log("export written", message=f"{path}: {total} lines -> {len(written)} object(s) "
                    f"{layout.backfill_object_prefix(export_id)}*{layout.OBJECT_SUFFIX}", export=path,
                    export_id=export_id, entity=contract.entity, format=fmt, lines=total, objects=len(written))
        summaries.append(summary)
    if not files:
        run_log.log("no export files", message=f"no export files under {args['input']}", input=args["input"])
    return summaries


def run_counts(summaries: list[dict]) -> dict[str, int]:
    """The step's record counts (:data:`data_contracts.metrics.RECORD_COUNTS`): every line of every export is
    read and written to bronze as it comes (checking it is bronze->silver's work)."""
    lines = sum(summary["lines"] for summary in summaries)
    return {RECORDS_IN: lines, RECORDS_OUT: lines, RECORDS_QUARANTINED: 0, RECORDS_FAILED: 0}


def main(argv: list[str] | None = None) -> int:
    run_entrypoint(run, CONTRACT, argv, counts=run_counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
