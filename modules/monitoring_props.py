"""What a construct watches, as data, and the options of :class:`modules.monitoring.Monitoring` (standard library
only: see :mod:`modules.options`).

Every construct that creates a resource worth watching declares, beside its outputs, a :class:`Watch` per such
resource (its ``watches`` attribute, filled when the resources exist): the metric alarms that say it is unwell
(:class:`AlarmSpec`), the EventBridge rules whose matches are failures (:class:`EventRuleSpec`: a Glue job run
that failed, an EMR step that failed) and any further graphs for its dashboard row (:class:`GraphSpec`). The
monitoring construct turns every declaration of a stack into CloudWatch alarms, composite alarms, one SNS topic
and one dashboard; no alarm is written anywhere else. :data:`WATCHED_RESOURCES` says which Terraform resource
types must be watched; a synth test fails when a stack has such a resource with no alarm on it.

An alarm's threshold is named, not given: :class:`AlarmSpec` ``threshold`` is the name of a
:class:`MonitoringProps` option (the environment's ``[monitoring]`` section sets it), times ``scale`` (e.g. a
duration alarm at ``lambda_duration_ratio`` x the function's timeout).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .options import (
    Props, Rule, at_least, between, create_option, matches, non_empty, one_of, option, outputs, tags_option,
)

__all__ = [
    "COMPARISONS", "OUTPUTS", "WATCHED_RESOURCES", "AlarmSpec", "EventRuleSpec", "GraphSpec", "MonitoringProps",
    "AppMetrics", "Watch", "event_rule_alarm",
]

COMPARISONS: dict[str, str] = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}
"""An :class:`AlarmSpec`'s ``comparison`` -> CloudWatch's ``ComparisonOperator``."""

WATCHED_RESOURCES: dict[str, str] = {
    "aws_lambda_function": "FunctionName",
    "aws_kinesis_stream": "StreamName",
    "aws_sqs_queue": "QueueName",
    "aws_glue_job": "JobName",
    "aws_emr_cluster": "ClusterId",
    "aws_msk_cluster": "Cluster Name",
    "aws_redshiftserverless_workgroup": "Workgroup",
    "aws_redshift_cluster": "ClusterIdentifier",
    "aws_apigatewayv2_api": "ApiId",
    "aws_athena_workgroup": "WorkGroup",
}
"""Terraform resource types that must have at least one alarm, and the CloudWatch dimension (or EventBridge
detail) that names one of them."""


@dataclass(frozen=True)
class AlarmSpec(Props):
    """One metric alarm on a watched resource."""

    id: str = option(limit=matches(r"[a-z0-9][a-z0-9-]*", "lowercase letters, digits and hyphens"),
                     doc="Unique within its watch (``errors``, ``throttles``); ends the alarm's name.")
    title: str = option(doc="What breaching means, in a few words (alarm description, widget title).")
    namespace: str = option(doc="CloudWatch namespace of the metric (``AWS/Lambda``).")
    metric: str = option(doc="Metric name (``Errors``).")
    dimensions: Mapping[str, str] = option(doc="CloudWatch dimensions (values may be tokens, e.g. a function's name).")
    threshold: str = option(doc="Name of the :class:`MonitoringProps` option holding the threshold (empty with "
                                "``fixed``).")
    fixed: float | None = option(None, doc="A threshold that is a fact of the metric, not a setting "
                                           "(``HealthStatus < 1``).")
    statistic: str = option("Sum", limit=matches(r"Sum|Maximum|Minimum|Average|SampleCount|p\d{1,2}(\.\d+)?",
                                                 "Sum, Maximum, Minimum, Average, SampleCount or a percentile (p99)"),
                            doc="Statistic over each period.")
    comparison: str = option(">=", limit=one_of(*COMPARISONS), doc="How the statistic is compared with the threshold.")
    scale: float = option(1.0, doc="The threshold is the option's value times this (e.g. a timeout in ms for a "
                                   "duration ratio).")
    period_seconds: int | None = option(None, doc="``None`` = the monitoring construct's ``period_seconds``.")
    evaluation_periods: int = option(1, limit=between(1, 100), doc="Periods that must breach.")
    missing_data: str = option("notBreaching", limit=one_of("notBreaching", "breaching", "ignore", "missing"),
                               doc="``treat_missing_data``: by default no datapoint means nothing went wrong (a "
                                   "quiet stream is healthy).")
    unit: str = option("", doc="The metric's unit, for the dashboard (``Count``, ``Milliseconds``).")

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(("threshold", "fixed"), lambda threshold, fixed: bool(threshold) != (fixed is not None),
             "threshold: give either a threshold option name or a fixed threshold"),
    )


@dataclass(frozen=True)
class EventRuleSpec(Props):
    """An EventBridge rule whose every match is a failure: the monitoring construct creates the rule, sends its
    matches to the notification topic and alarms on the rule's ``MatchedEvents``."""

    id: str = option(limit=matches(r"[a-z0-9][a-z0-9-]*", "lowercase letters, digits and hyphens"),
                     doc="Unique within its watch; ends the rule's name.")
    title: str = option(doc="What a match means.")
    pattern: Mapping = option(doc="The event pattern (values may be tokens).")
    threshold: str = option(doc="Name of the :class:`MonitoringProps` option: matches per period that raise the "
                                "alarm.")


@dataclass(frozen=True)
class GraphSpec(Props):
    """A dashboard graph of metrics that have no alarm of their own (context: invocations, records in/out)."""

    title: str = option(doc="Graph title.")
    metrics: tuple[tuple[str, str, Mapping[str, str], str], ...] = option(
        limit=non_empty("at least one metric"), doc="``(namespace, metric, dimensions, statistic)`` lines.")


@dataclass(frozen=True)
class Watch(Props):
    """What watches one resource: its alarms, event rules and graphs."""

    resource_type: str = option(doc="The Terraform type of the watched resource (``aws_lambda_function``).")
    name: str = option(doc="Its name (a token): begins its alarms' names.")
    title: str = option(doc="How the dashboard names it (``Lambda lakeforge-dev-ingest``).")
    alarms: tuple[AlarmSpec, ...] = option((), doc="Its metric alarms.")
    rules: tuple[EventRuleSpec, ...] = option((), doc="Its failure event rules.")
    graphs: tuple[GraphSpec, ...] = option((), doc="Further graphs on its dashboard row.")
    key: str = option("", doc="Stable id of the watch (its construct's path in the stack and its place among that "
                              "construct's watches, set when the watches are collected): names the alarms' "
                              "Terraform resources, so adding a watch elsewhere never renames them.")

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(("alarms", "rules"), lambda alarms, rules: bool(alarms or rules),
             "alarms: a watch needs at least one alarm or rule"),
        Rule(("alarms", "rules"), lambda alarms, rules: len({x.id for x in (*alarms, *rules)}) ==
             len(alarms) + len(rules), "alarms: alarm and rule ids repeat"),
    )


@dataclass(frozen=True)
class AppMetrics(Props):
    """The metrics a construct's code publishes itself (EMF, one dimension whose value is the function's or job's
    deployed name). The composition passes the platform's names (``data_contracts/metrics.py``); a construct
    given them alarms on the failures and graphs the counts."""

    namespace: str = option(doc="CloudWatch namespace.")
    dimension: str = option(doc="The one dimension; its value is the function's or job's deployed name.")
    records: tuple[str, ...] = option((), doc="Record counts to graph (in, out, quarantined, failed).")
    records_failed: str = option("", doc="Failed records: alarmed at ``records_failed`` per period. Empty = none.")
    run_duration: str = option("", doc="A batch run's wall time in seconds: alarmed against the job's timeout "
                                       "(``job_duration_ratio``). Empty = none.")
    runs_failed: str = option("", doc="1 per failed batch run: alarmed at ``job_failures``. Empty = none.")
    lag: str = option("", doc="How far behind its source the code is (seconds): graphed. Empty = none.")

    def dimensions(self, name: str) -> dict[str, str]:
        return {self.dimension: name}


def event_rule_alarm(rule: EventRuleSpec, rule_name: str) -> AlarmSpec:
    """The alarm on an event rule's matches (EventBridge publishes ``AWS/Events`` ``MatchedEvents`` per rule)."""
    return AlarmSpec(id=rule.id, title=rule.title, namespace="AWS/Events", metric="MatchedEvents",
                     dimensions={"RuleName": rule_name}, threshold=rule.threshold, unit="Count")


def _threshold(default: float, doc: str, low: float = 0) -> float:
    return option(default, limit=at_least(low), doc=doc)


LAYERS: tuple[str, ...] = ("streaming", "warehouse", "batch", "serving")
"""The platform's layers, each with its own composite alarm (the composition's layer names)."""


@dataclass(frozen=True)
class MonitoringProps(Props):
    """Options of :class:`modules.monitoring.Monitoring`: the names, the key and the thresholds."""

    name_prefix: str = option(doc="Prefix of the topic, alarm, rule and dashboard names.")
    account_id: str = option(doc="Account of the stack (token allowed): the topic policy admits its alarms and "
                                 "rules only.")
    region: str = option(doc="Region of the dashboard's graphs.")
    watches: Mapping[str, tuple[Watch, ...]] = option(
        default_factory=dict,
        doc="Layer name -> the :class:`Watch` declarations of that layer's constructs (the composition collects "
            "them from the stack's constructs).")
    kms_key_arn: str | None = option(
        None, doc="Key encrypting the notification topic (its policy must let ``cloudwatch.amazonaws.com`` and "
                  "``events.amazonaws.com`` use it). ``None`` = the AWS managed ``alias/aws/sns`` key.")
    partition: str = option("aws", doc="AWS partition for ARNs.")
    notification_emails: tuple[str, ...] = option(
        (), doc="Addresses subscribed to the topic (each confirms by mail). Default none: subscribe out of band.")
    period_seconds: int = option(300, limit=between(60, 86400, "s"),
                                 doc="Period of every metric alarm and graph.")
    # thresholds
    lambda_errors: float = _threshold(1, "Lambda invocation errors per period that raise the alarm.", 1)
    lambda_throttles: float = _threshold(1, "Lambda throttled invocations per period.", 1)
    lambda_duration_ratio: float = option(
        0.8, limit=between(0.1, 1), doc="Maximum Lambda duration, as a fraction of the function's timeout.")
    iterator_age_ms: float = _threshold(
        60_000, "Age in ms of the last record read from a stream (Kinesis GetRecords, a function's IteratorAge).", 1)
    stream_write_throttles: float = _threshold(1, "Kinesis writes refused for throughput per period.", 1)
    queue_depth: float = _threshold(1, "Messages visible in a failure queue (anything there needs a look).", 1)
    queue_age_seconds: float = _threshold(3600, "Age in s of the oldest message of a failure queue.", 60)
    job_failures: float = _threshold(1, "Failed Glue job runs or EMR steps per period.", 1)
    job_duration_ratio: float = option(
        0.8, limit=between(0.1, 1), doc="A batch run's duration, as a fraction of its job's timeout.")
    kafka_disk_percent: float = option(80, limit=between(1, 100), doc="Broker data-log disk used, percent.")
    kafka_cpu_percent: float = option(80, limit=between(1, 100), doc="Broker user CPU, percent.")
    consumer_lag: float = _threshold(10_000, "Records a Kafka consumer group is behind its topic.", 1)
    warehouse_query_seconds: float = _threshold(300, "Longest warehouse query, in seconds.", 1)
    warehouse_queued_queries: float = _threshold(10, "Queries waiting in the warehouse's queue.", 1)
    api_5xx: float = _threshold(1, "API responses 5xx per period.", 1)
    api_4xx: float = _threshold(50, "API responses 4xx per period (refused callers, bad parameters).", 1)
    api_latency_ms: float = _threshold(5000, "API p99 latency in ms.", 1)
    athena_bytes_scanned: float = _threshold(
        100 * 1024**3, "Bytes Athena scanned in the workgroup per period (cost).", 1)
    records_failed: float = _threshold(1, "Records a handler or a batch run failed per period.", 1)
    tags: dict[str, str] = tags_option("the topic, the alarms, the rules")
    create: bool = create_option()


THRESHOLDS: tuple[str, ...] = tuple(
    f for f in MonitoringProps.__dataclass_fields__
    if f not in {"name_prefix", "watches", "kms_key_arn", "account_id", "partition", "region", "notification_emails",
                 "period_seconds", "tags", "create"})
"""The threshold options (what an :class:`AlarmSpec` may name)."""

OUTPUTS = outputs(
    ("topic_arn", "ARN of the SNS topic every alarm and failure rule notifies."),
    ("alarm_names", "Layer -> names of its metric alarms."),
    ("layer_alarm_names", "Layer -> name of its composite alarm (``<prefix>-<layer>-unhealthy``)."),
    ("platform_alarm_name", "Name of the platform's composite alarm (``<prefix>-platform-unhealthy``)."),
    ("dashboard_name", "Name of the CloudWatch dashboard."),
    ("rule_names", "Names of the EventBridge failure rules."),
    ("alarms", "Alarm name -> the ``aws_cloudwatch_metric_alarm`` resource."),
    ("components", "One entry per watch: its ``layer``, watched resource ``type`` and ``name``, ``title`` and "
                   "``alarms`` (names): what a health view groups by."),
)


# --- the watches of each kind of resource (the constructs call these) ---------------------------------------

def _app_alarms(app: AppMetrics | None, name: str, *, timeout_seconds: float = 0) -> tuple[AlarmSpec, ...]:
    if app is None:
        return ()
    dims = app.dimensions(name)
    out = []
    if app.records_failed:
        out.append(AlarmSpec("records-failed", "records failed", app.namespace, app.records_failed, dims,
                             "records_failed", unit="Count"))
    if app.runs_failed:
        out.append(AlarmSpec("run-failed", "a run failed", app.namespace, app.runs_failed, dims, "job_failures",
                             unit="Count"))
    if app.run_duration and timeout_seconds:
        out.append(AlarmSpec("run-duration", "a run close to its timeout", app.namespace, app.run_duration, dims,
                             "job_duration_ratio", statistic="Maximum", scale=timeout_seconds, unit="Seconds"))
    return tuple(out)


def _app_graphs(app: AppMetrics | None, name: str) -> tuple[GraphSpec, ...]:
    if app is None or not (app.records or app.lag):
        return ()
    dims = app.dimensions(name)
    lines = tuple((app.namespace, m, dims, "Sum") for m in app.records)
    graphs = [GraphSpec("records", lines)] if lines else []
    if app.lag:
        graphs.append(GraphSpec("lag (s)", ((app.namespace, app.lag, dims, "Maximum"),)))
    return tuple(graphs)


def lambda_watches(function_name: str, queue_name: str, timeout_seconds: int, app: AppMetrics | None = None
                   ) -> tuple[Watch, ...]:
    """A function (errors, throttles, duration near its timeout; its own failed records) and its failure queue
    (depth, age of the oldest message)."""
    dims = {"FunctionName": function_name}
    return (
        Watch("aws_lambda_function", function_name, f"Lambda {function_name}", alarms=(
            AlarmSpec("errors", "invocations failed", "AWS/Lambda", "Errors", dims, "lambda_errors", unit="Count"),
            AlarmSpec("throttles", "invocations throttled", "AWS/Lambda", "Throttles", dims, "lambda_throttles",
                      unit="Count"),
            AlarmSpec("duration", "duration close to the timeout", "AWS/Lambda", "Duration", dims,
                      "lambda_duration_ratio", statistic="Maximum", scale=timeout_seconds * 1000,
                      unit="Milliseconds"),
            *_app_alarms(app, function_name),
        ), graphs=(GraphSpec("invocations", (("AWS/Lambda", "Invocations", dims, "Sum"),
                                             ("AWS/Lambda", "ConcurrentExecutions", dims, "Maximum"))),
                   *_app_graphs(app, function_name))),
        Watch("aws_sqs_queue", queue_name, f"Failure queue {queue_name}", alarms=(
            AlarmSpec("depth", "failed events waiting", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                      {"QueueName": queue_name}, "queue_depth", statistic="Maximum", unit="Count"),
            AlarmSpec("age", "oldest failed event too old", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                      {"QueueName": queue_name}, "queue_age_seconds", statistic="Maximum", unit="Seconds"),
        )),
    )


def stream_watch(stream_name: str) -> Watch:
    """A Kinesis stream: writes refused for throughput, readers falling behind."""
    dims = {"StreamName": stream_name}
    return Watch("aws_kinesis_stream", stream_name, f"Kinesis {stream_name}", alarms=(
        AlarmSpec("write-throttles", "writes refused for throughput", "AWS/Kinesis",
                  "WriteProvisionedThroughputExceeded", dims, "stream_write_throttles", unit="Count"),
        AlarmSpec("iterator-age", "readers falling behind", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds",
                  dims, "iterator_age_ms", statistic="Maximum", unit="Milliseconds"),
    ), graphs=(GraphSpec("incoming records", (("AWS/Kinesis", "IncomingRecords", dims, "Sum"),)),))


def consumer_watch(function_name: str, *, kafka: bool) -> Watch:
    """A function's event source mapping: how far behind its stream (Kinesis ``IteratorAge``) or topic (Kafka
    ``OffsetLag``) it is."""
    dims = {"FunctionName": function_name}
    spec = (AlarmSpec("offset-lag", "consumer group behind its topic", "AWS/Lambda", "OffsetLag", dims,
                      "consumer_lag", statistic="Maximum", unit="Count") if kafka else
            AlarmSpec("iterator-age", "mapping behind its stream", "AWS/Lambda", "IteratorAge", dims,
                      "iterator_age_ms", statistic="Maximum", unit="Milliseconds"))
    return Watch("aws_lambda_event_source_mapping", function_name, f"Consumer {function_name}", alarms=(spec,))


GLUE_FAILED_STATES: tuple[str, ...] = ("FAILED", "TIMEOUT", "ERROR")


def glue_job_watch(job_name: str, timeout_minutes: int, app: AppMetrics | None = None) -> Watch:
    """A Glue job: every failed, timed-out or errored run (EventBridge ``Glue Job State Change``, which also sees
    a run that died before its code could report), and its run summary (failed runs, a run near its timeout)."""
    return Watch("aws_glue_job", job_name, f"Glue job {job_name}", rules=(
        EventRuleSpec("failed", "a run failed, timed out or errored", {
            "source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
            "detail": {"jobName": [job_name], "state": list(GLUE_FAILED_STATES)}}, "job_failures"),
    ), alarms=_app_alarms(app, job_name, timeout_seconds=timeout_minutes * 60), graphs=_app_graphs(app, job_name))


def emr_cluster_watch(cluster_id: str, cluster_name: str) -> Watch:
    """An EMR cluster: a step that failed, or the cluster ending with errors (EventBridge)."""
    return Watch("aws_emr_cluster", cluster_id, f"EMR {cluster_name}", rules=(
        EventRuleSpec("step-failed", "a step failed", {
            "source": ["aws.emr"], "detail-type": ["EMR Step Status Change"],
            "detail": {"clusterId": [cluster_id], "state": ["FAILED"]}}, "job_failures"),
        EventRuleSpec("terminated-with-errors", "the cluster ended with errors", {
            "source": ["aws.emr"], "detail-type": ["EMR Cluster State Change"],
            "detail": {"clusterId": [cluster_id], "state": ["TERMINATED_WITH_ERRORS"]}}, "job_failures"),
    ))


def kafka_cluster_watch(cluster_name: str, broker_count: int) -> Watch:
    """A provisioned MSK cluster: each broker's data-log disk and CPU."""
    alarms = []
    for broker in range(1, broker_count + 1):
        dims = {"Cluster Name": cluster_name, "Broker ID": str(broker)}
        alarms += [
            AlarmSpec(f"disk-{broker}", f"broker {broker} disk filling", "AWS/Kafka", "KafkaDataLogsDiskUsed", dims,
                      "kafka_disk_percent", statistic="Maximum", unit="Percent"),
            AlarmSpec(f"cpu-{broker}", f"broker {broker} CPU busy", "AWS/Kafka", "CpuUser", dims,
                      "kafka_cpu_percent", statistic="Average", unit="Percent"),
        ]
    return Watch("aws_msk_cluster", cluster_name, f"MSK {cluster_name}", alarms=tuple(alarms))


def warehouse_watch(resource_type: str, name: str) -> Watch:
    """Redshift: Serverless (``Workgroup``: longest query, queued queries) or a cluster (``ClusterIdentifier``:
    health status, longest query). ``QueryDuration`` is in microseconds."""
    if resource_type == "aws_redshiftserverless_workgroup":
        dims = {"Workgroup": name}
        return Watch(resource_type, name, f"Redshift Serverless {name}", alarms=(
            AlarmSpec("query-duration", "a query ran too long", "AWS/Redshift-Serverless", "QueryDuration", dims,
                      "warehouse_query_seconds", statistic="Maximum", scale=1_000_000, unit="Microseconds"),
            AlarmSpec("queued", "queries waiting", "AWS/Redshift-Serverless", "QueriesQueued", dims,
                      "warehouse_queued_queries", statistic="Maximum", unit="Count"),
        ))
    dims = {"ClusterIdentifier": name}
    return Watch(resource_type, name, f"Redshift {name}", alarms=(
        AlarmSpec("unhealthy", "the cluster is unhealthy", "AWS/Redshift", "HealthStatus", dims, "", fixed=1,
                  comparison="<", statistic="Minimum", missing_data="breaching"),
        AlarmSpec("query-duration", "a query ran too long", "AWS/Redshift", "QueryDuration", dims,
                  "warehouse_query_seconds", statistic="Maximum", scale=1_000_000, unit="Microseconds"),
    ))


def http_api_watch(api_id: str, api_name: str, stage: str) -> Watch:
    """An HTTP API stage: server errors, client errors, p99 latency."""
    dims = {"ApiId": api_id, "Stage": stage}
    return Watch("aws_apigatewayv2_api", api_id, f"API {api_name}", alarms=(
        AlarmSpec("5xx", "server errors", "AWS/ApiGateway", "5xx", dims, "api_5xx", unit="Count"),
        AlarmSpec("4xx", "client errors", "AWS/ApiGateway", "4xx", dims, "api_4xx", unit="Count"),
        AlarmSpec("latency", "slow answers (p99)", "AWS/ApiGateway", "Latency", dims, "api_latency_ms",
                  statistic="p99", unit="Milliseconds"),
    ), graphs=(GraphSpec("requests", (("AWS/ApiGateway", "Count", dims, "Sum"),)),))


def athena_watch(workgroup: str) -> Watch:
    """An Athena workgroup: bytes scanned per period (cost)."""
    dims = {"WorkGroup": workgroup}
    return Watch("aws_athena_workgroup", workgroup, f"Athena {workgroup}", alarms=(
        AlarmSpec("bytes-scanned", "bytes scanned (cost)", "AWS/Athena", "ProcessedBytes", dims,
                  "athena_bytes_scanned", unit="Bytes"),
    ))

