"""The standalone Terraform modules (``terraform-modules/``, ``make modules``): they are what the constructs emit
today, Terraform accepts every one of them and the plain-HCL lakehouse composition, checkov finds nothing, and
the pieces of the emitter do what they say."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bundling import terraform_modules as tm
from bundling.archive import ROOT
from compose.terraform_modules import SPECS
from modules.options import at_least, between, log_retention, matches, one_of, or_value

MODULES = ROOT / "terraform-modules"


def test_committed_modules_are_what_the_constructs_emit():
    """Fails when a construct, its options or its outputs changed and ``make modules`` was not run."""
    assert tm.main(SPECS, ["--check"]) == 0


def test_every_construct_has_a_module():
    from modules.docs import PROPS_MODULES

    emitted = {spec.module for spec in SPECS}
    assert set(PROPS_MODULES) == emitted
    assert {p.name for p in MODULES.iterdir() if p.is_dir() and p.name != "examples"} == {s.name for s in SPECS}


OFFLINE_PROVIDER = """provider "aws" {
  region                      = "us-east-1"
  access_key                  = "not-used"
  secret_key                  = "not-used"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
"""
"""A provider that plans without reaching AWS (nothing to read when no resource is created)."""


def _root_calling_every_module(work: Path, *, create: bool = True) -> None:
    """One root configuration with every module's complete example (its provider block once); with
    ``create=False`` every module is switched off and its outputs are root outputs."""
    blocks = [OFFLINE_PROVIDER]
    for spec in SPECS:
        text = (MODULES / spec.name / "examples" / "complete" / "main.tf").read_text()
        block = re.search(r'module "[a-z0-9_]+" \{.*?\n\}\n', text, re.S).group(0)
        block = block.replace('source = "../../"', f'source = "./{spec.name}"')
        if not create:
            block = block.replace("\n}\n", "\n  create = false\n}\n")
            block += f'\noutput "{spec.name}" {{\n  value = module.{spec.name}\n}}\n'
        blocks.append(block)
    (work / "main.tf").write_text("\n".join(blocks))


def test_every_module_and_the_lakehouse_example_init_and_validate(tmp_path):
    from local_runtime.terraform import run, terraform_env

    work = tmp_path / "modules"
    shutil.copytree(MODULES, work, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    _root_calling_every_module(work)
    env = terraform_env()
    for folder in (work, work / "examples" / "lakehouse"):
        init = run(["init", "-backend=false", "-input=false", "-no-color"], folder, env=env, capture=True, check=False)
        assert init.returncode == 0, init.stdout + init.stderr
        val = run(["validate", "-json", "-no-color"], folder, env=env, capture=True, check=False)
        report = json.loads(val.stdout)
        assert report["valid"], json.dumps(report["diagnostics"], indent=1)[:3000]


def test_create_false_plans_no_resource_and_null_outputs(tmp_path):
    """terraform-aws-modules' switch: every module with ``create = false`` plans nothing, its outputs null."""
    from local_runtime.terraform import run, terraform_env

    work = tmp_path / "modules"
    shutil.copytree(MODULES, work, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "examples"))
    _root_calling_every_module(work, create=False)
    env = terraform_env()
    init = run(["init", "-backend=false", "-input=false", "-no-color"], work, env=env, capture=True, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    plan = run(["plan", "-input=false", "-no-color", "-out=plan"], work, env=env, capture=True, check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = json.loads(run(["show", "-json", "plan"], work, env=env, capture=True).stdout)
    assert shown.get("resource_changes", []) == []
    outputs = {name: change["after"] for name, change in shown["output_changes"].items()}
    assert set(outputs) == {spec.name for spec in SPECS}

    def leaves(value):
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            return [x for v in value for x in leaves(v)]
        return [value]

    assert all(leaf is None for value in outputs.values() for leaf in leaves(value)), outputs

    # the limits hold in Terraform too: a value outside one fails the plan with the construct's words
    main = (work / "main.tf").read_text()
    for module, setting, message in (("kinesis", "retention_hours = 1", "retention_hours: 24-8760"),
                                     ("emr", 'release_label = "emr-6.15.0"', "release_label: an EMR 7 release")):
        start = main.index(f'module "{module}" {{')
        broken = main[:start] + main[start:].replace("create = false", f"create = false\n  {setting}", 1)
        (work / "main.tf").write_text(broken)
        refused = run(["plan", "-input=false", "-no-color"], work, env=env, capture=True, check=False)
        assert refused.returncode != 0 and message in refused.stdout + refused.stderr, refused.stderr[-2000:]
    (work / "main.tf").write_text(main)


def test_checkov_finds_nothing_in_the_modules(tmp_path):
    from security.checkov_skips import scan

    folders = tm.checkov_tree(MODULES, tmp_path)
    assert len(folders) == len(SPECS)
    result = scan(tmp_path, "modules")
    assert not result.error, result.error
    assert result.passed > 100
    assert result.failed == [], result.failed
    assert result.stale_skips == []


def test_every_module_has_versions_readme_example_and_no_provider():
    for spec in SPECS:
        folder = MODULES / spec.name
        versions = json.loads((folder / "versions.tf.json").read_text())["terraform"]
        assert versions["required_providers"]["aws"]["version"].startswith(">= 5.100.0, < 6")
        main = json.loads((folder / "main.tf.json").read_text())
        assert "provider" not in main and "terraform" not in main
        readme = (folder / "README.md").read_text()
        assert "## Inputs" in readme and "## Outputs" in readme
        variables = json.loads((folder / "variables.tf.json").read_text())["variable"]
        assert variables["create"]["default"] is True
        for name in variables:
            if name != "create":
                assert f"| `{name}` |" in readme, (spec.name, name)
        for rtype in main.get("resource", {}).values():
            for resource in rtype.values():
                assert resource["count"] == "${var.create ? 1 : 0}"


def test_every_limited_option_is_validated_by_terraform():
    """A variable bypasses the construct's checks (its value is a token at synth): each limit of an option that is
    a variable is a ``validation`` block."""
    import importlib

    from modules.options import options

    for spec in SPECS:
        props = getattr(importlib.import_module(f"modules.{spec.module}_props"), spec.props)
        limited = {f.name for f, o in options(props) if o.limit is not None}
        variables = json.loads((MODULES / spec.name / "variables.tf.json").read_text())["variable"]
        unchecked = [name for name in variables if name in limited and not variables[name].get("validation")]
        assert not unchecked, (spec.name, unchecked)


def test_kinesis_module_variables_are_measured():
    """The stream's name passes through; its capacity mode decides the shard count in Python, so it is fixed."""
    spec = next(s for s in SPECS if s.name == "kinesis")
    variables, fixed = tm.probe(spec)
    assert {"name", "kms_key_arn", "retention_hours", "tags"} <= set(variables)
    assert "capacity_mode" in fixed and "prevent_destroy" in fixed


def test_limits_become_terraform_conditions():
    assert tm.condition(between(1, 10), "var.x") == "var.x >= 1 && var.x <= 10"
    assert tm.condition(at_least(3), "var.x") == "var.x >= 3"
    assert tm.condition(one_of("A", "B"), "var.x") == 'contains(["A", "B"], var.x)'
    assert tm.condition(matches(r"[a-z]+", "lowercase"), "var.x") == 'can(regex("^(?:[a-z]+)$", var.x))'
    assert tm.condition(or_value(-1, between(60, 600)), "var.x") == "var.x == -1 || (var.x >= 60 && var.x <= 600)"
    assert "3653" in tm.condition(log_retention(), "var.x")


def test_create_switch_indexes_references_and_nulls_outputs():
    doc = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x"}},
                        "aws_s3_bucket_policy": {"p": {"bucket": "${aws_s3_bucket.b.id}",
                                                       "policy": '{"Resource":"${aws_s3_bucket.b.arn}/*"}',
                                                       "depends_on": ["aws_s3_bucket.b"]}}},
           "output": {"arn": {"value": "${aws_s3_bucket.b.arn}"},
                      "uri": {"value": "s3://${aws_s3_bucket.b.bucket}/k"}}}
    out = tm.with_create_switch(doc)
    policy = out["resource"]["aws_s3_bucket_policy"]["p"]
    assert policy["count"] == "${var.create ? 1 : 0}"
    assert policy["bucket"] == "${aws_s3_bucket.b[0].id}"
    assert policy["policy"] == '{"Resource":"${aws_s3_bucket.b[0].arn}/*"}'
    assert policy["depends_on"] == ["aws_s3_bucket.b"]
    assert out["output"]["arn"]["value"] == "${var.create ? try(aws_s3_bucket.b[0].arn, null) : null}"
    assert out["output"]["uri"]["value"] == '${var.create ? try("s3://${aws_s3_bucket.b[0].bucket}/k", null) : null}'


def test_substitute_replaces_whole_and_embedded_references():
    doc = {"a": "${var.n}", "b": "arn:${var.n}:x", "c": ["${var.n}"], "d": "${var.other}"}
    assert tm.substitute(doc, "n", 5) == {"a": 5, "b": "arn:5:x", "c": [5], "d": "${var.other}"}


@pytest.mark.parametrize("value, hcl", [(True, "true"), (None, "null"), ("a", '"a"'), ((1, 2), "[1, 2]"),
                                        ({"k": "v"}, '{\n    k = "v"\n  }')])
def test_hcl_literals(value, hcl):
    assert tm.hcl(value) == hcl
