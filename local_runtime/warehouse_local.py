"""The warehouse load against the local stand-ins, for the demo and the benchmarks: the published gold copy
in the emulator's S3 -> the PostgreSQL service (:mod:`local_runtime.services.postgres`).

:func:`load_local_warehouse` takes the deployed stack's outputs (bucket names) and passes the load exactly
the arguments the deployed job would get (:data:`warehouse.load.CONTRACT`), so the publication record is read
where silver->gold writes it. :mod:`lakehouse.objects` reads that record with its S3 client
(:func:`lakehouse.objects.s3_client`), which takes its endpoint from the environment: the emulator's variables
are set for the duration of the call and restored afterwards.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from local_runtime.aws import client, environment
from local_runtime.services.postgres import PostgresServer
from warehouse.connection import connect
from warehouse.load import CONTRACT, LoadResult, load_published
from warehouse.schema import DEFAULT_SCHEMA

__all__ = ["emulator_environment", "load_local_warehouse"]


@contextmanager
def emulator_environment(endpoint: str) -> Iterator[None]:
    """This process's boto3 default clients go to the emulator at ``endpoint`` inside the block."""
    wanted = environment(endpoint)
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_local_warehouse(endpoint: str, outputs: Mapping[str, str], *, schema: str = DEFAULT_SCHEMA,
                         force: bool = False, server: PostgresServer | None = None, log=print) -> LoadResult:
    """Load the published gold copy of the stack deployed to the emulator at ``endpoint`` (``outputs``: the
    stack outputs, ``<bucket>_bucket`` names) into the local PostgreSQL (started if it is not running).
    Returns the rows per table in the warehouse (``.counts``)."""
    server = server or PostgresServer()
    server.start()
    buckets = {name[:-len("_bucket")]: value for name, value in outputs.items() if name.endswith("_bucket")}
    args = {name.lstrip("-"): value for name, value in CONTRACT.deployed_arguments(buckets).items()}
    s3 = client("s3", endpoint)
    with emulator_environment(endpoint), connect(server.settings(), s3=s3) as warehouse:
        return load_published(warehouse, args["gold_path"], args["state_path"], schema=schema, force=force, s3=s3,
                              log=log)
