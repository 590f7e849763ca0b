"""CloudWatch's embedded metric format (EMF): one JSON log line that CloudWatch Logs turns into metrics.

:func:`render` writes the line every batch job's run summary is (and any handler without Powertools can
print)::

    {"_aws": {"Timestamp": <epoch ms>, "CloudWatchMetrics": [{"Namespace": <NAMESPACE>,
              "Dimensions": [[<SERVICE_DIMENSION>]], "Metrics": [{"Name": <metric>, "Unit": <unit>}, ...]}]},
     <SERVICE_DIMENSION>: <deployed job or function name>, <metric>: <value>, ..., "run_id": ..., "job": ...}

The metric names, their units, the namespace and the one dimension are :mod:`data_contracts.metrics`; the
other keys (``run_id``, ``job``, ``event_id``, ...) ride along as plain log fields, which CloudWatch Logs
Insights can query.

:func:`parse` is the inverse, and the extraction CloudWatch Logs does on any log line (Powertools' lines
included): the line must be one JSON object whose ``_aws`` member holds a ``Timestamp`` (a number) and a
``CloudWatchMetrics`` array of directives, each with a ``Namespace`` (text, not ``AWS/...``),
``Dimensions`` (an array of dimension sets, each an array of at most 30 member names whose values are text)
and ``Metrics`` (at most 100 definitions: a ``Name``, an optional CloudWatch ``Unit``, an optional
``StorageResolution`` of 1 or 60).
Each metric's member must hold a number or an array of at most 100 numbers (several values of one
datapoint: kept as a tuple). Every metric is published once per dimension set (an empty ``Dimensions`` array:
once, without dimensions). A line that breaks any of these rules is not EMF at all (CloudWatch counts it
as an EMF validation error and extracts nothing from it): :func:`parse` returns no datapoint for it, nor for
any line that is not JSON. Not checked: CloudWatch's clock window (a timestamp more than two weeks old or
two hours ahead is refused by PutMetricData, not by the format).

Standard library only: the jobs (Glue, EMR), the Lambda functions and the local runtime all import it.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Mapping, NamedTuple, Sequence

from data_contracts.metrics import NAMESPACE, SERVICE_DIMENSION, UNITS

__all__ = ["CLOUDWATCH_UNITS", "Datapoint", "MAX_DIMENSIONS", "MAX_METRICS", "MAX_VALUES", "parse", "render"]

MAX_DIMENSIONS = 30
"""Dimension keys in one dimension set, at most."""
MAX_METRICS = 100
"""Metric definitions in one directive, at most."""
MAX_VALUES = 100
"""Values in one metric's array, at most."""

CLOUDWATCH_UNITS: frozenset[str] = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})
"""The units CloudWatch knows (``StandardUnit``)."""

_RESERVED = "_aws"


class Datapoint(NamedTuple):
    """One metric datapoint extracted from an EMF line (what PutMetricData takes)."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    """Dimension name -> value (empty: no dimensions)."""
    value: float | tuple[float, ...]
    """One value, or the values of an EMF array (PutMetricData's ``Values``)."""
    unit: str | None
    """The declared unit; None when the line declares none (CloudWatch then records ``None``)."""
    timestamp: int
    """Epoch milliseconds."""


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _metric_value(value: Any) -> bool:
    if _number(value):
        return True
    return isinstance(value, list) and 0 < len(value) <= MAX_VALUES and all(_number(v) for v in value)


def render(metrics: Mapping[str, float | Sequence[float]], *, service: str, namespace: str = NAMESPACE,
           units: Mapping[str, str] = UNITS, timestamp_ms: int | None = None, **keys: Any) -> str:
    """One EMF line (no newline): ``metrics`` (name -> a number or a sequence of numbers) in ``namespace``
    with the one dimension :data:`~data_contracts.metrics.SERVICE_DIMENSION` = ``service``, each with its
    unit from ``units`` (a name missing there gets none); ``keys`` are added as plain members (those whose
    value is None are left out). ``timestamp_ms`` defaults to now. ``ValueError`` for what CloudWatch would
    refuse: no metric or more than 100, a value that is not a finite number, a key that collides with a
    metric, the dimension or ``_aws``, an unknown unit."""
    if not metrics or len(metrics) > MAX_METRICS:
        raise ValueError(f"an EMF line holds 1 to {MAX_METRICS} metrics, got {len(metrics)}")
    if not isinstance(service, str) or not service:
        raise ValueError("the service dimension needs a non-empty name")
    definitions = []
    values: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, (list, tuple)):
            value = list(value)
        if not isinstance(name, str) or not name or not _metric_value(value):
            raise ValueError(f"metric {name!r}: a finite number or 1 to {MAX_VALUES} of them, got {value!r}")
        definition = {"Name": name}
        unit = units.get(name)
        if unit is not None:
            if unit not in CLOUDWATCH_UNITS:
                raise ValueError(f"metric {name!r}: unknown CloudWatch unit {unit!r}")
            definition["Unit"] = unit
        definitions.append(definition)
        values[name] = value
    clashes = sorted(set(keys) & ({_RESERVED, SERVICE_DIMENSION} | set(metrics)))
    if clashes:
        raise ValueError(f"keys {clashes} would overwrite the metrics, the dimension or the metadata")
    stamp = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    document = {
        _RESERVED: {"Timestamp": stamp, "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [[SERVICE_DIMENSION]], "Metrics": definitions}]},
        SERVICE_DIMENSION: service,
        **values,
        **{key: value for key, value in keys.items() if value is not None},
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _directive(root: dict, directive: Any, timestamp: int) -> list[Datapoint] | None:
    """The datapoints of one MetricDirective, None when it is not valid."""
    if type(directive) is not dict:
        return None
    namespace, dimension_sets, definitions = (directive.get(k) for k in ("Namespace", "Dimensions", "Metrics"))
    if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
        return None
    if type(dimension_sets) is not list or type(definitions) is not list or len(definitions) > MAX_METRICS:
        return None
    resolved = []
    for dimension_set in dimension_sets or [[]]:
        if type(dimension_set) is not list or len(dimension_set) > MAX_DIMENSIONS:
            return None
        dimensions = {}
        for key in dimension_set:
            if not isinstance(key, str) or not isinstance(root.get(key), str):
                return None
            dimensions[key] = root[key]
        resolved.append(dimensions)
    out = []
    for definition in definitions:
        if type(definition) is not dict:
            return None
        name, unit = definition.get("Name"), definition.get("Unit")
        if not isinstance(name, str) or not name or name == _RESERVED:
            return None
        if unit is not None and unit not in CLOUDWATCH_UNITS:
            return None
        resolution = definition.get("StorageResolution", 60)
        if type(resolution) is not int or resolution not in (1, 60):
            return None
        value = root.get(name)
        if not _metric_value(value):
            return None
        value = tuple(float(v) for v in value) if isinstance(value, list) else float(value)
        out.extend(Datapoint(namespace, name, dict(dimensions), value, unit, timestamp) for dimensions in resolved)
    return out


def parse(line: str | bytes) -> list[Datapoint]:
    """Every datapoint of one log line that is EMF (see the module docstring); ``[]`` for any other line."""
    if isinstance(line, (bytes, bytearray)):
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError:
            return []
    text = line.strip()
    if not text.startswith("{") or _RESERVED not in text:
        return []
    try:
        root = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return []
    if type(root) is not dict or type(root.get(_RESERVED)) is not dict:
        return []
    meta = root[_RESERVED]
    timestamp, directives = meta.get("Timestamp"), meta.get("CloudWatchMetrics")
    if not _number(timestamp) or type(directives) is not list:
        return []
    out = []
    for directive in directives:
        points = _directive(root, directive, int(timestamp))
        if points is None:
            return []
        out.extend(points)
    return out
