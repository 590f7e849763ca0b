"""The shared code of the Spark jobs as one deterministic zip, for Glue's ``--extra-py-files``.

``build/glue/lakehouse.zip`` holds exactly the first-party modules the job entry scripts import,
transitively (:mod:`bundling.imports`): the Glue jobs ``glue_jobs/*.py`` and the EMR step scripts named in
``emr_steps.steps.STEP_TEMPLATES``. Modules keep their repository paths (``lakehouse/job.py``,
``data_contracts/layout.py``, the ``__init__.py`` of every package on the way); the entry scripts
themselves are not in it (each is uploaded on its own and run as ``__main__``). Terraform uploads the zip
(and each job script) to the artifacts bucket with its hash, so a change of code is a change of object;
the EMR steps pass the same zip with ``--py-files``.
"""
from __future__ import annotations

from pathlib import Path

from bundling.archive import ROOT, write_if_changed, zip_bytes
from bundling.imports import Closure, closure
from modules.lambda_function_props import code_sha256

OUT = ROOT / "build" / "glue" / "lakehouse.zip"


def entry_scripts() -> list[Path]:
    """The Glue job scripts and the EMR step scripts, sorted."""
    from emr_steps.steps import STEP_TEMPLATES

    scripts = {path for path in (ROOT / "glue_jobs").glob("*.py") if path.name != "__init__.py"}
    scripts.update(ROOT / template["script"] for template in STEP_TEMPLATES)
    return sorted(scripts)


def jobs_closure() -> Closure:
    """The first-party import closure of every entry script (the entry scripts excluded)."""
    return closure(entry_scripts(), roots=[ROOT])


def build_glue_libs(target: Path = OUT) -> Path:
    return write_if_changed(target, zip_bytes(jobs_closure().files))


if __name__ == "__main__":
    path = build_glue_libs()
    print(f"{path.relative_to(ROOT)} {code_sha256(path.read_bytes())}")
