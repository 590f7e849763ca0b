"""Environment configuration: ``environments/<env>.toml`` loaded into a frozen, validated dataclass.

This module is deliberately cheap to import (standard library only: no cdktf, no AWS bindings), so
scripts and tests can read a configuration without paying the 15-20 s binding import.

Loading is strict: every table and key is checked against the dataclasses below; an unknown key, a
missing key or a value of the wrong type raises :class:`ConfigError` naming the offending path
(e.g. ``dev.toml: lambda.memory_mb: expected int, got str``). Semantic checks (ranges, allowed
values, cross-field rules such as "force_destroy only in local") follow in ``_validate``.

Usage::

    from modules.environment import load_environment
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

ENVIRONMENTS: tuple[str, ...] = ("local", "dev", "prod")
"""Every environment the project knows, in deployment order."""

ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent / "environments"
"""Default folder of the ``<env>.toml`` files."""

REQUIRED_TAGS: tuple[str, ...] = ("Project", "Environment", "Owner", "CostCenter", "ManagedBy")
"""Tags every environment must define (applied to every taggable resource)."""

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


class ConfigError(ValueError):
    """An environment file is malformed or violates a rule."""


# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountSettings:
    """``[account]``: which AWS account the stack targets and how bucket names are made unique."""

    id: str = ""
    """12-digit AWS account id. When set, the provider's ``allowed_account_ids`` refuses to touch any
    other account (guards against applying prod with dev credentials). Empty = not pinned."""

    bucket_suffix: str = ""
    """Literal suffix appended to every bucket name (``<prefix>-<layer>-<suffix>``). Empty = none."""

    append_account_id: bool = False
    """Append the caller's account id (resolved at plan time) to bucket names, making them globally
    unique without hard-coding the id. Recommended for real AWS; off for the emulator."""


@dataclass(frozen=True)
class KmsSettings:
    """``[kms]``: the platform's customer-managed key."""

    deletion_window_days: int = 30
    """Waiting period (7-30 days) before a scheduled key deletion takes effect."""

    rotation_period_days: int = 365
    """Automatic key rotation period (90-2560 days). Rotation is always on."""


@dataclass(frozen=True)
class KinesisSettings:
    """``[kinesis]``: the ingest stream."""

    capacity_mode: str = "ON_DEMAND"
    """``ON_DEMAND`` or ``PROVISIONED``."""

    shard_count: int = 1
    """Shards when ``PROVISIONED`` (ignored, and not sent, for ``ON_DEMAND``)."""

    retention_hours: int = 24
    """Record retention, 24-8760 hours."""

    shard_level_metrics: tuple[str, ...] = ()
    """Enhanced shard-level CloudWatch metrics (cost extra), e.g. ``["IncomingBytes"]``."""


@dataclass(frozen=True)
class LambdaSettings:
    """``[lambda]``: the ingest function and its Kinesis event source mapping."""

    memory_mb: int = 256
    """Function memory, 128-10240 MB."""

    timeout_seconds: int = 60
    """Function timeout, 1-900 s."""

    reserved_concurrency: int = 5
    """Reserved concurrent executions (caps cost and protects downstream). -1 = unreserved."""

    architecture: str = "arm64"
    """``arm64`` (cheaper on AWS) or ``x86_64`` (what the local emulator runs)."""

    log_level: str = "INFO"
    """``LOG_LEVEL`` for Powertools: DEBUG, INFO, WARNING or ERROR."""

    batch_size: int = 100
    """Records per invocation, 1-10000."""

    batching_window_seconds: int = 1
    """``maximum_batching_window_in_seconds``, 0-300."""

    max_retry_attempts: int = 3
    """``maximum_retry_attempts`` for a failing batch, -1 (forever) to 10000."""

    max_record_age_seconds: int = 3600
    """``maximum_record_age_in_seconds``: -1 (forever) or 60-604800."""

    parallelization_factor: int = 1
    """Concurrent batches per shard, 1-10."""


@dataclass(frozen=True)
class GlueSettings:
    """``[glue]``: the Glue Data Catalog, the bronze crawler and the batch Spark jobs (Glue 5.0)."""

    worker_type: str = "G.1X"
    """Glue worker type: ``G.1X`` (4 vCPU, 16 GB), ``G.2X``, ``G.4X``, ``G.8X`` (``G.025X`` is for
    streaming jobs only)."""

    number_of_workers: int = 2
    """Workers per job run, 2-299 (one is the driver)."""

    timeout_minutes: int = 60
    """Job run timeout in minutes (1-2880); a stuck run stops costing money after it."""

    max_retries: int = 0
    """Automatic retries of a failed job run, 0-10."""

    execution_class: str = "STANDARD"
    """``STANDARD`` or ``FLEX`` (spare capacity: cheaper, may start later; G.1X/G.2X only)."""

    bronze_to_silver_schedule: str = "cron(0 3 * * ? *)"
    """Glue cron of the workflow's SCHEDULED trigger (bronze -> silver; silver -> gold follows on success)."""

    schedule_active: bool = True
    """Activate the scheduled trigger on creation (``start_on_creation``). False = runs only on demand."""

    crawler_schedule: str = "cron(0 2 * * ? *)"
    """Glue cron of the bronze crawler (raw and unstructured prefixes); empty = on demand only."""

    catalog_encryption: bool = True
    """Account-wide Data Catalog encryption settings (SSE-KMS metadata + encrypted connection passwords)
    with the lake key. One per account and region: whoever applies it owns it."""


@dataclass(frozen=True)
class AthenaSettings:
    """``[athena]``: the lake's Athena workgroup."""

    bytes_scanned_cutoff_gb: int = 100
    """Per-query scan limit in GB (cost guard rail), >= 1."""


@dataclass(frozen=True)
class EmrSettings:
    """``[emr]``: the transient EMR cluster that runs the backfill steps (``emr_steps/steps.py``)."""

    release_label: str = "emr-7.5.0"
    """EMR release (7.x: Spark 3.5, Python 3.9+ on Amazon Linux 2023)."""

    subnet_id: str = ""
    """Private subnet of the cluster (no public IPs). Empty = the stack gets a required Terraform
    variable ``emr_subnet_id`` (``-var emr_subnet_id=subnet-...`` or ``TF_VAR_emr_subnet_id``). The subnet
    must be tagged ``for-use-with-amazon-emr-managed-policies = true`` (AmazonEMRServicePolicy_v2) and
    reach S3 through a gateway VPC endpoint (plus a NAT or interface endpoints for the other services)."""

    master_instance_type: str = "m6g.xlarge"
    """Primary node instance type."""

    core_instance_type: str = "m6g.xlarge"
    """Core node instance type."""

    core_instance_count: int = 2
    """Core nodes, >= 1."""

    ebs_size_gb: int = 64
    """gp3 EBS volume per core node (GB, encrypted by the security configuration)."""

    idle_timeout_seconds: int = 3600
    """Auto-termination after this much idle time (60-604800): a backstop, the cluster already ends
    after its last step."""


@dataclass(frozen=True)
class LayerLifecycle:
    """One bucket's lifecycle rule. ``0`` disables a transition or an expiration."""

    standard_ia_days: int = 0
    """Days after creation to move current versions to STANDARD_IA (0 = never, else >= 30)."""

    glacier_days: int = 0
    """Days after creation to move current versions to GLACIER (0 = never; with STANDARD_IA it must
    be at least 30 days later)."""

    expiration_days: int = 0
    """Days after creation to expire current versions (0 = never)."""

    noncurrent_expiration_days: int = 90
    """Days after becoming noncurrent to permanently delete old versions (>= 1)."""

    abort_incomplete_multipart_days: int = 7
    """Days after which incomplete multipart uploads are aborted (>= 1)."""


@dataclass(frozen=True)
class LifecycleSettings:
    """``[lifecycle.<layer>]``: one :class:`LayerLifecycle` per lake bucket."""

    bronze: LayerLifecycle = field(default_factory=LayerLifecycle)
    silver: LayerLifecycle = field(default_factory=LayerLifecycle)
    gold: LayerLifecycle = field(default_factory=LayerLifecycle)
    quarantine: LayerLifecycle = field(default_factory=LayerLifecycle)
    artifacts: LayerLifecycle = field(default_factory=LayerLifecycle)
    athena_results: LayerLifecycle = field(default_factory=LayerLifecycle)
    access_logs: LayerLifecycle = field(default_factory=LayerLifecycle)


@dataclass(frozen=True)
class BackendSettings:
    """``[backend]``: where Terraform keeps this environment's state."""

    type: str = "s3"
    """``local`` (state file on disk, for the emulator) or ``s3``."""

    path: str = ""
    """``local`` only: state file path, relative to the synthesized stack folder."""

    bucket: str = ""
    """``s3`` only: state bucket."""

    key: str = ""
    """``s3`` only: state object key."""

    region: str = ""
    """``s3`` only: region of the state bucket."""

    dynamodb_table: str = ""
    """``s3`` only: DynamoDB lock table (legacy locking). Either this or ``use_lockfile``."""

    use_lockfile: bool = False
    """``s3`` only: S3-native state locking (Terraform >= 1.10)."""

    encrypt: bool = True
    """``s3`` only: server-side encryption of the state object."""

    kms_key_id: str = ""
    """``s3`` only: optional KMS key ARN for the state object."""


@dataclass(frozen=True)
class ServiceSwitches:
    """``[services]``: create switches. A switch for a construct not yet written is accepted and
    ignored (the construct is simply not composed)."""

    s3_lake: bool = True
    kms: bool = True
    kinesis: bool = True
    ingest_lambda: bool = True
    glue_catalog: bool = True
    """Lake databases, silver/gold tables (partition projection), bronze crawler, catalog encryption."""
    glue_jobs: bool = True
    """bronze -> silver and silver -> gold Glue 5.0 jobs (needs glue_catalog)."""
    glue_workflow: bool = True
    """Glue workflow chaining the jobs (needs glue_jobs)."""
    athena: bool = True
    """Athena workgroup with enforced, KMS-encrypted results (needs s3_lake)."""
    redshift: bool = False
    msk: bool = False
    emr: bool = False
    emr_serverless: bool = False
    quicksight: bool = False


@dataclass(frozen=True)
class EnvironmentConfig:
    """One environment (``environments/<name>.toml``)."""

    name: str
    """``local``, ``dev`` or ``prod``; must match the file name."""

    name_prefix: str
    """Prefix of every resource name, e.g. ``lakeforge-dev`` (lowercase, digits, hyphens)."""

    region: str
    """AWS region (``sa-east-1`` for dev/prod, ``us-east-1`` for the emulator)."""

    tags: dict[str, str]
    """Tags on every taggable resource; must include :data:`REQUIRED_TAGS`."""

    backend: BackendSettings
    endpoint: str = ""
    """Emulator endpoint (local only, e.g. ``http://127.0.0.1:4566``); must be empty elsewhere."""

    force_destroy: bool = False
    """Let ``terraform destroy`` delete non-empty buckets. Only allowed in ``local``."""

    log_retention_days: int = 30
    """CloudWatch Logs retention (one of :data:`LOG_RETENTION_DAYS`)."""

    account: AccountSettings = field(default_factory=AccountSettings)
    kms: KmsSettings = field(default_factory=KmsSettings)
    kinesis: KinesisSettings = field(default_factory=KinesisSettings)
    lambda_: LambdaSettings = field(default_factory=LambdaSettings, metadata={"toml": "lambda"})
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    glue: GlueSettings = field(default_factory=GlueSettings)
    athena: AthenaSettings = field(default_factory=AthenaSettings)
    emr: EmrSettings = field(default_factory=EmrSettings)
    services: ServiceSwitches = field(default_factory=ServiceSwitches)

    @property
    def is_local(self) -> bool:
        """True for the emulator environment."""
        return self.name == "local"

    @property
    def stack_name(self) -> str:
        """Name of this environment's Terraform stack (``lakeforge-<env>``)."""
        return f"lakeforge-{self.name}"


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
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(fields))}")
    kwargs: dict[str, Any] = {}
    for key, f in fields.items():
        sub = f"{where}.{key}" if where else key
        if key in data:
            kwargs[f.name] = _coerce(data[key], hints[f.name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: required key missing")
    return cls(**kwargs)


# --------------------------------------------------------------------------------------------------
# Semantic validation
# --------------------------------------------------------------------------------------------------
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_SUFFIX_RE = re.compile(r"^[a-z0-9-]*$")
_GLUE_CRON_RE = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_EMR_RELEASE_RE = re.compile(r"^emr-\d+\.\d+\.\d+$")
GLUE_WORKER_TYPES: tuple[str, ...] = ("G.1X", "G.2X", "G.4X", "G.8X")


def _validate(cfg: EnvironmentConfig, expected_name: str | None) -> None:
    errors: list[str] = []

    def check(ok: bool, message: str) -> None:
        if not ok:
            errors.append(message)

    check(cfg.name in ENVIRONMENTS, f"name: must be one of {ENVIRONMENTS}, got {cfg.name!r}")
    if expected_name is not None:
        check(cfg.name == expected_name, f"name: {cfg.name!r} does not match the file name {expected_name!r}")
    check(bool(_PREFIX_RE.match(cfg.name_prefix)),
          "name_prefix: 3-40 chars of lowercase letters, digits and hyphens, starting with a letter")
    check(bool(_REGION_RE.match(cfg.region)), f"region: {cfg.region!r} is not an AWS region name")
    if cfg.is_local:
        check(cfg.endpoint.startswith(("http://", "https://")), "endpoint: local needs an http(s) URL")
    else:
        check(cfg.endpoint == "", "endpoint: only the local environment may set an emulator endpoint")
        check(not cfg.force_destroy, "force_destroy: only allowed in local")
    check(cfg.log_retention_days in LOG_RETENTION_DAYS,
          f"log_retention_days: {cfg.log_retention_days} is not a CloudWatch Logs retention value")

    missing_tags = [t for t in REQUIRED_TAGS if not cfg.tags.get(t)]
    check(not missing_tags, f"tags: missing or empty {missing_tags}")
    check(cfg.tags.get("ManagedBy") == "terraform", "tags.ManagedBy: must be 'terraform'")
    check(cfg.tags.get("Environment") == cfg.name, "tags.Environment: must equal name")

    acct = cfg.account
    check(acct.id == "" or bool(_ACCOUNT_RE.match(acct.id)), "account.id: 12 digits or empty")
    check(bool(_SUFFIX_RE.match(acct.bucket_suffix)), "account.bucket_suffix: lowercase letters, digits, hyphens")
    # Longest bucket: <prefix>-athena-results[-<suffix>][-<12-digit account>] must fit in 63 chars.
    longest = len(cfg.name_prefix) + len("-athena-results")
    longest += len(acct.bucket_suffix) + 1 if acct.bucket_suffix else 0
    longest += 13 if acct.append_account_id else 0
    check(longest <= 63, f"bucket names would be {longest} chars (> 63): shorten name_prefix or bucket_suffix")

    check(7 <= cfg.kms.deletion_window_days <= 30, "kms.deletion_window_days: 7-30")
    check(90 <= cfg.kms.rotation_period_days <= 2560, "kms.rotation_period_days: 90-2560")

    k = cfg.kinesis
    check(k.capacity_mode in ("ON_DEMAND", "PROVISIONED"), "kinesis.capacity_mode: ON_DEMAND or PROVISIONED")
    check(k.shard_count >= 1, "kinesis.shard_count: >= 1")
    check(24 <= k.retention_hours <= 8760, "kinesis.retention_hours: 24-8760")

    lam = cfg.lambda_
    check(128 <= lam.memory_mb <= 10240, "lambda.memory_mb: 128-10240")
    check(1 <= lam.timeout_seconds <= 900, "lambda.timeout_seconds: 1-900")
    check(lam.reserved_concurrency == -1 or lam.reserved_concurrency >= 0, "lambda.reserved_concurrency: -1 or >= 0")
    check(lam.architecture in ("x86_64", "arm64"), "lambda.architecture: x86_64 or arm64")
    check(lam.log_level in ("DEBUG", "INFO", "WARNING", "ERROR"), "lambda.log_level: DEBUG/INFO/WARNING/ERROR")
    check(1 <= lam.batch_size <= 10000, "lambda.batch_size: 1-10000")
    check(0 <= lam.batching_window_seconds <= 300, "lambda.batching_window_seconds: 0-300")
    check(-1 <= lam.max_retry_attempts <= 10000, "lambda.max_retry_attempts: -1..10000")
    check(lam.max_record_age_seconds == -1 or 60 <= lam.max_record_age_seconds <= 604800,
          "lambda.max_record_age_seconds: -1 or 60-604800")
    check(1 <= lam.parallelization_factor <= 10, "lambda.parallelization_factor: 1-10")

    for f in dataclasses.fields(LifecycleSettings):
        layer: LayerLifecycle = getattr(cfg.lifecycle, f.name)
        where = f"lifecycle.{f.name}"
        ia, gl, ex = layer.standard_ia_days, layer.glacier_days, layer.expiration_days
        check(ia == 0 or ia >= 30, f"{where}.standard_ia_days: 0 or >= 30 (S3 minimum)")
        check(gl >= 0 and ex >= 0, f"{where}: days must be >= 0")
        if ia and gl:
            check(gl >= ia + 30, f"{where}.glacier_days: must be >= standard_ia_days + 30")
        if ex:
            check(ex > max(ia, gl), f"{where}.expiration_days: must come after every transition")
        check(layer.noncurrent_expiration_days >= 1, f"{where}.noncurrent_expiration_days: >= 1")
        check(layer.abort_incomplete_multipart_days >= 1, f"{where}.abort_incomplete_multipart_days: >= 1")

    g = cfg.glue
    check(g.worker_type in GLUE_WORKER_TYPES, f"glue.worker_type: one of {GLUE_WORKER_TYPES}")
    check(2 <= g.number_of_workers <= 299, "glue.number_of_workers: 2-299")
    check(1 <= g.timeout_minutes <= 2880, "glue.timeout_minutes: 1-2880")
    check(0 <= g.max_retries <= 10, "glue.max_retries: 0-10")
    check(g.execution_class in ("STANDARD", "FLEX"), "glue.execution_class: STANDARD or FLEX")
    if g.execution_class == "FLEX":
        check(g.worker_type in ("G.1X", "G.2X"), "glue.execution_class: FLEX needs worker_type G.1X or G.2X")
    check(bool(_GLUE_CRON_RE.match(g.bronze_to_silver_schedule)),
          "glue.bronze_to_silver_schedule: a Glue cron expression, e.g. cron(0 3 * * ? *)")
    check(g.crawler_schedule == "" or bool(_GLUE_CRON_RE.match(g.crawler_schedule)),
          "glue.crawler_schedule: empty or a Glue cron expression")

    check(cfg.athena.bytes_scanned_cutoff_gb >= 1, "athena.bytes_scanned_cutoff_gb: >= 1")

    e = cfg.emr
    check(bool(_EMR_RELEASE_RE.match(e.release_label)) and int(e.release_label[4:].split(".")[0]) >= 7,
          "emr.release_label: an EMR 7 release, e.g. emr-7.5.0")
    check(e.subnet_id == "" or bool(_SUBNET_RE.match(e.subnet_id)), "emr.subnet_id: empty or subnet-<hex>")
    check(e.core_instance_count >= 1, "emr.core_instance_count: >= 1")
    check(32 <= e.ebs_size_gb <= 16384, "emr.ebs_size_gb: 32-16384")
    check(60 <= e.idle_timeout_seconds <= 604800, "emr.idle_timeout_seconds: 60-604800")

    sw = cfg.services
    if sw.ingest_lambda:
        check(sw.s3_lake and sw.kinesis, "services.ingest_lambda: needs s3_lake and kinesis")
    if sw.glue_catalog:
        check(sw.s3_lake, "services.glue_catalog: needs s3_lake")
    if sw.glue_jobs:
        check(sw.s3_lake and sw.glue_catalog, "services.glue_jobs: needs s3_lake and glue_catalog")
    if sw.glue_workflow:
        check(sw.glue_jobs, "services.glue_workflow: needs glue_jobs")
    if sw.athena:
        check(sw.s3_lake, "services.athena: needs s3_lake")
    if sw.emr:
        check(sw.s3_lake, "services.emr: needs s3_lake")
        check(not cfg.is_local, "services.emr: no emulator can create an EMR cluster; keep it off in local")

    b = cfg.backend
    check(b.type in ("local", "s3"), "backend.type: local or s3")
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
