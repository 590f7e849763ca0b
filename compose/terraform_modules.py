"""``make modules``: which constructs are emitted as standalone Terraform modules (:mod:`bundling.terraform_modules`
does the emitting), with the
values of each one's complete example and the values it is fixed at.

Most modules are a construct as it is. Three are the platform's own uses of a construct, for the plain-HCL
composition of the lakehouse (``terraform-modules/examples/lakehouse``): ``ingest_function`` (the Kinesis ingest
Lambda function: its package, environment and S3 grants), ``lakehouse_glue_jobs`` (the bronze-to-silver and
silver-to-gold jobs with their scripts, arguments and grants) and the generic ``kinesis_ingest`` mapping. Their
inputs the composition takes from other modules (bucket names and ARNs, database names, secret ARNs) are extra
variables.
"""
from __future__ import annotations

from collections.abc import Mapping

from bundling.terraform_modules import ModuleSpec
from modules.emr_props import EmrStep

ACCOUNT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_ARN = "arn:aws:s3:::example-artifacts"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:example"
STREAM_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/example"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:example-failures"


def _variable(stack, name: str, type_: str, description: str) -> str:
    """An extra (non-option) variable of a module; its value (a string token for a string)."""
    from modules._bindings import core

    var = core.TerraformVariable(stack, name, type=type_, description=description, nullable=False)
    return var.string_value if type_ == "string" else "${var." + name + "}"


def _lookup(variable: str, keys) -> dict[str, str]:
    """``{key: "${var.<variable>.<key>}"}`` (attribute syntax: no quotes to escape inside JSON strings)."""
    return {key: "${var." + variable + "." + key + "}" for key in keys}


def function_package(stack) -> Mapping:
    """A function whose deployment package is a variable (Terraform reads and hashes it)."""
    return {"zip_path": _variable(stack, "zip_path", "string", "Path of the function's deployment package (.zip).")}


def artifact_file(stack) -> Mapping:
    """An artifact whose file is a variable (Terraform reads and hashes it)."""
    return {"path": _variable(stack, "source_path", "string", "Path of the file to upload.")}


def topic_admin(stack) -> Mapping:
    """The platform's topic-admin function package and its ingest topic."""
    from compose import inputs
    from data_contracts import topics
    from modules.kafka_topics_props import TopicSpec

    return {"zip_path": inputs.function_zip("kafka_topics"),
            "topics": (TopicSpec(name=topics.INGEST_TOPIC, partitions=3, replication_factor=3),)}


def kpi_dashboards(stack) -> Mapping:
    """The platform's KPI data sets and visuals."""
    from compose.serving import dashboard_visuals, kpi_data_sets
    from warehouse.schema import DEFAULT_SCHEMA

    return {"data_sets": kpi_data_sets(DEFAULT_SCHEMA), "visuals": dashboard_visuals()}


def ingest_function(stack) -> Mapping:
    """The Kinesis ingest function's package, environment and S3 grants, on the buckets of extra variables."""
    from compose import inputs
    from compose.monitoring import FUNCTION_METRICS
    from compose.streaming import ingest_s3_statements
    from data_contracts import metrics

    bronze = _variable(stack, "bronze_bucket", "string", "Name of the lake's bronze bucket (records land here).")
    quarantine = _variable(stack, "quarantine_bucket", "string",
                           "Name of the lake's quarantine bucket (rejected records, with their reason).")
    bronze_arn = _variable(stack, "bronze_bucket_arn", "string", "ARN of the bronze bucket.")
    quarantine_arn = _variable(stack, "quarantine_bucket_arn", "string", "ARN of the quarantine bucket.")
    log_level = _variable(stack, "log_level", "string", "The function's log level (Powertools LOG_LEVEL).")
    return {
        "zip_path": inputs.function_zip(inputs.INGEST_FUNCTION),
        "environment": {"BRONZE_BUCKET": bronze, "QUARANTINE_BUCKET": quarantine,
                        "POWERTOOLS_SERVICE_NAME": "${var.function_name}",  # the option's variable
                        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE, "LOG_LEVEL": log_level},
        "policy_statements": ingest_s3_statements(bronze_arn, quarantine_arn),
        "app_metrics": FUNCTION_METRICS,
    }


def lakehouse_glue_jobs(stack) -> Mapping:
    """The bronze-to-silver and silver-to-gold jobs on the buckets, databases and secret of extra variables."""
    import glue_jobs
    from compose import inputs
    from compose.batch import glue_job_specs
    from compose.monitoring import JOB_METRICS
    from lakehouse.job import PSEUDONYMIZATION_KEY
    from modules.s3_lake_props import LAKE_LAYERS

    workflow = tuple(job for job in glue_jobs.WORKFLOW if not job.secrets or set(job.secrets) == {PSEUDONYMIZATION_KEY})
    _variable(stack, "bucket_names", "map(string)", "The lake's bucket names by layer (`bronze` ... `athena_results`).")
    _variable(stack, "bucket_arns", "map(string)", "The lake's bucket ARNs by layer.")
    _variable(stack, "database_names", "map(string)", "The Glue databases by layer (`bronze`, `silver`, `gold`).")
    _variable(stack, "pseudonymization_key_arn", "string",
              "ARN of the secret holding the HMAC key of personal fields (the jobs read it).")
    layers = (*LAKE_LAYERS,)
    specs = glue_job_specs(
        workflow, glue_jobs.scripts(), _lookup("bucket_names", layers), _lookup("bucket_arns", layers),
        _lookup("database_names", ("bronze", "silver", "gold")),
        {PSEUDONYMIZATION_KEY: "${var.pseudonymization_key_arn}"})  # declared above
    return {"jobs": specs, "libs_zip_path": inputs.libs_zip(), "app_metrics": JOB_METRICS,
            "artifacts_bucket": "${var.bucket_names.artifacts}", "artifacts_bucket_arn": "${var.bucket_arns.artifacts}"}


LAKE_NAMES = {layer: f"lakeforge-dev-{layer.replace('_', '-')}" for layer in
              ("bronze", "silver", "gold", "quarantine", "artifacts", "athena_results")}
LAKE_ARNS = {layer: f"arn:aws:s3:::{name}" for layer, name in LAKE_NAMES.items()}
SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
GROUPS = ("sg-0123456789abcdef0",)

SPECS: tuple[ModuleSpec, ...] = (
    ModuleSpec("kms", "KmsKey", "KmsKeyProps", "kms",
               example={"alias": "lakeforge-dev-lake", "account_id": ACCOUNT, "region": "us-east-1",
                        "via_services": ("s3", "kinesis", "sqs", "lambda", "glue", "secretsmanager")}),
    ModuleSpec("s3_lake", "DataLakeStorage", "DataLakeStorageProps", "lake",
               example={"name_prefix": "lakeforge-dev", "account_id": ACCOUNT, "kms_key_arn": KEY_ARN}),
    ModuleSpec("kinesis", "KinesisStream", "KinesisStreamProps", "ingest_stream",
               example={"name": "lakeforge-dev-ingest", "kms_key_arn": KEY_ARN}),
    ModuleSpec("lambda_function", "PythonFunction", "PythonFunctionProps", "function",
               example={"function_name": "lakeforge-dev-example", "zip_path": "function.zip",
                        "handler": "app.handler", "kms_key_arn": KEY_ARN},
               build=function_package),
    ModuleSpec("ingest_function", "PythonFunction", "PythonFunctionProps", "ingest_function", source="lambda_function",
               example={"function_name": "lakeforge-dev-ingest", "kms_key_arn": KEY_ARN,
                        "bronze_bucket": "lakeforge-dev-bronze", "quarantine_bucket": "lakeforge-dev-quarantine",
                        "bronze_bucket_arn": "arn:aws:s3:::lakeforge-dev-bronze",
                        "quarantine_bucket_arn": "arn:aws:s3:::lakeforge-dev-quarantine", "log_level": "INFO"},
               build=ingest_function,
               summary="The platform's Kinesis ingest function: validated records to bronze, rejects to quarantine."),
    ModuleSpec("kinesis_ingest", "KinesisEventSource", "KinesisEventSourceProps", "ingest_source",
               example={"function_name": FUNCTION_ARN, "stream_arn": STREAM_ARN,
                        "on_failure_destination_arn": QUEUE_ARN, "role_name": "lakeforge-dev-ingest-role"}),
    ModuleSpec("lakehouse_glue_jobs", "GlueJobs", "GlueJobsProps", "glue_jobs", source="glue_jobs",
               example={"name_prefix": "lakeforge-dev", "account_id": ACCOUNT, "region": "us-east-1",
                        "kms_key_arn": KEY_ARN, "bucket_names": LAKE_NAMES, "bucket_arns": LAKE_ARNS,
                        "database_names": {layer: f"lakeforge_dev_{layer}" for layer in ("bronze", "silver", "gold")},
                        "pseudonymization_key_arn":
                            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:lakeforge-dev/pseudonymization-key"},
               build=lakehouse_glue_jobs,
               summary="The platform's Glue jobs (bronze to silver, silver to gold) with their scripts and grants."),
    ModuleSpec("s3_artifact", "S3Artifact", "S3ArtifactProps", "artifact",
               example={"bucket": "example-artifacts", "key": "code/app.zip", "kms_key_arn": KEY_ARN,
                        "source_path": "app.zip"},
               build=artifact_file),
    ModuleSpec("secrets_manager", "GeneratedSecret", "GeneratedSecretProps", "pseudonymization_key",
               example={"name": "lakeforge-dev/pseudonymization-key", "kms_key_arn": KEY_ARN}),
    ModuleSpec("glue_catalog", "GlueCatalog", "GlueCatalogProps", "catalog",
               example={"name_prefix": "lakeforge-dev", "account_id": ACCOUNT, "region": "us-east-1",
                        "kms_key_arn": KEY_ARN,
                        "bucket_names": {k: f"lakeforge-dev-{k.replace('_', '-')}" for k in ("bronze", "silver", "gold")},
                        "bucket_arns": {k: f"arn:aws:s3:::lakeforge-dev-{k}" for k in ("bronze", "silver", "gold")},
                        "crawler_paths": ("source=erp/", "source=susep/")}),
    ModuleSpec("glue_workflow", "GlueWorkflow", "GlueWorkflowProps", "glue_workflow",
               example={"name": "lakeforge-dev-batch",
                        "job_names": ("lakeforge-dev-bronze-to-silver", "lakeforge-dev-silver-to-gold")}),
    ModuleSpec("athena", "AthenaWorkgroup", "AthenaWorkgroupProps", "athena",
               example={"name": "lakeforge-dev", "results_bucket": "lakeforge-dev-athena-results",
                        "kms_key_arn": KEY_ARN}),
    ModuleSpec("emr", "EmrCluster", "EmrClusterProps", "emr",
               example={"name": "lakeforge-dev-backfill", "subnet_id": SUBNETS[0],
                        "artifacts_bucket": "lakeforge-dev-artifacts",
                        "artifacts_bucket_arn": "arn:aws:s3:::lakeforge-dev-artifacts", "kms_key_arn": KEY_ARN,
                        "account_id": ACCOUNT, "region": "us-east-1"},
               fixed={"steps": (EmrStep(name="backfill", args=("spark-submit", "--deploy-mode", "cluster",
                                                              "s3://lakeforge-dev-artifacts/emr/backfill.py")),)}),
    ModuleSpec("http_api", "HttpApi", "HttpApiProps", "api",
               example={"name": "lakeforge-dev-api", "function_name": "lakeforge-dev-query-api",
                        "function_arn": FUNCTION_ARN, "route_keys": ("GET /kpis/{name}",), "kms_key_arn": KEY_ARN}),
    ModuleSpec("network", "Network", "NetworkProps", "network",
               example={"name": "lakeforge-dev", "region": "us-east-1", "kms_key_arn": KEY_ARN}),
    ModuleSpec("redshift", "RedshiftWarehouse", "RedshiftWarehouseProps", "warehouse",
               example={"name": "lakeforge-dev", "subnet_ids": SUBNETS, "security_group_ids": GROUPS,
                        "kms_key_arn": KEY_ARN, "gold_bucket_arn": "arn:aws:s3:::lakeforge-dev-gold",
                        "account_id": ACCOUNT}),
    ModuleSpec("quicksight", "QuicksightDashboards", "QuicksightDashboardsProps", "quicksight",
               example={"name_prefix": "lakeforge-dev", "account_id": ACCOUNT, "region": "us-east-1",
                        "owner_arns": (f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/admin",),
                        "redshift_host": "lakeforge-dev.111122223333.us-east-1.redshift-serverless.amazonaws.com",
                        "redshift_database": "lakehouse", "subnet_ids": SUBNETS, "security_group_ids": GROUPS,
                        "redshift_secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:redshift-abc"},
               build=kpi_dashboards),
    ModuleSpec("msk", "MskCluster", "MskClusterProps", "msk",
               example={"name": "lakeforge-dev", "subnet_ids": SUBNETS, "security_group_ids": GROUPS,
                        "kms_key_arn": KEY_ARN, "region": "us-east-1", "account_id": ACCOUNT,
                        "ingest_topic": "susep.records", "topic_partitions": 3, "broker_count": 4}),
    ModuleSpec("msk_ingest", "MskEventSource", "MskEventSourceProps", "msk_source",
               example={"function_name": FUNCTION_ARN,
                        "cluster_arn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/lakeforge-dev/abc",
                        "topic": "susep.records",
                        "topic_arn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:topic/lakeforge-dev/abc/susep.records",
                        "consumer_group_id": "lakeforge-ingest",
                        "group_arn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:group/lakeforge-dev/abc/lakeforge-ingest",
                        "subnet_ids": SUBNETS, "security_group_ids": GROUPS}),
    ModuleSpec("kafka_topics", "KafkaTopics", "KafkaTopicsProps", "kafka_topics",
               example={"function_name": "lakeforge-dev-kafka-topics", "bootstrap_servers": "b-1.example:9098",
                        "kms_key_arn": KEY_ARN,
                        "cluster_arn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/lakeforge-dev/abc",
                        "topic_arns": (f"arn:aws:kafka:us-east-1:{ACCOUNT}:topic/lakeforge-dev/abc/susep.records",)},
               build=topic_admin),
    ModuleSpec("monitoring", "Monitoring", "MonitoringProps", "monitoring",
               example={"name_prefix": "lakeforge-dev", "account_id": ACCOUNT, "region": "us-east-1",
                        "kms_key_arn": KEY_ARN}),
)


if __name__ == "__main__":
    from bundling.terraform_modules import main

    raise SystemExit(main(SPECS))
