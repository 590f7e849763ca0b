"""The load step's swap transaction and its arguments (the load itself runs end to end in
tests/e2e/test_warehouse_load.py)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from data_contracts import emf
from data_contracts.metrics import RECORDS_IN, RECORDS_OUT, RUN_FAILED
from lakehouse import gold_publication as publication
from lakehouse import run_log
from lakehouse.gold_tables import FOREIGN_KEYS, GOLD_TABLES
from warehouse import load as wl
from warehouse.connection import MAX_BATCH


def _swap():
    gen = publication.Generation(7, "run-o'k", "runs/g000007-run-o'k-abcd1234/")
    expected = {spec.name: i for i, spec in enumerate(GOLD_TABLES)}
    return wl.swap_statements("wh", expected, gen, datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)), expected


def test_swap_empties_children_first_refills_parents_first_then_checks_and_logs():
    statements, expected = _swap()
    n = len(GOLD_TABLES)
    deletes = [s.removeprefix("DELETE FROM wh.") for s in statements[:n]]
    inserts = [s.split()[2].removeprefix("wh.") for s in statements[n:2 * n]]
    assert set(deletes) == set(inserts) == set(expected)
    for table, _, ref, _ in FOREIGN_KEYS:
        if table != ref:
            assert deletes.index(table) < deletes.index(ref)
            assert inserts.index(ref) < inserts.index(table)
    assert all(s.startswith("DELETE") for s in statements[:n])  # never TRUNCATE: Redshift commits on it
    guard = statements[2 * n]
    assert guard.startswith("SELECT 1 / (CASE WHEN ") and "(SELECT COUNT(*) FROM wh.fact_claim) = " in guard
    assert statements[-1] == ("INSERT INTO wh.load_log (generation, run_id, prefix, loaded_at, total_rows) VALUES "
                              "(7, 'run-o''k', 'runs/g000007-run-o''k-abcd1234/', TIMESTAMP '2026-12-02 17:00:00', "
                              f"{sum(expected.values())})")
    assert len(statements) <= MAX_BATCH  # one Data API batch


def test_insert_lists_every_column_of_the_table():
    statements, _ = _swap()
    fact = next(s for s in statements if s.startswith("INSERT INTO wh.fact_premium "))
    assert "month) SELECT date_key, " in fact and fact.endswith("FROM wh.stg_fact_premium")


def test_contract_declares_read_only_grants_and_the_help_lists_every_argument():
    assert all(not g.write and not g.delete for g in wl.CONTRACT.grants)
    assert {g.bucket for g in wl.CONTRACT.grants} == {"gold", publication.STATE.bucket}
    assert wl.CONTRACT.argument("gold_path").default is None
    usage = wl.usage()
    for arg in wl.CONTRACT.arguments:
        assert f"--{arg.name} " in usage


def test_bad_arguments_are_clear_errors_and_failed_runs(capsys):
    with pytest.raises(SystemExit, match="missing job arguments: --gold_path"):
        wl.main([])
    with pytest.raises(SystemExit, match="--force 'yes'"):
        wl.main(["--JOB_NAME", "lakeforge-dev-warehouse_load", "--gold_path", "s3://g/", "--force", "yes"])
    summaries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["service"] for s in summaries] == [wl.JOB, "lakeforge-dev-warehouse_load"]  # --JOB_NAME when given
    for summary in summaries:
        points = {p.name: p.value for p in emf.parse(json.dumps(summary))}
        assert points[RUN_FAILED] == 1 and RECORDS_IN not in points and summary["error"].startswith("SystemExit")


def test_the_local_runner_shows_what_the_jobs_lines_say():
    from local_runtime.warehouse_local import job_messages

    output = "\n".join([
        "24/06/01 INFO SparkContext: Running Spark version 3.5",
        json.dumps({"event": "table staged", "job": wl.JOB, "message": "staged dim_date: 3 rows from 1 files"}),
        json.dumps({"event": "step", "job": "another_job", "message": "not the load's"}),
        wl.RESULT_MARK + "{}",
        json.dumps({"event": run_log.RUN_SUMMARY, "job": wl.JOB, "message": "not a step"}),
    ])
    assert job_messages(output) == [f"[{wl.JOB}] staged dim_date: 3 rows from 1 files"]


def test_the_result_line_round_trips_and_a_run_without_it_is_an_error(capsys, monkeypatch):
    """main prints the result as JSON (the local runner reads it back from the job's log), then its run
    summary: the last line, in EMF, with the loaded rows and the gold run's id."""
    result = wl.LoadResult(3, "run-x", "runs/g000003-run-x-0a1b2c3d/", {"dim_date": 3, "fact_premium": 7})

    class Fake:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(wl, "connect", lambda settings: Fake())
    monkeypatch.setattr(wl, "load_published", lambda *a, **k: result)
    wl.main(["--gold_path", "s3://g/", "--target", "postgres", "--passfile", "/x/pgpass"])
    out = capsys.readouterr().out
    *_, result_line, summary_line = out.splitlines()
    assert result_line.startswith(wl.RESULT_MARK)
    summary = json.loads(summary_line)
    assert (summary["event"], summary["job"], summary["run_id"], summary["generation"]) == (
        run_log.RUN_SUMMARY, wl.JOB, "run-x", 3)
    points = {p.name: p.value for p in emf.parse(summary_line)}
    assert (points[RECORDS_IN], points[RECORDS_OUT], points[RUN_FAILED]) == (10, 10, 0)
    parsed = wl.parse_result("Spark says hello\n" + out)
    assert parsed == result and list(parsed.counts) == ["dim_date", "fact_premium"]  # table order kept
    with pytest.raises(ValueError, match="did not finish"):
        wl.parse_result("[warehouse_load] staged dim_date: 3 rows\nTraceback ...")


def test_the_local_postgres_becomes_the_load_jobs_run_arguments(tmp_path):
    """One mapping: the local PostgreSQL's connection -> the job's arguments (never its password)."""
    from local_runtime.services.postgres import PostgresServer
    from local_runtime.warehouse_local import run_arguments

    server = PostgresServer(6543, state=tmp_path)
    args = run_arguments(server, schema="demo", force=True)
    connection = server.connection()
    assert args == {"--host": connection["host"], "--port": "6543", "--database": connection["database"],
                    "--user": connection["user"], "--passfile": connection["passfile"], "--schema": "demo",
                    "--force": "true"}
    assert set(a[2:] for a in args) <= set(wl.CONTRACT.argument_names)
    settings = wl.settings_from_args({**wl.CONTRACT.defaults, **{k[2:]: v for k, v in args.items()},
                                      "target": "postgres"})
    assert (settings.host, settings.port, settings.passfile) == (connection["host"], 6543, connection["passfile"])
