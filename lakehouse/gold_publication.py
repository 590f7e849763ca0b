"""Publication of gold: each run writes a complete, new copy of every gold table under its own prefix; the
copy becomes visible by switching the tables' locations in the Glue Data Catalog, all of them, only after
the quality gate passed; the previous copies are kept for ``runs_kept`` runs, so rolling back is switching
back.

Layout (below the gold bucket)::

    runs/g<generation:06d>-<run_id>-<token>/<table>/[month=<yyyy-MM>/]part-*.parquet

The publication record (``<state>/publication.json``, written with conditional writes,
:mod:`lakehouse.objects`) is the job's own account of what is published::

    {"format": 1, "published": {"generation": 7, "run_id": "...", "prefix": "runs/g000007-.../"},
     "pending": null | {...the generation being switched to...},
     "history": [{...generation 6...}, {...generation 5...}]}          (newest first, ``runs_kept`` long)

A run: (1) finishes a publication a crashed run left (``pending``: switch every table to it, record it as
published); (2) reads the previous ``dim_customer`` from the PUBLISHED prefix; (3) builds, gates and writes
its copy under a new prefix (nothing a reader sees changes); (4) records it as ``pending``; (5) switches
every table's ``Location`` (and the partition-projection ``storage.location.template``) to it; (6) records
it as published, the previous one first in ``history``; (7) deletes the prefixes of older generations that
are no longer in ``history``. A crash before (4) leaves an unreferenced prefix the next publication deletes;
after (4), the next run finishes (5) and (6) before anything else. Readers see either every table of the
previous copy or every table of the new one, except during (5) itself (a few catalog calls), when some
tables already point at the new copy: both copies are complete and stay in place.

Without a Glue database (``file://`` paths in tests) the record alone is the switch; readers resolve a
table's location with :func:`table_location`.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field

from lakehouse import faults, objects
from lakehouse.job import LakePath
from lakehouse.objects import join_uri as _join

__all__ = ["RECORD_NAME", "RUNS_PREFIX", "STATE", "BrokenPublication", "Generation", "Publication", "load",
           "switch_catalog", "table_location"]

RECORD_NAME = "publication.json"
STATE = LakePath("artifacts", "state/silver_to_gold/")
"""Where the silver->gold job keeps the publication record once deployed (its ``--state_path``); readers of
the published copy (the warehouse load) read it there."""
RUNS_PREFIX = "runs/"
FORMAT = 1
_PREFIX = re.compile(r"^g(\d{6,})-")


class BrokenPublication(SystemExit):
    """The publication record cannot be read, or names a copy that is gone: one clear error."""



@dataclass(frozen=True)
class Generation:
    generation: int
    run_id: str
    prefix: str
    """Below the gold root, ending with ``/``."""

    @classmethod
    def new(cls, generation: int, run_id: str) -> Generation:
        return cls(generation, run_id, f"{RUNS_PREFIX}g{generation:06d}-{run_id}-{secrets.token_hex(4)}/")

    def location(self, gold_path: str, table_location: str) -> str:
        return _join(gold_path, self.prefix, table_location) + "/"


@dataclass
class Publication:
    uri: str
    published: Generation | None = None
    pending: Generation | None = None
    history: list[Generation] = field(default_factory=list)
    etag: str | None = None

    def next_generation(self) -> int:
        known = [g.generation for g in (self.published, self.pending, *self.history) if g is not None]
        return max(known, default=0) + 1

    def kept(self) -> set[str]:
        return {g.prefix for g in (self.published, self.pending, *self.history) if g is not None}

    def to_json(self) -> str:
        def gen(g):
            return None if g is None else {"generation": g.generation, "run_id": g.run_id, "prefix": g.prefix}
        return json.dumps({"format": FORMAT, "published": gen(self.published), "pending": gen(self.pending),
                           "history": [gen(g) for g in self.history]}, indent=1, sort_keys=True) + "\n"

    def save(self) -> None:
        """Conditional write: only if nobody wrote the record since it was read."""
        self.etag = objects.put(self.uri, self.to_json(), if_match=self.etag, create_only=self.etag is None)


def load(state_path: str) -> Publication:
    uri = _join(state_path, RECORD_NAME)
    stored = objects.get(uri)
    if stored is None:
        return Publication(uri)
    try:
        data = json.loads(stored.text)

        def gen(d):
            return None if d is None else Generation(int(d["generation"]), str(d["run_id"]), str(d["prefix"]))
        return Publication(uri, gen(data.get("published")), gen(data.get("pending")),
                           [gen(d) for d in data.get("history") or []], stored.etag)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BrokenPublication(
            f"gold publication record {uri} is not readable ({exc}): restore its previous version (the bucket "
            f"is versioned); gold stays as the catalog shows it until then") from None


def table_location(publication: Publication, gold_path: str, table_location_: str) -> str | None:
    """Where a gold table's published copy is (None before the first publication)."""
    if publication.published is None:
        return None
    return publication.published.location(gold_path, table_location_)


def _glue():
    import boto3

    cache = _glue.__dict__
    if "client" not in cache:
        cache["client"] = boto3.client("glue")
    return cache["client"]


_TABLE_INPUT_KEYS = ("Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention",
                     "StorageDescriptor", "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType",
                     "Parameters", "TargetTable")
TEMPLATE = "storage.location.template"


def catalog_locations(database: str, tables: list[str]) -> dict[str, str]:
    glue = _glue()
    return {name: glue.get_table(DatabaseName=database, Name=name)["Table"]["StorageDescriptor"].get("Location", "")
            for name in tables}


def switch_catalog(database: str, locations: dict[str, str]) -> int:
    """Point each table at its location (``{table: s3 uri}``): ``StorageDescriptor.Location`` and, when the
    table projects partitions, ``storage.location.template``. Tables already there are left alone; returns
    how many were switched."""
    glue = _glue()
    switched = 0
    for name, location in locations.items():
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
        if table["StorageDescriptor"].get("Location") == location:
            continue
        # what GetTable returns, minus read-only fields and empty values (an emulator answers Owner "")
        table_input = {k: table[k] for k in _TABLE_INPUT_KEYS if table.get(k) not in (None, "")}
        table_input["StorageDescriptor"] = {**table["StorageDescriptor"], "Location": location}
        params = dict(table.get("Parameters") or {})
        if TEMPLATE in params:
            keys = [k["Name"] for k in table.get("PartitionKeys") or []]
            params[TEMPLATE] = location.rstrip("/") + "/" + "/".join(f"{k}=${{{k}}}" for k in keys)
        table_input["Parameters"] = params
        glue.update_table(DatabaseName=database, TableInput=table_input)
        switched += 1
        if switched == 1:
            faults.point("gold_during_publication")
    return switched


def generation_of(prefix_name: str) -> int | None:
    """Generation of a ``runs/`` folder name (``g000007-...``), None for anything else."""
    match = _PREFIX.match(prefix_name)
    return int(match.group(1)) if match else None
