"""Options of :class:`modules.msk.MskCluster` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .kafka_topics_props import TOPIC_PATTERN
from .options import (
    Limit, Props, Rule, between, create_option, log_retention, matches, one_of, option, outputs, tags_option,
)

DEPLOYMENTS = ("provisioned", "serverless")
ENHANCED_MONITORING = ("DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION")
SASL_IAM_PORT = 9098
"""Port of the brokers' SASL/IAM listener inside the VPC."""


def kafka_arn(partition: str, region: str, account_id: str, cluster_name: str, cluster_uuid: str, kind: str,
              name: str) -> str:
    """ARN of a topic (``kind = "topic"``) or consumer group (``"group"``) of one MSK cluster, as the
    ``kafka-cluster:*`` actions take it: ``arn:<p>:kafka:<region>:<account>:<kind>/<cluster>/<uuid>/<name>``."""
    return f"arn:{partition}:kafka:{region}:{account_id}:{kind}/{cluster_name}/{cluster_uuid}/{name}"


@dataclass(frozen=True)
class MskClusterProps(Props):
    """Options of :class:`modules.msk.MskCluster`."""

    name: str = option(limit=matches(r"[a-zA-Z][a-zA-Z0-9-]{0,63}", "1-64 letters, digits and hyphens"),
                       doc="Cluster name, e.g. ``lakeforge-dev``.")
    subnet_ids: tuple[str, ...] = option(
        limit=Limit("at least two subnets, in different zones (tokens allowed)", lambda v: len(v) >= 2,
                    terraform="length({v}) >= 2"),
        doc="Private subnets (the network construct's), one per availability zone the brokers spread over.")
    security_group_ids: tuple[str, ...] = option(
        limit=Limit("at least one security group", lambda v: len(v) >= 1, terraform="length({v}) >= 1"),
        doc="Security groups of the brokers (the network's data services group: its members reach the SASL/IAM "
            f"listener on {SASL_IAM_PORT}, nothing else does).")
    kms_key_arn: str = option(doc="Key of the data at rest (provisioned) and of the broker log group.")
    region: str = option(doc="Region of the cluster (topic and group ARNs).")
    account_id: str = option(doc="Account of the cluster (token allowed; topic and group ARNs).")
    ingest_topic: str = option(limit=matches(TOPIC_PATTERN, "a Kafka topic name"),
                               doc="The platform's ingest topic (the one the ingest function consumes; the stacks pass "
                                   "``data_contracts.topics.INGEST_TOPIC``).")
    topic_partitions: int = option(
        limit=between(1, 1000, "partitions"),
        doc="Partitions of the ingest topic (the consumer's parallelism: Lambda polls each partition in order). "
            "Also the cluster's ``num.partitions``. The stacks pass ``data_contracts.topics.INGEST_TOPIC_PARTITIONS``.")
    partition: str = option("aws", doc="AWS partition for ARNs.")
    deployment: str = option(
        "provisioned", limit=one_of(*DEPLOYMENTS),
        doc="``provisioned`` (brokers you size, a configuration, KMS with the lake key, broker logs, enhanced "
            "monitoring) or ``serverless`` (capacity on demand; encrypted with an AWS-managed key, no broker "
            "configuration, logs or monitoring level to set).")
    kafka_version: str = option("3.6.0", limit=matches(r"\d+\.\d+\.\d+(\.tiered)?", "a Kafka version, e.g. 3.6.0"),
                                doc="Provisioned: Apache Kafka version of the brokers and the configuration.")
    broker_instance_type: str = option(
        "kafka.m7g.large", limit=matches(r"kafka\.[a-z0-9]+\.[a-z0-9]+", "an MSK broker type (kafka.<family>.<size>)"),
        doc="Provisioned: broker instance type.")
    broker_count: int = option(3, limit=between(2, 30, "brokers"),
                               doc="Provisioned: brokers (a multiple of the subnets: as many in each zone).")
    ebs_volume_gb: int = option(100, limit=between(1, 16384, "GiB"), doc="Provisioned: EBS storage per broker.")
    enhanced_monitoring: str = option(
        "PER_TOPIC_PER_BROKER", limit=one_of(*ENHANCED_MONITORING),
        doc="Provisioned: CloudWatch metrics level (``PER_TOPIC_PER_BROKER`` shows each topic's bytes in and out per "
            "broker; ``DEFAULT`` is free, the others cost per metric).")
    log_retention_days: int = option(365, limit=log_retention(),
                                     doc="Provisioned: retention of the broker log group ``/aws/msk/<name>`` (KMS).")
    replication_factor: int = option(
        3, limit=between(2, 3),
        doc="Provisioned: ``default.replication.factor`` (at most the brokers; MSK Serverless always keeps 3).")
    min_insync_replicas: int = option(
        2, limit=between(1, 2),
        doc="Provisioned: ``min.insync.replicas``: with ``acks=all`` a write succeeds only once this many replicas "
            "have it (below the replication factor, so one broker may be down).")
    retention_hours: int = option(168, limit=between(1, 8760, "hours"),
                                  doc="Provisioned: ``log.retention.hours`` of the topics.")
    tags: dict[str, str] = tags_option()
    create: bool = create_option()

    RULES = (
        Rule(("replication_factor", "broker_count"), lambda rf, n: rf <= n,
             "replication_factor: at most broker_count"),
        Rule(("min_insync_replicas", "replication_factor"), lambda isr, rf: isr < rf,
             "min_insync_replicas: must be below replication_factor (else one broker down stops every write)"),
        Rule(("broker_count", "subnet_ids"), lambda n, subnets: n % len(subnets) == 0,
             "broker_count: must be a multiple of the subnets (as many brokers in each zone)"),
    )


OUTPUTS = outputs(
    ("cluster", "The ``aws_msk_cluster`` (or ``aws_msk_serverless_cluster``) resource."),
    ("arn", "ARN of the cluster (the event source mapping's ``event_source_arn``)."),
    ("cluster_name", "Name of the cluster."),
    ("cluster_uuid", "UUID of the cluster (in its topic and group ARNs)."),
    ("bootstrap_brokers_sasl_iam", "Private SASL/IAM bootstrap brokers (``host:9098,...``)."),
    ("ingest_topic", "Name of the ingest topic."),
    ("ingest_topic_arn", "ARN of the ingest topic (what ``kafka-cluster:*ReadData`` and friends are scoped to)."),
    ("configuration_arn", "Provisioned: ARN of the ``aws_msk_configuration``."),
    ("log_group_name", "Provisioned: the broker log group."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
