"""Ingest Lambda handler against moto's in-process S3 (mock_aws)."""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from bundling.lambda_zip import handler_sources
from data_contracts import reasons
from data_contracts.validation import classify as real_classify
from lambda_src.ingest import app
from lambda_src.ingest_core import Batch, ContainerS3, ObjectNaming, RecordRef, SourceRecord
from sample_data import DEFAULT_FIRST_SEQUENCE, expected_counts, generate, to_kinesis_event

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


def test_redelivered_batch_rewrites_identical_objects(s3, handler):
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


def test_unexpected_exception_fails_only_that_record_and_nothing_after_it_is_written(s3, handler, monkeypatch):
    records = generate(200, seed=13, bad_share=0.1)
    poison = 83
    target = records[poison].payload

    def flaky(payload):
        if payload == target:
            raise RuntimeError("bug")
        return real_classify(payload)

    monkeypatch.setattr(app, "classify", flaky)
    response = handler(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(poison)}]}
    written = written_sequences(snapshot(s3))
    assert written == [int(seq(i)) for i in range(poison)]

    # Lambda redelivers from the failed record onwards; this time it goes through.
    monkeypatch.setattr(app, "classify", real_classify)
    assert handler(event_for(records[poison:], start=poison), None) == {"batchItemFailures": []}
    objects = snapshot(s3)
    assert written_sequences(objects) == [int(seq(i)) for i in range(200)]  # everything exactly once
    bronze = Counter((line["event"]["source"], line["event"]["entity"]) for b, _, line in lines(objects) if b == BRONZE)
    assert dict(bronze) == {k: v for k, v in expected_counts(records)["valid"].items() if v}


def test_several_failing_records_are_all_reported(s3, handler, monkeypatch):
    records = generate(60, seed=14)
    poison = {records[10].payload, records[40].payload}

    def flaky(payload):
        if payload in poison:
            raise ValueError("bug")
        return real_classify(payload)

    monkeypatch.setattr(app, "classify", flaky)
    response = handler(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(10)}, {"itemIdentifier": seq(40)}]}
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(10)]


class FailingS3:
    """Delegates to the moto client, failing put_object for keys that match ``fail_on``."""

    def __init__(self, client, fail_on) -> None:
        self.client = client
        self.fail_on = fail_on
        self.puts: list[str] = []
        self.deletes: list[str] = []

    def put_object(self, **kwargs):
        self.puts.append(kwargs["Key"])
        if self.fail_on(kwargs["Key"]):
            raise RuntimeError("S3 unavailable")
        return self.client.put_object(**kwargs)

    def delete_object(self, **kwargs):
        self.deletes.append(kwargs["Key"])
        return self.client.delete_object(**kwargs)


def _target(record) -> str:
    envelope, reason, _ = real_classify(record.payload)
    return f"{envelope['source']}.{envelope['entity']}" if reason is None else "quarantine"


def test_s3_put_failure_reports_the_unwritten_records_and_retry_completes(s3, handler):
    records = generate(300, seed=17, bad_share=0.1)
    groups: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        groups.setdefault(_target(record), []).append(position)
    cut = groups["erp.claim"][0]  # the bronze claim object fails: the retry restarts at its first record
    expected = sorted({min(p for p in members if p >= cut) for members in groups.values() if max(members) >= cut})

    failing = FailingS3(s3, lambda key: "entity=claim/" in key)
    response = app.handler_for(failing)(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(p)} for p in expected]}
    # Objects written before the failure that hold records past the cut were replaced, then deleted.
    assert failing.deletes and set(failing.deletes) < set(failing.puts)
    assert response["batchItemFailures"][0] == {"itemIdentifier": seq(cut)}
    assert cut > 20
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(cut)]  # exactly what precedes the cut

    # S3 is back
    assert handler(event_for(records[cut:], start=cut), None) == {"batchItemFailures": []}
    objects = snapshot(s3)
    assert written_sequences(objects) == [int(seq(i)) for i in range(300)]  # no duplicates, nothing lost
    for (_, key), body in objects.items():  # every key still names its own first and last records
        match = KEY_RE.match(key)
        sequences = [json.loads(raw)["ingest"]["sequence_number"] for raw in body.split(b"\n")[:-1]]
        assert (match.group(5), match.group(6)) == (sequences[0], sequences[-1])


def test_s3_failing_during_the_repair_moves_the_cut_back(s3, handler):
    records = generate(300, seed=19, bad_share=0.1)
    state = {"down": False}

    def fail_on(key):  # the policy object fails, and so does every put after it
        state["down"] = state["down"] or "entity=policy/" in key
        return state["down"]

    failing = FailingS3(s3, fail_on)
    response = app.handler_for(failing)(event_for(records), None)
    reported = sorted(int(item["itemIdentifier"]) for item in response["batchItemFailures"])
    cut = (reported[0] - DEFAULT_FIRST_SEQUENCE) // STEP
    assert cut < next(i for i, r in enumerate(records) if _target(r) == "erp.policy")
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(cut)]  # the invariant still holds

    assert handler(event_for(records[cut:], start=cut), None) == {"batchItemFailures": []}
    assert written_sequences(snapshot(s3)) == [int(seq(i)) for i in range(300)]


def test_s3_down_reports_every_object_and_writes_nothing(s3):
    records = generate(100, seed=18, bad_share=0.1)
    groups: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        groups.setdefault(_target(record), []).append(position)
    failing = FailingS3(s3, lambda key: True)
    response = app.handler_for(failing)(event_for(records), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(p)}
                                              for p in sorted(min(m) for m in groups.values())]}
    assert len(failing.puts) == 1  # stopped at the first failure
    assert snapshot(s3) == {}


def test_every_record_failing_raises(s3, handler, monkeypatch):
    def broken(payload):
        raise RuntimeError("bug")

    monkeypatch.setattr(app, "classify", broken)
    with pytest.raises(BatchProcessingError):
        handler(event_for(generate(5, seed=1)), None)
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


class MemoryS3:
    """A dict for a bucket: (bucket, key) -> body."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, **kwargs):
        self.objects[(kwargs["Bucket"], kwargs["Key"])] = kwargs["Body"]

    def delete_object(self, **kwargs):
        del self.objects[(kwargs["Bucket"], kwargs["Key"])]


def test_core_applies_the_cut_off_per_partition():
    """A source with several partitions per batch (Kafka-like): a failure defers only its own partition."""
    records = generate(40, seed=23)
    naming = ObjectNaming(object_name=lambda part, first, last: f"{part}-{first}-{last}.jsonl",
                          quarantine_key=lambda day, part, first, last: f"q/{day}/{part}-{first}-{last}.jsonl")
    memory = MemoryS3()
    batch = Batch(memory, bronze_bucket=BRONZE, quarantine_bucket=QUARANTINE, naming=naming)
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
    assert outcome.summary["records_deferred"] == 14 and outcome.summary["records_failed"] == 1


def test_handler_imports_in_the_zip_layout(tmp_path):
    """Inside the zip, app.py sits at the root next to data_contracts/: ``app.lambda_handler``."""
    for arcname, source in handler_sources("ingest").items():  # the zip's first-party files
        (tmp_path / arcname).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, tmp_path / arcname)
    code = "import app; assert callable(app.lambda_handler); print(app.lambda_handler.__module__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONNOUSERSITE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "app"
