"""The query API's Lambda authorizer (``lambda_src/api_authorizer/app.py``): bearer token against the secret."""
from __future__ import annotations

import json

import pytest

from lambda_src.api_authorizer import app

TOKEN = "s3cretT0ken"


def event(authorization: str | None) -> dict:
    headers = {"accept": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {"version": "2.0", "type": "REQUEST", "routeKey": "GET /kpis", "headers": headers}


class Secret:
    def __init__(self, value: str) -> None:
        self.value, self.reads = value, 0

    def __call__(self) -> str:
        self.reads += 1
        return self.value


@pytest.mark.parametrize("header, allowed", [
    (f"Bearer {TOKEN}", True),
    (f"bearer {TOKEN}", True),
    (f"  Bearer   {TOKEN}  ", True),
    (None, False),
    ("", False),
    ("Bearer", False),
    ("Bearer ", False),
    (f"Basic {TOKEN}", False),
    (TOKEN, False),
    (f"Bearer {TOKEN}x", False),
    (f"Bearer {TOKEN[:-1]}", False),
    (f"Bearer {TOKEN} extra", False),
    ("Bearer " + "x" * 5000, False),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/execute-api/aws4_request, Signature=00", False),
])
def test_only_the_right_bearer_token_is_authorized(header, allowed):
    handler = app.handler_for(Secret(TOKEN))
    assert handler(event(header), None) == {"isAuthorized": allowed}


def test_no_headers_at_all_is_refused():
    assert app.handler_for(Secret(TOKEN))({"version": "2.0"}, None) == {"isAuthorized": False}


def test_the_secret_is_read_once_per_container():
    secret = Secret(TOKEN)
    handler = app.handler_for(secret)
    for _ in range(5):
        handler(event(f"Bearer {TOKEN}"), None)
    handler(event("Bearer wrong"), None)  # within REFRESH_SECONDS: no second read
    assert secret.reads == 1


def test_a_rekeyed_secret_is_picked_up_after_the_refresh_interval():
    secret = Secret(TOKEN)
    now = [0.0]
    tokens = app.TokenCache(secret, clock=lambda: now[0])
    assert tokens.matches(TOKEN)
    secret.value = "newToken"
    assert not tokens.matches("newToken") and secret.reads == 1
    now[0] = app.REFRESH_SECONDS + 1
    assert tokens.matches("newToken") and secret.reads == 2
    assert not tokens.matches(TOKEN)


def test_an_empty_secret_is_a_configuration_error():
    with pytest.raises(RuntimeError, match="empty"):
        app.handler_for(Secret(""))(event("Bearer x"), None)


def test_the_comparison_is_constant_time(monkeypatch):
    calls = []
    real = app.hmac.compare_digest
    monkeypatch.setattr(app.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    app.handler_for(Secret(TOKEN))(event(f"Bearer {TOKEN}"), None)
    assert calls == [(TOKEN.encode(), TOKEN.encode())]


def test_the_zip_holds_only_the_handler():
    from bundling.lambda_zip import zip_sources

    assert set(zip_sources("api_authorizer")) == {"app.py"}


class Context:
    aws_request_id = "lambda-req-7"


@pytest.mark.parametrize("header, reason", [
    (f"Bearer {TOKEN}", app.ACCEPTED), ("Bearer wrong-one", app.WRONG_TOKEN), (f"Basic {TOKEN}", app.NO_TOKEN),
    (None, app.NO_TOKEN),
])
def test_one_json_log_line_per_request_with_its_id_and_nothing_of_the_header(capsys, header, reason):
    request = event(header)
    request["requestContext"] = {"requestId": "api-req-3"}
    allowed = app.handler_for(Secret(TOKEN))(request, Context())["isAuthorized"]
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["message"] == "authorization decided" and line["level"] == "INFO"
    assert (line["request_id"], line["aws_request_id"], line["route_key"]) == ("api-req-3", "lambda-req-7", "GET /kpis")
    assert (line["authorized"], line["reason"]) == (allowed, reason) and line["service"] == app.SERVICE
    assert TOKEN not in json.dumps(line) and "wrong-one" not in json.dumps(line)


def test_a_request_without_ids_is_logged_without_them(capsys):
    app.handler_for(Secret(TOKEN))({"version": "2.0"}, None)
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert "request_id" not in line and "aws_request_id" not in line and line["reason"] == app.NO_TOKEN
