"""Monitoring by construction (issue 12): every watched resource of every stack has its alarm and its dashboard
widget, every alarm rolls up into its layer's composite alarm and the layers into the platform's, every
alarm and failure rule notifies the encrypted topic, and thresholds come from the environment."""
from __future__ import annotations

import copy
import json
import re

import pytest

from modules.monitoring_props import THRESHOLDS, WATCHED_RESOURCES, AlarmSpec, Watch

ENVS = ("local", "dev", "prod")
REF = re.compile(r"\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.")


def _refs(value) -> set[tuple[str, str]]:
    """Every ``(type, name)`` a value's Terraform interpolations reference."""
    return set(REF.findall(json.dumps(value)))


def unwatched(doc: dict) -> list[str]:
    """Resources of a watched type that no metric alarm's dimensions reference, directly or through an event
    rule (whose pattern references the resource and whose ``MatchedEvents`` an alarm watches)."""
    resources = doc.get("resource", {})
    alarms = resources.get("aws_cloudwatch_metric_alarm", {}).values()
    watched = set().union(*(_refs(a.get("dimensions", {})) for a in alarms)) if alarms else set()
    for name, rule in resources.get("aws_cloudwatch_event_rule", {}).items():
        if ("aws_cloudwatch_event_rule", name) in watched:
            watched |= _refs(rule["event_pattern"])
    return sorted(f"{rtype}.{name}" for rtype in WATCHED_RESOURCES for name in resources.get(rtype, {})
                  if (rtype, name) not in watched)


@pytest.mark.parametrize("env", ENVS)
def test_every_watched_resource_has_an_alarm(docs, env):
    doc = docs[env]
    present = [t for t in WATCHED_RESOURCES if doc["resource"].get(t)]
    assert len(present) >= (6 if env == "local" else 9), present  # the check sees the resources it must
    assert unwatched(doc) == []


def test_a_resource_without_its_alarm_is_found(docs):
    """The check fails a stack whose construct declared no alarm for a resource (here: its alarms removed)."""
    doc = copy.deepcopy(docs["dev"])
    alarms = doc["resource"]["aws_cloudwatch_metric_alarm"]
    queue = next(iter(doc["resource"]["aws_sqs_queue"]))
    for name in [n for n, a in alarms.items() if ("aws_sqs_queue", queue) in _refs(a["dimensions"])]:
        del alarms[name]
    assert unwatched(doc) == [f"aws_sqs_queue.{queue}"]
    job = next(iter(doc["resource"]["aws_glue_job"]))
    rules = doc["resource"]["aws_cloudwatch_event_rule"]
    rule = next(n for n, r in rules.items() if ("aws_glue_job", job) in _refs(r["event_pattern"]))
    on_job = [n for n, a in alarms.items() if ("aws_glue_job", job) in _refs(a["dimensions"])]
    assert on_job  # the run summary's alarms: still watched through them
    for name in on_job:
        del alarms[name]
    assert unwatched(doc) == [f"aws_sqs_queue.{queue}"]
    for name in [n for n, a in alarms.items() if ("aws_cloudwatch_event_rule", rule) in _refs(a["dimensions"])]:
        del alarms[name]
    assert unwatched(doc) == [f"aws_glue_job.{job}", f"aws_sqs_queue.{queue}"]


@pytest.mark.parametrize("env", ENVS)
def test_every_alarm_has_a_widget_and_rolls_up(docs, env):
    res = docs[env]["resource"]
    alarms = res["aws_cloudwatch_metric_alarm"]
    (dashboard,) = res["aws_cloudwatch_dashboard"].values()
    # interpolations may hold quoted Terraform strings (split(":", ...)): Terraform fills them in before the
    # body is JSON; here they are kept, their quotes made JSON-safe.
    body = json.loads(re.sub(r"\$\{([^{}]*)\}", lambda m: "${" + m.group(1).replace('"', "'") + "}",
                             dashboard["dashboard_body"]))
    annotated = {ref for w in body["widgets"] if w["type"] == "metric"
                 for ref in _refs(w["properties"].get("annotations", {}))}
    assert annotated == {("aws_cloudwatch_metric_alarm", n) for n in alarms}
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"])
    composites = res["aws_cloudwatch_composite_alarm"]
    platform = next(c for c in composites.values() if c["alarm_name"].endswith("-platform-unhealthy"))
    layers = {n: c for n, c in composites.items() if c is not platform}
    in_layers = set().union(*(_refs(c["alarm_rule"]) for c in layers.values()))
    assert in_layers == {("aws_cloudwatch_metric_alarm", n) for n in alarms}
    assert _refs(platform["alarm_rule"]) == {("aws_cloudwatch_composite_alarm", n) for n in layers}
    expected = {"streaming", "batch", "serving"} | ({"warehouse"} if env != "local" else set())
    assert {c["alarm_name"].removeprefix(f"lakeforge-{env}-").removesuffix("-unhealthy")
            for c in layers.values()} == expected


@pytest.mark.parametrize("env", ENVS)
def test_alarms_and_rules_notify_the_encrypted_topic(docs, env):
    res = docs[env]["resource"]
    (topic_name, topic), = res["aws_sns_topic"].items()
    assert ("aws_kms_key", next(iter(res["aws_kms_key"]))) in _refs(topic["kms_master_key_id"])
    target = {("aws_sns_topic", topic_name)}
    for alarm in [*res["aws_cloudwatch_metric_alarm"].values(), *res["aws_cloudwatch_composite_alarm"].values()]:
        assert alarm["actions_enabled"] is True
        assert _refs(alarm["alarm_actions"]) == target and _refs(alarm["ok_actions"]) == target
    targets = res["aws_cloudwatch_event_target"].values()
    assert {r for t in targets for r in _refs(t["arn"])} == target
    assert len(targets) == len(res["aws_cloudwatch_event_rule"])
    (policy,) = res["aws_sns_topic_policy"].values()
    statements = json.loads(policy["policy"])["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert [sorted(s["Principal"]["Service"]) for s in allow] == [["cloudwatch.amazonaws.com", "events.amazonaws.com"]]
    assert allow[0]["Action"] == "sns:Publish" and "aws:SourceAccount" in allow[0]["Condition"]["StringEquals"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements)
    key_policy = json.loads(next(iter(res["aws_kms_key"].values()))["policy"])
    publishers = next(s for s in key_policy["Statement"] if s["Sid"] == "AllowServicesPublishingForThisAccount")
    assert sorted(publishers["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert sorted(publishers["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


@pytest.mark.parametrize("env", ENVS)
def test_thresholds_come_from_the_environment(docs, synth, env):
    config = synth.configs[env]
    alarms = list(docs[env]["resource"]["aws_cloudwatch_metric_alarm"].values())
    for alarm in alarms:
        assert alarm["period"] == config.monitoring.period_seconds
    ingest = next(a for a in alarms if a["alarm_name"].endswith("-lambda-duration")
                  and a["dimensions"]["FunctionName"].startswith("${aws_lambda_function.ingest_function"))
    assert ingest["threshold"] == pytest.approx(
        config.monitoring.lambda_duration_ratio * config.lambda_.timeout_seconds * 1000)
    errors = [a for a in alarms if a["alarm_name"].endswith("-lambda-errors")]
    assert errors and {a["threshold"] for a in errors} == {config.monitoring.lambda_errors}
    durations = [a for a in alarms if a["alarm_name"].endswith("-glue-run-duration")]
    assert durations and all(a["threshold"] == pytest.approx(
        config.monitoring.job_duration_ratio * config.glue.timeout_minutes * 60) for a in durations)


def test_job_and_function_alarms_watch_the_metrics_the_code_publishes(docs):
    """The run summary's and the handlers' metric names are data_contracts.metrics' (one definition)."""
    from data_contracts import metrics

    alarms = list(docs["local"]["resource"]["aws_cloudwatch_metric_alarm"].values())
    own = [a for a in alarms if a["namespace"] == metrics.NAMESPACE]
    assert {a["metric_name"] for a in own} == {"records_failed", metrics.RUN_DURATION, metrics.RUN_FAILED}
    assert all(list(a["dimensions"]) == [metrics.SERVICE_DIMENSION] for a in own)
    functions = docs["local"]["resource"]["aws_lambda_function"]
    for name in ("ingest_function", "ingest_msk_function"):
        fn = next(f for n, f in functions.items() if n.startswith(name + "_"))
        service = fn["environment"]["variables"]["POWERTOOLS_SERVICE_NAME"]
        assert service == fn["function_name"]
        assert fn["environment"]["variables"]["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE


def test_every_threshold_is_documented_and_settable():
    from environments.config import MonitoringSettings
    from modules.options import option_of
    from modules.monitoring_props import MonitoringProps

    settable = set(MonitoringSettings.__dataclass_fields__)
    assert set(THRESHOLDS) <= settable
    for name in THRESHOLDS:
        assert option_of(MonitoringProps, name).doc and option_of(MonitoringProps, name).limit


def test_a_threshold_outside_its_limit_is_refused(tmp_path):
    from environments import ConfigError, load_environment
    from environments.config import ENVIRONMENTS_DIR

    text = (ENVIRONMENTS_DIR / "dev.toml").read_text()
    assert "[monitoring]" in text
    (tmp_path / "dev.toml").write_text(text.replace("[monitoring]", "[monitoring]\nlambda_duration_ratio = 2.0", 1))
    with pytest.raises(ConfigError, match="monitoring.lambda_duration_ratio"):
        load_environment("dev", tmp_path)


def test_watch_declarations_refuse_mistakes():
    with pytest.raises(ValueError, match="comparison"):
        AlarmSpec("x", "x", "N", "M", {}, "lambda_errors", comparison="=>")
    with pytest.raises(ValueError, match="either"):
        AlarmSpec("x", "x", "N", "M", {}, "lambda_errors", fixed=1)
    with pytest.raises(ValueError, match="at least one"):
        Watch("aws_sqs_queue", "q", "q")
    spec = AlarmSpec("a", "x", "N", "M", {}, "lambda_errors")
    with pytest.raises(ValueError, match="repeat"):
        Watch("aws_sqs_queue", "q", "q", alarms=(spec, spec))


def test_monitoring_construct_alone(bindings, tmp_path):
    """The construct in a stack of its own: an unknown threshold is refused; no watch, no alarm; create=False
    creates nothing."""
    from cdktf import App, TerraformStack

    from modules.monitoring import Monitoring
    from modules.monitoring_props import MonitoringProps

    def stack(props):
        app = App(outdir=str(tmp_path / "out"))
        st = TerraformStack(app, "s")
        Monitoring(st, "m", props)
        return json.loads(bindings.synth(st))

    base = dict(name_prefix="t", account_id="123456789012", region="us-east-1")
    bad = Watch("aws_sqs_queue", "q", "q", alarms=(AlarmSpec("a", "x", "N", "M", {}, "no_such_threshold"),))
    with pytest.raises(Exception, match="no_such_threshold"):
        stack(MonitoringProps(**base, watches={"batch": (bad,)}))
    with pytest.raises(Exception, match="unknown layers"):
        stack(MonitoringProps(**base, watches={"elsewhere": (Watch("aws_sqs_queue", "q", "q", alarms=(
            AlarmSpec("a", "x", "N", "M", {}, "queue_depth"),)),)}))
    empty = stack(MonitoringProps(**base))["resource"]
    assert "aws_cloudwatch_metric_alarm" not in empty and "aws_cloudwatch_composite_alarm" not in empty
    assert set(empty) == {"aws_sns_topic", "aws_sns_topic_policy", "aws_cloudwatch_dashboard"}
    assert "resource" not in stack(MonitoringProps(**base, create=False))
    one = stack(MonitoringProps(**base, queue_depth=5, watches={"batch": (Watch("aws_sqs_queue", "q", "Q", alarms=(
        AlarmSpec("depth", "x", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q"}, "queue_depth",
                  statistic="Maximum"),)),)}))["resource"]
    (alarm,) = one["aws_cloudwatch_metric_alarm"].values()
    assert alarm["alarm_name"] == "q-sqs-depth" and alarm["threshold"] == 5 and alarm["statistic"] == "Maximum"
    assert {c["alarm_name"] for c in one["aws_cloudwatch_composite_alarm"].values()} == {
        "t-batch-unhealthy", "t-platform-unhealthy"}
