"""The warehouse layer: Amazon Redshift (:class:`modules.redshift.RedshiftWarehouse`, Serverless by default) in
the network layer's private subnets, its star schema created through the Data API from the DDL generated from
the gold table specs (:func:`warehouse.schema.redshift_ddl`), and a COPY role that reads only the published
gold copies (``runs/``). Locally PostgreSQL stands in (``make up``; :mod:`local_runtime.services.postgres`).

Built before the batch layer: the warehouse load (:mod:`warehouse.load`), the workflow's step after
silver -> gold, is deployed there as a Glue job, and :func:`load_target` says how it reaches the warehouse in
this environment:

* Redshift on (dev, prod): ``--target redshift-data`` with the Serverless workgroup (or the provisioned
  cluster), the database, the Redshift-managed admin secret (``--secret_arn``, which the job's role may read)
  and the COPY role (``--iam_role``); the role may run statements on that workgroup or cluster only;
* locally: ``--target postgres`` and nothing else: the connection (host, port, database, user, password file)
  is not part of the deployed definition (the port may be set per machine, the password file is a local path);
  the local runner passes it as the run's arguments (:mod:`local_runtime.warehouse_local`);
* no warehouse at all (Redshift off outside local): nothing to load into, so the job is not deployed and the
  workflow ends with silver -> gold.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import BuildInputs
from compose.outputs import StackOutput
from environments import EnvironmentConfig
from lakehouse.gold_publication import RUNS_PREFIX
from lakehouse.job import WAREHOUSE_CREDENTIALS
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


def has_warehouse(config: EnvironmentConfig) -> bool:
    """Whether the environment has a warehouse to load: Redshift, or locally the PostgreSQL stand-in."""
    return config.services.redshift or config.is_local


@dataclass(frozen=True)
class LoadTarget:
    """How the warehouse load job reaches the warehouse of one environment (see the module docstring)."""

    arguments: dict[str, str]
    """The job's deployed connection arguments (``--target`` ...)."""
    secrets: dict[str, str] = field(default_factory=dict)
    """Platform secret (``lakehouse.job.WAREHOUSE_CREDENTIALS``) -> ARN, for the job's secret arguments."""
    data_api_resources: tuple[str, ...] = ()
    """Workgroup or cluster ARNs the job may run SQL on through the Redshift Data API."""


def load_target(base: Foundation) -> LoadTarget | None:
    """The warehouse load job's connection in this environment; ``None`` = no warehouse (no job)."""
    config = base.naming.config
    if not has_warehouse(config):
        return None
    if not config.services.redshift:  # locally: the PostgreSQL stand-in, its connection given per run
        return LoadTarget(arguments={"--target": "postgres"})
    wh = base.warehouse
    where = {"--workgroup": wh.workgroup_name} if wh.workgroup_name else {"--cluster_identifier": wh.cluster_identifier}
    return LoadTarget(
        arguments={"--target": "redshift-data", **where, "--database": wh.database_name,
                   "--iam_role": wh.copy_role_arn},
        secrets={WAREHOUSE_CREDENTIALS: wh.admin_secret_arn}, data_api_resources=(wh.data_api_target_arn,))


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
