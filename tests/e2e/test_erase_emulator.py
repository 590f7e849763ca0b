"""The erasure's request phase against the emulator's S3 (versioned buckets, no Terraform): bronze stream and
backfill objects, landing exports and both quarantines holding two customers' lines; A's lines go, B's stay
byte for byte, no version of anything holds A any more, one delete event is written, and a rerun changes
nothing."""
from __future__ import annotations

import base64
import json

import pytest

from data_contracts import layout
from local_runtime.aws import environment
from operations.erase import main

pytestmark = pytest.mark.e2e

A, B = "CUS-00000001", "CUS-00000002"
DOC_A, DOC_B = "12345678909", "98765432100"
DAY = "2025-01-01"
PART = layout.bronze_partition_prefix("erp", "customer", DAY)


def envelope(cid: str, time: str, op: str = "upsert", entity: str = "customer") -> dict:
    data = {"customer_id": cid} if op == "delete" else \
        {"customer_id": cid, "document_number": DOC_A if cid == A else DOC_B, "name": f"Name {cid}"}
    if entity == "policy":
        data = {"policy_id": "POL-0000000001", "customer_id": cid}
    return {"source": "erp", "entity": entity, "schema_version": 1, "event_id": "x", "event_time": time,
            "op": op, "data": data}


def bronze(cid: str, time: str, op: str = "upsert") -> str:
    return json.dumps({"event": envelope(cid, time, op), "ingest": {"shard_id": "s", "sequence_number": "1"}},
                      sort_keys=True)


def quarantined(payload: str, encoding: str = "utf-8") -> str:
    return json.dumps({"payload": payload, "payload_encoding": encoding, "reason": "schema_violation",
                       "error": "x", "ingest": {}}, sort_keys=True)


def body(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


STREAM_MIXED = PART + layout.stream_object_name("shardId-000000000000", 10, 19)
STREAM_ONLY_A = PART + layout.stream_object_name("shardId-000000000000", 20, 29)
BACKFILL_MIXED = PART + layout.backfill_object_name("customer_2025-01-01", 0)
BACKFILL_ONLY_A = PART + layout.backfill_object_name("customer_2025-01-01", 1)
REWRITTEN_BEFORE = PART + layout.backfill_object_name("customer_2024-12-01", 0)
LANDING_CSV = layout.landing_prefix("customer") + "customer_2025-01-01.csv"
LANDING_JSONL = layout.landing_prefix("customer") + "customer_2024-12-01.jsonl"
INGEST_Q = layout.stream_quarantine_key(DAY, "shardId-000000000000", 30, 39)
SILVER_Q = "silver_rules/source=erp/entity=customer/bronze_object=2025-01-01_kinesis-x/part-00000-abc.json"

B_LINE = bronze(B, "2025-01-01T09:00:00Z")
POLICY_OF_A = quarantined(json.dumps(envelope(A, "2025-01-01T00:00:00Z", entity="policy")))
BRONZE_OBJECTS = {
    STREAM_MIXED: body(bronze(A, "2025-01-01T10:00:00Z"), B_LINE, bronze(A, "2025-01-02T10:00:00Z")),
    STREAM_ONLY_A: body(bronze(A, "2025-01-03T10:00:00Z")),
    BACKFILL_MIXED: body(B_LINE, bronze(A, "2024-12-01T00:00:00Z"), "", B_LINE),
    BACKFILL_ONLY_A: body(bronze(A, "2024-12-02T00:00:00Z")),
    REWRITTEN_BEFORE: body(B_LINE),  # its previous version (below) held A
    LANDING_CSV: (f"customer_id,name,document_number,updated_at\n{A},\"Ana, A\",{DOC_A},2025-01-04T00:00:00Z\n"
                  f"{B},Bruno,{DOC_B},2025-01-01T00:00:00Z\n").encode(),
    LANDING_JSONL: body(json.dumps({"customer_id": A, "document_number": DOC_A})),
}
QUARANTINE_OBJECTS = {
    INGEST_Q: body(quarantined(json.dumps(envelope(A, "2025-01-01T11:00:00Z"))), POLICY_OF_A,
                   quarantined(json.dumps(envelope(B, "2025-01-01T11:00:00Z"))),
                   quarantined(base64.b64encode(json.dumps(envelope(A, "2025-01-01T12:00:00Z")).encode()).decode(),
                               "base64"),
                   quarantined("\x00 not json")),
    SILVER_Q: body(json.dumps({"rule": "rule_x", "line": bronze(A, "2025-01-01T10:00:00Z")}),
                   json.dumps({"rule": "rule_x", "line": B_LINE})),
}
EXPECTED_AFTER = {  # what each object holds afterwards (None: gone)
    STREAM_MIXED: body(B_LINE),
    STREAM_ONLY_A: b"",  # a stream object stays, empty: its name claims its range for the ingest
    BACKFILL_MIXED: body(B_LINE, "", B_LINE),
    BACKFILL_ONLY_A: None,
    REWRITTEN_BEFORE: body(B_LINE),
    LANDING_CSV: f"customer_id,name,document_number,updated_at\n{B},Bruno,{DOC_B},2025-01-01T00:00:00Z\n".encode(),
    LANDING_JSONL: None,
    INGEST_Q: body(POLICY_OF_A, quarantined(json.dumps(envelope(B, "2025-01-01T11:00:00Z"))),
                   quarantined("\x00 not json")),
    SILVER_Q: body(json.dumps({"rule": "rule_x", "line": B_LINE})),
}


def _all_versions(s3, bucket):
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        out += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", ())]
        out += [(m["Key"], m["VersionId"], "marker") for m in page.get("DeleteMarkers", ())]
    return out


def _current(s3, bucket):
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", ())]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


@pytest.fixture(scope="module")
def credentials(emulator):
    """The command's AWS SDK calls go to the emulator (its credentials; the endpoint is --endpoint)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment(emulator.endpoint).items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def lake(emulator, aws, credentials):
    s3 = aws("s3")
    names = {"bronze": "erase-test-bronze", "quarantine": "erase-test-quarantine"}
    for name in names.values():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=names["bronze"], Key=REWRITTEN_BEFORE, Body=body(B_LINE, bronze(A, "2024-11-01T00:00:00Z")))
    for key, data in BRONZE_OBJECTS.items():
        s3.put_object(Bucket=names["bronze"], Key=key, Body=data)
    for key, data in QUARANTINE_OBJECTS.items():
        s3.put_object(Bucket=names["quarantine"], Key=key, Body=data)
    return s3, names, emulator.endpoint


def _request(lake, capsys, *who):
    s3, names, endpoint = lake
    status = main(["request", *who, "--bronze", f"s3://{names['bronze']}",
                   "--quarantine", f"s3://{names['quarantine']}", "--endpoint", endpoint])
    out = capsys.readouterr().out
    return status, json.loads(out), out


def test_request_removes_exactly_a_and_keeps_b_byte_for_byte(lake, capsys):
    s3, names, _ = lake
    status, report, printed = _request(lake, capsys, "--customer-id", A)
    assert status == 0, report["errors"]
    assert DOC_A not in printed and "Name CUS" not in printed  # the report shows no personal value
    totals = report["totals"]
    assert totals == {"objects_rewritten": 6, "objects_deleted": 2, "lines_removed": 10,
                      "noncurrent_lines_removed": 1, "versions_deleted": 9, "unreadable_lines": 1,
                      "delete_events_written": 1, "errors": 0}
    removed = {key: entry["lines_removed"] for layer in report["layers"].values()
               for key, entry in layer["objects"].items()}
    assert removed == {STREAM_MIXED: 2, STREAM_ONLY_A: 1, BACKFILL_MIXED: 1, BACKFILL_ONLY_A: 1, REWRITTEN_BEFORE: 0,
                       LANDING_CSV: 1, LANDING_JSONL: 1, INGEST_Q: 2, SILVER_Q: 1}
    assert report["layers"]["ingest_quarantine"]["unreadable_lines"] == {INGEST_Q: 1}

    # what is left: exactly the expected bytes, and the one delete event
    current = {**_current(s3, names["bronze"]), **_current(s3, names["quarantine"])}
    [event_key] = [k for k in current if layout.parse_erasure_object_name(k.rsplit("/", 1)[-1])]
    assert event_key.endswith(layout.erasure_object_name(A))
    event = json.loads(current.pop(event_key))["event"]
    assert (event["op"], event["data"], event["source"], event["entity"]) == ("delete", {"customer_id": A}, "erp",
                                                                             "customer")
    assert event["event_time"] > "2025-01-04T00:00:00Z"  # later than every event of A seen
    assert current == {k: v for k, v in EXPECTED_AFTER.items() if v is not None}

    # no version of any object holds A any more: one current version each, no delete marker left behind
    for bucket in names.values():
        versions = _all_versions(s3, bucket)
        assert all(latest is True for _key, _v, latest in versions), versions
        for key, version, _ in versions:
            data = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
            if key in (event_key, INGEST_Q):  # the delete event names A; the quarantined policy refers to A
                continue
            assert A.encode() not in data and DOC_A.encode() not in data, key


def test_a_second_request_removes_nothing_and_writes_no_second_event(lake, capsys):
    s3, names, _ = lake
    before = {b: _all_versions(s3, b) for b in names.values()}
    status, report, _ = _request(lake, capsys, "--customer-id", A)
    assert status == 0
    assert report["totals"] == {"objects_rewritten": 0, "objects_deleted": 0, "lines_removed": 0,
                                "noncurrent_lines_removed": 0, "versions_deleted": 0, "unreadable_lines": 1,
                                "delete_events_written": 0, "errors": 0}
    assert [e["written"] for e in report["delete_events"]] == [False]
    assert {b: _all_versions(s3, b) for b in names.values()} == before  # not one object or version changed


def test_a_document_number_is_resolved_to_the_customer_id(lake, capsys, monkeypatch):
    import io

    s3, names, _ = lake
    monkeypatch.setattr("sys.stdin", io.StringIO("123.456.789-09\n"))  # --document-number -: read from stdin
    s3.put_object(Bucket=names["bronze"], Key=STREAM_MIXED,
                  Body=body(B_LINE, bronze(A, "2030-02-01T00:00:00Z")))  # A again, dated after the erasure
    status, report, printed = _request(lake, capsys, "--document-number", "-")
    assert status == 0
    assert DOC_A not in printed
    assert report["document_number_matched"] == {"customer_ids": [A], "records_by_layer": {"bronze": 1}}
    assert report["totals"]["lines_removed"] == 1 and report["totals"]["versions_deleted"] == 2
    # the new record was later than the delete event written before: the event is rewritten, later again
    [event] = report["delete_events"]
    assert event["written"] and event.get("rewritten") and event["event_time"] > "2030-02-01T00:00:00Z"
    assert s3.get_object(Bucket=names["bronze"], Key=STREAM_MIXED)["Body"].read() == body(B_LINE)


def _parquet(rows: list[dict]) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def published_lake(lake):
    """Silver, gold (three published generations: the oldest still holds A) and the publication record, as
    the jobs leave them, written with pyarrow."""
    from glue_jobs.silver_to_gold import STATE

    s3, names, endpoint = lake
    names = {**names, "silver": "erase-test-silver", "gold": "erase-test-gold", "artifacts": "erase-test-artifacts"}
    for layer in ("silver", "gold", "artifacts"):
        s3.create_bucket(Bucket=names[layer])
        s3.put_bucket_versioning(Bucket=names[layer], VersioningConfiguration={"Status": "Enabled"})
    customers = "erp/customer/created_month=2025-01/part-00000.parquet"
    s3.put_object(Bucket=names["silver"], Key=customers, Body=_parquet([{"customer_id": A}, {"customer_id": B}]))
    s3.put_object(Bucket=names["silver"], Key=customers, Body=_parquet([{"customer_id": B}]))  # the job swapped it
    s3.put_object(Bucket=names["silver"], Key="_tombstones/erp/customer/run_id=r9/part-00000.parquet",
                  Body=_parquet([{"customer_id": A, "event_time": "2026-01-01"}]))
    s3.put_object(Bucket=names["silver"], Key="erp/policy/issue_month=2025-01/part-00000.parquet",
                  Body=_parquet([{"policy_id": "POL-0000000001", "customer_id": A}]))
    generations = [(3, "runs/g000003-r3-aaaa/", [B]), (2, "runs/g000002-r2-bbbb/", [B]),
                   (1, "runs/g000001-r1-cccc/", [A, B])]
    for _, prefix, ids in generations:
        s3.put_object(Bucket=names["gold"], Key=prefix + "dim_customer/part-00000.parquet",
                      Body=_parquet([{"customer_key": i, "customer_id": cid} for i, cid in enumerate(ids)]))
        s3.put_object(Bucket=names["gold"], Key=prefix + "dim_policy/part-00000.parquet",
                      Body=_parquet([{"policy_id": "POL-0000000001", "customer_id": A, "customer_key": None}]))

    def gen(number, prefix):
        return {"generation": number, "run_id": f"r{number}", "prefix": prefix}
    record = {"format": 1, "published": gen(*generations[0][:2]), "pending": None,
              "history": [gen(*g[:2]) for g in generations[1:]]}
    s3.put_object(Bucket=names["artifacts"], Key=STATE.prefix + "publication.json", Body=json.dumps(record).encode())
    yield s3, names, endpoint


def _finish(published_lake, capsys, customer_id):
    _s3, names, endpoint = published_lake
    status = main(["finish", "--customer-id", customer_id, *(f"--{layer}={f's3://{bucket}'}" for layer, bucket in
                                                              names.items()), "--endpoint", endpoint])
    return status, json.loads(capsys.readouterr().out)


def test_finish_drops_the_gold_copies_still_holding_the_customer(published_lake, capsys):
    from glue_jobs.silver_to_gold import STATE

    s3, names, _ = published_lake
    status, report = _finish(published_lake, capsys, A)
    assert status == 0, report["remaining"]
    assert [(g["generation"], g["rows"], g["action"]) for g in report["layers"]["gold"]["generations"]] == \
        [(3, 0, "kept"), (2, 0, "kept"), (1, 1, "dropped")]
    assert report["layers"]["gold"]["prefixes_deleted"] == {
        "runs/g000001-r1-cccc/": {"objects": 2, "versions_deleted": 2}}
    assert report["noncurrent_versions_deleted"][f"s3://{names['silver']}/erp/customer/"] == 1
    assert report["references_kept"] == {"silver.erp_policy": 1, "gold.dim_policy": 1}
    assert report["totals"]["tombstone_rows_kept"] == 1 and report["totals"]["rows_remaining"] == 0
    record = json.loads(s3.get_object(Bucket=names["artifacts"], Key=STATE.prefix + "publication.json")["Body"].read())
    assert [g["generation"] for g in record["history"]] == [2] and record["published"]["generation"] == 3
    versions = s3.list_object_versions(Bucket=names["gold"], Prefix="runs/g000001-r1-cccc/")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    silver = s3.list_object_versions(Bucket=names["silver"], Prefix="erp/customer/")
    assert [v["IsLatest"] for v in silver["Versions"]] == [True]


def test_finish_exits_1_naming_what_still_holds_the_customer(published_lake, capsys):
    """B was never erased: every layer still holds it, nothing is dropped."""
    s3, names, _ = published_lake
    status, report = _finish(published_lake, capsys, B)
    assert status == 1
    layers = {(r["layer"], r["object"]) for r in report["remaining"]}
    assert ("silver", f"s3://{names['silver']}/erp/customer/created_month=2025-01/part-00000.parquet") in layers
    assert ("gold", f"s3://{names['gold']}/runs/g000003-r3-aaaa/dim_customer/") in layers
    assert {layer for layer, _ in layers} == {"silver", "gold", "bronze", "landing", "ingest_quarantine",
                                             "silver_quarantine"}
    assert all(g["action"] == "kept" for g in report["layers"]["gold"]["generations"])
