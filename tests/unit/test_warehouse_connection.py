"""The Redshift Data API side of the warehouse connection, against botocore's Stubber (the requests are
checked against the service model: parameter names and types must be what the real API takes)."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from warehouse.connection import (MAX_BATCH, SOURCES_PER_BATCH, DataApiSettings, DataApiWarehouse, ParquetSource,
                                  WarehouseError, connect)
from warehouse.load import settings_from_args

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-admin-AbCdEf"
ROLE = "arn:aws:iam::123456789012:role/lakeforge-redshift-gold-read"
TARGET = {"Database": "lakeforge", "WorkgroupName": "lakeforge-dev", "SecretArn": SECRET}


@pytest.fixture()
def api():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stubber:
        settings = DataApiSettings("lakeforge", ROLE, workgroup="lakeforge-dev", secret_arn=SECRET,
                                   poll_seconds=0.01, timeout_seconds=5)
        warehouse = connect(settings, redshift_data=client)
        warehouse._sleep = lambda s: None
        yield warehouse, stubber
        stubber.assert_no_pending_responses()


def _describe(stubber, sid, *statuses, error="", has_result=False):
    for status in statuses:
        resp = {"Id": sid, "Status": status}
        if status == "FAILED":
            resp["Error"] = error
        if status == "FINISHED":
            resp["HasResultSet"] = has_result
        stubber.add_response("describe_statement", resp, {"Id": sid})


def test_execute_polls_until_finished(api):
    warehouse, stubber = api
    stubber.add_response("execute_statement", {"Id": "s-1"}, {"Sql": "CREATE SCHEMA IF NOT EXISTS wh", **TARGET})
    _describe(stubber, "s-1", "SUBMITTED", "STARTED", "FINISHED")
    warehouse.execute("CREATE SCHEMA IF NOT EXISTS wh")


def test_a_failed_statement_raises_with_the_servers_error(api):
    warehouse, stubber = api
    stubber.add_response("execute_statement", {"Id": "s-2"}, {"Sql": "SELECT 1 / 0", **TARGET})
    _describe(stubber, "s-2", "PICKED", "FAILED", error="ERROR: Divide by zero")
    with pytest.raises(WarehouseError, match="failed: ERROR: Divide by zero"):
        warehouse.execute("SELECT 1 / 0")


def test_query_reads_every_page_of_the_result(api):
    warehouse, stubber = api
    stubber.add_response("execute_statement", {"Id": "q-1"}, {"Sql": "SELECT name, n FROM t", **TARGET})
    _describe(stubber, "q-1", "FINISHED", has_result=True)
    stubber.add_response("get_statement_result",
                         {"Records": [[{"stringValue": "dim_date"}, {"longValue": 3}]], "NextToken": "t2",
                          "TotalNumRows": 2}, {"Id": "q-1"})
    stubber.add_response("get_statement_result",
                         {"Records": [[{"stringValue": "fact_claim"}, {"isNull": True}]], "TotalNumRows": 2},
                         {"Id": "q-1", "NextToken": "t2"})
    assert warehouse.query("SELECT name, n FROM t") == [("dim_date", 3), ("fact_claim", None)]


def test_query_parameters_are_bound_by_the_data_api_by_name(api):
    warehouse, stubber = api
    sql = "SELECT state FROM t WHERE month BETWEEN :p1 AND :p2 AND note = '?' OFFSET :p3 LIMIT :p4"
    params = [{"name": "p1", "value": "2025-01"}, {"name": "p2", "value": "O'Hara"},
              {"name": "p3", "value": "0"}, {"name": "p4", "value": "100"}]
    stubber.add_response("execute_statement", {"Id": "q-2"}, {"Sql": sql, "Parameters": params, **TARGET})
    _describe(stubber, "q-2", "FINISHED", has_result=False)
    assert warehouse.query("SELECT state FROM t WHERE month BETWEEN ? AND ? AND note = '?' OFFSET ? LIMIT ?",
                           ["2025-01", "O'Hara", 0, 100]) == []


def test_a_transaction_is_one_batch(api):
    warehouse, stubber = api
    statements = ["DELETE FROM wh.fact_claim", "INSERT INTO wh.fact_claim SELECT * FROM wh.stg_fact_claim"]
    stubber.add_response("batch_execute_statement", {"Id": "b-1"}, {"Sqls": statements, **TARGET})
    _describe(stubber, "b-1", "STARTED", "FINISHED")
    seen = []
    warehouse.run_transaction(statements, on_statement=seen.append)
    assert seen == [0, 1]  # before submission: the service runs the batch


def test_a_failing_hook_submits_nothing_and_oversized_batches_are_refused(api):
    warehouse, _ = api

    def boom(i):
        raise RuntimeError("died")
    with pytest.raises(RuntimeError, match="died"):
        warehouse.run_transaction(["SELECT 1", "SELECT 2"], on_statement=boom)
    with pytest.raises(ValueError, match="1 to 40"):
        warehouse.run_transaction(["SELECT 1"] * (MAX_BATCH + 1))


def test_a_failed_batch_names_the_failing_statement(api):
    warehouse, stubber = api
    stubber.add_response("batch_execute_statement", {"Id": "b-2"}, {"Sqls": ["SELECT 1", "SELECT 1 / 0"], **TARGET})
    stubber.add_response("describe_statement", {
        "Id": "b-2", "Status": "FAILED", "Error": "ERROR: Divide by zero",
        "SubStatements": [{"Id": "b-2:1", "Status": "FINISHED"},
                          {"Id": "b-2:2", "Status": "FAILED", "QueryString": "SELECT 1 / 0"}]}, {"Id": "b-2"})
    with pytest.raises(WarehouseError, match=r"at statement b-2:2: SELECT 1 / 0: ERROR: Divide by zero"):
        warehouse.run_transaction(["SELECT 1", "SELECT 1 / 0"])


def test_copy_of_partition_folders_goes_through_a_landing_table(api):
    warehouse, stubber = api
    root = "s3://gold/runs/g000001-r-abcd/fact_claim"
    sources = [ParquetSource(f"{root}/month=2024-{m:02d}", (("month", f"2024-{m:02d}"),))
               for m in range(1, SOURCES_PER_BATCH + 2)]
    cols = "date_key, policy_key"
    first = ["CREATE TEMP TABLE warehouse_landing AS SELECT date_key, policy_key FROM wh.stg_fact_claim WHERE 1 = 0"]
    for source in sources[:SOURCES_PER_BATCH]:
        month = source.constants[0][1]
        first += [f"COPY warehouse_landing FROM '{source.uri}/' IAM_ROLE '{ROLE}' FORMAT AS PARQUET",
                  f"INSERT INTO wh.stg_fact_claim ({cols}, month) SELECT {cols}, '{month}' FROM warehouse_landing",
                  "DELETE FROM warehouse_landing"]
    first.append("DROP TABLE warehouse_landing")
    assert len(first) <= MAX_BATCH
    stubber.add_response("batch_execute_statement", {"Id": "c-1"}, {"Sqls": first, **TARGET})
    _describe(stubber, "c-1", "FINISHED")
    stubber.add_response("batch_execute_statement", {"Id": "c-2"}, {"Sqls": ANY, **TARGET})
    _describe(stubber, "c-2", "FINISHED")
    warehouse.copy_parquet("wh.stg_fact_claim", ["date_key", "policy_key"], sources)


def test_copy_of_an_unpartitioned_table_is_one_copy(api):
    warehouse, stubber = api
    sql = f"COPY wh.stg_dim_date FROM 's3://gold/runs/g000001-r-abcd/dim_date/' IAM_ROLE '{ROLE}' FORMAT AS PARQUET"
    stubber.add_response("execute_statement", {"Id": "c-3"}, {"Sql": sql, **TARGET})
    _describe(stubber, "c-3", "FINISHED")
    warehouse.copy_parquet("wh.stg_dim_date", ["date_key"], [ParquetSource("s3://gold/runs/g000001-r-abcd/dim_date/")])


def test_a_provisioned_cluster_with_a_database_user():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    warehouse = DataApiWarehouse(DataApiSettings("dev", "default", cluster_identifier="lf", db_user="loader"), client)
    with Stubber(client) as stubber:
        stubber.add_response("execute_statement", {"Id": "p-1"},
                             {"Sql": "SELECT 1", "Database": "dev", "ClusterIdentifier": "lf", "DbUser": "loader"})
        stubber.add_response("describe_statement", {"Id": "p-1", "Status": "FINISHED"}, {"Id": "p-1"})
        warehouse.execute("SELECT 1")


def test_settings_are_checked():
    with pytest.raises(ValueError, match="exactly one of workgroup"):
        DataApiSettings("dev", ROLE, workgroup="a", cluster_identifier="b", secret_arn=SECRET)
    with pytest.raises(ValueError, match="secret_arn"):
        DataApiSettings("dev", ROLE, workgroup="a")
    with pytest.raises(ValueError, match="iam_role"):
        DataApiSettings("dev", "", workgroup="a", secret_arn=SECRET)
    base = {"target": "redshift-data", "database": "dev", "iam_role": ROLE, "workgroup": "wg", "cluster_identifier": "",
            "secret_arn": SECRET, "db_user": "", "host": "", "port": "5439", "user": "", "passfile": ""}
    assert settings_from_args(base) == DataApiSettings("dev", ROLE, "wg", "", SECRET, "")
    with pytest.raises(SystemExit, match="--target redshift-data: give secret_arn"):
        settings_from_args({**base, "secret_arn": ""})
    with pytest.raises(SystemExit, match="--target 'mysql'"):
        settings_from_args({**base, "target": "mysql"})


def test_postgres_settings_are_psycopg_connection_options(tmp_path):
    """The one mapping from PostgresSettings to psycopg (libpq parses the options: an unknown one is refused),
    and the local server's settings: its port, the project's database and user, its password file."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from local_runtime.services.postgres import DATABASE, HOST, USER, PostgresServer
    from warehouse.connection import PostgresSettings

    settings = PostgresSettings("db.example", 5439, "dev", "loader", "/run/pgpass", connect_timeout=7)
    assert conninfo_to_dict(make_conninfo("", **settings.psycopg_kwargs())) == {
        "host": "db.example", "port": "5439", "dbname": "dev", "user": "loader", "passfile": "/run/pgpass",
        "connect_timeout": "7"}
    assert "passfile" not in PostgresSettings("h", 1, "d", "u").psycopg_kwargs()  # libpq's default file then
    server = PostgresServer(6543, state=tmp_path)
    assert server.settings() == PostgresSettings(HOST, 6543, DATABASE, USER, str(tmp_path / "postgres-6543" / "pgpass"))
    assert server.settings("postgres").database == "postgres"
    assert server.connection() == {"host": HOST, "port": 6543, "database": DATABASE, "user": USER,
                                   "passfile": server.settings().passfile, "connect_timeout": 5}
