"""Monitoring: every :class:`~modules.monitoring_props.Watch` of a stack turned into CloudWatch alarms, composite
alarms per layer and for the platform, one encrypted SNS topic and one dashboard.

What it creates, from the declarations alone (it names no service itself):

* ``aws_sns_topic`` ``<prefix>-alerts`` encrypted with the key (``kms_master_key_id``) and its policy: this
  account's CloudWatch alarms and EventBridge rules may publish (``aws:SourceAccount``), nothing else, and TLS
  only; optional e-mail subscriptions (``notification_emails``);
* per :class:`~modules.monitoring_props.AlarmSpec`: ``aws_cloudwatch_metric_alarm``
  ``<resource name>-<kind>-<id>`` (threshold = the named option x ``scale``), notifying the topic on ALARM and
  on OK;
* per :class:`~modules.monitoring_props.EventRuleSpec`: ``aws_cloudwatch_event_rule`` with the pattern, its
  target the topic, and a metric alarm on the rule's ``AWS/Events`` ``MatchedEvents``;
* per layer with at least one alarm: ``aws_cloudwatch_composite_alarm`` ``<prefix>-<layer>-unhealthy`` (ALARM
  when any of the layer's alarms is), and ``<prefix>-platform-unhealthy`` over the layers' composites, both
  notifying the topic;
* ``aws_cloudwatch_dashboard`` ``<prefix>-platform``: per layer an alarm-status widget, then per watched
  resource one graph per alarm (the alarm's metric with its threshold) and its extra graphs.
"""
from __future__ import annotations

import json
import re

from constructs import Construct

from .iam import Condition, Statement, deny_insecure_transport, policy_document
from .monitoring_props import (
    COMPARISONS, LAYERS, OUTPUTS, THRESHOLDS, AlarmSpec, MonitoringProps, Watch, event_rule_alarm,
)
from .naming import ALARM_NAME, DASHBOARD_NAME, TOPIC_NAME, resource_name
from ._bindings import aws

__all__ = ["OUTPUTS", "Monitoring", "MonitoringProps", "alarm_name"]

WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
DASHBOARD_COLUMNS = 24


def kind(resource_type: str) -> str:
    """Short service name of a Terraform type (``aws_lambda_function`` -> ``lambda``): part of alarm names, so an
    alarm of a stream and one of a function with the same name differ."""
    return resource_type.removeprefix("aws_").split("_")[0]


def alarm_name(watch: Watch, alarm_id: str) -> str:
    """``<resource name>-<kind>-<alarm id>``."""
    return f"{watch.name}-{kind(watch.resource_type)}-{alarm_id}"


def _resource_id(watch: Watch, spec_id: str) -> str:
    """The Terraform id of an alarm or rule: its construct's path (or its name), service and id."""
    base = watch.key.split("/", 1)[-1] if watch.key else watch.name
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{base}_{kind(watch.resource_type)}_{spec_id}")


class Monitoring(Construct):
    """Alarms, composite alarms, notifications and a dashboard for every declared watch.

    Options: :class:`MonitoringProps`; outputs: :data:`OUTPUTS` (``modules/monitoring_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: MonitoringProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.topic_arn: str | None = None
        self.alarm_names: dict[str, list[str]] = {}
        self.layer_alarm_names: dict[str, str] = {}
        self.platform_alarm_name: str | None = None
        self.dashboard_name: str | None = None
        self.rule_names: list[str] = []
        self.alarms: dict[str, object] = {}
        self.components: list[dict] = []
        if not props.create:
            return
        named = {a.threshold for ws in props.watches.values() for w in ws for a in w.alarms if a.threshold}
        named |= {r.threshold for ws in props.watches.values() for w in ws for r in w.rules}
        unknown = sorted(named - set(THRESHOLDS))
        if unknown:
            raise ValueError(f"watches name thresholds MonitoringProps does not have: {unknown}")
        bad_layers = sorted(set(props.watches) - set(LAYERS))
        if bad_layers:
            raise ValueError(f"unknown layers {bad_layers}; choose from {list(LAYERS)}")

        CloudwatchCompositeAlarm = aws.cloudwatch_composite_alarm.CloudwatchCompositeAlarm
        CloudwatchDashboard = aws.cloudwatch_dashboard.CloudwatchDashboard
        CloudwatchEventRule = aws.cloudwatch_event_rule.CloudwatchEventRule
        CloudwatchEventTarget = aws.cloudwatch_event_target.CloudwatchEventTarget
        SnsTopic = aws.sns_topic.SnsTopic
        SnsTopicPolicy = aws.sns_topic_policy.SnsTopicPolicy
        SnsTopicSubscription = aws.sns_topic_subscription.SnsTopicSubscription

        p = props
        tags = dict(p.tags)
        topic = SnsTopic(self, "topic", name=resource_name(p.name_prefix, "alerts", limit=TOPIC_NAME),
                         kms_master_key_id=p.kms_key_arn or "alias/aws/sns", tags=tags)
        SnsTopicPolicy(self, "topic_policy", arn=topic.arn, policy=policy_document([
            Statement(sid="AlarmsAndRulesOfThisAccountPublish", actions=("sns:Publish",), resources=(topic.arn,),
                      principals={"Service": ("cloudwatch.amazonaws.com", "events.amazonaws.com")},
                      conditions=(Condition("StringEquals", "aws:SourceAccount", (p.account_id,)),)),
            deny_insecure_transport((topic.arn,), actions=("sns:Publish",)),
        ], resource_policy=True))
        for i, email in enumerate(p.notification_emails):
            SnsTopicSubscription(self, f"email_{i}", topic_arn=topic.arn, protocol="email", endpoint=email)
        self.topic_arn = topic.arn

        widgets: list[dict] = []
        composites: list[str] = []
        for layer in LAYERS:
            watches = p.watches.get(layer, ())
            if not watches:
                continue
            names: list[str] = []
            arns: list[str] = []
            rows: list[dict] = []
            for watch in watches:
                first = len(names)
                specs: list[AlarmSpec] = list(watch.alarms)
                for rule in watch.rules:
                    rule_name = alarm_name(watch, rule.id)
                    rid = _resource_id(watch, rule.id)
                    created = CloudwatchEventRule(
                        self, f"{rid}_rule", name=rule_name,
                        description=rule.title, event_pattern=json.dumps(rule.pattern), tags=tags)
                    CloudwatchEventTarget(self, f"{rid}_target",
                                          rule=created.name, target_id="alerts", arn=topic.arn)
                    self.rule_names.append(created.name)
                    specs.append(event_rule_alarm(rule, created.name))
                for spec in specs:
                    alarm = self._alarm(layer, watch, spec, topic.arn, tags)
                    names.append(alarm.alarm_name)
                    arns.append(alarm.arn)
                    rows.append(self._alarm_widget(watch, spec, alarm.arn))
                for graph in watch.graphs:
                    rows.append(self._graph_widget(graph.title, graph.metrics))
                self.components.append({"layer": layer, "type": watch.resource_type, "name": watch.name,
                                        "title": watch.title, "alarms": names[first:]})
            composite = CloudwatchCompositeAlarm(
                self, f"{layer}_unhealthy", alarm_name=f"{p.name_prefix}-{layer}-unhealthy",
                alarm_description=f"The {layer} layer is unhealthy: one of its alarms is in ALARM",
                alarm_rule=" OR ".join(f'ALARM("{n}")' for n in names),
                alarm_actions=[topic.arn], ok_actions=[topic.arn], actions_enabled=True, tags=tags)
            self.alarm_names[layer] = names
            self.layer_alarm_names[layer] = composite.alarm_name
            composites.append(composite.alarm_name)
            widgets.append({"type": "alarm", "width": DASHBOARD_COLUMNS, "height": 3, "properties": {
                "title": f"{layer}: alarms", "alarms": [composite.arn, *arns]}})
            widgets.extend(rows)
        if composites:
            platform = CloudwatchCompositeAlarm(
                self, "platform_unhealthy",
                alarm_name=resource_name(p.name_prefix, "platform", "unhealthy", limit=ALARM_NAME),
                alarm_description="The platform is unhealthy: a layer is in ALARM",
                alarm_rule=" OR ".join(f'ALARM("{n}")' for n in composites),
                alarm_actions=[topic.arn], ok_actions=[topic.arn], actions_enabled=True, tags=tags)
            self.platform_alarm_name = platform.alarm_name
            widgets.insert(0, {"type": "alarm", "width": DASHBOARD_COLUMNS, "height": 2, "properties": {
                "title": "platform", "alarms": [platform.arn]}})
        dashboard = CloudwatchDashboard(self, "dashboard",
                                        dashboard_name=resource_name(p.name_prefix, "platform", limit=DASHBOARD_NAME),
                                        dashboard_body=json.dumps({"widgets": _placed(widgets)}))
        self.dashboard_name = dashboard.dashboard_name

    def _alarm(self, layer: str, watch: Watch, spec: AlarmSpec, topic_arn: str, tags: dict):
        CloudwatchMetricAlarm = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm

        p = self.props
        percentile = spec.statistic.startswith("p")
        alarm = CloudwatchMetricAlarm(
            self, _resource_id(watch, spec.id),
            alarm_name=alarm_name(watch, spec.id),
            alarm_description=f"{watch.title}: {spec.title}",
            namespace=spec.namespace, metric_name=spec.metric, dimensions=dict(spec.dimensions),
            statistic=None if percentile else spec.statistic,
            extended_statistic=spec.statistic if percentile else None,
            period=spec.period_seconds or p.period_seconds,
            evaluation_periods=spec.evaluation_periods,
            threshold=spec.fixed if spec.fixed is not None else getattr(p, spec.threshold) * spec.scale,
            comparison_operator=COMPARISONS[spec.comparison],
            treat_missing_data=spec.missing_data,
            alarm_actions=[topic_arn], ok_actions=[topic_arn], actions_enabled=True, tags=tags)
        self.alarms[alarm_name(watch, spec.id)] = alarm
        return alarm

    def _alarm_widget(self, watch: Watch, spec: AlarmSpec, arn: str) -> dict:
        return {"type": "metric", "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT, "properties": {
            "title": f"{watch.title}: {spec.title}", "region": self.props.region, "view": "timeSeries",
            "annotations": {"alarms": [arn]}}}

    def _graph_widget(self, title: str, metrics) -> dict:
        lines = []
        for namespace, metric, dimensions, stat in metrics:
            line: list = [namespace, metric]
            for key, value in dimensions.items():
                line.extend([key, value])
            line.append({"stat": stat})
            lines.append(line)
        return {"type": "metric", "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT, "properties": {
            "title": title, "region": self.props.region, "view": "timeSeries", "period": self.props.period_seconds,
            "metrics": lines}}


def _placed(widgets: list[dict]) -> list[dict]:
    """Widgets with ``x``/``y``, filled left to right, row by row (24 columns)."""
    x = y = row_height = 0
    out = []
    for widget in widgets:
        if x + widget["width"] > DASHBOARD_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        out.append({**widget, "x": x, "y": y})
        x += widget["width"]
        row_height = max(row_height, widget["height"])
    return out
