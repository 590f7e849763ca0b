"""One KPI query through Athena: start it in the configured workgroup and database with its values bound by
Athena, wait for it, read every result page.

Only the SQL of a KPI definition (:mod:`queries.kpi`) is ever sent; the values go as ``ExecutionParameters``
(or, for the local emulator, through :func:`queries.kpi.emulator_statement`; see
:mod:`lambda_src.query_api.config`).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from lambda_src.query_api.config import EMULATOR_PREPARE, Settings
from queries import kpi as kpis

__all__ = ["QueryFailed", "QueryTimedOut", "run"]

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


class QueryFailed(Exception):
    """Athena refused or failed the query (the reason is for the log, not for the caller)."""


class QueryTimedOut(Exception):
    """The query was still running at the deadline (it has been asked to stop)."""


def start(athena: Any, settings: Settings, kpi: kpis.Kpi, values: list[str | int]) -> str:
    request: dict[str, Any] = {"QueryExecutionContext": {"Database": settings.database},
                               "WorkGroup": settings.workgroup}
    if settings.parameter_style == EMULATOR_PREPARE:
        request["QueryString"] = kpis.emulator_statement(kpi, values)
    else:
        request["QueryString"] = kpi.sql
        request["ExecutionParameters"] = kpis.execution_parameters(values)
    return athena.start_query_execution(**request)["QueryExecutionId"]


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


def results(athena: Any, query_id: str, kpi: kpis.Kpi) -> list[list[str | None]]:
    """Every result row as strings (None for null), without Athena's header row (the first row of the first
    page when it repeats the column names: SELECT results have it, the emulator's EXECUTE results do not;
    a data row never equals them, since the first column of every KPI is a key of months or codes)."""
    names = [c.name for c in kpi.sql_columns]
    rows: list[list[str | None]] = []
    token = None
    first = True
    while True:
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000,
                                        **({"NextToken": token} if token else {}))
        data = [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        if first and data and data[0] == names:
            data = data[1:]
        first = False
        rows += data
        token = page.get("NextToken")
        if not token:
            return rows


def run(athena: Any, settings: Settings, kpi: kpis.Kpi, values: list[str | int], **wait_options: Any) -> list[list]:
    """Start, wait for and read one KPI query; :class:`QueryFailed` or :class:`QueryTimedOut`, and botocore's
    ``ClientError`` when Athena refuses a call."""
    query_id = start(athena, settings, kpi, values)
    wait(athena, query_id, settings.max_wait_seconds, **wait_options)
    return results(athena, query_id, kpi)
