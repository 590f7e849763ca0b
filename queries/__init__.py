"""The project's fixed SQL over the lake, one plain ``.sql`` file per query, and the loader every reader uses
(the demo and the end-to-end tests today; the Athena named queries, the query API and the dashboard next).

A file starts with ``-- key: value`` comment lines, then the SQL::

    -- title: loss ratio ..., top 10 cells by claims incurred     (what the query shows, one line)
    -- layer: gold                                                (the layer whose Glue database it runs in)
    SELECT ...

Other comment lines before the SQL are documentation and are not part of :attr:`Query.sql`.

A KPI query (the query API, the Athena named queries, the warehouse and the dashboard run these) has more
header lines, read by :mod:`queries.kpi` (the format is documented there): ``kpi: true``, ``description``,
``key``, one ``column`` line per result column, and ``parameters`` (the name of each positional ``?``).
Every header line is kept, in order, in :attr:`Query.header`.

A file whose SQL contains ``{table}`` is a per-table template (``row_counts.sql``): its ``layer`` line
may name several layers, and for each one the SQL is repeated for every table of that layer, in the
order of the table specs (``lakehouse.tables.all_tables()``), joined by ``UNION ALL``; the
query is called ``<file name>_<layer>`` and ``{layer}`` in its title becomes the layer.

Standard library only (the table specs it reads are standard library only too).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lakehouse.tables import all_tables

__all__ = ["LAYERS", "Query", "all_queries", "get", "row_counts", "tables"]

HERE = Path(__file__).resolve().parent
LAYERS = ("bronze", "silver", "gold")
_KEYS = {"title", "layer"}
KPI_KEYS = {"kpi", "description", "key", "column", "parameters"}
"""Header keys of KPI queries (:mod:`queries.kpi`); ``column`` may repeat."""


@dataclass(frozen=True)
class Query:
    name: str
    """File name without ``.sql`` (``kpi_loss_ratio_top``); ``<file>_<layer>`` for a template (``row_counts_gold``)."""
    title: str
    layer: str
    """The layer (``silver``, ``gold``) whose Glue database the query runs in."""
    sql: str
    header: tuple[tuple[str, str], ...] = ()
    """Every ``-- key: value`` header line of the file, in order (repeated keys included)."""


def _parse(path: Path) -> tuple[dict[str, str], str, tuple[tuple[str, str], ...]]:
    header: dict[str, str] = {}
    lines_kept: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    body_start = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("--"):
            body_start = i
            break
        key, sep, value = stripped[2:].partition(":")
        key = key.strip()
        if sep and key in _KEYS | KPI_KEYS:
            if key in header and key != "column":
                raise ValueError(f"{path.name}: header line {key!r} appears twice")
            header[key] = value.strip()
            lines_kept.append((key, value.strip()))
    missing = _KEYS - header.keys()
    if missing:
        raise ValueError(f"{path.name}: missing header line(s) {sorted(missing)}")
    sql = "\n".join(lines[body_start:]).strip()
    if not sql:
        raise ValueError(f"{path.name}: no SQL after the header")
    return header, sql, tuple(lines_kept)


def tables(layer: str) -> list[str]:
    """Table names of a layer from its specs (:func:`lakehouse.tables.all_tables`), in spec order."""
    return [t.name for t in all_tables() if t.layer == layer]


def _load(path: Path) -> list[Query]:
    header, sql, kept = _parse(path)
    layers = [layer.strip() for layer in header["layer"].split(",") if layer.strip()]
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown or not layers:
        raise ValueError(f"{path.name}: layer must be among {LAYERS}, got {header['layer']!r}")
    if "{table}" not in sql:
        if len(layers) != 1:
            raise ValueError(f"{path.name}: only a per-table template may name several layers")
        return [Query(path.stem, header["title"], layers[0], sql, kept)]
    queries = []
    for layer in layers:
        names = tables(layer)
        if not names:
            raise ValueError(f"{path.name}: the {layer} layer has no tables")
        union = "\nUNION ALL\n".join(sql.replace("{table}", table) for table in names)
        queries.append(Query(f"{path.stem}_{layer}", header["title"].replace("{layer}", layer), layer, union))
    return queries


@lru_cache(maxsize=None)
def all_queries() -> tuple[Query, ...]:
    """Every query of the folder (templates expanded), in file-name order."""
    found = [q for path in sorted(HERE.glob("*.sql")) for q in _load(path)]
    names = [q.name for q in found]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate query names in {HERE}: {names}")
    return tuple(found)


def get(name: str) -> Query:
    for query in all_queries():
        if query.name == name:
            return query
    raise KeyError(f"no query {name!r} in {HERE} (have: {', '.join(q.name for q in all_queries())})")


def row_counts(layer: str) -> Query:
    """``SELECT table_name, row_count`` for every table of ``layer`` (one row per table)."""
    return get(f"row_counts_{layer}")
