"""EmrCluster: a transient EMR 7 cluster (on EC2) that runs the backfill steps and terminates.

Why an EMR cluster and not EMR Serverless: the backfill is a short, ordered list of ``spark-submit``
steps that exists only as data (``emr_steps/steps.py``: ``render_steps()``). A cluster declares those
steps in Terraform (``step`` blocks with ``command-runner.jar``), runs them in order with a per-step
``action_on_failure``, ships every log to S3 and terminates itself after the last step
(``keep_job_flow_alive_when_no_steps = false``); it takes an ``aws_emr_security_configuration``
(at-rest encryption of EMRFS data, local disks and EBS volumes with KMS) and runs in a private subnet
with EMR-managed security groups. EMR Serverless would need a separate job-run submitter (its job
runs are not Terraform resources) and has no security-configuration equivalent for local disks.

What it creates:

* ``aws_emr_security_configuration`` ``<name>``: ``EnableAtRestEncryption`` with S3 ``SSE-KMS`` and
  local-disk encryption by ``AwsKms`` including EBS volumes (``EnableEbsEncryption``), all with the lake
  key; IMDSv2 required. In-transit encryption needs a certificate provider: set
  ``in_transit_certificates_s3_uri`` to an S3 zip of PEM files (``privateKey.pem``, ``certificateChain.pem``,
  ``trustedCertificates.pem``; e.g. issued by ACM Private CA or your PKI, uploaded out of band) and
  ``EnableInTransitEncryption`` is switched on with ``CertificateProviderType = PEM``;
* three EMR-managed security groups in the subnet's VPC (primary, core/task, service access), tagged
  ``for-use-with-amazon-emr-managed-policies = true``, without rules of their own: EMR adds what the
  cluster needs; the service-access group gets the documented private-subnet rules (9443 in from the
  primary group, 8443 out to the primary and core groups). No public IP is ever requested: the cluster
  lives in a private subnet (``subnet_id``), which must be tagged like the groups and reach S3 through a
  gateway VPC endpoint (plus a NAT or interface endpoints for the other AWS APIs);
* the service role ``<name>-service`` (trust ``elasticmapreduce.amazonaws.com`` from this account's
  clusters) with the AWS managed ``AmazonEMRServicePolicy_v2`` (scoped by the tag above) plus
  ``iam:PassRole`` of the instance role to EC2 only;
* the instance role + profile ``<name>-ec2`` (trust ``ec2.amazonaws.com``): only the caller's
  :class:`modules.iam.S3Access` grants, writing its logs under ``log_prefix``, reading uploaded code, and
  the lake key (local-disk keys are requested by the nodes themselves: the stack's key policy lets this
  role's ARN use the key directly);
* optional ``aws_s3_object`` uploads of step code (``uploads``: key -> local file);
* ``aws_emr_cluster`` ``<name>``: ``release_label`` (EMR 7), Spark, the steps (``command-runner.jar``),
  logs to ``s3://<artifacts>/<log_prefix>`` encrypted with the key, ``keep_job_flow_alive_when_no_steps
  = false``, ``termination_protection = false``, an ``auto_termination_policy`` as a backstop, unhealthy
  node replacement, the instance groups (gp3 EBS).

Lifecycle: the cluster is transient. Once it has terminated, the provider finds it gone and the next
``terraform apply`` creates a new one, i.e. runs the backfill again. Keep ``services.emr`` on only while
a backfill is wanted (the steps are idempotent: they rewrite the same bronze objects).
"""
from __future__ import annotations

import json
from pathlib import Path

from constructs import Construct

from .emr_props import (
    ACTIONS_ON_FAILURE, EMR_MANAGED_POLICY_TAG, OUTPUTS, EmrClusterProps, EmrStep, instance_role_name,
    service_role_name,
)
from .iam import Condition, S3Access, Statement, assume_role_policy, policy_document, s3_statements
from .s3_artifact import S3Artifact, S3ArtifactProps
from .monitoring_props import emr_cluster_watch
from ._bindings import aws

__all__ = ["ACTIONS_ON_FAILURE", "EMR_MANAGED_POLICY_TAG", "OUTPUTS", "EmrCluster", "EmrClusterProps", "EmrStep",
           "instance_role_name", "security_configuration_json", "service_role_name"]

def security_configuration_json(kms_key_arn: str, in_transit_certificates_s3_uri: str = "") -> str:
    """The EMR security configuration document: everything at rest encrypted with the key, IMDSv2."""
    encryption: dict = {
        "EnableAtRestEncryption": True,
        "EnableInTransitEncryption": bool(in_transit_certificates_s3_uri),
        "AtRestEncryptionConfiguration": {
            "S3EncryptionConfiguration": {"EncryptionMode": "SSE-KMS", "AwsKmsKey": kms_key_arn},
            "LocalDiskEncryptionConfiguration": {
                "EncryptionKeyProviderType": "AwsKms", "AwsKmsKey": kms_key_arn, "EnableEbsEncryption": True},
        },
    }
    if in_transit_certificates_s3_uri:
        encryption["InTransitEncryptionConfiguration"] = {"TLSCertificateConfiguration": {
            "CertificateProviderType": "PEM", "S3Object": in_transit_certificates_s3_uri}}
    return json.dumps({
        "EncryptionConfiguration": encryption,
        "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": 2,
                                                 "HttpPutResponseHopLimit": 2},
    }, separators=(",", ":"))


class EmrCluster(Construct):
    """Transient EMR 7 cluster running steps, with security configuration and least-privilege roles.

    Options: :class:`EmrClusterProps` (one :class:`EmrStep` per step); outputs: :data:`OUTPUTS`
    (``modules/emr_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: EmrClusterProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.watches: tuple = ()
        self.cluster = None
        self.cluster_id: str | None = None
        self.cluster_arn: str | None = None
        self.security_configuration_name: str | None = None
        self.service_role_arn: str | None = None
        self.instance_role_arn: str | None = None
        self.instance_role_name: str | None = None
        self.instance_profile_arn: str | None = None
        self.security_group_ids: dict[str, str] = {}
        self.log_uri: str | None = None
        self.upload_uris: dict[str, str] = {}
        if not props.create:
            return
        self._check()

        DataAwsSubnet = aws.data_aws_subnet.DataAwsSubnet
        binding = aws.emr_cluster
        EmrClusterResource = binding.EmrCluster
        EmrClusterAutoTerminationPolicy = binding.EmrClusterAutoTerminationPolicy
        EmrClusterCoreInstanceGroup = binding.EmrClusterCoreInstanceGroup
        EmrClusterCoreInstanceGroupEbsConfig = binding.EmrClusterCoreInstanceGroupEbsConfig
        EmrClusterEc2Attributes = binding.EmrClusterEc2Attributes
        EmrClusterMasterInstanceGroup = binding.EmrClusterMasterInstanceGroup
        EmrClusterStep = binding.EmrClusterStep
        EmrClusterStepHadoopJarStep = binding.EmrClusterStepHadoopJarStep
        EmrSecurityConfiguration = aws.emr_security_configuration.EmrSecurityConfiguration
        IamInstanceProfile = aws.iam_instance_profile.IamInstanceProfile
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        IamRolePolicyAttachment = aws.iam_role_policy_attachment.IamRolePolicyAttachment
        SecurityGroup = aws.security_group.SecurityGroup
        VpcSecurityGroupEgressRule = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule
        VpcSecurityGroupIngressRule = aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule

        p = props
        tags = dict(p.tags)
        bucket, bucket_arn = p.artifacts_bucket, p.artifacts_bucket_arn

        uploads = []
        for i, (key, path) in enumerate(sorted(p.uploads.items())):
            art = S3Artifact(self, f"upload_{i}", S3ArtifactProps(
                bucket=bucket, key=key, path=Path(path), kms_key_arn=p.kms_key_arn,
                content_type="text/x-python" if str(path).endswith(".py") else "application/octet-stream",
                tags=tags))
            uploads.append(art)
            self.upload_uris[key] = art.uri

        sec = EmrSecurityConfiguration(
            self, "security_configuration", name=p.name,
            configuration=security_configuration_json(p.kms_key_arn, p.in_transit_certificates_s3_uri),
        )
        self.security_configuration_name = sec.name

        # ---- network: EMR-managed security groups in the subnet's VPC --------------------------------
        subnet = DataAwsSubnet(self, "subnet", id=p.subnet_id)
        sg_tags = {**tags, **EMR_MANAGED_POLICY_TAG}
        groups = {}
        for key, what in (("primary", "primary node"), ("core", "core and task nodes"),
                          ("service", "EMR service access to the private cluster")):
            groups[key] = SecurityGroup(
                self, f"{key}_security_group", name=f"{p.name}-{key}", vpc_id=subnet.vpc_id,
                description=f"EMR-managed security group of {p.name}: {what} (rules added by EMR)",
                revoke_rules_on_delete=True, tags={**sg_tags, "Name": f"{p.name}-{key}"},
            )
        VpcSecurityGroupIngressRule(
            self, "service_from_primary_9443", security_group_id=groups["service"].id, ip_protocol="tcp",
            from_port=9443, to_port=9443, referenced_security_group_id=groups["primary"].id,
            description="Primary node to the EMR service (private subnet)", tags=tags)
        for target in ("primary", "core"):
            VpcSecurityGroupEgressRule(
                self, f"service_to_{target}_8443", security_group_id=groups["service"].id, ip_protocol="tcp",
                from_port=8443, to_port=8443, referenced_security_group_id=groups[target].id,
                description=f"EMR service (cluster manager) to the {target} nodes", tags=tags)
        self.security_group_ids = {k: g.id for k, g in groups.items()}

        # ---- roles ------------------------------------------------------------------------------------
        instance_role = IamRole(
            self, "instance_role", name=instance_role_name(p.name),
            description=f"Instance profile role of the {p.name} EMR nodes",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"), tags=tags,
        )
        log_prefix = p.log_prefix
        statements = [
            *s3_statements([
                S3Access(sid="WriteClusterLogs", bucket_arn=bucket_arn, prefixes=(log_prefix,), read=False,
                         write=True),
                *([S3Access(sid="ReadStepCode", bucket_arn=bucket_arn, prefixes=tuple(sorted(p.uploads)))]
                  if p.uploads else []),
                *p.s3_access,
            ]),
            Statement(sid="UseLakeKey", actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
                      resources=(p.kms_key_arn,)),
        ]
        instance_policy = IamRolePolicy(self, "instance_role_policy", name=f"{p.name}-ec2-least-privilege",
                                        role=instance_role.id, policy=policy_document(statements))
        profile = IamInstanceProfile(self, "instance_profile", name=instance_role_name(p.name),
                                     role=instance_role.name,
                                     tags=tags)

        service_role = IamRole(
            self, "service_role", name=service_role_name(p.name), description=f"EMR service role of {p.name}",
            assume_role_policy=assume_role_policy(
                "elasticmapreduce.amazonaws.com", source_account=p.account_id,
                source_arn=f"arn:{p.partition}:elasticmapreduce:{p.region}:{p.account_id}:*"),
            tags=tags,
        )
        managed = IamRolePolicyAttachment(
            self, "service_role_managed_policy", role=service_role.name,
            policy_arn=f"arn:{p.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2")
        service_policy = IamRolePolicy(
            self, "service_role_policy", name=f"{p.name}-service-least-privilege", role=service_role.id,
            policy=policy_document([
                Statement(sid="PassInstanceRole", actions=("iam:PassRole",), resources=(instance_role.arn,),
                          conditions=(Condition("StringEquals", "iam:PassedToService", ("ec2.amazonaws.com",)),)),
                # EBS volumes encrypted by the security configuration: EC2 uses the key on EMR's behalf.
                Statement(sid="EbsEncryptionGrants", actions=("kms:CreateGrant",), resources=(p.kms_key_arn,),
                          conditions=(Condition("Bool", "kms:GrantIsForAWSResource", ("true",)),)),
                Statement(sid="EbsEncryptionKeyUse",
                          actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext",
                                   "kms:ReEncryptFrom", "kms:ReEncryptTo"),
                          resources=(p.kms_key_arn,)),
            ]))

        # ---- cluster ----------------------------------------------------------------------------------
        self.log_uri = f"s3://{bucket}/{log_prefix}"
        self.cluster = EmrClusterResource(
            self, "cluster",
            name=p.name,
            release_label=p.release_label,
            applications=list(p.applications),
            service_role=service_role.arn,
            security_configuration=sec.name,
            log_uri=self.log_uri,
            log_encryption_kms_key_id=p.kms_key_arn,
            keep_job_flow_alive_when_no_steps=False,
            termination_protection=False,
            unhealthy_node_replacement=True,
            step_concurrency_level=1,
            auto_termination_policy=EmrClusterAutoTerminationPolicy(idle_timeout=p.idle_timeout_seconds),
            ec2_attributes=EmrClusterEc2Attributes(
                subnet_id=p.subnet_id,
                instance_profile=profile.arn,
                emr_managed_master_security_group=groups["primary"].id,
                emr_managed_slave_security_group=groups["core"].id,
                service_access_security_group=groups["service"].id,
            ),
            master_instance_group=EmrClusterMasterInstanceGroup(instance_type=p.master_instance_type, instance_count=1),
            core_instance_group=EmrClusterCoreInstanceGroup(
                instance_type=p.core_instance_type, instance_count=p.core_instance_count,
                ebs_config=[EmrClusterCoreInstanceGroupEbsConfig(size=p.ebs_size_gb, type="gp3",
                                                                 volumes_per_instance=1)],
            ),
            configurations_json=p.configurations_json,
            step=[EmrClusterStep(name=s.name, action_on_failure=s.action_on_failure,
                                 hadoop_jar_step=[EmrClusterStepHadoopJarStep(jar=s.jar, args=list(s.args))])
                  for s in p.steps],
            tags=tags,
            depends_on=[instance_policy, service_policy, managed, *(u.object for u in uploads)],
        )
        self.cluster_id = self.cluster.id
        self.cluster_arn = self.cluster.arn
        self.watches = (emr_cluster_watch(self.cluster_id, p.name),)
        self.service_role_arn = service_role.arn
        self.instance_role_arn = instance_role.arn
        self.instance_role_name = instance_role.name
        self.instance_profile_arn = profile.arn

    def _check(self) -> None:
        p = self.props
        for key, path in p.uploads.items():
            if not Path(path).is_file():
                raise FileNotFoundError(f"upload {key}: {path} does not exist")
