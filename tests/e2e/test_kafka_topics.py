"""The MSK topic-admin function (``lambda_src/kafka_topics``) against a real Kafka broker with no topics: the
package Terraform deploys, run by the emulator's Lambda service as ``aws_lambda_invocation`` runs it, creates the
ingest topic from its one definition; a rerun changes nothing; a topic with another partition count fails the
invocation and creates nothing; an unreachable broker fails it. (On AWS the same code speaks SASL/IAM over TLS:
``tests/unit/test_kafka_topics.py`` checks the signing; no emulator runs MSK.)"""
from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, Producer

from bundling.lambda_zip import build_function_zip
from compose.inputs import KAFKA_TOPICS_FUNCTION
from data_contracts.topics import INGEST_TOPIC, INGEST_TOPIC_PARTITIONS
from local_runtime.aws import client
from local_runtime.services import free_port
from local_runtime.services.kafka import CONSUMER_GROUP_SETTINGS, KafkaBroker
from modules.kafka_topics import invocation_input
from modules.kafka_topics_props import KafkaTopicsProps, TopicSpec

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::000000000000:role/kafka-topics"


@pytest.fixture(scope="module")
def bare_broker(tmp_path_factory):
    """A broker of the module's own that has no topic at all (as a new MSK cluster)."""
    service = KafkaBroker(free_port(), state=tmp_path_factory.mktemp("kafka-state"), topics={})
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def lam(emulator):
    return client("lambda", emulator.endpoint)


def deploy(lam, tmp_path, name: str, bootstrap_servers: str) -> str:
    package = build_function_zip(KAFKA_TOPICS_FUNCTION, tmp_path)
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.lambda_handler",
                        Code={"ZipFile": package.read_bytes()}, Timeout=120,
                        Environment={"Variables": {"BOOTSTRAP_SERVERS": bootstrap_servers,
                                                   "KAFKA_AUTH": "plaintext"}})
    return name


def invoke(lam, name: str, topics: tuple[TopicSpec, ...]) -> tuple[bool, dict]:
    """``(ok, payload)`` of a synchronous invocation with the event the construct's invocation sends."""
    props = KafkaTopicsProps(function_name=name, zip_path="unused.zip", bootstrap_servers="unused",
                             topics=topics, auth="plaintext")
    response = lam.invoke(FunctionName=name, InvocationType="RequestResponse",
                          Payload=invocation_input(props).encode())
    return "FunctionError" not in response, json.loads(response["Payload"].read() or b"null")


def test_the_deployed_function_creates_the_ingest_topic_once(bare_broker, lam, tmp_path):
    assert bare_broker.health()["topics"] == {}
    name = deploy(lam, tmp_path, "kafka-topics", bare_broker.bootstrap_servers)
    ingest = TopicSpec(INGEST_TOPIC, INGEST_TOPIC_PARTITIONS)
    ok, result = invoke(lam, name, (ingest,))
    assert ok and result == {"created": [INGEST_TOPIC], "unchanged": []}, result
    assert bare_broker.health()["topics"] == {INGEST_TOPIC: INGEST_TOPIC_PARTITIONS}

    # a rerun (Terraform's triggers, a second apply) changes nothing
    ok, result = invoke(lam, name, (ingest,))
    assert ok and result == {"created": [], "unchanged": [INGEST_TOPIC]}, result

    # the created topic works: a record on each partition comes back
    producer = Producer({"bootstrap.servers": bare_broker.bootstrap_servers, "acks": "all"})
    for partition in range(INGEST_TOPIC_PARTITIONS):
        producer.produce(INGEST_TOPIC, value=b"p%d" % partition, partition=partition)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bare_broker.bootstrap_servers, "group.id": "kafka-topics-test",
                         "auto.offset.reset": "earliest", **CONSUMER_GROUP_SETTINGS})
    consumer.subscribe([INGEST_TOPIC])
    seen = set()
    for _ in range(60):
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            seen.add((message.partition(), message.value()))
        if len(seen) == INGEST_TOPIC_PARTITIONS:
            break
    consumer.close()
    assert seen == {(p, b"p%d" % p) for p in range(INGEST_TOPIC_PARTITIONS)}


def test_another_partition_count_fails_the_invocation_and_creates_nothing(bare_broker, lam, tmp_path):
    name = deploy(lam, tmp_path, "kafka-topics-mismatch", bare_broker.bootstrap_servers)
    before = bare_broker.health()["topics"]
    assert before.get(INGEST_TOPIC) == INGEST_TOPIC_PARTITIONS  # the first test created it
    ok, error = invoke(lam, name, (TopicSpec("lakeforge-new", 2), TopicSpec(INGEST_TOPIC, 6)))
    assert not ok and f"{INGEST_TOPIC} 3, 6" in error["errorMessage"], error
    assert bare_broker.health()["topics"] == before  # lakeforge-new was not created either


def test_an_unreachable_cluster_fails_the_invocation(lam, tmp_path):
    name = deploy(lam, tmp_path, "kafka-topics-nowhere", f"127.0.0.1:{free_port()}")
    ok, error = invoke(lam, name, (TopicSpec(INGEST_TOPIC, INGEST_TOPIC_PARTITIONS),))
    assert not ok and error and "errorMessage" in error, error
