"""Query API Lambda: API Gateway HTTP API (payload 2.0) -> one named, parameterized KPI query in Athena -> JSON.

Handler: ``lambda_src.query_api.app.handler`` in the repository, ``app.handler`` in the zip (this file sits at
the zip root next to ``lambda_src/query_api/``, ``queries/`` with its ``.sql`` files, ``lakehouse/`` and
``data_contracts/``; only absolute imports are used, so both layouts work).

Routes, request checks, page tokens and the OpenAPI document: :mod:`lambda_src.query_api.api`. Environment
(names in :mod:`lambda_src.query_api.config`): ``QUERY_API_ATHENA_WORKGROUP``, ``QUERY_API_GLUE_DATABASE``,
``QUERY_API_MAX_WAIT_SECONDS``, ``QUERY_API_PARAMETER_STYLE``, ``QUERY_API_AUTHORIZATION`` (for the OpenAPI
document), and Powertools' ``POWERTOOLS_SERVICE_NAME``,
``LOG_LEVEL``. Needs ``athena:StartQueryExecution``, ``GetQueryExecution``, ``GetQueryResults``,
``StopQueryExecution`` on the workgroup, Glue read access to the gold database and tables, S3 read of the
gold prefixes and read/write of the workgroup's result prefix, and the KMS key.

Answers: 200 ``{kpi, filters, columns, rows, next_page_token}`` (rows normalised by
:func:`queries.kpi.normalise`: decimals as exact strings); 400/404/405 ``{"message"}`` for what the caller
sent; 502 when Athena refuses or fails the query and 504 when it runs past the configured wait (a fixed
message: Athena's reason is logged, never returned); 500 only for a fault of the function itself
(configuration, a bug), with a fixed message. A caller's SQL is never run: the only SQL is the KPI's.

Athena is injected: :func:`handler_for` binds a handler to any object with boto3's Athena methods;
:data:`handler` creates the container's boto3 client on first use (boto3 comes with the Lambda runtime and is
imported only then, which keeps a cold start's imports small).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

from aws_lambda_powertools import Logger

from lambda_src.query_api import api, athena
from lambda_src.query_api.config import MAX_OFFSET, Settings, authorization, from_env
from queries import kpi as kpis

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "lakeforge-query-api"),
                level=os.environ.get("LOG_LEVEL", "INFO"))

HEADERS = {"content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff"}


def _response(status: int, body: Any) -> dict:
    return {"statusCode": status, "headers": dict(HEADERS), "body": json.dumps(body, separators=(",", ":")),
            "isBase64Encoded": False}


def _error(status: int, message: str) -> dict:
    return _response(status, {"message": message})


class ContainerAthena:
    """The container's Athena client, created on first use and kept for the container's life."""

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self._factory = factory or _boto3_athena
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client(), name)


def _boto3_athena() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("athena", config=Config(retries={"max_attempts": 3, "mode": "standard"}))


def _client_error() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - botocore comes with the runtime
        return ()
    return (ClientError, BotoCoreError)


def answer(event: dict, athena_client: Any, settings_source: Callable[[], Settings] = from_env) -> dict:
    """The HTTP response to one event."""
    try:
        kind, name = api.route(event)
        if kind == "list":
            return _response(200, api.kpi_list())
        if kind == "openapi":
            return _response(200, api.openapi(authorization()))
        request = api.parse_kpi_request(name or "", event)
    except api.ApiError as exc:
        return _error(exc.status, exc.message)
    kpi = request.kpi
    values = kpis.bind(kpi, request.filters, offset=request.offset, limit=request.limit + 1)
    try:
        settings = settings_source()
    except ValueError:
        logger.exception("query API misconfigured")
        return _error(500, "the query API is misconfigured")
    try:
        raw = athena.run(athena_client, settings, kpi, values)
    except athena.QueryTimedOut:
        logger.warning("KPI query timed out", extra={"kpi": kpi.name, "filters": request.filters})
        return _error(504, "the query took too long; narrow the filters or try again")
    except (athena.QueryFailed, *_client_error()):
        logger.exception("KPI query failed", extra={"kpi": kpi.name, "filters": request.filters})
        return _error(502, "the query failed in Athena")
    rows = kpis.normalise(kpi, raw)
    more = len(rows) > request.limit
    rows = rows[:request.limit]
    following = request.offset + request.limit
    # A KPI holds far fewer rows than MAX_OFFSET; past it, paging stops (a token would be refused).
    token = api.next_token(kpi.name, request.filters, following) if more and following <= MAX_OFFSET else None
    logger.info("KPI answered", extra={"kpi": kpi.name, "filters": request.filters, "rows": len(rows),
                                       "offset": request.offset})
    return _response(200, {"kpi": kpi.name, "filters": request.filters,
                           "columns": [api.column_document(c) for c in kpi.columns], "rows": rows,
                           "next_page_token": token})


def handler_for(athena_client: Any, settings_source: Callable[[], Settings] = from_env) -> Callable[[dict, Any], dict]:
    """The Lambda handler querying through ``athena_client`` (its ``.athena`` attribute)."""

    def handler(event: dict, context: Any) -> dict:
        try:
            return answer(event, athena_client, settings_source)
        except Exception:  # noqa: BLE001 - a fault of the function: logged, never shown to the caller
            logger.exception("query API fault")
            return _error(500, "internal error")

    handler.athena = athena_client  # type: ignore[attr-defined]
    return handler


handler = handler_for(ContainerAthena())
