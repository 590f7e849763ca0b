"""The driver program of a warm local Spark: one ``spark-submit`` whose driver runs job scripts one after another.

Every spark-submit pays the JVM's start, the SparkSession's and the Python workers' (about 8 s here,
BENCHMARKS.md) before its job reads a row. The local runner (:class:`local_runtime.batch.JobHost`) starts this
program once and sends it the jobs of one run (the EMR steps, then the Glue jobs), each exactly as it would have
been submitted alone: the script fetched from where the deployment put it, the arguments merged from the deployed
definition, the shared code zip the deployment uploaded on ``--py-files``. Glue's and EMR's own workers also keep
their JVM warm between the steps of a run.

Protocol (standard library only; run by spark-submit, never imported by the stacks or the jobs):

* requests: the program's one argument is the path of a Unix socket the runner listens on (spark-submit does
  not pass its own stdin to a Python driver); one JSON request per line, ``{"name", "script", "args", "env"}``;
  ``env`` sets (or, with null, removes) variables for that job (the ``LAKEFORGE_*`` settings the caller has at
  that moment). The runner closing the connection ends the host.
* the job's own output goes to stdout/stderr as it would under spark-submit (which sends the Python driver's
  stderr to its stdout); then one line ``<MARK> <name> <exit code> <seconds>`` on stdout, after both
  streams are flushed, so everything before it is the job's.

Each job runs as ``__main__`` (``runpy``) with ``sys.argv = [script, *args]`` and the script's folder first on
``sys.path``. ``SystemExit`` gives its code (a message: code 1, the message on stderr, as Python does); any other
exception: code 1 and its traceback. Between jobs the host drops every cached DataFrame and puts the session's
SQL settings back as they were, so a job sees the session a fresh spark-submit would give it. A job that
ends the process (``os._exit``: a killed driver in the crash tests) ends the host; the runner reports it as the
job's exit code.
"""
from __future__ import annotations

import json
import os
import runpy
import socket
import sys
import time
import traceback

MARK = "@@lakeforge-job-host-done"


def _sql_settings(spark) -> dict[str, str]:
    return {row[0]: row[1] for row in spark.sql("SET").collect()}


def _restore(spark, before: dict[str, str]) -> None:
    spark.catalog.clearCache()
    after = _sql_settings(spark)
    for key, value in after.items():
        if key not in before:
            spark.conf.unset(key)
        elif before[key] != value:
            spark.conf.set(key, before[key])
    for key, value in before.items():
        if key not in after:
            spark.conf.set(key, value)


def run_one(request: dict) -> int:
    """Run one job script as ``__main__``; returns its exit code."""
    for key, value in (request.get("env") or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    script = request["script"]
    argv, path = sys.argv, list(sys.path)
    sys.argv = [script, *request["args"]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - a job's failure is reported, the host lives on
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.path[:] = argv, path


def main() -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("lakeforge-job-host").getOrCreate()
    settings = _sql_settings(spark)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(sys.argv[1])
    for line in connection.makefile("r", encoding="utf-8"):
        if not line.strip():
            continue
        request = json.loads(line)
        start = time.monotonic()
        code = run_one(request)
        try:
            _restore(spark, settings)
        except Exception:  # noqa: BLE001 - a session that cannot be reset must not take the next job
            traceback.print_exc()
            code = code or 1
            request["fatal"] = True
        sys.stderr.flush()
        sys.stdout.flush()
        print(f"{MARK} {request['name']} {code} {time.monotonic() - start:.3f}", flush=True)
        if request.get("fatal"):
            break
    connection.close()
    spark.stop()


if __name__ == "__main__":
    main()
