"""Byte-for-byte deterministic Lambda zips, built before synth/apply.

Building inside ``terraform apply`` (as archive_file or a null_resource does) gives "inconsistent
final plan" errors and missed deploys; instead the zip is built here, its base64 SHA-256 is handed to
Terraform as ``source_code_hash``, and an unchanged source tree gives an identical zip (fixed
timestamps and permissions, sorted entries, no ``__pycache__``), so Terraform sees no change.

Layout of ``build/lambda/<name>.zip`` (as AWS's Python runtime wants it, everything at the root):
- the contents of ``lambda_src/<name>/`` (the handler module, e.g. ``app.py``);
- the shared ``data_contracts`` package;
- the third-party packages listed in ``FUNCTIONS[name]``, copied from the project virtualenv, so
  their versions are the ones pinned in ``requirements.txt``. boto3/botocore are provided by the
  Lambda runtime and are not bundled.

Run ``python -m bundling.lambda_zip`` to build every function; prints ``<path> <hash>`` lines.
"""
from __future__ import annotations

import sys
from importlib.metadata import distribution
from pathlib import Path

from bundling.archive import ROOT, keep, source_code_hash, tree, write_if_changed
from bundling.archive import zip_bytes as _zip

OUT_DIR = ROOT / "build" / "lambda"

# function name -> (distributions bundled with it, first-party packages bundled with it)
FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ingest": (("aws-lambda-powertools", "fastjsonschema", "jmespath", "typing_extensions"),
               ("data_contracts",)),
}


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


def zip_sources(name: str) -> dict[str, Path]:
    """Archive name -> source file, for one function."""
    if name not in FUNCTIONS:
        raise KeyError(f"unknown function {name!r}; known: {sorted(FUNCTIONS)}")
    dists, packages = FUNCTIONS[name]
    files: dict[str, Path] = {}
    for dist in dists:
        files.update(_distribution_files(dist))
    for package in packages:
        files.update(tree(ROOT / package, package + "/"))
    handler_files = tree(ROOT / "lambda_src" / name, "")
    handler_files.pop("__init__.py", None)
    files.update(handler_files)
    return files


def zip_bytes(name: str) -> bytes:
    return _zip(zip_sources(name))


def build_function_zip(name: str, out_dir: Path = OUT_DIR) -> Path:
    """Build ``<out_dir>/<name>.zip``; leaves the file untouched when the bytes are unchanged."""
    return write_if_changed(out_dir / f"{name}.zip", zip_bytes(name))


def main(argv: list[str]) -> int:
    for name in argv or sorted(FUNCTIONS):
        path = build_function_zip(name)
        print(f"{path.relative_to(ROOT)} {source_code_hash(path.read_bytes())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
