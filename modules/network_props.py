"""Options of :class:`modules.network.Network` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .options import (
    Props, Rule, between, create_option, log_retention, matches, option, outputs, tags_option,
)

CIDR_PATTERN = r"(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-4])"
VPC_ID_PATTERN = r"vpc-[0-9a-f]{8,17}"
SUBNET_ID_PATTERN = r"subnet-[0-9a-f]{8,17}"

DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "sts", "kms", "logs", "secretsmanager", "glue", "athena", "redshift-data", "monitoring",
)
"""Services called from inside the VPC (Redshift's and MSK's clients, the EMR nodes, Lambda in the VPC)."""


@dataclass(frozen=True)
class NetworkProps(Props):
    """Options of :class:`modules.network.Network`."""

    name: str = option(doc="Name prefix of every resource, e.g. ``lakeforge-dev``.")
    region: str = option(doc="Region (interface endpoint service names ``com.amazonaws.<region>.<service>``).")
    kms_key_arn: str | None = option(None, doc="Key of the flow-log group (required when the VPC is created).")
    cidr_block: str = option("10.40.0.0/16", limit=matches(CIDR_PATTERN, "an IPv4 CIDR from /16 to /24"),
                             doc="CIDR of the VPC.")
    availability_zones: int = option(3, limit=between(2, 6, "zones"),
                                     doc="Private subnets, one per availability zone (the region's first N zones).")
    subnet_newbits: int = option(4, limit=between(2, 8, "bits"),
                                 doc="Bits added to the VPC prefix for each private subnet (``/16`` + 4 = ``/20``).")
    interface_endpoints: tuple[str, ...] = option(
        DEFAULT_INTERFACE_ENDPOINTS,
        doc="Interface VPC endpoints (private DNS on, 443 from the VPC only). S3 always gets a gateway endpoint.")
    flow_log_retention_days: int = option(365, limit=log_retention(),
                                          doc="Retention of the VPC flow-log group (KMS-encrypted).")
    flow_log_traffic: str = option("ALL", limit=matches(r"ALL|ACCEPT|REJECT", "ALL, ACCEPT or REJECT"),
                                   doc="Traffic the flow log records.")
    existing_vpc_id: str = option(
        "", limit=matches(f"|{VPC_ID_PATTERN}", "empty or a VPC id (vpc-...)"),
        doc="Use this VPC instead of creating one: nothing is created, the outputs pass the ids through.")
    existing_vpc_cidr: str = option("", doc="CIDR of ``existing_vpc_id`` (for the data services' rules).")
    existing_private_subnet_ids: tuple[str, ...] = option(
        (), doc="Private subnets of ``existing_vpc_id`` (at least two zones).")
    existing_data_security_group_id: str = option(
        "", doc="Security group of the data services in ``existing_vpc_id`` (empty: one is created there).")
    tags: dict[str, str] = tags_option()
    create: bool = create_option()

    RULES = (
        Rule(("existing_vpc_id", "existing_private_subnet_ids"),
             lambda vpc, subnets: not vpc or len(subnets) >= 2,
             "existing_private_subnet_ids: an existing VPC needs at least two private subnets"),
        Rule(("existing_vpc_id", "kms_key_arn"), lambda vpc, key: bool(vpc) or bool(key),
             "kms_key_arn: required when the VPC is created (flow-log encryption)"),
    )


OUTPUTS = outputs(
    ("vpc_id", "Id of the VPC (created or given)."),
    ("vpc_cidr", "CIDR of the VPC."),
    ("private_subnet_ids", "Private subnets, one per availability zone."),
    ("private_route_table_ids", "Route tables of the private subnets (created VPC only)."),
    ("data_security_group_id", "Security group of the data services (Redshift, MSK): members reach each other; "
                               "HTTPS out to the VPC's endpoints."),
    ("endpoint_security_group_id", "Security group of the interface endpoints (443 from the VPC)."),
    ("flow_log_group_name", "CloudWatch log group of the VPC flow log (created VPC only)."),
    ("s3_endpoint_id", "Id of the S3 gateway endpoint (created VPC only)."),
)
