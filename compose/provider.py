"""The AWS provider and the Terraform state backend of one environment's stack.

Locally every service endpoint points at the emulator (a Terraform variable, so a test can apply to an
emulator on another port), with the emulator's dummy credentials; dev and prod use real AWS, pinned to
the configured account, with a locked, encrypted S3 state backend.
"""
from __future__ import annotations

from environments import EnvironmentConfig
from modules._bindings import aws, core

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


def configure_provider(stack, config: EnvironmentConfig) -> None:
    """Add the AWS provider and the state backend of ``config`` to ``stack``."""
    LocalBackend = core.LocalBackend
    S3Backend = core.S3Backend
    TerraformVariable = core.TerraformVariable

    binding = aws.provider
    AwsProvider = binding.AwsProvider
    AwsProviderDefaultTags = binding.AwsProviderDefaultTags
    AwsProviderEndpoints = binding.AwsProviderEndpoints

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
            max_retries=3,  # bounded: a dropped keep-alive connection is retried; an emulator 500 fails in seconds
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
