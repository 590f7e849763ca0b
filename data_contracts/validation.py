"""Fast validation of ingest payloads: ``classify(payload: bytes) -> (envelope, reason, error)``.

Checks, in order (the first failing one decides the reason code, see :mod:`data_contracts.reasons`):

1. UTF-8 decoding                                   -> ``invalid_encoding``
2. JSON parsing (NaN/Infinity rejected, as in RFC 8259) -> ``invalid_json``
   (a ``\\uD800``-style unpaired surrogate escape cannot be stored as UTF-8 -> ``invalid_encoding``)
3. envelope: an object with the envelope fields      -> ``invalid_envelope``
4. a contract exists for ``(source, entity)``        -> ``unknown_entity``
5. ``data`` against the entity schema (the delete schema for ``op: "delete"``); fastjsonschema's failing
   rule maps to ``required`` -> ``missing_required_field``, ``type`` -> ``invalid_type``, anything else
   (enum, pattern, minimum, multipleOf, additionalProperties, ...) -> ``invalid_value``.

Validators are compiled with fastjsonschema once per process, lazily, on the first call (so importing
this module is cheap), and cached. For speed, the money rule (``multipleOf: 0.01``) is checked by an
equivalent ``round(x, 2) == x`` test instead of fastjsonschema's Decimal arithmetic (see
:func:`_without_cents_rule`); the exported schemas keep ``multipleOf``. Only a contract violation is reported as a reason; anything else
(a bug) propagates as an exception. Standard library + fastjsonschema only (shipped in the Lambda zip).
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable

from fastjsonschema.exceptions import JsonSchemaValueException

from data_contracts import reasons
from data_contracts.contracts import REGISTRY, envelope_schema

__all__ = ["classify", "classify_object", "warm_up"]

Validator = Callable[[Any], Any]

_MAX_VALUE_REPR = 80
# An escaped UTF-16 surrogate (\uD800-\uDFFF) somewhere in the JSON text; checked precisely only on a hit.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)

# (envelope validator, {(source, entity): (upsert validator, delete validator)}), built on first use.
_compiled: tuple[Validator, dict[tuple[str, str], tuple[Validator, Validator]]] | None = None


def _without_cents_rule(schema: dict) -> tuple[dict, tuple[str, ...]]:
    """The schema minus ``multipleOf: 0.01`` on top-level number properties, and those property names.

    fastjsonschema checks a float ``multipleOf`` through ``Decimal(repr(x))`` (about 1.5 us per field);
    :func:`_with_cents_rule` re-checks the same fields with ``round(x, 2) == x``, which is equivalent for
    finite floats: a float whose shortest repr has at most 2 decimals is the double nearest to that
    2-decimal value, which is exactly what ``round(x, 2)`` returns, and conversely. Only the order in which
    several violations of one record are found can differ (the reported reason stays a valid one).
    """
    compiled = copy.deepcopy(schema)
    money = []
    for name, fragment in compiled.get("properties", {}).items():
        if fragment.get("multipleOf") == 0.01 and "number" in _types(fragment):
            del fragment["multipleOf"]
            money.append(name)
    return compiled, tuple(money)


def _types(fragment: dict) -> list:
    kind = fragment.get("type", [])
    return kind if isinstance(kind, list) else [kind]


_MAX_MONEY_INT = 10**300  # beyond this, fastjsonschema's own multipleOf check overflows (reported likewise)


def _with_cents_rule(validate: Validator, money: tuple[str, ...], schema: dict) -> Validator:
    if not money:
        return validate
    definitions = {name: schema["properties"][name] for name in money}

    def check(data: Any) -> Any:
        validate(data)
        for name in money:
            value = data.get(name)
            kind = value.__class__
            if kind is float:
                if value - value != 0.0:  # inf (NaN never gets past the JSON parser)
                    raise OverflowError(name)
                if round(value, 2) != value:
                    raise JsonSchemaValueException(f"data.{name} must be multiple of 0.01", value=value,
                                                   name=f"data.{name}", definition=definitions[name],
                                                   rule="multipleOf")
            elif kind is int and not -_MAX_MONEY_INT < value < _MAX_MONEY_INT:
                raise OverflowError(name)
        return data

    return check


def _compile() -> tuple[Validator, dict[tuple[str, str], tuple[Validator, Validator]]]:
    global _compiled
    if _compiled is None:
        import fastjsonschema

        def build(schema: dict) -> Validator:
            compiled_schema, money = _without_cents_rule(schema)
            validate = fastjsonschema.compile(compiled_schema, use_default=False, use_formats=False,
                                              detailed_exceptions=True)
            return _with_cents_rule(validate, money, schema)

        envelope = build(envelope_schema())
        entities = {key: (build(c.json_schema()), build(c.delete_schema())) for key, c in REGISTRY.items()}
        _compiled = (envelope, entities)
    return _compiled


def warm_up() -> None:
    """Compile every validator now (e.g. at Lambda init) instead of on the first record."""
    _compile()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_REPR else text[: _MAX_VALUE_REPR - 3] + "..."


def _schema_error(prefix: str, exc: JsonSchemaValueException, root: str) -> str:
    """A one-line message naming the field, the broken rule and the offending value."""
    name = exc.name or "data"
    if root != "data" and name.startswith("data"):
        name = root + name[4:]
    rule = exc.rule or "unknown"
    value = exc.value
    definition = exc.definition if isinstance(exc.definition, dict) else {}
    if rule == "required" and isinstance(value, dict):
        missing = sorted(set(definition.get("required", ())) - value.keys())
        detail = f"{name} is missing required field(s) {', '.join(missing)}"
    elif rule == "additionalProperties" and isinstance(value, dict):
        extra = sorted(value.keys() - set(definition.get("properties", {})))
        detail = f"{name} has field(s) not in the contract: {', '.join(extra)}"
    else:
        message = exc.message
        if root != "data" and message.startswith("data"):
            message = root + message[4:]
        detail = f"{message} (value: {_short(value)})"
    return f"{prefix}: {detail} [rule: {rule}]" if prefix else f"{detail} [rule: {rule}]"


def classify_object(obj: Any) -> tuple[dict | None, str | None, str | None]:
    """Checks 3-5 on an already-parsed JSON value; same result shape as :func:`classify`."""
    envelope_validator, entities = _compile()
    if type(obj) is not dict:
        return None, reasons.INVALID_ENVELOPE, f"envelope: must be a JSON object, got {type(obj).__name__}"
    try:
        envelope_validator(obj)
    except JsonSchemaValueException as exc:
        return None, reasons.INVALID_ENVELOPE, _schema_error("", exc, "envelope")
    source, entity = obj["source"], obj["entity"]
    validators = entities.get((source, entity))
    if validators is None:
        known = ", ".join(f"{s}.{e}" for s, e in sorted(entities))
        return None, reasons.UNKNOWN_ENTITY, f"no contract for source={source!r} entity={entity!r} (known: {known})"
    validator = validators[0] if obj["op"] == "upsert" else validators[1]
    try:
        validator(obj["data"])
    except JsonSchemaValueException as exc:
        rule = exc.rule
        if rule == "required":
            reason = reasons.MISSING_REQUIRED_FIELD
        elif rule == "type":
            reason = reasons.INVALID_TYPE
        else:
            reason = reasons.INVALID_VALUE
        return None, reason, _schema_error(f"{source}.{entity} ({obj['op']})", exc, "data")
    except OverflowError as exc:  # e.g. 1e400 (parsed as inf) or a 400-digit amount
        field = exc.args[0] if exc.args and exc.args[0] in obj["data"] else None
        where = f"data.{field}" if field else "a number in data"
        return None, reasons.INVALID_VALUE, f"{source}.{entity} ({obj['op']}): {where} is out of range [rule: range]"
    return obj, None, None


def classify(payload: bytes) -> tuple[dict | None, str | None, str | None]:
    """Validate one stream payload.

    Returns ``(envelope, None, None)`` when the payload is a valid envelope, else
    ``(None, reason_code, error_message)``. Exactly one of envelope / reason is set.
    """
    if isinstance(payload, str):
        text = payload
    else:
        if not isinstance(payload, (bytes, bytearray)):
            payload = bytes(payload)  # memoryview and friends
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, reasons.INVALID_ENCODING, (
                f"payload is not valid UTF-8: {exc.reason} at byte {exc.start} (byte {payload[exc.start]:#04x})"
            )
    try:
        obj = _DECODER.decode(text)
    except RecursionError:
        return None, reasons.INVALID_JSON, "payload is not valid JSON: nesting too deep"
    except ValueError as exc:  # json.JSONDecodeError, NaN/Infinity, int too long
        return None, reasons.INVALID_JSON, f"payload is not valid JSON: {exc}"
    if _SURROGATE_ESCAPE.search(text) is not None:
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, reasons.INVALID_ENCODING, (
                "payload holds an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF), not representable in UTF-8"
            )
        except RecursionError:  # decodable, but one level too deep to encode again
            return None, reasons.INVALID_JSON, "payload is not valid JSON: nesting too deep"
    return classify_object(obj)
