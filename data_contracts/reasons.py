"""Quarantine reason codes: the fixed vocabulary written in every quarantine line's ``reason``.

Checked in this order by :func:`data_contracts.validation.classify`; the first failing check wins.
"""
from __future__ import annotations

INVALID_ENCODING = "invalid_encoding"              # payload is not UTF-8 (or holds an unpaired surrogate escape)
INVALID_JSON = "invalid_json"                      # not parseable as JSON (NaN/Infinity are not JSON either)
INVALID_ENVELOPE = "invalid_envelope"              # not an object, or envelope fields missing/wrong
UNKNOWN_ENTITY = "unknown_entity"                  # the (source, entity) pair has no contract
MISSING_REQUIRED_FIELD = "missing_required_field"  # a required ``data`` field is absent
INVALID_TYPE = "invalid_type"                      # a ``data`` field has the wrong JSON type
INVALID_VALUE = "invalid_value"                    # enum, pattern, range, decimals or extra field

VALIDATION_ERROR = "validation_error"              # the checks themselves raised (never a contract verdict)
TOMBSTONE = "tombstone"                            # a Kafka record with a null value: no payload to check

ALL_REASONS: tuple[str, ...] = (
    INVALID_ENCODING,
    INVALID_JSON,
    INVALID_ENVELOPE,
    UNKNOWN_ENTITY,
    MISSING_REQUIRED_FIELD,
    INVALID_TYPE,
    INVALID_VALUE,
)

"""The contract's verdicts (what the sample data generates one of each of)."""

INGEST_REASONS: tuple[str, ...] = ALL_REASONS + (VALIDATION_ERROR, TOMBSTONE)
"""Every reason a stream quarantine line can carry: a contract verdict, or the checks raising on that record
(a pathological payload such as one nested too deep for a library, or a bug): that record is quarantined
with the exception's type, and the records after it are not held back; or, from Kafka, a record with no
value at all (a tombstone: ``payload`` and ``payload_encoding`` are null)."""

DESCRIPTIONS: dict[str, str] = {
    INVALID_ENCODING: "payload bytes are not valid UTF-8",
    INVALID_JSON: "payload is not a valid JSON document",
    INVALID_ENVELOPE: "payload is not an object, or an envelope field is missing or wrong",
    UNKNOWN_ENTITY: "no contract exists for the (source, entity) pair",
    MISSING_REQUIRED_FIELD: "a field required by the entity contract is missing from data",
    INVALID_TYPE: "a data field has the wrong JSON type",
    INVALID_VALUE: "a data field breaks an enum, pattern, range or decimals rule, or is not in the contract",
    VALIDATION_ERROR: "checking the record raised an exception (its type is in the error)",
    TOMBSTONE: "the Kafka record has a null value (a tombstone, a delete marker for its key): nothing to check",
}
