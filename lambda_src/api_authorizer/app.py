"""API authorizer Lambda: an API Gateway HTTP API ``REQUEST`` authorizer (payload 2.0, simple responses) that
allows a call when its ``Authorization`` header is ``Bearer <token>`` with the token held in Secrets Manager.

Handler: ``lambda_src.api_authorizer.app.lambda_handler`` in the repository, ``app.lambda_handler`` in the zip.
Environment: ``TOKEN_SECRET_ARN`` (the secret holding the token; Terraform generates its value, which is in
no code, state or output). Needs ``secretsmanager:GetSecretValue`` on that secret and ``kms:Decrypt`` through
Secrets Manager.

Returns ``{"isAuthorized": bool}``; never raises for a bad request (a missing, malformed or wrong credential is
``False``); an unreadable secret raises, which API Gateway answers with 500 (a configuration fault, not a
caller's). The token is read once per container and kept; when a presented token does not match and the kept
one is older than :data:`REFRESH_SECONDS`, the secret is read again once (a re-keyed secret takes effect
without a redeploy). The comparison is constant-time (:func:`hmac.compare_digest`).

One JSON log line per request on stdout (CloudWatch Logs; standard library only: the zip bundles no
Powertools): ``{"level", "message": "authorization decided", "timestamp", "service", "request_id",
"aws_request_id", "route_key", "authorized", "reason"}``, ``service`` being the deployed function's name
(``AWS_LAMBDA_FUNCTION_NAME``), ``request_id`` API Gateway's ``requestContext.requestId`` (the query
function's log lines carry the same id), ``reason`` one of :data:`REASONS`. Nothing of the header is logged.
"""
from __future__ import annotations

import hmac
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable

SCHEME = "bearer"
REFRESH_SECONDS = 60.0
MAX_HEADER_CHARS = 4096
SERVICE = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "lakeforge-api-authorizer")

NO_TOKEN, WRONG_TOKEN, ACCEPTED = "no bearer token", "token does not match", "token accepted"
REASONS = (NO_TOKEN, WRONG_TOKEN, ACCEPTED)
"""Why a request was or was not authorized (its log line's ``reason``)."""


def bearer_token(headers: dict | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (payload 2.0 lowercases header names), or
    ``None`` when the header is missing, too long or of another scheme."""
    value = (headers or {}).get("authorization")
    if not isinstance(value, str) or len(value) > MAX_HEADER_CHARS:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != SCHEME or not token or " " in token:
        return None
    return token


class TokenCache:
    """The expected token, read with ``fetch`` on first use and kept for the container's life (see the module
    docstring for when it is read again)."""

    def __init__(self, fetch: Callable[[], str], clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: bytes | None = None
        self._read_at = 0.0

    def _load(self) -> bytes:
        token = self._fetch()
        if not token:
            raise RuntimeError("the API token secret is empty")
        self._token, self._read_at = token.encode(), self._clock()
        return self._token

    def matches(self, presented: str) -> bool:
        expected = self._token if self._token is not None else self._load()
        given = presented.encode()
        if hmac.compare_digest(given, expected):
            return True
        if self._clock() - self._read_at >= REFRESH_SECONDS:
            return hmac.compare_digest(given, self._load())
        return False


def decide(event: dict, tokens: TokenCache) -> tuple[bool, str]:
    """Whether the request is authorized, and why (one of :data:`REASONS`)."""
    token = bearer_token(event.get("headers"))
    if token is None:
        return False, NO_TOKEN
    return (True, ACCEPTED) if tokens.matches(token) else (False, WRONG_TOKEN)


def authorize(event: dict, tokens: TokenCache) -> dict[str, bool]:
    return {"isAuthorized": decide(event, tokens)[0]}


def log(message: str, **keys: Any) -> None:
    """One JSON log line on stdout (keys whose value is None are left out)."""
    now = datetime.now(timezone.utc)
    line = {"level": "INFO", "message": message, "timestamp": now.isoformat(timespec="milliseconds"),
            "service": SERVICE, **{key: value for key, value in keys.items() if value is not None}}
    sys.stdout.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def handler_for(fetch: Callable[[], str]) -> Callable[[dict, Any], dict[str, bool]]:
    """A handler checking tokens against what ``fetch`` returns (cached: :class:`TokenCache`)."""
    tokens = TokenCache(fetch)

    def handler(event: dict, context: Any) -> dict[str, bool]:
        allowed, reason = decide(event, tokens)
        request = event.get("requestContext")
        request = request if isinstance(request, dict) else {}
        log("authorization decided", request_id=request.get("requestId"),
            aws_request_id=getattr(context, "aws_request_id", None), route_key=event.get("routeKey"),
            authorized=allowed, reason=reason)
        return {"isAuthorized": allowed}

    return handler


def _secret_value() -> str:
    import boto3

    arn = os.environ["TOKEN_SECRET_ARN"]
    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


lambda_handler = handler_for(_secret_value)
