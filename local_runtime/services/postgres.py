"""The local Redshift stand-in: a real PostgreSQL 15 server (the binaries on ``PATH``), on 127.0.0.1.

``PostgresServer.start()`` is idempotent: a server that already answers at the port with this project's
credentials is reused; otherwise the data folder ``.state/postgres-<port>/data`` is created with ``initdb``
(once) and the server started with ``pg_ctl -w start``, listening on 127.0.0.1 only (its Unix socket in
``.state/postgres-<port>/run``, its log in ``.state/logs/postgres-<port>.log``). Port: 5439 (Redshift's)
unless ``LAKEFORGE_POSTGRES_PORT`` says otherwise (tests use a free port).

Credentials: no secret in code. ``initdb`` gets a password generated at the first start (``secrets``),
password authentication (SCRAM) for every connection, TCP and socket alike; the password is kept only in a
libpq password file, ``.state/postgres-<port>/pgpass`` (mode 0600), whose path :meth:`settings` gives (the
``passfile`` of a :class:`warehouse.connection.PostgresSettings`): clients (psycopg, ``psql``) read it from
there, and ``status`` never prints the password.
The user (:data:`USER`) owns the database :data:`DATABASE`.

``initdb`` and ``pg_ctl`` refuse to run as root: when this runs as root they run as the ``postgres`` system
user through ``runuser``, and the data folder belongs to it. ``stop()`` stops the server only if it runs from
this project's data folder (``pg_ctl stop -m fast``); a server someone else started is never stopped.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

from local_runtime.paths import STATE
from local_runtime.services.base import LocalService, pid_alive, port_free
from warehouse.connection import PostgresSettings

DEFAULT_PORT = 5439
PORT_ENV = "LAKEFORGE_POSTGRES_PORT"
HOST = "127.0.0.1"
DATABASE = "lakeforge"
USER = "lakeforge"
SYSTEM_USER = "postgres"
"""The system account that owns the data folder and runs the server when the project runs as root."""


def port_from_env() -> int:
    value = os.environ.get(PORT_ENV, "")
    try:
        return int(value) if value else DEFAULT_PORT
    except ValueError:
        raise SystemExit(f"{PORT_ENV}={value!r}: use a TCP port number") from None


def _dirs(port: int, state: Path = STATE) -> dict[str, Path]:
    base = state / f"postgres-{port}"
    return {"base": base, "data": base / "data", "run": base / "run", "passfile": base / "pgpass",
            "log": state / "logs" / f"postgres-{port}.log"}


def _as_server_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` system user when this process is root (initdb and pg_ctl refuse root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser") is None:
        raise RuntimeError("running as root and runuser is not available: cannot run initdb/pg_ctl as postgres")
    return ["runuser", "-u", SYSTEM_USER, "--", *cmd]


def _chown_to_server_user(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(SYSTEM_USER)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (mode 0600 from the start, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")


class PostgresServer(LocalService):
    """PostgreSQL 15 standing in for Amazon Redshift (the warehouse schema and load, :mod:`warehouse`)."""

    name = "postgres"
    stands_in_for = "Amazon Redshift (the warehouse: star schema loaded from gold)"

    def __init__(self, port: int | None = None, *, state: Path = STATE):
        self.port = port or port_from_env()
        self.dirs = _dirs(self.port, state)

    @property
    def log(self) -> Path:
        return self.dirs["log"]

    # --- the interface -----------------------------------------------------------------------------

    def settings(self, database: str = DATABASE) -> PostgresSettings:
        """How to reach ``database`` on this server (``psycopg_kwargs()`` for ``psycopg.connect``; the password
        comes from the password file)."""
        return PostgresSettings(HOST, self.port, database, USER, str(self.dirs["passfile"]))

    def connection(self) -> dict[str, Any]:
        return asdict(self.settings())

    def health(self) -> dict | None:
        if port_free(self.port, HOST) or not self.dirs["passfile"].exists():
            return None
        try:
            import psycopg

            with psycopg.connect(**self.settings().psycopg_kwargs()) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception:  # noqa: BLE001 - anything that is not a healthy answer
            return None
        return {"server_version": version, "database": DATABASE}

    def start(self) -> None:
        if self.health() is not None:
            return
        if not port_free(self.port, HOST):
            raise RuntimeError(f"port {self.port} is in use by something that is not this project's PostgreSQL "
                               f"(set {PORT_ENV} to use another port)")
        for tool in ("initdb", "pg_ctl"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not on PATH: install PostgreSQL 15 (Debian: postgresql-15)")
        if not (self.dirs["data"] / "PG_VERSION").exists():
            self._init()
        self._start_server()
        self._create_database()

    def stop(self) -> bool:
        pid = self.started_pid()
        if pid is None:
            return False
        _run(["pg_ctl", "-D", str(self.dirs["data"]), "-m", "fast", "-w", "stop"], "pg_ctl stop")
        return True

    def started_pid(self) -> int | None:
        pid_file = self.dirs["data"] / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, PermissionError):
            return None
        return pid if pid_alive(pid) else None

    # --- steps -------------------------------------------------------------------------------------

    def _init(self) -> None:
        """A fresh data folder owned by the server user, with a generated password for :data:`USER`."""
        base, data = self.dirs["base"], self.dirs["data"]
        shutil.rmtree(data, ignore_errors=True)  # a half-made folder of a crashed initdb
        for folder in (base, data, self.dirs["run"]):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(data, 0o700)
        password = secrets.token_urlsafe(24)
        pwfile = base / ".initdb-password"
        _write_private(pwfile, password + "\n")
        _chown_to_server_user(data, self.dirs["run"], pwfile)
        try:
            _run(["initdb", "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                  "--encoding=UTF8", "--locale=C.UTF-8"], "initdb")
        finally:
            pwfile.unlink(missing_ok=True)
        # libpq format: host:port:database:user:password, for any database
        _write_private(self.dirs["passfile"], f"{HOST}:{self.port}:*:{USER}:{password}\n")

    def _start_server(self) -> None:
        log = self.dirs["log"]
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch(exist_ok=True)
        _chown_to_server_user(log)
        options = f"-c listen_addresses={HOST} -p {self.port} -k {self.dirs['run']}"
        _run(["pg_ctl", "-D", str(self.dirs["data"]), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             "pg_ctl start")

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(**self.settings("postgres").psycopg_kwargs(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        if self.health() is None:
            raise RuntimeError(f"PostgreSQL started on {HOST}:{self.port} but does not answer; see {self.log}")


def remove_data(port: int, *, state: Path = STATE) -> None:
    """Delete the data folder of the server on ``port`` (stop it first; for throw-away test servers)."""
    d = _dirs(port, state)
    shutil.rmtree(d["base"], ignore_errors=True)
    d["log"].unlink(missing_ok=True)
