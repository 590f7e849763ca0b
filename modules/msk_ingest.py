"""MskEventSource: a Lambda event source mapping consuming one topic of an MSK cluster with IAM authentication,
a consumer group of its own and an on-failure destination.

When ``role_name`` is given it also grants that role (the function's execution role) what Lambda's poller
needs, and nothing more, then creates the mapping only after the grant exists (Lambda checks the role when the
mapping is created):

* ``kafka:DescribeCluster``, ``kafka:DescribeClusterV2``, ``kafka:GetBootstrapBrokers`` on the cluster;
* ``kafka-cluster:Connect``, ``kafka-cluster:DescribeClusterDynamicConfiguration`` on the cluster,
  ``kafka-cluster:DescribeTopic``, ``kafka-cluster:ReadData`` on the topic, ``kafka-cluster:DescribeGroup``,
  ``kafka-cluster:AlterGroup`` on the consumer group (no write, no topic creation, no other topic or group);
* the network interfaces the poller places in the cluster's subnets: ``ec2:CreateNetworkInterface`` in those
  subnets and security groups, ``ec2:DeleteNetworkInterface``, and the EC2 ``Describe*`` calls it makes, which
  take no resource.

Lambda's Kafka mappings do not take ``function_response_types`` (partial-batch responses are for Kinesis,
DynamoDB and SQS), retries, bisection or a record age: a failing batch is retried until it succeeds or its
records expire from the topic, and its metadata goes to ``on_failure_destination_arn``.
"""
from __future__ import annotations

from constructs import Construct

from .iam import Statement, policy_document
from .lambda_function import function_name_of
from .monitoring_props import consumer_watch
from .lambda_function_props import network_interface_statements
from .msk_ingest_props import OUTPUTS, MskEventSourceProps
from ._bindings import aws

__all__ = ["OUTPUTS", "MskEventSource", "MskEventSourceProps", "poller_statements"]

DESCRIBE_NETWORK_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
)
"""The EC2 look-ups of Lambda's Kafka poller (no resource type: ``Resource: "*"``)."""


def poller_statements(props: MskEventSourceProps) -> tuple[Statement, ...]:
    """The grants of Lambda's MSK poller (see the module docstring)."""
    return (
        Statement(sid="MskDescribeCluster",
                  actions=("kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"),
                  resources=(props.cluster_arn,)),
        Statement(sid="MskConnect", actions=("kafka-cluster:Connect",
                                             "kafka-cluster:DescribeClusterDynamicConfiguration"),
                  resources=(props.cluster_arn,)),
        Statement(sid="MskReadTopic", actions=("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"),
                  resources=(props.topic_arn,)),
        Statement(sid="MskConsumerGroup", actions=("kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"),
                  resources=(props.group_arn,)),
        *network_interface_statements("MskPoller", props.subnet_ids, props.security_group_ids),
        Statement(sid="MskPollerDescribeNetwork", actions=DESCRIBE_NETWORK_ACTIONS, resources=("*",)),
    )


class MskEventSource(Construct):
    """MSK topic -> Lambda event source mapping.

    Options: :class:`MskEventSourceProps`; outputs: :data:`OUTPUTS` (``modules/msk_ingest_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: MskEventSourceProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.mapping = None
        self.uuid: str | None = None
        self.arn: str | None = None
        if not props.create:
            return

        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        binding = aws.lambda_event_source_mapping
        LambdaEventSourceMapping = binding.LambdaEventSourceMapping
        LambdaEventSourceMappingAmazonManagedKafkaEventSourceConfig = (
            binding.LambdaEventSourceMappingAmazonManagedKafkaEventSourceConfig)
        LambdaEventSourceMappingDestinationConfig = binding.LambdaEventSourceMappingDestinationConfig
        LambdaEventSourceMappingDestinationConfigOnFailure = binding.LambdaEventSourceMappingDestinationConfigOnFailure

        depends_on = []
        if props.role_name:
            depends_on.append(IamRolePolicy(self, "poller_grant", name="msk-event-source", role=props.role_name,
                                            policy=policy_document(poller_statements(props))))
        destination = None
        if props.on_failure_destination_arn:
            destination = LambdaEventSourceMappingDestinationConfig(
                on_failure=LambdaEventSourceMappingDestinationConfigOnFailure(
                    destination_arn=props.on_failure_destination_arn))
        self.mapping = LambdaEventSourceMapping(
            self, "mapping",
            function_name=props.function_name,
            event_source_arn=props.cluster_arn,
            topics=[props.topic],
            starting_position=props.starting_position,
            batch_size=props.batch_size,
            maximum_batching_window_in_seconds=props.batching_window_seconds,
            amazon_managed_kafka_event_source_config=LambdaEventSourceMappingAmazonManagedKafkaEventSourceConfig(
                consumer_group_id=props.consumer_group_id),
            destination_config=destination,
            enabled=props.enabled,
            tags=dict(props.tags),
            depends_on=depends_on or None,
        )
        self.uuid = self.mapping.uuid
        self.arn = self.mapping.arn
        self.watches = (consumer_watch(function_name_of(props.function_name), kafka=True),)
