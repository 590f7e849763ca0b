"""Phase 2 of the ingest: lines -> objects (grouping, naming) -> S3, each record once whatever was delivered before.

Exactly once. A stream object is named by the range of positions it covers, and holds EVERY line of its
group (its folder: one bronze partition, or one quarantine day; and one stream partition) whose position is
in that range. Before writing a group, the objects already in its folder for that stream partition are
listed (their names give their ranges; S3 lists are strongly consistent after a put), and every line whose
position falls in one of those ranges is skipped: it was stored by an earlier delivery. The new object holds
the remaining lines, so the rule still holds for it. This needs nothing but the objects themselves: no
ledger to update in a second write that a crash could miss.

It relies on one property of the stream: a batch (a first delivery, a retry, a bisected half, a replay) is a
contiguous run of its partition's records, so an object written from a batch holds every line of its group
between its first and last position, except those an earlier object already held.
"""
from __future__ import annotations

import bisect
import logging
from typing import Any, Callable, NamedTuple

from data_contracts import layout
from lambda_src.ingest_core.lines import Line

__all__ = ["CONTENT_TYPE", "ObjectNaming", "Objects", "StreamObject", "Written"]

CONTENT_TYPE = "application/x-ndjson"


class ObjectNaming(NamedTuple):
    """How an adapter names its objects (all from :mod:`data_contracts.layout`)."""

    object_name: Callable[[str, int, int], str]
    """``(partition, first position, last position) -> name`` of an object (below its folder)."""
    name_prefix: Callable[[str], str]
    """``partition -> `` how the names of every object of that partition start (what is listed)."""
    parse_name: Callable[[str], "tuple[str, int, int] | None"]
    """``name -> (partition, first, last)``, None for a name of another writer."""
    quarantine_prefix: Callable[[str], str]
    """``ingest date -> `` the quarantine folder of that arrival day."""


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


class Written(NamedTuple):
    """What :meth:`Objects.write` did with a batch's lines."""

    objects: list[StreamObject]
    """Objects put now."""
    redelivered: list[Line]
    """Lines an earlier delivery had already stored (skipped)."""
    pending: list[Line]
    """Lines not stored: S3 failed for their group or an earlier one (left to the retry)."""


class Ranges:
    """The position ranges of a group's stored objects, merged, for membership tests."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for first, last in sorted(ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self.firsts = [first for first, _ in merged]
        self.lasts = [last for _, last in merged]

    def __contains__(self, position: int) -> bool:
        index = bisect.bisect_right(self.firsts, position) - 1
        return index >= 0 and position <= self.lasts[index]


class Objects:
    """Plans and writes one batch's objects into the bronze and quarantine buckets through ``s3``
    (boto3's ``put_object`` and ``list_objects_v2``)."""

    def __init__(self, s3: Any, bronze_bucket: str, quarantine_bucket: str, naming: ObjectNaming,
                 logger: logging.Logger) -> None:
        self.s3 = s3
        self.bronze_bucket = bronze_bucket
        self.quarantine_bucket = quarantine_bucket
        self.naming = naming
        self.logger = logger

    def folder(self, group: tuple) -> tuple[str, str]:
        """(bucket, folder) of a group: ``("bronze", source, entity, day, partition)`` or
        ``("quarantine", day, partition)``."""
        if group[0] == "bronze":
            _, source, entity, day, _ = group
            return self.bronze_bucket, layout.bronze_partition_prefix(source, entity, day)
        return self.quarantine_bucket, self.naming.quarantine_prefix(group[1])

    def make(self, group: tuple, lines: list[Line]) -> StreamObject:
        bucket, folder = self.folder(group)
        return StreamObject(bucket, group, lines,
                            folder + self.naming.object_name(group[-1], lines[0].position, lines[-1].position))

    def stored(self, group: tuple) -> Ranges:
        """The ranges of the group's objects already in S3 (one list call per 1,000 of them)."""
        bucket, folder = self.folder(group)
        partition = group[-1]
        request = {"Bucket": bucket, "Prefix": folder + self.naming.name_prefix(partition)}
        ranges = []
        while True:
            page = self.s3.list_objects_v2(**request)
            for item in page.get("Contents", ()):
                parsed = self.naming.parse_name(item["Key"][len(folder):])
                if parsed and parsed[0] == partition:
                    ranges.append(parsed[1:])
            if not page.get("IsTruncated"):
                return Ranges(ranges)
            request["ContinuationToken"] = page["NextContinuationToken"]

    def write(self, lines: list[Line]) -> Written:
        """Write each group's new lines, groups in order of their first position; after the first S3 failure
        (a list or a put) nothing more is attempted and the rest is pending."""
        groups: dict[tuple, list[Line]] = {}
        for line in sorted(lines, key=lambda item: item.position):
            groups.setdefault(line.group, []).append(line)
        written: list[StreamObject] = []
        redelivered: list[Line] = []
        pending: list[Line] = []
        for group, members in sorted(groups.items(), key=lambda item: item[1][0].position):
            if pending:
                pending.extend(members)
                continue
            bucket, folder = self.folder(group)
            try:
                stored = self.stored(group)
            except Exception:
                self.logger.exception("list_objects_v2 failed", extra={"bucket": bucket, "prefix": folder})
                pending.extend(members)
                continue
            new = [line for line in members if line.position not in stored]
            redelivered.extend(line for line in members if line.position in stored)
            if not new:
                continue
            obj = self.make(group, new)
            try:
                self.s3.put_object(Bucket=obj.bucket, Key=obj.key, Body=obj.body(), ContentType=CONTENT_TYPE)
            except Exception:
                self.logger.exception("put_object failed", extra={"bucket": obj.bucket, "key": obj.key})
                pending.extend(new)
                continue
            written.append(obj)
        return Written(written, redelivered, pending)
