"""The monitoring layer: every watch the other layers' constructs declared, turned into alarms, composite alarms
per layer and for the platform, an encrypted SNS topic and one dashboard (:class:`modules.monitoring.Monitoring`).

Nothing here names a service: :func:`compose.build_stack` gives each layer's new constructs' ``watches`` to
:func:`build` under that layer's name, so a construct added to any layer brings its alarms with it. Thresholds
come from the environment's ``[monitoring]`` section. The names of the metrics the platform's own code publishes
(``data_contracts/metrics.py``) reach the constructs as :data:`FUNCTION_METRICS` and :data:`JOB_METRICS`.
"""
from __future__ import annotations

from collections.abc import Mapping

from compose.foundation import Foundation, KeyUsers, Naming
from compose.outputs import StackOutput
from data_contracts import metrics
from environments import EnvironmentConfig
from modules.monitoring_props import AppMetrics, MonitoringProps, Watch

OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("alarm_topic_arn", "monitoring", "SNS topic every alarm and failure rule notifies"),
    StackOutput("platform_alarm_name", "monitoring", "Composite alarm: the platform is unhealthy"),
    StackOutput("layer_alarm_names", "monitoring", "Layer -> its composite alarm (the layer is unhealthy)"),
    StackOutput("alarm_names", "monitoring", "Layer -> the names of its metric alarms"),
    StackOutput("dashboard_name", "monitoring", "The platform's CloudWatch dashboard"),
    StackOutput("monitored_components", "monitoring", "Every watched resource: layer, type, name, title and the "
                "names of its alarms (what make status groups by)"),
)

FUNCTION_METRICS = AppMetrics(namespace=metrics.NAMESPACE, dimension=metrics.SERVICE_DIMENSION,
                              records=metrics.RECORD_COUNTS, records_failed="records_failed", lag=metrics.STREAM_LAG)
"""What a function of the platform publishes (EMF, ``service`` = its name)."""

JOB_METRICS = AppMetrics(namespace=metrics.NAMESPACE, dimension=metrics.SERVICE_DIMENSION,
                         records=metrics.RECORD_COUNTS, records_failed="records_failed",
                         run_duration=metrics.RUN_DURATION, runs_failed=metrics.RUN_FAILED)
"""What a batch job publishes: one run summary per run (EMF, ``service`` = its deployed name)."""

PUBLISHERS: tuple[str, ...] = ("cloudwatch.amazonaws.com", "events.amazonaws.com")
"""Services that publish to the encrypted topic (alarms, failure rules): the key policy lets them use the key."""


def key_users(config: EnvironmentConfig, names: Naming) -> KeyUsers:
    return KeyUsers(service_principals=PUBLISHERS if config.services.monitoring else ())


def build(base: Foundation, watches: Mapping[str, tuple[Watch, ...]]) -> None:
    from modules.monitoring import Monitoring

    names = base.naming
    config = names.config
    if not config.services.monitoring:
        return
    mon = Monitoring(base.stack, "monitoring", MonitoringProps(
        name_prefix=names.prefix, account_id=names.account_id, region=config.region, partition=names.partition,
        kms_key_arn=base.key.arn, watches={layer: w for layer, w in watches.items() if w},
        **config.monitoring.values_for(MonitoringProps), tags=names.tags,
    ))
    base.outputs.emit("alarm_topic_arn", mon.topic_arn)
    base.outputs.emit("platform_alarm_name", mon.platform_alarm_name)
    base.outputs.emit("layer_alarm_names", mon.layer_alarm_names)
    base.outputs.emit("alarm_names", mon.alarm_names)
    base.outputs.emit("dashboard_name", mon.dashboard_name)
    base.outputs.emit("monitored_components", mon.components)
