"""The warehouse DDL generated from the gold specs: every table, its types, keys and distribution, and the
transpilation to PostgreSQL."""
from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from lakehouse.gold_tables import FOREIGN_KEYS, GOLD_TABLES, NULLABLE, SMALL_TABLES, column_names
from warehouse import schema

REDSHIFT = schema.redshift_ddl("wh")
POSTGRES = schema.postgres_ddl("wh")


def _create(statements, name):
    trees = [sqlglot.parse_one(s, read="redshift") for s in statements]
    return next(t for t in trees if isinstance(t, exp.Create) and t.kind == "TABLE" and t.this.this.name == name)


def _by_table(statements):
    return {re.search(r"CREATE TABLE IF NOT EXISTS wh\.(\w+)", s).group(1): s
            for s in statements if "CREATE TABLE" in s}


def test_one_table_per_gold_table_plus_the_load_log_after_the_schema():
    assert REDSHIFT[0] == "CREATE SCHEMA IF NOT EXISTS wh"
    assert set(_by_table(REDSHIFT)) == {t.name for t in GOLD_TABLES} | {schema.LOAD_LOG}
    assert len(REDSHIFT) == len(GOLD_TABLES) + 2


@pytest.mark.parametrize("spec", GOLD_TABLES, ids=lambda t: t.name)
def test_columns_types_and_not_null_follow_the_spec(spec):
    tree = _create(REDSHIFT, spec.name)
    defs = {c.name: c for c in tree.find_all(exp.ColumnDef)}
    assert list(defs) == column_names(spec)
    nullable = NULLABLE.get(spec.name, frozenset())
    for col in (*spec.columns, *spec.partition_keys):
        d = defs[col.name]
        not_null = any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in d.constraints)
        assert not_null == (col.name not in nullable), col.name
        expected_type, _ = schema.column_type(col.type)
        assert d.args["kind"].sql("redshift").replace(" ", "") == \
            sqlglot.parse_one(f"CAST(x AS {expected_type})", read="redshift").to.sql("redshift").replace(" ", "")


def test_types_of_the_glue_types():
    assert schema.column_type("decimal(18,2)") == ("DECIMAL(18,2)", "AZ64")
    assert schema.column_type("string") == ("VARCHAR(1024)", "ZSTD")
    assert schema.column_type("bigint") == ("BIGINT", "AZ64")
    with pytest.raises(ValueError, match="no warehouse type"):
        schema.column_type("map<string,string>")


@pytest.mark.parametrize("spec", GOLD_TABLES, ids=lambda t: t.name)
def test_primary_key_and_sort_key_are_the_spec_primary_key(spec):
    tree = _create(REDSHIFT, spec.name)
    pk = tree.find(exp.PrimaryKey)
    assert [e.name for e in pk.expressions] == list(spec.primary_key)
    sort = tree.find(exp.SortKeyProperty)
    assert [e.name for e in sort.this] == list(spec.primary_key)
    ddl = _by_table(REDSHIFT)[spec.name]
    assert f"{spec.primary_key[0]} " in ddl and re.search(rf"\n  {spec.primary_key[0]} [^\n]* ENCODE RAW", ddl)


def test_every_reference_to_a_primary_key_is_a_foreign_key():
    declared = set()
    for spec in GOLD_TABLES:
        for fk in _create(REDSHIFT, spec.name).find_all(exp.ForeignKey):
            ref = fk.args["reference"].this
            declared.add((spec.name, fk.expressions[0].name, ref.this.name, ref.expressions[0].name))
    pk_refs = {fk for fk in FOREIGN_KEYS
               if next(t for t in GOLD_TABLES if t.name == fk[2]).primary_key == (fk[3],)}
    assert declared == pk_refs
    assert len(pk_refs) == len(FOREIGN_KEYS) - 2  # dim_customer.state and dim_policy.customer_id: not keys
    assert ("fact_premium", "policy_key", "dim_policy", "policy_key") in declared


def test_referenced_tables_are_created_first():
    order = [name for name in _by_table(REDSHIFT)]
    for table, _, ref, _ in FOREIGN_KEYS:
        assert order.index(ref) <= order.index(table), (table, ref)


def test_distribution_and_encodings():
    ddls = _by_table(REDSHIFT)
    for name in SMALL_TABLES:
        assert "\n) DISTSTYLE ALL COMPOUND SORTKEY" in ddls[name]
    for name in ("dim_policy", "fact_premium", "fact_claim"):
        assert "DISTSTYLE KEY DISTKEY (policy_key)" in ddls[name]
    assert "COMPOUND SORTKEY (month, policy_key)" in ddls["fact_premium"]
    assert "premiums_written DECIMAL(18,2) NOT NULL ENCODE AZ64" in ddls["fact_premium"]
    assert "policy_id VARCHAR(1024) NOT NULL ENCODE ZSTD" in ddls["fact_premium"]
    assert "is_company BOOLEAN NOT NULL," in ddls["dim_insurer"]


def test_postgres_ddl_has_no_redshift_only_parts_and_parses_as_postgres():
    assert len(POSTGRES) == len(REDSHIFT)
    for redshift, postgres in zip(REDSHIFT, POSTGRES):
        for word in ("DISTSTYLE", "DISTKEY", "SORTKEY", "ENCODE"):
            assert word not in postgres.upper()
        tree = sqlglot.parse_one(postgres, read="postgres")
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            original = sqlglot.parse_one(redshift, read="redshift")
            assert [c.name for c in tree.find_all(exp.ColumnDef)] == [c.name for c in original.find_all(exp.ColumnDef)]
            assert len(list(tree.find_all(exp.ForeignKey))) == len(list(original.find_all(exp.ForeignKey)))
            assert (tree.find(exp.PrimaryKey) is not None) == (tree.this.this.name != schema.LOAD_LOG)


def test_names_are_checked():
    with pytest.raises(ValueError, match="lower case"):
        schema.redshift_ddl("wh; DROP TABLE x")
