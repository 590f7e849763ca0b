"""Options of :class:`modules.quicksight.QuicksightDashboards` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .iam import Statement
from .options import (
    Limit, Props, Rule, create_option, is_token, matches, non_empty, one_of, option, outputs, tags_option,
)

COLUMN_TYPES = ("STRING", "INTEGER", "DECIMAL", "DATETIME")
SOURCES = ("redshift", "athena")
VISUAL_KINDS = ("bar", "line")
SERVICE_ROLE = "aws-quicksight-service-role-v0"
"""The role QuickSight creates in an account when it is subscribed; it reads Athena, S3 and secrets."""

_KEY = matches(r"[a-z][a-z0-9_]{0,62}", "a lowercase identifier")


@dataclass(frozen=True)
class QuicksightColumn(Props):
    """A column of a data set, as its SQL returns it."""

    name: str = option(doc="Column name, as the SQL returns it.")
    type: str = option("STRING", limit=one_of(*COLUMN_TYPES), doc="QuickSight type.")


@dataclass(frozen=True)
class QuicksightDataSetSpec(Props):
    """One data set: a custom SQL query on one of the construct's data sources."""

    key: str = option(limit=_KEY, doc="Key: the data set id is ``<name_prefix>-<key>``; visuals name it.")
    name: str = option(doc="Display name.")
    sql: str = option(limit=non_empty("the query"), doc="The query (no parameters: QuickSight runs it as it is).")
    columns: tuple[QuicksightColumn, ...] = option(limit=non_empty("at least one column"),
                                                    doc="The columns the SQL returns, in order.")
    source: str = option("redshift", limit=one_of(*SOURCES), doc="The data source the SQL runs on.")


@dataclass(frozen=True)
class QuicksightMeasure(Props):
    """A value of a visual: the sum of a column, or the ratio of two sums."""

    label: str = option(doc="Legend and axis label.")
    column: str = option("", doc="Summed column (empty for a ratio).")
    ratio: tuple[str, ...] = option(
        (), limit=Limit("empty or (numerator, denominator)", lambda v: len(v) in (0, 2)),
        doc="``(numerator, denominator)`` columns: ``sum(numerator) / sum(denominator)``, null when the "
            "denominator's sum is not above zero.")

    RULES = (Rule(("column", "ratio"), lambda column, ratio: bool(column) != bool(ratio),
                  "a measure is a column or a ratio, not both"),)


@dataclass(frozen=True)
class QuicksightVisualSpec(Props):
    """One visual of the dashboard's sheet."""

    key: str = option(limit=_KEY, doc="Visual id.")
    title: str = option(doc="Title shown above it.")
    data_set: str = option(doc="Key of the data set it reads.")
    category: str = option(doc="The column on the category (x) axis.")
    measures: tuple[QuicksightMeasure, ...] = option(limit=non_empty("at least one measure"), doc="The values.")
    kind: str = option("bar", limit=one_of(*VISUAL_KINDS), doc="``bar`` or ``line`` chart.")
    subtitle: str = option("", doc="Line under the title.")


def _columns_known(data_sets, visuals) -> bool:
    columns = {d.key: {c.name for c in d.columns} for d in data_sets}
    for v in visuals:
        known = columns.get(v.data_set)
        if known is None or v.category not in known:
            return False
        for m in v.measures:
            if not set((m.column,) if m.column else m.ratio) <= known:
                return False
    return True


@dataclass(frozen=True)
class QuicksightDashboardsProps(Props):
    """Options of :class:`modules.quicksight.QuicksightDashboards`."""

    name_prefix: str = option(limit=matches(r"[a-z][a-z0-9-]{1,38}[a-z0-9]", "a lowercase resource prefix"),
                              doc="Prefix of every id and name, e.g. ``lakeforge-dev``.")
    account_id: str = option(doc="Account id (token allowed): the account subscribed to QuickSight.")
    region: str = option(doc="Region of the data sources (the VPC connection role's and the key's conditions).")
    owner_arns: tuple[str, ...] = option(
        limit=non_empty("at least one QuickSight user or group ARN (token allowed)"),
        doc="QuickSight users or groups that own the data sources, data sets and dashboard.")
    data_sets: tuple[QuicksightDataSetSpec, ...] = option(limit=non_empty("at least one data set"),
                                                           doc="The data sets.")
    visuals: tuple[QuicksightVisualSpec, ...] = option(limit=non_empty("at least one visual"),
                                                        doc="The dashboard's visuals, on one sheet, in order.")
    dashboard_title: str = option("KPIs", doc="Dashboard (and sheet) name.")
    reader_arns: tuple[str, ...] = option((), doc="QuickSight users or groups that may view the dashboard.")
    import_mode: str = option(
        "DIRECT_QUERY", limit=one_of("DIRECT_QUERY", "SPICE"),
        doc="``DIRECT_QUERY``: every view queries the source (always current, no copy in QuickSight); "
            "``SPICE``: an imported copy (faster, needs refreshes and SPICE capacity).")
    redshift_host: str = option("", doc="Warehouse host (token allowed); empty = no Redshift data source.")
    redshift_port: int = option(5439, doc="Warehouse port.")
    redshift_database: str = option("", doc="Warehouse database.")
    redshift_secret_arn: str = option(
        "", doc="Secrets Manager secret (``username``, ``password``) QuickSight connects with; QuickSight's "
                "service role is granted ``GetSecretValue`` on it.")
    athena_workgroup: str = option("", doc="Athena workgroup of the Athena data source; empty = none.")
    subnet_ids: tuple[str, ...] = option(
        (), doc="Private subnets of the VPC connection QuickSight reaches Redshift through (at least two zones); "
                "empty = no VPC connection.")
    security_group_ids: tuple[str, ...] = option(
        (), doc="Security groups of the VPC connection's network interfaces (one that reaches the warehouse).")
    service_role_name: str = option(
        SERVICE_ROLE, doc="QuickSight's service role in the account, which runs Athena queries and reads secrets.")
    service_role_statements: tuple[Statement, ...] = option(
        (), doc="Grants added to the service role as an inline policy (the Athena workgroup, catalog and S3 access "
                "the Athena data sets need); the construct adds the key (through S3, Glue and Secrets Manager) "
                "and the secret.")
    kms_key_arn: str = option("", doc="Key of the lake (gold, results, catalog) and of ``redshift_secret_arn``.")
    partition: str = option("aws", doc="ARN partition (token allowed).")
    tags: dict[str, str] = tags_option("the data sources, data sets, dashboard, VPC connection and role")
    create: bool = create_option()

    RULES = (
        Rule(("data_sets",), lambda sets: len({d.key for d in sets}) == len(sets), "data_sets: duplicate keys"),
        Rule(("data_sets", "visuals"), _columns_known,
             "visuals: each names a data set of data_sets and only its columns"),
        Rule(("data_sets", "redshift_host", "redshift_database", "redshift_secret_arn"),
             lambda sets, host, db, secret: all(d.source != "redshift" for d in sets) or bool(host and db and secret),
             "redshift data sets need redshift_host, redshift_database and redshift_secret_arn"),
        Rule(("data_sets", "athena_workgroup"),
             lambda sets, wg: all(d.source != "athena" for d in sets) or bool(wg),
             "athena data sets need athena_workgroup"),
        Rule(("redshift_host", "subnet_ids"),
             lambda host, subnets: not host or is_token(subnets) or len(subnets) >= 2,
             "subnet_ids: a private warehouse is reached through a VPC connection in at least two subnets"),
        Rule(("subnet_ids", "security_group_ids"), lambda subnets, groups: not subnets or bool(groups),
             "security_group_ids: the VPC connection needs at least one"),
    )


OUTPUTS = outputs(
    ("dashboard_id", "Dashboard id."),
    ("dashboard_arn", "Dashboard ARN."),
    ("data_set_arns", "Data set ARNs, by key."),
    ("data_source_arns", "Data source ARNs, by source (``redshift``, ``athena``)."),
    ("vpc_connection_arn", "ARN of the VPC connection (None without subnets)."),
)
