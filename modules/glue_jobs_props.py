"""Options of :class:`modules.glue_jobs.GlueJobs` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .iam import S3Access
from .monitoring_props import AppMetrics
from .options import (
    Limit, Props, Rule, at_least, between, create_option, log_retention, non_empty, one_of, option, outputs,
    tags_option,
)

GLUE_SERVICE_ARGUMENTS: frozenset[str] = frozenset({
    "--job-language", "--job-bookmark-option", "--extra-py-files", "--TempDir", "--enable-metrics",
    "--enable-continuous-cloudwatch-log", "--continuous-log-logGroup", "--continuous-log-logStreamPrefix",
    "--custom-logGroup-prefix", "--custom-logStream-prefix", "--enable-glue-datacatalog", "--enable-spark-ui",
    "--spark-event-logs-path", "--enable-job-insights", "--enable-observability-metrics",
})
"""Arguments the construct sets (or Glue reserves); a job's script arguments may not override them."""

WORKER_TYPES: tuple[str, ...] = ("G.1X", "G.2X", "G.4X", "G.8X")
"""Worker types of Glue Spark batch jobs."""

FLEX_WORKER_TYPES: tuple[str, ...] = ("G.1X", "G.2X")


def job_name(name_prefix: str, key: str) -> str:
    """``lakeforge-dev`` + ``bronze_to_silver`` -> ``lakeforge-dev-bronze-to-silver``."""
    return f"{name_prefix}-{key.replace('_', '-')}"


def role_name(name_prefix: str, key: str) -> str:
    """Name of a job's role: ``<prefix>-glue-<key>`` (with ``key="*"``: the pattern of every job role)."""
    return f"{name_prefix}-glue-{key.replace('_', '-')}"


@dataclass(frozen=True)
class GlueJobSpec(Props):
    """One job of :class:`GlueJobsProps`."""

    key: str = option(
        doc="Job key = script stem, e.g. ``bronze_to_silver`` (job ``<prefix>-bronze-to-silver``).")
    script_path: Path = option(doc="The job's entry script. Must exist at synth time.")
    description: str = option("", doc="Job description.")
    arguments: Mapping[str, str] = option(
        default_factory=dict,
        limit=Limit("script arguments start with -- and do not override the Glue service arguments",
                    lambda args: all(a.startswith("--") and a not in GLUE_SERVICE_ARGUMENTS for a in args)),
        doc="Script arguments (``--name`` -> value), exactly as the script parses them.")
    s3_access: tuple[S3Access, ...] = option(
        (),
        doc="Data grants of this job's role (code, temp dir and logs are granted by the construct).")
    catalog_databases: tuple[str, ...] = option(
        (),
        doc="Glue database names this job may read and add partitions to (token allowed).")
    catalog_publish_databases: tuple[str, ...] = option(
        (),
        doc="Glue database names whose tables this job may update (``glue:UpdateTable``: it publishes by "
            "switching their locations; token allowed).")
    secret_arns: tuple[str, ...] = option(
        (),
        doc="Secrets Manager secrets (ARNs, token allowed) this job may read with ``GetSecretValue``, e.g. the "
            "pseudonymization key.")
    redshift_data_resources: tuple[str, ...] = option(
        (),
        doc="Redshift Serverless workgroup or provisioned cluster ARNs (token allowed) this job may run SQL on through "
            "the Redshift Data API (``ExecuteStatement``, ``BatchExecuteStatement``); it may then also follow its "
            "own statements (``DescribeStatement``, ``GetStatementResult``, ``CancelStatement``: no resource-level "
            "scoping exists for them, so ``Resource: *`` limited to the statements of the caller, "
            "``redshift-data:statement-owner-iam-userid = ${aws:userid}``, as AWS's AmazonRedshiftDataFullAccess "
            "does). Its credentials: a secret of ``secret_arns``.")


@dataclass(frozen=True)
class GlueJobsProps(Props):
    """Options of :class:`modules.glue_jobs.GlueJobs`."""

    name_prefix: str = option(doc="Resource name prefix, e.g. ``lakeforge-dev``.")
    jobs: tuple[GlueJobSpec, ...] = option(limit=non_empty("at least one GlueJobSpec"), doc="The jobs.")
    artifacts_bucket: str = option(doc="Bucket (name) receiving the scripts, the shared zip and the temp dirs.")
    artifacts_bucket_arn: str = option(doc="ARN of ``artifacts_bucket``.")
    account_id: str = option(
        doc="Account id (token allowed): catalog and log ARNs, trust policy ``aws:SourceAccount``.")
    region: str = option(doc="Region of the jobs.")
    libs_zip_path: Path | None = option(
        None,
        doc="Shared code zip (``bundling.glue_libs.build_glue_libs()``) for ``--extra-py-files``; "
            "``None`` = none.")
    partition: str = option("aws", doc="ARN partition (token allowed).")
    kms_key_arn: str | None = option(
        None,
        doc="Lake key: security configuration (S3, CloudWatch, bookmarks), log groups, uploaded objects. "
            "``None`` = SSE-S3 data, unencrypted logs and bookmarks (not recommended).")
    glue_version: str = option("5.0", doc="Glue version (5.0: Spark 3.5.x, Python 3.11).")
    worker_type: str = option(
        "G.1X", limit=one_of(*WORKER_TYPES),
        doc="Worker type (``G.1X``: 4 vCPU, 16 GB; ``G.025X`` is for streaming jobs only).")
    number_of_workers: int = option(2, limit=between(2, 299), doc="Workers per run (one is the driver).")
    timeout_minutes: int = option(
        60, limit=between(1, 2880, "minutes"),
        doc="Run timeout: a stuck run stops costing money after it.")
    max_retries: int = option(0, limit=between(0, 10), doc="Automatic retries of a failed run.")
    execution_class: str = option(
        "STANDARD", limit=one_of("STANDARD", "FLEX"),
        doc="``STANDARD`` or ``FLEX`` (spare capacity: cheaper, may start later; G.1X/G.2X only).")
    max_concurrent_runs: int = option(
        1, limit=at_least(1),
        doc="Concurrent runs per job (1 keeps bookmarks and state files consistent).")
    bookmarks: bool = option(
        True,
        doc="``--job-bookmark-option job-bookmark-enable`` (else ``job-bookmark-disable``).")
    metrics: bool = option(True, doc="``--enable-metrics`` (CloudWatch job metrics).")
    spark_ui: bool = option(
        False,
        doc="``--enable-spark-ui`` with event logs under ``<artifacts>/glue/spark-ui/<key>/`` (extra S3 "
            "writes).")
    log_retention_days: int = option(365, limit=log_retention(), doc="Retention of the job log groups.")
    scripts_prefix: str = option("glue/scripts/", doc="Key prefix of the scripts in the artifacts bucket.")
    libs_prefix: str = option("glue/libs/", doc="Key prefix of the shared zip.")
    temp_prefix: str = option(
        "glue/temp/",
        doc="Key prefix of the jobs' ``--TempDir`` (one sub-prefix per job).")
    app_metrics: AppMetrics | None = option(
        None, doc="The metrics the jobs publish (a run summary each run) (EMF): given, it alarms on their failures and graphs their "
                  "counts. Default none.")
    tags: dict[str, str] = tags_option("every taggable resource (jobs, roles, log groups, objects)")
    create: bool = create_option()

    RULES = (
        Rule(("execution_class", "worker_type"),
             lambda execution_class, worker: execution_class != "FLEX" or worker in FLEX_WORKER_TYPES,
             f"execution_class: FLEX needs worker_type {' or '.join(FLEX_WORKER_TYPES)}"),
        Rule(("jobs",), lambda jobs: len({j.key for j in jobs}) == len(jobs), "jobs: duplicate job keys"),
    )


OUTPUTS = outputs(
    ("jobs", "The ``aws_glue_job`` resources, by job key."),
    ("job_names", "Job names, by job key."),
    ("job_arns", "Job ARNs, by job key."),
    ("roles", "The job roles (``aws_iam_role``), by job key."),
    ("role_names", "Role names, by job key."),
    ("role_arns", "Role ARNs, by job key."),
    ("script_uris", "``s3://`` URI of each job's script, by job key."),
    ("libs_uri", "``s3://`` URI of the shared code zip (``None`` without it)."),
    ("security_configuration_name", "Name of the jobs' security configuration."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
    ("log_group_name", "Log group of Glue continuous logging."),
    ("log_group_prefix", "``--custom-logGroup-prefix`` of the jobs (Glue 5.0 real-time logs)."),
    ("log_group_names", "Every log group the construct creates."),
)
