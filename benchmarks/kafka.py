"""The local MSK path (issue 10): records per second from a producer to bronze, and the produce-to-bronze latency.

Path: a ``confluent-kafka`` producer -> the local Kafka broker (Tansu, its own S3 store) -> the local MSK event
source mapping (:class:`local_runtime.msk_poller.MskPoller`, in this process, Lambda's default batch size and
batching window) -> the ``ingest_msk`` function deployed on a private ministack, invoked synchronously per batch
-> the emulator's S3 (bronze and quarantine). Side by side in the same run and on the same ministack, in turns:
the ingest handlers in-process writing to that S3 directly (other buckets): the MSK handler the deployed
function runs, on the very events the mapping delivered (the same batches, so the same objects), and the
Kinesis handler of the ``handler`` section on the same records in batches of the same size.

Each run produces ``records`` generated records (10% bad) to a fresh topic while the mapping, already holding
the topic's partitions, consumes it. A record is in bronze (or quarantine) when the invocation of its batch has
returned (the function writes its objects before it answers) and its offset is committed. Rate = records /
(the last record's commit - the first record's produce); latency per record = the time its batch was committed
- its producer timestamp (``CREATE_TIME``), median and 99th percentile over the run. The producer sends the whole
run at once, so the latency includes the wait behind earlier batches (a burst, not a trickle).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.serving import _percentile

TARGET_RATIO = 0.5  # issue 10: the Kafka path sustains at least half the rate of the handler writing to S3 directly
LARGE_BATCH = 500
PACE, PACED_RECORDS = 250, 1000  # a steady trickle well below the path's rate: records/s, records a run
BRONZE, QUARANTINE = "bench-msk-bronze", "bench-msk-quarantine"  # the deployed function's
DIRECT_BRONZE, DIRECT_QUARANTINE = "bench-direct-bronze", "bench-direct-quarantine"  # the in-process handlers'


STAGES = ("broker", "window", "invoke", "commit")
"""Where a record's produce-to-bronze time goes: produced -> it reaches the mapping's consumer (the broker's
append to its S3 store and the consumer's fetch), -> its batch's invoke starts (the rest of the batching window
and the event's assembly), -> the invoke returns (the function's run on the emulator), -> the offsets are
committed."""


class _Recording:
    """The emulator's Lambda client, keeping every event the mapping invoked the function with and when each
    invoke started and returned (epoch seconds)."""

    def __init__(self, lam) -> None:
        self.lam, self.events, self.seconds, self.spans = lam, [], [], []

    def invoke(self, **kwargs):
        self.events.append(json.loads(kwargs["Payload"]))
        start, wall = time.monotonic(), time.time()
        try:
            return self.lam.invoke(**kwargs)
        finally:
            self.seconds.append(time.monotonic() - start)
            self.spans.append((wall, time.time()))


class _Stamping:
    """The mapping's consumer, noting when each record reached the client (epoch seconds, to 10 ms): it serves
    ``consume(n, timeout)`` as the consumer does (up to ``n`` records, waiting at most ``timeout``) in 10 ms
    slices, so a record's arrival is told apart from the rest of its batching window."""

    SLICE = 0.01

    def __init__(self, consumer) -> None:
        self._consumer, self.seen = consumer, {}

    def consume(self, num_messages: int = 1, timeout: float = -1):
        deadline = time.monotonic() + timeout
        messages: list = []
        while len(messages) < num_messages:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = self._consumer.consume(num_messages - len(messages), min(self.SLICE, left))
            now = time.time()
            for m in got:
                if m.error() is None:
                    self.seen.setdefault((m.partition(), m.offset()), now)
            messages.extend(got)
        return messages

    def __getattr__(self, name):
        return getattr(self._consumer, name)


def bench_kafka(runs: int, records: int = 5000) -> list[dict]:
    from bundling.lambda_zip import build_function_zip
    from data_contracts.topics import INGEST_TOPIC_PARTITIONS
    from local_runtime.aws import client
    from local_runtime.msk_poller import DEFAULT_BATCH_SIZE, DEFAULT_WINDOW_SECONDS, MskPoller, deploy_function
    from local_runtime.services import free_port, start_ministack, stop_ministack
    from local_runtime.services.kafka import KafkaBroker
    from sample_data import generate, to_kinesis_event

    os.environ.update({"BRONZE_BUCKET": DIRECT_BRONZE, "QUARANTINE_BUCKET": DIRECT_QUARANTINE, "LOG_LEVEL": "WARNING",
                       "POWERTOOLS_METRICS_NAMESPACE": "Bench", "POWERTOOLS_SERVICE_NAME": "bench"})
    from lambda_src.ingest import app as kinesis_app
    from lambda_src.ingest_msk import app as msk_app

    data = generate(records, seed=12, bad_share=0.1)
    batch = DEFAULT_BATCH_SIZE
    rates: dict[str, list[float]] = {"kafka": [], "msk": [], "kinesis": [], "large": []}
    p50s, p99s, paced_p50s, paced_p99s = [], [], [], []
    paced_stages: dict[str, list[float]] = {stage: [] for stage in STAGES}  # per run: the stage's median
    invokes: list[tuple[int, float]] = []  # per run: invocations, their share of the run's wall time
    port = free_port()
    emu = start_ministack(port)
    with tempfile.TemporaryDirectory() as tmp:
        broker = KafkaBroker(free_port(), state=Path(tmp),
                             topics={f"bench-{run}{kind}": INGEST_TOPIC_PARTITIONS for run in range(-1, runs)
                                     for kind in ("", "-large", "-paced")})
        broker.start()
        try:
            s3, lam = client("s3", emu.endpoint), client("lambda", emu.endpoint)
            for bucket in (BRONZE, QUARANTINE, DIRECT_BRONZE, DIRECT_QUARANTINE):
                s3.create_bucket(Bucket=bucket)
            with tempfile.TemporaryDirectory() as zips:
                zip_bytes = build_function_zip("ingest_msk", Path(zips)).read_bytes()
            function = deploy_function(lam, "bench-ingest-msk", zip_bytes, BRONZE, QUARANTINE)
            msk_handler, kinesis_handler = msk_app.handler_for(s3), kinesis_app.handler_for(s3)

            def direct(handler, events: list[dict]) -> float:
                start = time.monotonic()
                with contextlib.redirect_stdout(io.StringIO()):
                    for event in events:
                        handler(event, None)
                return records / (time.monotonic() - start)

            def kafka_path(topic: str, batch_size: int = batch, pace: float | None = None,
                           sent: list | None = None) -> tuple[float, list[float], _Recording, dict]:
                sent = data if sent is None else sent
                recording = _Recording(lam)
                poller = MskPoller(bootstrap_servers=broker.bootstrap_servers, function_name=function,
                                   lambda_client=recording, topic=topic, group_id=f"bench-{topic}",
                                   batch_size=batch_size,
                                   batching_window=DEFAULT_WINDOW_SECONDS)
                stamping = None
                if pace:  # the stages of the steady run (the burst runs keep the consumer as it is)
                    stamping = poller.consumer = _Stamping(poller.consumer)
                try:
                    deadline = time.monotonic() + 60
                    while not poller.consumer.assignment():  # the mapping holds the partitions before the clock
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"the mapping got no partition of {topic} in 60 s")
                        poller.poll()
                    produced: dict[tuple[int, int], float] = {}  # (partition, offset) -> producer timestamp (s)
                    done = threading.Event()
                    first = time.time()
                    producer = threading.Thread(target=_produce, args=(broker, topic, sent, produced, done, pace))
                    producer.start()
                    recording.events.clear()
                    recording.seconds.clear()
                    committed: dict[int, int] = {}
                    landed: list[tuple[tuple[int, int], float]] = []  # (partition, offset), when committed
                    spans: dict[tuple[int, int], tuple[float, float]] = {}  # its batch's invoke: start, return
                    last = first
                    while len(landed) < len(sent):
                        result = poller.poll()
                        now = time.time()
                        for name, offset in result.committed.items():
                            partition = int(name.rsplit("-", 1)[1])
                            landed.extend(((partition, o), now) for o in range(committed.get(partition, 0), offset))
                            spans.update(((partition, o), recording.spans[-1])
                                         for o in range(committed.get(partition, 0), offset))
                            committed[partition] = max(committed.get(partition, 0), offset)
                            last = now
                    producer.join()
                    if not done.is_set() or len(produced) != len(sent) or {p for p, _ in landed} != set(produced):
                        raise RuntimeError(f"{topic}: produced {len(produced)}, landed {len(landed)}")
                    stored = _stored(s3, topic)
                    if stored != len(sent):
                        raise RuntimeError(f"{topic}: {stored} records in bronze and quarantine, not {len(sent)}")
                    stages = {stage: [] for stage in STAGES}
                    for position, when in (landed if stamping else ()):
                        start, end = spans[position]
                        seen = stamping.seen[position]
                        for stage, seconds in zip(STAGES, (seen - produced[position], start - seen, end - start,
                                                           when - end)):
                            stages[stage].append(seconds)
                    return (len(sent) / (last - first), [when - produced[position] for position, when in landed],
                            recording, stages)
                finally:
                    poller.close()

            def kinesis_events(run: int) -> list[dict]:
                return [to_kinesis_event(data[i:i + batch], shard_id=f"shardId-{3000 + run:012d}",
                                         first_sequence=10**20 + i * 10) for i in range(0, records, batch)]

            # warm-up: the function's container started, the validators compiled
            direct(msk_handler, kafka_path("bench--1")[2].events)
            for run in range(runs):  # in turns
                rate, latencies, recording, _ = kafka_path(f"bench-{run}")
                rates["kafka"].append(rate)
                invokes.append((len(recording.seconds), sum(recording.seconds) * rate / records))
                rates["msk"].append(direct(msk_handler, recording.events))  # the very batches the mapping delivered
                rates["kinesis"].append(direct(kinesis_handler, kinesis_events(run)))
                rates["large"].append(kafka_path(f"bench-{run}-large", LARGE_BATCH)[0])
                _, paced, _, stages = kafka_path(f"bench-{run}-paced", pace=PACE, sent=data[:PACED_RECORDS])
                for stage in STAGES:
                    paced_stages[stage].append(statistics.median(stages[stage]))
                paced_p50s.append(statistics.median(paced))
                paced_p99s.append(_percentile(paced, 0.99))
                p50s.append(statistics.median(latencies))
                p99s.append(_percentile(latencies, 0.99))
                print(f"  run {run}: kafka path {rate:,.0f}/s ({invokes[-1][0]} invocations, "
                      f"{invokes[-1][1]:.0%} of the time), handler (MSK) {rates['msk'][-1]:,.0f}/s, handler "
                      f"(Kinesis) {rates['kinesis'][-1]:,.0f}/s, kafka path in batches of {LARGE_BATCH} "
                      f"{rates['large'][-1]:,.0f}/s; latency p50 {p50s[-1]:.2f}s p99 {p99s[-1]:.2f}s, at {PACE}/s "
                      f"p50 {paced_p50s[-1]:.2f}s p99 {paced_p99s[-1]:.2f}s ("
                      + ", ".join(f"{stage} {paced_stages[stage][-1]:.2f}s" for stage in STAGES) + " median)",
                      flush=True)
        finally:
            broker.stop()
            stop_ministack(port, remove_data=True)
    kafka, msk, kinesis = (statistics.median(rates[k]) for k in ("kafka", "msk", "kinesis"))
    ratios = [k / r for k, r in zip(rates["kafka"], rates["kinesis"])]  # run by run: the turns share the load
    ratios_msk = [k / r for k, r in zip(rates["kafka"], rates["msk"])]
    invoke_count = statistics.median(n for n, _ in invokes)
    invoke_share = statistics.median(share for _, share in invokes)
    verdict = lambda ratio: "met" if ratio >= TARGET_RATIO else "missed"  # noqa: E731
    common = f"{records:,} records (10% bad) in batches of {batch}"
    return [
        {"name": "MSK path, producer to bronze", "unit": "records/s", "runs": rates["kafka"], "median": kafka,
         "what": f"{common}: producer -> local Kafka (Tansu) -> local MSK mapping -> ingest_msk deployed on "
                 f"ministack (one synchronous invoke per batch) -> S3; run by run {statistics.median(ratios):.2f}x "
                 f"the Kinesis handler and {statistics.median(ratios_msk):.2f}x the MSK handler writing to the same "
                 f"S3 directly (issue 10 target: >= {TARGET_RATIO}x, {verdict(statistics.median(ratios))}); "
                 f"{invoke_count:.0f} invocations a run, waiting for them {invoke_share:.0%} of its time",
         "target": {"ratios": ratios, "ratios_msk": ratios_msk, "ratio": statistics.median(ratios),
                    "ratio_msk": statistics.median(ratios_msk), "invocations": invoke_count,
                    "invoke_share": invoke_share, "records": records, "batch": batch,
                    "large_ratio": statistics.median(rates["large"]) / kinesis}},
        {"name": "ingest handler (MSK), emulator S3", "unit": "records/s", "runs": rates["msk"], "median": msk,
         "what": "the same batches the mapping delivered in the line above (same records, same objects), to the "
                 "MSK handler in-process writing to the same ministack's S3 (other buckets), right after it"},
        {"name": "ingest handler (Kinesis), same run", "unit": "records/s", "runs": rates["kinesis"],
         "median": kinesis, "what": f"{common}, the Kinesis handler in-process, as the handler section measures "
                                    f"it, in turns with the two lines above"},
        {"name": f"MSK path, batches of {LARGE_BATCH}", "unit": "records/s", "runs": rates["large"],
         "median": statistics.median(rates["large"]),
         "what": f"same path, batch size {LARGE_BATCH} (a mapping setting, up to 10,000 on AWS), in turns with the "
                 f"lines above: {statistics.median(rates['large']) / kinesis:.2f}x the Kinesis handler's median; the "
                 f"per-invocation cost spread over more records"},
        {"name": "MSK path latency, median", "unit": "s", "runs": p50s, "median": statistics.median(p50s),
         "what": "per record: its batch committed (objects written) - its producer timestamp; the whole run "
                 "produced at once (queueing behind earlier batches included)"},
        {"name": "MSK path latency, p99", "unit": "s", "runs": p99s, "median": statistics.median(p99s),
         "what": "same, 99th percentile"},
        {"name": f"MSK path latency at {PACE} records/s, median", "unit": "s", "runs": paced_p50s,
         "median": statistics.median(paced_p50s),
         "what": f"{PACED_RECORDS:,} records produced steadily at {PACE}/s (batches of {batch}, batching window "
                 f"{DEFAULT_WINDOW_SECONDS} s): per record, its batch committed - its producer timestamp"},
        {"name": f"MSK path latency at {PACE} records/s, p99", "unit": "s", "runs": paced_p99s,
         "median": statistics.median(paced_p99s), "what": "same, 99th percentile"},
        *({"name": f"MSK path latency at {PACE} records/s, {stage} stage, median", "unit": "s",
           "runs": paced_stages[stage], "median": statistics.median(paced_stages[stage]),
           "what": f"same records: the median time a record spends in the {stage} stage ({_STAGE_TEXT[stage]})"}
          for stage in STAGES),
    ]


_STAGE_TEXT = {
    "broker": "producer timestamp -> it reaches the mapping's consumer: the broker's append to its S3 store, "
              "the fetch",
    "window": "-> its batch's invoke starts: the rest of the batching window, the event's assembly",
    "invoke": "-> the invoke returns: the function's run on the emulator",
    "commit": "-> its offset is committed",
}


def kafka_section(stored: dict) -> list[str]:
    from local_runtime.msk_poller import DEFAULT_WINDOW_SECONDS

    """The MSK path's paragraph of BENCHMARKS.md: the issue's target against the figures of ``stored``."""
    rows = {r["name"]: r for r in stored["results"]}
    path = rows["MSK path, producer to bronze"]
    t = path["target"]
    fmt = ", ".join(f"{r:.2f}" for r in t["ratios"])
    verdict = "met" if t["ratio"] >= TARGET_RATIO else "missed"
    lines = ["## Real-time ingestion from MSK, locally (issue 10)", "",
             f"`{stored['command']}` (`benchmarks/kafka.py`), {path.get('measured', '')}: {t['records']:,} records a "
             f"run through producer -> Tansu -> the local MSK mapping (batches of {t['batch']}) -> `ingest_msk` "
             f"deployed on ministack -> S3, in turns with the ingest handlers in-process writing to the same S3.", "",
             f"- Target: the Kafka path sustains at least {TARGET_RATIO}x the rate of the ingest handler writing to "
             f"the emulator's S3. Run by run it made {fmt}x the Kinesis handler (median {t['ratio']:.2f}x: "
             f"**{verdict}**) and {t['ratio_msk']:.2f}x the MSK handler given the very batches the mapping "
             f"delivered.",
             f"- What dominates: the synchronous Lambda invoke per batch ({t['invocations']:.0f} a run), "
             f"{t['invoke_share']:.0%} of the path's wall time: the handler's own work (its S3 lists and writes, as the "
             f"in-process MSK handler takes on the same batches) about {t['ratio_msk']:.0%} of the wall time, the "
             f"emulator's invoke (the event to ministack as JSON, its function subprocess) about "
             f"{max(t['invoke_share'] - t['ratio_msk'], 0):.0%}; the broker and the mapping take the rest. In batches "
             f"of 500 (fewer invocations, larger objects) the same path made {t['large_ratio']:.2f}x the Kinesis "
             f"handler.",
             f"- Latency, produce to bronze (the run produced at once, so it includes waiting behind earlier "
             f"batches): median {rows['MSK path latency, median']['median']:.2f} s, 99th percentile "
             f"{rows['MSK path latency, p99']['median']:.2f} s; produced steadily at {PACE} records/s: median "
             f"{rows[f'MSK path latency at {PACE} records/s, median']['median']:.2f} s, 99th percentile "
             f"{rows[f'MSK path latency at {PACE} records/s, p99']['median']:.2f} s. Where a steady record's time "
             f"goes (medians per stage): " + "; ".join(
                 f"{stage} {rows[f'MSK path latency at {PACE} records/s, {stage} stage, median']['median']:.2f} s "
                 f"({_STAGE_TEXT[stage]})" for stage in STAGES if
                 f"MSK path latency at {PACE} records/s, {stage} stage, median" in rows)
             + f". The batching window is {DEFAULT_WINDOW_SECONDS} s.",
             f"- Single runs of the path ranged from {min(path['runs']):,.0f} to {max(path['runs']):,.0f} records/s; "
             "the ratios are taken run by run, whose turns share the machine's load.", ""]
    return lines


def _stored(s3, topic: str) -> int:
    """Lines in the bronze and quarantine objects of ``topic`` (``msk-<topic>-<partition>-<first>-<last>.jsonl``)."""
    count = 0
    for bucket in (BRONZE, QUARANTINE):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", ()):
                if item["Key"].rsplit("/", 1)[-1].startswith(f"msk-{topic}-"):
                    count += s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().count(b"\n")
    return count


def _produce(broker, topic: str, data, produced: dict, done: threading.Event, pace: float | None = None) -> None:
    """Produce every record of ``data`` to ``topic`` (at once, or ``pace`` records a second);
    ``produced[(partition, offset)]`` = its producer timestamp."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all", "linger.ms": 5})

    def report(err, msg):
        if err is None:
            produced[(msg.partition(), msg.offset())] = msg.timestamp()[1] / 1000
        else:
            raise RuntimeError(f"produce failed: {err}")

    start = time.monotonic()
    for index, record in enumerate(data):
        if pace:
            time.sleep(max(0.0, start + index / pace - time.monotonic()))
        producer.produce(topic, key=record.partition_key.encode(), value=record.payload, on_delivery=report)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError("records left unsent")
    done.set()
