"""The batch lakehouse end to end on the emulator: EMR backfill + streaming into one bronze, Glue
bronze -> silver -> gold run from the deployed job definitions with local Spark, and gold checked
against figures computed independently (tests/e2e/expected_gold.py) from the generator's records.

Object keys come from data_contracts.layout, tables from the silver/gold table specs, and the SQL
(row counts, KPIs) from queries/, the same the demo runs."""
from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

import queries
from data_contracts import layout
from data_contracts.contracts import REGISTRY
from emr_steps.steps import render_steps
from glue_jobs.bronze_to_silver import SILVER_QUARANTINE
from lakehouse.gold_tables import GOLD_TABLES
from lakehouse.silver_tables import silver_table
from local_runtime.aws import client
from local_runtime.batch import JobHost, run_emr_steps, run_glue_job
from local_runtime.lake import (bucket, count_lines, iter_jsonl, landed, object_keys, put_records, quality_reports,
                                read_parquet, row_counts, run_query, wait_for)
from sample_data import export_rows, generate, write_export
from tests.e2e.expected_gold import expected_kpis, live_rows

pytestmark = pytest.mark.e2e

HISTORICAL = {"customer": "jsonl", "premium_installment": "csv"}
# Installment rows that break one silver rule each: (CSV row, the rule expected in quarantine).
RULE_BREAKERS = [
    ("INS-9999999991-01,POL-9999999991,1,2025-03-10,0.00,,open", "rule_amount_positive"),
    ("INS-9999999992-01,POL-9999999992,1,2025-02-30,10.00,,open", "rule_contract_type"),
    ("INS-9999999993-01,POL-9999999993,1,2025-03-10,10.00,,paid", "rule_paid_installment_has_paid_date"),
    ("INS-9999999994-01,,1,2025-03-10,10.00,,open", "rule_required_field"),
]


@pytest.fixture(scope="module")
def dataset():
    return generate(1500, seed=31)


def _is_historical(record) -> bool:
    return record.is_valid and record.source == "erp" and record.entity in HISTORICAL


def _run_batch(endpoint, out, host=None):
    run_glue_job(out["glue_job_bronze_to_silver"], endpoint, stream=False, host=host)
    run_glue_job(out["glue_job_silver_to_gold"], endpoint, stream=False, host=host)


def _gold(endpoint, out) -> dict:
    """Every gold table from where the catalog says it is published (the run's copy the job switched to)."""
    glue = client("glue", endpoint)
    frames = {}
    for table in GOLD_TABLES:
        location = glue.get_table(DatabaseName=out["glue_database_gold"],
                                  Name=table.name)["Table"]["StorageDescriptor"]["Location"]
        assert "/runs/g" in location, location
        df = read_parquet(endpoint, location)
        df = df.astype({c: "string" for c in df.columns})
        frames[table.name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return frames


@pytest.fixture(scope="module")
def host(emulator):
    """One warm local Spark for the module's jobs (the EMR steps, the Glue jobs), as the demo runs them."""
    with JobHost(emulator.endpoint) as spark_host:
        yield spark_host


@pytest.fixture(scope="module")
def lake(deployed, emulator, aws, dataset, tmp_path_factory, host):
    out, endpoint, s3 = deployed["outputs"], emulator.endpoint, aws("s3")
    tmp = tmp_path_factory.mktemp("exports")
    exports = []
    for entity, fmt in HISTORICAL.items():
        name = f"{entity}_2026-10-01.{fmt}"
        write_export(dataset, tmp / name, fmt, entity=entity)
        if entity == "premium_installment":
            with open(tmp / name, "a", encoding="utf-8") as fh:
                fh.write("".join(row + "\n" for row, _rule in RULE_BREAKERS))
        s3.upload_file(str(tmp / name), out["bronze_bucket"], layout.landing_prefix(entity) + name)
        exports.append({"entity": entity, "file": name})
    events = [r for r in dataset if not _is_historical(r)]
    seqs = set(put_records(aws("kinesis"), out["ingest_stream_name"], [(r.payload, r.partition_key) for r in events]))
    counts = wait_for(len(seqs), lambda: landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs),
                      timeout=240)
    assert counts.total == len(events) and counts.duplicates == 0
    run_emr_steps(render_steps(out["bronze_bucket"], out["artifacts_bucket"], exports=exports), endpoint,
                  stream=False, host=host)
    _run_batch(endpoint, out, host)
    assert host.starts == 1  # the steps and the jobs shared one driver
    return {"out": out, "endpoint": endpoint, "events": events, "gold": _gold(endpoint, out), "host": host,
            "exports": {e["entity"]: e["file"] for e in exports}}


def test_backfill_lands_in_the_same_bronze_layout(lake, dataset):
    out, endpoint = lake["out"], lake["endpoint"]
    for entity in HISTORICAL:
        exported = len(export_rows(dataset, entity)) + (len(RULE_BREAKERS) if entity == "premium_installment" else 0)
        export_id = Path(lake["exports"][entity]).stem
        keys = object_keys(endpoint, out["bronze_bucket"], layout.entity_prefix("erp", entity))
        parsed = [layout.parse_bronze_key(k) for k in keys]
        assert keys and all(p is not None and p.name.startswith(layout.backfill_object_prefix(export_id))
                            for p in parsed), keys
        assert count_lines(endpoint, out["bronze_bucket"], layout.entity_prefix("erp", entity)) == exported


def test_every_bronze_row_is_accounted_for(lake):
    reports = quality_reports(lake["endpoint"], lake["out"], "bronze_to_silver")
    assert len(reports) == 1 and reports[0]["passed"]
    checks = {c["name"]: c for c in reports[0]["checks"]}
    total = checks["accounting_total"]["observed"]
    streamed_valid = sum(1 for r in lake["events"] if r.is_valid)
    backfilled = sum(count_lines(lake["endpoint"], lake["out"]["bronze_bucket"], layout.entity_prefix("erp", e))
                     for e in HISTORICAL)
    assert total["input"] == streamed_valid + backfilled
    assert total["input"] == total["silver_candidates"] + total["quarantined"]
    assert total["quarantined"] == len(RULE_BREAKERS)


def test_a_row_failing_each_rule_is_quarantined_with_the_rule_name(lake):
    out = lake["out"]
    rules = Counter()
    for _key, row in iter_jsonl(lake["endpoint"], bucket(out, SILVER_QUARANTINE), SILVER_QUARANTINE.prefix):
        assert row["error"] and row["line"]
        rules[row["rule"]] += 1
    assert rules == Counter(rule for _row, rule in RULE_BREAKERS)


def test_silver_holds_one_row_per_live_business_key(lake, dataset):
    """Counted through Athena (queries/row_counts.sql over the silver catalog), as the demo counts them."""
    live = live_rows(r.payload for r in dataset if r.is_valid)
    counts = row_counts(lake["endpoint"], lake["out"], "silver")
    for source, entity in sorted(REGISTRY):
        assert counts[silver_table(source, entity).name] == len(live[(source, entity)]), f"{source}.{entity}"


def test_gold_kpis_match_an_independent_computation(lake, dataset):
    expected = expected_kpis(r.payload for r in dataset if r.is_valid)
    gold = lake["gold"]
    loss = {(r.month, r.line_of_business, r.state): r for r in gold["kpi_loss_ratio"].itertuples()}
    assert expected["loss_ratio"], "the data set must produce loss ratios"
    for cell, (earned, incurred, ratio) in expected["loss_ratio"].items():
        row = loss[cell]
        assert (Decimal(row.premiums_earned), Decimal(row.claims_incurred), Decimal(row.loss_ratio)) == \
            (earned, incurred, ratio), cell
    assert sum(Decimal(v) for v in gold["kpi_loss_ratio"]["premiums_earned"]) == expected["earned_total"]
    assert sum(Decimal(v) for v in gold["kpi_loss_ratio"]["claims_incurred"]) == expected["incurred_total"]
    share = {(r.month, r.line_of_business, r.state): r for r in gold["kpi_market_share"].itertuples()}
    assert expected["market_share"], "the data set must produce market shares"
    for cell, (company, market, ratio) in expected["market_share"].items():
        row = share[cell]
        assert (Decimal(row.company_premiums_written), Decimal(row.market_premiums_written),
                Decimal(row.market_share)) == (company, market, ratio), cell


def test_gold_is_queryable_through_athena(lake):
    """The catalog declares gold with partition projection: Athena (DuckDB in the emulator) reads it, no crawler."""
    counts = row_counts(lake["endpoint"], lake["out"], "gold")  # every table of the gold specs
    for table, n in counts.items():
        assert n == len(lake["gold"][table]), table


@pytest.mark.parametrize("name, kpi, ranked_by, value_columns", [
    ("kpi_loss_ratio_top", "loss_ratio", "claims_incurred", ("premiums_earned", "claims_incurred", "loss_ratio")),
    ("kpi_market_share_top", "market_share", "company_premiums_written",
     ("company_premiums_written", "market_premiums_written", "market_share")),
])
def test_kpi_queries_agree_with_the_independent_computation(lake, dataset, name, kpi, ranked_by, value_columns):
    """The demo's KPI queries (queries/*.sql) through Athena: top 10 rows, each equal to the expected cell."""
    expected = expected_kpis(r.payload for r in dataset if r.is_valid)[kpi]
    rows = run_query(lake["endpoint"], lake["out"], queries.get(name))
    assert len(rows) == min(10, len(expected))
    ranking = [Decimal(r[ranked_by]) for r in rows]
    assert ranking == sorted(ranking, reverse=True)
    for row in rows:
        cell = (row["month"], row["line_of_business"], row["state"])
        assert tuple(Decimal(row[c]) for c in value_columns) == expected[cell], cell


def test_rerun_gives_identical_gold(lake):
    _run_batch(lake["endpoint"], lake["out"], lake["host"])
    again = _gold(lake["endpoint"], lake["out"])
    for table in GOLD_TABLES:
        assert again[table.name].equals(lake["gold"][table.name]), table.name


@pytest.fixture(scope="module")
def warehouse(lake):
    """The published gold of ``lake`` loaded into a throw-away PostgreSQL (the Redshift stand-in)."""
    from local_runtime.services.base import free_port
    from local_runtime.services.postgres import PostgresServer, remove_data
    from local_runtime.warehouse_local import load_local_warehouse

    port = free_port()
    server = PostgresServer(port)
    try:
        loaded = load_local_warehouse(lake["endpoint"], lake["out"], server=server, log=lambda line: None,
                                      host=lake["host"])
        yield {"server": server, "loaded": loaded}
    finally:
        server.stop()
        remove_data(port)


def _filter_sets(expected_cells: list[dict]) -> list[dict]:
    """No filter, then a month range, a line, a state and all three, taken from the data (so each selects rows)."""
    months = sorted({r["month"] for r in expected_cells})
    lines = Counter(r["line_of_business"] for r in expected_cells).most_common()
    states = Counter(r["state"] for r in expected_cells).most_common()
    window = {"month_from": months[len(months) // 4], "month_to": months[3 * len(months) // 4]}
    return [{}, window, {"line_of_business": lines[0][0]}, {"state": states[0][0]},
            {**window, "line_of_business": lines[1][0], "state": states[1][0]}]


def test_every_kpi_gives_one_answer_everywhere(lake, dataset, warehouse):
    """For every KPI and filters: Athena (the emulator's DuckDB, through the query function's own Athena run),
    the warehouse (PostgreSQL loaded from the published gold), the deployed query API (over HTTP, page by page)
    and an independent computation from the generator's records agree exactly, row for row."""
    import urllib.parse

    from data_contracts.reference import COMPANY_INSURER_CODE
    from environments import load_environment
    from lambda_src.query_api import athena as query_athena
    from local_runtime import query_api
    from lambda_src.query_api.config import EMULATOR_PREPARE, Settings
    from queries import kpi as kpis
    from tests.e2e.expected_gold import expected_kpi_rows
    from warehouse.connection import connect
    from warehouse.kpis import kpi_rows

    out, endpoint = lake["out"], lake["endpoint"]
    payloads = [r.payload for r in dataset if r.is_valid]
    assert warehouse["loaded"].counts == {t: len(df) for t, df in lake["gold"].items()}
    settings = Settings(out["athena_workgroup"], out["glue_database_gold"], 25, EMULATOR_PREPARE)
    athena = client("athena", endpoint)
    filter_sets = _filter_sets(expected_kpi_rows(payloads, COMPANY_INSURER_CODE)["loss_ratio"])
    bearer = query_api.token(endpoint, load_environment("local"))

    def from_api(name: str, filters: dict) -> list[dict]:
        rows, page_token = [], None
        while True:
            query = dict(filters, limit="1000") | ({"page_token": page_token} if page_token else {})
            status, page = query_api.get(endpoint, out["api_id"], f"/kpis/{name}?{urllib.parse.urlencode(query)}",
                                         bearer)
            assert status == 200, page
            rows += page["rows"]
            page_token = page["next_page_token"]
            if not page_token:
                return rows

    checked = 0
    with connect(warehouse["server"].settings()) as wh:
        for filters in filter_sets:
            want = expected_kpi_rows(payloads, COMPANY_INSURER_CODE, filters)
            for kpi in kpis.kpis():
                from_athena = kpis.all_rows(kpi, filters, lambda values: kpis.normalise(
                    kpi, query_athena.run(athena, settings, kpi, values)))
                from_warehouse = kpi_rows(wh, kpi.name, filters)
                assert from_athena == from_warehouse == want[kpi.name], (kpi.name, filters)
                assert from_api(kpi.name, filters) == want[kpi.name], (kpi.name, filters)
                checked += len(want[kpi.name])
    assert checked > 0


def test_late_and_duplicated_records_land_correctly(lake, dataset, aws):
    out, endpoint = lake["out"], lake["endpoint"]
    policies = [r for r in dataset if r.is_valid and r.entity == "policy"]
    duplicate = policies[-1]                                 # the same event again (producer retry)
    late_env = json.loads(policies[0].payload)               # an older version arriving after the newer ones
    late_env["event_time"] = "2001-01-01T00:00:00Z"
    late_env["event_id"] = "00000000-0000-4000-8000-000000000001"
    late_env["data"]["annual_premium"] = 1.0
    late = json.dumps(late_env).encode()
    seqs = set(put_records(aws("kinesis"), out["ingest_stream_name"],
                           [(duplicate.payload, duplicate.partition_key), (late, "late")]))
    wait_for(2, lambda: landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs), timeout=120)
    _run_batch(endpoint, out, lake["host"])
    policy_df = read_parquet(endpoint, f"s3://{out['silver_bucket']}/{silver_table('erp', 'policy').location}")
    assert policy_df["policy_id"].is_unique
    live = live_rows(r.payload for r in dataset if r.is_valid)[("erp", "policy")]
    assert len(policy_df) == len(live)
    row = policy_df[policy_df["policy_id"] == late_env["data"]["policy_id"]].iloc[0]
    assert Decimal(str(row["annual_premium"])) == Decimal(str(live[(late_env["data"]["policy_id"],)]["annual_premium"]))
    after = _gold(endpoint, out)
    for table in ("kpi_loss_ratio", "kpi_market_share", "fact_premium", "dim_policy"):
        assert after[table].equals(lake["gold"][table]), table



def _customer_lines(endpoint, out, customer_id) -> dict[str, int]:
    """Lines naming the customer in bronze, the landing exports and both quarantines (every current object,
    each line parsed on its own here), by object; the erasure's own delete event is not counted."""
    def customer(envelope):
        return envelope["data"] if envelope.get("entity") == "customer" else None

    found: Counter = Counter()
    places = [(out["bronze_bucket"], layout.entity_prefix("erp", "customer"), lambda line: line["event"]["data"]),
              (out["bronze_bucket"], layout.landing_prefix("customer"), lambda line: line),
              (out["quarantine_bucket"], layout.STREAM_QUARANTINE_PREFIX,
               lambda line: customer(json.loads(line["payload"]))),
              (bucket(out, SILVER_QUARANTINE), SILVER_QUARANTINE.prefix + layout.entity_prefix("erp", "customer"),
               lambda line: json.loads(line["line"])["event"]["data"])]
    for bucket_name, prefix, data_of in places:
        for key, line in iter_jsonl(endpoint, bucket_name, prefix):
            if layout.parse_erasure_object_name(key.rsplit("/", 1)[-1]):
                continue
            try:
                data = data_of(line)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if isinstance(data, dict) and data.get("customer_id") == customer_id:
                found[key] += 1
    return dict(found)


def test_erasing_a_customer_reaches_every_layer(lake, monkeypatch, tmp_path, capsys):
    """operations.erase request -> bronze_to_silver -> silver_to_gold -> operations.erase finish, for one
    customer present in gold: gone from silver, gold and every kept gold copy, from bronze and both
    quarantines; every other table keeps its rows."""
    from lakehouse import gold_publication
    from local_runtime.aws import environment
    from operations import erase

    out, endpoint = lake["out"], lake["endpoint"]
    for name, value in environment(endpoint).items():
        monkeypatch.setenv(name, value)
    gold_before = _gold(endpoint, out)
    current = set(gold_before["dim_customer"].query("is_current == 'True'")["customer_id"])
    quarantined = {p.data.get("customer_id") for _k, p in
                   ((k, erase.ingest_quarantine_record(json.dumps(line))) for k, line in
                    iter_jsonl(endpoint, out["quarantine_bucket"], layout.STREAM_QUARANTINE_PREFIX)) if p.data}
    customer_id = min(current & quarantined or current)  # one in the ingest quarantine too, when there is one
    raw_before = _customer_lines(endpoint, out, customer_id)
    assert raw_before, "the customer must have raw lines"
    silver_before = row_counts(endpoint, out, "silver")
    state = f"s3://{out['artifacts_bucket']}/state/silver_to_gold/"
    assert gold_publication.load(state).history, "earlier runs must have left kept gold copies"
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(out))
    lake_args = ["--customer-id", customer_id, "--outputs", str(outputs_file), "--endpoint", endpoint]

    assert erase.main(["request", *lake_args]) == 0
    requested = json.loads(capsys.readouterr().out)
    assert requested["totals"]["lines_removed"] == sum(raw_before.values())
    assert requested["totals"]["delete_events_written"] == 1 and requested["totals"]["errors"] == 0
    removed = {key: e["lines_removed"] for layer in requested["layers"].values() for key, e in layer["objects"].items()}
    assert removed == raw_before
    assert _customer_lines(endpoint, out, customer_id) == {}

    _run_batch(endpoint, out, lake["host"])
    history_before = gold_publication.load(state).history  # the copies published before the erasure ran
    capsys.readouterr()
    assert erase.main(["finish", *lake_args]) == 0
    finished = json.loads(capsys.readouterr().out)
    assert finished["remaining"] == [] and finished["errors"] == []
    assert finished["totals"]["generations_dropped"] == len(history_before)  # every older copy held the customer

    silver_after = row_counts(endpoint, out, "silver")
    customers = silver_table("erp", "customer").name
    assert silver_after[customers] == silver_before[customers] - 1
    assert {t: n for t, n in silver_after.items() if t != customers} == \
        {t: n for t, n in silver_before.items() if t != customers}
    gold_after = _gold(endpoint, out)
    assert customer_id not in set(gold_after["dim_customer"]["customer_id"])
    assert {t: len(df) for t, df in gold_after.items() if t != "dim_customer"} == \
        {t: len(df) for t, df in gold_before.items() if t != "dim_customer"}
    assert len(gold_after["dim_customer"]) == len(gold_before["dim_customer"]) - \
        int((gold_before["dim_customer"]["customer_id"] == customer_id).sum())
    publication = gold_publication.load(state)
    assert publication.history == [] and publication.pending is None
    for generation in (publication.published, *publication.history):
        dim = read_parquet(endpoint, generation.location(f"s3://{out['gold_bucket']}", "dim_customer"))
        assert customer_id not in set(dim["customer_id"])
    for old in history_before:
        assert object_keys(endpoint, out["gold_bucket"], old.prefix) == [], old.prefix
    assert _customer_lines(endpoint, out, customer_id) == {}
