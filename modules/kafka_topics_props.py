"""Options of :class:`modules.kafka_topics.KafkaTopics` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import (
    Limit, Props, Rule, at_least, create_option, log_retention, matches, one_of, option, or_value, outputs, tags_option,
)

TOPIC_PATTERN = r"[a-zA-Z0-9._-]{1,249}"
"""A Kafka topic name (Kafka's own rule)."""


@dataclass(frozen=True)
class TopicSpec(Props):
    """One topic to have on the cluster: what ``lambda_src/kafka_topics`` creates when it is missing."""

    name: str = option(limit=matches(TOPIC_PATTERN, "a Kafka topic name"), doc="Topic name.")
    partitions: int = option(limit=at_least(1), doc="Partition count (fixed: an existing topic with another "
                                                    "count fails the apply).")
    replication_factor: int = option(
        -1, limit=or_value(-1, at_least(1)),
        doc="Replicas of each partition; ``-1``: the cluster's ``default.replication.factor`` (MSK Serverless "
            "sets its own).")
    configs: Mapping[str, str] = option(
        default_factory=dict, doc="Topic-level configuration at creation (``retention.ms``, ...); empty: the "
                                  "cluster's defaults.")

    def as_event(self) -> dict[str, Any]:
        """The topic as the function's event lists it."""
        return {"name": self.name, "partitions": self.partitions, "replication_factor": self.replication_factor,
                "configs": dict(sorted(self.configs.items()))}


@dataclass(frozen=True)
class KafkaTopicsProps(Props):
    """Options of :class:`modules.kafka_topics.KafkaTopics`."""

    function_name: str = option(doc="Name of the topic-admin function (also its role, log group and failure queue).")
    zip_path: Path = option(doc="Package of ``lambda_src/kafka_topics`` (``bundling.lambda_zip``).")
    bootstrap_servers: str = option(doc="Bootstrap servers of the cluster (MSK: the SASL/IAM ones, port 9098; "
                                        "token allowed).")
    topics: tuple[TopicSpec, ...] = option(
        limit=Limit("at least one topic, no name twice",
                    lambda topics: bool(topics) and len({t.name for t in topics}) == len(topics)),
        doc="The topics to have. A missing one is created; one with another partition count fails the apply "
            "(partitions are never changed: keys would move).")
    auth: str = option("iam", limit=one_of("iam", "plaintext"),
                       doc="``iam``: SASL/IAM over TLS with the function's role (MSK); ``plaintext``: a broker "
                           "without authentication.")
    cluster_arn: str | None = option(None, doc="``iam``: ARN of the cluster (``kafka-cluster:Connect``).")
    topic_arns: tuple[str, ...] = option(
        (), doc="``iam``: ARN of each topic, in the order of ``topics`` (``kafka-cluster:DescribeTopic`` and "
                "``kafka-cluster:CreateTopic``, on those topics only).")
    subnet_ids: tuple[str, ...] = option((), doc="Subnets to run the function in (the cluster's: its brokers are "
                                                 "private); empty = outside any VPC.")
    security_group_ids: tuple[str, ...] = option((), doc="Security groups of the function (one the brokers "
                                                         "admit), with ``subnet_ids``.")
    kms_key_arn: str | None = option(None, doc="Key of the function's environment, log group and failure queue.")
    log_retention_days: int = option(365, limit=log_retention(), doc="Retention of the function's log group.")
    function_settings: Mapping[str, Any] = option(
        default_factory=dict,
        doc="Further :class:`~modules.lambda_function_props.PythonFunctionProps` options of the function "
            "(``runtime``, ``architecture``, ``memory_mb``, ...; the package is pure Python, any architecture).")
    tags: dict[str, str] = tags_option("the function and its resources")
    create: bool = create_option()

    RULES = (
        Rule(("auth", "cluster_arn"), lambda auth, arn: auth != "iam" or bool(arn),
             "cluster_arn: IAM authentication needs the cluster's ARN"),
        Rule(("auth", "topics", "topic_arns"),
             lambda auth, topics, arns: len(arns) == (len(topics) if auth == "iam" else len(arns)),
             "topic_arns: IAM authentication needs one ARN per topic, in the order of topics"),
        Rule(("function_settings",), lambda s: not set(s) & {"function_name", "zip_path", "environment",
                                                             "policy_statements", "subnet_ids",
                                                             "security_group_ids", "kms_key_arn", "tags"},
             "function_settings: names, package, environment, grants, network, key and tags are set by the "
             "construct"),
    )


OUTPUTS = outputs(
    ("function", "The topic-admin :class:`~modules.lambda_function.PythonFunction`."),
    ("function_name", "Name of the topic-admin function."),
    ("invocation", "The ``aws_lambda_invocation`` that ensures the topics (what a consumer of them depends on)."),
    ("result", "The function's answer: ``{\"created\": [...], \"unchanged\": [...]}`` as JSON."),
)
