"""The shared code of the Spark jobs as one deterministic zip, for Glue's ``--extra-py-files``.

``build/glue/lakehouse.zip`` holds the ``lakehouse`` and ``data_contracts`` packages. Terraform
uploads it (and each job script) to the artifacts bucket with its hash, so a change of code is a
change of object; the EMR steps pass the same zip with ``--py-files``.
"""
from __future__ import annotations

from pathlib import Path

from bundling.archive import ROOT, source_code_hash, tree, write_if_changed, zip_bytes

OUT = ROOT / "build" / "glue" / "lakehouse.zip"
PACKAGES = ("lakehouse", "data_contracts")


def build_glue_libs(target: Path = OUT) -> Path:
    files: dict[str, Path] = {}
    for package in PACKAGES:
        files.update(tree(ROOT / package, package + "/"))
    return write_if_changed(target, zip_bytes(files))


if __name__ == "__main__":
    path = build_glue_libs()
    print(f"{path.relative_to(ROOT)} {source_code_hash(path.read_bytes())}")
