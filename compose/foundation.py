"""The foundation every layer builds on: the environment's naming and tags, the account and partition, the
platform's KMS key and the lake's buckets.

The key policy lets account principals use the key only through the services the layers name, plus the
roles the layers name that must call KMS directly (each layer's ``key_users``), so the key is created
before any of those roles exists.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from compose.outputs import Outputs, StackOutput
from environments import EnvironmentConfig
from modules.kms_props import KmsKeyProps
from modules.s3_lake_props import ACCESS_LOGS, LAKE_LAYERS, DataLakeStorageProps
from modules._bindings import aws

OUTPUTS: tuple[StackOutput, ...] = (
    *(StackOutput(f"{layer}_bucket", "s3_lake", f"Name of the {layer.replace('_', '-')} bucket")
      for layer in (*LAKE_LAYERS, ACCESS_LOGS)),
    StackOutput("kms_key_arn", "kms", "ARN of the platform's customer-managed KMS key"),
    StackOutput("region", None, "AWS region of the stack"),
    StackOutput("environment", None, "Environment name"),
    StackOutput("name_prefix", None, "Prefix of every resource name"),
)


@dataclass(frozen=True)
class KeyUsers:
    """What a layer needs from the KMS key policy."""

    via_services: tuple[str, ...] = ()
    """Services through which account principals may use the key (``kms:ViaService``)."""

    role_patterns: tuple[str, ...] = ()
    """Role ARN patterns that may call KMS directly (their own IAM policy still applies)."""

    service_principals: tuple[str, ...] = ()
    """Service principals that encrypt with the key on this account's behalf (e.g. CloudWatch alarms publishing
    to an encrypted topic)."""


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The lake's buckets encrypt with the key through S3."""
    return KeyUsers(via_services=("s3",))


@dataclass
class Naming:
    """Names and lookups shared by every layer of one stack."""

    config: EnvironmentConfig
    prefix: str
    tags: dict[str, str]
    account_id: str
    """Token: the caller's account id."""
    partition: str
    """Token: the AWS partition."""

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"


@dataclass
class Foundation:
    """What a layer receives: the stack, the naming, the key, the lake and the outputs."""

    stack: object
    naming: Naming
    key: object
    """:class:`modules.kms.KmsKey`."""
    lake: object
    """:class:`modules.s3_lake.DataLakeStorage`."""
    outputs: Outputs
    network: object = None
    """:class:`modules.network.Network` (set by the network layer)."""
    warehouse: object = None
    """:class:`modules.redshift.RedshiftWarehouse` (set by the warehouse layer, before the batch layer, whose
    warehouse load job uses it); ``None`` where Redshift is off."""


def naming(stack, config: EnvironmentConfig) -> Naming:
    DataAwsCallerIdentity = aws.data_aws_caller_identity.DataAwsCallerIdentity
    DataAwsPartition = aws.data_aws_partition.DataAwsPartition

    return Naming(config=config, prefix=config.name_prefix, tags=dict(config.tags),
                  account_id=DataAwsCallerIdentity(stack, "caller").account_id,
                  partition=DataAwsPartition(stack, "partition").partition)


def build(stack, names: Naming, users: Iterable[KeyUsers], outputs: Outputs) -> Foundation:
    """The KMS key (its policy from every layer's :class:`KeyUsers`) and the lake's buckets."""
    from modules.kms import KmsKey
    from modules.s3_lake import DataLakeStorage

    config, prefix, tags = names.config, names.prefix, names.tags
    users = list(users)
    key = KmsKey(stack, "kms", KmsKeyProps(
        alias=f"{prefix}-lake", account_id=names.account_id, region=config.region, partition=names.partition,
        description=f"{prefix}: lake, stream, queue, catalog, job and log encryption",
        **config.kms.values_for(KmsKeyProps), **config.values_for(KmsKeyProps),
        via_services=tuple(dict.fromkeys(s for u in users for s in u.via_services)),
        direct_principal_arn_patterns=tuple(p for u in users for p in u.role_patterns),
        service_principals=tuple(dict.fromkeys(s for u in users for s in u.service_principals)),
        tags=tags, create=config.services.kms,
    ))
    if key.arn:
        outputs.emit("kms_key_arn", key.arn)

    account = config.account
    suffix = [p for p in (account.bucket_suffix, names.account_id if account.append_account_id else "") if p]
    lake = DataLakeStorage(stack, "lake", DataLakeStorageProps(
        name_prefix=prefix, account_id=names.account_id, partition=names.partition, kms_key_arn=key.arn,
        bucket_suffix="-".join(suffix), lifecycle=config.lifecycle.rules(), force_destroy=config.force_destroy,
        **config.values_for(DataLakeStorageProps), tags=tags, create=config.services.s3_lake,
    ))
    for layer, name in lake.bucket_names.items():
        outputs.emit(f"{layer}_bucket", name)
    return Foundation(stack=stack, naming=names, key=key, lake=lake, outputs=outputs)


def finish(foundation: Foundation) -> None:
    """The outputs every stack has."""
    config = foundation.naming.config
    foundation.outputs.emit("region", config.region)
    foundation.outputs.emit("environment", config.name)
    foundation.outputs.emit("name_prefix", foundation.naming.prefix)
