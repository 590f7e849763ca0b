"""Bad records, one for each quarantine reason: every one breaks exactly one rule.

Each is built from a standalone valid record (:func:`sample_data`) of a random contract, then broken the
way real producers break things: a wrong encoding, malformed JSON, a broken envelope, an unknown entity,
a missing required field, a wrong type, or a value outside the contract (pattern, enum, range, ...). The
record's ``expected_reason`` is the generator's own intent (never computed by the validator).
"""
from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta

from data_contracts import reasons as R
from data_contracts import reference as ref
from data_contracts.contracts import (
    CLAIM_ID_PATTERN,
    CUSTOMER_ID_PATTERN,
    DATE_PATTERN,
    INSTALLMENT_ID_PATTERN,
    INSURER_CODE_PATTERN,
    MONTH_PATTERN,
    POLICY_ID_PATTERN,
    PRODUCT_CODE_PATTERN,
    REGISTRY,
    TIMESTAMP_PATTERN,
)
from sample_data.common import (
    _LINES,
    _PRODUCTS_BY_LINE,
    PERIOD_START,
    REFERENCE_MONTHS,
    GeneratedRecord,
    _add_months,
    _dumps,
    _envelope,
    _log_uniform,
    _money,
    _pick_state,
    _ts,
)
from sample_data.erp import customer_data

__all__ = ["sample_data"]


def valid_data(rng: random.Random, source: str, entity: str) -> dict:
    """A standalone valid ``data`` object for any contract (ids in a high range, references dangling)."""
    moment = PERIOD_START + timedelta(seconds=rng.randrange(300 * 86400), milliseconds=rng.randrange(1000))
    n = rng.randrange(90_000_000, 99_999_999)
    if (source, entity) == ("erp", "customer"):
        return customer_data(rng, f"CUS-{n:08d}", moment)
    line = rng.choice(list(_LINES))
    start = moment.date()
    if (source, entity) == ("erp", "policy"):
        sum_insured = round(_log_uniform(rng, *_LINES[line].sum_insured), -2)
        return {
            "policy_id": f"POL-{n:010d}", "customer_id": f"CUS-{n:08d}", "line_of_business": line,
            "product_code": rng.choice(_PRODUCTS_BY_LINE[line]), "state": _pick_state(rng),
            "start_date": start.isoformat(), "end_date": _add_months(start, 12).isoformat(),
            "sum_insured": _money(sum_insured), "annual_premium": _money(sum_insured * _LINES[line].rate),
            "status": "active", "issued_at": _ts(moment), "updated_at": _ts(moment),
        }
    if (source, entity) == ("erp", "premium_installment"):
        number = rng.randint(1, 12)
        return {
            "installment_id": f"INS-{n:010d}-{number:02d}", "policy_id": f"POL-{n:010d}",
            "installment_number": number, "due_date": start.isoformat(), "amount": _money(rng.uniform(50, 3000)),
            "paid_date": None, "status": "open",
        }
    if (source, entity) == ("erp", "claim"):
        claimed = _money(rng.uniform(500, 80_000))
        return {
            "claim_id": f"CLM-{n:010d}", "policy_id": f"POL-{n:010d}", "occurrence_date": start.isoformat(),
            "notification_date": (start + timedelta(days=2)).isoformat(), "cause": rng.choice(_LINES[line].causes),
            "claimed_amount": claimed, "incurred_amount": _money(claimed * 0.9), "paid_amount": 0.0,
            "status": "opened", "updated_at": _ts(moment),
        }
    if (source, entity) == ("susep", "market_statistics"):
        insurer = rng.choice(list(ref.INSURERS))
        written = rng.uniform(1e4, 5e6)
        return {
            "reference_month": rng.choice(REFERENCE_MONTHS), "insurer_code": insurer,
            "insurer_name": ref.INSURERS[insurer], "line_of_business": line, "state": _pick_state(rng),
            "premiums_written": _money(written), "premiums_earned": _money(written * 0.97),
            "claims_incurred": _money(written * 0.5), "claims_paid": _money(written * 0.4),
            "commission_expenses": _money(written * 0.2), "policies_in_force": rng.randrange(1, 50_000),
        }
    raise KeyError(f"no contract {source}.{entity}")


# Values that break a pattern the way real producers do (Brazilian date format, punctuation, ...).
_PATTERN_BREAKERS: dict[str, str] = {
    DATE_PATTERN: "31/12/2024",
    TIMESTAMP_PATTERN: "2024-03-05 14:22:31",
    MONTH_PATTERN: "2024-1",
    CUSTOMER_ID_PATTERN: "CUS-123",
    POLICY_ID_PATTERN: "POL-ABC123",
    INSTALLMENT_ID_PATTERN: "INS-1-1",
    CLAIM_ID_PATTERN: "clm-0000000001",
    PRODUCT_CODE_PATTERN: "aut001",
    INSURER_CODE_PATTERN: "5631",
    r"^([0-9]{11}|[0-9]{14})$": "123.456.789-09",
}
_CONTRACT_KEYS = sorted(REGISTRY)
_ENVELOPE_FIELDS = ("source", "entity", "schema_version", "event_id", "event_time", "op", "data")


def _value_breakers(contract, data: dict) -> list[tuple[str, object]]:
    """(field, value) pairs, each breaking exactly one non-type rule of the contract."""
    out: list[tuple[str, object]] = []
    for name, schema in contract.fields:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "enum" in schema:
            out.append((name, "INVALIDO"))
        if "pattern" in schema:
            bad = _PATTERN_BREAKERS[schema["pattern"]]
            assert not re.search(schema["pattern"], bad)
            out.append((name, bad))
        if "minLength" in schema:
            out.append((name, ""))
        if "number" in types:
            value = data[name] if isinstance(data[name], (int, float)) else 100.0
            out.append((name, round(abs(value) % 100_000, 2) + 0.005))  # 3 decimals -> multipleOf
            if "minimum" in schema:
                out.append((name, -round(abs(value) + 1.0, 2)))
        if "integer" in types:
            if "minimum" in schema:
                out.append((name, schema["minimum"] - 1))
            if "maximum" in schema:
                out.append((name, schema["maximum"] + 1))
    if contract.entity == "customer":  # the PF/PJ cross-field rule
        out.append(("document_number", "12345678000195" if data["person_type"] == "PF" else "12345678909"))
    out.append(("observacao", "campo fora do contrato"))  # additionalProperties
    return out


def _type_breaker(rng: random.Random, schema: dict, value):
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "integer" in types:
        return rng.choice([value + 0.5, str(value)])
    if "number" in types:
        return rng.choice([f"{value:.2f}", f"R$ {value:.2f}".replace(".", ","), True])
    return rng.choice([12345, 1.5, ["lista"], {"objeto": 1}, False])  # a string (possibly nullable) field


def _bad_record(rng: random.Random, reason: str, moment: datetime) -> GeneratedRecord:
    source, entity = rng.choice(_CONTRACT_KEYS)
    contract = REGISTRY[(source, entity)]
    data = valid_data(rng, source, entity)
    env = _envelope(rng, source, entity, moment, "upsert", data)
    key = "|".join(str(data[field]) for field in contract.business_key)
    label: str | None = entity
    if reason == R.INVALID_ENCODING:
        variant = rng.randrange(3)
        if variant == 0:  # a legacy exporter writing Latin-1
            source, entity = "erp", "customer"
            data = valid_data(rng, source, entity)
            data["name"], data["city"] = "Conceição Araújo Gonçalves", "São João da Boa Vista"
            env = _envelope(rng, source, entity, moment, "upsert", data)
            key, label = data["customer_id"], entity
            payload = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("latin-1")
        elif variant == 1:  # UTF-16 with BOM
            payload = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("utf-16")
        else:  # a corrupted byte inside a string
            good = _dumps(env)
            at = good.index(b'"event_id":"') + len(b'"event_id":"') + 4
            payload = good[:at] + b"\xff" + good[at + 1:]
        if b"\n" in payload:  # cannot happen with the characters used; keep the one-line-per-payload rule
            payload = _dumps(env).replace(b'"source"', b'"s\xe3ource"', 1)
    elif reason == R.INVALID_JSON:
        text = json.dumps(env, ensure_ascii=False, separators=(",", ":"))
        variant = rng.randrange(4)
        if variant == 0:
            text = text[: rng.randrange(1, len(text) - 1)]            # truncated
        elif variant == 1:
            text = repr(env)                                            # Python repr: quotes, None
        elif variant == 2:
            text = text[:-1] + ",}"                                     # trailing comma
        else:
            money = [n for n, s in contract.fields if s.get("type") == "number"] or ["_"]
            if money[0] == "_":
                env["data"]["score"] = float("nan")
            else:
                env["data"][rng.choice(money)] = float("nan")
            text = json.dumps(env, ensure_ascii=False, separators=(",", ":"))  # emits NaN
        payload = text.encode("utf-8")
    elif reason == R.INVALID_ENVELOPE:
        variant = rng.randrange(9)
        if variant == 0:
            doc: object = [env]
        elif variant == 1:
            del env[rng.choice(_ENVELOPE_FIELDS)]
            doc = env
        elif variant == 2:
            doc = dict(env, op="merge")
        elif variant == 3:
            doc = dict(env, schema_version=2)
        elif variant == 4:
            doc = dict(env, event_time=env["event_time"][:19] + "-03:00")
        elif variant == 5:
            doc = dict(env, event_id="evt-" + env["event_id"][:8])
        elif variant == 6:
            doc = dict(env, source="crm")
        elif variant == 7:
            doc = dict(env, producer="erp-cdc")
        else:
            doc = dict(env, data=json.dumps(data, ensure_ascii=False))  # double-encoded data
        payload = _dumps(doc)
    elif reason == R.UNKNOWN_ENTITY:
        source, entity = rng.choice([("erp", "vendor"), ("erp", "broker_commission"), ("erp", "market_statistics"),
                                     ("susep", "reinsurance_statistics"), ("susep", "customer")])
        label = None
        payload = _dumps(dict(env, source=source, entity=entity))
    elif reason == R.MISSING_REQUIRED_FIELD:
        del data[rng.choice(contract.required)]
        payload = _dumps(env)
    elif reason == R.INVALID_TYPE:
        name, schema = rng.choice(contract.fields)
        data[name] = _type_breaker(rng, schema, data[name])
        payload = _dumps(env)
    elif reason == R.INVALID_VALUE:
        name, value = rng.choice(_value_breakers(contract, data))
        data[name] = value
        payload = _dumps(env)
    else:
        raise ValueError(f"unknown reason {reason!r}")
    return GeneratedRecord(payload=payload, partition_key=key, source=source, entity=label, expected_reason=reason)
