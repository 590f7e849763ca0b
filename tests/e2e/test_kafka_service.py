"""The local Kafka broker (the MSK stand-in) as ``make up`` runs it, on a free port with its own state folder:
the ingest topic, a consumer group that commits after processing, and restarts that lose and duplicate nothing."""
from __future__ import annotations

import os
import signal
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from data_contracts.topics import INGEST_TOPIC, INGEST_TOPIC_PARTITIONS
from local_runtime.services import SERVICES, free_port
from local_runtime.services.base import pid_alive, port_free
from local_runtime.services.kafka import CONSUMER_GROUP_SETTINGS, KafkaBroker

pytestmark = pytest.mark.e2e

GROUP = "lakeforge-test-ingest"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    service = KafkaBroker(free_port(), state=tmp_path_factory.mktemp("kafka-state"))
    started = time.monotonic()
    service.start()
    print(f"\n[kafka] broker and store started, topic created in {time.monotonic() - started:.2f}s")
    yield service
    service.stop()


def produce(broker: KafkaBroker, first: int, count: int) -> dict[tuple[int, int], bytes]:
    """``count`` records with keys and headers; (partition, offset) -> value of each one the broker acknowledged."""
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all", "linger.ms": 5})
    delivered: dict[tuple[int, int], bytes] = {}
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[(msg.partition(), msg.offset())] = msg.value()

    started = time.monotonic()
    for i in range(first, first + count):
        producer.produce(INGEST_TOPIC, key=f"customer-{i % 97}".encode(), value=b'{"n":%d}' % i,
                         headers=[("trace", f"t-{i}".encode())], on_delivery=report)
        producer.poll(0)
    assert producer.flush(30) == 0 and not errors
    seconds = time.monotonic() - started
    print(f"[kafka] produced {count} records in {seconds:.2f}s ({count / seconds:,.0f}/s)")
    assert len(delivered) == count
    return delivered


def consumer(broker: KafkaBroker, group: str = GROUP) -> Consumer:
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, **CONSUMER_GROUP_SETTINGS})
    c.subscribe([INGEST_TOPIC])
    return c


def consume(c: Consumer, processed: list, until: int, seconds: float = 60.0) -> None:
    """Process batches (append each record to ``processed``), committing after each, until ``until`` records
    were processed in all or the time is up."""
    deadline = time.monotonic() + seconds
    while len(processed) < until and time.monotonic() < deadline:
        batch = [m for m in c.consume(200, 1.0) if m.error() is None]
        processed.extend(((m.partition(), m.offset()), m.value()) for m in batch)
        if batch:
            c.commit(asynchronous=False)


def test_start_is_idempotent_and_creates_the_ingest_topic(broker):
    assert KafkaBroker in SERVICES  # make up / make down start and stop it
    pid = broker.started_pid()
    assert pid and broker.health()["topics"] == {INGEST_TOPIC: INGEST_TOPIC_PARTITIONS}
    broker.start()  # again: reused, not restarted
    assert broker.started_pid() == pid
    assert broker.connection()["bootstrap_servers"] == f"127.0.0.1:{broker.port}"
    assert broker.log.exists()


def test_a_broker_restart_mid_way_loses_and_duplicates_nothing(broker):
    sent = produce(broker, 0, 3000)
    assert {partition for partition, _ in sent} == set(range(INGEST_TOPIC_PARTITIONS))
    c = consumer(broker)
    processed: list = []
    started = time.monotonic()
    consume(c, processed, until=1500)
    print(f"[kafka] group joined and {len(processed)} records consumed in {time.monotonic() - started:.2f}s")
    assert 1500 <= len(processed) < 3000

    pid = broker.started_pid()
    broker.stop_broker()  # the broker process goes away; committed offsets and records are in its store
    assert not pid_alive(pid) and broker.health() is None
    started = time.monotonic()
    broker.start_broker()
    print(f"[kafka] broker restarted in {time.monotonic() - started:.2f}s")
    sent.update(produce(broker, 3000, 1000))

    consume(c, processed, until=4000)  # the same consumer carries on
    c.close()
    assert len(processed) == len({position for position, _ in processed}), "a record was processed twice"
    assert dict(processed) == sent

    # What the group committed survived: a new member of it gets nothing more.
    again = consumer(broker)
    late: list = []
    consume(again, late, until=1, seconds=10)
    again.close()
    assert late == []


def test_a_full_stop_and_start_keeps_every_record_and_offset(broker):
    everything_before = broker.health()
    assert broker.stop()  # make down: the broker and its store
    assert broker.health() is None and port_free(broker.port)
    started = time.monotonic()
    broker.start()  # make up
    print(f"[kafka] service started again (store + broker) in {time.monotonic() - started:.2f}s")
    assert broker.health()["topics"] == everything_before["topics"]
    sent = produce(broker, 4000, 500)

    c = consumer(broker)  # the group resumes after what it committed before the stop
    processed: list = []
    consume(c, processed, until=500)
    consume(c, processed, until=501, seconds=3)
    c.close()
    assert dict(processed) == sent and len(processed) == 500

    fresh = consumer(broker, group="lakeforge-test-reader")  # a new group reads the whole topic from the start
    everything: list = []
    started = time.monotonic()
    consume(fresh, everything, until=4500)
    seconds = time.monotonic() - started
    print(f"[kafka] a new group read all {len(everything)} records in {seconds:.2f}s (join included)")
    fresh.close()
    assert len(everything) == len(dict(everything)) == 4500
    assert sorted(value for _, value in everything) == sorted(b'{"n":%d}' % i for i in range(4500))


def test_a_killed_broker_loses_no_acknowledged_record(broker):
    """SIGKILL, no shutdown: every record the broker acknowledged (acks=all) is read back after the restart."""
    sent = produce(broker, 4500, 700)
    pid = broker.started_pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.health() is None
    broker.start()  # as make up would after a crash: the store is still up, a new broker process reads it
    assert broker.started_pid() not in (None, pid)
    c = consumer(broker)  # the group committed everything before this test's records
    processed: list = []
    consume(c, processed, until=700)
    c.close()
    assert dict(processed) == sent and len(processed) == 700


def test_stop_leaves_nothing_running(tmp_path):
    service = KafkaBroker(free_port(), state=tmp_path, topics={})
    service.start()
    pid, store_port = service.started_pid(), int(service.dirs["store_port"].read_text())
    assert pid and service.health() is not None and service.health()["topics"] == {}
    assert not port_free(store_port)  # the broker's S3 store
    assert service.stop() and not pid_alive(pid) and port_free(service.port) and port_free(store_port)
    assert service.stop() is False  # nothing left to stop
    with pytest.raises(KafkaException):
        Consumer({"bootstrap.servers": service.bootstrap_servers, "group.id": "x"}).list_topics(timeout=1)
