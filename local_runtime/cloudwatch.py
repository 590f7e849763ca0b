"""What CloudWatch and EventBridge do on AWS that the local emulator does not, so the deployed alarms work locally.

Measured here (``../shared/notes/local-aws-facts.md``): ministack evaluates metric alarms for real when a datapoint
arrives (composite alarms follow, alarm actions publish to SNS) and stores dashboards, but it does not turn
embedded-metric-format (EMF) log lines into metrics, publishes no service metrics and has no EventBridge metrics.
So, as the stand-in for those AWS services:

* :func:`forward_metrics` is CloudWatch Logs' EMF extraction: it reads every log stream of the emulator that
  grew since the last pass, from where it last stopped (a cursor per stream, kept under ``.state/cloudwatch/``;
  a stream whose ingestion time, stored bytes and sequence token are unchanged is not read), parses each line with
  :func:`data_contracts.emf.parse` (the extraction CloudWatch does) and puts the datapoints with
  ``PutMetricData``, each stream's cursor saved only after its datapoints were put (a crash forwards them again;
  a forwarded line is never forwarded twice by later calls);
* :func:`ship_job_log` is Glue's log shipping: a job run's output lines go to the job's deployed output log
  group (``<--custom-logGroup-prefix>/output``), one stream per run, where the forwarder finds its run summary;
* :func:`job_state_changed` is EventBridge for the ``Glue Job State Change`` event of a local run: each deployed
  rule whose pattern matches it counts one ``AWS/Events`` ``MatchedEvents`` and publishes the event to its SNS
  targets. ministack does not evaluate missing data (an alarm stays in ALARM until a datapoint says otherwise),
  so a run that no rule watching its job matched puts 0 for those rules: on AWS their alarms would see no
  datapoint and treat it as not breaching;
* :func:`sample_queues` is SQS's queue metrics: ``ApproximateNumberOfMessagesVisible`` of every queue a deployed
  alarm watches (the failure queues), from the queue's attributes.

Not stood in for (no local source for them): Lambda's and API Gateway's own metrics (errors, throttles,
duration, iterator age), Kinesis' and the age of a queue's oldest message. The alarms on them stay in
INSUFFICIENT_DATA locally.

Caveat of the emulator (measured): its evaluation selects datapoints by namespace and metric name only, not by
dimensions, so a breaching datapoint of one function also moves the alarms of the other functions on the same
metric. The alarms of the platform's own metrics therefore move together locally; on AWS each sees its own.
"""
from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from data_contracts import emf
from local_runtime.aws import client
from local_runtime.paths import STATE

__all__ = ["CURSOR_DIR", "forward_metrics", "job_state_changed", "matches", "paginate", "put_datapoints",
           "queue_depth", "sample_queues", "ship_job_log"]

CURSOR_DIR = STATE / "cloudwatch"
PUT_BATCH = 500
"""Datapoints per PutMetricData call (CloudWatch takes at most 1000)."""
GLUE_FAILED = ("FAILED", "TIMEOUT", "ERROR")


def _cursor_file(endpoint: str) -> Path:
    return CURSOR_DIR / f"cursor-{endpoint.rsplit(':', 1)[-1].strip('/')}.json"


@contextmanager
def _locked_cursor(path: Path):
    """The cursor file's content, under an exclusive lock (a forwarder service and ``make status`` may run at once);
    the caller saves with the yielded ``save``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cursor = json.loads(path.read_text()) if path.exists() else {}

        def save() -> None:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cursor, sort_keys=True))
            tmp.replace(path)

        yield cursor, save


def paginate(method, key: str, token_key: str = "nextToken", **kwargs) -> Iterable[dict]:
    """Every item under ``key`` of every page of a boto3 list call (``token_key``: the page token's name)."""
    token = None
    while True:
        page = method(**kwargs, **({token_key: token} if token else {}))
        yield from page.get(key, [])
        token = page.get(token_key)
        if not token:
            return


def _datum(point: emf.Datapoint) -> dict:
    datum: dict[str, Any] = {
        "MetricName": point.name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in point.dimensions.items()],
        "Timestamp": datetime.fromtimestamp(point.timestamp / 1000, tz=timezone.utc),
    }
    if isinstance(point.value, tuple):
        datum["Values"] = list(point.value)
    else:
        datum["Value"] = point.value
    if point.unit:
        datum["Unit"] = point.unit
    return datum


def put_datapoints(cw, points: Iterable[emf.Datapoint]) -> int:
    """PutMetricData for ``points``, grouped by namespace, in batches. Returns how many were put."""
    by_namespace: dict[str, list[dict]] = {}
    for point in points:
        by_namespace.setdefault(point.namespace, []).append(_datum(point))
    count = 0
    for namespace, data in by_namespace.items():
        for i in range(0, len(data), PUT_BATCH):
            cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + PUT_BATCH])
            count += len(data[i:i + PUT_BATCH])
    return count


def forward_metrics(endpoint: str, *, cursor_file: Path | None = None) -> int:
    """Every EMF datapoint logged in the emulator since the last call, put as metrics. Returns how many."""
    logs, cw = client("logs", endpoint), client("cloudwatch", endpoint)
    forwarded = 0
    with _locked_cursor(cursor_file or _cursor_file(endpoint)) as (cursor, save):
        for group in paginate(logs.describe_log_groups, "logGroups"):
            name = group["logGroupName"]
            for stream in paginate(logs.describe_log_streams, "logStreams", logGroupName=name):
                key = f"{name}\n{stream['logStreamName']}"
                seen = cursor.get(key) or {}
                if seen.get("created") != stream.get("creationTime"):  # a new stream of that name: from its start
                    seen = {"created": stream.get("creationTime")}
                mark = [stream.get("lastIngestionTime"), stream.get("storedBytes"), stream.get("uploadSequenceToken")]
                if seen.get("token") and seen.get("mark") == mark:  # nothing logged there since the last pass
                    continue
                token, points = seen.get("token"), []
                while True:
                    page = logs.get_log_events(logGroupName=name, logStreamName=stream["logStreamName"],
                                               startFromHead=True, **({"nextToken": token} if token else {}))
                    for event in page.get("events", []):
                        points.extend(emf.parse(event["message"]))
                    if page.get("nextForwardToken") in (None, token):
                        break
                    token = page["nextForwardToken"]
                forwarded += put_datapoints(cw, points)
                cursor[key] = {**seen, "token": token, "mark": mark}
                save()
    return forwarded


def ship_job_log(endpoint: str, job: Mapping, run_id: str, lines: Iterable[str]) -> str | None:
    """Put a local run's output ``lines`` into the job's deployed output log group (stream ``run_id``), as Glue
    ships a run's stdout. Returns the group, or None when the job names none."""
    prefix = (job.get("DefaultArguments") or {}).get("--custom-logGroup-prefix")
    if not prefix:
        return None
    group = f"{prefix}/output"
    logs = client("logs", endpoint)
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=run_id)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now = int(time.time() * 1000)
    events = [{"timestamp": _line_time(line, now), "message": line.rstrip("\n")} for line in lines if line.strip()]
    events.sort(key=lambda e: e["timestamp"])
    for i in range(0, len(events), 5000):
        logs.put_log_events(logGroupName=group, logStreamName=run_id, logEvents=events[i:i + 5000])
    return group


def _line_time(line: str, default: int) -> int:
    """An EMF line's own timestamp (what CloudWatch uses for its metrics), else ``default``."""
    points = emf.parse(line)
    return points[0].timestamp if points else default


def matches(pattern: Any, event: Any) -> bool:
    """Whether an EventBridge ``pattern`` matches ``event``: every key of the pattern must be in the event, a
    nested object recursively, a list of values holding the event's value (any of an array's). Content filters
    (``prefix``, ``anything-but``, ...) are not supported: a pattern with one matches nothing here."""
    if isinstance(pattern, Mapping):
        return isinstance(event, Mapping) and all(k in event and matches(v, event[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        if any(isinstance(p, Mapping) for p in pattern):
            return False
        values = event if isinstance(event, list) else [event]
        return any(v in pattern for v in values)
    return False


def job_state_changed(endpoint: str, job_name: str, state: str, run_id: str, message: str = "") -> list[str]:
    """EventBridge for a local Glue run's state change (see the module docstring). Returns the rules that matched."""
    event = {"version": "0", "detail-type": "Glue Job State Change", "source": "aws.glue",
             "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "detail": {"jobName": job_name, "state": state, "jobRunId": run_id, "message": message,
                        "severity": "ERROR" if state in GLUE_FAILED else "INFO"}}
    events, cw, sns = client("events", endpoint), client("cloudwatch", endpoint), client("sns", endpoint)
    matched, watching = [], []
    for rule in paginate(events.list_rules, "Rules", "NextToken"):
        pattern = json.loads(rule.get("EventPattern") or "null")
        if not isinstance(pattern, Mapping):
            continue
        if matches(pattern, event):
            matched.append(rule["Name"])
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":sns:" in target["Arn"]:
                    sns.publish(TopicArn=target["Arn"], Message=json.dumps(event),
                                Subject=f"{job_name} {state}"[:100])
        elif matches({k: v for k, v in pattern.items() if k != "detail"}, event) and \
                job_name in ((pattern.get("detail") or {}).get("jobName") or ()):
            watching.append(rule["Name"])
    now = datetime.now(timezone.utc)
    data = [{"MetricName": "MatchedEvents", "Dimensions": [{"Name": "RuleName", "Value": name}], "Timestamp": now,
             "Value": 1.0 if name in matched else 0.0, "Unit": "Count"} for name in (*matched, *watching)]
    if data:
        cw.put_metric_data(Namespace="AWS/Events", MetricData=data)
    return matched


def sample_queues(endpoint: str) -> int:
    """SQS's ``ApproximateNumberOfMessagesVisible`` of every queue a deployed alarm watches, put now. Returns how
    many queues were sampled."""
    cw, sqs = client("cloudwatch", endpoint), client("sqs", endpoint)
    names = sorted({d["Value"] for alarm in _paginate_alarms(cw) if alarm.get("Namespace") == "AWS/SQS"
                    for d in alarm.get("Dimensions", []) if d["Name"] == "QueueName"})
    now = datetime.now(timezone.utc)
    data = []
    for name in names:
        depth = queue_depth(sqs, name)
        if depth is None:
            continue
        data.append({"MetricName": "ApproximateNumberOfMessagesVisible", "Unit": "Count", "Timestamp": now,
                     "Dimensions": [{"Name": "QueueName", "Value": name}], "Value": float(depth)})
    if data:
        cw.put_metric_data(Namespace="AWS/SQS", MetricData=data)
    return len(data)


def queue_depth(sqs, name: str) -> int | None:
    """The messages waiting in queue ``name`` (``ApproximateNumberOfMessages``), or None when there is no such
    queue."""
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))


def _paginate_alarms(cw) -> Iterable[dict]:
    return paginate(cw.describe_alarms, "MetricAlarms", "NextToken", AlarmTypes=["MetricAlarm"])


def main(argv: list[str] | None = None) -> int:
    """``python -m local_runtime.cloudwatch [--endpoint URL] [--every S] [--once]``: forward the EMF metrics and
    sample the failure queues every ``S`` seconds until interrupted (the ``metrics`` local service), or once."""
    import argparse
    import sys

    from local_runtime.services import endpoint_from_env, health

    parser = argparse.ArgumentParser(prog="python -m local_runtime.cloudwatch", description=main.__doc__)
    parser.add_argument("--endpoint", default=None)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    endpoint = args.endpoint or endpoint_from_env()
    while True:
        if health(endpoint) is not None:
            try:
                forwarded, queues = forward_metrics(endpoint), sample_queues(endpoint)
                if forwarded:
                    print(f"[metrics] {forwarded} datapoints forwarded, {queues} queues sampled", flush=True)
            except Exception as exc:  # noqa: BLE001 - keep forwarding: the next pass resumes from the cursor
                print(f"[metrics] pass failed: {exc}", file=sys.stderr, flush=True)
        if args.once:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":
    raise SystemExit(main())
