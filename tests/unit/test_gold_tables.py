"""Gold table specs: consistent with each other, with the quality-gate declarations, and Spark-free."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.catalog_spec import TableSpec
from lakehouse.gold_tables import (
    FOREIGN_KEYS,
    GOLD_TABLES,
    GOLD_TABLES_BY_NAME,
    NULLABLE,
    column_names,
    required_columns,
)

ROOT = Path(__file__).resolve().parents[2]
GLUE_TYPE = re.compile(r"^(string|int|bigint|double|boolean|date|timestamp|decimal\(\d+,\d+\))$")
EXPECTED = {"dim_date", "dim_insurer", "dim_line_of_business", "dim_state", "dim_customer", "dim_policy",
            "fact_premium", "fact_claim", "fact_market", "kpi_loss_ratio", "kpi_market_share"}


def test_every_gold_table_is_declared_once():
    assert {t.name for t in GOLD_TABLES} == EXPECTED
    assert len(GOLD_TABLES) == len(EXPECTED)
    assert all(isinstance(t, TableSpec) for t in GOLD_TABLES)


@pytest.mark.parametrize("table", GOLD_TABLES, ids=lambda t: t.name)
def test_table_shape(table: TableSpec):
    assert table.layer == "gold"
    assert table.location == f"{table.name}/"
    assert table.description
    assert table.primary_key, "every gold table documents its key"
    for column in (*table.columns, *table.partition_keys):
        assert GLUE_TYPE.match(column.type), (column.name, column.type)
    money = [c for c in table.columns if c.name.endswith(("_amount", "premiums_written", "premiums_earned"))]
    assert all(c.type == "decimal(18,2)" for c in money)
    assert all(c.type == "bigint" for c in table.columns if c.name.endswith("_key") and c.name != "date_key")
    if table.name.startswith(("fact_", "kpi_")):
        assert [c.name for c in table.partition_keys] == ["month"]
        assert table.primary_key[0] == "month"
        projection = table.projection["month"]
        assert (projection.kind, projection.format, projection.interval_unit) == ("date", "yyyy-MM", "MONTHS")
        assert projection.range == "1990-01,NOW+10YEARS"
        assert table.storage_template("s3://gold-bucket/") == f"s3://gold-bucket/{table.name}/month=${{month}}"
    else:
        assert table.partition_keys == ()


def test_foreign_keys_point_at_keys_of_existing_tables():
    for table, fk, dim, pk in FOREIGN_KEYS:
        assert fk in column_names(GOLD_TABLES_BY_NAME[table]), (table, fk)
        target = GOLD_TABLES_BY_NAME[dim]
        natural = {"dim_customer": "customer_id", "dim_state": "state"}  # natural keys referenced by dims
        assert (pk,) == tuple(target.primary_key) or natural.get(dim) == pk, (dim, pk)
        assert dim.startswith("dim_")
    facts = {t for t, *_ in FOREIGN_KEYS}
    assert {"fact_premium", "fact_claim", "fact_market", "kpi_loss_ratio", "kpi_market_share"} <= facts
    # every surrogate key column of a fact or KPI is checked
    for table in GOLD_TABLES:
        if table.name.startswith(("fact_", "kpi_")):
            keys = {c.name for c in table.columns if c.name.endswith("_key")}
            assert keys == {fk for t, fk, *_ in FOREIGN_KEYS if t == table.name}, table.name


def test_nullable_and_required_columns():
    for name, columns in NULLABLE.items():
        assert columns <= set(column_names(GOLD_TABLES_BY_NAME[name])), name
    policy = GOLD_TABLES_BY_NAME["dim_policy"]
    assert "product_name" not in required_columns(policy) and "policy_key" in required_columns(policy)
    premium = GOLD_TABLES_BY_NAME["fact_premium"]
    # only the customer version may be missing (a deleted customer): every other column is required
    assert required_columns(premium) == [c for c in column_names(premium) if c != "customer_key"]
    assert column_names(GOLD_TABLES_BY_NAME["fact_claim"])[-1] == "month"


def test_gold_specs_import_no_spark():
    code = "import sys, lakehouse.gold_tables; assert not [m for m in sys.modules if m.startswith('pyspark')]"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
