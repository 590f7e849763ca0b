"""MSK ingest handler (lambda_src/ingest_msk/app.py) on the real MSK event shape, against an in-memory S3."""
from __future__ import annotations

import base64
import json
import re
import time
from collections import Counter

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from data_contracts import emf, layout, reasons
from data_contracts.metrics import (
    RECORD_COUNTS, RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED, SERVICE_DIMENSION, STREAM_LAG,
)
from data_contracts.topics import INGEST_TOPIC
from lambda_src.ingest_msk import app
from sample_data import expected_counts, generate, msk_event, msk_record, to_msk_event
from tests.memory_s3 import MemoryS3

BRONZE, QUARANTINE = "lakeforge-test-bronze", "lakeforge-test-quarantine"
T0 = 1717200000000  # 2024-06-01T00:00:00Z in epoch ms
KEY_RE = re.compile(r"^(?:source=(erp|susep)/entity=([a-z_]+)|source=msk)/ingest_date=(\d{4}-\d{2}-\d{2})/msk-"
                    + re.escape(INGEST_TOPIC) + r"-(\d+)-(\d+)-(\d+)\.jsonl$")


@pytest.fixture(autouse=True)
def buckets(monkeypatch):
    monkeypatch.setenv("BRONZE_BUCKET", BRONZE)
    monkeypatch.setenv("QUARANTINE_BUCKET", QUARANTINE)


@pytest.fixture
def s3():
    return MemoryS3()


def lines(s3: MemoryS3) -> list[tuple[str, str, dict]]:
    """(bucket, key, parsed line) for every line of every object."""
    out = []
    for (bucket, key), body in sorted(s3.objects.items()):
        assert body.endswith(b"\n")
        out.extend((bucket, key, json.loads(raw)) for raw in body.split(b"\n")[:-1])
    return out


def positions(s3: MemoryS3) -> Counter:
    return Counter((line["ingest"]["partition"], line["ingest"]["offset"]) for _, _, line in lines(s3))


def test_every_field_of_a_record_is_decoded():
    s3 = MemoryS3()
    good = generate(1, seed=4)[0]
    record = msk_record(INGEST_TOPIC, 2, 41, T0 + 1234, good.payload, key="chave-ç".encode(),
                        headers=[("trace-id", b"abc-1"), ("raw", b"\xff\x00\x80"), ("trace-id", b"again")],
                        timestamp_type="LOG_APPEND_TIME")
    assert record["headers"][1] == {"raw": [-1, 0, -128]}  # Java's signed bytes, as Lambda sends them
    no_key = msk_record(INGEST_TOPIC, 2, 42, T0 + 1235, good.payload)
    binary_key = msk_record(INGEST_TOPIC, 2, 43, T0 + 1236, good.payload, key=b"\xfe\x01")
    assert "key" not in no_key
    assert app.handler_for(s3)(msk_event([record, no_key, binary_key]), None) == {"batchItemFailures": []}

    [(bucket, key, first), (_, _, second), (_, _, third)] = lines(s3)
    assert bucket == BRONZE
    assert key == (f"source={good.source}/entity={good.entity}/ingest_date=2024-06-01/"
                   f"msk-{INGEST_TOPIC}-2-41-43.jsonl")
    assert key.endswith(layout.msk_object_name(layout.topic_partition(INGEST_TOPIC, 2), 41, 43))
    assert first["event"] == json.loads(good.payload)
    assert first["ingest"] == {
        "arrival_time": "2024-06-01T00:00:01.234Z", "shard_id": f"{INGEST_TOPIC}-2", "sequence_number": "41",
        "partition_key": "chave-ç", "topic": INGEST_TOPIC, "partition": 2, "offset": 41,
        "timestamp": T0 + 1234, "timestamp_type": "LOG_APPEND_TIME", "key": "chave-ç", "key_encoding": "utf-8",
        "headers": [{"name": "trace-id", "value": "abc-1", "value_encoding": "utf-8"},
                    {"name": "raw", "value": base64.b64encode(b"\xff\x00\x80").decode(), "value_encoding": "base64"},
                    {"name": "trace-id", "value": "again", "value_encoding": "utf-8"}]}
    assert (second["ingest"]["key"], second["ingest"]["key_encoding"], second["ingest"]["headers"]) == (None, None, [])
    assert (third["ingest"]["key"], third["ingest"]["key_encoding"]) == ("/gE=", "base64")
    assert third["ingest"]["timestamp_type"] == "CREATE_TIME"


def test_bronze_lines_carry_the_stream_fields_bronze_to_silver_reads():
    """bronze->silver reads ``ingest.{shard_id, sequence_number, partition_key, arrival_time}`` from every bronze
    line and requires a digits-only sequence number (its envelope rule): an MSK line has them."""
    from lakehouse.bronze_silver.bronze import ENVELOPE_SCHEMA, SEQUENCE_PATTERN

    s3 = MemoryS3()
    app.handler_for(s3)(to_msk_event(generate(30, seed=3), partitions=2, first_offset=7, timestamp_ms=T0), None)
    wanted = set(ENVELOPE_SCHEMA["ingest"].dataType.fieldNames())
    for bucket, _, line in lines(s3):
        assert bucket == BRONZE and wanted <= set(line["ingest"])
        assert re.fullmatch(SEQUENCE_PATTERN, line["ingest"]["sequence_number"])
        assert line["ingest"]["shard_id"] == f"{INGEST_TOPIC}-{line['ingest']['partition']}"
        assert int(line["ingest"]["sequence_number"]) == line["ingest"]["offset"] >= 7


def test_counts_per_entity_and_reason_match_the_generator(s3):
    records = generate(600, seed=21, bad_share=0.15)
    event = to_msk_event(records, partitions=3, timestamp_ms=T0)
    assert sorted(event["records"]) == [f"{INGEST_TOPIC}-{p}" for p in range(3)]
    assert app.handler_for(s3)(event, None) == {"batchItemFailures": []}
    expected = expected_counts(records)
    bronze, quarantined = Counter(), Counter()
    for bucket, key, line in lines(s3):
        match = KEY_RE.match(key)
        assert match, key
        if bucket == BRONZE:
            bronze[(match.group(1), match.group(2))] += 1
        else:
            assert key.startswith("source=msk/ingest_date=2024-06-01/")
            quarantined[line["reason"]] += 1
        assert int(match.group(4)) == line["ingest"]["partition"]
        assert int(match.group(5)) <= line["ingest"]["offset"] <= int(match.group(6))
    assert {k: v for k, v in expected["valid"].items() if v} == dict(bronze)
    assert {k: v for k, v in expected["bad"].items() if v} == dict(quarantined)
    # every record once, at the offset it had in its partition
    assert positions(s3) == Counter((i % 3, i // 3) for i in range(600))


def test_the_contracts_metrics_and_the_lag_from_the_oldest_record_timestamp(s3, capsys):
    """The same metrics as the Kinesis handler; the lag is measured from the Kafka record timestamps (the
    oldest of all partitions)."""
    records = generate(30, seed=22, bad_share=0.2)
    now_ms = round(time.time() * 1000)
    event = to_msk_event(records, partitions=3, timestamp_ms=now_ms - 60_000, timestamp_step_ms=1000)
    app.handler_for(s3)(event, None)
    points = {}
    for text in capsys.readouterr().out.splitlines():
        for point in emf.parse(text):
            if point.dimensions == {SERVICE_DIMENSION: app.SERVICE}:
                points[point.name] = sum(point.value) if isinstance(point.value, tuple) else point.value
    bad = sum(1 for r in records if r.expected_reason is not None)
    assert {name: points[name] for name in RECORD_COUNTS} == {
        RECORDS_IN: 30, RECORDS_OUT: 30 - bad, RECORDS_QUARANTINED: bad, RECORDS_FAILED: 0}
    assert 60.0 <= points[STREAM_LAG] < 60.0 + (time.time() * 1000 - now_ms) / 1000 + 1


def test_bad_json_and_contract_violations_are_quarantined_with_their_reason(s3):
    good = generate(1, seed=6)[0].payload
    envelope = json.loads(good)
    no_source = json.dumps({k: v for k, v in envelope.items() if k != "source"}).encode()
    unknown = json.dumps({**envelope, "entity": "spaceship"}).encode()
    payloads = [b'{"not json', b"\xff\xfe", no_source, unknown, good]
    app.handler_for(s3)(to_msk_event(payloads, timestamp_ms=T0), None)
    found = {line["ingest"]["offset"]: (bucket, line) for bucket, _, line in lines(s3)}
    assert [found[i][1].get("reason") for i in range(5)] == [
        reasons.INVALID_JSON, reasons.INVALID_ENCODING, reasons.INVALID_ENVELOPE, reasons.UNKNOWN_ENTITY, None]
    assert found[0][1]["payload"] == '{"not json' and found[0][1]["payload_encoding"] == "utf-8"
    assert base64.b64decode(found[1][1]["payload"]) == b"\xff\xfe" and found[1][1]["payload_encoding"] == "base64"
    assert all(found[i][0] == QUARANTINE and found[i][1]["error"] for i in range(4)) and found[4][0] == BRONZE


def test_a_tombstone_is_quarantined_with_its_own_reason(s3):
    records = generate(6, seed=7)
    event = to_msk_event([r.payload for r in records[:3]] + [None] + [r.payload for r in records[3:]],
                         timestamp_ms=T0)
    absent = event["records"][f"{INGEST_TOPIC}-0"][3]
    assert absent["value"] is None
    missing = dict(absent, offset=7)
    del missing["value"]  # a value left out entirely reads the same
    event["records"][f"{INGEST_TOPIC}-0"].append(missing)
    assert app.handler_for(s3)(event, None) == {"batchItemFailures": []}
    quarantined = [(key, line) for bucket, key, line in lines(s3) if bucket == QUARANTINE]
    assert [line["ingest"]["offset"] for _, line in quarantined] == [3, 7]
    for key, line in quarantined:
        assert key.startswith(layout.msk_quarantine_prefix("2024-06-01"))
        assert line["reason"] == reasons.TOMBSTONE and "tombstone" in line["error"]
        assert line["payload"] is None and line["payload_encoding"] is None
        assert line["ingest"]["key"] == "pk-3"  # the key the tombstone deletes is kept
    assert reasons.TOMBSTONE in reasons.INGEST_REASONS and reasons.TOMBSTONE in reasons.DESCRIPTIONS
    assert sum(1 for bucket, _, _ in lines(s3) if bucket == BRONZE) == 6


def test_the_same_batch_again_writes_nothing(s3):
    event = to_msk_event(generate(300, seed=8, bad_share=0.1), partitions=3, timestamp_ms=T0)
    handler = app.handler_for(s3)
    handler(event, None)
    first = dict(s3.objects)
    puts = len(s3.puts)
    assert handler(json.loads(json.dumps(event)), None) == {"batchItemFailures": []}
    assert s3.objects == first and len(s3.puts) == puts  # not one put: every record was already stored
    assert len(lines(s3)) == 300


def test_overlapping_and_bisected_redeliveries_store_each_record_once(s3):
    records = generate(400, seed=9, bad_share=0.1)
    handler = app.handler_for(s3)

    def window(first: int, last: int) -> dict:  # offsets first..last of partition 0 and 1
        recs = [msk_record(INGEST_TOPIC, i % 2, i // 2, T0 + i, r.payload) for i, r in enumerate(records)
                if first <= i // 2 <= last]
        return msk_event(recs)

    handler(window(0, 99), None)
    handler(window(50, 149), None)  # overlaps the first
    handler(window(120, 134), None)  # a bisected half of the second
    handler(window(0, 199), None)  # everything again
    assert positions(s3) == Counter((i % 2, i // 2) for i in range(400))


def test_an_unreadable_record_fails_holds_back_its_partition_only_and_the_retry_completes(s3):
    records = generate(90, seed=13, bad_share=0.1)
    event = to_msk_event(records, partitions=3, timestamp_ms=T0)
    broken = event["records"][f"{INGEST_TOPIC}-1"][10]
    good_value = broken["value"]
    broken["value"] = "not base64!"  # what the adapter cannot read: a failure, not a quarantine
    handler = app.handler_for(s3)
    response = handler(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": {"partition": f"{INGEST_TOPIC}-1", "offset": 10}}]}
    assert response == app.processor.response()  # the identifier Powertools reports for Kafka, exactly
    assert positions(s3) == Counter([(0, o) for o in range(30)] + [(1, o) for o in range(10)]
                                    + [(2, o) for o in range(30)])

    # Lambda resumes partition 1 at offset 10 (and may redeliver the others): everything once.
    broken["value"] = good_value
    assert handler(event, None) == {"batchItemFailures": []}
    assert positions(s3) == Counter((p, o) for p in range(3) for o in range(30))


def test_an_s3_failure_reports_the_lowest_record_not_stored_per_partition(s3):
    records = generate(120, seed=17, bad_share=0.1)
    event = to_msk_event(records, partitions=2, timestamp_ms=T0)
    failing = MemoryS3(fail_on=lambda key: "entity=policy/" in key)
    response = app.handler_for(failing)(event, None)
    assert response["batchItemFailures"], "the policy objects failed"
    reported = {item["itemIdentifier"]["partition"]: item["itemIdentifier"]["offset"]
                for item in response["batchItemFailures"]}
    stored = positions(failing)
    for partition_id, cut in reported.items():
        partition = int(partition_id.rsplit("-", 1)[1])
        assert (partition, cut) not in stored  # the lowest record not stored is reported
    # S3 is back; the retry stores the rest, each record once.
    failing.fail_on = None
    assert app.handler_for(failing)(event, None) == {"batchItemFailures": []}
    assert positions(failing) == Counter((i % 2, i // 2) for i in range(120))


def test_every_record_failing_raises(s3):
    event = to_msk_event(generate(4, seed=1), timestamp_ms=T0)
    for record in event["records"][f"{INGEST_TOPIC}-0"]:
        record["offset"] = "not an offset"
    with pytest.raises(BatchProcessingError):
        app.handler_for(s3)(event, None)
    assert s3.objects == {}


def test_an_empty_event(s3):
    assert app.handler_for(s3)(msk_event([]), None) == {"batchItemFailures": []}
    assert s3.objects == {}


def test_msk_and_kinesis_names_never_claim_each_others_objects():
    name = layout.msk_object_name(layout.topic_partition("orders-v2", 11), 5, 9)
    assert name == "msk-orders-v2-11-5-9.jsonl"
    assert layout.parse_msk_object_name(name) == ("orders-v2-11", 5, 9)
    assert layout.parse_stream_object_name(name) is None
    assert layout.parse_msk_object_name("kinesis-shardId-000000000000-1-2.jsonl") is None
    assert layout.MSK_BRONZE_KEY_GLOB == "source=*/entity=*/ingest_date=*/msk-*"
    assert layout.MSK_QUARANTINE_KEY_GLOB == "source=msk/ingest_date=*/msk-*"
