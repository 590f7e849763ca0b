"""Personal fields (``Contract.personal``) protected before silver stores them, as
:data:`lakehouse.silver_tables.PROTECTION` declares: a keyed hash, a generalization, or nothing.

The keyed hash is HMAC-SHA256 (hex) with the lake's pseudonymization key (a Secrets Manager secret that
Terraform generates: ``modules/secrets_manager.py``). It is computed by a Python function whose key lives in
its closure: the key never appears in a query plan, the Spark UI or a log, only in the executors' memory.
The same value gives the same pseudonym in every run and table, so silver and gold still join on it, and
nobody without the key can recompute it from a guessed CPF.
"""
from __future__ import annotations

import hashlib
import hmac

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from data_contracts.contracts import Contract
from lakehouse.silver_tables import GENERALIZED_YEAR, KEYED_HASH, PROTECTION, silver_table
from lakehouse.spark_schema import spark_schema

__all__ = ["keyed_hash", "protect", "pseudonym"]


def pseudonym(key: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of ``value`` (UTF-8) keyed with ``key``, hex; None stays None."""
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_hash(key: bytes):
    """A Spark function ``column -> pseudonym(key, column)`` (the key stays out of every plan)."""
    if len(key) < 32:
        raise ValueError("the pseudonymization key must hold at least 32 bytes")

    def _keyed(value):
        return pseudonym(key, value)

    _keyed.__name__ = "keyed_hash"
    return F.udf(_keyed, "string")


def protect(conformed: DataFrame, contract: Contract, key: bytes | None, keep: tuple[str, ...] = ()) -> DataFrame:
    """Conformed rows (personal fields in the clear) -> the silver columns, in the silver spec's order, then
    the columns named in ``keep`` (a job's own flags).

    ``key`` is needed only when the contract has a field to hash; a contract without personal fields passes
    through unchanged (same columns, same order)."""
    protection = PROTECTION.get((contract.source, contract.entity), {})
    if not protection:
        return conformed
    hashing = None
    if any(how.kind == KEYED_HASH for how in protection.values()):
        if key is None:
            raise ValueError(f"{contract.name}: its personal fields need the pseudonymization key")
        hashing = keyed_hash(key)
    stored: dict[str, Column] = {}
    for name, how in protection.items():
        if how.kind == KEYED_HASH:
            stored[how.column] = hashing(F.col(name))
        elif how.kind == GENERALIZED_YEAR:
            stored[how.column] = F.year(F.col(name))
    schema = spark_schema(silver_table(contract.source, contract.entity))
    return conformed.select(*[(stored[f.name] if f.name in stored else F.col(f.name)).cast(f.dataType).alias(f.name)
                              for f in schema.fields], *keep)
