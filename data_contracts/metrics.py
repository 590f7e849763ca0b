"""The platform's own CloudWatch metrics and log keys: their names, defined once.

Every handler and job publishes its counts in CloudWatch's embedded metric format (EMF: one JSON log line
that CloudWatch Logs turns into metrics; locally ``local_runtime`` does that extraction), in
:data:`NAMESPACE`, with one dimension, :data:`SERVICE_DIMENSION`: the deployed name of the function or job
(a Lambda's ``POWERTOOLS_SERVICE_NAME``, a job's ``JOB_NAME``). The alarms that watch these metrics are
declared from the same names by the composition (``compose/monitoring.py`` hands them to the constructs),
so a metric renamed here is renamed in its alarm.

Log keys: every structured log line of a handler or a job carries :data:`CORRELATION_KEYS` where it knows
them: the envelope's ``event_id`` follows one record from ingestion to its silver and gold rows, the run id
of the batch run that moved it (``silver_run_id``, ``gold_run_id``) follows a run.

Standard library only.
"""
from __future__ import annotations

__all__ = [
    "CORRELATION_KEYS", "NAMESPACE", "QUERIES_FAILED", "QUERY_DURATION", "RECORDS_FAILED", "RECORDS_IN",
    "RECORDS_OUT", "RECORDS_QUARANTINED", "RECORD_COUNTS", "RUN_DURATION", "RUN_FAILED", "RUN_SUMMARY_METRICS",
    "SERVICE_DIMENSION", "STREAM_LAG", "UNITS",
]

NAMESPACE = "Lakeforge"
"""CloudWatch namespace of every metric the platform's code publishes (Powertools' ``POWERTOOLS_METRICS_NAMESPACE``)."""

SERVICE_DIMENSION = "service"
"""The one dimension of those metrics: the deployed function or job name (Powertools' ``service``)."""

RECORDS_IN = "records_in"
"""Records an invocation or a run read (a stream batch's records, a run's input rows)."""

RECORDS_OUT = "records_out"
"""Records it wrote onward (to bronze, to silver, to gold, to the warehouse)."""

RECORDS_QUARANTINED = "records_quarantined"
"""Records it set aside with a reason (the ingest's and bronze->silver's quarantine)."""

RECORDS_FAILED = "records_failed"
"""Records that failed (left to Lambda's retry, or to the failure queue)."""

RECORD_COUNTS: tuple[str, ...] = (RECORDS_IN, RECORDS_OUT, RECORDS_QUARANTINED, RECORDS_FAILED)
"""Counts every handler invocation and batch run publishes: read, written onward, set aside with a reason,
failed (to be retried or sent to the failure queue)."""

RUN_DURATION = "run_duration_seconds"
"""A batch run's wall time (one datapoint per run, in its run summary)."""

RUN_FAILED = "runs_failed"
"""1 when a batch run failed, 0 when it succeeded (one datapoint per run, in its run summary)."""

STREAM_LAG = "lag_seconds"
"""How far behind its source a consumer is: the age of the oldest record of the batch it just processed."""

RUN_SUMMARY_METRICS: tuple[str, ...] = (*RECORD_COUNTS, RUN_DURATION, RUN_FAILED)
"""What one batch run's summary line holds."""

QUERY_DURATION = "query_duration_seconds"
"""The query API: how long one KPI request took, Athena's run included (one datapoint per KPI request that
reached Athena)."""

QUERIES_FAILED = "queries_failed"
"""The query API: 1 when a KPI request failed on the platform's side (a 5xx answer), 0 when it was answered
(a caller's mistake, a 4xx, is neither)."""

UNITS: dict[str, str] = {
    **{name: "Count" for name in RECORD_COUNTS},
    RUN_DURATION: "Seconds", RUN_FAILED: "Count", STREAM_LAG: "Seconds",
    QUERY_DURATION: "Seconds", QUERIES_FAILED: "Count",
}
"""The CloudWatch unit of each metric above."""

CORRELATION_KEYS: tuple[str, ...] = ("event_id", "run_id", "job", "service")
"""Keys of the structured (JSON) log lines that let a record or a run be followed across logs."""
