"""Options of :class:`modules.http_api.HttpApi` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from .options import (
    Limit, Props, Rule, between, create_option, log_retention, matches, one_of, option, outputs, tags_option,
)

AUTHORIZATIONS = ("AWS_IAM", "JWT", "LAMBDA")
"""How every route is authorized: SigV4 (IAM), a JWT authorizer, or a Lambda ``REQUEST`` authorizer. There is
no ``NONE``: a route without authorization cannot be built."""

ROUTE_KEY_PATTERN = r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /[A-Za-z0-9._~{}+/-]*"
"""A route key: ``<METHOD> /<path>`` (path parameters in braces, ``{proxy+}`` greedy)."""

INTEGRATION_TIMEOUT_MS = 29_000
"""API Gateway's default (and usual maximum) wait for the integration."""

STAGE = "$default"
"""The one stage: served at the API's root URL, deployed automatically on every change."""

ACCESS_LOG_FORMAT: dict[str, str] = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}
"""One JSON line per request (``$context`` variables of HTTP APIs); no header, query or body value: no token and
no filter value of a caller reaches the logs."""


def access_log_format() -> str:
    """The access log line format (compact JSON, keys in :data:`ACCESS_LOG_FORMAT` order)."""
    return json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))


def route_source_arn(execution_arn: str, route_key: str) -> str:
    """The ``execute-api`` ARN pattern of one route in any stage (``<execution arn>/*/<METHOD>/<path>``, path
    parameters as ``*``): the ``source_arn`` that scopes the integration's Lambda permission to that route."""
    method, _, path = route_key.partition(" ")
    parts = ["*" if part.startswith("{") else part for part in path.strip("/").split("/")]
    return f"{execution_arn}/*/{'*' if method == 'ANY' else method}/{'/'.join(parts)}"


@dataclass(frozen=True)
class HttpApiProps(Props):
    """Options of :class:`modules.http_api.HttpApi`."""

    name: str = option(limit=matches(r"[A-Za-z0-9_.-]{1,128}", "1-128 letters, digits, _, . or -"),
                       doc="API name (also names the access log group), e.g. ``lakeforge-dev-query``.")
    function_name: str = option(doc="Lambda function behind every route (name; token allowed).")
    function_arn: str = option(doc="ARN of ``function_name`` (the integration's URI; token allowed).")
    route_keys: tuple[str, ...] = option(
        limit=Limit(f"at least one route key like GET /kpis/{{name}} ({ROUTE_KEY_PATTERN})",
                    lambda keys: bool(keys) and all(
                        isinstance(k, str) and matches(ROUTE_KEY_PATTERN, "").ok(k) for k in keys)),
        doc="Routes to the function, e.g. ``(\"GET /kpis\", \"GET /kpis/{name}\")``; each is authorized.")
    kms_key_arn: str = option(doc="Customer-managed key of the access log group (required: the log lines name "
                                  "callers and their addresses).")
    authorization: str = option(
        "AWS_IAM", limit=one_of(*AUTHORIZATIONS),
        doc="``AWS_IAM`` (callers sign with SigV4 and need ``execute-api:Invoke``), ``JWT`` (``jwt_issuer``, "
            "``jwt_audience``) or ``LAMBDA`` (a ``REQUEST`` authorizer function: ``authorizer_*``).")
    jwt_issuer: str = option("", limit=matches(r"(https://\S+)?", "empty or an https:// URL"),
                             doc="``JWT``: issuer URL of the tokens (its ``/.well-known/openid-configuration``).")
    jwt_audience: tuple[str, ...] = option((), doc="``JWT``: accepted ``aud`` values (client ids).")
    authorizer_function_name: str = option("", doc="``LAMBDA``: the authorizer function (name; token allowed).")
    authorizer_invoke_arn: str = option("", doc="``LAMBDA``: its invoke ARN (``arn:...:apigateway:...:lambda:path/"
                                                "2015-03-31/functions/<arn>/invocations``; token allowed).")
    authorizer_identity_header: str = option(
        "Authorization", limit=matches(r"[A-Za-z0-9-]{1,64}", "a header name"),
        doc="Header carrying the caller's credential (``LAMBDA``: the identity source, absent = 401 without "
            "invoking the authorizer; ``JWT``: where the token is read).")
    authorizer_cache_seconds: int = option(
        300, limit=between(0, 3600, "s"),
        doc="``LAMBDA``: how long a verdict is cached per identity value (0 = the authorizer runs on every call).")
    throttling_burst_limit: int = option(
        50, limit=between(1, 5000), doc="Requests the stage accepts in a burst (token bucket size).")
    throttling_rate_limit: int = option(
        20, limit=between(1, 10000, "requests/s"), doc="Steady-state requests per second of the stage.")
    integration_timeout_ms: int = option(
        INTEGRATION_TIMEOUT_MS, limit=between(50, 30_000, "ms"), doc="How long API Gateway waits for the function.")
    log_retention_days: int = option(365, limit=log_retention(), doc="Retention of the access log group.")
    description: str = option("", doc="API description.")
    tags: dict[str, str] = tags_option("every taggable resource (API, stage, log group)")
    create: bool = create_option()

    RULES = (
        Rule(("authorization", "jwt_issuer", "jwt_audience"),
             lambda mode, issuer, audience: mode != "JWT" or bool(issuer and audience),
             "jwt_issuer: JWT authorization needs jwt_issuer and jwt_audience"),
        Rule(("authorization", "authorizer_function_name", "authorizer_invoke_arn"),
             lambda mode, name, arn: mode != "LAMBDA" or bool(name and arn),
             "authorizer_function_name: LAMBDA authorization needs authorizer_function_name and "
             "authorizer_invoke_arn"),
        Rule(("route_keys",), lambda keys: len(set(keys)) == len(keys), "route_keys: duplicate route keys"),
    )


OUTPUTS = outputs(
    ("api", "The ``aws_apigatewayv2_api`` resource."),
    ("api_id", "Id of the API."),
    ("api_endpoint", "Base URL of the API (``https://<id>.execute-api.<region>.amazonaws.com``)."),
    ("stage_invoke_url", "Invoke URL of the ``$default`` stage."),
    ("execution_arn", "Execution ARN (``arn:...:execute-api:<region>:<account>:<id>``): scope "
                      "``execute-api:Invoke`` grants with it."),
    ("log_group_name", "Access log group ``/aws/apigateway/<name>``."),
    ("authorizer_id", "Id of the JWT or Lambda authorizer (``None`` with ``AWS_IAM``)."),
    ("route_ids", "Id of each route, by route key."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
