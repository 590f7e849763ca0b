"""Kafka topics Lambda: creates the platform's topics on a Kafka cluster, idempotently.

The AWS provider has no topic resource (MSK's control plane creates none), so Terraform invokes this function
(``aws_lambda_invocation``, :mod:`modules.kafka_topics`) once the cluster is up and before the event source
mapping that reads the topic is created, and again whenever the wanted topics change.

Handler: ``lambda_src.kafka_topics.app.lambda_handler`` in the repository, ``app.lambda_handler`` in the zip.
Environment: ``BOOTSTRAP_SERVERS`` (``host:port,...``), ``KAFKA_AUTH`` (``iam``: SASL/IAM over TLS, MSK's
port 9098, signed with the function's role credentials, which needs ``kafka-cluster:Connect`` on the cluster
and ``kafka-cluster:DescribeTopic`` + ``kafka-cluster:CreateTopic`` on each topic; ``plaintext``: a broker
without authentication, as the local one).

Event: ``{"topics": [{"name": str, "partitions": int, "replication_factor": int (-1 = the cluster's
default.replication.factor), "configs": {str: str}}, ...]}``. For each topic:

* missing: created with those partitions, replication and configs;
* present with the same partition count: left as it is (a rerun changes nothing);
* present with another partition count: an error, and nothing is created. Partitions are never added here:
  keys hash onto partitions, so adding some moves keys and breaks their order; that is an operator's decision.

Returns ``{"created": [...], "unchanged": [...]}`` (Terraform keeps it as the invocation's ``result``);
raises on a bad event, an unreachable cluster, a refused creation or a mismatch, which fails the apply.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

AUTH_MODES = ("iam", "plaintext")
TIMEOUT_MS = 30_000


class TopicError(ValueError):
    """A wanted topic that cannot be had: a bad specification, or a topic with another partition count."""


def wanted_topics(event: Mapping[str, Any]) -> list[dict]:
    """The event's topics, checked: a name (the broker checks its characters), at least one partition,
    replication -1 or above 0, string configs; no name twice."""
    topics = event.get("topics") if isinstance(event, Mapping) else None
    if not isinstance(topics, list) or not topics:
        raise TopicError('the event needs "topics": a non-empty list')
    checked, seen = [], set()
    for spec in topics:
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if not isinstance(name, str) or not name:
            raise TopicError(f"not a topic name: {name!r}")
        if name in seen:
            raise TopicError(f"topic {name} is listed twice")
        seen.add(name)
        partitions, replication = spec.get("partitions"), spec.get("replication_factor", -1)
        if type(partitions) is not int or partitions < 1:
            raise TopicError(f"topic {name}: partitions must be an integer of at least 1, not {partitions!r}")
        if type(replication) is not int or not (replication == -1 or replication >= 1):
            raise TopicError(f"topic {name}: replication_factor must be -1 (the cluster's default) or at least 1, "
                             f"not {replication!r}")
        configs = spec.get("configs", {})
        if not isinstance(configs, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in configs.items()):
            raise TopicError(f"topic {name}: configs must map strings to strings")
        checked.append({"name": name, "partitions": partitions, "replication_factor": replication,
                        "configs": dict(configs)})
    return checked


def plan(wanted: list[dict], existing: Mapping[str, int]) -> tuple[list[dict], list[str]]:
    """``(to create, unchanged names)`` from the wanted topics and the cluster's ``{name: partitions}``;
    raises :class:`TopicError` naming every topic that exists with another partition count."""
    mismatched = {t["name"]: (existing[t["name"]], t["partitions"]) for t in wanted
                  if t["name"] in existing and existing[t["name"]] != t["partitions"]}
    if mismatched:
        raise TopicError("topics exist with another partition count (have, want): "
                         + ", ".join(f"{name} {have}, {want}" for name, (have, want) in sorted(mismatched.items()))
                         + "; partitions are never changed here (keys would move): change them deliberately")
    return [t for t in wanted if t["name"] not in existing], [t["name"] for t in wanted if t["name"] in existing]


def client_config(environ: Mapping[str, str]) -> dict:
    """kafka-python admin client settings from the environment (see the module docstring)."""
    servers = environ.get("BOOTSTRAP_SERVERS", "").strip()
    auth = environ.get("KAFKA_AUTH", "iam")
    if not servers:
        raise TopicError("BOOTSTRAP_SERVERS is empty: the function does not know the cluster")
    if auth not in AUTH_MODES:
        raise TopicError(f"KAFKA_AUTH must be one of {AUTH_MODES}, not {auth!r}")
    config = {"bootstrap_servers": servers.split(","), "client_id": "lakeforge-kafka-topics",
              "request_timeout_ms": TIMEOUT_MS}
    if auth == "iam":  # kafka-python signs the SASL handshake with botocore's credentials (the role's)
        config.update(security_protocol="SASL_SSL", sasl_mechanism="AWS_MSK_IAM")
    return config


def existing_partitions(admin, names: list[str]) -> dict[str, int]:
    """``{name: partition count}`` of those of ``names`` the cluster has."""
    have = set(admin.list_topics())
    present = [name for name in names if name in have]
    if not present:
        return {}
    return {d["name"]: len(d["partitions"]) for d in admin.describe_topics(present) if d.get("error_code", 0) == 0}


def ensure_topics(admin, wanted: list[dict]) -> dict:
    """Create the missing topics of ``wanted`` through a kafka-python ``KafkaAdminClient``; check afterwards that
    every wanted topic exists with its partition count."""
    from kafka.admin import NewTopic

    names = [t["name"] for t in wanted]
    create, unchanged = plan(wanted, existing_partitions(admin, names))
    if create:
        response = admin.create_topics(
            [NewTopic(t["name"], num_partitions=t["partitions"], replication_factor=t["replication_factor"],
                      topic_configs=t["configs"]) for t in create], timeout_ms=TIMEOUT_MS)
        for result in response.get("topics", ()):  # kafka-python's CreateTopics response, as a dict
            if result.get("error_code", 0) not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a concurrent creation)
                raise TopicError(f"creating topic {result.get('name')} failed: error {result.get('error_code')} "
                                 f"{result.get('error_message') or ''}".rstrip())
    now = existing_partitions(admin, names)
    plan(wanted, now)  # a concurrent creation with another count is a mismatch too
    missing = sorted(set(names) - set(now))
    if missing:
        raise TopicError(f"topics still missing after creation: {missing}")
    return {"created": [t["name"] for t in create], "unchanged": unchanged}


def lambda_handler(event, context=None, environ: Mapping[str, str] | None = None) -> dict:
    from kafka.admin import KafkaAdminClient

    wanted = wanted_topics(event)
    admin = KafkaAdminClient(**client_config(os.environ if environ is None else environ))
    try:
        result = ensure_topics(admin, wanted)
    finally:
        admin.close()
    print(json.dumps({"message": "kafka topics ensured", **result}))
    return result
