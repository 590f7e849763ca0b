"""The erasure command's pure parts on literal data: matching the lines of a JSON-lines or CSV object, the
delete event, the report totals, the gold cut and the argument errors. The command itself runs against the
emulator's S3 in tests/e2e/test_erase_emulator.py and end to end in tests/e2e/test_batch_lakehouse.py."""
from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone

import pytest

from data_contracts import layout
from operations.erase import (
    Lake, Location, Target, bronze_record, delete_event_line, erasure_event_time, filter_csv, filter_lines,
    filter_object, gold_cut, ingest_quarantine_record, lake_buckets, main, request_totals,
    silver_quarantine_record,
)

A, B = "CUS-00000001", "CUS-00000002"
DOC_A = "12345678909"


def bronze_line(cid, op="upsert", time="2025-01-01T10:00:00Z", doc=DOC_A, entity="customer") -> bytes:
    data = {"customer_id": cid} if op == "delete" else {"customer_id": cid, "document_number": doc, "name": "X"}
    return json.dumps({"event": {"source": "erp", "entity": entity, "event_time": time, "op": op, "data": data},
                       "ingest": {"shard_id": "s", "sequence_number": "1"}}).encode()


def test_bronze_lines_of_the_customer_go_and_every_other_byte_stays():
    other = bronze_line(B, doc="98765432100")
    body = (bronze_line(A) + b"\n" + other + b"\n\n" + bronze_line(A, "delete", "2025-03-01T00:00:00.5Z")
            + b"\n" + b"not json\n" + other)  # no final newline on the last line
    out = filter_lines(body, bronze_record, Target(frozenset({A})))
    assert (out.removed, out.kept, out.unreadable) == (2, 3, 1)
    assert out.body == other + b"\n\n" + b"not json\n" + other
    assert out.customer_ids == {A}
    assert out.latest == datetime(2025, 3, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)


def test_a_substring_is_not_a_match():
    """B's name holds A's id and document number as text: B stays."""
    line = json.dumps({"event": {"source": "erp", "entity": "customer", "op": "upsert", "event_time": "x",
                                 "data": {"customer_id": B, "document_number": "111", "name": f"{A} {DOC_A}"}},
                       "ingest": {}}).encode() + b"\n"
    out = filter_lines(line, bronze_record, Target(frozenset({A}), frozenset({DOC_A})))
    assert (out.removed, out.kept, out.body) == (0, 1, line)


def test_document_numbers_match_whatever_their_punctuation():
    line = bronze_line(A, doc="123.456.789-09") + b"\n"
    out = filter_lines(line, bronze_record, Target(document_numbers=frozenset({DOC_A})))
    assert (out.removed, out.body, out.customer_ids) == (1, b"", {A})
    assert out.empty


def test_ingest_quarantine_matches_customer_payloads_only():
    customer = json.dumps({"source": "erp", "entity": "customer", "data": {"customer_id": A}, "op": "upsert"})
    policy = json.dumps({"source": "erp", "entity": "policy", "data": {"customer_id": A, "policy_id": "P"}})
    lines = [
        json.dumps({"payload": customer, "payload_encoding": "utf-8", "reason": "schema"}),
        json.dumps({"payload": policy, "payload_encoding": "utf-8", "reason": "schema"}),
        json.dumps({"payload": base64.b64encode(customer.encode()).decode(), "payload_encoding": "base64"}),
        json.dumps({"payload": "{broken", "payload_encoding": "utf-8"}),
    ]
    body = "".join(line + "\n" for line in lines).encode()
    out = filter_lines(body, ingest_quarantine_record, Target(frozenset({A})))
    assert (out.removed, out.kept, out.unreadable) == (2, 2, 1)
    assert out.body == (lines[1] + "\n" + lines[3] + "\n").encode()


def test_silver_quarantine_rows_are_matched_on_their_bronze_line():
    rows = [json.dumps({"rule": "rule_x", "line": bronze_line(cid).decode()}) for cid in (A, B)]
    out = filter_lines(("\n".join(rows) + "\n").encode(), silver_quarantine_record, Target(frozenset({A})))
    assert (out.removed, out.body) == (1, (rows[1] + "\n").encode())


def test_csv_records_go_by_column_and_the_rest_stays_byte_for_byte():
    body = ("\ufeffCustomer_ID,name,document_number,updated_at\r\n"
            f'{A},"Ana, ""A""",{DOC_A},2025-01-02T00:00:00Z\r\n'
            f'{B},"Bruno\nsecond line",98765432100,2025-01-01T00:00:00Z\r\n'
            f"{A},Ana,{DOC_A},2025-02-02T00:00:00Z\r\n").encode()
    out = filter_csv(body, Target(frozenset({A})))
    assert (out.removed, out.kept) == (2, 1)
    assert out.body == ("\ufeffCustomer_ID,name,document_number,updated_at\r\n"
                        f'{B},"Bruno\nsecond line",98765432100,2025-01-01T00:00:00Z\r\n').encode()
    assert out.latest == datetime(2025, 2, 2, tzinfo=timezone.utc)
    only_a = filter_csv(f"customer_id\n{A}\n".encode(), Target(frozenset({A})))
    assert only_a.empty and only_a.body == b""


def test_gzipped_landing_exports_are_rewritten_gzipped():
    plain = f'{{"customer_id": "{A}"}}\n{{"customer_id": "{B}"}}\n'.encode()
    out = filter_object("landing", "landing/erp/customer/c.jsonl.gz", gzip.compress(plain), Target(frozenset({A})))
    assert out.removed == 1 and gzip.decompress(out.body) == f'{{"customer_id": "{B}"}}\n'.encode()


def test_which_objects_are_scanned_and_which_stay_when_empty():
    bronze = Location("bronze", "b", layout.entity_prefix("erp", "customer"), "bronze")
    day = layout.bronze_partition_prefix("erp", "customer", "2025-01-01")
    stream = day + layout.stream_object_name("shardId-000000000000", 1, 9)
    backfill = day + layout.backfill_object_name("customer_2025-01-01", 0)
    erasure = day + layout.erasure_object_name(A)
    assert bronze.wanted(stream) and bronze.wanted(backfill) and not bronze.wanted(erasure)
    assert bronze.keeps_empty(stream) and not bronze.keeps_empty(backfill)
    msk = day + layout.msk_object_name(layout.topic_partition("lakeforge-ingest", 2), 40, 90)
    assert bronze.wanted(msk) and bronze.keeps_empty(msk)  # an MSK object claims its offsets the same way
    scanned = Lake({"bronze": "b", "quarantine": "q", "silver": "s", "gold": "g"}).scanned()
    assert {(loc.prefix, loc.kind) for loc in scanned} >= {(layout.STREAM_QUARANTINE_PREFIX, "ingest_quarantine"),
                                                            (layout.MSK_QUARANTINE_PREFIX, "ingest_quarantine")}
    silver_q = Location("silver_quarantine", "q", "silver_rules/", "silver_quarantine")
    assert silver_q.wanted("silver_rules/x/part-00000-abc.json") and not silver_q.wanted("silver_rules/x/_SUCCESS")
    assert not silver_q.keeps_empty("silver_rules/x/part-00000-abc.json")


def test_erasure_object_names_round_trip():
    name = layout.erasure_object_name(A)
    assert name == f"erasure-{A}.jsonl" and layout.parse_erasure_object_name(name) == A
    assert layout.parse_erasure_object_name("kinesis-shardId-1-1-2.jsonl") is None
    assert layout.parse_stream_object_name(name) is None
    with pytest.raises(ValueError):
        layout.erasure_object_name("../x")


def test_the_delete_event_is_a_valid_bronze_delete_later_than_the_customer_events():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert erasure_event_time(None, now) == now
    future = datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert erasure_event_time(future, now) > future
    line = delete_event_line(A, now, now)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    event = json.loads(line)["event"]
    assert event["op"] == "delete" and event["data"] == {"customer_id": A}
    assert event["event_time"] == "2026-01-01T12:00:00.000000Z"
    assert json.loads(delete_event_line(A, future, now))["event"]["event_id"] == event["event_id"]  # one id


def test_request_totals():
    report = {"delete_events": [{"written": True}, {"written": False}], "errors": [],
              "layers": {"bronze": {"objects": {"k1": {"action": "rewritten", "lines_removed": 2, "versions_deleted": 1},
                                                "k2": {"action": "deleted", "lines_removed": 1, "versions_deleted": 3},
                                                "k3": {"action": "noncurrent versions only", "lines_removed": 0,
                                                       "noncurrent_lines_removed": 4, "versions_deleted": 1}},
                                    "unreadable_lines": {"k1": 2}},
                         "landing": {"objects": {"k4": {"action": "emptied", "lines_removed": 5,
                                                        "versions_deleted": 1}}, "unreadable_lines": {}}}}
    assert request_totals(report) == {"objects_rewritten": 2, "objects_deleted": 1, "lines_removed": 8,
                                      "noncurrent_lines_removed": 4, "versions_deleted": 6, "unreadable_lines": 2,
                                      "delete_events_written": 1, "errors": 0}


def test_gold_cut_keeps_the_generations_newer_than_the_first_holding_the_customer():
    assert gold_cut([0, 0, 2, 2]) == 2      # published and one kept copy stay; the two older ones go
    assert gold_cut([0, 0, 0]) == 3          # nobody holds it: all stay
    assert gold_cut([1, 1]) == 0             # still published: nothing can be dropped (finish exits 1)


def test_buckets_come_from_the_options_or_the_outputs():
    outputs = {"bronze_bucket": "lf-bronze", "quarantine_bucket": {"value": "lf-q"}}
    assert lake_buckets(outputs, {"bronze": "s3://other-bronze/"}, ("bronze", "quarantine")) == \
        {"bronze": "other-bronze", "quarantine": "lf-q"}


@pytest.mark.parametrize("argv, message", [
    (["request", "--customer-id", "42", "--bronze", "s3://lf-bronze", "--quarantine", "s3://lf-quarantine"],
     "--customer-id '42': a customer id looks like CUS-00000001"),
    (["request", "--document-number", "123", "--bronze", "s3://lf-bronze", "--quarantine", "s3://lf-quarantine"],
     "--document-number: give the CPF (11 digits) or CNPJ (14 digits)"),
    (["request", "--customer-id", A, "--bronze", "s3://lf-bronze"], "--quarantine: missing; give --quarantine s3://"),
    (["request", "--customer-id", A, "--bronze", "s3://lf-bronze/some/prefix", "--quarantine", "s3://lf-quarantine"],
     "--bronze 's3://lf-bronze/some/prefix': give the bucket as s3://<bucket name>"),
    (["finish", "--customer-id", A, "--outputs", "/nonexistent/outputs.json"],
     "--outputs /nonexistent/outputs.json: cannot read it"),
    (["request", "--customer-id", A, "--document-number", DOC_A], "not allowed with argument"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and DOC_A not in err


def test_an_outputs_file_without_a_bucket_says_which(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"bronze_bucket": "lf-bronze"}))
    with pytest.raises(SystemExit):
        main(["request", "--customer-id", A, "--outputs", str(path)])
    assert "--quarantine: missing (the --outputs file has no quarantine_bucket)" in capsys.readouterr().err


def test_a_document_number_read_from_standard_input_is_checked_too(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(SystemExit) as exit_:
        main(["request", "--document-number", "-", "--bronze", "s3://lf-bronze", "--quarantine", "s3://lf-quarantine"])
    assert exit_.value.code == 2
    assert "--document-number: give the CPF (11 digits) or CNPJ (14 digits)" in capsys.readouterr().err
