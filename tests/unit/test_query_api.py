"""The query Lambda (lambda_src/query_api): routes, request checks, pagination, errors and the OpenAPI document,
with Athena stubbed by botocore's Stubber (the requests the handler sends are checked exactly)."""
from __future__ import annotations

import base64
import io
import json
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber

from data_contracts import emf
from data_contracts.metrics import QUERIES_FAILED, QUERY_DURATION, SERVICE_DIMENSION
from lambda_src.query_api import api, app, athena, config
from queries import kpi as kpis

SETTINGS = config.Settings(workgroup="wg", database="gold_db", max_wait_seconds=5.0)


def event(path: str, query: str = "", method: str = "GET", stage: str = "$default") -> dict:
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "requestContext": {"http": {"method": method, "path": path}, "stage": stage}}


@pytest.fixture
def stubbed():
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def call(client, ev, settings=SETTINGS):
    response = app.handler_for(client, lambda: settings)(ev, None)
    return response["statusCode"], json.loads(response["body"])


def expect_query(stub, kpi, values, rows, *, state="SUCCEEDED", header=True, parameter_style=None, pages=1):
    """Stub one successful run: start (with exactly these parameters), one RUNNING poll, then the results."""
    expected = {"QueryExecutionContext": {"Database": "gold_db"}, "WorkGroup": "wg"}
    if parameter_style == config.EMULATOR_PREPARE:
        expected["QueryString"] = kpis.emulator_statement(kpi, values)
    else:
        expected["QueryString"] = kpi.sql
        expected["ExecutionParameters"] = kpis.execution_parameters(values)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"}, expected)
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}},
                      {"QueryExecutionId": "q1"})
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": state,
                                                                            "StateChangeReason": "boom at line 3"}}},
                      {"QueryExecutionId": "q1"})
    if state != "SUCCEEDED":
        return
    names = [c.name for c in kpi.sql_columns]
    data = ([names] if header else []) + rows
    size = -(-len(data) // pages) if data else 1
    chunks = [data[i:i + size] for i in range(0, len(data), size)] or [[]]
    for i, chunk in enumerate(chunks):
        params = {"QueryExecutionId": "q1", "MaxResults": 1000, **({"NextToken": f"t{i}"} if i else {})}
        body = {"ResultSet": {"Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in chunk]},
                **({"NextToken": f"t{i + 1}"} if i + 1 < len(chunks) else {})}
        stub.add_response("get_query_results", body, params)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(athena.time, "sleep", lambda s: None)


BY_LINE = kpis.get("loss_ratio_by_line_of_business")
LINE_ROWS = [["0114", "2", "17.77", "48.00"], ["0351", "0", "0.00", "0.00"], ["0531", "3", "383.33", "300.01"]]


# --- success ---------------------------------------------------------------------------------------------------

def test_a_kpi_page_with_filters_binds_them_as_execution_parameters(stubbed):
    client, stub = stubbed
    values = ["2025-01", "2025-03", "", "", "SP", "SP", 0, 101]
    expect_query(stub, BY_LINE, values, LINE_ROWS)
    status, body = call(client, event("/kpis/loss_ratio_by_line_of_business",
                                      "month_from=2025-01&month_to=2025-03&state=SP"))
    assert status == 200
    assert body["kpi"] == "loss_ratio_by_line_of_business"
    assert body["filters"] == {"month_from": "2025-01", "month_to": "2025-03", "state": "SP"}
    assert [c["name"] for c in body["columns"]] == ["line_of_business", "claim_count", "claims_incurred",
                                                    "premiums_earned", "loss_ratio"]
    assert body["rows"] == [
        {"line_of_business": "0114", "claim_count": 2, "claims_incurred": "17.77", "premiums_earned": "48.00",
         "loss_ratio": "0.370208"},
        {"line_of_business": "0351", "claim_count": 0, "claims_incurred": "0.00", "premiums_earned": "0.00",
         "loss_ratio": None},
        {"line_of_business": "0531", "claim_count": 3, "claims_incurred": "383.33", "premiums_earned": "300.01",
         "loss_ratio": "1.277724"}]
    assert body["next_page_token"] is None


def test_pages_follow_each_other_through_the_token(stubbed):
    client, stub = stubbed
    # page 1: limit 2, the query asks for 3 rows to know whether there is more
    expect_query(stub, BY_LINE, ["0000-00", "9999-99", "", "", "", "", 0, 3], LINE_ROWS)
    status, body = call(client, event("/kpis/loss_ratio_by_line_of_business", "limit=2"))
    assert status == 200 and [r["line_of_business"] for r in body["rows"]] == ["0114", "0351"]
    token = body["next_page_token"]
    assert token
    # page 2 starts at row 2 with the same filters
    expect_query(stub, BY_LINE, ["0000-00", "9999-99", "", "", "", "", 2, 3], LINE_ROWS[2:])
    status, body = call(client, event("/kpis/loss_ratio_by_line_of_business", f"limit=2&page_token={quote(token)}"))
    assert status == 200 and [r["line_of_business"] for r in body["rows"]] == ["0531"]
    assert body["next_page_token"] is None


def test_results_over_several_athena_pages_and_without_a_header_row(stubbed):
    client, stub = stubbed
    kpi = kpis.get("market_share_by_state")
    rows = [[st, "10.00", "100.00"] for st in ("MG", "RJ", "SP")] + [["TO", "0.00", None]]
    expect_query(stub, kpi, ["0000-00", "9999-99", "", "", "", "", 0, 101], rows, pages=3)
    status, body = call(client, event("/kpis/market_share_by_state"))
    assert status == 200 and [r["state"] for r in body["rows"]] == ["MG", "RJ", "SP", "TO"]
    assert body["rows"][0]["market_share"] == "0.100000" and body["rows"][3]["market_share"] is None
    expect_query(stub, kpi, ["0000-00", "9999-99", "", "", "", "", 0, 101], rows, header=False)
    status, body2 = call(client, event("/kpis/market_share_by_state"))
    assert body2["rows"] == body["rows"]


def test_the_emulator_style_sends_the_prepared_statement(stubbed):
    client, stub = stubbed
    values = ["0000-00", "9999-99", "0531", "0531", "", "", 0, 101]
    expect_query(stub, BY_LINE, values, LINE_ROWS[2:], parameter_style=config.EMULATOR_PREPARE, header=False)
    settings = config.Settings("wg", "gold_db", 5.0, config.EMULATOR_PREPARE)
    status, body = call(client, event("/kpis/loss_ratio_by_line_of_business", "line_of_business=0531"), settings)
    assert status == 200 and len(body["rows"]) == 1


def test_a_named_stage_prefix_is_understood(stubbed):
    client, _ = stubbed
    status, body = call(client, event("/prod/kpis", stage="prod"))
    assert status == 200 and {k["name"] for k in body["kpis"]} == {k.name for k in kpis.kpis()}


# --- caller errors: 4xx with the reason, and Athena is never called ---------------------------------------------

@pytest.mark.parametrize("path,query,status,reason", [
    ("/kpis/nope", "", 404, "no KPI"),
    ("/kpis/loss_ratio%3B%20DROP", "", 404, "no KPI"),
    ("/somewhere", "", 404, "no such resource"),
    ("/kpis/loss_ratio/extra", "", 404, "no such resource"),
    ("/kpis/loss_ratio", "month_from=2025-13", 400, "month_from"),
    ("/kpis/loss_ratio", "month_from=2025-03&month_to=2025-01", 400, "after month_to"),
    ("/kpis/loss_ratio", "line_of_business=05310", 400, "line_of_business"),
    ("/kpis/loss_ratio", "state=ZZ", 400, "state"),
    ("/kpis/loss_ratio", "state=SP%27%20OR%201%3D1", 400, "state"),
    ("/kpis/loss_ratio", "limit=0", 400, "limit"),
    ("/kpis/loss_ratio", "limit=1001", 400, "limit"),
    ("/kpis/loss_ratio", "limit=ten", 400, "limit"),
    ("/kpis/loss_ratio", "limit=-5", 400, "limit"),
    ("/kpis/loss_ratio", "sql=SELECT%201", 400, "unknown query-string"),
    ("/kpis/loss_ratio", "state=SP&state=RJ", 400, "more than once"),
    ("/kpis/loss_ratio", "page_token=abc", 400, "page_token"),
    ("/kpis/loss_ratio", "&".join(f"p{i}=1" for i in range(40)), 400, "too many"),
    ("/kpis/loss_ratio", "page_token=", 200, None),
])
def test_bad_requests_are_4xx_with_the_reason(stubbed, path, query, status, reason):
    client, stub = stubbed
    if status == 200:
        expect_query(stub, kpis.get("loss_ratio"), ["0000-00", "9999-99", "", "", "", "", 0, 101], [])
    got, body = call(client, event(path, query))
    assert got == status
    if reason:
        assert reason in body["message"]


def test_other_methods_are_405(stubbed):
    client, _ = stubbed
    got, body = call(client, event("/kpis/loss_ratio", method="POST"))
    assert got == 405 and "GET" in body["message"]


def _token(offset=100, kpi="loss_ratio", filters=None):
    return api.next_token(kpi, filters or {}, offset)


def _tampered(token: str, **changes) -> str:
    body, check = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + check


@pytest.mark.parametrize("token,reason", [
    (lambda: _tampered(_token(), offset=0), "altered"),
    (lambda: _tampered(_token(), offset=5), "altered"),
    (lambda: _token()[:-1] + ("0" if _token()[-1] != "0" else "1"), "altered"),
    (lambda: _token(kpi="market_share"), "another KPI"),
    (lambda: _token(filters={"state": "RJ"}), "another KPI"),
    (lambda: api.next_token("loss_ratio", {}, 0), "not a token"),
    (lambda: api.next_token("loss_ratio", {}, 10**9), "not a token"),
    (lambda: "!!!." + "0" * 32, "not a token"),
    (lambda: "x" * 3000, "not a token"),
])
def test_a_tampered_or_foreign_page_token_is_a_400(stubbed, token, reason):
    client, _ = stubbed
    got, body = call(client, event("/kpis/loss_ratio", "page_token=" + quote(token())))
    assert got == 400 and reason in body["message"]


def test_a_token_is_accepted_with_the_filters_it_was_issued_for(stubbed):
    client, stub = stubbed
    token = api.next_token("loss_ratio", {"state": "SP"}, 100)
    expect_query(stub, kpis.get("loss_ratio"), ["0000-00", "9999-99", "", "", "SP", "SP", 100, 11], [])
    got, body = call(client, event("/kpis/loss_ratio", f"state=SP&limit=10&page_token={quote(token)}"))
    assert got == 200 and body["rows"] == [] and body["next_page_token"] is None


# --- Athena failures: 502 / 504 with a safe message -------------------------------------------------------------

def test_a_failed_query_is_a_502_without_the_reason(stubbed):
    client, stub = stubbed
    expect_query(stub, kpis.get("loss_ratio"), ["0000-00", "9999-99", "", "", "", "", 0, 101], [], state="FAILED")
    got, body = call(client, event("/kpis/loss_ratio"))
    assert got == 502 and body == {"message": "the query failed in Athena"}


def test_an_athena_error_on_start_is_a_502(stubbed):
    client, stub = stubbed
    stub.add_client_error("start_query_execution", "InvalidRequestException", "workgroup wg is disabled")
    got, body = call(client, event("/kpis/loss_ratio"))
    assert got == 502 and "disabled" not in json.dumps(body)


def test_a_query_past_the_wait_is_stopped_and_a_504(stubbed, monkeypatch):
    client, stub = stubbed
    now = [0.0]
    monkeypatch.setattr(athena.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(athena.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
    for _ in range(6):  # polls at t = 0, 0.05, 0.15, 0.35, 0.75, 1.55 s; the next would be after the 2 s wait
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q1"})
    got, body = call(client, event("/kpis/loss_ratio"), config.Settings("wg", "gold_db", 2.0))
    assert got == 504 and "too long" in body["message"]


def test_malformed_results_are_a_500_without_details(stubbed):
    client, stub = stubbed
    expect_query(stub, BY_LINE, ["0000-00", "9999-99", "", "", "", "", 0, 101], [["0114", "1", "1.234", "2.00"]])
    got, body = call(client, event("/kpis/loss_ratio_by_line_of_business"))
    assert got == 500 and body == {"message": "internal error"}


def test_missing_configuration_is_a_500_but_caller_errors_still_4xx(stubbed):
    client, _ = stubbed
    handler = app.handler_for(client, lambda: config.from_env({}))
    assert handler(event("/kpis/loss_ratio"), None)["statusCode"] == 500
    assert handler(event("/kpis/loss_ratio", "state=XX"), None)["statusCode"] == 400
    assert handler(event("/kpis"), None)["statusCode"] == 200


# --- logs and metrics ----------------------------------------------------------------------------------------

class Context:
    aws_request_id = "lambda-req-1"


@pytest.fixture
def logged():
    """The function's Powertools log lines, parsed, while the test runs."""
    buffer = io.StringIO()
    previous = app.logger.logger_handler.setStream(buffer)
    try:
        yield lambda: [json.loads(text) for text in buffer.getvalue().splitlines() if text.strip()]
    finally:
        app.logger.logger_handler.setStream(previous)


def with_request_id(ev: dict, request_id: str) -> dict:
    ev["requestContext"]["requestId"] = request_id
    return ev


def test_one_log_line_per_request_with_its_ids_and_kpi_metrics(stubbed, logged, capsys):
    client, stub = stubbed
    expect_query(stub, BY_LINE, ["0000-00", "9999-99", "", "", "", "", 0, 101], LINE_ROWS)
    expect_query(stub, kpis.get("loss_ratio"), ["0000-00", "9999-99", "", "", "", "", 0, 101], [], state="FAILED")
    handler = app.handler_for(client, lambda: SETTINGS)
    for request_id, path, query in [("r-ok", "/kpis/loss_ratio_by_line_of_business", ""), ("r-bad", "/kpis/nope", ""),
                                    ("r-fail", "/kpis/loss_ratio", ""), ("r-list", "/kpis", "")]:
        handler(with_request_id(event(path, query), request_id), Context())
    done = [line for line in logged() if line["message"] == "request done"]
    assert [(d["request_id"], d["status"], d.get("kpi"), d.get("rows")) for d in done] == [
        ("r-ok", 200, "loss_ratio_by_line_of_business", 3), ("r-bad", 404, None, None),
        ("r-fail", 502, "loss_ratio", None), ("r-list", 200, None, None)]
    assert all(d["aws_request_id"] == "lambda-req-1" and d["duration_ms"] >= 0 and d["method"] == "GET"
               for d in done)
    [failure] = [line for line in logged() if line["message"] == "KPI query failed"]
    assert failure["request_id"] == "r-fail"  # every line of a request carries its id
    points = [(p.name, p.value, p.dimensions) for text in capsys.readouterr().out.splitlines()
              for p in emf.parse(text)]
    service = {SERVICE_DIMENSION: app.SERVICE}
    assert [(name, value) for name, value, _ in points if name == QUERIES_FAILED] == [(QUERIES_FAILED, 0.0),
                                                                                       (QUERIES_FAILED, 1.0)]
    assert [name for name, _, _ in points] == [QUERY_DURATION, QUERIES_FAILED] * 2  # KPI requests past the checks
    assert all(dims == service and value >= 0 for _, value, dims in points)


def test_a_request_without_ids_logs_none_of_an_earlier_one(stubbed, logged):
    client, _ = stubbed
    handler = app.handler_for(client, lambda: SETTINGS)
    handler(with_request_id(event("/kpis"), "r-1"), Context())
    handler({"version": "2.0"}, None)  # no request context at all: still one line, and a 404
    first, second = [line for line in logged() if line["message"] == "request done"]
    assert first["request_id"] == "r-1" and "request_id" not in second and "aws_request_id" not in second
    assert second["status"] == 404


def test_settings_from_the_environment():
    env = {config.ENV_WORKGROUP: "wg", config.ENV_DATABASE: "db"}
    assert config.from_env(env) == config.Settings("wg", "db", config.DEFAULT_MAX_WAIT_SECONDS,
                                                   config.EXECUTION_PARAMETERS)
    assert config.from_env({**env, config.ENV_MAX_WAIT: "3", config.ENV_PARAMETER_STYLE: "emulator_prepare"}) == \
        config.Settings("wg", "db", 3.0, "emulator_prepare")
    for bad in ({}, {config.ENV_WORKGROUP: "wg"}, {**env, config.ENV_MAX_WAIT: "60"},
                {**env, config.ENV_MAX_WAIT: "soon"}, {**env, config.ENV_PARAMETER_STYLE: "inline"}):
        with pytest.raises(ValueError):
            config.from_env(bad)


# --- the documents ---------------------------------------------------------------------------------------------

def test_the_kpi_list_describes_filters_and_columns(stubbed):
    client, _ = stubbed
    got, body = call(client, event("/kpis"))
    assert got == 200
    by_name = {k["name"]: k for k in body["kpis"]}
    assert set(by_name) == {k.name for k in kpis.kpis()}
    lr = by_name["loss_ratio"]
    assert [f["name"] for f in lr["filters"]] == ["month_from", "month_to", "line_of_business", "state"]
    assert {c["name"]: c["type"] for c in lr["columns"]}["loss_ratio"] == "decimal"
    assert lr["key"] == ["month", "line_of_business", "state"]


def test_the_openapi_document_is_valid_and_generated_from_the_kpis(stubbed):
    from openapi_spec_validator import validate

    client, _ = stubbed
    got, doc = call(client, event("/openapi.json"))
    assert got == 200
    validate(doc)
    assert set(doc["paths"]) == {"/kpis", "/openapi.json", *(f"/kpis/{k.name}" for k in kpis.kpis())}
    op = doc["paths"]["/kpis/market_share"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"month_from", "month_to", "line_of_business", "state", "limit",
                                                     "page_token"}
    row = doc["components"]["schemas"]["MarketShareRow"]["properties"]
    assert row["market_share"]["nullable"] is True and row["market_share"]["pattern"].endswith("{6}$")
    assert row["company_premiums_written"].get("nullable") is None


def test_the_handler_module_imports_no_boto3():
    import subprocess
    import sys

    code = "import sys; import lambda_src.query_api.app; print('boto3' in sys.modules, 'botocore.client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False False"




@pytest.mark.parametrize("authorization", config.AUTHORIZATIONS)
def test_the_openapi_document_names_the_apis_authorization(stubbed, monkeypatch, authorization):
    from openapi_spec_validator import validate

    client, _ = stubbed
    monkeypatch.setenv(config.ENV_AUTHORIZATION, authorization)
    got, doc = call(client, event("/openapi.json"))
    assert got == 200
    validate(doc)
    assert doc["security"] == [{authorization: []}] and set(doc["components"]["securitySchemes"]) == {authorization}
    monkeypatch.setenv(config.ENV_AUTHORIZATION, "NONE")
    got, body = call(client, event("/openapi.json"))
    assert got == 500 and body == {"message": "internal error"}


class EmptyAthena:
    """Answers every query with no rows (for the fuzz below: only the request handling is under test)."""

    def start_query_execution(self, **kw):
        assert kw["QueryString"] in {k.sql for k in kpis.kpis()}  # never any other SQL
        assert all(isinstance(v, str) for v in kw["ExecutionParameters"])
        return {"QueryExecutionId": "q"}

    def get_query_execution(self, **kw):
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}

    def get_query_results(self, **kw):
        return {"ResultSet": {"Rows": []}}


def test_random_requests_never_get_a_5xx():
    """2,000 seeded random requests: valid and invalid filters, limits and tokens, junk keys and values,
    encodings and paths: every answer is a 200, 400, 404 or 405, never a 5xx."""
    import random
    from urllib.parse import urlencode

    rng = random.Random(9)
    handler = app.handler_for(EmptyAthena(), lambda: SETTINGS)
    good_token = api.next_token("loss_ratio", {}, 2)
    junk = ["", "'", "%", "%%", "%s", "?", ";", "--", "/*", "\x00", "ç", "😀", "a" * 5000, "-1", "1e3", "0x10",
            "2025-1", "2025-00", "9999-99", "0531", "SP", "sp", "NULL", good_token, good_token + "x", "true"]
    keys = [*api.QUERY_PARAMETERS, "sql", "query", "LIMIT", "state[]", ""]
    paths = ["/kpis", "/openapi.json", "/", "/kpis/", "/kpis/../kpis", "/kpis/%00",
             *(f"/kpis/{k.name}" for k in kpis.kpis()), "/kpis/loss_ratio/", "/KPIS/loss_ratio"]
    seen = set()
    for _ in range(2000):
        pairs = [(rng.choice(keys), rng.choice(junk + [str(rng.randint(-5, 2000))])) for _ in range(rng.randint(0, 4))]
        query = urlencode(pairs) if rng.random() < 0.8 else "&".join(f"{k}={v}" for k, v in pairs)
        method = rng.choice(["GET"] * 8 + ["POST", "DELETE"])
        response = handler(event(rng.choice(paths), query, method), None)
        seen.add(response["statusCode"])
        assert response["statusCode"] in (200, 400, 404, 405), (query, response)
        assert "message" in json.loads(response["body"]) or response["statusCode"] == 200
    assert {200, 400, 404, 405} <= seen


def test_the_local_runtime_runs_its_sql_through_the_same_athena_calls(stubbed, monkeypatch):
    """local_runtime.lake.athena_query (the demo's and the end-to-end tests' queries): any SQL, no
    ExecutionParameters, every page read, the header row giving the keys; a failed query is QueryFailed."""
    from local_runtime import lake

    client, stub = stubbed
    monkeypatch.setattr(lake, "client", lambda service, endpoint: client)

    def started(query_id: str, state: str) -> None:
        stub.add_response("start_query_execution", {"QueryExecutionId": query_id},
                          {"QueryString": "SELECT 1", "QueryExecutionContext": {"Database": "silver_db"},
                           "WorkGroup": "wg"})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": state}}},
                          {"QueryExecutionId": query_id})

    started("q1", "SUCCEEDED")
    for i, page in enumerate([[["table_name", "row_count"], ["a", "1"]], [["b", None]]]):
        body = {"ResultSet": {"Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in page]},
                **({} if i else {"NextToken": "t1"})}
        stub.add_response("get_query_results", body,
                          {"QueryExecutionId": "q1", "MaxResults": 1000, **({"NextToken": "t1"} if i else {})})
    assert lake.athena_query("http://emulator", "SELECT 1", "silver_db", "wg") == [
        {"table_name": "a", "row_count": "1"}, {"table_name": "b", "row_count": None}]
    started("q2", "FAILED")
    with pytest.raises(athena.QueryFailed, match="q2 FAILED"):
        lake.athena_query("http://emulator", "SELECT 1", "silver_db", "wg")
