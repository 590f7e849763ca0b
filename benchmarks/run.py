"""`make bench`: measure, and write BENCHMARKS.md with the machine and the command.

Sections (all by default; ``--only a,b`` to pick):
- ``synth``: ``python main.py`` (cdktf synth of every environment), wall seconds, one fresh process a run;
- ``apply``: ``terraform apply`` of the synthesized local stack onto a fresh ministack, wall seconds;
- ``handler``: the ingest Lambda handler in-process on 10,000 generated records (10% bad), records/s,
  once with a null S3 sink (the handler's own cost) and once writing to the emulator's S3;
- ``kafka``: the local MSK path, producer -> Kafka -> the local mapping -> the deployed ``ingest_msk`` on the
  emulator -> S3, records/s and produce-to-bronze latency, beside the ingest handlers writing to that S3
  directly in the same run (see kafka.py);
- ``batch``: bronze→silver and silver→gold Spark jobs on local[2] at several sizes (see batch.py);
- ``loop``: the everyday commands, wall seconds: ``make synth`` with nothing changed, the first ``make demo``
  (services stopped, no synth stamp: what a fresh clone runs after ``make install``) and ``make demo`` on the
  running platform it leaves;
- ``baseline`` (only when asked for, with ``--base REV``): synth, and with ``--demo-runs N`` the demo, of this
  checkout against a base revision, in turns (see baseline.py).
Each figure is the median of several runs; every run is listed.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from local_runtime.paths import ROOT, stack_dir

RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    tf = subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1), "os": platform.platform(),
            "python": platform.python_version(), "java": java, "terraform": tf,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def bench_synth(runs: int) -> dict:
    times = []
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, LAKEFORGE_CDKTF_OUT=out)
        for _ in range(runs):
            start = time.monotonic()
            subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.monotonic() - start)
    return {"name": "synth", "unit": "s", "runs": times, "median": statistics.median(times),
            "what": "python main.py (3 stacks, one process, bindings imported once)"}


def bench_apply(runs: int) -> dict:
    from local_runtime import stacks
    from local_runtime.services import free_port, start_ministack, stop_ministack
    source = stack_dir("local")
    if not (source / "cdk.tf.json").exists():
        subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    times, resources = [], 0
    for _ in range(runs):
        port = free_port()
        emu = start_ministack(port)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp) / "stack"
                shutil.copytree(source, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
                env = stacks.local_env(emu.endpoint)
                stacks.init(work, env, backend_config={"path": str(Path(tmp) / "bench.tfstate")})
                times.append(stacks.apply(work, env, {"aws_endpoint": emu.endpoint},
                                          attempts=stacks.LOCAL_APPLY_ATTEMPTS))
                state = json.loads((Path(tmp) / "bench.tfstate").read_text())
                resources = sum(1 for r in state["resources"] if r["mode"] == "managed")
        finally:
            stop_ministack(port, remove_data=True)
    return {"name": "local apply", "unit": "s", "runs": times, "median": statistics.median(times),
            "what": f"terraform apply of the local stack ({resources} resources) onto a fresh ministack "
                    f"(a failed apply is re-run once, as `make deploy` does; the time includes it)"}


class _NullS3:
    """Writes discarded, nothing ever stored."""

    def put_object(self, **_kwargs):
        return {}

    def list_objects_v2(self, **_kwargs):
        return {"Contents": [], "IsTruncated": False}


class _NoListS3:
    """The emulator's S3 with the stored-range list answered empty: the ingest without its exactly-once check
    (what that check costs, side by side)."""

    def __init__(self, s3) -> None:
        self.s3 = s3

    def put_object(self, **kwargs):
        return self.s3.put_object(**kwargs)

    def list_objects_v2(self, **_kwargs):
        return {"Contents": [], "IsTruncated": False}


def bench_handler(runs: int, records: int = 10_000) -> list[dict]:
    from sample_data import generate, to_kinesis_event
    from local_runtime.lake import client
    from local_runtime.services import free_port, start_ministack, stop_ministack
    os.environ.update({"BRONZE_BUCKET": "bench-bronze", "QUARANTINE_BUCKET": "bench-quarantine",
                       "LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
                       "POWERTOOLS_SERVICE_NAME": "bench"})
    from lambda_src.ingest import app
    data = generate(records, seed=11, bad_share=0.1)
    batch = 100  # the event source mapping's default batch size

    def events(shard: int) -> list[dict]:
        """The records as Lambda delivers them from shard ``shard`` (a fresh shard: nothing stored yet)."""
        return [to_kinesis_event(data[i:i + batch], shard_id=f"shardId-{shard:012d}", first_sequence=10**20 + i * 10)
                for i in range(0, records, batch)]

    def run_all(handler, delivered: list[dict]) -> float:
        start = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            for event in delivered:
                handler(event, None)
        return records / (time.monotonic() - start)

    results = []
    null_handler = app.handler_for(_NullS3())
    run_all(null_handler, events(0))  # warm-up: compiles the validators
    null_rates = [run_all(null_handler, events(0)) for _ in range(runs)]
    results.append({"name": "ingest handler, null S3 sink", "unit": "records/s", "runs": null_rates,
                    "median": statistics.median(null_rates),
                    "what": f"{records:,} records (10% bad) in batches of {batch}, in-process, S3 writes discarded"})
    port = free_port()
    emu = start_ministack(port)
    rates: dict[str, list[float]] = {"first": [], "unchecked": [], "again": []}
    try:
        s3 = client("s3", emu.endpoint)
        for bucket in ("bench-bronze", "bench-quarantine"):
            s3.create_bucket(Bucket=bucket)
        emu_handler, unchecked = app.handler_for(s3), app.handler_for(_NoListS3(s3))
        for run in range(runs):  # in turns, each on fresh shards
            rates["unchecked"].append(run_all(unchecked, events(1000 + run)))
            delivered = events(2000 + run)
            rates["first"].append(run_all(emu_handler, delivered))
            rates["again"].append(run_all(emu_handler, delivered))
    finally:
        stop_ministack(port, remove_data=True)
    ratio = statistics.median(rates["unchecked"]) / statistics.median(rates["first"])
    results.append({"name": "ingest handler, emulator S3", "unit": "records/s", "runs": rates["first"],
                    "median": statistics.median(rates["first"]),
                    "what": "same, writing every object to ministack's S3 over HTTP, each record once (one "
                            "list of the stored ranges per object)"})
    results.append({"name": "ingest handler, emulator S3, no exactly-once list", "unit": "records/s",
                    "runs": rates["unchecked"], "median": statistics.median(rates["unchecked"]),
                    "what": f"same without the stored-range list, in turns with the line above: exactly once "
                            f"costs {ratio:.2f}x the time"})
    results.append({"name": "ingest handler, emulator S3, redelivered", "unit": "records/s", "runs": rates["again"],
                    "median": statistics.median(rates["again"]),
                    "what": "the same batches delivered again: every record found stored and skipped"})
    return results


DEMO_RUNNING_TARGET_S, DEMO_FIRST_TARGET_S, SYNTH_NOOP_TARGET_S = 90, 180, 2  # issue 11


def bench_loop(runs: int) -> list[dict]:
    """``make synth`` with nothing changed, the first ``make demo`` and ``make demo`` on a running platform."""
    from bundling.synth import STAMP

    def timed(target: str) -> float:
        start = time.monotonic()
        subprocess.run(["make", "--no-print-directory", target], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return time.monotonic() - start

    def verdict(value: float, target: float) -> str:
        return f"target under {target} s: {'met' if value < target else 'not met'}"

    timed("synth")  # whatever changed since the last synth
    synth = [timed("synth") for _ in range(max(runs, 3))]
    subprocess.run(["make", "--no-print-directory", "down"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    STAMP.unlink(missing_ok=True)
    first = [timed("demo")]
    running = [timed("demo") for _ in range(max(runs - 1, 2))]
    rows = [("make synth, nothing changed", synth, SYNTH_NOOP_TARGET_S,
             "the inputs' fingerprint matches build/synth.stamp: nothing is synthesized"),
            ("make demo, first", first, DEMO_FIRST_TARGET_S,
             "after make down and without the synth stamp (a fresh clone after make install): services start, "
             "synth, terraform apply on a fresh emulator, the whole demo"),
            ("make demo, running platform", running, DEMO_RUNNING_TARGET_S,
             "right after the line above: synth and apply skipped (nothing changed), the whole demo")]
    return [{"name": name, "unit": "s", "runs": values, "median": statistics.median(values),
             "what": f"{what}; {verdict(statistics.median(values), target)}"}
            for name, values, target, what in rows]


TEST_CLEAN_CLONE_TARGET_S = 12 * 60  # issue 11: make test on a clean clone, install included
_PYTEST_SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[0-9.]+)s\b.*=+$", re.M)


def pytest_summary(output: str) -> dict:
    """The counts (``passed``, ``failed``, ...) and seconds of pytest's last summary line in ``output``."""
    found = list(_PYTEST_SUMMARY.finditer(output))
    if not found:
        raise ValueError("no pytest summary line in the output")
    last = found[-1]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", last["counts"])}
    return {"counts": counts, "seconds": float(last["seconds"])}


def bench_suite() -> list[dict]:
    """``make test`` as CI runs it: a clean clone of this checkout's HEAD, then ``.ci/run`` (``make install``,
    ``make test``), timed as a whole."""
    with tempfile.TemporaryDirectory(prefix="lakeforge-clone-") as tmp:
        # a temporary folder is 0700: PostgreSQL runs as its own user (runuser) from the clone's .state
        os.chmod(tmp, 0o755)
        clone = Path(tmp) / "lakeforge"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True, capture_output=True,
                              text=True).stdout.strip()
        start = time.monotonic()
        proc = subprocess.run([str(clone / ".ci" / "run")], cwd=clone, capture_output=True, text=True)
        seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f".ci/run failed on a clean clone (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    summary = pytest_summary(proc.stdout)
    counts = ", ".join(f"{n:,} {kind}" for kind, n in summary["counts"].items())
    met = "met" if seconds < TEST_CLEAN_CLONE_TARGET_S else "not met"
    return [{"name": "make test, clean clone", "unit": "s", "runs": [round(seconds, 1)], "median": seconds,
             "what": f"git clone of HEAD ({head}), then .ci/run as CI runs it (make install, make test): {counts}, "
                     f"pytest {summary['seconds']:,.0f} s of it; target under {TEST_CLEAN_CLONE_TARGET_S} s, "
                     f"install included: {met}"}]


def _serving(runs: int) -> list[dict]:
    from benchmarks.serving import bench_serving
    return bench_serving(runs, bring_up=os.environ.get("LAKEFORGE_BENCH_RUNNING") != "1")


def _kafka(runs: int) -> list[dict]:
    from benchmarks.kafka import bench_kafka
    return bench_kafka(runs)


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f}" if unit in ("records/s", "rows/s") or value >= 1000 else f"{value:.1f}"


def write_markdown(results: list[dict], info: dict, command: str, extra_sections: list[str]) -> Path:
    lines = ["# Benchmarks", "",
             f"Written by `{command}`, last on {info['date']}; each figure's row says when it was measured. Figures are "
             "medians of the runs listed; rerun a section alone to refresh it (`--only`).",
             "", "## Machine", "",
             f"- CPU: {info['cpu']} ({info['cores']} cores), memory {info['memory_gb']} GB",
             f"- {info['os']}; Python {info['python']}; {info['java']}; {info['terraform']}", "",
             "## Platform", "", "| benchmark | median | unit | runs | what | measured |", "|---|---:|---|---|---|---|"]
    for r in results:
        runs = ", ".join(_fmt(v, r["unit"]) for v in r["runs"])
        lines.append(f"| {r['name']} | {_fmt(r['median'], r['unit'])} | {r['unit']} | {runs} | {r['what']} | "
                     f"{r.get('measured', 'before dates were kept')} |")
    lines.append("")
    lines.extend(extra_sections)
    out = ROOT / "BENCHMARKS.md"
    from benchmarks.baseline import keep_block
    kept = keep_block(out.read_text()) if out.exists() else []
    out.write_text("\n".join(lines + ([""] + kept if kept else [])).rstrip() + "\n")
    return out


def _store(section: str, value) -> dict:
    """Keep each section's latest result in benchmarks/results/latest.json (committed with BENCHMARKS.md, which
    is written from it), so a section rerun alone keeps the others, each with the date it was measured."""
    path = RESULTS / "latest.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[section] = value
    path.write_text(json.dumps(stored, indent=2) + "\n")
    return stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lakeforge benchmarks")
    parser.add_argument("--only", default="synth,apply,handler,kafka,serving,loop,suite,batch")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="100000,1000000,5000000", help="batch sizes (rows)")
    parser.add_argument("--base", default="", help="baseline: the git revision to compare this checkout with")
    parser.add_argument("--demo-runs", type=int, default=0, help="baseline: demo runs per tree (0: none)")
    parser.add_argument("--job-runs", type=int, default=0, help="baseline: bronze->silver job runs per tree (0: none)")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = "make bench" if not argv and len(sys.argv) == 1 else "python -m benchmarks.run " + " ".join(argv or sys.argv[1:])
    stored = _store("machine", machine())
    sections = {"synth": lambda: [bench_synth(args.runs)], "apply": lambda: [bench_apply(args.runs)],
                "handler": lambda: bench_handler(max(args.runs, 5)), "kafka": lambda: _kafka(max(args.runs, 5)),
                "serving": lambda: _serving(args.runs), "loop": lambda: bench_loop(args.runs),
                "suite": bench_suite}
    for name, run in sections.items():
        if name in wanted:
            print(f"[bench] {name}", flush=True)
            results = run()
            for r in results:
                r["measured"] = stored["machine"]["date"]
                print(f"  {r['name']:32} median {_fmt(r['median'], r['unit'])} {r['unit']}", flush=True)
            stored = _store(name, {"command": command, "results": results})
            _write(stored)
    if "batch" in wanted:
        from benchmarks.batch import bench_batch
        print("[bench] batch jobs", flush=True)
        for size in [int(s) for s in args.sizes.split(",")]:
            rows = bench_batch([size], runs=args.runs, table=False)
            batch = stored.get("batch", {"command": command, "rows": {}})
            batch["rows"][str(size)] = {**rows[0], "measured": stored["machine"]["date"]}
            batch["command"] = command
            stored = _store("batch", batch)
            _write(stored)
    if "baseline" in wanted:
        from benchmarks.baseline import baseline_block, bench_baseline, replace_block
        if not args.base:
            raise SystemExit("--only baseline needs --base REV")
        print(f"[bench] against {args.base}", flush=True)
        result = bench_baseline(args.base, args.runs, args.demo_runs, args.job_runs)
        result["machine"] = stored["machine"]
        _store("baseline", result)
        out = ROOT / "BENCHMARKS.md"
        out.write_text(replace_block(out.read_text() if out.exists() else "# Benchmarks\n",
                                     baseline_block(result, command)))
    print(f"[bench] wrote {ROOT / 'BENCHMARKS.md'}")
    return 0


def _write(stored: dict) -> None:
    from benchmarks.batch import batch_table
    results, commands = [], []
    for name in ("synth", "apply", "handler", "kafka", "serving", "loop", "suite"):
        if name in stored:
            results += stored[name]["results"]
            commands.append(stored[name]["command"])
    extra = batch_table(sorted(stored["batch"]["rows"].values(), key=lambda r: r["rows"])) if "batch" in stored else []
    if "kafka" in stored:
        from benchmarks.kafka import kafka_section
        extra = kafka_section(stored["kafka"]) + extra
    from benchmarks.sizing import sizing_section
    extra = extra + sizing_section(stored)
    if "batch" in stored:
        commands.append(stored["batch"]["command"])
    write_markdown(results, stored["machine"], " / ".join(dict.fromkeys(commands)), extra)


if __name__ == "__main__":
    raise SystemExit(main())
