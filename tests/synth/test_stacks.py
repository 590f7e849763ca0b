"""Compliance of the synthesized stacks (parsed cdk.tf.json of local, dev and prod)."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from compose import OUTPUT_NAMES, expected_outputs
from compose.provider import LOCAL_ENDPOINT_SERVICES
from modules.iam import RESOURCELESS_ACTIONS, find_violations

ENVS = ("local", "dev", "prod")
CLOUD = ("dev", "prod")
BUCKET_KEYS = ("bronze", "silver", "gold", "quarantine", "artifacts", "athena_results", "access_logs")
DATA_BUCKETS = BUCKET_KEYS[:-1]


def ref(rtype: str, name: str, attr: str) -> str:
    return f"${{{rtype}.{name}.{attr}}}"


def bucket(synth, env: str, key: str) -> str:
    """Logical name of the S3 bucket for a bucket key."""
    name, _ = synth.one(env, "aws_s3_bucket", f"/lake/{key}")
    return name


def attached(synth, env: str, rtype: str, key: str) -> dict:
    """The sub-resource of type ``rtype`` attached to one bucket (by its ``bucket`` reference)."""
    target = ref("aws_s3_bucket", bucket(synth, env, key), "id")
    found = [r for r in synth.resources(env, rtype).values() if r.get("bucket") == target]
    assert len(found) == 1, f"{env}: {len(found)} {rtype} for bucket {key}"
    return found[0]


def kms_arn_ref(synth, env: str) -> str:
    name, _ = synth.one(env, "aws_kms_key", "/kms/key")
    return ref("aws_kms_key", name, "arn")


# --------------------------------------------------------------------------------------------------
# Stacks, outputs, providers, backends
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_stack_written_where_expected(synth, env):
    assert (synth.stack_dir(env) / "cdk.tf.json").is_file()
    assert synth.stacks[env].node.id == f"lakeforge-{env}"


@pytest.mark.parametrize("env", ENVS)
def test_outputs_have_stable_names_and_no_secrets(synth, env):
    outputs = synth.docs[env]["output"]
    cfg = synth.configs[env]
    assert set(outputs) == set(expected_outputs(cfg))
    assert set(outputs) <= set(OUTPUT_NAMES)
    assert outputs["region"]["value"] == cfg.region
    assert outputs["environment"]["value"] == env
    assert outputs["name_prefix"]["value"] == cfg.name_prefix
    for name, out in outputs.items():
        assert out.get("description"), name
        assert not out.get("sensitive"), name
        # the one variable an output may show: the local broker's address (per machine, not a secret)
        text = json.dumps(out["value"]).lower().replace("${var.kafka_bootstrap_servers}", "")
        assert not any(s in text for s in ("secret", "password", "access_key", "var.")), name
    assert outputs["bronze_bucket"]["value"] == ref("aws_s3_bucket", bucket(synth, env, "bronze"), "bucket")
    assert outputs["kms_key_arn"]["value"] == kms_arn_ref(synth, env)


def test_local_provider_points_every_service_at_the_emulator(synth):
    doc = synth.docs["local"]
    (provider,) = doc["provider"]["aws"]
    assert doc["variable"]["aws_endpoint"]["default"] == "http://127.0.0.1:4566"
    assert doc["variable"]["aws_endpoint"]["type"] == "string"
    assert provider["region"] == "us-east-1"
    assert provider["max_retries"] == 3  # bounded: a dropped keep-alive connection is retried, a 500 fails fast
    assert provider["access_key"] == provider["secret_key"] == "test"
    assert provider["skip_credentials_validation"] is True
    assert provider["skip_metadata_api_check"] == "true"
    assert provider["skip_requesting_account_id"] is False
    assert provider["s3_use_path_style"] is True
    assert provider["default_tags"][0]["tags"] == synth.configs["local"].tags
    (endpoints,) = provider["endpoints"]
    required = {"s3", "sts", "iam", "kms", "kinesis", "lambda", "logs", "cloudwatch", "sqs", "sns", "glue",
                "athena", "apigateway", "apigatewayv2", "events", "secretsmanager", "ssm", "ec2", "firehose",
                "redshift", "redshiftdata", "emr", "emrserverless", "kafka", "quicksight", "dynamodb", "sfn",
                "cloudformation"}
    assert required <= set(endpoints), required - set(endpoints)
    assert len(endpoints) == len(LOCAL_ENDPOINT_SERVICES)
    assert set(endpoints.values()) == {"${var.aws_endpoint}"}


def test_local_backend_is_a_state_file_under_dot_state(synth):
    backend = synth.docs["local"]["terraform"]["backend"]
    assert set(backend) == {"local"}
    assert backend["local"]["path"] == "../../../.state/terraform/local.tfstate"


@pytest.mark.parametrize("env", CLOUD)
def test_cloud_provider_is_real_aws(synth, env):
    doc = synth.docs[env]
    (provider,) = doc["provider"]["aws"]
    assert provider["region"] == "sa-east-1"
    for key in ("endpoints", "access_key", "secret_key", "skip_credentials_validation", "s3_use_path_style"):
        assert key not in provider, key
    assert provider["default_tags"][0]["tags"] == synth.configs[env].tags
    assert "variable" not in doc or "aws_endpoint" not in doc.get("variable", {})


@pytest.mark.parametrize("env", CLOUD)
def test_cloud_backend_is_locked_encrypted_s3(synth, env):
    backend = synth.docs[env]["terraform"]["backend"]
    assert set(backend) == {"s3"}
    s3 = backend["s3"]
    b = synth.configs[env].backend
    assert (s3["bucket"], s3["key"], s3["region"]) == (b.bucket, b.key, b.region)
    assert s3["encrypt"] is True
    assert s3.get("use_lockfile") is True or s3.get("dynamodb_table")


@pytest.mark.parametrize("env", ENVS)
def test_prevent_destroy_exactly_on_prods_buckets_key_and_stream(synth, env):
    """prod: Terraform refuses any plan deleting or replacing the lake's buckets, the key, the stream or the
    pseudonymization key's secret (losing it would orphan every pseudonym); nothing
    else carries the flag, and local/dev carry it nowhere (their stacks can be destroyed)."""
    protected = {(rtype, name) for rtype, items in synth.docs[env]["resource"].items()
                 for name, res in items.items() if (res.get("lifecycle") or {}).get("prevent_destroy")}
    expected = set()
    if env == "prod":
        expected = {("aws_s3_bucket", bucket(synth, env, key)) for key in BUCKET_KEYS}
        expected.add(("aws_kms_key", synth.one(env, "aws_kms_key", "/kms/key")[0]))
        expected.add(("aws_kinesis_stream", synth.one(env, "aws_kinesis_stream", "/ingest_stream/stream")[0]))
        expected.add(("aws_secretsmanager_secret",
                      synth.one(env, "aws_secretsmanager_secret", "/pseudonymization_key/secret")[0]))
        assert len(expected) == len(BUCKET_KEYS) + 3
    assert protected == expected
    assert synth.configs[env].prevent_destroy is (env == "prod")


# --------------------------------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_bucket_names_and_force_destroy(synth, env):
    cfg = synth.configs[env]
    buckets = synth.resources(env, "aws_s3_bucket")
    assert len(buckets) == len(BUCKET_KEYS)
    for key in BUCKET_KEYS:
        b = synth.resources(env, "aws_s3_bucket")[bucket(synth, env, key)]
        expected = f"{cfg.name_prefix}-{key.replace('_', '-')}"
        if cfg.account.append_account_id:
            assert b["bucket"].startswith(expected + "-${data.aws_caller_identity."), b["bucket"]
        else:
            assert b["bucket"] == expected
        if env == "local":
            assert b["force_destroy"] is True
        else:
            assert not b.get("force_destroy"), f"{env}: force_destroy on {key}"


@pytest.mark.parametrize("env", ENVS)
def test_data_buckets_use_sse_kms_with_the_lake_key(synth, env):
    for key in DATA_BUCKETS:
        sse = attached(synth, env, "aws_s3_bucket_server_side_encryption_configuration", key)
        (rule,) = sse["rule"]  # not `[{}]`: the nested-dict pitfall would drop every key here
        by_default = rule["apply_server_side_encryption_by_default"]
        assert by_default["sse_algorithm"] == "aws:kms", key
        assert by_default["kms_master_key_id"] == kms_arn_ref(synth, env), key
        assert rule["bucket_key_enabled"] is True, key


@pytest.mark.parametrize("env", ENVS)
def test_access_logs_bucket_uses_sse_s3(synth, env):
    sse = attached(synth, env, "aws_s3_bucket_server_side_encryption_configuration", "access_logs")
    (rule,) = sse["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}


@pytest.mark.parametrize("env", ENVS)
def test_versioning_public_access_block_and_ownership(synth, env):
    for key in BUCKET_KEYS:
        v = attached(synth, env, "aws_s3_bucket_versioning", key)
        assert v["versioning_configuration"]["status"] == "Enabled", key
        pab = attached(synth, env, "aws_s3_bucket_public_access_block", key)
        for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
            assert pab[flag] is True, (key, flag)
        own = attached(synth, env, "aws_s3_bucket_ownership_controls", key)
        assert own["rule"]["object_ownership"] == "BucketOwnerEnforced", key
        notif = attached(synth, env, "aws_s3_bucket_notification", key)
        assert notif["eventbridge"] is True, key


@pytest.mark.parametrize("env", ENVS)
def test_every_bucket_policy_denies_insecure_transport(synth, env):
    for key in BUCKET_KEYS:
        name = bucket(synth, env, key)
        policy = json.loads(attached(synth, env, "aws_s3_bucket_policy", key)["policy"])
        deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
        assert len(deny) == 1, key
        st = deny[0]
        assert st["Principal"] == "*"
        assert st["Action"] == "s3:*"
        assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        arn = ref("aws_s3_bucket", name, "arn")
        assert sorted(st["Resource"]) == sorted([arn, f"{arn}/*"])


@pytest.mark.parametrize("env", ENVS)
def test_access_log_delivery_policy_is_scoped(synth, env):
    policy = json.loads(attached(synth, env, "aws_s3_bucket_policy", "access_logs")["policy"])
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    sources = allow["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sorted(sources) == sorted(ref("aws_s3_bucket", bucket(synth, env, k), "arn") for k in DATA_BUCKETS)
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"].startswith("${data.aws_caller_identity.")


@pytest.mark.parametrize("env", ENVS)
def test_server_access_logging(synth, env):
    logs_id = ref("aws_s3_bucket", bucket(synth, env, "access_logs"), "id")
    logging = synth.resources(env, "aws_s3_bucket_logging")
    assert len(logging) == len(DATA_BUCKETS)  # the log bucket does not log to itself
    prefixes = set()
    for key in DATA_BUCKETS:
        cfg = attached(synth, env, "aws_s3_bucket_logging", key)
        assert cfg["target_bucket"] == logs_id
        prefixes.add(cfg["target_prefix"])
    assert prefixes == {f"{k.replace('_', '-')}/" for k in DATA_BUCKETS}


@pytest.mark.parametrize("env", ENVS)
def test_lifecycle_rules_follow_the_config(synth, env):
    cfg = synth.configs[env]
    for key in BUCKET_KEYS:
        lc = attached(synth, env, "aws_s3_bucket_lifecycle_configuration", key)
        want = getattr(cfg.lifecycle, key)
        (rule,) = lc["rule"]
        assert rule["status"] == "Enabled" and rule["id"]
        assert rule["filter"] == [{}], f"{key}: rule must apply to every object"
        assert rule["abort_incomplete_multipart_upload"] == [
            {"days_after_initiation": want.abort_incomplete_multipart_days}]
        assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": want.noncurrent_expiration_days}]
        transitions = {t["storage_class"]: t["days"] for t in rule.get("transition", [])}
        expected = {k: v for k, v in (("STANDARD_IA", want.standard_ia_days), ("GLACIER", want.glacier_days)) if v}
        assert transitions == expected, key
        if want.expiration_days:
            assert rule["expiration"] == [{"days": want.expiration_days}]
        else:
            assert "expiration" not in rule
        assert lc["transition_default_minimum_object_size"] == "all_storage_classes_128K"
    bronze = attached(synth, env, "aws_s3_bucket_lifecycle_configuration", "bronze")["rule"][0]
    assert {t["storage_class"] for t in bronze["transition"]} == {"STANDARD_IA", "GLACIER"}
    athena = attached(synth, env, "aws_s3_bucket_lifecycle_configuration", "athena_results")["rule"][0]
    assert athena["expiration"][0]["days"] == cfg.lifecycle.athena_results.expiration_days


# --------------------------------------------------------------------------------------------------
# KMS, Kinesis
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_kms_key(synth, env):
    cfg = synth.configs[env]
    name, key = synth.one(env, "aws_kms_key", "/kms/key")
    assert key["enable_key_rotation"] is True
    assert key["rotation_period_in_days"] == cfg.kms.rotation_period_days
    assert key["deletion_window_in_days"] == cfg.kms.deletion_window_days
    _, alias = synth.one(env, "aws_kms_alias", "/kms/alias")
    assert alias["name"] == f"alias/{cfg.name_prefix}-lake"
    assert alias["target_key_id"] == ref("aws_kms_key", name, "key_id")
    policy = json.loads(key["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    for st in policy["Statement"]:
        assert st["Principal"] != "*" and "*" not in json.dumps(st["Principal"])
        assert st["Action"] != "*" and "kms:*" not in st["Action"]
    assert by_sid["KeyAdministration"]["Principal"]["AWS"].endswith(":root")
    # kms:CreateGrant only for AWS resources (an EBS volume of an EMR node), in one statement.
    granting = [st for st in policy["Statement"] if "kms:CreateGrant" in st["Action"]]
    assert [st["Sid"] for st in granting] == ["AllowGrantsForAwsResources"]
    assert granting[0]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    logs = by_sid["AllowCloudWatchLogs"]
    assert logs["Principal"] == {"Service": f"logs.{cfg.region}.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    via = by_sid["AllowUseThroughAwsServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    services = (["s3", "kinesis", "lambda", "sqs", "glue", "secretsmanager"] + (["ec2"] if cfg.services.emr else [])
                + (["redshift", "redshift-serverless"] if cfg.services.redshift else [])
                + (["kafka"] if cfg.services.msk else []))
    assert sorted(via) == sorted(f"{s}.{cfg.region}.amazonaws.com" for s in services)


@pytest.mark.parametrize("env", ENVS)
def test_kinesis_stream_is_kms_encrypted(synth, env):
    cfg = synth.configs[env]
    _, stream = synth.one(env, "aws_kinesis_stream", "/ingest_stream/stream")
    assert stream["name"] == f"{cfg.name_prefix}-ingest"
    assert stream["encryption_type"] == "KMS"
    assert stream["kms_key_id"] == kms_arn_ref(synth, env)
    assert stream["stream_mode_details"] == {"stream_mode": cfg.kinesis.capacity_mode}
    assert stream["retention_period"] == cfg.kinesis.retention_hours
    if cfg.kinesis.capacity_mode == "PROVISIONED":
        assert stream["shard_count"] == cfg.kinesis.shard_count
    else:
        assert "shard_count" not in stream
    assert stream.get("shard_level_metrics", []) == list(cfg.kinesis.shard_level_metrics)


# --------------------------------------------------------------------------------------------------
# Lambda, logs, SQS, event source mapping
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_ingest_function(synth, env):
    cfg = synth.configs[env]
    lam = cfg.lambda_
    _, fn = synth.one(env, "aws_lambda_function", "/ingest_function/function")
    assert fn["function_name"] == f"{cfg.name_prefix}-ingest"
    assert fn["runtime"] == "python3.12"
    assert fn["handler"] == "app.lambda_handler"
    assert fn["architectures"] == [lam.architecture]
    assert fn["memory_size"] == lam.memory_mb
    assert fn["timeout"] == lam.timeout_seconds
    assert fn["reserved_concurrent_executions"] == lam.reserved_concurrency
    assert fn["kms_key_arn"] == kms_arn_ref(synth, env)
    assert fn["tracing_config"] == {"mode": "Active"}
    queue_name, _ = synth.one(env, "aws_sqs_queue", "/ingest_function/failure_queue")
    assert fn["dead_letter_config"] == {"target_arn": ref("aws_sqs_queue", queue_name, "arn")}
    variables = fn["environment"]["variables"]
    assert variables == {
        "BRONZE_BUCKET": ref("aws_s3_bucket", bucket(synth, env, "bronze"), "bucket"),
        "QUARANTINE_BUCKET": ref("aws_s3_bucket", bucket(synth, env, "quarantine"), "bucket"),
        "POWERTOOLS_SERVICE_NAME": f"lakeforge-{env}-ingest",
        "POWERTOOLS_METRICS_NAMESPACE": "Lakeforge",
        "LOG_LEVEL": lam.log_level,
    }
    # The package is a relative asset inside the stack folder and its hash is base64(sha256(bytes)).
    assert not fn["filename"].startswith("/")
    package = synth.stack_dir(env) / fn["filename"]
    assert package.read_bytes() == synth.zip_path.read_bytes()
    assert fn["source_code_hash"] == base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
    log_group_name, _ = synth.one(env, "aws_cloudwatch_log_group", "/ingest_function/log_group")
    assert f"aws_cloudwatch_log_group.{log_group_name}" in fn["depends_on"]


@pytest.mark.parametrize("env", ENVS)
def test_log_group_retention_and_encryption(synth, env):
    cfg = synth.configs[env]
    _, lg = synth.one(env, "aws_cloudwatch_log_group", "/ingest_function/log_group")
    assert lg["name"] == f"/aws/lambda/{cfg.name_prefix}-ingest"
    assert lg["retention_in_days"] == cfg.log_retention_days
    assert lg["kms_key_id"] == kms_arn_ref(synth, env)


@pytest.mark.parametrize("env", ENVS)
def test_failure_queue_and_async_destination(synth, env):
    queue_name, queue = synth.one(env, "aws_sqs_queue", "/ingest_function/failure_queue")
    assert queue["kms_master_key_id"] == kms_arn_ref(synth, env)
    assert queue["message_retention_seconds"] == 1_209_600
    _, qp = synth.one(env, "aws_sqs_queue_policy", "/ingest_function/failure_queue_policy")
    (deny,) = json.loads(qp["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    _, cfg = synth.one(env, "aws_lambda_function_event_invoke_config", "/ingest_function/async_config")
    assert cfg["destination_config"]["on_failure"]["destination"] == ref("aws_sqs_queue", queue_name, "arn")


@pytest.mark.parametrize("env", ENVS)
def test_event_source_mapping(synth, env):
    lam = synth.configs[env].lambda_
    _, esm = synth.one(env, "aws_lambda_event_source_mapping", "/ingest_source/mapping")
    stream_name, _ = synth.one(env, "aws_kinesis_stream", "/ingest_stream/stream")
    fn_name, _ = synth.one(env, "aws_lambda_function", "/ingest_function/function")
    queue_name, _ = synth.one(env, "aws_sqs_queue", "/ingest_function/failure_queue")
    assert esm["event_source_arn"] == ref("aws_kinesis_stream", stream_name, "arn")
    assert esm["function_name"] == ref("aws_lambda_function", fn_name, "arn")
    assert esm["starting_position"] == "TRIM_HORIZON"
    assert esm["bisect_batch_on_function_error"] is True
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert esm["destination_config"] == {"on_failure": {"destination_arn": ref("aws_sqs_queue", queue_name, "arn")}}
    assert esm["batch_size"] == lam.batch_size
    assert esm["maximum_batching_window_in_seconds"] == lam.batching_window_seconds
    assert esm["maximum_retry_attempts"] == lam.max_retry_attempts
    assert esm["maximum_record_age_in_seconds"] == lam.max_record_age_seconds
    assert esm["parallelization_factor"] == lam.parallelization_factor
    grant_name, _ = synth.one(env, "aws_iam_role_policy", "/ingest_source/read_grant")
    assert esm["depends_on"] == [f"aws_iam_role_policy.{grant_name}"]


# --------------------------------------------------------------------------------------------------
# IAM and tags, over every resource
# --------------------------------------------------------------------------------------------------
def _policies(doc: dict):
    """Every policy document in a stack: (resource address, attribute, parsed policy)."""
    for rtype, items in doc.get("resource", {}).items():
        for name, res in items.items():
            for attr in ("policy", "assume_role_policy"):
                if isinstance(res.get(attr), str):
                    yield f"{rtype}.{name}", attr, json.loads(res[attr])


@pytest.mark.parametrize("env", ENVS)
def test_no_statement_allows_everything(synth, env):
    policies = list(_policies(synth.docs[env]))
    assert len(policies) >= 10
    for address, attr, policy in policies:
        assert find_violations(policy) == [], f"{address}.{attr}"


@pytest.mark.parametrize("env", ENVS)
def test_identity_policies_are_scoped_to_arns(synth, env):
    for address, _, policy in _policies(synth.docs[env]):
        if not address.startswith("aws_iam_role_policy."):
            continue
        for st in policy["Statement"]:
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
            assert not any(a.endswith("*") for a in actions), (address, st)
            if "*" in resources:
                assert set(actions) <= RESOURCELESS_ACTIONS, (address, st)


@pytest.mark.parametrize("env", ENVS)
def test_ingest_role_grants(synth, env):
    from data_contracts import layout

    _, rp = synth.one(env, "aws_iam_role_policy", "/ingest_function/role_policy")
    by_sid = {s["Sid"]: s for s in json.loads(rp["policy"])["Statement"]}
    assert set(by_sid) == {"WriteOwnLogs", "SendToFailureQueue", "UseLakeKey", "XRayTraces",
                           "PutStreamObjects", "ListStreamBronzeObjects", "ListStreamQuarantineObjects"}
    bronze = ref("aws_s3_bucket", bucket(synth, env, "bronze"), "arn")
    quarantine = ref("aws_s3_bucket", bucket(synth, env, "quarantine"), "arn")
    # Only the stream's own objects, never a delete (tests/synth/test_iam_policy_sim.py simulates the calls).
    assert by_sid["PutStreamObjects"]["Action"] == "s3:PutObject"
    assert sorted(by_sid["PutStreamObjects"]["Resource"]) == sorted([
        f"{bronze}/{layout.STREAM_BRONZE_KEY_GLOB}", f"{quarantine}/{layout.STREAM_QUARANTINE_KEY_GLOB}"])
    for sid, arn, glob in (("ListStreamBronzeObjects", bronze, layout.STREAM_BRONZE_KEY_GLOB),
                           ("ListStreamQuarantineObjects", quarantine, layout.STREAM_QUARANTINE_KEY_GLOB)):
        assert by_sid[sid]["Action"] == "s3:ListBucket" and by_sid[sid]["Resource"] == arn
        assert by_sid[sid]["Condition"] == {"StringLike": {"s3:prefix": glob}}
    assert "s3:DeleteObject" not in rp["policy"]
    assert by_sid["UseLakeKey"]["Resource"] == kms_arn_ref(synth, env)
    assert sorted(by_sid["UseLakeKey"]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert sorted(by_sid["XRayTraces"]["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    logs = by_sid["WriteOwnLogs"]["Resource"]
    assert all(r.startswith("${aws_cloudwatch_log_group.") for r in logs)
    _, grant = synth.one(env, "aws_iam_role_policy", "/ingest_source/read_grant")
    (read,) = json.loads(grant["policy"])["Statement"]
    stream_name, _ = synth.one(env, "aws_kinesis_stream", "/ingest_stream/stream")
    assert read["Resource"] == ref("aws_kinesis_stream", stream_name, "arn")
    assert "kinesis:GetRecords" in read["Action"]


@pytest.mark.parametrize("env", ENVS)
def test_every_taggable_resource_is_tagged(synth, env):
    from cdktf import TerraformResource

    tags = synth.configs[env].tags
    taggable = []
    for node in synth.stacks[env].node.find_all():
        if isinstance(node, TerraformResource) and hasattr(type(node), "tags_input"):
            taggable.append(node)
    types = {n.terraform_resource_type for n in taggable}
    assert {"aws_s3_bucket", "aws_kms_key", "aws_kinesis_stream", "aws_lambda_function", "aws_iam_role",
            "aws_cloudwatch_log_group", "aws_sqs_queue", "aws_lambda_event_source_mapping"} <= types
    resources = synth.docs[env]["resource"]
    for node in taggable:
        if node.terraform_resource_type.startswith("data"):
            continue
        rtype = node.terraform_resource_type
        matches = [r for r in resources[rtype].values() if r["//"]["metadata"]["path"] == node.node.path]
        assert len(matches) == 1, node.node.path
        # Every configured tag; a few resources add their own (Name, the EMR managed-policy tag).
        assert tags.items() <= (matches[0].get("tags") or {}).items(), f"{env}: {rtype} {node.node.path} is not tagged"
