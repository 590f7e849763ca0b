"""Network: the private network the data services run in (Redshift now; MSK and EMR use it too).

What it creates (dev and prod; the local emulator runs no VPC-bound service, so local creates none):

* ``aws_vpc`` with DNS support, and its default security group emptied (``aws_default_security_group``
  with no rules: nothing uses it by accident);
* one private subnet per availability zone (``availability_zones``, the region's first zones; CIDRs carved
  from the VPC's with ``cidrsubnet``), no public IPs on launch, tagged
  ``for-use-with-amazon-emr-managed-policies = true`` (EMR's managed policy needs it), and a route table each;
  no internet or NAT gateway: AWS services are reached through endpoints;
* the S3 gateway endpoint on those route tables, and an interface endpoint (private DNS) for each of
  ``interface_endpoints`` in the private subnets, behind a security group that admits HTTPS from the VPC only;
* the data services' security group: its members reach each other on any TCP port, and HTTPS to the VPC
  (the interface endpoints) and to S3's prefix list (the gateway endpoint); nothing from elsewhere;
* a VPC flow log (``flow_log_traffic``) to a KMS-encrypted CloudWatch log group, written by its own role.

With ``existing_vpc_id`` nothing of the above is created except, when ``existing_data_security_group_id`` is
empty, the data services' security group in that VPC; the outputs pass the given ids through.
"""
from __future__ import annotations

from constructs import Construct

from .iam import Statement, assume_role_policy, policy_document
from .network_props import OUTPUTS, NetworkProps
from ._bindings import aws, core

__all__ = ["OUTPUTS", "Network", "NetworkProps"]


class Network(Construct):
    """A private VPC with endpoints and flow logs, or an existing one.

    Options: :class:`NetworkProps`; outputs: :data:`OUTPUTS` (``modules/network_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.vpc_id: str | None = None
        self.vpc_cidr: str | None = None
        self.private_subnet_ids: list[str] = []
        self.private_route_table_ids: list[str] = []
        self.data_security_group_id: str | None = None
        self.endpoint_security_group_id: str | None = None
        self.flow_log_group_name: str | None = None
        self.s3_endpoint_id: str | None = None
        if not props.create:
            return
        if props.existing_vpc_id:
            self.vpc_id, self.vpc_cidr = props.existing_vpc_id, props.existing_vpc_cidr
            self.private_subnet_ids = list(props.existing_private_subnet_ids)
            self.data_security_group_id = props.existing_data_security_group_id or self._data_group()
            return
        self._create()

    def _create(self) -> None:
        Fn = core.Fn
        CloudwatchLogGroup = aws.cloudwatch_log_group.CloudwatchLogGroup
        DataAwsAvailabilityZones = aws.data_aws_availability_zones.DataAwsAvailabilityZones
        DefaultSecurityGroup = aws.default_security_group.DefaultSecurityGroup
        FlowLog = aws.flow_log.FlowLog
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy
        RouteTable = aws.route_table.RouteTable
        RouteTableAssociation = aws.route_table_association.RouteTableAssociation
        binding = aws.security_group
        SecurityGroup = binding.SecurityGroup
        SecurityGroupIngress = binding.SecurityGroupIngress
        Subnet = aws.subnet.Subnet
        Vpc = aws.vpc.Vpc
        VpcEndpoint = aws.vpc_endpoint.VpcEndpoint

        p = self.props
        tags = dict(p.tags)
        vpc = Vpc(self, "vpc", cidr_block=p.cidr_block, enable_dns_support=True, enable_dns_hostnames=True,
                  tags={**tags, "Name": p.name})
        self.vpc_id, self.vpc_cidr = vpc.id, p.cidr_block
        DefaultSecurityGroup(self, "default_sg", vpc_id=vpc.id, tags={**tags, "Name": f"{p.name}-default-unused"})

        zones = DataAwsAvailabilityZones(self, "zones", state="available")
        for i in range(p.availability_zones):
            subnet = Subnet(
                self, f"private_{i}", vpc_id=vpc.id, availability_zone=Fn.element(zones.names, i),
                cidr_block=Fn.cidrsubnet(p.cidr_block, p.subnet_newbits, i), map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{p.name}-private-{i}", "Tier": "private",
                      "for-use-with-amazon-emr-managed-policies": "true"})
            table = RouteTable(self, f"private_rt_{i}", vpc_id=vpc.id, tags={**tags, "Name": f"{p.name}-private-{i}"})
            RouteTableAssociation(self, f"private_rta_{i}", subnet_id=subnet.id, route_table_id=table.id)
            self.private_subnet_ids.append(subnet.id)
            self.private_route_table_ids.append(table.id)

        s3 = VpcEndpoint(self, "s3_endpoint", vpc_id=vpc.id, service_name=f"com.amazonaws.{p.region}.s3",
                         vpc_endpoint_type="Gateway", route_table_ids=self.private_route_table_ids,
                         tags={**tags, "Name": f"{p.name}-s3"})
        self.s3_endpoint_id = s3.id
        endpoints_sg = SecurityGroup(
            self, "endpoints_sg", name=f"{p.name}-endpoints", vpc_id=vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            ingress=[SecurityGroupIngress(description="HTTPS from the VPC", protocol="tcp", from_port=443,
                                          to_port=443, cidr_blocks=[p.cidr_block])],
            egress=[], tags={**tags, "Name": f"{p.name}-endpoints"})
        self.endpoint_security_group_id = endpoints_sg.id
        for service in p.interface_endpoints:
            VpcEndpoint(self, f"endpoint_{service.replace('-', '_').replace('.', '_')}", vpc_id=vpc.id,
                        service_name=f"com.amazonaws.{p.region}.{service}", vpc_endpoint_type="Interface",
                        private_dns_enabled=True, subnet_ids=self.private_subnet_ids,
                        security_group_ids=[endpoints_sg.id], tags={**tags, "Name": f"{p.name}-{service}"})
        self.data_security_group_id = self._data_group(s3.prefix_list_id)

        log_group = CloudwatchLogGroup(self, "flow_log_group", name=f"/aws/vpc/{p.name}/flow-log",
                                       retention_in_days=p.flow_log_retention_days, kms_key_id=p.kms_key_arn,
                                       tags=tags)
        self.flow_log_group_name = log_group.name
        role = IamRole(self, "flow_log_role", name=f"{p.name}-vpc-flow-log",
                       description=f"Writes the flow log of the {p.name} VPC",
                       assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"), tags=tags)
        IamRolePolicy(self, "flow_log_policy", name=f"{p.name}-vpc-flow-log", role=role.id,
                      policy=policy_document([Statement(
                          sid="WriteFlowLog",
                          actions=("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
                          resources=(log_group.arn, f"{log_group.arn}:*"))]))
        FlowLog(self, "flow_log", vpc_id=vpc.id, traffic_type=p.flow_log_traffic, log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn, iam_role_arn=role.arn, max_aggregation_interval=60,
                tags={**tags, "Name": f"{p.name}-flow-log"})

    def _data_group(self, s3_prefix_list: str | None = None) -> str:
        binding = aws.security_group
        SecurityGroup = binding.SecurityGroup
        SecurityGroupEgress = binding.SecurityGroupEgress
        SecurityGroupIngress = binding.SecurityGroupIngress

        p = self.props
        cidr = p.existing_vpc_cidr if p.existing_vpc_id else p.cidr_block
        group = SecurityGroup(
            self, "data_sg", name=f"{p.name}-data", vpc_id=self.vpc_id,
            description="Data services (Redshift, MSK): members reach each other; HTTPS to the VPC endpoints",
            ingress=[SecurityGroupIngress(description="Any TCP port from members of this group", protocol="tcp",
                                          from_port=0, to_port=65535, self_attribute=True)],
            egress=[SecurityGroupEgress(description="Any TCP port to members of this group", protocol="tcp",
                                        from_port=0, to_port=65535, self_attribute=True),
                    *([SecurityGroupEgress(description="HTTPS to the VPC (interface and gateway endpoints)",
                                           protocol="tcp", from_port=443, to_port=443, cidr_blocks=[cidr])]
                      if cidr else []),
                    *([SecurityGroupEgress(description="HTTPS to S3 through the gateway endpoint", protocol="tcp",
                                           from_port=443, to_port=443, prefix_list_ids=[s3_prefix_list])]
                      if s3_prefix_list else [])],
            tags={**dict(p.tags), "Name": f"{p.name}-data"})
        return group.id
