"""The batch lakehouse constructs: Glue Data Catalog, Glue jobs, Glue workflow, Athena workgroup, EMR.

Two kinds of tests: compliance of the session's synthesized stacks (``synth`` fixture: local, dev and
prod, built by ``main.build_app`` with stand-in scripts/zip/EMR steps and the real table specs), and
each construct alone with its props (``bindings`` fixture, ``cdktf.Testing``), including what it refuses.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from emr_steps.steps import render_steps, spark_submit_args
from environments import ConfigError, parse_environment
from lakehouse.catalog_spec import Column, PartitionProjection, TableSpec
from lakehouse.tables import all_tables
from modules.glue_catalog import (
    PARQUET_INPUT_FORMAT,
    PARQUET_OUTPUT_FORMAT,
    PARQUET_SERDE,
    database_name,
    glue_comment,
    projection_parameters,
)
from modules.iam import RESOURCELESS_ACTIONS, PolicyError, S3Access, find_violations, s3_statements

from .test_config import assert_config_rejected, raw
from .test_constructs import TAGS, new_stack, synth_json

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("local", "dev", "prod")
CLOUD = ("dev", "prod")
LAYERS = ("bronze", "silver", "gold")
JOBS = ("bronze_to_silver", "silver_to_gold", "warehouse_load")
SPARK_JOBS = JOBS[:2]
"""The jobs that use Spark and the catalog (the warehouse load reads gold's files and talks to the warehouse)."""


def ref(rtype: str, name: str, attr: str) -> str:
    return f"${{{rtype}.{name}.{attr}}}"


def bucket_ref(synth, env: str, key: str) -> str:
    name, _ = synth.one(env, "aws_s3_bucket", f"/lake/{key}")
    return ref("aws_s3_bucket", name, "bucket")


def bucket_arn(synth, env: str, key: str) -> str:
    name, _ = synth.one(env, "aws_s3_bucket", f"/lake/{key}")
    return ref("aws_s3_bucket", name, "arn")


def kms_arn(synth, env: str) -> str:
    name, _ = synth.one(env, "aws_kms_key", "/kms/key")
    return ref("aws_kms_key", name, "arn")


def policy_of(synth, env: str, path_suffix: str) -> dict[str, dict]:
    """Statements (by Sid) of the inline role policy at a construct path."""
    _, rp = synth.one(env, "aws_iam_role_policy", path_suffix)
    return {s["Sid"]: s for s in json.loads(rp["policy"])["Statement"]}


def as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def athena_value(value: str) -> str:
    """What Terraform hands to AWS for a literal written as ``$${...}`` in cdk.tf.json."""
    return value.replace("$${", "${")


# ==================================================================================================
# Glue Data Catalog
# ==================================================================================================
@pytest.mark.parametrize("env", ENVS)
def test_one_database_per_layer(synth, env):
    cfg = synth.configs[env]
    for layer in LAYERS:
        _, db = synth.one(env, "aws_glue_catalog_database", f"/catalog/{layer}_database")
        assert db["name"] == f"{cfg.name_prefix.replace('-', '_')}_{layer}" == database_name(cfg.name_prefix, layer)
        assert db["location_uri"] == f"s3://{bucket_ref(synth, env, layer)}/"
        assert db["tags"] == cfg.tags
    assert len(synth.resources(env, "aws_glue_catalog_database")) == 3


@pytest.mark.parametrize("env", ENVS)
def test_tables_are_the_specs_as_parquet_external_tables(synth, env):
    specs = all_tables()
    tables = synth.resources(env, "aws_glue_catalog_table")
    assert len(tables) == len(specs) > 0
    for spec in specs:
        _, t = synth.one(env, "aws_glue_catalog_table", f"/catalog/{spec.layer}_{spec.name}")
        db_name, _ = synth.one(env, "aws_glue_catalog_database", f"/catalog/{spec.layer}_database")
        assert t["database_name"] == ref("aws_glue_catalog_database", db_name, "name")
        assert t["name"] == spec.name
        assert t["table_type"] == "EXTERNAL_TABLE"
        assert t["parameters"]["classification"] == "parquet"
        assert t["parameters"]["EXTERNAL"] == "TRUE"
        sd = t["storage_descriptor"]
        assert sd["location"] == f"s3://{bucket_ref(synth, env, spec.layer)}/{spec.location.strip('/')}/"
        assert sd["input_format"] == PARQUET_INPUT_FORMAT
        assert sd["output_format"] == PARQUET_OUTPUT_FORMAT
        assert sd["ser_de_info"]["serialization_library"] == PARQUET_SERDE
        assert sd["ser_de_info"]["parameters"] == {"serialization.format": "1"}
        assert [(c["name"], c["type"]) for c in sd["columns"]] == [(c.name, c.type) for c in spec.columns]
        assert [(c["name"], c["type"]) for c in t.get("partition_keys", [])] == [
            (c.name, c.type) for c in spec.partition_keys]
        for c in [*sd["columns"], *t.get("partition_keys", [])]:
            assert len(c.get("comment", "").encode()) <= 255, (spec.name, c["name"])
        # gold is published by the silver->gold job switching these locations: Terraform leaves them to it
        ignored = t.get("lifecycle", {}).get("ignore_changes", [])
        assert ignored == (["storage_descriptor[0].location", 'parameters["storage.location.template"]']
                           if spec.layer == "gold" else []), spec.name


@pytest.mark.parametrize("env", ENVS)
def test_tables_have_athena_partition_projection(synth, env):
    projected = [s for s in all_tables() if s.projection]
    assert projected, "the specs project no partition at all"
    for spec in all_tables():
        _, t = synth.one(env, "aws_glue_catalog_table", f"/catalog/{spec.layer}_{spec.name}")
        params = t["parameters"]
        if not spec.projection:
            assert not any(k.startswith("projection.") for k in params), spec.name
            assert "storage.location.template" not in params
            continue
        assert params["projection.enabled"] == "true"
        for col in spec.partition_keys:
            proj = spec.projection[col.name]
            assert params[f"projection.{col.name}.type"] == proj.kind
            if proj.kind == "date":
                assert params[f"projection.{col.name}.range"] == proj.range
                assert params[f"projection.{col.name}.format"] == proj.format
                assert params[f"projection.{col.name}.interval"] == "1"
                assert params[f"projection.{col.name}.interval.unit"] == proj.interval_unit
        # ${col} placeholders are escaped for Terraform ($${col}); AWS receives exactly the spec's template.
        template = params["storage.location.template"]
        bucket_uri = f"s3://{bucket_ref(synth, env, spec.layer)}/"
        assert athena_value(template) == spec.storage_template(bucket_uri)
        for col in spec.partition_keys:
            assert f"{col.name}=$${{{col.name}}}" in template


@pytest.mark.parametrize("env", ENVS)
def test_bronze_crawler(synth, env):
    cfg = synth.configs[env]
    _, crawler = synth.one(env, "aws_glue_crawler", "/catalog/crawler")
    bronze_db, _ = synth.one(env, "aws_glue_catalog_database", "/catalog/bronze_database")
    assert crawler["name"] == f"{cfg.name_prefix}-bronze-raw"
    assert crawler["database_name"] == ref("aws_glue_catalog_database", bronze_db, "name")
    bronze = bucket_ref(synth, env, "bronze")
    assert [t["path"] for t in crawler["s3_target"]] == [
        f"s3://{bronze}/source=erp/", f"s3://{bronze}/source=susep/", f"s3://{bronze}/unstructured/"]
    assert crawler.get("schedule") == (cfg.glue.crawler_schedule or None)
    assert crawler["recrawl_policy"] == {"recrawl_behavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["schema_change_policy"] == {"delete_behavior": "LOG", "update_behavior": "LOG"}
    sec_name, _ = synth.one(env, "aws_glue_security_configuration", "/catalog/crawler_security_configuration")
    assert crawler["security_configuration"] == ref("aws_glue_security_configuration", sec_name, "name")
    assert json.loads(crawler["configuration"])["Version"] == 1.0
    # Its role reads only the crawled prefixes and writes only the bronze database.
    sids = policy_of(synth, env, "/catalog/crawler_role_policy")
    arn = bucket_arn(synth, env, "bronze")
    assert sids["ReadRawBronze"]["Action"] == "s3:GetObject"
    assert sorted(as_list(sids["ReadRawBronze"]["Resource"])) == sorted(
        f"{arn}/{p}*" for p in ("source=erp/", "source=susep/", "unstructured/"))
    glue = as_list(sids["WriteBronzeCatalog"]["Resource"])
    db = database_name(cfg.name_prefix, "bronze")
    assert any(r.endswith(f":database/{db}") for r in glue) and any(r.endswith(f":table/{db}/*") for r in glue)
    assert not [a for a in as_list(sids["WriteBronzeCatalog"]["Action"]) if "Delete" in a]


@pytest.mark.parametrize("env", ENVS)
def test_data_catalog_encryption_settings(synth, env):
    found = synth.resources(env, "aws_glue_data_catalog_encryption_settings")
    if not synth.configs[env].glue.catalog_encryption:
        assert env == "local" and not found  # ministack has no PutDataCatalogEncryptionSettings
        return
    (settings,) = found.values()
    s = settings["data_catalog_encryption_settings"]
    assert s["encryption_at_rest"] == {"catalog_encryption_mode": "SSE-KMS", "sse_aws_kms_key_id": kms_arn(synth, env)}
    assert s["connection_password_encryption"] == {"return_connection_password_encrypted": True,
                                                   "aws_kms_key_id": kms_arn(synth, env)}
    assert settings["catalog_id"].startswith("${data.aws_caller_identity.")


@pytest.mark.parametrize("env", ENVS)
def test_every_glue_security_configuration_uses_the_key_for_all_three(synth, env):
    configs = synth.resources(env, "aws_glue_security_configuration")
    assert len(configs) == 2  # crawler + jobs
    for sc in configs.values():
        enc = sc["encryption_configuration"]
        key = kms_arn(synth, env)
        assert enc["s3_encryption"] == {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": key}
        assert enc["cloudwatch_encryption"] == {"cloudwatch_encryption_mode": "SSE-KMS", "kms_key_arn": key}
        assert enc["job_bookmarks_encryption"] == {"job_bookmarks_encryption_mode": "CSE-KMS", "kms_key_arn": key}


# ==================================================================================================
# Glue jobs
# ==================================================================================================
@pytest.mark.parametrize("env", ENVS)
def test_glue_jobs_version_workers_bookmarks_and_logging(synth, env):
    cfg = synth.configs[env]
    g = cfg.glue
    artifacts = bucket_ref(synth, env, "artifacts")
    sec_name, _ = synth.one(env, "aws_glue_security_configuration", "/glue_jobs/security_configuration")
    for key in JOBS:
        _, job = synth.one(env, "aws_glue_job", f"/glue_jobs/{key}_job")
        assert job["name"] == f"{cfg.name_prefix}-{key.replace('_', '-')}"
        assert job["glue_version"] == "5.0"
        assert job["command"] == {"name": "glueetl", "python_version": "3",
                                  "script_location": f"s3://{artifacts}/glue/scripts/{key}.py"}
        assert (job["worker_type"], job["number_of_workers"]) == (g.worker_type, g.number_of_workers)
        assert (job["timeout"], job["max_retries"]) == (g.timeout_minutes, g.max_retries)
        assert job["execution_class"] == g.execution_class
        assert job["execution_property"] == {"max_concurrent_runs": 1}
        assert job["security_configuration"] == ref("aws_glue_security_configuration", sec_name, "name")
        args = job["default_arguments"]
        assert args["--job-bookmark-option"] == "job-bookmark-enable"
        assert args["--extra-py-files"] == f"s3://{artifacts}/glue/libs/lakehouse.zip"
        assert args["--enable-metrics"] == "true"
        assert args["--enable-continuous-cloudwatch-log"] == "true"
        assert args["--continuous-log-logGroup"] == f"/aws-glue/jobs/{cfg.name_prefix}"
        assert args["--custom-logGroup-prefix"] == f"/aws-glue/jobs/{cfg.name_prefix}"
        assert args["--TempDir"] == f"s3://{artifacts}/glue/temp/{key}/"
        assert "--datalake-formats" not in args
        assert job["tags"] == cfg.tags


@pytest.mark.parametrize("env", ENVS)
def test_glue_job_script_arguments(synth, env):
    b = {k: bucket_ref(synth, env, k) for k in ("bronze", "silver", "gold", "quarantine", "artifacts")}
    _, b2s = synth.one(env, "aws_glue_job", "/glue_jobs/bronze_to_silver_job")
    _, s2g = synth.one(env, "aws_glue_job", "/glue_jobs/silver_to_gold_job")
    script_args = lambda job: {k: v for k, v in job["default_arguments"].items() if "_" in k[2:] and k[2:].islower()}  # noqa: E731
    assert script_args(b2s) == {
        "--bronze_path": f"s3://{b['bronze']}/",
        "--silver_path": f"s3://{b['silver']}/",
        "--quarantine_path": f"s3://{b['quarantine']}/silver_rules/",
        "--state_path": f"s3://{b['artifacts']}/state/bronze_to_silver/",
        "--reports_path": f"s3://{b['artifacts']}/dq-reports/",
        "--pseudonymization_secret": "${aws_secretsmanager_secret.%s.arn}" % synth.one(
            env, "aws_secretsmanager_secret", "/pseudonymization_key/secret")[0],
    }
    # Only bronze->silver may read the key (the gold job gets the pseudonyms from silver).
    statements = {s["Sid"]: s for s in json.loads(synth.one(
        env, "aws_iam_role_policy", "/glue_jobs/bronze_to_silver_role_policy")[1]["policy"])["Statement"]}
    assert statements["ReadJobSecrets"]["Action"] in ("secretsmanager:GetSecretValue", ["secretsmanager:GetSecretValue"])
    s2g_policy = synth.one(env, "aws_iam_role_policy", "/glue_jobs/silver_to_gold_role_policy")[1]["policy"]
    assert "secretsmanager" not in s2g_policy
    gold_db = ref("aws_glue_catalog_database", synth.one(env, "aws_glue_catalog_database", "/catalog/gold_database")[0],
                  "name")
    assert script_args(s2g) == {
        "--silver_path": f"s3://{b['silver']}/",
        "--gold_path": f"s3://{b['gold']}/",
        "--reports_path": f"s3://{b['artifacts']}/dq-reports/",
        "--state_path": f"s3://{b['artifacts']}/state/silver_to_gold/",
        "--gold_database": gold_db,
    }


@pytest.mark.parametrize("env", ENVS)
def test_glue_job_log_groups(synth, env):
    cfg = synth.configs[env]
    base = f"/aws-glue/jobs/{cfg.name_prefix}"
    names = set()
    for gid in ("log_group", "error_log_group", "output_log_group"):
        name, lg = synth.one(env, "aws_cloudwatch_log_group", f"/glue_jobs/{gid}")
        assert lg["retention_in_days"] == cfg.log_retention_days
        assert lg["kms_key_id"] == kms_arn(synth, env)
        names.add(lg["name"])
        for key in JOBS:  # created before the jobs
            _, job = synth.one(env, "aws_glue_job", f"/glue_jobs/{key}_job")
            assert f"aws_cloudwatch_log_group.{name}" in job["depends_on"]
    assert names == {base, f"{base}/error", f"{base}/output"}


@pytest.mark.parametrize("env", ENVS)
def test_code_is_uploaded_by_terraform_with_its_hash(synth, env):
    artifacts = bucket_ref(synth, env, "artifacts")
    expected = {f"glue/scripts/{k}.py": synth.batch.scripts[k] for k in JOBS}
    expected["glue/libs/lakehouse.zip"] = synth.batch.libs_zip
    objects = {o["key"]: o for o in synth.resources(env, "aws_s3_object").values()}
    assert set(expected) <= set(objects)
    for key, local in expected.items():
        obj = objects[key]
        assert obj["bucket"] == artifacts
        assert not obj["source"].startswith("/"), "asset paths are relative to the stack folder"
        shipped = synth.stack_dir(env) / obj["source"]
        assert shipped.read_bytes() == Path(local).read_bytes()
        assert obj["source_hash"] == hashlib.md5(shipped.read_bytes()).hexdigest()
        assert "etag" not in obj
        assert obj["server_side_encryption"] == "aws:kms" and obj["kms_key_id"] == kms_arn(synth, env)


@pytest.mark.parametrize("env", ENVS)
def test_glue_job_roles_are_least_privilege(synth, env):
    cfg = synth.configs[env]
    a = {k: bucket_arn(synth, env, k) for k in ("bronze", "silver", "gold", "quarantine", "artifacts")}
    for key in SPARK_JOBS:
        _, role = synth.one(env, "aws_iam_role", f"/glue_jobs/{key}_role")
        assert role["name"] == f"{cfg.name_prefix}-glue-{key.replace('_', '-')}"
        (trust,) = json.loads(role["assume_role_policy"])["Statement"]
        assert trust["Principal"] == {"Service": "glue.amazonaws.com"}
        assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
        sids = policy_of(synth, env, f"/glue_jobs/{key}_role_policy")
        for st in sids.values():
            resources = as_list(st["Resource"])
            if "*" in resources:
                assert as_list(st["Action"]) == ["cloudwatch:PutMetricData"]
                assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
        assert sorted(as_list(sids["ReadJobCode"]["Resource"])) == sorted(
            [f"{a['artifacts']}/glue/scripts/{key}.py", f"{a['artifacts']}/glue/libs/lakehouse.zip"])
        assert sids["UseLakeKey"]["Resource"] == kms_arn(synth, env)
        logs = as_list(sids["WriteJobLogs"]["Resource"])
        assert all(f"log-group:/aws-glue/jobs/{cfg.name_prefix}" in r for r in logs)
        catalog = as_list(sids["LakeCatalog"]["Resource"])
        layers = ("bronze", "silver") if key == "bronze_to_silver" else ("silver", "gold")
        db_refs = [ref("aws_glue_catalog_database",
                       synth.one(env, "aws_glue_catalog_database", f"/catalog/{layer}_database")[0], "name")
                   for layer in layers]
        assert len(catalog) == 1 + 2 * len(layers)
        assert [r for r in catalog if r.endswith(":catalog")] == [catalog[0]]
        for db in db_refs:
            assert any(r.endswith(f":database/{db}") for r in catalog)
            assert any(r.endswith(f":table/{db}/*") for r in catalog)
        assert not [x for x in as_list(sids["LakeCatalog"]["Action"]) if "Delete" in x or x == "glue:UpdateTable"]
        everything = json.dumps(list(sids.values()))
        if key == "bronze_to_silver":
            assert sids["ReadBronze"]["Action"] == "s3:GetObject"
            assert sids["ReadBronze"]["Resource"] == f"{a['bronze']}/source=*"
            assert sorted(as_list(sids["ReadWriteSilver"]["Action"])) == [
                "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
            assert sids["WriteQuarantine"]["Resource"] == f"{a['quarantine']}/silver_rules/*"
            # an object's quarantine rows are replaced when it is processed again (retry, corrected version)
            assert "s3:DeleteObject" in as_list(sids["WriteQuarantine"]["Action"])
            assert sids["ReadWriteState"]["Resource"] == f"{a['artifacts']}/state/bronze_to_silver/*"
            assert a["gold"] not in everything
        else:
            assert sids["ReadSilver"]["Action"] == "s3:GetObject"
            assert "s3:PutObject" in as_list(sids["ReadWriteGold"]["Action"])
            assert a["bronze"] not in everything and a["quarantine"] not in everything
            assert sids["ReadWriteState"]["Resource"] == f"{a['artifacts']}/state/silver_to_gold/*"
            # it publishes by switching the gold tables' locations: UpdateTable on gold only
            gold_db = db_refs[-1]
            assert sorted(as_list(sids["PublishTables"]["Action"])) == ["glue:GetTable", "glue:UpdateTable"]
            publish = as_list(sids["PublishTables"]["Resource"])
            assert len(publish) == 3 and publish[0].endswith(":catalog")
            assert publish[1].endswith(f":database/{gold_db}") and publish[2].endswith(f":table/{gold_db}/*")
        if key == "bronze_to_silver":
            assert "PublishTables" not in sids
        assert sids["WriteDqReports"]["Resource"] == f"{a['artifacts']}/dq-reports/*"


@pytest.mark.parametrize("env", ENVS)
def test_warehouse_load_job_arguments(synth, env):
    """The third job: the published gold and its publication record; on AWS the Redshift Data API with the
    Serverless workgroup, the database, the Redshift-managed admin secret and the COPY role; locally only
    ``--target postgres``: the connection is the run's (local_runtime.warehouse_local), never deployed."""
    b = {k: bucket_ref(synth, env, k) for k in ("gold", "artifacts")}
    _, job = synth.one(env, "aws_glue_job", "/glue_jobs/warehouse_load_job")
    args = job["default_arguments"]
    assert job["command"]["name"] == "glueetl" and job["glue_version"] == "5.0"
    assert args["--gold_path"] == f"s3://{b['gold']}/"
    assert args["--state_path"] == f"s3://{b['artifacts']}/state/silver_to_gold/"  # where silver -> gold writes it
    connection = ("--host", "--port", "--user", "--passfile", "--database", "--workgroup", "--cluster_identifier",
                  "--secret_arn", "--iam_role", "--db_user")
    if env == "local":
        assert args["--target"] == "postgres"
        assert not [a for a in connection if a in args], args
        return
    workgroup, wg = synth.one(env, "aws_redshiftserverless_workgroup", "/redshift/workgroup")
    namespace, ns = synth.one(env, "aws_redshiftserverless_namespace", "/redshift/namespace")
    copy_role, _ = synth.one(env, "aws_iam_role", "/redshift/copy_role")
    assert {a: args[a] for a in connection if a in args} == {
        "--workgroup": ref("aws_redshiftserverless_workgroup", workgroup, "workgroup_name"),
        "--database": ns["db_name"],
        "--secret_arn": ref("aws_redshiftserverless_namespace", namespace, "admin_password_secret_arn"),
        "--iam_role": ref("aws_iam_role", copy_role, "arn"),
    }
    assert args["--target"] == "redshift-data"
    assert synth.docs[env]["output"]["glue_job_warehouse_load"]["value"] == ref(
        "aws_glue_job", synth.one(env, "aws_glue_job", "/glue_jobs/warehouse_load_job")[0], "name")


@pytest.mark.parametrize("env", ENVS)
def test_warehouse_load_role_reads_published_gold_and_runs_sql_on_its_warehouse_only(synth, env):
    a = {k: bucket_arn(synth, env, k) for k in ("bronze", "silver", "gold", "quarantine", "artifacts")}
    sids = policy_of(synth, env, "/glue_jobs/warehouse_load_role_policy")
    assert sids["ReadPublishedGold"]["Action"] == "s3:GetObject"
    assert sids["ReadPublishedGold"]["Resource"] == f"{a['gold']}/runs/*"
    assert sids["ReadPublication"]["Resource"] == f"{a['artifacts']}/state/silver_to_gold/*"
    everything = json.dumps(list(sids.values()))
    assert a["bronze"] not in everything and a["silver"] not in everything and a["quarantine"] not in everything
    assert "LakeCatalog" not in sids and "PublishTables" not in sids
    writes = [st for st in sids.values() if {"s3:PutObject", "s3:DeleteObject"} & set(as_list(st["Action"]))]
    assert [st["Sid"] for st in writes] == ["GlueTempDir"]  # Glue's own temp dir, nothing of the lake
    if env == "local":
        assert not [sid for sid in sids if "Warehouse" in sid or sid == "ReadJobSecrets"], sorted(sids)
        assert "redshift-data" not in everything
        return
    workgroup, _ = synth.one(env, "aws_redshiftserverless_workgroup", "/redshift/workgroup")
    namespace, _ = synth.one(env, "aws_redshiftserverless_namespace", "/redshift/namespace")
    run = sids["RunWarehouseStatements"]
    assert sorted(as_list(run["Action"])) == ["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"]
    assert run["Resource"] == ref("aws_redshiftserverless_workgroup", workgroup, "arn")
    follow = sids["FollowOwnWarehouseStatements"]
    assert sorted(as_list(follow["Action"])) == ["redshift-data:CancelStatement", "redshift-data:DescribeStatement",
                                                 "redshift-data:GetStatementResult"]
    # no resource-level scoping exists for these: only the role's own statements ($$ = Terraform's escape)
    assert follow["Resource"] == "*"
    assert follow["Condition"] == {"StringEquals": {"redshift-data:statement-owner-iam-userid": "$${aws:userid}"}}
    assert sids["ReadJobSecrets"] == {
        "Sid": "ReadJobSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": ref("aws_redshiftserverless_namespace", namespace, "admin_password_secret_arn")}
    for sid, st in sids.items():  # "*" only where AWS offers no resource type, always with its condition
        if "*" in as_list(st["Resource"]):
            assert sid in ("PublishGlueMetrics", "FollowOwnWarehouseStatements") and st["Condition"], sid


def test_no_warehouse_no_load_job(tmp_path):
    """Outside local with Redshift off there is nothing to load into: the workflow ends with silver -> gold."""
    from compose.batch import workflow_jobs
    from compose import expected_outputs
    from environments import load_environment

    dev = load_environment("dev")
    off = replace(dev, services=replace(dev.services, redshift=False))
    assert [job.name for job in workflow_jobs(off)] == list(SPARK_JOBS)
    assert "glue_job_warehouse_load" not in expected_outputs(off)
    for cfg in (dev, load_environment("local")):
        assert [job.name for job in workflow_jobs(cfg)] == list(JOBS)
        assert "glue_job_warehouse_load" in expected_outputs(cfg)


# ==================================================================================================
# Glue workflow, Athena
# ==================================================================================================
@pytest.mark.parametrize("env", ENVS)
def test_workflow_schedule_and_conditional_trigger(synth, env):
    cfg = synth.configs[env]
    wf_name, wf = synth.one(env, "aws_glue_workflow", "/glue_workflow/workflow")
    assert wf["name"] == f"{cfg.name_prefix}-batch" and wf["max_concurrent_runs"] == 1
    b2s, _ = synth.one(env, "aws_glue_job", "/glue_jobs/bronze_to_silver_job")
    s2g, _ = synth.one(env, "aws_glue_job", "/glue_jobs/silver_to_gold_job")
    _, start = synth.one(env, "aws_glue_trigger", "/glue_workflow/start")
    assert start["type"] == "SCHEDULED"
    assert start["schedule"] == cfg.glue.bronze_to_silver_schedule
    assert start["start_on_creation"] is cfg.glue.schedule_active
    assert start["start_on_creation"] is (env != "local")
    assert start["workflow_name"] == ref("aws_glue_workflow", wf_name, "name")
    assert start["actions"] == [{"job_name": ref("aws_glue_job", b2s, "name")}]
    load, _ = synth.one(env, "aws_glue_job", "/glue_jobs/warehouse_load_job")
    # each next job when the previous one SUCCEEDED: silver -> gold after bronze -> silver, the warehouse load
    # after silver -> gold
    for i, (previous, job) in enumerate(((b2s, s2g), (s2g, load)), start=1):
        _, then = synth.one(env, "aws_glue_trigger", f"/glue_workflow/after_{i}")
        assert then["type"] == "CONDITIONAL" and then["start_on_creation"] is True
        assert then["workflow_name"] == ref("aws_glue_workflow", wf_name, "name")
        assert then["predicate"] == {"logical": "AND", "conditions": [
            {"job_name": ref("aws_glue_job", previous, "name"), "state": "SUCCEEDED", "logical_operator": "EQUALS"}]}
        assert then["actions"] == [{"job_name": ref("aws_glue_job", job, "name")}]
    assert len(synth.resources(env, "aws_glue_trigger")) == 3


@pytest.mark.parametrize("env", ENVS)
def test_athena_workgroup(synth, env):
    cfg = synth.configs[env]
    _, wg = synth.one(env, "aws_athena_workgroup", "/athena/workgroup")
    assert wg["name"] == cfg.name_prefix
    conf = wg["configuration"]
    assert conf["enforce_workgroup_configuration"] is True
    assert conf["publish_cloudwatch_metrics_enabled"] is True
    assert conf["bytes_scanned_cutoff_per_query"] == cfg.athena.bytes_scanned_cutoff_gb * 1024**3
    rc = conf["result_configuration"]
    assert rc["output_location"] == f"s3://{bucket_ref(synth, env, 'athena_results')}/results/"
    assert rc["encryption_configuration"] == {"encryption_option": "SSE_KMS", "kms_key_arn": kms_arn(synth, env)}
    assert wg["force_destroy"] is (env == "local")


# ==================================================================================================
# EMR
# ==================================================================================================
def test_no_emr_in_local(synth):
    doc = synth.docs["local"]
    assert not [t for t in doc["resource"] if t.startswith("aws_emr")]
    assert "emr_cluster_id" not in doc["output"]
    assert "emr_subnet_id" not in doc.get("variable", {})


@pytest.mark.parametrize("env", ENVS)
def test_emr_step_code_is_uploaded_where_the_steps_point(synth, env):
    """Cluster or not (local: for local_runtime/batch.py), the step script and the shared zip are in S3."""
    artifacts = bucket_ref(synth, env, "artifacts")
    rendered = render_steps(bucket_ref(synth, env, "bronze"), artifacts)
    objects = {o["key"]: o for o in synth.resources(env, "aws_s3_object").values()}
    prefix = f"s3://{artifacts}/"
    for step in rendered:
        script = objects[step["script_uri"][len(prefix):]]
        assert (synth.stack_dir(env) / script["source"]).read_bytes() == (ROOT / step["script"]).read_bytes()
        zip_obj = objects[step["py_files"][len(prefix):]]
        assert (synth.stack_dir(env) / zip_obj["source"]).read_bytes() == synth.batch.libs_zip.read_bytes()
        for obj in (script, zip_obj):
            assert obj["bucket"] == artifacts and obj["kms_key_id"] == kms_arn(synth, env)
    if env != "local":
        sids = policy_of(synth, env, "/emr/instance_role_policy")
        arn = bucket_arn(synth, env, "artifacts")
        assert sorted(as_list(sids["ReadStepCode"]["Resource"])) == sorted(
            {f"{arn}/{r[key][len(prefix):]}*" for r in rendered for key in ("script_uri", "py_files")})
        bronze = bucket_arn(synth, env, "bronze")
        assert sids["ReadErpExports"]["Resource"] == f"{bronze}/landing/erp/*"
        assert sorted(as_list(sids["WriteBronzeBackfill"]["Resource"])) == [f"{bronze}/_tmp/backfill/*",
                                                                           f"{bronze}/source=erp/*"]


@pytest.mark.parametrize("env", CLOUD)
def test_emr_security_configuration(synth, env):
    _, sc = synth.one(env, "aws_emr_security_configuration", "/emr/security_configuration")
    conf = json.loads(sc["configuration"])
    enc = conf["EncryptionConfiguration"]
    key = kms_arn(synth, env)
    assert enc["EnableAtRestEncryption"] is True
    at_rest = enc["AtRestEncryptionConfiguration"]
    assert at_rest["S3EncryptionConfiguration"] == {"EncryptionMode": "SSE-KMS", "AwsKmsKey": key}
    assert at_rest["LocalDiskEncryptionConfiguration"] == {"EncryptionKeyProviderType": "AwsKms", "AwsKmsKey": key,
                                                           "EnableEbsEncryption": True}
    # In-transit needs a certificate provider (EmrClusterProps.in_transit_certificates_s3_uri).
    assert enc["EnableInTransitEncryption"] is False and "InTransitEncryptionConfiguration" not in enc
    assert conf["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"] == 2


@pytest.mark.parametrize("env", CLOUD)
def test_emr_cluster(synth, env):
    cfg = synth.configs[env]
    e = cfg.emr
    name, cluster = synth.one(env, "aws_emr_cluster", "/emr/cluster")
    sec, _ = synth.one(env, "aws_emr_security_configuration", "/emr/security_configuration")
    artifacts = bucket_ref(synth, env, "artifacts")
    assert cluster["name"] == f"{cfg.name_prefix}-backfill"
    assert cluster["release_label"] == e.release_label and e.release_label.startswith("emr-7.")
    assert cluster["applications"] == ["Spark"]
    assert cluster["security_configuration"] == ref("aws_emr_security_configuration", sec, "name")
    assert cluster["keep_job_flow_alive_when_no_steps"] is False
    assert cluster["termination_protection"] is False
    assert cluster["auto_termination_policy"] == {"idle_timeout": e.idle_timeout_seconds}
    assert cluster["log_uri"] == f"s3://{artifacts}/emr-logs/"
    assert cluster["log_encryption_kms_key_id"] == kms_arn(synth, env)
    assert cluster["master_instance_group"] == {"instance_type": e.master_instance_type, "instance_count": 1}
    core = cluster["core_instance_group"]
    assert (core["instance_type"], core["instance_count"]) == (e.core_instance_type, e.core_instance_count)
    assert core["ebs_config"] == [{"size": e.ebs_size_gb, "type": "gp3", "volumes_per_instance": 1}]
    # Steps come from data (emr_steps.steps): command-runner.jar + the spark-submit argv of each step.
    rendered = render_steps(bucket_ref(synth, env, "bronze"), artifacts)
    steps = cluster["step"]
    assert [s["name"] for s in steps] == [r["name"] for r in rendered] and steps
    for s, r in zip(steps, rendered):
        assert s["action_on_failure"] == r["action_on_failure"]
        (jar,) = s["hadoop_jar_step"]
        assert jar["jar"] == "command-runner.jar"
        assert jar["args"] == spark_submit_args(r) and jar["args"][0] == "spark-submit"
    # Private subnet from a variable, EMR-managed groups, no public access.
    ec2 = cluster["ec2_attributes"]
    # Private subnet: the network's first (dev and prod create the network); without one, a required variable.
    first_subnet, subnet = synth.one(env, "aws_subnet", "/network/private_0")
    assert ec2["subnet_id"] == ref("aws_subnet", first_subnet, "id") and subnet["map_public_ip_on_launch"] is False
    assert "emr_subnet_id" not in synth.docs[env].get("variable", {})
    groups = {k: synth.one(env, "aws_security_group", f"/emr/{k}_security_group")[0]
              for k in ("primary", "core", "service")}
    assert ec2["emr_managed_master_security_group"] == ref("aws_security_group", groups["primary"], "id")
    assert ec2["emr_managed_slave_security_group"] == ref("aws_security_group", groups["core"], "id")
    assert ec2["service_access_security_group"] == ref("aws_security_group", groups["service"], "id")
    for k in groups:
        _, sg = synth.one(env, "aws_security_group", f"/emr/{k}_security_group")
        assert "ingress" not in sg and "egress" not in sg
        assert sg["tags"]["for-use-with-amazon-emr-managed-policies"] == "true"
    for rule in synth.resources(env, "aws_vpc_security_group_ingress_rule").values():
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule  # only group-to-group
    assert synth.docs[env]["output"]["emr_cluster_id"]["value"] == ref("aws_emr_cluster", name, "id")


@pytest.mark.parametrize("env", CLOUD)
def test_emr_roles(synth, env):
    cfg = synth.configs[env]
    _, service = synth.one(env, "aws_iam_role", "/emr/service_role")
    (trust,) = json.loads(service["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "elasticmapreduce.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert "aws:SourceArn" in trust["Condition"]["ArnLike"]
    _, att = synth.one(env, "aws_iam_role_policy_attachment", "/emr/service_role_managed_policy")
    assert att["policy_arn"].endswith(":iam::aws:policy/service-role/AmazonEMRServicePolicy_v2")
    sids = policy_of(synth, env, "/emr/service_role_policy")
    ec2_role, _ = synth.one(env, "aws_iam_role", "/emr/instance_role")
    assert sids["PassInstanceRole"]["Resource"] == ref("aws_iam_role", ec2_role, "arn")
    assert sids["PassInstanceRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert sids["EbsEncryptionGrants"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    _, instance = synth.one(env, "aws_iam_role", "/emr/instance_role")
    assert instance["name"] == f"{cfg.name_prefix}-backfill-ec2"
    sids = policy_of(synth, env, "/emr/instance_role_policy")
    artifacts = bucket_arn(synth, env, "artifacts")
    assert sids["WriteClusterLogs"]["Resource"] == f"{artifacts}/emr-logs/*"
    assert "s3:GetObject" not in as_list(sids["WriteClusterLogs"]["Action"])
    assert sids["UseLakeKey"]["Resource"] == kms_arn(synth, env)
    for st in sids.values():
        assert "*" not in as_list(st["Resource"])
    _, profile = synth.one(env, "aws_iam_instance_profile", "/emr/instance_profile")
    assert profile["role"] == ref("aws_iam_role", ec2_role, "name")


@pytest.mark.parametrize("env", ENVS)
def test_key_policy_lets_the_batch_roles_use_the_key(synth, env):
    cfg = synth.configs[env]
    _, key = synth.one(env, "aws_kms_key", "/kms/key")
    by_sid = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    direct = by_sid["AllowDirectUseByNamedRoles"]
    patterns = as_list(direct["Condition"]["ArnLike"]["aws:PrincipalArn"])
    assert any(p.endswith(f":role/{cfg.name_prefix}-glue-*") for p in patterns)
    assert any(p.endswith(f":role/{cfg.name_prefix}-backfill-ec2") for p in patterns) is cfg.services.emr
    assert direct["Principal"]["AWS"].endswith(":root")
    assert "kms:CallerAccount" in direct["Condition"]["StringEquals"]


@pytest.mark.parametrize("env", ENVS)
def test_no_batch_role_allows_everything(synth, env):
    policies = [r for r in synth.resources(env, "aws_iam_role_policy").values()
                if any(x in r["//"]["metadata"]["path"] for x in ("/catalog/", "/glue_jobs/", "/emr/"))]
    assert len(policies) == (4 if env == "local" else 6)  # crawler, three jobs (and the EMR roles' two)
    for rp in policies:
        doc = json.loads(rp["policy"])
        assert find_violations(doc) == []
        for st in doc["Statement"]:
            if "*" in as_list(st["Resource"]):
                assert set(as_list(st["Action"])) <= RESOURCELESS_ACTIONS


@pytest.mark.parametrize("env", ENVS)
def test_batch_outputs(synth, env):
    cfg = synth.configs[env]
    out = synth.docs[env]["output"]
    for layer in LAYERS:
        db, _ = synth.one(env, "aws_glue_catalog_database", f"/catalog/{layer}_database")
        assert out[f"glue_database_{layer}"]["value"] == ref("aws_glue_catalog_database", db, "name")
    for key in JOBS:
        job, _ = synth.one(env, "aws_glue_job", f"/glue_jobs/{key}_job")
        assert out[f"glue_job_{key}"]["value"] == ref("aws_glue_job", job, "name")
    wf, _ = synth.one(env, "aws_glue_workflow", "/glue_workflow/workflow")
    assert out["glue_workflow_name"]["value"] == ref("aws_glue_workflow", wf, "name")
    crawler, _ = synth.one(env, "aws_glue_crawler", "/catalog/crawler")
    assert out["glue_crawler_name"]["value"] == ref("aws_glue_crawler", crawler, "name")
    assert ("emr_cluster_id" in out) is cfg.services.emr


@pytest.mark.parametrize("env", ENVS)
def test_checkov_ran_on_the_batch_resources(synth, env):
    result = synth.background[f"checkov:{env}"].result(timeout=600)
    assert result.ok, "\n" + result.describe()
    must_run = {"CKV_AWS_195", "CKV_AWS_99", "CKV_AWS_82", "CKV_AWS_159"}  # Glue sec config, Athena
    if env != "local":
        must_run |= {"CKV_AWS_94", "CKV_AWS_171", "CKV2_AWS_55", "CKV2_AWS_7", "CKV2_AWS_5"}  # catalog enc, EMR
    assert must_run <= result.passed_ids, sorted(must_run - result.passed_ids)


# ==================================================================================================
# Pure helpers
# ==================================================================================================
def _spec(**kw) -> TableSpec:
    base = dict(layer="silver", name="t", location="src/t/", columns=(Column("id", "string"),))
    base.update(kw)
    return TableSpec(**base)


def test_projection_parameters_for_every_kind():
    spec = _spec(partition_keys=(Column("month", "string"), Column("source", "string"), Column("bucket", "int"),
                                 Column("run", "string")),
                 projection={"month": PartitionProjection("date", range="2020-01,NOW", format="yyyy-MM",
                                                          interval_unit="MONTHS"),
                             "source": PartitionProjection("enum", values=("erp", "susep")),
                             "bucket": PartitionProjection("integer", range="0,15"),
                             "run": PartitionProjection("injected")})
    assert projection_parameters(spec, "s3://b/") == {
        "projection.enabled": "true",
        "projection.month.type": "date", "projection.month.range": "2020-01,NOW",
        "projection.month.format": "yyyy-MM", "projection.month.interval": "1",
        "projection.month.interval.unit": "MONTHS",
        "projection.source.type": "enum", "projection.source.values": "erp,susep",
        "projection.bucket.type": "integer", "projection.bucket.range": "0,15",
        "projection.run.type": "injected",
        "storage.location.template": "s3://b/src/t/month=${month}/source=${source}/bucket=${bucket}/run=${run}",
    }
    assert projection_parameters(_spec(), "s3://b/") == {}


def test_projection_must_cover_every_partition_key():
    spec = _spec(partition_keys=(Column("a", "string"), Column("b", "string")),
                 projection={"a": PartitionProjection("enum", values=("x",))})
    with pytest.raises(ValueError, match="every partition key"):
        projection_parameters(spec, "s3://b/")
    with pytest.raises(ValueError, match="needs range and format"):
        projection_parameters(_spec(partition_keys=(Column("a", "string"),),
                                    projection={"a": PartitionProjection("date")}), "s3://b/")


def test_glue_comment_is_cut_at_255_utf8_bytes():
    text = "Automóvel - Casco; " * 20
    cut = glue_comment(text)
    assert len(cut.encode("utf-8")) <= 255 and cut.endswith("...")
    assert glue_comment("short") == "short" and glue_comment("") is None


def test_database_names_are_athena_safe():
    assert database_name("lakeforge-dev", "bronze") == "lakeforge_dev_bronze"


def test_s3_statements():
    sts = s3_statements([S3Access(sid="R", bucket_arn="arn:aws:s3:::a", prefixes=("x/", "y/")),
                         S3Access(sid="W", bucket_arn="arn:aws:s3:::a", read=False, write=True),
                         S3Access(sid="P", bucket_arn="arn:aws:s3:::a", prefixes=("p/q/",), write=True)])
    assert [(s.sid, s.actions, s.resources) for s in sts] == [
        ("R", ("s3:GetObject",), ("arn:aws:s3:::a/x/*", "arn:aws:s3:::a/y/*")),
        ("W", ("s3:PutObject", "s3:AbortMultipartUpload"), ("arn:aws:s3:::a/*",)),
        ("P", ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"), ("arn:aws:s3:::a/p/q/*",)),
        # S3A mkdirs probes the parents of a folder it creates: the bare keys, nothing below them.
        ("ProbeWritePrefixes", ("s3:GetObject",), ("arn:aws:s3:::a/p", "arn:aws:s3:::a/p/q")),
        ("ListLakeBuckets", ("s3:GetBucketLocation", "s3:ListBucket"), ("arn:aws:s3:::a",)),
    ]
    with pytest.raises(PolicyError, match="grants nothing"):
        s3_statements([S3Access(sid="N", bucket_arn="arn:aws:s3:::a", read=False)])


# ==================================================================================================
# Config
# ==================================================================================================
@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["glue"].update(worker_type="G.025X"), "glue.worker_type"),
    (lambda d: d["glue"].update(number_of_workers=1), "glue.number_of_workers: 2-299"),
    (lambda d: d["glue"].update(bronze_to_silver_schedule="daily"), "glue.bronze_to_silver_schedule"),
    (lambda d: d["glue"].update(execution_class="FLEX", worker_type="G.4X"), "FLEX needs worker_type"),
    (lambda d: d["glue"].update(surprise=True), "glue: unknown key(s) surprise"),
    (lambda d: d["emr"].update(release_label="emr-6.15.0"), "emr.release_label"),
    (lambda d: d["emr"].update(subnet_id="subnet-x"), "emr.subnet_id"),
    (lambda d: d["athena"].update(bytes_scanned_cutoff_gb=0), "athena.bytes_scanned_cutoff_gb"),
    (lambda d: d["services"].update(glue_catalog=False), "services.glue_jobs: needs s3_lake and glue_catalog"),
    (lambda d: d["services"].update(glue_jobs=False), "services.glue_workflow: needs glue_jobs"),
])
def test_invalid_batch_configs_are_rejected(mutate, message):
    assert_config_rejected(mutate, message)


def test_emr_is_refused_in_local():
    data = raw("local")
    data["services"]["emr"] = True
    with pytest.raises(ConfigError, match="services.emr: no emulator"):
        parse_environment(data, source="local.toml", expected_name="local")


def test_batch_config_per_environment():
    from environments import load_environment

    local, dev, prod = (load_environment(e) for e in ENVS)
    for cfg in (local, dev, prod):
        s = cfg.services
        assert s.glue_catalog and s.glue_jobs and s.glue_workflow and s.athena
    assert not local.glue.catalog_encryption and dev.glue.catalog_encryption and prod.glue.catalog_encryption
    assert not local.glue.schedule_active and dev.glue.schedule_active and prod.glue.schedule_active
    assert not local.services.emr and dev.services.emr and prod.services.emr


# ==================================================================================================
# Constructs alone
# ==================================================================================================
BUCKETS = {k: f"acme-{k}" for k in ("bronze", "silver", "gold", "quarantine", "artifacts", "athena_results")}
ARNS = {k: f"arn:aws:s3:::{v}" for k, v in BUCKETS.items()}
KEY = "arn:aws:kms:sa-east-1:123456789012:key/k"


def test_glue_catalog_alone(bindings):
    from modules.glue_catalog import GlueCatalog, GlueCatalogProps

    spec = _spec(partition_keys=(Column("month", "string", "ó" * 200),),
                 projection={"month": PartitionProjection("date", range="2020-01,NOW", format="yyyy-MM",
                                                          interval_unit="MONTHS")})
    gold = _spec(layer="gold", name="dim_x", location="dim_x/")
    stack = new_stack(bindings)
    cat = GlueCatalog(stack, "cat", GlueCatalogProps(
        name_prefix="acme-test", bucket_names=BUCKETS, bucket_arns=ARNS, account_id="123456789012",
        region="sa-east-1", kms_key_arn=KEY, tables=(spec, gold), crawler_paths=("raw/",), crawler_schedule="",
        tags=TAGS))
    assert set(cat.database_names) == set(LAYERS) and set(cat.table_names) == {"silver.t", "gold.dim_x"}
    doc = synth_json(bindings, stack)
    tables = {t["name"]: t for t in doc["resource"]["aws_glue_catalog_table"].values()}
    params = tables["t"]["parameters"]
    assert params["storage.location.template"] == "s3://acme-silver/src/t/month=$${month}"
    assert len(tables["t"]["partition_keys"][0]["comment"].encode()) <= 255
    assert "projection.enabled" not in tables["dim_x"]["parameters"]
    (crawler,) = doc["resource"]["aws_glue_crawler"].values()
    assert "schedule" not in crawler and crawler["tags"] == TAGS
    assert len(doc["resource"]["aws_glue_data_catalog_encryption_settings"]) == 1


def test_glue_catalog_refuses_bad_props(bindings):
    from modules.glue_catalog import GlueCatalog, GlueCatalogProps

    common = dict(name_prefix="acme-test", bucket_names=BUCKETS, bucket_arns=ARNS, account_id="1", region="sa-east-1",
                  crawler_paths=("raw/",))
    with pytest.raises(ValueError, match="catalog_encryption needs kms_key_arn"):
        GlueCatalog(new_stack(bindings), "c", GlueCatalogProps(**common))
    with pytest.raises(ValueError, match="requires update_behavior"):
        GlueCatalog(new_stack(bindings), "c", GlueCatalogProps(**common, kms_key_arn=KEY, update_behavior="UPDATE_IN_DATABASE"))
    with pytest.raises(ValueError, match="layer 'platinum'"):
        GlueCatalog(new_stack(bindings), "c", GlueCatalogProps(**common, kms_key_arn=KEY,
                                                               tables=(_spec(layer="platinum"),)))
    stack = new_stack(bindings)
    cat = GlueCatalog(stack, "c", GlueCatalogProps(**common, create=False))
    assert cat.database_names == {} and cat.crawler_name is None
    assert "resource" not in synth_json(bindings, stack)


def _job_specs(tmp_path, **kw):
    from modules.glue_jobs import GlueJobSpec

    script = tmp_path / "job_a.py"
    script.write_text("print('a')\n")
    return (GlueJobSpec(key="job_a", script_path=script, arguments={"--in_path": "s3://acme-bronze/"},
                        s3_access=(S3Access(sid="ReadBronze", bucket_arn=ARNS["bronze"]),), **kw),)


def test_glue_jobs_alone(bindings, tmp_path):
    from modules.glue_jobs import GlueJobs, GlueJobsProps

    stack = new_stack(bindings)
    jobs = GlueJobs(stack, "jobs", GlueJobsProps(
        name_prefix="acme-test", jobs=_job_specs(tmp_path), artifacts_bucket=BUCKETS["artifacts"],
        artifacts_bucket_arn=ARNS["artifacts"], account_id="123456789012", region="sa-east-1",
        kms_key_arn=KEY, worker_type="G.2X", number_of_workers=5, bookmarks=False, tags=TAGS))
    assert jobs.libs_uri is None and jobs.script_uris == {"job_a": "s3://acme-artifacts/glue/scripts/job_a.py"}
    doc = synth_json(bindings, stack)
    (job,) = doc["resource"]["aws_glue_job"].values()
    assert job["name"] == "acme-test-job-a" and job["worker_type"] == "G.2X" and job["number_of_workers"] == 5
    assert job["default_arguments"]["--job-bookmark-option"] == "job-bookmark-disable"
    assert job["default_arguments"]["--in_path"] == "s3://acme-bronze/"
    assert "--extra-py-files" not in job["default_arguments"]
    (role,) = doc["resource"]["aws_iam_role"].values()
    assert role["name"] == "acme-test-glue-job-a" and role["tags"] == TAGS
    (rp,) = doc["resource"]["aws_iam_role_policy"].values()
    sids = {s["Sid"] for s in json.loads(rp["policy"])["Statement"]}
    assert sids == {"ReadJobCode", "GlueTempDir", "ReadBronze", "ProbeWritePrefixes", "ListLakeBuckets",
                    "WriteJobLogs", "PublishGlueMetrics", "UseLakeKey"}  # no catalog databases named: no catalog grant


def test_glue_jobs_refuse_bad_props(bindings, tmp_path):
    from modules.glue_jobs import GlueJobs, GlueJobSpec, GlueJobsProps

    common = dict(name_prefix="acme-test", artifacts_bucket="b", artifacts_bucket_arn="arn:aws:s3:::b",
                  account_id="1", region="sa-east-1")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        GlueJobs(new_stack(bindings), "j", GlueJobsProps(
            **common, jobs=(GlueJobSpec(key="x", script_path=tmp_path / "missing.py"),)))
    script = tmp_path / "x.py"
    script.write_text("")
    with pytest.raises(ValueError, match="Glue service arguments"):
        GlueJobs(new_stack(bindings), "j", GlueJobsProps(
            **common, jobs=(GlueJobSpec(key="x", script_path=script, arguments={"--TempDir": "s3://x/"}),)))
    with pytest.raises(ValueError, match="worker_type"):
        GlueJobs(new_stack(bindings), "j", GlueJobsProps(**common, worker_type="G.025X",
                                                         jobs=(GlueJobSpec(key="x", script_path=script),)))
    with pytest.raises(FileNotFoundError, match="build it before synth"):
        GlueJobs(new_stack(bindings), "j", GlueJobsProps(**common, libs_zip_path=tmp_path / "nope.zip",
                                                         jobs=(GlueJobSpec(key="x", script_path=script),)))


def test_glue_workflow_chains_every_job(bindings):
    from modules.glue_workflow import GlueWorkflow, GlueWorkflowProps

    stack = new_stack(bindings)
    wf = GlueWorkflow(stack, "wf", GlueWorkflowProps(name="acme-batch", job_names=("a", "b", "c"),
                                                     schedule_active=False, tags=TAGS))
    assert wf.name is not None and len(wf.triggers) == 3
    triggers = {t["name"]: t for t in synth_json(bindings, stack)["resource"]["aws_glue_trigger"].values()}
    assert triggers["acme-batch-start"]["start_on_creation"] is False
    assert triggers["acme-batch-step-3"]["predicate"]["conditions"] == [
        {"job_name": "b", "state": "SUCCEEDED", "logical_operator": "EQUALS"}]
    with pytest.raises(ValueError, match="Glue cron"):
        GlueWorkflow(new_stack(bindings), "wf", GlueWorkflowProps(name="x", job_names=("a",), schedule="0 3 * * *"))


def test_emr_cluster_alone(bindings):
    from modules.emr import EmrCluster, EmrClusterProps, EmrStep

    common = dict(name="acme-backfill", subnet_id="subnet-0123456789abcdef0", artifacts_bucket="acme-artifacts",
                  artifacts_bucket_arn=ARNS["artifacts"], kms_key_arn=KEY, account_id="123456789012",
                  region="sa-east-1", tags=TAGS)
    with pytest.raises(ValueError, match="at least one step"):
        EmrCluster(new_stack(bindings), "e", EmrClusterProps(**common, steps=()))
    step = EmrStep(name="s", args=("spark-submit", "s3://acme-artifacts/emr/x.py"))
    with pytest.raises(ValueError, match="EMR 7"):
        EmrCluster(new_stack(bindings), "e", EmrClusterProps(**common, steps=(step,), release_label="emr-6.15.0"))
    with pytest.raises(ValueError, match="action_on_failure"):
        EmrCluster(new_stack(bindings), "e", EmrClusterProps(
            **common, steps=(EmrStep(name="s", args=("x",), action_on_failure="RETRY"),)))
    stack = new_stack(bindings)
    EmrCluster(stack, "e", EmrClusterProps(**common, steps=(step,),
                                           in_transit_certificates_s3_uri="s3://acme-artifacts/certs/emr.zip"))
    doc = synth_json(bindings, stack)
    (sc,) = doc["resource"]["aws_emr_security_configuration"].values()
    enc = json.loads(sc["configuration"])["EncryptionConfiguration"]
    assert enc["EnableInTransitEncryption"] is True
    assert enc["InTransitEncryptionConfiguration"] == {"TLSCertificateConfiguration": {
        "CertificateProviderType": "PEM", "S3Object": "s3://acme-artifacts/certs/emr.zip"}}
    (cluster,) = doc["resource"]["aws_emr_cluster"].values()
    assert cluster["ec2_attributes"]["subnet_id"] == "subnet-0123456789abcdef0"
    assert cluster["step"][0]["hadoop_jar_step"][0]["jar"] == "command-runner.jar"


def test_athena_workgroup_alone(bindings):
    from modules.athena import AthenaWorkgroup, AthenaWorkgroupProps

    stack = new_stack(bindings)
    wg = AthenaWorkgroup(stack, "wg", AthenaWorkgroupProps(name="acme", results_bucket="acme-results", tags=TAGS))
    assert wg.output_location == "s3://acme-results/results/"
    (res,) = synth_json(bindings, stack)["resource"]["aws_athena_workgroup"].values()
    enc = res["configuration"]["result_configuration"]["encryption_configuration"]
    assert enc == {"encryption_option": "SSE_S3"}
    with pytest.raises(ValueError, match="10 MB"):
        AthenaWorkgroup(new_stack(bindings), "wg", AthenaWorkgroupProps(name="a", results_bucket="b",
                                                                        bytes_scanned_cutoff_per_query=1024))


def test_build_inputs_default_to_the_real_ones():
    import glue_jobs
    from compose.inputs import BuildInputs, resolve
    from emr_steps.steps import render_steps
    from environments import load_environment

    inputs = resolve(BuildInputs(lambda_zips={}, libs_zip=Path("x.zip"), tables=()), load_environment("local"))
    assert inputs.scripts == {k: ROOT / "glue_jobs" / f"{k}.py" for k in JOBS}
    assert inputs.emr_steps is render_steps
    assert tuple(job.name for job in glue_jobs.WORKFLOW) == JOBS
