"""``make synth``: build the artifacts and synthesize every stack, or nothing when nothing they are made from changed.

The build products (the Lambda zips and the Spark jobs' shared-code zip under ``build/``, the synthesized stacks
under ``cdktf.out/``) are a function of the project's source files, the pinned dependencies, the Python version
and the ``LAKEFORGE_*`` variables (``LAKEFORGE_ENVS``, ``LAKEFORGE_CDKTF_OUT``, ...). After a build this module
records a fingerprint of all of that, and of the products themselves, in ``build/synth.stamp``; the next
``make synth`` compares and skips the build when both match. What counts as a source is deliberately broad (every
file below the project root except the folders of tests, benchmarks, documentation-only files, build products,
local state, caches and the virtualenv), so a change can only cost a needless rebuild, never a stale stack. A
product edited or removed by hand is rebuilt too.

``python -m bundling.synth`` (what ``make synth`` runs); ``--force`` rebuilds regardless.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bundling.archive import ROOT

STAMP = ROOT / "build" / "synth.stamp"
SKIP_DIRS = {".git", ".venv", ".cache", ".state", ".pytest_cache", "__pycache__", "build", "cdktf.out", "tests",
             "benchmarks", "node_modules", ".terraform"}
"""Folders (by name, at any depth) whose files never go into a build product."""
SKIP_SUFFIXES = {".pyc", ".pyo", ".md", ".log", ".tfstate", ".lock.hcl"}
SKIP_NAMES = {".gitignore", "docker-compose.yml", "Makefile", "BENCHMARKS.md"}


def source_files(root: Path = ROOT) -> list[Path]:
    """Every file the products may be made from, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in files:
            if name in SKIP_NAMES or any(name.endswith(s) for s in SKIP_SUFFIXES) or name.startswith(".#"):
                continue
            found.append(Path(folder) / name)
    return sorted(found)


def stack_files(directory: Path) -> list[Path]:
    """What one synthesized stack folder consists of: its ``cdk.tf.json`` and its assets (Terraform's own files
    there are not part of it)."""
    assets = directory / "assets"
    return [directory / "cdk.tf.json", *sorted(p for p in assets.rglob("*") if p.is_file())]


def product_files(root: Path = ROOT, outdir: Path | None = None) -> list[Path]:
    """The build products: ``build/lambda/*.zip``, ``build/glue/*.zip`` and the synthesized stacks
    (:func:`stack_files` of each)."""
    outdir = outdir or _outdir(root)
    files = [*sorted((root / "build" / "lambda").glob("*.zip")), *sorted((root / "build" / "glue").glob("*.zip"))]
    if (outdir / "manifest.json").exists():
        files.append(outdir / "manifest.json")
    stacks = outdir / "stacks"
    for directory in sorted(stacks.iterdir()) if stacks.is_dir() else ():
        files.extend(p for p in stack_files(directory) if p.exists())
    return files


def _outdir(root: Path) -> Path:
    return Path(os.environ.get("LAKEFORGE_CDKTF_OUT") or root / "cdktf.out")


def digest(paths: list[Path], root: Path) -> str:
    """SHA-256 over the files' names (relative to ``root``) and contents, in the given order."""
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def fingerprint(root: Path = ROOT) -> dict[str, str]:
    """What the products are made from: the sources, the Python version and the ``LAKEFORGE_*`` variables
    (``requirements.txt`` is one of the sources)."""
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("LAKEFORGE_")}
    return {"sources": digest(source_files(root), root), "python": sys.version,
            "environment": hashlib.sha256(json.dumps(env).encode()).hexdigest()}


def products(root: Path = ROOT) -> dict[str, str]:
    files = product_files(root)
    return {"products": digest(files, root), "count": str(len(files))}


def up_to_date(root: Path = ROOT, stamp: Path = STAMP, current: dict[str, str] | None = None) -> bool:
    """The recorded build is of these sources (``current``: their :func:`fingerprint`, when the caller has it)
    and its products are untouched."""
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return (recorded == {**(current or fingerprint(root)), **products(root)}
            and int(recorded["count"]) > 0)


def build(argv: list[str] | None = None) -> None:
    """Build the artifacts (in this process) and synthesize (``main.py``, in its own)."""
    from bundling.glue_libs import build_glue_libs
    from bundling.lambda_zip import main as build_lambdas

    build_lambdas([])
    path = build_glue_libs()
    print(f"{path.relative_to(ROOT)} built")
    print("[synth] cdktf synth (importing the AWS bindings takes ~15 s)", flush=True)
    # main.py in its own process: the build step drives the synth, it does not import the stacks' code
    subprocess.run([sys.executable, str(ROOT / "main.py"), *(argv or [])], cwd=ROOT, check=True)


def main(argv: list[str]) -> int:
    force = "--force" in argv
    started = time.monotonic()
    before = fingerprint()
    if not force and up_to_date(current=before):
        print(f"[synth] up to date: no source changed since the last synth (checked in "
              f"{time.monotonic() - started:.2f} s; --force rebuilds)")
        return 0
    STAMP.unlink(missing_ok=True)
    build()
    if fingerprint() == before:  # a source edited during the build: no stamp, the next run builds again
        STAMP.parent.mkdir(parents=True, exist_ok=True)
        STAMP.write_text(json.dumps({**before, **products()}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
