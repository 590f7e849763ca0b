"""The KPI queries (queries/kpi_*.sql, queries.kpi) run unchanged on DuckDB and on a real PostgreSQL 15 over the
same small gold rows, with the values bound by each engine, and return identical normalised results for the
same filters and pages: equal to an independent computation in Python, too."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from lakehouse.gold_tables import GOLD_TABLES_BY_NAME, column_names
from queries import kpi as kpis

TABLES = ("fact_premium", "fact_claim", "kpi_loss_ratio", "kpi_market_share")


# --- the gold rows: a few cells over 3 months, 2 lines, 3 states ---------------------------------------------

def _premium(month, policy, line, state, written, earned):
    return {"date_key": int(month.replace("-", "") + "01"), "policy_key": policy, "customer_key": None,
            "line_key": 1, "state_key": 2, "policy_id": f"P{policy}", "line_of_business": line, "state": state,
            "premiums_written": Decimal(written), "premiums_earned": Decimal(earned), "earned_days": 30,
            "installments_due_count": 1, "installments_due_amount": Decimal("10.00"),
            "installments_paid_count": 0, "installments_paid_amount": Decimal("0.00"), "month": month}


def _claim(month, policy, line, state, count, incurred, paid):
    return {"date_key": int(month.replace("-", "") + "01"), "policy_key": policy, "customer_key": 7,
            "line_key": 1, "state_key": 2, "policy_id": f"P{policy}", "line_of_business": line, "state": state,
            "claim_count": count, "claimed_amount": Decimal(incurred), "incurred_amount": Decimal(incurred),
            "paid_amount": Decimal(paid), "month": month}


FACT_PREMIUM = [
    _premium("2025-01", 1, "0531", "SP", "1200.00", "100.00"),
    _premium("2025-02", 1, "0531", "SP", "0.00", "100.00"),
    _premium("2025-03", 1, "0531", "SP", "0.00", "100.01"),
    _premium("2025-01", 2, "0114", "RJ", "365.00", "17.00"),
    _premium("2025-02", 2, "0114", "RJ", "0.00", "28.00"),
    _premium("2025-02", 3, "0531", "MG", "999.99", "0.00"),
    _premium("2025-03", 4, "0114", "SP", "10.00", "3.33"),
]
FACT_CLAIM = [
    _claim("2025-01", 1, "0531", "SP", 1, "50.00", "50.00"),
    _claim("2025-02", 1, "0531", "SP", 2, "333.33", "0.00"),
    _claim("2025-02", 2, "0114", "RJ", 1, "7.77", "7.77"),
    _claim("2025-03", 5, "0114", "MG", 1, "10.00", "0.00"),
]


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _kpi_loss_ratio():
    cells: dict[tuple, dict] = {}
    for r in FACT_PREMIUM + FACT_CLAIM:
        c = cells.setdefault((r["month"], r["line_of_business"], r["state"]), {
            "claim_count": 0, "claims_incurred": Decimal("0.00"), "premiums_earned": Decimal("0.00")})
        c["premiums_earned"] += r.get("premiums_earned", 0)
        c["claims_incurred"] += r.get("incurred_amount", 0)
        c["claim_count"] += r.get("claim_count", 0)
    return [{"date_key": int(m.replace("-", "") + "01"), "line_key": 1, "state_key": 2, "line_of_business": lob,
             "state": st, **c, "month": m,
             "loss_ratio": _round(c["claims_incurred"] / c["premiums_earned"], 6) if c["premiums_earned"] else None}
            for (m, lob, st), c in sorted(cells.items())]


def _share(month, line, state, company, market, insurers, own):
    market_d = None if market is None else Decimal(market)
    return {"date_key": int(month.replace("-", "") + "01"), "line_key": 1, "state_key": 2, "line_of_business": line,
            "state": state, "company_premiums_written": Decimal(company), "market_premiums_written": market_d,
            "market_insurers": insurers, "company_susep_premiums_written": None if own is None else Decimal(own),
            "market_share": (_round(Decimal(company) / market_d, 6) if market_d else None), "month": month}


KPI_MARKET_SHARE = [
    _share("2025-01", "0531", "SP", "1200.00", "36000.00", 5, "1100.00"),
    _share("2025-01", "0114", "RJ", "365.00", "7000.00", 3, None),
    _share("2025-02", "0531", "MG", "999.99", "3000.00", 2, "999.99"),
    _share("2025-02", "0531", "SP", "0.00", "36500.00", 5, "0.00"),
    _share("2025-03", "0114", "SP", "10.00", None, 0, None),
    _share("2025-03", "0531", "RJ", "0.00", "1234.56", 1, None),
]
ROWS = {"fact_premium": FACT_PREMIUM, "fact_claim": FACT_CLAIM, "kpi_loss_ratio": _kpi_loss_ratio(),
        "kpi_market_share": KPI_MARKET_SHARE}


def _sql_type(glue: str) -> str:
    return {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "boolean": "BOOLEAN", "date": "DATE",
            "timestamp": "TIMESTAMP"}.get(glue, glue.upper())


def _ddl(name: str) -> str:
    table = GOLD_TABLES_BY_NAME[name]
    cols = [(c.name, c.type) for c in (*table.columns, *table.partition_keys)]
    return f"CREATE TABLE {name} ({', '.join(f'{n} {_sql_type(t)}' for n, t in cols)})"


def _load(execute, marker: str) -> None:
    for name in TABLES:
        execute(_ddl(name), ())
        names = column_names(GOLD_TABLES_BY_NAME[name])
        insert = f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join([marker] * len(names))})"
        for row in ROWS[name]:
            execute(insert, tuple(row[n] for n in names))


# --- the engines ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect(":memory:")
    _load(lambda sql, params: con.execute(sql, list(params)), "?")
    yield con
    con.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server (initdb as the ``postgres`` user: initdb refuses root) on a free port."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    base = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run([*run_as, initdb, "-D", str(data), "-U", "kpi", "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "start", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"], check=True, capture_output=True)
    try:
        con = psycopg.connect(host="127.0.0.1", port=port, user="kpi", dbname="postgres", autocommit=True)
        with con.cursor() as cur:
            _load(lambda sql, params: cur.execute(sql, params), "%s")
        yield con
        con.close()
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _duck_rows(con, kpi, filters, offset, limit):
    return con.execute(kpi.sql, kpis.bind(kpi, filters, offset=offset, limit=limit)).fetchall()


def _pg_rows(con, kpi, filters, offset, limit):
    with con.cursor() as cur:
        cur.execute(kpis.pyformat(kpi.sql), kpis.bind(kpi, filters, offset=offset, limit=limit))
        assert [d.name for d in cur.description] == [c.name for c in kpi.sql_columns]
        return cur.fetchall()


# --- the independent computation -----------------------------------------------------------------------------

def _passes(row, filters):
    return (filters.get("month_from", "0000-00") <= row["month"] <= filters.get("month_to", "9999-99")
            and row["line_of_business"] == filters.get("line_of_business", row["line_of_business"])
            and row["state"] == filters.get("state", row["state"]))


def _money(value) -> str | None:
    return None if value is None else str(_round(Decimal(value), 2))


def _ratio(num, den) -> str | None:
    return None if num is None or den is None or Decimal(den) <= 0 else str(_round(Decimal(num) / Decimal(den), 6))


def expected(name: str, filters: dict) -> list[dict]:
    if name in ("loss_ratio", "market_share"):
        table = "kpi_" + name
        kpi = kpis.get(name)
        rows = sorted((r for r in ROWS[table] if _passes(r, filters)),
                      key=lambda r: (r["month"], r["line_of_business"], r["state"]))
        out = []
        for r in rows:
            out.append({c.name: (None if r[c.name] is None else
                                 str(r[c.name]) if c.scale is not None else r[c.name]) for c in kpi.columns})
        return out
    groups: dict[str, dict] = {}
    if name == "premiums_claims_by_month":
        for r in FACT_PREMIUM + FACT_CLAIM:
            if _passes(r, filters):
                g = groups.setdefault(r["month"], dict.fromkeys(
                    ("premiums_written", "premiums_earned", "claims_incurred", "claims_paid"), Decimal(0)) | {
                    "claim_count": 0})
                for out_name, in_name in (("premiums_written", "premiums_written"), ("premiums_earned", "premiums_earned"),
                                          ("claims_incurred", "incurred_amount"), ("claims_paid", "paid_amount"),
                                          ("claim_count", "claim_count")):
                    g[out_name] += r.get(in_name, 0)
        return [{"month": m, **{k: _money(g[k]) for k in ("premiums_written", "premiums_earned")},
                 "claim_count": g["claim_count"], **{k: _money(g[k]) for k in ("claims_incurred", "claims_paid")},
                 "loss_ratio": _ratio(g["claims_incurred"], g["premiums_earned"])} for m, g in sorted(groups.items())]
    if name == "loss_ratio_by_line_of_business":
        for r in ROWS["kpi_loss_ratio"]:
            if _passes(r, filters):
                g = groups.setdefault(r["line_of_business"], {"claim_count": 0, "claims_incurred": Decimal(0),
                                                              "premiums_earned": Decimal(0)})
                for k in g:
                    g[k] += r[k]
        return [{"line_of_business": k, "claim_count": g["claim_count"], "claims_incurred": _money(g["claims_incurred"]),
                 "premiums_earned": _money(g["premiums_earned"]),
                 "loss_ratio": _ratio(g["claims_incurred"], g["premiums_earned"])} for k, g in sorted(groups.items())]
    if name == "market_share_by_state":
        for r in KPI_MARKET_SHARE:
            if _passes(r, filters) and r["market_premiums_written"] is not None:
                g = groups.setdefault(r["state"], {"company_premiums_written": Decimal(0),
                                                   "market_premiums_written": Decimal(0)})
                for k in g:
                    g[k] += r[k]
        return [{"state": k, **{c: _money(v) for c, v in g.items()},
                 "market_share": _ratio(g["company_premiums_written"], g["market_premiums_written"])}
                for k, g in sorted(groups.items())]
    raise AssertionError(f"no independent computation for {name}")


# --- the tests -----------------------------------------------------------------------------------------------

KPI_NAMES = [k.name for k in kpis.kpis()]
FILTER_CASES = [
    {},
    {"month_from": "2025-02"},
    {"month_to": "2025-02"},
    {"month_from": "2025-02", "month_to": "2025-02"},
    {"line_of_business": "0531"},
    {"state": "SP"},
    {"month_from": "2025-01", "month_to": "2025-03", "line_of_business": "0114", "state": "RJ"},
    {"line_of_business": "9999"},
]


def test_the_dashboard_views_and_the_row_level_kpis_are_defined():
    assert {"premiums_claims_by_month", "loss_ratio_by_line_of_business", "market_share_by_state",
            "loss_ratio", "market_share"} <= set(KPI_NAMES)


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
@pytest.mark.parametrize("name", KPI_NAMES)
def test_duckdb_and_postgres_give_the_same_normalised_rows(duck, postgres, name, filters):
    kpi = kpis.get(name)
    want = expected(name, filters)
    from_duck = kpis.normalise(kpi, _duck_rows(duck, kpi, filters, 0, 1000))
    from_pg = kpis.normalise(kpi, _pg_rows(postgres, kpi, filters, 0, 1000))
    assert from_duck == want
    assert from_pg == want
    if filters == {}:
        assert want, f"{name}: the fixture rows should give rows without filters"


@pytest.mark.parametrize("name", KPI_NAMES)
def test_pages_are_stable_and_cover_every_row_once(duck, postgres, name):
    kpi = kpis.get(name)
    whole = expected(name, {})
    for fetch in (_duck_rows, _pg_rows):
        con = duck if fetch is _duck_rows else postgres
        pages = [kpis.normalise(kpi, fetch(con, kpi, {}, offset, 2)) for offset in range(0, len(whole) + 2, 2)]
        assert [row for page in pages for row in page] == whole
        assert all(len(page) <= 2 for page in pages) and pages[-1] == []
        keys = [tuple(row[k] for k in kpi.key) for row in whole]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_a_value_with_quotes_or_percent_is_bound_not_spliced(duck, postgres):
    """The filters are validated before binding; below that, the engines bind whatever they are given, so
    a hostile string matches nothing instead of changing the SQL (psycopg's % included)."""
    kpi = kpis.get("loss_ratio")
    values = kpis.bind(kpi, {}, offset=0, limit=10)
    hostile = "' OR '1'='1 %s %%"
    values = [hostile if v == "" else v for v in values]
    assert duck.execute(kpi.sql, values).fetchall() == []
    with postgres.cursor() as cur:
        cur.execute(kpis.pyformat(kpi.sql), values)
        assert cur.fetchall() == []


def test_placeholders_skip_strings_identifiers_and_comments():
    sql = "SELECT '?', \"a?\", 'it''s ?' -- ?\n, ? /* ? */ FROM t WHERE x = ? AND y LIKE '%'"
    marks = kpis.placeholders(sql)
    assert [sql[i] for i in marks] == ["?", "?"] and len(marks) == 2
    assert kpis.pyformat(sql) == ("SELECT '?', \"a?\", 'it''s ?' -- ?\n, %s /* ? */ FROM t WHERE x = %s AND y "
                                  "LIKE '%%'")
    with pytest.raises(ValueError):
        kpis.placeholders("SELECT 'open")


def test_filters_are_validated():
    assert kpis.validate_filters({"month_from": "2025-01", "state": "SP", "line_of_business": ""}) == {
        "month_from": "2025-01", "state": "SP"}
    for bad in ({"month_from": "2025-13"}, {"month_to": "2025-1"}, {"line_of_business": "531"},
                {"state": "XX"}, {"state": "sp"}, {"month_from": "2025-03", "month_to": "2025-02"},
                {"colour": "red"}, {"state": "SP' OR 1=1"}):
        with pytest.raises(ValueError):
            kpis.validate_filters(bad)


def test_bound_values_and_athena_literals():
    kpi = kpis.get("loss_ratio_by_line_of_business")
    values = kpis.bind(kpi, {"state": "SP"}, offset=20, limit=11)
    assert values == ["0000-00", "9999-99", "", "", "SP", "SP", 20, 11]
    assert kpis.execution_parameters(values) == ["'0000-00'", "'9999-99'", "''", "''", "'SP'", "'SP'", "20", "11"]
    assert kpis.execution_parameters(["it's"]) == ["'it''s'"]
    statement = kpis.emulator_statement(kpi, values)
    assert statement.startswith("PREPARE kpi_loss_ratio_by_line_of_business AS\n" + kpi.sql + ";\n")
    assert statement.endswith("EXECUTE kpi_loss_ratio_by_line_of_business('0000-00', '9999-99', '', '', 'SP', 'SP', 20, 11)")
    with pytest.raises(ValueError):
        kpis.bind(kpi, {}, offset=-1, limit=10)


def test_the_emulator_statement_runs_on_duckdb_and_binds_like_the_plain_query(duck):
    kpi = kpis.get("market_share")
    values = kpis.bind(kpi, {"line_of_business": "0531"}, offset=1, limit=2)
    duck.execute(kpis.emulator_statement(kpi, values).split(";\n")[0])
    via_prepare = duck.execute(kpis.emulator_statement(kpi, values).split(";\n")[1]).fetchall()
    assert via_prepare == duck.execute(kpi.sql, values).fetchall() and len(via_prepare) == 2


def test_normalise_is_exact_and_refuses_floats():
    kpi = kpis.get("loss_ratio_by_line_of_business")
    assert kpis.normalise(kpi, [["0531", Decimal("3"), "1.5", 7]]) == [
        {"line_of_business": "0531", "claim_count": 3, "claims_incurred": "1.50", "premiums_earned": "7.00",
         "loss_ratio": "0.214286"}]
    assert kpis.normalise(kpi, [["0531", "0", "1.00", "0.00"]])[0]["loss_ratio"] is None
    assert kpis.normalise(kpi, [["0531", "1", "1.00", "8.00"]])[0]["loss_ratio"] == "0.125000"
    with pytest.raises(TypeError):
        kpis.normalise(kpi, [["0531", 1, 1.5, Decimal("7")]])
    with pytest.raises(ValueError):
        kpis.normalise(kpi, [["0531", 1, "1.505", "7"]])  # more places than the column has: not exact
    with pytest.raises(ValueError):
        kpis.normalise(kpi, [["0531", 1, "1.50"]])
