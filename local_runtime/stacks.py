"""Deploy, destroy and read outputs of a synthesized environment stack with plain Terraform.

``python -m local_runtime.stacks deploy|destroy|outputs ENV``. The stack must have been synthesized
(``make synth``) into ``cdktf.out/stacks/lakeforge-<ENV>``. For ``local`` the AWS emulator must be
up (``make up``); when the emulator was restarted since the last apply (its in-memory resources are
gone), the stale local state is set aside first, so a deploy after ``make down && make up`` works.
dev and prod use the S3 backend declared in their environment config and real AWS credentials.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from local_runtime import terraform as tf
from local_runtime.aws import environment
from local_runtime.paths import STATE, stack_dir
from local_runtime.services import Emulator, ensure_emulator

LOCAL_STATE = STATE / "terraform"
LOCAL_APPLY_ATTEMPTS = 2


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
          parallelism: int = 20, attempts: int = 1) -> float:
    """terraform apply; returns seconds taken. Output streams to the console (progress).

    ``attempts > 1`` re-runs a failed apply (for emulators: the provider runs with ``max_retries = 1``
    so that an emulator's HTTP 500 fails fast instead of hanging, which also makes a dropped keep-alive
    connection fatal; a second apply picks up where the first stopped).
    """
    args = ["apply", "-auto-approve", "-input=false", "-no-color", f"-parallelism={parallelism}"]
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
    state_file = LOCAL_STATE / "local.tfstate"
    if emulator.instance == "external" or not state_file.exists():
        return
    if marker.exists() and marker.read_text().strip() != emulator.instance:
        backup = state_file.with_suffix(f".stale-{int(time.time())}")
        state_file.replace(backup)
        print(f"[deploy] the emulator was restarted since the last apply: old state moved to {backup.name}")


def deploy_local(directory: Path | None = None) -> dict:
    directory = directory or stack_dir("local")
    _check_synthesized(directory)
    emulator = ensure_emulator()
    env = local_env(emulator.endpoint)
    LOCAL_STATE.mkdir(parents=True, exist_ok=True)
    _forget_stale_local_state(emulator)
    print(f"[deploy] terraform init + apply of the local stack against {emulator.endpoint}", flush=True)
    init(directory, env)
    # From here on the local state describes this emulator instance, even if the apply fails half-way.
    _instance_marker().write_text(emulator.instance)
    seconds = apply(directory, env, {"aws_endpoint": emulator.endpoint}, attempts=LOCAL_APPLY_ATTEMPTS)
    print(f"[deploy] local stack applied in {seconds:.1f}s", flush=True)
    return outputs(directory, env)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"deploy", "destroy", "outputs"}:
        print("usage: python -m local_runtime.stacks deploy|destroy|outputs ENV", file=sys.stderr)
        return 2
    action, env_name = argv
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
            destroy(directory, env, {"aws_endpoint": endpoint}, refresh=False)
            _instance_marker().unlink(missing_ok=True)
            return 0
    else:
        env = tf.terraform_env()
    if action == "outputs":
        if not (directory / ".terraform").exists():
            init(directory, env)
        print(json.dumps(outputs(directory, env), indent=2, sort_keys=True))
        return 0
    init(directory, env)
    if action == "deploy":
        apply(directory, env)
    else:
        destroy(directory, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
