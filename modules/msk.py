"""MskCluster: Amazon MSK for real-time ingestion, provisioned by default or serverless.

What it creates (no emulator can create MSK with Terraform: behind its ``create`` switch, off in local):

* provisioned: an ``aws_msk_configuration`` (``auto.create.topics.enable=false``, ``default.replication.factor``,
  ``min.insync.replicas``, ``num.partitions`` = the ingest topic's partitions, no unclean leader election, the
  topics' retention), the broker log group ``/aws/msk/<name>`` (KMS, retention) and ``aws_msk_cluster``: brokers
  spread over the private subnets (one zone each), the data services' security group, no public access,
  SASL/IAM the only client authentication (unauthenticated and SASL/SCRAM and mutual TLS off), TLS only
  between clients and brokers and inside the cluster, at rest encrypted with the lake key, broker logs to
  CloudWatch, ``enhanced_monitoring``;
* serverless: ``aws_msk_serverless_cluster`` in the same subnets and group with SASL/IAM (MSK Serverless is
  always TLS-only, private and encrypted at rest, with an AWS-managed key).

Topics. The AWS provider has no topic resource (MSK's control plane creates none), so the ingest topic is
declared as data (``ingest_topic``, ``topic_partitions``; the configuration's ``num.partitions`` default is the
same number) and created during the apply by :class:`modules.kafka_topics.KafkaTopics` (a topic-admin function
granted ``kafka-cluster:CreateTopic`` on ``ingest_topic_arn`` alone). Topic auto-creation stays off: a client
that mistypes a topic name gets an error, never a new, wrongly sized topic.
"""
from __future__ import annotations

from constructs import Construct

from .monitoring_props import kafka_cluster_watch
from .msk_props import OUTPUTS, MskClusterProps, kafka_arn
from ._bindings import aws

__all__ = ["OUTPUTS", "MskCluster", "MskClusterProps"]


def server_properties(props: MskClusterProps) -> str:
    """The broker configuration of a provisioned cluster (``server.properties`` lines)."""
    values = {
        "auto.create.topics.enable": "false",
        "default.replication.factor": props.replication_factor,
        "min.insync.replicas": props.min_insync_replicas,
        "num.partitions": props.topic_partitions,
        "unclean.leader.election.enable": "false",
        "log.retention.hours": props.retention_hours,
    }
    return "".join(f"{k}={v}\n" for k, v in values.items())


class MskCluster(Construct):
    """MSK (provisioned or serverless): private, SASL/IAM only, TLS only, encrypted, logged.

    Options: :class:`MskClusterProps`; outputs: :data:`OUTPUTS` (``modules/msk_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: MskClusterProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.cluster = None
        self.arn: str | None = None
        self.cluster_name: str | None = None
        self.cluster_uuid: str | None = None
        self.bootstrap_brokers_sasl_iam: str | None = None
        self.ingest_topic: str | None = None
        self.ingest_topic_arn: str | None = None
        self.configuration_arn: str | None = None
        self.log_group_name: str | None = None
        if not props.create:
            return
        self.cluster = self._provisioned() if props.deployment == "provisioned" else self._serverless()
        self.arn = self.cluster.arn
        self.cluster_name = self.cluster.cluster_name
        self.cluster_uuid = self.cluster.cluster_uuid
        self.bootstrap_brokers_sasl_iam = self.cluster.bootstrap_brokers_sasl_iam
        self.ingest_topic = props.ingest_topic
        self.ingest_topic_arn = self.topic_arn(props.ingest_topic)
        if props.deployment == "provisioned":
            self.watches = (kafka_cluster_watch(self.cluster_name, props.broker_count),)

    def topic_arn(self, topic: str) -> str:
        """ARN of one topic of this cluster."""
        p = self.props
        return kafka_arn(p.partition, p.region, p.account_id, self.cluster_name, self.cluster_uuid, "topic", topic)

    def group_arn(self, group: str) -> str:
        """ARN of one consumer group of this cluster."""
        p = self.props
        return kafka_arn(p.partition, p.region, p.account_id, self.cluster_name, self.cluster_uuid, "group", group)

    def _provisioned(self):
        CloudwatchLogGroup = aws.cloudwatch_log_group.CloudwatchLogGroup
        binding = aws.msk_cluster
        Cluster = binding.MskCluster
        MskClusterBrokerNodeGroupInfo = binding.MskClusterBrokerNodeGroupInfo
        MskClusterBrokerNodeGroupInfoConnectivityInfo = binding.MskClusterBrokerNodeGroupInfoConnectivityInfo
        MskClusterBrokerNodeGroupInfoConnectivityInfoPublicAccess = (
            binding.MskClusterBrokerNodeGroupInfoConnectivityInfoPublicAccess)
        MskClusterBrokerNodeGroupInfoStorageInfo = binding.MskClusterBrokerNodeGroupInfoStorageInfo
        MskClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfo = (
            binding.MskClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfo)
        MskClusterClientAuthentication = binding.MskClusterClientAuthentication
        MskClusterClientAuthenticationSasl = binding.MskClusterClientAuthenticationSasl
        MskClusterConfigurationInfo = binding.MskClusterConfigurationInfo
        MskClusterEncryptionInfo = binding.MskClusterEncryptionInfo
        MskClusterEncryptionInfoEncryptionInTransit = binding.MskClusterEncryptionInfoEncryptionInTransit
        MskClusterLoggingInfo = binding.MskClusterLoggingInfo
        MskClusterLoggingInfoBrokerLogs = binding.MskClusterLoggingInfoBrokerLogs
        MskClusterLoggingInfoBrokerLogsCloudwatchLogs = binding.MskClusterLoggingInfoBrokerLogsCloudwatchLogs
        MskConfiguration = aws.msk_configuration.MskConfiguration

        p = self.props
        tags = dict(p.tags)
        configuration = MskConfiguration(
            self, "configuration", name=f"{p.name}-brokers", kafka_versions=[p.kafka_version],
            description="No topic auto-creation; replicated, acks=all-safe defaults",
            server_properties=server_properties(p))
        self.configuration_arn = configuration.arn
        log_group = CloudwatchLogGroup(self, "broker_logs", name=f"/aws/msk/{p.name}",
                                       retention_in_days=p.log_retention_days, kms_key_id=p.kms_key_arn, tags=tags)
        self.log_group_name = log_group.name
        return Cluster(
            self, "cluster", cluster_name=p.name, kafka_version=p.kafka_version,
            number_of_broker_nodes=p.broker_count, enhanced_monitoring=p.enhanced_monitoring,
            broker_node_group_info=MskClusterBrokerNodeGroupInfo(
                instance_type=p.broker_instance_type, client_subnets=list(p.subnet_ids),
                security_groups=list(p.security_group_ids), az_distribution="DEFAULT",
                connectivity_info=MskClusterBrokerNodeGroupInfoConnectivityInfo(
                    public_access=MskClusterBrokerNodeGroupInfoConnectivityInfoPublicAccess(type="DISABLED")),
                storage_info=MskClusterBrokerNodeGroupInfoStorageInfo(
                    ebs_storage_info=MskClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfo(
                        volume_size=p.ebs_volume_gb))),
            client_authentication=MskClusterClientAuthentication(
                unauthenticated=False, sasl=MskClusterClientAuthenticationSasl(iam=True, scram=False)),
            encryption_info=MskClusterEncryptionInfo(
                encryption_at_rest_kms_key_arn=p.kms_key_arn,
                encryption_in_transit=MskClusterEncryptionInfoEncryptionInTransit(client_broker="TLS",
                                                                                   in_cluster=True)),
            configuration_info=MskClusterConfigurationInfo(arn=configuration.arn,
                                                           revision=configuration.latest_revision),
            logging_info=MskClusterLoggingInfo(broker_logs=MskClusterLoggingInfoBrokerLogs(
                cloudwatch_logs=MskClusterLoggingInfoBrokerLogsCloudwatchLogs(enabled=True,
                                                                              log_group=log_group.name))),
            tags=tags)

    def _serverless(self):
        binding = aws.msk_serverless_cluster
        MskServerlessCluster = binding.MskServerlessCluster
        MskServerlessClusterClientAuthentication = binding.MskServerlessClusterClientAuthentication
        MskServerlessClusterClientAuthenticationSasl = binding.MskServerlessClusterClientAuthenticationSasl
        MskServerlessClusterClientAuthenticationSaslIam = binding.MskServerlessClusterClientAuthenticationSaslIam
        MskServerlessClusterVpcConfig = binding.MskServerlessClusterVpcConfig

        p = self.props
        return MskServerlessCluster(
            self, "cluster", cluster_name=p.name,
            vpc_config=[MskServerlessClusterVpcConfig(subnet_ids=list(p.subnet_ids),
                                                      security_group_ids=list(p.security_group_ids))],
            client_authentication=MskServerlessClusterClientAuthentication(
                sasl=MskServerlessClusterClientAuthenticationSasl(
                    iam=MskServerlessClusterClientAuthenticationSaslIam(enabled=True))),
            tags=dict(p.tags))
