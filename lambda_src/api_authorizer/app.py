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
without a redeploy). The comparison is constant-time (:func:`hmac.compare_digest`). Nothing of the header is
logged.
"""
from __future__ import annotations

import hmac
import os
import time
from typing import Any, Callable

SCHEME = "bearer"
REFRESH_SECONDS = 60.0
MAX_HEADER_CHARS = 4096


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


def authorize(event: dict, tokens: TokenCache) -> dict[str, bool]:
    token = bearer_token(event.get("headers"))
    return {"isAuthorized": token is not None and tokens.matches(token)}


def handler_for(fetch: Callable[[], str]) -> Callable[[dict, Any], dict[str, bool]]:
    """A handler checking tokens against what ``fetch`` returns (cached: :class:`TokenCache`)."""
    tokens = TokenCache(fetch)

    def handler(event: dict, context: Any) -> dict[str, bool]:
        return authorize(event, tokens)

    return handler


def _secret_value() -> str:
    import boto3

    arn = os.environ["TOKEN_SECRET_ARN"]
    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


lambda_handler = handler_for(_secret_value)
