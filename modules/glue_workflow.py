"""GlueWorkflow: a Glue workflow that runs a chain of jobs: the first on a schedule, each next one when
the previous SUCCEEDED.

What it creates:

* ``aws_glue_workflow`` ``<name>`` (at most ``max_concurrent_runs`` runs at a time, default 1, so two
  scheduled runs never overlap on the same tables);
* ``aws_glue_trigger`` ``<name>-start``: ``SCHEDULED`` (Glue cron ``schedule``) starting the first job;
  ``start_on_creation`` = ``schedule_active`` (False = the workflow only runs on demand, e.g. against
  the emulator);
* ``aws_glue_trigger`` ``<name>-step-<n>`` for each next job (n = 2, 3, ...): ``CONDITIONAL`` with the
  predicate "previous job ``SUCCEEDED``" (a failed bronze -> silver run never feeds gold). Conditional
  triggers are always activated: an on-demand workflow run must proceed too.

Job names come from :class:`modules.glue_jobs.GlueJobs` (tokens, so the triggers depend on the jobs).
"""
from __future__ import annotations

from constructs import Construct

from .glue_workflow_props import OUTPUTS, GlueWorkflowProps
from ._bindings import aws

__all__ = ["OUTPUTS", "GlueWorkflow", "GlueWorkflowProps"]


class GlueWorkflow(Construct):
    """Scheduled Glue workflow chaining jobs on success.

    Options: :class:`GlueWorkflowProps`; outputs: :data:`OUTPUTS` (``modules/glue_workflow_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: GlueWorkflowProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.workflow = None
        self.name: str | None = None
        self.arn: str | None = None
        self.triggers: list[object] = []
        self.trigger_names: list[str] = []
        if not props.create:
            return

        binding = aws.glue_trigger
        GlueTrigger = binding.GlueTrigger
        GlueTriggerActions = binding.GlueTriggerActions
        GlueTriggerPredicate = binding.GlueTriggerPredicate
        GlueTriggerPredicateConditions = binding.GlueTriggerPredicateConditions
        GlueWorkflowResource = aws.glue_workflow.GlueWorkflow

        p = props
        tags = dict(p.tags)
        self.workflow = GlueWorkflowResource(
            self, "workflow", name=p.name, description=p.description or None,
            max_concurrent_runs=p.max_concurrent_runs,
            default_run_properties=dict(p.default_run_properties) or None, tags=tags,
        )

        def action(job: str) -> list:
            return [GlueTriggerActions(job_name=job, timeout=p.step_timeout_minutes)]

        start = GlueTrigger(
            self, "start", name=f"{p.name}-start", type="SCHEDULED", schedule=p.schedule,
            start_on_creation=p.schedule_active, workflow_name=self.workflow.name,
            description="Starts the workflow on its schedule", actions=action(p.job_names[0]), tags=tags,
        )
        self.triggers.append(start)
        for i, (previous, job) in enumerate(zip(p.job_names, p.job_names[1:]), start=1):
            trigger = GlueTrigger(
                self, f"after_{i}", name=f"{p.name}-step-{i + 1}", type="CONDITIONAL", start_on_creation=True,
                workflow_name=self.workflow.name,
                description=f"Runs step {i + 1} when step {i} SUCCEEDED",
                predicate=GlueTriggerPredicate(logical="AND", conditions=[
                    GlueTriggerPredicateConditions(job_name=previous, state="SUCCEEDED", logical_operator="EQUALS"),
                ]),
                actions=action(job), tags=tags,
            )
            self.triggers.append(trigger)
        self.trigger_names = [t.name for t in self.triggers]
        self.name = self.workflow.name
        self.arn = self.workflow.arn
