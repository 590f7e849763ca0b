"""Bronze -> silver: pure DataFrame transformations (parse, type, standardize, validate, deduplicate, merge).

Bronze lines are JSON objects written by the ingest Lambda (and, in the same format, by the EMR backfill)::

    {"event": {"source", "entity", "schema_version", "event_id", "event_time", "op", "data": {...}},
     "ingest": {"shard_id", "sequence_number", "partition_key", "arrival_time"}}

under ``source=<s>/entity=<e>/ingest_date=<YYYY-MM-DD>/<object>.jsonl``.

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
"""
from __future__ import annotations

import re
from typing import Iterable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data_contracts import reference as ref
from data_contracts.contracts import OPS, SCHEMA_VERSION, Contract
from lakehouse.catalog_spec import TableSpec
from lakehouse.silver_tables import PARTITIONING, PROJECTION_START, field_kind, silver_table

__all__ = [
    "BRONZE_FILE_PATTERN",
    "QUARANTINE_COLUMNS",
    "RULES",
    "WARNING_RULES",
    "bronze_relative_path",
    "bronze_line_schema",
    "clean_text",
    "conform",
    "conform_tagged",
    "data_text_schema",
    "empty_frame",
    "latest_per_key",
    "merge_counts",
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
    "tombstone_schema",
    "touched_partitions",
    "warning_counts",
]

# --- rules ---------------------------------------------------------------------------------------------

RULES: dict[str, str] = {
    "rule_valid_json": "the bronze line is not a JSON object holding 'event' and 'ingest' objects",
    "rule_valid_envelope": "an envelope or ingest field is missing or wrong: source/entity differ from the "
                           "bronze partition, schema_version, event_id (UUID), event_time, op, "
                           "sequence_number (digits), shard_id, or data is not an object",
    "rule_required_field": "a field the contract requires is missing, null or blank (deletes: the business key)",
    "rule_contract_type": "a value cannot be cast to the contract type (date, timestamp, decimal, integer, month)",
    "rule_known_state": "the state is not one of the 27 Brazilian UFs",
    "rule_known_line_of_business": "the line of business is not a known SUSEP ramo code",
    "rule_contract_format": "a text value breaks the contract's pattern or length (ids, codes, names)",
    "rule_contract_enum": "a value is not one of the contract's enum values (person type, status, cause)",
    "rule_contract_range": "an integer is outside the contract's minimum/maximum",
    "rule_date_in_range": "a date or timestamp is outside 1900-01-01 .. 2100-12-31",
    "rule_amount_not_negative": "a money amount the contract bounds at 0 is negative",
    "rule_amount_positive": "a money amount that must be positive is zero or negative",
    "rule_document_matches_person_type": "PF needs an 11-digit CPF, PJ a 14-digit CNPJ",
    "rule_document_check_digits": "the CPF/CNPJ check digits are wrong (or all digits are equal)",
    "rule_end_date_after_start_date": "policy end_date must be after start_date",
    "rule_product_matches_line_of_business": "a known product_code must belong to the policy's line of business",
    "rule_updated_not_before_created": "updated_at must not be before created_at (customer) / issued_at (policy)",
    "rule_paid_installment_has_paid_date": "an installment with status 'paid' needs a paid_date",
    "rule_notification_not_before_occurrence": "claim notification_date must not be before occurrence_date",
    "rule_paid_not_above_incurred": "claim paid_amount must not exceed incurred_amount",
    "rule_partition_in_range": "the partition month is before the silver projection start or after the "
                               "event's month (installments: more than 10 years after it)",
}
WARNING_RULES: dict[str, str] = {
    "rule_earned_not_above_written": "SUSEP premiums_earned above premiums_written (counted, not quarantined)",
}
_RULE_ORDER = {name: i for i, name in enumerate(RULES)}

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "rule", "error", "failed_rules", "source", "entity", "bronze_file", "ingest_date", "event_id", "line",
    "silver_run_id",
)

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SEQUENCE_PATTERN = r"^[0-9]{1,64}$"
SEQUENCE_WIDTH = 64
BRONZE_FILE_PATTERN = r"(source=([^/]+)/entity=([^/]+)/ingest_date=([^/]+)/([^/]+))$"

# Money fields that must be strictly positive (the others bounded at 0 by the contract may be 0).
POSITIVE_AMOUNTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("erp", "policy"): ("sum_insured", "annual_premium"),
    ("erp", "premium_installment"): ("amount",),
    ("erp", "claim"): ("claimed_amount",),
}
# Standardizations that are not derivable from the contract's enum/pattern.
_ZERO_PAD = {"line_of_business": 4, "insurer_code": 5}
_DIGITS_ONLY = {"document_number"}
MIN_DATE = "1900-01-01"
MAX_DATE = "2100-12-31"
_MICROS_PER_DAY = 86_400_000_000
_MAX_VALUE_SHOWN = 80


# --- small column helpers ------------------------------------------------------------------------------

# What clean_text trims: Java's \s ([ \t\n\x0B\f\r]), no-break space and the byte-order mark.
WHITESPACE = " \t\n\x0b\f\r\u00a0\ufeff"


def clean_text(col: Column) -> Column:
    """Trimmed (spaces, tabs, newlines, no-break spaces); blank -> null.

    ``btrim`` with a character set, not a regular expression: it runs on every text value of every row.
    """
    trimmed = F.btrim(col, F.lit(WHITESPACE))
    return F.when(trimmed != "", trimmed)


def _int(col: Column) -> Column:
    return col.cast("int")


def _days_in_month(y: Column, m: Column) -> Column:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (F.when(m == 2, F.when(leap, 29).otherwise(28))
            .when(m.isin(4, 6, 9, 11), 30)
            .otherwise(31))


def _valid_ymd(y: Column, m: Column, d: Column) -> Column:
    return (y.isNotNull() & m.between(1, 12) & (d >= 1)
            & (d <= F.when(m.between(1, 12), _days_in_month(y, m))))


_ISO_DATE = r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$"
_BR_DATE = r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$"

# Each parser is split in two: ``_<kind>_parts(text)`` extracts the pieces (one regex evaluation each) and
# ``_<kind>_value(parts)`` assembles the value. :func:`conform` materializes the parts as columns first,
# so the assembly references plain columns instead of repeating the regular expressions.
Parts = dict


# The parsers validate the shape with one regular expression and then cut the pieces with string
# functions (split on a single literal character and substring take no regular expression): regular
# expressions dominate the cost of conforming a row.


def _date_parts(text: Column) -> Parts:
    iso, br = text.rlike(_ISO_DATE), text.rlike(_BR_DATE)
    pieces = F.when(iso, F.split(text, "-")).when(br, F.reverse(F.split(text, "/")))
    return {"y": _int(pieces[0]), "m": _int(pieces[1]), "d": _int(pieces[2])}


def _date_value(p: Parts) -> Column:
    return F.when(F.coalesce(_valid_ymd(p["y"], p["m"], p["d"]), F.lit(False)), F.make_date(p["y"], p["m"], p["d"]))


def parse_date(text: Column) -> Column:
    """``YYYY-MM-DD`` (or ``DD/MM/YYYY``) -> date; anything else, or an impossible day, -> null."""
    return _date_value(_date_parts(text))


_TS = (r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
       r"(Z|[+-][0-9]{2}:?[0-9]{2})?$")


def _timestamp_parts(text: Column) -> Parts:
    # The shape is checked here; the value is left to Spark's own timestamp parser (no formatter, no
    # regular expression). A text without a zone is UTC: it gets a "Z". The zone, when present, ends the
    # text: "Z", or a sign 5 or 6 characters from the end (+hhmm, +hh:mm); a sign elsewhere in the last six
    # characters cannot occur (they are digits, ':' or '.').
    zoned = ((F.substring(text, -1, 1) == "Z") | F.substring(text, -6, 1).isin("+", "-")
             | F.substring(text, -5, 1).isin("+", "-"))
    return {"t": F.when(text.rlike(_TS), F.when(zoned, text).otherwise(F.concat(text, F.lit("Z"))))}


def _timestamp_value(p: Parts) -> Column:
    # try_to_timestamp without a format is the non-ANSI cast: an impossible value (2024-02-30, 24:00,
    # offset +99:99) gives null, never an error, whatever spark.sql.ansi.enabled says
    return F.try_to_timestamp(p["t"])


def parse_timestamp(text: Column) -> Column:
    """ISO-8601 ``YYYY-MM-DDTHH:MM:SS[.f]`` with ``Z``, ``±HH:MM`` or no zone (= UTC) -> timestamp (UTC).

    Independent of the session time zone; fractions beyond microseconds are truncated.
    """
    return _timestamp_value(_timestamp_parts(text))


_MONTH = r"^([0-9]{4})-([0-9]{1,2})$"


def _month_parts(text: Column) -> Parts:
    pieces = F.when(text.rlike(_MONTH), F.split(text, "-"))
    return {"y": pieces[0], "m": _int(pieces[1])}


def _month_value(p: Parts) -> Column:
    return F.when(F.coalesce(p["m"].between(1, 12), F.lit(False)),
                  F.concat(p["y"], F.lit("-"), F.lpad(p["m"].cast("string"), 2, "0")))


def parse_month(text: Column) -> Column:
    """``YYYY-MM`` (or ``YYYY-M``) -> ``YYYY-MM`` string; invalid -> null."""
    return _month_value(_month_parts(text))


_BR_MONEY = r"^[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+),[0-9]+$"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$"
MONEY_ABS_LIMIT = 1e15  # decimal(18,2) holds 16 integer digits; keep a margin for rounding


def _money_parts(text: Column) -> Parts:
    compact = F.regexp_replace(text, r"^R\$|[\s\u00a0]", "")
    normal = F.when(compact.rlike(_BR_MONEY),
                    F.regexp_replace(F.regexp_replace(compact, r"\.", ""), ",", ".")).otherwise(compact)
    # a plain number (what the stream sends) takes one regular expression; only other shapes are normalized
    return {"n": F.when(text.rlike(_NUMBER), text).when(normal.rlike(_NUMBER), normal)}


def _money_value(p: Parts) -> Column:
    n = p["n"]
    exact = F.when(F.coalesce(F.abs(n.cast("double")) < MONEY_ABS_LIMIT, F.lit(False)), n).cast("decimal(38,18)")
    return F.round(exact, 2).cast("decimal(18,2)")


def parse_money(text: Column) -> Column:
    """Money -> decimal(18,2), rounded half-up; accepts ``R$``, ``1234.5``, ``1.2345E3``, ``1.234,56``."""
    return _money_value(_money_parts(text))


_INTEGER = r"^[+-]?[0-9]{1,18}(\.0*)?$"


def parse_integer(text: Column, kind: str = "bigint") -> Column:
    """Integer text (``3``, ``3.0``) -> bigint (or int when ``kind == "int"`` and it fits); else null."""
    value = F.when(text.rlike(_INTEGER), F.regexp_extract(text, r"^([+-]?[0-9]+)", 1)).cast("long")
    if kind == "int":
        return F.when(value.between(-(2**31), 2**31 - 1), value).cast("int")
    return value


_PART_NAMES = {"date": ("y", "m", "d"), "timestamp": ("t",),
               "month": ("y", "m"), "money": ("n",)}
_PARSERS = {
    "date": (_date_parts, _date_value),
    "timestamp": (_timestamp_parts, _timestamp_value),
    "month": (_month_parts, _month_value),
    "money": (_money_parts, _money_value),
}


def _shown(col: Column) -> Column:
    text = col.cast("string")
    return F.coalesce(F.concat(F.lit("'"), F.substring(text, 1, _MAX_VALUE_SHOWN), F.lit("'")), F.lit("null"))


def _msg(text: str, value: Column | None = None) -> Column:
    if value is None:
        return F.lit(text)
    return F.concat(F.lit(text + " (value: "), _shown(value), F.lit(")"))


# --- schemas ---------------------------------------------------------------------------------------------

_SPARK_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(), "date": T.DateType(),
    "timestamp": T.TimestampType(), "double": T.DoubleType(), "boolean": T.BooleanType(),
}


def _spark_type(glue_type: str) -> T.DataType:
    match = re.fullmatch(r"decimal\((\d+),(\d+)\)", glue_type.replace(" ", ""))
    if match:
        return T.DecimalType(int(match.group(1)), int(match.group(2)))
    return _SPARK_TYPES[glue_type]


def spark_schema(spec: TableSpec, *, partitions: bool = True) -> T.StructType:
    """The Spark schema of a table spec (columns, then partition keys)."""
    cols = list(spec.columns) + (list(spec.partition_keys) if partitions else [])
    return T.StructType([T.StructField(c.name, _spark_type(c.type), True) for c in cols])


def tombstone_schema(spec: TableSpec) -> T.StructType:
    """Business key + version columns: what is kept of a delete."""
    keep = list(spec.primary_key) + ["event_id", "event_time", "op", "ingest_shard_id", "ingest_sequence_number",
                                     "ingest_date", "silver_run_id"]
    fields = {f.name: f for f in spark_schema(spec).fields}
    return T.StructType([fields[name] for name in keep])


def empty_frame(spark, schema: T.StructType) -> DataFrame:
    return spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)


_NOT_AN_OBJECT = "__not_an_object"  # from_json of event.data puts data that is not a JSON object here
_ENVELOPE_SCHEMA = T.StructType([
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


def bronze_line_schema(contract: Contract) -> T.StructType:
    """A whole bronze line of one contract for a single ``from_json``: the envelope, with ``event.data`` as
    :func:`data_text_schema` instead of the object's raw text."""
    event = [T.StructField("data", data_text_schema(contract)) if f.name == "data" else f
             for f in _ENVELOPE_SCHEMA["event"].dataType.fields]
    return T.StructType([T.StructField("event", T.StructType(event)), _ENVELOPE_SCHEMA["ingest"]])

# --- reading ---------------------------------------------------------------------------------------------

def bronze_relative_path(path: str) -> str | None:
    """``source=<s>/entity=<e>/ingest_date=<d>/<name>`` of a bronze object URI, or None."""
    match = re.search(BRONZE_FILE_PATTERN, path)
    return match.group(1) if match else None


def read_bronze_lines(spark, files: Iterable[str]) -> DataFrame:
    """``(line, bronze_file)`` for every non-blank line of the given bronze objects."""
    files = list(files)
    if not files:
        return empty_frame(spark, T.StructType([T.StructField("line", T.StringType()),
                                                T.StructField("bronze_file", T.StringType())]))
    return (spark.read.text(files)
            .select(F.col("value").alias("line"), F.input_file_name().alias("bronze_file"))
            .where(F.trim(F.col("line")) != ""))


# --- conform: parse, standardize, type, validate ----------------------------------------------------------

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


def _typed(kind: str, text: Column) -> Column:
    if kind == "date":
        return parse_date(text)
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "money":
        return parse_money(text)
    if kind in ("int", "bigint"):
        return parse_integer(text, kind)
    if kind == "month":
        return parse_month(text)
    return text


def _utc_date(ts: Column) -> Column:
    return F.date_from_unix_date(F.floor(F.unix_micros(ts) / F.lit(_MICROS_PER_DAY)).cast("int"))


def _month_of(kind: str, value: Column) -> Column:
    if kind == "month":
        return value
    if kind == "timestamp":
        value = _utc_date(value)
    return F.date_format(value, "yyyy-MM")


def _check_digits_ok(doc: Column, weights1: list[int], weights2: list[int]) -> Column:
    n = len(weights2) + 1
    digits = [_int(F.substring(doc, i + 1, 1)) for i in range(n)]

    def dv(weights: list[int]) -> Column:
        total = sum((digits[i] * w for i, w in enumerate(weights)), F.lit(0))
        r = total % 11
        return F.when(r < 2, 0).otherwise(11 - r)

    same = doc.rlike(r"^([0-9])\1+$")
    return (~same) & (digits[n - 2] == dv(weights1)) & (digits[n - 1] == dv(weights2))


_CPF_W1 = [10, 9, 8, 7, 6, 5, 4, 3, 2]
_CPF_W2 = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def _business_rules(contract: Contract, c: dict[str, Column]) -> list[tuple[str, Column, Column]]:
    """(rule, failing condition, message) for the upsert rules of one entity; c maps field -> typed column."""
    key = (contract.source, contract.entity)
    rules: list[tuple[str, Column, Column]] = []
    if key == ("erp", "customer"):
        pt, doc = c["person_type"], c["document_number"]
        rules.append(("rule_document_matches_person_type",
                      ((pt == "PF") & (F.length(doc) != 11)) | ((pt == "PJ") & (F.length(doc) != 14)),
                      F.concat(F.lit("person_type "), pt, F.lit(" needs a "),
                               F.when(pt == "PF", "CPF (11 digits)").otherwise("CNPJ (14 digits)"),
                               F.lit(", got "), F.length(doc).cast("string"), F.lit(" digits"))))
        cpf_ok = _check_digits_ok(doc, _CPF_W1, _CPF_W2)
        cnpj_ok = _check_digits_ok(doc, _CNPJ_W1, _CNPJ_W2)
        bad = (((pt == "PF") & (F.length(doc) == 11) & ~cpf_ok)
               | ((pt == "PJ") & (F.length(doc) == 14) & ~cnpj_ok))
        rules.append(("rule_document_check_digits", bad,
                      _msg("document_number has wrong check digits", doc)))
        rules.append(("rule_updated_not_before_created", c["updated_at"] < c["created_at"],
                      F.concat(F.lit("updated_at "), c["updated_at"].cast("string"),
                               F.lit(" is before created_at "), c["created_at"].cast("string"))))
    elif key == ("erp", "policy"):
        rules.append(("rule_end_date_after_start_date", c["end_date"] <= c["start_date"],
                      F.concat(F.lit("end_date "), c["end_date"].cast("string"),
                               F.lit(" is not after start_date "), c["start_date"].cast("string"))))
        products = F.create_map(*[F.lit(x) for code, (lob, _) in sorted(ref.PRODUCTS.items()) for x in (code, lob)])
        product_lob = products[c["product_code"]]
        rules.append(("rule_product_matches_line_of_business",
                      product_lob.isNotNull() & (product_lob != c["line_of_business"]),
                      F.concat(F.lit("product_code "), c["product_code"], F.lit(" belongs to line of business "),
                               product_lob, F.lit(", not "), c["line_of_business"])))
        rules.append(("rule_updated_not_before_created", c["updated_at"] < c["issued_at"],
                      F.concat(F.lit("updated_at "), c["updated_at"].cast("string"),
                               F.lit(" is before issued_at "), c["issued_at"].cast("string"))))
    elif key == ("erp", "premium_installment"):
        rules.append(("rule_paid_installment_has_paid_date", (c["status"] == "paid") & c["paid_date"].isNull(),
                      F.lit("status is 'paid' but paid_date is null")))
    elif key == ("erp", "claim"):
        rules.append(("rule_notification_not_before_occurrence",
                      c["notification_date"] < c["occurrence_date"],
                      F.concat(F.lit("notification_date "), c["notification_date"].cast("string"),
                               F.lit(" is before occurrence_date "), c["occurrence_date"].cast("string"))))
        rules.append(("rule_paid_not_above_incurred", c["paid_amount"] > c["incurred_amount"],
                      F.concat(F.lit("paid_amount "), c["paid_amount"].cast("string"),
                               F.lit(" exceeds incurred_amount "), c["incurred_amount"].cast("string"))))
    return rules


def _warning_rules(contract: Contract) -> list[tuple[str, Column]]:
    if (contract.source, contract.entity) == ("susep", "market_statistics"):
        return [("rule_earned_not_above_written", F.col("premiums_earned") > F.col("premiums_written"))]
    return []


def _field_checks(contract: Contract, name: str, fragment: dict, std: Column, typed: Column,
                  required: bool) -> list[tuple[str, Column, Column]]:
    """(rule, failing condition, message) for one field; conditions may be null (= passes)."""
    kind = field_kind(fragment)
    checks: list[tuple[str, Column, Column]] = []
    if required:
        checks.append(("rule_required_field", std.isNull(), F.lit(f"{name} is required")))
    if kind != "string":
        checks.append(("rule_contract_type", std.isNotNull() & typed.isNull(),
                       _msg(f"{name} is not a valid {kind}", std)))
    enum = [v for v in fragment.get("enum", []) if v is not None]
    if name == "state" and enum:
        checks.append(("rule_known_state", ~typed.isin(*ref.STATE_CODES), _msg(f"{name} is not a Brazilian UF", std)))
    elif name == "line_of_business" and enum:
        checks.append(("rule_known_line_of_business", ~typed.isin(*ref.LINE_OF_BUSINESS_CODES),
                       _msg(f"{name} is not a known SUSEP ramo code", std)))
    elif enum:
        checks.append(("rule_contract_enum", ~typed.isin(*enum),
                       _msg(f"{name} must be one of {', '.join(enum)}", std)))
    if kind == "string":
        pattern = fragment.get("pattern")
        if pattern:
            checks.append(("rule_contract_format", ~typed.rlike(pattern),
                           _msg(f"{name} does not match {pattern}", std)))
        if "minLength" in fragment or "maxLength" in fragment:
            lo, hi = fragment.get("minLength", 0), fragment.get("maxLength", 1 << 30)
            checks.append(("rule_contract_format", ~F.length(typed).between(lo, hi),
                           _msg(f"{name} length must be between {lo} and {hi}", std)))
    if kind in ("int", "bigint") and ("minimum" in fragment or "maximum" in fragment):
        lo, hi = fragment.get("minimum"), fragment.get("maximum")
        cond = F.lit(False)
        if lo is not None:
            cond = cond | (typed < lo)
        if hi is not None:
            cond = cond | (typed > hi)
        checks.append(("rule_contract_range", cond, _msg(f"{name} must be within [{lo}, {hi}]", std)))
    if kind in ("date", "timestamp"):
        day = _utc_date(typed) if kind == "timestamp" else typed
        checks.append(("rule_date_in_range", ~day.between(F.lit(MIN_DATE).cast("date"), F.lit(MAX_DATE).cast("date")),
                       _msg(f"{name} is outside {MIN_DATE}..{MAX_DATE}", std)))
    if kind == "money":
        if name in POSITIVE_AMOUNTS.get((contract.source, contract.entity), ()):
            checks.append(("rule_amount_positive", typed <= 0, _msg(f"{name} must be positive", std)))
        elif fragment.get("minimum") == 0:
            checks.append(("rule_amount_not_negative", typed < 0, _msg(f"{name} must not be negative", std)))
    return checks


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
    spec = silver_table(contract.source, contract.entity)
    part = PARTITIONING[(contract.source, contract.entity)]
    fields = dict(contract.fields)
    key = set(contract.business_key)
    stages: list[list] = []

    # Stage 1: the envelope.
    # the last four path segments, source=<s>/entity=<e>/ingest_date=<d>/<name> (string functions, no
    # regular expression: the file name repeats on every row)
    segments = F.split(F.substring_index(F.col("bronze_file"), "/", -4), "/")

    def segment(i: int, prefix: str = "") -> Column:
        return F.substring(segments[i], len(prefix) + 1, 1 << 16)

    in_layout = ((F.size(segments) == 4) & segments[0].startswith("source=") & segments[1].startswith("entity=")
                 & segments[2].startswith("ingest_date=") & (F.length(segments[0]) > 7)
                 & (F.length(segments[1]) > 7) & (F.length(segments[2]) > 12) & (F.length(segments[3]) > 0))
    stages.append([
        "line", "bronze_file",
        F.when(in_layout, segment(0, "source=")).alias("_path_source"),
        F.when(in_layout, segment(1, "entity=")).alias("_path_entity"),
        F.when(in_layout, segment(2, "ingest_date=")).alias("_ingest_date_text"),
        F.from_json(F.col("line"), _ENVELOPE_SCHEMA).alias("_p"),
    ])
    ev, ing = F.col("_p.event"), F.col("_p.ingest")
    stages.append([
        "line", "bronze_file", "_path_source", "_path_entity", "_ingest_date_text",
        ev.isNull().alias("_no_event"), ing.isNull().alias("_no_ingest"),
        clean_text(ev["source"]).alias("_source"), clean_text(ev["entity"]).alias("_entity"),
        clean_text(ev["schema_version"]).alias("_schema_version"),
        F.lower(clean_text(ev["event_id"])).alias("event_id"),
        clean_text(ev["event_time"]).alias("_event_time_text"),
        clean_text(ev["op"]).alias("op"),
        clean_text(ev["data"]).alias("_data_text"),
        clean_text(ing["shard_id"]).alias("ingest_shard_id"),
        clean_text(ing["sequence_number"]).alias("ingest_sequence_number"),
    ])
    stages.append(["*", *[c.alias(f"__pe_{k}") for k, c in _timestamp_parts(F.col("_event_time_text")).items()],
                   *[c.alias(f"__pi_{k}") for k, c in _date_parts(F.col("_ingest_date_text")).items()]])
    stages.append([
        "*",
        _timestamp_value({k: F.col(f"__pe_{k}") for k in _PART_NAMES["timestamp"]}).alias("event_time"),
        _date_value({k: F.col(f"__pi_{k}") for k in _PART_NAMES["date"]}).alias("ingest_date"),
    ])

    # Stage 2: data fields as standardized text, then typed.
    data_schema = data_text_schema(contract).add(_NOT_AN_OBJECT, T.StringType())
    data = F.from_json(F.col("_data_text"), data_schema, {"columnNameOfCorruptRecord": _NOT_AN_OBJECT})
    stages.append(["*", data.alias("_d")])
    stages.append(["*", *[_standardize(name, fields[name], clean_text(F.col("_d")[name])).alias(f"__s_{name}")
                          for name in contract.field_names]])
    part_cols = []
    for name in contract.field_names:
        parser = _PARSERS.get(field_kind(fields[name]))
        if parser is not None:
            part_cols += [c.alias(f"__p_{name}__{k}") for k, c in parser[0](F.col(f"__s_{name}")).items()]
    stages.append(["*", *part_cols])
    typed_list = []
    for name in contract.field_names:
        kind = field_kind(fields[name])
        parser = _PARSERS.get(kind)
        if parser is not None:
            value = parser[1]({k: F.col(f"__p_{name}__{k}") for k in _PART_NAMES[kind]})
        else:
            value = _typed(kind, F.col(f"__s_{name}"))
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
         _msg("bronze file is not under source=/entity=/ingest_date=", col("bronze_file"))),
        ("rule_valid_envelope", col("ingest_date").isNull(),
         _msg("bronze partition ingest_date is not a date", col("_ingest_date_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("_source") == F.lit(contract.source), F.lit(False)),
         _msg(f"event.source must be {contract.source!r}", col("_source"))),
        ("rule_valid_envelope", ~F.coalesce(col("_entity") == F.lit(contract.entity), F.lit(False)),
         _msg(f"event.entity must be {contract.entity!r}", col("_entity"))),
        ("rule_valid_envelope", F.coalesce(col("_path_source") != F.lit(contract.source), F.lit(False))
         | F.coalesce(col("_path_entity") != F.lit(contract.entity), F.lit(False)),
         _msg(f"bronze partition is not source={contract.source}/entity={contract.entity}", col("bronze_file"))),
        ("rule_valid_envelope", ~F.coalesce(col("_schema_version") == F.lit(str(SCHEMA_VERSION)), F.lit(False)),
         _msg(f"event.schema_version must be {SCHEMA_VERSION}", col("_schema_version"))),
        ("rule_valid_envelope", ~F.coalesce(col("event_id").rlike(UUID_PATTERN), F.lit(False)),
         _msg("event.event_id is not a UUID", col("event_id"))),
        ("rule_valid_envelope", col("event_time").isNull(),
         _msg("event.event_time is not an ISO-8601 timestamp", col("_event_time_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("op").isin(*OPS), F.lit(False)),
         _msg(f"event.op must be one of {', '.join(OPS)}", col("op"))),
        # from_json of the data fields marks anything but a JSON object (no second parse to find out)
        ("rule_valid_envelope", col("_d").isNull() | col("_d")[_NOT_AN_OBJECT].isNotNull(),
         _msg("event.data is not a JSON object", col("_data_text"))),
        ("rule_valid_envelope", ~F.coalesce(col("ingest_sequence_number").rlike(SEQUENCE_PATTERN), F.lit(False)),
         _msg("ingest.sequence_number must be digits", col("ingest_sequence_number"))),
        ("rule_valid_envelope", col("ingest_shard_id").isNull(), F.lit("ingest.shard_id is missing")),
    ]
    is_upsert = col("op") == "upsert"
    data_checks: list[tuple[str, Column, Column]] = []
    for name in contract.field_names:
        fragment = fields[name]
        for rule, cond, msg in _field_checks(contract, name, fragment, col(f"__s_{name}"), col(name),
                                             required=name not in contract.nullable):
            data_checks.append((rule, cond if name in key else is_upsert & cond, msg))
    typed_cols = {name: col(name) for name in contract.field_names}
    for rule, cond, msg in _business_rules(contract, typed_cols):
        data_checks.append((rule, is_upsert & cond, msg))
    # partition range: never before the projection start, never after the event's month (+ months_ahead)
    pcol = col(part.column)
    latest = F.date_format(F.add_months(_utc_date(col("event_time")), part.months_ahead), "yyyy-MM")
    in_range = (pcol >= F.lit(PROJECTION_START)) & (pcol <= latest)
    data_checks.append(("rule_partition_in_range", (is_upsert | F.lit(part.column in key)) & ~in_range,
                        _msg(f"{part.column} must be within {PROJECTION_START} .. month of event_time"
                             + (f" + {part.months_ahead} months" if part.months_ahead else ""), pcol)))

    # First failing rule (envelope checks first, then the data checks in RULES order) and its message:
    # CASE WHEN chains and OR-ed flags compile to plain generated code; the list of every failing rule
    # (a higher-order function, interpreted) is built for quarantined rows only.
    env = [(rule, F.coalesce(cond, F.lit(False)), msg) for rule, cond, msg in envelope_checks]
    data = [(rule, F.coalesce(cond, F.lit(False)), msg)
            for rule, cond, msg in sorted(data_checks, key=lambda item: _RULE_ORDER[item[0]])]
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


def conform_tagged(lines: DataFrame, contract: Contract, run_id: str) -> DataFrame:
    """Bronze lines of one contract -> one frame holding both outcomes, for a job to cache once.

    Columns: ``_quarantined`` (boolean), the silver columns + partition column (meaningful where
    ``_quarantined`` is false) and the :data:`QUARANTINE_COLUMNS` prefixed ``_q_`` (null where it is
    false, so a cached copy holds the original line of quarantined rows only). Split it with
    :func:`split_conformed`.
    """
    plan = _plan(contract)
    checked = lines
    for stage in plan.stages:
        checked = checked.select(*stage)
    run = F.lit(run_id).alias("silver_run_id")
    names = [f.name for f in spark_schema(silver_table(contract.source, contract.entity)).fields]
    failed = F.col(QUARANTINED)
    quarantine = [F.when(failed, c).alias(_Q + name)
                  for c, name in zip(plan.quarantine_cols + [F.lit(run_id)], QUARANTINE_COLUMNS)]
    return (checked.select(QUARANTINED, *plan.valid_cols, run, *quarantine)
            .select(QUARANTINED, *names, *[_Q + name for name in QUARANTINE_COLUMNS]))


def split_conformed(tagged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``(valid, quarantine)`` of a :func:`conform_tagged` frame."""
    names = [c for c in tagged.columns if c != QUARANTINED and not c.startswith(_Q)]
    valid = tagged.where(~F.col(QUARANTINED)).select(*names)
    quarantine = tagged.where(F.col(QUARANTINED)).select(
        *[F.col(_Q + name).alias(name) for name in QUARANTINE_COLUMNS])
    return valid, quarantine


def conform(lines: DataFrame, contract: Contract, run_id: str) -> tuple[DataFrame, DataFrame]:
    """Bronze lines (``line``, ``bronze_file``) of one contract -> ``(valid, quarantine)``.

    ``valid``: the silver columns + partition column (deletes included, ``op = "delete"``).
    ``quarantine``: :data:`QUARANTINE_COLUMNS`. Every input row is in exactly one of them.
    """
    return split_conformed(conform_tagged(lines, contract, run_id))


def warning_counts(valid: DataFrame, contract: Contract) -> dict[str, int]:
    """Rows of ``valid`` (upserts) flagged by each warning rule of the contract (an action)."""
    rules = _warning_rules(contract)
    if not rules:
        return {}
    row = valid.where(F.col("op") == "upsert").agg(
        *[F.sum(F.coalesce(cond, F.lit(False)).cast("long")).alias(rule) for rule, cond in rules]).first()
    return {rule: int((row[rule] if row is not None else 0) or 0) for rule, _ in rules}


# --- deduplication and merge ------------------------------------------------------------------------------

ORIGIN_EXISTING, ORIGIN_TOMBSTONE, ORIGIN_NEW = 0, 1, 2


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
                   spec: TableSpec) -> DataFrame:
    """New versions (from :func:`conform`), stored silver rows and stored tombstones, ranked per key.

    ``existing``: the stored rows of every partition the candidates touch (see the job); ``tombstones``:
    stored deletes (:func:`tombstone_schema`). The result has the silver columns + partition column,
    ``_origin``, ``_rank`` and ``_winner_op``.
    """
    schema = spark_schema(spec)
    names = [f.name for f in schema.fields]

    def aligned(df: DataFrame, origin: int) -> DataFrame:
        cols = [(F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                for f in schema.fields]
        return df.select(*cols, F.lit(origin).alias("_origin"))

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
    return rank_versions(union.select(*names, "_origin"), spec.primary_key)


def silver_rows(ranked: DataFrame, spec: TableSpec) -> DataFrame:
    """The rows to store: winners that are upserts, with exactly the silver columns + partition column."""
    names = [f.name for f in spark_schema(spec).fields]
    return ranked.where((F.col("_rank") == 1) & (F.col("op") == "upsert")).select(*names)


def new_tombstones(ranked: DataFrame, spec: TableSpec) -> DataFrame:
    """Deletes of this run that won: their key and version, to be stored."""
    names = [f.name for f in tombstone_schema(spec).fields]
    return ranked.where((F.col("_rank") == 1) & (F.col("op") == "delete")
                        & (F.col("_origin") == ORIGIN_NEW)).select(*names)


def merge_counts(ranked: DataFrame) -> dict[str, int]:
    """What the merge did (an action): per origin, winners and losers."""
    rows = (ranked.groupBy("_origin", "op", (F.col("_rank") == 1).alias("win"), "_winner_op")
            .count().collect())
    out = {"new_upserts_applied": 0, "new_deletes_applied": 0, "superseded": 0, "existing_unchanged": 0,
           "existing_replaced": 0, "existing_deleted": 0, "tombstones_matched": 0, "silver_rows": 0}
    for r in rows:
        n = int(r["count"])
        if r["_origin"] == ORIGIN_NEW:
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
    return out


def partition_values(df: DataFrame, column: str) -> list[str]:
    """Distinct non-null values of a partition column, sorted (an action; months, so few)."""
    return sorted(r[0] for r in df.select(column).where(F.col(column).isNotNull()).distinct().collect())


def touched_partitions(candidates: DataFrame, existing: DataFrame | None, spec: TableSpec) -> list[str]:
    """Partitions the merge must rewrite: those of the new upserts, and those holding a stored row of any
    candidate key (a delete carries only its key, so its partition is found in silver)."""
    column = spec.partition_keys[0].name
    parts = set(partition_values(candidates.where(F.col("op") == "upsert"), column))
    if existing is not None:
        keys = candidates.select(*spec.primary_key).distinct()
        parts |= set(partition_values(existing.join(keys, list(spec.primary_key), "left_semi"), column))
    return sorted(parts)

