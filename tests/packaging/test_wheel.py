"""The constructs as a distribution: ``lakeforge-constructs`` (import name ``lakeforge_constructs``) builds,
carries the right metadata, and, installed into a fresh virtualenv with its dependencies, synthesizes in a new
cdktf app outside the repository.

The wheel is built once per module from a copy of what the build reads (``pyproject.toml`` and ``modules/``),
with the project virtualenv's setuptools (``pip wheel --no-deps --no-build-isolation``): an in-tree build would
leave ``build/lib`` and an ``.egg-info`` in the checkout. It takes about 2 s.

The installed-wheel test does a REAL ``pip install <wheel>`` into a fresh ``python -m venv``: pip resolves
``cdktf``, ``cdktf-cdktf-provider-aws`` (a ~450 MB install) and ``constructs`` from the wheel's Requires-Dist.
Measured here with pip's cache warm (``~/.cache/pip``): 28-48 s for the whole install, well under the 2
minutes that would have made a ``--no-deps`` install plus a ``.pth`` onto the project virtualenv worth its
indirection; without the cache pip downloads them from PyPI. The test then checks that the resolved versions are
the pins of ``modules/requirements.txt``. The app runs with the temporary directory as its working directory, no
``PYTHONPATH`` and ``-I`` (isolated mode), and first asserts that ``import modules`` fails there, so only the
installed wheel can supply the constructs.
"""
from __future__ import annotations

import ast
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "lakeforge-constructs"
IMPORT_NAME = "lakeforge_constructs"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _version() -> str:
    """``__version__`` of ``modules/__init__.py`` (the one definition), read without importing."""
    tree = ast.parse((ROOT / "modules" / "__init__.py").read_text())
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id == "__version__":
            return node.value.value
    raise AssertionError("modules/__init__.py defines no __version__")


def _pins(path: Path) -> list[str]:
    """The requirement lines of a requirements file (no comments, no ``-r``)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copy2(ROOT / "pyproject.toml", src)
    shutil.copytree(ROOT / "modules", src / "modules", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--disable-pip-version-check", "-w", str(out), str(src)],
                   check=True, capture_output=True, text=True, timeout=300)
    print(f"wheel built in {time.monotonic() - started:.1f} s")
    built = sorted(out.glob("*.whl"))
    assert len(built) == 1, built
    return built[0]


def test_version_is_semantic_and_in_the_changelog():
    version = _version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    changelog = (ROOT / "modules" / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert released and released[0] == version, (released, version)
    assert "## [Unreleased]" in changelog


def test_pins_have_one_definition():
    """The constructs' runtime pins live in modules/requirements.txt only; the root file includes it, the Makefile's
    install stamp depends on it, and pyproject's build requirements are the root file's pins."""
    constructs_pins = _pins(ROOT / "modules" / "requirements.txt")
    assert sorted(p.split("==")[0] for p in constructs_pins) == ["cdktf", "cdktf-cdktf-provider-aws", "constructs"]
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", p) for p in constructs_pins), constructs_pins
    root_text = (ROOT / "requirements.txt").read_text()
    assert "-r modules/requirements.txt" in root_text.splitlines()
    root_names = {p.split("==")[0].lower() for p in _pins(ROOT / "requirements.txt")}
    assert not root_names & {p.split("==")[0] for p in constructs_pins}
    assert re.search(r"^\$\(STAMP\): .*\bmodules/requirements\.txt\b", (ROOT / "Makefile").read_text(), re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    requires = json.loads(re.search(r"^requires = (\[.*\])$", pyproject, re.M).group(1))
    root_pins = set(_pins(ROOT / "requirements.txt"))
    assert requires and set(requires) <= root_pins, (requires, "must equal the pins in requirements.txt")


def test_wheel_metadata_and_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = f"{IMPORT_NAME}-{_version()}.dist-info"
        metadata = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split()
    assert wheel.name == f"{IMPORT_NAME}-{_version()}-py3-none-any.whl"
    assert metadata["Name"] == NAME
    assert metadata["Version"] == _version()
    assert sorted(metadata.get_all("Requires-Dist")) == sorted(_pins(ROOT / "modules" / "requirements.txt"))
    assert metadata["Requires-Python"] == ">=3.11"
    assert top_level == [IMPORT_NAME]
    assert {n.split("/")[0] for n in names} == {IMPORT_NAME, dist_info}, "only the constructs and their metadata"
    shipped = {n.split("/", 1)[1] for n in names if n.startswith(f"{IMPORT_NAME}/")}
    expected = {p.name for p in (ROOT / "modules").glob("*.py")} | {"py.typed", "README.md", "CHANGELOG.md"}
    assert shipped == expected


def test_installed_wheel_synthesizes_in_a_new_app(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(ROOT / ".cache" / "jsii"))
    started = time.monotonic()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, cwd=tmp_path, env=env, timeout=900)
    print(f"wheel + dependencies installed in {time.monotonic() - started:.1f} s")
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--disable-pip-version-check"], check=True,
                            cwd=tmp_path, env=env, capture_output=True, text=True).stdout.lower().splitlines()
    for pin in _pins(ROOT / "modules" / "requirements.txt"):
        assert pin.lower() in frozen, (pin, frozen)
    assert [line for line in frozen if line.startswith(f"{NAME} @ file://")], frozen

    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(APP)
    started = time.monotonic()
    done = subprocess.run([str(python), "-I", "main.py", str(app / "out")], cwd=app, env=env, timeout=600,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"synthesized in {time.monotonic() - started:.1f} s")
    assert done.stdout.strip().endswith("synthesized"), done.stdout

    stack = json.loads((app / "out" / "stacks" / "lake" / "cdk.tf.json").read_text())
    resources = stack["resource"]
    assert stack["provider"]["aws"][0]["region"] == "eu-west-1"

    buckets = {r["bucket"] for r in resources["aws_s3_bucket"].values()}
    assert buckets == {f"acme-dev-{b}" for b in ("bronze", "silver", "gold", "quarantine", "artifacts",
                                                 "athena-results", "access-logs")}
    blocks = list(resources["aws_s3_bucket_public_access_block"].values())
    assert len(blocks) == 7
    assert all(b[k] is True for b in blocks for k in ("block_public_acls", "block_public_policy",
                                                      "ignore_public_acls", "restrict_public_buckets"))
    encryption = [r["rule"][0] for r in resources["aws_s3_bucket_server_side_encryption_configuration"].values()]
    kms = [r for r in encryption if r["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"]
    assert len(kms) == 6 and all(r["apply_server_side_encryption_by_default"]["kms_master_key_id"] == KEY_ARN
                                 and r["bucket_key_enabled"] is True for r in kms)
    assert len(encryption) == 7  # access-logs: SSE-S3 (server access logging cannot deliver to SSE-KMS)
    assert len(resources["aws_s3_bucket_policy"]) == 7
    assert {v["versioning_configuration"]["status"] for v in resources["aws_s3_bucket_versioning"].values()} == \
        {"Enabled"}

    (stream,) = resources["aws_kinesis_stream"].values()
    assert stream["name"] == "acme-dev-events"
    assert stream["encryption_type"] == "KMS" and stream["kms_key_id"] == KEY_ARN
    assert stream["stream_mode_details"]["stream_mode"] == "ON_DEMAND"


APP = f'''
"""A new cdktf app, outside the lakeforge repository, using the installed lakeforge-constructs wheel."""
import sys
from importlib.metadata import version

try:
    import modules  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit(f"the repository is importable here: {{modules.__file__}}")

import lakeforge_constructs
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from lakeforge_constructs import DataLakeStorage, DataLakeStorageProps, KinesisStream, KinesisStreamProps

assert "site-packages" in lakeforge_constructs.__file__, lakeforge_constructs.__file__
assert lakeforge_constructs.__version__ == {_version()!r}
assert version("lakeforge-constructs") == lakeforge_constructs.__version__

app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "lake")
AwsProvider(stack, "aws", region="eu-west-1")
DataLakeStorage(stack, "lake", DataLakeStorageProps(name_prefix="acme-dev", account_id="123456789012",
                                                    kms_key_arn={KEY_ARN!r}))
KinesisStream(stack, "events", KinesisStreamProps(name="acme-dev-events", kms_key_arn={KEY_ARN!r}))
app.synth()
print("synthesized")
'''
