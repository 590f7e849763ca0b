"""The Arrow type of each Glue type of the table specs, for tests that write gold Parquet without Spark."""
from __future__ import annotations

import pyarrow as pa

_ARROW = {"int": pa.int32(), "bigint": pa.int64(), "string": pa.string(), "boolean": pa.bool_(),
          "date": pa.date32(), "timestamp": pa.timestamp("us")}


def arrow_type(glue: str) -> pa.DataType:
    """``decimal(18,2)`` -> ``decimal128(18, 2)``, ``bigint`` -> ``int64``, ..."""
    if glue.startswith("decimal("):
        precision, scale = (int(p) for p in glue[len("decimal("):-1].split(","))
        return pa.decimal128(precision, scale)
    return _ARROW[glue]
