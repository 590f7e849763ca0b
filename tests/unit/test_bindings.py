"""The CDK packages are named in one place: ``modules/_bindings.py``.

Every construct (``modules/``) and the stack composition (``compose/``) reach the CDK core and the AWS provider
binding through ``modules._bindings`` (``core.Token``, ``aws.s3_bucket.S3Bucket``), so a move to CDK Terrain
(``cdktn``, the maintained fork of cdktf; ``cdktn-aws`` binds hashicorp/aws 6.62) is a change in that one file
plus the pins in ``modules/requirements.txt``. This test fails on any other import of ``cdktf`` or
``cdktf_cdktf_provider_aws`` (``import``, ``from ... import`` or ``importlib.import_module("...")``) under
those folders, and checks that importing ``modules._bindings`` loads neither package.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from modules import _bindings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (_bindings.CORE_PACKAGE, _bindings.AWS_PACKAGE)
FOLDERS = ("modules", "compose")


def _named_imports(path: Path) -> list[str]:
    """``<line>: <module>`` of every import (or ``import_module`` call with a literal) of one of PACKAGES."""
    found = []
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              {"import_module", "__import__"} and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        found += [f"{node.lineno}: {name}" for name in names if name.split(".")[0] in PACKAGES]
    return found


def _files() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))
            if p != ROOT / "modules" / "_bindings.py"]


def test_the_package_names_are_the_ones_installed():
    assert PACKAGES == ("cdktf", "cdktf_cdktf_provider_aws")
    assert _bindings.PROVIDER_VERSION == "5.100.0"


@pytest.mark.parametrize("folder", FOLDERS)
def test_only_bindings_imports_the_cdk_packages(folder):
    offenders = {str(p.relative_to(ROOT)): hits for p in _files() if p.is_relative_to(ROOT / folder)
                 for hits in [_named_imports(p)] if hits}
    assert not offenders, f"import these through modules._bindings (core / aws): {offenders}"


def test_the_check_sees_every_form_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import cdktf\nfrom cdktf_cdktf_provider_aws.s3_bucket import S3Bucket\n"
                      "import importlib\nimportlib.import_module('cdktf_cdktf_provider_aws.provider')\n"
                      "from constructs import Construct\nfrom modules._bindings import aws\n")
    assert _named_imports(sample) == ["1: cdktf", "2: cdktf_cdktf_provider_aws.s3_bucket",
                                      "4: cdktf_cdktf_provider_aws.provider"]


def test_importing_bindings_loads_neither_package():
    code = ("import sys, modules._bindings as b; repr(b.core); repr(b.aws); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'cdktf_cdktf_provider_aws', 'jsii')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
