"""One KPI query through Athena: start it in the configured workgroup and database with its values bound by
Athena, wait for it, read every result page.

Only the SQL of a KPI definition (:mod:`queries.kpi`) is ever sent; the values go as ``ExecutionParameters``
(or, for the local emulator, through :func:`queries.kpi.emulator_statement`; see
:mod:`lambda_src.query_api.config`).

:func:`submit`, :func:`wait` and :func:`rows` take any SQL: the local runtime runs its queries with them too
(:func:`local_runtime.lake.athena_query`).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from lambda_src.query_api.config import EMULATOR_PREPARE, Settings
from queries import kpi as kpis

__all__ = ["QueryFailed", "QueryTimedOut", "rows", "run", "submit", "wait"]

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


class QueryFailed(Exception):
    """Athena refused or failed the query (the reason is for the log, not for the caller)."""


class QueryTimedOut(Exception):
    """The query was still running at the deadline (it has been asked to stop)."""


def submit(athena: Any, sql: str, database: str, workgroup: str, parameters: list[str] | None = None) -> str:
    """Start ``sql`` in the Glue ``database`` in ``workgroup``, with Athena's ``ExecutionParameters`` when
    ``parameters`` is given; the query's id."""
    request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": database},
                               "WorkGroup": workgroup}
    if parameters is not None:
        request["ExecutionParameters"] = parameters
    return athena.start_query_execution(**request)["QueryExecutionId"]


def start(athena: Any, settings: Settings, kpi: kpis.Kpi, values: list[str | int]) -> str:
    if settings.parameter_style == EMULATOR_PREPARE:
        return submit(athena, kpis.emulator_statement(kpi, values), settings.database, settings.workgroup)
    return submit(athena, kpi.sql, settings.database, settings.workgroup, kpis.execution_parameters(values))


def wait(athena: Any, query_id: str, max_wait: float, *, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> None:
    deadline = clock() + max_wait
    delay = 0.05
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return
        if state in DONE:
            raise QueryFailed(f"query {query_id} {state}: {status.get('StateChangeReason', '')}")
        if clock() + delay > deadline:
            try:
                athena.stop_query_execution(QueryExecutionId=query_id)
            except Exception:  # noqa: BLE001 - best effort: the workgroup's own limits stop it too
                pass
            raise QueryTimedOut(f"query {query_id} still {state} after {max_wait:g} s")
        sleep(delay)
        delay = min(delay * 2, 1.0)


def rows(athena: Any, query_id: str) -> list[list[str | None]]:
    """Every result row of a finished query as strings (None for null), page by page, as Athena gives them:
    with its header row of column names where it gives one."""
    out: list[list[str | None]] = []
    token = None
    while True:
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000,
                                        **({"NextToken": token} if token else {}))
        out += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return out


def results(athena: Any, query_id: str, kpi: kpis.Kpi) -> list[list[str | None]]:
    """Every result row as strings (None for null), without Athena's header row (the first row when it
    repeats the column names: SELECT results have it, the emulator's EXECUTE results do not; a data row
    never equals them, since the first column of every KPI is a key of months or codes)."""
    names = [c.name for c in kpi.sql_columns]
    data = rows(athena, query_id)
    return data[1:] if data and data[0] == names else data


def run(athena: Any, settings: Settings, kpi: kpis.Kpi, values: list[str | int], **wait_options: Any) -> list[list]:
    """Start, wait for and read one KPI query; :class:`QueryFailed` or :class:`QueryTimedOut`, and botocore's
    ``ClientError`` when Athena refuses a call."""
    query_id = start(athena, settings, kpi, values)
    wait(athena, query_id, settings.max_wait_seconds, **wait_options)
    return results(athena, query_id, kpi)
