"""The interface every local service implements, and the process plumbing they share.

A :class:`LocalService` stands in locally for one cloud service (the AWS emulator for AWS; next a
PostgreSQL server for Redshift and a Kafka broker for MSK). ``start()`` is idempotent: it reuses a
server that already answers, else starts one in the background with its data, log and PID file under
``.state/``; ``stop()`` stops only what the project started (by the PID it recorded); ``health()``
probes it; ``connection()`` tells clients how to reach it.

The helpers below (free ports, PID files, spawning and stopping a process group) are what each
service needs to run a server process of its own; they use the standard library only.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar


class LocalService(ABC):
    """One local stand-in for a cloud service."""

    name: ClassVar[str]
    """Short key (``aws``, ``postgres``, ``kafka``): the registry key and the key in ``status``."""

    stands_in_for: ClassVar[str]
    """What it replaces in the cloud, for people reading ``status``."""

    @abstractmethod
    def start(self) -> None:
        """Make the service answer: reuse one that already does, else start it (idempotent)."""

    @abstractmethod
    def health(self) -> dict | None:
        """The service's health document (``{}`` when it has none), or None when nothing healthy answers."""

    @abstractmethod
    def stop(self) -> bool:
        """Stop what the project started (never a server it reused); True if something was stopped."""

    @abstractmethod
    def connection(self) -> dict[str, Any]:
        """What a client needs to reach the service (endpoint URL or host/port, credentials, region...)."""

    def started_pid(self) -> int | None:
        """PID of the server process the project started, if it is running (None when reused or down)."""
        return None

    def status(self) -> dict[str, Any]:
        pid = self.started_pid()
        return {"stands_in_for": self.stands_in_for, "healthy": self.health() is not None,
                "started_by_project": pid is not None, "pid": pid, "connection": self.connection()}


class BackgroundProcess(LocalService):
    """A service that is a background process of the project's own, known by its PID file (``pid_file``)."""

    pid_file: Path

    def stop(self) -> bool:
        stopped = stop_process_group(read_pid(self.pid_file))
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def started_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid and pid_alive(pid) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((host, port)) != 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(pid_file: Path) -> int | None:
    return int(pid_file.read_text()) if pid_file.exists() else None


def spawn(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path, pid_file: Path) -> subprocess.Popen:
    """Start ``cmd`` in the background in its own process group, output appended to ``log``, PID recorded."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd)
    pid_file.write_text(str(proc.pid))
    return proc


def wait_healthy(proc: subprocess.Popen, probe, *, what: str, log: Path, wait_seconds: float) -> None:
    """Poll ``probe()`` until it is not None; raise if ``proc`` exits or the time is up."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log}")
        if probe() is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become healthy in {wait_seconds:.0f}s; see {log}")


def stop_process_group(pid: int | None, timeout: float = 15.0) -> bool:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``timeout`` (at once with 0: for a service
    whose data is thrown away, nothing to save on its way out); True if it was running. Returns once it is
    gone (its ports free)."""
    if not pid or not pid_alive(pid):
        return False
    if timeout > 0:
        _signal_group(pid, signal.SIGTERM)
        _wait_gone(pid, timeout)
    if pid_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, 10.0)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
