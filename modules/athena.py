"""AthenaWorkgroup: the lake's Athena workgroup with enforced, KMS-encrypted query results.

What it creates: ``aws_athena_workgroup`` ``<name>`` whose configuration is **enforced**
(``enforce_workgroup_configuration``: clients cannot switch the result location or turn encryption
off), results under ``s3://<results bucket>/<results_prefix>`` encrypted with ``SSE_KMS`` and the lake
key, the bucket owner expected (``expected_bucket_owner``), CloudWatch metrics on, a per-query scan
limit (``bytes_scanned_cutoff_per_query``) and the engine version. Queries read the lake tables declared
by :class:`modules.glue_catalog.GlueCatalog` (partition projection: no crawler or ``MSCK REPAIR``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

MIN_CUTOFF_BYTES = 10 * 1024 * 1024
"""Athena's smallest per-query scan limit (10 MB)."""


@dataclass(frozen=True)
class AthenaWorkgroupProps:
    """Options of :class:`AthenaWorkgroup`."""

    name: str
    """Workgroup name, e.g. ``lakeforge-dev``."""

    results_bucket: str
    """Bucket (name) for query results (the lake's ``athena-results`` bucket)."""

    results_prefix: str = "results/"
    """Key prefix of the results."""

    kms_key_arn: str | None = None
    """Key for ``SSE_KMS`` results; ``None`` = ``SSE_S3`` (still encrypted)."""

    expected_bucket_owner: str | None = None
    """Account id that must own the results bucket (token allowed); ``None`` = not checked."""

    bytes_scanned_cutoff_per_query: int = 100 * 1024**3
    """Cancel a query scanning more than this many bytes (>= 10 MB). Default 100 GB."""

    engine_version: str = "Athena engine version 3"
    """``AUTO`` or a named engine version."""

    publish_cloudwatch_metrics: bool = True
    """Per-query CloudWatch metrics."""

    description: str = "lakeforge lake queries (enforced, KMS-encrypted results)"
    """Workgroup description."""

    force_destroy: bool = False
    """Let ``terraform destroy`` delete a workgroup holding saved queries (local only)."""

    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the workgroup."""

    create: bool = True
    """False creates nothing; the outputs are then ``None``."""


class AthenaWorkgroup(Construct):
    """Athena workgroup with enforced configuration and encrypted results.

    Outputs: ``workgroup``, ``name``, ``arn``, ``output_location``.
    """

    def __init__(self, scope: Construct, id_: str, props: AthenaWorkgroupProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.workgroup = None
        self.name: str | None = None
        self.arn: str | None = None
        self.output_location: str | None = None
        if not props.create:
            return
        if props.bytes_scanned_cutoff_per_query < MIN_CUTOFF_BYTES:
            raise ValueError("bytes_scanned_cutoff_per_query: at least 10 MB")

        from cdktf_cdktf_provider_aws.athena_workgroup import (
            AthenaWorkgroup as AthenaWorkgroupResource,
            AthenaWorkgroupConfiguration,
            AthenaWorkgroupConfigurationEngineVersion,
            AthenaWorkgroupConfigurationResultConfiguration,
            AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration,
        )

        p = props
        self.output_location = f"s3://{p.results_bucket}/{p.results_prefix}"
        self.workgroup = AthenaWorkgroupResource(
            self, "workgroup",
            name=p.name,
            description=p.description,
            state="ENABLED",
            force_destroy=p.force_destroy,
            configuration=AthenaWorkgroupConfiguration(
                enforce_workgroup_configuration=True,
                publish_cloudwatch_metrics_enabled=p.publish_cloudwatch_metrics,
                bytes_scanned_cutoff_per_query=p.bytes_scanned_cutoff_per_query,
                requester_pays_enabled=False,
                engine_version=AthenaWorkgroupConfigurationEngineVersion(selected_engine_version=p.engine_version),
                result_configuration=AthenaWorkgroupConfigurationResultConfiguration(
                    output_location=self.output_location,
                    expected_bucket_owner=p.expected_bucket_owner,
                    encryption_configuration=AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration(
                        encryption_option="SSE_KMS" if p.kms_key_arn else "SSE_S3", kms_key_arn=p.kms_key_arn),
                ),
            ),
            tags=dict(p.tags),
        )
        self.name = self.workgroup.name
        self.arn = self.workgroup.arn
