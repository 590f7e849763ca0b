"""Options of :class:`modules.kms.KmsKey` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .options import Props, between, create_option, option, outputs, tags_option

@dataclass(frozen=True)
class KmsKeyProps(Props):
    """Options of :class:`KmsKey`."""

    alias: str = option(doc="Alias name without the ``alias/`` prefix, e.g. ``lakeforge-dev-lake``.")
    account_id: str = option(
        doc="Account that owns the key (token allowed, e.g. from ``aws_caller_identity``).")
    region: str = option(
        doc="Region of the key; used for the ``kms:ViaService`` and CloudWatch Logs principals.")
    partition: str = option("aws", doc="AWS partition for ARNs.")
    description: str = option("lakeforge data lake key", doc="Key description.")
    deletion_window_days: int = option(
        30, limit=between(7, 30),
        doc="Days between ``ScheduleKeyDeletion`` and the actual deletion.")
    rotation_period_days: int = option(
        365, limit=between(90, 2560),
        doc="Automatic rotation period in days; rotation is always enabled.")
    via_services: tuple[str, ...] = option(
        ("s3", "kinesis", "lambda", "sqs"),
        doc="Service endpoints (prefix of ``<svc>.<region>.amazonaws.com``) through which account "
            "principals may use the key.")
    allow_cloudwatch_logs: bool = option(
        True,
        doc="Let CloudWatch Logs encrypt this account's log groups with the key.")
    service_principals: tuple[str, ...] = option(
        (),
        doc="Service principals (``cloudwatch.amazonaws.com``, ``events.amazonaws.com``) that may generate data keys "
            "and decrypt on behalf of this account (``aws:SourceAccount``): what CloudWatch alarms and EventBridge "
            "rules need to publish to a topic encrypted with the key. Default none.")
    direct_user_arns: tuple[str, ...] = option(
        (),
        doc="Extra IAM principal ARNs allowed to call KMS directly (e.g. a break-glass role). Default "
            "none. KMS rejects a policy naming a principal that does not exist yet: prefer the patterns "
            "below for roles created in the same stack.")
    direct_principal_arn_patterns: tuple[str, ...] = option(
        (),
        doc="``aws:PrincipalArn`` patterns (``ArnLike``, e.g. "
            "``arn:aws:iam::<acct>:role/lakeforge-dev-emr-ec2``) of this account's roles allowed to call "
            "KMS directly, not only through ``via_services``. Still subject to the role's own IAM policy. "
            "Default none.")
    prevent_destroy: bool = option(
        False,
        doc="Terraform ``lifecycle.prevent_destroy`` on the key: a plan that would schedule its deletion "
            "(or replace it) fails, so ``terraform destroy`` stops before changing anything. For prod; to "
            "really delete, deploy with it off first.")
    tags: dict[str, str] = tags_option("the key")
    create: bool = create_option()


OUTPUTS = outputs(
    ("key", "The ``aws_kms_key`` resource."),
    ("arn", "ARN of the key."),
    ("key_id", "Id of the key."),
    ("alias_name", "``alias/<alias>``."),
    ("alias_arn", "ARN of the alias."),
    ("policy", "The key policy (JSON)."),
)
