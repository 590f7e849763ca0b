"""Options of :class:`modules.glue_workflow.GlueWorkflow` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .options import Props, at_least, create_option, glue_cron, non_empty, option, outputs, tags_option


@dataclass(frozen=True)
class GlueWorkflowProps(Props):
    """Options of :class:`modules.glue_workflow.GlueWorkflow`."""

    name: str = option(doc="Workflow name, e.g. ``lakeforge-dev-batch``.")
    job_names: tuple[str, ...] = option(
        limit=non_empty("at least one job"),
        doc="Jobs in run order (tokens allowed): ``(bronze_to_silver, silver_to_gold, warehouse_load)``.")
    schedule: str = option(
        "cron(0 3 * * ? *)", limit=glue_cron(),
        doc="Glue cron expression of the first job's trigger (UTC).")
    schedule_active: bool = option(
        True,
        doc="Activate the scheduled trigger at creation (``start_on_creation``); False = the workflow only "
            "runs on demand.")
    description: str = option("", doc="Workflow description.")
    max_concurrent_runs: int = option(
        1, limit=at_least(1),
        doc="Concurrent workflow runs (1: two scheduled runs never overlap on the same tables).")
    default_run_properties: Mapping[str, str] = option(
        default_factory=dict,
        doc="Workflow run properties readable by the jobs (no secrets).")
    step_timeout_minutes: int | None = option(
        None,
        doc="Timeout of each triggered job run (``None`` = the job's own timeout).")
    tags: dict[str, str] = tags_option("the workflow and triggers")
    create: bool = create_option()


OUTPUTS = outputs(
    ("workflow", "The ``aws_glue_workflow`` resource."),
    ("name", "Name of the workflow."),
    ("arn", "ARN of the workflow."),
    ("triggers", "The ``aws_glue_trigger`` resources, in run order."),
    ("trigger_names", "Trigger names, in run order."),
)
