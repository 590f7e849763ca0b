"""Issue 10: the whole local MSK path (producer -> Kafka broker -> the local event source mapping -> the deployed
``ingest_msk`` function on the emulator -> bronze / quarantine) loses and duplicates nothing when the broker is
restarted in the middle of the mapping's run, when the function's process is killed in the middle of a batch
(the emulator's worker running the handler, SIGKILLed while it writes the batch's objects: a failed
invocation, retried), or when the mapping dies in the middle of a batch (SIGKILL while the function is writing
its objects, before the offsets are committed) and is started again.

Each record is identified by its Kafka position (``<topic>-<partition>``, offset); the generator's replays share
an ``event_id`` on purpose, so bronze lines per ``event_id`` must equal what the generator sent per ``event_id``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from bundling.lambda_zip import build_function_zip
from data_contracts.topics import INGEST_TOPIC_PARTITIONS
from local_runtime.aws import client
from local_runtime.msk_poller import MskPoller
from local_runtime.paths import ROOT
from local_runtime.services import free_port
from local_runtime.services.base import pid_alive
from local_runtime.services.kafka import KafkaBroker
from sample_data import expected_counts, generate
from tests.e2e.msk import committed, deploy_function, lines, produce

pytestmark = pytest.mark.e2e

RECORDS = 300
RESTART_TOPIC, KILL_TOPIC = "recovery-broker-restart", "recovery-mapping-killed"
CRASH_TOPIC = "recovery-handler-crash"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    service = KafkaBroker(free_port(), state=tmp_path_factory.mktemp("kafka-state"),
                          topics={name: INGEST_TOPIC_PARTITIONS for name in (RESTART_TOPIC, KILL_TOPIC, CRASH_TOPIC)})
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def platform(emulator, tmp_path_factory):
    s3, lam = client("s3", emulator.endpoint), client("lambda", emulator.endpoint)
    zip_bytes = build_function_zip("ingest_msk", tmp_path_factory.mktemp("zip")).read_bytes()
    functions = {}
    for case in ("restart", "kill", "crash"):
        bronze, quarantine = f"msk-recovery-{case}-bronze", f"msk-recovery-{case}-quarantine"
        for bucket in (bronze, quarantine):
            s3.create_bucket(Bucket=bucket)
        functions[case] = (deploy_function(lam, f"lakeforge-ingest-msk-{case}", zip_bytes, bronze, quarantine),
                           (bronze, quarantine))
    return {"s3": s3, "lambda": lam, "endpoint": emulator.endpoint, "port": emulator.port, "functions": functions}


def assert_each_record_once(s3, buckets, topic: str, records, ends: dict[int, int], broker, group: str) -> None:
    """Exact bronze and quarantine counts, 0 duplicates, 0 unaccounted, every offset committed."""
    bronze, quarantine = buckets
    found = lines(s3, buckets)
    assert {line["ingest"]["topic"] for _, line in found} == {topic}
    positions = Counter((line["ingest"]["partition"], line["ingest"]["offset"]) for _, line in found)
    produced = {(partition, offset) for partition, end in ends.items() for offset in range(end)}
    duplicates = {position: n for position, n in positions.items() if n > 1}
    unaccounted = produced - set(positions)
    print(f"[msk-recovery] {topic}: {len(found)} lines for {len(produced)} records, "
          f"{len(duplicates)} duplicated, {len(unaccounted)} unaccounted")
    assert duplicates == {} and unaccounted == set() and set(positions) == produced
    expected = expected_counts(records)
    assert Counter((line["event"]["source"], line["event"]["entity"]) for bucket, line in found if bucket == bronze) \
        == Counter({k: v for k, v in expected["valid"].items() if v})
    assert Counter(line["reason"] for bucket, line in found if bucket == quarantine) \
        == Counter({k: v for k, v in expected["bad"].items() if v})
    sent_ids = Counter(json.loads(r.payload)["event_id"] for r in records if r.expected_reason is None)
    assert Counter(line["event"]["event_id"] for bucket, line in found if bucket == bronze) == sent_ids
    assert committed(broker, group, topic) == ends


def test_a_broker_restart_in_the_middle_of_the_run_loses_and_duplicates_nothing(broker, platform):
    records = generate(RECORDS, seed=1010, bad_share=0.15)
    ends = produce(broker, records, RESTART_TOPIC)
    assert sum(ends.values()) == RECORDS
    function, buckets = platform["functions"]["restart"]
    restarted = threading.Event()
    batches: list[tuple[bool, int]] = []  # (after the restart, records)

    def restart() -> None:
        pid = broker.started_pid()
        os.kill(pid, signal.SIGKILL)  # no shutdown: what the broker acknowledged is in its store
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the mapping polls (and fails to) while the broker is away
        broker.start_broker()
        restarted.set()

    restarter = threading.Thread(target=restart)

    def on_batch(result) -> None:
        batches.append((restarted.is_set(), result.records))
        if len(batches) == 2:
            restarter.start()  # while the mapping goes on to its next batch

    poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=function,
                       lambda_client=platform["lambda"], topic=RESTART_TOPIC, group_id="recovery-restart",
                       batch_size=40, batching_window=0.5)
    started = time.monotonic()
    try:
        poller.run(until_idle=15, on_batch=on_batch)
    finally:
        poller.close()
        restarter.join(30)
    print(f"\n[msk-recovery] broker restart: {len(batches)} batches in {time.monotonic() - started:.1f}s "
          f"(15 s idle wait included)")
    assert restarted.is_set()
    assert sum(n for after, n in batches if not after) < RECORDS <= sum(n for _, n in batches)
    assert sum(n for after, n in batches if after) > 0, "the restart did not happen in the middle of the run"
    assert_each_record_once(platform["s3"], buckets, RESTART_TOPIC, records, ends, broker, "recovery-restart")


def _stored_positions(s3, buckets, topic: str) -> set[tuple[int, int]]:
    """(partition, offset) of every record in the objects stored so far, from the object names alone
    (``msk-<topic>-<partition>-<first>-<last>.jsonl``: a gap-free offset range of one partition)."""
    out = set()
    for bucket in buckets:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", ()):
            name = item["Key"].rsplit("/", 1)[-1].removesuffix(".jsonl")
            partition, first, last = (int(x) for x in name.removeprefix(f"msk-{topic}-").split("-"))
            out.update((partition, offset) for offset in range(first, last + 1))
    return out


def test_the_mapping_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing(broker, platform):
    """The mapping runs as its own process (``python -m local_runtime.msk_poller``); it is SIGKILLed as soon as the
    function's first objects of a batch appear (the function is still writing, the offsets are not committed),
    then started again with the same consumer group: the batch comes again and the function stores nothing
    twice."""
    records = generate(RECORDS, seed=2020, bad_share=0.15)
    ends = produce(broker, records, KILL_TOPIC)
    assert sum(ends.values()) == RECORDS
    function, buckets = platform["functions"]["kill"]
    s3, group = platform["s3"], "recovery-killed"
    command = [sys.executable, "-m", "local_runtime.msk_poller", "--function", function,
               "--endpoint", platform["endpoint"], "--bootstrap", broker.bootstrap_servers, "--topic", KILL_TOPIC,
               "--group", group, "--batch-size", "50", "--window", "0.5", "--until-idle", "8"]
    started = time.monotonic()
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not _stored_positions(s3, buckets, KILL_TOPIC) and time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read().decode()
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait(10)
    killed_output = first.stdout.read().decode()
    time.sleep(2.0)  # the invocation the mapping was waiting for finishes in the emulator
    stored = _stored_positions(s3, buckets, KILL_TOPIC)
    done = committed(broker, group, KILL_TOPIC)
    uncommitted = {(p, o) for p, o in stored if o >= done.get(p, -1)}
    print(f"\n[msk-recovery] mapping killed after {time.monotonic() - started:.1f}s: {len(stored)} records stored, "
          f"{len(uncommitted)} of them not committed; committed {done}")
    assert 0 < len(stored) < RECORDS
    assert uncommitted, f"the kill did not come in the middle of a batch: {killed_output}"

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    print(f"[msk-recovery] mapping restarted and drained in {time.monotonic() - started:.1f}s in all "
          f"(8 s idle wait included)")
    assert again.returncode == 0, again.stderr
    assert_each_record_once(s3, buckets, KILL_TOPIC, records, ends, broker, group)


def _function_workers(port: int, function: str) -> list[int]:
    """PIDs of the emulator's worker processes running ``function`` (ministack runs each function's handler in a
    warm ``_worker.py`` subprocess under ``.state/ministack-<port>/tmp/ministack-lambda-<function>-*/``)."""
    marker = f"ministack-{port}/tmp/ministack-lambda-{function}-"
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(entry))
    return pids


def test_the_function_killed_in_the_middle_of_a_batch_loses_and_duplicates_nothing(broker, platform):
    """The emulator's process running the handler is SIGKILLed as soon as the first objects of a batch appear (the
    handler is still writing the rest): the invocation fails, the mapping retries the same batch, the next
    invocation (a new worker) finds what the dead one stored and writes the rest once."""
    records = generate(RECORDS, seed=3030, bad_share=0.15)
    ends = produce(broker, records, CRASH_TOPIC)
    assert sum(ends.values()) == RECORDS
    function, buckets = platform["functions"]["crash"]
    s3, killed, at_kill = platform["s3"], [], []

    def crash() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if _stored_positions(s3, buckets, CRASH_TOPIC):
                for pid in _function_workers(platform["port"], function):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.5)
                at_kill.extend(lines(s3, buckets))  # what the dead worker had stored
                return
            time.sleep(0.01)

    crasher = threading.Thread(target=crash)
    crasher.start()
    batches = []
    poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=function,
                       lambda_client=platform["lambda"], topic=CRASH_TOPIC, group_id="recovery-crash",
                       batch_size=100, batching_window=0.5)
    started = time.monotonic()
    try:
        poller.run(until_idle=8, on_batch=batches.append)
    finally:
        poller.close()
        crasher.join(30)
    print(f"\n[msk-recovery] function killed (pids {killed}) with {len(at_kill)} of the first batch's "
          f"{batches[0].records if batches else 0} records stored: {len(batches)} batches, "
          f"{sum(b.failed_invocation for b in batches)} failed invocations, {time.monotonic() - started:.1f}s "
          f"(8 s idle wait included)")
    assert killed, "the function's worker process was not found"
    assert batches[0].failed_invocation, "the first invocation did not die"
    assert set(batches[0].committed.values()) == {0}  # the mapping stays at the batch's first records
    assert 0 < len(at_kill) < batches[0].records, "the kill did not come in the middle of the first batch"
    assert not batches[-1].failed_invocation
    assert_each_record_once(s3, buckets, CRASH_TOPIC, records, ends, broker, "recovery-crash")
