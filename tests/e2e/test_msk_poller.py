"""The local MSK event source mapping: records produced to the local Kafka broker reach the deployed
``ingest_msk`` function on the emulator as real MSK events; offsets are committed only after it succeeded;
a batch that keeps failing goes to the on-failure queue and the mapping moves on. The deployed local stack with
the mapping in the background: test_msk_deployed.py."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from bundling.lambda_zip import build_function_zip
from data_contracts.topics import INGEST_TOPIC, INGEST_TOPIC_PARTITIONS
from local_runtime.aws import client
from local_runtime.msk_poller import MskPoller, sqs_destination
from sample_data import expected_counts, generate
from tests.e2e.msk import committed, deploy_function, lines, produce

pytestmark = pytest.mark.e2e

BRONZE, QUARANTINE = "msk-e2e-bronze", "msk-e2e-quarantine"
LATE_BRONZE = "msk-e2e-bronze-late"
RECORDS = 240


@pytest.fixture(scope="module")
def platform(emulator, tmp_path_factory):
    s3, lam, sqs = (client(name, emulator.endpoint) for name in ("s3", "lambda", "sqs"))
    for bucket in (BRONZE, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    zip_bytes = build_function_zip("ingest_msk", tmp_path_factory.mktemp("zip")).read_bytes()
    ingest = deploy_function(lam, "lakeforge-ingest-msk", zip_bytes, BRONZE, QUARANTINE)
    # every bronze put of "broken" fails; the bronze bucket of "healing" is made mid-way
    broken = deploy_function(lam, "lakeforge-ingest-msk-broken", zip_bytes, "no-such-bucket", QUARANTINE)
    healing = deploy_function(lam, "lakeforge-ingest-msk-healing", zip_bytes, LATE_BRONZE, QUARANTINE)
    queue = sqs.create_queue(QueueName="lakeforge-ingest-msk-failures")["QueueUrl"]
    return {"s3": s3, "lambda": lam, "sqs": sqs, "ingest": ingest, "broken": broken, "healing": healing,
            "queue": queue}


@pytest.fixture(scope="module")
def produced(broker):
    """The records, produced once; and each partition's end offset (one past its last record)."""
    records = generate(RECORDS, seed=31, bad_share=0.1)
    ends = produce(broker, records)
    assert sorted(ends) == list(range(INGEST_TOPIC_PARTITIONS)) and sum(ends.values()) == RECORDS
    return records, ends


def _lines(s3, buckets=(BRONZE, QUARANTINE)) -> list[tuple[str, dict]]:
    return lines(s3, buckets)


def test_every_record_reaches_bronze_or_quarantine_once_and_offsets_follow(broker, platform, produced):
    records, ends = produced
    poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=platform["ingest"],
                       lambda_client=platform["lambda"], group_id="mapping-ingest", batch_size=50,
                       batching_window=1.0)
    batches = []
    started = time.monotonic()
    try:
        poller.run(until_idle=8, on_batch=batches.append)
    finally:
        poller.close()
    seconds = time.monotonic() - started
    print(f"\n[msk-poller] {RECORDS} records in {len(batches)} batches, {seconds:.1f}s (8 s idle wait included)")
    assert all(b.invoked and not b.failed_invocation and not b.reported for b in batches)
    assert max(b.records for b in batches) <= 50 and sum(b.records for b in batches) == RECORDS

    found = _lines(platform["s3"])
    positions = Counter((line["ingest"]["partition"], line["ingest"]["offset"]) for _, line in found)
    assert len(positions) == RECORDS and set(positions.values()) == {1}  # each record once
    expected = expected_counts(records)
    bronze = Counter((line["event"]["source"], line["event"]["entity"]) for bucket, line in found if bucket == BRONZE)
    quarantined = Counter(line["reason"] for bucket, line in found if bucket == QUARANTINE)
    assert dict(bronze) == {k: v for k, v in expected["valid"].items() if v}
    assert dict(quarantined) == {k: v for k, v in expected["bad"].items() if v}
    sample = next(line for bucket, line in found if bucket == BRONZE)["ingest"]
    assert sample["headers"] == [{"name": "producer", "value": "erp-connector", "value_encoding": "utf-8"}]
    assert sample["topic"] == INGEST_TOPIC and sample["key"] and sample["timestamp_type"] == "CREATE_TIME"
    assert committed(broker, "mapping-ingest") == ends

    # A second mapping (a new group) replays the whole topic: the function stores nothing twice.
    replay = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=platform["ingest"],
                       lambda_client=platform["lambda"], group_id="mapping-replay", batch_size=100)
    try:
        replay.run(until_idle=8)
    finally:
        replay.close()
    assert Counter((line["ingest"]["partition"], line["ingest"]["offset"]) for _, line in _lines(platform["s3"])) \
        == positions


def test_a_batch_that_keeps_failing_goes_to_the_on_failure_queue_and_the_mapping_moves_on(broker, platform,
                                                                                        produced):
    _, ends = produced
    sqs = platform["sqs"]
    poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=platform["broken"],
                       lambda_client=platform["lambda"], group_id="mapping-broken", batch_size=500,
                       batching_window=2.0, max_retries=1, send_on_failure=sqs_destination(sqs, platform["queue"]))
    results = []
    try:
        poller.run(until_idle=8, on_batch=results.append)
    finally:
        poller.close()
    # every poll of a partition failed (no bronze bucket): the first try and one retry, then the destination
    assert all(r.reported for r in results)
    sent = [m for r in results for m in r.sent_to_destination]
    assert sorted(m["KafkaBatchInfo"]["partition"] for m in sent) == list(range(INGEST_TOPIC_PARTITIONS))
    messages = []
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=platform["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages.extend(json.loads(m["Body"]) for m in got.get("Messages", ()))
        if len(messages) >= len(sent):
            break
    assert sorted(messages, key=lambda m: m["KafkaBatchInfo"]["partition"]) == \
        sorted(sent, key=lambda m: m["KafkaBatchInfo"]["partition"])
    for message in messages:
        info = message["KafkaBatchInfo"]
        assert info["topic"] == INGEST_TOPIC and info["endOffset"] == ends[info["partition"]] - 1
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert message["requestContext"]["approximateInvokeCount"] == 2
    assert committed(broker, "mapping-broken") == ends  # the mapping moved past what it gave up on


def test_a_partial_failure_rewinds_to_the_reported_offsets_and_the_retry_stores_each_record_once(
        broker, platform, produced):
    """The bronze bucket appears after the first batch failed: the mapping retries from the lowest reported
    offset of each partition, and the retry completes without a duplicate and without the destination."""
    records, ends = produced
    s3, sent = platform["s3"], []
    results = []

    def after(result):
        results.append(result)
        if len(results) == 1:
            assert result.reported and not result.failed_invocation  # a partial batch response
            assert all(result.committed[p] == offset for p, offset in result.reported.items())
            s3.create_bucket(Bucket=LATE_BRONZE)

    poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=platform["healing"],
                       lambda_client=platform["lambda"], group_id="mapping-healing", batch_size=500,
                       batching_window=2.0, max_retries=3, send_on_failure=sent.append)
    try:
        poller.run(until_idle=8, on_batch=after)
    finally:
        poller.close()
    assert len(results) >= 2 and not results[-1].reported and sent == []
    late = Counter((line["ingest"]["partition"], line["ingest"]["offset"]) for _, line in _lines(s3, (LATE_BRONZE,)))
    valid = sum(1 for r in records if r.expected_reason is None)
    assert len(late) == valid and set(late.values()) == {1}
    quarantined = Counter((line["ingest"]["partition"], line["ingest"]["offset"])
                          for _, line in _lines(s3, (QUARANTINE,)))
    assert len(quarantined) == RECORDS - valid and set(quarantined.values()) == {1}
    assert committed(broker, "mapping-healing") == ends
