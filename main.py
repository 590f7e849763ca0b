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
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from modules.environment import ENVIRONMENTS, EnvironmentConfig, load_environment

ROOT = Path(__file__).resolve().parent
DEFAULT_OUTDIR = ROOT / "cdktf.out"
INGEST_FUNCTION = "ingest"

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
    "ingest_function_name", "ingest_failure_queue_url", "region", "environment", "name_prefix",
)
"""Stable output names (a service switched off drops its outputs)."""


# --------------------------------------------------------------------------------------------------
# Lambda packages
# --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def function_zip(name: str) -> Path:
    """Build (or reuse) the deployment package of one Lambda function before synth (once per process)."""
    from bundling.lambda_zip import build_function_zip

    return Path(build_function_zip(name))


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


def build_stack(app, config: EnvironmentConfig, *, ingest_zip: Path | None = None):
    """One environment's TerraformStack (``lakeforge-<env>``), composed from the enabled services."""
    from cdktf import TerraformOutput, TerraformStack

    from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
    from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition

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

    key = KmsKey(stack, "kms", KmsKeyProps(
        alias=f"{prefix}-lake", account_id=account_id, region=config.region, partition=partition,
        description=f"{prefix}: lake, stream, queue and log encryption",
        deletion_window_days=config.kms.deletion_window_days,
        rotation_period_days=config.kms.rotation_period_days,
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
                Statement(sid="WriteBronzeAndQuarantine", actions=("s3:PutObject",),
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

    # redshift, msk, emr, emr_serverless, quicksight: switches exist in config; constructs come later.

    output("region", config.region, "AWS region of the stack")
    output("environment", config.name, "Environment name")
    output("name_prefix", prefix, "Prefix of every resource name")
    return stack


def build_app(envs: Iterable[str] = ENVIRONMENTS, outdir: Path | str = DEFAULT_OUTDIR, *,
              ingest_zip: Path | None = None, env_dir: Path | str | None = None):
    """A cdktf App holding one stack per environment in ``envs`` (call ``app.synth()`` to write it)."""
    from cdktf import App

    app = App(outdir=str(outdir), skip_validation=False)
    for env in envs:
        build_stack(app, load_environment(env, env_dir), ingest_zip=ingest_zip)
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
