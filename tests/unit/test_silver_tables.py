"""Silver table specs derived from the contract registry (no Spark)."""
from __future__ import annotations

import pytest

from data_contracts.contracts import REGISTRY
from lakehouse.silver_tables import (
    LINEAGE_COLUMNS, PARTITIONING, PROJECTION_START, PROTECTION, SILVER_TABLES, conformed_table, field_glue_type,
    field_kind, silver_table, silver_table_by_name,
)

LINEAGE = ["event_id", "event_time", "op", "ingest_shard_id", "ingest_sequence_number", "ingest_date", "silver_run_id"]


def test_one_table_per_contract():
    assert sorted(t.name for t in SILVER_TABLES) == sorted(f"{s}_{e}" for s, e in REGISTRY)
    for (source, entity), contract in REGISTRY.items():
        spec = silver_table(source, entity)
        assert spec.layer == "silver"
        assert spec.name == f"{source}_{entity}"
        assert spec.location == f"{source}/{entity}/"
        assert spec.primary_key == contract.business_key
        assert silver_table_by_name(spec.name) is spec


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_columns_follow_the_contract_then_lineage(key):
    contract, spec = REGISTRY[key], silver_table(*key)
    part = PARTITIONING[key]
    protection = PROTECTION.get(key, {})
    fields = [protection[name].column if name in protection else name for name in contract.field_names
              if name != part.column]
    assert [c.name for c in spec.columns] == [name for name in fields if name] + LINEAGE
    clear = conformed_table(*key)
    assert [c.name for c in clear.columns] == [n for n in contract.field_names if n != part.column] + LINEAGE
    assert [c.name for c in spec.partition_keys] == [part.column]
    assert [c.type for c in spec.partition_keys] == ["string"]
    assert all(c.comment for c in spec.columns)


def test_no_personal_field_is_stored_in_the_clear():
    for key, contract in REGISTRY.items():
        stored = {c.name for c in silver_table(*key).columns}
        assert not stored & set(contract.personal), contract.name
        assert set(PROTECTION.get(key, {})) == set(contract.personal)
    assert {c.name: c.type for c in silver_table("erp", "customer").columns if c.name in ("document_hash", "birth_year")} \
        == {"document_hash": "string", "birth_year": "int"}


def test_a_personal_field_without_its_protection_is_refused():
    from lakehouse.silver_tables import Protection

    with pytest.raises(ValueError, match="a stored column is needed"):
        Protection("keyed_hash")
    with pytest.raises(ValueError, match="unknown protection"):
        Protection("clear", "x")


def test_types():
    types = {(t.name, c.name): c.type for t in SILVER_TABLES for c in t.columns + t.partition_keys}
    expected = {
        ("erp_policy", "start_date"): "date",
        ("erp_policy", "issued_at"): "timestamp",
        ("erp_policy", "sum_insured"): "decimal(18,2)",
        ("erp_policy", "policy_id"): "string",
        ("erp_policy", "line_of_business"): "string",
        ("erp_customer", "birth_year"): "int",
        ("erp_customer", "document_hash"): "string",
        ("erp_premium_installment", "installment_number"): "int",
        ("erp_premium_installment", "paid_date"): "date",
        ("susep_market_statistics", "policies_in_force"): "bigint",
        ("susep_market_statistics", "claims_incurred"): "decimal(18,2)",
        ("susep_market_statistics", "reference_month"): "string",
        ("erp_claim", "occurrence_month"): "string",
        ("erp_policy", "event_time"): "timestamp",
        ("erp_policy", "ingest_date"): "date",
        ("erp_policy", "ingest_sequence_number"): "string",
    }
    for key, glue_type in expected.items():
        assert types[key] == glue_type, key
    allowed = {"string", "date", "timestamp", "decimal(18,2)", "int", "bigint"}
    assert set(types.values()) <= allowed


def test_field_kind_from_fragments():
    assert field_kind({"type": "string", "format": "date"}) == "date"
    assert field_kind({"type": ["string", "null"], "format": "date"}) == "date"
    assert field_kind({"type": "string", "format": "date-time"}) == "timestamp"
    assert field_kind({"type": "number", "multipleOf": 0.01}) == "money"
    assert field_kind({"type": "integer", "minimum": 1, "maximum": 60}) == "int"
    assert field_kind({"type": "integer", "minimum": 0}) == "bigint"
    assert field_kind({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"}) == "month"
    assert field_glue_type({"type": "string", "enum": ["a"]}) == "string"


def test_partitioning_is_by_an_immutable_month_with_projection():
    expected = {
        "susep_market_statistics": "reference_month", "erp_customer": "created_month",
        "erp_policy": "issued_month", "erp_premium_installment": "due_month", "erp_claim": "occurrence_month",
    }
    for spec in SILVER_TABLES:
        column = spec.partition_keys[0].name
        assert column == expected[spec.name]
        projection = spec.projection[column]
        assert (projection.kind, projection.format, projection.interval_unit) == ("date", "yyyy-MM", "MONTHS")
        start, end = projection.range.split(",")
        assert start == PROJECTION_START
        assert end == ("NOW+10YEARS" if spec.name == "erp_premium_installment" else "NOW")
        assert spec.storage_template("s3://silver") == f"s3://silver/{spec.location.rstrip('/')}/{column}=${{{column}}}"
    # market statistics: the partition key is the contract field itself, not repeated as a column
    ms = silver_table("susep", "market_statistics")
    assert "reference_month" not in [c.name for c in ms.columns]
    assert "reference_month" in ms.primary_key


def test_lineage_columns_are_shared():
    assert [c.name for c in LINEAGE_COLUMNS] == LINEAGE
    for spec in SILVER_TABLES:
        assert spec.columns[-len(LINEAGE):] == LINEAGE_COLUMNS
