"""QuickSight: compliance of the dev and prod stacks (``synth``) and of the construct alone (``bindings``): a data
set per KPI whose SQL is the KPI's own (no parameters, the warehouse schema's tables), a Redshift data source over
SSL through a VPC connection in the private subnets with the warehouse's managed secret, an Athena data source in
the lake's workgroup, the dashboard's views those of ``make dashboard``, nothing shared beyond the owners and
readers, least-privilege grants; nothing of it in local. Validation and checkov of the stacks are in
test_stacks.py."""
from __future__ import annotations

import json

import pytest

from dashboard.views import VIEWS
from modules.options import OptionError
from modules.quicksight_props import (
    QuicksightColumn, QuicksightDashboardsProps, QuicksightDataSetSpec, QuicksightMeasure, QuicksightVisualSpec,
)
from queries import kpi as kpis
from warehouse.schema import DEFAULT_SCHEMA

from .test_constructs import TAGS, new_stack, synth_json

CLOUD = ("dev", "prod")
OWNER = "arn:aws:quicksight:sa-east-1:111122223333:group/default/bi-owners"


@pytest.mark.parametrize("env", CLOUD)
def test_a_data_set_per_kpi_runs_the_kpis_own_sql_on_the_warehouse(synth, env):
    sets = {d["data_set_id"]: d for d in synth.resources(env, "aws_quicksight_data_set").values()}
    prefix = synth.configs[env].name_prefix
    assert set(sets) == {f"{prefix}-{k.name.replace('_', '-')}" for k in kpis.kpis()}
    (redshift_source,) = [n for n, s in synth.resources(env, "aws_quicksight_data_source").items()
                          if s["type"] == "REDSHIFT"]
    for k in kpis.kpis():
        data_set = sets[f"{prefix}-{k.name.replace('_', '-')}"]
        assert data_set["import_mode"] == synth.configs[env].quicksight.import_mode == "DIRECT_QUERY"
        (table,) = data_set["physical_table_map"]
        sql = table["custom_sql"]
        assert sql["sql_query"] == kpis.dataset_sql(k, DEFAULT_SCHEMA)
        assert sql["data_source_arn"] == f"${{aws_quicksight_data_source.{redshift_source}.arn}}"
        assert [c["name"] for c in sql["columns"]] == [c.name for c in k.sql_columns]
        assert {c["type"] for c in sql["columns"]} <= {"STRING", "INTEGER", "DECIMAL"}


@pytest.mark.parametrize("env", CLOUD)
def test_sources_use_ssl_the_vpc_connection_and_the_managed_secret(synth, env):
    sources = {s["type"]: s for s in synth.resources(env, "aws_quicksight_data_source").values()}
    assert set(sources) == {"REDSHIFT", "ATHENA"}
    redshift, athena = sources["REDSHIFT"], sources["ATHENA"]
    assert redshift["ssl_properties"] == {"disable_ssl": False} and athena["ssl_properties"] == {"disable_ssl": False}
    assert set(redshift["credentials"]) == {"secret_arn"}  # never a password in the configuration
    assert redshift["credentials"]["secret_arn"].startswith("${aws_redshiftserverless_namespace.")
    assert redshift["credentials"]["secret_arn"].endswith(".admin_password_secret_arn}")
    assert redshift["parameters"]["redshift"]["host"].startswith("${aws_redshiftserverless_workgroup.")
    (connection_name, connection) = synth.one(env, "aws_quicksight_vpc_connection", "quicksight/vpc_connection")
    assert redshift["vpc_connection_properties"]["vpc_connection_arn"] == (
        f"${{aws_quicksight_vpc_connection.{connection_name}.arn}}")
    assert len(connection["subnet_ids"]) == 3 and all(s.startswith("${aws_subnet.network_private_")
                                                      for s in connection["subnet_ids"])
    (group,) = connection["security_group_ids"]
    assert group.startswith("${aws_security_group.network_data_sg")
    assert athena["parameters"]["athena"]["work_group"] == synth.configs[env].name_prefix


@pytest.mark.parametrize("env", CLOUD)
def test_the_dashboard_shows_the_local_dashboards_views(synth, env):
    (_, dashboard) = synth.one(env, "aws_quicksight_dashboard", "quicksight/dashboard")
    definition = dashboard["definition"]
    (sheet,) = definition["sheets"]
    visuals = [next(iter(v.items())) for v in sheet["visuals"]]
    assert [body["visual_id"] for _, body in visuals] == [v.key for v in VIEWS]
    declared = {d["identifier"] for d in definition["data_set_identifiers_declarations"]}
    assert declared == {v.kpi for v in VIEWS}
    for (kind, body), view in zip(visuals, VIEWS):
        assert kind == {"lines": "line_chart_visual", "bars": "bar_chart_visual"}[view.kind]
        wells = next(iter(body["chart_configuration"]["field_wells"].values()))
        (category,) = wells["category"]
        assert category["categorical_dimension_field"]["column"] == {
            "data_set_identifier": view.kpi, "column_name": view.category}
        assert len(wells["values"]) == len(view.series)
        columns = {c.name: c for c in kpis.get(view.kpi).columns}
        for value, (name, _) in zip(wells["values"], view.series):
            if columns[name].ratio:
                num, den = columns[name].ratio
                assert value["calculated_measure_field"]["expression"] == (
                    f"ifelse(sum({{{den}}}) > 0, sum({{{num}}}) / sum({{{den}}}), NULL)")
            else:
                assert value["numerical_measure_field"]["column"]["column_name"] == name
    layout = sheet["layouts"][0]["configuration"]["grid_layout"]["elements"]
    assert [e["element_id"] for e in layout] == [v.key for v in VIEWS]
    assert dashboard["dashboard_publish_options"]["export_to_csv_option"] == {"availability_status": "DISABLED"}


@pytest.mark.parametrize("env", CLOUD)
def test_nothing_is_shared_beyond_the_owners(synth, env):
    """Every data source, data set and the dashboard belong to the owner (a validated Terraform variable when
    ``[quicksight] owner_arns`` is empty) and to nobody else."""
    doc = synth.docs[env]
    assert "quicksight_owner_arn" in doc["variable"]
    assert "validation" in doc["variable"]["quicksight_owner_arn"]
    for rtype, key in (("aws_quicksight_data_source", "permission"), ("aws_quicksight_data_set", "permissions"),
                       ("aws_quicksight_dashboard", "permissions")):
        for name, resource in synth.resources(env, rtype).items():
            assert [p["principal"] for p in resource[key]] == ["${var.quicksight_owner_arn}"], name


@pytest.mark.parametrize("env", CLOUD)
def test_grants_are_least_privilege(synth, env):
    policies = {p["name"]: json.loads(p["policy"]) for p in synth.resources(env, "aws_iam_role_policy").values()}
    prefix = synth.configs[env].name_prefix
    service = policies[f"{prefix}-quicksight"]["Statement"]
    sids = {s["Sid"]: s for s in service}
    assert set(sids) == {"RunQueriesInTheLakeWorkgroup", "ReadGoldCatalog", "ReadGoldObjects", "ListGoldTables",
                         "WriteQueryResults", "ListQueryResults", "LocateBuckets", "UseTheKeyForAthena",
                         "ReadTheWarehouseSecret", "DecryptTheWarehouseSecret"}
    assert sids["ReadTheWarehouseSecret"]["Resource"].endswith(".admin_password_secret_arn}")
    assert sids["DecryptTheWarehouseSecret"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{synth.configs[env].region}.amazonaws.com"}}
    vpc = {s["Sid"]: s for s in policies[f"{prefix}-quicksight-vpc"]["Statement"]}
    assert vpc["ManageItsInterfaces"]["Resource"].endswith(":network-interface/*")
    assert all(":subnet/${aws_subnet.network_private_" in r or ":security-group/" in r or
               r.endswith(":network-interface/*") for r in vpc["CreateInterfacesInTheConnectionSubnets"]["Resource"])
    (_, role) = synth.one(env, "aws_iam_role", "quicksight/vpc_role")
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "quicksight.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


def test_local_has_no_quicksight(synth):
    assert not [t for t in synth.docs["local"]["resource"] if t.startswith("aws_quicksight")]
    assert "quicksight_owner_arn" not in synth.docs["local"].get("variable", {})


# --- the construct alone ------------------------------------------------------------------------------------

def _props(**over) -> QuicksightDashboardsProps:
    values = dict(
        name_prefix="qs-test", account_id="111122223333", region="sa-east-1", owner_arns=(OWNER,),
        data_sets=(QuicksightDataSetSpec(key="sales", name="sales", sql="SELECT m, a, b FROM s.t", source="athena",
                                         columns=(QuicksightColumn("m"), QuicksightColumn("a", "DECIMAL"),
                                                  QuicksightColumn("b", "DECIMAL"))),),
        visuals=(QuicksightVisualSpec(key="v", title="a by m", data_set="sales", category="m",
                                      measures=(QuicksightMeasure("a", column="a"),
                                                QuicksightMeasure("a/b", ratio=("a", "b")))),),
        athena_workgroup="wg", tags=TAGS)
    values.update(over)
    return QuicksightDashboardsProps(**values)


def test_construct_alone_without_a_warehouse_or_vpc(bindings):
    from modules.quicksight import QuicksightDashboards

    stack = new_stack(bindings)
    qs = QuicksightDashboards(stack, "qs", _props(reader_arns=(OWNER.replace("bi-owners", "readers"),)))
    doc = synth_json(bindings, stack)["resource"]
    assert set(t for t in doc if t.startswith("aws_quicksight")) == {
        "aws_quicksight_data_source", "aws_quicksight_data_set", "aws_quicksight_dashboard"}
    (dashboard,) = doc["aws_quicksight_dashboard"].values()
    readers = [p for p in dashboard["permissions"] if p["principal"].endswith("/readers")]
    assert readers and set(readers[0]["actions"]) == {"quicksight:DescribeDashboard",
                                                      "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"}
    assert qs.vpc_connection_arn is None and set(qs.data_source_arns) == {"athena"}
    for r in doc["aws_quicksight_data_set"].values():
        assert r["tags"] == TAGS


def test_create_false_creates_nothing_and_bad_options_are_refused(bindings):
    from modules.quicksight import QuicksightDashboards

    stack = new_stack(bindings)
    QuicksightDashboards(stack, "qs", _props(create=False))
    assert not synth_json(bindings, stack).get("resource")
    with pytest.raises(OptionError, match="only its columns"):
        _props(visuals=(QuicksightVisualSpec(key="v", title="t", data_set="sales", category="nope",
                                             measures=(QuicksightMeasure("a", column="a"),)),))
    with pytest.raises(OptionError, match="need redshift_host"):
        _props(data_sets=(QuicksightDataSetSpec(key="sales", name="s", sql="SELECT 1", source="redshift",
                                                columns=(QuicksightColumn("m"),)),), visuals=(
            QuicksightVisualSpec(key="v", title="t", data_set="sales", category="m",
                                 measures=(QuicksightMeasure("m", column="m"),)),))
    with pytest.raises(OptionError, match="column or a ratio"):
        QuicksightMeasure("x", column="a", ratio=("a", "b"))
    with pytest.raises(OptionError, match="at least two subnets"):
        _props(redshift_host="h", redshift_database="d", redshift_secret_arn="arn:s", subnet_ids=("subnet-1",),
               security_group_ids=("sg-1",))
