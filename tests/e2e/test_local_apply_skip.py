"""``make deploy ENV=local`` skips Terraform when applying again would change nothing
(``local_runtime.stacks.unchanged_local_outputs``): the same synthesized stack, variables and state on the same
emulator instance, and the emulator still holding the state's resources, probed for real on a private emulator
(the resources made through its APIs, as an apply would have made them)."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import replace

import pytest

from local_runtime import stacks
from local_runtime.aws import client

pytestmark = pytest.mark.e2e


def _state(bucket: str, function: str, queue_url: str) -> dict:
    def resource(kind, name, attributes):
        return {"mode": "managed", "type": kind, "name": name, "instances": [{"attributes": attributes}]}

    return {"version": 4, "outputs": {"bronze_bucket": {"value": bucket, "type": "string"},
                                      "mapping": {"value": {"batch_size": 100}, "type": ["object", {}]}},
            "resources": [resource("aws_s3_bucket", "bronze", {"bucket": bucket}),
                          resource("aws_lambda_function", "ingest", {"function_name": function}),
                          resource("aws_sqs_queue", "failures", {"url": queue_url}),
                          resource("aws_iam_role", "not_probed", {"name": "r"}),
                          {"mode": "data", "type": "aws_s3_bucket", "name": "read", "instances": []}]}


@pytest.fixture()
def applied(emulator, tmp_path, monkeypatch):
    """A 'last apply': resources on the emulator, the state listing them, the stack folder, the record."""
    monkeypatch.setattr(stacks, "LOCAL_STATE", tmp_path / "state")
    monkeypatch.setattr(stacks, "LOCAL_STATE_FILE", tmp_path / "state" / "local.tfstate")
    s3, lam, sqs = (client(s, emulator.endpoint) for s in ("s3", "lambda", "sqs"))
    suffix = uuid.uuid4().hex[:8]  # the emulator is the module's: each test's resources of its own
    bucket, function = f"skip-bronze-{suffix}", f"skip-ingest-{suffix}"
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    lam.create_function(FunctionName=function, Runtime="python3.11", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.lambda_handler", Code={"ZipFile": buf.getvalue()})
    queue_url = sqs.create_queue(QueueName=f"skip-failures-{suffix}")["QueueUrl"]
    stacks.LOCAL_STATE.mkdir(parents=True)
    stacks.LOCAL_STATE_FILE.write_text(json.dumps(_state(bucket, function, queue_url)))
    stack = tmp_path / "lakeforge-local"
    (stack / "assets" / "code").mkdir(parents=True)
    (stack / "cdk.tf.json").write_text('{"resource": {}}')
    (stack / "assets" / "code" / "ingest.zip").write_bytes(b"zip")
    variables = {"aws_endpoint": emulator.endpoint, "kafka_bootstrap_servers": "127.0.0.1:9092"}
    stacks._applied_record().write_text(json.dumps(stacks.local_apply_fingerprint(stack, variables, emulator)))
    return stack, variables, s3, bucket


def test_nothing_changed_gives_the_states_outputs_without_terraform(applied, emulator):
    stack, variables, _, bucket = applied
    assert stacks.unchanged_local_outputs(stack, variables, emulator) == {
        "bronze_bucket": bucket, "mapping": {"batch_size": 100}}


def test_a_change_of_stack_asset_variables_state_or_emulator_means_apply(applied, emulator):
    stack, variables, _, _ = applied
    assert stacks.unchanged_local_outputs(stack, {**variables, "kafka_bootstrap_servers": "127.0.0.1:9093"},
                                          emulator) is None
    assert stacks.unchanged_local_outputs(stack, variables, replace(emulator, instance="another")) is None
    (stack / "assets" / "code" / "ingest.zip").write_bytes(b"new zip")
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is None
    (stack / "assets" / "code" / "ingest.zip").write_bytes(b"zip")
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is not None
    (stack / "cdk.tf.json").write_text('{"resource": {"x": {}}}')
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is None
    (stack / "cdk.tf.json").write_text('{"resource": {}}')
    stacks.LOCAL_STATE_FILE.write_text(stacks.LOCAL_STATE_FILE.read_text() + "\n")
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is None


def test_a_resource_the_emulator_lost_means_apply(applied, emulator, capsys):
    stack, variables, s3, bucket = applied
    assert stacks.missing_resources(json.loads(stacks.LOCAL_STATE_FILE.read_text()), emulator.endpoint) == []
    s3.delete_bucket(Bucket=bucket)
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is None
    assert "lost 1 resource(s) of the local state (e.g. aws_s3_bucket.bronze)" in capsys.readouterr().out


def test_no_record_means_apply(applied, emulator):
    stack, variables, _, _ = applied
    stacks._applied_record().unlink()
    assert stacks.unchanged_local_outputs(stack, variables, emulator) is None
