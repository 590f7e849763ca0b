"""The local MSK mapping's settings come from the deployed stack's outputs; landed lines are identified per
ingest path (a Kinesis sequence number, a Kafka position)."""
from __future__ import annotations

import pytest

from local_runtime.lake import record_identity
from local_runtime.msk_poller import settings_from_outputs

OUTPUTS = {
    "msk_ingest_mapping": {"topic": "lakeforge-ingest", "consumer_group_id": "g", "starting_position": "LATEST",
                           "batch_size": 7, "batching_window_seconds": 3, "function_name": "fn",
                           "on_failure_destination_arn": "arn:aws:sqs:us-east-1:000000000000:q"},
    "msk_ingest_failure_queue_url": "http://127.0.0.1:4566/000000000000/q",
}


def test_settings_from_outputs():
    assert settings_from_outputs(OUTPUTS) == {
        "function_name": "fn", "topic": "lakeforge-ingest", "group_id": "g", "batch_size": 7,
        "batching_window": 3.0, "starting_position": "LATEST",
        "on_failure_queue": "http://127.0.0.1:4566/000000000000/q"}


def test_a_stack_without_the_mapping_is_refused():
    with pytest.raises(ValueError, match="msk_ingest_mapping"):
        settings_from_outputs({"msk_ingest_failure_queue_url": "x"})


def test_record_identity_per_path():
    # an MSK line also carries sequence_number (the offset as digits): its position identifies it
    assert record_identity({"topic": "t", "partition": 2, "offset": 15, "sequence_number": "15"}) == ("msk", "t", 2, 15)
    assert record_identity({"sequence_number": "4959"}) == ("kinesis", "4959")
