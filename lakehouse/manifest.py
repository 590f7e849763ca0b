"""A job's manifest: which source objects it has processed, each with the version (ETag) it processed.

An object is new when its name is absent OR its version differs from the recorded one (a corrected export
landing again under the same name is processed again). The manifest is read with its own version and
committed with a conditional write (:mod:`lakehouse.objects`): created only if absent, replaced only if
still the version that was read, so two overlapping runs cannot overwrite each other's record.

Format 2::

    {"format": 2, "job": "<job>", "objects": {"<folder>": {"<name>": "<etag>", ...}, ...}, "runs": [...]}

Format 1 (names only, ``"processed": {"<folder>": ["<name>", ...]}``) is read as "processed at whatever
version is there now" and written back as format 2 by the next commit. Standard library only.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lakehouse import objects

__all__ = ["FORMAT", "CorruptManifest", "Manifest", "load"]

FORMAT = 2
UNKNOWN_VERSION = ""
"""Version recorded by format 1: any current version counts as processed."""


class CorruptManifest(SystemExit):
    """The manifest cannot be read; the message says which object and what to do."""


@dataclass
class Manifest:
    uri: str
    job: str
    objects: dict[str, str] = field(default_factory=dict)
    """relative name -> version processed."""
    runs: list[dict] = field(default_factory=list)
    etag: str | None = None
    """Version of the manifest object as read (None: it did not exist)."""

    def changed(self, listed: Mapping[str, str]) -> dict[str, str]:
        """The entries of ``listed`` (relative name -> version) not processed at that version."""
        out = {}
        for rel, version in listed.items():
            done = self.objects.get(rel)
            if done is None or (done != UNKNOWN_VERSION and done != version):
                out[rel] = version
        return out

    def corrections(self, new: Iterable[str]) -> set[str]:
        """Of ``new``, the names processed before at another version."""
        return {rel for rel in new if rel in self.objects}

    def add(self, processed: Mapping[str, str], run: dict | None = None, runs_kept: int = 100) -> None:
        self.objects.update(processed)
        if run is not None and not any(r.get("run_id") == run.get("run_id") for r in self.runs[-1:]):
            self.runs = (self.runs + [run])[-runs_kept:]

    def contains(self, processed: Mapping[str, str]) -> bool:
        return all(self.objects.get(rel) == version for rel, version in processed.items())

    def to_json(self) -> str:
        folders: dict[str, dict[str, str]] = {}
        for rel in sorted(self.objects):
            folder, _, name = rel.rpartition("/")
            folders.setdefault(folder, {})[name] = self.objects[rel]
        return json.dumps({"format": FORMAT, "job": self.job, "objects": folders, "runs": self.runs},
                          indent=1, sort_keys=True) + "\n"

    def commit(self) -> str:
        """Write it: created only if it did not exist, else only if it is still the version read.
        Raises :class:`lakehouse.objects.ConcurrentUpdate` when another run wrote it meanwhile."""
        self.etag = objects.put(self.uri, self.to_json(), if_match=self.etag, create_only=self.etag is None)
        return self.etag


def _corrupt(uri: str, problem: str) -> CorruptManifest:
    return CorruptManifest(
        f"manifest {uri} is not readable ({problem}): restore a previous version of the object (the bucket is "
        f"versioned) or delete it to reprocess every source object (the merge is idempotent)")


def load(uri: str, job: str) -> Manifest:
    """The manifest at ``uri`` (empty when absent). A manifest that is not valid raises one clear error."""
    stored = objects.get(uri)
    if stored is None:
        return Manifest(uri, job)
    try:
        data = json.loads(stored.text)
    except ValueError as exc:
        raise _corrupt(uri, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _corrupt(uri, "not a JSON object")
    version = data.get("format", 1)
    entries: dict[str, str] = {}
    try:
        if version == 1:
            for folder, names in (data.get("processed") or {}).items():
                for name in names:
                    entries[f"{folder}/{name}"] = UNKNOWN_VERSION
        elif version == FORMAT:
            for folder, names in (data.get("objects") or {}).items():
                for name, etag in names.items():
                    if not isinstance(etag, str):
                        raise TypeError(f"version of {folder}/{name} is {etag!r}")
                    entries[f"{folder}/{name}"] = etag
        else:
            raise _corrupt(uri, f"format {version!r}, this job reads formats 1 and {FORMAT}")
        runs = list(data.get("runs") or [])
    except (AttributeError, TypeError) as exc:
        raise _corrupt(uri, f"unexpected structure: {exc}") from None
    if data.get("job", job) != job:
        raise _corrupt(uri, f"it belongs to job {data.get('job')!r}, not {job!r}")
    return Manifest(uri, job, entries, runs, stored.etag)
