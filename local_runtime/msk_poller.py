"""The local MSK event source mapping: what Lambda's MSK poller does, against the local Kafka broker.

The emulator has an MSK control plane but no Kafka poller, so this consumes the topic as Lambda would and
invokes the deployed function (``ingest_msk``) through the emulator's Lambda API with the real MSK event:

* one consumer group per mapping (Lambda's default group id is the mapping's UUID; here ``group_id``), the
  group timeouts of :data:`~local_runtime.services.kafka.CONSUMER_GROUP_SETTINGS`, starting at the earliest
  offset (``TRIM_HORIZON``) when the group has none;
* batches of up to ``batch_size`` records, gathered for at most ``batching_window`` seconds
  (``MaximumBatchingWindowInSeconds``), grouped by ``<topic>-<partition>`` in offset order, key and value
  base64, headers as signed byte ints (:func:`sample_data.events.msk_record`, the one definition of the shape);
* offsets are committed only after the function succeeded for them: a whole success commits every
  partition past its last record; a partial batch response (``batchItemFailures``, Powertools' Kafka
  identifiers) commits each reported partition up to its LOWEST reported offset and rewinds the consumer
  there (Lambda resumes it from that record), the other partitions past their last record;
* a commit the broker does not take (it is restarting, the group coordinator is not found yet, or the
  restarted broker no longer knows this member) rewinds every partition of the batch to its first record:
  the batch comes again once the consumer has rejoined (the function stores nothing twice), as Lambda
  redelivers a batch whose offsets it could not commit;
* a failed invocation (a function error, or the invoke itself failing) retries the same batch; so does a
  partition that keeps reporting the same offset. After ``max_retries`` retries, the failed records go to
  the on-failure destination (an SQS queue: one message per topic-partition, Lambda's shape with
  ``KafkaBatchInfo``) and their offsets are committed: the mapping moves on.

``python -m local_runtime.msk_poller --function NAME [--endpoint URL] [--bootstrap HOST:PORT] [--topic T]
[--group G] [--batch-size N] [--window S] [--max-retries N] [--on-failure-queue URL] [--until-idle S]``
runs it until interrupted (or until no record came for ``--until-idle`` seconds once it holds partitions).
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from data_contracts.layout import topic_partition
from data_contracts.topics import INGEST_TOPIC
from local_runtime.services.kafka import CONSUMER_GROUP_SETTINGS
from sample_data.events import msk_event, msk_record

__all__ = ["BatchResult", "MskPoller", "deploy_function", "main", "sqs_destination"]

DEFAULT_BATCH_SIZE = 100
DEFAULT_WINDOW_SECONDS = 0.5
DEFAULT_MAX_RETRIES = 2


@dataclass
class BatchResult:
    """What one poll did."""

    records: int = 0
    invoked: bool = False
    failed_invocation: bool = False
    reported: dict[str, int] = field(default_factory=dict)
    """``<topic>-<partition>`` -> the lowest offset the function reported (resumed from there)."""
    sent_to_destination: list[dict] = field(default_factory=list)
    """The on-failure messages sent in this poll."""
    committed: dict[str, int] = field(default_factory=dict)
    """``<topic>-<partition>`` -> the offset committed (the next one to read)."""
    commit_failed: bool = False
    """The broker did not take the commit: every partition of the batch was rewound to its first record."""


class MskPoller:
    """One MSK event source mapping: ``topic`` of the broker at ``bootstrap_servers`` -> ``function_name``.

    ``lambda_client`` invokes (boto3's ``invoke``); ``send_on_failure(message)`` is the on-failure destination
    (None: failed batches are retried forever, as Lambda does without a destination)."""

    def __init__(self, *, bootstrap_servers: str, function_name: str, lambda_client: Any, topic: str = INGEST_TOPIC,
                 group_id: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 batching_window: float = DEFAULT_WINDOW_SECONDS, max_retries: int = DEFAULT_MAX_RETRIES,
                 send_on_failure: Callable[[dict], None] | None = None, event_source_arn: str | None = None,
                 mapping_arn: str | None = None) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.function_name = function_name
        self.lambda_client = lambda_client
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.max_retries = max_retries
        self.send_on_failure = send_on_failure
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id or f"lakeforge-msk-mapping-{function_name}"
        self.event_source_arn = event_source_arn or f"arn:aws:kafka:us-east-1:000000000000:cluster/local/{topic}"
        self.mapping_arn = mapping_arn or f"arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{self.group_id}"
        self.consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": self.group_id,
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "enable.auto.offset.store": False, **CONSUMER_GROUP_SETTINGS})
        self.consumer.subscribe([topic])
        self._attempts: dict[tuple[str, int], int] = {}
        """(partition id, first offset of a failed run) -> invocations that failed on it."""

    def close(self) -> None:
        self.consumer.close()

    # --- one batch -----------------------------------------------------------------------------------

    def _gather(self) -> list:
        """Up to ``batch_size`` records, waiting at most ``batching_window`` seconds for them."""
        messages: list = []
        deadline = time.monotonic() + self.batching_window
        while len(messages) < self.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for message in self.consumer.consume(self.batch_size - len(messages), left):
                if message.error() is None:
                    messages.append(message)
        return messages

    def event(self, messages: list) -> dict:
        """The MSK event Lambda builds for ``messages``."""
        records = []
        for m in sorted(messages, key=lambda m: (m.topic(), m.partition(), m.offset())):
            kind, millis = m.timestamp()
            records.append(msk_record(m.topic(), m.partition(), m.offset(), millis, m.value(), key=m.key(),
                                      headers=list(m.headers() or ()),
                                      timestamp_type="LOG_APPEND_TIME" if kind == 2 else "CREATE_TIME"))
        return msk_event(records, cluster_arn=self.event_source_arn, bootstrap_servers=self.bootstrap_servers)

    def _invoke(self, event: dict) -> tuple[bool, list[dict]]:
        """(succeeded, the reported items) of one synchronous invocation."""
        try:
            response = self.lambda_client.invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                                 Payload=json.dumps(event).encode())
            body = response["Payload"].read()
        except Exception as exc:  # noqa: BLE001 - an invoke that did not happen is a failed invocation
            print(f"[msk-poller] invoke failed: {exc}", file=sys.stderr)
            return False, []
        if response.get("FunctionError"):
            print(f"[msk-poller] function error: {body[:500]!r}", file=sys.stderr)
            return False, []
        try:
            answer = json.loads(body or b"null")
        except ValueError:
            return False, []
        items = (answer or {}).get("batchItemFailures") or [] if isinstance(answer, dict) else []
        return True, [item["itemIdentifier"] for item in items if isinstance(item.get("itemIdentifier"), dict)]

    def poll(self) -> BatchResult:
        """Gather one batch, invoke the function, commit or rewind (see the module docstring)."""
        from confluent_kafka import TopicPartition

        messages = self._gather()
        result = BatchResult(records=len(messages))
        if not messages:
            return result
        by_partition: dict[tuple[str, int], list] = {}
        for m in messages:
            by_partition.setdefault((m.topic(), m.partition()), []).append(m)
        succeeded, items = self._invoke(self.event(messages))
        result.invoked, result.failed_invocation = True, not succeeded

        resume: dict[tuple[str, int], int] = {}  # partition -> the offset to resume from
        if not succeeded:
            resume = {tp: min(m.offset() for m in ms) for tp, ms in by_partition.items()}
        else:
            ids = {topic_partition(t, p): (t, p) for t, p in by_partition}
            for item in items:
                tp = ids.get(item.get("partition"))
                if tp is not None:
                    resume[tp] = min(resume.get(tp, int(item["offset"])), int(item["offset"]))
            result.reported = {topic_partition(*tp): offset for tp, offset in resume.items()}

        commits, rewinds = [], []
        for tp, ms in by_partition.items():
            last = max(m.offset() for m in ms)
            if tp not in resume:
                commits.append(TopicPartition(tp[0], tp[1], last + 1))
                continue
            start = resume[tp]
            key = (topic_partition(*tp), start)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            if self.send_on_failure is not None and self._attempts[key] > self.max_retries:
                failed = [m for m in ms if m.offset() >= start]
                message = self._failure_message(tp, failed, self._attempts.pop(key), not succeeded)
                self.send_on_failure(message)
                result.sent_to_destination.append(message)
                commits.append(TopicPartition(tp[0], tp[1], last + 1))
            else:
                commits.append(TopicPartition(tp[0], tp[1], start))
                rewinds.append(TopicPartition(tp[0], tp[1], start))
        if not self._commit(commits):
            # Not committed: the whole batch comes again (the function stores nothing twice).
            self._rewind([TopicPartition(t, p, min(m.offset() for m in ms)) for (t, p), ms in by_partition.items()])
            result.commit_failed = True
            return result
        self._rewind(rewinds)
        result.committed = {topic_partition(tp.topic, tp.partition): tp.offset for tp in commits}
        return result

    def _commit(self, offsets: list) -> bool:
        """Commit ``offsets``; False when the broker refused (restarting, no group coordinator yet, or this
        member no longer in the group after a broker restart: the consumer must poll to rejoin)."""
        from confluent_kafka import KafkaException

        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
            return True
        except KafkaException as exc:
            print(f"[msk-poller] commit failed, the batch will come again: {exc}", file=sys.stderr)
            return False

    def _rewind(self, offsets: list) -> None:
        """Seek each partition back (a partition this member lost in a rebalance restarts from its committed
        offset anyway: nothing to seek)."""
        from confluent_kafka import KafkaException

        for tp in offsets:
            try:
                self.consumer.seek(tp)
            except KafkaException:
                pass

    def _failure_message(self, tp: tuple[str, int], failed: list, attempts: int, function_error: bool) -> dict:
        """Lambda's on-failure record for a Kafka batch (one per topic-partition)."""
        stamps = [m.timestamp()[1] for m in failed]
        return {
            "requestContext": {"requestId": f"{self.group_id}-{tp[0]}-{tp[1]}-{failed[0].offset()}",
                               "functionArn": self.function_name,
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled" if function_error else ""},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "KafkaBatchInfo": {"batchSize": len(failed), "topic": tp[0], "partition": tp[1],
                               "approximateArrivalOfFirstRecord": _iso(min(stamps)),
                               "approximateArrivalOfLastRecord": _iso(max(stamps)),
                               "startOffset": failed[0].offset(), "endOffset": failed[-1].offset()},
            "eventSourceArn": self.event_source_arn, "eventSourceMappingArn": self.mapping_arn,
        }

    def run(self, *, until_idle: float | None = None, on_batch: Callable[[BatchResult], None] | None = None) -> None:
        """Poll until interrupted, or until no record came for ``until_idle`` seconds while this member held
        partitions (the wait to join the group does not count: after a mapping died, its old member keeps the
        partitions until its session times out)."""
        idle_since = time.monotonic()
        while True:
            result = self.poll()
            if on_batch is not None and result.records:
                on_batch(result)
            if result.records or not self.consumer.assignment():
                idle_since = time.monotonic()
            elif until_idle is not None and time.monotonic() - idle_since >= until_idle:
                return


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def deploy_function(lam: Any, name: str, zip_bytes: bytes, bronze: str, quarantine: str) -> str:
    """Create the ``ingest_msk`` function ``name`` (the zip of ``bundling.lambda_zip``) writing to ``bronze`` and
    ``quarantine`` straight through the emulator's Lambda API, without the Terraform stack (the end-to-end tests
    and the benchmark deploy it so on a private emulator); wait until it is Active."""
    lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/ingest-msk",
                        Handler="app.lambda_handler", Code={"ZipFile": zip_bytes}, Timeout=60, MemorySize=512,
                        Environment={"Variables": {"BRONZE_BUCKET": bronze, "QUARANTINE_BUCKET": quarantine,
                                                   "LOG_LEVEL": "WARNING"}})
    for _ in range(100):
        if lam.get_function(FunctionName=name)["Configuration"].get("State", "Active") == "Active":
            break
        time.sleep(0.1)
    return name


def sqs_destination(sqs: Any, queue_url: str) -> Callable[[dict], None]:
    """An on-failure destination that sends each message to an SQS queue."""
    return lambda message: sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))


def main(argv: list[str] | None = None) -> int:
    from local_runtime.aws import client
    from local_runtime.services import endpoint_from_env
    from local_runtime.services.kafka import KafkaBroker

    parser = argparse.ArgumentParser(prog="python -m local_runtime.msk_poller", description=__doc__.split("\n")[0])
    parser.add_argument("--function", required=True, help="the function the mapping invokes")
    parser.add_argument("--endpoint", default=None, help="the emulator (default: AWS_ENDPOINT_URL or :4566)")
    parser.add_argument("--bootstrap", default=None, help="the broker (default: the local Kafka service)")
    parser.add_argument("--topic", default=INGEST_TOPIC)
    parser.add_argument("--group", default=None)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--window", type=float, default=DEFAULT_WINDOW_SECONDS)
    parser.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES)
    parser.add_argument("--on-failure-queue", default=None, help="SQS queue URL of the on-failure destination")
    parser.add_argument("--until-idle", type=float, default=None)
    args = parser.parse_args(argv)
    endpoint = args.endpoint or endpoint_from_env()
    destination = sqs_destination(client("sqs", endpoint), args.on_failure_queue) if args.on_failure_queue else None
    poller = MskPoller(bootstrap_servers=args.bootstrap or KafkaBroker().bootstrap_servers,
                       function_name=args.function, lambda_client=client("lambda", endpoint), topic=args.topic,
                       group_id=args.group, batch_size=args.batch_size, batching_window=args.window,
                       max_retries=args.max_retries, send_on_failure=destination)
    try:
        poller.run(until_idle=args.until_idle, on_batch=lambda r: print(
            f"[msk-poller] {r.records} records; reported {r.reported or '-'}; committed {r.committed}"))
    except KeyboardInterrupt:
        pass
    finally:
        poller.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
