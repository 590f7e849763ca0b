#!/usr/bin/env python
"""lakeforge: compose the platform's stacks and synthesize them with CDK for Terraform.

``python main.py`` synthesizes one cdktf App with one stack per environment (``lakeforge-local``,
``lakeforge-dev``, ``lakeforge-prod``) into ``cdktf.out/stacks/lakeforge-<env>/cdk.tf.json``. A subset:
``python main.py local`` or ``LAKEFORGE_ENVS=local,dev python main.py``; another output folder:
``LAKEFORGE_CDKTF_OUT=/tmp/out python main.py``. Deploy with plain
``terraform`` in the stack folder (see ``local_runtime/terraform.py``).

Everything environment-specific comes from ``environments/<env>.toml`` (``modules/environment.py``);
the constructs in ``modules/`` only see their props.

Tests import :func:`build_app` / :func:`build_stack`; the AWS provider bindings are imported lazily,
once per process, by the first stack built.

The batch lakehouse (Glue Data Catalog, Glue jobs and workflow, Athena, EMR) takes inputs built or
declared outside Terraform, gathered before synth by :func:`batch_inputs`: the shared code zip
(``bundling.glue_libs.build_glue_libs``), the job scripts ``glue_jobs/<job>.py``, the silver/gold table
specs (``lakehouse.catalog_spec.all_tables``) and the EMR backfill steps (``emr_steps.steps``). Tests pass
stand-ins through :class:`BatchInputs`.
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modules.environment import ENVIRONMENTS, EnvironmentConfig, load_environment

ROOT = Path(__file__).resolve().parent
DEFAULT_OUTDIR = ROOT / "cdktf.out"
INGEST_FUNCTION = "ingest"
GLUE_JOBS: tuple[str, ...] = ("bronze_to_silver", "silver_to_gold")
"""Glue job keys, in workflow order; each runs ``glue_jobs/<key>.py``."""
GLUE_SCRIPTS_DIR = ROOT / "glue_jobs"
CRAWLER_PATHS: tuple[str, ...] = ("source=erp/", "source=susep/", "unstructured/")
"""Raw and unstructured bronze prefixes the crawler catalogs."""

# Provider endpoint names (canonical names of the hashicorp/aws 5.x `endpoints` block; aliases such as
# cloudwatchlogs/stepfunctions/msk are left out so no service is configured twice) pointed at the
# emulator in the local stack: every service the lakehouse uses or the emulator may serve.
# `lambda_` is the binding's spelling of `lambda`.
LOCAL_ENDPOINT_SERVICES: tuple[str, ...] = (
    "acm", "apigateway", "apigatewayv2", "appconfig", "appsync", "athena", "autoscaling", "backup", "batch",
    "budgets", "cloudcontrol", "cloudformation", "cloudfront", "cloudtrail", "cloudwatch", "codebuild",
    "cognitoidentity", "cognitoidp", "configservice", "docdb", "dsql", "dynamodb", "ec2", "ecr", "ecs", "efs",
    "eks", "elasticache", "elb", "elbv2", "emr", "emrserverless", "es", "events", "firehose", "glue", "iam",
    "inspector2", "iot", "kafka", "kinesis", "kinesisanalyticsv2", "kms", "lakeformation", "lambda_",
    "logs", "mq", "mwaa", "opensearch", "opensearchserverless", "organizations", "pipes", "quicksight", "rds",
    "redshift", "redshiftdata", "redshiftserverless", "resourcegroups", "resourcegroupstaggingapi", "route53",
    "s3", "s3_control", "s3_tables", "scheduler", "secretsmanager", "servicediscovery", "ses", "sesv2", "sfn",
    "signer", "sns", "sqs", "ssm", "sts", "transcribe", "transfer", "wafv2",
)

OUTPUT_NAMES: tuple[str, ...] = (
    "bronze_bucket", "silver_bucket", "gold_bucket", "quarantine_bucket", "artifacts_bucket",
    "athena_results_bucket", "access_logs_bucket", "kms_key_arn", "ingest_stream_name", "ingest_stream_arn",
    "ingest_function_name", "ingest_failure_queue_url",
    "glue_database_bronze", "glue_database_silver", "glue_database_gold", "glue_crawler_name",
    "glue_job_bronze_to_silver", "glue_job_silver_to_gold", "glue_workflow_name", "athena_workgroup",
    "emr_cluster_id", "region", "environment", "name_prefix",
)
"""Stable output names (a service switched off drops its outputs: see :func:`expected_outputs`)."""

_OUTPUTS_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "s3_lake": ("bronze_bucket", "silver_bucket", "gold_bucket", "quarantine_bucket", "artifacts_bucket",
                "athena_results_bucket", "access_logs_bucket"),
    "kms": ("kms_key_arn",),
    "kinesis": ("ingest_stream_name", "ingest_stream_arn"),
    "ingest_lambda": ("ingest_function_name", "ingest_failure_queue_url"),
    "glue_catalog": ("glue_database_bronze", "glue_database_silver", "glue_database_gold", "glue_crawler_name"),
    "glue_jobs": ("glue_job_bronze_to_silver", "glue_job_silver_to_gold"),
    "glue_workflow": ("glue_workflow_name",),
    "athena": ("athena_workgroup",),
    "emr": ("emr_cluster_id",),
}


def expected_outputs(config: EnvironmentConfig) -> tuple[str, ...]:
    """The outputs a stack has for its ``[services]`` switches (in :data:`OUTPUT_NAMES` order)."""
    off = {name for svc, names in _OUTPUTS_BY_SERVICE.items() if not getattr(config.services, svc)
           for name in names}
    return tuple(n for n in OUTPUT_NAMES if n not in off)


@dataclass(frozen=True)
class BatchInputs:
    """Inputs of the batch constructs that come from outside Terraform. ``None`` = the real ones
    (:func:`batch_inputs`); tests pass small stand-ins."""

    libs_zip: Path | None = None
    """Shared code zip for ``--extra-py-files`` (default: ``bundling.glue_libs.build_glue_libs()``)."""

    scripts: Mapping[str, Path] | None = None
    """Job key -> script (default: ``glue_jobs/<key>.py`` for each of :data:`GLUE_JOBS`)."""

    tables: tuple | None = None
    """Silver/gold ``TableSpec``s (default: ``lakehouse.catalog_spec.all_tables()``)."""

    emr_steps: Callable[[str, str], Sequence[dict] | None] | None = None
    """``(bronze bucket, artifacts bucket) ->`` rendered steps like ``emr_steps.steps.render_steps`` (default:
    :func:`backfill_steps`)."""


# --------------------------------------------------------------------------------------------------
# Lambda packages
# --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def function_zip(name: str) -> Path:
    """Build (or reuse) the deployment package of one Lambda function before synth (once per process)."""
    from bundling.lambda_zip import build_function_zip

    return Path(build_function_zip(name))


@functools.lru_cache(maxsize=None)
def glue_libs_zip() -> Path:
    """Build (or reuse) ``build/glue/lakehouse.zip``, deterministic, before synth (once per process)."""
    from bundling.glue_libs import build_glue_libs

    return Path(build_glue_libs())


@functools.lru_cache(maxsize=None)
def catalog_tables() -> tuple:
    """Every silver and gold ``TableSpec``; ``()`` (with a warning) only while the spec modules do not exist."""
    try:
        from lakehouse.catalog_spec import all_tables

        return tuple(all_tables())
    except ImportError as exc:
        print(f"warning: no table specs ({exc}); the catalog declares no silver/gold tables", file=sys.stderr)
        return ()


def backfill_steps(bronze_bucket: str, artifacts_bucket: str) -> list[dict] | None:
    """The rendered EMR backfill steps (``emr_steps.steps.render_steps``), or None while that module does not exist."""
    try:
        from emr_steps.steps import render_steps
    except ImportError as exc:
        print(f"warning: no EMR steps ({exc}); no EMR cluster and no step code upload", file=sys.stderr)
        return None
    return list(render_steps(bronze_bucket, artifacts_bucket))


def emr_steps_and_code(rendered: Sequence[dict], artifacts_bucket: str, libs_zip: Path | None
                       ) -> tuple[tuple, dict[str, Path]]:
    """Rendered steps -> (``EmrStep``s: ``command-runner.jar`` + the ``spark-submit`` argv, {artifacts key: local
    file} to upload: each step's ``script`` at its ``script_uri`` and the shared-code zip at its ``py_files``)."""
    from modules.emr import EmrStep

    prefix = f"s3://{artifacts_bucket}/"

    def key(uri: str) -> str:
        if not uri.startswith(prefix):
            raise ValueError(f"EMR step code {uri} is not in the artifacts bucket")
        return uri[len(prefix):]

    steps, code = [], {}
    for step in rendered:
        jar_step = step.get("hadoop_jar_step")
        if jar_step is None:
            from emr_steps.steps import spark_submit_args

            jar_step = {"jar": "command-runner.jar", "args": spark_submit_args(step)}
        args = list(jar_step["args"])
        if args[:1] != ["spark-submit"]:
            args = ["spark-submit", *args]
        steps.append(EmrStep(name=step["name"], action_on_failure=step["action_on_failure"], args=tuple(args),
                             jar=jar_step.get("jar", "command-runner.jar")))
        code[key(step["script_uri"])] = ROOT / step["script"]
        if step.get("py_files"):
            if libs_zip is None:
                raise ValueError("EMR steps need the shared-code zip (--py-files)")
            code[key(step["py_files"])] = libs_zip
    return tuple(steps), code


def batch_inputs(given: BatchInputs | None, config: EnvironmentConfig) -> BatchInputs:
    """Fill in the real batch inputs the enabled services need (build the zip only when jobs are on)."""
    given = given or BatchInputs()
    svc = config.services
    return BatchInputs(
        libs_zip=given.libs_zip or (glue_libs_zip() if svc.s3_lake and (svc.glue_jobs or svc.emr or config.is_local)
                                    else None),
        scripts=given.scripts if given.scripts is not None else {k: GLUE_SCRIPTS_DIR / f"{k}.py" for k in GLUE_JOBS},
        tables=given.tables if given.tables is not None else (catalog_tables() if svc.glue_catalog else ()),
        emr_steps=given.emr_steps or backfill_steps,
    )


# --------------------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------------------
def _configure_provider(stack, config: EnvironmentConfig) -> None:
    from cdktf import LocalBackend, S3Backend, TerraformVariable

    from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints

    common = dict(
        region=config.region,
        default_tags=[AwsProviderDefaultTags(tags=dict(config.tags))],
        allowed_account_ids=[config.account.id] if config.account.id else None,
    )
    if config.is_local:
        endpoint = TerraformVariable(
            stack, "aws_endpoint", type="string", default=config.endpoint,
            description="Base URL of the AWS emulator; override with -var aws_endpoint=http://127.0.0.1:PORT",
        )
        url = endpoint.string_value
        AwsProvider(
            stack, "aws", **common,
            access_key="test", secret_key="test",  # the emulator's dummy credentials, not a secret
            max_retries=1,  # an emulator 500 would otherwise stall apply for minutes
            skip_credentials_validation=True,
            skip_metadata_api_check="true",
            skip_requesting_account_id=False,  # ARNs need the account id (Glue/Athena tag reads)
            skip_region_validation=True,
            s3_use_path_style=True,
            endpoints=[AwsProviderEndpoints(**{svc: url for svc in LOCAL_ENDPOINT_SERVICES})],
        )
        LocalBackend(stack, path=config.backend.path)
    else:
        AwsProvider(stack, "aws", **common)
        b = config.backend
        backend = S3Backend(
            stack, bucket=b.bucket, key=b.key, region=b.region, encrypt=b.encrypt,
            dynamodb_table=b.dynamodb_table or None, kms_key_id=b.kms_key_id or None,
        )
        if b.use_lockfile:  # cdktf 0.21's S3Backend predates Terraform 1.10's S3-native locking
            backend.add_override("use_lockfile", True)


def build_stack(app, config: EnvironmentConfig, *, ingest_zip: Path | None = None, batch: BatchInputs | None = None):
    """One environment's TerraformStack (``lakeforge-<env>``), composed from the enabled services."""
    from cdktf import TerraformOutput, TerraformStack

    from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
    from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition

    from modules.glue_jobs import role_name as glue_role_name
    from modules.iam import Statement
    from modules.kinesis import KinesisStream, KinesisStreamProps
    from modules.kinesis_ingest import KinesisEventSource, KinesisEventSourceProps
    from modules.kms import KmsKey, KmsKeyProps
    from modules.lambda_function import PythonFunction, PythonFunctionProps
    from modules.s3_lake import DataLakeStorage, DataLakeStorageProps, LifecycleRule

    stack = TerraformStack(app, config.stack_name)
    _configure_provider(stack, config)
    svc = config.services
    tags = dict(config.tags)
    prefix = config.name_prefix

    account_id = DataAwsCallerIdentity(stack, "caller").account_id
    partition = DataAwsPartition(stack, "partition").partition

    def output(name: str, value, description: str) -> None:
        assert name in OUTPUT_NAMES, name
        TerraformOutput(stack, name, value=value, description=description)

    # Services that use the lake key through their own endpoints, and roles that call KMS directly
    # (Glue job bookmarks are client-side encrypted; EMR nodes request their local-disk keys).
    via_services = ["s3", "kinesis", "lambda", "sqs"]
    direct_roles = []
    if svc.glue_catalog or svc.glue_jobs:
        via_services.append("glue")
    if svc.glue_jobs:
        direct_roles.append(f"arn:{partition}:iam::{account_id}:role/{glue_role_name(prefix, '*')}")
    if svc.emr:
        via_services.append("ec2")  # EBS volumes of the EMR nodes
        direct_roles.append(f"arn:{partition}:iam::{account_id}:role/{prefix}-backfill-ec2")
    key = KmsKey(stack, "kms", KmsKeyProps(
        alias=f"{prefix}-lake", account_id=account_id, region=config.region, partition=partition,
        description=f"{prefix}: lake, stream, queue, catalog, job and log encryption",
        deletion_window_days=config.kms.deletion_window_days,
        rotation_period_days=config.kms.rotation_period_days,
        via_services=tuple(via_services), direct_principal_arn_patterns=tuple(direct_roles),
        tags=tags, create=svc.kms,
    ))
    if key.arn:
        output("kms_key_arn", key.arn, "ARN of the platform's customer-managed KMS key")

    suffix_parts = [p for p in (config.account.bucket_suffix, account_id if config.account.append_account_id else "")
                    if p]
    lifecycle = {f.name: LifecycleRule(**vars(getattr(config.lifecycle, f.name)))
                 for f in type(config.lifecycle).__dataclass_fields__.values()}
    lake = DataLakeStorage(stack, "lake", DataLakeStorageProps(
        name_prefix=prefix, account_id=account_id, partition=partition, kms_key_arn=key.arn,
        bucket_suffix="-".join(suffix_parts), lifecycle=lifecycle, force_destroy=config.force_destroy,
        tags=tags, create=svc.s3_lake,
    ))
    for layer, name in lake.bucket_names.items():
        output(f"{layer}_bucket", name, f"Name of the {layer.replace('_', '-')} bucket")

    stream = KinesisStream(stack, "ingest_stream", KinesisStreamProps(
        name=f"{prefix}-ingest", kms_key_arn=key.arn, capacity_mode=config.kinesis.capacity_mode,
        shard_count=config.kinesis.shard_count, retention_hours=config.kinesis.retention_hours,
        shard_level_metrics=config.kinesis.shard_level_metrics, tags=tags, create=svc.kinesis,
    ))
    if stream.name:
        output("ingest_stream_name", stream.name, "Kinesis stream receiving raw events")
        output("ingest_stream_arn", stream.arn, "ARN of the ingest Kinesis stream")

    if svc.ingest_lambda:
        lam = config.lambda_
        zip_path = ingest_zip or function_zip(INGEST_FUNCTION)
        bronze, quarantine = lake.bucket_arns["bronze"], lake.bucket_arns["quarantine"]
        fn = PythonFunction(stack, "ingest_function", PythonFunctionProps(
            function_name=f"{prefix}-ingest", zip_path=zip_path,
            description="Kinesis -> validated records in bronze, rejects in quarantine",
            architecture=lam.architecture, memory_mb=lam.memory_mb, timeout_seconds=lam.timeout_seconds,
            reserved_concurrency=lam.reserved_concurrency, kms_key_arn=key.arn,
            log_retention_days=config.log_retention_days,
            environment={
                "BRONZE_BUCKET": lake.bucket_names["bronze"],
                "QUARANTINE_BUCKET": lake.bucket_names["quarantine"],
                "POWERTOOLS_SERVICE_NAME": "lakeforge-ingest",
                "POWERTOOLS_METRICS_NAMESPACE": "Lakeforge",
                "LOG_LEVEL": lam.log_level,
            },
            policy_statements=(
                # DeleteObject: after a failed write the handler rewrites an object without the records
                # it will report as failed, and removes the original (lambda_src/ingest/app.py).
                Statement(sid="WriteBronzeAndQuarantine", actions=("s3:PutObject", "s3:DeleteObject"),
                          resources=(f"{bronze}/*", f"{quarantine}/*")),
            ),
            tags=tags,
        ))
        KinesisEventSource(stack, "ingest_source", KinesisEventSourceProps(
            function_name=fn.arn, stream_arn=stream.arn, on_failure_destination_arn=fn.failure_queue_arn,
            role_name=fn.role_name, batch_size=lam.batch_size, batching_window_seconds=lam.batching_window_seconds,
            max_retry_attempts=lam.max_retry_attempts, max_record_age_seconds=lam.max_record_age_seconds,
            parallelization_factor=lam.parallelization_factor, tags=tags,
        ))
        output("ingest_function_name", fn.function_name, "Name of the ingest Lambda function")
        output("ingest_failure_queue_url", fn.failure_queue_url, "SQS queue receiving failed ingest batches/events")

    _compose_batch(stack, config, lake, key, account_id, partition, batch_inputs(batch, config), output)

    # redshift, msk, emr_serverless, quicksight: switches exist in config; constructs come later.

    output("region", config.region, "AWS region of the stack")
    output("environment", config.name, "Environment name")
    output("name_prefix", prefix, "Prefix of every resource name")
    return stack


def _compose_batch(stack, config: EnvironmentConfig, lake, key, account_id: str, partition: str,
                   inputs: BatchInputs, output) -> None:
    """Glue Data Catalog, Athena workgroup, Glue jobs + workflow and the EMR backfill cluster."""
    from cdktf import TerraformVariable, TerraformVariableValidationConfig

    from modules.athena import AthenaWorkgroup, AthenaWorkgroupProps
    from modules.emr import EmrCluster, EmrClusterProps
    from modules.glue_catalog import GlueCatalog, GlueCatalogProps
    from modules.glue_jobs import GlueJobs, GlueJobSpec, GlueJobsProps
    from modules.glue_workflow import GlueWorkflow, GlueWorkflowProps
    from modules.iam import S3Access
    from modules.s3_artifact import S3Artifact, S3ArtifactProps

    svc = config.services
    tags = dict(config.tags)
    prefix = config.name_prefix
    names, arns = lake.bucket_names, lake.bucket_arns
    glue = config.glue

    catalog = GlueCatalog(stack, "catalog", GlueCatalogProps(
        name_prefix=prefix, bucket_names=names, bucket_arns=arns, account_id=account_id, region=config.region,
        partition=partition, kms_key_arn=key.arn, tables=tuple(inputs.tables or ()),
        crawler_paths=CRAWLER_PATHS, crawler_schedule=glue.crawler_schedule,
        catalog_encryption=glue.catalog_encryption, tags=tags, create=svc.glue_catalog,
    ))
    for layer in ("bronze", "silver", "gold"):
        if layer in catalog.database_names:
            output(f"glue_database_{layer}", catalog.database_names[layer], f"Glue database of the {layer} layer")
    if catalog.crawler_name:
        output("glue_crawler_name", catalog.crawler_name, "Glue crawler of the raw and unstructured bronze prefixes")

    workgroup = AthenaWorkgroup(stack, "athena", AthenaWorkgroupProps(
        name=prefix, results_bucket=names.get("athena_results", ""), kms_key_arn=key.arn,
        expected_bucket_owner=account_id, bytes_scanned_cutoff_per_query=config.athena.bytes_scanned_cutoff_gb * 1024**3,
        force_destroy=config.force_destroy, tags=tags, create=svc.athena,
    ))
    if workgroup.name:
        output("athena_workgroup", workgroup.name, "Athena workgroup (enforced, KMS-encrypted results)")

    if svc.glue_jobs:
        uri = {layer: f"s3://{names[layer]}/" for layer in ("bronze", "silver", "gold", "quarantine", "artifacts")}
        dbs = catalog.database_names
        scripts = inputs.scripts or {}
        reports = S3Access(sid="WriteDqReports", bucket_arn=arns["artifacts"], prefixes=("dq-reports/",),
                           write=True, delete=True)
        specs = (
            GlueJobSpec(
                key="bronze_to_silver", script_path=scripts["bronze_to_silver"],
                description="bronze (raw JSON lines) -> silver (typed, deduplicated Parquet), quality-gated",
                arguments={
                    "--bronze_path": uri["bronze"],
                    "--silver_path": uri["silver"],
                    "--quarantine_path": f"{uri['quarantine']}silver_rules/",
                    "--state_path": f"{uri['artifacts']}state/bronze_to_silver/",
                    "--reports_path": f"{uri['artifacts']}dq-reports/",
                },
                s3_access=(
                    S3Access(sid="ReadBronze", bucket_arn=arns["bronze"], prefixes=("source=",)),
                    S3Access(sid="ReadWriteSilver", bucket_arn=arns["silver"], write=True, delete=True),
                    S3Access(sid="WriteQuarantine", bucket_arn=arns["quarantine"], prefixes=("silver_rules/",),
                             write=True),
                    S3Access(sid="ReadWriteState", bucket_arn=arns["artifacts"], prefixes=("state/bronze_to_silver/",),
                             write=True, delete=True),
                    reports,
                ),
                catalog_databases=tuple(dbs[layer] for layer in ("bronze", "silver") if layer in dbs),
            ),
            GlueJobSpec(
                key="silver_to_gold", script_path=scripts["silver_to_gold"],
                description="silver -> gold (star schema and KPIs), quality-gated",
                arguments={
                    "--silver_path": uri["silver"],
                    "--gold_path": uri["gold"],
                    "--reports_path": f"{uri['artifacts']}dq-reports/",
                },
                s3_access=(
                    S3Access(sid="ReadSilver", bucket_arn=arns["silver"]),
                    S3Access(sid="ReadWriteGold", bucket_arn=arns["gold"], write=True, delete=True),
                    reports,
                ),
                catalog_databases=tuple(dbs[layer] for layer in ("silver", "gold") if layer in dbs),
            ),
        )
        jobs = GlueJobs(stack, "glue_jobs", GlueJobsProps(
            name_prefix=prefix, jobs=specs, artifacts_bucket=names["artifacts"], artifacts_bucket_arn=arns["artifacts"],
            account_id=account_id, region=config.region, partition=partition, libs_zip_path=inputs.libs_zip,
            kms_key_arn=key.arn, worker_type=glue.worker_type, number_of_workers=glue.number_of_workers,
            timeout_minutes=glue.timeout_minutes, max_retries=glue.max_retries, execution_class=glue.execution_class,
            log_retention_days=config.log_retention_days, tags=tags,
        ))
        for job in GLUE_JOBS:
            output(f"glue_job_{job}", jobs.job_names[job], f"Glue job {job.replace('_', ' -> ')}")
        workflow = GlueWorkflow(stack, "glue_workflow", GlueWorkflowProps(
            name=f"{prefix}-batch", job_names=tuple(jobs.job_names[j] for j in GLUE_JOBS),
            schedule=glue.bronze_to_silver_schedule, schedule_active=glue.schedule_active,
            description="bronze -> silver on schedule, then silver -> gold when it succeeded",
            tags=tags, create=svc.glue_workflow,
        ))
        if workflow.name:
            output("glue_workflow_name", workflow.name, "Glue workflow running the batch jobs")

    # EMR backfill: the step code goes to the artifacts bucket with the cluster; locally (no EMR emulator) it
    # is uploaded alone, so local_runtime/batch.py finds it where the rendered steps point.
    if not svc.s3_lake:
        return
    rendered = (inputs.emr_steps or backfill_steps)(names["bronze"], names["artifacts"])
    if rendered is None:
        return
    steps, code = emr_steps_and_code(rendered, names["artifacts"], inputs.libs_zip)
    if not svc.emr:
        if config.is_local:
            for i, (object_key, path) in enumerate(sorted(code.items())):
                S3Artifact(stack, f"emr_code_{i}", S3ArtifactProps(
                    bucket=names["artifacts"], key=object_key, path=path, kms_key_arn=key.arn,
                    content_type="text/x-python" if object_key.endswith(".py") else "application/zip", tags=tags))
        return
    emr = config.emr
    if emr.subnet_id:
        subnet_id = emr.subnet_id
    else:
        subnet_id = TerraformVariable(
            stack, "emr_subnet_id", type="string",
            description="Private subnet of the EMR backfill cluster (tagged for-use-with-amazon-emr-managed-policies=true)",
            validation=[TerraformVariableValidationConfig(
                condition='${can(regex("^subnet-[0-9a-f]{8,17}$", var.emr_subnet_id))}',
                error_message="emr_subnet_id must be a subnet id (subnet-...).")],
        ).string_value
    cluster = EmrCluster(stack, "emr", EmrClusterProps(
        name=f"{prefix}-backfill", subnet_id=subnet_id, steps=steps, uploads=code,
        artifacts_bucket=names["artifacts"], artifacts_bucket_arn=arns["artifacts"], kms_key_arn=key.arn,
        account_id=account_id, region=config.region, partition=partition, release_label=emr.release_label,
        master_instance_type=emr.master_instance_type, core_instance_type=emr.core_instance_type,
        core_instance_count=emr.core_instance_count, ebs_size_gb=emr.ebs_size_gb,
        idle_timeout_seconds=emr.idle_timeout_seconds,
        s3_access=(
            # emr_steps/backfill_erp.py: ERP exports from landing/erp/, bronze objects via _tmp/backfill/.
            S3Access(sid="ReadErpExports", bucket_arn=arns["bronze"], prefixes=("landing/erp/",)),
            S3Access(sid="WriteBronzeBackfill", bucket_arn=arns["bronze"], prefixes=("source=erp/", "_tmp/backfill/"),
                     write=True, delete=True),
        ),
        tags=tags,
    ))
    output("emr_cluster_id", cluster.cluster_id, "Id of the transient EMR backfill cluster")


def build_app(envs: Iterable[str] = ENVIRONMENTS, outdir: Path | str = DEFAULT_OUTDIR, *,
              ingest_zip: Path | None = None, env_dir: Path | str | None = None, batch: BatchInputs | None = None):
    """A cdktf App holding one stack per environment in ``envs`` (call ``app.synth()`` to write it)."""
    from cdktf import App

    app = App(outdir=str(outdir), skip_validation=False)
    for env in envs:
        build_stack(app, load_environment(env, env_dir), ingest_zip=ingest_zip, batch=batch)
    return app


def selected_envs(argv: Sequence[str]) -> list[str]:
    """Environments named on the command line, else in ``LAKEFORGE_ENVS``, else all."""
    raw = list(argv) or [e for e in os.environ.get("LAKEFORGE_ENVS", "").replace(",", " ").split() if e]
    envs = raw or list(ENVIRONMENTS)
    unknown = [e for e in envs if e not in ENVIRONMENTS]
    if unknown:
        raise SystemExit(f"unknown environment(s) {unknown}; choose from {list(ENVIRONMENTS)}")
    return list(dict.fromkeys(envs))


def main(argv: Sequence[str] | None = None) -> int:
    envs = selected_envs(sys.argv[1:] if argv is None else argv)
    outdir = Path(os.environ.get("LAKEFORGE_CDKTF_OUT") or DEFAULT_OUTDIR)
    app = build_app(envs, outdir)
    app.synth()
    for env in envs:
        print(f"synthesized {outdir / 'stacks' / f'lakeforge-{env}' / 'cdk.tf.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
