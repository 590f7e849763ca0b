"""End-to-end fixtures: a private ministack for each test module, and the local stack deployed to it.

Each test module gets its own emulator (module scope), so the streaming tests and the batch tests never see
each other's data. The synthesized local stack (``make synth``; ``make test`` does it first) is applied with
Terraform once per test session (:func:`stack_snapshot`): to a private ministack on a free port, from a
temporary copy of the stack with its own state file, so the tests never touch the emulator or state that
``make demo`` left running. That emulator saves its state when it stops; a module that uses ``deployed``
gets a fresh copy of it, started on the same port, with a copy of the Terraform state: the stack as
deployed, without waiting again on every resource's creation (the S3 lifecycle waiter alone is about 55 s an
apply). A module whose variables differ (its own Kafka broker, :func:`kafka_bootstrap_servers`) applies
them to its copy.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_runtime import stacks
from local_runtime.aws import client
from local_runtime.paths import stack_dir
from local_runtime.services import free_port
from local_runtime.services.kafka import KafkaBroker
from local_runtime.services.ministack import start_ministack, stop_ministack


@dataclass(frozen=True)
class StackSnapshot:
    port: int               # every copy of the deployed emulator runs here (the state names it)
    home: Path              # the stopped emulator's folder: its saved state and S3 objects
    stack: Path             # the applied stack folder (initialized)
    state: Path             # its Terraform state
    variables: dict         # the variables it was applied with


def _start_copy(snapshot: StackSnapshot, folder: Path):
    home = folder / "ministack"
    shutil.copytree(snapshot.home, home)
    return home, start_ministack(snapshot.port, home=home, log=folder / "ministack.log", persist_s3=True,
                                 persist_state=True)


@pytest.fixture(scope="session")
def stack_snapshot(tmp_path_factory) -> StackSnapshot:
    """The local stack applied once, to an emulator stopped afterwards with its state saved."""
    source = stack_dir("local")
    if not (source / "cdk.tf.json").exists():
        pytest.fail(f"{source} is not synthesized: run `make synth` (make test does it)")
    root = tmp_path_factory.mktemp("deployed-stack")
    port, home, log = free_port(), root / "ministack", root / "ministack.log"
    emulator = start_ministack(port, home=home, log=log, persist_s3=True, persist_state=True)
    work, state = root / "lakeforge-local", root / "e2e.tfstate"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    env = stacks.local_env(emulator.endpoint)
    variables = stacks.local_variables(emulator.endpoint)
    try:  # stacks raises SystemExit (a command-line error): a test gets an ordinary failure instead
        stacks.init(work, env, backend_config={"path": str(state)})
        stacks.apply(work, env, variables, attempts=stacks.LOCAL_APPLY_ATTEMPTS)
    except SystemExit as exc:
        pytest.fail(f"deploying the local stack failed: {exc}")
    finally:
        stop_ministack(port, home=home, log=log)   # saves its state under home
    return StackSnapshot(port, home, work, state, variables)


def _uses_deployed(request) -> bool:
    return any(getattr(item, "module", None) is request.module and "deployed" in item.fixturenames
               for item in request.session.items)


@pytest.fixture(scope="module")
def emulator(request, tmp_path_factory):
    """A private ministack for one test module, its data removed afterwards: for a module that uses
    ``deployed``, a copy of the emulator the stack was deployed to (:func:`stack_snapshot`); else an empty
    one on a free port."""
    if not _uses_deployed(request):
        port = free_port()
        emu = start_ministack(port)
        yield emu
        stop_ministack(port, remove_data=True)
        return
    snapshot = request.getfixturevalue("stack_snapshot")
    folder = tmp_path_factory.mktemp("emulator")
    home, emu = _start_copy(snapshot, folder)
    yield emu
    stop_ministack(snapshot.port, home=home, log=folder / "ministack.log", remove_data=True)


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
def deployed(stack_snapshot, emulator, tmp_path_factory, kafka_bootstrap_servers):
    """The local stack as deployed to this module's emulator: its outputs, its folder (initialized, with its
    own copy of the state), the Terraform environment and the state file."""
    assert emulator.port == stack_snapshot.port, "the module's emulator is not the deployed one"
    work = tmp_path_factory.mktemp("stack") / "lakeforge-local"
    shutil.copytree(stack_snapshot.stack, work, ignore=shutil.ignore_patterns(".terraform"))
    state = work.parent / "e2e.tfstate"
    shutil.copyfile(stack_snapshot.state, state)
    env = stacks.local_env(emulator.endpoint)
    variables = stacks.local_variables(emulator.endpoint, kafka_bootstrap_servers)
    try:
        stacks.init(work, env, backend_config={"path": str(state)})
        if variables != stack_snapshot.variables:  # the state matches the emulator: nothing to read back
            stacks.apply(work, env, variables, attempts=stacks.LOCAL_APPLY_ATTEMPTS, refresh=False)
    except SystemExit as exc:
        pytest.fail(f"deploying the local stack failed: {exc}")
    missing = stacks.missing_resources(json.loads(state.read_text()), emulator.endpoint)
    assert not missing, f"the copy of the deployed emulator lacks {missing}"
    outputs = stacks.outputs(work, env)
    return {"outputs": outputs, "dir": work, "env": env, "state": state}


@pytest.fixture(scope="module")
def aws(emulator):
    return lambda service: client(service, emulator.endpoint)
