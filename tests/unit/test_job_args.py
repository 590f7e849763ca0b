"""Job argument parsing (Glue's getResolvedOptions semantics) and the bronze->silver run bookkeeping."""
from __future__ import annotations

import json

import pytest

from glue_jobs import bronze_to_silver as job
from lakehouse.job import resolve_options


def test_space_and_equals_forms():
    argv = ["script.py", "--bronze_path", "s3://b/", "--silver_path=s3://s/", "--JOB_NAME", "j"]
    assert resolve_options(argv, ["bronze_path", "silver_path"]) == {"bronze_path": "s3://b/", "silver_path": "s3://s/"}


def test_defaults_make_names_optional_and_are_overridden():
    argv = ["x", "--bronze_path", "s3://b/", "--entities", "policy"]
    got = resolve_options(argv, ["bronze_path", "run_id", "entities"], {"run_id": "", "entities": ""})
    assert got == {"bronze_path": "s3://b/", "run_id": "", "entities": "policy"}


def test_missing_required_argument_is_an_error():
    with pytest.raises(SystemExit, match="--silver_path"):
        resolve_options(["x", "--bronze_path", "s3://b/"], ["bronze_path", "silver_path"])


def test_unknown_arguments_are_ignored():
    argv = ["x", "--job-bookmark-option", "job-bookmark-disable", "--TempDir", "s3://t/", "--a", "1"]
    assert resolve_options(argv, ["a"]) == {"a": "1"}


def test_flag_without_value_is_empty():
    assert resolve_options(["x", "--a", "--b", "2"], ["a", "b"]) == {"a": "", "b": "2"}
    assert resolve_options(["x", "--a"], ["a"]) == {"a": ""}


def test_job_argument_list():
    names = job.CONTRACT.argument_names
    assert names == ["bronze_path", "silver_path", "quarantine_path", "state_path", "reports_path",
                     "run_id", "entities", "pseudonymization_secret"]
    assert job.CONTRACT.secrets == ("pseudonymization_key",)
    deployed = job.CONTRACT.deployed_arguments({b: f"lake-{b}" for b in ("bronze", "silver", "quarantine", "artifacts")},
                                               secret_arns={"pseudonymization_key": "arn:aws:secretsmanager:r:1:secret:k"})
    assert deployed["--pseudonymization_secret"] == "arn:aws:secretsmanager:r:1:secret:k"
    args = resolve_options(["x", *sum(([f"--{n}", f"v-{n}"] for n in names[:5]), [])],
                           names, job.CONTRACT.defaults)
    assert args["run_id"] == "" and args["entities"] == "" and args["state_path"] == "v-state_path"


def test_selected_contracts():
    assert [c.name for c in job.selected_contracts("")] == [
        "erp.claim", "erp.customer", "erp.policy", "erp.premium_installment", "susep.market_statistics"]
    assert [c.name for c in job.selected_contracts("policy, susep.market_statistics,erp_claim")] == [
        "erp.claim", "erp.policy", "susep.market_statistics"]
    with pytest.raises(SystemExit, match="unknown entity"):
        job.selected_contracts("policies")


def test_run_id_is_derived_from_the_file_set_only():
    a = ["source=erp/entity=policy/ingest_date=2024-06-01/kinesis-s-1-2.jsonl",
         "source=erp/entity=claim/ingest_date=2024-06-01/kinesis-s-3-4.jsonl"]
    assert job.derive_run_id(a) == job.derive_run_id(list(reversed(a)))
    assert job.derive_run_id(a) != job.derive_run_id(a[:1])
    assert job.derive_run_id(a).startswith("b2s-")


def test_manifest_bookkeeping(tmp_path):
    from lakehouse import manifest as mf

    uri = (tmp_path / "manifest.json").as_uri()
    m = mf.load(uri, "bronze_to_silver")
    assert m.etag is None and m.objects == {}
    listed = {"source=erp/entity=policy/ingest_date=2024-06-01/b.jsonl": "e1",
              "source=erp/entity=policy/ingest_date=2024-06-01/a.jsonl": "e2",
              "source=erp/entity=claim/ingest_date=2024-06-02/c.jsonl": "e3"}
    assert m.changed(listed) == listed
    m.add(listed, {"run_id": "r1"})
    m.commit()
    again = mf.load(uri, "bronze_to_silver")
    assert again.objects == listed and again.runs == [{"run_id": "r1"}] and again.etag == m.etag
    assert json.loads((tmp_path / "manifest.json").read_text())["objects"] == {
        "source=erp/entity=claim/ingest_date=2024-06-02": {"c.jsonl": "e3"},
        "source=erp/entity=policy/ingest_date=2024-06-01": {"a.jsonl": "e2", "b.jsonl": "e1"},
    }
    # a corrected object (same name, another version) is new again, and known as a correction
    changed = {**listed, "source=erp/entity=claim/ingest_date=2024-06-02/c.jsonl": "e4",
               "source=erp/entity=claim/ingest_date=2024-06-03/d.jsonl": "e5"}
    new = again.changed(changed)
    assert set(new) == {"source=erp/entity=claim/ingest_date=2024-06-02/c.jsonl",
                        "source=erp/entity=claim/ingest_date=2024-06-03/d.jsonl"}
    assert again.corrections(new) == {"source=erp/entity=claim/ingest_date=2024-06-02/c.jsonl"}


def test_manifest_format_1_is_read_as_processed_at_any_version(tmp_path):
    from lakehouse import manifest as mf

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"format": 1, "job": "bronze_to_silver",
                                "processed": {"source=erp/entity=claim/ingest_date=2024-06-02": ["c.jsonl"]}}))
    m = mf.load(path.as_uri(), "bronze_to_silver")
    assert m.changed({"source=erp/entity=claim/ingest_date=2024-06-02/c.jsonl": "any"}) == {}


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"format": 9}', "format 9"),
    ('{"format": 2, "objects": {"a": {"b.jsonl": 5}}}', "unexpected structure"),
    ('{"format": 2, "job": "silver_to_gold"}', "belongs to job"),
])
def test_a_corrupt_manifest_is_one_clear_error(tmp_path, text, problem):
    from lakehouse import manifest as mf

    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(mf.CorruptManifest) as err:
        mf.load(path.as_uri(), "bronze_to_silver")
    message = str(err.value)
    assert path.as_uri() in message and problem in message
    assert "restore a previous version" in message and "\n" not in message


def test_local_conditional_writes(tmp_path):
    from lakehouse import objects

    uri = (tmp_path / "state" / "m.json").as_uri()
    first = objects.put(uri, "a", create_only=True)
    with pytest.raises(objects.ConcurrentUpdate, match="exists"):
        objects.put(uri, "b", create_only=True)
    second = objects.put(uri, "b", if_match=first)
    with pytest.raises(objects.ConcurrentUpdate, match="no longer version"):
        objects.put(uri, "c", if_match=first)  # a stale version: the other writer's "b" is kept
    assert objects.get(uri) == objects.Stored("b", second)
    objects.delete(uri)
    assert objects.get(uri) is None
    with pytest.raises(objects.ConcurrentUpdate):
        objects.put(uri, "d", if_match=second)


def test_one_s3_client_per_endpoint(monkeypatch):
    """lakehouse.objects' S3 client follows the environment: another AWS_ENDPOINT_URL gets a client of its own
    (path-style, standard retries), the same one gets the same client back. No request is sent."""
    from lakehouse import objects

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    clients = {}
    for endpoint in ("http://127.0.0.1:4566", "http://127.0.0.1:4567", "http://127.0.0.1:4566"):
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        client = clients.setdefault(endpoint, objects.s3_client())
        assert objects.s3_client() is client
        assert client.meta.endpoint_url == endpoint
        assert client.meta.config.s3["addressing_style"] == "path"
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}  # 5 retries
    assert clients["http://127.0.0.1:4566"] is not clients["http://127.0.0.1:4567"]
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    aws = objects.s3_client()
    assert aws not in clients.values() and aws.meta.config.s3["addressing_style"] == "auto"
    assert aws.meta.endpoint_url == "https://s3.amazonaws.com"


def test_relative_name_of_bronze_uris():
    rel = "source=erp/entity=policy/ingest_date=2024-06-01/kinesis-shardId-000000000000-1-9.jsonl"
    assert job.relative_name("s3://bronze/" + rel) == rel
    assert job.relative_name("file:///tmp/x/" + rel) == rel
    assert job.relative_name("s3://bronze/landing/erp/policy/p.csv") is None


def test_a_secret_the_composition_does_not_create_is_an_error():
    """A job declaring a platform secret the composition has no recipe for fails the synth, by name."""
    from dataclasses import replace
    from types import SimpleNamespace

    from compose import batch
    from lakehouse.job import JobArgument

    odd = replace(job.CONTRACT, arguments=(*job.CONTRACT.arguments, JobArgument("api_token", "x", default="",
                                                                                 secret="api_token")))
    with pytest.raises(ValueError, match=r"secrets the composition does not create: \['api_token'\]"):
        batch._job_secrets(SimpleNamespace(naming=SimpleNamespace(config=None)), (odd,), {})
