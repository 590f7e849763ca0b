"""The warehouse load against the local stand-ins, for the demo, the tests and the benchmarks: the deployed Glue
job ``warehouse_load`` (:mod:`glue_jobs.warehouse_load`, :mod:`warehouse.load`) run by the local Glue runner
(:func:`local_runtime.batch.run_glue_job`: its definition from the emulator's Glue API, its script and the shared
code from the artifacts bucket), reading the published gold copy in the emulator's S3 and loading the
PostgreSQL service (:mod:`local_runtime.services.postgres`).

The deployed definition says ``--target postgres`` and where gold and its publication record are; the
connection is not in it (the port may be set per machine, the password file is a local path): it is passed as
the run's arguments (:func:`run_arguments`, the one mapping from the local PostgreSQL to the job's arguments),
which override the defaults exactly as a Glue job run's ``Arguments`` do. One path, the workflow's.
"""
from __future__ import annotations

from collections.abc import Mapping

from lakehouse.run_log import RUN_SUMMARY, parse_line
from local_runtime.batch import JobHost, run_glue_job
from local_runtime.services.postgres import PostgresServer
from warehouse.load import CONTRACT, JOB, LoadResult, parse_result
from warehouse.schema import DEFAULT_SCHEMA

__all__ = ["OUTPUT", "job_messages", "load_local_warehouse", "run_arguments"]

OUTPUT = f"glue_job_{CONTRACT.name}"
"""The stack output naming the deployed job."""


def run_arguments(server: PostgresServer, *, schema: str = DEFAULT_SCHEMA, force: bool = False) -> dict[str, str]:
    """The run arguments of the deployed warehouse load job for the local PostgreSQL ``server``: its connection
    (:meth:`PostgresServer.connection`: host, port, database, user, password file; the password itself is
    never an argument), the schema and ``force``."""
    connection = server.connection()
    names = set(CONTRACT.argument_names)
    missing = {"host", "port", "database", "user", "passfile"} - set(connection)
    if missing:
        raise ValueError(f"the PostgreSQL connection lacks {sorted(missing)}")
    args = {f"--{name}": str(value) for name, value in connection.items() if name in names}
    args.update({"--schema": schema, "--force": "true" if force else "false"})
    return args


def load_local_warehouse(endpoint: str, outputs: Mapping[str, str], *, schema: str = DEFAULT_SCHEMA,
                         force: bool = False, server: PostgresServer | None = None, log=print,
                         host: JobHost | None = None) -> LoadResult:
    """Run the warehouse load job of the stack deployed to the emulator at ``endpoint`` (``outputs``: its stack
    outputs; the job's name is :data:`OUTPUT`) against the local PostgreSQL (started if it is not running).
    ``log`` gets what the job's JSON log lines say (each one's ``message``, as ``[warehouse_load] <message>``);
    returns its result (rows per table in the warehouse: ``.counts``; ``.skipped`` when the warehouse already
    held the published generation). With ``host``, the job runs in that warm local Spark
    (:class:`local_runtime.batch.JobHost`)."""
    server = server or PostgresServer()
    server.start()
    if OUTPUT not in outputs:
        raise KeyError(f"the stack has no {OUTPUT} output: deploy the current local stack (make synth, deploy)")
    result = run_glue_job(outputs[OUTPUT], endpoint, run_arguments(server, schema=schema, force=force),
                          stream=False, host=host)
    output = result.log.read_text(encoding="utf-8", errors="replace")
    for message in job_messages(output):
        log(message)
    return parse_result(output)


def job_messages(output: str) -> list[str]:
    """What the load job's log lines in ``output`` say, as ``[warehouse_load] <message>`` (Spark's own lines,
    the result line and the run summary left out)."""
    out = []
    for line in output.splitlines():
        said = parse_line(line)
        if said and said.get("job") == JOB and said["event"] != RUN_SUMMARY and said.get("message"):
            out.append(f"[{JOB}] {said['message']}")
    return out
