"""`make demo`: run the platform locally end to end and print what happened.

Steps (each timed): start the local services, synthesize, deploy the local stack with Terraform,
generate a data set with bad records, send it through Kinesis (the deployed event source mapping
invokes the deployed Lambda), drop unstructured documents into bronze, wait until every record is
accounted for, and print a summary. The platform stays up afterwards (``make down`` stops it).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

from local_runtime import stacks
from local_runtime.lake import client, landed, put_records, wait_for
from local_runtime.paths import ROOT
from local_runtime.services import ensure_emulator

STEPS: list[tuple[str, float]] = []


@contextmanager
def step(name: str):
    print(f"\n==> {name}", flush=True)
    start = time.monotonic()
    yield
    seconds = time.monotonic() - start
    STEPS.append((name, seconds))
    print(f"    done in {seconds:.1f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000, help="records to send (default 5000)")
    parser.add_argument("--bad-share", type=float, default=0.05, help="share of bad records (default 0.05)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--documents", type=int, default=20, help="unstructured files dropped into bronze")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    from data_contracts.generator import expected_counts, generate, generate_documents

    with step("local services (make up)"):
        emulator = ensure_emulator()
        print(f"    AWS emulator at {emulator.endpoint}")
    with step("synthesize stacks (cdktf)"):
        subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=ROOT, check=True)
    with step("deploy the local stack (terraform apply)"):
        out = stacks.deploy_local()
        for name in ("bronze_bucket", "quarantine_bucket", "ingest_stream_name", "ingest_function_name"):
            print(f"    {name:22} {out[name]}")
    with step(f"generate {args.records} records ({args.bad_share:.0%} bad) and {args.documents} documents"):
        records = generate(args.records, seed=args.seed, bad_share=args.bad_share)
        expected = expected_counts(records)
        documents = generate_documents(args.documents, seed=args.seed)
    kinesis = client("kinesis", emulator.endpoint)
    s3 = client("s3", emulator.endpoint)
    with step("send through Kinesis (PutRecords)"):
        sequence_numbers = put_records(kinesis, out["ingest_stream_name"],
                                       ((r.payload, r.partition_key) for r in records))
        print(f"    sent {len(sequence_numbers)} records")
    with step("drop unstructured documents into bronze"):
        for suffix, body, content_type in documents:
            s3.put_object(Bucket=out["bronze_bucket"], Key=f"unstructured/source=erp/{suffix}", Body=body,
                          ContentType=content_type)
        print(f"    {len(documents)} files under s3://{out['bronze_bucket']}/unstructured/source=erp/")
    wanted = set(sequence_numbers)
    with step("wait until every record has landed (Kinesis -> Lambda -> S3)"):
        def progress(counts, elapsed):
            print(f"    {elapsed:5.0f}s  bronze {sum(counts.bronze.values()):6d}  "
                  f"quarantine {sum(counts.quarantine.values()):5d}  of {len(wanted)}", flush=True)
        counts = wait_for(len(wanted), lambda: landed(s3, out["bronze_bucket"], out["quarantine_bucket"], wanted),
                          timeout=args.timeout, progress=progress)

    bad_expected: Counter = Counter(expected["bad"])
    good_expected: Counter = Counter(expected["valid"])
    print("\n================ lakeforge demo summary ================")
    print(f"records sent                 {len(sequence_numbers):8d}")
    print(f"landed in bronze             {sum(counts.bronze.values()):8d}   (expected {sum(good_expected.values())})")
    for (source, entity), n in sorted(counts.bronze.items()):
        print(f"    {source}.{entity:28} {n:8d}")
    print(f"quarantined                  {sum(counts.quarantine.values()):8d}   (expected {sum(bad_expected.values())})")
    for reason, n in sorted(counts.quarantine.items()):
        print(f"    {reason:32} {n:8d}   (expected {bad_expected.get(reason, 0)})")
    print(f"duplicates                   {counts.duplicates:8d}")
    print(f"unaccounted                  {len(wanted) - counts.total:8d}")
    print("time per step:")
    for name, seconds in STEPS:
        print(f"    {name:58} {seconds:6.1f}s")
    print(f"    {'total':58} {sum(s for _, s in STEPS):6.1f}s")
    ok = (counts.total == len(wanted) and counts.duplicates == 0
          and counts.quarantine == bad_expected and counts.bronze == good_expected)
    print("result: " + ("OK, every record accounted for" if ok else "MISMATCH (see above)"))
    print("The platform keeps running: explore with `make outputs`; stop it with `make down`.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
