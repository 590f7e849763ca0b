"""Export the contract registry as JSON Schema files: ``python -m data_contracts.export [--check]``.

Writes ``data_contracts/schemas/<source>.<entity>.schema.json`` (the ``data`` schema of each contract)
and ``data_contracts/schemas/envelope.schema.json``: sorted keys, 2-space indent, UTF-8, trailing
newline, so the output is deterministic. Stale ``*.schema.json`` files are removed. ``--check`` writes
nothing and exits 1 when the files on disk differ from the registry.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data_contracts.contracts import REGISTRY, envelope_schema

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
ENVELOPE_FILE = "envelope.schema.json"


def render(schema: dict) -> str:
    """The canonical text of one schema file."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def rendered_files() -> dict[str, str]:
    """File name -> file text, for every file the registry exports."""
    files = {f"{contract.name}.schema.json": render(contract.json_schema()) for contract in REGISTRY.values()}
    files[ENVELOPE_FILE] = render(envelope_schema())
    return dict(sorted(files.items()))


def diff(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Names of the files that are missing, stale or different on disk."""
    expected = rendered_files()
    problems = [name for name, text in expected.items()
                if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != text]
    problems += sorted(p.name for p in directory.glob("*.schema.json") if p.name not in expected)
    return problems


def export(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """(Re)write every schema file and delete stale ones; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = rendered_files()
    written = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_bytes(text.encode("utf-8"))
        written.append(path)
    for stale in directory.glob("*.schema.json"):
        if stale.name not in expected:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_contracts.export", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 if the files are out of date")
    parser.add_argument("--dir", type=Path, default=SCHEMAS_DIR, help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        problems = diff(args.dir)
        if problems:
            print("out of date: " + ", ".join(problems) + " (run python -m data_contracts.export)", file=sys.stderr)
            return 1
        print(f"{len(rendered_files())} schema files up to date in {args.dir}")
        return 0
    for path in export(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
