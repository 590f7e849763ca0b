"""Bronze -> silver killed at each step of its publication, then run again: silver, its tombstones, the
quarantine and the manifest end up exactly as after a run that never failed (in-process, file:// paths;
the same job killed for real under spark-submit on the emulator is in tests/e2e/test_crash_recovery.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse import faults
from lakehouse.bronze_silver import spark_schema, tombstone_schema
from lakehouse.silver_tables import silver_table
from tests.spark.test_bronze_silver import _args, _customer, _write_bronze, make_line

POINTS = ("silver_after_staging", "silver_after_journal", "silver_during_swap", "silver_before_manifest_commit",
          "silver_after_manifest_commit")
SPEC = silver_table("erp", "customer")


def _first_batch() -> list[str]:
    return [_customer(f"CUS-0000000{i}", f"2024-0{i}-10T09:00:00Z", f"2024-0{i}-10T09:00:00Z", i) for i in range(1, 5)]


def _second_batch() -> list[str]:
    return [
        _customer("CUS-00000001", "2024-01-10T09:00:00Z", "2024-05-01T09:00:00Z", 11, city="Santos"),  # update
        _customer("CUS-00000003", "2024-03-10T09:00:00Z", "2024-05-02T09:00:00Z", 12, city="Recife", state="PE"),
        make_line("erp", "customer", {"customer_id": "CUS-00000004"}, op="delete",
                  event_time="2024-05-03T00:00:00Z", seq=13),                                        # empties 2024-04
        _customer("CUS-00000005", "2024-05-10T09:00:00Z", "2024-05-10T09:00:00Z", 14),               # new partition
        _customer("CUS-00000006", "2024-05-11T09:00:00Z", "2024-05-11T09:00:00Z", 15, state="XX"),  # quarantined
    ]


def lake_state(spark, root: Path) -> dict:
    """Everything a reader of silver and its quarantine sees, plus the manifest's objects."""
    table = root / "silver" / "erp" / "customer"
    rows = spark.read.schema(spark_schema(SPEC)).parquet(table.as_uri()).collect() if table.exists() else []
    tombs = root / "silver" / "_tombstones" / "erp" / "customer"
    tomb_rows = (spark.read.schema(tombstone_schema(SPEC)).parquet(tombs.as_uri()).collect()
                 if tombs.exists() else [])
    quarantine = sorted(line.replace(str(root), "<root>") for f in (root / "quarantine").rglob("*.json")
                        for line in f.read_text().splitlines() if line.strip())
    manifest = json.loads((root / "artifacts/state/bronze_to_silver/manifest.json").read_text())
    return {"silver": sorted(map(repr, rows)), "partitions": sorted(p.name for p in table.iterdir() if p.is_dir()),
            "tombstones": sorted(map(repr, tomb_rows)), "quarantine": quarantine, "objects": manifest["objects"],
            "leftovers": sorted(str(p.relative_to(root)) for p in root.rglob("*")
                                if "_staging" in p.parts or p.name == "journal.json")}


def _prepare(root: Path) -> None:
    _write_bronze(root, "2024-06-01", "kinesis-shardId-000000000000-1-4.jsonl", _first_batch())


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory):
    from glue_jobs import bronze_to_silver as job

    root = tmp_path_factory.mktemp("clean")
    _prepare(root)
    job.main(_args(root))
    _write_bronze(root, "2024-06-02", "kinesis-shardId-000000000000-11-15.jsonl", _second_batch())
    job.main(_args(root))
    state = lake_state(spark, root)
    assert len(state["silver"]) == 4 and len(state["tombstones"]) == 1 and len(state["quarantine"]) == 1
    assert "created_month=2024-04" not in state["partitions"] and not state["leftovers"]
    return state


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_each_step_converges_to_the_clean_result(spark, tmp_path, monkeypatch, clean, point):
    from glue_jobs import bronze_to_silver as job

    _prepare(tmp_path)
    job.main(_args(tmp_path))
    _write_bronze(tmp_path, "2024-06-02", "kinesis-shardId-000000000000-11-15.jsonl", _second_batch())
    monkeypatch.setenv(faults.ENV, point)
    with pytest.raises(faults.InjectedFault):
        job.main(_args(tmp_path))
    journal = tmp_path / "artifacts/state/bronze_to_silver/journal.json"
    assert journal.exists() == (point not in ("silver_after_staging",))
    monkeypatch.delenv(faults.ENV)
    job.main(_args(tmp_path))  # replays the journal (or redoes the run), then finds nothing new
    assert lake_state(spark, tmp_path) == clean
    job.main(_args(tmp_path))
    assert lake_state(spark, tmp_path) == clean


def test_a_second_run_cannot_publish_while_a_journal_is_held(spark, tmp_path, monkeypatch, clean):
    """A run that finds another run's journal when it wants to publish publishes nothing (the journal
    is created only if absent), and its retry after the other one finished converges."""
    from glue_jobs import bronze_to_silver as job
    from lakehouse import objects

    _prepare(tmp_path)
    job.main(_args(tmp_path))
    _write_bronze(tmp_path, "2024-06-02", "kinesis-shardId-000000000000-11-15.jsonl", _second_batch())
    journal = tmp_path / "artifacts/state/bronze_to_silver/journal.json"
    real_replay = job.silver_journal.replay

    def concurrent(spark, state_path, name):  # the other run takes the journal right after our start
        out = real_replay(spark, state_path, name)
        objects.put(journal.as_uri(), '{"held": "by another run"}', create_only=True)
        return out

    monkeypatch.setattr(job.silver_journal, "replay", concurrent)
    with pytest.raises(job.ConcurrentRun, match="another run is publishing"):
        job.main(_args(tmp_path))
    assert json.loads(journal.read_text()) == {"held": "by another run"}
    assert not (tmp_path / "silver" / "_staging").exists() or not any((tmp_path / "silver" / "_staging").rglob("*.parquet"))
    journal.unlink()
    monkeypatch.setattr(job.silver_journal, "replay", real_replay)
    job.main(_args(tmp_path))
    assert lake_state(spark, tmp_path) == clean
