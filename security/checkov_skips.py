"""Checkov for the synthesized stacks: load ``security/checkov_skips.toml`` and scan a stack folder.

Why ``--framework terraform_json``: checkov 3.1.47's ``terraform`` framework silently ignores
``*.tf.json`` files in a directory scan (``tf_parser.handle_variables`` only loads ``.tf``/``.hcl``;
``-f cdk.tf.json`` also yields 0 resources), so ``checkov -d <stack> --framework terraform`` on a
cdktf stack reports "0 passed, 0 failed". The ``terraform_json`` framework is checkov's parser for
cdktf's ``cdk.tf.json`` and runs the same Terraform resource and graph checks (~150 on a stack).
:func:`scan` also fails when nothing was checked, so an empty scan can never pass as green.

Skips are tied to the findings they cover: each names its check id AND the resources it covers
(``resources``: fnmatch patterns on checkov's resource address), and is applied to the results, so the
check keeps running on every other resource (nothing goes to ``--skip-check``). A skip that covers no
finding of a stack it applies to is stale (:attr:`ScanResult.stale_skips`): the finding went away (a fix,
a checkov upgrade) and the skip must go too; the CLI and the tests fail on it.

Why checkov stays at 3.1.47: 3.3.30 (current) fixes the parser bug behind the CKV_AWS_300 skip (measured:
it passes CKV_AWS_300 on every lifecycle configuration of the three stacks, and reports exactly the other
findings below), but it cannot share the project's virtualenv: it pins ``boto3==1.35.49`` (hence botocore
< 1.36) while ministack 1.5.33 pins ``botocore==1.43.106``, and it requires ``packaging<24`` while pytest
9.2.0 requires ``packaging>=24``. Every checkov release since 3.2.0 requires ``packaging<24`` and, from
3.2.100 on, an exact old boto3; the last 3.1 (3.1.72) still has the bug.

CLI: ``python -m security.checkov_skips [env ...]`` scans ``cdktf.out/stacks/lakeforge-<env>`` (synth
first) and exits 1 on any failed check.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

SKIPS_FILE = Path(__file__).with_suffix(".toml")
ROOT = Path(__file__).resolve().parent.parent
CHECKOV = Path(sys.executable).parent / "checkov"
FRAMEWORK = "terraform_json"
_ID_RE = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_KEYS = {"id", "reason", "environments", "resources"}


@dataclass(frozen=True)
class Skip:
    """One skipped checkov check."""

    id: str
    reason: str
    environments: tuple[str, ...] = ()
    """Empty = every environment."""
    resources: tuple[str, ...] = ()
    """fnmatch patterns on checkov's resource address (required: the findings the skip covers)."""

    def applies_to(self, env: str) -> bool:
        return not self.environments or env in self.environments

    def covers(self, check_id: str, resource: str) -> bool:
        return check_id == self.id and any(fnmatch.fnmatchcase(resource, p) for p in self.resources)


def load_skips(path: Path | str = SKIPS_FILE) -> list[Skip]:
    """Parse and validate the skip list (unknown keys, bad ids and empty reasons are errors)."""
    data = tomllib.loads(Path(path).read_text())
    unknown_top = set(data) - {"skip"}
    if unknown_top:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown_top)}")
    skips = []
    for i, entry in enumerate(data.get("skip", [])):
        unknown = set(entry) - _KEYS
        if unknown:
            raise ValueError(f"{path}: skip #{i}: unknown keys {sorted(unknown)}")
        sid = entry.get("id", "")
        if not _ID_RE.match(sid):
            raise ValueError(f"{path}: skip #{i}: bad check id {sid!r}")
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"{path}: skip {sid}: reason must not be empty")
        if not entry.get("resources"):
            raise ValueError(f"{path}: skip {sid}: name the resources it covers (resources = [...])")
        skips.append(Skip(id=sid, reason=reason, environments=tuple(entry.get("environments", ())),
                          resources=tuple(entry.get("resources", ()))))
    return skips


def checkov_command(stack_dir: Path | str, env: str, skips: list[Skip]) -> list[str]:
    """The checkov command line for one synthesized stack folder: every check runs (skips are applied to
    the results, :func:`parse_report`)."""
    return [str(CHECKOV), "-d", str(stack_dir), "--framework", FRAMEWORK, "-o", "json", "--compact",
            "--skip-download", "--skip-results-upload"]


def checkov_env() -> dict[str, str]:
    """Environment for an offline checkov run (no guideline download, no telemetry)."""
    env = dict(os.environ)
    env.update({"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
                "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore"})
    return env


@dataclass
class ScanResult:
    """Outcome of one stack's scan."""

    env: str
    passed: int = 0
    failed: list[dict] = field(default_factory=list)
    """Failed checks after resource-scoped skips: dicts with id, resource, file, name."""
    skipped_by_resource: list[dict] = field(default_factory=list)
    """Failed checks a skip covers."""
    stale_skips: list[Skip] = field(default_factory=list)
    """Skips applying to this environment that covered no finding (remove or narrow them)."""
    passed_ids: set[str] = field(default_factory=set)
    """Ids of the checks that passed on at least one resource (evidence of what was covered)."""
    parsing_errors: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return (not self.failed and not self.stale_skips and not self.parsing_errors and not self.error
                and self.passed > 0)

    def describe(self) -> str:
        lines = [f"checkov {self.env}: {self.passed} passed, {len(self.failed)} failed"]
        if self.error:
            lines.append(f"  error: {self.error}")
        for p in self.parsing_errors:
            lines.append(f"  parsing error: {p}")
        for f in self.failed:
            lines.append(f"  FAILED {f['id']} {f['resource']} ({f['file']}): {f['name']}")
        for skip in self.stale_skips:
            lines.append(f"  STALE SKIP {skip.id} {list(skip.resources)}: no finding left; remove it from {SKIPS_FILE.name}")
        return "\n".join(lines)


def parse_report(stdout: str, env: str, skips: list[Skip]) -> ScanResult:
    """Turn checkov's JSON output into a :class:`ScanResult`, applying resource-scoped skips."""
    result = ScanResult(env=env)
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        result.error = f"checkov output is not JSON ({exc}): {stdout[:500]}"
        return result
    reports = data if isinstance(data, list) else [data]
    scoped = [s for s in skips if s.applies_to(env)]
    used: set[int] = set()
    for report in reports:
        if "results" not in report:  # an empty scan prints only a summary
            continue
        results = report["results"]
        result.parsing_errors.extend(results.get("parsing_errors", []))
        for check in results.get("passed_checks", []):
            result.passed += 1
            result.passed_ids.add(check["check_id"])
        for check in results.get("failed_checks", []):
            item = {"id": check["check_id"], "resource": check.get("resource", ""),
                    "file": check.get("file_path", ""), "name": check.get("check_name", "")}
            covering = [i for i, s in enumerate(scoped) if s.covers(item["id"], item["resource"])]
            if covering:
                used.update(covering)
                result.skipped_by_resource.append(item)
            else:
                result.failed.append(item)
    if result.passed or result.failed:
        result.stale_skips = [s for i, s in enumerate(scoped) if i not in used]
    if result.passed == 0 and not result.failed:
        result.error = result.error or "checkov checked nothing (did it parse cdk.tf.json?)"
    return result


def scan(stack_dir: Path | str, env: str, skips: list[Skip] | None = None, *, timeout: int = 600) -> ScanResult:
    """Run checkov on one synthesized stack folder."""
    skips = load_skips() if skips is None else skips
    proc = subprocess.run(checkov_command(stack_dir, env, skips), capture_output=True, text=True,
                          env=checkov_env(), timeout=timeout, check=False)
    result = parse_report(proc.stdout, env, skips)
    if proc.returncode not in (0, 1) and not result.error:
        result.error = f"checkov exited {proc.returncode}: {proc.stderr[-1000:]}"
    return result


def main(argv: list[str]) -> int:
    envs = argv or ["local", "dev", "prod"]
    skips = load_skips()
    status = 0
    for env in envs:
        stack = ROOT / "cdktf.out" / "stacks" / f"lakeforge-{env}"
        if not (stack / "cdk.tf.json").is_file():
            print(f"{stack}/cdk.tf.json missing: run `python main.py {env}` first", file=sys.stderr)
            status = 1
            continue
        result = scan(stack, env, skips)
        print(result.describe())
        status |= 0 if result.ok else 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
