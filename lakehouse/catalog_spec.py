"""Table specifications shared by the Spark jobs and the Glue Data Catalog Terraform module.

A :class:`TableSpec` says what a silver or gold table looks like: columns with Glue/Hive types,
partition keys, the location below the layer's bucket, and how Athena may project partitions
without a crawler. The jobs write exactly these tables; ``modules/glue_catalog.py`` declares them.
The specs themselves live in :mod:`lakehouse.silver_tables` and :mod:`lakehouse.gold_tables`
(:func:`lakehouse.tables.all_tables` lists both). Standard library only (no Spark): the Terraform
synth imports it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str            # Glue/Hive type: string, int, bigint, double, boolean, date, timestamp, decimal(18,2)
    comment: str = ""


@dataclass(frozen=True)
class PartitionProjection:
    """Athena partition projection for one partition key (no crawler, no MSCK REPAIR needed).

    kind: "date" (with ``format``, ``range``, ``interval_unit``), "enum" (with ``values``),
    "integer" (with ``range``) or "injected".
    """
    kind: str
    range: str = ""                 # e.g. "2020-01,NOW" for date, "0,15" for integer
    format: str = ""                # e.g. "yyyy-MM" for date
    interval_unit: str = ""         # e.g. "MONTHS"
    values: tuple[str, ...] = ()    # for enum


@dataclass(frozen=True)
class TableSpec:
    layer: str                                  # "silver" or "gold"
    name: str                                   # Glue table name, e.g. "erp_policy" or "fact_premium"
    location: str                               # path below the layer bucket, e.g. "erp/policy/"
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...] = ()
    projection: dict[str, PartitionProjection] = field(default_factory=dict)
    description: str = ""
    primary_key: tuple[str, ...] = ()           # documented key (uniqueness checked by data quality)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns] + [c.name for c in self.partition_keys]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate column names")
        if set(self.projection) - {c.name for c in self.partition_keys}:
            raise ValueError(f"{self.name}: projection for a column that is not a partition key")
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: primary key columns {missing} are not columns")

    def storage_template(self, bucket_uri: str) -> str:
        """Athena ``storage.location.template`` for projected partitions."""
        parts = "/".join(f"{c.name}=${{{c.name}}}" for c in self.partition_keys)
        return f"{bucket_uri.rstrip('/')}/{self.location.strip('/')}/{parts}"
