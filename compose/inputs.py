"""What a stack takes from outside Terraform, built or declared before synth: the Lambda packages, the Spark
jobs' shared-code zip, the Glue job scripts, the silver/gold table specs and the EMR backfill steps.

:func:`resolve` fills in the real ones for the services a configuration enables (a zip is built only when
something deploys it); tests pass small stand-ins in :class:`BuildInputs`.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from environments import EnvironmentConfig

INGEST_FUNCTION = "ingest"
"""The ingest Lambda: ``lambda_src/ingest/``, packaged by ``bundling.lambda_zip``."""

INGEST_MSK_FUNCTION = "ingest_msk"
"""The MSK ingest Lambda (``[services] msk``): ``lambda_src/ingest_msk/``."""

KAFKA_TOPICS_FUNCTION = "kafka_topics"
"""The topic-admin Lambda of an MSK cluster (``[services] msk``): ``lambda_src/kafka_topics/``."""

QUERY_FUNCTION = "query_api"
"""The query API's Lambda: ``lambda_src/query_api/``."""

AUTHORIZER_FUNCTION = "api_authorizer"
"""The query API's Lambda authorizer (``[api] authorization = "LAMBDA"``): ``lambda_src/api_authorizer/``."""


@dataclass(frozen=True)
class BuildInputs:
    """Inputs of the constructs that come from outside Terraform. ``None`` = the real ones (:func:`resolve`)."""

    lambda_zips: Mapping[str, Path] | None = None
    """Function name -> deployment package (default: ``bundling.lambda_zip.build_function_zip(name)``)."""

    libs_zip: Path | None = None
    """Shared code zip for Glue ``--extra-py-files`` and EMR ``--py-files`` (default:
    ``bundling.glue_libs.build_glue_libs()``)."""

    scripts: Mapping[str, Path] | None = None
    """Glue job key -> script (default: ``glue_jobs/<key>.py`` of every job in ``glue_jobs.WORKFLOW``)."""

    tables: tuple | None = None
    """Silver/gold ``TableSpec``s for the catalog (default: ``lakehouse.tables.all_tables()``)."""

    emr_steps: Callable[[str, str], Sequence[dict]] | None = None
    """``(bronze bucket, artifacts bucket) ->`` rendered EMR steps (default: ``emr_steps.steps.render_steps``)."""

    queries: tuple | None = None
    """The queries (``queries.Query``) that become the Athena workgroup's named queries (default: the KPI queries,
    ``queries.kpi.kpis()``, which the query API runs)."""


@functools.lru_cache(maxsize=None)
def function_zip(name: str) -> Path:
    """Build (or reuse) the deployment package of one Lambda function (once per process)."""
    from bundling.lambda_zip import build_function_zip

    return Path(build_function_zip(name))


@functools.lru_cache(maxsize=None)
def libs_zip() -> Path:
    """Build (or reuse) the Spark jobs' shared-code zip, deterministic (once per process)."""
    from bundling.glue_libs import build_glue_libs

    return Path(build_glue_libs())


def resolve(given: BuildInputs | None, config: EnvironmentConfig) -> BuildInputs:
    """``given`` with every missing input replaced by the real one the enabled services need."""
    import glue_jobs
    from queries import kpi
    from emr_steps.steps import render_steps
    from lakehouse.tables import all_tables

    given = given or BuildInputs()
    svc = config.services
    lambda_zips = given.lambda_zips
    if lambda_zips is None:
        wanted = [INGEST_FUNCTION] if svc.ingest_lambda else []
        if svc.msk or svc.msk_ingest_lambda:
            wanted.append(INGEST_MSK_FUNCTION)
        if svc.msk:
            wanted.append(KAFKA_TOPICS_FUNCTION)
        if svc.query_api:
            wanted.append(QUERY_FUNCTION)
            if config.api.authorization == "LAMBDA":
                wanted.append(AUTHORIZER_FUNCTION)
        lambda_zips = {name: function_zip(name) for name in wanted}
    # The EMR step code is uploaded with the cluster, or alone locally (the local runner reads it there).
    wants_libs = svc.s3_lake and (svc.glue_jobs or svc.emr or config.is_local)
    return BuildInputs(
        lambda_zips=lambda_zips,
        libs_zip=given.libs_zip or (libs_zip() if wants_libs else None),
        scripts=given.scripts if given.scripts is not None else glue_jobs.scripts(),
        tables=given.tables if given.tables is not None else (all_tables() if svc.glue_catalog else ()),
        emr_steps=given.emr_steps or render_steps,
        queries=given.queries if given.queries is not None else (
            tuple(k.query for k in kpi.kpis()) if svc.athena else ()),
    )
