"""An in-memory S3 for unit tests of the ingest: a dict of (bucket, key) -> body behind boto3's ``put_object``
and ``list_objects_v2`` (all the ingest core calls), optionally failing the puts whose key ``fail_on`` picks."""
from __future__ import annotations

from typing import Callable


class MemoryS3:
    """A dict for a bucket: (bucket, key) -> body."""

    def __init__(self, fail_on: Callable[[str], bool] | None = None) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.fail_on = fail_on
        self.puts: list[str] = []

    def put_object(self, **kwargs):
        self.puts.append(kwargs["Key"])
        if self.fail_on is not None and self.fail_on(kwargs["Key"]):
            raise RuntimeError("S3 unavailable")
        self.objects[(kwargs["Bucket"], kwargs["Key"])] = kwargs["Body"]

    def list_objects_v2(self, **kwargs):
        keys = sorted(key for bucket, key in self.objects if bucket == kwargs["Bucket"]
                      and key.startswith(kwargs["Prefix"]))
        return {"Contents": [{"Key": key} for key in keys], "IsTruncated": False}
