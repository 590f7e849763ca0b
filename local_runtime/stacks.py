"""Deploy, destroy and read outputs of a synthesized environment stack with plain Terraform.

``python -m local_runtime.stacks deploy|destroy|outputs ENV``. The stack must have been synthesized
(``make synth``) into ``cdktf.out/stacks/lakeforge-<ENV>``. For ``local`` the AWS emulator must be
up (``make up``); when the emulator was restarted since the last apply (its in-memory resources are
gone), the stale local state is set aside first, so a deploy after ``make down && make up`` works.
dev and prod use the S3 backend declared in their environment config and real AWS credentials.

Outside ``local``, ``deploy`` and ``destroy`` save a plan (``plan -destroy`` for destroy), show it and ask on
the terminal to type the environment's name before applying exactly that plan; ``AUTO_APPROVE=1`` applies
without asking (automation). Without a terminal and without ``AUTO_APPROVE=1`` they refuse before any work.
``local`` never asks (the demo and the tests deploy it). ``python -m local_runtime.stacks check ACTION ENV``
runs only these checks (the Makefile runs it before synthesizing): an unknown environment or a question
that cannot be asked fails at once, with one line saying what to change.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from environments import ENVIRONMENTS, ConfigError, load_environment
from local_runtime import terraform as tf
from local_runtime.aws import environment
from local_runtime.paths import STATE, stack_dir
from local_runtime.services import Emulator, ensure_emulator

LOCAL_STATE = STATE / "terraform"
LOCAL_STATE_FILE = LOCAL_STATE / "local.tfstate"
"""The local stack's state (its backend's path)."""
LOCAL_APPLY_ATTEMPTS = 3
"""Applies of the local stack before giving up: the emulator sometimes drops a keep-alive connection
("use of closed network connection"), more often on a loaded machine; each apply resumes where the last stopped."""
ACTIONS: tuple[str, ...] = ("deploy", "destroy", "outputs")
AUTO_APPROVE = "AUTO_APPROVE"
"""Environment variable (and make variable): ``1`` applies a cloud plan without asking."""


class UsageError(Exception):
    """Bad input to a command: one line saying what to change (exit code 2, nothing was done)."""


def check_environment(name: str) -> None:
    """``name`` is one of the project's environments (:data:`environments.ENVIRONMENTS`)."""
    if name not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {name!r}: ENV must be one of {', '.join(ENVIRONMENTS)}")


def approval(action: str, env_name: str, auto_approve: str | None, interactive: bool) -> str:
    """How a change is approved: ``"none"`` (no plan to approve: ``outputs``, or ``local``, the emulator),
    ``"auto"`` (``AUTO_APPROVE=1``) or ``"ask"`` (on the terminal). Raises :class:`UsageError` when the question
    cannot be asked (no terminal) and nothing approves it, or when ``AUTO_APPROVE`` is neither 1 nor 0/unset."""
    value = (auto_approve or "").strip()
    if value not in ("", "0", "1"):
        raise UsageError(f"{AUTO_APPROVE} must be 1 (apply without asking) or 0/unset (ask), got {value!r}")
    if action == "outputs" or env_name == "local":
        return "none"
    if value == "1":
        return "auto"
    if interactive:
        return "ask"
    raise UsageError(f"`{action} ENV={env_name}` shows the plan and asks for confirmation, but there is no "
                     f"terminal to ask on: run it from a terminal, or set {AUTO_APPROVE}=1 to {action} without asking")


def preflight(action: str, env_name: str, environ: Mapping[str, str] | None = None,
              interactive: bool | None = None) -> str:
    """Every check that needs no work (no synth, no Terraform): the action, the environment and how the change
    is approved (:func:`approval`). Raises :class:`UsageError`."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    check_environment(env_name)
    environ = os.environ if environ is None else environ
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    return approval(action, env_name, environ.get(AUTO_APPROVE), interactive)


def confirm(action: str, env_name: str, read: Callable[[str], str] = input) -> bool:
    """Ask on the terminal; only the environment's name typed back confirms."""
    try:
        answer = read(f"{action.capitalize()} the {env_name} stack as planned above? "
                      f"Type '{env_name}' to confirm, anything else cancels: ")
    except (EOFError, KeyboardInterrupt):  # end of input or Ctrl-C at the question: cancelled
        print()
        answer = ""
    return answer.strip() == env_name


def _check_synthesized(directory: Path) -> None:
    if not (directory / "cdk.tf.json").exists():
        raise SystemExit(f"{directory}/cdk.tf.json is missing: run `make synth` first")


def local_env(endpoint: str) -> dict[str, str]:
    return tf.terraform_env(environment(endpoint))


def init(directory: Path, env: dict[str, str], backend_config: dict[str, str] | None = None) -> None:
    args = ["init", "-input=false", "-no-color"]
    for key, value in (backend_config or {}).items():
        args.append(f"-backend-config={key}={value}")
    if backend_config:
        args.append("-reconfigure")
    proc = tf.run(args, directory, env=env, capture=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"terraform init failed in {directory}")


def apply(directory: Path, env: dict[str, str], variables: dict[str, str] | None = None,
          parallelism: int = 20, attempts: int = 1, refresh: bool = True) -> float:
    """terraform apply; returns seconds taken. Output streams to the console (progress).

    ``refresh=False`` plans from the state alone (no read of every resource first): for a state known to
    match what the emulator holds, e.g. one restored with it.

    ``attempts > 1`` re-runs a failed apply (for emulators: the provider retries a request at most twice,
    ``max_retries = 3``, so that an emulator's HTTP 500 fails in seconds instead of hanging; a dropped keep-alive
    connection that outlasts those retries fails the apply, and a second apply picks up where the first stopped).
    """
    args = ["apply", "-auto-approve", "-input=false", "-no-color", f"-parallelism={parallelism}"]
    if not refresh:
        args.append("-refresh=false")
    args += [f"-var={k}={v}" for k, v in (variables or {}).items()]
    start = time.monotonic()
    for attempt in range(1, attempts + 1):
        proc = tf.run(args, directory, env=env, check=False)
        if proc.returncode == 0:
            return time.monotonic() - start
        if attempt < attempts:
            print(f"[deploy] terraform apply failed (exit {proc.returncode}); applying again "
                  f"({attempt + 1}/{attempts})", flush=True)
    raise SystemExit(f"terraform apply failed in {directory} (exit {proc.returncode})")


def destroy(directory: Path, env: dict[str, str], variables: dict[str, str] | None = None,
            refresh: bool = True) -> None:
    """terraform destroy. ``refresh=False`` for emulators, whose reads can disagree with the state."""
    args = ["destroy", "-auto-approve", "-input=false", "-no-color", "-parallelism=20"]
    if not refresh:
        args.append("-refresh=false")
    args += [f"-var={k}={v}" for k, v in (variables or {}).items()]
    proc = tf.run(args, directory, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"terraform destroy failed in {directory} (exit {proc.returncode})")


def plan_and_apply(directory: Path, env: dict[str, str], action: str, env_name: str, mode: str,
                   ask: Callable[[str, str], bool] = confirm, hint: str = "") -> bool:
    """Save a plan (``-destroy`` for destroy), show it, and apply exactly that plan once approved (``mode``
    ``"auto"``, or ``"ask"``: ``ask(action, env_name)`` must return True). Returns whether anything was
    applied. A plan without changes applies nothing and asks nothing. ``hint`` is added to a failed plan's
    message."""
    plan_file = directory / f"{action}.tfplan"
    args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-parallelism=20", f"-out={plan_file.name}"]
    if action == "destroy":
        args.append("-destroy")
    try:
        proc = tf.run(args, directory, env=env, check=False)
        if proc.returncode == 0:
            print(f"[{action}] {env_name}: the plan has no changes; nothing to apply", flush=True)
            return False
        if proc.returncode != 2:
            raise SystemExit(f"terraform plan failed in {directory} (exit {proc.returncode}){hint}")
        if mode != "auto" and not ask(action, env_name):
            print(f"[{action}] {env_name}: not confirmed; nothing was changed", flush=True)
            return False
        proc = tf.run(["apply", "-input=false", "-no-color", "-parallelism=20", plan_file.name], directory,
                      env=env, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"terraform apply failed in {directory} (exit {proc.returncode})")
        return True
    finally:
        plan_file.unlink(missing_ok=True)  # a plan file holds the planned values: never leave it behind


def _destroy_hint(env_name: str) -> str:
    try:
        protected = load_environment(env_name).prevent_destroy
    except ConfigError:
        return ""
    return (f"; environments/{env_name}.toml sets prevent_destroy = true, so Terraform refuses to delete the "
            f"buckets, the key and the stream: set it to false, deploy, then destroy" if protected else "")


def outputs(directory: Path, env: dict[str, str]) -> dict:
    proc = tf.run(["output", "-json", "-no-color"], directory, env=env, capture=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"terraform output failed: {proc.stderr.strip()}")
    return {name: item["value"] for name, item in json.loads(proc.stdout or "{}").items()}


def _instance_marker() -> Path:
    return LOCAL_STATE / "local.emulator-instance"


def _forget_stale_local_state(emulator: Emulator) -> None:
    """A fresh emulator holds none of the resources in the local state: set that state aside."""
    marker = _instance_marker()
    state_file = LOCAL_STATE_FILE
    if emulator.instance == "external" or not state_file.exists():
        return
    if marker.exists() and marker.read_text().strip() != emulator.instance:
        backup = state_file.with_suffix(f".stale-{int(time.time())}")
        state_file.replace(backup)
        print(f"[deploy] the emulator was restarted since the last apply: old state moved to {backup.name}")


def local_variables(endpoint: str, kafka_bootstrap_servers: str | None = None) -> dict[str, str]:
    """The local stack's variables: the emulator's endpoint and the local Kafka broker's address (both per
    machine; the broker's from its service's settings, ``LAKEFORGE_KAFKA_PORT``, unless given)."""
    from local_runtime.services.kafka import KafkaBroker

    return {"aws_endpoint": endpoint,
            "kafka_bootstrap_servers": kafka_bootstrap_servers or KafkaBroker().bootstrap_servers}


# --- the local apply, skipped when nothing changed ----------------------------------------------------------

def _applied_record() -> Path:
    return LOCAL_STATE / "local.applied.json"


def local_apply_fingerprint(directory: Path, variables: Mapping[str, str], emulator: Emulator) -> dict[str, str]:
    """What a local apply is a function of: the synthesized stack (``cdk.tf.json`` and its assets), the
    variables, the state it left and the emulator instance it went to."""
    import hashlib

    from bundling.synth import digest, stack_files

    state = LOCAL_STATE_FILE
    return {"stack": digest(stack_files(directory), directory),
            "variables": hashlib.sha256(json.dumps(dict(variables), sort_keys=True).encode()).hexdigest(),
            "state": hashlib.sha256(state.read_bytes()).hexdigest() if state.exists() else "",
            "emulator": emulator.instance}


_PROBES: dict[str, tuple[str, Callable[[Any, dict], Any]]] = {
    "aws_s3_bucket": ("s3", lambda c, a: c.head_bucket(Bucket=a["bucket"])),
    "aws_kms_key": ("kms", lambda c, a: c.describe_key(KeyId=a["key_id"])),
    "aws_kinesis_stream": ("kinesis", lambda c, a: c.describe_stream_summary(StreamName=a["name"])),
    "aws_lambda_function": ("lambda", lambda c, a: c.get_function(FunctionName=a["function_name"])),
    "aws_sqs_queue": ("sqs", lambda c, a: c.get_queue_attributes(QueueUrl=a["url"], AttributeNames=["QueueArn"])),
    "aws_glue_catalog_database": ("glue", lambda c, a: c.get_database(Name=a["name"])),
    "aws_glue_job": ("glue", lambda c, a: c.get_job(JobName=a["name"])),
    "aws_athena_workgroup": ("athena", lambda c, a: c.get_work_group(WorkGroup=a["name"])),
}
"""Resource type -> (service, a read of one resource from its state attributes): what :func:`missing_resources`
asks the emulator."""


def missing_resources(state: dict, endpoint: str) -> list[str]:
    """Addresses of the state's resources (of the :data:`_PROBES` types) that the emulator no longer has."""
    from local_runtime.aws import client

    clients: dict[str, Any] = {}
    missing = []
    for resource in state.get("resources", ()):
        probe = _PROBES.get(resource.get("type")) if resource.get("mode") == "managed" else None
        if probe is None:
            continue
        service, read = probe
        for instance in resource.get("instances", ()):
            try:
                read(clients.setdefault(service, client(service, endpoint)), instance["attributes"])
            except Exception:  # noqa: BLE001 - any failed read: the resource is not (all) there
                missing.append(f"{resource['type']}.{resource['name']}")
    return missing


def unchanged_local_outputs(directory: Path, variables: Mapping[str, str], emulator: Emulator) -> dict | None:
    """The outputs of the last local apply, when applying again would change nothing: the stack, the variables
    and the state are the ones that apply left, on the same emulator instance, and the emulator still holds the
    resources; else None (apply)."""
    try:
        recorded = json.loads(_applied_record().read_text())
    except (OSError, ValueError):
        return None
    if recorded != local_apply_fingerprint(directory, variables, emulator):
        return None
    state = json.loads(LOCAL_STATE_FILE.read_text())
    missing = missing_resources(state, emulator.endpoint)
    if missing:
        print(f"[deploy] the emulator lost {len(missing)} resource(s) of the local state (e.g. {missing[0]}): "
              f"applying", flush=True)
        return None
    return {name: item["value"] for name, item in state.get("outputs", {}).items()}


def deploy_local(directory: Path | None = None) -> dict:
    """Apply the local stack to the emulator, or nothing when :func:`unchanged_local_outputs` says it is there
    as synthesized (dev and prod always plan)."""
    directory = directory or stack_dir("local")
    _check_synthesized(directory)
    emulator = ensure_emulator()
    env = local_env(emulator.endpoint)
    LOCAL_STATE.mkdir(parents=True, exist_ok=True)
    _forget_stale_local_state(emulator)
    variables = local_variables(emulator.endpoint)
    kept = unchanged_local_outputs(directory, variables, emulator)
    if kept is not None:
        print(f"[deploy] the local stack is applied as synthesized and the emulator holds it: terraform apply "
              f"skipped", flush=True)
        return kept
    _applied_record().unlink(missing_ok=True)
    print(f"[deploy] terraform init + apply of the local stack against {emulator.endpoint}", flush=True)
    init(directory, env)
    # From here on the local state describes this emulator instance, even if the apply fails half-way.
    _instance_marker().write_text(emulator.instance)
    seconds = apply(directory, env, variables, attempts=LOCAL_APPLY_ATTEMPTS)
    print(f"[deploy] local stack applied in {seconds:.1f}s", flush=True)
    result = outputs(directory, env)
    _applied_record().write_text(json.dumps(local_apply_fingerprint(directory, variables, emulator), indent=1))
    return result


USAGE = "usage: python -m local_runtime.stacks [check] deploy|destroy|outputs ENV"


def main(argv: list[str]) -> int:
    only_check = bool(argv) and argv[0] == "check"
    if only_check:
        argv = argv[1:]
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    action, env_name = argv
    try:
        mode = preflight(action, env_name)
    except UsageError as exc:
        print(f"lakeforge: {exc}", file=sys.stderr)
        return 2
    if only_check:
        return 0
    directory = stack_dir(env_name)
    if action == "deploy" and env_name == "local":
        deploy_local(directory)
        return 0
    _check_synthesized(directory)
    if env_name == "local":
        from local_runtime.services import endpoint_from_env, health
        endpoint = endpoint_from_env()
        env = local_env(endpoint)
        if action == "destroy":
            if health(endpoint) is None:
                print("[destroy] the emulator is not running: nothing to destroy; removing local state")
                shutil.rmtree(LOCAL_STATE, ignore_errors=True)
                return 0
            init(directory, env)
            destroy(directory, env, local_variables(endpoint), refresh=False)
            _instance_marker().unlink(missing_ok=True)
            _applied_record().unlink(missing_ok=True)
            return 0
    else:
        env = tf.terraform_env()
    if action == "outputs":
        if not (directory / ".terraform").exists():
            init(directory, env)
        print(json.dumps(outputs(directory, env), indent=2, sort_keys=True))
        return 0
    init(directory, env)
    hint = _destroy_hint(env_name) if action == "destroy" else ""
    plan_and_apply(directory, env, action, env_name, mode, hint=hint)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
