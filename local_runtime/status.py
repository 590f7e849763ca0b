"""``make status``: the local platform's health, per layer, from what the emulator holds.

What it reads: the deployed stack's ``monitored_components`` output (every watched resource: layer, type, name,
the names of its alarms), the alarms' states (the platform's and each layer's composite alarm included), the
metrics (the platform's own, ``data_contracts.metrics``, and the services' that the emulator publishes), the
failure queues' depth and the local MSK mapping's lag (its status file). Before reading, it does what CloudWatch
would have done by then (:func:`local_runtime.cloudwatch.forward_metrics`,
:func:`~local_runtime.cloudwatch.sample_queues`), so the alarms have seen every datapoint logged so far.

Per component: the last run (a job's last run summary: when, succeeded or failed, how long) or the last activity
(a function's last invocation), records in, out, quarantined and failed (a job: its last run's; a function: over
``--hours``), errors, the alarms firing, and the lag of each stream (the ingest function's ``lag_seconds``) and
topic (the MSK mapping's committed offsets against the end offsets).

``python -m local_runtime.status [--endpoint URL] [--hours H] [--json]``; exit status 1 when the platform's
composite alarm is in ALARM (or the stack is not deployed), 0 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from data_contracts import metrics
from local_runtime import cloudwatch
from local_runtime.aws import client
from local_runtime.paths import STATE

__all__ = ["collect", "main", "render"]

LAYER_ORDER = ("streaming", "batch", "warehouse", "serving")


def _alarm_states(cw) -> dict[str, str]:
    return {a["AlarmName"]: a["StateValue"] for kind, key in (("MetricAlarm", "MetricAlarms"),
                                                              ("CompositeAlarm", "CompositeAlarms"))
            for a in cloudwatch.paginate(cw.describe_alarms, key, "NextToken", AlarmTypes=[kind])}


def _points(cw, namespace: str, name: str, dimensions: Mapping[str, str], since: datetime) -> list[dict]:
    """The metric's datapoints (per minute: Sum, Maximum, SampleCount) since ``since``, oldest first."""
    answer = cw.get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=since, EndTime=datetime.now(timezone.utc) + timedelta(minutes=1), Period=60,
        Statistics=["Sum", "Maximum", "SampleCount"])
    return sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])


def _function_row(cw, name: str, since: datetime) -> dict[str, Any]:
    own = {metrics.SERVICE_DIMENSION: name}
    points = {m: _points(cw, metrics.NAMESPACE, m, own, since) for m in metrics.RECORD_COUNTS}
    counts = {m: int(sum(p["Sum"] for p in found)) for m, found in points.items()}
    invocations = _points(cw, "AWS/Lambda", "Invocations", {"FunctionName": name}, since)
    errors = _points(cw, "AWS/Lambda", "Errors", {"FunctionName": name}, since)
    lag = _points(cw, metrics.NAMESPACE, metrics.STREAM_LAG, own, since)
    # the emulator counts the invocations made through its Invoke API, not those of its event source mappings:
    # the last batch the function reported (its records_in) is activity too
    seen = [p["Timestamp"] for p in invocations + points[metrics.RECORDS_IN]]
    batches = sum(int(p["SampleCount"]) for p in points[metrics.RECORDS_IN])
    return {"last": max(seen).isoformat(timespec="seconds") if seen else None,
            "outcome": (f"{int(sum(p['Sum'] for p in invocations))} invocations" if invocations else
                        f"{batches} batches" if batches else "idle"),
            **counts, "errors": int(sum(p["Sum"] for p in errors)),
            "lag": f"{lag[-1]['Maximum']:.0f} s" if lag else None}


def _job_row(cw, name: str, since: datetime) -> dict[str, Any]:
    own = {metrics.SERVICE_DIMENSION: name}
    durations = _points(cw, metrics.NAMESPACE, metrics.RUN_DURATION, own, since)
    if not durations:
        return {"last": None, "outcome": "no run"}
    last = durations[-1]["Timestamp"]

    def at_last(metric: str) -> int | None:
        """The metric's value in the last run's summary (None when the job does not report it)."""
        found = [p["Sum"] for p in _points(cw, metrics.NAMESPACE, metric, own, since) if p["Timestamp"] == last]
        return int(sum(found)) if found else None

    failed = at_last(metrics.RUN_FAILED) or 0
    return {"last": last.isoformat(timespec="seconds"),
            "outcome": f"{'FAILED' if failed else 'succeeded'} in {durations[-1]['Maximum']:.0f} s",
            **{m: at_last(m) for m in metrics.RECORD_COUNTS}, "errors": failed}


def _queue_row(endpoint: str, name: str) -> dict[str, Any]:
    depth = cloudwatch.queue_depth(client("sqs", endpoint), name)
    return {"outcome": "missing"} if depth is None else {"outcome": f"{depth} waiting", "errors": depth}


def _topic_lag(topic: str) -> dict[str, Any] | None:
    """The local MSK mapping's lag on ``topic`` (its status file), or None when it never ran."""
    for path in sorted(STATE.glob("msk-poller-*.json")):
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if status.get("topic") == topic:
            return status
    return None


def collect(endpoint: str, outputs: Mapping[str, Any], *, hours: float = 24.0) -> dict[str, Any]:
    """The health of every monitored component (see the module docstring), as data."""
    cloudwatch.forward_metrics(endpoint)
    cloudwatch.sample_queues(endpoint)
    cw = client("cloudwatch", endpoint)
    states = _alarm_states(cw)
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    rows = []
    for component in outputs.get("monitored_components") or []:
        kind, name = component["type"], component["name"]
        if kind == "aws_lambda_function":
            detail = _function_row(cw, name, since)
        elif kind == "aws_glue_job":
            detail = _job_row(cw, name, since)
        elif kind == "aws_sqs_queue":
            detail = _queue_row(endpoint, name)
        elif kind == "aws_lambda_event_source_mapping":  # the stream's lag, as its consumer last saw it
            lag = _points(cw, metrics.NAMESPACE, metrics.STREAM_LAG, {metrics.SERVICE_DIMENSION: name}, since)
            detail = {"lag": f"{lag[-1]['Maximum']:.0f} s" if lag else None}
        else:
            detail = {}
        alarms = {a: states.get(a, "missing") for a in component["alarms"]}
        rows.append({"layer": component["layer"], "component": component["title"], "type": kind, "name": name,
                     **detail, "alarms": alarms, "firing": sorted(a for a, s in alarms.items() if s == "ALARM")})
    topic = outputs.get("ingest_topic")
    if topic:
        lag = _topic_lag(topic)
        rows.append({"layer": "streaming", "component": f"Kafka topic {topic}", "type": "kafka_topic", "name": topic,
                     "last": lag.get("updated") if lag else None,
                     "outcome": f"{lag.get('records', 0)} records in {lag.get('batches', 0)} batches" if lag
                     else "mapping not running",
                     "lag": None if not lag or lag.get("total_lag") is None else f"{lag['total_lag']} records",
                     "alarms": {}, "firing": []})
    layer_alarms = outputs.get("layer_alarm_names") or {}
    platform = outputs.get("platform_alarm_name")
    return {"endpoint": endpoint, "hours": hours,
            "platform": {"alarm": platform, "state": states.get(platform, "missing") if platform else "unmonitored"},
            "layers": {layer: {"alarm": name, "state": states.get(name, "missing")} for layer, name in
                       sorted(layer_alarms.items(), key=lambda kv: _layer_rank(kv[0]))},
            "components": sorted(rows, key=lambda r: _layer_rank(r["layer"]))}


def _layer_rank(layer: str) -> int:
    return LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)


COLUMNS = (("component", 46), ("last", 25), ("outcome", 24), ("records_in", 9), ("records_out", 9),
           ("records_quarantined", 9), ("records_failed", 9), ("errors", 7), ("lag", 12))
HEADERS = {"records_in": "in", "records_out": "out", "records_quarantined": "quarant.", "records_failed": "failed"}


def _cell(value: Any, width: int) -> str:
    text = "-" if value is None or value == "" else str(value)
    return (text if len(text) <= width else text[:width - 1] + "~").ljust(width)


def render(status: Mapping[str, Any]) -> str:
    """The status as a text table per layer, firing alarms under their component."""
    out = [f"platform: {status['platform']['state']}  ({status['platform']['alarm'] or 'no alarm'}; "
           f"counts over the last {status['hours']:g} h, a job's from its last run)"]
    for layer in [*status["layers"], *sorted({r["layer"] for r in status["components"]} - set(status["layers"]))]:
        state = status["layers"].get(layer, {}).get("state", "-")
        out += ["", f"{layer}: {state}",
                "  " + " ".join(_cell(HEADERS.get(c, c), w) for c, w in COLUMNS).rstrip()]
        for row in (r for r in status["components"] if r["layer"] == layer):
            out.append("  " + " ".join(_cell(row.get(c), w) for c, w in COLUMNS).rstrip())
            out += [f"    ALARM {name}" for name in row["firing"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from local_runtime import stacks
    from local_runtime.services import endpoint_from_env, health

    parser = argparse.ArgumentParser(prog="make status", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default=None, help="the emulator (default: the local one)")
    parser.add_argument("--hours", type=float, default=24.0, help="window of a function's counts")
    parser.add_argument("--json", action="store_true", help="the status as JSON")
    args = parser.parse_args(argv)
    endpoint = args.endpoint or endpoint_from_env()
    if health(endpoint) is None:
        print(f"status: the emulator at {endpoint} is not running (make up, then make deploy or make demo)",
              file=sys.stderr)
        return 1
    outputs = stacks.outputs(stacks.stack_dir("local"), stacks.local_env(endpoint))
    if "monitored_components" not in outputs:
        print("status: the local stack is not deployed with monitoring (make deploy)", file=sys.stderr)
        return 1
    status = collect(endpoint, outputs, hours=args.hours)
    print(json.dumps(status, indent=1, default=str) if args.json else render(status))
    return 1 if status["platform"]["state"] == "ALARM" else 0


if __name__ == "__main__":
    sys.exit(main())
