"""The EMR step list (data + rendering), the export writer and the backfill's pure-Python helpers."""
from __future__ import annotations

import csv
import json
import re
import uuid
from pathlib import Path

import pytest

from emr_steps.steps import BACKFILL_ENTITIES, BACKFILL_SCRIPT, STEP_TEMPLATES, render_steps, spark_submit_args
from sample_data import export_rows, generate, write_export

ROOT = Path(__file__).resolve().parents[2]


def test_templates_are_data_with_placeholders():
    assert STEP_TEMPLATES[0]["script"] == "emr_steps/backfill_erp.py"
    assert (ROOT / BACKFILL_SCRIPT).is_file()
    text = json.dumps(STEP_TEMPLATES)
    assert "{bronze_bucket}" in text and "{artifacts_bucket}" in text


def test_default_steps_one_per_erp_entity():
    steps = render_steps("lf-bronze", "lf-artifacts")
    assert [s["name"] for s in steps] == [f"backfill-erp-{e}" for e in BACKFILL_ENTITIES]
    for step, entity in zip(steps, BACKFILL_ENTITIES):
        assert not re.search(r"\{[a-z_]+\}", json.dumps(step))
        assert step["script"] == BACKFILL_SCRIPT
        assert step["script_uri"] == "s3://lf-artifacts/code/emr_steps/backfill_erp.py"
        assert step["py_files"] == "s3://lf-artifacts/code/lakeforge_jobs.zip"
        assert step["action_on_failure"] == "CONTINUE"
        args = step["args"]
        assert args[args.index("--input") + 1] == f"s3://lf-bronze/landing/erp/{entity}/"
        assert args[args.index("--entity") + 1] == entity
        assert args[args.index("--bronze_path") + 1] == "s3://lf-bronze/"
        assert step["hadoop_jar_step"] == {"jar": "command-runner.jar", "args": spark_submit_args(step)}


def test_steps_per_export():
    exports = [{"entity": "policy", "file": "policy_2024-06-01.csv"},
               {"entity": "claim", "file": "s3://elsewhere/claims.jsonl", "format": "jsonl",
                "export_id": "claims-full", "export_time": "2024-06-01T03:00:00Z"}]
    first, second = render_steps("b", "a", exports)
    assert first["name"] == "backfill-erp-policy-policy_2024-06-01"
    assert first["args"][:2] == ["--input", "s3://b/landing/erp/policy/policy_2024-06-01.csv"]
    assert second["args"][1] == "s3://elsewhere/claims.jsonl"
    assert second["args"][-4:] == ["--export_id", "claims-full", "--export_time", "2024-06-01T03:00:00Z"]
    with pytest.raises(ValueError):
        render_steps("b", "a", [{"entity": "market_statistics", "file": "x.csv"}])


def test_spark_submit_args():
    step = render_steps("b", "a")[0]
    argv = spark_submit_args(step)
    assert argv[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert "spark.sql.session.timeZone=UTC" in argv
    assert argv[argv.index("--py-files") + 1] == "s3://a/code/lakeforge_jobs.zip"
    assert argv[argv.index("s3://a/code/emr_steps/backfill_erp.py") + 1:] == step["args"]
    local = spark_submit_args(step, script="emr_steps/backfill_erp.py", py_files="", deploy_mode="client")
    assert "--py-files" not in local and "emr_steps/backfill_erp.py" in local and "client" in local


def test_write_export_snapshot(tmp_path):
    records = generate(400, seed=11, bad_share=0.1)
    policies = [json.loads(r.payload) for r in records if r.is_valid and r.entity == "policy"]
    latest = {}
    for env in policies:
        latest[env["data"]["policy_id"]] = env["data"]
    n = write_export(records, tmp_path / "p.csv", "csv", entity="policy")
    assert n == len(latest)
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["policy_id"] for r in rows] == sorted(latest)
    assert rows[0]["status"] == latest[rows[0]["policy_id"]]["status"]
    n = write_export(records, tmp_path / "c.jsonl", "jsonl", entity="customer")
    lines = (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n and all(json.loads(x)["customer_id"].startswith("CUS-") for x in lines)
    deleted = {json.loads(r.payload)["data"]["customer_id"] for r in records
               if r.is_valid and r.entity == "customer" and json.loads(r.payload)["op"] == "delete"}
    assert not deleted & {json.loads(x)["customer_id"] for x in lines}
    history = export_rows(records, "policy", snapshot=False)
    assert len(history) == len(policies)


def test_backfill_identities():
    from data_contracts.layout import backfill_object_name as object_name
    from lakehouse.backfill import BACKFILL_NAMESPACE, event_id, export_id_from_path, export_time_from_path
    assert export_id_from_path("s3://b/landing/erp/policy/policy_2024-06-01.csv") == "policy_2024-06-01"
    assert export_id_from_path("s3://b/landing/erp/policy/apólices (1).jsonl") == "ap-lices-1"
    assert export_time_from_path("policy_2024-06-01.csv") == "2024-06-01T00:00:00Z"
    assert export_time_from_path("claims_20240601T101500.jsonl") == "2024-06-01T10:15:00Z"
    assert export_time_from_path("claims.jsonl") is None
    assert event_id("x", 7) == str(uuid.uuid5(BACKFILL_NAMESPACE, "x:7"))
    assert uuid.UUID(event_id("x", 7)).version == 5
    assert object_name("x", 3) == "backfill-x-00003.jsonl"
