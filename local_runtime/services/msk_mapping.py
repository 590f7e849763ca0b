"""The local MSK event source mapping as a background service: ``python -m local_runtime.msk_poller`` run in the
background against the local Kafka broker, invoking the deployed MSK ingest function on the emulator.

It needs what the local stack deployed (the function, its failure queue and the mapping's settings: the
``msk_ingest_mapping`` output), so ``start()`` starts it only once the local stack is deployed (``make up``
before the first deploy leaves it not started; ``make demo`` starts it after its deploy); ``make down`` stops it
with the other services. The poller writes its status (records, batches, per-partition committed and end offsets
and the lag) to ``.state/msk-poller-<kafka port>.json``, which ``health()`` returns; its log is
``.state/logs/msk-poller-<kafka port>.log``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from local_runtime.paths import ROOT, STATE
from local_runtime.services.base import BackgroundProcess, spawn
from local_runtime.services.kafka import KafkaBroker
from local_runtime.services.ministack import endpoint_from_env

__all__ = ["MskMapping"]


class MskMapping(BackgroundProcess):
    """Lambda's MSK poller for the deployed MSK ingest function (the local broker -> the emulator's Lambda)."""

    name = "msk_mapping"
    stands_in_for = "Lambda's MSK event source mapping (the poller)"

    def __init__(self, endpoint: str | None = None, broker: KafkaBroker | None = None, *,
                 outputs: dict | None = None, state: Path = STATE) -> None:
        self.endpoint = endpoint or endpoint_from_env()
        self.broker = broker or KafkaBroker()
        self._outputs = outputs
        base = f"msk-poller-{self.broker.port}"
        self.pid_file = state / f"{base}.pid"
        self.status_file = state / f"{base}.json"
        self.outputs_file = state / f"{base}.outputs.json"
        self.log = state / "logs" / f"{base}.log"

    def _deployed_outputs(self) -> dict | None:
        """The local stack's outputs (given, or read from its Terraform state); None when not deployed."""
        if self._outputs is not None:
            return self._outputs
        from local_runtime import stacks
        from local_runtime.paths import stack_dir

        directory = stack_dir("local")
        if not (directory / ".terraform").exists():
            return None
        try:
            outputs = stacks.outputs(directory, stacks.local_env(self.endpoint))
        except SystemExit:
            return None
        function = (outputs.get("msk_ingest_mapping") or {}).get("function_name")
        return outputs if function and self._function_exists(function) else None

    def _function_exists(self, name: str) -> bool:
        """Whether the emulator has the function (a restarted emulator lost what the state file still lists)."""
        from local_runtime.aws import client

        try:
            client("lambda", self.endpoint).get_function(FunctionName=name)
        except Exception:  # noqa: BLE001 - not there, or no emulator answering
            return False
        return True

    def start(self) -> None:
        if self.started_pid() is not None:
            return
        outputs = self._deployed_outputs()
        if not outputs or not outputs.get("msk_ingest_mapping"):
            print(f"[{self.name}] the local stack is not deployed (no msk_ingest_mapping output): not started; "
                  "make demo (or make deploy, then make up) starts it", file=sys.stderr)
            return
        self.outputs_file.parent.mkdir(parents=True, exist_ok=True)
        self.outputs_file.write_text(json.dumps(outputs))
        self.status_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "local_runtime.msk_poller", "--outputs", str(self.outputs_file),
               "--endpoint", self.endpoint, "--bootstrap", self.broker.bootstrap_servers,
               "--status-file", str(self.status_file)]
        proc = spawn(cmd, env=dict(os.environ), cwd=ROOT, log=self.log, pid_file=self.pid_file)
        deadline = time.monotonic() + 30
        while not self.status_file.exists():  # the first status: it consumes
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the MSK poller did not start; see {self.log}")
            time.sleep(0.2)

    def health(self) -> dict | None:
        """The poller's last status (records, batches, lag per partition), or None when it is not running."""
        if self.started_pid() is None:
            return None
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def status(self) -> dict[str, Any]:
        return {**super().status(), "mapping": self.health()}

    def connection(self) -> dict[str, Any]:
        return {"bootstrap_servers": self.broker.bootstrap_servers, "endpoint_url": self.endpoint,
                "status_file": str(self.status_file), "log": str(self.log)}

    def wait_caught_up(self, produced_ends: dict[int, int], timeout: float = 120.0) -> dict:
        """Wait until the group's committed offset reached ``produced_ends`` (partition -> end offset, from the
        producer's delivery reports) on every partition; returns the last status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.health() or {}
            parts = status.get("partitions", {})
            if all(parts.get(str(p), {}).get("committed", -1) >= end for p, end in produced_ends.items()):
                return status
            if self.started_pid() is None:
                raise RuntimeError(f"the MSK poller stopped; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the MSK poller did not catch up in {timeout:.0f}s: {status}")
            time.sleep(0.5)
