"""The KPI queries: what the query API, the Athena named queries, the warehouse and the dashboard run.

A KPI is a ``queries/kpi_<name>.sql`` file whose header says ``-- kpi: true``; its name is ``<name>``.
Its other header lines::

    -- description: one line, shown by the API
    -- key: month, line_of_business, state        the result's unique key (the SQL orders by it: stable pages)
    -- column: <name> <gold table>.<gold column>  one line per result column, in order; the type comes from
                                                  the gold table spec (lakehouse.gold_tables)
    -- column: <name> <table>.<column> = <numerator> / <denominator>
                                                  a ratio computed from two earlier columns by
                                                  :func:`normalise` (not by the SQL: engines divide decimals
                                                  differently, DuckDB even in floating point), rounded half
                                                  up to the column's scale; null when the denominator is
                                                  null or <= 0 (the rule of gold's ratios)
    -- parameters: month_from, month_to, ...      the filter (or ``offset``, ``limit``) bound to each
                                                  positional ``?`` of the SQL, in order (a name may repeat)

Every KPI takes the same filters (:data:`FILTERS`): an inclusive month range, a line of business and a
state, each optional. The SQL binds them without NULLs (Athena refuses null execution parameters), as::

    month BETWEEN ? AND ?                          unset: '0000-00' and '9999-99'
    (? = '' OR line_of_business = ?)               unset: ''
    (? = '' OR state = ?)                          unset: ''
    ORDER BY <key> OFFSET ? LIMIT ?                pagination

This form runs unchanged on Athena engine v3 (Trino), DuckDB and PostgreSQL 15 (measured for DuckDB and
PostgreSQL by ``tests/unit/test_kpi_queries.py``). Values are always bound by the engine:

* DuckDB: ``con.execute(kpi.sql, bind(kpi, ...))``;
* PostgreSQL (psycopg): ``cur.execute(pyformat(kpi.sql), bind(kpi, ...))`` (``?`` -> ``%s``);
* Athena: ``ExecutionParameters=execution_parameters(bind(kpi, ...))``;
* the local emulator's Athena, which ignores ``ExecutionParameters`` (measured: its DuckDB then fails
  with "Values were not provided for the following prepared statement parameters") and knows no
  ``EXECUTE ... USING``: :func:`emulator_statement` sends DuckDB's own ``PREPARE name AS <sql>;
  EXECUTE name(<values>)``, the engine binding the values (validated by :func:`validate_filters`) to the
  unchanged SQL's typed parameters, as Athena binds ``EXECUTE ... USING``.

Results are normalised once (:func:`normalise`), whatever the engine returned (Athena's strings,
DuckDB's and psycopg's ``Decimal``/``int``): strings stay strings, integers become ``int``, decimals become
exact decimal strings with the scale of their gold column (``"1234.50"``), null stays ``None``; a float
is refused (it would mean an engine computed money in floating point).

Standard library only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

from data_contracts.reference import STATE_CODES
from lakehouse.gold_tables import GOLD_TABLES_BY_NAME, NULLABLE
from queries import Query, all_queries

__all__ = [
    "FILTERS", "PAGING", "Column", "Filter", "Kpi", "all_rows", "bind", "dataset_sql", "emulator_statement", "execution_parameters", "get",
    "kpis", "normalise", "numbered", "placeholders", "pyformat", "quote_literal", "validate_filters",
]

PREFIX = "kpi_"


@dataclass(frozen=True)
class Filter:
    name: str
    description: str
    pattern: str
    """Regular expression a given value must match in full."""
    unset: str
    """The value bound when the filter is not given (matches everything)."""
    example: str
    choices: tuple[str, ...] = ()
    """When not empty: the only values allowed."""


_MONTH = r"[0-9]{4}-(0[1-9]|1[0-2])"
FILTERS: tuple[Filter, ...] = (
    Filter("month_from", "First month, inclusive (yyyy-MM)", _MONTH, "0000-00", "2025-01"),
    Filter("month_to", "Last month, inclusive (yyyy-MM)", _MONTH, "9999-99", "2025-12"),
    Filter("line_of_business", "SUSEP line of business (ramo), 4 digits", r"[0-9]{4}", "", "0531"),
    Filter("state", "State (UF) of the insured risk or market cell", r"[A-Z]{2}", "", "SP", STATE_CODES),
)
FILTERS_BY_NAME: dict[str, Filter] = {f.name: f for f in FILTERS}
PAGING = ("offset", "limit")
"""The two pagination parameters (integers) a KPI's SQL binds after its filters."""

_TYPE_RE = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_INTEGER_TYPES = {"int", "bigint", "smallint", "tinyint"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The gold column's Glue type (``string``, ``bigint``, ``decimal(18,2)``, ...)."""
    source: str
    """``<gold table>.<gold column>`` the type and meaning come from."""
    description: str
    ratio: tuple[str, str] | None = None
    """``(numerator, denominator)`` for a column computed by :func:`normalise`; None for a SQL column."""
    nullable: bool = False
    """May be null: a ratio, or a gold column listed in ``lakehouse.gold_tables.NULLABLE``."""

    @property
    def scale(self) -> int | None:
        m = _TYPE_RE.fullmatch(self.type)
        return int(m.group(2)) if m else None


@dataclass(frozen=True)
class Kpi:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    parameters: tuple[str, ...]
    query: Query

    @property
    def sql(self) -> str:
        return self.query.sql

    @property
    def sql_columns(self) -> tuple[Column, ...]:
        """The columns the SQL returns, in order (the ratio columns are computed afterwards)."""
        return tuple(c for c in self.columns if c.ratio is None)


# --- placeholders -------------------------------------------------------------------------------------------

def placeholders(sql: str) -> list[int]:
    """Offsets of the positional ``?`` parameters of ``sql``: not inside a '...' string, a "..." identifier
    or a ``--``/``/* */`` comment."""
    found, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" escapes the quote
                        end += 2
                        continue
                    break
                end += 1
            if end >= n:
                raise ValueError(f"unterminated {ch} at offset {i}")
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError(f"unterminated comment at offset {i}")
            i = end + 2
        else:
            if ch == "?":
                found.append(i)
            i += 1
    return found


def pyformat(sql: str) -> str:
    """``sql`` with psycopg's placeholders: each positional ``?`` becomes ``%s`` and every other ``%``
    (in strings too, where psycopg also reads it) becomes ``%%``."""
    marks = set(placeholders(sql))
    return "".join("%s" if i in marks else ("%%" if ch == "%" else ch) for i, ch in enumerate(sql))


def numbered(sql: str, prefix: str = "p") -> str:
    """``sql`` with named placeholders: the i-th positional ``?`` becomes ``:<prefix><i>`` (1-based), the form
    of the Redshift Data API's ``Parameters``."""
    marks = placeholders(sql)
    out, last = [], 0
    for i, at in enumerate(marks, start=1):
        out.append(sql[last:at] + f":{prefix}{i}")
        last = at + 1
    return "".join(out) + sql[last:]


# --- definitions --------------------------------------------------------------------------------------------

def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _column(where: str, line: str, earlier: Sequence[Column]) -> Column:
    left, eq, formula = line.partition("=")
    parts = left.split()
    if len(parts) != 2 or "." not in parts[1]:
        raise ValueError(f"{where}: column line {line!r} is not '<name> <gold table>.<gold column>[ = a / b]'")
    name, source = parts
    table_name, _, column_name = source.partition(".")
    table = GOLD_TABLES_BY_NAME.get(table_name)
    spec = None if table is None else next(
        (c for c in (*table.columns, *table.partition_keys) if c.name == column_name), None)
    if spec is None:
        raise ValueError(f"{where}: column {name!r}: no gold column {source!r}")
    ratio = None
    if eq:
        numerator, slash, denominator = (p.strip() for p in formula.partition("/"))
        known = {c.name for c in earlier}
        if not slash or numerator not in known or denominator not in known:
            raise ValueError(f"{where}: column {name!r}: {formula.strip()!r} is not '<earlier column> / <earlier column>'")
        if _TYPE_RE.fullmatch(spec.type) is None:
            raise ValueError(f"{where}: ratio column {name!r} must have a decimal type, {source} is {spec.type}")
        ratio = (numerator, denominator)
    nullable = ratio is not None or column_name in NULLABLE.get(table_name, frozenset())
    return Column(name, spec.type, source, spec.comment, ratio, nullable)


def _kpi(query: Query) -> Kpi:
    where = f"queries/{query.name}.sql"
    if not query.name.startswith(PREFIX):
        raise ValueError(f"{where}: a KPI file is named {PREFIX}<name>.sql")
    header = dict(query.header)
    for key in ("description", "key", "parameters"):
        if not header.get(key):
            raise ValueError(f"{where}: a KPI needs a {key!r} header line")
    columns: list[Column] = []
    for key, value in query.header:
        if key == "column":
            columns.append(_column(where, value, columns))
    names = [c.name for c in columns]
    if not columns or len(set(names)) != len(names):
        raise ValueError(f"{where}: KPI columns must be given once each, got {names}")
    key = _names(header["key"])
    if not key or not set(key) <= {c.name for c in columns if c.ratio is None}:
        raise ValueError(f"{where}: key {key} must name SQL columns of {names}")
    parameters = _names(header["parameters"])
    allowed = set(FILTERS_BY_NAME) | set(PAGING)
    if not set(parameters) <= allowed or parameters[-2:] != PAGING or set(FILTERS_BY_NAME) - set(parameters):
        raise ValueError(f"{where}: parameters must bind every filter of {sorted(FILTERS_BY_NAME)} and end "
                         f"with {', '.join(PAGING)}; got {parameters}")
    count = len(placeholders(query.sql))
    if count != len(parameters):
        raise ValueError(f"{where}: the SQL has {count} '?' but {len(parameters)} parameters are named")
    if query.layer != "gold":
        raise ValueError(f"{where}: KPIs run in the gold layer")
    return Kpi(query.name[len(PREFIX):], header["description"], key, tuple(columns), parameters, query)


@lru_cache(maxsize=None)
def kpis() -> tuple[Kpi, ...]:
    """Every KPI (``-- kpi: true``) of ``queries/``, in file-name order."""
    return tuple(_kpi(q) for q in all_queries() if dict(q.header).get("kpi") == "true")


def get(name: str) -> Kpi:
    """The KPI called ``name``; ``KeyError`` when there is none."""
    for kpi in kpis():
        if kpi.name == name:
            return kpi
    raise KeyError(name)


# --- parameters ---------------------------------------------------------------------------------------------

def validate_filters(given: Mapping[str, str | None]) -> dict[str, str]:
    """The filters of a request, checked: ``{name: value}`` of the filters given (absent or empty: not
    given). ``ValueError`` with the reason for an unknown filter, a value that does not match, or a month
    range whose end comes before its start."""
    unknown = sorted(set(given) - set(FILTERS_BY_NAME))
    if unknown:
        raise ValueError(f"unknown filter(s) {unknown}; filters are {[f.name for f in FILTERS]}")
    checked: dict[str, str] = {}
    for spec in FILTERS:
        value = given.get(spec.name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or re.fullmatch(spec.pattern, value) is None or (
                spec.choices and value not in spec.choices):
            raise ValueError(f"{spec.name} must be {spec.description.lower()}, got {str(value)[:40]!r}")
        checked[spec.name] = value
    if "month_from" in checked and "month_to" in checked and checked["month_from"] > checked["month_to"]:
        raise ValueError(f"month_from {checked['month_from']} is after month_to {checked['month_to']}")
    return checked


def bind(kpi: Kpi, filters: Mapping[str, str], *, offset: int, limit: int) -> list[str | int]:
    """The values of ``kpi``'s positional parameters, in order: the filters (validated with
    :func:`validate_filters`; unset ones bind their match-all value), then ``offset`` and ``limit``."""
    checked = validate_filters(filters)
    for name, value in (("offset", offset), ("limit", limit)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    paging = {"offset": offset, "limit": limit}
    return [paging[p] if p in paging else checked.get(p, FILTERS_BY_NAME[p].unset) for p in kpi.parameters]


def all_rows(kpi: Kpi, filters: Mapping[str, str], run_page: Callable[[list[str | int]], list], *,
             page: int = 1000) -> list:
    """Every row of ``kpi`` for ``filters``, page by page: ``run_page(bound values)`` runs one page (with
    any engine) and returns its rows; paging stops at the first short page."""
    rows: list = []
    while True:
        got = run_page(bind(kpi, filters, offset=len(rows), limit=page))
        rows.extend(got)
        if len(got) < page:
            return rows


def quote_literal(value: str | int) -> str:
    """A SQL literal, the same in Athena, Redshift and PostgreSQL: a string in single quotes (quotes inside
    doubled), an integer as its digits; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"SQL literals are strings or integers, got {type(value).__name__}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def execution_parameters(values: Iterable[str | int]) -> list[str]:
    """Athena's ``ExecutionParameters`` for bound values: Athena reads each as a SQL literal, so a
    string is given quoted (``'SP'``, quotes doubled inside) and an integer as its digits."""
    return [quote_literal(v) for v in values]


def emulator_statement(kpi: Kpi, values: Sequence[str | int]) -> str:
    """For the local emulator's Athena only (it drops ``ExecutionParameters``): DuckDB's
    ``PREPARE <statement> AS <the KPI's SQL>; EXECUTE <statement>(<values>)``, the SQL unchanged and the
    values bound to its parameters by DuckDB. The values must come from :func:`bind` (validated)."""
    if len(values) != len(kpi.parameters):
        raise ValueError(f"{kpi.name} takes {len(kpi.parameters)} parameters, got {len(values)}")
    statement = f"{PREFIX}{kpi.name}"
    return f"PREPARE {statement} AS\n{kpi.sql};\nEXECUTE {statement}({', '.join(quote_literal(v) for v in values)})"


def dataset_sql(kpi: Kpi, schema: str) -> str:
    """``kpi`` for a BI tool's data set (QuickSight custom SQL), which takes no parameters: every filter bound
    to its match-all value as a literal, no paging, and every gold table qualified with ``schema`` (the
    warehouse schema, or the Athena database), since a data set cannot choose a search path. Its rows are
    :func:`all_rows` of ``kpi`` with no filter, in the same order (the SQL is otherwise unchanged)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
        raise ValueError(f"schema {schema!r} is not a plain identifier")
    if kpi.parameters[-len(PAGING):] != PAGING:
        raise ValueError(f"{kpi.name}: its last parameters are not {PAGING}")
    paging = re.search(r"\s+OFFSET\s+\?\s+LIMIT\s+\?\s*;?\s*$", kpi.sql, re.IGNORECASE)
    marks = placeholders(kpi.sql)
    if paging is None or [m for m in marks if m >= paging.start()] != marks[-len(PAGING):]:
        raise ValueError(f"{kpi.name}: its SQL does not end with OFFSET ? LIMIT ?")
    sql = kpi.sql[:paging.start()]
    values = [quote_literal(FILTERS_BY_NAME[name].unset) for name in kpi.parameters[:-len(PAGING)]]
    for offset, value in reversed(list(zip(marks, values))):
        sql = sql[:offset] + value + sql[offset + 1:]
    tables = "|".join(sorted(map(re.escape, GOLD_TABLES_BY_NAME), key=len, reverse=True))
    return re.sub(rf"\b(FROM|JOIN)(\s+)({tables})\b", rf"\1\2{schema}.\3", sql, flags=re.IGNORECASE)


# --- results ------------------------------------------------------------------------------------------------

_RATIO_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"a decimal came back as a float ({value!r}): computed in floating point")
    if isinstance(value, bool):
        raise TypeError(f"a decimal came back as a boolean ({value!r})")
    try:
        return Decimal(value) if isinstance(value, (Decimal, int)) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal: {str(value)[:40]!r}") from None


def _value(column: Column, value: Any) -> str | int | None:
    if value is None:
        return None
    if column.type in _INTEGER_TYPES:
        number = _decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"{column.name}: {value!r} is not an integer")
        return int(number)
    scale = column.scale
    if scale is not None:
        number = _decimal(value)
        exact = number.quantize(Decimal(1).scaleb(-scale), context=_RATIO_CONTEXT)
        if exact != number:
            raise ValueError(f"{column.name}: {value!r} has more than {scale} decimal places")
        return str(exact)
    if column.type == "string":
        return str(value)
    raise TypeError(f"{column.name}: no normalisation for type {column.type}")


def _ratio(column: Column, row: Mapping[str, Any]) -> str | None:
    numerator, denominator = (row[name] for name in column.ratio)  # type: ignore[union-attr]
    if numerator is None or denominator is None or Decimal(denominator) <= 0:
        return None
    quotient = _RATIO_CONTEXT.divide(Decimal(numerator), Decimal(denominator))
    return str(quotient.quantize(Decimal(1).scaleb(-column.scale), context=_RATIO_CONTEXT))  # type: ignore[arg-type]


def normalise(kpi: Kpi, rows: Iterable[Sequence[Any]]) -> list[dict[str, str | int | None]]:
    """``kpi``'s rows as one engine returned them (one value per SQL column, in order) -> the one shape every
    reader uses: ``{column: value}`` with every column of the KPI (ratios computed here), values as
    described in the module docstring."""
    sql_columns = kpi.sql_columns
    out = []
    for raw in rows:
        raw = list(raw)
        if len(raw) != len(sql_columns):
            raise ValueError(f"{kpi.name}: a row has {len(raw)} values, the KPI has {len(sql_columns)} SQL columns")
        row = {c.name: _value(c, v) for c, v in zip(sql_columns, raw)}
        out.append({c.name: (row[c.name] if c.ratio is None else _ratio(c, row)) for c in kpi.columns})
    return out
