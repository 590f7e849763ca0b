"""DataLakeStorage: the lake's S3 buckets (medallion layers + support buckets), secure by default.

Buckets, named ``<name_prefix>-<layer>[-<bucket_suffix>]`` (underscores become hyphens):

=================  ===============================================================
``bronze``         raw ingested records (the ingest Lambda writes here)
``silver``         cleaned, conformed data
``gold``           curated, consumption-ready data
``quarantine``     records that failed validation
``artifacts``      code and job artifacts (Glue/EMR scripts, wheels)
``athena_results`` Athena query results
``access_logs``    S3 server access logs of all the others
=================  ===============================================================

Every bucket gets: versioning, the S3 public access block (all four settings on), object ownership
``BucketOwnerEnforced`` (ACLs disabled), a bucket policy that denies any request not made over TLS,
a lifecycle configuration (per-layer :class:`LifecycleRule`; always expires noncurrent versions and
aborts incomplete multipart uploads), EventBridge notifications and ``force_destroy`` only when asked
(local). ``prevent_destroy`` (prod) makes Terraform refuse any plan that deletes or replaces a bucket.

Encryption: SSE-KMS with the given key and S3 Bucket Keys (fewer KMS calls) on every data bucket. The
``access_logs`` bucket uses SSE-S3 (AES256) instead, because S3 server access logging cannot deliver
to a bucket whose default encryption is SSE-KMS; its policy lets ``logging.s3.amazonaws.com`` write
only from this lake's buckets (``aws:SourceArn``) and account (``aws:SourceAccount``). Every data
bucket logs to it under the prefix ``<layer>/``; the log bucket does not log to itself.
"""
from __future__ import annotations

from constructs import Construct

from .iam import Condition, Statement, deny_insecure_transport, policy_document
from .naming import BUCKET_NAME, resource_name
from .s3_lake_props import (
    ACCESS_LOGS, DEFAULT_LIFECYCLE, LAKE_LAYERS, OUTPUTS, DataLakeStorageProps, LifecycleRule,
)
from ._bindings import aws, core

__all__ = ["ACCESS_LOGS", "DEFAULT_LIFECYCLE", "LAKE_LAYERS", "OUTPUTS", "DataLakeStorage", "DataLakeStorageProps",
           "LifecycleRule"]

class DataLakeStorage(Construct):
    """The lake's buckets with encryption, versioning, public access block, TLS-only policy, access
    logging and lifecycle.

    Options: :class:`DataLakeStorageProps`; outputs: :data:`OUTPUTS` (``modules/s3_lake_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: DataLakeStorageProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.buckets: dict = {}
        self.bucket_names: dict[str, str] = {}
        self.bucket_arns: dict[str, str] = {}
        self.access_logs_bucket_name: str | None = None
        if not props.create:
            return
        TerraformResourceLifecycle = core.TerraformResourceLifecycle

        S3Bucket = aws.s3_bucket.S3Bucket
        S3BucketLoggingA = aws.s3_bucket_logging.S3BucketLoggingA

        for key in (*props.layers, ACCESS_LOGS):
            self.bucket_name(key)  # every name checked (3-63 characters) before any bucket is made

        keep = TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None
        logs = None
        logs_policy = None
        if props.access_logging:
            logs = S3Bucket(self, ACCESS_LOGS, bucket=self.bucket_name(ACCESS_LOGS),
                            force_destroy=props.force_destroy, tags=dict(props.tags), lifecycle=keep)
            self._register(ACCESS_LOGS, logs)
            self.access_logs_bucket_name = logs.bucket

        for layer in props.layers:
            bucket = S3Bucket(self, layer, bucket=self.bucket_name(layer), force_destroy=props.force_destroy,
                              tags=dict(props.tags), lifecycle=keep)
            self._register(layer, bucket)
            self._secure(layer, bucket, kms_key_arn=props.kms_key_arn)

        if logs is not None:
            logs_policy = self._secure(ACCESS_LOGS, logs, kms_key_arn=None, log_delivery=True)
            for layer in props.layers:
                S3BucketLoggingA(
                    self.buckets[layer], "logging",
                    bucket=self.buckets[layer].id,
                    target_bucket=logs.id,
                    target_prefix=f"{layer.replace('_', '-')}/",
                    depends_on=[logs_policy] if logs_policy is not None else None,
                )

    # ----------------------------------------------------------------------------------------------
    def bucket_name(self, key: str) -> str:
        """Bucket name for a bucket key: ``<prefix>-<key with hyphens>[-<suffix>]``, 3-63 characters (an
        unresolved token, e.g. the account id, counts as 12)."""
        return resource_name(self.props.name_prefix, key, suffix=self.props.bucket_suffix, limit=BUCKET_NAME)

    def _register(self, key: str, bucket) -> None:
        self.buckets[key] = bucket
        self.bucket_names[key] = bucket.bucket
        self.bucket_arns[key] = bucket.arn

    def _secure(self, key: str, bucket, *, kms_key_arn: str | None, log_delivery: bool = False):
        """Attach encryption, versioning, public access block, ownership, policy and lifecycle."""
        S3BucketNotification = aws.s3_bucket_notification.S3BucketNotification
        binding = aws.s3_bucket_lifecycle_configuration
        S3BucketLifecycleConfiguration = binding.S3BucketLifecycleConfiguration
        S3BucketLifecycleConfigurationRule = binding.S3BucketLifecycleConfigurationRule
        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload = (
            binding.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload)
        S3BucketLifecycleConfigurationRuleExpiration = binding.S3BucketLifecycleConfigurationRuleExpiration
        S3BucketLifecycleConfigurationRuleFilter = binding.S3BucketLifecycleConfigurationRuleFilter
        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration = (
            binding.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration)
        S3BucketLifecycleConfigurationRuleTransition = binding.S3BucketLifecycleConfigurationRuleTransition
        binding = aws.s3_bucket_ownership_controls
        S3BucketOwnershipControls = binding.S3BucketOwnershipControls
        S3BucketOwnershipControlsRule = binding.S3BucketOwnershipControlsRule
        S3BucketPolicy = aws.s3_bucket_policy.S3BucketPolicy
        S3BucketPublicAccessBlock = aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock
        binding = aws.s3_bucket_server_side_encryption_configuration
        S3BucketServerSideEncryptionConfigurationA = binding.S3BucketServerSideEncryptionConfigurationA
        S3BucketServerSideEncryptionConfigurationRuleA = binding.S3BucketServerSideEncryptionConfigurationRuleA
        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA = (
            binding.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA)
        binding = aws.s3_bucket_versioning
        S3BucketVersioningA = binding.S3BucketVersioningA
        S3BucketVersioningVersioningConfiguration = binding.S3BucketVersioningVersioningConfiguration

        p = self.props
        if kms_key_arn:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
            rule = S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default, bucket_key_enabled=True)
        else:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256")
            rule = S3BucketServerSideEncryptionConfigurationRuleA(apply_server_side_encryption_by_default=default)
        S3BucketServerSideEncryptionConfigurationA(bucket, "encryption", bucket=bucket.id, rule=[rule])

        versioning = S3BucketVersioningA(
            bucket, "versioning", bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(
                status="Enabled" if p.versioning else "Suspended"),
        )
        pab = S3BucketPublicAccessBlock(
            bucket, "public_access_block", bucket=bucket.id,
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            bucket, "ownership", bucket=bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )

        if p.event_bridge_notifications:
            S3BucketNotification(bucket, "notifications", bucket=bucket.id, eventbridge=True)

        statements: list[Statement] = []
        if p.enforce_tls:
            statements.append(deny_insecure_transport((bucket.arn, f"{bucket.arn}/*")))
        if log_delivery:
            sources = tuple(self.bucket_arns[layer] for layer in p.layers)
            conditions = [Condition("StringEquals", "aws:SourceAccount", (p.account_id,))]
            if sources:
                conditions.insert(0, Condition("ArnLike", "aws:SourceArn", sources))
            statements.append(Statement(
                sid="AllowS3ServerAccessLogDelivery", principals={"Service": ("logging.s3.amazonaws.com",)},
                actions=("s3:PutObject",), resources=(f"{bucket.arn}/*",), conditions=tuple(conditions),
            ))
        policy = None
        if statements:
            policy = S3BucketPolicy(bucket, "policy", bucket=bucket.id,
                                    policy=policy_document(statements, resource_policy=True), depends_on=[pab])

        lc = p.lifecycle.get(key) or DEFAULT_LIFECYCLE.get(key) or LifecycleRule()
        transitions = []
        if lc.standard_ia_days:
            transitions.append(S3BucketLifecycleConfigurationRuleTransition(
                days=lc.standard_ia_days, storage_class="STANDARD_IA"))
        if lc.glacier_days:
            transitions.append(S3BucketLifecycleConfigurationRuleTransition(
                days=lc.glacier_days, storage_class="GLACIER"))
        rule_lc = S3BucketLifecycleConfigurationRule(
            id=f"{key.replace('_', '-')}-lifecycle",
            status="Enabled",
            # An empty filter applies the rule to every object (checkov CKV_AWS_300 wants it empty).
            filter=[S3BucketLifecycleConfigurationRuleFilter()],
            transition=transitions or None,
            expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lc.expiration_days)]
            if lc.expiration_days else None,
            noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=lc.noncurrent_expiration_days)],
            abort_incomplete_multipart_upload=[S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=lc.abort_incomplete_multipart_days)],
        )
        S3BucketLifecycleConfiguration(
            bucket, "lifecycle", bucket=bucket.id, rule=[rule_lc],
            # Explicit (the AWS default since 2024) so plans show no drift.
            transition_default_minimum_object_size="all_storage_classes_128K",
            # Lifecycle rules on versioned buckets need versioning configured first.
            depends_on=[versioning],
        )
        return policy
