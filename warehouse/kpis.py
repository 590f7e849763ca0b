"""The KPI queries (:mod:`queries.kpi`) run in the warehouse: the same SQL and the same normalisation as the
query API's Athena run, so both answer alike. Tables are found through the session's ``search_path``
(PostgreSQL: set here to the warehouse schema)."""
from __future__ import annotations

from collections.abc import Mapping

from queries import kpi as kpis
from warehouse.connection import Warehouse
from warehouse.schema import DEFAULT_SCHEMA, validate_name

__all__ = ["kpi_page", "kpi_rows"]


def _use_schema(warehouse: Warehouse, schema: str) -> None:
    if warehouse.dialect != "postgres":
        raise NotImplementedError("KPI queries through the Redshift Data API need the schema on the search_path "
                                  "of the Data API user: not wired yet (QuickSight reads Redshift directly)")
    warehouse.execute(f"SET search_path TO {validate_name(schema)}")


def kpi_page(warehouse: Warehouse, kpi: kpis.Kpi, values: list, *, schema: str = DEFAULT_SCHEMA) -> list[dict]:
    """One page of ``kpi`` with bound ``values`` (:func:`queries.kpi.bind`), normalised."""
    _use_schema(warehouse, schema)
    return kpis.normalise(kpi, warehouse.query(kpi.sql, values))


def kpi_rows(warehouse: Warehouse, name: str, filters: Mapping[str, str] | None = None, *,
             schema: str = DEFAULT_SCHEMA) -> list[dict]:
    """Every row of KPI ``name`` for ``filters``, page by page."""
    kpi = kpis.get(name)
    return kpis.all_rows(kpi, filters or {}, lambda values: kpi_page(warehouse, kpi, values, schema=schema))
