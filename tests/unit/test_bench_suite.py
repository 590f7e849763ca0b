"""The clean-clone ``make test`` benchmark reads pytest's own summary line."""
from __future__ import annotations

import pytest

from benchmarks.run import pytest_summary

OUTPUT = """\
tests/unit/test_x.py ....                                               [100%]
============================= slowest 30 durations =============================
288.18s call     tests/e2e/test_crash_recovery.py::test_jobs_killed
=============== 1134 passed, 218 warnings in 1618.37s (0:26:58) ================
"""


def test_the_counts_and_seconds_of_the_last_summary_line():
    assert pytest_summary(OUTPUT) == {"counts": {"passed": 1134, "warnings": 218}, "seconds": 1618.37}


def test_failures_are_counted_too():
    out = "== 3 failed, 1131 passed, 2 errors in 12.50s ==\n"
    assert pytest_summary(out) == {"counts": {"failed": 3, "passed": 1131, "errors": 2}, "seconds": 12.5}


def test_an_output_without_a_summary_is_an_error():
    with pytest.raises(ValueError, match="no pytest summary"):
        pytest_summary("collected 0 items\nInterrupted\n")
