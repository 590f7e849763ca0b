"""The warm local Spark's driver program runs each job script as spark-submit would run it alone: its exit
code (SystemExit codes and messages, exceptions), its arguments and script folder, and the caller's settings."""
from __future__ import annotations

import os
import sys

import pytest

from local_runtime.job_host import run_one

SCRIPT = """
import os, sys
mode = sys.argv[1]
print("argv", sys.argv[1:], "path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)),
      "setting", os.environ.get("LAKEFORGE_TEST_SETTING"))
if mode == "message":
    raise SystemExit("--mode: a clear error")
if mode == "boom":
    raise ValueError("boom")
if mode == "exit3":
    sys.exit(3)
if mode == "none":
    sys.exit()
"""


@pytest.mark.parametrize("mode, code", [("ok", 0), ("none", 0), ("exit3", 3), ("message", 1), ("boom", 1)])
def test_exit_codes(tmp_path, capsys, mode, code):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    argv, path = list(sys.argv), list(sys.path)
    assert run_one({"name": "j", "script": str(script), "args": [mode, "--x", "1"], "env": {}}) == code
    assert (sys.argv, sys.path) == (argv, path)  # put back for the next job
    out, err = capsys.readouterr()
    assert f"argv ['{mode}', '--x', '1'] path0 True setting None" in out
    if mode == "message":
        assert "--mode: a clear error" in err
    if mode == "boom":
        assert "ValueError: boom" in err


def test_settings_are_the_callers(tmp_path, capsys, monkeypatch):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    monkeypatch.setenv("LAKEFORGE_TEST_SETTING", "old")
    assert run_one({"name": "j", "script": str(script), "args": ["ok"], "env": {"LAKEFORGE_TEST_SETTING": "new"}}) == 0
    assert "setting new" in capsys.readouterr().out
    assert run_one({"name": "j", "script": str(script), "args": ["ok"], "env": {"LAKEFORGE_TEST_SETTING": None}}) == 0
    assert "setting None" in capsys.readouterr().out
    assert "LAKEFORGE_TEST_SETTING" not in os.environ


def test_shared_code_is_compared_by_what_python_imports(tmp_path):
    import zipfile

    from local_runtime.batch import JobHost

    def make(name, members, date=(2026, 1, 1, 0, 0, 0)):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            for member, text in members.items():
                zf.writestr(zipfile.ZipInfo(member, date), text)
        return tmp_path / name

    emr = make("lakeforge_jobs.zip", {"lakehouse/a.py": "x = 1\n", "lakehouse/b.py": "y = 2\n"})
    glue = make("lakehouse.zip", {"lakehouse/a.py": "x = 1\n", "lakehouse/b.py": "y = 2\n"}, (2026, 2, 2, 0, 0, 0))
    changed = make("changed.zip", {"lakehouse/a.py": "x = 1\n", "lakehouse/b.py": "y = 3\n"})
    assert emr.read_bytes() != glue.read_bytes()
    assert JobHost._digest_of([emr]) == JobHost._digest_of([glue])
    assert JobHost._digest_of([emr]) != JobHost._digest_of([changed])
    assert JobHost._digest_of([emr]) != JobHost._digest_of([emr, glue])
