"""Options of :class:`modules.redshift.RedshiftWarehouse` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from .options import (
    Limit, Props, Rule, at_least, between, create_option, matches, one_of, option, outputs, tags_option,
)

DEPLOYMENTS = ("serverless", "provisioned")
LOG_EXPORTS = ("userlog", "connectionlog", "useractivitylog")


def copy_role_name(name: str) -> str:
    """Name of the role Redshift assumes to COPY from gold (``<name>-redshift-copy``)."""
    return f"{name}-redshift-copy"


@dataclass(frozen=True)
class RedshiftWarehouseProps(Props):
    """Options of :class:`modules.redshift.RedshiftWarehouse`."""

    name: str = option(limit=matches(r"[a-z][a-z0-9-]{2,62}", "3-63 lowercase letters, digits and hyphens"),
                       doc="Namespace/workgroup (or cluster) name, e.g. ``lakeforge-dev``.")
    subnet_ids: tuple[str, ...] = option(limit=Limit("at least two subnets (tokens allowed)", lambda v: len(v) >= 2,
                                                                terraform="length({v}) >= 2"),
                                         doc="Private subnets (the network construct's), in at least two zones.")
    security_group_ids: tuple[str, ...] = option(doc="Security groups (the network's data services group).")
    kms_key_arn: str = option(doc="Key of the data, the snapshots and the admin secret.")
    gold_bucket_arn: str = option(doc="ARN of the gold bucket COPY reads.")
    account_id: str = option(doc="Account id (token allowed): the COPY role's trust condition.")
    deployment: str = option("serverless", limit=one_of(*DEPLOYMENTS),
                             doc="``serverless`` (namespace + workgroup) or ``provisioned`` (a cluster).")
    database_name: str = option("lakeforge", limit=matches(r"[a-z_][a-z0-9_]{0,63}", "a lowercase identifier"),
                                doc="Database created with the warehouse.")
    admin_username: str = option("lakeforge_admin", limit=matches(r"[a-z][a-z0-9_]{0,126}", "a lowercase identifier"),
                                 doc="Admin user; its password is generated and kept by Secrets Manager "
                                     "(``manage_admin_password``): never in code, state outputs or logs.")
    gold_prefixes: tuple[str, ...] = option(
        ("runs/",), doc="Prefixes of the gold bucket the COPY role may read (the published copies).")
    base_capacity_rpus: int = option(8, limit=Limit("8-512 RPUs in steps of 8", lambda v: 8 <= v <= 512 and v % 8 == 0,
                                                                terraform="{v} >= 8 && {v} <= 512 && {v} % 8 == 0"),
                                     doc="Serverless: base capacity in Redshift Processing Units.")
    max_capacity_rpus: int = option(64, limit=Limit("8-5632 RPUs in steps of 8", lambda v: 8 <= v <= 5632 and v % 8 == 0,
                                                               terraform="{v} >= 8 && {v} <= 5632 && {v} % 8 == 0"),
                                    doc="Serverless: most RPUs the workgroup may scale to.")
    daily_rpu_hours_limit: int = option(48, limit=at_least(1, "at least 1 RPU-hour"),
                                        doc="Serverless: RPU-hours a day before ``usage_limit_breach_action``.")
    usage_limit_breach_action: str = option("emit-metric", limit=one_of("log", "emit-metric", "deactivate"),
                                            doc="What a breached usage limit does.")
    node_type: str = option("ra3.xlplus", limit=matches(r"(ra3|dc2)\.[a-z0-9]+", "an RA3 or DC2 node type"),
                            doc="Provisioned: node type.")
    number_of_nodes: int = option(2, limit=between(1, 128, "nodes"), doc="Provisioned: nodes.")
    concurrency_scaling_minutes_limit: int = option(
        60, limit=at_least(1, "at least 1 minute"), doc="Provisioned: concurrency-scaling minutes a day.")
    snapshot_retention_days: int = option(7, limit=between(1, 35, "days"),
                                          doc="Provisioned: automated snapshot retention.")
    log_exports: tuple[str, ...] = option(
        LOG_EXPORTS, limit=Limit(f"a subset of {LOG_EXPORTS}", lambda v: set(v) <= set(LOG_EXPORTS) and bool(v),
                                 terraform="length({v}) > 0 && length(setsubtract({v}, "
                                           + json.dumps(list(LOG_EXPORTS)) + ")) == 0"),
        doc="Audit logs exported to CloudWatch Logs (``useractivitylog`` needs ``enable_user_activity_logging``, "
            "which the construct sets).")
    ddl_statements: tuple[str, ...] = option(
        (), doc="SQL run once, in order, through the Redshift Data API after the warehouse exists "
                "(``aws_redshiftdata_statement``), e.g. the star schema of ``warehouse.schema.redshift_ddl``.")
    tags: dict[str, str] = tags_option()
    create: bool = create_option()

    RULES = (
        Rule(("base_capacity_rpus", "max_capacity_rpus"), lambda base, most: most >= base,
             "max_capacity_rpus: at least base_capacity_rpus"),
        Rule(("node_type", "number_of_nodes"), lambda node, n: not node.startswith("ra3.4") or n >= 2,
             "number_of_nodes: ra3.4xlarge and larger need at least 2 nodes"),
    )


OUTPUTS = outputs(
    ("endpoint", "Host name of the warehouse (private)."),
    ("port", "Port (5439)."),
    ("database_name", "Database name."),
    ("workgroup_name", "Serverless: workgroup name (the Data API's ``WorkgroupName``); None when provisioned."),
    ("namespace_name", "Serverless: namespace name."),
    ("cluster_identifier", "Provisioned: cluster identifier (the Data API's ``ClusterIdentifier``)."),
    ("admin_secret_arn", "ARN of the admin password's secret (managed by Redshift in Secrets Manager)."),
    ("data_api_target_arn", "ARN of the workgroup (Serverless) or the cluster (provisioned): the resource of the "
                            "Redshift Data API's ``ExecuteStatement``/``BatchExecuteStatement``, for a caller's "
                            "IAM policy."),
    ("copy_role_arn", "ARN of the role Redshift assumes to COPY from gold."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
