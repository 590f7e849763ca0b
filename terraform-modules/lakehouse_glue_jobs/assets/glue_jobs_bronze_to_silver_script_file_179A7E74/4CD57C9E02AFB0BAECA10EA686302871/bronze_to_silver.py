"""Glue job (Glue 5.0, Spark 3.5): bronze JSON lines -> silver Parquet, incremental and idempotent.

Arguments (``--name value``; Glue adds its own, which are ignored) and the prefixes the job reads and
writes: :data:`CONTRACT` (deployed values in brackets)::

    --bronze_path      [s3://<bronze>/]                    root of bronze (data_contracts.layout)
    --silver_path      [s3://<silver>/]                    root of silver (tables at <source>/<entity>/)
    --quarantine_path  [s3://<quarantine>/silver_rules/]   rows failing a silver rule, JSON lines
    --state_path       [s3://<artifacts>/state/bronze_to_silver/]   holds manifest.json
    --reports_path     [s3://<artifacts>/dq-reports/]      data-quality reports
    --run_id           optional; default: derived from the set of new bronze files (no clock)
    --entities         optional comma list: policy,claim or erp.policy or erp_policy (default: all)

A run first finishes the journal a crashed run left (:mod:`lakehouse.silver_journal`). It lists the bronze
objects of every selected contract (``layout.entity_prefix``) with their versions (ETags) and processes
those the manifest (:mod:`lakehouse.manifest`) does not hold at that version (new ones, and corrected ones
landing again under an old name: their rows win ties with the versions they correct); with none it does
nothing at all. Per table: conform (type, standardize, validate), merge with the stored rows of the touched
partitions and the stored tombstones (latest event per business key wins; deletes remove the key), write
the quarantine rows (one folder per bronze object: idempotent whatever set of objects a run covers), and
STAGE the new content of every touched partition and the run's tombstones. Then the data-quality report;
only when every check passed, the journal, the swap of the staged partitions into silver, the manifest
(conditional write) and the clean-up. A crash at any point loses no row and duplicates none: see
:mod:`lakehouse.silver_journal`.

Logs (:mod:`lakehouse.run_log`): JSON lines on stdout, each with ``job``, ``service`` (``--JOB_NAME``) and,
once the run knows it, ``run_id`` (the ``silver_run_id`` its rows carry); then one run summary (EMF) with
:func:`run_counts`: ``records_in`` bronze lines read, ``records_out`` rows accepted into silver,
``records_quarantined`` rows a silver rule set aside, ``records_failed`` 0. Nothing is logged per row: a row
is followed by its ``event_id``, which its silver row (lineage columns) and its quarantine row keep, next
to the ``silver_run_id``.

Layouts::

    silver      <silver_path>/<source>/<entity>/<partition>=<yyyy-MM>/part-*.snappy.parquet
    staging     <silver_path>/_staging/<run_id>/[_tombstones/]<source>/<entity>/...   (during a run)
    tombstones  <silver_path>/_tombstones/<source>/<entity>/run_id=<id>/part-*.parquet
    quarantine  <quarantine_path>/source=<s>/entity=<e>/bronze_object=<ingest date>_<object>/part-*.json
    report      <reports_path>/bronze_to_silver/run_id=<id>/report.json
    manifest    <state_path>/manifest.json   (object -> version processed)
    journal     <state_path>/journal.json    (while a run swaps)
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor

from data_contracts import layout
from data_contracts.contracts import REGISTRY, Contract
from data_contracts.metrics import RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED
from lakehouse import faults, fs, objects, run_log, silver_journal
from lakehouse import manifest as manifest_module
from lakehouse.manifest import Manifest
from lakehouse.objects import ConcurrentUpdate
from lakehouse.objects import join_uri as _join
from lakehouse.job import (
    PSEUDONYMIZATION_KEY, JobArgument, JobContract, LakePath, S3Grant, list_files, load_key, read_text,
    run_entrypoint, write_text,
)
from lakehouse.quality import (
    REPORTS, REPORTS_GRANT, CheckResult, QualityReport, check_accounting, check_unique, report_path,
)

JOB_NAME = "bronze_to_silver"
STATE = LakePath("artifacts", f"state/{JOB_NAME}/")
SILVER_QUARANTINE = LakePath("quarantine", "silver_rules/")
CONTRACT = JobContract(
    name=JOB_NAME,
    description="bronze (raw JSON lines) -> silver (typed, deduplicated Parquet), quality-gated",
    arguments=(
        JobArgument("bronze_path", "root of bronze", path=LakePath("bronze")),
        JobArgument("silver_path", "root of silver (tables at <source>/<entity>/)", path=LakePath("silver")),
        JobArgument("quarantine_path", "rows failing a silver rule, JSON lines", path=SILVER_QUARANTINE),
        JobArgument("state_path", "holds manifest.json and, while a run swaps, journal.json", path=STATE),
        JobArgument("reports_path", "data-quality reports", path=REPORTS),
        JobArgument("run_id", "default: derived from the set of new bronze files (no clock)", default=""),
        JobArgument("entities", "comma list: policy,claim or erp.policy or erp_policy (default: all)", default=""),
        JobArgument("pseudonymization_secret", "secret holding the HMAC key of personal fields (ARN or name; "
                    "file:///path for a key file in local tests); needed when a table has personal fields",
                    default="", secret=PSEUDONYMIZATION_KEY),
    ),
    grants=(
        S3Grant("ReadBronze", "bronze", (layout.BRONZE_RECORDS_PREFIX,)),
        S3Grant("ReadWriteSilver", "silver", write=True, delete=True),
        # an object's quarantine rows are replaced when it is processed again (retry, corrected version)
        S3Grant("WriteQuarantine", SILVER_QUARANTINE.bucket, (SILVER_QUARANTINE.prefix,), write=True, delete=True),
        # manifest and journal: small objects, conditional single puts (lakehouse.objects); the journal is removed
        S3Grant("ReadWriteState", STATE.bucket, (STATE.prefix,), write=True, delete=True, multipart=False),
        REPORTS_GRANT,
    ),
    catalog_layers=("bronze", "silver"),
)
MANIFEST_NAME = "manifest.json"
RUNS_KEPT = 100
MAX_RECORDS_PER_FILE = 5_000_000
TABLES_IN_PARALLEL = 3
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


# --- arguments, listing, manifest -------------------------------------------------------------------

def selected_contracts(entities: str) -> list[Contract]:
    """The contracts named by ``--entities`` (all when blank), in registry order."""
    names = [n.strip() for n in (entities or "").split(",") if n.strip()]
    contracts = [c for _, c in sorted(REGISTRY.items())]
    if not names:
        return contracts
    chosen = []
    for name in names:
        match = [c for c in contracts if name in (c.entity, c.name, f"{c.source}_{c.entity}")]
        if not match:
            known = ", ".join(c.name for c in contracts)
            raise SystemExit(f"--entities: unknown entity {name!r} (known: {known})")
        chosen += [c for c in match if c not in chosen]
    return [c for c in contracts if c in chosen]



def relative_name(uri: str) -> str | None:
    key = layout.parse_bronze_key(uri)
    return key.key if key else None


def list_bronze(bronze_path: str, contracts: list[Contract]) -> dict[str, tuple[str, str]]:
    """``{relative name: (uri, version)}`` of every bronze object (``.jsonl``) of the given contracts."""
    found: dict[str, tuple[str, str]] = {}
    for c in contracts:
        for uri, version in objects.list_versions(_join(bronze_path, layout.entity_prefix(c.source, c.entity)),
                                                  layout.OBJECT_SUFFIX).items():
            rel = relative_name(uri)
            if rel is not None:
                found[rel] = (uri, version)
    return found


def manifest_uri(state_path: str) -> str:
    return _join(state_path, MANIFEST_NAME)


def load_manifest(state_path: str) -> Manifest:
    return manifest_module.load(manifest_uri(state_path), JOB_NAME)


class ConcurrentRun(SystemExit):
    """Another run of this job committed or publishes while this one ran; this run published nothing."""


def derive_run_id(names) -> str:
    """Deterministic id of a set of bronze objects (same set, same id)."""
    digest = hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()
    return f"b2s-{digest[:20]}"


# --- quarantine ---------------------------------------------------------------------------------------

QUARANTINE_OBJECT = "bronze_object"
"""Partition column of the silver quarantine: the bronze object the rows come from (``<ingest date>_<name>``)."""


def quarantine_object(rel: str) -> str:
    """``source=erp/entity=claim/ingest_date=2024-06-01/kinesis-x-1-9.jsonl`` -> ``2024-06-01_kinesis-x-1-9``."""
    key = layout.parse_bronze_key(rel)
    return f"{key.ingest_date}_{key.name[: -len(layout.OBJECT_SUFFIX)]}"


def quarantine_root(quarantine_path: str, source: str, entity: str) -> str:
    """``<quarantine_path>/source=<s>/entity=<e>``: the silver quarantine of one contract (one folder per
    bronze object below it)."""
    return _join(quarantine_path, layout.entity_prefix(source, entity))


def write_quarantine(spark, quarantine, contract: Contract, uris: list[str], quarantine_path: str) -> None:
    """The quarantine rows of these bronze objects, one folder per object: rewriting an object's rows
    replaces them (a retry, a corrected version), and an object without quarantined rows any more loses its
    folder. Idempotent per object version, whatever set of objects a run covers."""
    root = quarantine_root(quarantine_path, contract.source, contract.entity)
    mine = {quarantine_object(r) for r in (relative_name(u) for u in uris) if r}
    if quarantine is None:
        written: set[str] = set()
    else:
        written = _write_quarantine_rows(quarantine, root)
    for folder, is_dir in fs.list_dir(spark, root):
        value = folder.partition("=")[2]
        if is_dir and folder.startswith(f"{QUARANTINE_OBJECT}=") and value in mine and value not in written:
            fs.delete(spark, _join(root, folder))


def _write_quarantine_rows(quarantine, root: str) -> set[str]:
    from pyspark.sql import functions as F

    rel = F.regexp_extract("bronze_file", layout.BRONZE_KEY_PATTERN, 1)
    day = F.regexp_extract("bronze_file", layout.BRONZE_KEY_PATTERN, 4)
    name = F.regexp_replace(F.regexp_extract("bronze_file", layout.BRONZE_KEY_PATTERN, 5),
                            re.escape(layout.OBJECT_SUFFIX) + "$", "")
    tagged = quarantine.withColumn(QUARANTINE_OBJECT, F.when(rel != "", F.concat_ws("_", day, name))
                                   .otherwise(F.lit("unknown")))
    written = {r[0] for r in tagged.select(QUARANTINE_OBJECT).distinct().collect()}
    if written:
        (tagged.repartition(QUARANTINE_OBJECT).write.mode("overwrite")
         .option("partitionOverwriteMode", "dynamic")
         .option("ignoreNullFields", "false")
         .partitionBy(QUARANTINE_OBJECT)
         .json(root))
    return written


# --- one table ----------------------------------------------------------------------------------------

def _process_table(spark, contract: Contract, uris: list[str], run_id: str, args: dict,
                   corrected: set[str] = frozenset(), pseudonym_key: bytes | None = None
                   ) -> tuple[dict, list[CheckResult], silver_journal.TableSwap | None]:
    """Conform, protect the personal fields (with ``pseudonym_key``), merge, check and (when the accounting
    holds) stage one table and write its quarantine rows. Returns its counts, its checks and what the journal
    must swap (None when a check failed)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from lakehouse.bronze_silver import (
        CORRECTION, conform_tagged, merge_outcome, merge_versions, new_tombstones, read_bronze_lines, silver_rows,
        spark_schema, split_conformed, tagged_outcome, tombstone_schema, touched_partitions,
    )
    from lakehouse.bronze_silver.privacy import protect
    from lakehouse.silver_tables import silver_table

    spec = silver_table(contract.source, contract.entity)
    pcol = spec.partition_keys[0].name
    key = list(spec.primary_key)
    table_root = _join(args["silver_path"], spec.location)
    tomb_root = _join(args["silver_path"], silver_journal.TOMBSTONES, spec.location)
    level = StorageLevel.MEMORY_AND_DISK
    cached = []

    def keep(df):
        cached.append(df.persist(level))
        return df

    try:
        lines = read_bronze_lines(spark, uris)
        bronze_rows = lines.count()  # counted on its own: the accounting check must not trust conform
        # corrected objects (processed before at another version): their rows win ties with stored rows
        mine = sorted(rel for rel in corrected if rel.startswith(layout.entity_prefix(contract.source, contract.entity)))
        # one conform pass serves both outcomes
        tagged = keep(conform_tagged(lines, contract, run_id, keep=("bronze_file",) if mine else ()))
        conformed, quarantine = split_conformed(tagged)
        flags: tuple[str, ...] = ()
        if mine:
            conformed = (conformed.withColumn(CORRECTION, F.regexp_extract("bronze_file", layout.BRONZE_KEY_PATTERN, 1)
                                              .isin(*mine)).drop("bronze_file"))
            flags = (CORRECTION,)
        # nothing below sees a personal field in the clear
        valid = protect(conformed, contract, pseudonym_key, keep=flags)
        # one pass: outcomes, quarantine rules, warnings and the partitions of the new upserts
        outcome = tagged_outcome(tagged, contract, pcol)
        n_valid, n_quarantined, by_rule = outcome.valid, outcome.quarantined, outcome.by_rule

        existing = None
        if fs.exists(spark, table_root):
            existing = spark.read.schema(spark_schema(spec)).parquet(table_root)
        tombstones = None
        if fs.exists(spark, tomb_root):
            tombstones = spark.read.schema(tombstone_schema(spec)).parquet(tomb_root)
        parts = touched_partitions(valid, existing, spec, upserts=outcome.upsert_partitions)
        existing_rows = existing.where(F.col(pcol).isin(parts)) if existing is not None and parts else None
        unique = None
        if existing_rows is None and tombstones is None:
            # Nothing stored to merge with: when no two candidates share a key, every candidate wins (the
            # merge needs no ranking) and the rows written (candidates) have unique keys: that check's result.
            unique = check_unique(f"unique_key_{spec.name}", valid.select(*key), key)
        first_load = unique is not None and unique.passed
        ranked = merge_versions(valid, existing_rows, tombstones, spec, unique_keys=first_load)
        if not first_load:
            ranked = keep(ranked)  # ranked by a window: computed once
        merged, out_parts = merge_outcome(ranked, pcol)
        out = silver_rows(ranked, spec)
        emptied = [p for p in parts if p not in set(out_parts)]
        upserts = merged["new_upserts_applied"]
        deletes = merged["new_deletes_applied"]

        checks = [
            check_accounting(f"accounting_{spec.name}", bronze_rows,
                             silver_candidates=n_valid, quarantined=n_quarantined),
            check_accounting(f"versions_{spec.name}", n_valid, applied_upserts=upserts,
                             applied_deletes=deletes, superseded=merged["superseded"]),
            unique if first_load else check_unique(f"unique_key_{spec.name}", out, key),
        ]
        counts = {
            "files": len(uris), "bronze_rows": bronze_rows, "silver_candidates": n_valid,
            "quarantined": n_quarantined, "quarantined_by_rule": dict(sorted(by_rule.items())),
            "applied_upserts": upserts, "applied_deletes": deletes, "superseded": merged["superseded"],
            "existing_rows_replaced": merged["existing_replaced"], "existing_rows_deleted": merged["existing_deleted"],
            "existing_rows_unchanged": merged["existing_unchanged"], "silver_rows_written": merged["silver_rows"],
            "partitions_written": out_parts, "partitions_emptied": emptied,
            "warnings": outcome.warnings,
        }
        if not all(c.passed for c in checks):
            counts["written"] = False
            return counts, checks, None

        # Nothing is written into the table: its new partitions are staged, the run's journal swaps them in.
        write_quarantine(spark, quarantine if n_quarantined else None, contract, uris, args["quarantine_path"])
        staging = silver_journal.staging_root(args["silver_path"], run_id)
        swap = silver_journal.TableSwap(
            table=spec.name, root=table_root, staged=_join(staging, spec.location),
            emptied=[f"{pcol}={value}" for value in emptied],
            staged_tombstones=_join(staging, silver_journal.TOMBSTONES, spec.location),
            tombstone_dir=_join(tomb_root, f"run_id={run_id}"))
        if deletes:
            (new_tombstones(ranked, spec).coalesce(1).write.mode("overwrite")
             .parquet(swap.staged_tombstones))
            swap.tombstones = silver_journal.staged_files(spark, swap.staged_tombstones)
        if out_parts:
            (out.repartition(pcol).sortWithinPartitions(pcol, *key)
             .write.mode("overwrite")
             .option("partitionOverwriteMode", "static")
             .option("maxRecordsPerFile", MAX_RECORDS_PER_FILE)
             .partitionBy(pcol)
             .parquet(swap.staged))
            for value in out_parts:
                folder = f"{pcol}={value}"
                swap.partitions[folder] = silver_journal.staged_files(spark, _join(swap.staged, folder))
        counts["written"] = True
        return counts, checks, swap
    finally:
        for df in cached:
            df.unpersist()


# --- the run --------------------------------------------------------------------------------------------

def run(spark, args: dict) -> QualityReport | None:
    """One incremental run (the session configured by :func:`lakehouse.job.configure`); returns its report,
    or None when there was nothing new."""
    contracts = selected_contracts(args.get("entities", ""))
    # before anything else: finish the swap a crashed run left (its journal), so silver is whole again
    silver_journal.replay(spark, args["state_path"], JOB_NAME)
    listed = list_bronze(args["bronze_path"], contracts)
    manifest = load_manifest(args["state_path"])
    versions = manifest.changed({rel: version for rel, (_uri, version) in listed.items()})
    if not versions:
        run_log.log("no new bronze objects", message=f"no new bronze objects ({len(listed)} listed, all processed): "
                    f"nothing to do", listed=len(listed))
        return None
    run_id = args.get("run_id") or derive_run_id(f"{rel}@{version}" for rel, version in versions.items())
    if not _RUN_ID.match(run_id):
        raise SystemExit(f"--run_id {run_id!r}: use letters, digits, '.', '_' and '-'")
    run_log.bind(run_id=run_id)  # every later line, and the run summary, carry the silver_run_id
    new = {rel: listed[rel][0] for rel in versions}
    corrected = manifest.corrections(new)
    if corrected:
        run_log.log("bronze objects corrected", message=f"{len(corrected)} bronze objects changed since they were "
                    f"processed: processed again, their rows replace the versions they held", corrected=len(corrected))

    report = QualityReport(job=JOB_NAME, run_id=run_id)
    staging = silver_journal.staging_root(args["silver_path"], run_id)
    fs.delete(spark, staging)  # what an earlier attempt of the same run staged (same objects: same result)
    work = []
    for c in contracts:
        prefix = layout.entity_prefix(c.source, c.entity)
        uris = [new[rel] for rel in sorted(new) if rel.startswith(prefix)]
        if uris:
            work.append((c, uris))
    pseudonym_key = None
    personal = [c.name for c, _ in work if c.personal]
    if personal:
        if not args.get("pseudonymization_secret"):
            raise SystemExit(f"--pseudonymization_secret: needed to store the personal fields of "
                             f"{', '.join(personal)} (the ARN of the pseudonymization key's secret)")
        pseudonym_key = load_key(args["pseudonymization_secret"])
    # Tables are independent: run them side by side (Spark schedules the jobs of several threads), so a
    # small table's short stages fill the cores a large table leaves idle. Results keep registry order.
    with ThreadPoolExecutor(max_workers=TABLES_IN_PARALLEL, thread_name_prefix="table") as pool:
        futures = [pool.submit(_process_table, spark, c, uris, run_id, args, corrected, pseudonym_key)
                   for c, uris in work]
        outcomes = [f.result() for f in futures]
    tables: dict[str, dict] = {}
    swaps = []
    for (c, _), (counts, checks, swap) in zip(work, outcomes):
        tables[f"{c.source}_{c.entity}"] = counts
        swaps.append(swap)
        for check in checks:
            report.add(check)

    totals = {k: sum(t[k] for t in tables.values())
              for k in ("files", "bronze_rows", "silver_candidates", "quarantined", "applied_upserts",
                        "applied_deletes", "superseded", "silver_rows_written")}
    report.add(check_accounting("accounting_total", totals["bronze_rows"],
                                silver_candidates=totals["silver_candidates"], quarantined=totals["quarantined"]))
    report.add(CheckResult("all_tables_written", all(t["written"] for t in tables.values()),
                           ", ".join(f"{name} {'written' if t['written'] else 'NOT written'}"
                                     for name, t in tables.items()),
                           {"not_written": [name for name, t in tables.items() if not t["written"]]}))
    report.counts = {"new_files": len(new), "listed_files": len(listed), "totals": totals, "tables": tables}
    write_text(spark, report_path(args["reports_path"], JOB_NAME, run_id), report.to_json())
    report.log()
    report.gate()  # raises QualityGateFailed: silver untouched, the next run retries these files
    faults.point("silver_after_staging")

    journal = silver_journal.Journal(
        uri=silver_journal.journal_uri(args["state_path"]), job=JOB_NAME, run_id=run_id, staging=staging,
        manifest_uri=manifest.uri, objects=dict(sorted(versions.items())),
        run={"run_id": run_id, "files": len(new), "corrected_files": len(corrected),
             "bronze_rows": totals["bronze_rows"], "quarantined": totals["quarantined"], "tables": sorted(tables)},
        tables=[s for s in swaps if s is not None], runs_kept=RUNS_KEPT)
    try:
        silver_journal.create(journal)  # at most one run swaps at a time
    except ConcurrentUpdate as exc:
        fs.delete(spark, staging)
        raise ConcurrentRun(f"[{JOB_NAME}] {exc}: another run is publishing; nothing of this run was published, "
                            f"run the job again once it has finished") from None
    current = objects.get(manifest.uri)
    if (current.etag if current else None) != manifest.etag:  # another run committed since this one read it
        objects.delete(journal.uri)
        fs.delete(spark, staging)
        raise ConcurrentRun(f"[{JOB_NAME}] {manifest.uri} changed while this run computed (another run committed): "
                            f"nothing of this run was published, run the job again")
    faults.point("silver_after_journal")
    silver_journal.apply(spark, journal)
    run_log.log("silver written", message=f"{len(new)} bronze objects, {totals['bronze_rows']} rows: "
                f"{totals['silver_candidates']} into silver, {totals['quarantined']} quarantined",
                tables=sorted(tables), files=len(new))
    return report


def run_counts(report: QualityReport | None) -> dict[str, int]:
    """The run's record counts (:data:`data_contracts.metrics.RECORD_COUNTS`), from its report: the bronze
    lines read; the rows accepted into silver (each applied, superseded by a later version, or a delete
    applied); the rows a silver rule quarantined (kept in the silver quarantine with their ``event_id`` and
    ``silver_run_id``); none failed (a run that fails, fails whole). Zeros for a run with nothing new."""
    totals = report.counts["totals"] if report is not None else {}
    return {RECORDS_IN: totals.get("bronze_rows", 0), RECORDS_OUT: totals.get("silver_candidates", 0),
            RECORDS_QUARANTINED: totals.get("quarantined", 0), RECORDS_FAILED: 0}


def main(argv: list[str] | None = None) -> int:
    run_entrypoint(run, CONTRACT, argv, counts=run_counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
