"""The query Lambda's Athena path against the emulator's Athena (ministack on a free port; its engine is DuckDB):
the small gold rows of tests/kpi_gold_rows.py written as Parquet (Hive month partitions, as the gold jobs write
them) to its S3 and registered in its Glue catalog from the gold table specs; then every KPI through the
handler, with the emulator's parameter style, returns the same rows as DuckDB run directly on the same rows,
and as the independent computation.

Also records what the emulator does with Athena's own parameter binding (ExecutionParameters): it drops
them, so the plain query fails there and the API answers 502 (never a 500)."""
from __future__ import annotations

import io
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.gold_tables import GOLD_TABLES_BY_NAME
from lambda_src.query_api import app, config
from local_runtime.aws import client
from queries import kpi as kpis
from tests.arrow_types import arrow_type
from tests.kpi_gold_rows import ROWS, TABLES, expected

pytestmark = pytest.mark.e2e

BUCKET, RESULTS, DATABASE, WORKGROUP = "kpi-gold", "kpi-results", "kpi_gold", "kpi_wg"


@pytest.fixture(scope="module")
def lake(emulator):
    s3, glue, athena = (client(s, emulator.endpoint) for s in ("s3", "glue", "athena"))
    for bucket in (BUCKET, RESULTS):
        s3.create_bucket(Bucket=bucket)
    athena.create_work_group(Name=WORKGROUP, Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/out/"}})
    glue.create_database(DatabaseInput={"Name": DATABASE})
    for name in TABLES:
        spec = GOLD_TABLES_BY_NAME[name]
        schema = pa.schema([(c.name, arrow_type(c.type)) for c in spec.columns])
        months = sorted({r["month"] for r in ROWS[name]})
        for month in months:
            rows = [r for r in ROWS[name] if r["month"] == month]
            table = pa.Table.from_pylist([{c.name: r[c.name] for c in spec.columns} for r in rows], schema=schema)
            buf = io.BytesIO()
            pq.write_table(table, buf)
            s3.put_object(Bucket=BUCKET, Key=f"gold/{name}/month={month}/part-0.parquet", Body=buf.getvalue())
        glue.create_table(DatabaseName=DATABASE, TableInput={
            "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
            "PartitionKeys": [{"Name": c.name, "Type": c.type} for c in spec.partition_keys],
            "StorageDescriptor": {
                "Columns": [{"Name": c.name, "Type": c.type} for c in spec.columns],
                "Location": f"s3://{BUCKET}/gold/{name}/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary":
                              "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}})
    return athena


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect(":memory:")
    for name in TABLES:
        spec = GOLD_TABLES_BY_NAME[name]
        columns = [*spec.columns, *spec.partition_keys]
        schema = pa.schema([(c.name, arrow_type(c.type)) for c in columns])
        table = pa.Table.from_pylist([{c.name: r[c.name] for c in columns} for r in ROWS[name]], schema=schema)
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
    yield con
    con.close()


def _get(handler, path, query=""):
    response = handler({"version": "2.0", "rawPath": path, "rawQueryString": query,
                        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}, None)
    return response["statusCode"], json.loads(response["body"])


CASES = [{}, {"month_from": "2025-02", "state": "SP"}, {"line_of_business": "0114", "month_to": "2025-02"}]


@pytest.mark.parametrize("filters", CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
@pytest.mark.parametrize("name", [k.name for k in kpis.kpis()])
def test_the_handler_through_the_emulators_athena_agrees_with_duckdb(lake, duck, name, filters):
    settings = config.Settings(WORKGROUP, DATABASE, 20.0, config.EMULATOR_PREPARE)
    handler = app.handler_for(lake, lambda: settings)
    kpi = kpis.get(name)
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    rows, token, pages = [], None, 0
    while True:  # two rows a page: every KPI here has several pages
        status, body = _get(handler, f"/kpis/{name}", query + "&limit=2" + (f"&page_token={token}" if token else ""))
        assert status == 200, body
        rows += body["rows"]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    direct = kpis.normalise(kpi, duck.execute(kpi.sql, kpis.bind(kpi, filters, offset=0, limit=1000)).fetchall())
    assert rows == direct == expected(name, filters)
    assert pages == max(1, -(-len(direct) // 2))


def test_the_emulator_drops_execution_parameters_so_that_style_is_a_502(lake):
    settings = config.Settings(WORKGROUP, DATABASE, 20.0, config.EXECUTION_PARAMETERS)
    status, body = _get(app.handler_for(lake, lambda: settings), "/kpis/loss_ratio")
    assert status == 502 and body == {"message": "the query failed in Athena"}
