"""Bronze -> silver on small literal data: parsing, standardization, every rule, dedup, merge, and the Glue job
run in-process on file:// paths (incremental runs, no-op rerun, deletes, late data, the accounting gate)."""
from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from data_contracts import emf
from data_contracts.contracts import REGISTRY
from data_contracts.metrics import (
    RECORD_COUNTS, RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED, RUN_DURATION, RUN_FAILED,
)
from lakehouse import bronze_silver as bs
from lakehouse.quality import QualityGateFailed
from lakehouse.silver_tables import silver_table
from tests.samples import SAMPLES

SHARD = "shardId-000000000000"
DAY = "2024-06-01"
EVENT_TIME = "2024-07-01T00:00:00.000Z"
NS = uuid.UUID("5b1e3c1e-0000-4000-8000-000000000000")

_DROP = object()


def make_line(source: str, entity: str, data, *, op: str = "upsert", event_time: str = EVENT_TIME, seq: int = 1,
              event_id: str | None = None, schema_version=1, env_entity: str | None = None,
              sequence_number: str | None = None) -> str:
    env = {"source": source, "entity": env_entity or entity, "schema_version": schema_version,
           "event_id": event_id or str(uuid.uuid5(NS, f"{entity}:{seq}:{event_time}:{json.dumps(data, sort_keys=True)}")),
           "event_time": event_time, "op": op, "data": data}
    ingest = {"arrival_time": "2024-06-01T00:00:00.000Z", "partition_key": "pk",
              "sequence_number": sequence_number or str(49590338271490256608559692538361571095921575989136588898 + seq),
              "shard_id": SHARD}
    return json.dumps({"event": env, "ingest": ingest}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def bronze_uri(source: str, entity: str, day: str = DAY, name: str = "kinesis-shardId-000000000000-1-9.jsonl") -> str:
    return f"s3://bronze/source={source}/entity={entity}/ingest_date={day}/{name}"


def sample(source: str, entity: str, **changes) -> dict:
    data = copy.deepcopy(SAMPLES[(source, entity)])
    for name, value in changes.items():
        if value is _DROP:
            del data[name]
        else:
            data[name] = value
    return data


def lines_df(spark, source, entity, lines, day=DAY):
    return spark.createDataFrame([(line, bronze_uri(source, entity, day)) for line in lines], ["line", "bronze_file"])


# --- parsing ---------------------------------------------------------------------------------------------------

def test_parsers(spark):
    texts = ["2024-02-29", "2023-02-29", "29/02/2024", "2024-13-01", "2024-1-5", "x", None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [r[0] for r in df.select(bs.parse_date(F.col("t"))).collect()]
    assert got == [date(2024, 2, 29), None, date(2024, 2, 29), None, date(2024, 1, 5), None, None]

    texts = ["2024-03-05T14:22:31.123Z", "2024-03-05T11:22:31-03:00", "2024-03-05 14:22:31", "2024-03-05T14:22:31.1234567Z",
             "2024-03-05T24:00:00Z", "2024-02-30T10:00:00Z", "2024-03-05", None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [r[0] for r in df.select(F.date_format(bs.parse_timestamp(F.col("t")), "yyyy-MM-dd HH:mm:ss.SSSSSS")).collect()]
    assert got == ["2024-03-05 14:22:31.123000", "2024-03-05 14:22:31.000000", "2024-03-05 14:22:31.000000",
                   "2024-03-05 14:22:31.123456", None, None, None, None]

    texts = ["1234.5", "1.23456789E7", "1.234,56", "R$ 10,00", "2.345", "2.344", "-0.005", "0.1", "abc", "1e400",
             "1000000000000000", "12,3,4", None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [r[0] for r in df.select(bs.parse_money(F.col("t"))).collect()]
    assert got == [Decimal("1234.50"), Decimal("12345678.90"), Decimal("1234.56"), Decimal("10.00"), Decimal("2.35"),
                   Decimal("2.34"), Decimal("-0.01"), Decimal("0.10"), None, None, None, None, None]

    texts = ["3", "3.0", "+7", "3.5", "two", "99999999999", None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    assert [r[0] for r in df.select(bs.parse_integer(F.col("t"), "int")).collect()] == [3, 3, 7, None, None, None, None]
    assert df.select(bs.parse_integer(F.col("t"))).collect()[5][0] == 99999999999
    df = spark.createDataFrame([(t,) for t in ["2024-05", "2024-5", "2024-13", "05/2024"]], "t string")
    assert [r[0] for r in df.select(bs.parse_month(F.col("t"))).collect()] == ["2024-05", "2024-05", None, None]


def test_conform_types_and_standardizes(spark):
    data = {
        "policy_id": " pol-0000000001 ", "customer_id": "cus-00000001", "line_of_business": 531,
        "product_code": "aut-001", "state": " sp", "start_date": "06/03/2024", "end_date": "2025-03-06",
        "sum_insured": "85.000,00", "annual_premium": 3412.575, "status": "ACTIVE",
        "issued_at": "2024-03-05T12:00:00-03:00", "updated_at": "2024-03-05 15:00:00",
    }
    line = make_line("erp", "policy", data, seq=5)
    valid, quarantine = bs.conform(lines_df(spark, "erp", "policy", [line]), REGISTRY[("erp", "policy")], "run-1")
    assert quarantine.count() == 0
    spec = silver_table("erp", "policy")
    assert [(f.name, f.dataType) for f in valid.schema] == [(f.name, f.dataType) for f in bs.spark_schema(spec)]
    row = valid.first().asDict()
    assert row["policy_id"] == "POL-0000000001" and row["customer_id"] == "CUS-00000001"
    assert row["line_of_business"] == "0531" and row["product_code"] == "AUT-001" and row["state"] == "SP"
    assert row["start_date"] == date(2024, 3, 6) and row["status"] == "active"
    assert row["sum_insured"] == Decimal("85000.00") and row["annual_premium"] == Decimal("3412.58")
    utc = timezone.utc
    assert row["issued_at"].replace(tzinfo=None) == datetime(2024, 3, 5, 15, 0)  # session time zone is UTC
    assert row["updated_at"] == row["issued_at"]
    assert row["issued_month"] == "2024-03"
    assert row["event_time"].replace(tzinfo=utc) == datetime(2024, 7, 1, tzinfo=utc)
    assert row["op"] == "upsert" and row["ingest_shard_id"] == SHARD
    assert row["ingest_sequence_number"] == "49590338271490256608559692538361571095921575989136588903"
    assert row["ingest_date"] == date(2024, 6, 1) and row["silver_run_id"] == "run-1"

    customer = sample("erp", "customer", person_type="pj", document_number="11.222.333/0001-81",
                      name="  Padaria   Pão  Quente Ltda ", birth_date=None)
    valid, quarantine = bs.conform(lines_df(spark, "erp", "customer", [make_line("erp", "customer", customer)]),
                                   REGISTRY[("erp", "customer")], "r")
    assert quarantine.count() == 0
    row = valid.first()
    assert (row["person_type"], row["document_number"], row["name"], row["birth_date"]) == (
        "PJ", "11222333000181", "Padaria Pão Quente Ltda", None)
    assert row["created_month"] == "2024-03"

    ms = sample("susep", "market_statistics", insurer_code="5631", line_of_business="531", premiums_earned=2e6)
    valid, quarantine = bs.conform(lines_df(spark, "susep", "market_statistics", [make_line("susep", "market_statistics", ms)]),
                                   REGISTRY[("susep", "market_statistics")], "r")
    row = valid.first()
    assert (row["insurer_code"], row["line_of_business"], row["reference_month"]) == ("05631", "0531", "2024-05")
    assert row["premiums_earned"] == Decimal("2000000.00") and row["policies_in_force"] == 1523
    # earned above written is a warning, never a quarantine
    assert quarantine.count() == 0
    assert bs.warning_counts(valid, REGISTRY[("susep", "market_statistics")]) == {"rule_earned_not_above_written": 1}


# --- every rule ----------------------------------------------------------------------------------------------

def _cases():
    P, C, I, K, M = (("erp", "policy"), ("erp", "customer"), ("erp", "premium_installment"), ("erp", "claim"),
                     ("susep", "market_statistics"))
    cases = [
        (P, "this is not json", "rule_valid_json"),
        (P, "[1, 2, 3]", "rule_valid_json"),
        (P, dict(op="merge"), "rule_valid_envelope"),
        (P, dict(schema_version=2), "rule_valid_envelope"),
        (P, dict(event_id="not-a-uuid"), "rule_valid_envelope"),
        (P, dict(event_time="2024-13-01T00:00:00Z"), "rule_valid_envelope"),
        (P, dict(env_entity="claim"), "rule_valid_envelope"),
        (P, dict(data="a string"), "rule_valid_envelope"),
        (P, dict(sequence_number="abc"), "rule_valid_envelope"),
        (P, {"customer_id": None}, "rule_required_field"),
        (P, {"status": _DROP}, "rule_required_field"),
        (P, {"state": "   "}, "rule_required_field"),
        (P, {"start_date": "2024-02-30"}, "rule_contract_type"),
        (P, {"sum_insured": "12,3,4"}, "rule_contract_type"),
        (P, {"issued_at": "yesterday"}, "rule_contract_type"),
        (P, {"state": "XX"}, "rule_known_state"),
        (P, {"line_of_business": "0999"}, "rule_known_line_of_business"),
        (P, {"policy_id": "POL-1"}, "rule_contract_format"),
        (P, {"status": "open"}, "rule_contract_enum"),
        (P, {"sum_insured": 0}, "rule_amount_positive"),
        (P, {"end_date": "2024-03-06"}, "rule_end_date_after_start_date"),
        (P, {"product_code": "VID-001"}, "rule_product_matches_line_of_business"),
        (P, {"updated_at": "2024-03-01T00:00:00Z"}, "rule_updated_not_before_created"),
        (P, {"issued_at": "1985-01-01T00:00:00Z"}, "rule_partition_in_range"),
        (P, {"end_date": "2200-01-01"}, "rule_date_in_range"),
        (P, dict(op="delete", data={"policy_id": "P9"}), "rule_contract_format"),
        (P, dict(op="delete", data={}), "rule_required_field"),
        (P, dict(op="delete", data={"policy_id": "POL-0000000009"}), None),
        (C, {"document_number": "11222333000181"}, "rule_document_matches_person_type"),
        (C, {"document_number": "52998224724"}, "rule_document_check_digits"),
        (C, {"document_number": "11111111111"}, "rule_document_check_digits"),
        (C, {"name": "x" * 201}, "rule_contract_format"),
        (C, {"birth_date": "1850-01-01"}, "rule_date_in_range"),
        (C, {"updated_at": "2024-03-01T00:00:00Z"}, "rule_updated_not_before_created"),
        (C, dict(op="delete", data={"customer_id": "CUS-00000002"}), None),
        (I, {"installment_number": 61}, "rule_contract_range"),
        (I, {"installment_number": "two"}, "rule_contract_type"),
        (I, {"amount": 0}, "rule_amount_positive"),
        (I, {"status": "paid"}, "rule_paid_installment_has_paid_date"),
        (I, {"status": "paid", "paid_date": "2024-03-06"}, None),
        (K, {"notification_date": "2024-05-30"}, "rule_notification_not_before_occurrence"),
        (K, {"paid_amount": 20000}, "rule_paid_not_above_incurred"),
        (K, {"paid_amount": -1}, "rule_amount_not_negative"),
        (K, {"occurrence_date": "2024-08-01", "notification_date": "2024-08-02"}, "rule_partition_in_range"),
        (M, {"insurer_code": "ABCDE"}, "rule_contract_format"),
        (M, {"reference_month": "2024-13"}, "rule_contract_type"),
        (M, {"policies_in_force": -1}, "rule_contract_range"),
        (M, {"policies_in_force": "1.5"}, "rule_contract_type"),
        (M, {"claims_paid": -5}, "rule_amount_not_negative"),
        (M, {"premiums_written": -5}, None),
    ]
    return cases


def _case_line(key, spec, index):
    source, entity = key
    if isinstance(spec, str):
        return spec
    envelope_keys = {"op", "schema_version", "event_id", "event_time", "env_entity", "data", "sequence_number"}
    if set(spec) & envelope_keys:
        kwargs = dict(spec)
        data = kwargs.pop("data", sample(source, entity))
        return make_line(source, entity, data, seq=index, **kwargs)
    return make_line(source, entity, sample(source, entity, **spec), seq=index)


def test_every_rule_sends_its_row_to_quarantine(spark):
    cases = _cases()
    assert {rule for _, _, rule in cases if rule} == set(bs.RULES)
    by_entity: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for index, (key, spec, rule) in enumerate(cases):
        by_entity.setdefault(key, []).append((_case_line(key, spec, index), rule))
    for key, items in by_entity.items():
        lines = [line for line, _ in items]
        valid, quarantine = bs.conform(lines_df(spark, *key, lines), REGISTRY[key], "run-q")
        got = {r["line"]: r.asDict() for r in quarantine.collect()}
        assert valid.count() + len(got) == len(lines)
        for line, rule in items:
            if rule is None:
                assert line not in got, (key, got.get(line))
                continue
            row = got[line]
            assert row["rule"] == rule, (key, line, row["rule"], row["error"])
            assert rule in row["failed_rules"] and row["error"]
            assert (row["source"], row["entity"], row["bronze_file"], row["ingest_date"], row["silver_run_id"]) == (
                key[0], key[1], bronze_uri(*key), DAY, "run-q")
        assert quarantine.columns == list(bs.QUARANTINE_COLUMNS)


def test_bronze_path_layout_and_data_shape_are_checked(spark):
    key = ("erp", "policy")
    line = make_line(*key, sample(*key))
    root = "s3://bronze"
    expected = {  # bronze file -> start of the error (None: valid)
        f"{root}/source=erp/entity=policy/ingest_date=2024-06-01/a.jsonl": None,
        f"{root}/misc/a.jsonl": "bronze file is not under source=/entity=/ingest_date=",
        f"{root}/source=/entity=policy/ingest_date=2024-06-01/a.jsonl": "bronze file is not under",
        f"{root}/source=erp/entity=claim/ingest_date=2024-06-01/a.jsonl": "bronze partition is not source=erp/entity=policy",
        f"{root}/source=erp/entity=policy/ingest_date=June/a.jsonl": "bronze partition ingest_date is not a date",
    }
    df = spark.createDataFrame([(line, uri) for uri in expected], ["line", "bronze_file"])
    valid, quarantine = bs.conform(df, REGISTRY[key], "r")
    got = {r["bronze_file"]: r for r in quarantine.collect()}
    assert valid.count() == 1 and len(got) == len(expected) - 1
    for uri, error in expected.items():
        if error is None:
            assert uri not in got
        else:
            assert got[uri]["rule"] == "rule_valid_envelope" and got[uri]["error"].startswith(error), got[uri]

    not_objects = [make_line(*key, data, seq=i) for i, data in enumerate(([1, 2], "{not json", 5, None))]
    valid, quarantine = bs.conform(lines_df(spark, *key, not_objects), REGISTRY[key], "r")
    rows = quarantine.collect()
    assert valid.count() == 0 and len(rows) == 4
    assert all(r["rule"] == "rule_valid_envelope" and r["error"].startswith("event.data is not a JSON object")
               for r in rows), [r["error"] for r in rows]


def test_one_parse_of_a_line_and_its_fallback_give_what_two_parses_give(spark):
    """A line is parsed once (envelope and data fields); lines that parse cannot read take the two parses
    (envelope with event.data as text, then that text): same rows, rules and errors either way."""
    key = ("erp", "policy")
    data = sample(*key)
    as_object = make_line(*key, data, seq=1)
    as_text = make_line(*key, json.dumps(data), seq=2)  # event.data: a string holding the object: read
    marked = make_line(*key, {**data, "__not_an_object": "y"}, seq=3)  # a field named like the parse's mark: read
    non_finite = [make_line(*key, data, seq=4).replace('"annual_premium":3412.57', '"annual_premium":1e400'),
                  make_line(*key, data, seq=5).replace('"annual_premium":3412.57', '"annual_premium":NaN'),
                  make_line(*key, data, seq=6).replace('"status":"active"', '"status":-1e400')]
    quoted = make_line(*key, {**data, "status": '"Infinity"'}, seq=7)  # a string with quotes keeps them
    broken = make_line(*key, data, seq=8)[:-1] + ',"x":}'
    lines = [as_object, as_text, marked, *non_finite, quoted, broken]
    valid, quarantine = bs.conform(lines_df(spark, *key, lines), REGISTRY[key], "r")
    seq = {line: str(i + 1) for i, line in enumerate(lines)}
    got = {seq[r["line"]]: (r["rule"], r["error"]) for r in quarantine.collect()}
    rows = valid.collect()
    assert len(rows) == 3 and {r["annual_premium"] for r in rows} == {Decimal("3412.57")}
    assert {r["policy_id"] for r in rows} == {"POL-0000000001"}
    assert got["4"] == ("rule_contract_type", "annual_premium is not a valid money (value: 'Infinity')"), got["4"]
    assert got["5"] == ("rule_contract_type", "annual_premium is not a valid money (value: 'NaN')"), got["5"]
    assert got["6"][0] == "rule_contract_enum" and "'-infinity'" in got["6"][1], got["6"]
    assert got["7"][0] == "rule_contract_enum" and "'\"infinity\"'" in got["7"][1], got["7"]
    assert got["8"][0] == "rule_valid_json"
    assert len(got) == 5


def test_quarantine_errors_name_field_and_value(spark):
    line = make_line("erp", "policy", sample("erp", "policy", state="XX", sum_insured="abc"))
    _, quarantine = bs.conform(lines_df(spark, "erp", "policy", [line]), REGISTRY[("erp", "policy")], "r")
    row = quarantine.first()
    assert row["rule"] == "rule_contract_type"  # rules are reported in RULES order
    assert row["error"] == "sum_insured is not a valid money (value: 'abc')"
    assert row["failed_rules"] == ["rule_contract_type", "rule_known_state"]


def test_rule_failures_of_personal_fields_never_show_their_values(spark):
    """document_number, name and birth_date (Contract.personal) break several rules; no error message carries
    their values (the raw line stays in the quarantine row, under the quarantine's retention)."""
    key = ("erp", "customer")
    contract = REGISTRY[key]
    assert set(contract.personal) == {"document_number", "name", "birth_date"}
    bad = [{"document_number": "52998224724"}, {"document_number": "11111111111"},
           {"document_number": "11222333000181"}, {"document_number": "1234567890"},
           {"name": "Maria Secreta " + "x" * 200}, {"birth_date": "1850-01-01"}, {"birth_date": "1990-02-30"}]
    lines = [make_line(*key, sample(*key, **spec), seq=i) for i, spec in enumerate(bad)]
    _, quarantine = bs.conform(lines_df(spark, *key, lines), contract, "r")
    rows = quarantine.collect()
    assert len(rows) == len(bad)
    for spec, row in zip(bad, sorted(rows, key=lambda r: lines.index(r["line"]))):
        for value in spec.values():
            assert value not in row["error"] and value[:11] not in row["error"], row["error"]
        assert row["error"]


def test_all_generated_valid_records_pass(spark):
    from sample_data import generate
    records = [r for r in generate(600, seed=21) if r.is_valid]
    for key, contract in sorted(REGISTRY.items()):
        lines = []
        for i, r in enumerate(records):
            if (r.source, r.entity) == key:
                env = json.loads(r.payload)
                lines.append(json.dumps({"event": env, "ingest": {"arrival_time": "x", "partition_key": r.partition_key,
                                                                  "sequence_number": str(i), "shard_id": SHARD}}))
        valid, quarantine = bs.conform(lines_df(spark, *key, lines), contract, "r")
        assert quarantine.count() == 0, quarantine.select("rule", "error").collect()[:3]
        assert valid.count() == len(lines) > 0


# --- dedup and merge ---------------------------------------------------------------------------------------------

def test_latest_per_key_ordering(spark):
    rows = [
        ("a", "2024-01-02 00:00:00", "1", "e1", "upsert"),   # latest event_time wins over a higher sequence
        ("a", "2024-01-01 00:00:00", "99", "e2", "upsert"),
        ("b", "2024-01-01 00:00:00", "9", "e3", "upsert"),   # same time: sequence compared as a number
        ("b", "2024-01-01 00:00:00", "10", "e4", "upsert"),
        ("c", "2024-01-01 00:00:00", "5", "e5", "upsert"),   # same time and sequence: event_id, deterministic
        ("c", "2024-01-01 00:00:00", "5", "e6", "upsert"),
    ]
    df = spark.createDataFrame(rows, "k string, t string, ingest_sequence_number string, event_id string, op string")
    df = df.withColumn("event_time", F.col("t").cast("timestamp"))
    got = {r["k"]: r["event_id"] for r in bs.latest_per_key(df, ["k"]).collect()}
    assert got == {"a": "e1", "b": "e4", "c": "e6"}


def _policy(pid: str, when: str, seq: int, **changes):
    data = sample("erp", "policy", policy_id=pid, **changes)
    return make_line("erp", "policy", data, event_time=when, seq=seq)


def _policy_delete(pid: str, when: str, seq: int):
    return make_line("erp", "policy", {"policy_id": pid}, op="delete", event_time=when, seq=seq)


def _merge(spark, lines, run_id, existing=None, tombstones=None):
    spec = silver_table("erp", "policy")
    valid, _ = bs.conform(lines_df(spark, "erp", "policy", lines), REGISTRY[("erp", "policy")], run_id)
    ranked = bs.merge_versions(valid, existing, tombstones, spec).cache()
    counts = bs.merge_counts(ranked)
    assert counts["new_upserts_applied"] + counts["new_deletes_applied"] + counts["superseded"] == len(lines)
    return bs.silver_rows(ranked, spec).cache(), bs.new_tombstones(ranked, spec).cache(), counts


def _state(df):
    return {r["policy_id"]: (r["status"], r["silver_run_id"]) for r in df.collect()}


def test_merge_updates_late_data_duplicates_and_deletes(spark):
    t = "2024-04-0{}T00:00:00Z".format
    dup = _policy("POL-0000000002", t(1), 3)
    out1, tombs1, c1 = _merge(spark, [
        _policy("POL-0000000001", t(1), 1, status="active"),
        _policy("POL-0000000001", t(2), 2, status="suspended"),   # update in the same batch
        dup, dup,                                                # the same event twice
        _policy("POL-0000000003", t(1), 4),
    ], "r1")
    assert _state(out1) == {"POL-0000000001": ("suspended", "r1"), "POL-0000000002": ("active", "r1"),
                            "POL-0000000003": ("active", "r1")}
    assert (c1["new_upserts_applied"], c1["superseded"], c1["silver_rows"]) == (3, 2, 3)
    assert tombs1.count() == 0

    out2, tombs2, c2 = _merge(spark, [
        _policy("POL-0000000001", t(1), 9, status="cancelled"),  # late: older than the stored version
        _policy("POL-0000000002", t(3), 10, status="cancelled"),  # a real update
        _policy_delete("POL-0000000003", t(3), 11),
    ], "r2", existing=out1)
    assert _state(out2) == {"POL-0000000001": ("suspended", "r1"), "POL-0000000002": ("cancelled", "r2")}
    assert (c2["new_upserts_applied"], c2["new_deletes_applied"], c2["superseded"]) == (1, 1, 1)
    assert (c2["existing_replaced"], c2["existing_deleted"], c2["existing_unchanged"]) == (1, 1, 1)
    assert [r["policy_id"] for r in tombs2.collect()] == ["POL-0000000003"]

    # an upsert older than the delete arrives late: the tombstone keeps the key deleted
    out3, _, c3 = _merge(spark, [_policy("POL-0000000003", t(2), 12)], "r3", existing=out2, tombstones=tombs2)
    assert "POL-0000000003" not in _state(out3) and c3["superseded"] == 1
    # a newer upsert re-creates it; reprocessing an event already in silver changes nothing (stored wins the tie)
    out4, _, c4 = _merge(spark, [_policy("POL-0000000003", t(5), 13),
                                 _policy("POL-0000000002", t(3), 10, status="cancelled")],
                         "r4", existing=out2, tombstones=tombs2)
    assert _state(out4) == {**_state(out2), "POL-0000000003": ("active", "r4")}
    assert (c4["new_upserts_applied"], c4["superseded"], c4["tombstones_matched"]) == (1, 1, 1)

def test_a_first_load_with_unique_keys_is_merged_without_ranking_and_gives_the_same_rows(spark):
    t = "2024-04-0{}T00:00:00Z".format
    spec = silver_table("erp", "policy")
    lines = [_policy("POL-0000000001", t(1), 1), _policy("POL-0000000002", t(2), 2, status="suspended"),
             _policy_delete("POL-0000000003", t(3), 3)]
    valid, _ = bs.conform(lines_df(spark, "erp", "policy", lines), REGISTRY[("erp", "policy")], "r1")
    valid = valid.withColumn(bs.CORRECTION, F.col("policy_id") == "POL-0000000002")
    ranked = bs.merge_versions(valid, None, None, spec)
    fast = bs.merge_versions(valid, None, None, spec, unique_keys=True)
    assert fast.schema == ranked.schema
    assert fast.exceptAll(ranked).count() == 0 and ranked.exceptAll(fast).count() == 0 and fast.count() == 3
    assert bs.merge_outcome(fast, "issued_month") == bs.merge_outcome(ranked, "issued_month") == (
        {**bs.merge_counts(ranked)}, ["2024-03"])
    assert bs.merge_counts(fast)["new_deletes_applied"] == 1
    assert [r["policy_id"] for r in bs.new_tombstones(fast, spec).collect()] == ["POL-0000000003"]
    # with stored rows, the flag changes nothing: the ranking decides
    stored = bs.silver_rows(ranked, spec).where(F.col("policy_id") == "POL-0000000001")
    late = bs.merge_versions(valid, stored, None, spec, unique_keys=True)
    assert late.where("_rank > 1").count() == 1


def test_touched_partitions_find_the_partition_of_a_delete(spark):
    spec = silver_table("erp", "customer")
    contract = REGISTRY[("erp", "customer")]
    first = [make_line("erp", "customer", sample("erp", "customer", customer_id=f"CUS-0000000{i}",
                                                  created_at=f"2024-0{i}-01T00:00:00Z", updated_at=f"2024-0{i}-01T00:00:00Z"),
                       seq=i) for i in (1, 2)]
    existing, _ = bs.conform(lines_df(spark, "erp", "customer", first), contract, "r1")
    delete = make_line("erp", "customer", {"customer_id": "CUS-00000002"}, op="delete", seq=3)
    valid, _ = bs.conform(lines_df(spark, "erp", "customer", [delete]), contract, "r2")
    assert valid.first()["created_month"] is None
    assert bs.touched_partitions(valid, existing, spec) == ["2024-02"]
    assert bs.touched_partitions(valid, None, spec) == []


# --- the Glue job, in-process ----------------------------------------------------------------------------------

def _customer(cid: str, created: str, when: str, seq: int, **changes) -> str:
    data = sample("erp", "customer", customer_id=cid, created_at=created, updated_at=when, **changes)
    return make_line("erp", "customer", data, event_time=when, seq=seq)


def _write_bronze(root: Path, day: str, name: str, lines: list[str]) -> None:
    path = root / "bronze" / "source=erp" / "entity=customer" / f"ingest_date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


KEY = b"k" * 32 + b"0123456789abcdefghijklmnopqrstuv"  # a 64-byte test key, as the secret holds


def _args(root: Path, *extra: str) -> list[str]:
    uri = root.as_uri()
    key = root / "pseudonymization.key"
    key.write_bytes(KEY)
    return ["bronze_to_silver.py", "--JOB_NAME", "test", "--bronze_path", f"{uri}/bronze/",
            "--silver_path", f"{uri}/silver/", "--quarantine_path", f"{uri}/quarantine/silver_rules/",
            "--state_path", f"{uri}/artifacts/state/bronze_to_silver/", "--reports_path", f"{uri}/artifacts/dq-reports/",
            "--entities", "customer", "--pseudonymization_secret", key.as_uri(), *extra]


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _silver(spark, root: Path) -> dict[str, dict]:
    spec = silver_table("erp", "customer")
    df = spark.read.schema(bs.spark_schema(spec)).parquet((root / "silver" / "erp" / "customer").as_uri())
    return {r["customer_id"]: r.asDict() for r in df.collect()}


def _report(root: Path, run_id: str) -> dict:
    path = root / "artifacts" / "dq-reports" / "bronze_to_silver" / f"run_id={run_id}" / "report.json"
    return json.loads(path.read_text())


def test_silver_stores_no_personal_field_in_the_clear(spark, tmp_path):
    """The customer's document number becomes its keyed hash (same value, same pseudonym: it still joins),
    the name is dropped, the birth date becomes its year; nothing of the clear values is in any silver file."""
    from glue_jobs import bronze_to_silver as job
    from lakehouse.bronze_silver.privacy import pseudonym

    people = [("CUS-00000001", "52998224725", "Maria da Silva Secreta", "1980-05-17"),
              ("CUS-00000002", "11144477735", "João Pereira Oculto", None)]
    lines = [_customer(cid, "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", i, person_type="PF", document_number=doc,
                       name=name, birth_date=born) for i, (cid, doc, name, born) in enumerate(people, 1)]
    _write_bronze(tmp_path, "2024-06-01", "kinesis-shardId-000000000000-1-2.jsonl", lines)
    assert job.main(_args(tmp_path)) == 0
    silver = _silver(spark, tmp_path)
    for cid, doc, name, born in people:
        row = silver[cid]
        assert row["document_hash"] == pseudonym(KEY, doc) and len(row["document_hash"]) == 64
        assert row["birth_year"] == (int(born[:4]) if born else None)
        assert not {"document_number", "name", "birth_date"} & set(row)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "silver").rglob("*") if p.is_file())
    reports = b"".join(p.read_bytes() for p in (tmp_path / "artifacts").rglob("*") if p.is_file())
    for _, doc, name, born in people:
        for clear in (doc, name, born):
            if clear:
                assert clear.encode() not in stored and clear.encode() not in reports
    assert pseudonym(KEY, "52998224725") != pseudonym(b"another key" * 4, "52998224725")


def test_a_customer_table_without_the_key_is_one_clear_error(tmp_path):
    from glue_jobs import bronze_to_silver as job

    _write_bronze(tmp_path, "2024-06-01", "kinesis-shardId-000000000000-1-1.jsonl",
                  [_customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1)])
    args = _args(tmp_path)
    args = args[:args.index("--pseudonymization_secret")]
    with pytest.raises(SystemExit, match="--pseudonymization_secret: needed to store the personal fields of "
                                         "erp.customer"):
        job.main(args)


def test_job_incremental_runs(spark, tmp_path, capsys):
    from glue_jobs import bronze_to_silver as job

    c1_v1 = _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1, city="Campinas")
    c1_v2 = _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-02-01T09:00:00Z", 2, city="Santos")
    c2_v1 = _customer("CUS-00000002", "2024-02-15T09:00:00Z", "2024-02-15T09:00:00Z", 3)
    c3_v1 = _customer("CUS-00000003", "2024-03-20T09:00:00Z", "2024-03-20T09:00:00Z", 4)
    bad = _customer("CUS-00000004", "2024-03-21T09:00:00Z", "2024-03-21T09:00:00Z", 5, state="XX")
    _write_bronze(tmp_path, "2024-06-01", "kinesis-shardId-000000000000-1-5.jsonl",
                  [c1_v1, c1_v2, c2_v1, c2_v1, c3_v1, bad])

    assert job.main(_args(tmp_path)) == 0
    silver = _silver(spark, tmp_path)
    assert sorted(silver) == ["CUS-00000001", "CUS-00000002", "CUS-00000003"]
    assert silver["CUS-00000001"]["city"] == "Santos"
    table = tmp_path / "silver" / "erp" / "customer"
    assert sorted(p.name for p in table.iterdir() if p.is_dir()) == [
        "created_month=2024-01", "created_month=2024-02", "created_month=2024-03"]
    files = sorted(table.rglob("*.parquet"))
    assert files and all(f.name.endswith(".snappy.parquet") for f in files)
    spec = silver_table("erp", "customer")
    assert spark.read.parquet(f"file://{files[0]}").columns == [c.name for c in spec.columns]

    manifest = json.loads((tmp_path / "artifacts/state/bronze_to_silver/manifest.json").read_text())
    run1 = manifest["runs"][-1]["run_id"]
    first = tmp_path / "bronze/source=erp/entity=customer/ingest_date=2024-06-01/kinesis-shardId-000000000000-1-5.jsonl"
    etag = hashlib.md5(first.read_bytes()).hexdigest()
    assert run1 == job.derive_run_id(["source=erp/entity=customer/ingest_date=2024-06-01/"
                                      f"kinesis-shardId-000000000000-1-5.jsonl@{etag}"])
    assert manifest["format"] == 2
    assert manifest["objects"] == {"source=erp/entity=customer/ingest_date=2024-06-01":
                                   {"kinesis-shardId-000000000000-1-5.jsonl": etag}}
    report = _report(tmp_path, run1)
    assert report["passed"]
    counts = report["counts"]["tables"]["erp_customer"]
    assert {k: counts[k] for k in ("bronze_rows", "silver_candidates", "quarantined", "applied_upserts",
                                   "superseded", "silver_rows_written")} == {
        "bronze_rows": 6, "silver_candidates": 5, "quarantined": 1, "applied_upserts": 3, "superseded": 2,
        "silver_rows_written": 3}
    assert counts["quarantined_by_rule"] == {"rule_known_state": 1}
    quarantine = list((tmp_path / "quarantine/silver_rules" / "source=erp" / "entity=customer"
                       / "bronze_object=2024-06-01_kinesis-shardId-000000000000-1-5").glob("*.json"))
    rows = [json.loads(line) for f in quarantine for line in f.read_text().splitlines()]
    assert [(r["rule"], r["line"]) for r in rows] == [("rule_known_state", bad)]
    assert rows[0]["event_id"] == json.loads(bad)["event"]["event_id"] and rows[0]["silver_run_id"] == run1
    out = capsys.readouterr().out
    assert "PASSED" in out
    # JSON log lines carrying the run's id, then one run summary (EMF) with the report's counts
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    *said, summary = lines
    assert [line["event"] for line in said] == ["data quality checked", "silver written"]
    assert all((line["job"], line["service"], line["run_id"]) == ("bronze_to_silver", "test", run1) for line in lines)
    points = {p.name: p.value for p in emf.parse(json.dumps(summary))}
    assert {name: points[name] for name in (*RECORD_COUNTS, RUN_FAILED)} == {
        RECORDS_IN: 6, RECORDS_OUT: 5, RECORDS_QUARANTINED: 1, RECORDS_FAILED: 0, RUN_FAILED: 0}
    assert points[RUN_DURATION] > 0

    # rerun with no new files: a no-op, silver and everything else byte-identical
    before = _snapshot(tmp_path)
    assert job.main(_args(tmp_path)) == 0
    assert _snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "nothing to do" in out
    summary = json.loads(out.splitlines()[-1])  # a run with nothing new: zeros, and no run id
    assert "run_id" not in summary and {p.name: p.value for p in emf.parse(json.dumps(summary))}[RECORDS_IN] == 0

    # a later run: a late older version, a real update, a delete that empties a partition
    c1_late = _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-15T09:00:00Z", 6, city="Late")
    c2_v2 = _customer("CUS-00000002", "2024-02-15T09:00:00Z", "2024-03-01T09:00:00Z", 7, city="Recife", state="PE")
    c3_del = make_line("erp", "customer", {"customer_id": "CUS-00000003"}, op="delete",
                       event_time="2024-04-01T00:00:00Z", seq=8)
    _write_bronze(tmp_path, "2024-06-02", "kinesis-shardId-000000000000-6-8.jsonl", [c1_late, c2_v2, c3_del])
    assert job.main(_args(tmp_path)) == 0
    silver = _silver(spark, tmp_path)
    assert sorted(silver) == ["CUS-00000001", "CUS-00000002"]
    assert silver["CUS-00000001"]["city"] == "Santos" and silver["CUS-00000001"]["silver_run_id"] == run1
    assert (silver["CUS-00000002"]["city"], silver["CUS-00000002"]["state"]) == ("Recife", "PE")
    assert silver["CUS-00000002"]["ingest_date"] == date(2024, 6, 2)
    assert not (table / "created_month=2024-03").exists()
    manifest = json.loads((tmp_path / "artifacts/state/bronze_to_silver/manifest.json").read_text())
    run2 = manifest["runs"][-1]["run_id"]
    counts = _report(tmp_path, run2)["counts"]["tables"]["erp_customer"]
    assert {k: counts[k] for k in ("bronze_rows", "applied_upserts", "applied_deletes", "superseded",
                                   "existing_rows_replaced", "existing_rows_deleted", "partitions_emptied")} == {
        "bronze_rows": 3, "applied_upserts": 1, "applied_deletes": 1, "superseded": 1,
        "existing_rows_replaced": 1, "existing_rows_deleted": 1, "partitions_emptied": ["2024-03"]}
    assert (tmp_path / "silver" / "_tombstones" / "erp" / "customer" / f"run_id={run2}").is_dir()

    # an upsert older than the delete arrives even later: the key stays deleted
    c3_late = _customer("CUS-00000003", "2024-03-20T09:00:00Z", "2024-03-25T09:00:00Z", 9)
    _write_bronze(tmp_path, "2024-06-03", "kinesis-shardId-000000000000-9-9.jsonl", [c3_late])
    assert job.main(_args(tmp_path)) == 0
    assert sorted(_silver(spark, tmp_path)) == ["CUS-00000001", "CUS-00000002"]
    assert not (table / "created_month=2024-03").exists()


def test_job_first_load_with_unique_keys_and_a_delete(spark, tmp_path):
    """A first load whose keys are unique is merged without ranking: same rows, tombstone and report."""
    from glue_jobs import bronze_to_silver as job

    c1 = _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1)
    c2 = _customer("CUS-00000002", "2024-02-15T09:00:00Z", "2024-02-15T09:00:00Z", 2)
    gone = make_line("erp", "customer", {"customer_id": "CUS-00000003"}, op="delete", seq=3)
    _write_bronze(tmp_path, "2024-06-01", "kinesis-shardId-000000000000-1-3.jsonl", [c1, c2, gone])
    assert job.main(_args(tmp_path)) == 0
    assert sorted(_silver(spark, tmp_path)) == ["CUS-00000001", "CUS-00000002"]
    manifest = json.loads((tmp_path / "artifacts/state/bronze_to_silver/manifest.json").read_text())
    run1 = manifest["runs"][-1]["run_id"]
    report = _report(tmp_path, run1)
    counts = report["counts"]["tables"]["erp_customer"]
    assert {k: counts[k] for k in ("bronze_rows", "silver_candidates", "applied_upserts", "applied_deletes",
                                   "superseded", "silver_rows_written", "partitions_written",
                                   "partitions_emptied")} == {
        "bronze_rows": 3, "silver_candidates": 3, "applied_upserts": 2, "applied_deletes": 1, "superseded": 0,
        "silver_rows_written": 2, "partitions_written": ["2024-01", "2024-02"], "partitions_emptied": []}
    unique = [c for c in report["checks"] if c["name"] == "unique_key_erp_customer"]
    assert len(unique) == 1 and unique[0]["passed"], unique
    assert (tmp_path / "silver" / "_tombstones" / "erp" / "customer" / f"run_id={run1}").is_dir()


def test_job_gate_blocks_the_manifest(spark, tmp_path, monkeypatch):
    from glue_jobs import bronze_to_silver as job

    _write_bronze(tmp_path, "2024-06-01", "kinesis-a.jsonl",
                  [_customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1),
                   _customer("CUS-00000002", "2024-01-11T09:00:00Z", "2024-01-11T09:00:00Z", 2)])
    real = bs.conform_tagged

    def lossy(lines, contract, run_id, **kwargs):  # a bug that loses a row
        return real(lines, contract, run_id, **kwargs).where(F.col("customer_id") != "CUS-00000002")

    monkeypatch.setattr(bs, "conform_tagged", lossy)
    with pytest.raises(QualityGateFailed, match="accounting_erp_customer"):
        job.main(_args(tmp_path))
    assert not (tmp_path / "artifacts/state/bronze_to_silver/manifest.json").exists()
    assert not (tmp_path / "silver").exists()
    bronze = tmp_path / "bronze/source=erp/entity=customer/ingest_date=2024-06-01/kinesis-a.jsonl"
    run_id = job.derive_run_id(["source=erp/entity=customer/ingest_date=2024-06-01/kinesis-a.jsonl"
                                f"@{hashlib.md5(bronze.read_bytes()).hexdigest()}"])
    report = _report(tmp_path, run_id)
    assert not report["passed"] and report["counts"]["tables"]["erp_customer"]["written"] is False

    monkeypatch.setattr(bs, "conform_tagged", real)  # fixed: the retry processes the same files, same run id
    assert job.main(_args(tmp_path)) == 0
    assert sorted(_silver(spark, tmp_path)) == ["CUS-00000001", "CUS-00000002"]
    assert _report(tmp_path, run_id)["passed"]


def test_job_processes_a_corrected_object_again(spark, tmp_path, capsys):
    """A corrected export under the same name (same events, corrected values): its rows replace the ones
    the first version gave; a copy of an event in another object still changes nothing."""
    from glue_jobs import bronze_to_silver as job

    name = "backfill-customers-00000.jsonl"
    v1 = [_customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1, city="Campinsa"),
          _customer("CUS-00000002", "2024-02-15T09:00:00Z", "2024-02-15T09:00:00Z", 2)]
    _write_bronze(tmp_path, "2024-06-01", name, v1)
    assert job.main(_args(tmp_path)) == 0
    assert _silver(spark, tmp_path)["CUS-00000001"]["city"] == "Campinsa"

    # the same event again in another object: stored before new, nothing changes
    fixed = _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1, city="Campinas")
    assert json.loads(fixed)["event"]["event_time"] == json.loads(v1[0])["event"]["event_time"]
    event_id = json.loads(v1[0])["event"]["event_id"]
    fixed_env = json.loads(fixed)
    fixed_env["event"]["event_id"] = event_id  # the very same event, corrected value
    fixed = json.dumps(fixed_env, sort_keys=True, separators=(",", ":"))
    _write_bronze(tmp_path, "2024-06-02", "other.jsonl", [fixed])
    assert job.main(_args(tmp_path)) == 0
    assert _silver(spark, tmp_path)["CUS-00000001"]["city"] == "Campinsa"

    # the corrected export lands under the old name: processed again, its row wins
    _write_bronze(tmp_path, "2024-06-01", name, [fixed, v1[1]])
    capsys.readouterr()
    assert job.main(_args(tmp_path)) == 0
    assert "1 bronze objects changed since they were processed" in capsys.readouterr().out
    silver = _silver(spark, tmp_path)
    assert sorted(silver) == ["CUS-00000001", "CUS-00000002"]
    assert silver["CUS-00000001"]["city"] == "Campinas"
    manifest = json.loads((tmp_path / "artifacts/state/bronze_to_silver/manifest.json").read_text())
    corrected = tmp_path / "bronze/source=erp/entity=customer/ingest_date=2024-06-01" / name
    assert manifest["objects"]["source=erp/entity=customer/ingest_date=2024-06-01"][name] == \
        hashlib.md5(corrected.read_bytes()).hexdigest()
    assert manifest["runs"][-1]["corrected_files"] == 1
    # and nothing to do afterwards
    assert job.main(_args(tmp_path)) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_an_erased_customer_leaves_silver_and_its_rewritten_objects_are_processed_again(spark, tmp_path, capsys):
    """What operations.erase leaves in bronze (a stream object rewritten without the customer's lines, one
    emptied, the delete event in its own object): the next run tombstones the customer, processes the changed
    objects again and leaves every other row as it was."""
    from datetime import datetime, timezone

    from data_contracts import layout
    from glue_jobs import bronze_to_silver as job
    from operations.erase import Target, bronze_record, delete_event_line, filter_lines

    a, b = "CUS-00000001", "CUS-00000002"
    mixed, only_a = layout.stream_object_name("shardId-000000000000", 1, 2), \
        layout.stream_object_name("shardId-000000000000", 3, 3)
    _write_bronze(tmp_path, "2024-06-01", mixed, [
        _customer(a, "2024-01-10T09:00:00Z", "2024-01-10T09:00:00Z", 1),
        _customer(b, "2024-02-15T09:00:00Z", "2024-02-15T09:00:00Z", 2)])
    _write_bronze(tmp_path, "2024-06-01", only_a, [
        _customer(a, "2024-01-10T09:00:00Z", "2024-03-01T09:00:00Z", 3, city="Campinas")])
    assert job.main(_args(tmp_path)) == 0
    before = _silver(spark, tmp_path)
    assert sorted(before) == [a, b]

    folder = tmp_path / "bronze" / layout.bronze_partition_prefix("erp", "customer", "2024-06-01")
    kept = filter_lines((folder / mixed).read_bytes(), bronze_record, Target(frozenset({a})))
    assert (kept.removed, kept.kept) == (1, 1)
    (folder / mixed).write_bytes(kept.body)
    (folder / only_a).write_bytes(b"")  # a stream object stays, empty
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    event = tmp_path / "bronze" / layout.bronze_partition_prefix("erp", "customer", "2026-12-02") / \
        layout.erasure_object_name(a)
    event.parent.mkdir(parents=True)
    event.write_bytes(delete_event_line(a, now, now))
    capsys.readouterr()
    assert job.main(_args(tmp_path)) == 0
    assert "2 bronze objects changed since they were processed" in capsys.readouterr().out
    after = _silver(spark, tmp_path)
    changed = {k for k in before[b] if after[b][k] != before[b][k]}
    assert sorted(after) == [b] and changed <= {"silver_run_id"}, changed  # B: the same row, run id aside
    tombstones = spark.read.parquet((tmp_path / "silver" / "_tombstones" / "erp" / "customer").as_uri())
    assert [r["customer_id"] for r in tombstones.collect()] == [a]
    assert job.main(_args(tmp_path)) == 0
    assert "nothing to do" in capsys.readouterr().out
