"""The serving layer: the query API over gold. An API Gateway HTTP API (``GET /kpis``, ``GET /kpis/{name}``,
``GET /openapi.json``) in front of the query function (``lambda_src/query_api``), which runs the workgroup's
named, parameterized KPI queries through Athena and returns JSON.

Authorization comes from ``[api] authorization``: ``AWS_IAM`` in dev and prod (callers sign with SigV4);
``LAMBDA`` locally, because the emulator does not verify SigV4 signatures (any ``Authorization`` header passes
an ``AWS_IAM`` route) while it really runs a Lambda ``REQUEST`` authorizer: the authorizer function
(``lambda_src/api_authorizer``) checks ``Authorization: Bearer <token>`` against a token Terraform generates into
Secrets Manager (:class:`modules.secrets_manager.GeneratedSecret`: in no code, state or output).

The query function may: start and read query executions in the lake's workgroup only; read the gold
database and its tables in the Data Catalog only; read the gold tables' objects (their first location and
the published copies under ``runs/``) and write its results under the workgroup's results prefix; use the
key through S3 (gold, the results) and Glue (the encrypted catalog).
"""
from __future__ import annotations

from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import AUTHORIZER_FUNCTION, QUERY_FUNCTION, BuildInputs
from compose.outputs import StackOutput
from data_contracts import metrics
from environments import EnvironmentConfig
from lakehouse.gold_publication import RUNS_PREFIX
from lambda_src.query_api import config as query_config
from modules.athena_props import AthenaWorkgroupProps
from modules.http_api_props import HttpApiProps
from modules.iam import Condition, Statement
from modules.lambda_function_props import PythonFunctionProps
from modules.secrets_manager_props import GeneratedSecretProps
from modules._bindings import core

ROUTE_KEYS: tuple[str, ...] = ("GET /kpis", "GET /kpis/{name}", "GET /openapi.json")
"""The API's routes, all to the query function."""

RESULTS_PREFIX: str = AthenaWorkgroupProps.__dataclass_fields__["results_prefix"].default
"""Where the workgroup writes query results (the workgroup's default prefix, which the batch layer keeps)."""

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("api_url", "query_api", "Base URL of the query API ($default stage)"),
    StackOutput("api_id", "query_api", "Id of the query API (locally: /_aws/execute-api/<id>/$default/...)"),
    StackOutput("query_function_name", "query_api", "Name of the query Lambda function"),
    StackOutput("quicksight_dashboard_id", "quicksight", "Id of the QuickSight KPI dashboard"),
)


def function_names(prefix: str) -> dict[str, str]:
    """The serving layer's Lambda function names, by package."""
    return {QUERY_FUNCTION: f"{prefix}-query-api", AUTHORIZER_FUNCTION: f"{prefix}-api-authorizer"}


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The functions' environments are encrypted with the key (and locally the token's secret); Athena reads
    gold and writes the SSE-KMS results through S3, which the foundation already allows."""
    if not config.services.query_api:
        return KeyUsers()
    via = ["lambda"]
    if config.api.authorization == "LAMBDA":
        via.append("secretsmanager")
    return KeyUsers(via_services=tuple(via))


def query_environment(config: EnvironmentConfig, workgroup: str, gold_database: str, service: str) -> dict[str, str]:
    """The query function's environment, by the names it reads (``lambda_src/query_api/config.py``); ``service``:
    the function's name (its metrics' ``service`` dimension). Locally the
    values reach the emulator's Athena as DuckDB ``PREPARE``/``EXECUTE`` (it drops ``ExecutionParameters``);
    on AWS as ``ExecutionParameters``. Its wait stays below the function's timeout."""
    wait = min(query_config.MAX_WAIT_SECONDS, config.api.timeout_seconds - 2)
    return {
        query_config.ENV_WORKGROUP: workgroup,
        query_config.ENV_DATABASE: gold_database,
        query_config.ENV_MAX_WAIT: f"{wait:g}",
        query_config.ENV_PARAMETER_STYLE: (query_config.EMULATOR_PREPARE if config.is_local
                                           else query_config.EXECUTION_PARAMETERS),
        query_config.ENV_AUTHORIZATION: config.api.authorization,
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": metrics.NAMESPACE,
        "LOG_LEVEL": config.lambda_.log_level,
    }


def query_statements(*, partition: str, region: str, account_id: str, workgroup: str, gold_database: str,
                     gold_arn: str, results_arn: str, gold_locations: tuple[str, ...]) -> tuple[Statement, ...]:
    """The query function's grants beyond its logs, queue, key and traces (see the module docstring)."""
    athena = f"arn:{partition}:athena:{region}:{account_id}:workgroup/{workgroup}"
    glue = f"arn:{partition}:glue:{region}:{account_id}"
    gold_prefixes = (RUNS_PREFIX, *gold_locations)
    return (
        Statement(sid="RunQueriesInTheLakeWorkgroup",
                  actions=("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                           "athena:StopQueryExecution"),
                  resources=(athena,)),
        Statement(sid="ReadGoldCatalog", actions=("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"),
                  resources=(f"{glue}:catalog", f"{glue}:database/{gold_database}",
                             f"{glue}:table/{gold_database}/*")),
        Statement(sid="ReadGoldObjects", actions=("s3:GetObject",),
                  resources=tuple(f"{gold_arn}/{p}*" for p in gold_prefixes)),
        Statement(sid="ListGoldTables", actions=("s3:ListBucket",), resources=(gold_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", tuple(f"{p}*" for p in gold_prefixes)),)),
        Statement(sid="WriteQueryResults", actions=("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
                  resources=(f"{results_arn}/{RESULTS_PREFIX}*",)),
        Statement(sid="ListQueryResults", actions=("s3:ListBucket",), resources=(results_arn,),
                  conditions=(Condition("StringLike", "s3:prefix", (f"{RESULTS_PREFIX}*",)),)),
        Statement(sid="LocateBuckets", actions=("s3:GetBucketLocation",), resources=(gold_arn, results_arn)),
    )


def build(base: Foundation, inputs: BuildInputs) -> None:
    config = base.naming.config
    if config.services.query_api:
        _query_api(base, inputs)
    if config.services.quicksight:
        _quicksight(base, inputs)


def _query_api(base: Foundation, inputs: BuildInputs) -> None:
    from compose.batch import workgroup_name
    from modules.glue_catalog import database_name
    from modules.http_api import HttpApi
    from modules.lambda_function import PythonFunction
    from modules.secrets_manager import GeneratedSecret

    stack, names, key, lake = base.stack, base.naming, base.key, base.lake
    config = names.config
    prefix, tags, api = names.prefix, names.tags, config.api
    fn_names = function_names(prefix)
    gold_database = database_name(prefix, "gold")
    workgroup = workgroup_name(prefix)
    gold_locations = tuple(t.location for t in (inputs.tables or ()) if t.layer == "gold")

    query = PythonFunction(stack, "query_function", PythonFunctionProps(
        function_name=fn_names[QUERY_FUNCTION], zip_path=inputs.lambda_zips[QUERY_FUNCTION], handler="app.handler",
        description="Query API: named, parameterized KPI queries on gold through Athena",
        **api.values_for(PythonFunctionProps), kms_key_arn=key.arn,
        **config.values_for(PythonFunctionProps), architecture=config.lambda_.architecture,
        environment=query_environment(config, workgroup, gold_database, fn_names[QUERY_FUNCTION]),
        policy_statements=query_statements(
            partition=names.partition, region=config.region, account_id=names.account_id, workgroup=workgroup,
            gold_database=gold_database, gold_arn=lake.bucket_arns["gold"],
            results_arn=lake.bucket_arns["athena_results"], gold_locations=gold_locations),
        tags=tags,
    ))

    authorizer = None
    secret = None
    if api.authorization == "LAMBDA":
        secret = GeneratedSecret(stack, "api_token", GeneratedSecretProps(
            name=config.api_token_secret_name, kms_key_arn=key.arn, version=api.token_version,
            description="Bearer token of the query API's Lambda authorizer (generated by Terraform; never in "
                        "code, state or outputs)",
            recovery_window_days=0 if config.force_destroy else 30, **config.values_for(GeneratedSecretProps),
            tags=tags))
        authorizer = PythonFunction(stack, "api_authorizer", PythonFunctionProps(
            function_name=fn_names[AUTHORIZER_FUNCTION], zip_path=inputs.lambda_zips[AUTHORIZER_FUNCTION],
            description="Query API authorizer: Authorization: Bearer <token> against the token in Secrets Manager",
            memory_mb=128, timeout_seconds=5, reserved_concurrency=api.reserved_concurrency, kms_key_arn=key.arn,
            **config.values_for(PythonFunctionProps), architecture=config.lambda_.architecture,
            environment={"TOKEN_SECRET_ARN": secret.arn},
            policy_statements=(Statement(sid="ReadApiToken", actions=("secretsmanager:GetSecretValue",),
                                         resources=(secret.arn,)),),
            tags=tags,
        ))

    http = HttpApi(stack, "query_api", HttpApiProps(
        name=f"{prefix}-query", function_name=query.function_name, function_arn=query.arn, route_keys=ROUTE_KEYS,
        kms_key_arn=key.arn, **api.values_for(HttpApiProps),
        authorizer_function_name=authorizer.function_name if authorizer else "",
        authorizer_invoke_arn=authorizer.invoke_arn if authorizer else "",
        log_retention_days=config.log_retention_days,
        description="lakeforge query API: KPIs over gold (named Athena queries)", tags=tags,
    ))
    base.outputs.emit("api_url", http.stage_invoke_url)
    base.outputs.emit("api_id", http.api_id)
    base.outputs.emit("query_function_name", query.function_name)


# --- QuickSight ---------------------------------------------------------------------------------------------

QUICKSIGHT_TYPES: dict[str, str] = {"string": "STRING", "int": "INTEGER", "bigint": "INTEGER", "smallint": "INTEGER"}
"""Glue column type -> QuickSight column type (``decimal(p,s)`` -> ``DECIMAL``)."""


def quicksight_type(glue_type: str) -> str:
    if glue_type.startswith("decimal("):
        return "DECIMAL"
    try:
        return QUICKSIGHT_TYPES[glue_type]
    except KeyError:
        raise ValueError(f"no QuickSight type for the Glue type {glue_type!r}") from None


def kpi_data_sets(schema: str, source: str = "redshift") -> tuple:
    """A QuickSight data set per KPI (``queries/kpi_*.sql``): its SQL with no filter and no paging
    (:func:`queries.kpi.dataset_sql`) on the ``schema`` tables, the columns the SQL returns, typed from gold."""
    from modules.quicksight_props import QuicksightColumn, QuicksightDataSetSpec
    from queries import kpi as kpis

    return tuple(QuicksightDataSetSpec(
        key=k.name, name=k.query.title, sql=kpis.dataset_sql(k, schema), source=source,
        columns=tuple(QuicksightColumn(c.name, quicksight_type(c.type)) for c in k.sql_columns))
        for k in kpis.kpis())


def dashboard_visuals() -> tuple:
    """The dashboard's views (:data:`dashboard.views.VIEWS`, the same ``make dashboard`` draws) as QuickSight
    visuals: a column series is summed, a ratio column is the ratio of its two sums."""
    from dashboard.views import VIEWS
    from modules.quicksight_props import QuicksightMeasure, QuicksightVisualSpec
    from queries import kpi as kpis

    out = []
    for view in VIEWS:
        k = kpis.get(view.kpi)
        columns = {c.name: c for c in k.columns}
        measures = tuple(QuicksightMeasure(label=legend, ratio=columns[name].ratio) if columns[name].ratio
                         else QuicksightMeasure(label=legend, column=name) for name, legend in view.series)
        out.append(QuicksightVisualSpec(key=view.key, title=k.query.title, subtitle=k.description,
                                        data_set=view.kpi, category=view.category, measures=measures,
                                        kind={"lines": "line", "bars": "bar"}[view.kind]))
    return tuple(out)


def _quicksight(base: Foundation, inputs: BuildInputs) -> None:
    """QuickSight reads the warehouse through a VPC connection in the network's private subnets (the data
    services' security group, which reaches Redshift) with ``[quicksight] redshift_secret_arn`` or else the
    warehouse's managed admin secret, and gold through Athena with the grants the query function has."""
    TerraformVariable = core.TerraformVariable
    TerraformVariableValidationConfig = core.TerraformVariableValidationConfig

    from compose.batch import workgroup_name
    from modules.glue_catalog import database_name
    from modules.quicksight import QuicksightDashboards
    from modules.quicksight_props import QuicksightDashboardsProps
    from warehouse.schema import DEFAULT_SCHEMA

    names, config, lake, wh, network = base.naming, base.naming.config, base.lake, base.warehouse, base.network
    qs = config.quicksight
    owners = qs.owner_arns or (TerraformVariable(
        base.stack, "quicksight_owner_arn", type="string",
        description="QuickSight user or group that owns the data sources, data sets and KPI dashboard",
        validation=[TerraformVariableValidationConfig(
            condition='${can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+$", '
                      'var.quicksight_owner_arn))}',
            error_message="quicksight_owner_arn must be a QuickSight user or group ARN.")],
    ).string_value,)
    workgroup, gold_database = workgroup_name(names.prefix), database_name(names.prefix, "gold")
    gold_locations = tuple(t.location for t in (inputs.tables or ()) if t.layer == "gold")
    dashboards = QuicksightDashboards(base.stack, "quicksight", QuicksightDashboardsProps(
        name_prefix=names.prefix, account_id=names.account_id, owner_arns=tuple(owners),
        data_sets=kpi_data_sets(DEFAULT_SCHEMA), visuals=dashboard_visuals(), dashboard_title="KPIs",
        **qs.values_for(QuicksightDashboardsProps),
        redshift_host=wh.endpoint, redshift_port=wh.port, redshift_database=wh.database_name,
        redshift_secret_arn=qs.redshift_secret_arn or wh.admin_secret_arn, athena_workgroup=workgroup,
        subnet_ids=tuple(network.private_subnet_ids), security_group_ids=(network.data_security_group_id,),
        service_role_statements=query_statements(
            partition=names.partition, region=config.region, account_id=names.account_id, workgroup=workgroup,
            gold_database=gold_database, gold_arn=lake.bucket_arns["gold"],
            results_arn=lake.bucket_arns["athena_results"], gold_locations=gold_locations),
        kms_key_arn=base.key.arn, region=config.region, partition=names.partition, tags=names.tags,
    ))
    base.outputs.emit("quicksight_dashboard_id", dashboards.dashboard_id)
