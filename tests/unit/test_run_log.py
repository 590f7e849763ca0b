"""The batch jobs' JSON log lines and their one run summary (lakehouse.run_log, lakehouse.job.run_entrypoint),
with a fake session: no Spark."""
from __future__ import annotations

import json
import threading

import pytest

from data_contracts import emf
from data_contracts.metrics import (
    NAMESPACE, RECORD_COUNTS, RECORDS_IN, RECORDS_OUT, RUN_DURATION, RUN_FAILED, SERVICE_DIMENSION,
)
from lakehouse import job, run_log

CONTRACT = job.JobContract(name="fake_job", description="a job for the tests",
                           arguments=(job.JobArgument("size", "how many", default="3"),))


@pytest.fixture
def session(monkeypatch):
    """start_job without Spark: the parsed arguments, and a commit counter."""
    commits = []

    def start(contract, argv=None):
        args = job.resolve_options(list(argv), ["JOB_NAME", *contract.argument_names],
                                   {"JOB_NAME": "local", **contract.defaults})
        ctx = job.JobContext(spark="no-spark", args=args)
        ctx.commit = lambda: commits.append(1)
        return ctx

    monkeypatch.setattr(job, "start_job", start)
    return commits


def output(capsys) -> tuple[list[dict], list[dict]]:
    """(log lines, run summary lines) printed."""
    lines = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert all(run_log.parse_line(json.dumps(line)) == line for line in lines)
    return ([line for line in lines if line["event"] != run_log.RUN_SUMMARY],
            [line for line in lines if line["event"] == run_log.RUN_SUMMARY])


def metrics(summary: dict) -> dict:
    points = emf.parse(json.dumps(summary))
    assert {(p.namespace, tuple(p.dimensions.items())) for p in points} == {
        (NAMESPACE, ((SERVICE_DIMENSION, summary[SERVICE_DIMENSION]),))}
    return {p.name: p.value for p in points}


def test_a_run_that_succeeds_prints_one_summary_with_its_counts(session, capsys):
    def run(spark, args):
        run_log.bind(run_id="r-1")
        run_log.log("work done", message=f"did {args['size']} things", things=int(args["size"]))
        return {"read": 10, "written": 7}

    result = job.run_entrypoint(run, CONTRACT, ["fake.py", "--JOB_NAME", "lakeforge-dev-fake", "--size", "5"],
                                counts=lambda r: {RECORDS_IN: r["read"], RECORDS_OUT: r["written"]})
    assert result == {"read": 10, "written": 7} and session == [1]
    logs, [summary] = output(capsys)
    [line] = logs
    assert (line["event"], line["message"], line["things"], line["level"]) == ("work done", "did 5 things", 5, "INFO")
    assert (line["job"], line["service"], line["run_id"]) == ("fake_job", "lakeforge-dev-fake", "r-1")
    assert line["timestamp"].endswith("Z")
    values = metrics(summary)
    assert values[RUN_FAILED] == 0 and values[RUN_DURATION] >= 0
    assert (values[RECORDS_IN], values[RECORDS_OUT]) == (10, 7)
    assert (summary["job"], summary["run_id"], summary[SERVICE_DIMENSION]) == ("fake_job", "r-1", "lakeforge-dev-fake")
    assert summary["level"] == "INFO" and "error" not in summary
    assert run_log.bound() == {}  # nothing of this run reaches the next one


def test_a_run_that_raises_prints_one_failed_summary_and_the_exception_propagates(session, capsys):
    def run(spark, args):
        run_log.bind(run_id="r-2")
        raise RuntimeError("the gate failed")

    with pytest.raises(RuntimeError, match="the gate failed"):
        job.run_entrypoint(run, CONTRACT, ["fake.py"], counts=lambda r: {RECORDS_IN: 1})
    assert session == []  # no Glue commit for a failed run
    logs, [summary] = output(capsys)
    assert logs == []
    values = metrics(summary)
    assert values[RUN_FAILED] == 1 and values[RUN_DURATION] >= 0
    assert not set(RECORD_COUNTS) & set(values)  # a failed run reports no counts
    assert summary[SERVICE_DIMENSION] == "fake_job"  # no --JOB_NAME: the contract's name
    assert (summary["run_id"], summary["level"], summary["error"]) == ("r-2", "ERROR", "RuntimeError: the gate failed")


@pytest.mark.parametrize("code, failed", [(0, 0), (None, 0), (2, 1), ("--size: not a number", 1)])
def test_system_exit_fails_the_run_unless_its_code_is_zero(session, capsys, code, failed):
    def run(spark, args):
        raise SystemExit(code)

    with pytest.raises(SystemExit):
        job.run_entrypoint(run, CONTRACT, ["fake.py"])
    _, [summary] = output(capsys)
    assert metrics(summary)[RUN_FAILED] == failed


def test_arguments_that_do_not_parse_still_give_one_failed_summary(monkeypatch, capsys):
    strict = job.JobContract(name="strict", description="", arguments=(job.JobArgument("needed", "required"),))
    with pytest.raises(SystemExit, match="--needed"):
        job.run_entrypoint(lambda spark, args: None, strict, ["strict.py"])
    _, [summary] = output(capsys)
    assert metrics(summary)[RUN_FAILED] == 1 and summary["job"] == "strict"


def test_counts_that_raise_leave_the_summary_whole(session, capsys):
    job.run_entrypoint(lambda spark, args: None, CONTRACT, ["fake.py"], counts=lambda r: {RECORDS_IN: r["x"]})
    _, [summary] = output(capsys)
    assert metrics(summary)[RUN_FAILED] == 0 and summary["counts_error"].startswith("TypeError")


def test_bound_keys_are_restored_and_explicit_keys_win(capsys):
    run_log.bind(run_id="outer")
    try:
        run_log.summarised("inner", "svc", lambda: run_log.log("step", run_id="explicit", empty=None))
        assert run_log.bound() == {"run_id": "outer"}
    finally:
        run_log.bind(run_id=None)
    logs, [summary] = output(capsys)
    assert logs[0]["run_id"] == "explicit" and "empty" not in logs[0]
    assert "run_id" not in summary  # the outer run's id is not the inner run's
    with pytest.raises(ValueError):
        run_log.bind(event="x")


def test_lines_from_threads_never_interleave(capsys):
    def many(n):
        for i in range(200):
            run_log.log("table step", message="x" * 500, table=n, i=i)

    threads = [threading.Thread(target=many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logs, _ = output(capsys)
    assert len(logs) == 800


def test_other_lines_are_not_log_lines():
    for text in ("", "plain", "[bronze_to_silver] old style", "{not json", '{"level": "INFO"}', "[1]"):
        assert run_log.parse_line(text) is None


def test_the_local_runner_shows_what_a_line_says(capsys):
    from local_runtime.batch import shown

    run_log.summarised("fake_job", "svc", lambda: run_log.log("step", message="did it"),
                       counts=lambda r: {RECORDS_IN: 4, RECORDS_OUT: 3})
    def fails():
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        run_log.summarised("fake_job", "svc", fails)
    step, done, failed = capsys.readouterr().out.splitlines(keepends=True)
    assert shown(step) == "[fake_job] did it\n"
    assert shown(done).startswith("[fake_job] run succeeded in ") and shown(done).endswith(
        f" s ({RECORDS_IN} 4, {RECORDS_OUT} 3)\n")
    assert shown(failed).startswith("[fake_job] run FAILED in ") and shown(failed).endswith(": RuntimeError: x\n")
    assert shown("24/06/01 INFO SparkContext: started\n") == "24/06/01 INFO SparkContext: started\n"
