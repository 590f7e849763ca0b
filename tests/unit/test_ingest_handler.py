"""Ingest Lambda handler against moto's in-process S3 (mock_aws)."""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from bundling.lambda_zip import handler_sources
from data_contracts import emf, reasons
from data_contracts.metrics import (
    NAMESPACE, RECORD_COUNTS, RECORDS_FAILED, RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED, SERVICE_DIMENSION,
    STREAM_LAG,
)
from data_contracts.validation import classify as real_classify
from lambda_src.ingest import app
from lambda_src.ingest_core import Batch, ContainerS3, ObjectNaming, RecordRef, SourceRecord
from sample_data import DEFAULT_FIRST_SEQUENCE, expected_counts, generate, to_kinesis_event
from tests.memory_s3 import MemoryS3

ROOT = Path(__file__).resolve().parents[2]
BRONZE, QUARANTINE = "lakeforge-test-bronze", "lakeforge-test-quarantine"
STEP = 10  # sequence-number step used by to_kinesis_event below
KEY_RE = re.compile(
    r"^(?:source=(erp|susep)/entity=([a-z_]+)|source=kinesis)/ingest_date=(\d{4}-\d{2}-\d{2})/"
    r"kinesis-(shardId-\d{12})-(\d+)-(\d+)\.jsonl$"
)


@pytest.fixture(scope="module")
def aws():
    """Fake credentials, the bucket env vars and one in-process moto S3 for the whole module."""
    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
        "BRONZE_BUCKET": BRONZE, "QUARANTINE_BUCKET": QUARANTINE,
    }.items():
        patch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BRONZE)
            client.create_bucket(Bucket=QUARANTINE)
            yield client
    finally:
        patch.undo()


@pytest.fixture
def s3(aws):
    """Empty buckets, before and after each test."""
    def empty():
        for bucket in (BRONZE, QUARANTINE):
            keys = [item["Key"] for item in aws.list_objects_v2(Bucket=bucket).get("Contents", [])]
            if keys:
                aws.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys]})

    empty()
    yield aws
    empty()


@pytest.fixture
def handler(s3):
    """The ingest handler writing to the moto S3."""
    return app.handler_for(s3)


def event_for(records, start: int = 0, **kwargs) -> dict:
    """The Kinesis event for ``records``, numbered as if they started at position ``start`` of the shard."""
    return to_kinesis_event(records, first_sequence=DEFAULT_FIRST_SEQUENCE + start * STEP, sequence_step=STEP,
                            arrival_epoch=1717200000.0 + start * 0.001, **kwargs)


def seq(position: int) -> str:
    return str(DEFAULT_FIRST_SEQUENCE + position * STEP)


def snapshot(client) -> dict[tuple[str, str], bytes]:
    objects = {}
    for bucket in (BRONZE, QUARANTINE):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                objects[(bucket, item["Key"])] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return objects


def lines(objects) -> list[tuple[str, str, dict]]:
    """(bucket, key, parsed line) for every line of every object."""
    out = []
    for (bucket, key), body in objects.items():
        assert body.endswith(b"\n")
        for raw in body.split(b"\n")[:-1]:
            out.append((bucket, key, json.loads(raw)))
    return out


def written_sequences(objects) -> list[int]:
    return sorted(int(line["ingest"]["sequence_number"]) for _, _, line in lines(objects))


def test_counts_per_entity_and_reason_match_the_generator(s3, handler):
    records = generate(700, seed=21, bad_share=0.15)
    assert handler(event_for(records), None) == {"batchItemFailures": []}
    objects = snapshot(s3)
    expected = expected_counts(records)

    bronze = Counter()
    quarantined = Counter()
    for bucket, key, line in lines(objects):
        match = KEY_RE.match(key)
        assert match, key
        if bucket == BRONZE:
            bronze[(match.group(1), match.group(2))] += 1
            assert (line["event"]["source"], line["event"]["entity"]) == (match.group(1), match.group(2))
        else:
            assert key.startswith("source=kinesis/")
            quarantined[line["reason"]] += 1
    assert {k: v for k, v in expected["valid"].items() if v} == dict(bronze)
    assert {k: v for k, v in expected["bad"].items() if v} == dict(quarantined)
    assert sum(bronze.values()) + sum(quarantined.values()) == 700


def test_lines_keys_and_bodies(s3, handler):
    records = generate(120, seed=5, bad_share=0.2)
    event = event_for(records)
    handler(event, None)
    objects = snapshot(s3)
    by_seq = {r["kinesis"]["sequenceNumber"]: (r, rec) for r, rec in zip(event["Records"], records)}
    for (bucket, key), body in objects.items():
        raw_lines = body.split(b"\n")[:-1]
        parsed = [json.loads(raw) for raw in raw_lines]
        sequences = [int(p["ingest"]["sequence_number"]) for p in parsed]
        assert sequences == sorted(sequences)
        match = KEY_RE.match(key)
        assert (int(match.group(5)), int(match.group(6))) == (sequences[0], sequences[-1])
        assert match.group(3) == "2024-06-01" and match.group(4) == "shardId-000000000000"
        for raw, line in zip(raw_lines, parsed):
            assert raw == json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            kinesis_record, record = by_seq[line["ingest"]["sequence_number"]]
            assert line["ingest"] == {
                "shard_id": "shardId-000000000000",
                "sequence_number": kinesis_record["kinesis"]["sequenceNumber"],
                "partition_key": record.partition_key,
                "arrival_time": line["ingest"]["arrival_time"],
            }
            assert re.fullmatch(r"2024-06-01T00:00:00\.\d{3}Z", line["ingest"]["arrival_time"])
            if bucket == BRONZE:
                assert line["event"] == json.loads(record.payload)
            else:
                assert set(line) == {"reason", "error", "ingest", "payload", "payload_encoding"}
                assert line["reason"] == record.expected_reason and line["error"]
                if line["payload_encoding"] == "base64":
                    assert line["reason"] == reasons.INVALID_ENCODING
                    assert base64.b64decode(line["payload"]) == record.payload
                else:
                    assert line["payload_encoding"] == "utf-8"
                    assert line["payload"].encode("utf-8") == record.payload
    head = s3.head_object(Bucket=BRONZE, Key=next(key for bucket, key in objects if bucket == BRONZE))
    assert head["ContentType"] == "application/x-ndjson"


def test_redelivered_batch_changes_nothing(s3, handler):
    event = event_for(generate(300, seed=8, bad_share=0.1))
    handler(event, None)
    first = snapshot(s3)
    handler(json.loads(json.dumps(event)), None)
    second = snapshot(s3)
    assert second == first  # same keys, same bytes: no duplicate objects or lines
    assert len(lines(second)) == 300


def test_ingest_date_follows_the_arrival_timestamp(s3, handler):
    records = generate(40, seed=2)
    # 2024-05-31T23:59:50Z, one record per second: the batch straddles midnight UTC.
    handler(to_kinesis_event(records, arrival_epoch=1717199990.0, arrival_step=1.0), None)
    objects = snapshot(s3)
    dates = Counter(KEY_RE.match(key).group(3) for _, key, _ in lines(objects))
    assert dates == {"2024-05-31": 10, "2024-06-01": 30}


def window(records, start: int, end: int | None = None) -> dict:
    """The Kinesis event of records[start:end], with the sequence numbers and arrival times they have in the
    shard: what Lambda delivers for that run of the shard."""
    return event_for(records[start:end], start=start)


def assert_each_record_once(client, records, start: int = 0, end: int | None = None) -> list:
    """Every record of records[start:end] is in exactly one line of bronze or quarantine, where its contract
    sends it; returns the lines."""
    end = len(records) if end is None else end
    found = lines(snapshot(client))
    sequences = Counter(int(line["ingest"]["sequence_number"]) for _, _, line in found)
    assert sequences == Counter(int(seq(i)) for i in range(start, end)), "lost or duplicated records"
    by_seq = {int(seq(i)): records[i] for i in range(start, end)}
    for bucket, _key, line in found:
        record = by_seq[int(line["ingest"]["sequence_number"])]
        if bucket == BRONZE:
            assert record.expected_reason is None and line["event"] == json.loads(record.payload)
        else:
            assert line["reason"] == record.expected_reason
    return found


def flaky_adapter(monkeypatch, payloads) -> None:
    """The adapter fails to read the records carrying ``payloads`` (what still makes a record a failure)."""
    def to_record(record):
        if base64.b64decode(record.raw_event["kinesis"]["data"]) in payloads:
            raise RuntimeError("unreadable event record")
        return app.to_record(record)

    monkeypatch.setattr(app, "KINESIS", app.KINESIS._replace(to_record=to_record))


def test_an_exception_in_the_checks_quarantines_only_that_record(s3, handler, monkeypatch):
    records = generate(200, seed=13, bad_share=0.1)
    poison = 83
    target = records[poison].payload

    def flaky(payload):
        if payload == target:
            raise RecursionError("maximum recursion depth exceeded")
        return real_classify(payload)

    monkeypatch.setattr(app, "classify", flaky)
    assert handler(event_for(records), None) == {"batchItemFailures": []}  # nothing held back
    found = lines(snapshot(s3))
    assert sorted(int(line["ingest"]["sequence_number"]) for _, _, line in found) == [int(seq(i)) for i in range(200)]
    [poisoned] = [line for _, _, line in found if line["ingest"]["sequence_number"] == seq(poison)]
    assert poisoned["reason"] == reasons.VALIDATION_ERROR
    assert poisoned["error"] == "checking the record raised RecursionError"  # no value of the payload
    assert poisoned["payload"].encode() == target


def test_a_payload_too_deep_to_encode_again_is_quarantined_not_failed(s3, handler):
    """Nesting that json decodes but cannot encode again at the handler's stack depth (a RecursionError that
    used to fail the record and hold back the rest of the shard)."""
    tail = generate(5, seed=31)
    payloads = [('{"x":"\\ud800","y":' + "[" * depth + "]" * depth + "}").encode() for depth in range(900, 1000, 2)]
    response = handler(event_for(payloads + [r.payload for r in tail]), None)
    assert response == {"batchItemFailures": []}
    found = lines(snapshot(s3))
    assert len(found) == len(payloads) + 5
    quarantined = Counter(line["reason"] for bucket, _, line in found if bucket == QUARANTINE)
    # The depths straddle the limit at the handler's stack depth: the shallower ones are judged by their
    # surrogate, the deeper ones are too deep, none is a validator error.
    assert set(quarantined) == {reasons.INVALID_ENCODING, reasons.INVALID_JSON}
    assert sum(quarantined.values()) == len(payloads)
    assert sum(1 for bucket, _, _ in found if bucket == BRONZE) == 5


def test_an_unreadable_event_record_fails_and_holds_back_the_rest_of_its_shard(s3, handler, monkeypatch):
    records = generate(200, seed=13, bad_share=0.1)
    poison = 83
    flaky_adapter(monkeypatch, {records[poison].payload})
    response = handler(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(poison)}]}
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(poison)]

    # Lambda redelivers from the failed record onwards; this time it goes through.
    monkeypatch.undo()
    assert handler(window(records, poison), None) == {"batchItemFailures": []}
    assert_each_record_once(s3, records)


def test_several_failing_records_are_all_reported(s3, handler, monkeypatch):
    records = generate(60, seed=14)
    flaky_adapter(monkeypatch, {records[10].payload, records[40].payload})
    response = handler(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(10)}, {"itemIdentifier": seq(40)}]}
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(10)]


# What Lambda redelivers, as (start, end) windows of one shard's records, applied in order: every sequence
# must leave each record exactly once in bronze or quarantine.
REDELIVERIES = {
    "the whole batch again": [(0, 300), (0, 300)],
    "bisected after a first attempt": [(0, 300), (0, 150), (150, 300)],
    "bisected, halves first, then the whole": [(0, 150), (150, 300), (0, 300)],
    "bisected twice": [(0, 300), (0, 150), (0, 75), (75, 150), (150, 300)],
    "another batch size and start": [(0, 120), (0, 300), (60, 240), (100, 300)],
    "a smaller batch inside a bigger one": [(100, 140), (0, 300)],
    "overlapping from both sides": [(50, 200), (0, 100), (150, 300)],
}


@pytest.mark.parametrize("windows", REDELIVERIES.values(), ids=REDELIVERIES.keys())
def test_each_record_once_whatever_lambda_redelivers(s3, handler, windows):
    records = generate(300, seed=41, bad_share=0.15)
    for start, end in windows:
        assert handler(window(records, start, end), None) == {"batchItemFailures": []}
    assert_each_record_once(s3, records, min(w[0] for w in windows), max(w[1] for w in windows))


def test_the_summary_accounts_for_every_record_of_a_redelivery(s3, monkeypatch):
    records = generate(300, seed=42, bad_share=0.15)
    summaries = []
    batch_finish = Batch.finish

    def recording(self, *args, **kwargs):
        outcome = batch_finish(self, *args, **kwargs)
        summaries.append(outcome.summary)
        return outcome

    monkeypatch.setattr(Batch, "finish", recording)
    handler = app.handler_for(s3)
    handler(window(records, 0, 200), None)
    handler(window(records, 100, 300), None)
    first, second = summaries
    assert first["records_redelivered"] == 0
    assert second["records_redelivered"] == 100  # positions 100-199 were stored by the first delivery
    for summary in summaries:
        assert (summary[RECORDS_OUT] + summary[RECORDS_QUARANTINED] + summary["records_redelivered"]
                + summary[RECORDS_FAILED] + summary["records_deferred"]) == summary[RECORDS_IN]
    assert first[RECORDS_OUT] + second[RECORDS_OUT] == sum(1 for r in records if r.expected_reason is None)


class FailingS3:
    """Delegates to the moto client, failing put_object for keys that match ``fail_on``."""

    def __init__(self, client, fail_on) -> None:
        self.client = client
        self.fail_on = fail_on
        self.puts: list[str] = []

    def put_object(self, **kwargs):
        self.puts.append(kwargs["Key"])
        if self.fail_on(kwargs["Key"]):
            raise RuntimeError("S3 unavailable")
        return self.client.put_object(**kwargs)

    def list_objects_v2(self, **kwargs):
        return self.client.list_objects_v2(**kwargs)


def _target(record) -> str:
    envelope, reason, _ = real_classify(record.payload)
    return f"{envelope['source']}.{envelope['entity']}" if reason is None else "quarantine"


def test_s3_put_failure_reports_the_lowest_record_not_stored_and_the_retry_completes(s3, handler):
    records = generate(300, seed=17, bad_share=0.1)
    groups: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        groups.setdefault(_target(record), []).append(position)
    cut = groups["erp.claim"][0]  # the bronze claim object fails: the retry restarts at its first record
    failing = FailingS3(s3, lambda key: "entity=claim/" in key)
    response = app.handler_for(failing)(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(cut)}]}
    assert cut > 20
    # The groups that start before the claim group were written whole (they hold records past the cut too),
    # the others not at all.
    before = {name for name, members in groups.items() if members[0] < cut}
    assert written_sequences(snapshot(s3)) == sorted(int(seq(p)) for name in before for p in groups[name])

    # S3 is back: Lambda redelivers from the cut; what the first attempt stored is skipped.
    assert handler(window(records, cut), None) == {"batchItemFailures": []}
    objects = snapshot(s3)
    assert_each_record_once(s3, records)
    for (_, key), body in objects.items():  # every key still names its own first and last records
        match = KEY_RE.match(key)
        sequences = [json.loads(raw)["ingest"]["sequence_number"] for raw in body.split(b"\n")[:-1]]
        assert (match.group(5), match.group(6)) == (sequences[0], sequences[-1])


def test_s3_going_down_mid_batch_loses_nothing_and_duplicates_nothing(s3, handler):
    records = generate(300, seed=19, bad_share=0.1)
    state = {"down": False}

    def fail_on(key):  # the policy object fails, and so does every put after it
        state["down"] = state["down"] or "entity=policy/" in key
        return state["down"]

    failing = FailingS3(s3, fail_on)
    response = app.handler_for(failing)(event_for(records), None)
    [reported] = response["batchItemFailures"]
    cut = (int(reported["itemIdentifier"]) - DEFAULT_FIRST_SEQUENCE) // STEP
    assert cut == next(i for i, r in enumerate(records) if _target(r) == "erp.policy")
    assert handler(window(records, cut), None) == {"batchItemFailures": []}
    assert_each_record_once(s3, records)


def test_s3_down_reports_the_first_record_and_writes_nothing(s3):
    records = generate(100, seed=18, bad_share=0.1)
    failing = FailingS3(s3, lambda key: True)
    response = app.handler_for(failing)(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(0)}]}
    assert len(failing.puts) == 1  # stopped at the first failure
    assert snapshot(s3) == {}


def test_every_record_failing_raises(s3, handler, monkeypatch):
    records = generate(5, seed=1)
    flaky_adapter(monkeypatch, {r.payload for r in records})
    with pytest.raises(BatchProcessingError):
        handler(event_for(records), None)
    assert snapshot(s3) == {}


def test_empty_batch(s3, handler):
    assert handler({"Records": []}, None) == {"batchItemFailures": []}
    assert snapshot(s3) == {}


def test_s3_client_is_created_once(s3):
    """The deployed handler writes through the container's client: created on first use, then kept."""
    assert isinstance(app.lambda_handler.s3, ContainerS3)
    made = []
    container = ContainerS3(lambda: made.append(1) or s3)
    handler = app.handler_for(container)
    assert handler({"Records": []}, None) == {"batchItemFailures": []}
    assert made == []  # nothing written yet, no client
    for start in (0, 20):
        handler(event_for(generate(20, seed=3 + start), start=start), None)
    assert made == [1]
    assert container.client() is container.client() is s3
    assert len(lines(snapshot(s3))) == 40

    boto = ContainerS3()  # the default factory: boto3 from the runtime (moto here)
    app.handler_for(boto)(event_for(generate(5, seed=9), start=40), None)
    assert boto.client() is boto.client() and boto.client() is not s3
    assert len(lines(snapshot(s3))) == 45


def _naming() -> ObjectNaming:
    def parse(name):
        part, first, last = name[:-len(".jsonl")].rsplit("-", 2)
        return part, int(first), int(last)

    return ObjectNaming(object_name=lambda part, first, last: f"{part}-{first}-{last}.jsonl",
                        name_prefix=lambda part: f"{part}-", parse_name=parse,
                        quarantine_prefix=lambda day: f"q/{day}/")


def test_core_applies_the_cut_off_per_partition():
    """A source with several partitions per batch (Kafka-like): a failure defers only its own partition."""
    records = generate(40, seed=23)
    memory = MemoryS3()
    batch = Batch(memory, bronze_bucket=BRONZE, quarantine_bucket=QUARANTINE, naming=_naming())
    neutral = [SourceRecord(f"topic-{i % 2}", i // 2, {"partition": f"topic-{i % 2}", "offset": i // 2}, r.payload,
                            1717200000000 + i, {"partition": f"topic-{i % 2}", "offset": i // 2})
               for i, r in enumerate(records)]
    failed = neutral[10]  # topic-0, offset 5
    outcome = batch.finish([batch.line(r) for r in neutral if r is not failed],
                           [RecordRef(failed.partition, failed.position, failed.item_id)], received=40)
    assert outcome.failures == [{"itemIdentifier": {"partition": "topic-0", "offset": 5}}]
    written = sorted((line["ingest"]["partition"], line["ingest"]["offset"])
                     for body in memory.objects.values() for line in map(json.loads, body.split(b"\n")[:-1]))
    assert written == [("topic-0", o) for o in range(5)] + [("topic-1", o) for o in range(20)]
    assert outcome.summary["records_deferred"] == 14 and outcome.summary[RECORDS_FAILED] == 1

    # The redelivery of both partitions from their start: topic-1 is skipped whole, topic-0 completes.
    again = batch.finish([batch.line(r) for r in neutral], [], received=40)
    assert again.failures == [] and again.summary["records_redelivered"] == 25
    written = sorted((line["ingest"]["partition"], line["ingest"]["offset"])
                     for body in memory.objects.values() for line in map(json.loads, body.split(b"\n")[:-1]))
    assert written == [("topic-0", o) for o in range(20)] + [("topic-1", o) for o in range(20)]


def test_objects_of_another_partition_or_writer_do_not_count_as_stored():
    memory = MemoryS3()
    batch = Batch(memory, bronze_bucket=BRONZE, quarantine_bucket=QUARANTINE, naming=_naming())
    records = generate(10, seed=24)
    neutral = [SourceRecord("p-1", i, i, r.payload, 1717200000000, {"offset": i}) for i, r in enumerate(records)]
    lines_ = [batch.line(r) for r in neutral]
    # Objects whose names start like p-1's but belong to partition "p-1-9", and a backfill-like name.
    for line in lines_:
        folder = batch.objects.folder(line.group)[1]
        memory.put_object(Bucket=BRONZE if line.group[0] == "bronze" else QUARANTINE,
                          Key=f"{folder}p-1-9-0-100.jsonl", Body=b"")
        memory.put_object(Bucket=BRONZE, Key=f"{folder}backfill-x-00001.jsonl", Body=b"")
    outcome = batch.finish(lines_, [], received=10)
    assert outcome.summary["records_redelivered"] == 0
    assert outcome.summary[RECORDS_OUT] + outcome.summary[RECORDS_QUARANTINED] == 10


class Context:
    aws_request_id = "req-0001"


@pytest.fixture
def logged():
    """The handler's Powertools log lines, parsed, while the test runs."""
    buffer = io.StringIO()
    handler_ = app.logger.logger_handler
    previous = handler_.setStream(buffer)
    lines_: list[dict] = []
    try:
        yield lambda: lines_ + [json.loads(text) for text in buffer.getvalue().splitlines() if text.strip()]
    finally:
        handler_.setStream(previous)


def datapoints(out: str) -> dict[tuple[str, tuple], float]:
    """(metric, sorted dimensions) -> value, from the EMF lines the handler printed."""
    points = {}
    for text in out.splitlines():
        for point in emf.parse(text):
            assert point.namespace == NAMESPACE
            value = point.value if isinstance(point.value, tuple) else (point.value,)
            points[(point.name, tuple(sorted(point.dimensions.items())))] = sum(value)
    return points


def test_metrics_follow_the_contract_and_the_lag_is_the_oldest_record(s3, handler, capsys, logged):
    records = generate(200, seed=43, bad_share=0.15)
    now = time.time()
    event = to_kinesis_event(records, arrival_epoch=now - 30.0, arrival_step=0.01)
    assert handler(event, Context()) == {"batchItemFailures": []}
    points = datapoints(capsys.readouterr().out)
    service = ((SERVICE_DIMENSION, app.SERVICE),)
    bad = Counter(r.expected_reason for r in records if r.expected_reason is not None)
    expected = {RECORDS_IN: 200, RECORDS_OUT: 200 - sum(bad.values()), RECORDS_QUARANTINED: sum(bad.values()),
                RECORDS_FAILED: 0, "records_redelivered": 0, "records_deferred": 0}
    assert {name: points[(name, service)] for name in expected} == expected
    assert set(RECORD_COUNTS) <= {name for name, _ in points}
    assert not {name for name, _ in points} & {"records_received", "records_valid"}  # the old names are gone
    lag = points[(STREAM_LAG, service)]
    assert 30.0 <= lag < 30.0 + (time.time() - now) + 1  # the oldest record arrived 30 s before
    by_reason = {dict(dims)["reason"]: value for (name, dims), value in points.items()
                 if name == RECORDS_QUARANTINED and len(dims) == 2}
    assert by_reason == dict(bad)

    log = logged()
    [done] = [line for line in log if line["message"] == "ingest batch done"]
    assert done["aws_request_id"] == "req-0001" and done[STREAM_LAG] == lag
    assert done["event_id_count"] == len({named_id(r) for r in records} - {None})  # stored or quarantined
    quarantined = [line for line in log if line["message"] == "record quarantined"]
    assert Counter(line["reason"] for line in quarantined) == bad
    assert all(line["aws_request_id"] == "req-0001" and line["level"] == "INFO" for line in quarantined)
    by_position = {line["position"]: line for line in quarantined}
    for position, record in enumerate(records):
        if record.expected_reason is not None:
            line = by_position[int(seq(position))]
            assert line.get("event_id") == named_id(record)  # the correlation key, when the payload names one


def named_id(record) -> str | None:
    """The event id a generated record's payload names, when it is identifier text (bad records may name none,
    or anything)."""
    try:
        named = json.loads(record.payload).get("event_id")
    except (ValueError, AttributeError):
        return None
    return named if isinstance(named, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", named) else None


def test_a_failed_record_is_logged_and_every_record_failing_is_counted(s3, handler, capsys, logged, monkeypatch):
    records = generate(20, seed=44)
    flaky_adapter(monkeypatch, {records[5].payload})
    handler(event_for(records), Context())
    points = datapoints(capsys.readouterr().out)
    service = ((SERVICE_DIMENSION, app.SERVICE),)
    assert (points[(RECORDS_FAILED, service)], points[("records_deferred", service)]) == (1, 14)
    [failed] = [line for line in logged() if line["message"] == "record failed"]
    assert (failed["position"], failed["item"], failed["level"]) == (int(seq(5)), seq(5), "ERROR")

    flaky_adapter(monkeypatch, {r.payload for r in records})
    with pytest.raises(BatchProcessingError):
        handler(event_for(records), Context())
    points = datapoints(capsys.readouterr().out)
    assert points[(RECORDS_IN, service)] == points[(RECORDS_FAILED, service)] == 20
    assert STREAM_LAG not in {name for name, _ in points}  # no record was read


def test_the_request_id_of_one_invocation_does_not_reach_the_next(s3, handler, logged):
    handler(event_for(generate(3, seed=45)), Context())
    handler(event_for(generate(3, seed=46), start=3), None)
    first, second = [line for line in logged() if line["message"] == "ingest batch done"]
    assert first["aws_request_id"] == "req-0001" and "aws_request_id" not in second


def test_handler_imports_in_the_zip_layout(tmp_path):
    """Inside the zip, app.py sits at the root next to data_contracts/: ``app.lambda_handler``."""
    for arcname, source in handler_sources("ingest").items():  # the zip's first-party files
        (tmp_path / arcname).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, tmp_path / arcname)
    code = "import app; assert callable(app.lambda_handler); print(app.__name__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONNOUSERSITE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "app"
