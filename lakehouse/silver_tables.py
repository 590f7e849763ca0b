"""Silver table specifications, derived from the data-contract registry (one table per contract).

Every silver table holds the latest version of each business key of one ``(source, entity)``:

* the contract's fields, typed: dates -> ``date``, timestamps -> ``timestamp``, money -> ``decimal(18,2)``,
  integers -> ``int`` (bounded below 2^31 by the contract) or ``bigint``, everything else -> ``string``;
* lineage columns (:data:`LINEAGE_COLUMNS`): the winning event's ``event_id``, ``event_time``, ``op``,
  its Kinesis (or backfill) ``ingest_shard_id`` / ``ingest_sequence_number``, the ``ingest_date`` of its
  bronze partition and the ``silver_run_id`` of the bronze->silver run that wrote it;
* one partition key, a ``yyyy-MM`` string computed from an attribute that never changes for a key
  (:data:`PARTITIONING`), so every version of a key lands in the same partition and an update
  rewrites exactly one partition. Athena finds partitions by projection (no crawler);
* no personal field in the clear (``Contract.personal``, LGPD): each is stored as :data:`PROTECTION` says
  (a keyed hash that still joins, a generalization, or nothing). Bronze and the quarantine keep the raw
  payloads, under their retention; the bronze->silver job checks the clear values
  (:func:`conformed_table`) and protects them before anything is written.

Table ``<source>_<entity>`` at ``<source>/<entity>/`` below the silver bucket, Parquet (snappy),
Hive-style partition folders ``<partition>=<yyyy-MM>/``.

Standard library only (no Spark): the Terraform synth imports it through ``lakehouse.tables``.
"""
from __future__ import annotations

from dataclasses import dataclass

from data_contracts.contracts import REGISTRY, Contract
from lakehouse.catalog_spec import Column, PartitionProjection, TableSpec

__all__ = [
    "INT_MAX",
    "LINEAGE_COLUMNS",
    "PARTITIONING",
    "PROJECTION_START",
    "PROTECTION",
    "Partitioning",
    "Protection",
    "SILVER_TABLES",
    "conformed_table",
    "contract_columns",
    "field_glue_type",
    "field_kind",
    "silver_table",
    "silver_table_by_name",
    "table_name",
]

INT_MAX = 2**31 - 1
PROJECTION_START = "1990-01"   # first month Athena projects; bronze->silver quarantines anything earlier


@dataclass(frozen=True)
class Partitioning:
    """How one silver table is partitioned: ``column`` (a ``yyyy-MM`` string) from contract field ``field``.

    ``field`` is a date, a timestamp or (market statistics) the ``yyyy-MM`` reference month itself, in
    which case the partition column IS that field. ``months_ahead`` is how far after the event's own
    month the partition may lie (installments fall due up to years after they are issued); it is also
    the projection's upper bound relative to NOW.
    """

    column: str
    field: str
    months_ahead: int = 0

    @property
    def projection_range(self) -> str:
        end = "NOW" if not self.months_ahead else f"NOW+{(self.months_ahead + 11) // 12}YEARS"
        return f"{PROJECTION_START},{end}"


PARTITIONING: dict[tuple[str, str], Partitioning] = {
    ("susep", "market_statistics"): Partitioning("reference_month", "reference_month"),
    ("erp", "customer"): Partitioning("created_month", "created_at"),
    ("erp", "policy"): Partitioning("issued_month", "issued_at"),
    ("erp", "premium_installment"): Partitioning("due_month", "due_date", months_ahead=120),
    ("erp", "claim"): Partitioning("occurrence_month", "occurrence_date"),
}

KEYED_HASH, GENERALIZED_YEAR, DROPPED = "keyed_hash", "year", "dropped"


@dataclass(frozen=True)
class Protection:
    """How silver stores one personal field: ``keyed_hash`` (HMAC-SHA256 with the lake's pseudonymization
    key, hex: the same value gives the same pseudonym in every table and run, so it still joins), ``year``
    (a date generalized to its year) or ``dropped``. ``column`` names the stored column (None if dropped)."""

    kind: str
    column: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (KEYED_HASH, GENERALIZED_YEAR, DROPPED):
            raise ValueError(f"unknown protection {self.kind!r}")
        if (self.column is None) != (self.kind == DROPPED):
            raise ValueError(f"{self.kind}: a stored column is needed exactly when the field is kept")


PROTECTION: dict[tuple[str, str], dict[str, Protection]] = {
    ("erp", "customer"): {
        "document_number": Protection(KEYED_HASH, "document_hash"),
        "name": Protection(DROPPED),
        "birth_date": Protection(GENERALIZED_YEAR, "birth_year"),
    },
}
"""Per contract, every personal field (``Contract.personal``) and how silver stores it (checked below)."""

_PROTECTED_TYPES = {KEYED_HASH: "string", GENERALIZED_YEAR: "int"}
_PROTECTED_COMMENTS = {KEYED_HASH: "HMAC-SHA256 of {field}, keyed with the lake's pseudonymization key (hex)",
                       GENERALIZED_YEAR: "Year of {field}"}

LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "string", "Envelope event id of the version kept (latest event_time wins)"),
    Column("event_time", "timestamp", "Envelope event time of the version kept (UTC)"),
    Column("op", "string", "Envelope operation of the version kept (always upsert: deletes remove the key)"),
    Column("ingest_shard_id", "string", "Kinesis shard id, or backfill-<export_id> for the EMR backfill"),
    Column("ingest_sequence_number", "string",
           "Kinesis sequence number, or the zero-padded line number within the backfill export"),
    Column("ingest_date", "date", "ingest_date of the bronze partition the version was read from"),
    Column("silver_run_id", "string", "run_id of the bronze->silver run that wrote the version"),
)


def _types(fragment: dict) -> list[str]:
    t = fragment.get("type", [])
    return t if isinstance(t, list) else [t]


def field_kind(fragment: dict) -> str:
    """``date`` | ``timestamp`` | ``month`` | ``money`` | ``int`` | ``bigint`` | ``string`` for a contract field."""
    types = _types(fragment)
    fmt = fragment.get("format")
    if "integer" in types:
        maximum = fragment.get("maximum")
        return "int" if maximum is not None and maximum <= INT_MAX else "bigint"
    if "number" in types:
        return "money"
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "timestamp"
    if fragment.get("pattern") == r"^[0-9]{4}-(0[1-9]|1[0-2])$":
        return "month"
    return "string"


_GLUE_TYPES = {"date": "date", "timestamp": "timestamp", "month": "string", "money": "decimal(18,2)",
               "int": "int", "bigint": "bigint", "string": "string"}


def field_glue_type(fragment: dict) -> str:
    """The Glue/Hive type of a contract field."""
    return _GLUE_TYPES[field_kind(fragment)]


def table_name(source: str, entity: str) -> str:
    return f"{source}_{entity}"


def _field_columns(contract: Contract, protect: bool) -> tuple[Column, ...]:
    """The columns of the contract's fields, in contract order: personal ones as :data:`PROTECTION` stores
    them when ``protect``, else in the clear (what the checks see)."""
    protection = PROTECTION.get((contract.source, contract.entity), {})
    out = []
    for name, fragment in contract.fields:
        how = protection.get(name) if protect else None
        if how is None:
            out.append(Column(name, field_glue_type(fragment), fragment.get("description", "")))
        elif how.column is not None:
            out.append(Column(how.column, _PROTECTED_TYPES[how.kind], _PROTECTED_COMMENTS[how.kind].format(field=name)))
    return tuple(out)


def _spec(contract: Contract, protect: bool = True) -> TableSpec:
    part = PARTITIONING[(contract.source, contract.entity)]
    columns = tuple(c for c in _field_columns(contract, protect) if c.name != part.column) + LINEAGE_COLUMNS
    if part.column == part.field:
        comment = dict(contract.fields)[part.field].get("description", "")
    else:
        comment = f"Month (yyyy-MM) of {part.field}; never changes for a key"
    partition = Column(part.column, "string", comment)
    projection = PartitionProjection(kind="date", range=part.projection_range, format="yyyy-MM",
                                     interval_unit="MONTHS")
    return TableSpec(
        layer="silver",
        name=table_name(contract.source, contract.entity),
        location=f"{contract.source}/{contract.entity}/",
        columns=columns,
        partition_keys=(partition,),
        projection={part.column: projection},
        description=(f"{contract.description} Latest version per business key "
                     f"({', '.join(contract.business_key)}), typed and standardized from bronze."),
        primary_key=tuple(contract.business_key),
    )


def _check_protection() -> None:
    for key, contract in REGISTRY.items():
        declared = set(PROTECTION.get(key, {}))
        if declared != set(contract.personal):
            raise ValueError(f"{contract.name}: personal fields {sorted(contract.personal)} but PROTECTION covers "
                             f"{sorted(declared)}")
        if set(contract.personal) & (set(contract.business_key) | {PARTITIONING[key].field}):
            raise ValueError(f"{contract.name}: a business key or partition field cannot be personal")


_check_protection()
SILVER_TABLES: tuple[TableSpec, ...] = tuple(_spec(c) for _, c in sorted(REGISTRY.items()))
_BY_KEY: dict[tuple[str, str], TableSpec] = {
    key: spec for key, spec in zip(sorted(REGISTRY), SILVER_TABLES)
}
_CONFORMED: dict[tuple[str, str], TableSpec] = {key: _spec(REGISTRY[key], protect=False) for key in sorted(REGISTRY)}


def silver_table(source: str, entity: str) -> TableSpec:
    """The silver spec of ``(source, entity)`` (KeyError when there is no contract)."""
    return _BY_KEY[(source, entity)]


def conformed_table(source: str, entity: str) -> TableSpec:
    """The silver spec of ``(source, entity)`` with its personal fields in the clear: what the bronze->silver
    checks produce, before the fields are protected; never stored."""
    return _CONFORMED[(source, entity)]


def contract_columns(source: str, entity: str) -> tuple[Column, ...]:
    """The contract's fields as silver stores them: contract order, silver types, personal fields as
    :data:`PROTECTION` stores them (a dropped one is absent), the partition column included when it is a
    contract field (no lineage columns)."""
    return _field_columns(REGISTRY[(source, entity)], protect=True)


def silver_table_by_name(name: str) -> TableSpec:
    for spec in SILVER_TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)
