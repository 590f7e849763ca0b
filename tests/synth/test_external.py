"""terraform validate, checkov and `python main.py` on the synthesized stacks.

The work runs in the background from the session fixture (see conftest.py); these tests collect it.
"""
from __future__ import annotations

import json

import pytest

from security.checkov_skips import FRAMEWORK, SKIPS_FILE, Skip, checkov_command, load_skips, parse_report

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
    assert "--skip-check" not in cmd  # every check runs; skips apply to the findings they name


def test_a_skip_must_name_the_resources_it_covers(tmp_path):
    bad = tmp_path / "skips.toml"
    bad.write_text('[[skip]]\nid = "CKV_AWS_144"\nreason = "a reason long enough to be a real reason here"\n')
    with pytest.raises(ValueError, match="name the resources"):
        load_skips(bad)


def test_a_skip_that_covers_no_finding_is_stale():
    skips = [Skip("CKV_AWS_300", "r", resources=("*.lake_*_lifecycle_*",)),
             Skip("CKV_AWS_144", "r", resources=("aws_s3_bucket.lake_*",))]
    report = {"check_type": "terraform_json", "results": {
        "passed_checks": [{"check_id": "CKV_AWS_300", "resource": "resource.lake_bronze_lifecycle_1"}],
        "failed_checks": [{"check_id": "CKV_AWS_144", "resource": "aws_s3_bucket.lake_bronze_1"}],
        "parsing_errors": []}}
    result = parse_report(json.dumps(report), "dev", skips)
    assert not result.failed and [s.id for s in result.stale_skips] == ["CKV_AWS_300"]
    assert not result.ok and "STALE SKIP CKV_AWS_300" in result.describe()


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
        "CKV_AWS_76",   # API Gateway stage access logging
        "CKV_AWS_309",  # API Gateway v2 routes have an authorization type
        "CKV_AWS_364",  # Lambda permissions to AWS services scoped by source ARN
    }
    assert must_run <= result.passed_ids, sorted(must_run - result.passed_ids)


@pytest.mark.parametrize("env", ENVS)
def test_every_checkov_skip_still_covers_a_finding(synth, env):
    """Each skip is tied to findings (check id + resource): one that covers none in a stack it applies to has
    outlived its reason (fixed, or checkov upgraded) and fails here; and no finding is covered by chance."""
    result = synth.background[f"checkov:{env}"].result(timeout=600)
    assert not result.stale_skips, "\n" + result.describe()
    skips = [s for s in load_skips() if s.applies_to(env)]
    for item in result.skipped_by_resource:
        assert len([s for s in skips if s.covers(item["id"], item["resource"])]) == 1, item
    covered = {(i["id"], i["resource"].split(".")[-1].rsplit("_", 1)[0]) for i in result.skipped_by_resource}
    assert covered == {
        ("CKV_AWS_145", "lake_access_logs"),
        *(("CKV_AWS_144", f"lake_{b}") for b in ("access_logs", "artifacts", "athena_results", "bronze", "gold",
                                               "quarantine", "silver")),
        *(("CKV_AWS_300", f"lake_{b}_lifecycle") for b in ("access_logs", "artifacts", "athena_results", "bronze",
                                                         "gold", "quarantine", "silver")),
        *((check, function) for check in ("CKV_AWS_117", "CKV_AWS_272")
          for function in ("ingest_function", "query_function",
                           *(("api_authorizer_function",) if synth.configs[env].api.authorization == "LAMBDA" else ()))),
        ("CKV2_AWS_57", "pseudonymization_key_secret"),
        *((("CKV2_AWS_57", "api_token_secret"),) if synth.configs[env].api.authorization == "LAMBDA" else ()),
        # The MSK ingest function runs in the VPC with its cluster (no CKV_AWS_117); locally (no cluster, no VPC)
        # it is outside one; code signing is skipped like the others'.
        *((("CKV_AWS_272", "ingest_msk_function"),) if synth.configs[env].services.msk
          or synth.configs[env].services.msk_ingest_lambda else ()),
        *((("CKV_AWS_117", "ingest_msk_function"),) if synth.configs[env].services.msk_ingest_lambda else ()),
        # The MSK topic-admin function likewise (in the cluster's VPC).
        *((("CKV_AWS_272", "kafka_topics_function"),) if synth.configs[env].services.msk else ()),
    }, sorted(covered)


def test_main_py_synthesizes(synth):
    proc = synth.background["main_py"].result(timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = synth.outdir.parent / "main-py-out" / "stacks" / "lakeforge-local" / "cdk.tf.json"
    assert f"synthesized {out}" in proc.stdout
    doc = json.loads(out.read_text())
    assert set(doc["output"]) >= {"bronze_bucket", "ingest_stream_name", "ingest_function_name", "api_url", "api_id"}
    assert not (synth.outdir.parent / "main-py-out" / "stacks" / "lakeforge-dev").exists()
