"""Serving benchmarks on the demo data set: the warehouse load rate and the local query API's latency.

The platform is brought up and filled exactly as ``make demo`` does (a subprocess running the demo: services,
synth, apply, stream, batch, the warehouse load; with ``LAKEFORGE_BENCH_RUNNING=1`` the platform a ``make demo``
left running is measured as it is); then, on that running platform:

* warehouse load: the published gold copy reloaded into the local PostgreSQL ``runs`` times by the deployed
  Glue job ``warehouse_load`` (``--force true``: staging, row checks, the swap in one transaction), run as
  the workflow runs it (:func:`local_runtime.warehouse_local.load_local_warehouse`: spark-submit of the
  deployed script, its start included); rows per second = rows in the star / seconds of one reload;
* query API: ``requests`` sequential calls of each KPI's first page (100 rows, no filter, then the demo's
  example filters) through the deployed HTTP API over plain HTTP, with the bearer token, as a client calls it
  (API Gateway -> Lambda authorizer -> query function -> Athena in the emulator); latency median and 99th
  percentile, and requests per second of one client and of four clients at once.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from local_runtime.paths import ROOT


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench_serving(runs: int, requests: int = 40, bring_up: bool = True) -> list[dict]:
    """The serving rows of BENCHMARKS.md; ``bring_up=False`` measures the platform ``make demo`` left running."""
    from environments import load_environment
    from local_runtime import query_api
    from local_runtime.services import ensure_emulator
    from local_runtime.stacks import local_env, outputs, stack_dir
    from local_runtime.warehouse_local import load_local_warehouse
    from queries import kpi as kpis

    if bring_up:
        print("[bench] serving: the demo brings the platform up and loads the warehouse", flush=True)
        subprocess.run([sys.executable, "-m", "local_runtime.demo"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    endpoint = ensure_emulator().endpoint
    out = outputs(stack_dir("local"), local_env(endpoint))
    results = []

    seconds, rows = [], 0
    for _ in range(runs):
        start = time.monotonic()
        loaded = load_local_warehouse(endpoint, out, force=True, log=lambda line: None)
        seconds.append(time.monotonic() - start)
        rows = sum(loaded.counts.values())
    rates = [rows / s for s in seconds]
    results.append({"name": "warehouse load (demo gold)", "unit": "rows/s", "runs": rates,
                    "median": statistics.median(rates),
                    "what": f"{rows:,} rows in 11 tables from the emulator's S3 into PostgreSQL by the deployed "
                            f"Glue job (spark-submit start included): staging (COPY FROM STDIN), row checks, swap "
                            f"in one transaction; median {statistics.median(seconds):.1f}s"})

    config = load_environment("local")
    token = query_api.token(endpoint, config)
    paths = [f"/kpis/{k.name}?limit=100" for k in kpis.kpis()] + [query_api.EXAMPLE_PATH]

    def call(path: str, allowed: tuple[int, ...] = (200,)) -> tuple[float, int]:
        start = time.monotonic()
        status, _ = query_api.get(endpoint, out["api_id"], path, token)
        elapsed = time.monotonic() - start
        if status not in allowed:
            raise RuntimeError(f"GET {path}: {status}")
        return elapsed, status

    for path in paths:  # warm: each KPI once (the function's first call starts its container)
        call(path)
    order = [paths[i % len(paths)] for i in range(requests * len(paths))]
    start = time.monotonic()
    latencies = [call(p)[0] for p in order]
    one_client = len(order) / (time.monotonic() - start)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:  # the stage throttles (429) past its limits: count them
        statuses = [status for _, status in pool.map(lambda p: call(p, (200, 429)), order)]
    four_clients = statuses.count(200) / (time.monotonic() - start)
    throttled = statuses.count(429)
    ms = [x * 1000 for x in latencies]
    what = (f"{len(order)} GET calls over the {len(paths)} KPI pages (first 100 rows; and the example filters), "
            "API Gateway -> Lambda authorizer -> query function -> Athena (DuckDB) in the emulator, plain HTTP")
    results.append({"name": "query API latency, median", "unit": "ms", "runs": [statistics.median(ms)],
                    "median": statistics.median(ms), "what": what})
    results.append({"name": "query API latency, p99", "unit": "ms", "runs": [_percentile(ms, 0.99)],
                    "median": _percentile(ms, 0.99), "what": "same calls, 99th percentile"})
    results.append({"name": "query API, one client", "unit": "requests/s", "runs": [one_client],
                    "median": one_client, "what": "same calls one after another"})
    results.append({"name": "query API, four clients", "unit": "requests/s", "runs": [four_clients],
                    "median": four_clients,
                    "what": f"same calls from four threads at once: answered (200) per second; {throttled} of "
                            f"{len(order)} throttled (429: the function's reserved concurrency and the stage's limits)"})
    return results
