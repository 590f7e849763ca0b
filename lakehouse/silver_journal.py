"""Crash-safe replacement of silver partitions: staged files, a journal, an idempotent swap, replayed by the
next run before it does anything else.

A bronze->silver run never writes into a silver table while it computes. It writes the new content of every
partition it replaces under ``<silver>/_staging/<run_id>/<table location>/<partition>/`` (and its delete
tombstones under ``<silver>/_staging/<run_id>/_tombstones/<table location>/``), then writes ONE journal
(``<state>/journal.json``, created only if absent: at most one run swaps at a time) naming, per table, the
staged files of each partition, the partitions to empty and the manifest entries to commit. Only then it
swaps, partition by partition: move each staged file into the table's partition folder, then delete the
partition's files that the journal does not name (the previous content); empty partitions are deleted.
Then the manifest is committed, then the staging folder and the journal are deleted.

Every step of the swap is idempotent and driven by the journal alone, so a run that finds a journal
finishes it first (:func:`replay`): files already moved are skipped, old files already deleted are gone.
Where a run dies:

* before the journal: silver is untouched; the next run processes the same objects again (the manifest was
  not committed) and overwrites its own staging (same objects, same run id);
* after the journal, during the swap, before or after the manifest commit: the next run replays the journal
  (finishes the swap, commits the manifest entries if they are missing, cleans up), then does its own work.

Paths go through the Hadoop FileSystem (:mod:`lakehouse.fs`; a move on S3 is a server-side copy and a
delete); the journal through :mod:`lakehouse.objects`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from lakehouse import faults, fs, objects, run_log
from lakehouse import manifest as manifest_module
from lakehouse.objects import join_uri as _join

__all__ = ["JOURNAL_NAME", "STAGING", "BrokenJournal", "Journal", "TableSwap", "apply", "create", "load",
           "replay", "staged_files"]

JOURNAL_NAME = "journal.json"
STAGING = "_staging"
TOMBSTONES = "_tombstones"
FORMAT = 1


class BrokenJournal(SystemExit):
    """A journal cannot be finished (a staged file it names is gone): one clear error, nothing guessed."""



@dataclass
class TableSwap:
    table: str
    root: str
    """The table's location (``<silver>/<source>/<entity>``)."""
    staged: str
    """Where its staged partitions are (``<silver>/_staging/<run_id>/<source>/<entity>``)."""
    partitions: dict[str, list[str]] = field(default_factory=dict)
    """Partition folder (``created_month=2024-01``) -> the file names it must hold."""
    emptied: list[str] = field(default_factory=list)
    """Partition folders to delete."""
    tombstones: list[str] = field(default_factory=list)
    """Tombstone files of this run, staged in ``<staged tombstones>``, moved to ``<tombstone dir>``."""
    staged_tombstones: str = ""
    tombstone_dir: str = ""


@dataclass
class Journal:
    uri: str
    job: str
    run_id: str
    staging: str
    manifest_uri: str
    objects: dict[str, str]
    """Manifest entries to commit (relative name -> version)."""
    run: dict
    tables: list[TableSwap]
    runs_kept: int = 100

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("uri")
        return json.dumps({"format": FORMAT, **data}, indent=1, sort_keys=True) + "\n"


def journal_uri(state_path: str) -> str:
    return _join(state_path, JOURNAL_NAME)


def staging_root(silver_path: str, run_id: str) -> str:
    return _join(silver_path, STAGING, run_id)


def staged_files(spark, folder: str) -> list[str]:
    """Data file names directly in ``folder`` (not ``_SUCCESS``, not hidden checksum files)."""
    return [name for name, is_dir in fs.list_dir(spark, folder) if not is_dir and not name.startswith(("_", "."))]


def load(state_path: str) -> Journal | None:
    uri = journal_uri(state_path)
    stored = objects.get(uri)
    if stored is None:
        return None
    try:
        data = json.loads(stored.text)
        data.pop("format", None)
        data["tables"] = [TableSwap(**t) for t in data["tables"]]
        return Journal(uri=uri, **data)
    except (ValueError, TypeError, KeyError) as exc:
        raise BrokenJournal(f"silver journal {uri} is not readable ({exc}): silver may hold a half-finished "
                            f"swap; restore the previous version of the object (the bucket is versioned) and "
                            f"rerun the job") from None


def create(journal: Journal) -> None:
    """Write the journal, only if no other run holds one (:class:`lakehouse.objects.ConcurrentUpdate`)."""
    objects.put(journal.uri, journal.to_json(), create_only=True)


def _swap_folder(spark, staged_dir: str, final_dir: str, names: list[str]) -> None:
    """Make ``final_dir`` hold exactly ``names``: move the staged ones in, then delete every other file."""
    for name in names:
        src, dst = _join(staged_dir, name), _join(final_dir, name)
        if fs.exists(spark, src):
            fs.rename(spark, src, dst)
        elif not fs.exists(spark, dst):
            raise BrokenJournal(f"staged file {src} is gone and {dst} does not exist: the journal cannot be "
                                f"finished; restore silver from the bucket's previous versions")
    wanted = set(names)
    for name, is_dir in fs.list_dir(spark, final_dir):
        if name not in wanted and not name.startswith("."):
            fs.delete(spark, _join(final_dir, name), recursive=is_dir)


def apply(spark, journal: Journal) -> None:
    """The swap (idempotent), then the manifest entries (if missing), then clean up."""
    first = True
    for table in journal.tables:
        for folder, names in sorted(table.partitions.items()):
            _swap_folder(spark, _join(table.staged, folder), _join(table.root, folder), names)
            if first:
                faults.point("silver_during_swap")
                first = False
        for folder in table.emptied:
            fs.delete(spark, _join(table.root, folder))
        if table.tombstones:
            _swap_folder(spark, table.staged_tombstones, table.tombstone_dir, table.tombstones)
    faults.point("silver_before_manifest_commit")
    manifest = manifest_module.load(journal.manifest_uri, journal.job)
    if not manifest.contains(journal.objects):
        manifest.add(journal.objects, journal.run, journal.runs_kept)
        manifest.commit()
    faults.point("silver_after_manifest_commit")
    fs.delete(spark, journal.staging)
    _remove_if_empty(spark, journal.staging.rsplit("/", 1)[0])
    objects.delete(journal.uri)


def _remove_if_empty(spark, uri: str) -> None:
    if fs.exists(spark, uri) and not fs.list_dir(spark, uri):
        fs.delete(spark, uri)


def replay(spark, state_path: str, job: str) -> Journal | None:
    """Finish the journal a previous run left (a crash after it was written); returns it, or None. Logs one
    line naming that run (``run_id``: the crashed run's, not the current one's)."""
    journal = load(state_path)
    if journal is None:
        return None
    if journal.job != job:
        raise BrokenJournal(f"{journal.uri} belongs to job {journal.job!r}, not {job!r}")
    partitions = sum(len(t.partitions) + len(t.emptied) for t in journal.tables)
    run_log.log("finishing a run from its journal", message=f"finishing run {journal.run_id} from its journal "
                f"{journal.uri} ({partitions} partitions)", run_id=journal.run_id, journal=journal.uri,
                partitions=partitions)
    apply(spark, journal)
    return journal
