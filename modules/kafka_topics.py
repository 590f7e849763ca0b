"""KafkaTopics: the topics of a Kafka cluster (MSK) as part of the deployment.

The AWS provider has no topic resource and MSK's control plane creates none (topics are Kafka's own
``CreateTopics`` request), so this construct deploys a small topic-admin function (``lambda_src/kafka_topics``:
kafka-python's admin client, SASL/IAM over TLS) and invokes it from Terraform with the wanted topics
(``aws_lambda_invocation``). The invocation runs when it is created and again when the topics or the function's
code change; it fails the apply when the cluster cannot be reached, a creation is refused, or a topic exists
with another partition count (partitions are never changed: keys would move to other partitions). Whatever
consumes the topics (an event source mapping) depends on :attr:`invocation`.

The function's role may ``kafka-cluster:Connect`` to that cluster and ``kafka-cluster:DescribeTopic`` /
``kafka-cluster:CreateTopic`` on exactly those topics' ARNs: it cannot read or write data, delete or alter a
topic, or touch another topic or a consumer group. In the cluster's subnets (its brokers are private) it gets
the network-interface grants of :class:`~modules.lambda_function.PythonFunction`; it calls no AWS API (the
SASL/IAM token is signed locally with the role's credentials), so it needs no VPC endpoint.
"""
from __future__ import annotations

import hashlib
import json

from constructs import Construct

from .iam import Statement
from .kafka_topics_props import OUTPUTS, KafkaTopicsProps, TopicSpec
from .lambda_function_props import PythonFunctionProps
from ._bindings import aws

__all__ = ["OUTPUTS", "KafkaTopics", "KafkaTopicsProps", "TopicSpec", "topic_statements"]


def topic_statements(props: KafkaTopicsProps) -> tuple[Statement, ...]:
    """The topic-admin function's Kafka grants (IAM authentication only; none for a plaintext broker)."""
    if props.auth != "iam":
        return ()
    return (
        Statement(sid="KafkaConnect", actions=("kafka-cluster:Connect",), resources=(props.cluster_arn,)),
        Statement(sid="KafkaCreateTopics", actions=("kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic"),
                  resources=tuple(props.topic_arns)),
    )


def invocation_input(props: KafkaTopicsProps) -> str:
    """The function's event: ``{"topics": [...]}`` (see ``lambda_src/kafka_topics/app.py``)."""
    return json.dumps({"topics": [t.as_event() for t in props.topics]}, sort_keys=True)


class KafkaTopics(Construct):
    """Topic-admin function + its invocation ensuring ``props.topics`` on the cluster.

    Options: :class:`KafkaTopicsProps`; outputs: :data:`OUTPUTS` (``modules/kafka_topics_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: KafkaTopicsProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.function = None
        self.function_name: str | None = None
        self.invocation = None
        self.result: str | None = None
        if not props.create:
            return

        LambdaInvocation = aws.lambda_invocation.LambdaInvocation

        from .lambda_function import PythonFunction

        tags = dict(props.tags)
        self.function = PythonFunction(self, "function", PythonFunctionProps(
            function_name=props.function_name, zip_path=props.zip_path,
            description="Creates the Kafka topics the platform reads (run by Terraform)",
            **{"timeout_seconds": 120, "reserved_concurrency": 1, **dict(props.function_settings)},
            environment={"BOOTSTRAP_SERVERS": props.bootstrap_servers, "KAFKA_AUTH": props.auth},
            kms_key_arn=props.kms_key_arn, log_retention_days=props.log_retention_days,
            subnet_ids=props.subnet_ids, security_group_ids=props.security_group_ids,
            policy_statements=topic_statements(props), tags=tags,
        ))
        event = invocation_input(props)
        self.invocation = LambdaInvocation(
            self, "ensure", function_name=self.function.function_name, input=event,
            triggers={"topics": hashlib.sha256(event.encode()).hexdigest(), "code": self.function.code_hash},
        )
        self.function_name = self.function.function_name
        self.result = self.invocation.result
