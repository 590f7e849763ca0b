"""Text -> typed values, as Spark column expressions: clean_text, dates, timestamps, months, money, integers.

Parsing never raises (ANSI mode or not): a value that does not parse gives null (the conform plan turns
that into ``rule_contract_type``).
"""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

__all__ = [
    "MONEY_ABS_LIMIT",
    "PARSERS",
    "PART_NAMES",
    "WHITESPACE",
    "clean_text",
    "parse_date",
    "parse_integer",
    "parse_money",
    "parse_month",
    "parse_timestamp",
    "parse_value",
    "utc_date",
]

_MICROS_PER_DAY = 86_400_000_000

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


# The two halves of each split parser by field kind, and the names of the parts (see above).
PART_NAMES = {"date": ("y", "m", "d"), "timestamp": ("t",),
              "month": ("y", "m"), "money": ("n",)}
PARSERS = {
    "date": (_date_parts, _date_value),
    "timestamp": (_timestamp_parts, _timestamp_value),
    "month": (_month_parts, _month_value),
    "money": (_money_parts, _money_value),
}


def parse_value(kind: str, text: Column) -> Column:
    """Text -> the value of a field of kind ``kind`` (:func:`lakehouse.silver_tables.field_kind`); a
    ``string`` field's text as it is."""
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


def utc_date(ts: Column) -> Column:
    """The UTC date of a timestamp, whatever the session time zone."""
    return F.date_from_unix_date(F.floor(F.unix_micros(ts) / F.lit(_MICROS_PER_DAY)).cast("int"))
