"""``make dashboard``: the local dashboard page from the warehouse stand-in.

The three views' KPI queries (:data:`dashboard.views.VIEWS`) run against the local PostgreSQL (loaded by
``make demo`` from the published gold copy), and the page is written as one self-contained HTML file
(:func:`dashboard.render.render_page`): it opens offline, in any browser.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from dashboard.render import render_page
from dashboard.views import VIEWS, charts
from local_runtime.paths import ROOT
from local_runtime.services.postgres import PostgresServer
from warehouse.connection import connect
from warehouse.kpis import kpi_rows
from warehouse.schema import DEFAULT_SCHEMA

DEFAULT_PAGE = ROOT / "build" / "dashboard.html"

__all__ = ["DEFAULT_PAGE", "main", "warehouse_kpis", "write_dashboard"]


def warehouse_kpis(server: PostgresServer | None = None, *, schema: str = DEFAULT_SCHEMA) -> dict[str, list[dict]]:
    """Every row of each view's KPI, from the local warehouse."""
    server = server or PostgresServer()
    if server.health() is None:
        raise RuntimeError("the local warehouse (PostgreSQL) is not running: `make demo` starts and loads it")
    with connect(server.settings()) as warehouse:
        return {view.kpi: kpi_rows(warehouse, view.kpi, schema=schema) for view in VIEWS}


def write_dashboard(path: Path = DEFAULT_PAGE, rows: dict[str, list[dict]] | None = None, **kwargs) -> Path:
    """Render the page from ``rows`` (default: :func:`warehouse_kpis`) to ``path``."""
    rows = warehouse_kpis(**kwargs) if rows is None else rows
    if not any(rows.values()):
        raise RuntimeError("the warehouse holds no KPI rows yet: run `make demo` (it loads gold into the warehouse)")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = render_page("lakeforge: the company's KPIs", charts(rows),
                       subtitle=f"From the local warehouse (PostgreSQL standing in for Redshift), {stamp}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_PAGE, help=f"page to write (default {DEFAULT_PAGE})")
    args = parser.parse_args(argv)
    try:
        path = write_dashboard(args.out)
    except RuntimeError as exc:
        print(f"[dashboard] {exc}", file=sys.stderr)
        return 1
    print(f"[dashboard] {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
