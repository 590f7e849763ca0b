"""The batch benchmark's verdicts on issue 11's targets, from the medians of runs that measured the floor beside
the jobs (benchmarks/batch.py)."""
from __future__ import annotations

from benchmarks.batch import _against_target


def _row(n, floor, b2s, s2g, b2s_mb=1000.0):
    return {"rows": n, "floor_s": floor, "b2s_s": b2s, "s2g_s": s2g, "b2s_mb": b2s_mb, "driver_memory": "2g"}


def test_each_target_is_judged_at_its_size():
    lines = "\n".join(_against_target([_row(100_000, 10.0, 30.0, 20.0), _row(1_000_000, 20.0, 50.0, 45.0, 3000.0),
                                       _row(5_000_000, 60.0, 151.0, 90.0)]))
    assert "100,000 rows: silver→gold 20.0 s = 2.00x the floor's 10.0 s (target at most 2.0x: **met**)" in lines
    assert "1,000,000 rows: bronze→silver 50.0 s = 2.50x the floor's 20.0 s (target at most 2.5x: **met**)" in lines
    assert "peak memory 3,000 MB with driver memory 2g (target at most 3,072 MB: **met**)" in lines
    assert "silver→gold 45.0 s = the floor + 25.0 s (target at most the floor + 25 s: **met**)" in lines
    assert "5,000,000 rows: bronze→silver 151.0 s = 2.52x the floor's 60.0 s (target at most 2.5x: **not met**)" in lines
    assert "100,000 rows: bronze→silver" not in lines  # no target at that size


def test_misses_are_reported():
    lines = "\n".join(_against_target([_row(100_000, 10.0, 30.0, 20.5), _row(1_000_000, 20.0, 51.0, 45.5, 3100.0)]))
    assert lines.count("**not met**") == 4
    assert _against_target([{"rows": 1_000_000, "b2s_s": 1.0, "s2g_s": 1.0}]) == []  # no floor measured: no verdict
