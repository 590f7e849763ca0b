"""The AWS emulator: ministack (from PyPI, in the project virtualenv), or whatever already answers.

``AwsEmulator.start()``: if ``AWS_ENDPOINT_URL`` (default ``http://127.0.0.1:4566``) already answers a
health check (LocalStack or ministack started by ``docker compose up``, or by an earlier ``make up``),
that emulator is used; otherwise ministack is started in the background bound to 127.0.0.1, with its
data, log and PID file under ``.state/`` (``.state/ministack-<port>/``, ``.state/logs/ministack-<port>.log``).
``stop()`` stops only a ministack the project started, by the PID it recorded.

The module-level functions (:func:`ensure_emulator`, :func:`start_ministack`, :func:`stop_ministack`,
:func:`health`, :func:`endpoint_from_env`) are what the rest of the project calls; tests and
benchmarks use :func:`start_ministack` / :func:`stop_ministack` for a throw-away emulator on a free port.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from local_runtime.paths import STATE
from local_runtime.services.base import (LocalService, pid_alive, port_free, read_pid, spawn, stop_process_group,
                                         wait_healthy)

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


def _dirs(port: int, home: Path | None = None, log: Path | None = None) -> dict[str, Path]:
    base = home or STATE / f"ministack-{port}"
    return {"base": base, "pid": base / "ministack.pid", "instance": base / "instance",
            "log": log or STATE / "logs" / f"ministack-{port}.log", "tmp": base / "tmp", "s3": base / "s3",
            "state": base / "state"}


def _recorded(port: int) -> tuple[int | None, str]:
    d = _dirs(port)
    instance = d["instance"].read_text().strip() if d["instance"].exists() else "external"
    return read_pid(d["pid"]), instance


def start_ministack(port: int, *, wait_seconds: float = 60.0, home: Path | None = None, log: Path | None = None,
                    persist_s3: bool = False, persist_state: bool = False) -> Emulator:
    """Start a fresh ministack on 127.0.0.1:port in the background and wait until healthy.

    Its folder is ``home`` (default ``.state/ministack-<port>``), its log ``log``; ``persist_s3`` writes every
    S3 object through to ``<home>/s3`` as it is put, so a restarted ministack serves them again (the local
    Kafka broker's storage, :mod:`local_runtime.services.kafka`). ``persist_state`` saves every other
    service's state to ``<home>/state`` when it stops and loads it when it starts: with ``persist_s3``, a copy
    of a stopped emulator's ``home`` started on the same port is the same emulator again (the end-to-end
    tests deploy the local stack once and give each module such a copy)."""
    d = _dirs(port, home, log)
    for key in ("base", "tmp", "s3", "state"):
        d[key].mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "BIND_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "MINISTACK_REGION": REGION,
        "TMPDIR": str(d["tmp"]), "S3_DATA_DIR": str(d["s3"]), "STATE_DIR": str(d["state"]),
        "PERSIST_STATE": "1" if persist_state else "0", "S3_PERSIST": "1" if persist_s3 else "0", "LOG_LEVEL": os.environ.get("MINISTACK_LOG_LEVEL", "WARNING"),
        # Lambda handlers run as warm local subprocesses; give them the full timeout.
        "LAMBDA_WARM_TTL_SECONDS": "600",
    })
    env.pop("AWS_ENDPOINT_URL", None)
    proc = spawn([sys.executable, "-m", "ministack"], env=env, cwd=d["base"], log=d["log"], pid_file=d["pid"])
    instance = f"{proc.pid}-{time.time_ns()}"
    d["instance"].write_text(instance)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, lambda: health(endpoint, timeout=0.5), what="ministack", log=d["log"],
                     wait_seconds=wait_seconds)
    except RuntimeError:
        if proc.poll() is None:
            stop_ministack(port, home=home, log=log)
        raise
    return Emulator(endpoint, proc.pid, instance)


def stop_ministack(port: int, timeout: float = 15.0, *, remove_data: bool = False, home: Path | None = None,
                   log: Path | None = None) -> bool:
    """Stop the ministack that this project started on ``port`` (from ``home``, as :func:`start_ministack`);
    True if one was stopped.

    ``remove_data`` also deletes its folder under ``.state/`` (for throw-away test emulators): it is killed at
    once, not asked to save its state first."""
    d = _dirs(port, home, log)
    stopped = stop_process_group(read_pid(d["pid"]), 0 if remove_data else timeout)
    for key in ("pid", "instance"):
        d[key].unlink(missing_ok=True)
    if remove_data:
        shutil.rmtree(d["base"], ignore_errors=True)
        d["log"].unlink(missing_ok=True)
    return stopped


class AwsEmulator(LocalService):
    """AWS (S3, Kinesis, Lambda, Glue, Athena...) at ``endpoint`` (default: ``AWS_ENDPOINT_URL``)."""

    name = "aws"
    stands_in_for = "AWS APIs (S3, KMS, Kinesis, Lambda, Glue, Athena, IAM, CloudWatch)"

    def __init__(self, endpoint: str | None = None):
        self.endpoint = endpoint or endpoint_from_env()
        self.port = urlparse(self.endpoint).port or 4566
        self.running: Emulator | None = None
        """Set by :meth:`start`: the emulator in use (``pid`` None when someone else started it)."""

    @property
    def log(self) -> Path:
        return _dirs(self.port)["log"]

    def start(self) -> None:
        if health(self.endpoint) is not None:
            pid, instance = _recorded(self.port)
            if pid and not pid_alive(pid):
                pid, instance = None, "external"
            self.running = Emulator(self.endpoint, pid, instance)
            return
        host = urlparse(self.endpoint).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise RuntimeError(f"{self.endpoint} does not answer and is not local: cannot start an emulator there")
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} is in use by something that is not a healthy AWS emulator")
        self.running = start_ministack(self.port)

    def health(self) -> dict | None:
        return health(self.endpoint)

    def stop(self) -> bool:
        return stop_ministack(self.port)

    def started_pid(self) -> int | None:
        pid, _ = _recorded(self.port)
        return pid if pid and pid_alive(pid) else None

    def connection(self) -> dict[str, Any]:
        parsed = urlparse(self.endpoint)
        return {"endpoint_url": self.endpoint, "host": parsed.hostname, "port": self.port, "region": REGION,
                "aws_access_key_id": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


def ensure_emulator(endpoint: str | None = None) -> Emulator:
    """Use the emulator answering at ``endpoint`` or start ministack there (idempotent)."""
    service = AwsEmulator(endpoint)
    service.start()
    assert service.running is not None
    return service.running
