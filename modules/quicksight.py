"""QuicksightDashboards: QuickSight data sources, data sets and one dashboard over the warehouse and Athena.

What it creates (no emulator implements QuickSight: behind its ``create`` switch, off in the local environment;
the account must already be subscribed to QuickSight Enterprise edition, which is account-wide and not this
construct's to create):

* with ``subnet_ids``: an ``aws_quicksight_vpc_connection`` in those private subnets and security groups, and
  the role QuickSight assumes to manage its network interfaces there (``<name_prefix>-quicksight-vpc``: create
  interfaces only in those subnets and groups, delete and modify only network interfaces, describe subnets
  and groups);
* with ``redshift_host``: a Redshift data source (through the VPC connection, SSL on) whose credentials come
  from ``redshift_secret_arn`` (never in code or state); the QuickSight service role may read that one secret
  and decrypt it through Secrets Manager;
* with ``athena_workgroup``: an Athena data source in that workgroup; ``service_role_statements`` (the
  workgroup, the catalog and the objects the data sets read) and the key through S3 and Glue go to the service
  role as an inline policy;
* one ``aws_quicksight_data_set`` per ``data_sets`` item: its custom SQL on its source, the columns typed,
  ``import_mode`` ``DIRECT_QUERY`` by default (no copy of the data in QuickSight);
* one ``aws_quicksight_dashboard`` with one sheet: a bar or line chart per ``visuals`` item on a grid, two
  columns wide; a ratio measure is a calculated measure ``sum(numerator) / sum(denominator)``, null when the
  denominator's sum is not above zero (the rule of gold's ratios);
* permissions: ``owner_arns`` own every data source, data set and the dashboard; ``reader_arns`` may view the
  dashboard. Nothing is shared with anybody else.
"""
from __future__ import annotations

from constructs import Construct

from .iam import Condition, Statement, assume_role_policy, policy_document
from .quicksight_props import (
    OUTPUTS, QuicksightColumn, QuicksightDashboardsProps, QuicksightDataSetSpec, QuicksightMeasure,
    QuicksightVisualSpec,
)
from .naming import ROLE_NAME, resource_name
from ._bindings import aws

__all__ = ["OUTPUTS", "QuicksightColumn", "QuicksightDashboards", "QuicksightDashboardsProps",
           "QuicksightDataSetSpec", "QuicksightMeasure", "QuicksightVisualSpec"]

DATA_SOURCE_OWNER_ACTIONS = (
    "quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource",
    "quicksight:UpdateDataSource", "quicksight:DeleteDataSource", "quicksight:UpdateDataSourcePermissions")
DATA_SET_OWNER_ACTIONS = (
    "quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
    "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions")
DASHBOARD_OWNER_ACTIONS = (
    "quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion")
DASHBOARD_READER_ACTIONS = ("quicksight:DescribeDashboard", "quicksight:ListDashboardVersions",
                            "quicksight:QueryDashboard")
GRID_COLUMNS = 36
"""QuickSight's grid is 36 columns wide; two visuals a row."""


def _field(visual: str, i: int) -> str:
    return f"{visual}.m{i}"


def _measure(visual: QuicksightVisualSpec, i: int, m: QuicksightMeasure) -> dict:
    if m.column:
        return {"numerical_measure_field": {
            "field_id": _field(visual.key, i),
            "column": {"data_set_identifier": visual.data_set, "column_name": m.column},
            "aggregation_function": {"simple_numerical_aggregation": "SUM"}}}
    num, den = m.ratio
    return {"calculated_measure_field": {
        "field_id": _field(visual.key, i),
        "expression": f"ifelse(sum({{{den}}}) > 0, sum({{{num}}}) / sum({{{den}}}), NULL)"}}


def visual_definition(visual: QuicksightVisualSpec) -> dict:
    """One ``visuals`` item of the dashboard definition (the provider's schema, snake_case keys)."""
    wells = {
        "category": [{"categorical_dimension_field": {
            "field_id": f"{visual.key}.category",
            "column": {"data_set_identifier": visual.data_set, "column_name": visual.category}}}],
        "values": [_measure(visual, i, m) for i, m in enumerate(visual.measures)],
    }
    title = {"visibility": "VISIBLE", "format_text": {"plain_text": visual.title}}
    body: dict = {"visual_id": visual.key, "title": title}
    if visual.subtitle:
        body["subtitle"] = {"visibility": "VISIBLE", "format_text": {"plain_text": visual.subtitle}}
    axis_sort = [{"field_sort": {"field_id": f"{visual.key}.category", "direction": "ASC"}}]
    if visual.kind == "line":
        body["chart_configuration"] = {
            "field_wells": {"line_chart_aggregated_field_wells": wells},
            "sort_configuration": {"category_sort": axis_sort},
            "legend": {"visibility": "VISIBLE"}}
        return {"line_chart_visual": body}
    body["chart_configuration"] = {
        "field_wells": {"bar_chart_aggregated_field_wells": wells}, "orientation": "VERTICAL",
        "sort_configuration": {"category_sort": axis_sort},
        "legend": {"visibility": "VISIBLE" if len(visual.measures) > 1 else "HIDDEN"}}
    return {"bar_chart_visual": body}


def dashboard_definition(props: QuicksightDashboardsProps, data_set_arns: dict[str, str]) -> dict:
    """The dashboard's ``definition`` block: the data sets it reads and one sheet of charts on a grid."""
    used = [d.key for d in props.data_sets if any(v.data_set == d.key for v in props.visuals)]
    width, height = GRID_COLUMNS // 2, 12
    elements = [{"element_id": v.key, "element_type": "VISUAL", "column_index": (i % 2) * width,
                 "column_span": width, "row_index": (i // 2) * height, "row_span": height}
                for i, v in enumerate(props.visuals)]
    definition = {
        "data_set_identifiers_declarations": [{"identifier": key, "data_set_arn": data_set_arns[key]} for key in used],
        "sheets": [{
            "sheet_id": "kpis", "name": props.dashboard_title, "title": props.dashboard_title,
            "visuals": [visual_definition(v) for v in props.visuals],
            "layouts": [{"configuration": {"grid_layout": {
                "canvas_size_options": {"screen_canvas_size_options": {"resize_option": "RESPONSIVE"}},
                "elements": elements}}}],
        }],
    }
    return definition


class QuicksightDashboards(Construct):
    """QuickSight over the warehouse and Athena, with least-privilege access.

    Options: :class:`QuicksightDashboardsProps`; outputs: :data:`OUTPUTS` (``modules/quicksight_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: QuicksightDashboardsProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.dashboard_id: str | None = None
        self.dashboard_arn: str | None = None
        self.data_set_arns: dict[str, str] = {}
        self.data_source_arns: dict[str, str] = {}
        self.vpc_connection_arn: str | None = None
        if not props.create:
            return
        p = props
        vpc_connection = self._vpc_connection() if p.subnet_ids else None
        self._service_role_policy()
        if p.redshift_host:
            self.data_source_arns["redshift"] = self._redshift_source(vpc_connection)
        if p.athena_workgroup:
            self.data_source_arns["athena"] = self._athena_source()
        for spec in p.data_sets:
            self.data_set_arns[spec.key] = self._data_set(spec)
        self._dashboard()

    # --- network --------------------------------------------------------------------------------------------

    def vpc_connection_statements(self, arn_prefix: str) -> tuple[Statement, ...]:
        """The VPC connection role's grants (``arn_prefix``: ``arn:<partition>:ec2:<region>:<account>``)."""
        p = self.props
        interfaces = f"{arn_prefix}:network-interface/*"
        return (
            Statement(sid="CreateInterfacesInTheConnectionSubnets", actions=("ec2:CreateNetworkInterface",),
                      resources=(interfaces, *(f"{arn_prefix}:subnet/{s}" for s in p.subnet_ids),
                                 *(f"{arn_prefix}:security-group/{g}" for g in p.security_group_ids))),
            Statement(sid="ManageItsInterfaces",
                      actions=("ec2:ModifyNetworkInterfaceAttribute", "ec2:DeleteNetworkInterface"),
                      resources=(interfaces,)),
            Statement(sid="DescribeTheNetwork", actions=("ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"),
                      resources=("*",)),
        )

    def _vpc_connection(self):
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        QuicksightVpcConnection = aws.quicksight_vpc_connection.QuicksightVpcConnection

        p = self.props
        tags = dict(p.tags)
        name = resource_name(p.name_prefix, "quicksight", "vpc", limit=ROLE_NAME)
        role = IamRole(self, "vpc_role", name=name, description="QuickSight manages its VPC connection's interfaces",
                       assume_role_policy=assume_role_policy("quicksight.amazonaws.com", source_account=p.account_id),
                       tags=tags)
        arn_prefix = f"arn:{p.partition}:ec2:{p.region}:{p.account_id}"
        IamRolePolicy(self, "vpc_policy", name=name, role=role.id,
                      policy=policy_document(self.vpc_connection_statements(arn_prefix)))
        connection = QuicksightVpcConnection(
            self, "vpc_connection", aws_account_id=p.account_id, vpc_connection_id=name, name=name,
            role_arn=role.arn, subnet_ids=list(p.subnet_ids), security_group_ids=list(p.security_group_ids),
            tags=tags)
        self.vpc_connection_arn = connection.arn
        return connection

    # --- sources --------------------------------------------------------------------------------------------

    def service_role_statements(self) -> tuple[Statement, ...]:
        """What the account's QuickSight service role is granted: ``service_role_statements``; with an Athena
        source, the key through S3 and Glue (encrypted gold, results and catalog); with a Redshift source, its one
        secret (and the key through Secrets Manager)."""
        p = self.props
        out = list(p.service_role_statements)
        if p.athena_workgroup and p.kms_key_arn:
            out.append(Statement(
                sid="UseTheKeyForAthena", actions=("kms:Decrypt", "kms:GenerateDataKey"), resources=(p.kms_key_arn,),
                conditions=(Condition("StringEquals", "kms:ViaService", tuple(
                    f"{svc}.{p.region}.amazonaws.com" for svc in ("s3", "glue"))),)))
        if p.redshift_host:
            out.append(Statement(sid="ReadTheWarehouseSecret", actions=("secretsmanager:GetSecretValue",),
                                 resources=(p.redshift_secret_arn,)))
            if p.kms_key_arn:
                out.append(Statement(
                    sid="DecryptTheWarehouseSecret", actions=("kms:Decrypt",), resources=(p.kms_key_arn,),
                    conditions=(Condition("StringEquals", "kms:ViaService",
                                          (f"secretsmanager.{p.region}.amazonaws.com",)),)))
        return tuple(out)

    def _service_role_policy(self) -> None:
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy

        statements = self.service_role_statements()
        if statements:
            IamRolePolicy(self, "service_role_policy", name=resource_name(self.props.name_prefix, "quicksight"),
                          role=self.props.service_role_name, policy=policy_document(statements))

    def _permissions(self, cls, actions: tuple[str, ...], principals: tuple[str, ...] | None = None) -> list:
        return [cls(principal=arn, actions=list(actions)) for arn in (principals or self.props.owner_arns)]

    def _redshift_source(self, vpc_connection) -> str:
        binding = aws.quicksight_data_source
        QuicksightDataSource = binding.QuicksightDataSource
        QuicksightDataSourceCredentials = binding.QuicksightDataSourceCredentials
        QuicksightDataSourceParameters = binding.QuicksightDataSourceParameters
        QuicksightDataSourceParametersRedshift = binding.QuicksightDataSourceParametersRedshift
        QuicksightDataSourcePermission = binding.QuicksightDataSourcePermission
        QuicksightDataSourceSslProperties = binding.QuicksightDataSourceSslProperties
        QuicksightDataSourceVpcConnectionProperties = binding.QuicksightDataSourceVpcConnectionProperties

        p = self.props
        source = QuicksightDataSource(
            self, "redshift_source", aws_account_id=p.account_id,
            data_source_id=resource_name(p.name_prefix, "redshift"),
            name=f"{p.name_prefix} warehouse (Redshift)", type="REDSHIFT",
            parameters=QuicksightDataSourceParameters(redshift=QuicksightDataSourceParametersRedshift(
                host=p.redshift_host, port=p.redshift_port, database=p.redshift_database)),
            credentials=QuicksightDataSourceCredentials(secret_arn=p.redshift_secret_arn),
            ssl_properties=QuicksightDataSourceSslProperties(disable_ssl=False),
            vpc_connection_properties=(QuicksightDataSourceVpcConnectionProperties(
                vpc_connection_arn=vpc_connection.arn) if vpc_connection is not None else None),
            permission=self._permissions(QuicksightDataSourcePermission, DATA_SOURCE_OWNER_ACTIONS),
            tags=dict(p.tags))
        return source.arn

    def _athena_source(self) -> str:
        binding = aws.quicksight_data_source
        QuicksightDataSource = binding.QuicksightDataSource
        QuicksightDataSourceParameters = binding.QuicksightDataSourceParameters
        QuicksightDataSourceParametersAthena = binding.QuicksightDataSourceParametersAthena
        QuicksightDataSourcePermission = binding.QuicksightDataSourcePermission
        QuicksightDataSourceSslProperties = binding.QuicksightDataSourceSslProperties

        p = self.props
        source = QuicksightDataSource(
            self, "athena_source", aws_account_id=p.account_id, data_source_id=resource_name(p.name_prefix, "athena"),
            name=f"{p.name_prefix} lake (Athena)", type="ATHENA",
            parameters=QuicksightDataSourceParameters(athena=QuicksightDataSourceParametersAthena(
                work_group=p.athena_workgroup)),
            ssl_properties=QuicksightDataSourceSslProperties(disable_ssl=False),
            permission=self._permissions(QuicksightDataSourcePermission, DATA_SOURCE_OWNER_ACTIONS),
            tags=dict(p.tags))
        return source.arn

    # --- data sets and dashboard ----------------------------------------------------------------------------

    def _data_set(self, spec: QuicksightDataSetSpec) -> str:
        binding = aws.quicksight_data_set
        QuicksightDataSet = binding.QuicksightDataSet
        QuicksightDataSetLogicalTableMap = binding.QuicksightDataSetLogicalTableMap
        QuicksightDataSetLogicalTableMapSource = binding.QuicksightDataSetLogicalTableMapSource
        QuicksightDataSetPermissions = binding.QuicksightDataSetPermissions
        QuicksightDataSetPhysicalTableMap = binding.QuicksightDataSetPhysicalTableMap
        QuicksightDataSetPhysicalTableMapCustomSql = binding.QuicksightDataSetPhysicalTableMapCustomSql
        QuicksightDataSetPhysicalTableMapCustomSqlColumns = binding.QuicksightDataSetPhysicalTableMapCustomSqlColumns

        p = self.props
        data_set = QuicksightDataSet(
            self, f"data_set_{spec.key}", aws_account_id=p.account_id,
            data_set_id=resource_name(p.name_prefix, spec.key), name=spec.name, import_mode=p.import_mode,
            physical_table_map=[QuicksightDataSetPhysicalTableMap(
                physical_table_map_id=spec.key,
                custom_sql=QuicksightDataSetPhysicalTableMapCustomSql(
                    data_source_arn=self.data_source_arns[spec.source], name=spec.key, sql_query=spec.sql,
                    columns=[QuicksightDataSetPhysicalTableMapCustomSqlColumns(name=c.name, type=c.type)
                             for c in spec.columns]))],
            logical_table_map=[QuicksightDataSetLogicalTableMap(
                logical_table_map_id=spec.key, alias=spec.key,
                source=QuicksightDataSetLogicalTableMapSource(physical_table_id=spec.key))],
            permissions=self._permissions(QuicksightDataSetPermissions, DATA_SET_OWNER_ACTIONS),
            tags=dict(p.tags))
        return data_set.arn

    def _dashboard(self) -> None:
        binding = aws.quicksight_dashboard
        QuicksightDashboard = binding.QuicksightDashboard
        QuicksightDashboardDashboardPublishOptions = binding.QuicksightDashboardDashboardPublishOptions
        QuicksightDashboardDashboardPublishOptionsAdHocFilteringOption = (
            binding.QuicksightDashboardDashboardPublishOptionsAdHocFilteringOption)
        QuicksightDashboardDashboardPublishOptionsExportToCsvOption = (
            binding.QuicksightDashboardDashboardPublishOptionsExportToCsvOption)
        QuicksightDashboardPermissions = binding.QuicksightDashboardPermissions

        p = self.props
        permissions = self._permissions(QuicksightDashboardPermissions, DASHBOARD_OWNER_ACTIONS)
        if p.reader_arns:
            permissions += self._permissions(QuicksightDashboardPermissions, DASHBOARD_READER_ACTIONS, p.reader_arns)
        dashboard = QuicksightDashboard(
            self, "dashboard", aws_account_id=p.account_id, dashboard_id=resource_name(p.name_prefix, "kpis"),
            name=f"{p.name_prefix} {p.dashboard_title}", version_description="Managed by Terraform",
            definition=dashboard_definition(p, self.data_set_arns),
            dashboard_publish_options=QuicksightDashboardDashboardPublishOptions(
                ad_hoc_filtering_option=QuicksightDashboardDashboardPublishOptionsAdHocFilteringOption(
                    availability_status="ENABLED"),
                export_to_csv_option=QuicksightDashboardDashboardPublishOptionsExportToCsvOption(
                    availability_status="DISABLED")),
            permissions=permissions, tags=dict(p.tags))
        self.dashboard_id, self.dashboard_arn = dashboard.dashboard_id, dashboard.arn
