"""CloudWatch's side of the local platform as a background service: ``python -m local_runtime.cloudwatch`` run
every few seconds against the emulator, turning the EMF lines of its log groups into metrics and sampling the
failure queues (:mod:`local_runtime.cloudwatch`), so the deployed alarms follow what the functions log without
anyone asking (``make status`` and the local Glue runner also forward, each time they run). ``make up`` starts it,
``make down`` stops it; its log is ``.state/logs/metrics-<emulator port>.log``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from local_runtime.paths import ROOT, STATE
from local_runtime.services.base import BackgroundProcess, spawn
from local_runtime.services.ministack import endpoint_from_env

__all__ = ["MetricsForwarder"]

EVERY_SECONDS = 5.0


class MetricsForwarder(BackgroundProcess):
    """CloudWatch Logs' EMF extraction and SQS's queue metrics, for the emulator."""

    name = "metrics"
    stands_in_for = "CloudWatch's metrics from EMF log lines, and SQS's queue metrics"

    def __init__(self, endpoint: str | None = None, *, state: Path = STATE) -> None:
        self.endpoint = endpoint or endpoint_from_env()
        base = f"metrics-{self.endpoint.rsplit(':', 1)[-1].strip('/')}"
        self.pid_file = state / f"{base}.pid"
        self.log = state / "logs" / f"{base}.log"

    def start(self) -> None:
        if self.started_pid() is not None:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        spawn([sys.executable, "-m", "local_runtime.cloudwatch", "--endpoint", self.endpoint,
               "--every", str(EVERY_SECONDS)], env=dict(os.environ), cwd=ROOT, log=self.log, pid_file=self.pid_file)

    def health(self) -> dict | None:
        pid = self.started_pid()
        return None if pid is None else {"pid": pid, "every_seconds": EVERY_SECONDS}

    def connection(self) -> dict[str, Any]:
        return {"endpoint_url": self.endpoint, "log": str(self.log)}
