"""The embedded metric format: data_contracts.emf.render and its inverse, parse (CloudWatch's extraction)."""
from __future__ import annotations

import json

import pytest

from data_contracts import emf
from data_contracts.metrics import (
    NAMESPACE, RECORD_COUNTS, RECORDS_IN, RECORDS_OUT, RUN_DURATION, RUN_FAILED, SERVICE_DIMENSION, STREAM_LAG, UNITS,
)

T = 1717200000123


def line(metrics: dict, dimensions=(("service",),), namespace="Ns", units=None, timestamp=T, **members) -> str:
    """A hand-written EMF line (not render's), so parse is checked against the format itself."""
    definitions = [{"Name": name, **({"Unit": units[name]} if units and name in units else {})} for name in metrics]
    return json.dumps({"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [
        {"Namespace": namespace, "Dimensions": [list(d) for d in dimensions], "Metrics": definitions}]},
        "service": "svc", **metrics, **members})


def test_render_and_parse_round_trip():
    counts = dict(zip(RECORD_COUNTS, (120, 100, 15, 5)))
    text = emf.render({**counts, RUN_DURATION: 12.5, RUN_FAILED: 0}, service="lakeforge-dev-job", timestamp_ms=T,
                      run_id="b2s-1", job="bronze_to_silver", event_id=None)
    assert "\n" not in text
    document = json.loads(text)
    assert document["_aws"] == {"Timestamp": T, "CloudWatchMetrics": [{
        "Namespace": NAMESPACE, "Dimensions": [[SERVICE_DIMENSION]],
        "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in (*RECORD_COUNTS, RUN_DURATION, RUN_FAILED)]}]}
    assert document[SERVICE_DIMENSION] == "lakeforge-dev-job"
    assert (document["run_id"], document["job"]) == ("b2s-1", "bronze_to_silver")
    assert "event_id" not in document  # None values are left out
    points = emf.parse(text)
    assert [(p.name, p.value, p.unit) for p in points] == [
        *((name, float(counts[name]), "Count") for name in RECORD_COUNTS),
        (RUN_DURATION, 12.5, "Seconds"), (RUN_FAILED, 0.0, "Count")]
    assert {(p.namespace, p.timestamp) for p in points} == {(NAMESPACE, T)}
    assert all(p.dimensions == {SERVICE_DIMENSION: "lakeforge-dev-job"} for p in points)
    assert emf.parse(text.encode()) == points  # bytes too


def test_render_defaults_to_now_and_takes_lists():
    text = emf.render({STREAM_LAG: [1.5, 2, 3]}, service="s")
    [point] = emf.parse(text)
    assert point.value == (1.5, 2.0, 3.0) and point.unit == "Seconds"
    assert point.timestamp == json.loads(text)["_aws"]["Timestamp"] > T


def test_a_metric_without_a_known_unit_gets_none():
    [point] = emf.parse(emf.render({"custom_thing": 1}, service="s"))
    assert point.unit is None and json.loads(emf.render({"custom_thing": 1}, service="s"))["_aws"][
        "CloudWatchMetrics"][0]["Metrics"] == [{"Name": "custom_thing"}]


@pytest.mark.parametrize("metrics, keys", [
    ({}, {}),                                          # nothing to publish
    ({RECORDS_IN: float("nan")}, {}),                  # not JSON
    ({RECORDS_IN: True}, {}),                          # a boolean is no number
    ({RECORDS_IN: "3"}, {}),
    ({RECORDS_IN: []}, {}),
    ({RECORDS_IN: list(range(101))}, {}),              # over 100 values
    ({f"m{i}": 1 for i in range(101)}, {}),            # over 100 metrics
    ({RECORDS_IN: 1}, {RECORDS_IN: 2}),                # a key that would overwrite a metric
    ({RECORDS_IN: 1}, {"_aws": {}}),
])
def test_render_refuses_what_cloudwatch_would(metrics, keys):
    with pytest.raises(ValueError):
        emf.render(metrics, service="s", **keys)


def test_render_refuses_an_unknown_unit_and_a_nameless_service():
    with pytest.raises(ValueError, match="unit"):
        emf.render({RECORDS_IN: 1}, service="s", units={RECORDS_IN: "Things"})
    with pytest.raises(ValueError, match="service"):
        emf.render({RECORDS_IN: 1}, service="")


def test_several_metrics_dimension_sets_and_directives():
    document = json.loads(line({"a": 1, "b": [2, 3.5]}, dimensions=[("service",), ("service", "reason"), ()],
                               units={"a": "Count", "b": "Milliseconds"}, reason="invalid_json"))
    document["_aws"]["CloudWatchMetrics"].append({"Namespace": "Other", "Dimensions": [], "Metrics": [{"Name": "c"}]})
    document["c"] = 7
    points = emf.parse(json.dumps(document))
    assert [(p.namespace, p.name, p.dimensions, p.value, p.unit) for p in points] == [
        ("Ns", "a", {"service": "svc"}, 1.0, "Count"),
        ("Ns", "a", {"service": "svc", "reason": "invalid_json"}, 1.0, "Count"),
        ("Ns", "a", {}, 1.0, "Count"),
        ("Ns", "b", {"service": "svc"}, (2.0, 3.5), "Milliseconds"),
        ("Ns", "b", {"service": "svc", "reason": "invalid_json"}, (2.0, 3.5), "Milliseconds"),
        ("Ns", "b", {}, (2.0, 3.5), "Milliseconds"),
        ("Other", "c", {}, 7.0, None),  # no dimension set at all: published once, without dimensions
    ]
    assert {p.timestamp for p in points} == {T}


def _broken(change) -> str:
    document = json.loads(line({"a": 1}, units={"a": "Count"}))
    change(document)
    return json.dumps(document)


NOT_EMF = {
    "plain text": "START RequestId: 1234 Version: $LATEST",
    "empty": "",
    "not an object": "[1, 2]",
    "truncated": line({"a": 1})[:-3],
    "NaN value": line({"a": 1}).replace('"a": 1', '"a": NaN'),
    "a JSON log line without _aws": json.dumps({"level": "INFO", "message": "_aws is mentioned"}),
    "_aws not an object": _broken(lambda d: d.update(_aws=[])),
    "no timestamp": _broken(lambda d: d["_aws"].pop("Timestamp")),
    "timestamp as text": _broken(lambda d: d["_aws"].update(Timestamp="1717200000123")),
    "no directives": _broken(lambda d: d["_aws"].pop("CloudWatchMetrics")),
    "directive not an object": _broken(lambda d: d["_aws"]["CloudWatchMetrics"].append("x")),
    "no namespace": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Namespace")),
    "an AWS namespace": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace="AWS/Lambda")),
    "no dimensions member": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Dimensions")),
    "dimension set not a list": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=["service"])),
    "a dimension that is missing": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].update(
        Dimensions=[["service", "reason"]])),
    "a dimension value that is not text": _broken(lambda d: d.update(service=3)),
    "over 30 dimensions": _broken(lambda d: (d.update({f"d{i}": "x" for i in range(31)}),
                                             d["_aws"]["CloudWatchMetrics"][0].update(
                                                 Dimensions=[[f"d{i}" for i in range(31)]]))),
    "a metric without a name": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].append(
        {"Unit": "Count"})),
    "an unknown unit": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Things")),
    "a bad storage resolution": _broken(lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(
        StorageResolution=30)),
    "a metric member that is missing": _broken(lambda d: d.pop("a")),
    "a metric member that is text": _broken(lambda d: d.update(a="1")),
    "a metric member that is a boolean": _broken(lambda d: d.update(a=True)),
    "an empty array of values": _broken(lambda d: d.update(a=[])),
    "over 100 values": _broken(lambda d: d.update(a=list(range(101)))),
    "an array holding text": _broken(lambda d: d.update(a=[1, "2"])),
}


@pytest.mark.parametrize("text", NOT_EMF.values(), ids=NOT_EMF.keys())
def test_lines_that_are_not_emf_give_nothing(text):
    assert emf.parse(text) == []


def test_a_valid_line_with_one_bad_directive_gives_nothing_at_all():
    document = json.loads(line({"a": 1}))
    document["_aws"]["CloudWatchMetrics"].append({"Namespace": "Ns", "Dimensions": [], "Metrics": [{"Name": "gone"}]})
    assert emf.parse(json.dumps(document)) == []
    assert emf.parse(b"\xff\xfe{") == []


def test_storage_resolution_and_surrounding_whitespace_are_accepted():
    document = json.loads(line({"a": 1}))
    document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = 1
    [point] = emf.parse("  " + json.dumps(document) + "\n")
    assert point.value == 1.0


def test_powertools_lines_parse_like_cloudwatch_reads_them(capsys):
    """What the Lambda handlers print through Powertools is EMF as this parser reads it."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    metrics = Metrics(namespace=NAMESPACE, service="fn")
    metrics.add_metric(name=RECORDS_IN, unit=MetricUnit.Count, value=3)
    metrics.add_metric(name=RECORDS_OUT, unit=MetricUnit.Count, value=2)
    metrics.add_metric(name=RECORDS_OUT, unit=MetricUnit.Count, value=1)  # twice: an array
    metrics.flush_metrics()
    with single_metric(name="x", unit=MetricUnit.Seconds, value=1.5, namespace=NAMESPACE,
                       default_dimensions={SERVICE_DIMENSION: "fn"}) as metric:
        metric.add_dimension(name="reason", value="r")
    points = [p for text in capsys.readouterr().out.splitlines() for p in emf.parse(text)]
    values = [(p.name, p.value if isinstance(p.value, tuple) else (p.value,), p.unit, p.dimensions) for p in points]
    assert values == [  # Powertools writes a value as an array of one, or of each value added
        (RECORDS_IN, (3.0,), "Count", {SERVICE_DIMENSION: "fn"}),
        (RECORDS_OUT, (2.0, 1.0), "Count", {SERVICE_DIMENSION: "fn"}),
        ("x", (1.5,), "Seconds", {SERVICE_DIMENSION: "fn", "reason": "r"}),
    ]
    assert {p.namespace for p in points} == {NAMESPACE}
