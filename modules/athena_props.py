"""Options of :class:`modules.athena.AthenaWorkgroup` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass

from .options import (
    Props, Rule, at_least, create_option, matches, option, outputs, tags_option,
)

MIN_CUTOFF_BYTES = 10 * 1024 * 1024
"""Athena's smallest per-query scan limit (10 MB)."""


@dataclass(frozen=True)
class NamedQuery(Props):
    """One saved query of the workgroup (``aws_athena_named_query``). Parameters are ``?`` placeholders, bound
    by Athena (``ExecutionParameters``), never spliced into the text."""

    name: str = option(limit=matches(r"[A-Za-z0-9_.-]{1,128}", "1-128 letters, digits, ``_``, ``.`` or ``-``"),
                       doc="Query name, unique in the workgroup, e.g. ``kpi_loss_ratio``.")
    database: str = option(doc="Glue database the query runs in (token allowed).")
    sql: str = option(limit=matches(r"(?s).{1,262144}", "1-262144 characters"),
                      doc="The SQL, with ``?`` for each execution parameter.")
    description: str = option("", limit=matches(r"(?s).{0,1024}", "at most 1024 characters"),
                              doc="What the query returns (shown in the console).")


@dataclass(frozen=True)
class AthenaWorkgroupProps(Props):
    """Options of :class:`modules.athena.AthenaWorkgroup`."""

    name: str = option(doc="Workgroup name, e.g. ``lakeforge-dev``.")
    results_bucket: str = option(doc="Bucket (name) for query results (the lake's ``athena-results`` bucket).")
    results_prefix: str = option("results/", doc="Key prefix of the results.")
    kms_key_arn: str | None = option(
        None,
        doc="Key for ``SSE_KMS`` results; ``None`` = ``SSE_S3`` (still encrypted).")
    expected_bucket_owner: str | None = option(
        None,
        doc="Account id that must own the results bucket (token allowed); ``None`` = not checked.")
    bytes_scanned_cutoff_per_query: int = option(
        100 * 1024**3, limit=at_least(MIN_CUTOFF_BYTES, "at least 10 MB"),
        doc="Cancel a query scanning more than this many bytes (a cost guard rail). Default 100 GB.")
    engine_version: str = option("Athena engine version 3", doc="``AUTO`` or a named engine version.")
    publish_cloudwatch_metrics: bool = option(True, doc="Per-query CloudWatch metrics.")
    description: str = option(
        "lakeforge lake queries (enforced, KMS-encrypted results)",
        doc="Workgroup description.")
    force_destroy: bool = option(
        False,
        doc="Let ``terraform destroy`` delete a workgroup holding saved queries (local only).")
    named_queries: tuple[NamedQuery, ...] = option(
        (), doc="Saved queries created in the workgroup (``aws_athena_named_query``), e.g. the KPI queries of "
                "``queries/``.")
    tags: dict[str, str] = tags_option("the workgroup")
    create: bool = create_option()

    RULES = (
        Rule(("named_queries",), lambda queries: len({q.name for q in queries}) == len(queries),
             "named_queries: duplicate query names"),
    )


OUTPUTS = outputs(
    ("workgroup", "The ``aws_athena_workgroup`` resource."),
    ("name", "Name of the workgroup."),
    ("arn", "ARN of the workgroup."),
    ("output_location", "``s3://<results bucket>/<results prefix>``."),
    ("named_queries", "The ``aws_athena_named_query`` resources, by name."),
    ("named_query_ids", "Id of each named query, by name."),
    ("watches", "What watches its resources (:class:`modules.monitoring_props.Watch`): the monitoring construct's "
                "input."),
)
