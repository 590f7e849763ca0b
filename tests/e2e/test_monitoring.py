"""Monitoring on the emulator (issue 12): a poison batch and a failing Glue job drive their metrics, the deployed
alarms that watch them, their layers' composite alarms and the platform's to ALARM; ``make status`` shows it;
a healthy invocation and a healthy run, once the failures are older than the alarms' period, return them to OK.

What is real: the deployed stack's alarms, composites and topic (ministack evaluates them when a datapoint
arrives), the deployed ingest function (its EMF lines in the emulator's log group, its errors in the emulator's
Lambda metrics), the Glue job run from its deployed definition by the local runtime; what the local runtime
stands in for is CloudWatch's EMF extraction and EventBridge's matched-events count
(:mod:`local_runtime.cloudwatch`)."""
from __future__ import annotations

import base64
import json
import time

import pytest

from data_contracts import metrics
from local_runtime import cloudwatch, status
from local_runtime.aws import client
from local_runtime.batch import JobHost, run_glue_job
from sample_data import generate
from sample_data.events import to_kinesis_event

pytestmark = pytest.mark.e2e


def _states(cw, names) -> dict[str, str]:
    names = list(names)
    found = {}
    for i in range(0, len(names), 100):
        page = cw.describe_alarms(AlarmNames=names[i:i + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        found.update({a["AlarmName"]: a["StateValue"] for a in page["MetricAlarms"] + page["CompositeAlarms"]})
    return found


def _wait_states(cw, wanted: dict[str, str], timeout: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        states = _states(cw, wanted)
        if all(states.get(n) == s for n, s in wanted.items()) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def _invoke(lam, function: str, payloads: list[bytes], first_sequence: int) -> dict:
    event = to_kinesis_event(payloads, first_sequence=first_sequence, arrival_epoch=time.time())
    answer = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return {"error": answer.get("FunctionError"), "body": json.loads(answer["Payload"].read() or b"null")}


def _poison(event: dict) -> dict:
    """Every record's data made undecodable base64 (one data character): the handler cannot even read them (a
    poison batch)."""
    for record in event["Records"]:
        record["kinesis"]["data"] = "A"
    return event


def test_failures_raise_the_alarms_and_a_healthy_run_clears_them(deployed, emulator):
    out, endpoint = deployed["outputs"], emulator.endpoint
    cw, lam = client("cloudwatch", endpoint), client("lambda", endpoint)
    function, job = out["ingest_function_name"], out["glue_job_bronze_to_silver"]
    layers, platform = out["layer_alarm_names"], out["platform_alarm_name"]
    components = {(c["type"], c["name"]): c for c in out["monitored_components"]}
    fn_alarms = components["aws_lambda_function", function]["alarms"]
    job_alarms = components["aws_glue_job", job]["alarms"]
    watched = {f"{function}-lambda-errors", f"{function}-lambda-records-failed", f"{job}-glue-run-failed",
               f"{job}-glue-failed", layers["streaming"], layers["batch"], platform}
    assert set(fn_alarms) >= {f"{function}-lambda-errors", f"{function}-lambda-records-failed"}
    assert set(job_alarms) >= {f"{job}-glue-run-failed", f"{job}-glue-failed", f"{job}-glue-run-duration"}
    assert set(_states(cw, watched).values()) <= {"INSUFFICIENT_DATA", "OK"}

    # A poison batch: the whole batch fails; the function's error and its failed records are counted.
    good = [r.payload for r in generate(5, seed=12, bad_share=0.0)]
    poison = _poison(to_kinesis_event(good, first_sequence=10**21, arrival_epoch=time.time()))
    answer = lam.invoke(FunctionName=function, Payload=json.dumps(poison).encode())
    assert answer.get("FunctionError")  # every record failed: Powertools raises, Lambda retries the batch
    # A failing job: bronze -> silver pointed at a bucket that does not exist.
    with JobHost(endpoint) as host:
        with pytest.raises(RuntimeError, match="failed"):
            run_glue_job(job, endpoint, {"--bronze_path": "s3://no-such-bucket-lakeforge/bronze/"}, stream=False,
                         host=host)
        failed_at = time.time()
        assert cloudwatch.forward_metrics(endpoint) >= 0  # the function's lines (the job's were forwarded by the run)

        alarm = _wait_states(cw, {n: "ALARM" for n in watched})
        assert alarm == {n: "ALARM" for n in watched}, alarm
        # the failed records and the failed run are the platform's own metrics, from the logged EMF lines
        summary = cw.get_metric_statistics(
            Namespace=metrics.NAMESPACE, MetricName=metrics.RUN_FAILED,
            Dimensions=[{"Name": metrics.SERVICE_DIMENSION, "Value": job}], StartTime=failed_at - 600,
            EndTime=failed_at + 60, Period=60, Statistics=["Sum"])["Datapoints"]
        assert sum(p["Sum"] for p in summary) == 1
        records_failed = cw.get_metric_statistics(
            Namespace=metrics.NAMESPACE, MetricName=metrics.RECORDS_FAILED,
            Dimensions=[{"Name": metrics.SERVICE_DIMENSION, "Value": function}], StartTime=failed_at - 600,
            EndTime=failed_at + 60, Period=60, Statistics=["Sum"])["Datapoints"]
        assert sum(p["Sum"] for p in records_failed) == len(good)
        # the failure rule told the alert topic, and so did the alarms (their actions)
        # make status shows it
        report = status.collect(endpoint, out)
        assert report["platform"]["state"] == "ALARM"
        assert report["layers"]["streaming"]["state"] == "ALARM" and report["layers"]["batch"]["state"] == "ALARM"
        rows = {r["name"]: r for r in report["components"] if r["type"] in ("aws_lambda_function", "aws_glue_job")}
        assert rows[job]["outcome"].startswith("FAILED") and rows[job]["errors"] == 1
        assert rows[function]["records_failed"] == len(good) and rows[function]["errors"] >= 1
        assert {f"{job}-glue-run-failed", f"{job}-glue-failed"} <= set(rows[job]["firing"])
        text = status.render(report)
        assert "platform: ALARM" in text and f"ALARM {job}-glue-run-failed" in text

        # Healthy again, once the failures are older than the alarms' period (the emulator evaluates the
        # datapoints of the last period when one arrives).
        period = max(a["Period"] for a in cw.describe_alarms(AlarmNames=fn_alarms + job_alarms)["MetricAlarms"])
        time.sleep(max(0.0, failed_at + period + 1 - time.time()))
        healthy = _invoke(lam, function, good, first_sequence=10**22)
        assert healthy["error"] is None and healthy["body"] == {"batchItemFailures": []}
        run_glue_job(job, endpoint, stream=False, host=host)  # nothing new in bronze: a successful run
    cloudwatch.forward_metrics(endpoint)
    ok = _wait_states(cw, {n: "OK" for n in watched})
    assert ok == {n: "OK" for n in watched}, ok
    report = status.collect(endpoint, out)
    assert report["platform"]["state"] == "OK"
    rows = {r["name"]: r for r in report["components"] if r["type"] in ("aws_lambda_function", "aws_glue_job")}
    assert rows[job]["outcome"].startswith("succeeded") and not rows[job]["firing"]
    assert rows[function]["records_in"] == 2 * len(good) and rows[function]["records_out"] == len(good)
