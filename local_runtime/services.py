"""Local services: start, probe and stop the AWS emulator (ministack) for the local environment.

``make up`` -> ``python -m local_runtime.services up``: if ``AWS_ENDPOINT_URL`` (default
``http://127.0.0.1:4566``) already answers a health check (LocalStack or ministack started by
``docker compose up``, or by an earlier ``make up``), that emulator is used; otherwise ministack,
installed from PyPI into the project virtualenv, is started in the background bound to
127.0.0.1, with its data, log and PID file under ``.state/``. ``up`` is idempotent.
``make down`` stops only what ``make up`` started, by the PID it recorded.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from local_runtime.paths import STATE

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
HEALTH_PATHS = ("/_ministack/health", "/_localstack/health")
REGION = "us-east-1"
# Credentials the emulator accepts; they are not secrets and never reach real AWS.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    pid: int | None          # None when the emulator was started by someone else
    instance: str            # changes whenever a fresh (empty) emulator is started

    @property
    def port(self) -> int:
        return urlparse(self.endpoint).port or 80


def endpoint_from_env() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


def health(endpoint: str, timeout: float = 1.0) -> dict | None:
    """The emulator's health document, or None if nothing healthy answers."""
    for path in HEALTH_PATHS:
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + path, timeout=timeout) as resp:
                if resp.status == 200:
                    body = resp.read()
                    try:
                        return json.loads(body or b"{}")
                    except ValueError:
                        return {}
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return None


def _dirs(port: int) -> dict[str, Path]:
    base = STATE / f"ministack-{port}"
    return {"base": base, "pid": base / "ministack.pid", "instance": base / "instance",
            "log": STATE / "logs" / f"ministack-{port}.log", "tmp": base / "tmp", "s3": base / "s3",
            "state": base / "state"}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _recorded(port: int) -> tuple[int | None, str]:
    d = _dirs(port)
    pid = int(d["pid"].read_text()) if d["pid"].exists() else None
    instance = d["instance"].read_text().strip() if d["instance"].exists() else "external"
    return pid, instance


def start_ministack(port: int, *, wait_seconds: float = 60.0) -> Emulator:
    """Start a fresh ministack on 127.0.0.1:port in the background and wait until healthy."""
    d = _dirs(port)
    for key in ("base", "tmp", "s3", "state"):
        d[key].mkdir(parents=True, exist_ok=True)
    d["log"].parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "MINISTACK_REGION": REGION,
        "TMPDIR": str(d["tmp"]), "S3_DATA_DIR": str(d["s3"]), "STATE_DIR": str(d["state"]),
        "PERSIST_STATE": "0", "S3_PERSIST": "0", "LOG_LEVEL": os.environ.get("MINISTACK_LOG_LEVEL", "WARNING"),
        # Lambda handlers run as warm local subprocesses; give them the full timeout.
        "LAMBDA_WARM_TTL_SECONDS": "600",
    })
    env.pop("AWS_ENDPOINT_URL", None)
    log = open(d["log"], "ab")  # noqa: SIM115 - handed to the child, closed when we return
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ministack"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=d["base"])
    finally:
        log.close()
    instance = f"{proc.pid}-{time.time_ns()}"
    d["pid"].write_text(str(proc.pid))
    d["instance"].write_text(instance)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ministack exited with {proc.returncode}; see {d['log']}")
        if health(endpoint, timeout=0.5) is not None:
            return Emulator(endpoint, proc.pid, instance)
        time.sleep(0.2)
    stop_ministack(port)
    raise RuntimeError(f"ministack did not become healthy in {wait_seconds:.0f}s; see {d['log']}")


def stop_ministack(port: int, timeout: float = 15.0, *, remove_data: bool = False) -> bool:
    """Stop the ministack that this project started on ``port``; True if one was stopped.

    ``remove_data`` also deletes its folder under ``.state/`` (for throw-away test emulators)."""
    d = _dirs(port)
    pid, _ = _recorded(port)
    stopped = False
    if pid and _pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        stopped = True
    for key in ("pid", "instance"):
        d[key].unlink(missing_ok=True)
    if remove_data:
        shutil.rmtree(d["base"], ignore_errors=True)
        d["log"].unlink(missing_ok=True)
    return stopped


def ensure_emulator(endpoint: str | None = None) -> Emulator:
    """Use the emulator answering at ``endpoint`` or start ministack there (idempotent)."""
    endpoint = endpoint or endpoint_from_env()
    port = urlparse(endpoint).port or 4566
    if health(endpoint) is not None:
        pid, instance = _recorded(port)
        if pid and not _pid_alive(pid):
            pid, instance = None, "external"
        return Emulator(endpoint, pid, instance)
    host = urlparse(endpoint).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"{endpoint} does not answer and is not local: cannot start an emulator there")
    if not _port_free(port):
        raise RuntimeError(f"port {port} is in use by something that is not a healthy AWS emulator")
    return start_ministack(port)


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    endpoint = endpoint_from_env()
    port = urlparse(endpoint).port or 4566
    if cmd == "up":
        already = health(endpoint) is not None
        emu = ensure_emulator(endpoint)
        how = "already running" if already else f"started (PID {emu.pid})"
        print(f"[up] AWS emulator at {emu.endpoint}: {how}; log: {_dirs(port)['log']}")
        return 0
    if cmd == "down":
        if stop_ministack(port):
            print(f"[down] stopped ministack on port {port}")
        else:
            print(f"[down] nothing started by make up is running on port {port}")
        return 0
    if cmd == "status":
        doc = health(endpoint)
        pid, _ = _recorded(port)
        print(json.dumps({"endpoint": endpoint, "healthy": doc is not None,
                          "started_by_project": bool(pid and _pid_alive(pid)), "pid": pid}))
        return 0 if doc is not None else 1
    print(f"usage: python -m local_runtime.services up|down|status (got {cmd!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
