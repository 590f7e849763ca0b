"""The warehouse layer: Amazon Redshift (:class:`modules.redshift.RedshiftWarehouse`, Serverless by default) in
the network layer's private subnets, its star schema created through the Data API from the DDL generated from
the gold table specs (:func:`warehouse.schema.redshift_ddl`), and a COPY role that reads only the published
gold copies (``runs/``). Locally PostgreSQL stands in (``make up``; :mod:`local_runtime.services.postgres`)."""
from __future__ import annotations

from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import BuildInputs
from compose.outputs import StackOutput
from environments import EnvironmentConfig
from lakehouse.gold_publication import RUNS_PREFIX
from modules.redshift_props import RedshiftWarehouseProps
from warehouse.schema import DEFAULT_SCHEMA, redshift_ddl

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("redshift_endpoint", "redshift", "Private host name of the warehouse"),
    StackOutput("redshift_database", "redshift", "Database of the star schema"),
    StackOutput("redshift_workgroup", "redshift", "Redshift Serverless workgroup (Data API WorkgroupName); "
                                                  "empty for a provisioned cluster"),
    StackOutput("redshift_cluster", "redshift", "Provisioned cluster identifier; empty for Serverless"),
    StackOutput("redshift_copy_role_arn", "redshift", "Role Redshift assumes to COPY the published gold"),
)


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """Redshift encrypts its data and the managed admin secret with the key."""
    if not config.services.redshift:
        return KeyUsers()
    return KeyUsers(via_services=("redshift", "redshift-serverless", "secretsmanager"))


def build(base: Foundation, inputs: BuildInputs) -> None:
    from modules.redshift import RedshiftWarehouse

    names, config = base.naming, base.naming.config
    if not config.services.redshift:
        return
    network = base.network
    wh = RedshiftWarehouse(base.stack, "redshift", RedshiftWarehouseProps(
        name=names.prefix, subnet_ids=tuple(network.private_subnet_ids),
        security_group_ids=(network.data_security_group_id,), kms_key_arn=base.key.arn,
        gold_bucket_arn=base.lake.bucket_arns["gold"], gold_prefixes=(RUNS_PREFIX,), account_id=names.account_id,
        **config.redshift.values_for(RedshiftWarehouseProps), ddl_statements=redshift_ddl(DEFAULT_SCHEMA),
        tags=names.tags,
    ))
    base.warehouse = wh
    base.outputs.emit("redshift_endpoint", wh.endpoint)
    base.outputs.emit("redshift_database", wh.database_name)
    base.outputs.emit("redshift_workgroup", wh.workgroup_name or "")
    base.outputs.emit("redshift_cluster", wh.cluster_identifier or "")
    base.outputs.emit("redshift_copy_role_arn", wh.copy_role_arn)
