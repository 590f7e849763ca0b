"""The production sizing of BENCHMARKS.md (``benchmarks/sizing.py``): its arithmetic, and the section written from
stored results."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import sizing

LATEST = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "latest.json"


def test_the_glue_plan_fits_the_window_with_one_driver_worker():
    plan = sizing.glue_plan(100_000_000, rate=5000, window_s=1800, worker_dpu=2)
    assert plan["vcpu_seconds"] == pytest.approx(20_000)
    executors = plan["workers"] - 1
    assert plan["seconds"] <= 1800 and 20_000 / ((executors - 1) * 8) > 1800  # the fewest executors that fit
    assert plan["dpu_hours"] == pytest.approx(plan["workers"] * 2 * plan["seconds"] / 3600)


def test_shards_follow_the_peak_records_or_bytes_whichever_binds():
    assert sizing.stream_plan(86_400_000, record_bytes=375)["shards"] == 10  # 1,000/s average, 10x peak
    assert sizing.stream_plan(86_400_000, record_bytes=5_000)["shards"] == 50  # 10,000/s x 5 KB = 50 MB/s
    assert sizing.stream_plan(1, record_bytes=1)["shards"] == 1


def test_the_section_is_written_from_the_stored_results_with_its_sources():
    stored = json.loads(LATEST.read_text())
    lines = sizing.sizing_section(stored)
    text = "\n".join(lines)
    assert lines[0] == "## Sizing the production path (on paper)"
    assert all(f"| {n:,} |" in text for n in sizing.DAILY_RECORDS)
    assert all(fact.source in text for fact in sizing.AWS.values())
    assert text.count("- Assumption:") == len(sizing.ASSUMPTIONS)
    assert sizing.sizing_section({k: v for k, v in stored.items() if k != "batch"}) == []
