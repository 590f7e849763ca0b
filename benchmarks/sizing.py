"""Sizing the production path on paper (issue 11): from the per-core rates measured here (the stored benchmark
results) and AWS's documented capacities, what 10 million and 100 million records a day need in Glue, Kinesis,
Lambda and Redshift, set beside what ``environments/prod.toml`` deploys, and where the first bottleneck would be.

Every number is one of: measured here (named with its BENCHMARKS.md row), documented by AWS (:data:`AWS`, with
the page), an assumption (:data:`ASSUMPTIONS`, stated as such), or arithmetic on those. ``make bench`` writes the
section from the latest stored results; nothing here runs a benchmark.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

DAILY_RECORDS = (10_000_000, 100_000_000)


@dataclass(frozen=True)
class Fact:
    value: float
    text: str
    source: str


AWS = {
    "dpu_vcpu": Fact(4, "vCPUs per DPU (G.1X = 1 DPU, G.2X = 2 DPU; one Spark executor per worker)",
                     "https://docs.aws.amazon.com/glue/latest/dg/worker-types.html"),
    "dpu_memory_gb": Fact(16, "GB of memory per DPU", "https://docs.aws.amazon.com/glue/latest/dg/worker-types.html"),
    "shard_records": Fact(1000, "records/s written per Kinesis shard (and 1 MB/s)",
                          "https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html"),
    "shard_bytes": Fact(1_000_000, "bytes/s written per Kinesis shard",
                        "https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html"),
    "on_demand_records": Fact(4000, "records/s an on-demand stream takes before it has seen a higher peak (4 MB/s; "
                                    "it then adapts to double its previous peak)",
                              "https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html"),
    "rpu_storage_tb": Fact(32, "TB of data a 4-RPU Redshift Serverless base capacity is meant for (8-24 RPU: "
                               "128 TB; more needs at least 32 RPU)",
                           "https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html"),
}
"""AWS's documented capacities this section uses."""

ASSUMPTIONS = {
    "peak_factor": Fact(10, "peak event rate / the day's average rate (ERP business hours, month-end SUSEP files); "
                            "an assumption, not measured", "assumption"),
    "batch_window_s": Fact(3600, "seconds the nightly bronze->silver->gold run may take (the workflow starts at "
                                 "03:00 UTC)", "assumption"),
    "vcpu_per_core": Fact(1, "a Glue vCPU does the work of one core of this machine (an AMD EPYC vCPU); an "
                             "assumption: Glue's vCPUs are hyperthreads of unknown generation", "assumption"),
    "linear": Fact(1, "the per-core processing rate holds beyond the largest size measured here (it grew from "
                      "100k to 1M rows: fixed costs amortize), and Spark spreads the rows evenly over executors",
                   "assumption"),
}


def per_core_rates(batch_rows: dict, cores: int) -> dict[str, float]:
    """Rows per second per core of each job at the largest measured size, start-up excluded (processing time)."""
    largest = max(batch_rows.values(), key=lambda r: r["rows"])
    rows, startup = largest["rows"], largest["startup_s"]
    return {"rows": rows, "measured": largest.get("measured", ""),
            "b2s": rows / ((largest["b2s_s"] - startup) * cores),
            "s2g": rows / ((largest["s2g_s"] - startup) * cores)}


def glue_plan(records: int, rate: float, window_s: float, worker_dpu: int) -> dict[str, float]:
    """Workers of ``worker_dpu`` DPUs so that ``records`` at ``rate`` rows/s/vCPU fit in ``window_s`` (one worker
    is the driver), and the DPU-hours that run costs."""
    vcpu_seconds = records / (rate * ASSUMPTIONS["vcpu_per_core"].value)
    executor_vcpu = AWS["dpu_vcpu"].value * worker_dpu
    executors = max(1, math.ceil(vcpu_seconds / (executor_vcpu * window_s)))
    workers = executors + 1
    seconds = vcpu_seconds / (executors * executor_vcpu)
    return {"workers": workers, "seconds": seconds, "dpu_hours": workers * worker_dpu * seconds / 3600,
            "vcpu_seconds": vcpu_seconds}


def stream_plan(records: int, record_bytes: float) -> dict[str, float]:
    peak = records / 86_400 * ASSUMPTIONS["peak_factor"].value
    shards = max(math.ceil(peak / AWS["shard_records"].value),
                 math.ceil(peak * record_bytes / AWS["shard_bytes"].value), 1)
    return {"average": records / 86_400, "peak": peak, "shards": shards}


def record_sizes(sample: int = 20_000) -> tuple[float, int]:
    """Mean and largest payload bytes of the generator's records (valid ones, the mix ``make demo`` sends)."""
    from sample_data import generate

    sizes = [len(r.payload) for r in generate(sample, seed=3, bad_share=0.0)]
    return statistics.mean(sizes), max(sizes)


def sizing_section(stored: dict) -> list[str]:
    """The section's markdown, from the stored results (``batch`` and ``handler``) and ``environments/prod.toml``."""
    from environments import load_environment

    if "batch" not in stored or "handler" not in stored:
        return []
    prod = load_environment("prod")
    cores = stored["machine"]["cores"]
    rates = per_core_rates(stored["batch"]["rows"], cores)
    handler = {r["name"]: r for r in stored["handler"]["results"]}["ingest handler, emulator S3"]
    mean_bytes, max_bytes = record_sizes()
    worker_dpu = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}.get(prod.glue.worker_type, 1)
    window = ASSUMPTIONS["batch_window_s"].value
    lines = ["## Sizing the production path (on paper)", "",
             f"Written by `make bench` (`benchmarks/sizing.py`) from the figures above and AWS's documented "
             f"capacities; nothing here was run on AWS. Rates per core: the batch rows at {rates['rows']:,} rows "
             f"({rates['measured']}), processing time (wall time minus one spark-submit start-up) on this "
             f"machine's {cores} cores: bronze→silver {rates['b2s']:,.0f} rows/s/core, silver→gold "
             f"{rates['s2g']:,.0f} rows/s/core. Stream records: the generator's valid records, {mean_bytes:,.0f} "
             f"bytes on average, {max_bytes:,} at most (measured on 20,000). One ingest handler process wrote "
             f"{handler['median']:,.0f} records/s to the emulator's S3 (row \"ingest handler, emulator S3\").", "",
             "| records a day | Glue workers (%s) for a %d-minute nightly run (half per job) | DPU-hours a day | "
             "average → peak events/s | Kinesis shards at the peak | ingest Lambda concurrency | raw JSON a year |" % (
                 prod.glue.worker_type, window / 60),
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for records in DAILY_RECORDS:
        b2s = glue_plan(records, rates["b2s"], window / 2, worker_dpu)
        s2g = glue_plan(records, rates["s2g"], window / 2, worker_dpu)
        stream = stream_plan(records, mean_bytes)
        lines.append(
            f"| {records:,} | {max(b2s['workers'], s2g['workers'])} (b2s {b2s['seconds'] / 60:.1f} min, s2g "
            f"{s2g['seconds'] / 60:.1f} min) | {b2s['dpu_hours'] + s2g['dpu_hours']:.2f} | {stream['average']:,.0f} → "
            f"{stream['peak']:,.0f} | {stream['shards']} | {stream['shards']} | "
            f"{records * mean_bytes * 365 / 1e12:.1f} TB |")
    big = DAILY_RECORDS[-1]
    stream = stream_plan(big, mean_bytes)
    b2s = glue_plan(big, rates["b2s"], window / 2, worker_dpu)
    lines += [
        "",
        "Lambda concurrency = shards: one batch per shard at a time (the exactly-once rule keeps "
        "`parallelization_factor` at 1).",
        "",
        f"Against `environments/prod.toml`: Glue runs {prod.glue.number_of_workers} × {prod.glue.worker_type} "
        f"({'enough' if prod.glue.number_of_workers >= b2s['workers'] else 'too few'} for {big:,} a day in the "
        f"window); the stream is `{prod.kinesis.capacity_mode}`; the ingest function may run "
        f"{prod.lambda_.reserved_concurrency} at once (one per shard needed: "
        f"{'enough' if prod.lambda_.reserved_concurrency >= stream['shards'] else 'too few'}); Redshift Serverless "
        f"has {prod.redshift.base_capacity_rpus} base RPUs.",
        "",
        "Where the first bottleneck would be, at 100 million a day:",
        f"- **The stream's write capacity at the first peak.** {stream['peak']:,.0f} events/s at the assumed peak "
        f"is {stream['peak'] / AWS['on_demand_records'].value:.1f}x what a new on-demand stream takes "
        f"({AWS['on_demand_records'].value:,.0f} records/s) before it has adapted, so producers are throttled "
        f"(and retry) during the first peaks; {stream['shards']} provisioned shards, or warming the stream, avoid it. "
        f"Records are {mean_bytes:,.0f} bytes, so the 1,000 records/s per shard binds long before 1 MB/s.",
        f"- **Then the consumer per shard.** With one batch per shard at a time, a shard's {AWS['shard_records'].value:,.0f} "
        f"records/s must be written by one function; one handler wrote {handler['median']:,.0f} records/s to the "
        f"emulator's S3 (its per-object latency is lower than real S3's, so this margin of "
        f"{handler['median'] / AWS['shard_records'].value:.1f}x is optimistic and is the figure to measure first "
        f"on AWS, with `IteratorAgeMilliseconds`).",
        f"- **Not Glue:** the nightly run needs {b2s['vcpu_seconds'] / 3600:.1f} vCPU-hours for bronze→silver; "
        f"adding workers shortens it linearly (assumption below) and there is no shared resource in the jobs but S3.",
        f"- **Not Redshift storage:** {big * mean_bytes * 365 / 1e12:.1f} TB of raw JSON a year (columnar and "
        f"compressed, the star is smaller) stays under the {AWS['rpu_storage_tb'].value:.0f} TB a 4-RPU base "
        f"capacity is meant for; the base RPUs are for query concurrency, which nothing here measures.",
        "",
        "Sources and assumptions:",
        *(f"- {f.text}: {f.value:,.0f} ({f.source})" for f in AWS.values()),
        *(f"- Assumption: {f.text} ({f.value:,.0f})." for f in ASSUMPTIONS.values()),
        "",
    ]
    return lines
