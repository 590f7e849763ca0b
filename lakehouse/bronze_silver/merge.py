"""Deduplication and merge: new versions ranked per business key with the stored silver rows and
tombstones; what to store, what it did, which partitions it touches."""
from __future__ import annotations

from typing import Iterable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.bronze_silver.bronze import SEQUENCE_WIDTH
from lakehouse.catalog_spec import TableSpec
from lakehouse.spark_schema import spark_schema

__all__ = [
    "CORRECTION",
    "ORIGIN_CORRECTION",
    "ORIGIN_EXISTING",
    "ORIGIN_NEW",
    "ORIGIN_TOMBSTONE",
    "latest_per_key",
    "merge_counts",
    "merge_outcome",
    "merge_versions",
    "new_tombstones",
    "partition_values",
    "rank_versions",
    "silver_rows",
    "tombstone_schema",
    "touched_partitions",
]

ORIGIN_CORRECTION, ORIGIN_EXISTING, ORIGIN_TOMBSTONE, ORIGIN_NEW = -1, 0, 1, 2
CORRECTION = "_correction"
"""Optional boolean column of the candidates: the row comes from a corrected source object (one processed
before at another version). Such a row wins a tie with the stored version it corrects (same event_time,
sequence number and event id), where any other new row loses it."""
_NEW_ORIGINS = (ORIGIN_NEW, ORIGIN_CORRECTION)


def tombstone_schema(spec: TableSpec) -> T.StructType:
    """Business key + version columns: what is kept of a delete."""
    keep = list(spec.primary_key) + ["event_id", "event_time", "op", "ingest_shard_id", "ingest_sequence_number",
                                     "ingest_date", "silver_run_id"]
    fields = {f.name: f for f in spark_schema(spec).fields}
    return T.StructType([fields[name] for name in keep])


def _version_order() -> list[Column]:
    return [F.col("event_time").desc_nulls_last(),
            F.lpad(F.col("ingest_sequence_number"), SEQUENCE_WIDTH, "0").desc_nulls_last(),
            F.col("event_id").desc_nulls_last(),
            F.col("_origin").asc()]


def rank_versions(df: DataFrame, key: Iterable[str]) -> DataFrame:
    """Adds ``_rank`` (1 = the version to keep) and ``_winner_op`` per key; needs ``_origin`` (or adds it)."""
    if "_origin" not in df.columns:
        df = df.withColumn("_origin", F.lit(ORIGIN_NEW))
    window = Window.partitionBy(*key).orderBy(*_version_order())
    return (df.withColumn("_rank", F.row_number().over(window))
              .withColumn("_winner_op", F.first("op").over(window)))


def latest_per_key(df: DataFrame, key: Iterable[str]) -> DataFrame:
    """The latest version of each key (deletes included: filter ``op`` afterwards)."""
    ranked = rank_versions(df, list(key))
    return ranked.where(F.col("_rank") == 1).drop("_rank", "_winner_op", "_origin")


def merge_versions(candidates: DataFrame, existing: DataFrame | None, tombstones: DataFrame | None,
                   spec: TableSpec, unique_keys: bool = False) -> DataFrame:
    """New versions (from :func:`conform`), stored silver rows and stored tombstones, ranked per key.

    ``existing``: the stored rows of every partition the candidates touch (see the job); ``tombstones``:
    stored deletes (:func:`tombstone_schema`). The result has the silver columns + partition column,
    ``_origin``, ``_rank`` and ``_winner_op``.

    ``unique_keys``: the caller knows no two candidates share a key. With nothing stored either (a first
    load), every candidate is the only version of its key, so it wins: the ranking is then a projection
    (no shuffle, no sort) and gives what the window gives.
    """
    schema = spark_schema(spec)
    names = [f.name for f in schema.fields]

    def aligned(df: DataFrame, origin: int) -> DataFrame:
        cols = [(F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                for f in schema.fields]
        tag = F.lit(origin)
        if origin == ORIGIN_NEW and CORRECTION in df.columns:
            tag = F.when(F.col(CORRECTION), F.lit(ORIGIN_CORRECTION)).otherwise(F.lit(ORIGIN_NEW))
        return df.select(*cols, tag.alias("_origin"))

    frames = [aligned(candidates, ORIGIN_NEW)]
    if existing is not None:
        frames.append(aligned(existing.where(F.col("op").isNull() | (F.col("op") != "delete")), ORIGIN_EXISTING))
    if tombstones is not None:
        keys = candidates.select(*spec.primary_key).distinct()
        frames.append(aligned(tombstones.join(keys, list(spec.primary_key), "left_semi")
                              .withColumn("op", F.lit("delete")), ORIGIN_TOMBSTONE))
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    if unique_keys and len(frames) == 1:
        return union.select(*names, "_origin", F.lit(1).alias("_rank"), F.col("op").alias("_winner_op"))
    return rank_versions(union.select(*names, "_origin"), spec.primary_key)


def silver_rows(ranked: DataFrame, spec: TableSpec) -> DataFrame:
    """The rows to store: winners that are upserts, with exactly the silver columns + partition column."""
    names = [f.name for f in spark_schema(spec).fields]
    return ranked.where((F.col("_rank") == 1) & (F.col("op") == "upsert")).select(*names)


def new_tombstones(ranked: DataFrame, spec: TableSpec) -> DataFrame:
    """Deletes of this run that won: their key and version, to be stored."""
    names = [f.name for f in tombstone_schema(spec).fields]
    return ranked.where((F.col("_rank") == 1) & (F.col("op") == "delete")
                        & F.col("_origin").isin(*_NEW_ORIGINS)).select(*names)


def merge_counts(ranked: DataFrame) -> dict[str, int]:
    """What the merge did (an action): per origin, winners and losers."""
    return merge_outcome(ranked)[0]


def merge_outcome(ranked: DataFrame, partition_column: str | None = None) -> tuple[dict[str, int], list[str]]:
    """:func:`merge_counts` and, with ``partition_column``, the partitions of :func:`silver_rows` (what
    :func:`partition_values` of them gives), in one action."""
    win = F.col("_rank") == 1
    stored = F.lit(None).cast("string")
    if partition_column is not None:
        stored = F.when(win & (F.col("op") == "upsert"), F.col(partition_column))
    rows = (ranked.groupBy("_origin", "op", win.alias("win"), "_winner_op", stored.alias("_stored_partition"))
            .count().collect())
    parts = sorted({r["_stored_partition"] for r in rows if r["_stored_partition"] is not None})
    out = {"new_upserts_applied": 0, "new_deletes_applied": 0, "superseded": 0, "existing_unchanged": 0,
           "existing_replaced": 0, "existing_deleted": 0, "tombstones_matched": 0, "silver_rows": 0}
    for r in rows:
        n = int(r["count"])
        if r["_origin"] in _NEW_ORIGINS:
            if not r["win"]:
                out["superseded"] += n
            elif r["op"] == "delete":
                out["new_deletes_applied"] += n
            else:
                out["new_upserts_applied"] += n
        elif r["_origin"] == ORIGIN_EXISTING:
            if r["win"]:
                out["existing_unchanged"] += n
            elif r["_winner_op"] == "delete":
                out["existing_deleted"] += n
            else:
                out["existing_replaced"] += n
        else:
            out["tombstones_matched"] += n
        if r["win"] and r["op"] == "upsert":
            out["silver_rows"] += n
    return out, parts


def partition_values(df: DataFrame, column: str) -> list[str]:
    """Distinct non-null values of a partition column, sorted (an action; months, so few)."""
    return sorted(r[0] for r in df.select(column).where(F.col(column).isNotNull()).distinct().collect())


def touched_partitions(candidates: DataFrame, existing: DataFrame | None, spec: TableSpec,
                       upserts: Iterable[str] | None = None) -> list[str]:
    """Partitions the merge must rewrite: those of the new upserts, and those holding a stored row of any
    candidate key (a delete carries only its key, so its partition is found in silver).

    ``upserts``: the partitions of the new upserts when the caller has them (else an action finds them)."""
    column = spec.partition_keys[0].name
    if upserts is None:
        upserts = partition_values(candidates.where(F.col("op") == "upsert"), column)
    parts = set(upserts)
    if existing is not None:
        keys = candidates.select(*spec.primary_key).distinct()
        parts |= set(partition_values(existing.join(keys, list(spec.primary_key), "left_semi"), column))
    return sorted(parts)
