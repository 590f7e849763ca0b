"""`make demo`: run the platform locally end to end and print what happened.

Steps (each timed): start the local services, synthesize, deploy the local stack with Terraform,
generate an insurer data set with bad records, split it as a company would feed it (customers and
installments as historical ERP exports, everything else as events), send the events through Kinesis
(the deployed event source mapping invokes the deployed Lambda), except the events of the Kafka-fed sources
(``--kafka-sources``, the ERP by default): those are produced to the local Kafka broker's ingest topic, where the
local MSK event source mapping (:mod:`local_runtime.services.msk_mapping`, in the background, its settings from
the deployed stack) hands them to the deployed MSK ingest function; drop unstructured documents into
bronze, wait until every record of both paths is accounted for (counted per path, with both quarantines); then the batch lakehouse: the EMR backfill steps
turn the exports into bronze, the three jobs of the Glue workflow run from the job definitions Terraform
deployed: bronze -> silver and silver -> gold with local Spark, then the warehouse load, which loads the
published gold copy into the warehouse (PostgreSQL standing in for Redshift, :mod:`warehouse.load`; the local
connection given as the run's arguments); the summary shows per-layer counts, the data-quality reports and
the top rows of the KPI tables; then serving: the dashboard's KPI tables are printed from the warehouse and
the dashboard page is written (``build/dashboard.html``); last, the platform's health per layer as ``make status``
prints it (the deployed alarms' states, each component's counts, errors and lag). The platform stays up
afterwards (``make down`` stops it).

Where things are comes from their one definition: object keys from :mod:`data_contracts.layout`, the
tables from the silver and gold table specs, the silver quarantine from the bronze->silver job
(``SILVER_QUARANTINE``), the reports from :mod:`lakehouse.quality`; the SQL (KPIs, silver and gold row
counts, all through Athena) from ``queries/``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import queries
from data_contracts import layout
from data_contracts.contracts import REGISTRY
from local_runtime import stacks
from local_runtime.aws import client
from local_runtime.lake import (bucket, count_lines, iter_jsonl, landed, produce_records, put_records, quality_reports,
                                row_counts, run_query, wait_for)
from local_runtime.paths import ROOT
from local_runtime.services import ensure_emulator
from local_runtime.services.kafka import KafkaBroker
from local_runtime.services.metrics import MetricsForwarder
from local_runtime.services.msk_mapping import MskMapping
from local_runtime.services.postgres import PostgresServer
from local_runtime.warehouse_local import load_local_warehouse

STEPS: list[tuple[str, float]] = []
# Entities fed as historical ERP exports (EMR backfill) rather than as events: (entity, export format).
HISTORICAL = {"customer": "jsonl", "premium_installment": "csv"}
DOCUMENT_SOURCE = "erp"
KAFKA_SOURCES = ("erp",)  # sources whose events go through Kafka (MSK) by default; the rest through Kinesis
PRODUCER_HEADERS = [("producer", b"lakeforge-demo")]
KPI_QUERIES = ("kpi_loss_ratio_top", "kpi_market_share_top")  # queries/<name>.sql


@contextmanager
def step(name: str):
    print(f"\n==> {name}", flush=True)
    start = time.monotonic()
    yield
    seconds = time.monotonic() - start
    STEPS.append((name, seconds))
    print(f"    done in {seconds:.1f}s", flush=True)


def _is_historical(record) -> bool:
    return record.expected_reason is None and record.source == "erp" and record.entity in HISTORICAL


def stream_phase(args, out, endpoint, mapping: MskMapping | None) -> bool:
    from sample_data import expected_counts, generate, generate_documents, write_export

    with step(f"generate {args.records} records ({args.bad_share:.0%} bad) and {args.documents} documents"):
        records = generate(args.records, seed=args.seed, bad_share=args.bad_share)
        events = [r for r in records if not _is_historical(r)]
        kafka_fed = set(args.kafka_sources) if mapping is not None else set()
        via_kafka = [r for r in events if r.source in kafka_fed]
        via_kinesis = [r for r in events if r.source not in kafka_fed]
        expected = {"kinesis": expected_counts(via_kinesis), "msk": expected_counts(via_kafka)}
        documents = generate_documents(args.documents, seed=args.seed)
    s3 = client("s3", endpoint)
    with step("write the historical ERP exports into the bronze landing zone"):
        exports = []
        with tempfile.TemporaryDirectory() as tmp:
            for entity, fmt in HISTORICAL.items():
                name = f"{entity}_2026-11-01.{'csv' if fmt == 'csv' else 'jsonl'}"
                rows = write_export(records, Path(tmp) / name, fmt, entity=entity)
                key = layout.landing_prefix(entity) + name
                s3.upload_file(str(Path(tmp) / name), out["bronze_bucket"], key)
                exports.append({"entity": entity, "file": name, "rows": rows})
                print(f"    s3://{out['bronze_bucket']}/{key}: {rows} rows")
    with step("send the events through Kinesis (PutRecords)"):
        sequence_numbers = put_records(client("kinesis", endpoint), out["ingest_stream_name"],
                                       ((r.payload, r.partition_key) for r in via_kinesis))
        print(f"    sent {len(sequence_numbers)} records")
    positions, ends = [], {}
    if via_kafka:
        with step(f"produce the {'/'.join(sorted(kafka_fed))} events to Kafka (the MSK stand-in)"):
            positions, ends = produce_records(out["ingest_bootstrap_servers"], out["ingest_topic"],
                                              ((r.payload, r.partition_key) for r in via_kafka), PRODUCER_HEADERS)
            print(f"    produced {len(positions)} records to {out['ingest_topic']} at "
                  f"{out['ingest_bootstrap_servers']}; end offsets {dict(sorted(ends.items()))}")
    with step("drop unstructured documents into bronze"):
        for suffix, body, content_type in documents:
            s3.put_object(Bucket=out["bronze_bucket"], Key=layout.document_key(DOCUMENT_SOURCE, suffix),
                          Body=body, ContentType=content_type)
        print(f"    {len(documents)} files under "
              f"s3://{out['bronze_bucket']}/{layout.document_prefix(DOCUMENT_SOURCE)}")
    wanted, wanted_positions = set(sequence_numbers), set(positions)
    total = len(wanted) + len(wanted_positions)
    with step("wait until every record has landed (Kinesis -> Lambda -> S3, Kafka -> MSK poller -> Lambda -> S3)"):
        def progress(counts, elapsed):
            lag = (mapping.health() or {}).get("total_lag") if mapping is not None else None
            print(f"    {elapsed:5.0f}s  bronze {sum(counts.bronze.values()):6d}  "
                  f"quarantine {sum(counts.quarantine.values()):5d}  of {total}"
                  + (f"  (Kafka lag {lag})" if via_kafka else ""), flush=True)
        counts = wait_for(total, lambda: landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"],
                                                wanted, wanted_positions), timeout=args.timeout, progress=progress)
    status = mapping.health() if via_kafka and mapping is not None else None

    sent = {"kinesis": len(wanted), "msk": len(wanted_positions)}
    good = {path: Counter(e["valid"]) for path, e in expected.items()}
    bad = {path: Counter(e["bad"]) for path, e in expected.items()}
    good_expected, bad_expected = good["kinesis"] + good["msk"], bad["kinesis"] + bad["msk"]
    print("\n---------------- streaming ingestion ----------------")
    print(f"records sent                 {total:8d}   (Kinesis {sent['kinesis']}, Kafka {sent['msk']})")
    for path, label in (("kinesis", "Kinesis"), ("msk", "Kafka (MSK)")):
        print(f"    via {label:24} bronze {counts.bronze_by_path[path]:6d} (expected {sum(good[path].values())})"
              f"  quarantine {counts.quarantine_by_path[path]:5d} (expected {sum(bad[path].values())})")
    print(f"landed in bronze             {sum(counts.bronze.values()):8d}   (expected {sum(good_expected.values())})")
    for (source, entity), n in sorted(counts.bronze.items()):
        print(f"    {source}.{entity:28} {n:8d}")
    print(f"quarantined                  {sum(counts.quarantine.values()):8d}   (expected {sum(bad_expected.values())})")
    for reason, n in sorted(counts.quarantine.items()):
        print(f"    {reason:32} {n:8d}   (expected {bad_expected.get(reason, 0)})")
    print(f"duplicates                   {counts.duplicates:8d}")
    print(f"unaccounted                  {total - counts.total:8d}")
    caught_up = True
    if status is not None:
        parts = status.get("partitions", {})
        print(f"Kafka mapping (group {status.get('group')}): committed / end offset per partition:")
        for p in sorted(parts, key=int):
            print(f"    partition {p}: {parts[p]['committed']} / {parts[p]['end']}  (lag {parts[p]['lag']})")
        caught_up = all(parts.get(str(p), {}).get("committed", -1) >= end for p, end in ends.items())
    args.exports = exports
    per_path = all(counts.bronze_by_path[path] == sum(good[path].values())
                   and counts.quarantine_by_path[path] == sum(bad[path].values()) for path in good)
    return (counts.total == total and counts.duplicates == 0 and per_path and caught_up
            and +counts.quarantine == +bad_expected and +counts.bronze == +good_expected)


def batch_phase(args, out, endpoint) -> bool:
    from emr_steps.steps import render_steps
    from glue_jobs.bronze_to_silver import SILVER_QUARANTINE
    from local_runtime.batch import JobHost, run_emr_steps, run_glue_job

    # one warm local Spark for the run's jobs (each still fetched and argued from its deployed definition)
    with JobHost(endpoint) as host:
        with step("EMR historical backfill: exports -> bronze (the EMR steps, local Spark)"):
            steps = render_steps(out["bronze_bucket"], out["artifacts_bucket"],
                                 exports=[{"entity": e["entity"], "file": e["file"]} for e in args.exports])
            for result in run_emr_steps(steps, endpoint, stream=args.verbose, host=host):
                print(f"    {result.name}: exit {result.returncode} in {result.seconds:.1f}s")
        with step("Glue job bronze -> silver (definition from the Glue API, local Spark)"):
            run_glue_job(out["glue_job_bronze_to_silver"], endpoint, host=host)
        with step("Glue job silver -> gold (data-quality gate before writing)"):
            run_glue_job(out["glue_job_silver_to_gold"], endpoint, host=host)
        with step("Glue job warehouse load (published gold -> PostgreSQL for Redshift)"):
            loaded = load_local_warehouse(endpoint, out, log=lambda line: print(f"    {line}"), host=host)
        print(f"    (local Spark started {host.starts} time(s) for {len(steps) + 3} jobs)")

    print("\n---------------- batch lakehouse ----------------")
    print("bronze (JSON lines):")
    for source, entity in sorted(REGISTRY):
        lines = count_lines(endpoint, out["bronze_bucket"], layout.entity_prefix(source, entity))
        print(f"    {source + '.' + entity:34} {lines:8d}")
    print("silver (Parquet, one row per business key; rows counted through Athena):")
    for table, rows in row_counts(endpoint, out, "silver").items():
        print(f"    {table:34} {rows:8d}")
    quarantined = Counter(line["rule"] for _k, line in
                          iter_jsonl(endpoint, bucket(out, SILVER_QUARANTINE), SILVER_QUARANTINE.prefix))
    print(f"silver quarantine (by rule)        {sum(quarantined.values()):8d}")
    for rule, n in sorted(quarantined.items()):
        print(f"    {rule:34} {n:8d}")
    print("gold (Parquet star schema; rows counted through Athena):")
    for table, rows in row_counts(endpoint, out, "gold").items():
        print(f"    {table:34} {rows:8d}")
    passed = True
    print("data-quality reports:")
    for job in ("bronze_to_silver", "silver_to_gold"):
        for report in quality_reports(endpoint, out, job)[-1:]:
            failed = [c["name"] for c in report["checks"] if not c["passed"]]
            passed &= report["passed"]
            print(f"    {job:18} run {report['run_id']}: {'PASSED' if report['passed'] else 'FAILED'}, "
                  f"{len(report['checks'])} checks{', failed: ' + ', '.join(failed) if failed else ''}")
    _print_kpis(out, endpoint)
    passed &= _serving(loaded)
    return passed


def _print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    if not rows:
        print("    (no rows)")
        return
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in rows[0]}
    print("    " + "  ".join(k.rjust(w) for k, w in widths.items()))
    for r in rows:
        print("    " + "  ".join(str(r[k]).rjust(w) for k, w in widths.items()))


def _serving(loaded) -> bool:
    """The warehouse's rows against gold's, the dashboard's KPI tables from the warehouse, and the page."""
    from dashboard.views import VIEWS
    from local_runtime.dashboard import warehouse_kpis, write_dashboard
    from queries import kpi as kpis

    print("\n---------------- warehouse and serving ----------------")
    print(f"warehouse (PostgreSQL standing in for Redshift): generation {loaded.generation}, rows per table:")
    for table, rows in loaded.counts.items():
        print(f"    {table:34} {rows:8d}")
    rows = warehouse_kpis()
    for view in VIEWS:
        _print_table(f"KPI from the warehouse: {kpis.get(view.kpi).query.title}", rows[view.kpi])
    page = write_dashboard(rows=rows)
    print(f"\ndashboard (self-contained, opens offline): {page}")
    return all(rows.values())


def _print_kpis(out, endpoint) -> None:
    """The KPI tables queried through Athena (the project's own fixed SQL, over the Glue catalog)."""
    for name in KPI_QUERIES:
        query = queries.get(name)
        rows = run_query(endpoint, out, query)
        _print_table(f"KPI via Athena: {query.title}", rows)


def api_phase(out, endpoint) -> bool:
    """The deployed query API called over plain HTTP: refused without the token, one KPI page with it, and the
    example call a user can paste (it reads the token from Secrets Manager: no secret is printed)."""
    from environments import load_environment
    from local_runtime import query_api

    config = load_environment("local")
    api_id = out["api_id"]
    print("\n---------------- query API ----------------")
    print(f"API (through the emulator, plain HTTP): {query_api.base_url(endpoint, api_id)}")
    anonymous, _ = query_api.get(endpoint, api_id, "/kpis")
    status, body = query_api.get(endpoint, api_id, query_api.EXAMPLE_PATH, query_api.token(endpoint, config))
    rows = body.get("rows", []) if isinstance(body, dict) else []
    print(f"    GET /kpis without a token: {anonymous}")
    print(f"    GET {query_api.EXAMPLE_PATH} with the token: {status}, {len(rows)} rows")
    print("example call (paste it):")
    print(f"    {query_api.example_call(config, out, endpoint)}")
    return anonymous == 401 and status == 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000, help="records to generate (default 5000)")
    parser.add_argument("--bad-share", type=float, default=0.05, help="share of bad records (default 0.05)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--documents", type=int, default=20, help="unstructured files dropped into bronze")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--kafka-sources", nargs="*", default=list(KAFKA_SOURCES),
                        help="sources whose events are produced to Kafka (MSK path) instead of Kinesis (default: erp; "
                             "none: everything through Kinesis)")
    parser.add_argument("--skip-batch", action="store_true", help="streaming ingestion only")
    parser.add_argument("--verbose", action="store_true", help="stream the Spark jobs' output")
    args = parser.parse_args(argv)

    with step("local services (make up)"):
        emulator = ensure_emulator()
        print(f"    AWS emulator at {emulator.endpoint}")
        warehouse = PostgresServer()
        warehouse.start()
        print(f"    PostgreSQL (Redshift stand-in) at {warehouse.connection()['host']}:{warehouse.connection()['port']}")
        broker = KafkaBroker()
        broker.start()
        print(f"    Kafka (MSK stand-in) at {broker.bootstrap_servers}")
    with step("synthesize stacks (cdktf; nothing to do when no source changed)"):
        subprocess.run([sys.executable, "-m", "bundling.synth"], cwd=ROOT, check=True)
    with step("deploy the local stack (terraform apply)"):
        out = stacks.deploy_local()
        for name in ("bronze_bucket", "quarantine_bucket", "ingest_stream_name", "ingest_function_name",
                     "ingest_bootstrap_servers", "ingest_topic", "msk_ingest_function_name",
                     "glue_job_bronze_to_silver", "glue_job_silver_to_gold", "glue_job_warehouse_load"):
            print(f"    {name:26} {out.get(name)}")
    mapping = None
    if out.get("msk_ingest_mapping"):
        with step("start the local MSK event source mapping (background poller; make down stops it)"):
            mapping = MskMapping(emulator.endpoint, broker, outputs=out)
            mapping.stop()  # a poller of an earlier deploy holds that deploy's settings: start it afresh
            mapping.start()
            print(f"    PID {mapping.started_pid()}: {out['msk_ingest_mapping']}")
            print(f"    status (lag per partition): {mapping.status_file}; log: {mapping.log}")
    metrics = MetricsForwarder(emulator.endpoint)
    metrics.start()  # the EMF lines of the deployed functions become metrics as they are logged (make down stops it)
    ok = stream_phase(args, out, emulator.endpoint, mapping)
    if not args.skip_batch:
        ok &= batch_phase(args, out, emulator.endpoint)
        if out.get("api_id"):  # the API answers from gold: after the batch
            ok &= api_phase(out, emulator.endpoint)
    if out.get("monitored_components"):
        with step("monitoring: the platform's health (make status)"):
            from local_runtime import status

            print("    " + status.render(status.collect(emulator.endpoint, out)).replace("\n", "\n    "))
    print("\ntime per step:")
    for name, seconds in STEPS:
        print(f"    {name:74} {seconds:6.1f}s")
    print(f"    {'total':74} {sum(s for _, s in STEPS):6.1f}s")
    print("result: " + ("OK, every record accounted for" if ok else "MISMATCH (see above)"))
    print("The platform keeps running: explore with `make outputs`; stop it with `make down`.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
