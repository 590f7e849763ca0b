"""Command line of the sample ingest data::

    python -m sample_data --records N --seed S --bad-share 0.1 --out FILE.jsonl [--manifest FILE.json]

writes one payload per line, in binary (``--out -`` writes to stdout). Payloads never contain a newline
byte: good ones are compact UTF-8 JSON envelopes, a malformed JSON payload is still one line, a non-UTF-8
payload is written as its raw bytes. The manifest holds the parameters, the expected counts and the
SHA-256 of the output.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sample_data.events import generate, manifest, write_jsonl

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data",
                                     description="Write deterministic sample ingest payloads, one per line.")
    parser.add_argument("--records", type=int, required=True, help="number of payloads")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed (default: %(default)s)")
    parser.add_argument("--bad-share", type=float, default=0.0, help="share of bad payloads, 0..1 (default: 0)")
    parser.add_argument("--out", required=True, help="output .jsonl file, or - for stdout")
    parser.add_argument("--manifest", help="also write a JSON manifest (parameters, expected counts, sha256)")
    args = parser.parse_args(argv)
    if args.records < 0 or not 0.0 <= args.bad_share <= 1.0:
        parser.error("--records must be >= 0 and --bad-share between 0 and 1")
    records = generate(args.records, seed=args.seed, bad_share=args.bad_share)
    if args.out == "-":
        digest = write_jsonl(records, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as stream:
            digest = write_jsonl(records, stream)
    if args.manifest:
        path = Path(args.manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest(records, seed=args.seed, bad_share=args.bad_share, sha256=digest),
                          indent=2, sort_keys=True) + "\n"
        path.write_text(text, encoding="utf-8")
    return 0
