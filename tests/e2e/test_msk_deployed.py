"""The deployed local stack (its MSK ingest function and the mapping's settings as outputs) with the mapping
running in the background as a local service (:class:`local_runtime.services.msk_mapping.MskMapping`) lands what
a producer sends, each record exactly once, with the lag back at 0. Its own module, so its own emulator."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from data_contracts.topics import INGEST_TOPIC
from environments import load_environment
from local_runtime.lake import landed, produce_records, wait_for
from local_runtime.msk_poller import settings_from_outputs
from local_runtime.services.msk_mapping import MskMapping
from sample_data import expected_counts, generate
from tests.e2e.msk import committed

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kafka_bootstrap_servers(broker) -> str:
    """The deployed local stack (conftest's ``deployed``) names this module's broker."""
    return broker.bootstrap_servers


def test_the_deployed_stack_and_the_background_mapping_land_produced_records_exactly_once(
        emulator, broker, deployed, tmp_path):
    out = deployed["outputs"]
    assert out["ingest_bootstrap_servers"] == broker.bootstrap_servers and out["ingest_topic"] == INGEST_TOPIC
    msk = load_environment("local").msk
    settings = settings_from_outputs(out)
    assert (settings["function_name"], settings["group_id"], settings["batch_size"], settings["batching_window"],
            settings["starting_position"], settings["on_failure_queue"]) == (
        out["msk_ingest_function_name"], msk.consumer_group_id, msk.batch_size, msk.batching_window_seconds,
        msk.starting_position, out["msk_ingest_failure_queue_url"])

    mapping = MskMapping(emulator.endpoint, broker, outputs=out, state=tmp_path)
    started = time.monotonic()
    mapping.start()
    try:
        assert mapping.started_pid() is not None
        records = generate(400, seed=47, bad_share=0.1)
        erp = [r for r in records if r.source == "erp"]  # the Kafka-fed source of make demo
        positions, ends = produce_records(out["ingest_bootstrap_servers"], out["ingest_topic"],
                                          ((r.payload, r.partition_key) for r in erp), [("producer", b"e2e")])
        status = mapping.wait_caught_up(ends, timeout=180)
        counts = wait_for(len(positions), lambda: landed(emulator.endpoint, out["bronze_bucket"],
                                                         out["quarantine_bucket"], positions=set(positions)),
                          timeout=60)
        seconds = time.monotonic() - started
        print(f"\n[msk-mapping] {len(positions)} records landed in {seconds:.1f}s (poller start included); "
              f"status {status}")
    finally:
        assert mapping.stop()
    assert mapping.health() is None
    expected = expected_counts(erp)
    assert counts.duplicates == 0 and counts.total == len(positions) == len(erp)
    assert +counts.bronze == +Counter(expected["valid"]) and +counts.quarantine == +Counter(expected["bad"])
    assert counts.bronze_by_path == Counter(msk=sum(expected["valid"].values()))
    assert counts.quarantine_by_path == Counter(msk=sum(expected["bad"].values()))
    # the lag: committed offsets reached the end offsets the delivery reports gave, on every partition
    assert {int(p): (v["committed"], v["end"], v["lag"]) for p, v in status["partitions"].items()} == {
        p: (end, end, 0) for p, end in ends.items()}
    assert status["total_lag"] == 0 and committed(broker, msk.consumer_group_id) == ends
