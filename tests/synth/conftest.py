"""Synth-test fixtures: all three stacks synthesized ONCE per session, external checks in parallel.

The AWS provider bindings take 15-20 s to import, so the session imports them once (through
``compose.build_app``) and every test reads the same synthesized stacks. Right after synth, the slow
external checks (``terraform init``+``validate`` per stack, checkov per stack, and ``python main.py``
end to end) start in a small thread pool; their tests only collect the results, so the suite's wall
time is roughly import + synth + the slowest external check.

A tiny deterministic zip stands in for the ingest package, so these tests never depend on building
the real one (``bundling/lambda_zip.py``), for the MSK ingest package and for the query API's two functions. Likewise for the other inputs (:class:`compose.BuildInputs`):
stand-in Glue job scripts and a stand-in shared-code zip; the silver/gold table specs
(``lakehouse.tables.all_tables()``) and the EMR steps (``emr_steps.steps.render_steps``) are the
real ones: they are plain data.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(Path(__file__).resolve().parents[2] / ".cache" / "jsii"))

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("local", "dev", "prod")


def make_zip(path: Path) -> Path:
    """A tiny, byte-for-byte deterministic Lambda package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("app.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, "def lambda_handler(event, context):\n    return {'batchItemFailures': []}\n")
    return path


def make_batch_inputs(base: Path, ingest_zip: Path | None = None):
    """Stand-ins for the Lambda package, the Glue job scripts and the shared-code zip (``compose.BuildInputs``)."""
    import glue_jobs
    from compose import BuildInputs

    base.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for job in glue_jobs.WORKFLOW:
        scripts[job.name] = base / f"{job.name}.py"
        scripts[job.name].write_text(f"# stand-in Glue job script {job.name}\nprint({job.name!r})\n")
    libs = base / "lakehouse.zip"
    with zipfile.ZipFile(libs, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("lakehouse/__init__.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, "")

    from compose.inputs import (
        AUTHORIZER_FUNCTION, INGEST_FUNCTION, INGEST_MSK_FUNCTION, KAFKA_TOPICS_FUNCTION, QUERY_FUNCTION,
    )

    zips = {INGEST_FUNCTION: ingest_zip or make_zip(base / "ingest.zip"),
            INGEST_MSK_FUNCTION: make_zip(base / "ingest_msk.zip"),
            KAFKA_TOPICS_FUNCTION: make_zip(base / "kafka_topics.zip"),
            QUERY_FUNCTION: make_zip(base / "query_api.zip"), AUTHORIZER_FUNCTION: make_zip(base / "api_authorizer.zip")}
    return BuildInputs(lambda_zips=zips, libs_zip=libs, scripts=scripts)


@dataclass
class Synth:
    """The session's synthesized stacks."""

    outdir: Path
    zip_path: Path
    app: Any
    stacks: dict[str, Any]
    """env -> TerraformStack construct."""
    docs: dict[str, dict] = field(default_factory=dict)
    """env -> parsed cdk.tf.json."""
    configs: dict[str, Any] = field(default_factory=dict)
    """env -> EnvironmentConfig."""
    background: dict[str, Future] = field(default_factory=dict)
    """"validate:<env>" / "checkov:<env>" / "main_py" -> Future of the external check."""
    batch: Any = None
    """The stand-in ``compose.BuildInputs`` the stacks were built with."""

    def stack_dir(self, env: str) -> Path:
        return self.outdir / "stacks" / f"lakeforge-{env}"

    def resources(self, env: str, rtype: str) -> dict[str, dict]:
        return self.docs[env].get("resource", {}).get(rtype, {})

    def one(self, env: str, rtype: str, path_suffix: str) -> tuple[str, dict]:
        """The resource of a type whose construct path ends with ``path_suffix``."""
        found = [(n, r) for n, r in self.resources(env, rtype).items()
                 if r["//"]["metadata"]["path"].endswith(path_suffix)]
        assert len(found) == 1, f"{rtype} */{path_suffix} in {env}: {[n for n, _ in found]}"
        return found[0]


def _validate(src: Path, work: Path) -> dict:
    from local_runtime.terraform import run, terraform_env

    shutil.copytree(src, work)
    env = terraform_env()
    init = run(["init", "-backend=false", "-input=false", "-no-color"], work, env=env, capture=True, check=False)
    if init.returncode != 0:
        return {"valid": False, "stage": "init", "output": init.stdout + init.stderr}
    val = run(["validate", "-json", "-no-color"], work, env=env, capture=True, check=False)
    try:
        out = json.loads(val.stdout)
    except json.JSONDecodeError:
        return {"valid": False, "stage": "validate", "output": val.stdout + val.stderr}
    out["stage"] = "validate"
    return out


def _checkov(stack: Path, env: str):
    from security.checkov_skips import scan

    return scan(stack, env)


def _main_py(outdir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LAKEFORGE_ENVS="local", LAKEFORGE_CDKTF_OUT=str(outdir))
    return subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    base = tmp_path_factory.mktemp("synth")
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="synth-checks")
    background: dict[str, Future] = {}
    # `python main.py` end to end in its own process (it imports the bindings itself): start it first.
    background["main_py"] = pool.submit(_main_py, base / "main-py-out")

    from compose import build_app
    from environments import load_environment

    zip_path = make_zip(base / "ingest.zip")
    batch = make_batch_inputs(base / "batch", zip_path)
    outdir = base / "cdktf.out"
    app = build_app(ENVS, outdir, inputs=batch)
    app.synth()
    stacks = {env: app.node.find_child(f"lakeforge-{env}") for env in ENVS}
    result = Synth(outdir=outdir, zip_path=zip_path, app=app, stacks=stacks, background=background, batch=batch)
    for env in ENVS:
        result.docs[env] = json.loads((result.stack_dir(env) / "cdk.tf.json").read_text())
        result.configs[env] = load_environment(env)
    for env in ENVS:
        background[f"validate:{env}"] = pool.submit(_validate, result.stack_dir(env), base / "validate" / env)
        background[f"checkov:{env}"] = pool.submit(_checkov, result.stack_dir(env), env)
    yield result
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def docs(synth) -> dict[str, dict]:
    return synth.docs


@pytest.fixture(scope="session")
def bindings(synth):  # synth first: it starts the slow external checks in the background
    """``cdktf.Testing``, for constructs alone in throwaway stacks (the bindings are imported once)."""
    import cdktf_cdktf_provider_aws.provider  # noqa: F401  (the one import of the bindings)
    from cdktf import Testing

    return Testing
