"""``make synth`` skips the build when nothing it is made from changed (``bundling/synth.py``): what counts as a
source, and when the recorded build is up to date, on a small project tree of its own."""
from __future__ import annotations

import json

import pytest

from bundling import synth
from bundling.archive import ROOT


@pytest.fixture()
def tree(tmp_path, monkeypatch):
    monkeypatch.delenv("LAKEFORGE_CDKTF_OUT", raising=False)
    for rel, text in {"main.py": "x", "modules/kms.py": "k", "environments/dev.toml": "t", "requirements.txt": "r",
                      "tests/unit/test_x.py": "t", "README.md": "doc", ".venv/lib/x.py": "v",
                      "build/lambda/ingest.zip": "z", "build/glue/lakehouse.zip": "g",
                      "cdktf.out/manifest.json": "{}", "cdktf.out/stacks/lakeforge-local/cdk.tf.json": "{}",
                      "cdktf.out/stacks/lakeforge-local/assets/a/ingest.zip": "z",
                      "cdktf.out/stacks/lakeforge-local/.terraform/providers/p": "p"}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    stamp = tmp_path / "build" / "synth.stamp"
    stamp.write_text(json.dumps({**synth.fingerprint(tmp_path), **synth.products(tmp_path)}))
    return tmp_path, stamp


def test_sources_are_the_code_and_settings_not_tests_docs_products_or_the_virtualenv(tree):
    root, _ = tree
    assert [p.relative_to(root).as_posix() for p in synth.source_files(root)] == [
        "environments/dev.toml", "main.py", "modules/kms.py", "requirements.txt"]
    assert [p.relative_to(root).as_posix() for p in synth.product_files(root)] == [
        "build/lambda/ingest.zip", "build/glue/lakehouse.zip", "cdktf.out/manifest.json",
        "cdktf.out/stacks/lakeforge-local/cdk.tf.json", "cdktf.out/stacks/lakeforge-local/assets/a/ingest.zip"]


def test_the_real_project_sources_include_everything_a_stack_is_made_from():
    sources = {p.relative_to(ROOT).as_posix() for p in synth.source_files()}
    assert {"main.py", "requirements.txt", "environments/local.toml", "modules/s3_lake.py", "compose/streaming.py",
            "lambda_src/ingest/app.py", "glue_jobs/bronze_to_silver.py", "data_contracts/topics.py"} <= sources
    assert not [s for s in sources if s.startswith(("tests/", ".venv/", "build/", "cdktf.out/", ".state/"))]


def test_up_to_date_until_a_source_a_product_or_a_setting_changes(tree, monkeypatch):
    root, stamp = tree
    assert synth.up_to_date(root, stamp)
    (root / "tests/unit/test_x.py").write_text("changed")  # not a source
    (root / "cdktf.out/stacks/lakeforge-local/.terraform/providers/p").write_text("terraform init")
    assert synth.up_to_date(root, stamp)

    (root / "modules/kms.py").write_text("k2")
    assert not synth.up_to_date(root, stamp)
    (root / "modules/kms.py").write_text("k")
    assert synth.up_to_date(root, stamp)

    (root / "modules/new.py").write_text("n")  # a new file, tracked or not
    assert not synth.up_to_date(root, stamp)
    (root / "modules/new.py").unlink()

    (root / "cdktf.out/stacks/lakeforge-local/cdk.tf.json").write_text('{"edited": 1}')
    assert not synth.up_to_date(root, stamp)
    (root / "cdktf.out/stacks/lakeforge-local/cdk.tf.json").write_text("{}")
    (root / "build/lambda/ingest.zip").unlink()
    assert not synth.up_to_date(root, stamp)
    (root / "build/lambda/ingest.zip").write_text("z")
    assert synth.up_to_date(root, stamp)

    monkeypatch.setenv("LAKEFORGE_ENVS", "local")
    assert not synth.up_to_date(root, stamp)


def test_no_stamp_or_a_broken_one_means_build(tree):
    root, stamp = tree
    stamp.write_text("not json")
    assert not synth.up_to_date(root, stamp)
    stamp.unlink()
    assert not synth.up_to_date(root, stamp)
