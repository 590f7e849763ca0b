"""Gold publication on small data: every run a complete copy under its own prefix, published only after the
gate, the type 2 history read from the published copy, months that become empty gone, older copies kept
for --runs_kept runs, rolling back by switching back; and the job killed at each step of its publication,
then run again, ends exactly like a clean run (in-process, file:// paths: the publication record is the
switch; the catalog switch itself runs on the emulator in tests/e2e/test_crash_recovery.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse import faults, gold_publication
from lakehouse.gold_tables import DIM_CUSTOMER, column_names
from tests.spark.test_gold import (  # noqa: F401 - _small_data_settings: the same autouse fixture as test_gold
    _small_data_settings, claim, customer, installment, market, policy, read_gold, write_silver,
)

COMPANY = "05631"


def silver_v1() -> dict[str, list[dict]]:
    return {
        "erp_customer": [customer("CUS-00000001"), customer("CUS-00000002", state="RJ", city="Niterói")],
        "erp_policy": [policy("POL-0000000001", "2024-01-01", "2024-12-31", "1200", issued="2023-12-28T00:00:00"),
                       policy("POL-0000000002", "2024-02-01", "2025-01-31", "600", issued="2024-01-20T00:00:00",
                              cid="CUS-00000002", state="RJ")],
        "erp_premium_installment": [installment("INS-0000000001-01", "POL-0000000001", 1, "2024-01-05", "1200")],
        "erp_claim": [claim("CLM-0000000001", "POL-0000000001", "2024-03-05", "100", "90", "0", "opened")],
        "susep_market_statistics": [market("2024-01", COMPANY, "1200")],
    }


def silver_v2() -> dict[str, list[dict]]:
    """Customer 1 moved (a second type 2 version); the only March claim is gone (its month must vanish)."""
    tables = silver_v1()
    tables["erp_customer"][0] = customer("CUS-00000001", city="Campinas", updated="2024-06-01T10:00:00")
    tables["erp_claim"] = [claim("CLM-0000000002", "POL-0000000001", "2024-04-07", "50", "40", "0", "opened")]
    return tables


def argv(root: Path, *extra: str) -> list[str]:
    return ["silver_to_gold.py", "--silver_path", f"file://{root}/silver", "--gold_path", f"file://{root}/gold",
            "--reports_path", f"file://{root}/reports", "--state_path", f"file://{root}/state", *extra]


def publication(root: Path) -> gold_publication.Publication:
    return gold_publication.load(f"file://{root}/state")


def copies(root: Path) -> list[str]:
    runs = root / "gold" / "runs"
    return sorted(f"runs/{p.name}/" for p in runs.iterdir()) if runs.exists() else []


def months(root: Path, table: str) -> list[str]:
    pub = publication(root)
    return sorted(p.name for p in (root / "gold" / pub.published.prefix / table).iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory):
    """Two clean runs: v1, then v2 (with a stray Parquet file where gold used to live, which must be ignored)."""
    from glue_jobs import silver_to_gold

    root = tmp_path_factory.mktemp("gold_clean")
    write_silver(spark, root / "silver", silver_v1())
    silver_to_gold.main(argv(root))
    first = read_gold(spark, root / "gold", root / "state")
    after_v1 = tmp_path_factory.mktemp("gold_after_v1")
    shutil.copytree(root, after_v1, dirs_exist_ok=True)
    shutil.rmtree(root / "silver")
    write_silver(spark, root / "silver", silver_v2())
    stray = root / "gold" / "dim_customer"
    spark.createDataFrame([(1,)], "x int").write.parquet(str(stray))  # the old in-place location: not read
    silver_to_gold.main(argv(root))
    return {"root": root, "after_v1": after_v1, "first": first,
            "second": read_gold(spark, root / "gold", root / "state")}


def start_from(snapshot: Path, root: Path) -> None:
    shutil.copytree(snapshot, root, dirs_exist_ok=True)


def to_v2(spark, root: Path) -> None:
    shutil.rmtree(root / "silver")
    write_silver(spark, root / "silver", silver_v2())


def test_each_run_publishes_a_whole_new_copy(clean):
    root, second = clean["root"], clean["second"]
    pub = publication(root)
    assert (pub.published.generation, [g.generation for g in pub.history], pub.pending) == (2, [1], None)
    assert copies(root) == sorted([pub.published.prefix, pub.history[0].prefix])
    cols = column_names(DIM_CUSTOMER)
    versions = sorted((r[cols.index("customer_id")], r[cols.index("version")], r[cols.index("city")])
                      for r in second["dim_customer"])
    assert versions == [("CUS-00000001", 1, "São Paulo"), ("CUS-00000001", 2, "Campinas"),
                        ("CUS-00000002", 1, "Niterói")]
    assert months(root, "fact_claim") == ["month=2024-04"]  # March became empty: it is simply not there
    assert [r for r in clean["first"]["fact_claim"] if r[-1] == "2024-03"]


def test_rolling_back_switches_back_and_older_copies_go_after_runs_kept_runs(spark, tmp_path, clean):
    from glue_jobs import silver_to_gold

    start_from(clean["root"], tmp_path)
    back = silver_to_gold.roll_back(f"file://{tmp_path}/state", f"file://{tmp_path}/gold")
    assert back.generation == 1
    assert read_gold(spark, tmp_path / "gold", tmp_path / "state") == clean["first"]
    assert [g.generation for g in publication(tmp_path).history] == [2]
    with pytest.raises(SystemExit, match="kept generations: 2"):
        silver_to_gold.roll_back(f"file://{tmp_path}/state", f"file://{tmp_path}/gold", generation=5)

    silver_to_gold.main(argv(tmp_path, "--runs_kept", "1"))  # builds on the published (rolled back) copy
    pub = publication(tmp_path)
    assert pub.published.generation == 3 and [g.generation for g in pub.history] == [1]
    assert copies(tmp_path) == sorted([pub.published.prefix, pub.history[0].prefix])  # generation 2 deleted
    assert read_gold(spark, tmp_path / "gold", tmp_path / "state") == clean["second"]


@pytest.mark.parametrize("point", ["gold_after_staging", "gold_before_record_commit"])
def test_a_crash_at_each_step_converges_to_the_clean_result(spark, tmp_path, monkeypatch, clean, point):
    from glue_jobs import silver_to_gold

    start_from(clean["after_v1"], tmp_path)
    before = clean["first"]
    to_v2(spark, tmp_path)
    monkeypatch.setenv(faults.ENV, point)
    with pytest.raises(faults.InjectedFault):
        silver_to_gold.main(argv(tmp_path))
    pub = publication(tmp_path)
    if point == "gold_after_staging":  # written, not published: readers still see the first copy
        assert pub.pending is None and pub.published.generation == 1 and len(copies(tmp_path)) == 2
        assert read_gold(spark, tmp_path / "gold", tmp_path / "state") == before
    else:  # recorded as pending: the next run publishes it first
        assert pub.pending is not None and pub.pending.generation == 2
    monkeypatch.delenv(faults.ENV)
    silver_to_gold.main(argv(tmp_path))
    assert read_gold(spark, tmp_path / "gold", tmp_path / "state") == clean["second"]
    pub = publication(tmp_path)
    assert pub.pending is None and copies(tmp_path) == sorted(pub.kept())
    assert sorted(g.generation for g in (pub.published, *pub.history)) == \
        ([1, 2] if point == "gold_after_staging" else [1, 2, 3])


def test_a_published_copy_without_its_history_is_an_error_not_a_restart(spark, tmp_path, clean):
    from glue_jobs import silver_to_gold

    start_from(clean["after_v1"], tmp_path)
    pub = publication(tmp_path)
    for f in (tmp_path / "gold" / pub.published.prefix / "dim_customer").glob("*.parquet"):
        f.unlink()
    with pytest.raises(gold_publication.BrokenPublication, match="type 2 history would restart"):
        silver_to_gold.main(argv(tmp_path))
