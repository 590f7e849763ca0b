"""Imports point one way (README, "Layers and who owns what"): each top-level folder may import only the
folders listed for it here. Constructs never import job code, the environments or the local runtime; job
code never imports constructs; nothing that ships to AWS imports the sample data."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ALLOWED: dict[str, set[str]] = {
    "modules": set(),
    "data_contracts": set(),
    "security": set(),
    "lakehouse": {"data_contracts"},
    "lambda_src": {"data_contracts", "queries"},
    "sample_data": {"data_contracts"},
    "queries": {"lakehouse", "data_contracts"},
    "dashboard": {"queries", "lakehouse", "data_contracts"},
    "warehouse": {"lakehouse", "data_contracts", "queries"},
    "environments": {"modules"},
    "glue_jobs": {"lakehouse", "data_contracts", "warehouse"},
    "emr_steps": {"lakehouse", "data_contracts"},
    "bundling": {"modules", "glue_jobs", "emr_steps"},
    "compose": {"modules", "environments", "glue_jobs", "emr_steps", "lakehouse", "data_contracts", "bundling",
                "queries", "lambda_src", "warehouse", "dashboard"},
    "local_runtime": {"environments", "glue_jobs", "emr_steps", "lakehouse", "data_contracts", "lambda_src",
                      "sample_data", "queries", "bundling", "dashboard", "warehouse"},
    "benchmarks": {"local_runtime", "bundling", "glue_jobs", "emr_steps", "lakehouse", "data_contracts",
                   "lambda_src", "sample_data", "queries", "environments", "warehouse"},
    "operations": {"glue_jobs", "lakehouse", "data_contracts"},
    "main": {"compose", "environments"},
}
"""Folder (``main`` = ``main.py``) -> the first-party folders it may import (besides itself)."""


def _imports(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def _files(owner: str) -> list[Path]:
    return [ROOT / "main.py"] if owner == "main" else sorted((ROOT / owner).rglob("*.py"))


def test_every_code_folder_has_a_rule():
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
               and p.name not in {"tests", "build", "cdktf.out", "terraform-modules"} and any(p.rglob("*.py"))}
    assert folders == set(ALLOWED) - {"main"}


@pytest.mark.parametrize("owner", sorted(ALLOWED))
def test_imports_point_one_way(owner):
    first_party = set(ALLOWED)
    offenders = []
    files = _files(owner)
    assert files, owner
    for path in files:
        for top in _imports(path) & first_party - {owner}:
            if top not in ALLOWED[owner]:
                offenders.append(f"{path.relative_to(ROOT)} imports {top}")
    assert not offenders, offenders
