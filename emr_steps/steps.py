"""The EMR step list, as data: used by the EMR Terraform module (cluster steps) and by the local runner.

Each step template is a dict with ``{placeholders}`` in its strings::

    name               step name
    script             the script, relative to the repository root (what the local runner runs)
    script_uri         where the deployment uploads it:  s3://{artifacts_bucket}/code/<script>
    py_files           the zip of the shared packages (lakehouse/ + data_contracts/):
                       s3://{artifacts_bucket}/code/lakeforge_jobs.zip
    args               script arguments (``--name value``)
    action_on_failure  EMR ActionOnFailure (CONTINUE, CANCEL_AND_WAIT, TERMINATE_CLUSTER)

:func:`render_steps` fills the placeholders; :func:`spark_submit_args` turns a rendered step into the
``spark-submit`` command line (for an EMR step: ``command-runner.jar`` with these args; rendered steps
also carry it as ``hadoop_jar_step``).

Without ``exports``, there is one step per ERP entity, reading every export dropped under
``s3://{bronze_bucket}/landing/erp/<entity>/`` (export id and time from each file name, e.g.
``policy_2024-06-01.csv``). With ``exports`` (a list of dicts: ``entity``, ``file`` (name under that
prefix, or a full URI), optional ``format``, ``export_id``, ``export_time``), one step per export.
Standard library only (the synth imports it).
"""
from __future__ import annotations

import copy
from typing import Any

from data_contracts import layout
from lakehouse.job import SPARK_CONF

__all__ = [
    "BACKFILL_ENTITIES",
    "BACKFILL_SCRIPT",
    "CODE_PREFIX",
    "PY_FILES",
    "STEP_TEMPLATES",
    "render_steps",
    "spark_submit_args",
]

BACKFILL_SCRIPT = "emr_steps/backfill_erp.py"
CODE_PREFIX = "s3://{artifacts_bucket}/code"
PY_FILES = CODE_PREFIX + "/lakeforge_jobs.zip"
BACKFILL_ENTITIES: tuple[str, ...] = ("customer", "policy", "premium_installment", "claim")

# One template per kind of step; {entity}, {input}, {export_args} are filled per step by render_steps.
STEP_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "backfill-erp-{step_suffix}",
        "script": BACKFILL_SCRIPT,
        "script_uri": CODE_PREFIX + "/" + BACKFILL_SCRIPT,
        "py_files": PY_FILES,
        "args": ["--input", "{input}", "--entity", "{entity}", "--bronze_path", "s3://{bronze_bucket}/",
                 "--format", "{format}"],
        "action_on_failure": "CONTINUE",
    },
]


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _step_suffix(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text).strip("-")


def render_steps(bronze_bucket: str, artifacts_bucket: str, exports: list[dict] | None = None) -> list[dict]:
    """The backfill steps for the given buckets (see the module docstring), placeholders filled."""
    template = STEP_TEMPLATES[0]
    base = {"bronze_bucket": bronze_bucket, "artifacts_bucket": artifacts_bucket}
    steps = []
    if exports is None:
        for entity in BACKFILL_ENTITIES:
            values = {**base, "entity": entity, "format": "auto", "step_suffix": entity,
                      "input": f"s3://{bronze_bucket}/{layout.landing_prefix(entity)}"}
            steps.append(_fill(copy.deepcopy(template), values))
    else:
        for export in exports:
            entity = export["entity"]
            if entity not in BACKFILL_ENTITIES:
                raise ValueError(f"export of unknown ERP entity {entity!r}")
            file = export["file"]
            uri = file if "://" in file else f"s3://{bronze_bucket}/{layout.landing_prefix(entity)}{file}"
            suffix = _step_suffix(export.get("export_id") or file.rsplit("/", 1)[-1].rsplit(".", 1)[0])
            values = {**base, "entity": entity, "format": export.get("format", "auto"), "input": uri,
                      "step_suffix": f"{entity}-{suffix}"}
            step = _fill(copy.deepcopy(template), values)
            for name in ("export_id", "export_time"):
                if export.get(name):
                    step["args"] += [f"--{name}", str(export[name])]
            steps.append(step)
    for step in steps:
        step["hadoop_jar_step"] = {"jar": "command-runner.jar", "args": spark_submit_args(step)}
    return steps


def spark_submit_args(step: dict, *, script: str | None = None, py_files: str | None = None,
                      deploy_mode: str = "cluster", conf: dict[str, str] | None = None) -> list[str]:
    """``spark-submit`` argv for a rendered step (EMR: the args of ``command-runner.jar``).

    ``script``/``py_files`` override the S3 locations (a local runner passes the repository paths;
    ``py_files=""`` leaves ``--py-files`` out), ``deploy_mode`` is ``cluster`` on EMR, ``client`` locally.
    """
    argv = ["spark-submit", "--deploy-mode", deploy_mode]
    for key, value in {**SPARK_CONF, **(conf or {})}.items():  # the jobs' Spark settings (lakehouse.job)
        argv += ["--conf", f"{key}={value}"]
    files = step.get("py_files", "") if py_files is None else py_files
    if files:
        argv += ["--py-files", files]
    argv.append(script if script is not None else step["script_uri"])
    argv += list(step["args"])
    return argv
