"""Local services: the stand-ins for the cloud services the platform uses, behind one interface.

``make up`` -> ``python -m local_runtime.services up`` starts every registered service (idempotent:
what already answers is reused; everything is left running); ``make down`` -> ``... down`` stops what
``make up`` started; ``... status`` prints each service's health and connection details as JSON (exit
status 1 when one is not healthy).

Each service is a :class:`~local_runtime.services.base.LocalService` (``name``, ``start()``,
``health()``, ``stop()``, ``connection()``) in a module of its own, listed in :data:`SERVICES` in start
order. Today: the AWS emulator (:mod:`local_runtime.services.ministack`), PostgreSQL standing in for
Redshift (:mod:`local_runtime.services.postgres`), a Kafka broker standing in for MSK
(:mod:`local_runtime.services.kafka`) and the MSK event source mapping's poller
(:mod:`local_runtime.services.msk_mapping`: started once the local stack is deployed) and CloudWatch's metrics
from the emulator's logs (:mod:`local_runtime.services.metrics`). The emulator's functions
(:func:`ensure_emulator`, :func:`start_ministack`, ...) stay importable from here.
"""
from __future__ import annotations

import json
import sys

from local_runtime.services.base import LocalService, free_port
from local_runtime.services.ministack import (DEFAULT_ENDPOINT, HEALTH_PATHS, LOCAL_CREDENTIALS, REGION, AwsEmulator,
                                              Emulator, endpoint_from_env, ensure_emulator, health, start_ministack,
                                              stop_ministack)
from local_runtime.services.kafka import KafkaBroker
from local_runtime.services.metrics import MetricsForwarder
from local_runtime.services.msk_mapping import MskMapping
from local_runtime.services.postgres import PostgresServer

__all__ = [
    "DEFAULT_ENDPOINT", "HEALTH_PATHS", "LOCAL_CREDENTIALS", "REGION", "SERVICES", "AwsEmulator", "Emulator",
    "KafkaBroker", "LocalService", "MetricsForwarder", "MskMapping", "PostgresServer", "endpoint_from_env", "ensure_emulator", "free_port", "health",
    "main", "services",
    "start_ministack", "stop_ministack",
]

SERVICES: tuple[type[LocalService], ...] = (AwsEmulator, PostgresServer, KafkaBroker, MskMapping, MetricsForwarder)
"""Every local service, in start order (stopped in reverse). Each is constructed with no arguments
(its address comes from the environment, e.g. ``AWS_ENDPOINT_URL``, ``LAKEFORGE_POSTGRES_PORT``,
``LAKEFORGE_KAFKA_PORT``)."""


def services() -> list[LocalService]:
    return [cls() for cls in SERVICES]


def _address(service: LocalService) -> str:
    conn = service.connection()
    return conn.get("endpoint_url") or f"{conn.get('host')}:{conn.get('port')}"


def up() -> int:
    failed = 0
    for service in services():
        already = service.health() is not None
        try:
            service.start()
        except RuntimeError as exc:
            print(f"[up] {service.name}: could not start: {exc}", file=sys.stderr)
            failed += 1
            continue
        pid = service.started_pid()
        how = "already running" if already else (f"started (PID {pid})" if pid else "not started")
        log = getattr(service, "log", None)
        print(f"[up] {service.name} at {_address(service)}: {how}" + (f"; log: {log}" if log else ""))
    return 1 if failed else 0


def down() -> int:
    for service in reversed(services()):
        if service.stop():
            print(f"[down] {service.name}: stopped what make up started at {_address(service)}")
        else:
            print(f"[down] {service.name}: nothing started by make up is running at {_address(service)}")
    return 0


def status() -> int:
    report = {service.name: service.status() for service in services()}
    print(json.dumps(report, indent=2))
    return 0 if all(s["healthy"] for s in report.values()) else 1


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    cmd = argv[0] if argv else "status"
    if cmd not in commands or len(argv) > 1:
        print(f"usage: python -m local_runtime.services up|down|status (got {' '.join(argv)!r})", file=sys.stderr)
        return 2
    return commands[cmd]()
