"""The warehouse's star schema, generated from the gold table specs (never written by hand).

Every gold table of :data:`lakehouse.gold_tables.GOLD_TABLES` becomes one table of the warehouse schema, in
Amazon Redshift's dialect (:func:`redshift_ddl`: one statement per item, for Terraform's
``aws_redshiftdata_statement`` or the Data API), and the same statements transpiled with sqlglot to
PostgreSQL for the local stand-in (:func:`postgres_ddl`). What is derived from what:

* columns and their order: the spec's columns, then its partition keys (:func:`lakehouse.gold_tables.column_names`);
* types (:data:`TYPES`): Glue ``int`` -> ``INTEGER``, ``bigint`` -> ``BIGINT``, ``decimal(p,s)`` ->
  ``DECIMAL(p,s)``, ``date``, ``timestamp``, ``boolean``, ``string`` -> ``VARCHAR(1024)`` (Redshift counts
  bytes: the longest contract string is 200 characters, at most 800 bytes in UTF-8);
* ``NOT NULL`` on every column :data:`lakehouse.gold_tables.NULLABLE` does not list;
* ``PRIMARY KEY`` = the spec's ``primary_key``; ``FOREIGN KEY ... REFERENCES`` for every reference of
  :data:`lakehouse.gold_tables.FOREIGN_KEYS` that points at the referenced table's primary key. The two that
  point at other columns (``dim_customer.state`` -> ``dim_state.state``, ``dim_policy.customer_id`` ->
  ``dim_customer.customer_id``, which is not unique: type 2 history) cannot be SQL foreign keys; the
  quality gate checks them. Redshift does not enforce keys (the planner uses them); PostgreSQL does, so the
  load writes parents before children (:func:`load_order`);
* distribution: the small dimensions (:data:`lakehouse.gold_tables.SMALL_TABLES`) ``DISTSTYLE ALL``; every
  table with a ``policy_key`` (``dim_policy``, ``fact_premium``, ``fact_claim``) ``DISTKEY (policy_key)``,
  so the facts join their policies on the same node; the rest ``DISTSTYLE AUTO`` (Redshift picks by size);
* ``SORTKEY`` = the primary key: ``(month, ...)`` for the facts and KPIs (queries filter on a month range),
  the surrogate key for the dimensions;
* ``ENCODE``: ``AZ64`` for numbers, dates and timestamps, ``ZSTD`` for strings, ``RAW`` for the leading sort
  key column (AWS's advice: compressing it makes range-restricted scans read more blocks), none for booleans.

The transpilation removes the Redshift-only nodes (DISTKEY, DISTSTYLE, SORTKEY, ENCODE) from the parsed
tree before generating PostgreSQL: sqlglot passes ENCODE through (PostgreSQL rejects it) and cannot generate
SORTKEY lists. Besides the star, the schema holds :data:`LOAD_LOG`, the warehouse's record of the gold
generations it loaded (:mod:`warehouse.load`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from lakehouse.catalog_spec import TableSpec
from lakehouse.gold_tables import FOREIGN_KEYS, GOLD_TABLES, GOLD_TABLES_BY_NAME, NULLABLE, SMALL_TABLES

__all__ = ["DEFAULT_SCHEMA", "LOAD_LOG", "LOAD_LOG_COLUMNS", "TYPES", "column_type", "declared_foreign_keys",
           "load_order", "postgres_ddl", "redshift_ddl", "table_ddl", "to_postgres", "validate_name"]

DEFAULT_SCHEMA = "lakeforge"
STRING_WIDTH = 1024
TYPES: dict[str, tuple[str, str | None]] = {
    # Glue type -> (Redshift type, ENCODE)
    "int": ("INTEGER", "AZ64"),
    "bigint": ("BIGINT", "AZ64"),
    "date": ("DATE", "AZ64"),
    "timestamp": ("TIMESTAMP", "AZ64"),
    "boolean": ("BOOLEAN", None),
    "string": (f"VARCHAR({STRING_WIDTH})", "ZSTD"),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,126}$")

LOAD_LOG = "load_log"
LOAD_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("generation", "BIGINT NOT NULL ENCODE AZ64"),
    ("run_id", f"VARCHAR({STRING_WIDTH}) NOT NULL ENCODE ZSTD"),
    ("prefix", f"VARCHAR({STRING_WIDTH}) NOT NULL ENCODE ZSTD"),
    ("loaded_at", "TIMESTAMP NOT NULL ENCODE RAW"),
    ("total_rows", "BIGINT NOT NULL ENCODE AZ64"),
)
"""One row per load that committed: the gold generation (publication record), its run and copy prefix, when,
and how many rows the star holds after it."""


def validate_name(name: str) -> str:
    """A schema or table name used unquoted in SQL: lower case letters, digits and underscores only."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r}: a warehouse name is lower case letters, digits and underscores "
                         f"(starting with a letter or underscore), at most 127 characters")
    return name


def column_type(glue_type: str) -> tuple[str, str | None]:
    """(Redshift type, ENCODE) of a Glue type."""
    match = _DECIMAL.match(glue_type)
    if match:
        return f"DECIMAL({match.group(1)},{match.group(2)})", "AZ64"
    try:
        return TYPES[glue_type]
    except KeyError:
        raise ValueError(f"no warehouse type for the Glue type {glue_type!r}: add it to warehouse.schema.TYPES"
                         ) from None


def declared_foreign_keys(table: str) -> list[tuple[str, str, str]]:
    """(column, referenced table, referenced column) of ``table``'s references that point at the referenced
    table's primary key (the ones SQL can declare)."""
    return [(col, ref, ref_col) for t, col, ref, ref_col in FOREIGN_KEYS
            if t == table and GOLD_TABLES_BY_NAME[ref].primary_key == (ref_col,)]


def load_order(tables: Iterable[TableSpec] = GOLD_TABLES) -> list[TableSpec]:
    """``tables`` with every referenced table before the tables referring to it (stable otherwise)."""
    pending = list(tables)
    names = {t.name for t in pending}
    done: list[TableSpec] = []
    placed: set[str] = set()
    while pending:
        ready = [t for t in pending
                 if all(ref in placed or ref not in names or ref == t.name
                        for _, ref, _ in declared_foreign_keys(t.name))]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {[t.name for t in pending]}")
        for t in ready:
            done.append(t)
            placed.add(t.name)
        pending = [t for t in pending if t.name not in placed]
    return done


def _distribution(table: TableSpec) -> str:
    columns = {c.name for c in (*table.columns, *table.partition_keys)}
    if table.name in SMALL_TABLES:
        return "DISTSTYLE ALL"
    if "policy_key" in columns:
        return "DISTSTYLE KEY DISTKEY (policy_key)"
    return "DISTSTYLE AUTO"


def table_ddl(table: TableSpec, schema: str = DEFAULT_SCHEMA) -> str:
    """``CREATE TABLE IF NOT EXISTS <schema>.<table> (...)`` in Redshift's dialect."""
    validate_name(schema)
    nullable = NULLABLE.get(table.name, frozenset())
    sort_key = table.primary_key
    lines = []
    for col in (*table.columns, *table.partition_keys):
        type_, encode = column_type(col.type)
        if sort_key and col.name == sort_key[0]:
            encode = "RAW"
        parts = [validate_name(col.name), type_]
        if col.name not in nullable:
            parts.append("NOT NULL")
        if encode:
            parts.append(f"ENCODE {encode}")
        lines.append(" ".join(parts))
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    for col, ref, ref_col in declared_foreign_keys(table.name):
        lines.append(f"FOREIGN KEY ({col}) REFERENCES {schema}.{ref} ({ref_col})")
    body = ",\n  ".join(lines)
    tail = _distribution(table)
    if sort_key:
        tail += f" COMPOUND SORTKEY ({', '.join(sort_key)})"
    return f"CREATE TABLE IF NOT EXISTS {schema}.{validate_name(table.name)} (\n  {body}\n) {tail}"


def _load_log_ddl(schema: str) -> str:
    body = ",\n  ".join(f"{name} {definition}" for name, definition in LOAD_LOG_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {schema}.{LOAD_LOG} (\n  {body}\n) DISTSTYLE ALL COMPOUND SORTKEY (loaded_at)"


def redshift_ddl(schema: str = DEFAULT_SCHEMA) -> tuple[str, ...]:
    """Every statement that creates the warehouse schema in Redshift, in order (idempotent: ``IF NOT EXISTS``):
    the schema, the gold tables (referenced tables first), the load log."""
    validate_name(schema)
    return (f"CREATE SCHEMA IF NOT EXISTS {schema}",
            *(table_ddl(t, schema) for t in load_order()),
            _load_log_ddl(schema))


def to_postgres(statement: str) -> str:
    """One Redshift statement in PostgreSQL's dialect: parsed with sqlglot, the Redshift-only nodes
    (DISTKEY, DISTSTYLE, SORTKEY, ENCODE) removed from the tree, then generated."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(statement, read="redshift")
    for node in list(tree.find_all(exp.EncodeColumnConstraint)):
        node.parent.pop()  # the ColumnConstraint holding it
    for node in list(tree.find_all(exp.DistKeyProperty, exp.DistStyleProperty, exp.SortKeyProperty)):
        node.pop()
    properties = tree.args.get("properties")
    if properties is not None and not properties.expressions:
        properties.pop()
    return tree.sql(dialect="postgres", unsupported_level=sqlglot.ErrorLevel.RAISE)


def postgres_ddl(schema: str = DEFAULT_SCHEMA) -> tuple[str, ...]:
    """:func:`redshift_ddl` transpiled to PostgreSQL (:func:`to_postgres`), statement by statement."""
    return tuple(to_postgres(s) for s in redshift_ddl(schema))
