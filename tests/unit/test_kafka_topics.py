"""The MSK topic-admin Lambda's pure parts (``lambda_src/kafka_topics``): the event's topics checked, the plan
(create the missing, keep the equal, refuse another partition count) and the client settings of each
authentication. Against a real broker: ``tests/e2e/test_kafka_topics.py``."""
from __future__ import annotations

import pytest

from lambda_src.kafka_topics.app import TopicError, client_config, ensure_topics, plan, wanted_topics

INGEST = {"name": "lakeforge-ingest", "partitions": 3}


def test_the_events_topics_get_their_defaults():
    assert wanted_topics({"topics": [INGEST, {"name": "b", "partitions": 1, "replication_factor": 3,
                                              "configs": {"retention.ms": "60000"}}]}) == [
        {"name": "lakeforge-ingest", "partitions": 3, "replication_factor": -1, "configs": {}},
        {"name": "b", "partitions": 1, "replication_factor": 3, "configs": {"retention.ms": "60000"}}]


@pytest.mark.parametrize("event, message", [
    ({}, "non-empty list"),
    ({"topics": []}, "non-empty list"),
    ({"topics": "lakeforge-ingest"}, "non-empty list"),
    ([INGEST], "non-empty list"),
    ({"topics": [{"partitions": 3}]}, "not a topic name"),
    ({"topics": [{"name": "", "partitions": 3}]}, "not a topic name"),
    ({"topics": [INGEST, INGEST]}, "listed twice"),
    ({"topics": [{"name": "a"}]}, "partitions must be an integer of at least 1"),
    ({"topics": [{"name": "a", "partitions": 0}]}, "partitions must be an integer of at least 1"),
    ({"topics": [{"name": "a", "partitions": True}]}, "partitions must be an integer of at least 1"),
    ({"topics": [{"name": "a", "partitions": "3"}]}, "partitions must be an integer of at least 1"),
    ({"topics": [{"name": "a", "partitions": 1, "replication_factor": 0}]}, "replication_factor"),
    ({"topics": [{"name": "a", "partitions": 1, "configs": {"retention.ms": 60000}}]}, "configs"),
])
def test_a_bad_event_gets_one_clear_error(event, message):
    with pytest.raises(TopicError, match=message):
        wanted_topics(event)


def test_the_plan_creates_the_missing_keeps_the_equal_and_refuses_another_partition_count():
    wanted = wanted_topics({"topics": [INGEST, {"name": "b", "partitions": 2}]})
    assert plan(wanted, {}) == (wanted, [])
    assert plan(wanted, {"lakeforge-ingest": 3, "other": 9}) == ([wanted[1]], ["lakeforge-ingest"])
    assert plan(wanted, {"lakeforge-ingest": 3, "b": 2}) == ([], ["lakeforge-ingest", "b"])
    with pytest.raises(TopicError, match=r"lakeforge-ingest 6, 3.*never changed"):
        plan(wanted, {"lakeforge-ingest": 6})
    with pytest.raises(TopicError, match="b 1, 2"):  # fewer is refused too (Kafka cannot shrink a topic)
        plan(wanted, {"b": 1})


def test_the_client_speaks_sasl_iam_over_tls_or_plaintext():
    iam = client_config({"BOOTSTRAP_SERVERS": "b-1.x:9098,b-2.x:9098"})
    assert iam["bootstrap_servers"] == ["b-1.x:9098", "b-2.x:9098"]
    assert (iam["security_protocol"], iam["sasl_mechanism"]) == ("SASL_SSL", "AWS_MSK_IAM")
    plain = client_config({"BOOTSTRAP_SERVERS": "127.0.0.1:9092", "KAFKA_AUTH": "plaintext"})
    assert "security_protocol" not in plain and "sasl_mechanism" not in plain
    with pytest.raises(TopicError, match="BOOTSTRAP_SERVERS is empty"):
        client_config({"BOOTSTRAP_SERVERS": " "})
    with pytest.raises(TopicError, match="KAFKA_AUTH"):
        client_config({"BOOTSTRAP_SERVERS": "b:9098", "KAFKA_AUTH": "scram"})


def test_the_iam_settings_sign_a_connect_request_with_the_roles_credentials(monkeypatch):
    """With these settings kafka-python's built-in SASL/IAM mechanism signs the handshake from the credentials
    Lambda puts in the environment (no AWS call: the function needs no VPC endpoint)."""
    import json

    from kafka.net.sasl import get_sasl_mechanism

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    config = client_config({"BOOTSTRAP_SERVERS": "b-1.x:9098"})
    mechanism = get_sasl_mechanism(config["sasl_mechanism"])(host="b-1.x", **config)
    payload = json.loads(mechanism.auth_bytes())
    assert payload["action"] == "kafka-cluster:Connect" and payload["host"] == "b-1.x"
    assert payload["x-amz-credential"].startswith("AKIAEXAMPLEEXAMPLE00/") and "/sa-east-1/kafka-cluster/" in \
        payload["x-amz-credential"]
    assert payload["x-amz-security-token"] == "session-token" and len(payload["x-amz-signature"]) == 64


class FakeAdmin:
    """The three admin calls :func:`ensure_topics` makes, over a dict (a unit test of the function only; the
    real broker: tests/e2e/test_kafka_topics.py)."""

    def __init__(self, topics: dict[str, int], refuse: dict[str, tuple[int, str]] | None = None):
        self.topics, self.refuse, self.created = dict(topics), refuse or {}, []

    def list_topics(self):
        return list(self.topics)

    def describe_topics(self, names):
        return [{"name": n, "error_code": 0, "partitions": [{}] * self.topics[n]} for n in names]

    def create_topics(self, new, timeout_ms):
        results = []
        for t in new:
            code, message = self.refuse.get(t.name, (0, None))
            if not code:
                self.topics[t.name] = t.num_partitions
                self.created.append((t.name, t.num_partitions, t.replication_factor, dict(t.topic_configs)))
            results.append({"name": t.name, "error_code": code, "error_message": message})
        return {"topics": results}


def test_ensure_creates_each_missing_topic_once_with_its_settings():
    admin = FakeAdmin({"lakeforge-ingest": 3})
    wanted = wanted_topics({"topics": [INGEST, {"name": "b", "partitions": 2, "configs": {"retention.ms": "1"}}]})
    assert ensure_topics(admin, wanted) == {"created": ["b"], "unchanged": ["lakeforge-ingest"]}
    assert admin.created == [("b", 2, -1, {"retention.ms": "1"})]
    assert ensure_topics(admin, wanted) == {"created": [], "unchanged": ["lakeforge-ingest", "b"]}
    assert len(admin.created) == 1


def test_a_refused_creation_fails_naming_the_topic_and_the_brokers_reason():
    admin = FakeAdmin({}, refuse={"b": (29, "Topic authorization failed.")})
    with pytest.raises(TopicError, match="creating topic b failed: error 29 Topic authorization failed."):
        ensure_topics(admin, wanted_topics({"topics": [{"name": "b", "partitions": 2}]}))
