"""Options of :class:`modules.lambda_function.PythonFunction` (standard library only: see
:mod:`modules.options`)."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .iam import Statement
from .monitoring_props import AppMetrics
from .options import (
    Props, Rule, at_least, between, create_option, log_retention, one_of, option, or_value, outputs, tags_option,
)


def code_sha256(package: bytes) -> str:
    """``base64(sha256(package))``: what Lambda reports as ``CodeSha256`` and Terraform's ``source_code_hash``
    compares, so a function is redeployed exactly when its package's bytes change."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()


def ec2_arn(kind: str, ident: str) -> str:
    """ARN pattern of an EC2 resource by id (subnet and security group ids are unique across regions and
    accounts; an identity policy acts in its own account only)."""
    return f"arn:*:ec2:*:*:{kind}/{ident}"


def network_interface_statements(sid: str, subnet_ids, security_group_ids) -> tuple[Statement, ...]:
    """Create network interfaces in these subnets with these security groups only, and delete network
    interfaces: what Lambda does under a role to reach a VPC (a function in it, an MSK poller)."""
    return (
        Statement(sid=f"{sid}CreateNetworkInterfaces", actions=("ec2:CreateNetworkInterface",),
                  resources=(ec2_arn("network-interface", "*"), *(ec2_arn("subnet", s) for s in subnet_ids),
                             *(ec2_arn("security-group", g) for g in security_group_ids))),
        Statement(sid=f"{sid}DeleteNetworkInterfaces", actions=("ec2:DeleteNetworkInterface",),
                  resources=(ec2_arn("network-interface", "*"),)),
    )


@dataclass(frozen=True)
class PythonFunctionProps(Props):
    """Options of :class:`modules.lambda_function.PythonFunction`."""

    function_name: str = option(doc="Function name (also names the role, log group and failure queue).")
    zip_path: Path = option(doc="Prebuilt deployment package (zip). Must exist at synth time.")
    handler: str = option("app.lambda_handler", doc="``module.function`` inside the zip.")
    runtime: str = option("python3.12", doc="Lambda runtime.")
    architecture: str = option("arm64", limit=one_of("arm64", "x86_64"),
                               doc="``arm64`` (Graviton, cheaper) or ``x86_64``.")
    memory_mb: int = option(256, limit=between(128, 10240, "MB"), doc="Memory in MB.")
    timeout_seconds: int = option(60, limit=between(1, 900, "s"), doc="Timeout in seconds.")
    reserved_concurrency: int = option(
        10, limit=or_value(-1, at_least(0)),
        doc="Reserved concurrent executions; caps cost and downstream pressure. ``-1`` = unreserved.")
    description: str = option("", doc="Function description.")
    environment: Mapping[str, str] = option(
        default_factory=dict,
        doc="Environment variables (no secrets: they are visible to anyone who can read the config).")
    kms_key_arn: str | None = option(
        None,
        doc="Customer-managed key for the environment variables, the log group and the failure queue. "
            "``None`` uses AWS-managed encryption everywhere.")
    log_retention_days: int = option(365, limit=log_retention(), doc="Retention of ``/aws/lambda/<name>``.")
    tracing: bool = option(True, doc="X-Ray active tracing.")
    failure_queue_retention_seconds: int = option(
        1_209_600, limit=between(60, 1_209_600, "s"),
        doc="How long failed events stay in the failure queue (at most 14 days).")
    async_max_retry_attempts: int = option(
        2, limit=between(0, 2),
        doc="Retries of a failed asynchronous invocation before it goes to the failure queue.")
    async_max_event_age_seconds: int = option(
        21_600, limit=between(60, 21_600, "s"),
        doc="Maximum age of an asynchronous event before it goes to the failure queue.")
    code_signing_config_arn: str | None = option(
        None,
        doc="AWS Signer code-signing config to enforce on deployments (``None``: not enforced; the "
            "package is built reproducibly in-repo, see ``bundling/lambda_zip.py``).")
    subnet_ids: tuple[str, ...] = option(
        (),
        doc="Private subnets to run the function in (``vpc_config``; tokens allowed); empty = outside any VPC. "
            "The role then gets the network-interface grants Lambda needs there (create in these subnets and "
            "``security_group_ids`` only, delete, and the look-ups). Without a NAT the function reaches AWS "
            "through the VPC's endpoints only.")
    security_group_ids: tuple[str, ...] = option(
        (), doc="Security groups of the function's network interfaces (with ``subnet_ids``).")
    policy_statements: tuple[Statement, ...] = option(
        (),
        doc="Extra least-privilege grants for the execution role (see :mod:`modules.iam`).")
    app_metrics: AppMetrics | None = option(
        None, doc="The metrics its code publishes (EMF): given, it alarms on their failures and graphs their "
                  "counts. Default none.")
    tags: dict[str, str] = tags_option("every taggable resource (function, role, log group, queue)")
    create: bool = create_option()

    RULES = (
        Rule(("subnet_ids", "security_group_ids"), lambda subnets, groups: bool(subnets) == bool(groups),
             "security_group_ids: subnet_ids and security_group_ids go together (a function in a VPC needs both)"),
    )


OUTPUTS = outputs(
    ("function", "The ``aws_lambda_function`` resource."),
    ("function_name", "Name of the function."),
    ("arn", "ARN of the function."),
    ("invoke_arn", "Invoke ARN of the function (what an API Gateway Lambda authorizer or integration URI takes)."),
    ("role", "The execution role (``aws_iam_role``)."),
    ("role_name", "Name of the execution role."),
    ("role_arn", "ARN of the execution role."),
    ("log_group_name", "``/aws/lambda/<name>``."),
    ("failure_queue_url", "URL of the failure queue (dead letters, async and event-source failures)."),
    ("failure_queue_arn", "ARN of the failure queue."),
    ("code_hash", "``base64(sha256(zip))``, the deployed ``source_code_hash``."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
