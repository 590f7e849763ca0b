"""A job that only starts its Spark session and stops: the fixed start-up cost of every spark-submit.

The batch benchmark runs it exactly as it runs the real jobs (same spark-submit, same shared-code zip,
same driver memory) and reports the jobs' throughput with and without this cost.
"""
from __future__ import annotations

import sys

from lakehouse.job import JobArgument, JobContract, start_job

CONTRACT = JobContract(name="noop_job", description="start a session, one trivial action, stop", arguments=())


def main(argv: list[str] | None = None) -> int:
    ctx = start_job(CONTRACT, argv)
    ctx.spark.range(1).count()  # the session is usable, as a job's first action needs it to be
    ctx.spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
