"""The batch jobs' structured logs and their run summary: JSON lines on stdout, standard library only.

Log lines (:func:`log`): what a job says about its run is one JSON object per line on stdout (Glue and EMR
send it to CloudWatch Logs, the local runner to ``.state/logs/batch/<job>.log``)::

    {"timestamp": "<UTC, ms>", "level": "INFO", "event": "<what happened>", "message": "<the sentence a
     person reads>", "job": "<job key>", "service": "<deployed job name>", "run_id": "<the run's id>", ...}

``event`` is a fixed phrase per kind of line (what a query filters on), ``message`` the sentence with its
numbers, the other keys the values themselves. Keys bound with :func:`bind` are on every later line of the
run: :func:`summarised` binds ``job`` and ``service``, the job binds its ``run_id`` as soon as it knows it
(bronze->silver's ``silver_run_id``, silver->gold's gold run id, the warehouse load the gold run it loads).

Run summary (:func:`summarised`): the whole of a job runs inside it, which prints exactly ONE embedded metric
format line (:mod:`data_contracts.emf`) when the run ends, whether it succeeded or raised (the exception then
propagates): ``event`` "run summary", dimension ``service``, the metrics
:data:`~data_contracts.metrics.RUN_DURATION` (wall seconds), :data:`~data_contracts.metrics.RUN_FAILED` (1
failed, 0 succeeded) and, for a run that succeeded, the record counts its result reports (each job maps its
result onto :data:`~data_contracts.metrics.RECORD_COUNTS` in one function, given as ``counts``); plus the
bound keys (``job``, ``run_id``...) and, for a failed run, ``error`` (the exception's type and message).
A ``SystemExit`` with code 0 or None is a success. A killed driver (``os._exit``) prints nothing.

Correlation. A run is followed by its ``run_id`` across these lines. A record is followed by its envelope's
``event_id``, which travels with the data, never through per-row log lines (a run moves millions of rows):
bronze lines hold the envelope, silver rows keep the winning event's ``event_id`` and the ``silver_run_id``
that wrote them (:mod:`lakehouse.silver_tables`), and so do the silver quarantine rows (with the rule they
failed); a gold copy lives under ``runs/g<generation>-<run_id>-<token>/`` (its run id), and the warehouse's
load log names the generation it loaded. From a gold row, its business key leads to the silver row and so to
its ``event_id``; from an ``event_id``, the ingest's log lines (``aws_request_id``) and the silver row's
``silver_run_id`` lead to the runs that moved it.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, TypeVar

from data_contracts import emf
from data_contracts.metrics import RUN_DURATION, RUN_FAILED, SERVICE_DIMENSION

__all__ = ["RUN_SUMMARY", "bind", "bound", "log", "parse_line", "summarised"]

T = TypeVar("T")

RUN_SUMMARY = "run summary"
"""The ``event`` of the run summary line."""

_bound: dict[str, Any] = {}
_lock = threading.Lock()
_RESERVED = ("timestamp", "level", "event")
_MAX_ERROR_CHARS = 1000


def bind(**keys: Any) -> None:
    """Add ``keys`` to every later line of the run (None removes a key)."""
    bad = [key for key in keys if key in _RESERVED]
    if bad:
        raise ValueError(f"{bad}: set by every line itself")
    with _lock:
        for key, value in keys.items():
            if value is None:
                _bound.pop(key, None)
            else:
                _bound[key] = value


def bound() -> dict[str, Any]:
    """The keys bound now."""
    with _lock:
        return dict(_bound)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write(line: str) -> None:
    with _lock:  # one line at a time: the tables of a run are processed in threads
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(event: str, *, level: str = "INFO", **keys: Any) -> None:
    """Print one JSON log line: ``event``, the bound keys, then ``keys`` (which win; None values are left
    out)."""
    line = {"timestamp": _now(), "level": level, "event": event}
    line.update({key: value for key, value in {**bound(), **keys}.items() if value is not None})
    _write(json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str))


def parse_line(text: str) -> dict[str, Any] | None:
    """A log line of :func:`log` (or the run summary) as a dict; None for any other line of a job's output."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) and isinstance(line.get("event"), str) else None


def summarised(job: str, service: str, call: Callable[[], T],
               counts: Callable[[T], Mapping[str, int]] | None = None) -> T:
    """``call()``, with ``job`` and ``service`` bound for its lines, followed by its one run summary line
    (see the module docstring); returns what ``call`` returns, re-raises what it raises. The keys bound
    before are restored afterwards (the local job host runs several jobs in one process)."""
    previous = bound()
    with _lock:
        _bound.clear()
    bind(job=job, service=service)
    start = time.monotonic()
    result: Any = None
    error: BaseException | None = None
    try:
        result = call()
        return result
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = exc
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        try:
            _summary(service, time.monotonic() - start, result, error, counts)
        finally:
            with _lock:
                _bound.clear()
                _bound.update(previous)


def _summary(service: str, seconds: float, result: Any, error: BaseException | None,
             counts: Callable[[Any], Mapping[str, int]] | None) -> None:
    metrics: dict[str, float] = {}
    problem = None
    if error is None and counts is not None:
        try:
            metrics.update({name: int(value) for name, value in counts(result).items()})
        except Exception as exc:  # noqa: BLE001 - the summary is printed anyway, without the counts
            problem = f"{type(exc).__name__}: {exc}"
    metrics[RUN_DURATION] = round(seconds, 3)
    metrics[RUN_FAILED] = 0 if error is None else 1
    keys = {key: value for key, value in bound().items()
            if key not in (SERVICE_DIMENSION, "error", "counts_error") and key not in metrics}
    message = None
    if error is not None:
        text = str(error.code if isinstance(error, SystemExit) else error)
        message = f"{type(error).__name__}: {text}"[:_MAX_ERROR_CHARS]
    _write(emf.render(metrics, service=service, timestamp=_now(), level="ERROR" if error else "INFO",
                      event=RUN_SUMMARY, **keys, error=message, counts_error=problem))
