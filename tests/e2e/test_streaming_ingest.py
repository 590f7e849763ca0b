"""Deploy the local stack to the emulator with Terraform and push real traffic through it."""
from __future__ import annotations

import base64
import json
from collections import Counter

import pytest

from data_contracts import layout
from lambda_src.ingest import app
from local_runtime.aws import client
from local_runtime.lake import iter_jsonl, landed, object_keys, put_records, wait_for
from local_runtime.tls_proxy import FaultProxy
from operations.replay import replay
from sample_data import expected_counts, generate, to_kinesis_event

pytestmark = pytest.mark.e2e
REDELIVERY_SHARD = "shardId-000000000999"


def _as_counter(mapping) -> Counter:
    return Counter({(tuple(k.split(".")) if isinstance(k, str) else tuple(k)): v for k, v in mapping.items()})


def test_stack_outputs_name_every_resource(deployed):
    out = deployed["outputs"]
    for name in ("bronze_bucket", "silver_bucket", "gold_bucket", "quarantine_bucket", "artifacts_bucket",
                 "athena_results_bucket", "access_logs_bucket", "ingest_stream_name", "ingest_function_name",
                 "kms_key_arn"):
        assert out.get(name), f"output {name} is empty"


def test_buckets_are_encrypted_and_private(deployed, aws):
    s3 = aws("s3")
    out = deployed["outputs"]
    for name in ("bronze_bucket", "silver_bucket", "gold_bucket", "quarantine_bucket"):
        enc = s3.get_bucket_encryption(Bucket=out[name])["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        pab = s3.get_public_access_block(Bucket=out[name])["PublicAccessBlockConfiguration"]
        assert all(pab.values())
        assert s3.get_bucket_versioning(Bucket=out[name])["Status"] == "Enabled"


def test_kinesis_to_bronze_and_quarantine_exact_counts(deployed, emulator, aws):
    out = deployed["outputs"]
    records = generate(700, seed=2026, bad_share=0.2)
    expected = expected_counts(records)
    assert len(expected["bad"]) == 7 and all(expected["bad"].values()), "every kind of bad record is sent"
    sequence_numbers = put_records(aws("kinesis"), out["ingest_stream_name"],
                                   [(r.payload, r.partition_key) for r in records])
    assert len(sequence_numbers) == len(records)
    wanted = set(sequence_numbers)
    counts = wait_for(len(wanted), lambda: landed(emulator.endpoint, out["bronze_bucket"], out["quarantine_bucket"],
                                                  wanted), timeout=240)
    assert counts.duplicates == 0
    assert counts.bronze == _as_counter(expected["valid"])
    assert counts.quarantine == Counter(expected["bad"])
    assert counts.total == len(records)
    # quarantined lines keep the reason, a readable error and the original payload
    payloads = {r.payload for r in records if r.expected_reason}
    for _key, line in iter_jsonl(emulator.endpoint, out["quarantine_bucket"], layout.STREAM_QUARANTINE_PREFIX):
        if line["ingest"]["sequence_number"] in wanted:
            assert line["error"]
            raw = (base64.b64decode(line["payload"]) if line["payload_encoding"] == "base64"
                   else line["payload"].encode())
            assert raw in payloads


def test_redelivered_batch_adds_no_duplicate(deployed, emulator, aws):
    out = deployed["outputs"]
    records = generate(120, seed=99, bad_share=0.1)
    event_dict = to_kinesis_event(records, shard_id=REDELIVERY_SHARD, first_sequence=10**20)
    event = json.dumps(event_dict).encode()
    lam, endpoint = aws("lambda"), emulator.endpoint
    seqs = {r["kinesis"]["sequenceNumber"] for r in event_dict["Records"]}

    def redelivery_keys():
        keys = object_keys(endpoint, out["bronze_bucket"]) + object_keys(endpoint, out["quarantine_bucket"])
        return sorted(k for k in keys if REDELIVERY_SHARD in k)

    def invoke():
        resp = lam.invoke(FunctionName=out["ingest_function_name"], Payload=event)
        body = json.loads(resp["Payload"].read() or b"null")
        assert "FunctionError" not in resp, body
        assert body == {"batchItemFailures": []}

    invoke()
    first = landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs)
    keys_first = redelivery_keys()
    assert first.total == len(records) and first.duplicates == 0
    invoke()  # the same batch again, as Lambda redelivers it after a timeout or a crash
    second = landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs)
    keys_second = redelivery_keys()
    assert second.total == len(records) and second.duplicates == 0
    assert second.bronze == first.bronze and second.quarantine == first.quarantine
    assert keys_first and keys_second == keys_first


def _first_sequence(shard: str) -> int:
    """Sequence numbers of a test shard: distinct from every other test's (``landed`` matches on them alone)."""
    return 10**21 + int(shard.rsplit("-", 1)[-1]) * 10**6


def _sequence(shard: str, position: int) -> str:
    return str(_first_sequence(shard) + position * 10)


def _shard_event(records, shard: str, start: int, end: int) -> dict:
    """The event of records[start:end] of a test shard, numbered and timed as they sit in it."""
    return to_kinesis_event(records[start:end], shard_id=shard, first_sequence=int(_sequence(shard, start)),
                            arrival_epoch=1717200000.0 + start * 0.001)


# Sequences Lambda really produces for one shard, as (start, end) windows delivered in order.
REDELIVERIES = {
    "bisected after a timeout": [(0, 240), (0, 120), (120, 240)],
    "halves first, then the whole batch": [(0, 120), (120, 240), (0, 240)],
    "another batch size and start": [(0, 100), (40, 200), (0, 240)],
}


@pytest.mark.parametrize("number,windows", list(enumerate(REDELIVERIES.values())), ids=list(REDELIVERIES))
def test_redeliveries_through_the_deployed_function_store_each_record_once(deployed, emulator, aws, number,
                                                                            windows):
    out = deployed["outputs"]
    shard = f"shardId-{900 + number:012d}"
    records = generate(240, seed=300 + number, bad_share=0.15)
    expected = expected_counts(records)
    lam = aws("lambda")
    for start, end in windows:
        answer = lam.invoke(FunctionName=out["ingest_function_name"],
                            Payload=json.dumps(_shard_event(records, shard, start, end)).encode())
        body = json.loads(answer["Payload"].read() or b"null")
        assert "FunctionError" not in answer, body
        assert body == {"batchItemFailures": []}
    seqs = {_sequence(shard, i) for i in range(240)}
    counts = landed(emulator.endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs)
    assert counts.duplicates == 0 and counts.total == 240
    assert counts.bronze == _as_counter(expected["valid"]) and counts.quarantine == Counter(expected["bad"])


def test_s3_unavailable_mid_ingest_loses_nothing_and_duplicates_nothing(deployed, emulator, monkeypatch):
    """The handler's S3 traffic goes through a relay that cuts the emulator off from the 5th request until 12
    attempts were refused; batches are delivered as Lambda does (resume from the lowest reported record)."""
    out = deployed["outputs"]
    monkeypatch.setenv("BRONZE_BUCKET", out["bronze_bucket"])
    monkeypatch.setenv("QUARANTINE_BUCKET", out["quarantine_bucket"])
    shard, total, size = "shardId-000000000777", 400, 100
    records = generate(total, seed=777, bad_share=0.15)
    expected = expected_counts(records)
    proxy = FaultProxy(emulator.endpoint)
    with proxy as endpoint:
        s3 = client("s3", endpoint)
        attempts = {"n": 0}

        def outage(**_kwargs):
            attempts["n"] += 1
            if attempts["n"] == 5:
                proxy.refuse(True)
            elif proxy.refusing and proxy.refused >= 12:
                proxy.refuse(False)

        s3.meta.events.register("before-send.s3", outage)
        handler = app.handler_for(s3)
        position, invocations, partial = 0, 0, 0
        while position < total:
            invocations += 1
            assert invocations < 40, "the shard does not progress"
            try:
                failures = handler(_shard_event(records, shard, position, position + size), None)["batchItemFailures"]
            except Exception:  # noqa: BLE001 - a function error: Lambda retries the same batch
                continue
            if failures:
                partial += 1
                position = min((int(item["itemIdentifier"]) - _first_sequence(shard)) // 10 for item in failures)
            else:
                position += size
    assert proxy.refused >= 12 and partial >= 1, "the outage was not hit"
    seqs = {_sequence(shard, i) for i in range(total)}
    counts = landed(emulator.endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs)
    assert counts.duplicates == 0 and counts.total == total
    assert counts.bronze == _as_counter(expected["valid"]) and counts.quarantine == Counter(expected["bad"])


def test_replay_from_the_failure_queue_restores_a_skipped_batch_once(deployed, emulator, aws):
    """Records go through the stream; their objects are then removed (what a batch Lambda gave up on leaves
    behind), the failure records the event source mapping would send are put in the failure queue, and the
    replay re-reads the ranges from the stream and ingests them through the deployed function. A second replay
    of the same messages changes nothing."""
    out = deployed["outputs"]
    kinesis, sqs, s3 = aws("kinesis"), aws("sqs"), aws("s3")
    records = generate(150, seed=4242, bad_share=0.15)
    expected = expected_counts(records)
    sequence_numbers = put_records(kinesis, out["ingest_stream_name"], [(r.payload, r.partition_key) for r in records])
    wanted = set(sequence_numbers)
    endpoint = emulator.endpoint
    probe = lambda: landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], wanted)  # noqa: E731
    assert wait_for(len(wanted), probe, timeout=240).total == len(wanted)

    ranges: dict[str, list[int]] = {}
    for bucket, prefix in ((out["bronze_bucket"], layout.BRONZE_RECORDS_PREFIX),
                           (out["quarantine_bucket"], layout.STREAM_QUARANTINE_PREFIX)):
        holding = set()
        for key, line in iter_jsonl(endpoint, bucket, prefix):
            if line["ingest"]["sequence_number"] in wanted:
                holding.add(key)
                ranges.setdefault(line["ingest"]["shard_id"], []).append(line["ingest"]["sequence_number"])
        for key in holding:
            s3.delete_object(Bucket=bucket, Key=key)
    assert probe().total == 0
    ranges = {shard: sorted(mine, key=int) for shard, mine in ranges.items()}
    stream = kinesis.describe_stream(StreamName=out["ingest_stream_name"])["StreamDescription"]

    def queue_failures() -> None:
        """One failure record per shard, as the event source mapping sends it when it gives up on a batch."""
        for shard_id, mine in ranges.items():
            sqs.send_message(QueueUrl=out["ingest_failure_queue_url"], MessageBody=json.dumps(
                {"requestContext": {"condition": "RetryAttemptsExhausted"},
                 "KinesisBatchInfo": {"shardId": shard_id, "startSequenceNumber": mine[0],
                                      "endSequenceNumber": mine[-1], "batchSize": 50,
                                      "streamArn": stream["StreamARN"]}}))

    queue_failures()

    lam = aws("lambda")
    report = replay(sqs, kinesis, lam, out["ingest_failure_queue_url"], out["ingest_function_name"])
    assert sorted(entry["shard_id"] for entry in report) == sorted(ranges)
    assert sum(entry["records_read"] for entry in report) == len(records)
    assert all(entry["deleted"] and not entry["lost"] and not entry["failed"] for entry in report)
    counts = probe()
    assert counts.duplicates == 0 and counts.total == len(records)
    assert counts.bronze == _as_counter(expected["valid"]) and counts.quarantine == Counter(expected["bad"])
    assert replay(sqs, kinesis, lam, out["ingest_failure_queue_url"], out["ingest_function_name"]) == []

    queue_failures()  # the same failures again: the replay finds everything stored
    again = replay(sqs, kinesis, lam, out["ingest_failure_queue_url"], out["ingest_function_name"])
    assert all(entry["deleted"] for entry in again) and len(again) == len(ranges)
    assert probe() == counts


def test_unstructured_files_land_untouched(deployed, aws):
    from sample_data import generate_documents
    out = deployed["outputs"]
    s3 = aws("s3")
    for suffix, body, content_type in generate_documents(5, seed=1):
        key = layout.document_key("erp", suffix)
        s3.put_object(Bucket=out["bronze_bucket"], Key=key, Body=body, ContentType=content_type)
        assert s3.get_object(Bucket=out["bronze_bucket"], Key=key)["Body"].read() == body
