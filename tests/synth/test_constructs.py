"""Per-construct tests with cdktf.Testing: each construct alone, with its props, in a throwaway stack.

These need the AWS bindings, imported once per session (the ``bindings`` fixture of conftest.py reuses
the import done for the synthesized stacks when that ran first).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from modules.iam import Condition, PolicyError, Statement, find_violations, policy_document

from .conftest import make_batch_inputs, make_zip

TAGS = {"Project": "lakeforge", "Environment": "test", "Owner": "t", "CostCenter": "c", "ManagedBy": "terraform"}


def new_stack(testing, name: str = "test"):
    from cdktf import TerraformStack

    from cdktf_cdktf_provider_aws.provider import AwsProvider

    app = testing.app()
    stack = TerraformStack(app, name)
    AwsProvider(stack, "aws", region="sa-east-1")
    return stack


def synth_json(testing, stack) -> dict:
    return json.loads(testing.synth(stack))


# --------------------------------------------------------------------------------------------------
# iam helpers (no bindings needed)
# --------------------------------------------------------------------------------------------------
def test_policy_document_rejects_wildcards():
    with pytest.raises(PolicyError, match="action '\\*'"):
        policy_document([Statement(actions=("*",), resources=("arn:aws:s3:::b",))])
    with pytest.raises(PolicyError, match="wildcard actions"):
        policy_document([Statement(actions=("s3:*",), resources=("arn:aws:s3:::b",))])
    with pytest.raises(PolicyError, match="support resource-level scoping"):
        policy_document([Statement(actions=("s3:PutObject",), resources=("*",))])
    with pytest.raises(PolicyError, match="Principal"):
        policy_document([Statement(actions=("s3:GetObject",), resources=("arn:aws:s3:::b/*",),
                                   principals={"*": ()})], resource_policy=True)
    # Allowed: X-Ray actions have no resource type, and Deny statements may be broad.
    doc = json.loads(policy_document([
        Statement(sid="XRay", actions=("xray:PutTraceSegments",), resources=("*",)),
    ]))
    assert doc["Statement"][0]["Resource"] == "*"


def test_policy_document_shape():
    doc = json.loads(policy_document([Statement(
        sid="Read", actions=("s3:GetObject", "s3:ListBucket"), resources=("arn:aws:s3:::b", "arn:aws:s3:::b/*"),
        conditions=(Condition("Bool", "aws:SecureTransport", ("true",)),),
    )]))
    assert doc == {"Version": "2012-10-17", "Statement": [{
        "Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }]}


def test_find_violations():
    found = find_violations({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert any("action '*'" in f for f in found), found
    assert find_violations({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}) == []


# --------------------------------------------------------------------------------------------------
# constructs
# --------------------------------------------------------------------------------------------------
def test_data_lake_storage_with_kms(bindings):
    from modules.s3_lake import DataLakeStorage, DataLakeStorageProps, LifecycleRule

    stack = new_stack(bindings)
    lake = DataLakeStorage(stack, "lake", DataLakeStorageProps(
        name_prefix="acme-test", account_id="123456789012", kms_key_arn="arn:aws:kms:sa-east-1:123456789012:key/k",
        layers=("bronze",), lifecycle={"bronze": LifecycleRule(standard_ia_days=30, glacier_days=60)}, tags=TAGS,
    ))
    assert set(lake.bucket_names) == {"bronze", "access_logs"}
    out = bindings.synth(stack)
    assert bindings.to_have_resource_with_properties(out, "aws_s3_bucket", {"bucket": "acme-test-bronze",
                                                                            "tags": TAGS})
    assert bindings.to_have_resource_with_properties(
        out, "aws_s3_bucket_server_side_encryption_configuration",
        {"rule": [{"apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms", "kms_master_key_id": "arn:aws:kms:sa-east-1:123456789012:key/k"},
            "bucket_key_enabled": True}]})
    assert bindings.to_have_resource_with_properties(
        out, "aws_s3_bucket_server_side_encryption_configuration",
        {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]})
    doc = json.loads(out)
    rules = [r["rule"][0] for r in doc["resource"]["aws_s3_bucket_lifecycle_configuration"].values()
             if r["rule"][0]["id"] == "bronze-lifecycle"]
    assert rules[0]["transition"] == [{"days": 30, "storage_class": "STANDARD_IA"},
                                      {"days": 60, "storage_class": "GLACIER"}]
    assert all(not b.get("force_destroy") for b in doc["resource"]["aws_s3_bucket"].values())


def test_data_lake_storage_without_kms_falls_back_to_sse_s3(bindings):
    from modules.s3_lake import DataLakeStorage, DataLakeStorageProps

    stack = new_stack(bindings)
    DataLakeStorage(stack, "lake", DataLakeStorageProps(name_prefix="acme-test", account_id="123456789012",
                                                        layers=("gold",), access_logging=False))
    doc = synth_json(bindings, stack)
    sse = list(doc["resource"]["aws_s3_bucket_server_side_encryption_configuration"].values())
    assert [s["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] for s in sse] == ["AES256"]
    assert "aws_s3_bucket_logging" not in doc["resource"]


def test_data_lake_storage_checks_name_length(bindings):
    from modules.s3_lake import DataLakeStorage, DataLakeStorageProps

    stack = new_stack(bindings)
    with pytest.raises(ValueError, match="3-63 characters"):
        DataLakeStorage(stack, "lake", DataLakeStorageProps(name_prefix="a" * 50, account_id="123456789012"))
    # A token suffix (the account id at plan time) counts as 12 characters: 36 + 15 + 1 + 12 = 64.
    from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity

    account = DataAwsCallerIdentity(stack, "caller").account_id
    with pytest.raises(ValueError, match="3-63 characters"):
        DataLakeStorage(stack, "lake2", DataLakeStorageProps(name_prefix="a" * 36, account_id=account,
                                                             bucket_suffix=account))
    DataLakeStorage(stack, "lake3", DataLakeStorageProps(name_prefix="a" * 35, account_id=account,
                                                         bucket_suffix=account))


def test_create_false_creates_nothing(bindings):
    from modules.kinesis import KinesisStream, KinesisStreamProps
    from modules.kms import KmsKey, KmsKeyProps
    from modules.s3_lake import DataLakeStorage, DataLakeStorageProps

    stack = new_stack(bindings)
    key = KmsKey(stack, "kms", KmsKeyProps(alias="a", account_id="1", region="sa-east-1", create=False))
    lake = DataLakeStorage(stack, "lake", DataLakeStorageProps(name_prefix="abc", account_id="1", create=False))
    stream = KinesisStream(stack, "s", KinesisStreamProps(name="s", create=False))
    assert key.arn is None and lake.bucket_names == {} and stream.arn is None
    assert "resource" not in synth_json(bindings, stack)


def test_kms_key(bindings):
    from modules.kms import KmsKey, KmsKeyProps

    stack = new_stack(bindings)
    KmsKey(stack, "kms", KmsKeyProps(alias="acme-lake", account_id="123456789012", region="sa-east-1",
                                     deletion_window_days=7, via_services=("s3",), tags=TAGS))
    out = bindings.synth(stack)
    assert bindings.to_have_resource_with_properties(out, "aws_kms_key", {
        "enable_key_rotation": True, "deletion_window_in_days": 7, "tags": TAGS})
    assert bindings.to_have_resource_with_properties(out, "aws_kms_alias", {"name": "alias/acme-lake"})
    policy = json.loads(list(json.loads(out)["resource"]["aws_kms_key"].values())[0]["policy"])
    via = [s for s in policy["Statement"] if s["Sid"] == "AllowUseThroughAwsServices"][0]
    assert via["Condition"]["StringEquals"] == {"kms:CallerAccount": "123456789012",
                                               "kms:ViaService": "s3.sa-east-1.amazonaws.com"}


@pytest.mark.parametrize("mode, shards", [("ON_DEMAND", None), ("PROVISIONED", 3)])
def test_kinesis_stream_modes(bindings, mode, shards):
    from modules.kinesis import KinesisStream, KinesisStreamProps

    stack = new_stack(bindings)
    KinesisStream(stack, "s", KinesisStreamProps(name="acme", capacity_mode=mode, shard_count=3, tags=TAGS))
    (stream,) = synth_json(bindings, stack)["resource"]["aws_kinesis_stream"].values()
    assert stream["stream_mode_details"] == {"stream_mode": mode}
    assert stream.get("shard_count") == shards
    assert stream["encryption_type"] == "KMS" and stream["kms_key_id"] == "alias/aws/kinesis"


def test_python_function_and_event_source(bindings, tmp_path):
    from modules.kinesis_ingest import KinesisEventSource, KinesisEventSourceProps
    from modules.lambda_function import PythonFunction, PythonFunctionProps, source_code_hash

    zip_path = make_zip(tmp_path / "fn.zip")
    stack = new_stack(bindings)
    fn = PythonFunction(stack, "fn", PythonFunctionProps(
        function_name="acme-fn", zip_path=zip_path, architecture="x86_64", environment={"A_B": "1"},
        log_retention_days=14, tags=TAGS,
    ))
    KinesisEventSource(stack, "src", KinesisEventSourceProps(
        function_name=fn.arn, stream_arn="arn:aws:kinesis:sa-east-1:123456789012:stream/s",
        on_failure_destination_arn=fn.failure_queue_arn, role_name=fn.role_name, tags=TAGS))
    out = bindings.synth(stack)
    assert bindings.to_have_resource_with_properties(out, "aws_lambda_function", {
        "function_name": "acme-fn", "architectures": ["x86_64"], "runtime": "python3.12",
        "source_code_hash": source_code_hash(zip_path), "environment": {"variables": {"A_B": "1"}},
        "tracing_config": {"mode": "Active"}})
    assert bindings.to_have_resource_with_properties(out, "aws_cloudwatch_log_group", {
        "name": "/aws/lambda/acme-fn", "retention_in_days": 14})
    assert bindings.to_have_resource_with_properties(out, "aws_sqs_queue", {"sqs_managed_sse_enabled": True})
    assert bindings.to_have_resource_with_properties(out, "aws_lambda_event_source_mapping", {
        "bisect_batch_on_function_error": True, "function_response_types": ["ReportBatchItemFailures"],
        "starting_position": "TRIM_HORIZON"})
    doc = json.loads(out)
    (policy,) = [p for p in doc["resource"]["aws_iam_role_policy"].values() if p["name"] == "acme-fn-least-privilege"]
    sids = {s["Sid"] for s in json.loads(policy["policy"])["Statement"]}
    assert sids == {"WriteOwnLogs", "SendToFailureQueue", "XRayTraces"}  # no key: no KMS grant


def test_python_function_needs_the_zip(bindings, tmp_path):
    from modules.lambda_function import PythonFunction, PythonFunctionProps

    stack = new_stack(bindings)
    with pytest.raises(FileNotFoundError, match="build it before synth"):
        PythonFunction(stack, "fn", PythonFunctionProps(function_name="x", zip_path=Path(tmp_path / "nope.zip")))


def test_build_app_subset(bindings, tmp_path):
    from compose import build_app

    inputs = make_batch_inputs(tmp_path / "batch", make_zip(tmp_path / "i.zip"))
    app = build_app(["local"], tmp_path / "out", inputs=inputs)
    app.synth()
    assert (tmp_path / "out" / "stacks" / "lakeforge-local" / "cdk.tf.json").is_file()
    assert not (tmp_path / "out" / "stacks" / "lakeforge-dev").exists()


def test_selected_envs(monkeypatch):
    import main

    monkeypatch.setenv("LAKEFORGE_ENVS", "local, dev")
    assert main.selected_envs([]) == ["local", "dev"]
    assert main.selected_envs(["prod"]) == ["prod"]
    monkeypatch.delenv("LAKEFORGE_ENVS")
    assert main.selected_envs([]) == ["local", "dev", "prod"]
    with pytest.raises(SystemExit):
        main.selected_envs(["staging"])


def test_generated_secret_keeps_its_value_out_of_state_and_outputs(bindings):
    from modules.secrets_manager import GeneratedSecret, GeneratedSecretProps

    stack = new_stack(bindings)
    secret = GeneratedSecret(stack, "pseudonym_key", GeneratedSecretProps(
        name="acme/pseudonymization-key", kms_key_arn="arn:aws:kms:sa-east-1:123456789012:key/abc", version=3,
        recovery_window_days=7, tags=TAGS))
    out = synth_json(bindings, stack)
    [resource] = out["resource"]["aws_secretsmanager_secret"].values()
    assert (resource["kms_key_id"], resource["recovery_window_in_days"], resource["tags"]) == (
        "arn:aws:kms:sa-east-1:123456789012:key/abc", 7, TAGS)
    [version] = out["resource"]["aws_secretsmanager_secret_version"].values()
    [(name, generator)] = out["ephemeral"]["aws_secretsmanager_random_password"].items()
    assert generator == {"password_length": 64, "exclude_punctuation": True, "include_space": False}
    assert version["secret_string_wo"] == f"${{ephemeral.aws_secretsmanager_random_password.{name}.random_password}}"
    assert version["secret_string_wo_version"] == 3
    assert "secret_string" not in version and "output" not in out  # nothing that would store or show the value
    assert secret.arn and secret.name

    off = GeneratedSecret(new_stack(bindings, "off"), "k", GeneratedSecretProps(name="x", kms_key_arn="k",
                                                                                create=False))
    assert (off.secret, off.arn) == (None, None)
