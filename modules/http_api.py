"""HttpApi: an API Gateway v2 HTTP API in front of one Lambda function, every route authorized, throttled and
access-logged.

What it creates:

* ``aws_apigatewayv2_api`` ``<name>`` (``HTTP``);
* ``aws_cloudwatch_log_group`` ``/aws/apigateway/<name>`` (retention, KMS) for the access logs: one JSON line
  per request (:data:`modules.http_api_props.ACCESS_LOG_FORMAT`: request id, route key, status, latencies, the
  authorizer's error; no header, query string or body);
* ``aws_apigatewayv2_stage`` ``$default`` with ``auto_deploy`` (every change is live without a deployment
  resource), the access logs and the stage's throttling (``throttling_burst_limit``, ``throttling_rate_limit``)
  plus detailed metrics;
* ``aws_apigatewayv2_integration``: ``AWS_PROXY`` to the function, payload format 2.0;
* the authorizer, by ``authorization``: ``AWS_IAM`` needs none (callers sign requests with SigV4 and need
  ``execute-api:Invoke`` on ``<execution_arn>/*``); ``JWT`` creates a JWT authorizer (issuer, audience, the
  token read from ``authorizer_identity_header``); ``LAMBDA`` creates a ``REQUEST`` authorizer (payload 2.0,
  simple ``{"isAuthorized": bool}`` responses, identity source the header, so a call without it is refused
  with 401 before the function runs; verdicts cached per header value for ``authorizer_cache_seconds``) and
  the authorizer function's ``aws_lambda_permission``, scoped to ``<execution_arn>/authorizers/<id>``;
* one ``aws_apigatewayv2_route`` per route key, each with the authorization (there is no ``NONE``);
* one ``aws_lambda_permission`` per route for the function, scoped to that route's ``execute-api`` ARN
  (:func:`modules.http_api_props.route_source_arn`): the API may invoke it for those routes only.
"""
from __future__ import annotations

import re

from constructs import Construct

from .monitoring_props import http_api_watch
from .http_api_props import (
    OUTPUTS, STAGE, HttpApiProps, access_log_format, route_source_arn,
)
from ._bindings import aws

__all__ = ["OUTPUTS", "HttpApi", "HttpApiProps"]

ROUTE_AUTHORIZATION_TYPE = {"AWS_IAM": "AWS_IAM", "JWT": "JWT", "LAMBDA": "CUSTOM"}
"""``authorization`` -> the route's ``authorization_type`` (a Lambda authorizer's routes say ``CUSTOM``)."""


def _route_id(route_key: str) -> str:
    """A construct id for one route key (``GET /kpis/{name}`` -> ``route_get_kpis_name``)."""
    return "route_" + re.sub(r"[^a-z0-9]+", "_", route_key.lower()).strip("_")


class HttpApi(Construct):
    """HTTP API -> one Lambda function (see the module docstring).

    Options: :class:`HttpApiProps`; outputs: :data:`OUTPUTS` (``modules/http_api_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: HttpApiProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.api = None
        self.api_id: str | None = None
        self.api_endpoint: str | None = None
        self.stage_invoke_url: str | None = None
        self.execution_arn: str | None = None
        self.log_group_name: str | None = None
        self.authorizer_id: str | None = None
        self.route_ids: dict[str, str] = {}
        if not props.create:
            return

        Apigatewayv2Api = aws.apigatewayv2_api.Apigatewayv2Api
        binding = aws.apigatewayv2_authorizer
        Apigatewayv2Authorizer = binding.Apigatewayv2Authorizer
        Apigatewayv2AuthorizerJwtConfiguration = binding.Apigatewayv2AuthorizerJwtConfiguration
        Apigatewayv2Integration = aws.apigatewayv2_integration.Apigatewayv2Integration
        Apigatewayv2Route = aws.apigatewayv2_route.Apigatewayv2Route
        binding = aws.apigatewayv2_stage
        Apigatewayv2Stage = binding.Apigatewayv2Stage
        Apigatewayv2StageAccessLogSettings = binding.Apigatewayv2StageAccessLogSettings
        Apigatewayv2StageDefaultRouteSettings = binding.Apigatewayv2StageDefaultRouteSettings
        CloudwatchLogGroup = aws.cloudwatch_log_group.CloudwatchLogGroup
        LambdaPermission = aws.lambda_permission.LambdaPermission

        p = props
        tags = dict(p.tags)
        self.api = Apigatewayv2Api(self, "api", name=p.name, protocol_type="HTTP",
                                   description=p.description or None, tags=tags)
        execution_arn = self.api.execution_arn

        log_group = CloudwatchLogGroup(self, "access_logs", name=f"/aws/apigateway/{p.name}",
                                       retention_in_days=p.log_retention_days, kms_key_id=p.kms_key_arn, tags=tags)
        stage = Apigatewayv2Stage(
            self, "stage", api_id=self.api.id, name=STAGE, auto_deploy=True,
            access_log_settings=Apigatewayv2StageAccessLogSettings(destination_arn=log_group.arn,
                                                                   format=access_log_format()),
            default_route_settings=Apigatewayv2StageDefaultRouteSettings(
                throttling_burst_limit=p.throttling_burst_limit, throttling_rate_limit=p.throttling_rate_limit,
                detailed_metrics_enabled=True),
            tags=tags,
        )

        integration = Apigatewayv2Integration(
            self, "integration", api_id=self.api.id, integration_type="AWS_PROXY", integration_method="POST",
            integration_uri=p.function_arn, payload_format_version="2.0",
            timeout_milliseconds=p.integration_timeout_ms,
        )

        authorizer = None
        header = f"$request.header.{p.authorizer_identity_header}"
        if p.authorization == "JWT":
            authorizer = Apigatewayv2Authorizer(
                self, "authorizer", api_id=self.api.id, name=f"{p.name}-jwt", authorizer_type="JWT",
                identity_sources=[header],
                jwt_configuration=Apigatewayv2AuthorizerJwtConfiguration(issuer=p.jwt_issuer,
                                                                         audience=list(p.jwt_audience)))
        elif p.authorization == "LAMBDA":
            authorizer = Apigatewayv2Authorizer(
                self, "authorizer", api_id=self.api.id, name=f"{p.name}-lambda", authorizer_type="REQUEST",
                authorizer_uri=p.authorizer_invoke_arn, authorizer_payload_format_version="2.0",
                enable_simple_responses=True, identity_sources=[header],
                authorizer_result_ttl_in_seconds=p.authorizer_cache_seconds)
            LambdaPermission(
                self, "authorizer_permission", statement_id="AllowApiGatewayAuthorizer", action="lambda:InvokeFunction",
                function_name=p.authorizer_function_name, principal="apigateway.amazonaws.com",
                source_arn=f"{execution_arn}/authorizers/{authorizer.id}")

        for i, key in enumerate(p.route_keys):
            route = Apigatewayv2Route(
                self, _route_id(key), api_id=self.api.id, route_key=key, target=f"integrations/{integration.id}",
                authorization_type=ROUTE_AUTHORIZATION_TYPE[p.authorization],
                authorizer_id=authorizer.id if authorizer else None)
            self.route_ids[key] = route.id
            LambdaPermission(
                self, f"permission_{i}", statement_id=f"AllowApiGatewayRoute{i}", action="lambda:InvokeFunction",
                function_name=p.function_name, principal="apigateway.amazonaws.com",
                source_arn=route_source_arn(execution_arn, key))

        self.api_id = self.api.id
        self.api_endpoint = self.api.api_endpoint
        self.stage_invoke_url = stage.invoke_url
        self.watches = (http_api_watch(self.api_id, p.name, stage.name),)
        self.execution_arn = execution_arn
        self.log_group_name = log_group.name
        self.authorizer_id = authorizer.id if authorizer else None
