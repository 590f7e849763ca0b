"""Read-side helpers over the deployed lake: send records to Kinesis, count what landed.

Used by the demo, the end-to-end tests and the benchmarks, always against the real (emulated)
services that Terraform deployed.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import boto3
from botocore.config import Config

from local_runtime.services import LOCAL_CREDENTIALS, REGION


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                        config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                      s3={"addressing_style": "path"}))


def put_records(kinesis, stream: str, records: Iterable[tuple[bytes, str]], chunk: int = 500) -> list[str]:
    """PutRecords in chunks, retrying throttled/failed entries; returns the sequence numbers, in order."""
    records = list(records)
    sequence_numbers: list[str | None] = [None] * len(records)
    for start in range(0, len(records), chunk):
        pending = list(range(start, min(start + chunk, len(records))))
        for attempt in range(10):
            resp = kinesis.put_records(StreamName=stream, Records=[
                {"Data": records[i][0], "PartitionKey": records[i][1]} for i in pending])
            retry = []
            for i, entry in zip(pending, resp["Records"]):
                if "SequenceNumber" in entry and not entry.get("ErrorCode"):
                    sequence_numbers[i] = entry["SequenceNumber"]
                else:
                    retry.append(i)
            if not retry:
                break
            pending = retry
            time.sleep(0.2 * (attempt + 1))
        else:
            raise RuntimeError(f"{len(pending)} records could not be put after 10 attempts")
    return [s for s in sequence_numbers if s is not None]


def iter_jsonl(s3, bucket: str, prefix: str = "") -> Iterable[tuple[str, dict]]:
    """(key, parsed line) for every line of every object under prefix."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for line in body.splitlines():
                if line.strip():
                    yield obj["Key"], json.loads(line)


def object_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


@dataclass
class LandedCounts:
    """What landed for a set of sequence numbers: bronze lines by (source, entity), quarantine by reason."""
    bronze: Counter = field(default_factory=Counter)
    quarantine: Counter = field(default_factory=Counter)
    duplicates: int = 0

    @property
    def total(self) -> int:
        return sum(self.bronze.values()) + sum(self.quarantine.values())


def landed(s3, bronze_bucket: str, quarantine_bucket: str, sequence_numbers: set[str] | None = None) -> LandedCounts:
    """Count lines in bronze and quarantine, restricted to ``sequence_numbers`` when given."""
    counts = LandedCounts()
    seen: set[str] = set()
    for bucket, kind in ((bronze_bucket, "bronze"), (quarantine_bucket, "quarantine")):
        prefix = "source=" if kind == "bronze" else "source=kinesis/"
        for _key, line in iter_jsonl(s3, bucket, prefix):
            seq = line.get("ingest", {}).get("sequence_number")
            if sequence_numbers is not None and seq not in sequence_numbers:
                continue
            if seq in seen:
                counts.duplicates += 1
            seen.add(seq)
            if kind == "bronze":
                event = line["event"]
                counts.bronze[(event["source"], event["entity"])] += 1
            else:
                counts.quarantine[line["reason"]] += 1
    return counts


def wait_for(expected_total: int, probe: Callable[[], LandedCounts], timeout: float = 300.0,
             interval: float = 2.0, progress: Callable[[LandedCounts, float], None] | None = None) -> LandedCounts:
    """Poll ``probe`` until it accounts for ``expected_total`` records, then once more to catch extras."""
    start = time.monotonic()
    counts = probe()
    while counts.total < expected_total and time.monotonic() - start < timeout:
        if progress:
            progress(counts, time.monotonic() - start)
        time.sleep(interval)
        counts = probe()
    if progress:
        progress(counts, time.monotonic() - start)
    return counts


def read_parquet(endpoint: str, uri: str):
    """A Parquet dataset (Hive partitions become columns) from the emulator's S3, as a pandas DataFrame."""
    import awswrangler as wr
    wr.config.s3_endpoint_url = endpoint
    session = boto3.Session(aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
    return wr.s3.read_parquet(uri.rstrip("/") + "/", dataset=True, boto3_session=session)


def count_lines(s3, bucket: str, prefix: str) -> int:
    return sum(1 for _ in iter_jsonl(s3, bucket, prefix))


def athena_query(endpoint: str, sql: str, database: str, workgroup: str, timeout: float = 60.0) -> list[dict]:
    """Run one of the project's own SQL statements through Athena (ministack executes it with DuckDB
    over the Glue Data Catalog tables) and return the rows as dicts of strings."""
    athena = client("athena", endpoint)
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": database},
                                       WorkGroup=workgroup)["QueryExecutionId"]
    deadline = time.monotonic() + timeout
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"Athena query {qid} still {status['State']} after {timeout:.0f}s")
        time.sleep(0.25)
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"Athena query {qid} {status['State']}: {status.get('StateChangeReason')}")
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, r)) for r in body]
