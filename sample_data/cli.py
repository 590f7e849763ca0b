"""Command line of the sample ingest data::

    python -m sample_data --records N --seed S --bad-share 0.1 --out FILE.jsonl [--manifest FILE.json]

writes one payload per line, in binary (``--out -`` writes to stdout). Payloads never contain a newline
byte: good ones are compact UTF-8 JSON envelopes, a malformed JSON payload is still one line, a non-UTF-8
payload is written as its raw bytes. The manifest holds the parameters, the expected counts and the
SHA-256 of the output.

Missing folders of ``--out`` and ``--manifest`` are created. A path that cannot be written (a folder, a folder
below a file, a read-only or forbidden place, the same file for both) is refused with one line saying what
to change, exit code 2, before anything is generated or written.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from sample_data.events import generate, manifest, write_jsonl

__all__ = ["main"]

PROG = "python -m sample_data"


class PathError(Exception):
    """An output path that cannot be written: one line saying what to change."""


def check_output_path(option: str, path: Path) -> None:
    """Refuse ``path`` as a file to write, without writing anything: not a folder, below a folder (or a place
    where one can be created) that can be written. Raises :class:`PathError`."""
    if path.is_dir():
        raise PathError(f"{option} {path}: is a folder; give a file path, e.g. {path / 'sample.jsonl'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise PathError(f"{option} {path}: the file is not writable; choose another path")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise PathError(f"{option} {path}: {ancestor} is a file, not a folder; choose another path")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise PathError(f"{option} {path}: cannot write in {ancestor} (permission denied); choose a writable path")


def _open(option: str, path: Path, stack: ExitStack, created: list[Path]):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            created.append(path)
        return stack.enter_context(path.open("wb"))
    except OSError as exc:
        raise PathError(f"{option} {path}: cannot write ({exc.strerror or exc}); choose another path") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG,
                                     description="Write deterministic sample ingest payloads, one per line.")
    parser.add_argument("--records", type=int, required=True, help="number of payloads")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed (default: %(default)s)")
    parser.add_argument("--bad-share", type=float, default=0.0, help="share of bad payloads, 0..1 (default: 0)")
    parser.add_argument("--out", required=True,
                        help="output .jsonl file (missing folders are created), or - for stdout")
    parser.add_argument("--manifest",
                        help="also write a JSON manifest (parameters, expected counts, sha256; missing folders are "
                             "created)")
    args = parser.parse_args(argv)
    if args.records < 0 or not 0.0 <= args.bad_share <= 1.0:
        parser.error("--records must be >= 0 and --bad-share between 0 and 1")
    try:
        return _run(args)
    except PathError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    out = None if args.out == "-" else Path(args.out)
    info = Path(args.manifest) if args.manifest else None
    # Every path is checked, and every file opened, before anything is generated.
    if out is not None:
        check_output_path("--out", out)
    if info is not None:
        check_output_path("--manifest", info)
        if out is not None and info.resolve() == out.resolve():
            raise PathError(f"--manifest {info}: same file as --out; give the manifest its own path")
    created: list[Path] = []
    try:
        with ExitStack() as stack:
            stream = sys.stdout.buffer if out is None else _open("--out", out, stack, created)
            info_stream = None if info is None else _open("--manifest", info, stack, created)
            records = generate(args.records, seed=args.seed, bad_share=args.bad_share)
            try:
                digest = write_jsonl(records, stream)
                stream.flush()
                if info_stream is not None:
                    text = json.dumps(manifest(records, seed=args.seed, bad_share=args.bad_share, sha256=digest),
                                      indent=2, sort_keys=True) + "\n"
                    info_stream.write(text.encode("utf-8"))
            except OSError as exc:
                raise PathError(f"cannot write the output ({exc.strerror or exc}); choose another path") from None
    except PathError:
        for path in created:  # no half-made file left behind
            path.unlink(missing_ok=True)
        raise
    return 0
