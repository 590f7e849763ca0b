"""The warm local Spark (local_runtime.batch.JobHost): several job scripts in one spark-submit, each seeing what
its own spark-submit would give it (arguments, session settings, no cached data, the caller's LAKEFORGE_*
settings), failures reported with their exit codes, and a killed driver replaced by a fresh one."""
from __future__ import annotations

import textwrap
import zipfile

import pytest

from local_runtime.batch import JobHost

JOB = textwrap.dedent("""
    import os, sys
    import shared_mod
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    mode = sys.argv[1]
    print("args", sys.argv[1:], "shared", shared_mod.VALUE, "fault", os.environ.get("LAKEFORGE_FAULT"))
    print("setting", spark.conf.get("spark.sql.session.timeZone", "unset"),
          spark.conf.get("lakeforge.test.mark", "unset"))
    print("cached", len(spark.sparkContext._jsc.getPersistentRDDs()))
    df = spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().cache()
    print("groups", df.count())
    # what the job leaves behind: a setting, a changed setting, a cached frame
    spark.conf.set("lakeforge.test.mark", "left-by-" + mode)
    spark.conf.set("spark.sql.session.timeZone", "America/Sao_Paulo")
    if mode == "message":
        raise SystemExit("--mode message: a clear error")
    if mode == "boom":
        raise ValueError("boom")
    if mode == "exit3":
        sys.exit(3)
    if mode == "killed":
        os._exit(86)
    sys.exit(0)
""")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("host")
    script = tmp / "job.py"
    script.write_text(JOB)
    libs = tmp / "shared.zip"
    with zipfile.ZipFile(libs, "w") as zf:
        zf.writestr("shared_mod.py", "VALUE = 'v1'\n")
    libs2 = tmp / "shared2.zip"
    with zipfile.ZipFile(libs2, "w") as zf:
        zf.writestr("shared_mod.py", "VALUE = 'v2'\n")
    return script, libs, libs2


def _lines(result) -> list[str]:
    return result.log.read_text().splitlines()


def test_jobs_share_one_driver_and_start_clean(files, monkeypatch):
    script, libs, libs2 = files
    monkeypatch.delenv("LAKEFORGE_FAULT", raising=False)
    with JobHost(None, driver_memory="1g", shuffle_partitions=2) as host:
        first = host.run("host-first", script, ["ok", "--a", "1"], [libs], stream=False)
        monkeypatch.setenv("LAKEFORGE_FAULT", "somewhere")
        second = host.run("host-second", script, ["ok"], [libs], stream=False)
        monkeypatch.delenv("LAKEFORGE_FAULT")
        third = host.run("host-third", script, ["message"], [libs], stream=False)
        assert host.starts == 1
        killed = host.run("host-killed", script, ["killed"], [libs], stream=False)  # a fresh host after a failure
        assert host.starts == 2
        after = host.run("host-after", script, ["ok"], [libs], stream=False)      # and after a killed driver
        assert host.starts == 3
        other = host.run("host-other", script, ["ok"], [libs2], stream=False)     # other shared code: a fresh host
        assert host.starts == 4
    assert [r.returncode for r in (first, second, third, killed, after, other)] == [0, 0, 1, 86, 0, 0]
    out1, out2, out3 = _lines(first), _lines(second), _lines(third)
    assert "args ['ok', '--a', '1'] shared v1 fault None" in out1
    # the second job sees the caller's setting of the moment, and none of what the first job left behind
    assert "args ['ok'] shared v1 fault somewhere" in out2
    assert "fault None" in " ".join(out3)
    for lines in (out1, out2, out3):
        assert "setting UTC unset" in lines, lines
        assert "cached 0" in lines and "groups 7" in lines
    assert "--mode message: a clear error" in third.log.read_text()
    assert "groups 7" in _lines(killed)
    assert "shared v2" in " ".join(_lines(other))
