"""The query API deployed to the emulator and called over plain HTTP, as a client would.

The local stack's API uses the Lambda ``REQUEST`` authorizer (``[api] authorization = "LAMBDA"``: the one
authorization the emulator really enforces, see README "The query API"): a call without ``Authorization`` is
refused (401) before the authorizer runs, a wrong token or any other scheme (a SigV4-looking header
included, which an ``AWS_IAM`` route of the emulator would let through) by the authorizer (403), and the token
Terraform generated into Secrets Manager gets the query function's JSON.

Both addressing forms of the emulator are exercised: ``/_aws/execute-api/<api-id>/$default/<path>`` and the
``Host: <api-id>.execute-api.localhost`` header. Finally the small gold rows of ``tests/kpi_gold_rows.py`` are put
where the deployed catalog's gold tables are, and every KPI read through the deployed API, page by page, equals
the independent computation: the stack's wiring (the function's workgroup, database and parameter style, the
workgroup's encrypted results, the catalog from the table specs) works end to end.
"""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compose.serving import ROUTE_KEYS
from environments import load_environment
from local_runtime import query_api
from lakehouse.gold_tables import GOLD_TABLES_BY_NAME
from queries import kpi
from tests.arrow_types import arrow_type
from tests.e2e.test_query_api_athena import CASES
from tests.kpi_gold_rows import ROWS, TABLES, expected

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
        url = query_api.base_url(endpoint, api_id) + path
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
def token(api) -> str:
    """The bearer token, read as an operator would: from Secrets Manager (it is in no output)."""
    value = query_api.token(api["endpoint"], load_environment("local"))
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


@pytest.fixture(scope="module")
def gold_rows(deployed, aws):
    """The KPI test rows as Parquet (Hive month partitions, as the gold jobs write them) under the deployed gold
    tables' catalog locations."""
    glue, s3 = aws("glue"), aws("s3")
    database = deployed["outputs"]["glue_database_gold"]
    for name in TABLES:
        spec = GOLD_TABLES_BY_NAME[name]
        location = glue.get_table(DatabaseName=database, Name=name)["Table"]["StorageDescriptor"]["Location"]
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        assert bucket == deployed["outputs"]["gold_bucket"]
        schema = pa.schema([(c.name, arrow_type(c.type)) for c in spec.columns])
        for month in sorted({r["month"] for r in ROWS[name]}):
            rows = [{c.name: r[c.name] for c in spec.columns} for r in ROWS[name] if r["month"] == month]
            buf = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), buf)
            s3.put_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/month={month}/part-0.parquet", Body=buf.getvalue())
    return database


@pytest.mark.parametrize("filters", CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
@pytest.mark.parametrize("name", [k.name for k in kpi.kpis()])
def test_every_kpi_through_the_deployed_api_equals_the_independent_computation(api, token, gold_rows, name,
                                                                                filters):
    auth = {"Authorization": f"Bearer {token}"}
    rows, page_token = [], None
    for _ in range(50):
        query = dict(filters, limit="3") | ({"page_token": page_token} if page_token else {})
        status, _, body = call(api["endpoint"], api["id"], f"/kpis/{name}?{urllib.parse.urlencode(query)}", auth)
        assert status == 200, body
        page = json.loads(body)
        rows += page["rows"]
        page_token = page["next_page_token"]
        if not page_token:
            break
    assert rows == expected(name, filters)
    assert rows or filters, "the unfiltered KPI must have rows (else this test proves nothing)"


def test_the_example_call_the_demo_prints_works_as_pasted(api, deployed, token, gold_rows):
    import os
    import subprocess

    from local_runtime.paths import ROOT

    command = query_api.example_call(load_environment("local"), deployed["outputs"], api["endpoint"])
    assert token not in command
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, AWS_ENDPOINT_URL=api["endpoint"]))
    assert proc.returncode == 0, proc.stderr
    page = json.loads(proc.stdout)
    assert page["kpi"] == "loss_ratio" and page["rows"] == expected("loss_ratio", {"month_from": "2025-01",
                                                                                  "state": "SP"})[:5]
    status, body = query_api.get(api["endpoint"], api["id"], "/kpis", token)
    assert status == 200 and [k["name"] for k in body["kpis"]] == [k.name for k in kpi.kpis()]
    assert query_api.get(api["endpoint"], api["id"], "/kpis")[0] == 401


def test_the_deployed_api_fuzzed_from_its_openapi_document_never_answers_5xx(api, token, gold_rows):
    """Requests drawn from the OpenAPI document the API serves (each declared path and query parameter, with
    values valid for its schema, at and past its bounds, or junk; unknown parameters and paths too) sent to the
    deployed API over HTTP: every answer is a 2xx or a 4xx with a JSON body, never a 5xx."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = call(api["endpoint"], api["id"], "/openapi.json", auth)
    assert status == 200
    doc = json.loads(body)
    junk = st.sampled_from(["", "'", "%", "%s", "?", ";--", "/*", "ç", "😀", "a" * 3000, "-1", "1e3", "NULL",
                            "' OR 1=1 --", "SELECT 1", "0531", "SP", "sp", "2025-13"])

    def value(schema: dict):
        if schema.get("type") == "integer":
            low, high = schema.get("minimum", -10**6), schema.get("maximum", 10**6)
            valid = st.integers(low, high)
            edge = st.sampled_from([low - 1, high + 1, 0, -(2**63), 2**63])
            return st.one_of(valid, edge, junk).map(str)
        options = [junk, st.text(max_size=40)]
        if "enum" in schema:
            options.append(st.sampled_from(schema["enum"]))
        elif "pattern" in schema:
            options.append(st.from_regex(schema["pattern"], fullmatch=True))
        return st.one_of(*options)

    operations = [(path, op.get("parameters", [])) for path, item in doc["paths"].items() for op in item.values()]
    seen: set[int] = set()

    @settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one_request(data):
        path, parameters = data.draw(st.sampled_from(operations + [("/kpis/no_such_kpi", []), ("/kpis/", [])]))
        query = {}
        for p in parameters:
            if data.draw(st.booleans()):
                query[p["name"]] = data.draw(value(p["schema"]))
        if data.draw(st.integers(0, 9)) == 0:
            query[data.draw(st.sampled_from(["sql", "query", "LIMIT", "x"]))] = data.draw(junk)
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        got, _, text = call(api["endpoint"], api["id"], target, auth)
        seen.add(got)
        assert got < 500, (target, got, text[:300])
        json.loads(text)

    one_request()
    assert 200 in seen and 400 in seen and 404 in seen
