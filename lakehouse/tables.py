"""Every table of the lakehouse: the silver tables (one per data contract) and the gold star schema.

Standard library only (no Spark): the Terraform synth declares these tables in the Glue Data Catalog.
"""
from __future__ import annotations

from lakehouse.catalog_spec import TableSpec
from lakehouse.gold_tables import GOLD_TABLES
from lakehouse.silver_tables import SILVER_TABLES

__all__ = ["all_tables"]


def all_tables() -> tuple[TableSpec, ...]:
    """Every silver and gold table, silver first."""
    return tuple(SILVER_TABLES) + tuple(GOLD_TABLES)
