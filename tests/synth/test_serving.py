"""The serving layer: the HTTP API construct, the Athena named queries and the query API in every stack.

Compliance of the session's synthesized stacks (``synth`` fixture) and the constructs alone (``bindings``):
access logs to a KMS-encrypted log group, throttling set, an authorizer on every route and no route without
authorization, Lambda permissions scoped to the API's routes and authorizer, the named queries in the
workgroup from ``queries/``.
"""
from __future__ import annotations

import json

import pytest

from compose.serving import ROUTE_KEYS, function_names
from modules.http_api_props import ACCESS_LOG_FORMAT, HttpApiProps, route_source_arn
from modules.options import OptionError
from queries import kpi

from .test_config import assert_config_rejected
from .test_constructs import TAGS, new_stack, synth_json

ENVS = ("local", "dev", "prod")
ROUTE_AUTH = {"AWS_IAM": "AWS_IAM", "JWT": "JWT", "LAMBDA": "CUSTOM"}


def ref(rtype: str, name: str, attr: str) -> str:
    return f"${{{rtype}.{name}.{attr}}}"


def kms_arn(synth, env: str) -> str:
    name, _ = synth.one(env, "aws_kms_key", "/kms/key")
    return ref("aws_kms_key", name, "arn")


def only(resources: dict) -> tuple[str, dict]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


# ==================================================================================================
# The stacks
# ==================================================================================================
@pytest.mark.parametrize("env", ENVS)
def test_api_routes_are_all_authorized(synth, env):
    cfg = synth.configs[env]
    api_name, api = synth.one(env, "aws_apigatewayv2_api", "/query_api/api")
    assert api["protocol_type"] == "HTTP" and api["name"] == f"{cfg.name_prefix}-query"
    routes = synth.resources(env, "aws_apigatewayv2_route")
    assert sorted(r["route_key"] for r in routes.values()) == sorted(ROUTE_KEYS)
    authorizers = synth.resources(env, "aws_apigatewayv2_authorizer")
    for route in routes.values():
        assert route["api_id"] == ref("aws_apigatewayv2_api", api_name, "id")
        assert route["authorization_type"] == ROUTE_AUTH[cfg.api.authorization], route
        assert route["authorization_type"] != "NONE"
        if cfg.api.authorization == "AWS_IAM":
            assert "authorizer_id" not in route
        else:
            (auth_name,) = authorizers
            assert route["authorizer_id"] == ref("aws_apigatewayv2_authorizer", auth_name, "id")
    if cfg.api.authorization == "AWS_IAM":
        assert authorizers == {}


def test_local_api_uses_the_lambda_authorizer_with_a_generated_token(synth):
    cfg = synth.configs["local"]
    assert cfg.api.authorization == "LAMBDA"
    _, auth = only(synth.resources("local", "aws_apigatewayv2_authorizer"))
    fn_name, fn = synth.one("local", "aws_lambda_function", "/api_authorizer/function")
    assert fn["function_name"] == function_names(cfg.name_prefix)["api_authorizer"]
    assert auth["authorizer_type"] == "REQUEST"
    assert auth["authorizer_uri"] == ref("aws_lambda_function", fn_name, "invoke_arn")
    assert auth["authorizer_payload_format_version"] == "2.0"
    assert auth["enable_simple_responses"] is True
    assert auth["identity_sources"] == ["$request.header.Authorization"]
    assert auth["authorizer_result_ttl_in_seconds"] == cfg.api.authorizer_cache_seconds
    secret_name, secret = synth.one("local", "aws_secretsmanager_secret", "/api_token/secret")
    assert secret["name"] == cfg.api_token_secret_name == "lakeforge-local/api-token"
    assert secret["kms_key_id"] == kms_arn(synth, "local")
    assert fn["environment"]["variables"] == {
        "TOKEN_SECRET_ARN": ref("aws_secretsmanager_secret", secret_name, "arn")}
    (version,) = [v for v in synth.resources("local", "aws_secretsmanager_secret_version").values()
                  if v["secret_id"] == ref("aws_secretsmanager_secret", secret_name, "id")]
    assert "secret_string" not in version and version["secret_string_wo"].startswith("${ephemeral.")
    assert version["secret_string_wo_version"] == cfg.api.token_version
    _, rp = synth.one("local", "aws_iam_role_policy", "/api_authorizer/role_policy")
    statements = {s["Sid"]: s for s in json.loads(rp["policy"])["Statement"]}
    assert statements["ReadApiToken"] == {"Sid": "ReadApiToken", "Effect": "Allow",
                                          "Action": "secretsmanager:GetSecretValue",
                                          "Resource": ref("aws_secretsmanager_secret", secret_name, "arn")}


@pytest.mark.parametrize("env", ("dev", "prod"))
def test_cloud_api_uses_iam_and_has_no_token(synth, env):
    assert synth.configs[env].api.authorization == "AWS_IAM"
    assert not [p for p in synth.resources(env, "aws_lambda_function").values()
                if "authorizer" in p["function_name"]]
    assert not [s for s in synth.resources(env, "aws_secretsmanager_secret").values() if "api-token" in s["name"]]


@pytest.mark.parametrize("env", ENVS)
def test_api_stage_throttles_and_logs_to_an_encrypted_group(synth, env):
    cfg = synth.configs[env]
    _, stage = synth.one(env, "aws_apigatewayv2_stage", "/query_api/stage")
    group_name, group = synth.one(env, "aws_cloudwatch_log_group", "/query_api/access_logs")
    assert stage["name"] == "$default" and stage["auto_deploy"] is True
    settings = stage["default_route_settings"]
    assert settings["throttling_burst_limit"] == cfg.api.throttling_burst_limit
    assert settings["throttling_rate_limit"] == cfg.api.throttling_rate_limit
    logs = stage["access_log_settings"]
    assert logs["destination_arn"] == ref("aws_cloudwatch_log_group", group_name, "arn")
    fmt = json.loads(logs["format"])
    assert fmt == ACCESS_LOG_FORMAT
    assert {"requestId", "routeKey", "status", "latency", "authorizerError"} <= set(fmt)
    assert not any("header" in v or "querystring" in v for v in fmt.values()), "no caller value in the logs"
    assert group["kms_key_id"] == kms_arn(synth, env)
    assert group["retention_in_days"] == cfg.log_retention_days
    assert group["name"] == f"/aws/apigateway/{cfg.name_prefix}-query"


@pytest.mark.parametrize("env", ENVS)
def test_lambda_permissions_are_scoped_to_the_api(synth, env):
    api_name, _ = synth.one(env, "aws_apigatewayv2_api", "/query_api/api")
    execution_arn = ref("aws_apigatewayv2_api", api_name, "execution_arn")
    query_name, _ = synth.one(env, "aws_lambda_function", "/query_function/function")
    perms = synth.resources(env, "aws_lambda_permission")
    route_perms = [p for p in perms.values()
                   if p["function_name"] == ref("aws_lambda_function", query_name, "function_name")]
    assert sorted(p["source_arn"] for p in route_perms) == sorted(route_source_arn(execution_arn, k)
                                                                  for k in ROUTE_KEYS)
    for p in perms.values():
        assert p["principal"] == "apigateway.amazonaws.com" and p["action"] == "lambda:InvokeFunction"
        assert p["source_arn"].startswith(execution_arn + "/"), p
        assert "source_account" not in p or p["source_arn"]
    if synth.configs[env].api.authorization == "LAMBDA":
        auth_name, _ = only(synth.resources(env, "aws_apigatewayv2_authorizer"))
        (auth_perm,) = [p for p in perms.values() if p not in route_perms]
        assert auth_perm["source_arn"] == f"{execution_arn}/authorizers/" + ref("aws_apigatewayv2_authorizer",
                                                                               auth_name, "id")
    else:
        assert len(perms) == len(ROUTE_KEYS)


@pytest.mark.parametrize("env", ENVS)
def test_integration_is_the_query_function_with_payload_2(synth, env):
    query_name, fn = synth.one(env, "aws_lambda_function", "/query_function/function")
    _, integration = synth.one(env, "aws_apigatewayv2_integration", "/query_api/integration")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    assert integration["integration_uri"] == ref("aws_lambda_function", query_name, "arn")
    assert fn["timeout"] * 1000 < integration["timeout_milliseconds"]
    routes = synth.resources(env, "aws_apigatewayv2_route").values()
    integration_name, _ = synth.one(env, "aws_apigatewayv2_integration", "/query_api/integration")
    assert {r["target"] for r in routes} == {
        "integrations/" + ref("aws_apigatewayv2_integration", integration_name, "id")}


@pytest.mark.parametrize("env", ENVS)
def test_query_function_may_only_read_gold_through_the_workgroup(synth, env):
    _, rp = synth.one(env, "aws_iam_role_policy", "/query_function/role_policy")
    statements = {s["Sid"]: s for s in json.loads(rp["policy"])["Statement"]}
    athena = statements["RunQueriesInTheLakeWorkgroup"]
    assert athena["Resource"].endswith(":workgroup/" + synth.configs[env].name_prefix)
    glue = statements["ReadGoldCatalog"]
    gold_db = synth.configs[env].name_prefix.replace("-", "_") + "_gold"
    assert all(r.endswith(":catalog") or f"/{gold_db}" in r for r in glue["Resource"]), glue
    for sid in ("ReadGoldObjects", "WriteQueryResults"):
        resources = statements[sid]["Resource"]
        assert all(r.endswith("*") and "/" in r.split(":::")[-1] for r in
                   ([resources] if isinstance(resources, str) else resources)), (sid, resources)
    assert not any(a.startswith("s3:Delete") for s in statements.values()
                   for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


@pytest.mark.parametrize("env", ENVS)
def test_named_queries_are_the_queries_of_the_repository(synth, env):
    cfg = synth.configs[env]
    wg_name, wg = synth.one(env, "aws_athena_workgroup", "/athena/workgroup")
    assert wg["configuration"]["engine_version"] == {"selected_engine_version": "Athena engine version 3"}
    assert wg["configuration"]["enforce_workgroup_configuration"] is True
    named = {q["name"]: q for q in synth.resources(env, "aws_athena_named_query").values()}
    assert set(named) == {f"kpi_{k.name}" for k in kpi.kpis()} and named
    db_name, _ = synth.one(env, "aws_glue_catalog_database", "/catalog/gold_database")
    for each in kpi.kpis():
        saved = named[each.query.name]
        assert saved["workgroup"] == ref("aws_athena_workgroup", wg_name, "name")
        assert saved["database"] == ref("aws_glue_catalog_database", db_name, "name")
        assert saved["query"] == each.sql and "?" in saved["query"]
        assert saved["description"] == f"{each.description} Parameters, in order: {', '.join(each.parameters)}."
        assert len(saved["description"]) <= 1024
    assert cfg.services.athena


@pytest.mark.parametrize("env", ENVS)
def test_query_function_environment_uses_its_own_names(synth, env):
    from lambda_src.query_api import config as query_config

    cfg = synth.configs[env]
    _, fn = synth.one(env, "aws_lambda_function", "/query_function/function")
    variables = fn["environment"]["variables"]
    _, wg = synth.one(env, "aws_athena_workgroup", "/athena/workgroup")
    _, db = synth.one(env, "aws_glue_catalog_database", "/catalog/gold_database")
    settings = query_config.from_env(variables)
    assert (settings.workgroup, settings.database) == (wg["name"], db["name"])
    assert settings.max_wait_seconds < fn["timeout"]
    assert settings.parameter_style == (query_config.EMULATOR_PREPARE if env == "local"
                                        else query_config.EXECUTION_PARAMETERS)
    assert query_config.authorization(variables) == cfg.api.authorization
    assert fn["handler"] == "app.handler"
    assert set(query_config.ENVIRONMENT_VARIABLES) <= set(variables)


@pytest.mark.parametrize("env", ENVS)
def test_query_api_outputs(synth, env):
    outputs = synth.docs[env]["output"]
    api_name, _ = synth.one(env, "aws_apigatewayv2_api", "/query_api/api")
    stage_name, _ = synth.one(env, "aws_apigatewayv2_stage", "/query_api/stage")
    assert outputs["api_id"]["value"] == ref("aws_apigatewayv2_api", api_name, "id")
    assert outputs["api_url"]["value"] == ref("aws_apigatewayv2_stage", stage_name, "invoke_url")


# ==================================================================================================
# The constructs alone
# ==================================================================================================
def api_props(**overrides) -> HttpApiProps:
    values = dict(name="acme-query", function_name="acme-fn", function_arn="arn:aws:lambda:sa-east-1:1:function:f",
                  route_keys=("GET /kpis", "GET /kpis/{name}"), kms_key_arn="arn:aws:kms:sa-east-1:1:key/k",
                  tags=TAGS)
    values.update(overrides)
    return HttpApiProps(**values)


def test_http_api_defaults_to_iam(bindings):
    from modules.http_api import HttpApi

    stack = new_stack(bindings)
    api = HttpApi(stack, "api", api_props())
    doc = synth_json(bindings, stack)["resource"]
    assert {r["authorization_type"] for r in doc["aws_apigatewayv2_route"].values()} == {"AWS_IAM"}
    assert "aws_apigatewayv2_authorizer" not in doc
    (stage,) = doc["aws_apigatewayv2_stage"].values()
    assert stage["default_route_settings"]["throttling_burst_limit"] == 50
    assert stage["default_route_settings"]["throttling_rate_limit"] == 20
    (group,) = doc["aws_cloudwatch_log_group"].values()
    assert group["kms_key_id"] == "arn:aws:kms:sa-east-1:1:key/k" and group["retention_in_days"] == 365
    assert sorted(p["source_arn"].split("}", 1)[1] for p in doc["aws_lambda_permission"].values()) == [
        "/*/GET/kpis", "/*/GET/kpis/*"]
    assert api.authorizer_id is None and set(api.route_ids) == {"GET /kpis", "GET /kpis/{name}"}
    for tagged in ("aws_apigatewayv2_api", "aws_apigatewayv2_stage", "aws_cloudwatch_log_group"):
        assert all(r["tags"] == TAGS for r in doc[tagged].values()), tagged


def test_http_api_with_jwt(bindings):
    from modules.http_api import HttpApi

    stack = new_stack(bindings)
    HttpApi(stack, "api", api_props(authorization="JWT", jwt_issuer="https://login.example.com/",
                                    jwt_audience=("client-1",)))
    doc = synth_json(bindings, stack)["resource"]
    (auth_name, auth), = doc["aws_apigatewayv2_authorizer"].items()
    assert auth["authorizer_type"] == "JWT"
    assert auth["jwt_configuration"] == {"issuer": "https://login.example.com/", "audience": ["client-1"]}
    for route in doc["aws_apigatewayv2_route"].values():
        assert route["authorization_type"] == "JWT"
        assert route["authorizer_id"] == ref("aws_apigatewayv2_authorizer", auth_name, "id")
    assert len(doc["aws_lambda_permission"]) == 2  # the routes only: a JWT authorizer invokes nothing


def test_http_api_with_a_lambda_authorizer(bindings):
    from modules.http_api import HttpApi

    stack = new_stack(bindings)
    HttpApi(stack, "api", api_props(authorization="LAMBDA", authorizer_function_name="acme-auth",
                                    authorizer_invoke_arn="arn:aws:apigateway:sa-east-1:lambda:path/x/invocations",
                                    authorizer_cache_seconds=0))
    doc = synth_json(bindings, stack)["resource"]
    (auth_name, auth), = doc["aws_apigatewayv2_authorizer"].items()
    assert (auth["authorizer_type"], auth["enable_simple_responses"], auth["authorizer_result_ttl_in_seconds"]) == (
        "REQUEST", True, 0)
    assert {r["authorization_type"] for r in doc["aws_apigatewayv2_route"].values()} == {"CUSTOM"}
    (auth_perm,) = [p for p in doc["aws_lambda_permission"].values() if p["function_name"] == "acme-auth"]
    assert auth_perm["source_arn"].endswith("/authorizers/" + ref("aws_apigatewayv2_authorizer", auth_name, "id"))


def test_http_api_create_false_creates_nothing(bindings):
    from modules.http_api import HttpApi

    stack = new_stack(bindings)
    api = HttpApi(stack, "api", HttpApiProps(name="x", function_name="", function_arn="", route_keys=(),
                                             kms_key_arn="", create=False))
    assert api.api_id is None and api.route_ids == {}
    assert "resource" not in synth_json(bindings, stack)


@pytest.mark.parametrize("overrides, message", [
    ({"authorization": "NONE"}, "authorization"),
    ({"authorization": "JWT"}, "jwt_issuer"),
    ({"authorization": "JWT", "jwt_issuer": "http://insecure", "jwt_audience": ("a",)}, "https://"),
    ({"authorization": "LAMBDA"}, "authorizer_function_name"),
    ({"route_keys": ()}, "route_keys"),
    ({"route_keys": ("kpis",)}, "route_keys"),
    ({"route_keys": ("GET /kpis", "GET /kpis")}, "duplicate"),
    ({"throttling_burst_limit": 0}, "throttling_burst_limit"),
    ({"log_retention_days": 2}, "log_retention_days"),
])
def test_http_api_props_refuse(overrides, message):
    with pytest.raises(OptionError, match=message):
        api_props(**overrides)


def test_route_source_arn():
    assert route_source_arn("arn:x:api", "GET /kpis/{name}") == "arn:x:api/*/GET/kpis/*"
    assert route_source_arn("arn:x:api", "ANY /{proxy+}") == "arn:x:api/*/*/*"
    assert route_source_arn("arn:x:api", "GET /openapi.json") == "arn:x:api/*/GET/openapi.json"


def test_athena_named_queries_alone(bindings):
    from modules.athena import AthenaWorkgroup, AthenaWorkgroupProps, NamedQuery

    stack = new_stack(bindings)
    wg = AthenaWorkgroup(stack, "wg", AthenaWorkgroupProps(
        name="acme", results_bucket="acme-results", kms_key_arn="arn:aws:kms:sa-east-1:1:key/k",
        named_queries=(NamedQuery(name="kpi_x", database="acme_gold", sql="SELECT * FROM t WHERE month >= ?",
                                  description="x by month"),), tags=TAGS))
    doc = synth_json(bindings, stack)["resource"]
    (wg_name, res), = doc["aws_athena_workgroup"].items()
    assert res["configuration"]["engine_version"] == {"selected_engine_version": "Athena engine version 3"}
    assert res["configuration"]["result_configuration"]["encryption_configuration"]["encryption_option"] == "SSE_KMS"
    (query,) = doc["aws_athena_named_query"].values()
    assert query == {**query, "name": "kpi_x", "database": "acme_gold", "query": "SELECT * FROM t WHERE month >= ?",
                     "description": "x by month", "workgroup": ref("aws_athena_workgroup", wg_name, "name")}
    assert set(wg.named_query_ids) == {"kpi_x"}
    with pytest.raises(OptionError, match="duplicate"):
        AthenaWorkgroupProps(name="a", results_bucket="b", named_queries=(
            NamedQuery(name="q", database="d", sql="SELECT 1"), NamedQuery(name="q", database="d", sql="SELECT 2")))
    with pytest.raises(OptionError, match="name"):
        NamedQuery(name="no spaces", database="d", sql="SELECT 1")
    with pytest.raises(OptionError, match="sql"):
        NamedQuery(name="q", database="d", sql="")


# ==================================================================================================
# [api] settings
# ==================================================================================================
def test_api_settings_are_checked_with_the_constructs_rules():
    assert_config_rejected(lambda d: d["api"].update(authorization="JWT"), "api.jwt_issuer: JWT authorization needs")
    assert_config_rejected(lambda d: d["api"].update(authorization="NONE"), "api.authorization: one of")
    assert_config_rejected(lambda d: d["api"].update(throttling_rate_limit=0), "api.throttling_rate_limit")
    assert_config_rejected(lambda d: d["api"].update(timeout_seconds=29), "api.timeout_seconds")
    assert_config_rejected(lambda d: d["services"].update(athena=False), "services.query_api: needs")
