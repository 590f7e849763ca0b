"""The silver rules: what quarantines a row (:data:`RULES`), what is only counted (:data:`WARNING_RULES`),
and the checks that implement them for one contract's fields and business rules.

A check is ``(rule, failing condition, message)``; a null condition passes. The conform plan
(:mod:`lakehouse.bronze_silver.conform`) evaluates them and keeps, per row, the first failing rule in
:data:`RULES` order.
"""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from data_contracts import reference as ref
from data_contracts.contracts import Contract
from lakehouse.bronze_silver.parsers import utc_date
from lakehouse.silver_tables import field_kind

__all__ = [
    "MAX_DATE",
    "MIN_DATE",
    "POSITIVE_AMOUNTS",
    "RULES",
    "RULE_ORDER",
    "WARNING_RULES",
    "business_checks",
    "field_checks",
    "message",
    "withheld",
    "warning_checks",
]

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
RULE_ORDER = {name: i for i, name in enumerate(RULES)}

# Money fields that must be strictly positive (the others bounded at 0 by the contract may be 0).
POSITIVE_AMOUNTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("erp", "policy"): ("sum_insured", "annual_premium"),
    ("erp", "premium_installment"): ("amount",),
    ("erp", "claim"): ("claimed_amount",),
}
MIN_DATE = "1900-01-01"
MAX_DATE = "2100-12-31"
_MAX_VALUE_SHOWN = 80


def _shown(col: Column) -> Column:
    text = col.cast("string")
    return F.coalesce(F.concat(F.lit("'"), F.substring(text, 1, _MAX_VALUE_SHOWN), F.lit("'")), F.lit("null"))


def message(text: str, value: Column | None = None) -> Column:
    """A check's error message: ``text``, with the offending value (quoted, shortened) when given."""
    if value is None:
        return F.lit(text)
    return F.concat(F.lit(text + " (value: "), _shown(value), F.lit(")"))


def withheld(text: str, _value: Column | None = None) -> Column:
    """A check's error message for a personal field (``Contract.personal``): ``text``, never the value."""
    return F.lit(text + " (value withheld: personal data)")


def _check_digits_ok(doc: Column, weights1: list[int], weights2: list[int]) -> Column:
    n = len(weights2) + 1
    digits = [F.substring(doc, i + 1, 1).cast("int") for i in range(n)]

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


def business_checks(contract: Contract, c: dict[str, Column]) -> list[tuple[str, Column, Column]]:
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
        rules.append(("rule_document_check_digits", bad, withheld("document_number has wrong check digits")))
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


def warning_checks(contract: Contract) -> list[tuple[str, Column]]:
    """(warning rule, flagged condition) of one contract, on the columns of its silver candidates."""
    if (contract.source, contract.entity) == ("susep", "market_statistics"):
        return [("rule_earned_not_above_written", F.col("premiums_earned") > F.col("premiums_written"))]
    return []


def field_checks(contract: Contract, name: str, fragment: dict, std: Column, typed: Column,
                 required: bool) -> list[tuple[str, Column, Column]]:
    """(rule, failing condition, message) for one field; conditions may be null (= passes). The messages of a
    personal field (``contract.personal``) never show its value."""
    kind = field_kind(fragment)
    say = withheld if name in contract.personal else message
    checks: list[tuple[str, Column, Column]] = []
    if required:
        checks.append(("rule_required_field", std.isNull(), F.lit(f"{name} is required")))
    if kind != "string":
        checks.append(("rule_contract_type", std.isNotNull() & typed.isNull(),
                       say(f"{name} is not a valid {kind}", std)))
    enum = [v for v in fragment.get("enum", []) if v is not None]
    if name == "state" and enum:
        checks.append(("rule_known_state", ~typed.isin(*ref.STATE_CODES),
                       say(f"{name} is not a Brazilian UF", std)))
    elif name == "line_of_business" and enum:
        checks.append(("rule_known_line_of_business", ~typed.isin(*ref.LINE_OF_BUSINESS_CODES),
                       say(f"{name} is not a known SUSEP ramo code", std)))
    elif enum:
        checks.append(("rule_contract_enum", ~typed.isin(*enum),
                       say(f"{name} must be one of {', '.join(enum)}", std)))
    if kind == "string":
        pattern = fragment.get("pattern")
        if pattern:
            checks.append(("rule_contract_format", ~typed.rlike(pattern),
                           say(f"{name} does not match {pattern}", std)))
        if "minLength" in fragment or "maxLength" in fragment:
            lo, hi = fragment.get("minLength", 0), fragment.get("maxLength", 1 << 30)
            checks.append(("rule_contract_format", ~F.length(typed).between(lo, hi),
                           say(f"{name} length must be between {lo} and {hi}", std)))
    if kind in ("int", "bigint") and ("minimum" in fragment or "maximum" in fragment):
        lo, hi = fragment.get("minimum"), fragment.get("maximum")
        cond = F.lit(False)
        if lo is not None:
            cond = cond | (typed < lo)
        if hi is not None:
            cond = cond | (typed > hi)
        checks.append(("rule_contract_range", cond, say(f"{name} must be within [{lo}, {hi}]", std)))
    if kind in ("date", "timestamp"):
        day = utc_date(typed) if kind == "timestamp" else typed
        checks.append(("rule_date_in_range", ~day.between(F.lit(MIN_DATE).cast("date"), F.lit(MAX_DATE).cast("date")),
                       say(f"{name} is outside {MIN_DATE}..{MAX_DATE}", std)))
    if kind == "money":
        if name in POSITIVE_AMOUNTS.get((contract.source, contract.entity), ()):
            checks.append(("rule_amount_positive", typed <= 0, say(f"{name} must be positive", std)))
        elif fragment.get("minimum") == 0:
            checks.append(("rule_amount_not_negative", typed < 0, say(f"{name} must not be negative", std)))
    return checks
