"""Glue/Hive column types (what the table specs declare) as Spark types: the one mapping every job uses."""
from __future__ import annotations

import re

from pyspark.sql import types as T

from lakehouse.catalog_spec import TableSpec

__all__ = ["spark_schema", "spark_type"]

_SPARK_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(), "date": T.DateType(),
    "timestamp": T.TimestampType(), "double": T.DoubleType(), "boolean": T.BooleanType(),
}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def spark_type(glue_type: str) -> T.DataType:
    """The Spark type of a Glue/Hive type (``string``, ``bigint``, ``decimal(18,2)``...)."""
    match = _DECIMAL.fullmatch(glue_type.replace(" ", ""))
    if match:
        return T.DecimalType(int(match.group(1)), int(match.group(2)))
    return _SPARK_TYPES[glue_type]


def spark_schema(spec: TableSpec, *, partitions: bool = True) -> T.StructType:
    """The Spark schema of a table spec (columns, then partition keys)."""
    cols = list(spec.columns) + (list(spec.partition_keys) if partitions else [])
    return T.StructType([T.StructField(c.name, spark_type(c.type), True) for c in cols])
