"""The query API without AWS: routes, request checks, page tokens, the response bodies and the OpenAPI
document, all from the KPI definitions (:mod:`queries.kpi`). Standard library only.

Routes (HTTP API payload 2.0)::

    GET /kpis                 the KPIs: name, description, key, filters and columns
    GET /kpis/{name}          one KPI's rows; query string: month_from, month_to, line_of_business, state,
                              limit (1..1000, default 100), page_token (from the previous page)
    GET /openapi.json         the OpenAPI 3 document

Errors are ``{"message": <reason>}``: 400 for a bad filter, limit or page token (or an unknown or repeated
query-string parameter), 404 for an unknown path or KPI, 405 for another method than GET.

A page token is opaque to callers: ``base64url(JSON {kpi, filters, offset}) . check`` where ``check`` is
the first 16 bytes of the SHA-256 of the JSON, hex. It is only accepted for the same KPI and filters it was
issued for; an edited or corrupted token is a 400. The check is not a signature (there is no secret): a
token only names a row offset a caller could reach by paging anyway, so forging one gains nothing.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs

from lambda_src.query_api.config import AUTHORIZATIONS, DEFAULT_AUTHORIZATION, DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from queries import kpi as kpis

__all__ = ["ApiError", "KpiRequest", "column_document", "kpi_list", "next_token", "openapi", "parse_kpi_request",
           "route"]

QUERY_PARAMETERS = (*(f.name for f in kpis.FILTERS), "limit", "page_token")
_TOKEN_RE = re.compile(r"([A-Za-z0-9_-]{1,2048})\.([0-9a-f]{32})")


class ApiError(Exception):
    """A request the API answers with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class KpiRequest:
    kpi: kpis.Kpi
    filters: dict[str, str]
    limit: int
    offset: int


# --- routing ------------------------------------------------------------------------------------------------

def _path(event: Mapping[str, Any]) -> str:
    http = (event.get("requestContext") or {}).get("http") or {}
    path = event.get("rawPath") or http.get("path") or "/"
    stage = (event.get("requestContext") or {}).get("stage")
    if stage and stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    return path.rstrip("/") or "/"


def route(event: Mapping[str, Any]) -> tuple[str, str | None]:
    """``("list", None)``, ``("openapi", None)`` or ``("kpi", <name>)``; :class:`ApiError` 404/405."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "GET").upper()
    path = _path(event)
    if path == "/kpis":
        found: tuple[str, str | None] = ("list", None)
    elif path == "/openapi.json":
        found = ("openapi", None)
    elif path.startswith("/kpis/") and "/" not in path[len("/kpis/"):]:
        found = ("kpi", path[len("/kpis/"):])
    else:
        raise ApiError(404, "no such resource; see GET /kpis and GET /openapi.json")
    if method != "GET":
        raise ApiError(405, f"method {method[:10]} not allowed; use GET")
    return found


# --- requests -----------------------------------------------------------------------------------------------

def _query(event: Mapping[str, Any]) -> dict[str, str]:
    raw = event.get("rawQueryString")
    if raw is None:  # built by hand (tests, console): the parsed map, already joined by API Gateway
        return {k: v for k, v in (event.get("queryStringParameters") or {}).items()}
    try:
        parsed = parse_qs(raw, keep_blank_values=True, max_num_fields=32)
    except ValueError:
        raise ApiError(400, "the query string has too many parameters") from None
    repeated = sorted(k for k, v in parsed.items() if len(v) > 1)
    if repeated:
        raise ApiError(400, f"query-string parameter(s) given more than once: {[k[:40] for k in repeated]}")
    return {k: v[0] for k, v in parsed.items()}


def _token_payload(kpi: str, filters: Mapping[str, str], offset: int) -> bytes:
    return json.dumps({"kpi": kpi, "filters": dict(sorted(filters.items())), "offset": offset},
                      separators=(",", ":"), sort_keys=True).encode()


def next_token(kpi: str, filters: Mapping[str, str], offset: int) -> str:
    """The page token of the page starting at row ``offset`` of ``kpi`` with ``filters``."""
    payload = _token_payload(kpi, filters, offset)
    check = hashlib.sha256(payload).hexdigest()[:32]
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + check


def _read_token(token: str, kpi: str, filters: Mapping[str, str]) -> int:
    match = _TOKEN_RE.fullmatch(token)
    if not match:
        raise ApiError(400, "page_token is not a token this API issued")
    body, check = match.groups()
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ApiError(400, "page_token is not a token this API issued") from None
    if hashlib.sha256(payload).hexdigest()[:32] != check:
        raise ApiError(400, "page_token was altered")
    try:
        data = json.loads(payload)
        offset = data["offset"]
        issued_for = (data["kpi"], data["filters"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "page_token is not a token this API issued") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= MAX_OFFSET:
        raise ApiError(400, "page_token is not a token this API issued")
    if issued_for != (kpi, dict(sorted(filters.items()))):
        raise ApiError(400, "page_token belongs to another KPI or other filters; repeat the request that gave it")
    return offset


def parse_kpi_request(name: str, event: Mapping[str, Any]) -> KpiRequest:
    """The KPI, checked filters, limit and offset of ``GET /kpis/{name}``; :class:`ApiError` 404 or 400."""
    try:
        kpi = kpis.get(name)
    except KeyError:
        raise ApiError(404, f"no KPI {name[:64]!r}; GET /kpis lists them") from None
    query = _query(event)
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise ApiError(400, f"unknown query-string parameter(s) {[k[:40] for k in unknown]}; "
                            f"allowed: {list(QUERY_PARAMETERS)}")
    try:
        filters = kpis.validate_filters({f.name: query.get(f.name) for f in kpis.FILTERS})
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    raw_limit = query.get("limit") or str(DEFAULT_LIMIT)
    if not re.fullmatch(r"[0-9]{1,7}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw_limit[:20]!r}")
    token = query.get("page_token")
    offset = _read_token(token, kpi.name, filters) if token else 0
    return KpiRequest(kpi, filters, int(raw_limit), offset)


# --- documents ----------------------------------------------------------------------------------------------

def column_document(column: kpis.Column) -> dict[str, Any]:
    kind = "integer" if column.type in ("int", "bigint") else "decimal" if column.scale is not None else "string"
    return {"name": column.name, "type": kind, "sql_type": column.type, "scale": column.scale,
            "nullable": column.nullable, "description": column.description,
            **({"ratio": list(column.ratio)} if column.ratio else {})}


def _filter_document(spec: kpis.Filter) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "pattern": f"^{spec.pattern}$",
            "example": spec.example, **({"enum": list(spec.choices)} if spec.choices else {})}


def kpi_list() -> dict[str, Any]:
    """The body of ``GET /kpis``."""
    return {"kpis": [{"name": k.name, "path": f"/kpis/{k.name}", "description": k.description, "key": list(k.key),
                      "filters": [_filter_document(f) for f in kpis.FILTERS],
                      "columns": [column_document(c) for c in k.columns]} for k in kpis.kpis()],
            "paging": {"limit": {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT},
                       "page_token": "next_page_token of the previous page"}}


def _value_schema(column: kpis.Column) -> dict[str, Any]:
    if column.type in ("int", "bigint"):
        schema: dict[str, Any] = {"type": "integer", "format": "int64" if column.type == "bigint" else "int32"}
    elif column.scale is not None:
        schema = {"type": "string", "format": "decimal", "pattern": rf"^-?[0-9]+\.[0-9]{{{column.scale}}}$"}
    else:
        schema = {"type": "string"}
    if column.nullable:
        schema["nullable"] = True
    if column.description:
        schema["description"] = column.description
    return schema


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "AWS_IAM": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
                "description": "AWS Signature Version 4 (the caller needs execute-api:Invoke)"},
    "JWT": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "LAMBDA": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <the API's token>"},
}


def openapi(authorization: str = DEFAULT_AUTHORIZATION, title: str = "lakeforge KPI API",
            version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.0 document of the API, generated from the KPI definitions; every operation requires
    ``authorization`` (one of ``AWS_IAM``, ``JWT``, ``LAMBDA``: how the API's routes are protected)."""
    if authorization not in AUTHORIZATIONS:
        raise ValueError(f"authorization must be one of {AUTHORIZATIONS}, got {authorization!r}")
    parameters = [{"name": f.name, "in": "query", "required": False, "description": f.description,
                   "schema": {"type": "string", "pattern": f"^{f.pattern}$",
                              **({"enum": list(f.choices)} if f.choices else {})},
                   "example": f.example} for f in kpis.FILTERS]
    parameters += [
        {"name": "limit", "in": "query", "required": False, "description": "Rows per page",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        {"name": "page_token", "in": "query", "required": False,
         "description": "next_page_token of the previous page (same KPI and filters)",
         "schema": {"type": "string", "maxLength": 2100}},
    ]
    errors = {"400": _error("A bad filter, limit or page token (the message says which)"),
              "403": _error("The request is not authorized"),
              "502": _error("The query failed in Athena"), "504": _error("The query took too long")}
    paths: dict[str, Any] = {
        "/kpis": {"get": {"operationId": "listKpis", "summary": "The KPIs, their filters and columns",
                          "responses": {"200": {"description": "The KPIs", "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/KpiList"}}}}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3.0",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
        "KpiList": {"type": "object", "required": ["kpis"], "properties": {
            "kpis": {"type": "array", "items": {"type": "object", "required": ["name", "path", "description"],
                                                "properties": {"name": {"type": "string"}, "path": {"type": "string"},
                                                               "description": {"type": "string"}}}}}},
    }
    for k in kpis.kpis():
        row_name = "".join(part.title() for part in k.name.split("_")) + "Row"
        schemas[row_name] = {"type": "object", "required": [c.name for c in k.columns],
                             "properties": {c.name: _value_schema(c) for c in k.columns}}
        paths[f"/kpis/{k.name}"] = {"get": {
            "operationId": f"get_{k.name}", "summary": k.description, "parameters": parameters,
            "responses": {"200": {"description": f"A page of {k.name}, ordered by {', '.join(k.key)}",
                                  "content": {"application/json": {"schema": {
                                      "type": "object",
                                      "required": ["kpi", "filters", "columns", "rows", "next_page_token"],
                                      "properties": {
                                          "kpi": {"type": "string", "enum": [k.name]},
                                          "filters": {"type": "object", "additionalProperties": {"type": "string"}},
                                          "columns": {"type": "array", "items": {"type": "object"}},
                                          "rows": {"type": "array", "items": {"$ref": f"#/components/schemas/{row_name}"}},
                                          "next_page_token": {"type": "string", "nullable": True}}}}}},
                          **errors}}}
    return {"openapi": "3.0.3",
            "info": {"title": title, "version": version,
                     "description": "The lakehouse KPIs (gold layer), computed by named, parameterized Athena "
                                    "queries. Decimals are exact decimal strings."},
            "security": [{authorization: []}],
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {authorization: SECURITY_SCHEMES[authorization]}}}
