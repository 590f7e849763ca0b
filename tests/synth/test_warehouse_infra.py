"""The network and the Redshift warehouse: compliance of the dev and prod stacks (``synth``) and of the
constructs alone (``bindings``): private subnets in three zones with no public IPs, S3 gateway and interface
endpoints, the emptied default security group, flow logs to a KMS log group; Redshift never public, enhanced VPC
routing, require_ssl, KMS, the admin password managed by Secrets Manager, audit logs, a usage limit, the COPY
role reading only gold's published prefix, the star schema's DDL generated from the gold specs; nothing of it in
local."""
from __future__ import annotations

import json

import pytest

from lakehouse.gold_publication import RUNS_PREFIX
from modules.network_props import NetworkProps
from modules.options import OptionError
from modules.redshift_props import RedshiftWarehouseProps, copy_role_name
from warehouse.schema import DEFAULT_SCHEMA, redshift_ddl

from .test_constructs import TAGS, new_stack, synth_json

CLOUD = ("dev", "prod")


@pytest.mark.parametrize("env", CLOUD)
def test_private_subnets_in_three_zones_without_public_ips(synth, env):
    subnets = synth.resources(env, "aws_subnet")
    assert len(subnets) == 3
    for s in subnets.values():
        assert s["map_public_ip_on_launch"] is False
        assert s["tags"]["for-use-with-amazon-emr-managed-policies"] == "true"
    assert "aws_internet_gateway" not in synth.docs[env]["resource"]
    assert "aws_nat_gateway" not in synth.docs[env]["resource"]
    (default_sg,) = synth.resources(env, "aws_default_security_group").values()
    assert not default_sg.get("ingress") and not default_sg.get("egress")


@pytest.mark.parametrize("env", CLOUD)
def test_endpoints_and_flow_logs(synth, env):
    cfg = synth.configs[env]
    endpoints = synth.resources(env, "aws_vpc_endpoint").values()
    services = {e["service_name"].rsplit(".", 1)[-1]: e for e in endpoints}
    assert services["s3"]["vpc_endpoint_type"] == "Gateway" and len(services["s3"]["route_table_ids"]) == 3
    for name in ("sts", "kms", "logs", "secretsmanager", "redshift-data"):
        assert services[name]["vpc_endpoint_type"] == "Interface" and services[name]["private_dns_enabled"] is True
    (flow,) = synth.resources(env, "aws_flow_log").values()
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    groups = [g for g in synth.resources(env, "aws_cloudwatch_log_group").values() if "/aws/vpc/" in g["name"]]
    (group,) = groups
    assert group["kms_key_id"].startswith("${aws_kms_key.") and group["retention_in_days"] == cfg.log_retention_days


@pytest.mark.parametrize("env", CLOUD)
def test_security_groups_admit_nothing_from_outside_the_vpc(synth, env):
    cidr = synth.configs[env].network.cidr_block
    for name, group in synth.resources(env, "aws_security_group").items():
        for rule in group.get("ingress", []):
            assert rule.get("self") or rule.get("cidr_blocks") == [cidr], (name, rule)
            assert "0.0.0.0/0" not in (rule.get("cidr_blocks") or [])
        for rule in group.get("egress", []):
            assert "0.0.0.0/0" not in (rule.get("cidr_blocks") or []), (name, rule)


@pytest.mark.parametrize("env", CLOUD)
def test_redshift_serverless_is_private_encrypted_and_audited(synth, env):
    (ns,) = synth.resources(env, "aws_redshiftserverless_namespace").values()
    (wg,) = synth.resources(env, "aws_redshiftserverless_workgroup").values()
    assert ns["manage_admin_password"] is True and "admin_user_password" not in ns
    assert ns["kms_key_id"].startswith("${aws_kms_key.") and ns["admin_password_secret_kms_key_id"] == ns["kms_key_id"]
    assert set(ns["log_exports"]) == {"userlog", "connectionlog", "useractivitylog"}
    assert wg["publicly_accessible"] is False and wg["enhanced_vpc_routing"] is True
    params = {p["parameter_key"]: p["parameter_value"] for p in wg["config_parameter"]}
    assert params["require_ssl"] == "true" and params["enable_user_activity_logging"] == "true"
    assert len(wg["subnet_ids"]) == 3 and len(wg["security_group_ids"]) == 1
    assert wg["base_capacity"] == synth.configs[env].redshift.base_capacity_rpus
    (limit,) = synth.resources(env, "aws_redshiftserverless_usage_limit").values()
    assert limit["usage_type"] == "serverless-compute" and limit["period"] == "daily"


@pytest.mark.parametrize("env", CLOUD)
def test_the_copy_role_reads_only_the_published_gold(synth, env):
    cfg = synth.configs[env]
    roles = {r["name"]: (n, r) for n, r in synth.resources(env, "aws_iam_role").items()}
    name, role = roles[copy_role_name(cfg.name_prefix)]
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert sorted(trust["Principal"]["Service"]) == ["redshift-serverless.amazonaws.com", "redshift.amazonaws.com"]
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    (policy,) = [p for p in synth.resources(env, "aws_iam_role_policy").values()
                 if p["role"] == f"${{aws_iam_role.{name}.id}}"]
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["ReadPublishedGold"]["Resource"].endswith(f"/{RUNS_PREFIX}*")
    assert statements["ReadPublishedGold"]["Action"] == "s3:GetObject"
    assert all(not a.startswith(("s3:Put", "s3:Delete")) for s in statements.values()
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


@pytest.mark.parametrize("env", CLOUD)
def test_the_star_schema_is_created_from_the_generated_ddl_in_order(synth, env):
    statements = synth.resources(env, "aws_redshiftdata_statement")
    ordered = sorted(statements.items(), key=lambda kv: int(kv[0].split("ddl_")[1].split("_")[0]))
    assert [s["sql"] for _, s in ordered] == list(redshift_ddl(DEFAULT_SCHEMA))
    for (prev, _), (_, this) in zip(ordered, ordered[1:]):
        assert this["depends_on"] == [f"aws_redshiftdata_statement.{prev}"]
    assert all(s["secret_arn"].startswith("${aws_redshiftserverless_namespace.") for s in statements.values())


def test_local_has_no_network_and_no_warehouse(synth):
    resources = synth.docs["local"]["resource"]
    for rtype in ("aws_vpc", "aws_subnet", "aws_redshiftserverless_namespace", "aws_redshift_cluster",
                  "aws_redshiftdata_statement"):
        assert rtype not in resources


@pytest.mark.parametrize("env", CLOUD)
def test_emr_runs_in_the_networks_first_private_subnet(synth, env):
    (cluster,) = synth.resources(env, "aws_emr_cluster").values()
    first = min(synth.resources(env, "aws_subnet"), key=lambda n: n)  # private_0 sorts first
    assert cluster["ec2_attributes"]["subnet_id"] == f"${{aws_subnet.{first}.id}}"


# ==================================================================================================
# The constructs alone
# ==================================================================================================
def redshift_props(**overrides) -> RedshiftWarehouseProps:
    values = dict(name="lf-test", subnet_ids=("subnet-0aaaaaaa", "subnet-0bbbbbbb"), security_group_ids=("sg-1",),
                  kms_key_arn="arn:aws:kms:sa-east-1:1:key/k", gold_bucket_arn="arn:aws:s3:::gold",
                  account_id="123456789012", tags=TAGS)
    values.update(overrides)
    return RedshiftWarehouseProps(**values)


def test_provisioned_cluster_is_private_encrypted_tls_only_and_logged(bindings):
    from modules.redshift import RedshiftWarehouse

    stack = new_stack(bindings)
    wh = RedshiftWarehouse(stack, "wh", redshift_props(deployment="provisioned", ddl_statements=("SELECT 1",)))
    doc = synth_json(bindings, stack)["resource"]
    (cluster,) = doc["aws_redshift_cluster"].values()
    assert cluster["publicly_accessible"] is False and cluster["enhanced_vpc_routing"] is True
    assert cluster["encrypted"] is True and cluster["kms_key_id"] == "arn:aws:kms:sa-east-1:1:key/k"
    assert cluster["manage_master_password"] is True and "master_password" not in cluster
    assert cluster["skip_final_snapshot"] is False and cluster["automated_snapshot_retention_period"] == 7
    (params,) = doc["aws_redshift_parameter_group"].values()
    assert {p["name"]: p["value"] for p in params["parameter"]}["require_ssl"] == "true"
    (logging,) = doc["aws_redshift_logging"].values()
    assert logging["log_destination_type"] == "cloudwatch"
    assert "aws_redshift_usage_limit" in doc and "aws_redshiftserverless_namespace" not in doc
    (ddl,) = doc["aws_redshiftdata_statement"].values()
    assert ddl["cluster_identifier"].startswith("${aws_redshift_cluster.") and "workgroup_name" not in ddl
    assert wh.workgroup_name is None and wh.cluster_identifier is not None
    assert all(r["tags"] == TAGS for r in doc["aws_redshift_cluster"].values())


def test_redshift_off_creates_nothing_and_bad_sizes_are_refused(bindings):
    from modules.redshift import RedshiftWarehouse

    stack = new_stack(bindings)
    wh = RedshiftWarehouse(stack, "wh", redshift_props(create=False))
    assert "resource" not in synth_json(bindings, stack) and wh.endpoint is None and wh.admin_secret_arn is None
    with pytest.raises(OptionError, match="base_capacity_rpus"):
        redshift_props(base_capacity_rpus=12)
    with pytest.raises(OptionError, match="max_capacity_rpus: at least base_capacity_rpus"):
        redshift_props(base_capacity_rpus=64, max_capacity_rpus=32)
    with pytest.raises(OptionError, match="subnet_ids"):
        redshift_props(subnet_ids=("subnet-0aaaaaaa",))


def network_props(**overrides) -> NetworkProps:
    values = dict(name="lf-test", region="sa-east-1", kms_key_arn="arn:aws:kms:sa-east-1:1:key/k", tags=TAGS)
    values.update(overrides)
    return NetworkProps(**values)


def test_an_existing_vpc_creates_no_network_only_the_data_group(bindings):
    from modules.network import Network

    stack = new_stack(bindings)
    net = Network(stack, "net", network_props(existing_vpc_id="vpc-0123456789abcdef0", existing_vpc_cidr="10.9.0.0/16",
                                              existing_private_subnet_ids=("subnet-0aaaaaaa", "subnet-0bbbbbbb")))
    doc = synth_json(bindings, stack)["resource"]
    assert set(doc) == {"aws_security_group"}
    (group,) = doc["aws_security_group"].values()
    assert group["vpc_id"] == "vpc-0123456789abcdef0"
    assert net.private_subnet_ids == ["subnet-0aaaaaaa", "subnet-0bbbbbbb"] and net.flow_log_group_name is None
    given = Network(new_stack(bindings, "given"), "net", network_props(
        existing_vpc_id="vpc-0123456789abcdef0", existing_private_subnet_ids=("subnet-0aaaaaaa", "subnet-0bbbbbbb"),
        existing_data_security_group_id="sg-0123"))
    assert given.data_security_group_id == "sg-0123"
    with pytest.raises(OptionError, match="at least two private subnets"):
        network_props(existing_vpc_id="vpc-0123456789abcdef0")


def test_network_off_creates_nothing_and_the_created_vpc_is_tagged(bindings):
    from modules.network import Network

    stack = new_stack(bindings)
    assert Network(stack, "net", network_props(create=False)).vpc_id is None
    assert "resource" not in synth_json(bindings, stack)
    stack = new_stack(bindings, "two")
    Network(stack, "net", network_props(availability_zones=2, interface_endpoints=("sts",)))
    doc = synth_json(bindings, stack)["resource"]
    assert len(doc["aws_subnet"]) == 2 and len(doc["aws_vpc_endpoint"]) == 2
    for rtype in ("aws_vpc", "aws_subnet", "aws_route_table", "aws_vpc_endpoint", "aws_security_group",
                  "aws_flow_log", "aws_cloudwatch_log_group", "aws_iam_role"):
        assert all(TAGS.items() <= r["tags"].items() for r in doc[rtype].values()), rtype
