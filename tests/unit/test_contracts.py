"""Data contracts: registry, exported JSON Schema files and the fast validator (reason codes)."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from data_contracts import reasons
from data_contracts.contracts import REGISTRY, envelope_schema, get_contract
from data_contracts.export import SCHEMAS_DIR, diff, rendered_files
from data_contracts.validation import classify
from tests.samples import SAMPLES

ROOT = Path(__file__).resolve().parents[2]

EVENT_ID = "0b8e2a4c-1f7d-4e3a-9c2b-5d6e7f8a9b0c"
EVENT_TIME = "2024-03-05T14:22:31.123Z"



def envelope(source: str = "erp", entity: str = "customer", data: dict | None = None, op: str = "upsert") -> dict:
    return {
        "source": source, "entity": entity, "schema_version": 1, "event_id": EVENT_ID, "event_time": EVENT_TIME,
        "op": op, "data": copy.deepcopy(SAMPLES[(source, entity)]) if data is None else data,
    }


def encode(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def with_data(source: str, entity: str, **changes) -> bytes:
    env = envelope(source, entity)
    for name, value in changes.items():
        if value is _DELETE:
            del env["data"][name]
        else:
            env["data"][name] = value
    return encode(env)


_DELETE = object()


def exported_validator(name: str) -> Draft202012Validator:
    # Decimal parsing on both sides makes jsonschema's multipleOf exact (19.01 / 0.01 is not an integer in floats).
    schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"), parse_float=Decimal)
    return Draft202012Validator(schema)


# --- registry and exported files -------------------------------------------------------------------

def test_registry_covers_the_expected_contracts():
    assert sorted(REGISTRY) == sorted(SAMPLES)
    assert get_contract("erp", "vendor") is None
    assert REGISTRY[("susep", "market_statistics")].business_key == (
        "reference_month", "insurer_code", "line_of_business", "state")
    for (source, entity), contract in REGISTRY.items():
        assert contract.business_key == (f"{entity}_id",) or source == "susep" or entity == "premium_installment"
        assert set(contract.business_key) <= set(contract.field_names)
        schema = contract.json_schema()
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(contract.field_names)
    assert REGISTRY[("erp", "premium_installment")].business_key == ("installment_id",)


def test_exported_files_match_the_registry():
    on_disk = sorted(p.name for p in SCHEMAS_DIR.glob("*.schema.json"))
    assert on_disk == sorted(rendered_files())
    assert diff() == [], "run: python -m data_contracts.export"
    for name, text in rendered_files().items():
        assert (SCHEMAS_DIR / name).read_bytes() == text.encode("utf-8")
        assert text.endswith("}\n")


def test_export_is_deterministic_and_check_mode_passes():
    assert rendered_files() == rendered_files()
    done = subprocess.run([sys.executable, "-m", "data_contracts.export", "--check"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_export_writes_into_a_directory_and_removes_stale_files(tmp_path):
    from data_contracts.export import export

    (tmp_path / "old.thing.schema.json").write_text("{}\n")
    export(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(rendered_files())
    assert diff(tmp_path) == []


@pytest.mark.parametrize("name", sorted(rendered_files()))
def test_exported_schemas_are_valid_draft_2020_12(name):
    schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


# --- valid samples -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(SAMPLES), ids=lambda k: ".".join(k))
def test_valid_sample_passes(key):
    env = envelope(*key)
    result, reason, error = classify(encode(env))
    assert (reason, error) == (None, None)
    assert result == env
    # The exported files (read by other tools) agree.
    assert not list(exported_validator("envelope.schema.json").iter_errors(json.loads(encode(env))))
    data = json.loads(encode(env["data"]), parse_float=Decimal)
    assert not list(exported_validator(f"{key[0]}.{key[1]}.schema.json").iter_errors(data))


def test_pj_customer_and_unknown_birth_date_pass():
    sample = dict(SAMPLES[("erp", "customer")], person_type="PJ", document_number="11222333000181",
                  name="Silva Transportes Ltda", birth_date=None)
    assert classify(encode(envelope(data=sample)))[1] is None


def test_delete_needs_only_the_business_key():
    assert classify(encode(envelope(data={"customer_id": "CUS-00000001"}, op="delete")))[1] is None
    key = {k: SAMPLES[("susep", "market_statistics")][k] for k in REGISTRY[("susep", "market_statistics")].business_key}
    assert classify(encode(envelope("susep", "market_statistics", data=key, op="delete")))[1] is None
    assert classify(encode(envelope(data={}, op="delete")))[1] == reasons.MISSING_REQUIRED_FIELD
    assert classify(encode(envelope(data={"customer_id": "CUS-1"}, op="delete")))[1] == reasons.INVALID_VALUE
    assert classify(encode(envelope(data={"customer_id": "CUS-00000001", "x": 1}, op="delete")))[1] == (
        reasons.INVALID_VALUE)


def test_accepts_bytearray_memoryview_and_str():
    payload = encode(envelope())
    for variant in (bytearray(payload), memoryview(payload), payload.decode("utf-8")):
        assert classify(variant)[1] is None


# --- reason codes ------------------------------------------------------------------------------------

def _env_without(field: str) -> bytes:
    env = envelope()
    del env[field]
    return encode(env)


def _env_with(**changes) -> bytes:
    return encode(dict(envelope(), **changes))


CASES = [
    # invalid_encoding
    ("latin-1", json.dumps(envelope(), ensure_ascii=False).encode("latin-1"), reasons.INVALID_ENCODING, "UTF-8"),
    ("utf-16", json.dumps(envelope(), ensure_ascii=False).encode("utf-16"), reasons.INVALID_ENCODING, "byte 0"),
    ("lone surrogate", encode(envelope()).replace("João".encode(), b"Jo\\ud800o"), reasons.INVALID_ENCODING,
     "surrogate"),
    # invalid_json
    ("truncated", encode(envelope())[:50], reasons.INVALID_JSON, "not valid JSON"),
    ("empty", b"", reasons.INVALID_JSON, "not valid JSON"),
    ("trailing data", encode(envelope()) + b"}", reasons.INVALID_JSON, "Extra data"),
    ("NaN", with_data("erp", "policy").replace(b"3412.57", b"NaN"), reasons.INVALID_JSON, "NaN"),
    ("Infinity", with_data("erp", "policy").replace(b"3412.57", b"-Infinity"), reasons.INVALID_JSON, "Infinity"),
    ("python repr", repr(envelope()).encode(), reasons.INVALID_JSON, "not valid JSON"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, reasons.INVALID_JSON, "not valid JSON"),
    # invalid_envelope
    ("array", encode([envelope()]), reasons.INVALID_ENVELOPE, "list"),
    ("string", b'"hello"', reasons.INVALID_ENVELOPE, "str"),
    ("null", b"null", reasons.INVALID_ENVELOPE, "NoneType"),
    ("missing event_id", _env_without("event_id"), reasons.INVALID_ENVELOPE, "event_id"),
    ("missing data", _env_without("data"), reasons.INVALID_ENVELOPE, "data"),
    ("missing entity", _env_without("entity"), reasons.INVALID_ENVELOPE, "entity"),
    ("extra field", _env_with(producer="cdc"), reasons.INVALID_ENVELOPE, "producer"),
    ("bad op", _env_with(op="merge"), reasons.INVALID_ENVELOPE, "envelope.op"),
    ("bad version", _env_with(schema_version=2), reasons.INVALID_ENVELOPE, "schema_version"),
    ("version as bool", _env_with(schema_version=True), reasons.INVALID_ENVELOPE, "schema_version"),
    ("local time", _env_with(event_time="2024-03-05T14:22:31-03:00"), reasons.INVALID_ENVELOPE, "event_time"),
    ("uppercase uuid", _env_with(event_id=EVENT_ID.upper()), reasons.INVALID_ENVELOPE, "event_id"),
    ("uuid v1", _env_with(event_id="0b8e2a4c-1f7d-1e3a-9c2b-5d6e7f8a9b0c"), reasons.INVALID_ENVELOPE, "event_id"),
    ("data is a string", _env_with(data="{}"), reasons.INVALID_ENVELOPE, "envelope.data"),
    ("unknown source", _env_with(source="crm"), reasons.INVALID_ENVELOPE, "envelope.source"),
    ("bad entity name", _env_with(entity="Customer!"), reasons.INVALID_ENVELOPE, "envelope.entity"),
    # unknown_entity
    ("erp.vendor", _env_with(entity="vendor"), reasons.UNKNOWN_ENTITY, "entity='vendor'"),
    ("susep.customer", _env_with(source="susep"), reasons.UNKNOWN_ENTITY, "source='susep'"),
    # missing_required_field
    ("no name", with_data("erp", "customer", name=_DELETE), reasons.MISSING_REQUIRED_FIELD, "name"),
    ("nullable yet required", with_data("erp", "customer", birth_date=_DELETE), reasons.MISSING_REQUIRED_FIELD,
     "birth_date"),
    ("no policy_id", with_data("erp", "claim", policy_id=_DELETE), reasons.MISSING_REQUIRED_FIELD, "policy_id"),
    ("no state", with_data("susep", "market_statistics", state=_DELETE), reasons.MISSING_REQUIRED_FIELD, "state"),
    # invalid_type
    ("money as string", with_data("erp", "premium_installment", amount="19.01"), reasons.INVALID_TYPE,
     "data.amount"),
    ("money as bool", with_data("erp", "policy", sum_insured=True), reasons.INVALID_TYPE, "data.sum_insured"),
    ("integer as string", with_data("erp", "premium_installment", installment_number="3"), reasons.INVALID_TYPE,
     "installment_number"),
    ("integer as fraction", with_data("susep", "market_statistics", policies_in_force=1.5), reasons.INVALID_TYPE,
     "policies_in_force"),
    ("date as number", with_data("erp", "customer", birth_date=19800517), reasons.INVALID_TYPE, "birth_date"),
    ("enum as number", with_data("erp", "customer", state=35), reasons.INVALID_TYPE, "data.state"),
    ("id as object", with_data("erp", "claim", claim_id={"id": 1}), reasons.INVALID_TYPE, "claim_id"),
    ("non-nullable null", with_data("erp", "policy", status=None), reasons.INVALID_TYPE, "data.status"),
    # invalid_value
    ("unknown UF", with_data("erp", "customer", state="XX"), reasons.INVALID_VALUE, "data.state"),
    ("unknown status", with_data("erp", "claim", status="closed"), reasons.INVALID_VALUE, "data.status"),
    ("unknown ramo", with_data("erp", "policy", line_of_business="9999"), reasons.INVALID_VALUE, "line_of_business"),
    ("three decimals", with_data("erp", "premium_installment", amount=19.015), reasons.INVALID_VALUE, "multipleOf"),
    ("negative money", with_data("erp", "claim", paid_amount=-1.5), reasons.INVALID_VALUE, "data.paid_amount"),
    ("installment 0", with_data("erp", "premium_installment", installment_number=0), reasons.INVALID_VALUE,
     "minimum"),
    ("installment 61", with_data("erp", "premium_installment", installment_number=61), reasons.INVALID_VALUE,
     "maximum"),
    ("negative count", with_data("susep", "market_statistics", policies_in_force=-1), reasons.INVALID_VALUE,
     "policies_in_force"),
    ("extra data field", with_data("erp", "customer", email="a@b.c"), reasons.INVALID_VALUE, "email"),
    ("brazilian date", with_data("erp", "policy", start_date="06/03/2024"), reasons.INVALID_VALUE, "start_date"),
    ("month 13", with_data("susep", "market_statistics", reference_month="2024-13"), reasons.INVALID_VALUE,
     "reference_month"),
    ("date with newline", with_data("erp", "policy", end_date="2025-03-06\n"), reasons.INVALID_VALUE, "end_date"),
    ("timestamp without Z", with_data("erp", "claim", updated_at="2024-06-03T10:00:00"), reasons.INVALID_VALUE,
     "updated_at"),
    ("formatted CPF", with_data("erp", "customer", document_number="529.982.247-25"), reasons.INVALID_VALUE,
     "document_number"),
    ("PF with a CNPJ", with_data("erp", "customer", document_number="11222333000181"), reasons.INVALID_VALUE,
     "document_number"),
    ("empty name", with_data("erp", "customer", name=""), reasons.INVALID_VALUE, "data.name"),
    ("short insurer code", with_data("susep", "market_statistics", insurer_code="5631"), reasons.INVALID_VALUE,
     "insurer_code"),
    ("overflowing number", with_data("erp", "policy").replace(b"3412.57", b"1e400"), reasons.INVALID_VALUE,
     "out of range"),
    ("huge integer", with_data("erp", "policy").replace(b"3412.57", b"1" + b"0" * 400), reasons.INVALID_VALUE,
     "out of range"),
]


@pytest.mark.parametrize(("payload", "reason", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_gives_reason_code(payload, reason, needle):
    result, got_reason, error = classify(payload)
    assert result is None
    assert got_reason == reason, error
    assert got_reason in reasons.ALL_REASONS
    assert needle in error, error


def test_every_reason_code_is_exercised():
    assert {case[2] for case in CASES} == set(reasons.ALL_REASONS)


def test_error_messages_name_the_field_and_rule():
    _, _, error = classify(with_data("erp", "customer", state="XX"))
    assert error.startswith("erp.customer (upsert): data.state must be one of")
    assert "[rule: enum]" in error and "'XX'" in error
    _, _, error = classify(with_data("erp", "customer", name=_DELETE))
    assert error == "erp.customer (upsert): data is missing required field(s) name [rule: required]"
    _, _, error = classify(with_data("erp", "customer", email="x"))
    assert error == "erp.customer (upsert): data has field(s) not in the contract: email [rule: additionalProperties]"
    _, _, error = classify(_env_without("event_id"))
    assert error == "envelope is missing required field(s) event_id [rule: required]"


def test_exported_schemas_agree_on_data_rules():
    """The exported files reject what the fast validator rejects for data-level reasons."""
    data_level = {reasons.MISSING_REQUIRED_FIELD, reasons.INVALID_TYPE, reasons.INVALID_VALUE}
    checked = 0
    for name, payload, reason, _ in CASES:
        # Python's jsonschema lets "$" match before a trailing newline (fastjsonschema anchors with \Z, as
        # ECMA-262 does); its float arithmetic cannot take 1e400 either.
        if reason not in data_level or name in {"overflowing number", "huge integer", "date with newline"}:
            continue
        env = json.loads(payload, parse_float=Decimal)
        validator = exported_validator(f"{env['source']}.{env['entity']}.schema.json")
        assert list(validator.iter_errors(env["data"])), name
        checked += 1
    assert checked > 20
    envelope_validator = exported_validator("envelope.schema.json")
    for name, payload, reason, _ in CASES:
        if reason == reasons.INVALID_ENVELOPE:
            assert list(envelope_validator.iter_errors(json.loads(payload))), name


def test_envelope_schema_lists_the_sources():
    assert envelope_schema()["properties"]["source"]["enum"] == ["erp", "susep"]


# --- packaging constraints (the package ships in the Lambda zip) -----------------------------------

def test_package_imports_only_stdlib_and_fastjsonschema_and_compiles_lazily():
    code = (
        "import sys\n"
        "import data_contracts\n"
        "assert 'fastjsonschema' not in sys.modules, 'package __init__ must stay light'\n"
        "from data_contracts import validation, contracts, reasons, reference, export\n"
        "assert validation._compiled is None, 'validators must compile lazily'\n"
        "assert validation.classify(b'{}')[1] == 'invalid_envelope'\n"
        "assert validation._compiled is not None\n"
        "heavy = {'jsonschema', 'boto3', 'botocore', 'aws_lambda_powertools'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_fast_cents_rule_is_equivalent_to_multiple_of():
    """The compiled validators check multipleOf 0.01 as round(x, 2) == x: same verdicts as fastjsonschema's."""
    import random

    import fastjsonschema

    from data_contracts.validation import _compile

    contract = REGISTRY[("erp", "premium_installment")]
    reference = fastjsonschema.compile(contract.json_schema(), use_default=False, use_formats=False)
    fast = _compile()[1][("erp", "premium_installment")][0]
    rng = random.Random(0)
    values = [0.07, 19.01, 0.1 + 0.2, 1.005, 2.675, 1e-5, 5e-324, 1e16, 1e22, 123456789.12, 0.005, 99999999999.99,
              7, 0, 10**20]
    values += [round(rng.uniform(0, 10 ** rng.randint(0, 12)), rng.randint(0, 5)) for _ in range(6_000)]
    verdicts = Counter()
    for value in values:
        data = dict(SAMPLES[("erp", "premium_installment")], amount=value)
        outcomes = []
        for validate in (reference, fast):
            try:
                validate(data)
                outcomes.append(True)
            except fastjsonschema.JsonSchemaValueException as exc:
                assert exc.rule == "multipleOf"
                outcomes.append(False)
        assert outcomes[0] == outcomes[1], value
        verdicts[outcomes[0]] += 1
    assert verdicts[True] > 1500 and verdicts[False] > 1500
