"""End-to-end fixtures: a private ministack on a free port, and the local stack applied to it.

Each test module gets its own emulator and deployment (module scope), so the streaming tests and the
batch tests never see each other's data.

The synthesized local stack (``make synth``; ``make test`` does it first) is copied to a temporary
folder and applied with Terraform against the private emulator (``-var aws_endpoint=...`` and the Kafka
broker's address, :func:`kafka_bootstrap_servers`; its own state file), so the tests never touch the emulator
or state that ``make demo`` left running.
"""
from __future__ import annotations

import shutil

import pytest

from local_runtime import stacks
from local_runtime.aws import client
from local_runtime.paths import stack_dir
from local_runtime.services import free_port
from local_runtime.services.kafka import KafkaBroker


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A local Kafka broker (:class:`KafkaBroker`) of the module's own, on a free port, its data under the
    module's temporary folder; started only for a module that asks for it."""
    service = KafkaBroker(free_port(), state=tmp_path_factory.mktemp("kafka-state"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def kafka_bootstrap_servers() -> str | None:
    """The broker the deployed stack names (``ingest_bootstrap_servers``): a module that uses Kafka overrides
    this with its own broker's address; the others never reach it (None: the default broker's address,
    nothing is started)."""
    return None


@pytest.fixture(scope="module")
def deployed(emulator, tmp_path_factory, kafka_bootstrap_servers):
    source = stack_dir("local")
    if not (source / "cdk.tf.json").exists():
        pytest.fail(f"{source} is not synthesized: run `make synth` (make test does it)")
    work = tmp_path_factory.mktemp("stack") / "lakeforge-local"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    env = stacks.local_env(emulator.endpoint)
    state = work.parent / "e2e.tfstate"
    try:  # stacks raises SystemExit (a command-line error): a test gets an ordinary failure instead
        stacks.init(work, env, backend_config={"path": str(state)})
        stacks.apply(work, env, stacks.local_variables(emulator.endpoint, kafka_bootstrap_servers),
                     attempts=stacks.LOCAL_APPLY_ATTEMPTS)
    except SystemExit as exc:
        pytest.fail(f"deploying the local stack failed: {exc}")
    outputs = stacks.outputs(work, env)
    return {"outputs": outputs, "dir": work, "env": env, "state": state}


@pytest.fixture(scope="module")
def aws(emulator):
    return lambda service: client(service, emulator.endpoint)
