"""Byte-for-byte deterministic Lambda zips, built before synth/apply.

Building inside ``terraform apply`` (as archive_file or a null_resource does) gives "inconsistent
final plan" errors and missed deploys; instead the zip is built here, its base64 SHA-256 is handed to
Terraform as ``source_code_hash``, and an unchanged source tree gives an identical zip (fixed
timestamps and permissions, sorted entries, no ``__pycache__``), so Terraform sees no change.

Layout of ``build/lambda/<name>.zip`` (as AWS's Python runtime wants it, everything at the root):
- the handler module ``lambda_src/<name>/app.py``, as ``app.py``;
- exactly the first-party modules it imports, transitively (:mod:`bundling.imports`), at their
  repository paths (e.g. ``data_contracts/validation.py``, ``lambda_src/ingest_core/batch.py``, with
  the ``__init__.py`` of every package on the way); nothing else of those packages (no sample data,
  no exporters, no data files except those listed in ``DATA_FILES`` for that function, which it reads at run
  time: the query API reads its KPI definitions from ``queries/*.sql``);
- the third-party distributions listed in ``FUNCTIONS[name]``, copied from the project virtualenv, so
  their versions are the ones pinned in ``requirements.txt``. boto3/botocore are provided by the
  Lambda runtime and are not bundled.

Run ``python -m bundling.lambda_zip`` to build every function; prints ``<path> <hash>`` lines.
"""
from __future__ import annotations

import sys
from importlib.metadata import distribution
from pathlib import Path

from bundling.archive import ROOT, keep, write_if_changed
from bundling.archive import zip_bytes as _zip
from bundling.imports import Closure, closure
from modules.lambda_function_props import code_sha256

OUT_DIR = ROOT / "build" / "lambda"
HANDLER = "app.py"

# function name -> the third-party distributions bundled with it
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "ingest": ("aws-lambda-powertools", "fastjsonschema", "jmespath", "typing_extensions"),
    "ingest_msk": ("aws-lambda-powertools", "fastjsonschema", "jmespath", "typing_extensions"),
    "query_api": ("aws-lambda-powertools", "jmespath", "typing_extensions"),
    "api_authorizer": (),
    "kafka_topics": ("kafka-python",),
}

# function name -> glob patterns (below the repository root) of the data files its code reads at run time
DATA_FILES: dict[str, tuple[str, ...]] = {
    "query_api": ("queries/*.sql",),
}


def data_files(name: str) -> dict[str, Path]:
    """Archive name -> file, for the data files of one function (``DATA_FILES``); each pattern must match."""
    files: dict[str, Path] = {}
    for pattern in DATA_FILES.get(name, ()):
        found = sorted(p for p in ROOT.glob(pattern) if p.is_file())
        if not found:
            raise RuntimeError(f"{name}: data file pattern {pattern!r} matches nothing")
        files.update({p.relative_to(ROOT).as_posix(): p for p in found})
    return files


def _distribution_files(name: str) -> dict[str, Path]:
    dist = distribution(name)
    files: dict[str, Path] = {}
    for entry in dist.files or ():
        rel = Path(str(entry))
        if rel.parts[0].endswith(".dist-info"):
            if rel.name != "METADATA":
                continue  # keep METADATA only: RECORD/INSTALLER differ between installs
        elif rel.parts[0] == ".." or not keep(rel):
            continue  # scripts outside site-packages, bytecode
        files[rel.as_posix()] = Path(str(entry.locate()))
    if not files:
        raise RuntimeError(f"distribution {name} has no files to bundle")
    return files


def handler_closure(name: str) -> Closure:
    """The first-party import closure of ``lambda_src/<name>/app.py``, as it is laid out in the zip (the
    handler's folder and the repository root both map to the zip root)."""
    if name not in FUNCTIONS:
        raise KeyError(f"unknown function {name!r}; known: {sorted(FUNCTIONS)}")
    folder = ROOT / "lambda_src" / name
    return closure([folder / HANDLER], roots=[folder, ROOT])


def handler_sources(name: str) -> dict[str, Path]:
    """Archive name -> source file, for the first-party part of one function's zip (code and data files)."""
    return {HANDLER: ROOT / "lambda_src" / name / HANDLER, **handler_closure(name).files, **data_files(name)}


def zip_sources(name: str) -> dict[str, Path]:
    """Archive name -> source file, for one function."""
    first_party = handler_sources(name)  # KeyError for an unknown function
    files: dict[str, Path] = {}
    for dist in FUNCTIONS[name]:
        files.update(_distribution_files(dist))
    files.update(first_party)
    return files


def zip_bytes(name: str) -> bytes:
    return _zip(zip_sources(name))


def build_function_zip(name: str, out_dir: Path = OUT_DIR) -> Path:
    """Build ``<out_dir>/<name>.zip``; leaves the file untouched when the bytes are unchanged."""
    return write_if_changed(out_dir / f"{name}.zip", zip_bytes(name))


def main(argv: list[str]) -> int:
    for name in argv or sorted(FUNCTIONS):
        path = build_function_zip(name)
        print(f"{path.relative_to(ROOT)} {code_sha256(path.read_bytes())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
