"""Options of :class:`modules.s3_lake.DataLakeStorage` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .options import Props, Rule, at_least, create_option, matches, option, or_value, outputs, tags_option

LAKE_LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "quarantine", "artifacts", "athena_results")
"""Data buckets, in creation order."""

ACCESS_LOGS = "access_logs"
"""Key of the server-access-log bucket in the outputs."""


@dataclass(frozen=True)
class LifecycleRule(Props):
    """Lifecycle of one bucket (``0`` disables a transition or an expiration)."""

    standard_ia_days: int = option(
        0, limit=or_value(0, at_least(30, ">= 30 (S3 minimum)")),
        doc="Days after creation to transition current versions to STANDARD_IA (0 = never).")
    glacier_days: int = option(
        0, limit=at_least(0),
        doc="Days after creation to transition current versions to GLACIER (0 = never; with STANDARD_IA "
            "at least 30 days later).")
    expiration_days: int = option(
        0, limit=at_least(0),
        doc="Days after creation to expire current versions (0 = never; after every transition).")
    noncurrent_expiration_days: int = option(
        90, limit=at_least(1),
        doc="Days after an object version becomes noncurrent before it is permanently deleted.")
    abort_incomplete_multipart_days: int = option(
        7, limit=at_least(1),
        doc="Days before incomplete multipart uploads are aborted.")

    RULES = (
        Rule(("standard_ia_days", "glacier_days"), lambda ia, gl: not (ia and gl) or gl >= ia + 30,
             "glacier_days: must be >= standard_ia_days + 30"),
        Rule(("standard_ia_days", "glacier_days", "expiration_days"),
             lambda ia, gl, ex: not ex or ex > max(ia, gl),
             "expiration_days: must come after every transition"),
    )


DEFAULT_LIFECYCLE: Mapping[str, LifecycleRule] = MappingProxyType({
    "bronze": LifecycleRule(standard_ia_days=30, glacier_days=90, expiration_days=1825),
    "silver": LifecycleRule(standard_ia_days=90),
    "gold": LifecycleRule(),
    "quarantine": LifecycleRule(expiration_days=90, noncurrent_expiration_days=30),
    "artifacts": LifecycleRule(),
    "athena_results": LifecycleRule(expiration_days=30, noncurrent_expiration_days=1),
    ACCESS_LOGS: LifecycleRule(expiration_days=365, noncurrent_expiration_days=30),
})
"""Lifecycle used for a bucket missing from :attr:`DataLakeStorageProps.lifecycle`."""


@dataclass(frozen=True)
class DataLakeStorageProps(Props):
    """Options of :class:`modules.s3_lake.DataLakeStorage`."""

    name_prefix: str = option(doc="Prefix of every bucket name, e.g. ``lakeforge-dev``.")
    account_id: str = option(
        doc="Account owning the buckets (token allowed); scopes the log-delivery policy "
            "(``aws:SourceAccount``).")
    kms_key_arn: str | None = option(
        None,
        doc="KMS key for SSE-KMS on the data buckets. ``None`` falls back to SSE-S3 (AES256): only for "
            "setups without a customer-managed key; checkov flags it.")
    bucket_suffix: str = option(
        "", limit=matches(r"[a-z0-9-]*", "lowercase letters, digits and hyphens"),
        doc="Appended as ``-<suffix>`` to every bucket name for global uniqueness (token allowed, e.g. "
            "the account id; a token counts as 12 characters in the 63-character check).")
    layers: tuple[str, ...] = option(
        LAKE_LAYERS,
        doc="Data buckets to create (a subset of ``LAKE_LAYERS`` or any lowercase names).")
    lifecycle: Mapping[str, LifecycleRule] = option(
        default_factory=lambda: dict(DEFAULT_LIFECYCLE),
        doc="Lifecycle per bucket key (``bronze`` ... ``access_logs``); a missing key uses "
            "``DEFAULT_LIFECYCLE``.")
    versioning: bool = option(
        True,
        doc="Enable versioning (noncurrent versions expire per lifecycle). Disable only for scratch "
            "buckets.")
    access_logging: bool = option(
        True,
        doc="Create the ``access_logs`` bucket and enable server access logging on every data bucket.")
    enforce_tls: bool = option(True, doc="Attach the deny-``aws:SecureTransport=false`` bucket policy.")
    event_bridge_notifications: bool = option(
        True,
        doc="Send the buckets' object events to Amazon EventBridge (free on the default bus; lets "
            "pipelines react to new objects without per-bucket notification plumbing).")
    force_destroy: bool = option(
        False,
        doc="Allow ``terraform destroy`` to delete non-empty buckets. Local/emulator only.")
    prevent_destroy: bool = option(
        False,
        doc="Terraform ``lifecycle.prevent_destroy`` on every bucket (the data buckets and ``access_logs``): "
            "a plan that would delete or replace one fails, so ``terraform destroy`` stops before changing "
            "anything. For prod; to really delete, deploy with it off first.")
    partition: str = option("aws", doc="AWS partition for ARNs.")
    tags: dict[str, str] = tags_option("every bucket")
    create: bool = create_option()


OUTPUTS = outputs(
    ("buckets", "The ``aws_s3_bucket`` resources, by bucket key (``bronze`` ... ``access_logs``)."),
    ("bucket_names", "Bucket names, by bucket key."),
    ("bucket_arns", "Bucket ARNs, by bucket key."),
    ("access_logs_bucket_name", "Name of the server-access-log bucket (``None`` without access logging)."),
)
