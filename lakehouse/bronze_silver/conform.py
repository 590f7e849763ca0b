"""The conform plan: bronze lines of one contract -> silver candidates and quarantine rows.

The plan is a list of select stages (envelope, data fields as standardized text, typed values, checks)
built once per contract and Spark gateway; :func:`conform_tagged` runs it and keeps both outcomes in one
frame, :func:`split_conformed` separates them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from data_contracts import layout
from data_contracts.contracts import OPS, SCHEMA_VERSION, Contract
from lakehouse.bronze_silver.bronze import (
    ENVELOPE_SCHEMA, NOT_AN_OBJECT, SEQUENCE_PATTERN, UNPARSED, UUID_PATTERN, bronze_key_parts, bronze_line_schema,
)
from lakehouse.bronze_silver.parsers import PARSERS, PART_NAMES, clean_text, parse_value, utc_date
from lakehouse.bronze_silver.rules import RULE_ORDER, business_checks, field_checks, message, warning_checks
from lakehouse.silver_tables import PARTITIONING, PROJECTION_START, conformed_table, field_kind
from lakehouse.spark_schema import spark_schema

__all__ = [
    "QUARANTINED",
    "QUARANTINE_COLUMNS",
    "conform",
    "conform_tagged",
    "split_conformed",
    "tagged_outcome",
    "warning_counts",
]

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "rule", "error", "failed_rules", "source", "entity", "bronze_file", "ingest_date", "event_id", "line",
    "silver_run_id",
)

_QUOTED_NON_FINITE = ('"NaN"', '"Infinity"', '"-Infinity"')

# Standardizations that are not derivable from the contract's enum/pattern.
_ZERO_PAD = {"line_of_business": 4, "insurer_code": 5}
_DIGITS_ONLY = {"document_number"}


def _standardize(name: str, fragment: dict, text: Column) -> Column:
    if name in _DIGITS_ONLY:
        return clean_text(F.regexp_replace(text, r"[.\-/\s]", ""))
    if name in _ZERO_PAD:
        width = _ZERO_PAD[name]
        return F.when(text.rlike(rf"^[0-9]{{1,{width}}}$"), F.lpad(text, width, "0")).otherwise(text)
    enum = [v for v in fragment.get("enum", []) if v is not None]
    letters = [v for v in enum if any(ch.isalpha() for ch in v)]
    if letters and all(v == v.upper() for v in letters):
        return F.upper(text)
    if letters and all(v == v.lower() for v in letters):
        return F.lower(text)
    pattern = fragment.get("pattern", "")
    if re.search(r"[A-Z]", pattern.replace("\\Z", "")):
        return F.upper(text)
    if not enum and not pattern and field_kind(fragment) == "string":
        return F.regexp_replace(text, r"\s+", " ")
    return text


def _month_of(kind: str, value: Column) -> Column:
    if kind == "month":
        return value
    if kind == "timestamp":
        value = utc_date(value)
    return F.date_format(value, "yyyy-MM")


class _Plan:
    """The column expressions of :func:`conform` for one contract: a list of select stages, then the
    valid/quarantine projections. Built once per contract and Spark gateway (building them takes
    thousands of JVM calls); Column expressions are immutable, so reusing them is safe."""

    def __init__(self, stages: list[list], valid_cols: list[Column], quarantine_cols: list[Column]) -> None:
        self.stages, self.valid_cols, self.quarantine_cols = stages, valid_cols, quarantine_cols


_PLANS: dict[tuple[str, int], _Plan] = {}


def _plan(contract: Contract) -> _Plan:
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    key = (contract.name, id(gateway))
    if key not in _PLANS:
        _PLANS[key] = _build_plan(contract)
    return _PLANS[key]


def _build_plan(contract: Contract) -> _Plan:
    spec = conformed_table(contract.source, contract.entity)
    part = PARTITIONING[(contract.source, contract.entity)]
    fields = dict(contract.fields)
    key = set(contract.business_key)
    stages: list[list] = []

    # Stage 1: the envelope and the data fields in ONE parse of the line (the whole line's schema). A line
    # that parse cannot read (event.data not an object, a malformed line: rare, all quarantined) is parsed
    # again as before, the envelope with event.data as text, so its rule and error (with data's text) are
    # the same; a line it reads gives exactly what the two parses give.
    path_source, path_entity, ingest_date_text = bronze_key_parts(F.col("bronze_file"))
    stages.append([
        "line", "bronze_file",
        path_source.alias("_path_source"),
        path_entity.alias("_path_entity"),
        ingest_date_text.alias("_ingest_date_text"),
        F.from_json(F.col("line"), bronze_line_schema(contract, marked=True),
                    {"columnNameOfCorruptRecord": UNPARSED}).alias("_p1"),
    ])
    one = F.col("_p1")
    # A number beyond a double (1e400) or NaN/Infinity read as a field's text is written quoted ("Infinity");
    # the two parses unquote it (the first writes it quoted inside data's text, the second reads a string):
    # such rows take the fallback too, so their text is the same.
    unquote = [one["event"]["data"][name].isin(*_QUOTED_NON_FINITE) for name in contract.field_names]
    stages.append(["*", _any([one[UNPARSED].isNotNull(), one["event"]["data"].isNull(),
                              one["event"]["data"][NOT_AN_OBJECT].isNotNull(), *unquote]).alias("_fallback")])
    fallback = F.col("_fallback")
    stages.append(["*", F.when(fallback, F.from_json(F.col("line"), ENVELOPE_SCHEMA)).alias("_p")])
    ev, ing = F.col("_p.event"), F.col("_p.ingest")

    def envelope(part: str, name: str) -> Column:
        return clean_text(F.when(fallback, F.col("_p")[part][name]).otherwise(one[part][name]))

    stages.append([
        "line", "bronze_file", "_path_source", "_path_entity", "_ingest_date_text", "_fallback",
        F.when(fallback, ev.isNull()).otherwise(F.lit(False)).alias("_no_event"),
        F.when(fallback, ing.isNull()).otherwise(one["ingest"].isNull()).alias("_no_ingest"),
        envelope("event", "source").alias("_source"), envelope("event", "entity").alias("_entity"),
        envelope("event", "schema_version").alias("_schema_version"),
        F.lower(envelope("event", "event_id")).alias("event_id"),
        envelope("event", "event_time").alias("_event_time_text"),
        envelope("event", "op").alias("op"),
        F.when(fallback, clean_text(ev["data"])).alias("_data_text"),
        one["event"]["data"].alias("_d1"),
        envelope("ingest", "shard_id").alias("ingest_shard_id"),
        envelope("ingest", "sequence_number").alias("ingest_sequence_number"),
    ])
    timestamp_parts, timestamp_value = PARSERS["timestamp"]
    date_parts, date_value = PARSERS["date"]
    stages.append(["*", *[c.alias(f"__pe_{k}") for k, c in timestamp_parts(F.col("_event_time_text")).items()],
                   *[c.alias(f"__pi_{k}") for k, c in date_parts(F.col("_ingest_date_text")).items()]])
    stages.append([
        "*",
        timestamp_value({k: F.col(f"__pe_{k}") for k in PART_NAMES["timestamp"]}).alias("event_time"),
        date_value({k: F.col(f"__pi_{k}") for k in PART_NAMES["date"]}).alias("ingest_date"),
    ])

    # Stage 2: data fields as standardized text, then typed (event.data's own text parsed on a fallback only).
    data_schema = bronze_line_schema(contract, marked=True)["event"].dataType["data"].dataType
    data = F.from_json(F.col("_data_text"), data_schema, {"columnNameOfCorruptRecord": NOT_AN_OBJECT})
    stages.append(["*", F.when(fallback, data).otherwise(F.col("_d1")).alias("_d")])
    stages.append(["*", *[_standardize(name, fields[name], clean_text(F.col("_d")[name])).alias(f"__s_{name}")
                          for name in contract.field_names]])
    part_cols = []
    for name in contract.field_names:
        parser = PARSERS.get(field_kind(fields[name]))
        if parser is not None:
            part_cols += [c.alias(f"__p_{name}__{k}") for k, c in parser[0](F.col(f"__s_{name}")).items()]
    stages.append(["*", *part_cols])
    typed_list = []
    for name in contract.field_names:
        kind = field_kind(fields[name])
        parser = PARSERS.get(kind)
        if parser is not None:
            value = parser[1]({k: F.col(f"__p_{name}__{k}") for k in PART_NAMES[kind]})
        else:
            value = parse_value(kind, F.col(f"__s_{name}"))
        typed_list.append(value.alias(name))
    stages.append(["*", *typed_list])
    if part.column != part.field:
        stages.append(["*", _month_of(field_kind(fields[part.field]), F.col(part.field)).alias(part.column)])

    # Stage 3: checks, as an array of (rule, error) structs of the failing ones.
    col = F.col
    envelope_checks: list[tuple[str, Column, Column]] = [
        ("rule_valid_json", col("_no_event") & col("_no_ingest"),
         F.lit("line is not a JSON object with 'event' and 'ingest' objects")),
        ("rule_valid_envelope", col("_no_event"), F.lit("'event' object is missing")),
        ("rule_valid_envelope", col("_no_ingest"), F.lit("'ingest' object is missing")),
        ("rule_valid_envelope", col("_path_source").isNull(),
         message(f"bronze file is not under {'/'.join(layout.BRONZE_FOLDER_PREFIXES)}", col("bronze_file"))),
        ("rule_valid_envelope", col("ingest_date").isNull(),
         message("bronze partition ingest_date is not a date", col("_ingest_date_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("_source") == F.lit(contract.source), F.lit(False)),
         message(f"event.source must be {contract.source!r}", col("_source"))),
        ("rule_valid_envelope", ~F.coalesce(col("_entity") == F.lit(contract.entity), F.lit(False)),
         message(f"event.entity must be {contract.entity!r}", col("_entity"))),
        ("rule_valid_envelope", F.coalesce(col("_path_source") != F.lit(contract.source), F.lit(False))
         | F.coalesce(col("_path_entity") != F.lit(contract.entity), F.lit(False)),
         message(f"bronze partition is not {layout.entity_prefix(contract.source, contract.entity).rstrip('/')}",
                 col("bronze_file"))),
        ("rule_valid_envelope", ~F.coalesce(col("_schema_version") == F.lit(str(SCHEMA_VERSION)), F.lit(False)),
         message(f"event.schema_version must be {SCHEMA_VERSION}", col("_schema_version"))),
        ("rule_valid_envelope", ~F.coalesce(col("event_id").rlike(UUID_PATTERN), F.lit(False)),
         message("event.event_id is not a UUID", col("event_id"))),
        ("rule_valid_envelope", col("event_time").isNull(),
         message("event.event_time is not an ISO-8601 timestamp", col("_event_time_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("op").isin(*OPS), F.lit(False)),
         message(f"event.op must be one of {', '.join(OPS)}", col("op"))),
        # from_json of the data fields marks anything but a JSON object (the fallback parse of event.data)
        ("rule_valid_envelope", col("_d").isNull() | col("_d")[NOT_AN_OBJECT].isNotNull(),
         message("event.data is not a JSON object", col("_data_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("ingest_sequence_number").rlike(SEQUENCE_PATTERN), F.lit(False)),
         message("ingest.sequence_number must be digits", col("ingest_sequence_number"))),
        ("rule_valid_envelope", col("ingest_shard_id").isNull(), F.lit("ingest.shard_id is missing")),
    ]
    is_upsert = col("op") == "upsert"
    data_checks: list[tuple[str, Column, Column]] = []
    for name in contract.field_names:
        fragment = fields[name]
        for rule, cond, msg in field_checks(contract, name, fragment, col(f"__s_{name}"), col(name),
                                            required=name not in contract.nullable):
            data_checks.append((rule, cond if name in key else is_upsert & cond, msg))
    typed_cols = {name: col(name) for name in contract.field_names}
    for rule, cond, msg in business_checks(contract, typed_cols):
        data_checks.append((rule, is_upsert & cond, msg))
    # partition range: never before the projection start, never after the event's month (+ months_ahead)
    pcol = col(part.column)
    latest = F.date_format(F.add_months(utc_date(col("event_time")), part.months_ahead), "yyyy-MM")
    in_range = (pcol >= F.lit(PROJECTION_START)) & (pcol <= latest)
    data_checks.append(("rule_partition_in_range", (is_upsert | F.lit(part.column in key)) & ~in_range,
                        message(f"{part.column} must be within {PROJECTION_START} .. month of event_time"
                                + (f" + {part.months_ahead} months" if part.months_ahead else ""), pcol)))

    # First failing rule (envelope checks first, then the data checks in RULES order) and its message:
    # CASE WHEN chains and OR-ed flags compile to plain generated code; the list of every failing rule
    # (a higher-order function, interpreted) is built for quarantined rows only.
    env = [(rule, F.coalesce(cond, F.lit(False)), msg) for rule, cond, msg in envelope_checks]
    data = [(rule, F.coalesce(cond, F.lit(False)), msg)
            for rule, cond, msg in sorted(data_checks, key=lambda item: RULE_ORDER[item[0]])]
    env_failed = _any([cond for _, cond, _ in env])
    # The id test is always true: it only makes the flag non-deterministic, so the optimizer neither
    # pushes the valid/quarantine filters below it nor inlines it into its references (either would copy
    # the whole parsing tree into every reference and blow up planning and code generation).
    stages.append(["*", F.when(F.monotonically_increasing_id() >= 0, env_failed).alias("_env_failed")])
    failed = F.col("_env_failed") | _any([cond for _, cond, _ in data])
    stages.append(["*", F.when(F.monotonically_increasing_id() >= 0, failed).alias(QUARANTINED)])

    def first(pick) -> Column:
        chain = None
        for check in env + data:
            chain = F.when(check[1], pick(check)) if chain is None else chain.when(check[1], pick(check))
        return chain

    def every_rule(checks) -> Column:
        return F.array_distinct(F.array_compact(F.array(*[F.when(cond, F.lit(rule)) for rule, cond, _ in checks])))

    valid_cols = [F.col(f.name).cast(f.dataType).alias(f.name) for f in spark_schema(spec).fields
                  if f.name != "silver_run_id"]
    quarantine_cols = [
        first(lambda check: F.lit(check[0])).alias("rule"),
        first(lambda check: check[2]).alias("error"),
        F.when(F.col("_env_failed"), every_rule(env)).otherwise(every_rule(data)).alias("failed_rules"),
        F.coalesce(F.col("_path_source"), F.lit(contract.source)).alias("source"),
        F.coalesce(F.col("_path_entity"), F.lit(contract.entity)).alias("entity"),
        F.col("bronze_file"),
        F.col("_ingest_date_text").alias("ingest_date"),
        F.col("event_id"),
        F.col("line"),
    ]
    return _Plan(stages, valid_cols, quarantine_cols)


def _any(conditions: list[Column]) -> Column:
    out = F.lit(False)
    for cond in conditions:
        out = out | cond
    return out


QUARANTINED = "_quarantined"
_Q = "_q_"


def conform_tagged(lines: DataFrame, contract: Contract, run_id: str, keep: tuple[str, ...] = ()) -> DataFrame:
    """Bronze lines of one contract -> one frame holding both outcomes, for a job to cache once.

    Columns: ``_quarantined`` (boolean), the silver columns + partition column with the personal fields still
    in the clear (:func:`lakehouse.silver_tables.conformed_table`; meaningful where ``_quarantined`` is
    false), the :data:`QUARANTINE_COLUMNS` prefixed ``_q_`` (null where it is false, so a cached copy holds
    the original line of quarantined rows only), then the input columns named in ``keep``
    (``bronze_file``). Split it with :func:`split_conformed`.
    """
    plan = _plan(contract)
    checked = lines
    for stage in plan.stages:
        checked = checked.select(*stage)
    run = F.lit(run_id).alias("silver_run_id")
    names = [f.name for f in spark_schema(conformed_table(contract.source, contract.entity)).fields]
    failed = F.col(QUARANTINED)
    quarantine = [F.when(failed, c).alias(_Q + name)
                  for c, name in zip(plan.quarantine_cols + [F.lit(run_id)], QUARANTINE_COLUMNS)]
    return (checked.select(QUARANTINED, *plan.valid_cols, run, *quarantine, *keep)
            .select(QUARANTINED, *names, *[_Q + name for name in QUARANTINE_COLUMNS], *keep))


def split_conformed(tagged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``(valid, quarantine)`` of a :func:`conform_tagged` frame."""
    names = [c for c in tagged.columns if c != QUARANTINED and not c.startswith(_Q)]
    valid = tagged.where(~F.col(QUARANTINED)).select(*names)
    quarantine = tagged.where(F.col(QUARANTINED)).select(
        *[F.col(_Q + name).alias(name) for name in QUARANTINE_COLUMNS])
    return valid, quarantine


def conform(lines: DataFrame, contract: Contract, run_id: str) -> tuple[DataFrame, DataFrame]:
    """Bronze lines (``line``, ``bronze_file``) of one contract -> ``(valid, quarantine)``.

    ``valid``: the silver columns + partition column (deletes included, ``op = "delete"``), personal fields
    still in the clear (:func:`lakehouse.bronze_silver.privacy.protect` stores them).
    ``quarantine``: :data:`QUARANTINE_COLUMNS`. Every input row is in exactly one of them.
    """
    return split_conformed(conform_tagged(lines, contract, run_id))


def _warning_sums(contract: Contract, counted: Column) -> list[Column]:
    """Per warning rule of the contract, the number of ``counted`` rows it flags (aggregates named by rule)."""
    return [F.sum(F.when(counted, F.coalesce(cond, F.lit(False)).cast("long"))).alias(rule)
            for rule, cond in warning_checks(contract)]


def warning_counts(valid: DataFrame, contract: Contract) -> dict[str, int]:
    """Rows of ``valid`` (upserts) flagged by each warning rule of the contract (an action)."""
    sums = _warning_sums(contract, F.col("op") == "upsert")
    if not sums:
        return {}
    row = valid.agg(*sums).first()
    return {rule: int((row[rule] if row is not None else 0) or 0) for rule, _ in warning_checks(contract)}


@dataclass(frozen=True)
class Outcome:
    """What :func:`tagged_outcome` counts in one pass over a :func:`conform_tagged` frame."""

    valid: int
    quarantined: int
    by_rule: dict[str, int]
    warnings: dict[str, int]
    upsert_partitions: list[str]


def tagged_outcome(tagged: DataFrame, contract: Contract, partition_column: str) -> Outcome:
    """One action over a :func:`conform_tagged` frame: its valid and quarantined rows, the quarantined rows per
    rule, the :func:`warning_counts` of its valid rows, and the partitions (non-null values of
    ``partition_column``, sorted) of its valid upserts."""
    upsert = ~F.col(QUARANTINED) & (F.col("op") == "upsert")
    rules = [rule for rule, _ in warning_checks(contract)]
    rows = (tagged.groupBy(QUARANTINED, _Q + "rule", F.when(upsert, F.col(partition_column)).alias("_upsert_partition"))
            .agg(F.count(F.lit(1)).alias("_rows"), *_warning_sums(contract, upsert)).collect())
    by_rule: dict[str, int] = {}
    for r in rows:
        if r[QUARANTINED]:
            by_rule[r[_Q + "rule"]] = by_rule.get(r[_Q + "rule"], 0) + int(r["_rows"])
    return Outcome(
        valid=sum(int(r["_rows"]) for r in rows if not r[QUARANTINED]),
        quarantined=sum(int(r["_rows"]) for r in rows if r[QUARANTINED]),
        by_rule=by_rule,
        warnings={rule: sum(int(r[rule] or 0) for r in rows) for rule in rules},
        upsert_partitions=sorted({r["_upsert_partition"] for r in rows if r["_upsert_partition"] is not None}))
