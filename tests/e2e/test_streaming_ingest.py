"""Deploy the local stack to the emulator with Terraform and push real traffic through it."""
from __future__ import annotations

import base64
import json
from collections import Counter

import pytest

from data_contracts import layout
from local_runtime.lake import iter_jsonl, landed, object_keys, put_records, wait_for
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


def test_unstructured_files_land_untouched(deployed, aws):
    from sample_data import generate_documents
    out = deployed["outputs"]
    s3 = aws("s3")
    for suffix, body, content_type in generate_documents(5, seed=1):
        key = layout.document_key("erp", suffix)
        s3.put_object(Bucket=out["bronze_bucket"], Key=key, Body=body, ContentType=content_type)
        assert s3.get_object(Bucket=out["bronze_bucket"], Key=key)["Body"].read() == body
