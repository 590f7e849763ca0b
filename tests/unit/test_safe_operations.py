"""Safe operations (local_runtime/stacks.py, Makefile): outside local, deploy and destroy show the plan and ask
before applying exactly that plan; AUTO_APPROVE=1 skips the question; without a terminal they refuse; an
unknown environment is refused before any work. The plan/confirm/apply flow runs the real Terraform CLI on a
configuration of built-in ``terraform_data`` resources (no provider, no AWS)."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from environments import ENVIRONMENTS
from local_runtime import stacks
from local_runtime import terraform as tf

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------------
# The decision (no Terraform)
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action, env, auto, interactive, expected", [
    ("deploy", "local", None, False, "none"),       # the demo and the tests deploy local without a terminal
    ("destroy", "local", "", False, "none"),
    ("outputs", "prod", None, False, "none"),       # reads only
    ("deploy", "prod", None, True, "ask"),
    ("destroy", "dev", "0", True, "ask"),
    ("deploy", "prod", "1", False, "auto"),
    ("destroy", "prod", "1", True, "auto"),
    ("deploy", "dev", " 1 ", False, "auto"),
])
def test_how_a_change_is_approved(action, env, auto, interactive, expected):
    assert stacks.approval(action, env, auto, interactive) == expected


@pytest.mark.parametrize("action, env, auto", [("deploy", "prod", None), ("destroy", "dev", "0"),
                                               ("destroy", "prod", "")])
def test_no_terminal_and_no_auto_approve_is_refused(action, env, auto):
    with pytest.raises(stacks.UsageError) as err:
        stacks.approval(action, env, auto, interactive=False)
    text = str(err.value)
    assert "\n" not in text
    assert f"`{action} ENV={env}`" in text and "no terminal" in text and "AUTO_APPROVE=1" in text


@pytest.mark.parametrize("value", ["yes", "true", "2", "-1"])
def test_auto_approve_other_than_1_or_0_is_refused(value):
    with pytest.raises(stacks.UsageError, match=f"AUTO_APPROVE must be 1 .* got '{value}'"):
        stacks.approval("deploy", "prod", value, interactive=True)


@pytest.mark.parametrize("env", ["staging", "Prod", "", "lakeforge-dev"])
def test_unknown_environment_is_refused_naming_the_known_ones(env):
    with pytest.raises(stacks.UsageError) as err:
        stacks.preflight("deploy", env, environ={}, interactive=True)
    assert str(err.value) == f"unknown environment {env!r}: ENV must be one of {', '.join(ENVIRONMENTS)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_known_environments_pass_the_preflight(env):
    assert stacks.preflight("deploy", env, environ={"AUTO_APPROVE": "1"}, interactive=False) in {"none", "auto"}


@pytest.mark.parametrize("answer, confirmed", [("prod", True), (" prod\n", True), ("yes", False), ("y", False),
                                               ("", False), ("dev", False), ("PROD", False)])
def test_only_the_environment_name_typed_back_confirms(answer, confirmed):
    prompts = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return answer

    assert stacks.confirm("destroy", "prod", read=read) is confirmed
    assert prompts == ["Destroy the prod stack as planned above? Type 'prod' to confirm, anything else cancels: "]


@pytest.mark.parametrize("interrupt", [EOFError, KeyboardInterrupt])
def test_end_of_input_or_ctrl_c_cancels(interrupt):
    def read(prompt: str) -> str:
        raise interrupt

    assert stacks.confirm("deploy", "dev", read=read) is False


# --------------------------------------------------------------------------------------------------
# The command refuses before any work
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def no_terraform(monkeypatch):
    """Any Terraform call fails the test: the command must refuse before doing work."""
    def run(*args, **kwargs):
        raise AssertionError(f"terraform was run: {args}")

    monkeypatch.setattr(tf, "run", run)


@pytest.mark.parametrize("argv", [["deploy", "staging"], ["destroy", "staging"], ["outputs", "staging"],
                                  ["check", "deploy", "staging"]])
def test_command_refuses_an_unknown_environment_at_once(argv, no_terraform, capsys):
    assert stacks.main(argv) == 2
    err = capsys.readouterr().err
    assert err == "lakeforge: unknown environment 'staging': ENV must be one of local, dev, prod\n"


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_command_without_terminal_refuses_a_cloud_change(action, no_terraform, monkeypatch, capsys):
    monkeypatch.delenv("AUTO_APPROVE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    assert stacks.main([action, "prod"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no terminal" in err and "AUTO_APPROVE=1" in err


def test_check_passes_with_auto_approve(no_terraform, monkeypatch):
    monkeypatch.setenv("AUTO_APPROVE", "1")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert stacks.main(["check", "destroy", "prod"]) == 0


def _make_is_ready() -> bool:
    """The Makefile's virtualenv stamp is current (else `make` would install first: not for a test)."""
    if shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "python").exists():
        return False
    dry = subprocess.run(["make", "-n", "preflight-deploy", "ENV=local"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    return dry.returncode == 0 and "pip install" not in dry.stdout


@pytest.mark.skipif(not _make_is_ready(), reason="needs make and an installed .venv")
@pytest.mark.parametrize("target, env, line", [
    ("deploy", "staging", "lakeforge: unknown environment 'staging': ENV must be one of local, dev, prod"),
    ("destroy", "staging", "lakeforge: unknown environment 'staging': ENV must be one of local, dev, prod"),
    ("outputs", "staging", "lakeforge: unknown environment 'staging': ENV must be one of local, dev, prod"),
    ("destroy", "prod", "lakeforge: `destroy ENV=prod` shows the plan and asks for confirmation, but there is no "
                        "terminal to ask on: run it from a terminal, or set AUTO_APPROVE=1 to destroy without asking"),
])
def test_make_refuses_before_synthesizing(target, env, line):
    environ = {k: v for k, v in os.environ.items() if k not in {"AUTO_APPROVE", "MAKEFLAGS", "MAKELEVEL"}}
    proc = subprocess.run(["make", target, f"ENV={env}"], cwd=ROOT, env=environ, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert proc.stderr.splitlines()[0] == line
    assert "[synth]" not in proc.stdout and "[install]" not in proc.stderr


# --------------------------------------------------------------------------------------------------
# Plan, confirm, apply exactly that plan (real Terraform, built-in resources only)
# --------------------------------------------------------------------------------------------------
needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


def _stack(directory: Path, value: str, prevent_destroy: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    doc = {"resource": {"terraform_data": {"keep": {"input": value,
                                                   "lifecycle": {"prevent_destroy": prevent_destroy}}}}}
    (directory / "main.tf.json").write_text(json.dumps(doc))


def _state(directory: Path) -> list[str]:
    """``type.name=input`` of every resource in the local state."""
    path = directory / "terraform.tfstate"
    if not path.exists():
        return []
    state = json.loads(path.read_text())
    return [f"{r['type']}.{r['name']}={r['instances'][0]['attributes']['input']['value']}"
            for r in state["resources"] if r["instances"]]


class Asked:
    def __init__(self, answer: bool) -> None:
        self.answer, self.calls = answer, []

    def __call__(self, action: str, env_name: str) -> bool:
        self.calls.append((action, env_name))
        return self.answer


@pytest.fixture
def stack(tmp_path):
    directory = tmp_path / "lakeforge-prod"
    _stack(directory, "v1")
    env = tf.terraform_env()
    stacks.init(directory, env)
    return directory, env


@needs_terraform
def test_not_confirmed_changes_nothing(stack):
    directory, env = stack
    asked = Asked(False)
    assert stacks.plan_and_apply(directory, env, "deploy", "prod", "ask", ask=asked) is False
    assert asked.calls == [("deploy", "prod")]
    assert _state(directory) == []
    assert not list(directory.glob("*.tfplan"))


@needs_terraform
def test_confirmed_plan_is_applied_and_a_plan_without_changes_asks_nothing(stack):
    directory, env = stack
    assert stacks.plan_and_apply(directory, env, "deploy", "prod", "ask", ask=Asked(True)) is True
    assert _state(directory) == ["terraform_data.keep=v1"]
    again = Asked(True)
    assert stacks.plan_and_apply(directory, env, "deploy", "prod", "ask", ask=again) is False
    assert again.calls == []
    assert not list(directory.glob("*.tfplan"))


@needs_terraform
def test_auto_approve_applies_without_asking_and_destroy_asks_on_the_destroy_plan(stack):
    directory, env = stack
    never = Asked(True)
    assert stacks.plan_and_apply(directory, env, "deploy", "prod", "auto", ask=never) is True
    assert never.calls == [] and _state(directory) == ["terraform_data.keep=v1"]
    refused = Asked(False)
    assert stacks.plan_and_apply(directory, env, "destroy", "prod", "ask", ask=refused) is False
    assert refused.calls == [("destroy", "prod")] and _state(directory) == ["terraform_data.keep=v1"]
    assert stacks.plan_and_apply(directory, env, "destroy", "prod", "ask", ask=Asked(True)) is True
    assert _state(directory) == []
    assert not list(directory.glob("*.tfplan"))


@needs_terraform
def test_prevent_destroy_stops_the_destroy_plan_before_any_change(stack):
    directory, env = stack
    _stack(directory, "v1", prevent_destroy=True)
    assert stacks.plan_and_apply(directory, env, "deploy", "prod", "auto") is True
    never = Asked(True)
    with pytest.raises(SystemExit, match="terraform plan failed .*set it to false, deploy, then destroy"):
        stacks.plan_and_apply(directory, env, "destroy", "prod", "auto", ask=never,
                              hint=stacks._destroy_hint("prod"))
    assert never.calls == [] and _state(directory) == ["terraform_data.keep=v1"]
    # The documented way out: the setting off, deploy, then destroy.
    _stack(directory, "v1", prevent_destroy=False)
    stacks.plan_and_apply(directory, env, "deploy", "prod", "auto")
    assert stacks.plan_and_apply(directory, env, "destroy", "prod", "auto") is True
    assert _state(directory) == []


def test_the_destroy_hint_follows_the_environment_setting():
    assert "prevent_destroy = true" in stacks._destroy_hint("prod")
    assert stacks._destroy_hint("dev") == "" and stacks._destroy_hint("local") == ""


@pytest.mark.parametrize("refresh, flag", [(True, False), (False, True)])
def test_apply_reads_every_resource_back_unless_told_the_state_matches(refresh, flag, monkeypatch, tmp_path):
    calls = []

    def run(args, directory, **kwargs):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(tf, "run", run)
    stacks.apply(tmp_path, {}, {"aws_endpoint": "http://127.0.0.1:1"}, refresh=refresh)
    assert ("-refresh=false" in calls[0]) is flag
    assert calls[0][0] == "apply" and "-var=aws_endpoint=http://127.0.0.1:1" in calls[0]
