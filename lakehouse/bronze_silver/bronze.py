"""Bronze as the jobs read it: the objects' lines, the path of each object in the bronze layout
(:mod:`data_contracts.layout`), and the schemas of a line's envelope.
"""
from __future__ import annotations

from typing import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data_contracts import layout
from data_contracts.contracts import Contract

__all__ = [
    "ENVELOPE_SCHEMA",
    "NOT_AN_OBJECT",
    "SEQUENCE_PATTERN",
    "SEQUENCE_WIDTH",
    "UNPARSED",
    "UUID_PATTERN",
    "bronze_key_parts",
    "bronze_line_schema",
    "data_text_schema",
    "empty_frame",
    "read_bronze_lines",
]

# The envelope's event id, and its ingest sequence number: digits, compared zero-padded to SEQUENCE_WIDTH
# by the merge.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SEQUENCE_PATTERN = r"^[0-9]{1,64}$"
SEQUENCE_WIDTH = 64

NOT_AN_OBJECT = "__not_an_object"  # from_json of event.data puts data that is not a JSON object here
UNPARSED = "__unparsed"  # from_json of a whole line puts a line it cannot read as its schema here
ENVELOPE_SCHEMA = T.StructType([
    T.StructField("event", T.StructType([
        T.StructField(name, T.StringType())
        for name in ("source", "entity", "schema_version", "event_id", "event_time", "op", "data")])),
    T.StructField("ingest", T.StructType([
        T.StructField(name, T.StringType())
        for name in ("shard_id", "sequence_number", "partition_key", "arrival_time")])),
])


def data_text_schema(contract: Contract) -> T.StructType:
    """``event.data`` of a contract with every field read as text (what :func:`conform` types afterwards)."""
    return T.StructType([T.StructField(name, T.StringType()) for name in contract.field_names])


def bronze_line_schema(contract: Contract, marked: bool = False) -> T.StructType:
    """A whole bronze line of one contract for a single ``from_json``: the envelope, with ``event.data`` as
    :func:`data_text_schema` instead of the object's raw text.

    ``marked`` adds the columns where ``from_json`` marks what it cannot read: :data:`UNPARSED` (the line, when
    it is not a JSON object of this shape, e.g. ``event.data`` is not an object) and, in ``event.data``,
    :data:`NOT_AN_OBJECT` (where the parse of ``event.data``'s own text marks a value that is not an object;
    here it holds a data field of that name, if any: the data struct is the same type either way)."""
    data = data_text_schema(contract)
    if marked:
        data = data.add(NOT_AN_OBJECT, T.StringType())
    event = [T.StructField("data", data) if f.name == "data" else f for f in ENVELOPE_SCHEMA["event"].dataType.fields]
    fields = [T.StructField("event", T.StructType(event)), ENVELOPE_SCHEMA["ingest"]]
    if marked:
        fields.append(T.StructField(UNPARSED, T.StringType()))
    return T.StructType(fields)


def empty_frame(spark, schema: T.StructType) -> DataFrame:
    return spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)


def bronze_key_parts(path: Column) -> list[Column]:
    """The partition values of a bronze object path, one per ``layout.BRONZE_PARTITION_KEYS`` (source,
    entity, ingest date, as text); all null when the path does not end with a bronze key.

    Reads the last ``layout.BRONZE_KEY_SEGMENTS`` path segments with string functions, no regular
    expression: the path repeats on every row.
    """
    n, prefixes = layout.BRONZE_KEY_SEGMENTS, layout.BRONZE_FOLDER_PREFIXES
    segments = F.split(F.substring_index(path, "/", -n), "/")
    in_layout = F.size(segments) == n
    for i, prefix in enumerate(prefixes):
        in_layout = in_layout & segments[i].startswith(prefix)
    for i, prefix in enumerate(prefixes):
        in_layout = in_layout & (F.length(segments[i]) > len(prefix))
    in_layout = in_layout & (F.length(segments[n - 1]) > 0)
    return [F.when(in_layout, F.substring(segments[i], len(prefix) + 1, 1 << 16)) for i, prefix in enumerate(prefixes)]


def read_bronze_lines(spark, files: Iterable[str]) -> DataFrame:
    """``(line, bronze_file)`` for every non-blank line of the given bronze objects."""
    files = list(files)
    if not files:
        return empty_frame(spark, T.StructType([T.StructField("line", T.StringType()),
                                                T.StructField("bronze_file", T.StringType())]))
    return (spark.read.text(files)
            .select(F.col("value").alias("line"), F.input_file_name().alias("bronze_file"))
            .where(F.trim(F.col("line")) != ""))
