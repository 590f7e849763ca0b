"""Read-side helpers over the deployed lake: send records to Kinesis, count what landed, query it.

Used by the demo, the end-to-end tests and the benchmarks, always against the real (emulated)
services that Terraform deployed. Clients come from :mod:`local_runtime.aws` (which also says what
awswrangler is used for here and why not elsewhere); object keys from :mod:`data_contracts.layout`;
SQL from :mod:`queries`. ``outputs`` is the local stack's Terraform outputs (``<layer>_bucket``,
``glue_database_<layer>``, ``athena_workgroup``...).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from data_contracts import layout
from lakehouse.job import LakePath
from lakehouse.quality import REPORT_NAME, REPORTS, report_prefix
from lambda_src.query_api import athena as query_athena
from local_runtime.aws import client, wrangler
import queries

__all__ = [
    "LandedCounts", "athena_query", "bucket", "client", "count_lines", "iter_jsonl", "landed", "object_keys",
    "produce_records",
    "put_records", "quality_reports", "read_json", "read_parquet", "record_identity", "row_counts", "run_query",
    "wait_for",
]


def bucket(outputs: Mapping[str, str], path: LakePath) -> str:
    """The deployed bucket of a lake location (``LakePath("quarantine", ...)`` -> ``outputs["quarantine_bucket"]``)."""
    return outputs[f"{path.bucket}_bucket"]


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


def produce_records(bootstrap_servers: str, topic: str, records: Iterable[tuple[bytes, str]],
                    headers: list[tuple[str, bytes]] | None = None) -> tuple[list[tuple[str, int, int]], dict[int, int]]:
    """Produce ``(value, key)`` records to a Kafka topic (``acks=all``); returns each record's
    ``(topic, partition, offset)`` in order, and each partition's end offset (one past its last record), both
    from the delivery reports (Tansu 0.6.0 answers ListOffsets(latest) wrongly)."""
    from confluent_kafka import Producer

    records = list(records)
    positions: list[tuple[str, int, int] | None] = [None] * len(records)
    errors: list[str] = []
    ends: dict[int, int] = {}

    def report(index: int):
        def on_delivery(err, msg) -> None:
            if err is not None:
                errors.append(str(err))
                return
            positions[index] = (msg.topic(), msg.partition(), msg.offset())
            ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)
        return on_delivery

    producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all", "enable.idempotence": False,
                         "log_level": 0})
    for i, (value, key) in enumerate(records):
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value, headers=headers, on_delivery=report(i))
                break
            except BufferError:
                producer.poll(0.5)
    left = producer.flush(60)
    if left or errors or None in positions:
        raise RuntimeError(f"{left} records not delivered, {len(errors)} failed: {errors[:3]}")
    return positions, ends  # type: ignore[return-value]


def object_keys(endpoint: str, bucket_name: str, prefix: str = "", suffix: str | None = None) -> list[str]:
    """Keys of the objects under ``prefix`` (ending with ``suffix`` when given), sorted."""
    wr, session = wrangler(endpoint)
    uris = wr.s3.list_objects(f"s3://{bucket_name}/{prefix}", suffix=suffix, boto3_session=session)
    start = len(f"s3://{bucket_name}/")
    return sorted(uri[start:] for uri in uris)


def read_json(endpoint: str, bucket_name: str, key: str):
    return json.loads(client("s3", endpoint).get_object(Bucket=bucket_name, Key=key)["Body"].read())


def iter_jsonl(endpoint: str, bucket_name: str, prefix: str = "") -> Iterable[tuple[str, dict]]:
    """(key, parsed line) for every line of every object under prefix."""
    s3 = client("s3", endpoint)
    for key in object_keys(endpoint, bucket_name, prefix):
        body = s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()
        for line in body.splitlines():
            if line.strip():
                yield key, json.loads(line)


def count_lines(endpoint: str, bucket_name: str, prefix: str) -> int:
    return sum(1 for _ in iter_jsonl(endpoint, bucket_name, prefix))


@dataclass
class LandedCounts:
    """What landed for a set of records: bronze lines by (source, entity), quarantine by reason, and per ingest
    path (``kinesis``, ``msk``) how many of each."""
    bronze: Counter = field(default_factory=Counter)
    quarantine: Counter = field(default_factory=Counter)
    duplicates: int = 0
    bronze_by_path: Counter = field(default_factory=Counter)
    quarantine_by_path: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.bronze.values()) + sum(self.quarantine.values())


def record_identity(ingest: Mapping) -> tuple:
    """The delivery identity of a landed line (its ``ingest`` block): ``("msk", topic, partition, offset)`` for a
    Kafka record, ``("kinesis", sequence_number)`` for a stream record."""
    if "topic" in ingest:
        return ("msk", ingest["topic"], int(ingest["partition"]), int(ingest["offset"]))
    return ("kinesis", ingest.get("sequence_number"))


def landed(endpoint: str, bronze_bucket: str, quarantine_bucket: str,
           sequence_numbers: set[str] | None = None, positions: set[tuple[str, int, int]] | None = None
           ) -> LandedCounts:
    """Count the ingest functions' lines in bronze and in both quarantines (Kinesis and MSK). With
    ``sequence_numbers`` and/or ``positions`` (Kafka ``(topic, partition, offset)``), only those records count
    (a path whose set is not given counts nothing); with neither, every line counts."""
    everything = sequence_numbers is None and positions is None
    wanted = {("kinesis", seq) for seq in sequence_numbers or ()} | {("msk", *pos) for pos in positions or ()}
    counts = LandedCounts()
    seen: set[tuple] = set()
    for bucket_name, prefix, kind in ((bronze_bucket, layout.BRONZE_RECORDS_PREFIX, "bronze"),
                                      (quarantine_bucket, layout.STREAM_QUARANTINE_PREFIX, "quarantine"),
                                      (quarantine_bucket, layout.MSK_QUARANTINE_PREFIX, "quarantine")):
        for _key, line in iter_jsonl(endpoint, bucket_name, prefix):
            identity = record_identity(line.get("ingest", {}))
            if not everything and identity not in wanted:
                continue
            if identity in seen:
                counts.duplicates += 1
            seen.add(identity)
            if kind == "bronze":
                event = line["event"]
                counts.bronze[(event["source"], event["entity"])] += 1
                counts.bronze_by_path[identity[0]] += 1
            else:
                counts.quarantine[line["reason"]] += 1
                counts.quarantine_by_path[identity[0]] += 1
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


def quality_reports(endpoint: str, outputs: Mapping[str, str], job: str) -> list[dict]:
    """Every data-quality report of ``job`` (:data:`lakehouse.quality.REPORTS`), in key order."""
    name = bucket(outputs, REPORTS)
    keys = object_keys(endpoint, name, REPORTS.prefix + report_prefix(job), suffix=REPORT_NAME)
    return [read_json(endpoint, name, key) for key in keys]


def read_parquet(endpoint: str, uri: str):
    """A Parquet dataset (Hive partitions become columns) from the emulator's S3, as a pandas DataFrame."""
    wr, session = wrangler(endpoint)
    return wr.s3.read_parquet(uri.rstrip("/") + "/", dataset=True, boto3_session=session)


def athena_query(endpoint: str, sql: str, database: str, workgroup: str, timeout: float = 60.0) -> list[dict]:
    """Run SQL through Athena (ministack executes it with DuckDB over the Glue Data Catalog tables) and
    return the rows as dicts of strings. The query API's Athena calls (:mod:`lambda_src.query_api.athena`):
    its ``QueryFailed`` when the query fails, ``QueryTimedOut`` when it still runs after ``timeout``."""
    athena = client("athena", endpoint)
    query_id = query_athena.submit(athena, sql, database, workgroup)
    query_athena.wait(athena, query_id, timeout)
    header, *body = query_athena.rows(athena, query_id)
    return [dict(zip(header, r)) for r in body]


def run_query(endpoint: str, outputs: Mapping[str, str], query: queries.Query) -> list[dict]:
    """One of the project's queries (:mod:`queries`) in its layer's Glue database, in the stack's workgroup."""
    return athena_query(endpoint, query.sql, outputs[f"glue_database_{query.layer}"], outputs["athena_workgroup"])


def row_counts(endpoint: str, outputs: Mapping[str, str], layer: str) -> dict[str, int]:
    """Rows per table of ``layer`` through Athena (``queries/row_counts.sql``), in the order of the table specs."""
    counts = {r["table_name"]: int(r["row_count"]) for r in run_query(endpoint, outputs, queries.row_counts(layer))}
    return {name: counts[name] for name in queries.tables(layer)}
