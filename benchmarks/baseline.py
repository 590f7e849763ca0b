"""This checkout against a base revision, side by side: ``python -m benchmarks.run --only baseline --base REV``.

The base revision is checked out once as a git worktree under ``.cache/bench/base-<rev>`` (sharing this
checkout's virtualenv), its artifacts and Terraform CLI config are built as ``make`` would, then the two
trees take turns (base, this, base, this, ...) so that a drift of the shared machine's speed hits both:

* ``synth``: ``python main.py`` (every environment, into a temporary folder), wall seconds;
* ``bronze -> silver job`` (with ``--job-runs N``): each tree's ``glue_jobs/bronze_to_silver.py`` with its own
  shared-code zip, through the same local ``spark-submit`` (``local[2]``, the local file system, no emulator),
  on the same 5,000 generated bronze records, into an empty silver each time: the job alone, without the
  emulator's and the demo's noise;
* ``demo`` (with ``--demo-runs N``): ``python -m local_runtime.demo`` on a fresh emulator (each run ends with
  ``python -m local_runtime.services down`` in its tree): the wall seconds, the steps of its own timing
  table that do real work (apply, the EMR backfill, the two Glue jobs, its total), whether its apply had to
  be run again after an emulator error, and whether it ended "OK, every record accounted for".

Each pair gives a ratio (this / base); the table shows the medians. The result replaces the block between
the ``baseline`` markers of BENCHMARKS.md and is kept when the other sections rewrite the file.
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_runtime.paths import CACHE, ROOT

BEGIN, END = "<!-- BEGIN baseline -->", "<!-- END baseline -->"
_STEP = re.compile(r"^    (\S.*?)\s+([0-9.]+)s$", re.M)
DEMO_STEPS = {"deploy the local stack (terraform apply)": "apply",
              "EMR historical backfill: exports -> bronze (spark-submit of the EMR steps)": "EMR backfill",
              "Glue job bronze -> silver (definition from the Glue API, local Spark)": "bronze -> silver",
              "Glue job silver -> gold (data-quality gate before writing)": "silver -> gold",
              "total": "total"}
"""Steps of the demo's own timing table shown side by side (its label -> the name in the table)."""


def _worktree(rev: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = CACHE / "bench" / f"base-{sha[:12]}"
    if not (tree / ".git").exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT, check=True,
                       capture_output=True)
    venv = tree / ".venv"
    if not venv.exists():
        venv.symlink_to(ROOT / ".venv")
    return tree


def _env(tree: Path) -> dict[str, str]:
    """What the Makefile exports, for one tree."""
    return dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
                JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(ROOT / ".cache" / "jsii"),
                TF_CLI_CONFIG_FILE=str(tree / ".cache" / "terraform" / "cli.tfrc"), PYTHONDONTWRITEBYTECODE="1",
                SPARK_LOCAL_IP="127.0.0.1", PIP_DISABLE_PIP_VERSION_CHECK="1")


def _run(tree: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=tree, env=_env(tree), check=True, **kwargs)


def _prepare(tree: Path) -> None:
    """``make artifacts tfconfig`` in ``tree``."""
    for module in ("bundling.lambda_zip", "bundling.glue_libs", "local_runtime.terraform"):
        _run(tree, "-m", module, stdout=subprocess.DEVNULL)


def _synth(tree: Path) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        subprocess.run([sys.executable, "main.py"], cwd=tree, env={**_env(tree), "LAKEFORGE_CDKTF_OUT": out},
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - start


def _job(tree: Path, bronze: Path) -> float:
    from local_runtime.batch import spark_submit

    with tempfile.TemporaryDirectory(prefix="bench-b2s-") as work:
        paths = {"silver_path": "silver", "quarantine_path": "quarantine", "state_path": "state",
                 "reports_path": "reports"}
        from benchmarks.batch import pseudonymization_key

        args = ["--bronze_path", f"file://{bronze}/", "--pseudonymization_secret", pseudonymization_key()]
        for name, folder in paths.items():
            args += [f"--{name}", f"file://{work}/{folder}/"]
        result = spark_submit(f"bench-b2s-{tree.name}", tree / "glue_jobs" / "bronze_to_silver.py", args,
                              [tree / "build" / "glue" / "lakehouse.zip"], None, stream=False)
    if result.returncode != 0:
        raise RuntimeError(f"bronze -> silver failed in {tree}; log: {result.log}")
    return result.seconds


def _demo(tree: Path) -> dict:
    log = tree / ".state" / "logs" / "bench-demo.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        with open(log, "w") as fh:
            done = subprocess.run([sys.executable, "-m", "local_runtime.demo"], cwd=tree, env=_env(tree),
                                  stdout=fh, stderr=subprocess.STDOUT, check=False)
        wall = time.monotonic() - start
    finally:
        _run(tree, "-m", "local_runtime.services", "down", stdout=subprocess.DEVNULL)
    text = log.read_text()
    table = text[text.rfind("time per step:"):]
    steps = {DEMO_STEPS[label]: float(seconds) for label, seconds in _STEP.findall(table) if label in DEMO_STEPS}
    return {"wall": wall, "steps": steps, "apply_retried": "applying again" in text,
            "ok": done.returncode == 0 and "OK, every record accounted for" in text}


def _pairs(base: list[float], head: list[float]) -> dict:
    ratios = [h / b for b, h in zip(base, head)]
    return {"base_runs": base, "head_runs": head, "ratios": ratios, "base": statistics.median(base),
            "head": statistics.median(head), "ratio": statistics.median(ratios)}


def bench_baseline(base_rev: str, runs: int, demo_runs: int, job_runs: int = 0) -> dict:
    tree = _worktree(base_rev)
    head_rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip())
    for t in (tree, ROOT):
        _prepare(t)
    base, head = [], []
    _synth(tree), _synth(ROOT)  # warm-up: disk caches, jsii runtime cache
    for _ in range(runs):
        base.append(_synth(tree))
        head.append(_synth(ROOT))
    result = {"base": tree.name.removeprefix("base-"), "head": head_rev + (" + uncommitted changes" if dirty else ""),
              "synth": _pairs(base, head)}
    if job_runs:
        from benchmarks.batch import bronze_dataset

        bronze = bronze_dataset(5000)
        base_job, head_job = [], []
        for _ in range(job_runs):
            base_job.append(_job(tree, bronze))
            head_job.append(_job(ROOT, bronze))
        result["job"] = _pairs(base_job, head_job)
    if demo_runs:
        base_demo, head_demo = [], []
        for _ in range(demo_runs):
            base_demo.append(_demo(tree))
            head_demo.append(_demo(ROOT))
        result["demo_failed"] = [sum(not d["ok"] for d in base_demo), sum(not d["ok"] for d in head_demo)]
        result["demo_apply_retries"] = [sum(d["apply_retried"] for d in base_demo),
                                        sum(d["apply_retried"] for d in head_demo)]
        ok = [(b, h) for b, h in zip(base_demo, head_demo) if b["ok"] and h["ok"]]  # a failed run has no steps
        if ok:
            result["demo_wall"] = _pairs([b["wall"] for b, _ in ok], [h["wall"] for _, h in ok])
            result["demo_steps"] = {name: _pairs([b["steps"][name] for b, _ in ok], [h["steps"][name] for _, h in ok])
                                    for name in DEMO_STEPS.values()}
    return result


def baseline_block(result: dict, command: str) -> list[str]:
    rows = [("synth: `python main.py`, 3 stacks", result["synth"])]
    if "job" in result:
        rows.append(("bronze -> silver job alone: 5,000 records, local files, spark-submit", result["job"]))
    if "demo_wall" in result:
        rows.append(("demo: `python -m local_runtime.demo` on a fresh emulator, wall", result["demo_wall"]))
        rows += [(f"demo step: {name}", pairs) for name, pairs in result["demo_steps"].items()]
    lines = [BEGIN, "## Against a base revision", "",
             f"Written by `{command}` on {result['machine']['date']}: base `{result['base']}`, this checkout "
             f"`{result['head']}`, run in turns (base, this, base, this, ...) on one machine ({result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores, {result['machine']['memory_gb']} GB); ratio = this / base, pair "
             "by pair, median.", "",
             "| what | base median s | this median s | ratio (median) | runs: base; this |",
             "|---|---:|---:|---:|---|"]
    for name, p in rows:
        runs = f"{', '.join(f'{x:.1f}' for x in p['base_runs'])}; {', '.join(f'{x:.1f}' for x in p['head_runs'])}"
        lines.append(f"| {name} | {p['base']:.1f} | {p['head']:.1f} | {p['ratio']:.2f} | {runs} |")
    if "demo_failed" in result:
        (base_failed, head_failed), (base_retries, head_retries) = result["demo_failed"], result["demo_apply_retries"]
        lines += ["", f"Demo runs that did not end with every record accounted for (left out of the pairs above, "
                      f"with their partner): base {base_failed}, this {head_failed}. Runs whose `terraform apply` "
                      f"failed on an emulator error and was applied again (as `make deploy` does; the time includes "
                      f"it): base {base_retries}, this {head_retries}."]
    return lines + [END]


def keep_block(old_text: str) -> list[str]:
    """The baseline block of an existing BENCHMARKS.md (so rewriting the other sections keeps it)."""
    if BEGIN not in old_text or END not in old_text:
        return []
    return old_text[old_text.index(BEGIN):old_text.index(END) + len(END)].splitlines()


def replace_block(text: str, block: list[str]) -> str:
    if BEGIN in text and END in text:
        return text[:text.index(BEGIN)] + "\n".join(block) + text[text.index(END) + len(END):]
    return text.rstrip() + "\n\n" + "\n".join(block) + "\n"
