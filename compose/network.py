"""The network layer: the data services' private VPC (:class:`modules.network.Network`) in dev and prod, or the
ids of an existing VPC (``[network] existing_vpc_id``). The warehouse runs in it, MSK will, and the EMR backfill
cluster takes its first private subnet. Local has none (no emulator runs a VPC-bound service)."""
from __future__ import annotations

from compose.foundation import Foundation, KeyUsers, Naming
from compose.inputs import BuildInputs
from compose.outputs import StackOutput
from environments import EnvironmentConfig
from modules.network_props import NetworkProps

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("vpc_id", "network", "Id of the data services' VPC"),
    StackOutput("private_subnet_ids", "network", "Private subnets of the data services, one per zone"),
    StackOutput("data_security_group_id", "network", "Security group of the data services (Redshift, MSK)"),
)


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    """The flow-log group is encrypted by CloudWatch Logs, which the key policy already allows."""
    return KeyUsers()


def build(base: Foundation, inputs: BuildInputs) -> None:
    from modules.network import Network

    names, config = base.naming, base.naming.config
    settings = config.network.values_for(NetworkProps)
    if config.services.msk:  # Lambda's MSK poller reaches STS and Lambda through endpoints (no NAT)
        from compose.streaming import MSK_POLLER_ENDPOINTS

        settings["interface_endpoints"] = tuple(dict.fromkeys((*settings["interface_endpoints"],
                                                               *MSK_POLLER_ENDPOINTS)))
    network = Network(base.stack, "network", NetworkProps(
        name=names.prefix, region=config.region, kms_key_arn=base.key.arn,
        flow_log_retention_days=config.log_retention_days, **settings,
        tags=names.tags, create=config.services.network,
    ))
    base.network = network
    if network.vpc_id:
        base.outputs.emit("vpc_id", network.vpc_id)
        base.outputs.emit("private_subnet_ids", network.private_subnet_ids)
        base.outputs.emit("data_security_group_id", network.data_security_group_id)
