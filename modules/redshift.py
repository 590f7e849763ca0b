"""RedshiftWarehouse: the star schema's warehouse, Amazon Redshift Serverless by default or a provisioned cluster.

What it creates (no emulator can create Redshift: behind its ``create`` switch, off in the local environment):

* the role Redshift assumes for ``COPY`` (``<name>-redshift-copy``, trusted by ``redshift.amazonaws.com`` and
  ``redshift-serverless.amazonaws.com`` of this account), which may only list and read ``gold_prefixes`` of
  the gold bucket and decrypt through S3 with the lake key;
* serverless: ``aws_redshiftserverless_namespace`` (KMS, the admin password generated and kept by Secrets
  Manager with ``manage_admin_password``, encrypted with the key; audit ``log_exports`` to CloudWatch Logs;
  the COPY role as default role) and ``aws_redshiftserverless_workgroup`` (private subnets and security
  groups, ``publicly_accessible = false``, ``enhanced_vpc_routing``, ``require_ssl`` and user activity
  logging as config parameters, base and maximum RPUs), and a daily RPU-hours usage limit;
* provisioned: a subnet group, a parameter group (``require_ssl``, user activity logging), an encrypted
  private cluster with enhanced VPC routing, ``manage_master_password``, automated snapshots, audit logging
  to CloudWatch (``aws_redshift_logging``) and a concurrency-scaling usage limit;
* one ``aws_redshiftdata_statement`` per ``ddl_statements`` item, in order, through the Data API with the
  managed secret (the star schema's DDL is passed in, generated from the gold table specs).
"""
from __future__ import annotations

from constructs import Construct

from .iam import Condition, Statement, assume_role_policy, policy_document
from .redshift_props import OUTPUTS, RedshiftWarehouseProps, copy_role_name
from .monitoring_props import warehouse_watch
from ._bindings import aws

__all__ = ["OUTPUTS", "RedshiftWarehouse", "RedshiftWarehouseProps", "copy_role_name"]

PORT = 5439


class RedshiftWarehouse(Construct):
    """Redshift (Serverless or provisioned) with secure defaults.

    Options: :class:`RedshiftWarehouseProps`; outputs: :data:`OUTPUTS` (``modules/redshift_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: RedshiftWarehouseProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.endpoint: str | None = None
        self.port: int | None = None
        self.database_name: str | None = None
        self.workgroup_name: str | None = None
        self.namespace_name: str | None = None
        self.cluster_identifier: str | None = None
        self.admin_secret_arn: str | None = None
        self.data_api_target_arn: str | None = None
        self.copy_role_arn: str | None = None
        if not props.create:
            return
        self.port, self.database_name = PORT, props.database_name
        role = self._copy_role()
        self.copy_role_arn = role.arn
        target = self._serverless(role) if props.deployment == "serverless" else self._provisioned(role)
        self._ddl(target)

    def copy_statements(self) -> tuple[Statement, ...]:
        p = self.props
        prefixes = tuple(pfx.lstrip("/") for pfx in p.gold_prefixes)
        return (
            Statement(sid="ReadPublishedGold", actions=("s3:GetObject",),
                      resources=tuple(f"{p.gold_bucket_arn}/{pfx}*" for pfx in prefixes)),
            Statement(sid="ListPublishedGold", actions=("s3:ListBucket",), resources=(p.gold_bucket_arn,),
                      conditions=(Condition("StringLike", "s3:prefix", tuple(f"{pfx}*" for pfx in prefixes)),)),
            Statement(sid="LocateGold", actions=("s3:GetBucketLocation",), resources=(p.gold_bucket_arn,)),
            Statement(sid="DecryptGoldThroughS3", actions=("kms:Decrypt",), resources=(p.kms_key_arn,),
                      conditions=(Condition("StringLike", "kms:ViaService", ("s3.*.amazonaws.com",)),)),
        )

    def _copy_role(self):
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy

        p = self.props
        role = IamRole(self, "copy_role", name=copy_role_name(p.name),
                       description=f"Assumed by the {p.name} warehouse to COPY the published gold copies",
                       assume_role_policy=assume_role_policy(
                           ("redshift.amazonaws.com", "redshift-serverless.amazonaws.com"), source_account=p.account_id),
                       tags=dict(p.tags))
        IamRolePolicy(self, "copy_policy", name=f"{copy_role_name(p.name)}-gold-read", role=role.id,
                      policy=policy_document(self.copy_statements()))
        return role

    def _serverless(self, role):
        RedshiftserverlessNamespace = aws.redshiftserverless_namespace.RedshiftserverlessNamespace
        RedshiftserverlessUsageLimit = aws.redshiftserverless_usage_limit.RedshiftserverlessUsageLimit
        binding = aws.redshiftserverless_workgroup
        RedshiftserverlessWorkgroup = binding.RedshiftserverlessWorkgroup
        RedshiftserverlessWorkgroupConfigParameter = binding.RedshiftserverlessWorkgroupConfigParameter

        p = self.props
        tags = dict(p.tags)
        namespace = RedshiftserverlessNamespace(
            self, "namespace", namespace_name=p.name, db_name=p.database_name, admin_username=p.admin_username,
            manage_admin_password=True, admin_password_secret_kms_key_id=p.kms_key_arn, kms_key_id=p.kms_key_arn,
            iam_roles=[role.arn], default_iam_role_arn=role.arn, log_exports=list(p.log_exports), tags=tags)
        params = {"require_ssl": "true", "enable_user_activity_logging": "true"}
        workgroup = RedshiftserverlessWorkgroup(
            self, "workgroup", workgroup_name=p.name, namespace_name=namespace.namespace_name,
            base_capacity=p.base_capacity_rpus, max_capacity=p.max_capacity_rpus, enhanced_vpc_routing=True,
            publicly_accessible=False, subnet_ids=list(p.subnet_ids), security_group_ids=list(p.security_group_ids),
            port=PORT,
            config_parameter=[RedshiftserverlessWorkgroupConfigParameter(parameter_key=k, parameter_value=v)
                              for k, v in params.items()],
            tags=tags)
        RedshiftserverlessUsageLimit(self, "rpu_limit", resource_arn=workgroup.arn, usage_type="serverless-compute",
                                     amount=p.daily_rpu_hours_limit, period="daily",
                                     breach_action=p.usage_limit_breach_action)
        self.namespace_name, self.workgroup_name = namespace.namespace_name, workgroup.workgroup_name
        self.admin_secret_arn = namespace.admin_password_secret_arn
        self.data_api_target_arn = workgroup.arn
        self.endpoint = workgroup.endpoint.get(0).address
        self.watches = (warehouse_watch("aws_redshiftserverless_workgroup", workgroup.workgroup_name),)
        return {"workgroup_name": workgroup.workgroup_name}

    def _provisioned(self, role):
        RedshiftCluster = aws.redshift_cluster.RedshiftCluster
        RedshiftLogging = aws.redshift_logging.RedshiftLogging
        binding = aws.redshift_parameter_group
        RedshiftParameterGroup = binding.RedshiftParameterGroup
        RedshiftParameterGroupParameter = binding.RedshiftParameterGroupParameter
        RedshiftSubnetGroup = aws.redshift_subnet_group.RedshiftSubnetGroup
        RedshiftUsageLimit = aws.redshift_usage_limit.RedshiftUsageLimit

        p = self.props
        tags = dict(p.tags)
        subnets = RedshiftSubnetGroup(self, "subnet_group", name=p.name, subnet_ids=list(p.subnet_ids),
                                      description=f"Private subnets of the {p.name} warehouse", tags=tags)
        parameters = RedshiftParameterGroup(
            self, "parameters", name=p.name, family="redshift-1.0",
            description="TLS only; user activity logged",
            parameter=[RedshiftParameterGroupParameter(name="require_ssl", value="true"),
                       RedshiftParameterGroupParameter(name="enable_user_activity_logging", value="true")],
            tags=tags)
        cluster = RedshiftCluster(
            self, "cluster", cluster_identifier=p.name, database_name=p.database_name,
            master_username=p.admin_username, manage_master_password=True,
            master_password_secret_kms_key_id=p.kms_key_arn, node_type=p.node_type,
            cluster_type="multi-node" if p.number_of_nodes > 1 else "single-node",
            number_of_nodes=p.number_of_nodes, encrypted=True, kms_key_id=p.kms_key_arn,
            enhanced_vpc_routing=True, publicly_accessible=False, cluster_subnet_group_name=subnets.name,
            vpc_security_group_ids=list(p.security_group_ids), cluster_parameter_group_name=parameters.name,
            iam_roles=[role.arn], default_iam_role_arn=role.arn, port=PORT,
            automated_snapshot_retention_period=p.snapshot_retention_days, skip_final_snapshot=False,
            final_snapshot_identifier=f"{p.name}-final", allow_version_upgrade=True, tags=tags)
        RedshiftLogging(self, "logging", cluster_identifier=cluster.cluster_identifier,
                        log_destination_type="cloudwatch", log_exports=list(p.log_exports))
        RedshiftUsageLimit(self, "concurrency_limit", cluster_identifier=cluster.cluster_identifier,
                           feature_type="concurrency-scaling", limit_type="time",
                           amount=p.concurrency_scaling_minutes_limit, period="daily",
                           breach_action=p.usage_limit_breach_action)
        self.cluster_identifier = cluster.cluster_identifier
        self.admin_secret_arn = cluster.master_password_secret_arn
        self.data_api_target_arn = cluster.arn
        self.endpoint = cluster.dns_name
        self.watches = (warehouse_watch("aws_redshift_cluster", cluster.cluster_identifier),)
        return {"cluster_identifier": cluster.cluster_identifier}

    def _ddl(self, target: dict[str, str]) -> None:
        RedshiftdataStatement = aws.redshiftdata_statement.RedshiftdataStatement

        previous = None
        for i, sql in enumerate(self.props.ddl_statements):
            previous = RedshiftdataStatement(
                self, f"ddl_{i}", database=self.props.database_name, sql=sql, secret_arn=self.admin_secret_arn,
                depends_on=[previous] if previous is not None else None, **target)
