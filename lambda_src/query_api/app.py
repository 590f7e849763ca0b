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

Logs and metrics, per request: one Powertools JSON line ``request done`` (``method``, ``path``, ``status``,
``duration_ms`` and, for a KPI request, ``kpi``, ``filters``, ``offset``, ``rows``), every line of the
request carrying its ``request_id`` (API Gateway's ``requestContext.requestId``) and ``aws_request_id``; and,
for a KPI request that passed the caller's checks, one EMF line (:mod:`data_contracts.emf`, in
``POWERTOOLS_METRICS_NAMESPACE``, default :data:`~data_contracts.metrics.NAMESPACE`, dimension ``service`` =
``POWERTOOLS_SERVICE_NAME``) with :data:`~data_contracts.metrics.QUERY_DURATION` (the request's seconds,
Athena's run included) and :data:`~data_contracts.metrics.QUERIES_FAILED` (1 for a 5xx answer, else 0).

Athena is injected: :func:`handler_for` binds a handler to any object with boto3's Athena methods;
:data:`handler` creates the container's boto3 client on first use (boto3 comes with the Lambda runtime and is
imported only then, which keeps a cold start's imports small).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

from aws_lambda_powertools import Logger

from data_contracts import emf
from data_contracts.metrics import NAMESPACE, QUERIES_FAILED, QUERY_DURATION
from lambda_src.query_api import api, athena
from lambda_src.query_api.config import MAX_OFFSET, Settings, authorization, from_env
from queries import kpi as kpis

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lakeforge-query-api")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))

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


def answer(event: dict, athena_client: Any, settings_source: Callable[[], Settings] = from_env,
           info: dict[str, Any] | None = None) -> dict:
    """The HTTP response to one event; what it learnt of a KPI request (``kpi``, ``filters``, ``offset``,
    ``rows``) goes into ``info`` (for the request's log line and metrics)."""
    info = {} if info is None else info
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
    info.update(kpi=kpi.name, filters=request.filters, offset=request.offset)
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
    info["rows"] = len(rows)
    return _response(200, {"kpi": kpi.name, "filters": request.filters,
                           "columns": [api.column_document(c) for c in kpi.columns], "rows": rows,
                           "next_page_token": token})


def handler_for(athena_client: Any, settings_source: Callable[[], Settings] = from_env) -> Callable[[dict, Any], dict]:
    """The Lambda handler querying through ``athena_client`` (its ``.athena`` attribute)."""

    def handler(event: dict, context: Any) -> dict:
        start = time.monotonic()
        context_ = event.get("requestContext") if isinstance(event, dict) else None
        context_ = context_ if isinstance(context_, dict) else {}
        request_id = context_.get("requestId")
        # set on every invocation (None drops the key): no line carries an earlier request's ids
        logger.append_keys(request_id=request_id, aws_request_id=getattr(context, "aws_request_id", None))
        info: dict[str, Any] = {}
        try:
            response = answer(event, athena_client, settings_source, info)
        except Exception:  # noqa: BLE001 - a fault of the function: logged, never shown to the caller
            logger.exception("query API fault")
            response = _error(500, "internal error")
        _record(event, context_, request_id, response["statusCode"], time.monotonic() - start, info)
        return response

    handler.athena = athena_client  # type: ignore[attr-defined]
    return handler


def _record(event: Any, request_context: dict, request_id: Any, status: int, seconds: float,
            info: dict[str, Any]) -> None:
    """The request's log line, and its metrics when it was a KPI request past the caller's checks."""
    http = request_context.get("http")
    http = http if isinstance(http, dict) else {}
    path = event.get("rawPath") if isinstance(event, dict) else None
    (logger.warning if status >= 500 else logger.info)("request done", extra={
        "method": http.get("method"), "path": path if isinstance(path, str) else None, "status": status,
        "duration_ms": round(seconds * 1000, 1), **info})
    if "kpi" in info:
        print(emf.render({QUERY_DURATION: round(seconds, 3), QUERIES_FAILED: int(status >= 500)}, service=SERVICE,
                         namespace=METRICS_NAMESPACE, request_id=request_id if isinstance(request_id, str) else None,
                         kpi=info["kpi"], status=status), flush=True)


handler = handler_for(ContainerAthena())
