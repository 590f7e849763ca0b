"""The local stand-ins for CloudWatch and EventBridge (``local_runtime/cloudwatch.py``) and ``make status``'s
table (``local_runtime/status.py``), on literal data; against the emulator: ``tests/e2e/test_monitoring.py``."""
from __future__ import annotations

import json

import pytest

from data_contracts import emf, metrics
from local_runtime import cloudwatch, status

GLUE_RULE = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
             "detail": {"jobName": ["lakeforge-local-bronze-to-silver"], "state": ["FAILED", "TIMEOUT", "ERROR"]}}


def _event(job: str, state: str) -> dict:
    return {"source": "aws.glue", "detail-type": "Glue Job State Change", "detail": {"jobName": job, "state": state}}


@pytest.mark.parametrize("event, expected", [
    (_event("lakeforge-local-bronze-to-silver", "FAILED"), True),
    (_event("lakeforge-local-bronze-to-silver", "TIMEOUT"), True),
    (_event("lakeforge-local-bronze-to-silver", "SUCCEEDED"), False),
    (_event("lakeforge-local-silver-to-gold", "FAILED"), False),
    ({**_event("lakeforge-local-bronze-to-silver", "FAILED"), "source": "aws.emr"}, False),
    ({"source": "aws.glue", "detail-type": "Glue Job State Change"}, False),  # no detail at all
])
def test_rule_patterns_match_as_eventbridge_does(event, expected):
    assert cloudwatch.matches(GLUE_RULE, event) is expected


def test_array_values_and_content_filters():
    assert cloudwatch.matches({"detail": {"tags": ["a"]}}, {"detail": {"tags": ["b", "a"]}})
    assert not cloudwatch.matches({"detail": {"tags": ["a"]}}, {"detail": {"tags": ["b"]}})
    # a content filter is not supported: it matches nothing rather than everything
    assert not cloudwatch.matches({"detail": {"state": [{"prefix": "FAIL"}]}}, _event("j", "FAILED")["detail"])


def test_a_datapoint_becomes_the_put_metric_data_entry():
    line = emf.render({metrics.RECORDS_FAILED: 3, metrics.RUN_DURATION: 12.5}, service="job-a",
                      timestamp_ms=1_700_000_000_000)
    points = emf.parse(line)
    data = {d["MetricName"]: d for d in map(cloudwatch._datum, points)}
    assert data[metrics.RECORDS_FAILED]["Value"] == 3.0 and data[metrics.RECORDS_FAILED]["Unit"] == "Count"
    assert data[metrics.RUN_DURATION]["Unit"] == "Seconds"
    assert data[metrics.RECORDS_FAILED]["Dimensions"] == [{"Name": metrics.SERVICE_DIMENSION, "Value": "job-a"}]
    assert data[metrics.RECORDS_FAILED]["Timestamp"].timestamp() == 1_700_000_000
    assert cloudwatch._line_time(line, 5) == 1_700_000_000_000 and cloudwatch._line_time("plain text", 5) == 5


class FakeCloudWatch:
    def __init__(self):
        self.calls = []

    def put_metric_data(self, Namespace, MetricData):
        self.calls.append((Namespace, len(MetricData)))


def test_datapoints_are_put_per_namespace_in_batches():
    cw = FakeCloudWatch()
    points = [emf.Datapoint("A", "m", {}, 1.0, "Count", 0)] * 1200 + [emf.Datapoint("B", "m", {}, 1.0, None, 0)]
    assert cloudwatch.put_datapoints(cw, points) == 1201
    assert cw.calls == [("A", 500), ("A", 500), ("A", 200), ("B", 1)]


def test_the_cursor_is_saved_under_a_lock(tmp_path):
    path = tmp_path / "cursor.json"
    with cloudwatch._locked_cursor(path) as (cursor, save):
        cursor["g\ns"] = {"token": "f/1:1", "created": 1}
        save()
    with cloudwatch._locked_cursor(path) as (cursor, _save):
        assert cursor == {"g\ns": {"token": "f/1:1", "created": 1}}
    assert json.loads(path.read_text()) == {"g\ns": {"token": "f/1:1", "created": 1}}


def test_status_table_shows_layers_rows_and_firing_alarms():
    report = {
        "hours": 24.0, "platform": {"alarm": "p-platform-unhealthy", "state": "ALARM"},
        "layers": {"streaming": {"alarm": "p-streaming-unhealthy", "state": "ALARM"},
                   "batch": {"alarm": "p-batch-unhealthy", "state": "OK"}},
        "components": [
            {"layer": "streaming", "component": "Lambda p-ingest", "type": "aws_lambda_function", "name": "p-ingest",
             "last": "2026-12-07T00:00:00+00:00", "outcome": "3 invocations", "records_in": 10, "records_out": 7,
             "records_quarantined": 1, "records_failed": 2, "errors": 1, "lag": "4 s",
             "alarms": {"p-ingest-lambda-errors": "ALARM"}, "firing": ["p-ingest-lambda-errors"]},
            {"layer": "batch", "component": "Glue job p-b2s", "type": "aws_glue_job", "name": "p-b2s", "last": None,
             "outcome": "no run", "alarms": {}, "firing": []},
        ]}
    text = status.render(report)
    lines = text.splitlines()
    assert lines[0].startswith("platform: ALARM")
    assert "streaming: ALARM" in lines and "batch: OK" in lines
    row = next(line for line in lines if "Lambda p-ingest" in line)
    assert row.split()[-8:] == ["invocations", "10", "7", "1", "2", "1", "4", "s"]
    assert "    ALARM p-ingest-lambda-errors" in lines
    assert lines.index("streaming: ALARM") < lines.index("batch: OK")
