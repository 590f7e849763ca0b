"""terraform validate, checkov and `python main.py` on the synthesized stacks.

The work runs in the background from the session fixture (see conftest.py); these tests collect it.
"""
from __future__ import annotations

import fnmatch
import json

import pytest

from security.checkov_skips import FRAMEWORK, SKIPS_FILE, checkov_command, load_skips

ENVS = ("local", "dev", "prod")


@pytest.mark.parametrize("env", ENVS)
def test_terraform_validate(synth, env):
    result = synth.background[f"validate:{env}"].result(timeout=600)
    problems = [f"{d['severity']}: {d['summary']}: {d.get('detail', '')}" for d in result.get("diagnostics", [])]
    assert result.get("valid") is True, f"{env} ({result['stage']}): {problems or result.get('output')}"
    assert result.get("warning_count", 0) == 0, problems


def test_every_checkov_skip_has_a_reason():
    skips = load_skips()
    assert skips, f"{SKIPS_FILE} is empty"
    for skip in skips:
        assert skip.reason.strip(), skip.id
        assert len(skip.reason) > 40, f"{skip.id}: give a real reason"
    ids = [(s.id, s.environments, s.resources) for s in skips]
    assert len(ids) == len(set(ids)), "duplicate skips"


def test_checkov_command_uses_the_cdktf_json_framework(tmp_path):
    cmd = checkov_command(tmp_path, "dev", load_skips())
    assert cmd[cmd.index("--framework") + 1] == FRAMEWORK == "terraform_json"
    skipped = cmd[cmd.index("--skip-check") + 1].split(",")
    assert "CKV_AWS_145" not in skipped  # resource-scoped: still runs on every other bucket


@pytest.mark.parametrize("env", ENVS)
def test_checkov_passes(synth, env):
    result = synth.background[f"checkov:{env}"].result(timeout=600)
    assert result.ok, "\n" + result.describe()
    # The scan really covered the stack (an unparsed cdk.tf.json reports 0 checks, not failures).
    assert result.passed >= 100, result.describe()
    must_run = {
        "CKV_AWS_7",    # KMS rotation
        "CKV_AWS_19",   # S3 encryption at rest
        "CKV_AWS_21",   # S3 versioning
        "CKV2_AWS_6",   # S3 public access block
        "CKV_AWS_18",   # S3 access logging
        "CKV2_AWS_61",  # S3 lifecycle
        "CKV_AWS_43",   # Kinesis encryption
        "CKV_AWS_185",  # Kinesis CMK
        "CKV_AWS_50",   # Lambda X-Ray
        "CKV_AWS_116",  # Lambda DLQ
        "CKV_AWS_173",  # Lambda env encryption
        "CKV_AWS_158",  # log group KMS
        "CKV_AWS_338",  # log retention >= 1 year
        "CKV_AWS_27",   # SQS encryption
    }
    assert must_run <= result.passed_ids, sorted(must_run - result.passed_ids)
    # Resource-scoped skips matched only what they name.
    scoped = [s for s in load_skips() if s.resources]
    for item in result.skipped_by_resource:
        assert any(s.id == item["id"] and any(fnmatch.fnmatch(item["resource"], p) for p in s.resources)
                   for s in scoped), item


def test_main_py_synthesizes(synth):
    proc = synth.background["main_py"].result(timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = synth.outdir.parent / "main-py-out" / "stacks" / "lakeforge-local" / "cdk.tf.json"
    assert f"synthesized {out}" in proc.stdout
    doc = json.loads(out.read_text())
    assert set(doc["output"]) >= {"bronze_bucket", "ingest_stream_name", "ingest_function_name"}
    assert not (synth.outdir.parent / "main-py-out" / "stacks" / "lakeforge-dev").exists()
