"""Environment configuration: ``environments/<env>.toml`` parsed into frozen dataclasses and mapped onto the
constructs' options.

Cheap to import (standard library and the props modules only: no cdktf, no constructs, no AWS bindings),
so scripts and tests read a configuration without paying the 15-20 s binding import.

The loader parses and maps; it defines no limit of its own for what a construct owns. A setting that
feeds a construct option is declared with :func:`feeds` (``memory_mb: int = feeds(PythonFunctionProps,
"memory_mb")``): its default, meaning and limit are that option's (``modules/<construct>_props.py``),
checked here with the construct's own rule, so a bad value is refused at load time with its path
(``dev.toml: lambda.memory_mb: 128-10240 MB (got 64)``), and the composition passes the section on with
:meth:`Section.values_for`. Settings no construct owns (the environment's name, prefix, region, tags,
backend, the Lambda log level, the Athena limit in GB) carry their own :func:`modules.options.option`.
Unknown keys, missing keys and wrong types are refused with the offending path
(``dev.toml: lambda.memory_mb: expected int, got str``); the rules of an environment as a whole
(``force_destroy`` and ``endpoint`` only in local, required tags, bucket-name length, backend
completeness, service dependencies, and the rules across constructs: the ingest function's maximum record
age within the stream's retention, its batching window within its timeout) follow in ``_validate``. One
setting may feed the same option of several constructs (``prevent_destroy``: ``feeds(..., also=...)``). A ``[services]`` switch for a construct
that does not exist yet is refused by name.

Usage::

    from environments import load_environment
    cfg = load_environment("dev")
    cfg.kinesis.capacity_mode  # "ON_DEMAND"
"""
from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modules.athena_props import AthenaWorkgroupProps
from modules.emr_props import SUBNET_ID_PATTERN, EmrClusterProps
from modules.glue_catalog_props import GlueCatalogProps
from modules.glue_jobs_props import GlueJobsProps
from modules.glue_workflow_props import GlueWorkflowProps
from modules.http_api_props import INTEGRATION_TIMEOUT_MS, HttpApiProps
from modules.kinesis_ingest_props import KinesisEventSourceProps
from modules.kinesis_props import KinesisStreamProps
from modules.kms_props import KmsKeyProps
from modules.lambda_function_props import PythonFunctionProps
from modules.msk_ingest_props import MskEventSourceProps
from modules.monitoring_props import THRESHOLDS, MonitoringProps
from modules.msk_props import MskClusterProps
from modules.network_props import NetworkProps
from modules.quicksight_props import QuicksightDashboardsProps
from modules.redshift_props import RedshiftWarehouseProps
from modules.options import (
    Limit, Option, Props, at_least, broken_rules, check_values, matches, one_of, option, options, or_value,
)
from modules.s3_lake_props import DataLakeStorageProps, LifecycleRule
from modules.secrets_manager_props import GeneratedSecretProps

ENVIRONMENTS: tuple[str, ...] = ("local", "dev", "prod")
"""Every environment the project knows, in deployment order."""

ENVIRONMENTS_DIR = Path(__file__).resolve().parent
"""Default folder of the ``<env>.toml`` files (this one)."""

REQUIRED_TAGS: tuple[str, ...] = ("Project", "Environment", "Owner", "CostCenter", "ManagedBy")
RAW_LAYERS: tuple[str, ...] = ("bronze", "quarantine")
"""Lake buckets holding raw payloads (personal data in the clear): every environment gives them a retention."""
"""Tags every environment must define (applied to every taggable resource)."""


class ConfigError(ValueError):
    """An environment file is malformed or violates a rule."""


# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------
def feeds(cls: type, name: str, *, default: Any = dataclasses.MISSING, limit=None, also: tuple[type, ...] = ()
          ) -> Any:
    """A setting that feeds option ``name`` of props class ``cls``: same default, meaning and limit (unless
    ``default``/``limit`` say otherwise, e.g. an empty value meaning "ask Terraform"). ``also``: further props
    classes whose option of the same name the setting feeds too (one switch for several constructs, e.g.
    ``prevent_destroy``)."""
    for other in also:
        if not any(f.name == name for f in dataclasses.fields(other)):
            raise TypeError(f"{other.__name__} has no option {name!r}")
    source = next(f for f in dataclasses.fields(cls) if f.name == name)
    opt: Option = source.metadata["option"]
    kwargs: dict[str, Any] = {}
    if default is not dataclasses.MISSING:
        kwargs["default"] = default
    elif source.default is not dataclasses.MISSING:
        kwargs["default"] = source.default
    elif source.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        kwargs["default_factory"] = source.default_factory
    return dataclasses.field(**kwargs, metadata={
        "option": Option(doc=opt.doc, limit=limit or opt.limit), "feeds": (cls, name), "feeds_also": also})


class Section:
    """A table of an environment file. :meth:`values_for` gives the settings that feed one props class."""

    def values_for(self, cls: type) -> dict[str, Any]:
        """``{option name: value}`` of every setting of this section that feeds props class ``cls``."""
        return {f.metadata["feeds"][1]: getattr(self, f.name) for f in dataclasses.fields(self)
                if "feeds" in f.metadata and cls in (f.metadata["feeds"][0], *f.metadata["feeds_also"])}


@dataclass(frozen=True)
class AccountSettings(Section):
    """``[account]``: which AWS account the stack targets and how bucket names are made unique."""

    id: str = option("", limit=or_value("", matches(r"\d{12}", "12 digits")),
                     doc="12-digit AWS account id. When set, the provider's ``allowed_account_ids`` refuses to "
                         "touch any other account (guards against applying prod with dev credentials). Empty = "
                         "not pinned.")
    bucket_suffix: str = feeds(DataLakeStorageProps, "bucket_suffix")
    append_account_id: bool = option(
        False, doc="Append the caller's account id (resolved at plan time) to bucket names, making them globally "
                   "unique without hard-coding the id. Recommended for real AWS; off for the emulator.")


@dataclass(frozen=True)
class KmsSettings(Section):
    """``[kms]``: the platform's customer-managed key (:class:`modules.kms.KmsKey`)."""

    deletion_window_days: int = feeds(KmsKeyProps, "deletion_window_days")
    rotation_period_days: int = feeds(KmsKeyProps, "rotation_period_days")


@dataclass(frozen=True)
class KinesisSettings(Section):
    """``[kinesis]``: the ingest stream (:class:`modules.kinesis.KinesisStream`)."""

    capacity_mode: str = feeds(KinesisStreamProps, "capacity_mode")
    shard_count: int = feeds(KinesisStreamProps, "shard_count")
    retention_hours: int = feeds(KinesisStreamProps, "retention_hours")
    shard_level_metrics: tuple[str, ...] = feeds(KinesisStreamProps, "shard_level_metrics")


LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class LambdaSettings(Section):
    """``[lambda]``: the ingest function (:class:`modules.lambda_function.PythonFunction`) and its Kinesis
    event source mapping (:class:`modules.kinesis_ingest.KinesisEventSource`)."""

    memory_mb: int = feeds(PythonFunctionProps, "memory_mb")
    timeout_seconds: int = feeds(PythonFunctionProps, "timeout_seconds")
    reserved_concurrency: int = feeds(PythonFunctionProps, "reserved_concurrency")
    architecture: str = feeds(PythonFunctionProps, "architecture")
    log_level: str = option("INFO", limit=one_of(*LOG_LEVELS), doc="``LOG_LEVEL`` of the handler (Powertools).")
    batch_size: int = feeds(KinesisEventSourceProps, "batch_size")
    batching_window_seconds: int = feeds(KinesisEventSourceProps, "batching_window_seconds")
    max_retry_attempts: int = feeds(KinesisEventSourceProps, "max_retry_attempts")
    max_record_age_seconds: int = feeds(KinesisEventSourceProps, "max_record_age_seconds")
    parallelization_factor: int = feeds(KinesisEventSourceProps, "parallelization_factor")


@dataclass(frozen=True)
class GlueSettings(Section):
    """``[glue]``: the Data Catalog and crawler (:class:`modules.glue_catalog.GlueCatalog`), the batch Spark
    jobs (:class:`modules.glue_jobs.GlueJobs`) and their workflow (:class:`modules.glue_workflow.GlueWorkflow`)."""

    worker_type: str = feeds(GlueJobsProps, "worker_type")
    number_of_workers: int = feeds(GlueJobsProps, "number_of_workers")
    timeout_minutes: int = feeds(GlueJobsProps, "timeout_minutes")
    max_retries: int = feeds(GlueJobsProps, "max_retries")
    execution_class: str = feeds(GlueJobsProps, "execution_class")
    bronze_to_silver_schedule: str = feeds(GlueWorkflowProps, "schedule")
    schedule_active: bool = feeds(GlueWorkflowProps, "schedule_active")
    crawler_schedule: str = feeds(GlueCatalogProps, "crawler_schedule")
    catalog_encryption: bool = feeds(GlueCatalogProps, "catalog_encryption")


@dataclass(frozen=True)
class AthenaSettings(Section):
    """``[athena]``: the lake's Athena workgroup (:class:`modules.athena.AthenaWorkgroup`)."""

    bytes_scanned_cutoff_gb: int = option(
        100, limit=at_least(1),
        doc="Per-query scan limit in GB (the workgroup's ``bytes_scanned_cutoff_per_query``).")

    def cutoff_bytes(self) -> int:
        return self.bytes_scanned_cutoff_gb * 1024**3


@dataclass(frozen=True)
class ApiSettings(Section):
    """``[api]``: the query API (:class:`modules.http_api.HttpApi`), its query function
    (:class:`modules.lambda_function.PythonFunction`) and, with ``authorization = "LAMBDA"``, the bearer token
    its authorizer checks (:class:`modules.secrets_manager.GeneratedSecret`)."""

    authorization: str = feeds(HttpApiProps, "authorization")
    jwt_issuer: str = feeds(HttpApiProps, "jwt_issuer")
    jwt_audience: tuple[str, ...] = feeds(HttpApiProps, "jwt_audience")
    authorizer_cache_seconds: int = feeds(HttpApiProps, "authorizer_cache_seconds")
    throttling_burst_limit: int = feeds(HttpApiProps, "throttling_burst_limit")
    throttling_rate_limit: int = feeds(HttpApiProps, "throttling_rate_limit")
    memory_mb: int = feeds(PythonFunctionProps, "memory_mb")
    timeout_seconds: int = feeds(PythonFunctionProps, "timeout_seconds", default=25)
    reserved_concurrency: int = feeds(PythonFunctionProps, "reserved_concurrency")
    token_version: int = option(
        1, limit=at_least(1),
        doc="``LAMBDA`` only: generation of the API token Terraform generates into Secrets Manager (bump it to "
            "issue a new token; the authorizer picks it up within a minute).")


@dataclass(frozen=True)
class NetworkSettings(Section):
    """``[network]``: the private network of the data services (:class:`modules.network.Network`)."""

    cidr_block: str = feeds(NetworkProps, "cidr_block")
    availability_zones: int = feeds(NetworkProps, "availability_zones")
    interface_endpoints: tuple[str, ...] = feeds(NetworkProps, "interface_endpoints")
    flow_log_traffic: str = feeds(NetworkProps, "flow_log_traffic")
    existing_vpc_id: str = feeds(NetworkProps, "existing_vpc_id")
    existing_vpc_cidr: str = feeds(NetworkProps, "existing_vpc_cidr")
    existing_private_subnet_ids: tuple[str, ...] = feeds(NetworkProps, "existing_private_subnet_ids")
    existing_data_security_group_id: str = feeds(NetworkProps, "existing_data_security_group_id")


@dataclass(frozen=True)
class RedshiftSettings(Section):
    """``[redshift]``: the warehouse (:class:`modules.redshift.RedshiftWarehouse`)."""

    deployment: str = feeds(RedshiftWarehouseProps, "deployment")
    base_capacity_rpus: int = feeds(RedshiftWarehouseProps, "base_capacity_rpus")
    max_capacity_rpus: int = feeds(RedshiftWarehouseProps, "max_capacity_rpus")
    daily_rpu_hours_limit: int = feeds(RedshiftWarehouseProps, "daily_rpu_hours_limit")
    usage_limit_breach_action: str = feeds(RedshiftWarehouseProps, "usage_limit_breach_action")
    node_type: str = feeds(RedshiftWarehouseProps, "node_type")
    number_of_nodes: int = feeds(RedshiftWarehouseProps, "number_of_nodes")
    snapshot_retention_days: int = feeds(RedshiftWarehouseProps, "snapshot_retention_days")


@dataclass(frozen=True)
class QuicksightSettings(Section):
    """``[quicksight]``: data sources, data sets and the KPI dashboard (:class:`modules.quicksight.QuicksightDashboards`)."""

    owner_arns: tuple[str, ...] = option(
        (), limit=Limit("QuickSight user or group ARNs (arn:...:quicksight:...:user/... or group/...)",
                        lambda v: all(re.fullmatch(r"arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)/.+", a)
                                      for a in v)),
        doc="QuickSight users or groups that own the data sources, data sets and dashboard. Empty = a required "
            "Terraform variable ``quicksight_owner_arn`` (``-var quicksight_owner_arn=arn:...`` or "
            "``TF_VAR_quicksight_owner_arn``).")
    reader_arns: tuple[str, ...] = feeds(QuicksightDashboardsProps, "reader_arns")
    import_mode: str = feeds(QuicksightDashboardsProps, "import_mode")
    redshift_secret_arn: str = option(
        "", limit=or_value("", matches(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+",
                                       "a Secrets Manager secret ARN")),
        doc="Secret (``username``, ``password``, encrypted with the lake key) QuickSight connects to the warehouse "
            "with. Empty = the warehouse's managed admin secret; for least privilege, create a user that may only "
            "read the star schema and put its secret here.")


@dataclass(frozen=True)
class EmrSettings(Section):
    """``[emr]``: the transient EMR cluster that runs the backfill steps (:class:`modules.emr.EmrCluster`)."""

    release_label: str = feeds(EmrClusterProps, "release_label")
    subnet_id: str = option(
        "", limit=or_value("", matches(SUBNET_ID_PATTERN, "a subnet id (subnet-...)")),
        doc="Private subnet of the cluster (no public IPs). Empty = the network's first private subnet when "
            "``[services] network`` is on, else a required Terraform variable "
            "``emr_subnet_id`` (``-var emr_subnet_id=subnet-...`` or ``TF_VAR_emr_subnet_id``). The subnet must be "
            "tagged ``for-use-with-amazon-emr-managed-policies = true`` and reach S3 through a gateway VPC "
            "endpoint.")
    master_instance_type: str = feeds(EmrClusterProps, "master_instance_type")
    core_instance_type: str = feeds(EmrClusterProps, "core_instance_type")
    core_instance_count: int = feeds(EmrClusterProps, "core_instance_count")
    ebs_size_gb: int = feeds(EmrClusterProps, "ebs_size_gb")
    idle_timeout_seconds: int = feeds(EmrClusterProps, "idle_timeout_seconds")


@dataclass(frozen=True)
class MskSettings(Section):
    """``[msk]``: the MSK cluster (:class:`modules.msk.MskCluster`), the MSK ingest function
    (:class:`modules.lambda_function.PythonFunction`, ``lambda_src/ingest_msk``; its architecture and log level
    are ``[lambda]``'s) and its event source mapping (:class:`modules.msk_ingest.MskEventSource`)."""

    deployment: str = feeds(MskClusterProps, "deployment")
    kafka_version: str = feeds(MskClusterProps, "kafka_version")
    broker_instance_type: str = feeds(MskClusterProps, "broker_instance_type")
    broker_count: int = feeds(MskClusterProps, "broker_count")
    ebs_volume_gb: int = feeds(MskClusterProps, "ebs_volume_gb")
    enhanced_monitoring: str = feeds(MskClusterProps, "enhanced_monitoring")
    retention_hours: int = feeds(MskClusterProps, "retention_hours")
    consumer_group_id: str = feeds(MskEventSourceProps, "consumer_group_id", default="lakeforge-ingest-msk")
    starting_position: str = feeds(MskEventSourceProps, "starting_position")
    batch_size: int = feeds(MskEventSourceProps, "batch_size")
    batching_window_seconds: int = feeds(MskEventSourceProps, "batching_window_seconds")
    memory_mb: int = feeds(PythonFunctionProps, "memory_mb")
    timeout_seconds: int = feeds(PythonFunctionProps, "timeout_seconds")
    reserved_concurrency: int = feeds(PythonFunctionProps, "reserved_concurrency")


@dataclass(frozen=True)
class LifecycleSettings(Section):
    """``[lifecycle.<bucket>]``: one :class:`modules.s3_lake.LifecycleRule` per lake bucket."""

    bronze: LifecycleRule = field(default_factory=LifecycleRule)
    silver: LifecycleRule = field(default_factory=LifecycleRule)
    gold: LifecycleRule = field(default_factory=LifecycleRule)
    quarantine: LifecycleRule = field(default_factory=LifecycleRule)
    artifacts: LifecycleRule = field(default_factory=LifecycleRule)
    athena_results: LifecycleRule = field(default_factory=LifecycleRule)
    access_logs: LifecycleRule = field(default_factory=LifecycleRule)

    def rules(self) -> dict[str, LifecycleRule]:
        """Bucket key -> rule, for :class:`modules.s3_lake.DataLakeStorageProps`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class BackendSettings(Section):
    """``[backend]``: where Terraform keeps this environment's state."""

    type: str = option("s3", limit=one_of("local", "s3"),
                       doc="``local`` (state file on disk, for the emulator) or ``s3``.")
    path: str = option("", doc="``local`` only: state file path, relative to the synthesized stack folder.")
    bucket: str = option("", doc="``s3`` only: state bucket.")
    key: str = option("", doc="``s3`` only: state object key.")
    region: str = option("", doc="``s3`` only: region of the state bucket.")
    dynamodb_table: str = option("", doc="``s3`` only: DynamoDB lock table (legacy locking). Either this or "
                                         "``use_lockfile``.")
    use_lockfile: bool = option(False, doc="``s3`` only: S3-native state locking (Terraform >= 1.10).")
    encrypt: bool = option(True, doc="``s3`` only: server-side encryption of the state object.")
    kms_key_id: str = option("", doc="``s3`` only: optional KMS key ARN for the state object.")


MonitoringSettings = dataclasses.make_dataclass(
    "MonitoringSettings",
    [(name, typing.get_type_hints(MonitoringProps)[name], feeds(MonitoringProps, name))
     for name in ("period_seconds", "notification_emails", *THRESHOLDS)],
    bases=(Section,), frozen=True)
MonitoringSettings.__module__ = __name__
MonitoringSettings.__doc__ = """``[monitoring]``: alarm thresholds, their period and who is told
(:class:`modules.monitoring.Monitoring`): one setting per threshold option, same names, defaults and limits."""


@dataclass(frozen=True)
class ServiceSwitches(Section):
    """``[services]``: create switches, one per composed construct (``create`` of its props)."""

    s3_lake: bool = option(True, doc="The lake's buckets (:class:`modules.s3_lake.DataLakeStorage`).")
    kms: bool = option(True, doc="The platform's KMS key (:class:`modules.kms.KmsKey`).")
    kinesis: bool = option(True, doc="The ingest stream (:class:`modules.kinesis.KinesisStream`).")
    ingest_lambda: bool = option(True, doc="The ingest Lambda and its event source mapping (needs s3_lake, "
                                           "kinesis).")
    glue_catalog: bool = option(True, doc="Lake databases, silver/gold tables (partition projection), bronze "
                                          "crawler, catalog encryption (needs s3_lake).")
    glue_jobs: bool = option(True, doc="The bronze -> silver and silver -> gold Glue 5.0 jobs, and the warehouse "
                                       "load where there is a warehouse (``redshift``, or locally PostgreSQL) "
                                       "(needs glue_catalog).")
    glue_workflow: bool = option(True, doc="Glue workflow chaining the jobs (needs glue_jobs).")
    athena: bool = option(True, doc="Athena workgroup with enforced, KMS-encrypted results (needs s3_lake).")
    emr: bool = option(False, doc="The transient EMR backfill cluster (needs s3_lake; refused in local: no "
                                  "emulator creates clusters).")
    network: bool = option(False, doc="The data services' private network (:class:`modules.network.Network`); "
                                      "EMR's subnet comes from it. Off in local (no VPC-bound service runs there).")
    redshift: bool = option(False, doc="The Redshift warehouse (needs network and s3_lake; refused in local: no "
                                       "emulator creates Redshift, PostgreSQL stands in for it).")
    msk: bool = option(False, doc="MSK ingestion: the MSK cluster, the MSK ingest function in the private subnets "
                                  "and its event source mapping on the ingest topic (needs network and s3_lake; "
                                  "refused in local: no emulator creates MSK with Terraform).")
    msk_ingest_lambda: bool = option(False, doc="The MSK ingest function without a cluster (local only: the local "
                                                "Kafka broker stands in for MSK and ``local_runtime.msk_poller`` for "
                                                "the mapping, from the ``msk_ingest_mapping`` output; needs s3_lake; "
                                                "dev and prod get the function through ``msk``).")
    query_api: bool = option(False, doc="The query API over gold: HTTP API, query function and, with "
                                        "``[api] authorization = \"LAMBDA\"``, its authorizer and token (needs "
                                        "s3_lake, glue_catalog, athena).")
    monitoring: bool = option(True, doc="Alarms on every watched resource, composite alarms per layer and for the "
                                        "platform, the alert topic and the dashboard "
                                        "(:class:`modules.monitoring.Monitoring`; needs kms).")
    quicksight: bool = option(False, doc="QuickSight data sources (the warehouse, Athena), a data set per KPI and "
                                         "the KPI dashboard (needs redshift and athena; refused in local: no emulator "
                                         "runs QuickSight, ``make dashboard`` draws the same views).")

    NOT_BUILT: typing.ClassVar[dict[str, str]] = {
        "emr_serverless": "EMR Serverless",
    }
    """Switches of constructs that do not exist yet: refused by name, never silently ignored."""


@dataclass(frozen=True)
class EnvironmentConfig(Section):
    """One environment (``environments/<name>.toml``)."""

    name: str = option(doc="``local``, ``dev`` or ``prod``; must match the file name.")
    name_prefix: str = option(
        limit=matches(r"[a-z][a-z0-9-]{1,38}[a-z0-9]",
                      "3-40 chars of lowercase letters, digits and hyphens, starting with a letter"),
        doc="Prefix of every resource name, e.g. ``lakeforge-dev``.")
    region: str = option(limit=matches(r"[a-z]{2}(-gov)?-[a-z]+-\d", "an AWS region name"),
                         doc="AWS region (``sa-east-1`` for dev/prod, ``us-east-1`` for the emulator).")
    tags: dict[str, str] = option(doc="Tags on every taggable resource; must include the required tags.")
    backend: BackendSettings = option(doc="``[backend]``.")
    endpoint: str = option("", doc="Emulator endpoint (local only, e.g. ``http://127.0.0.1:4566``); empty elsewhere.")
    force_destroy: bool = option(False, doc="Let ``terraform destroy`` delete non-empty buckets. Only in ``local``.")
    prevent_destroy: bool = feeds(DataLakeStorageProps, "prevent_destroy",
                                  also=(KmsKeyProps, KinesisStreamProps, GeneratedSecretProps))
    log_retention_days: int = feeds(PythonFunctionProps, "log_retention_days")
    account: AccountSettings = option(default_factory=AccountSettings, doc="``[account]``.")
    kms: KmsSettings = option(default_factory=KmsSettings, doc="``[kms]``.")
    kinesis: KinesisSettings = option(default_factory=KinesisSettings, doc="``[kinesis]``.")
    lambda_: LambdaSettings = dataclasses.field(default_factory=LambdaSettings, metadata={
        "toml": "lambda", "option": Option(doc="``[lambda]``.")})
    lifecycle: LifecycleSettings = option(default_factory=LifecycleSettings, doc="``[lifecycle.<bucket>]``.")
    glue: GlueSettings = option(default_factory=GlueSettings, doc="``[glue]``.")
    athena: AthenaSettings = option(default_factory=AthenaSettings, doc="``[athena]``.")
    emr: EmrSettings = option(default_factory=EmrSettings, doc="``[emr]``.")
    msk: MskSettings = option(default_factory=MskSettings, doc="``[msk]``.")
    network: NetworkSettings = option(default_factory=NetworkSettings, doc="``[network]``.")
    redshift: RedshiftSettings = option(default_factory=RedshiftSettings, doc="``[redshift]``.")
    quicksight: QuicksightSettings = option(default_factory=QuicksightSettings, doc="``[quicksight]``.")
    api: ApiSettings = option(default_factory=ApiSettings, doc="``[api]``.")
    monitoring: MonitoringSettings = option(default_factory=MonitoringSettings, doc="``[monitoring]``.")
    services: ServiceSwitches = option(default_factory=ServiceSwitches, doc="``[services]``.")

    @property
    def is_local(self) -> bool:
        """True for the emulator environment."""
        return self.name == "local"

    @property
    def stack_name(self) -> str:
        """Name of this environment's Terraform stack (``lakeforge-<env>``)."""
        return f"lakeforge-{self.name}"

    @property
    def api_token_secret_name(self) -> str:
        """Secrets Manager name of the query API's bearer token (``[api] authorization = "LAMBDA"``): what the
        stack creates and what a local client reads the token from."""
        return f"{self.name_prefix}/api-token"


# --------------------------------------------------------------------------------------------------
# Generic strict loader
# --------------------------------------------------------------------------------------------------
def _toml_key(f: dataclasses.Field) -> str:
    return f.metadata.get("toml", f.name)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return _build(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected bool, got {type(value).__name__}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected int, got {type(value).__name__}")
        return value
    if hint is float:  # an integer is a float too (``threshold = 1``)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {type(value).__name__}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected str, got {type(value).__name__}")
        return value
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected an array, got {type(value).__name__}")
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        key_t, val_t = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {type(value).__name__}")
        return {_coerce(k, key_t, where): _coerce(v, val_t, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):  # pragma: no cover - not used by the schema today
        for arg in typing.get_args(hint):
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} matches none of {hint}")
    raise ConfigError(f"{where}: unsupported type {hint}")  # pragma: no cover


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {_toml_key(f): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    not_built = [k for k in unknown if k in getattr(cls, "NOT_BUILT", {})]
    if not_built:
        raise ConfigError("; ".join(f"{where}.{k}: {cls.NOT_BUILT[k]} has no construct yet, remove the switch"
                                    for k in not_built) + f" (switches: {', '.join(sorted(fields))})")
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}")
    kwargs: dict[str, Any] = {}
    for key, f in fields.items():
        sub = f"{where}.{key}" if where else key
        if key in data:
            kwargs[f.name] = _coerce(data[key], hints[f.name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: required key missing")
    found = _problems(cls, kwargs)
    if found:
        raise ConfigError("; ".join(f"{where}.{p}" if where else p for p in found))
    return cls(**kwargs)


def _problems(cls: type, values: dict[str, Any]) -> list[str]:
    """``"<key>: <message>"`` for every given value breaking its limit, and for every broken rule of the props
    classes a section feeds (the rules are the constructs' own: :mod:`modules.options`)."""
    if issubclass(cls, Props):
        return check_values(cls, values)
    out: list[str] = []
    fed: dict[type, dict[str, Any]] = {}
    renamed: dict[str, str] = {}
    for f, opt in options(cls):
        if f.name in values:
            value = values[f.name]
            if opt.limit is not None and not opt.limit.ok(value):
                out.append(f"{_toml_key(f)}: {opt.limit.message(value)}")
        elif f.default is not dataclasses.MISSING:
            value = f.default  # a rule may tie a given setting to a default one
        else:
            continue
        if "feeds" in f.metadata:
            target, name = f.metadata["feeds"]
            for each in (target, *f.metadata["feeds_also"]):
                fed.setdefault(each, {})[name] = value
            renamed[name] = _toml_key(f)
    for target, fed_values in fed.items():
        for text in broken_rules(target.RULES, fed_values):
            name, sep, rest = text.partition(": ")
            out.append(f"{renamed.get(name, name)}{sep}{rest}")
    return out


# --------------------------------------------------------------------------------------------------
# Rules of an environment as a whole
# --------------------------------------------------------------------------------------------------
def _validate(cfg: EnvironmentConfig, expected_name: str | None) -> None:
    """The rules of an environment as a whole (each setting's own limit was checked while loading)."""
    errors: list[str] = []

    def check(ok: bool, message: str) -> None:
        if not ok:
            errors.append(message)

    check(cfg.name in ENVIRONMENTS, f"name: must be one of {ENVIRONMENTS}, got {cfg.name!r}")
    if expected_name is not None:
        check(cfg.name == expected_name, f"name: {cfg.name!r} does not match the file name {expected_name!r}")
    if cfg.is_local:
        check(cfg.endpoint.startswith(("http://", "https://")), "endpoint: local needs an http(s) URL")
    else:
        check(cfg.endpoint == "", "endpoint: only the local environment may set an emulator endpoint")
        check(not cfg.force_destroy, "force_destroy: only allowed in local")

    missing_tags = [t for t in REQUIRED_TAGS if not cfg.tags.get(t)]
    check(not missing_tags, f"tags: missing or empty {missing_tags}")
    check(cfg.tags.get("ManagedBy") == "terraform", "tags.ManagedBy: must be 'terraform'")
    check(cfg.tags.get("Environment") == cfg.name, "tags.Environment: must equal name")

    acct = cfg.account
    # Longest bucket: <prefix>-athena-results[-<suffix>][-<12-digit account>] must fit in 63 chars.
    longest = len(cfg.name_prefix) + len("-athena-results")
    longest += len(acct.bucket_suffix) + 1 if acct.bucket_suffix else 0
    longest += 13 if acct.append_account_id else 0
    check(longest <= 63, f"bucket names would be {longest} chars (> 63): shorten name_prefix or bucket_suffix")

    for raw in RAW_LAYERS:
        days = cfg.lifecycle.rules()[raw].expiration_days
        check(days > 0, f"lifecycle.{raw}.expiration_days: {raw} keeps raw payloads with personal data in the clear, "
                        "so it must expire (LGPD): set a retention in days")

    sw = cfg.services
    if sw.ingest_lambda:
        check(sw.s3_lake and sw.kinesis, "services.ingest_lambda: needs s3_lake and kinesis")
        _check_stream_consumer(cfg, check)
    if sw.glue_catalog:
        check(sw.s3_lake, "services.glue_catalog: needs s3_lake")
    if sw.glue_jobs:
        check(sw.s3_lake and sw.glue_catalog, "services.glue_jobs: needs s3_lake and glue_catalog")
    if sw.glue_workflow:
        check(sw.glue_jobs, "services.glue_workflow: needs glue_jobs")
    if sw.athena:
        check(sw.s3_lake, "services.athena: needs s3_lake")
    if sw.monitoring:
        check(sw.kms, "services.monitoring: needs kms (the alert topic is encrypted with it)")
    if sw.emr:
        check(sw.s3_lake, "services.emr: needs s3_lake")
        check(not cfg.is_local, "services.emr: no emulator can create an EMR cluster; keep it off in local")
    if sw.network:
        check(not cfg.is_local, "services.network: the local environment runs no VPC-bound service; keep it off")
    if sw.msk_ingest_lambda:
        check(sw.s3_lake, "services.msk_ingest_lambda: needs s3_lake")
        check(cfg.is_local and not sw.msk, "services.msk_ingest_lambda: local only (elsewhere services.msk brings the "
                                           "function with its cluster and mapping)")
    if sw.msk or sw.msk_ingest_lambda:
        check(cfg.msk.batching_window_seconds <= cfg.msk.timeout_seconds,
              f"msk.batching_window_seconds: {cfg.msk.batching_window_seconds} s is longer than the function timeout "
              f"(msk.timeout_seconds = {cfg.msk.timeout_seconds} s); lower it or raise timeout_seconds")
    if sw.msk:
        check(sw.s3_lake and sw.network, "services.msk: needs s3_lake and network")
        check(not cfg.is_local, "services.msk: no emulator can create MSK with Terraform (a local broker stands in); "
                                "keep it off in local")
        check(cfg.msk.deployment == "serverless" or cfg.msk.broker_count % cfg.network.availability_zones == 0,
              f"msk.broker_count: {cfg.msk.broker_count} brokers do not spread evenly over the network's "
              f"{cfg.network.availability_zones} zones (network.availability_zones); use a multiple of it")
    if sw.redshift:
        check(sw.s3_lake and sw.network, "services.redshift: needs s3_lake and network")
        check(not cfg.is_local, "services.redshift: no emulator can create Redshift (PostgreSQL stands in locally); "
                                "keep it off in local")
    if sw.quicksight:
        check(sw.redshift and sw.athena and sw.glue_catalog,
              "services.quicksight: needs redshift, athena and glue_catalog")
        check(not cfg.is_local, "services.quicksight: no emulator runs QuickSight (make dashboard draws the same "
                                "views locally); keep it off in local")
    if sw.query_api:
        check(sw.s3_lake and sw.glue_catalog and sw.athena,
              "services.query_api: needs s3_lake, glue_catalog and athena")
        check(cfg.api.timeout_seconds * 1000 < INTEGRATION_TIMEOUT_MS,
              f"api.timeout_seconds: {cfg.api.timeout_seconds} s is not shorter than the API's integration timeout "
              f"({INTEGRATION_TIMEOUT_MS // 1000} s): the caller would get a 503 while the query still runs; lower it")

    b = cfg.backend
    if b.type == "local":
        check(bool(b.path), "backend.path: required for a local backend")
        check(not (b.bucket or b.key or b.dynamodb_table or b.use_lockfile),
              "backend: bucket/key/dynamodb_table/use_lockfile are s3-only")
    else:
        check(not cfg.is_local, "backend.type: the local environment uses a local backend")
        check(bool(b.bucket and b.key and b.region), "backend: s3 needs bucket, key and region")
        check(bool(b.dynamodb_table) or b.use_lockfile, "backend: s3 needs dynamodb_table or use_lockfile = true")
        check(b.encrypt, "backend.encrypt: state must be encrypted")
        check(not b.path, "backend.path: local-only")

    if errors:
        raise ConfigError(f"{cfg.name}: " + "; ".join(errors))


def _check_stream_consumer(cfg: EnvironmentConfig, check: typing.Callable[[bool, str], None]) -> None:
    """The ingest function's event source against the stream and the function (rules across constructs; each
    construct's own bounds, e.g. no unbounded retries, are its props' limits)."""
    lam, retention_s = cfg.lambda_, cfg.kinesis.retention_hours * 3600
    check(lam.max_record_age_seconds <= retention_s,
          f"lambda.max_record_age_seconds: {lam.max_record_age_seconds} s is longer than the stream keeps records "
          f"(kinesis.retention_hours = {cfg.kinesis.retention_hours}, {retention_s} s): a failing record would "
          "expire from the stream before reaching the failure queue; lower it or raise retention_hours")
    check(lam.batching_window_seconds <= lam.timeout_seconds,
          f"lambda.batching_window_seconds: {lam.batching_window_seconds} s is longer than the function timeout "
          f"(lambda.timeout_seconds = {lam.timeout_seconds} s); lower it or raise timeout_seconds")
    check(lam.parallelization_factor == 1,
          f"lambda.parallelization_factor: {lam.parallelization_factor}, but the ingest stores each record once "
          "only with one batch per shard at a time (lambda_src/ingest_core/objects.py); set it to 1 and add "
          "shards (kinesis.shard_count) for throughput")


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------
def parse_environment(data: dict[str, Any], *, source: str = "<dict>", expected_name: str | None = None
                      ) -> EnvironmentConfig:
    """Build and validate an :class:`EnvironmentConfig` from already-parsed TOML data."""
    try:
        cfg = _build(EnvironmentConfig, data, "")
        _validate(cfg, expected_name)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return cfg


def load_environment(name: str, directory: Path | str | None = None) -> EnvironmentConfig:
    """Load and validate ``<directory>/<name>.toml`` (default folder: :data:`ENVIRONMENTS_DIR`)."""
    path = Path(directory or ENVIRONMENTS_DIR) / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such environment file")
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path.name}: {exc}") from None
    return parse_environment(data, source=path.name, expected_name=name)


def load_environments(names: typing.Iterable[str] = ENVIRONMENTS, directory: Path | str | None = None
                      ) -> list[EnvironmentConfig]:
    """Load several environments, in the given order."""
    return [load_environment(n, directory) for n in names]
