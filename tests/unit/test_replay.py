"""The failure-queue replay's own logic (the replay itself runs end to end in tests/e2e/test_streaming_ingest.py)."""
from __future__ import annotations

import json

import pytest

from operations.replay import BatchInfo, lost_ranges, main

MESSAGE = {"requestContext": {"condition": "RetryAttemptsExhausted"},
           "KinesisBatchInfo": {"shardId": "shardId-000000000001", "startSequenceNumber": "100",
                                "endSequenceNumber": "190", "batchSize": 10,
                                "streamArn": "arn:aws:kinesis:sa-east-1:123456789012:stream/lakeforge-prod-ingest"}}


def test_a_failure_record_is_read():
    info = BatchInfo.from_message(json.dumps(MESSAGE))
    assert info == BatchInfo("shardId-000000000001", "100", "190", 10, MESSAGE["KinesisBatchInfo"]["streamArn"])
    assert (info.stream_name, info.region) == ("lakeforge-prod-ingest", "sa-east-1")


@pytest.mark.parametrize("body", ["not json", "{}", json.dumps({"KinesisBatchInfo": {"shardId": "x"}}), "[]"])
def test_anything_else_is_one_clear_error(body):
    with pytest.raises(ValueError, match="not a Kinesis failure record"):
        BatchInfo.from_message(body)


def test_lost_ranges():
    assert lost_ranges("100", "190", ["100", "110", "190"]) == []
    assert lost_ranges("100", "190", ["150", "190"]) == [("100", "149")]  # trimmed before 150
    assert lost_ranges("100", "190", []) == [("100", "190")]  # all gone


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--queue-url", "q", "--function", "f", "--max-messages", "0"])
    assert exit_.value.code == 2
    assert "--max-messages must be at least 1" in capsys.readouterr().err
