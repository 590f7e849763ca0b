"""The warehouse load against a real PostgreSQL 15 (the local service, on a free port) and a real ministack
(its S3 holding a small published gold copy, written with pyarrow under the layout and publication record of
lakehouse.gold_publication; no Spark): counts and values equal, a rerun changes nothing, a new generation
replaces the star, and a failure in the middle of the swap (in-process and a killed process) leaves the
previous star whole. And the load as the batch workflow runs it: the Glue job ``warehouse_load`` of the local
stack deployed to that emulator, run by the local Glue runner from its deployed definition with the local
PostgreSQL's connection as the run's arguments."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse import faults
from lakehouse import gold_publication as publication
from lakehouse.gold_tables import GOLD_TABLES, GOLD_TABLES_BY_NAME, column_names
from local_runtime.aws import environment
from local_runtime.paths import ROOT
from local_runtime.services import free_port
from local_runtime.services.postgres import PostgresServer, remove_data
from local_runtime.warehouse_local import load_local_warehouse
from tests.arrow_types import arrow_type
from warehouse import load as wl
from warehouse.connection import connect

pytestmark = pytest.mark.e2e

BUCKET = "gold-warehouse-test"
GOLD = f"s3://{BUCKET}/"
STATE = f"s3://{BUCKET}/_state/"
SCHEMA = "wh"


@pytest.fixture(scope="module")
def postgres():
    port = free_port()
    server = PostgresServer(port)
    server.start()
    yield server
    server.stop()
    remove_data(port)


@pytest.fixture(scope="module")
def s3(emulator, aws):
    saved = {k: os.environ.get(k) for k in environment(emulator.endpoint)}
    os.environ.update(environment(emulator.endpoint))
    client = aws("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# --- a small, consistent star -------------------------------------------------------------------------

def _filler(glue: str, i: int, name: str):
    if glue.startswith("decimal("):
        return Decimal(f"{100 + i}.{i % 100:02d}")
    return {"int": i, "bigint": 1000 + i, "string": f"{name}-{i}", "boolean": i % 2 == 0,
            "date": date(2024, 1, 1) + timedelta(days=i),
            "timestamp": datetime(2024, 1, 1, 12, 0, 0) + timedelta(hours=i, microseconds=123457)}[glue]


def _rows(table: str, overrides: list[dict]) -> list[dict]:
    """One row per override dict: its values, every other column filled by type."""
    spec = GOLD_TABLES_BY_NAME[table]
    out = []
    for i, given in enumerate(overrides):
        row = {c.name: _filler(c.type, i, c.name) for c in (*spec.columns, *spec.partition_keys)}
        row.update(given)
        out.append(row)
    return out


def star(policies: int = 2) -> dict[str, list[dict]]:
    """Every gold table; ``policies`` (1 or 2) changes the sizes between generations."""
    fact_keys = lambda month, policy, customer: {  # noqa: E731
        "month": month, "date_key": int(month.replace("-", "") + "01"), "policy_key": policy,
        "customer_key": customer, "line_key": 31, "state_key": 41}
    premiums = [fact_keys("2024-01", 1, 11), fact_keys("2024-02", 1, 11)]
    if policies == 2:
        premiums.append(fact_keys("2024-01", 2, None))
    return {
        "dim_date": _rows("dim_date", [{"date_key": 20240101, "date": date(2024, 1, 1)},
                                       {"date_key": 20240102, "date": date(2024, 1, 2)},
                                       {"date_key": 20240201, "date": date(2024, 2, 1)}]),
        "dim_insurer": _rows("dim_insurer", [{"insurer_key": 21, "insurer_name": "Seguradora O'Brien"},
                                             {"insurer_key": 22}]),
        "dim_line_of_business": _rows("dim_line_of_business", [{"line_key": 31}]),
        "dim_state": _rows("dim_state", [{"state_key": 41, "state": "SP"}, {"state_key": 42, "state": "RJ"}]),
        "dim_customer": _rows("dim_customer", [{"customer_key": 11, "birth_year": None, "city": "São Paulo"},
                                               {"customer_key": 12}]),
        "dim_policy": _rows("dim_policy", [{"policy_key": k, "customer_key": c, "line_key": 31, "state_key": 41}
                                           for k, c in ((1, 11), (2, None))[:policies]]),
        "fact_premium": _rows("fact_premium", premiums),
        "fact_claim": _rows("fact_claim", [fact_keys("2024-02", 1, 11)]),
        "fact_market": _rows("fact_market", [{"month": "2024-01", "date_key": 20240101, "insurer_key": k,
                                              "line_key": 31, "state_key": 41} for k in (21, 22)]),
        "kpi_loss_ratio": _rows("kpi_loss_ratio", [{"month": m, "date_key": int(m.replace("-", "") + "01"),
                                                    "line_key": 31, "state_key": 41, "loss_ratio": lr}
                                                   for m, lr in (("2024-01", None), ("2024-02", Decimal("0.5")))]),
        "kpi_market_share": _rows("kpi_market_share", [{"month": "2024-01", "date_key": 20240101, "line_key": 31,
                                                        "state_key": 41, "market_share": None}]),
    }


def publish(s3, tables: dict[str, list[dict]], run_id: str, gold: str = GOLD,
            state: str = STATE) -> publication.Generation:
    """Write ``tables`` as a new generation's copy and publish it (pending, then published, as silver->gold
    records it)."""
    pub = publication.load(state)
    gen = publication.Generation.new(pub.next_generation(), run_id)
    bucket = gold.split("://", 1)[1].split("/", 1)[0]
    for spec in GOLD_TABLES:
        data_cols = [c for c in spec.columns]
        parts = [c.name for c in spec.partition_keys]
        groups: dict[tuple, list[dict]] = {}
        for row in tables[spec.name]:
            groups.setdefault(tuple(row[p] for p in parts), []).append(row)
        root = gen.location(gold, spec.location).split(f"s3://{bucket}/", 1)[1]
        for values, rows in groups.items():
            folder = root + "".join(f"{p}={v}/" for p, v in zip(parts, values))
            schema = pa.schema([pa.field(c.name, arrow_type(c.type)) for c in data_cols])
            table = pa.Table.from_pylist([{c.name: r[c.name] for c in data_cols} for r in rows], schema=schema)
            buf = io.BytesIO()
            pq.write_table(table, buf, use_deprecated_int96_timestamps=True)  # as Spark writes them
            s3.put_object(Bucket=bucket, Key=folder + "part-00000.snappy.parquet", Body=buf.getvalue())
        s3.put_object(Bucket=bucket, Key=root + "_SUCCESS", Body=b"")
    pub.pending = gen
    pub.save()
    if pub.published is not None:
        pub.history.insert(0, pub.published)
    pub.published, pub.pending = gen, None
    pub.save()
    return gen


def warehouse_rows(postgres, table: str, schema: str = SCHEMA) -> list[tuple]:
    spec = GOLD_TABLES_BY_NAME[table]
    cols = column_names(spec)
    with psycopg.connect(**postgres.settings().psycopg_kwargs()) as conn:
        return conn.execute(f"SELECT {', '.join(cols)} FROM {schema}.{table} "
                            f"ORDER BY {', '.join(spec.primary_key)}").fetchall()


def expected_rows(tables, table: str) -> list[tuple]:
    spec = GOLD_TABLES_BY_NAME[table]
    cols = column_names(spec)
    return sorted((tuple(r[c] for c in cols) for r in tables[table]),
                  key=lambda t: tuple(t[cols.index(k)] for k in spec.primary_key))


def load(postgres, s3, **kwargs) -> wl.LoadResult:
    with connect(postgres.settings(), s3=s3) as warehouse:
        return wl.load_published(warehouse, GOLD, STATE, schema=SCHEMA, s3=s3, **kwargs)


def load_log(postgres) -> list[tuple]:
    with psycopg.connect(**postgres.settings().psycopg_kwargs()) as conn:
        return conn.execute(f"SELECT generation, prefix, total_rows FROM {SCHEMA}.load_log "
                            f"ORDER BY loaded_at, generation").fetchall()


def test_postgres_service_is_reused_and_password_protected(postgres):
    pid = postgres.started_pid()
    assert pid and postgres.health()["server_version"].startswith("15.")
    PostgresServer(postgres.port).start()  # idempotent: the running server is reused
    assert postgres.started_pid() == pid
    assert oct(os.stat(postgres.settings().passfile).st_mode & 0o777) == "0o600"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=postgres.port, dbname="lakeforge", user="lakeforge",
                        password="wrong", connect_timeout=3)


def test_nothing_published_is_a_clear_error(postgres, s3):
    with pytest.raises(wl.NothingPublished, match="names no published gold copy"):
        load(postgres, s3)


def test_load_rerun_new_generation_and_failures(postgres, s3, monkeypatch):
    first = star(policies=2)
    gen1 = publish(s3, first, "run-one")
    result = load(postgres, s3)
    assert not result.skipped and result.generation == gen1.generation and result.prefix == gen1.prefix
    assert result.counts == {name: len(rows) for name, rows in first.items()}
    for spec in GOLD_TABLES:  # values equal, nulls where gold has them
        assert warehouse_rows(postgres, spec.name) == expected_rows(first, spec.name), spec.name
    with psycopg.connect(**postgres.settings().psycopg_kwargs()) as conn:
        assert conn.execute(f"SELECT birth_year, city FROM {SCHEMA}.dim_customer WHERE customer_key = 11"
                            ).fetchone() == (None, "São Paulo")
        assert conn.execute(f"SELECT count(*) FROM {SCHEMA}.fact_premium WHERE customer_key IS NULL").fetchone() == (1,)
        # staging tables are gone
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'stg_%%'",
                            (SCHEMA,)).fetchone() == (0,)

    # rerun of the same generation: a no-op; forced: a clean reload of the same rows
    again = load(postgres, s3)
    assert again.skipped and again.counts == result.counts
    forced = load(postgres, s3, force=True)
    assert not forced.skipped and forced.counts == result.counts
    assert [row[0] for row in load_log(postgres)] == [gen1.generation, gen1.generation]

    # a new generation replaces the star
    second = star(policies=1)
    gen2 = publish(s3, second, "run-two")
    result2 = load(postgres, s3)
    assert result2.generation == gen2.generation
    assert result2.counts == {name: len(rows) for name, rows in second.items()}
    assert result2.counts["fact_premium"] == result.counts["fact_premium"] - 1
    assert warehouse_rows(postgres, "dim_policy") == expected_rows(second, "dim_policy")

    # a failure in the middle of the swap (every live table emptied, one refilled) leaves generation 2 whole
    gen3 = publish(s3, first, "run-three")
    monkeypatch.setenv(faults.ENV, wl.SWAP_FAULT)
    with pytest.raises(faults.InjectedFault):
        load(postgres, s3)
    monkeypatch.delenv(faults.ENV)
    for spec in GOLD_TABLES:
        assert warehouse_rows(postgres, spec.name) == expected_rows(second, spec.name), spec.name
    assert load_log(postgres)[-1][0] == gen2.generation

    # the count check: rows in staging differ from the copy's footers -> fail, live star unchanged
    real = wl.parquet_rows
    monkeypatch.setattr(wl, "parquet_rows", lambda *a: real(*a) + 1)
    with pytest.raises(wl.CountMismatch, match="staging rows differ"):
        load(postgres, s3)
    monkeypatch.setattr(wl, "parquet_rows", real)
    assert warehouse_rows(postgres, "dim_policy") == expected_rows(second, "dim_policy")

    # the process killed in the middle of the swap (the entrypoint, as a job runs it): still generation 2
    conn = postgres.settings()
    argv = [sys.executable, "-m", "warehouse.load", "--gold_path", GOLD, "--state_path", STATE, "--schema", SCHEMA,
            "--target", "postgres", "--host", conn.host, "--port", str(conn.port), "--database",
            conn.database, "--user", conn.user, "--passfile", conn.passfile,
            "--s3_endpoint", s3.meta.endpoint_url]
    env = {**os.environ, faults.ENV: f"{wl.SWAP_FAULT}:exit"}
    killed = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert killed.returncode == faults.EXIT_CODE, killed.stdout + killed.stderr
    for spec in GOLD_TABLES:
        assert warehouse_rows(postgres, spec.name) == expected_rows(second, spec.name), spec.name

    # the next run loads generation 3
    env.pop(faults.ENV)
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"loaded generation {gen3.generation}" in done.stdout
    for spec in GOLD_TABLES:
        assert warehouse_rows(postgres, spec.name) == expected_rows(first, spec.name), spec.name
    assert load_log(postgres)[-1][:2] == (gen3.generation, gen3.prefix)


def test_entrypoint_help():
    out = subprocess.run([sys.executable, "-m", "warehouse.load", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    assert "--gold_path" in out.stdout and "--target" in out.stdout


def test_the_count_guard_inside_the_swap_rolls_it_back(postgres, s3):
    """If the live tables do not hold the expected rows after the refill, the guard statement fails the swap
    transaction (the same SQL on Redshift): nothing changes."""
    if publication.load(STATE).published is None:  # run on its own
        publish(s3, star(), "guard")
    load(postgres, s3)
    before = {spec.name: warehouse_rows(postgres, spec.name) for spec in GOLD_TABLES}
    counts = {name: len(rows) for name, rows in before.items()}
    gen = publication.load(STATE).published
    with psycopg.connect(**postgres.settings().psycopg_kwargs(), autocommit=True) as conn:
        for spec in GOLD_TABLES:
            conn.execute(f"CREATE TABLE {wl.staging_name(SCHEMA, spec.name)} AS SELECT * FROM {SCHEMA}.{spec.name}")
    wrong = {**counts, "fact_claim": counts["fact_claim"] + 1}
    try:
        with connect(postgres.settings(), s3=s3) as warehouse:
            log_rows = len(load_log(postgres))
            with pytest.raises(psycopg.errors.DivisionByZero):
                warehouse.run_transaction(wl.swap_statements(SCHEMA, wrong, gen, datetime.now()))
            assert len(load_log(postgres)) == log_rows
            warehouse.run_transaction(wl.swap_statements(SCHEMA, counts, gen, datetime.now()))  # right counts: fine
            assert len(load_log(postgres)) == log_rows + 1
    finally:
        with psycopg.connect(**postgres.settings().psycopg_kwargs(), autocommit=True) as conn:
            for spec in GOLD_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {wl.staging_name(SCHEMA, spec.name)}")
    assert {spec.name: warehouse_rows(postgres, spec.name) for spec in GOLD_TABLES} == before


def test_the_deployed_job_loads_what_the_deployed_stack_published(postgres, s3, emulator, deployed, aws):
    """The workflow's third job as Terraform deployed it (local_runtime.warehouse_local: its definition from the
    emulator's Glue API, its script and the shared-code zip from the artifacts bucket, spark-submit): the
    published gold of the deployed buckets lands in PostgreSQL row for row, and a rerun skips it."""
    out = deployed["outputs"]
    job = aws("glue").get_job(JobName=out["glue_job_warehouse_load"])["Job"]
    deployed_args = job["DefaultArguments"]
    assert deployed_args["--target"] == "postgres"
    # the connection is the run's, never deployed
    assert not {"--host", "--port", "--database", "--user", "--passfile"} & set(deployed_args)
    assert deployed_args["--gold_path"] == f"s3://{out['gold_bucket']}/"
    tables = star()
    gen = publish(s3, tables, "deployed", gold=deployed_args["--gold_path"], state=deployed_args["--state_path"])
    lines = []
    result = load_local_warehouse(emulator.endpoint, out, schema="deployed", server=postgres, log=lines.append)
    assert not result.skipped and (result.generation, result.prefix) == (gen.generation, gen.prefix)
    assert result.counts == {name: len(rows) for name, rows in tables.items()}
    for spec in GOLD_TABLES:  # the rows themselves, not only their counts
        assert warehouse_rows(postgres, spec.name, "deployed") == expected_rows(tables, spec.name), spec.name
    assert any(f"loaded generation {gen.generation}" in line for line in lines), lines
    again = load_local_warehouse(emulator.endpoint, out, schema="deployed", server=postgres, log=lines.append)
    assert again.skipped and again.counts == result.counts
    assert any("nothing to do" in line for line in lines), lines


def test_a_published_copy_that_is_gone_is_an_error_not_an_empty_star(postgres, s3):
    s3.create_bucket(Bucket="lf-gold-gone")
    state = "s3://lf-gold-gone/_state/"
    pub = publication.load(state)
    pub.published = publication.Generation.new(1, "gone")  # recorded, never written
    pub.save()
    with connect(postgres.settings(), s3=s3) as warehouse:
        with pytest.raises(publication.BrokenPublication, match="has no Parquet files"):
            wl.load_published(warehouse, "s3://lf-gold-gone/", state, schema="gone", s3=s3)
        assert warehouse.query("SELECT count(*) FROM gone.load_log") == [(0,)]
