"""The dashboard's three views, each one KPI query of ``queries/`` (the same the API and Athena run):

===============================  ==================================================================
premiums and claims by month     ``kpi_premiums_claims_by_month``: premiums written and earned,
                                 claims incurred, one line each
loss ratio by line of business   ``kpi_loss_ratio_by_line_of_business``: one bar per line
market share by state            ``kpi_market_share_by_state``: one bar per state (company / SUSEP)
===============================  ==================================================================

:func:`charts` turns each KPI's normalised rows (:func:`queries.kpi.normalise`, from any engine) into a
:class:`dashboard.render.Chart`.
Standard library only.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.render import Chart, Series
from queries import kpi as kpis

__all__ = ["VIEWS", "View", "charts"]


@dataclass(frozen=True)
class View:
    key: str
    kpi: str
    """KPI name (``queries/kpi_<name>.sql``)."""
    kind: str
    category: str
    """The result column on the x axis (the KPI's key)."""
    series: tuple[tuple[str, str], ...]
    """(result column, legend) per series."""
    percent: bool = False


VIEWS: tuple[View, ...] = (
    View("premiums_claims_by_month", "premiums_claims_by_month", "lines", "month",
         (("premiums_written", "premiums written"), ("premiums_earned", "premiums earned"),
          ("claims_incurred", "claims incurred"))),
    View("loss_ratio_by_line_of_business", "loss_ratio_by_line_of_business", "bars", "line_of_business",
         (("loss_ratio", "loss ratio (claims incurred / premiums earned)"),), percent=True),
    View("market_share_by_state", "market_share_by_state", "bars", "state",
         (("market_share", "market share (company / SUSEP market premiums written)"),), percent=True),
)

Row = Mapping[str, str | int | None]


def charts(rows_by_kpi: Mapping[str, list[Row]]) -> tuple[Chart, ...]:
    """One chart per view from its KPI's rows."""
    out = []
    for view in VIEWS:
        kpi = kpis.get(view.kpi)
        rows = rows_by_kpi[view.kpi]
        out.append(Chart(
            key=view.key, title=kpi.query.title, kind=view.kind, percent=view.percent, note=kpi.description,
            categories=tuple(str(r[view.category]) for r in rows),
            series=tuple(Series(legend, tuple(r[column] for r in rows)) for column, legend in view.series)))
    return tuple(out)
