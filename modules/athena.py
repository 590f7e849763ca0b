"""AthenaWorkgroup: the lake's Athena workgroup with enforced, KMS-encrypted query results.

What it creates: ``aws_athena_workgroup`` ``<name>`` whose configuration is **enforced**
(``enforce_workgroup_configuration``: clients cannot switch the result location or turn encryption
off), results under ``s3://<results bucket>/<results_prefix>`` encrypted with ``SSE_KMS`` and the lake
key, the bucket owner expected (``expected_bucket_owner``), CloudWatch metrics on, a per-query scan
limit (``bytes_scanned_cutoff_per_query``) and the engine version. Queries read the lake tables declared
by :class:`modules.glue_catalog.GlueCatalog` (partition projection: no crawler or ``MSCK REPAIR``).

``named_queries`` become ``aws_athena_named_query`` resources in the workgroup (``<construct>/query_<name>``):
saved, reviewed SQL that callers run by name (``GetNamedQuery`` then ``StartQueryExecution`` with
``ExecutionParameters`` for its ``?`` placeholders), so no caller ever sends SQL text of its own.
"""
from __future__ import annotations

from constructs import Construct

from .athena_props import MIN_CUTOFF_BYTES, OUTPUTS, AthenaWorkgroupProps, NamedQuery
from .monitoring_props import athena_watch
from ._bindings import aws

__all__ = ["MIN_CUTOFF_BYTES", "OUTPUTS", "AthenaWorkgroup", "AthenaWorkgroupProps", "NamedQuery"]

class AthenaWorkgroup(Construct):
    """Athena workgroup with enforced configuration and encrypted results.

    Options: :class:`AthenaWorkgroupProps`; outputs: :data:`OUTPUTS` (``modules/athena_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: AthenaWorkgroupProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.workgroup = None
        self.name: str | None = None
        self.arn: str | None = None
        self.output_location: str | None = None
        self.named_queries: dict = {}
        self.named_query_ids: dict[str, str] = {}
        if not props.create:
            return

        AthenaNamedQuery = aws.athena_named_query.AthenaNamedQuery
        binding = aws.athena_workgroup
        AthenaWorkgroupResource = binding.AthenaWorkgroup
        AthenaWorkgroupConfiguration = binding.AthenaWorkgroupConfiguration
        AthenaWorkgroupConfigurationEngineVersion = binding.AthenaWorkgroupConfigurationEngineVersion
        AthenaWorkgroupConfigurationResultConfiguration = binding.AthenaWorkgroupConfigurationResultConfiguration
        AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration = (
            binding.AthenaWorkgroupConfigurationResultConfigurationEncryptionConfiguration)

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
        self.watches = (athena_watch(self.name),)
        for query in p.named_queries:
            self.named_queries[query.name] = AthenaNamedQuery(
                self, f"query_{query.name}", name=query.name, workgroup=self.workgroup.name,
                database=query.database, query=query.sql, description=query.description or None)
            self.named_query_ids[query.name] = self.named_queries[query.name].id
