"""The Glue jobs' real S3 calls, recorded while they run on local Spark against the emulator, against the roles
the local stack gives them (``make synth``): a call the role's policy refuses is a missing grant AWS would
hit and the emulator never does (it does not enforce IAM).

Bronze comes from the real ingest code; the three jobs of the workflow run as the local Glue runner runs them
(``local_runtime.batch``: the synthesized default arguments, in one warm driver, ``JobHost``), s3a (the Spark
jobs) and boto3 (the warehouse load, into a throw-away PostgreSQL given as the run's arguments) going through
the TLS front and a recording front (tests/e2e/s3_recorder.py) to a private emulator. bronze->silver runs a
second time with the same run id after its manifest is lost (the retry of a run that died before its manifest
commit), which is when it overwrites its quarantine objects.
"""
from __future__ import annotations

import json
import os

import pytest

import glue_jobs
from local_runtime.paths import stack_dir
from security.policy_sim import Request, StackResolver, evaluate
from tests.e2e.s3_recorder import S3Recorder
from tests.synth import iam_calls

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def local_stack():
    path = stack_dir("local") / "cdk.tf.json"
    if not path.exists():
        pytest.fail(f"{path} is not synthesized: run `make synth` (make test does it)")
    r = StackResolver(json.loads(path.read_text()))
    names = {res["//"]["metadata"]["path"]: name for name, res in r.doc["resource"]["aws_iam_role"].items()}
    policies = r.role_policies()
    by_role = {"/" + path.split("/", 1)[1]: policies.get(name, []) for path, name in names.items()}
    return r, by_role


def _with_end_before_start(value):
    """The record with its policy's ``end_date`` set to its ``start_date`` (fails a silver rule)."""
    if isinstance(value, dict):
        if "end_date" in value and "start_date" in value:
            return {**value, "end_date": value["start_date"]}
        return {k: _with_end_before_start(v) for k, v in value.items()}
    return value


def _add_rule_failure(s3, bronze: str) -> None:
    """A bronze object holding a policy that passes its contract but fails rule_end_date_after_start_date."""
    from data_contracts import layout

    prefix = layout.entity_prefix("erp", "policy")
    key = s3.list_objects_v2(Bucket=bronze, Prefix=prefix)["Contents"][0]["Key"]
    line = json.loads(s3.get_object(Bucket=bronze, Key=key)["Body"].read().decode().splitlines()[0])
    bad = _with_end_before_start(line)
    assert bad != line, line
    target = key.rsplit("/", 1)[0] + "/" + layout.stream_object_name("shardId-000000000009", 1, 1)
    s3.put_object(Bucket=bronze, Key=target, Body=(json.dumps(bad) + "\n").encode())


def _create_gold_catalog(r, glue) -> list[str]:
    """The gold database and tables as the stack declares them (Terraform is not applied here): silver->gold
    switches their locations when it publishes. Returns the table names."""
    db_name, db = r.by_path("aws_glue_catalog_database", "/catalog/gold_database")
    database = r.resolve(db["name"])
    glue.create_database(DatabaseInput={"Name": database})
    ref = f"aws_glue_catalog_database.{db_name}.name"
    names = []
    for table in r.doc["resource"]["aws_glue_catalog_table"].values():
        if ref not in table["database_name"]:
            continue
        sd = table["storage_descriptor"]
        glue.create_table(DatabaseName=database, TableInput={
            "Name": table["name"], "TableType": "EXTERNAL_TABLE", "Parameters": {k: r.resolve(v) for k, v in table.get("parameters", {}).items()},
            "PartitionKeys": [{"Name": k["name"], "Type": k["type"]} for k in table.get("partition_keys", [])],
            "StorageDescriptor": {"Location": r.resolve(sd["location"]),
                                  "Columns": [{"Name": c["name"], "Type": c["type"]} for c in sd["columns"]]}})
        names.append(table["name"])
    assert names, "no gold table in the stack"
    return names


def test_glue_jobs_recorded_calls_are_allowed(local_stack, emulator, monkeypatch, tmp_path):
    from bundling.glue_libs import build_glue_libs
    from lambda_src.ingest import app
    from local_runtime.aws import client
    from local_runtime.batch import JobHost, glue_job_command
    from local_runtime.services import free_port
    from local_runtime.services.postgres import PostgresServer, remove_data
    from local_runtime.warehouse_local import run_arguments
    from sample_data import generate, to_kinesis_event

    r, policies = local_stack
    buckets = {layer: r.attribute("aws_s3_bucket", r.by_path("aws_s3_bucket", f"/lake/{layer}")[0], "bucket")
               for layer in ("bronze", "silver", "gold", "quarantine", "artifacts")}
    s3 = client("s3", emulator.endpoint)
    for name in buckets.values():
        s3.create_bucket(Bucket=name)
    monkeypatch.setenv("BRONZE_BUCKET", buckets["bronze"])
    monkeypatch.setenv("QUARANTINE_BUCKET", buckets["quarantine"])
    app.handler_for(s3)(to_kinesis_event(generate(300, seed=11, bad_share=0.1)), None)
    _add_rule_failure(s3, buckets["bronze"])  # so bronze->silver writes its quarantine
    libs = build_glue_libs(tmp_path / "lakehouse.zip")
    gold_tables = _create_gold_catalog(r, client("glue", emulator.endpoint))
    # The pseudonymization key, as the stack's GeneratedSecret would hold it (Terraform is not applied here).
    _, secret = r.by_path("aws_secretsmanager_secret", "/pseudonymization_key/secret")
    key_arn = client("secretsmanager", emulator.endpoint).create_secret(
        Name=r.resolve(secret["name"]), SecretString=os.urandom(32).hex())["ARN"]

    def run(job, recorder, host, run_args=None) -> list:
        _, res = r.by_path("aws_glue_job", f"/glue_jobs/{job.name}_job")
        arguments = {k: r.resolve(v) for k, v in res["default_arguments"].items()}
        if "--pseudonymization_secret" in arguments:
            arguments["--pseudonymization_secret"] = key_arn
        definition = {"Name": r.resolve(res["name"]), "Command": {"ScriptLocation": r.resolve(res["command"]["script_location"])},
                      "DefaultArguments": arguments}
        _, script_args, _ = glue_job_command(definition, run_args)
        before = len(recorder.requests)
        result = host.run(f"iam-{job.name}", glue_jobs.script(job), script_args, [libs], stream=False)
        assert result.returncode == 0, result.log.read_text()[-3000:]
        return recorder.requests[before:]

    b2s, s2g, load = glue_jobs.WORKFLOW
    recorder = S3Recorder(emulator.endpoint)
    port = free_port()
    warehouse = PostgresServer(port)
    warehouse.start()
    try:
        with recorder as endpoint, JobHost(endpoint) as host:  # the four runs in one warm driver, as the demo
            calls = {b2s.name: run(b2s, recorder, host)}
            state = r.resolve(r.by_path("aws_glue_job", "/glue_jobs/bronze_to_silver_job")[1]["default_arguments"]
                              ["--state_path"])
            bucket, _, prefix = state[len("s3://"):].partition("/")
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])   # the manifest is lost: the retry redoes the run
            calls[b2s.name] += run(b2s, recorder, host)
            calls[s2g.name] = run(s2g, recorder, host)
            # the published gold into the warehouse, the run's connection as the local runner gives it
            calls[load.name] = run(load, recorder, host, run_arguments(warehouse))
    finally:
        warehouse.stop()
        remove_data(port)
    assert host.starts == 1, host.starts
    assert not recorder.unmapped, recorder.unmapped
    # bronze->silver read the pseudonymization key (twice: the run and its retry); silver->gold read and
    # switched every gold table's location (its publication); nothing else was called (the warehouse load,
    # locally, reads S3 only: the Data API and its secret are AWS's, simulated in tests/synth).
    assert sorted(set(recorder.other_calls)) == ["AWSGlue.GetTable", "AWSGlue.UpdateTable",
                                                 "secretsmanager.GetSecretValue"], recorder.other_calls
    assert recorder.other_calls.count("secretsmanager.GetSecretValue") == 2
    switched = [b["TableInput"]["Name"] for t, b in zip(recorder.other_calls, recorder.other_bodies)
                if t == "AWSGlue.UpdateTable"]
    assert sorted(switched) == sorted(gold_tables)
    glue = f"arn:aws:glue:{r.region}:{r.account}"
    glue_refused = [f"{t} {b}" for t, b in zip(recorder.other_calls, recorder.other_bodies) if t.startswith("AWSGlue.")
                    and not evaluate(policies[iam_calls.glue_role(s2g.name)], Request(
                        "glue:" + t.split(".", 1)[1],
                        f"{glue}:table/{b['DatabaseName']}/{b.get('Name') or b['TableInput']['Name']}")).allowed]
    assert not glue_refused, glue_refused

    problems, gap_hits = [], []
    for job in (b2s, s2g, load):
        role = iam_calls.glue_role(job.name)
        assert calls[job.name], job.name
        refused = [req for req in calls[job.name] if not evaluate(policies[role], req).allowed]
        gap_hits += [req for req in refused if iam_calls.known_gap(role, req)]
        problems += sorted({f"{job.name}: refused: {req}" for req in refused
                            if not iam_calls.known_gap(role, req) and not iam_calls.marker_cleanup(req)})
        declared = {(req.action, req.resource.split("/", 1)[0]) for req in iam_calls.stack_calls(r).allowed[role]}
        problems += sorted({f"{job.name}: not declared in tests/synth/iam_calls.py: {req}" for req in calls[job.name]
                            if (req.action, req.resource.split("/", 1)[0]) not in declared})
    assert not problems, "\n".join(problems)
    assert not gap_hits, gap_hits
    # The load read the published copy (its footers, then its rows into PostgreSQL).
    assert any(req.action == "s3:GetObject" and "/runs/g" in req.resource for req in calls[load.name])
    # The retry with the same run id rewrote its quarantine objects (allowed: checked above).
    assert any(req.action == "s3:DeleteObject" and "/silver_rules/" in req.resource for req in calls[b2s.name])
