"""Bronze -> silver: pure DataFrame transformations (parse, type, standardize, validate, deduplicate, merge).

Bronze lines are JSON objects written by the ingest Lambda (and, in the same format, by the EMR backfill)::

    {"event": {"source", "entity", "schema_version", "event_id", "event_time", "op", "data": {...}},
     "ingest": {"shard_id", "sequence_number", "partition_key", "arrival_time"}}

in the bronze objects of :mod:`data_contracts.layout`.

:func:`conform` turns the lines of ONE ``(source, entity)`` into ``(valid, quarantine)``:

* every value of ``data`` is read as text (a JSON number keeps its digits, possibly in E-notation;
  backfilled CSV values are strings), trimmed (blank -> null) and standardized: ids, product codes,
  UFs and person types upper-case, statuses and causes lower-case, free text with single spaces,
  line-of-business codes zero-padded to 4 digits, insurer codes to 5, CPF/CNPJ digits only;
* typed: dates (``YYYY-MM-DD`` or ``DD/MM/YYYY``) -> date, timestamps (ISO-8601 with ``Z``, an offset
  or none = UTC) -> timestamp, money (``1234.5``, ``1.2345E3``, ``1.234,56``) -> decimal(18,2) rounded
  half-up, integers -> int/bigint. Parsing never raises (ANSI mode or not): a value that does not
  parse fails ``rule_contract_type``;
* checked against the contract and the business rules in :data:`RULES` (a delete is checked on its
  business key only). A row failing any rule is not dropped: it goes to quarantine with ``rule`` (the
  first failing rule, in :data:`RULES` order), ``error``, ``failed_rules`` (all of them), the original
  ``line``, ``source``, ``entity``, ``bronze_file``, ``ingest_date``, ``event_id``, ``silver_run_id``.

``valid`` has exactly the silver columns (:mod:`lakehouse.silver_tables`) plus the partition column;
deletes keep ``op = "delete"`` and carry only their key (their partition may be null).

:func:`merge_versions` ranks the new versions together with the silver rows already stored for the
affected partitions and the stored delete tombstones: per business key the latest event wins
(``event_time`` desc, then ingest sequence number desc (numeric), then ``event_id`` desc, then stored
before new, so reprocessing an event already in silver changes nothing). A winning delete removes the
key and leaves a tombstone, so a late, older upsert cannot resurrect it.

Warning rules (:data:`WARNING_RULES`) are counted in the data-quality report but never quarantine a row
(SUSEP's monthly earned premium legitimately exceeds the written premium in some months).

Modules: :mod:`~lakehouse.bronze_silver.parsers` (text -> typed values),
:mod:`~lakehouse.bronze_silver.bronze` (reading bronze lines, the envelope schemas),
:mod:`~lakehouse.bronze_silver.rules` (the silver rules and their checks),
:mod:`~lakehouse.bronze_silver.conform` (the conform plan), :mod:`~lakehouse.bronze_silver.merge`
(deduplication and merge). Table schemas come from :mod:`lakehouse.spark_schema`.
"""
from __future__ import annotations

from lakehouse.bronze_silver.bronze import bronze_line_schema, data_text_schema, empty_frame, read_bronze_lines
from lakehouse.bronze_silver.conform import (
    QUARANTINE_COLUMNS, QUARANTINED, conform, conform_tagged, split_conformed, tagged_outcome, warning_counts,
)
from lakehouse.bronze_silver.merge import (
    CORRECTION, latest_per_key, merge_counts, merge_outcome, merge_versions, new_tombstones, partition_values,
    rank_versions, silver_rows, tombstone_schema, touched_partitions,
)
from lakehouse.bronze_silver.parsers import (
    clean_text, parse_date, parse_integer, parse_money, parse_month, parse_timestamp,
)
from lakehouse.bronze_silver.rules import RULES, WARNING_RULES
from lakehouse.spark_schema import spark_schema

__all__ = [
    "CORRECTION",
    "QUARANTINED",
    "QUARANTINE_COLUMNS",
    "RULES",
    "WARNING_RULES",
    "bronze_line_schema",
    "clean_text",
    "conform",
    "conform_tagged",
    "data_text_schema",
    "empty_frame",
    "latest_per_key",
    "merge_counts",
    "merge_outcome",
    "merge_versions",
    "new_tombstones",
    "parse_date",
    "parse_integer",
    "parse_money",
    "parse_month",
    "parse_timestamp",
    "partition_values",
    "rank_versions",
    "read_bronze_lines",
    "silver_rows",
    "split_conformed",
    "spark_schema",
    "tagged_outcome",
    "tombstone_schema",
    "touched_partitions",
    "warning_counts",
]
