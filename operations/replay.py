"""Replay what reached the ingest's failure queue: re-read each failed batch from the stream and ingest it again.

When Lambda gives up on a Kinesis batch (its retries or the record age are exhausted), the event source
mapping sends the batch's metadata, never its records, to the on-failure queue (SQS)::

    {"requestContext": {...}, "responseContext": {...},
     "KinesisBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber", "batchSize", "streamArn", ...}}

For each message this command re-reads the records from ``startSequenceNumber`` to ``endSequenceNumber`` of
the shard (``GetShardIterator AT_SEQUENCE_NUMBER`` then ``GetRecords``), rebuilds the Kinesis events Lambda
would have delivered (at most ``batchSize`` records each) and invokes the ingest function with them, so the
records go through the same code with the same guarantees: a record already in bronze or quarantine is
skipped (the ingest stores each record once), a partial failure is resumed from the record it reports. A
message is deleted from the queue only when every record of its range still in the stream is ingested.
Records the stream no longer holds (past its retention) are reported as exact sequence ranges.

    python -m operations.replay --queue-url URL --function NAME [--endpoint URL] [--max-messages N] [--keep]

Prints one JSON report (a line per message, then totals); exit status 0 when everything was replayed, 1 when
a range was lost or a batch could not be ingested (the message stays in the queue), 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from typing import Any, Iterable, NamedTuple

__all__ = ["BatchInfo", "Replayed", "lost_ranges", "main", "read_range", "replay_message", "to_event"]

INVOKE_ATTEMPTS = 5
"""Invocations per event before a batch counts as failed (each resumes from the record the last reported)."""
EMPTY_READS = 3
"""Consecutive empty ``GetRecords`` answers at the tip of the shard before the read stops."""
POLL_SECONDS = 0.25
"""Pause after an empty ``GetRecords`` answer (a shard serves 5 reads a second)."""


class BatchInfo(NamedTuple):
    """The ``KinesisBatchInfo`` of one failure-queue message."""

    shard_id: str
    start: str
    end: str
    batch_size: int
    stream_arn: str

    @classmethod
    def from_message(cls, body: str) -> "BatchInfo":
        try:
            info = json.loads(body)["KinesisBatchInfo"]
            return cls(info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"],
                       int(info.get("batchSize") or 100), info["streamArn"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a Kinesis failure record ({type(exc).__name__}: {exc})") from None

    @property
    def stream_name(self) -> str:
        return self.stream_arn.rsplit("/", 1)[-1]

    @property
    def region(self) -> str:
        parts = self.stream_arn.split(":")
        return parts[3] if len(parts) > 3 else ""


class Replayed(NamedTuple):
    """What happened to one message."""

    info: BatchInfo
    read: int
    """Records of the range re-read from the stream."""
    lost: list[tuple[str, str]]
    """Sequence ranges (first, last, inclusive bounds as the stream numbers them) no longer in the stream."""
    failed: list[str]
    """Sequence numbers the function still reported as failed after :data:`INVOKE_ATTEMPTS`."""

    @property
    def complete(self) -> bool:
        return not self.lost and not self.failed


def lost_ranges(start: str, end: str, read: list[str]) -> list[tuple[str, str]]:
    """The parts of ``[start, end]`` that ``read`` (the sequence numbers re-read, in order) shows are gone.

    The batch began at ``start`` (a record's sequence number): if the first record read is later, everything
    before it was trimmed. Nothing read at all means the whole range is gone."""
    if not read:
        return [(start, end)]
    if int(read[0]) > int(start):
        return [(start, str(int(read[0]) - 1))]
    return []


def read_range(kinesis: Any, info: BatchInfo, limit: int = 1000) -> tuple[list[dict], list[tuple[str, str]]]:
    """The records of ``info``'s range still in the stream, in order, and the lost ranges."""
    try:
        iterator = kinesis.get_shard_iterator(StreamName=info.stream_name, ShardId=info.shard_id,
                                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                                              StartingSequenceNumber=info.start)["ShardIterator"]
    except kinesis.exceptions.InvalidArgumentException:  # the start is past the retention: read what is left
        iterator = kinesis.get_shard_iterator(StreamName=info.stream_name, ShardId=info.shard_id,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records: list[dict] = []
    first, last = int(info.start), int(info.end)
    idle = 0
    while iterator and idle < EMPTY_READS:
        page = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        got = page.get("Records") or []
        records.extend(r for r in got if first <= int(r["SequenceNumber"]) <= last)
        if got and int(got[-1]["SequenceNumber"]) >= last:
            break
        idle = idle + 1 if not got and not page.get("MillisBehindLatest") else 0  # at the tip of the shard
        if not got:
            time.sleep(POLL_SECONDS)
        iterator = page.get("NextShardIterator")
    return records, lost_ranges(info.start, info.end, [r["SequenceNumber"] for r in records])


def to_event(records: Iterable[dict], info: BatchInfo) -> dict:
    """The Lambda Kinesis event for ``records`` (``GetRecords`` items), as the event source mapping builds it."""
    out = []
    for record in records:
        arrival = record["ApproximateArrivalTimestamp"]
        data = record["Data"]
        out.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode("ascii"),
                "approximateArrivalTimestamp": arrival.timestamp() if hasattr(arrival, "timestamp") else arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{info.shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "awsRegion": info.region,
            "eventSourceARN": info.stream_arn,
        })
    return {"Records": out}


def _invoke(lam: Any, function: str, event: dict) -> list[str]:
    """Invoke the function synchronously; the sequence numbers it reports failed (all on a function error)."""
    answer = lam.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode())
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(body, dict):
        return [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    return [item["itemIdentifier"] for item in body.get("batchItemFailures") or ()]


def replay_message(kinesis: Any, lam: Any, function: str, info: BatchInfo) -> Replayed:
    """Re-read one failed batch and ingest it, resuming from the lowest reported record as Lambda does."""
    records, lost = read_range(kinesis, info)
    failed: list[str] = []
    for offset in range(0, len(records), info.batch_size):
        chunk = records[offset:offset + info.batch_size]
        for _ in range(INVOKE_ATTEMPTS):
            reported = _invoke(lam, function, to_event(chunk, info))
            if not reported:
                break
            lowest = min(int(sequence) for sequence in reported)
            chunk = [r for r in chunk if int(r["SequenceNumber"]) >= lowest]
        else:
            failed.extend(r["SequenceNumber"] for r in chunk)
    return Replayed(info, len(records), lost, failed)


def replay(sqs: Any, kinesis: Any, lam: Any, queue_url: str, function: str, max_messages: int = 100,
           keep: bool = False) -> list[dict]:
    """Replay up to ``max_messages`` messages of the queue; returns one report entry per message."""
    report: list[dict] = []
    while len(report) < max_messages:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, max_messages - len(report)),
                                     WaitTimeSeconds=1, VisibilityTimeout=300)
        messages = answer.get("Messages") or []
        if not messages:
            break
        for message in messages:
            try:
                info = BatchInfo.from_message(message["Body"])
            except ValueError as exc:
                report.append({"message_id": message["MessageId"], "error": str(exc), "deleted": False})
                continue
            done = replay_message(kinesis, lam, function, info)
            deleted = done.complete and not keep
            if deleted:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            report.append({"message_id": message["MessageId"], "shard_id": info.shard_id, "start": info.start,
                           "end": info.end, "records_read": done.read, "lost": [list(r) for r in done.lost],
                           "failed": done.failed, "deleted": deleted})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m operations.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True, help="the ingest's on-failure queue (stack output "
                                                           "ingest_failure_queue_url)")
    parser.add_argument("--function", required=True, help="the ingest function (stack output ingest_function_name)")
    parser.add_argument("--endpoint", default=None, help="an AWS endpoint URL (the local emulator); default: AWS")
    parser.add_argument("--max-messages", type=int, default=100, help="messages to replay at most (default 100)")
    parser.add_argument("--keep", action="store_true", help="leave the messages in the queue")
    args = parser.parse_args(argv)
    if args.max_messages < 1:
        parser.error("--max-messages must be at least 1")

    import boto3

    def client(service: str):
        return boto3.client(service, endpoint_url=args.endpoint) if args.endpoint else boto3.client(service)

    report = replay(client("sqs"), client("kinesis"), client("lambda"), args.queue_url, args.function,
                    args.max_messages, args.keep)
    for entry in report:
        print(json.dumps(entry, sort_keys=True))
    totals = {"messages": len(report), "records_read": sum(e.get("records_read", 0) for e in report),
              "lost_ranges": sum(len(e.get("lost", ())) for e in report),
              "records_failed": sum(len(e.get("failed", ())) for e in report),
              "unreadable_messages": sum(1 for e in report if "error" in e)}
    print(json.dumps({"totals": totals}, sort_keys=True))
    return 0 if not (totals["lost_ranges"] or totals["records_failed"] or totals["unreadable_messages"]) else 1


if __name__ == "__main__":
    sys.exit(main())
