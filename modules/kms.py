"""KmsKey: the platform's customer-managed KMS key (rotation on) with an alias and a scoped key policy.

Key policy (least privilege, no ``Principal: "*"``):

* ``KeyAdministration``: the account root (i.e. IAM policies in the account decide who) may manage the
  key (describe, policy, tags, rotation, deletion scheduling, list/revoke/retire grants) but not use it
  directly;
* ``AllowGrantsForAwsResources``: the account root may create grants only through an AWS service
  (``kms:GrantIsForAWSResource``), e.g. EC2 encrypting an EMR node's EBS volume;
* ``AllowUseThroughAwsServices``: principals of this account may encrypt/decrypt/generate data keys
  only through the listed services (``kms:ViaService`` = ``<svc>.<region>.amazonaws.com``; default S3,
  Kinesis, Lambda, SQS), still subject to their own IAM policies;
* ``AllowCloudWatchLogs``: the ``logs.<region>.amazonaws.com`` service principal, constrained by the
  ``kms:EncryptionContext:aws:logs:arn`` of this account's log groups;
* ``AllowDirectUseByNamedRoles`` (optional): principals of this account whose ARN matches one of
  ``direct_principal_arn_patterns`` (``aws:PrincipalArn``) may call KMS directly, e.g. the EMR
  instance role (local-disk encryption keys are requested by the nodes themselves) and the Glue job
  roles (client-side encrypted job bookmarks). A pattern does not need the role to exist yet, so
  the key can be created before the roles that use it;
* ``AllowServicesPublishingForThisAccount`` (optional): service principals (CloudWatch alarms, EventBridge
  rules) may generate data keys and decrypt for this account's resources (``aws:SourceAccount``), to publish to
  a topic encrypted with the key;
* ``AllowDirectUse`` (optional): named role ARNs that may call KMS directly.

Services: ``glue`` (Data Catalog encryption, Glue jobs), ``ec2`` (EBS volumes of EMR nodes) and
``athena`` can be added to ``via_services`` by the stack when those services are composed.
"""
from __future__ import annotations

from constructs import Construct

from .iam import Condition, Statement, policy_document
from .kms_props import OUTPUTS, KmsKeyProps
from ._bindings import aws, core

__all__ = ["OUTPUTS", "KmsKey", "KmsKeyProps"]

KEY_ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
    "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant",
    "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription",
)
"""Management actions granted to the account root (no cryptographic use). ``kms:CreateGrant`` is not one of
them: see :data:`GRANT_ACTIONS`."""

GRANT_ACTIONS: tuple[str, ...] = ("kms:CreateGrant",)
"""Granted to the account root only with ``kms:GrantIsForAWSResource`` = true: a grant can hand the key's
cryptographic use to any principal, so only AWS services integrated with KMS (EC2 for EMR's EBS volumes)
may create one, on behalf of a principal whose own IAM policy allows it."""

KEY_USE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
)
"""Cryptographic actions granted through AWS services or to direct users."""


class KmsKey(Construct):
    """Customer-managed symmetric KMS key with rotation on, an alias and a least-privilege key policy.

    Options: :class:`KmsKeyProps`; outputs: :data:`OUTPUTS` (``modules/kms_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: KmsKeyProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.key = None
        self.arn: str | None = None
        self.key_id: str | None = None
        self.alias_name: str | None = None
        self.alias_arn: str | None = None
        self.policy: str | None = None
        if not props.create:
            return

        TerraformResourceLifecycle = core.TerraformResourceLifecycle
        KmsAlias = aws.kms_alias.KmsAlias
        KmsKeyResource = aws.kms_key.KmsKey

        self.policy = policy_document(self._statements(), resource_policy=True)
        self.key = KmsKeyResource(
            self, "key",
            description=props.description,
            deletion_window_in_days=props.deletion_window_days,
            enable_key_rotation=True,
            rotation_period_in_days=props.rotation_period_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            multi_region=False,
            policy=self.policy,
            tags=dict(props.tags),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )
        alias = KmsAlias(self, "alias", name=f"alias/{props.alias}", target_key_id=self.key.key_id)
        self.arn = self.key.arn
        self.key_id = self.key.key_id
        self.alias_name = alias.name
        self.alias_arn = alias.arn

    def _statements(self) -> list[Statement]:
        p = self.props
        root = f"arn:{p.partition}:iam::{p.account_id}:root"
        statements = [
            Statement(sid="KeyAdministration", principals={"AWS": (root,)}, actions=KEY_ADMIN_ACTIONS,
                      resources=("*",)),
            Statement(sid="AllowGrantsForAwsResources", principals={"AWS": (root,)}, actions=GRANT_ACTIONS,
                      resources=("*",),
                      conditions=(Condition("Bool", "kms:GrantIsForAWSResource", ("true",)),)),
        ]
        if p.via_services:
            statements.append(Statement(
                sid="AllowUseThroughAwsServices", principals={"AWS": (root,)}, actions=KEY_USE_ACTIONS,
                resources=("*",),
                conditions=(
                    Condition("StringEquals", "kms:CallerAccount", (p.account_id,)),
                    Condition("StringEquals", "kms:ViaService",
                              tuple(f"{svc}.{p.region}.amazonaws.com" for svc in p.via_services)),
                ),
            ))
        if p.allow_cloudwatch_logs:
            statements.append(Statement(
                sid="AllowCloudWatchLogs", principals={"Service": (f"logs.{p.region}.amazonaws.com",)},
                actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
                         "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"),
                resources=("*",),
                conditions=(Condition("ArnLike", "kms:EncryptionContext:aws:logs:arn",
                                      (f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:*",)),),
            ))
        if p.service_principals:
            statements.append(Statement(
                sid="AllowServicesPublishingForThisAccount", principals={"Service": tuple(p.service_principals)},
                actions=("kms:Decrypt", "kms:GenerateDataKey"), resources=("*",),
                conditions=(Condition("StringEquals", "aws:SourceAccount", (p.account_id,)),),
            ))
        if p.direct_principal_arn_patterns:
            statements.append(Statement(
                sid="AllowDirectUseByNamedRoles", principals={"AWS": (root,)}, actions=KEY_USE_ACTIONS,
                resources=("*",),
                conditions=(
                    Condition("StringEquals", "kms:CallerAccount", (p.account_id,)),
                    Condition("ArnLike", "aws:PrincipalArn", tuple(p.direct_principal_arn_patterns)),
                ),
            ))
        if p.direct_user_arns:
            statements.append(Statement(
                sid="AllowDirectUse", principals={"AWS": tuple(p.direct_user_arns)}, actions=KEY_USE_ACTIONS,
                resources=("*",),
            ))
        return statements
