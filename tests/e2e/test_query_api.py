"""The query API deployed to the emulator and called over plain HTTP, as a client would.

The local stack's API uses the Lambda ``REQUEST`` authorizer (``[api] authorization = "LAMBDA"``: the one
authorization the emulator really enforces, see README "The query API"): a call without ``Authorization`` is
refused (401) before the authorizer runs, a wrong token or any other scheme (a SigV4-looking header
included, which an ``AWS_IAM`` route of the emulator would let through) by the authorizer (403), and the token
Terraform generated into Secrets Manager gets the query function's JSON.

Both addressing forms of the emulator are exercised: ``/_aws/execute-api/<api-id>/$default/<path>`` and the
``Host: <api-id>.execute-api.localhost`` header.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from compose.serving import ROUTE_KEYS, token_secret_name
from queries import kpi

pytestmark = pytest.mark.e2e


def route_paths() -> list[str]:
    """A concrete path for each route key (path parameters filled with a plausible value)."""
    return [key.split(" ", 1)[1].replace("{name}", "kpi_loss_ratio") for key in ROUTE_KEYS]


def call(endpoint: str, api_id: str, path: str, headers: dict[str, str] | None = None, *,
         host_form: bool = False) -> tuple[int, dict[str, str], bytes]:
    """``GET`` one path of the API: (status, headers, body)."""
    headers = dict(headers or {})
    if host_form:
        url = f"{endpoint}{path}"
        headers["Host"] = f"{api_id}.execute-api.localhost"
    else:
        url = f"{endpoint}/_aws/execute-api/{api_id}/$default{path}"
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


@pytest.fixture(scope="module")
def api(deployed, emulator):
    out = deployed["outputs"]
    return {"endpoint": emulator.endpoint, "id": out["api_id"], "prefix": out["name_prefix"]}


@pytest.fixture(scope="module")
def token(api, aws) -> str:
    """The bearer token, read as an operator would: from Secrets Manager (it is in no output)."""
    value = aws("secretsmanager").get_secret_value(SecretId=token_secret_name(api["prefix"]))["SecretString"]
    assert len(value) >= 32
    return value


def test_outputs_name_the_api_but_not_its_token(deployed, token):
    out = deployed["outputs"]
    assert out["api_url"].startswith("https://") and out["api_id"] in out["api_url"]
    assert token not in json.dumps(out)
    state = deployed["state"].read_text()
    assert token not in state, "the generated token must not be in the Terraform state"


@pytest.mark.parametrize("path", route_paths())
@pytest.mark.parametrize("host_form", (False, True))
def test_anonymous_calls_are_refused(api, path, host_form):
    status, _, body = call(api["endpoint"], api["id"], path, host_form=host_form)
    assert status == 401, (status, body)
    assert b"kpi" not in body.lower()


@pytest.mark.parametrize("authorization", [
    "Bearer wrong-token",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261202/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
])
def test_wrong_credentials_are_refused(api, authorization):
    for path in route_paths():
        status, _, body = call(api["endpoint"], api["id"], path, {"Authorization": authorization})
        assert status in (401, 403), (path, authorization[:12], status, body)
        assert b"kpi" not in body.lower()


def test_a_near_miss_token_is_refused(api, token):
    for near in (token[:-1], token + "x", token.upper() if token != token.upper() else token.lower()):
        status, _, _ = call(api["endpoint"], api["id"], "/kpis", {"Authorization": f"Bearer {near}"})
        assert status == 403


@pytest.mark.parametrize("host_form", (False, True))
def test_the_token_gets_the_kpis_as_json(api, token, host_form):
    status, headers, body = call(api["endpoint"], api["id"], "/kpis", {"Authorization": f"Bearer {token}"},
                                 host_form=host_form)
    assert status == 200, body
    assert headers.get("content-type", "").startswith("application/json")
    document = json.loads(body)
    assert [k["name"] for k in document["kpis"]] == [k.name for k in kpi.kpis()]


def test_query_strings_reach_the_function_and_bad_filters_are_a_4xx(api, token):
    auth = {"Authorization": f"Bearer {token}"}
    name = kpi.kpis()[0].name
    for query in ("limit=0", "month_from=2026-13", "state=ZZ", "page_token=not-a-token"):
        status, headers, body = call(api["endpoint"], api["id"], f"/kpis/{name}?{query}", auth)
        assert status == 400, (query, status, body)
        assert json.loads(body)["message"]
    status, _, _ = call(api["endpoint"], api["id"], "/kpis/no_such_kpi", auth)
    assert status == 404


def test_the_openapi_document_is_served_to_an_authorized_caller(api, token):
    status, headers, body = call(api["endpoint"], api["id"], "/openapi.json", {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    document = json.loads(body)
    assert document.get("openapi", "").startswith("3.")
    assert "/kpis" in document.get("paths", {})
    # The document describes how the deployed API is protected: a bearer token here (LAMBDA).
    assert document["components"]["securitySchemes"] == {
        "LAMBDA": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <the API's token>"}}


def test_an_unknown_route_is_not_found(api, token):
    status, _, _ = call(api["endpoint"], api["id"], "/admin", {"Authorization": f"Bearer {token}"})
    assert status == 404
