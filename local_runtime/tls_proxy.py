"""A TLS front for the emulator, for Spark's s3a client.

hadoop-aws copies (renames) every file Spark commits, and on a copy it propagates the source object's
SSE-KMS key id; the AWS SDK for Java 1.x then refuses to send the request over plain HTTP ("HTTPS must
be used when sending customer encryption keys"). The lake buckets are SSE-KMS by design, so instead
of weakening them locally, Spark talks to the emulator through this small TLS-terminating proxy
(127.0.0.1 only, a self-signed certificate generated once under ``.state/tls``; the JVM is told to skip
certificate checks for it). Encryption in transit end to end, as on AWS.

:class:`FaultProxy` is the same relay in plain TCP, with a switch that makes the emulator unreachable for a
while (every open connection is cut, every new one is closed at once): what the fault tests put between a
client and the emulator to take S3 away in the middle of an ingest.
"""
from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlparse

from local_runtime.paths import STATE

TLS_DIR = STATE / "tls"


def certificate() -> tuple[Path, Path]:
    cert, key = TLS_DIR / "localhost.crt", TLS_DIR / "localhost.key"
    if not (cert.exists() and key.exists()):
        TLS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        key.chmod(0o600)
    return cert, key


class TlsProxy:
    """``with TlsProxy("http://127.0.0.1:4566") as https_endpoint: ...``"""

    tls = True

    def __init__(self, upstream: str):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.endpoint = ""
        self.refusing = False
        self.refused = 0
        """Connections closed unanswered while refusing."""
        self._open: set = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:  # the loop is shutting down
                pass

    async def _handle(self, client_reader, client_writer):
        if self.refusing:
            self.refused += 1
            client_writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        self._open.add(client_writer)
        try:
            await asyncio.gather(self._pipe(client_reader, up_writer), self._pipe(up_reader, client_writer))
        finally:
            self._open.discard(client_writer)

    def refuse(self, refusing: bool) -> None:
        """Start (cutting every open connection) or stop refusing connections."""
        self.refusing = refusing
        if refusing and self._loop:
            def cut():
                for writer in list(self._open):
                    writer.close()
            self._loop.call_soon_threadsafe(cut)

    def __enter__(self) -> str:
        context = None
        if self.tls:
            cert, key = certificate()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=context))
            port = self._server.sockets[0].getsockname()[1]
            self.endpoint = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True, name=type(self).__name__)
        self._thread.start()
        ready.wait(10)
        return self.endpoint

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, _context: None)  # connections cut at shutdown are expected
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.get_running_loop().stop()

    def __exit__(self, *exc) -> None:
        if self._loop:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        if self._thread:
            self._thread.join(5)
        if self._loop and not self._loop.is_running():
            self._loop.close()


class FaultProxy(TlsProxy):
    """``with FaultProxy("http://127.0.0.1:4566") as proxy_endpoint: ... proxy.refuse(True) ...``: a plain
    TCP relay to the emulator that can refuse service (see the module docstring)."""

    tls = False
