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

Settings. The emulator refuses a Kafka event source mapping (its CreateEventSourceMapping takes only SQS,
Kinesis and DynamoDB ARNs: a self-managed Kafka source, which has no ARN, fails validation of
``eventSourceArn``, an MSK cluster ARN is "Unsupported"), so the local stack cannot deploy one for this to read
back. The local stack instead outputs the mapping's settings (``msk_ingest_mapping``: the same ``[msk]`` values
that feed the dev/prod mapping, :func:`compose.streaming.msk_mapping_settings`) next to the function and its
failure queue; :func:`settings_from_outputs` turns the deployed outputs into this poller's arguments.

Lag. :meth:`MskPoller.lag` is, per partition, the committed offset against the end offset. Tansu 0.6.0
answers ListOffsets(latest) wrongly (1 for a partition holding 35 records), and the consumer's watermark query
uses it; the high watermark a fetch response carries is right, so the end offsets are the consumer's cached
watermarks (known once it has fetched from the partition). ``--status-file`` rewrites a JSON status (lag,
records and batches so far) after each batch and every few idle seconds. The command line also publishes the
total lag as Lambda's ``OffsetLag`` metric of the function (``AWS/Lambda``), which the deployed consumer-lag alarm
watches.

``python -m local_runtime.msk_poller --function NAME [--endpoint URL] [--bootstrap HOST:PORT] [--topic T]
[--group G] [--batch-size N] [--window S] [--max-retries N] [--on-failure-queue URL] [--until-idle S]``
runs it until interrupted (or until no record came for ``--until-idle`` seconds once it holds partitions); ``--outputs FILE`` (the
deployed stack's outputs as JSON) sets the function, topic, group, batch size, window, starting position and
on-failure queue from the stack instead.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from data_contracts.layout import topic_partition
from data_contracts.topics import INGEST_TOPIC
from local_runtime.services.kafka import CONSUMER_GROUP_SETTINGS
from sample_data.events import msk_event, msk_record

__all__ = ["BatchResult", "MskPoller", "deploy_function", "main", "settings_from_outputs", "sqs_destination"]

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
                 mapping_arn: str | None = None, starting_position: str = "TRIM_HORIZON") -> None:
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
                                  "auto.offset.reset": "latest" if starting_position == "LATEST" else "earliest",
                                  "enable.auto.commit": False,
                                  "enable.auto.offset.store": False, **CONSUMER_GROUP_SETTINGS})
        self.consumer.subscribe([topic])
        self._attempts: dict[tuple[str, int], int] = {}
        """(partition id, first offset of a failed run) -> invocations that failed on it."""
        self._committed: dict[int, int] = {}
        """partition -> the offset this poller last committed on it."""
        self.records_seen = 0
        self.batches = 0

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
        self._committed.update({tp.partition: tp.offset for tp in commits if tp.topic == self.topic})
        self.records_seen += len(messages)
        self.batches += 1
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

    def lag(self) -> dict[int, dict[str, int | None]]:
        """Partition -> ``{"committed", "end", "lag"}``: the group's committed offset, the end offset (the high
        watermark of the last fetch response; None before the first fetch) and their difference."""
        from confluent_kafka import TopicPartition

        parts = sorted((self.consumer.list_topics(self.topic, timeout=5).topics[self.topic].partitions or {}))
        missing = [TopicPartition(self.topic, p) for p in parts if p not in self._committed]
        if missing:
            for tp in self.consumer.committed(missing, timeout=5):
                self._committed[tp.partition] = max(tp.offset, 0)
        out = {}
        for p in parts:
            low, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), cached=True)
            end = high if high is not None and high >= 0 else None
            committed = self._committed.get(p, 0)
            out[p] = {"committed": committed, "end": end, "lag": None if end is None else max(end - committed, 0)}
        return out

    def status(self) -> dict:
        """What the mapping did so far and its lag (the ``--status-file`` document)."""
        lag = self.lag()
        known = [v["lag"] for v in lag.values() if v["lag"] is not None]
        return {"function": self.function_name, "topic": self.topic, "group": self.group_id,
                "records": self.records_seen, "batches": self.batches,
                "partitions": {str(p): v for p, v in lag.items()},
                "total_lag": sum(known) if len(known) == len(lag) else None,
                "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def run(self, *, until_idle: float | None = None, on_batch: Callable[[BatchResult], None] | None = None,
            on_status: Callable[[dict], None] | None = None, status_every: float = 2.0) -> None:
        """Poll until interrupted, or until no record came for ``until_idle`` seconds while this member held
        partitions (the wait to join the group does not count: after a mapping died, its old member keeps the
        partitions until its session times out); ``on_status`` gets :meth:`status` after each batch and at least
        every ``status_every`` seconds."""
        idle_since = time.monotonic()
        reported = 0.0
        while True:
            result = self.poll()
            if on_batch is not None and result.records:
                on_batch(result)
            if on_status is not None and (result.records or time.monotonic() - reported >= status_every):
                on_status(self.status())
                reported = time.monotonic()
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


def settings_from_outputs(outputs: dict) -> dict[str, Any]:
    """:class:`MskPoller` arguments (and ``on_failure_queue``, the queue's URL) from the deployed stack's
    outputs: the ``msk_ingest_mapping`` settings, the function and its failure queue."""
    mapping = outputs.get("msk_ingest_mapping")
    if not mapping:
        raise ValueError("the stack has no msk_ingest_mapping output (services.msk_ingest_lambda off, or not "
                         "deployed)")
    return {"function_name": mapping["function_name"], "topic": mapping["topic"],
            "group_id": mapping["consumer_group_id"], "batch_size": int(mapping["batch_size"]),
            "batching_window": float(mapping["batching_window_seconds"]),
            "starting_position": mapping["starting_position"],
            "on_failure_queue": outputs.get("msk_ingest_failure_queue_url")}


def _write_status(path: str) -> Callable[[dict], None]:
    def write(status: dict) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(status, f, indent=1)
        os.replace(tmp, path)
    return write


def _publish_lag(cloudwatch: Any) -> Callable[[dict], None]:
    """What Lambda's Kafka poller publishes: the mapping's ``OffsetLag`` (``AWS/Lambda``, per function), the
    records its group is behind the topic's end, which the deployed consumer-lag alarm watches."""
    def publish(status: dict) -> None:
        if status.get("total_lag") is None:
            return
        try:
            cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
                "MetricName": "OffsetLag", "Unit": "Count", "Value": float(status["total_lag"]),
                "Dimensions": [{"Name": "FunctionName", "Value": status["function"]}]}])
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the mapping
            print(f"[msk-poller] OffsetLag not published: {exc}", flush=True)
    return publish


def _both(*callbacks: Callable[[dict], None] | None) -> Callable[[dict], None]:
    def call(status: dict) -> None:
        for callback in callbacks:
            if callback is not None:
                callback(status)
    return call


def main(argv: list[str] | None = None) -> int:
    from local_runtime.aws import client
    from local_runtime.services import endpoint_from_env
    from local_runtime.services.kafka import KafkaBroker

    parser = argparse.ArgumentParser(prog="python -m local_runtime.msk_poller", description=__doc__.split("\n")[0])
    parser.add_argument("--function", default=None, help="the function the mapping invokes")
    parser.add_argument("--outputs", default=None, help="JSON file of the deployed stack's outputs: the mapping's "
                                                        "settings come from its msk_ingest_mapping")
    parser.add_argument("--status-file", default=None, help="rewrite the status (lag, records) into this file")
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
    settings: dict[str, Any] = {"function_name": args.function, "topic": args.topic, "group_id": args.group,
                                "batch_size": args.batch_size, "batching_window": args.window,
                                "on_failure_queue": args.on_failure_queue}
    if args.outputs:
        with open(args.outputs) as f:
            settings = settings_from_outputs(json.load(f))
    if not settings["function_name"]:
        parser.error("give --function or --outputs")
    queue = settings.pop("on_failure_queue")
    destination = sqs_destination(client("sqs", endpoint), queue) if queue else None
    poller = MskPoller(bootstrap_servers=args.bootstrap or KafkaBroker().bootstrap_servers,
                       lambda_client=client("lambda", endpoint), max_retries=args.max_retries,
                       send_on_failure=destination, **settings)
    print(f"[msk-poller] {poller.topic} at {poller.bootstrap_servers} -> {poller.function_name} (group "
          f"{poller.group_id}, batch {poller.batch_size}, window {poller.batching_window}s, on failure "
          f"{queue or '-'})", flush=True)
    try:
        poller.run(until_idle=args.until_idle, on_batch=lambda r: print(
            f"[msk-poller] {r.records} records; reported {r.reported or '-'}; committed {r.committed}", flush=True),
            on_status=_both(_write_status(args.status_file) if args.status_file else None,
                            _publish_lag(client("cloudwatch", endpoint))))
    except KeyboardInterrupt:
        pass
    finally:
        poller.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
