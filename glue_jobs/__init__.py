"""Glue 5.0 job scripts (Spark 3.5, Python 3.11): thin entrypoints that parse their arguments and do the I/O;
the transformations live in :mod:`lakehouse`, the warehouse load in :mod:`warehouse.load`. Each script declares
its ``CONTRACT`` (arguments, the S3 prefixes it reads and writes, the catalog layers it uses), from which the
composition derives the job's default arguments and its IAM grants.

Glue runs each script on its own (``<job>.py`` as ``__main__``, the shared code on ``--extra-py-files``);
this package only lists them for the composition.
"""
from __future__ import annotations

from pathlib import Path

from glue_jobs import bronze_to_silver, silver_to_gold, warehouse_load
from lakehouse.job import JobContract

HERE = Path(__file__).resolve().parent

WORKFLOW: tuple[JobContract, ...] = (bronze_to_silver.CONTRACT, silver_to_gold.CONTRACT, warehouse_load.CONTRACT)
"""The jobs in workflow order: bronze -> silver on schedule, then silver -> gold when it succeeded, then the
warehouse load of the published gold when that succeeded (where the environment has a warehouse:
``compose.batch.workflow_jobs``)."""


def script(contract: JobContract) -> Path:
    """The entry script of a job (``glue_jobs/<name>.py``)."""
    return HERE / f"{contract.name}.py"


def scripts() -> dict[str, Path]:
    """Job key -> entry script, in workflow order."""
    return {contract.name: script(contract) for contract in WORKFLOW}
