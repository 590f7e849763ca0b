"""Phase 2 of the ingest: lines -> objects (grouping, naming) -> S3, with the cut-off repair after a failed put."""
from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple

from data_contracts import layout
from lambda_src.ingest_core.lines import Line

__all__ = ["CONTENT_TYPE", "ObjectNaming", "Objects", "StreamObject"]

CONTENT_TYPE = "application/x-ndjson"


class ObjectNaming(NamedTuple):
    """How an adapter names its objects (both from :mod:`data_contracts.layout`)."""

    object_name: Callable[[str, int, int], str]
    """``(partition, first position, last position) -> name`` of a bronze object (below its partition prefix)."""
    quarantine_key: Callable[[str, str, int, int], str]
    """``(ingest date, partition, first position, last position) -> key`` of a quarantine object."""


class StreamObject:
    """One S3 object to write: a group of lines in position order."""

    __slots__ = ("bucket", "group", "lines", "first", "last", "key")

    def __init__(self, bucket: str, group: tuple, lines: list[Line], key: str) -> None:
        self.bucket = bucket
        self.group = group
        self.lines = lines
        self.first = lines[0].position
        self.last = lines[-1].position
        self.key = key

    @property
    def partition(self) -> str:
        return self.group[-1]

    def body(self) -> bytes:
        return b"\n".join(line.line for line in self.lines) + b"\n"


class Objects:
    """Plans and writes one batch's objects into the bronze and quarantine buckets through ``s3``."""

    def __init__(self, s3: Any, bronze_bucket: str, quarantine_bucket: str, naming: ObjectNaming,
                 logger: logging.Logger) -> None:
        self.s3 = s3
        self.bronze_bucket = bronze_bucket
        self.quarantine_bucket = quarantine_bucket
        self.naming = naming
        self.logger = logger

    def make(self, group: tuple, lines: list[Line]) -> StreamObject:
        first, last = lines[0].position, lines[-1].position
        if group[0] == "bronze":
            _, source, entity, day, partition = group
            key = layout.bronze_partition_prefix(source, entity, day) + self.naming.object_name(partition, first, last)
            return StreamObject(self.bronze_bucket, group, lines, key)
        _, day, partition = group
        return StreamObject(self.quarantine_bucket, group, lines, self.naming.quarantine_key(day, partition, first, last))

    def plan(self, lines: list[Line]) -> list[StreamObject]:
        """Group the lines into objects, each in position order, sorted by first position."""
        groups: dict[tuple, list[Line]] = {}
        for line in sorted(lines, key=lambda item: item.position):
            groups.setdefault(line.group, []).append(line)
        objects = [self.make(group, members) for group, members in groups.items()]
        objects.sort(key=lambda obj: obj.first)
        return objects

    def _put(self, obj: StreamObject) -> bool:
        try:
            self.s3.put_object(Bucket=obj.bucket, Key=obj.key, Body=obj.body(), ContentType=CONTENT_TYPE)
        except Exception:
            self.logger.exception("put_object failed", extra={"bucket": obj.bucket, "key": obj.key})
            return False
        return True

    def write(self, objects: list[StreamObject]) -> tuple[list[StreamObject], dict[str, int]]:
        """Write in order; on failure apply the cut-off rule. Returns (objects in S3, cut-off per partition)."""
        stored: dict[str, StreamObject] = {}
        cuts: dict[str, int] = {}
        for index, obj in enumerate(objects):
            if not self._put(obj):
                for unwritten in objects[index:]:  # sorted by first position: the first one seen is the lowest
                    cuts.setdefault(unwritten.partition, unwritten.first)
                break
            stored[obj.key] = obj
        if not cuts:
            return list(stored.values()), cuts

        stuck: list[StreamObject] = []  # could not be removed: its records stay in S3 (logged)
        while True:
            tainted = sorted((obj for obj in stored.values() if obj.last >= cuts.get(obj.partition, obj.last + 1)),
                             key=lambda obj: obj.first)
            if not tainted:
                break
            for obj in tainted:
                if obj.key not in stored:
                    continue
                del stored[obj.key]
                try:
                    self.s3.delete_object(Bucket=obj.bucket, Key=obj.key)
                except Exception:
                    self.logger.exception("could not remove an object holding records past the retry point; the "
                                          "retry may duplicate them", extra={"bucket": obj.bucket, "key": obj.key})
                    stuck.append(obj)
                    continue
                keep = [line for line in obj.lines if line.position < cuts[obj.partition]]
                if not keep:
                    continue
                replacement = self.make(obj.group, keep)
                if not self._put(replacement):
                    cuts[obj.partition] = min(cuts[obj.partition], obj.first)
                    continue
                stored[replacement.key] = replacement
        return list(stored.values()) + stuck, cuts
