"""Construct options and outputs are data: documented, checked in one place, and the READMEs follow them."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from environments import docs as env_docs
from modules import docs as module_docs
from modules.options import OptionError, Props, options

ROOT = Path(__file__).resolve().parents[2]
CONSTRUCTS = module_docs.PROPS_MODULES


def test_readme_option_tables_match_the_code():
    assert module_docs.main(["--check"]) == 0, "run python -m modules.docs"
    assert env_docs.main(["--check"]) == 0, "run python -m environments.docs"


def test_every_construct_has_a_block_in_the_readme():
    text = module_docs.README.read_text()
    for name in CONSTRUCTS:
        assert f"<!-- BEGIN options: {name} -->" in text, name
        # Filled, not only present (a block name the generator's pattern did not match stayed empty).
        assert f"<!-- BEGIN options: {name} -->\n{module_docs.module_block(name)}<!-- END" in text, name


@pytest.mark.parametrize("name, value, message", [
    ("max_retry_attempts", -1, "max_retry_attempts: 0-10000 (got -1)"),
    ("max_record_age_seconds", -1, "max_record_age_seconds: 60-604800 s (got -1)"),
])
def test_the_event_source_refuses_unbounded_retries(name, value, message):
    from modules.kinesis_ingest_props import KinesisEventSourceProps

    base = {"function_name": "f", "stream_arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}
    KinesisEventSourceProps(**base, **{name: 0 if name == "max_retry_attempts" else 60})
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        KinesisEventSourceProps(**base, **{name: value})


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_every_props_field_is_a_documented_option(name):
    module = importlib.import_module(f"modules.{name}_props")
    classes = module_docs.props_classes(module)
    assert classes, name
    for cls in classes:
        fields = dataclasses.fields(cls)
        documented = options(cls)
        assert [f.name for f in fields] == [f.name for f, _ in documented], cls.__name__
        assert all(opt.doc.strip() for _, opt in documented), cls.__name__


def _assigned_attributes(path: Path) -> dict[str, set[str]]:
    """``self.<name>`` targets assigned in each class of a module that derives from ``Construct``."""
    tree = ast.parse(path.read_text())
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "Construct" for b in node.bases):
            names = set()
            for sub in ast.walk(node):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target] if isinstance(
                    sub, ast.AnnAssign) else []
                for t in targets:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                        names.add(t.attr)
            found[node.name] = names
    return found


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_declared_outputs_are_exactly_the_public_attributes(name):
    module = importlib.import_module(f"modules.{name}_props")
    (attributes,) = _assigned_attributes(ROOT / "modules" / f"{name}.py").values()
    public = {a for a in attributes if not a.startswith("_")} - {"props"}
    assert {o.name for o in module.OUTPUTS} == public


def test_props_check_limits_and_rules_and_name_them():
    from modules.glue_jobs_props import GlueJobsProps
    from modules.s3_lake_props import LifecycleRule

    with pytest.raises(OptionError, match=r"standard_ia_days: 0 or >= 30 \(S3 minimum\) \(got 10\)"):
        LifecycleRule(standard_ia_days=10)
    with pytest.raises(OptionError, match="glacier_days: must be >= standard_ia_days \\+ 30"):
        LifecycleRule(standard_ia_days=30, glacier_days=40)
    common = dict(name_prefix="p", jobs=(), artifacts_bucket="b", artifacts_bucket_arn="arn:aws:s3:::b",
                  account_id="1", region="sa-east-1")
    with pytest.raises(OptionError) as err:
        GlueJobsProps(**common, worker_type="G.4X", execution_class="FLEX", number_of_workers=1)
    text = str(err.value)
    assert "jobs: at least one GlueJobSpec" in text and "number_of_workers: 2-299" in text
    assert "execution_class: FLEX needs worker_type G.1X or G.2X" in text
    assert GlueJobsProps(**common, create=False).jobs == ()  # nothing to create, nothing to check


def test_a_token_is_not_checked():
    from modules.emr_props import EmrStep
    from modules.s3_lake_props import DataLakeStorageProps

    DataLakeStorageProps(name_prefix="p", account_id="${TfToken[TOKEN.1]}", bucket_suffix="${TfToken[TOKEN.2]}")
    with pytest.raises(OptionError, match="bucket_suffix"):
        DataLakeStorageProps(name_prefix="p", account_id="1", bucket_suffix="UPPER")
    assert EmrStep(name="s", args=("x",)).action_on_failure == "TERMINATE_CLUSTER"


def test_settings_feed_options_of_the_same_type_and_default():
    checked = 0
    for section in env_docs.SECTIONS.values():
        for f in dataclasses.fields(section):
            if "feeds" not in f.metadata:
                continue
            target, name = f.metadata["feeds"]
            source = next(g for g in dataclasses.fields(target) if g.name == name)
            assert f.type == source.type, (section.__name__, f.name)
            assert f.metadata["option"].doc == source.metadata["option"].doc
            for other in f.metadata["feeds_also"]:  # one switch for several constructs: same type and default
                also = next(g for g in dataclasses.fields(other) if g.name == name)
                assert (also.type, also.default) == (source.type, source.default), (other.__name__, name)
            checked += 1
    assert checked >= 30, checked


def test_props_modules_never_import_the_bindings():
    modules = ", ".join(f"modules.{name}_props" for name in CONSTRUCTS)
    code = (f"import sys, modules.options, modules.docs, {modules}; "
            "bad = [m for m in sys.modules if m.startswith(('cdktf', 'constructs', 'jsii'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_every_props_class_derives_from_props():
    for name in CONSTRUCTS:
        module = importlib.import_module(f"modules.{name}_props")
        for value in vars(module).values():
            if dataclasses.is_dataclass(value) and isinstance(value, type) and value.__module__ == module.__name__:
                assert issubclass(value, Props), value
