"""The batch layer: the Glue Data Catalog (a database per layer, the silver and gold tables, the bronze
crawler), the Athena workgroup, the Glue jobs and their workflow (bronze -> silver on schedule, silver -> gold
when it succeeded, then the warehouse load when that succeeded), and the EMR backfill cluster.

Each job's default arguments and S3 grants come from the ``CONTRACT`` declared beside it
(``glue_jobs/<job>.py``, ``emr_steps/backfill_erp.py``); the warehouse load's connection and its Redshift
grants from the warehouse layer (:func:`compose.warehouse.load_target`, built first), and where there is no
warehouse the load job is left out (:func:`workflow_jobs`); the crawler reads the raw prefixes of
``data_contracts.layout``. EMR is never created locally (no emulator can): there its step code is
uploaded alone, where the rendered steps point, so the local runner finds it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import glue_jobs
from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import BuildInputs
from compose.monitoring import JOB_METRICS
from compose.outputs import StackOutput
from compose.warehouse import has_warehouse, load_target
from data_contracts import layout
from data_contracts.contracts import SOURCES
from emr_steps.backfill_erp import CONTRACT as BACKFILL
from environments import EnvironmentConfig
from lakehouse.job import PSEUDONYMIZATION_KEY, WAREHOUSE_CREDENTIALS, JobContract
from modules.athena_props import AthenaWorkgroupProps, NamedQuery
from modules.emr_props import SUBNET_ID_PATTERN, EmrClusterProps, EmrStep, instance_role_name
from modules.glue_catalog_props import GlueCatalogProps
from modules.glue_jobs_props import GlueJobSpec, GlueJobsProps, role_name
from modules.glue_workflow_props import GlueWorkflowProps
from modules.iam import S3Access
from modules.s3_artifact_props import S3ArtifactProps
from modules.secrets_manager_props import GeneratedSecretProps
from warehouse.load import CONTRACT as WAREHOUSE_LOAD
from modules._bindings import core

ROOT = Path(__file__).resolve().parent.parent
CATALOG_LAYERS: tuple[str, ...] = ("bronze", "silver", "gold")

OUTPUTS: tuple[StackOutput, ...] = (
    *(StackOutput(f"glue_database_{layer}", "glue_catalog", f"Glue database of the {layer} layer")
      for layer in CATALOG_LAYERS),
    StackOutput("glue_crawler_name", "glue_catalog", "Glue crawler of the raw and unstructured bronze prefixes"),
    *(StackOutput(f"glue_job_{job.name}", "glue_jobs", f"Glue job {job.name}: {job.description}",
                  when=has_warehouse if job is WAREHOUSE_LOAD else None)
      for job in glue_jobs.WORKFLOW),
    StackOutput("glue_workflow_name", "glue_workflow", "Glue workflow running the batch jobs"),
    StackOutput("athena_workgroup", "athena", "Athena workgroup (enforced, KMS-encrypted results)"),
    StackOutput("emr_cluster_id", "emr", "Id of the transient EMR backfill cluster"),
)


def workflow_jobs(config: EnvironmentConfig) -> tuple[JobContract, ...]:
    """The jobs deployed in an environment, in workflow order: every job of ``glue_jobs.WORKFLOW``, the warehouse
    load only where there is a warehouse (:func:`compose.warehouse.has_warehouse`)."""
    return tuple(job for job in glue_jobs.WORKFLOW if job is not WAREHOUSE_LOAD or has_warehouse(config))


def workgroup_name(prefix: str) -> str:
    """Name of the lake's Athena workgroup."""
    return prefix


def named_queries(queries, databases: Mapping[str, str]) -> tuple[NamedQuery, ...]:
    """Queries of ``queries/`` (``queries.Query``) as the workgroup's named queries, each in its layer's database (a
    query of a layer without a database is left out). The description is the query's own (its ``description``
    header line, else its title) and, for a parameterized query, the filter bound to each ``?`` in order, so
    whoever runs it by name knows what to pass as ``ExecutionParameters``."""
    out = []
    for q in queries:
        if q.layer not in databases:
            continue
        header = dict(q.header)
        description = header.get("description") or q.title
        if header.get("parameters"):
            description += f" Parameters, in order: {header['parameters']}."
        out.append(NamedQuery(name=q.name, database=databases[q.layer], sql=q.sql, description=description))
    return tuple(out)


def cluster_name(prefix: str) -> str:
    """Name of the EMR backfill cluster (it also names its roles)."""
    return f"{prefix}-backfill"


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The catalog and the jobs use the key through Glue, the jobs' secrets through Secrets Manager; the job
    roles call KMS directly (bookmarks are client-side encrypted); EMR's EBS volumes use it through EC2 and
    its nodes request local-disk keys."""
    svc = config.services
    via, roles = [], []
    if svc.glue_catalog or svc.glue_jobs:
        via.append("glue")
    if svc.glue_jobs:
        via.append("secretsmanager")  # the pseudonymization key's secret is encrypted with the lake key
    if svc.glue_jobs:
        roles.append(names.role_arn(role_name(names.prefix, "*")))
    if svc.emr:
        via.append("ec2")
        roles.append(names.role_arn(instance_role_name(cluster_name(names.prefix))))
    return KeyUsers(via_services=tuple(via), role_patterns=tuple(roles))


def s3_access(contract: JobContract, bucket_arns: Mapping[str, str]) -> tuple[S3Access, ...]:
    """A job contract's grants on the deployed buckets."""
    return tuple(S3Access(sid=g.sid, bucket_arn=bucket_arns[g.bucket], prefixes=g.prefixes, read=g.read,
                          write=g.write, delete=g.delete, multipart=g.multipart) for g in contract.grants)


def build(base: Foundation, inputs: BuildInputs) -> None:
    from modules.athena import AthenaWorkgroup
    from modules.glue_catalog import GlueCatalog

    stack, names, key, lake = base.stack, base.naming, base.key, base.lake
    config, prefix, tags = names.config, names.prefix, names.tags
    svc = config.services
    buckets, arns = lake.bucket_names, lake.bucket_arns

    catalog = GlueCatalog(stack, "catalog", GlueCatalogProps(
        name_prefix=prefix, bucket_names=buckets, bucket_arns=arns, account_id=names.account_id,
        region=config.region, partition=names.partition, kms_key_arn=key.arn, layers=CATALOG_LAYERS,
        tables=tuple(inputs.tables or ()), crawler_paths=layout.crawler_prefixes(SOURCES),
        published_layers=tuple(sorted({layer for job in glue_jobs.WORKFLOW for layer in job.catalog_publish})),
        **config.glue.values_for(GlueCatalogProps), tags=tags, create=svc.glue_catalog,
    ))
    for layer, database in catalog.database_names.items():
        base.outputs.emit(f"glue_database_{layer}", database)
    if catalog.crawler_name:
        base.outputs.emit("glue_crawler_name", catalog.crawler_name)

    workgroup = AthenaWorkgroup(stack, "athena", AthenaWorkgroupProps(
        name=workgroup_name(prefix), named_queries=named_queries(inputs.queries or (), catalog.database_names),
        results_bucket=buckets.get("athena_results", ""), kms_key_arn=key.arn,
        expected_bucket_owner=names.account_id, bytes_scanned_cutoff_per_query=config.athena.cutoff_bytes(),
        force_destroy=config.force_destroy, tags=tags, create=svc.athena,
    ))
    if workgroup.name:
        base.outputs.emit("athena_workgroup", workgroup.name)

    if svc.glue_jobs:
        _glue_jobs(base, inputs, catalog.database_names)
    if svc.s3_lake:
        _emr_backfill(base, inputs)


def _job_secrets(base: Foundation, jobs: Sequence[JobContract], warehouse_secrets: Mapping[str, str]) -> dict[str, str]:
    """The platform secrets the jobs declare, by name -> ARN: the pseudonymization key (the HMAC key of personal
    fields, generated by Terraform, never in code, state or outputs) and, where Redshift is deployed, the
    warehouse credentials (the admin secret Redshift manages: ``warehouse_secrets``)."""
    from modules.secrets_manager import GeneratedSecret

    names, config = base.naming, base.naming.config
    needed = {name for job in jobs for name in job.secrets}
    unknown = needed - {PSEUDONYMIZATION_KEY, WAREHOUSE_CREDENTIALS}
    if unknown:
        raise ValueError(f"jobs declare secrets the composition does not create: {sorted(unknown)}")
    arns = {}
    if PSEUDONYMIZATION_KEY in needed:
        secret = GeneratedSecret(base.stack, "pseudonymization_key", GeneratedSecretProps(
            name=f"{names.prefix}/pseudonymization-key", kms_key_arn=base.key.arn,
            recovery_window_days=0 if config.force_destroy else 30, **config.values_for(GeneratedSecretProps),
            tags=names.tags))
        arns[PSEUDONYMIZATION_KEY] = secret.arn
    arns.update(warehouse_secrets)
    return arns


def glue_job_specs(workflow: Sequence[JobContract], scripts: Mapping[str, Path], bucket_names: Mapping[str, str],
                   bucket_arns: Mapping[str, str], databases: Mapping[str, str], secrets: Mapping[str, str],
                   target=None) -> tuple[GlueJobSpec, ...]:
    """The deployed Glue jobs of ``workflow``: each job contract's script, arguments, grants and catalog access on
    the given buckets, databases and secrets (names and ARNs may be tokens). ``target``: the warehouse load's
    (:func:`compose.warehouse.load_target`), where there is one."""
    def spec(job: JobContract) -> GlueJobSpec:
        load = job is WAREHOUSE_LOAD
        return GlueJobSpec(
            key=job.name, script_path=scripts[job.name], description=job.description,
            arguments={**job.deployed_arguments(bucket_names, databases, secrets),
                       **(target.arguments if load else {})},
            s3_access=s3_access(job, bucket_arns),
            catalog_databases=tuple(databases[layer] for layer in job.catalog_layers if layer in databases),
            catalog_publish_databases=tuple(databases[layer] for layer in job.catalog_publish if layer in databases),
            secret_arns=tuple(secrets[name] for name in job.secrets if name in secrets),
            redshift_data_resources=target.data_api_resources if load else (),
        )

    return tuple(spec(job) for job in workflow)


def _glue_jobs(base: Foundation, inputs: BuildInputs, databases: Mapping[str, str]) -> None:
    from modules.glue_jobs import GlueJobs
    from modules.glue_workflow import GlueWorkflow

    stack, names, lake = base.stack, base.naming, base.lake
    config, prefix, tags = names.config, names.prefix, names.tags
    workflow = workflow_jobs(config)
    target = load_target(base) if WAREHOUSE_LOAD in workflow else None
    secrets = _job_secrets(base, workflow, target.secrets if target else {})

    specs = glue_job_specs(workflow, inputs.scripts, lake.bucket_names, lake.bucket_arns, databases, secrets, target)
    jobs = GlueJobs(stack, "glue_jobs", GlueJobsProps(
        name_prefix=prefix, jobs=specs, artifacts_bucket=lake.bucket_names["artifacts"],
        artifacts_bucket_arn=lake.bucket_arns["artifacts"], account_id=names.account_id, region=config.region,
        partition=names.partition, libs_zip_path=inputs.libs_zip, kms_key_arn=base.key.arn,
        **config.glue.values_for(GlueJobsProps), log_retention_days=config.log_retention_days,
        app_metrics=JOB_METRICS, tags=tags,
    ))
    for job in workflow:
        base.outputs.emit(f"glue_job_{job.name}", jobs.job_names[job.name])
    chain = GlueWorkflow(stack, "glue_workflow", GlueWorkflowProps(
        name=f"{prefix}-batch", job_names=tuple(jobs.job_names[job.name] for job in workflow),
        **config.glue.values_for(GlueWorkflowProps),
        description="bronze -> silver on schedule, then silver -> gold when it succeeded"
                    + (", then the warehouse load when that succeeded" if WAREHOUSE_LOAD in workflow else ""),
        tags=tags, create=config.services.glue_workflow,
    ))
    if chain.name:
        base.outputs.emit("glue_workflow_name", chain.name)


def emr_steps_and_code(rendered: Sequence[dict], artifacts_bucket: str, libs_zip: Path | None
                       ) -> tuple[tuple[EmrStep, ...], dict[str, Path]]:
    """Rendered steps (``emr_steps.steps.render_steps``) -> (the cluster's steps, {artifacts key: local file}
    to upload: each step's ``script`` at its ``script_uri`` and the shared-code zip at its ``py_files``)."""
    prefix = f"s3://{artifacts_bucket}/"

    def key(uri: str) -> str:
        if not uri.startswith(prefix):
            raise ValueError(f"EMR step code {uri} is not in the artifacts bucket")
        return uri[len(prefix):]

    steps, code = [], {}
    for step in rendered:
        jar_step = step["hadoop_jar_step"]
        steps.append(EmrStep(name=step["name"], action_on_failure=step["action_on_failure"],
                             args=tuple(jar_step["args"]), jar=jar_step["jar"]))
        code[key(step["script_uri"])] = ROOT / step["script"]
        if step.get("py_files"):
            if libs_zip is None:
                raise ValueError("EMR steps need the shared-code zip (--py-files)")
            code[key(step["py_files"])] = libs_zip
    return tuple(steps), code


def _emr_backfill(base: Foundation, inputs: BuildInputs) -> None:
    """The backfill cluster (its code uploaded with it), or locally the code alone."""
    TerraformVariable = core.TerraformVariable
    TerraformVariableValidationConfig = core.TerraformVariableValidationConfig

    from modules.emr import EmrCluster
    from modules.s3_artifact import S3Artifact

    stack, names, key, lake = base.stack, base.naming, base.key, base.lake
    config, prefix, tags = names.config, names.prefix, names.tags
    buckets, arns = lake.bucket_names, lake.bucket_arns
    steps, code = emr_steps_and_code(inputs.emr_steps(buckets["bronze"], buckets["artifacts"]), buckets["artifacts"],
                                     inputs.libs_zip)
    if not config.services.emr:
        if config.is_local:
            for i, (object_key, path) in enumerate(sorted(code.items())):
                S3Artifact(stack, f"emr_code_{i}", S3ArtifactProps(
                    bucket=buckets["artifacts"], key=object_key, path=path, kms_key_arn=key.arn,
                    content_type="text/x-python" if object_key.endswith(".py") else "application/zip", tags=tags))
        return
    emr = config.emr
    network_subnets = base.network.private_subnet_ids if base.network is not None else []
    subnet_id = emr.subnet_id or (network_subnets[0] if network_subnets else None) or TerraformVariable(
        stack, "emr_subnet_id", type="string",
        description="Private subnet of the EMR backfill cluster (tagged for-use-with-amazon-emr-managed-policies=true)",
        validation=[TerraformVariableValidationConfig(
            condition=f'${{can(regex("^{SUBNET_ID_PATTERN}$", var.emr_subnet_id))}}',
            error_message="emr_subnet_id must be a subnet id (subnet-...).")],
    ).string_value
    cluster = EmrCluster(stack, "emr", EmrClusterProps(
        name=cluster_name(prefix), subnet_id=subnet_id, steps=steps, uploads=code,
        artifacts_bucket=buckets["artifacts"], artifacts_bucket_arn=arns["artifacts"], kms_key_arn=key.arn,
        account_id=names.account_id, region=config.region, partition=names.partition,
        **emr.values_for(EmrClusterProps),
        s3_access=s3_access(BACKFILL, arns), tags=tags,
    ))
    base.outputs.emit("emr_cluster_id", cluster.cluster_id)
