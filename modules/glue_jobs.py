"""GlueJobs: Glue 5.0 Spark jobs (Spark 3.5, Python 3.11) with their code in S3, a security
configuration, encrypted logs and one least-privilege role per job.

What it creates:

* ``aws_s3_object`` for each job script (``<scripts_prefix><key>.py``) and for the shared code zip
  (``<libs_prefix><zip name>``, passed with ``--extra-py-files``), uploaded by Terraform from the stack's
  assets with ``source_hash`` = the file's MD5 and SSE-KMS (see :mod:`modules.s3_artifact`);
* ``aws_glue_security_configuration`` ``<prefix>-glue-jobs``: S3 ``SSE-KMS``, CloudWatch ``SSE-KMS``
  and job bookmarks ``CSE-KMS``, all with the lake key;
* CloudWatch log groups (retention, KMS) created before the jobs, so Glue never creates unencrypted,
  never-expiring ones: ``/aws-glue/jobs/<prefix>`` (``--continuous-log-logGroup`` with
  ``--enable-continuous-cloudwatch-log true``, the Glue <= 4.0 continuous logging), and
  ``/aws-glue/jobs/<prefix>/error`` + ``/output`` (``--custom-logGroup-prefix``: Glue 5.0 logs in real
  time to ``<prefix>/error`` (driver/executor/system) and ``<prefix>/output`` (stdout/stderr));
* per job: ``aws_iam_role`` ``<prefix>-glue-<key>`` (trust: ``glue.amazonaws.com`` from this account) +
  inline policy: read its own script and the shared zip, read/write its ``--TempDir``
  (``glue/temp/<key>/``), the data grants of its :class:`GlueJobSpec` (:class:`modules.iam.S3Access`),
  Glue Data Catalog read + partition updates on the named lake databases and their tables only, logs on
  the job log groups (prefix-scoped), the lake key, ``cloudwatch:PutMetricData`` restricted to the
  ``Glue`` namespace (that action has no resource type), ``secretsmanager:GetSecretValue`` on its
  ``secret_arns`` only, and with ``redshift_data_resources`` the Redshift Data API on those workgroups or
  clusters (its follow-up calls limited to the role's own statements);
* per job: ``aws_glue_job`` (``glueetl``, ``glue_version`` 5.0, Python 3, worker type and count,
  timeout, retries, one concurrent run, job bookmarks enabled, ``--enable-metrics``, the security
  configuration), whose ``default_arguments`` are the Glue service arguments above plus the job's own
  script arguments (``GlueJobSpec.arguments``, e.g. ``--bronze_path``).
"""
from __future__ import annotations

from pathlib import Path

from constructs import Construct

from .glue_catalog import security_configuration
from .monitoring_props import glue_job_watch
from .glue_jobs_props import (
    GLUE_SERVICE_ARGUMENTS, OUTPUTS, WORKER_TYPES, GlueJobSpec, GlueJobsProps, job_name, role_name,
)
from .iam import (
    Condition, S3Access, Statement, assume_role_policy, policy_document, policy_variable, s3_statements,
)
from .s3_artifact import S3Artifact, S3ArtifactProps
from .naming import resource_name
from ._bindings import aws

__all__ = ["CATALOG_ACTIONS", "PUBLISH_ACTIONS", "GLUE_SERVICE_ARGUMENTS", "OUTPUTS", "WORKER_TYPES", "GlueJobSpec", "GlueJobs",
           "GlueJobsProps", "job_name", "role_name"]

CATALOG_ACTIONS: tuple[str, ...] = (
    "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition", "glue:CreatePartition",
    "glue:GetDatabase", "glue:GetDatabases", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable",
    "glue:GetTables", "glue:UpdatePartition",
)
"""Data Catalog actions of a job role: read, and keep partitions current (no table or database changes:
tables are declared by Terraform)."""
PUBLISH_ACTIONS: tuple[str, ...] = ("glue:GetTable", "glue:UpdateTable")
"""What a job that publishes by switching table locations may do to the tables of its publish databases."""

class GlueJobs(Construct):
    """Glue 5.0 Spark jobs with code upload, security configuration, log groups and per-job roles.

    Options: :class:`GlueJobsProps` (one :class:`GlueJobSpec` per job); outputs: :data:`OUTPUTS`
    (``modules/glue_jobs_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: GlueJobsProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.jobs: dict[str, object] = {}
        self.job_names: dict[str, str] = {}
        self.job_arns: dict[str, str] = {}
        self.roles: dict[str, object] = {}
        self.role_names: dict[str, str] = {}
        self.role_arns: dict[str, str] = {}
        self.script_uris: dict[str, str] = {}
        self.libs_uri: str | None = None
        self.security_configuration_name: str | None = None
        self.log_group_name: str | None = None
        self.log_group_prefix: str | None = None
        self.log_group_names: list[str] = []
        if not props.create:
            return
        self._check()

        CloudwatchLogGroup = aws.cloudwatch_log_group.CloudwatchLogGroup
        binding = aws.glue_job
        GlueJob = binding.GlueJob
        GlueJobCommand = binding.GlueJobCommand
        GlueJobExecutionProperty = binding.GlueJobExecutionProperty
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy

        p = props
        tags = dict(p.tags)
        bucket, bucket_arn = p.artifacts_bucket, p.artifacts_bucket_arn

        libs = None
        if p.libs_zip_path is not None:
            zip_path = Path(p.libs_zip_path)
            libs = S3Artifact(self, "libs", S3ArtifactProps(
                bucket=bucket, key=f"{p.libs_prefix}{zip_path.name}", path=zip_path,
                kms_key_arn=p.kms_key_arn, content_type="application/zip", tags=tags))
            self.libs_uri = libs.uri

        self.security_configuration_name = security_configuration(
            self, "security_configuration", resource_name(p.name_prefix, "glue", "jobs"), p.kms_key_arn)

        base = f"/aws-glue/jobs/{p.name_prefix}"
        groups = []
        for gid, name in (("log_group", base), ("error_log_group", f"{base}/error"),
                          ("output_log_group", f"{base}/output")):
            groups.append(CloudwatchLogGroup(self, gid, name=name, retention_in_days=p.log_retention_days,
                                             kms_key_id=p.kms_key_arn, tags=tags))
        self.log_group_name, self.log_group_prefix = base, base
        self.log_group_names = [g.name for g in groups]
        logs_arn = f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:{base}"
        glue_arn = f"arn:{p.partition}:glue:{p.region}:{p.account_id}"

        for spec in p.jobs:
            name = job_name(p.name_prefix, spec.key)
            script = S3Artifact(self, f"{spec.key}_script", S3ArtifactProps(
                bucket=bucket, key=f"{p.scripts_prefix}{spec.key}.py", path=Path(spec.script_path),
                kms_key_arn=p.kms_key_arn, content_type="text/x-python", tags=tags))
            self.script_uris[spec.key] = script.uri
            temp = f"{p.temp_prefix}{spec.key}/"
            code_objects = [f"{bucket_arn}/{script.key}"] + ([f"{bucket_arn}/{libs.key}"] if libs else [])
            grants = [S3Access(sid="GlueTempDir", bucket_arn=bucket_arn, prefixes=(temp,), write=True, delete=True)]
            if p.spark_ui:
                grants.append(S3Access(sid="SparkUiEventLogs", bucket_arn=bucket_arn,
                                       prefixes=(f"glue/spark-ui/{spec.key}/",), write=True))
            statements = [
                Statement(sid="ReadJobCode", actions=("s3:GetObject",), resources=tuple(code_objects)),
                *s3_statements([*grants, *spec.s3_access]),
                Statement(sid="WriteJobLogs",
                          actions=("logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream",
                                   "logs:PutLogEvents"),
                          resources=(logs_arn, f"{logs_arn}:*", f"{logs_arn}-*", f"{logs_arn}/*")),
                Statement(sid="PublishGlueMetrics", actions=("cloudwatch:PutMetricData",), resources=("*",),
                          conditions=(Condition("StringEquals", "cloudwatch:namespace", ("Glue",)),)),
            ]
            if spec.catalog_databases:
                resources = [f"{glue_arn}:catalog"]
                for db in spec.catalog_databases:
                    resources += [f"{glue_arn}:database/{db}", f"{glue_arn}:table/{db}/*"]
                statements.append(Statement(sid="LakeCatalog", actions=CATALOG_ACTIONS, resources=tuple(resources)))
            if spec.catalog_publish_databases:
                resources = [f"{glue_arn}:catalog"]
                for db in spec.catalog_publish_databases:
                    resources += [f"{glue_arn}:database/{db}", f"{glue_arn}:table/{db}/*"]
                statements.append(Statement(sid="PublishTables", actions=PUBLISH_ACTIONS, resources=tuple(resources)))
            if spec.secret_arns:
                statements.append(Statement(sid="ReadJobSecrets", actions=("secretsmanager:GetSecretValue",),
                                            resources=tuple(spec.secret_arns)))
            if spec.redshift_data_resources:
                statements.append(Statement(
                    sid="RunWarehouseStatements",
                    actions=("redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"),
                    resources=tuple(spec.redshift_data_resources)))
                statements.append(Statement(
                    sid="FollowOwnWarehouseStatements",
                    actions=("redshift-data:CancelStatement", "redshift-data:DescribeStatement",
                             "redshift-data:GetStatementResult"),
                    resources=("*",),
                    conditions=(Condition("StringEquals", "redshift-data:statement-owner-iam-userid",
                                          (policy_variable("aws:userid"),)),)))
            if p.kms_key_arn:
                statements.append(Statement(sid="UseLakeKey",
                                            actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
                                            resources=(p.kms_key_arn,)))
            role = IamRole(
                self, f"{spec.key}_role", name=role_name(p.name_prefix, spec.key),
                description=f"Role of the {name} Glue job",
                assume_role_policy=assume_role_policy("glue.amazonaws.com", source_account=p.account_id), tags=tags,
            )
            grant = IamRolePolicy(self, f"{spec.key}_role_policy", name=f"{name}-least-privilege", role=role.id,
                                  policy=policy_document(statements))

            arguments = {
                "--job-language": "python",
                "--job-bookmark-option": "job-bookmark-enable" if p.bookmarks else "job-bookmark-disable",
                "--TempDir": f"s3://{bucket}/{temp}",
                "--enable-glue-datacatalog": "true",
                "--enable-continuous-cloudwatch-log": "true",
                "--continuous-log-logGroup": base,
                "--continuous-log-logStreamPrefix": spec.key,
                "--custom-logGroup-prefix": base,
                "--custom-logStream-prefix": spec.key,
            }
            if libs:
                arguments["--extra-py-files"] = libs.uri
            if p.metrics:
                arguments["--enable-metrics"] = "true"
            if p.spark_ui:
                arguments["--enable-spark-ui"] = "true"
                arguments["--spark-event-logs-path"] = f"s3://{bucket}/glue/spark-ui/{spec.key}/"
            arguments.update(spec.arguments)

            job = GlueJob(
                self, f"{spec.key}_job",
                name=name,
                description=spec.description or None,
                role_arn=role.arn,
                glue_version=p.glue_version,
                command=GlueJobCommand(name="glueetl", script_location=script.uri, python_version="3"),
                default_arguments=arguments,
                worker_type=p.worker_type,
                number_of_workers=p.number_of_workers,
                timeout=p.timeout_minutes,
                max_retries=p.max_retries,
                execution_class=p.execution_class,
                execution_property=GlueJobExecutionProperty(max_concurrent_runs=p.max_concurrent_runs),
                security_configuration=self.security_configuration_name,
                tags=tags,
                depends_on=[grant, *groups, script.object, *([libs.object] if libs else [])],
            )
            self.jobs[spec.key] = job
            self.job_names[spec.key] = job.name
            self.watches += (glue_job_watch(job.name, p.timeout_minutes, p.app_metrics),)
            self.job_arns[spec.key] = job.arn
            self.roles[spec.key] = role
            self.role_names[spec.key] = role.name
            self.role_arns[spec.key] = role.arn

    # ----------------------------------------------------------------------------------------------
    def _check(self) -> None:
        p = self.props
        if p.libs_zip_path is not None and not Path(p.libs_zip_path).is_file():
            raise FileNotFoundError(f"{p.libs_zip_path} does not exist: build it before synth "
                                    "(bundling.glue_libs.build_glue_libs)")
        for job in p.jobs:
            if not Path(job.script_path).is_file():
                raise FileNotFoundError(f"Glue job script {job.script_path} does not exist")
            if len(role_name(p.name_prefix, job.key)) > 64:
                raise ValueError(f"role name {role_name(p.name_prefix, job.key)!r} is longer than 64 characters")
