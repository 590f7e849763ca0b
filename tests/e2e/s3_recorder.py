"""A recording HTTP front for the emulator's S3: every request a client makes, as the IAM request AWS would
authorize (action, resource ARN, ``s3:prefix``), for the policy-simulation tests.

The Spark jobs talk to S3 through s3a (Java), which no botocore hook sees, so the recorder sits between the
TLS front (local_runtime/tls_proxy.py) and the emulator: it reads each HTTP request (path-style S3), notes
it, forwards it unchanged and relays the response.
"""
from __future__ import annotations

import json

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

from security.policy_sim import Request, s3_bucket_arn, s3_object_arn

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "expect"}


def iam_requests(method: str, target: str, headers: dict[str, str], body: bytes) -> list[Request]:
    """The IAM requests one path-style S3 HTTP request is authorized as (raises on one it does not know)."""
    url = urlparse(target)
    query = parse_qs(url.query, keep_blank_values=True)
    bucket, _, key = unquote(url.path).lstrip("/").partition("/")
    why = f"recorded {method} {target[:200]}"
    copy = headers.get("x-amz-copy-source")
    if not bucket:
        raise ValueError(f"S3 request without a bucket: {method} {target}")
    if not key:
        if method in ("GET", "HEAD") and "location" in query:
            return [Request("s3:GetBucketLocation", s3_bucket_arn(bucket), why=why)]
        if method == "GET" and "uploads" in query:
            return [Request("s3:ListBucketMultipartUploads", s3_bucket_arn(bucket), why=why)]
        if method == "GET" and not set(query) - {"list-type", "prefix", "delimiter", "max-keys", "continuation-token",
                                                 "start-after", "fetch-owner", "encoding-type", "marker"}:
            ctx = {"s3:prefix": query["prefix"][0]} if "prefix" in query else {}
            return [Request("s3:ListBucket", s3_bucket_arn(bucket), ctx, why=why)]
        if method == "HEAD" and not query:
            return [Request("s3:ListBucket", s3_bucket_arn(bucket), why=why)]
        if method == "POST" and "delete" in query:
            keys = [unquote(k) for k in re.findall(r"<Key>(.*?)</Key>", body.decode("utf-8", "replace"), re.S)]
            return [Request("s3:DeleteObject", s3_object_arn(bucket, k), why=why) for k in keys]
        raise ValueError(f"unmapped S3 bucket request {method} {target}")
    obj = s3_object_arn(bucket, key)
    out: list[Request] = []
    if copy:
        src_bucket, _, src_key = unquote(copy.split("?", 1)[0]).lstrip("/").partition("/")
        out.append(Request("s3:GetObject", s3_object_arn(src_bucket, src_key), why=f"{why} (copy source)"))
    if method in ("GET", "HEAD") and "uploadId" in query:
        return [Request("s3:ListMultipartUploadParts", obj, why=why)]
    if method in ("GET", "HEAD") and not set(query) - {"partNumber", "versionId", "response-content-type"}:
        return [Request("s3:GetObject", obj, why=why)]
    if method == "PUT" and (not query or set(query) <= {"partNumber", "uploadId"}):
        return [*out, Request("s3:PutObject", obj, why=why)]
    if method == "POST" and ("uploads" in query or "uploadId" in query):
        return [Request("s3:PutObject", obj, why=why)]
    if method == "DELETE" and "uploadId" in query:
        return [Request("s3:AbortMultipartUpload", obj, why=why)]
    if method == "DELETE" and not query:
        return [Request("s3:DeleteObject", obj, why=why)]
    raise ValueError(f"unmapped S3 object request {method} {target}")


class S3Recorder:
    """``with S3Recorder("http://127.0.0.1:<emulator>") as endpoint:`` - ``.requests`` holds what went through;
    ``.unmapped`` the requests it could not map (a test fails on them)."""

    def __init__(self, upstream: str):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.requests: list[Request] = []
        self.unmapped: list[str] = []
        self.other_calls: list[str] = []
        """``X-Amz-Target`` of the requests to other services that went through (the job's environment
        points every AWS client at this front)."""
        self.other_bodies: list[dict] = []
        """Their JSON bodies, in the same order."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                if "x-amz-target" in headers:  # a JSON-protocol service (e.g. Secrets Manager), not S3
                    try:
                        parsed_body = json.loads(body or b"{}")
                    except ValueError:
                        parsed_body = {}
                    with recorder._lock:
                        recorder.other_calls.append(headers["x-amz-target"])
                        recorder.other_bodies.append(parsed_body)
                else:
                    try:
                        reqs = iam_requests(self.command, self.path, headers, body)
                        with recorder._lock:
                            recorder.requests.extend(reqs)
                    except ValueError as exc:
                        with recorder._lock:
                            recorder.unmapped.append(str(exc))
                conn = http.client.HTTPConnection(*recorder.upstream, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body,
                                 headers={k: v for k, v in self.headers.items() if k.lower() not in _HOP})
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    # A HEAD answers with the object's length and no body.
                    length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        return Handler

    def __enter__(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="s3-recorder", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
