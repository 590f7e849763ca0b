"""Options of :class:`modules.emr.EmrCluster` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .iam import S3Access
from .options import (
    Limit, Props, at_least, between, create_option, matches, non_empty, one_of, option, outputs, tags_option,
)

ACTIONS_ON_FAILURE = ("TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE", "TERMINATE_JOB_FLOW")
EMR_MANAGED_POLICY_TAG = {"for-use-with-amazon-emr-managed-policies": "true"}
"""Tag that ``AmazonEMRServicePolicy_v2`` requires on the subnet and security groups it may use."""

SUBNET_ID_PATTERN = r"subnet-[0-9a-f]{8,17}"
_EMR_RELEASE = re.compile(r"emr-(\d+)\.\d+\.\d+")
MAX_ROLE_NAME = 64


def instance_role_name(name: str) -> str:
    """Name of the instance role (and profile) of cluster ``name``: ``<name>-ec2``."""
    return f"{name}-ec2"


def service_role_name(name: str) -> str:
    """Name of the EMR service role of cluster ``name``: ``<name>-service``."""
    return f"{name}-service"


@dataclass(frozen=True)
class EmrStep(Props):
    """One cluster step (``command-runner.jar`` by default)."""

    name: str = option(doc="Step name.")
    args: tuple[str, ...] = option(
        limit=non_empty("at least one argument"),
        doc="Arguments of the jar, e.g. ``(\"spark-submit\", \"--deploy-mode\", \"cluster\", "
            "\"s3://.../job.py\", ...)``.")
    action_on_failure: str = option(
        "TERMINATE_CLUSTER", limit=one_of(*ACTIONS_ON_FAILURE),
        doc="What EMR does when the step fails.")
    jar: str = option("command-runner.jar", doc="Step jar.")


@dataclass(frozen=True)
class EmrClusterProps(Props):
    """Options of :class:`modules.emr.EmrCluster`."""

    name: str = option(
        limit=Limit(f"at most {MAX_ROLE_NAME - len('-service')} characters (it names the roles)",
                    lambda v: len(service_role_name(v)) <= MAX_ROLE_NAME,
                    terraform=f"length({{v}}) <= {MAX_ROLE_NAME - len('-service')}"),
        doc="Cluster name (also names the roles, groups and security configuration), e.g. "
            "``lakeforge-dev-backfill``.")
    subnet_id: str = option(
        limit=matches(SUBNET_ID_PATTERN, "a subnet id (subnet-...)"),
        doc="Private subnet id (token allowed, e.g. a Terraform variable), tagged "
            "``for-use-with-amazon-emr-managed-policies = true``, reaching S3 through a gateway endpoint.")
    steps: tuple[EmrStep, ...] = option(
        limit=non_empty("a transient cluster needs at least one step (it terminates after the last)"),
        doc="Steps, run in order.")
    artifacts_bucket: str = option(doc="Bucket (name) for the logs and the uploads.")
    artifacts_bucket_arn: str = option(doc="ARN of ``artifacts_bucket``.")
    kms_key_arn: str = option(
        doc="Lake key: security configuration (S3, local disks, EBS), log encryption, uploads.")
    account_id: str = option(doc="Account id (token allowed): trust-policy conditions.")
    region: str = option(doc="Region of the cluster.")
    partition: str = option("aws", doc="ARN partition (token allowed).")
    release_label: str = option(
        "emr-7.5.0",
        limit=Limit("an EMR 7 release, e.g. emr-7.5.0",
                    lambda v: bool(_EMR_RELEASE.fullmatch(v)) and int(_EMR_RELEASE.fullmatch(v).group(1)) >= 7,
                    terraform='can(regex("^emr-([0-9]+)[.][0-9]+[.][0-9]+$", {v})) && '
                              'tonumber(regex("^emr-([0-9]+)", {v})[0]) >= 7'),
        doc="EMR release (7.x: Spark 3.5, Python 3.9+ on Amazon Linux 2023).")
    applications: tuple[str, ...] = option(("Spark",), doc="EMR applications.")
    master_instance_type: str = option("m6g.xlarge", doc="Primary node instance type.")
    core_instance_type: str = option("m6g.xlarge", doc="Core node instance type.")
    core_instance_count: int = option(2, limit=at_least(1), doc="Core nodes.")
    ebs_size_gb: int = option(64, limit=between(32, 16384, "GB"), doc="gp3 EBS volume per core node.")
    idle_timeout_seconds: int = option(
        3600, limit=between(60, 604800, "s"),
        doc="Auto-termination after this idle time: a backstop, the cluster already ends after its last "
            "step.")
    log_prefix: str = option(
        "emr-logs/",
        limit=Limit("like emr-logs/ (no leading slash, trailing slash)",
                    lambda v: v.endswith("/") and not v.startswith("/"),
                    terraform='endswith({v}, "/") && !startswith({v}, "/")'),
        doc="Key prefix of the cluster logs in ``artifacts_bucket``.")
    s3_access: tuple[S3Access, ...] = option(
        (),
        doc="Data grants of the instance role (what the steps read and write).")
    uploads: Mapping[str, Path] = option(
        default_factory=dict,
        doc="Step code to upload to ``artifacts_bucket``: key -> local file (readable by the instance "
            "role).")
    in_transit_certificates_s3_uri: str = option(
        "",
        doc="S3 URI of a zip of PEM certificates; set = in-transit encryption on (see the module "
            "docstring).")
    configurations_json: str | None = option(
        None,
        doc="EMR configurations (JSON list of classifications), e.g. ``spark-defaults``.")
    tags: dict[str, str] = tags_option()
    create: bool = create_option()


OUTPUTS = outputs(
    ("cluster", "The ``aws_emr_cluster`` resource."),
    ("cluster_id", "Id of the cluster."),
    ("cluster_arn", "ARN of the cluster."),
    ("security_configuration_name", "Name of the EMR security configuration."),
    ("service_role_arn", "ARN of the EMR service role."),
    ("instance_role_arn", "ARN of the instance role."),
    ("instance_role_name", "Name of the instance role (``<name>-ec2``)."),
    ("instance_profile_arn", "ARN of the instance profile."),
    ("security_group_ids", "Ids of the EMR-managed security groups: ``primary``, ``core``, ``service``."),
    ("log_uri", "``s3://`` URI of the cluster logs."),
    ("upload_uris", "``s3://`` URI of each uploaded file, by key."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
