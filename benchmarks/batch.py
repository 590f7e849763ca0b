"""Batch benchmark: bronze -> silver and silver -> gold on local[2] at several sizes.

For each size N, N generated records (``sample_data``, seed 7, all valid) are written once
as bronze JSON lines in the stream's layout under ``.cache/bench/bronze-N`` (reused by later runs), then
the real job scripts run with ``spark-submit`` (local[2], the shared-code zip on ``--py-files``), on
the local file system so the figure is Spark's, not the emulator's S3. Each run starts from an empty
silver/gold. Wall time covers the whole spark-submit (JVM start included); peak memory is the sum of
the proportional set sizes of every process of the run (driver JVM + Python; shared pages counted once),
sampled every 0.2 s.

Start-up: every spark-submit pays a fixed cost (JVM, Python workers, SparkSession) before it reads a row.
It is measured with the same spark-submit of ``benchmarks/noop_job.py`` (a session that runs one trivial
action and stops), and the table shows rows/s both from the wall time and from the wall time minus
that start-up (the job's own processing, what a warm session such as Glue's would see).
"""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

from data_contracts import layout
from local_runtime.paths import CACHE, ROOT

BENCH = CACHE / "bench"
DRIVER_MEMORY = {100_000: "2g", 1_000_000: "2g"}  # 1M runs in a 2g driver (measured); larger sizes 8g
SHARD_ID = "shardId-000000000000"   # the one shard the benchmark's bronze data set comes from
INGEST_DATE = "2026-11-01"


def pseudonymization_key() -> str:
    """``file://`` URI of a random key for bronze->silver's ``--pseudonymization_secret`` (what the deployed
    job reads from Secrets Manager), made once under the benchmark cache."""
    path = BENCH / "pseudonymization.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return f"file://{path}"


def _pss_bytes(pid: int) -> int | None:
    """The process's proportional set size: its private pages plus its share of the pages it shares (a forked
    Python worker shares most of its pages with the daemon it was forked from; RSS would count them in each)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _descendants(root_pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found.append(child)
                frontier.append(child)
    return found


def _children_memory_mb(root_pid: int) -> float:
    """Memory of every process below ``root_pid`` (the run's spark-submit JVM, its Python driver, the Python
    worker daemon and workers), as the sum of their proportional set sizes: pages shared between processes
    counted once."""
    return sum(_pss_bytes(pid) or 0 for pid in _descendants(root_pid)) / 2**20


class PeakMemory:
    def __enter__(self):
        self.peak, self._stop = 0.0, threading.Event()

        def sample():
            while not self._stop.is_set():
                self.peak = max(self.peak, _children_memory_mb(os.getpid()))
                time.sleep(0.2)
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def bronze_dataset(n: int) -> Path:
    """Write (once) n generated records as bronze JSON lines; returns the bronze root."""
    root = BENCH / f"bronze-{n}"
    done = root / "_SUCCESS"
    if done.exists():
        return root
    from sample_data import generate
    print(f"[bench] generating {n:,} records into {root}", flush=True)
    records = generate(n, seed=7)
    files: dict[tuple[str, str], list[str]] = {}
    for i, record in enumerate(records):
        env = json.loads(record.payload)
        line = json.dumps({"event": env, "ingest": {
            "arrival_time": f"{INGEST_DATE}T00:00:00Z", "partition_key": record.partition_key,
            "sequence_number": str(10**20 + i), "shard_id": SHARD_ID}},
            separators=(",", ":"), sort_keys=True)
        files.setdefault((env["source"], env["entity"]), []).append(line)
    del records
    chunk = 200_000
    for (source, entity), lines in files.items():
        folder = root / layout.bronze_partition_prefix(source, entity, INGEST_DATE)
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(0, len(lines), chunk):
            part = lines[k:k + chunk]
            name = layout.stream_object_name(SHARD_ID, f"{10**20 + k:021d}", f"{10**20 + k + len(part) - 1:021d}")
            (folder / name).write_text("\n".join(part) + "\n")
    done.write_text("")
    return root


def _run(name: str, script: str, args: list[str], driver_memory: str) -> tuple[float, float]:
    from bundling.glue_libs import build_glue_libs
    from local_runtime.batch import spark_submit
    with PeakMemory() as mem:
        result = spark_submit(name, ROOT / script, args, [build_glue_libs()], None, driver_memory=driver_memory,
                              shuffle_partitions=8, stream=False)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed; log: {result.log}")
    return result.seconds, mem.peak


def startup_seconds(runs: int = 3, driver_memory: str = "4g") -> list[float]:
    """Wall seconds of spark-submit for a job that only starts its session (see the module docstring)."""
    return [_run("bench-noop", "benchmarks/noop_job.py", [], driver_memory)[0] for _ in range(runs)]


def bench_batch(sizes: list[int], runs: int = 3, table: bool = True):
    import shutil
    rows = []
    startup = startup_seconds()
    for n in sizes:
        bronze = bronze_dataset(n)
        memory = DRIVER_MEMORY.get(n, "8g")
        b2s_t, s2g_t, b2s_m, s2g_m, floor_t = [], [], [], [], []
        # fewer repetitions at the large sizes (a 5M-row run takes minutes); every run is listed. Each run
        # measures the floor, then the two jobs, so every ratio compares jobs that shared the machine's state.
        for r in range(runs if n <= 100_000 else min(runs, 2) if n <= 1_000_000 else 1):
            print(f"[bench] n={n:,} run {r + 1}: floor (parse and write only)", flush=True)
            floor_t.append(_run(f"bench-floor-{n}", "benchmarks/floor_job.py", [
                "--bronze_path", f"file://{bronze}/", "--out_path", f"file://{BENCH / f'floor-{n}'}/"], memory)[0])
            shutil.rmtree(BENCH / f"floor-{n}", ignore_errors=True)
            work = BENCH / f"work-{n}"
            shutil.rmtree(work, ignore_errors=True)
            common = [f"--reports_path", f"file://{work}/reports/"]
            print(f"[bench] n={n:,} run {r + 1}: bronze -> silver", flush=True)
            t, m = _run(f"bench-b2s-{n}", "glue_jobs/bronze_to_silver.py", [
                "--bronze_path", f"file://{bronze}/", "--silver_path", f"file://{work}/silver/",
                "--quarantine_path", f"file://{work}/quarantine/", "--state_path", f"file://{work}/state/",
                "--pseudonymization_secret", pseudonymization_key(), *common], memory)
            b2s_t.append(t), b2s_m.append(m)
            print(f"[bench] n={n:,} run {r + 1}: silver -> gold", flush=True)
            t, m = _run(f"bench-s2g-{n}", "glue_jobs/silver_to_gold.py", [
                "--silver_path", f"file://{work}/silver/", "--gold_path", f"file://{work}/gold/", *common], memory)
            s2g_t.append(t), s2g_m.append(m)
            shutil.rmtree(work, ignore_errors=True)
        b2s, s2g = statistics.median(b2s_t), statistics.median(s2g_t)
        rows.append({"rows": n, "b2s_s": b2s, "s2g_s": s2g, "b2s_runs": b2s_t, "s2g_runs": s2g_t,
                     "b2s_mb": max(b2s_m), "s2g_mb": max(s2g_m), "driver_memory": memory,
                     "startup_s": statistics.median(startup), "startup_runs": startup,
                     "floor_s": statistics.median(floor_t), "floor_runs": floor_t})
        print(f"[bench] n={n:,}: b2s {b2s:.1f}s, s2g {s2g:.1f}s, {n / (b2s + s2g):,.0f} rows/s end to end", flush=True)
    return batch_table(rows) if table else rows


def _processing(r: dict) -> float:
    """Seconds of the two jobs' own work: wall time minus one start-up per job."""
    return r["b2s_s"] + r["s2g_s"] - 2 * r.get("startup_s", 0.0)


def batch_table(rows: list[dict]) -> list[str]:
    startup = next((r for r in rows if "startup_s" in r), None)
    lines = ["## Batch lakehouse (local[2], local file system)", "",
             "Bronze rows = generated records (all valid; ~71% installments, 12% SUSEP, 8% policies, 7% customers, "
             "2% claims). Rows/s = bronze rows / wall seconds of the spark-submit (JVM start included). "
             "Peak memory = the summed proportional set size (PSS: shared pages counted once) of the run's "
             "processes (the spark-submit JVM, the Python driver, the Python workers), sampled every 0.2 s.", ""]
    if startup:
        lines += [f"Start-up of one spark-submit (`benchmarks/noop_job.py`: session, one trivial action, stop): "
                  f"median {startup['startup_s']:.1f} s ({', '.join(f'{x:.1f}' for x in startup['startup_runs'])}). "
                  "\"Processing\" = the two jobs' wall seconds minus one start-up each.", ""]
    lines += ["Floor = wall seconds of `benchmarks/floor_job.py`: parse every bronze line (envelope and data "
              "fields as text) and write it as Parquet, nothing else; no bronze→silver job can take less.", ""]
    lines += ["| bronze rows | bronze→silver s | rows/s | peak MB | silver→gold s | rows/s | peak MB | "
              "end to end rows/s (wall) | end to end rows/s (processing) | floor s | driver memory | runs (floor; b2s; s2g) | "
              "measured |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in rows:
        n = r["rows"]
        processing = f"{n / _processing(r):,.0f}" if "startup_s" in r else "not measured"
        floor = f"{r['floor_s']:.1f}" if "floor_s" in r else "not measured"
        lines.append(
            f"| {n:,} | {r['b2s_s']:.1f} | {n / r['b2s_s']:,.0f} | {r['b2s_mb']:,.0f} | {r['s2g_s']:.1f} | "
            f"{n / r['s2g_s']:,.0f} | {r['s2g_mb']:,.0f} | {n / (r['b2s_s'] + r['s2g_s']):,.0f} | {processing} | "
            f"{floor} | {r['driver_memory']} | "
            f"{', '.join(f'{x:.1f}' for x in r.get('floor_runs', []))}; "
            f"{', '.join(f'{x:.1f}' for x in r['b2s_runs'])}; {', '.join(f'{x:.1f}' for x in r['s2g_runs'])} | "
            f"{r.get('measured', 'before dates were kept')} |")
    if len(rows) >= 2:
        lines.append("")
        for a, b in zip(rows, rows[1:]):
            wall = (b["b2s_s"] + b["s2g_s"]) / (a["b2s_s"] + a["s2g_s"])
            text = (f"Scaling {a['rows']:,} → {b['rows']:,}: {b['rows'] / a['rows']:.0f}x the rows cost "
                    f"{wall:.2f}x the wall time")
            if "startup_s" in a and "startup_s" in b:
                text += f", {_processing(b) / _processing(a):.2f}x the processing time"
            lines.append(text + ".")
    lines += _against_target(rows)
    lines.append("")
    return lines


# Issue 11: the batch path against the floor job measured in the same runs (no absolute rate: the machine's
# floor is what Spark can do here).
B2S_FLOOR_RATIO = 2.5          # bronze->silver at most 2.5x the floor, at 1M and 5M rows
B2S_PEAK_MB_AT_1M = 3 * 1024   # peak memory of bronze->silver at 1M rows
S2G_FLOOR_RATIO_AT_100K = 2.0  # silver->gold at most 2x the floor at 100k rows
S2G_FLOOR_PLUS_AT_1M = 25.0    # silver->gold at most the floor + 25 s at 1M rows


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _against_target(rows: list[dict]) -> list[str]:
    """The issue-11 targets, from the medians of the runs (each run measured the floor beside the jobs)."""
    out = []
    for r in rows:
        if "floor_s" not in r:
            continue
        n, floor = r["rows"], r["floor_s"]
        b2s_ratio, s2g_ratio = r["b2s_s"] / floor, r["s2g_s"] / floor
        if n in (1_000_000, 5_000_000):
            out.append(f"- {n:,} rows: bronze→silver {r['b2s_s']:.1f} s = {b2s_ratio:.2f}x the floor's {floor:.1f} s "
                       f"(target at most {B2S_FLOOR_RATIO}x: {_verdict(b2s_ratio <= B2S_FLOOR_RATIO)})")
        if n == 1_000_000:
            out.append(f"- 1,000,000 rows: bronze→silver peak memory {r['b2s_mb']:,.0f} MB with driver memory "
                       f"{r['driver_memory']} (target at most {B2S_PEAK_MB_AT_1M:,} MB: "
                       f"{_verdict(r['b2s_mb'] <= B2S_PEAK_MB_AT_1M)})")
            out.append(f"- 1,000,000 rows: silver→gold {r['s2g_s']:.1f} s = the floor + {r['s2g_s'] - floor:.1f} s "
                       f"(target at most the floor + {S2G_FLOOR_PLUS_AT_1M:.0f} s: "
                       f"{_verdict(r['s2g_s'] - floor <= S2G_FLOOR_PLUS_AT_1M)})")
        if n == 100_000:
            out.append(f"- 100,000 rows: silver→gold {r['s2g_s']:.1f} s = {s2g_ratio:.2f}x the floor's {floor:.1f} s "
                       f"(target at most {S2G_FLOOR_RATIO_AT_100K}x: {_verdict(s2g_ratio <= S2G_FLOOR_RATIO_AT_100K)})")
    if out:
        out = ["", "Targets (issue 11; the floor measured in the same runs as the jobs, medians):", ""] + out
    return out
