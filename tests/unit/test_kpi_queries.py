"""The KPI queries (queries/kpi_*.sql, queries.kpi) run unchanged on DuckDB and on a real PostgreSQL 15 over the
same small gold rows, with the values bound by each engine, and return identical normalised results for the
same filters and pages: equal to an independent computation in Python, too."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from lakehouse.gold_tables import GOLD_TABLES_BY_NAME, column_names
from queries import kpi as kpis
from local_runtime.services.base import free_port
from local_runtime.services.postgres import PostgresServer, remove_data
from tests.kpi_gold_rows import ROWS, TABLES, expected
from warehouse.schema import column_type

def _ddl(name: str) -> str:
    """The table with the warehouse's column types (``warehouse.schema``), without its keys: the literal rows
    hold facts without their dimensions."""
    table = GOLD_TABLES_BY_NAME[name]
    cols = [(c.name, column_type(c.type)[0]) for c in (*table.columns, *table.partition_keys)]
    return f"CREATE TABLE {name} ({', '.join(f'{n} {t}' for n, t in cols)})"


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


@pytest.fixture(scope="module")
def postgres():
    """A throwaway local Redshift stand-in (:class:`PostgresServer`) on a free port."""
    import psycopg

    port = free_port()
    server = PostgresServer(port)
    server.start()
    try:
        con = psycopg.connect(**server.settings().psycopg_kwargs(), autocommit=True)
        con.execute("CREATE SCHEMA kpi_test")
        con.execute("SET search_path TO kpi_test")
        with con.cursor() as cur:
            _load(lambda sql, params: cur.execute(sql, params), "%s")
        yield con
        con.close()
    finally:
        server.stop()
        remove_data(port)


def _duck_rows(con, kpi, filters, offset, limit):
    return con.execute(kpi.sql, kpis.bind(kpi, filters, offset=offset, limit=limit)).fetchall()


def _pg_rows(con, kpi, filters, offset, limit):
    with con.cursor() as cur:
        cur.execute(kpis.pyformat(kpi.sql), kpis.bind(kpi, filters, offset=offset, limit=limit))
        assert [d.name for d in cur.description] == [c.name for c in kpi.sql_columns]
        return cur.fetchall()


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


@pytest.mark.parametrize("name", KPI_NAMES)
def test_the_data_set_sql_is_the_unfiltered_kpi_on_qualified_tables(duck, postgres, name):
    """A BI data set per KPI (QuickSight custom SQL, :func:`queries.kpi.dataset_sql`) takes no parameters and
    cannot choose a search path: with the tables qualified it gives exactly the KPI's unfiltered rows, on
    PostgreSQL (the warehouse) and DuckDB (Athena's engine locally)."""
    kpi = kpis.get(name)
    sql = kpis.dataset_sql(kpi, "kpi_test")
    assert kpis.placeholders(sql) == [] and "OFFSET" not in sql.upper()
    with postgres.cursor() as cur:
        cur.execute("SET search_path TO public")
        try:
            cur.execute(sql)
            rows = cur.fetchall()
        finally:
            cur.execute("SET search_path TO kpi_test")
    assert kpis.normalise(kpi, rows) == expected(name, {})
    assert kpis.normalise(kpi, duck.execute(kpis.dataset_sql(kpi, "main")).fetchall()) == expected(name, {})


def test_the_data_set_sql_refuses_a_schema_that_is_not_an_identifier():
    with pytest.raises(ValueError, match="not a plain identifier"):
        kpis.dataset_sql(kpis.get("loss_ratio"), "x; DROP TABLE y")


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
    for other in (True, 1.5, None):
        with pytest.raises(TypeError, match="strings or integers"):
            kpis.quote_literal(other)
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
