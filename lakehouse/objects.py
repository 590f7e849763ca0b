"""Small state objects (manifests, journals, publication records) with versions and conditional writes, and
object listings with each object's version.

Data goes through Spark and the Hadoop FileSystem; the few objects that record what a job has done need
what the Hadoop FileSystem does not offer: the object's version (its ETag) and a write that succeeds only
if nobody else wrote in between. S3 has both (``PutObject`` with ``If-None-Match: *`` to create only,
``If-Match: <etag>`` to replace only the version that was read; a lost race answers ``PreconditionFailed``);
the emulator honours both. ``file://`` paths (tests, local benchmarks) get the same semantics from the
operating system: the version is the MD5 of the content (what S3 gives a single-part upload), an exclusive
create for ``If-None-Match`` and a lock plus compare for ``If-Match``.

``s3://``, ``s3a://`` and ``s3n://`` URIs go to S3 through boto3 (on Glue and EMR it is installed and uses
the job's role; locally ``AWS_ENDPOINT_URL`` points it at the emulator). Standard library otherwise.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["ConcurrentUpdate", "Stored", "delete", "get", "is_precondition", "join_uri", "list_versions", "put",
           "s3_client"]

_S3_SCHEMES = ("s3", "s3a", "s3n")


class ConcurrentUpdate(RuntimeError):
    """A conditional write lost: the object was created or changed by someone else since it was read."""


@dataclass(frozen=True)
class Stored:
    text: str
    etag: str


_CLIENTS: dict[tuple[str, str, str], object] = {}
_CLIENTS_LOCK = threading.Lock()


def s3_client():
    """boto3's S3 client for the environment as it is now: one per (``AWS_ENDPOINT_URL``, access key id,
    region), so a process that points the environment at another emulator (tests, the local load) gets a
    client for it without resetting anything. Standard retries; path-style addressing when an endpoint is set
    (the emulator), boto3's choice otherwise."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    key = (endpoint, os.environ.get("AWS_ACCESS_KEY_ID", ""),
           os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", ""))
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            import boto3
            from botocore.config import Config

            style = "path" if endpoint else "auto"
            _CLIENTS[key] = boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                                             s3={"addressing_style": style}))
        return _CLIENTS[key]


def _split(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket or "", key or local path)."""
    parsed = urlparse(uri)
    if parsed.scheme in _S3_SCHEMES:
        return parsed.scheme, parsed.netloc, parsed.path.lstrip("/")
    if parsed.scheme in ("", "file"):
        return "file", "", unquote(parsed.path) if parsed.scheme else uri
    raise ValueError(f"{uri}: only s3://, s3a://, s3n:// and file:// locations are supported")


def join_uri(root: str, *parts: str) -> str:
    """``root`` and ``parts`` joined by single slashes (empty parts left out): ``s3://b/x/`` + ``y/`` -> ``s3://b/x/y``."""
    return "/".join([root.rstrip("/")] + [p.strip("/") for p in parts if p.strip("/")])


def _etag(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - a version tag like S3's, not a security hash


def is_precondition(exc) -> bool:
    """An S3 answer (botocore ``ClientError``) saying a conditional write lost."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def get(uri: str) -> Stored | None:
    """The object's text and version, or None when it does not exist."""
    scheme, bucket, key = _split(uri)
    if scheme == "file":
        try:
            data = Path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Stored(data.decode("utf-8"), _etag(data))
    client = s3_client()
    try:
        resp = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        return None
    return Stored(resp["Body"].read().decode("utf-8"), resp["ETag"].strip('"'))


def put(uri: str, text: str, *, if_match: str | None = None, create_only: bool = False) -> str:
    """Write ``text``; returns the new version. ``create_only``: only if the object does not exist;
    ``if_match``: only if its current version is ``if_match``. Raises :class:`ConcurrentUpdate` otherwise."""
    if create_only and if_match:
        raise ValueError("create_only and if_match exclude each other")
    data = text.encode("utf-8")
    scheme, bucket, key = _split(uri)
    if scheme != "file":
        extra = {"IfNoneMatch": "*"} if create_only else {"IfMatch": f'"{if_match}"'} if if_match else {}
        try:
            resp = s3_client().put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json", **extra)
        except Exception as exc:  # botocore ClientError
            if is_precondition(exc):
                state = "exists" if create_only else f"is no longer version {if_match}"
                raise ConcurrentUpdate(f"{uri} {state}: another run wrote it") from exc
            raise
        return resp["ETag"].strip('"')
    path = Path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    if create_only:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError as exc:
            raise ConcurrentUpdate(f"{uri} exists: another run wrote it") from exc
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _etag(data)
    if if_match is None:
        _replace(path, data)
        return _etag(data)
    while True:  # lock the current file, check it is still the one at the path, compare, replace
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError as exc:
            raise ConcurrentUpdate(f"{uri} is no longer version {if_match}: it was removed") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue
            with open(fd, "rb", closefd=False) as fh:
                current = _etag(fh.read())
            if current != if_match:
                raise ConcurrentUpdate(f"{uri} is no longer version {if_match} (now {current}): another run wrote it")
            _replace(path, data)
            return _etag(data)
        finally:
            os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def delete(uri: str) -> None:
    """Remove the object (nothing when it does not exist)."""
    scheme, bucket, key = _split(uri)
    if scheme == "file":
        Path(key).unlink(missing_ok=True)
    else:
        s3_client().delete_object(Bucket=bucket, Key=key)


def list_versions(root: str, suffix: str = "") -> dict[str, str]:
    """``{uri: version}`` of every object below ``root`` whose name ends with ``suffix`` (URIs keep the
    scheme of ``root``)."""
    scheme, bucket, key = _split(root)
    out: dict[str, str] = {}
    if scheme == "file":
        base = Path(key)
        if not base.exists():
            return out
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.name.endswith(suffix) and not path.name.startswith("."):
                out[f"file://{path}"] = _etag(path.read_bytes())
        return out
    prefix = key if not key or key.endswith("/") else key + "/"
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(suffix):
                out[f"{scheme}://{bucket}/{obj['Key']}"] = obj["ETag"].strip('"')
    return out
