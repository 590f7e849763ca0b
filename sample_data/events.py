"""The ingest stream's data set: good ERP and SUSEP events in time order, with bad records mixed in.

Python API: :func:`generate`, :func:`expected_counts`, :func:`manifest`, :func:`write_jsonl`,
:func:`to_kinesis_event`, :func:`to_msk_event` (and :func:`msk_record`, one record of an MSK event).

Everything derives from ``random.Random(seed)``: no wall clock, no OS randomness (event ids are UUID v4
built from the RNG), so the same arguments give byte-identical output on Python 3.11 and 3.12.

The good data tells one coherent story for 2024 (events until the end of January 2025): the ERP records
(:mod:`sample_data.erp`) and the SUSEP market statistics derived from them (:mod:`sample_data.susep`),
merged in event-time order. About one good record in 200 is sent twice (same event id: a producer retry).

Bad records (``bad_share``, :mod:`sample_data.faults`) are spread round-robin over every reason code,
placed at random positions, exactly ``round(records * bad_share)`` of them.
"""
from __future__ import annotations

import base64
import hashlib
import random
from datetime import timedelta

from data_contracts import reasons as R
from data_contracts import reference as ref
from data_contracts.contracts import REGISTRY, SCHEMA_VERSION
from data_contracts.topics import INGEST_TOPIC
from sample_data.common import (
    _STATES_BY_MARKET,
    PERIOD_START,
    REFERENCE_MONTHS,
    GeneratedRecord,
    _dumps,
    _envelope,
)
from sample_data.erp import _Erp
from sample_data.faults import _bad_record
from sample_data.susep import SUSEP_RESTATED_SHARE, SUSEP_SHARE, _susep_events, _susep_rows_per_state

__all__ = [
    "DEFAULT_ARRIVAL_EPOCH",
    "DEFAULT_FIRST_SEQUENCE",
    "DEFAULT_MSK_TOPIC",
    "DEFAULT_SHARD_ID",
    "GeneratedRecord",
    "expected_counts",
    "generate",
    "manifest",
    "msk_event",
    "msk_record",
    "to_kinesis_event",
    "to_msk_event",
    "write_jsonl",
]

REPLAY_EVERY = 200           # one exact duplicate (producer retry) per this many good records

# Kinesis defaults for to_kinesis_event (a realistic 56-digit sequence number, 2024-06-01T00:00:00Z).
DEFAULT_FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898
DEFAULT_ARRIVAL_EPOCH = 1717200000.0
DEFAULT_SHARD_ID = "shardId-000000000000"


def _allocate(good: int) -> tuple[int, int, int, int, int]:
    """Split the good records: (erp, susep cube rows, susep states, susep restatements, replays)."""
    replays = good // REPLAY_EVERY
    core = good - replays
    target = round(core * SUSEP_SHARE)
    per_state = len(REFERENCE_MONTHS) * _susep_rows_per_state()
    states = 0
    for k in range(1, len(_STATES_BY_MARKET) + 1):
        if per_state * k * (1 + SUSEP_RESTATED_SHARE) <= target:
            states = k
    if states == 0:  # fewer rows than one state's cube: publish a prefix of it (SP only)
        restated = round(target * SUSEP_RESTATED_SHARE / (1 + SUSEP_RESTATED_SHARE))
        cube, states = min(target - restated, per_state), 1
    else:
        cube = per_state * states
        restated = min(target - cube, round(cube * SUSEP_RESTATED_SHARE))
    return core - cube - restated, cube, states, restated, replays


# --- the public API -----------------------------------------------------------------------------------

def generate(records: int, seed: int = 42, bad_share: float = 0.0) -> list[GeneratedRecord]:
    """``records`` payloads, ``round(records * bad_share)`` of them bad (see the module docstring)."""
    if records < 0:
        raise ValueError("records must be >= 0")
    if not 0.0 <= bad_share <= 1.0:
        raise ValueError("bad_share must be between 0 and 1")
    rng = random.Random(seed)
    n_bad = round(records * bad_share)
    n_erp, n_cube, n_states, n_restated, n_replays = _allocate(records - n_bad)

    erp = _Erp(rng)
    while len(erp.events) < n_erp:
        erp.story()
    erp_events = sorted(erp.events, key=lambda e: (e[0], e[1]))[:n_erp]
    susep_events = _susep_events(rng, n_cube, n_states, n_restated, erp_events)

    timeline = [(e[0], 0, e[1], e) for e in erp_events] + [(e[0], 1, e[1], e) for e in susep_events]
    timeline.sort(key=lambda t: t[:3])
    good: list[GeneratedRecord] = []
    for moment, _, _, (_, _, entity, op, data, partition_key) in timeline:
        source = "susep" if entity == "market_statistics" else "erp"
        payload = _dumps(_envelope(rng, source, entity, moment, op, data))
        good.append(GeneratedRecord(payload=payload, partition_key=partition_key, source=source, entity=entity))
    if n_replays and good:
        replayed = set(rng.sample(range(len(good)), n_replays))
        with_replays: list[GeneratedRecord] = []
        for index, record in enumerate(good):
            with_replays.append(record)
            if index in replayed:
                with_replays.append(record)  # the producer retried: same event id, same bytes
        good = with_replays

    if not n_bad:
        return good
    reason_cycle = [R.ALL_REASONS[i % len(R.ALL_REASONS)] for i in range(n_bad)]
    rng.shuffle(reason_cycle)
    positions = set(rng.sample(range(records), n_bad))
    out: list[GeneratedRecord] = []
    good_iter, bad_iter = iter(good), iter(reason_cycle)
    for position in range(records):
        if position in positions:
            moment = PERIOD_START + timedelta(seconds=rng.randrange(390 * 86400), milliseconds=rng.randrange(1000))
            out.append(_bad_record(rng, next(bad_iter), moment))
        else:
            out.append(next(good_iter))
    return out


def expected_counts(records) -> dict:
    """``{"valid": {(source, entity): n}, "bad": {reason: n}}``; every contract and reason is present."""
    valid = {key: 0 for key in sorted(REGISTRY)}
    bad = {reason: 0 for reason in R.ALL_REASONS}
    for record in records:
        if record.expected_reason is None:
            valid[(record.source, record.entity)] += 1
        else:
            bad[record.expected_reason] += 1
    return {"valid": valid, "bad": bad}


def manifest(records, *, seed: int, bad_share: float, sha256: str | None = None) -> dict:
    """A JSON-friendly description of a generated data set (valid keys as ``"source.entity"``)."""
    counts = expected_counts(records)
    result = {
        "generator": "sample_data",
        "schema_version": SCHEMA_VERSION,
        "records": len(records),
        "seed": seed,
        "bad_share": bad_share,
        "valid": {f"{s}.{e}": n for (s, e), n in counts["valid"].items()},
        "bad": counts["bad"],
        "valid_total": sum(counts["valid"].values()),
        "bad_total": sum(counts["bad"].values()),
        "company_insurer_code": ref.COMPANY_INSURER_CODE,
    }
    if sha256 is not None:
        result["sha256"] = sha256
    return result


def write_jsonl(records, stream) -> str:
    """Write one payload per line to a binary stream; return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    for record in records:
        if b"\n" in record.payload:
            raise ValueError("a payload contains a newline byte")
        line = record.payload + b"\n"
        digest.update(line)
        stream.write(line)
    return digest.hexdigest()


def to_kinesis_event(records, *, shard_id: str = DEFAULT_SHARD_ID, first_sequence: int = DEFAULT_FIRST_SEQUENCE,
                     sequence_step: int = 10, arrival_epoch: float = DEFAULT_ARRIVAL_EPOCH,
                     arrival_step: float = 0.001, region: str = "us-east-1",
                     stream_arn: str = "arn:aws:kinesis:us-east-1:000000000000:stream/lakeforge-ingest") -> dict:
    """A Lambda Kinesis event (``{"Records": [...]}``) carrying the payloads, in order, on one shard."""
    out = []
    for index, record in enumerate(records):
        payload = record.payload if isinstance(record, GeneratedRecord) else record
        partition_key = record.partition_key if isinstance(record, GeneratedRecord) else f"pk-{index}"
        sequence = str(first_sequence + index * sequence_step)
        out.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": partition_key,
                "sequenceNumber": sequence,
                "data": base64.b64encode(payload).decode("ascii"),
                "approximateArrivalTimestamp": round(arrival_epoch + index * arrival_step, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::000000000000:role/lakeforge-ingest",
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        })
    return {"Records": out}


DEFAULT_MSK_TOPIC = INGEST_TOPIC
DEFAULT_MSK_CLUSTER_ARN = "arn:aws:kafka:us-east-1:000000000000:cluster/lakeforge/00000000-0000-0000-0000-000000000000-1"


def _signed(data: bytes) -> list[int]:
    """Bytes as Lambda puts a Kafka header value in the event: Java's signed byte ints."""
    return [b - 256 if b > 127 else b for b in data]


def msk_record(topic: str, partition: int, offset: int, timestamp_ms: int, value: bytes | None, *,
               key: bytes | None = None, headers: list[tuple[str, bytes]] = (),
               timestamp_type: str = "CREATE_TIME") -> dict:
    """One record of a Lambda MSK event, as Lambda's MSK poller builds it: key and value base64 (``value``
    null for a tombstone, ``key`` absent when the record has none), headers as ``[{"name": [byte ints]}]``."""
    out = {"topic": topic, "partition": partition, "offset": offset, "timestamp": timestamp_ms,
           "timestampType": timestamp_type,
           "value": None if value is None else base64.b64encode(value).decode("ascii"),
           "headers": [{name: _signed(data)} for name, data in headers]}
    if key is not None:
        out["key"] = base64.b64encode(key).decode("ascii")
    return out


def msk_event(records: list[dict], *, cluster_arn: str = DEFAULT_MSK_CLUSTER_ARN,
              bootstrap_servers: str = "127.0.0.1:9092") -> dict:
    """A Lambda MSK event holding ``records`` (:func:`msk_record` dicts), grouped by ``<topic>-<partition>``
    in the order given."""
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault(f"{record['topic']}-{record['partition']}", []).append(record)
    return {"eventSource": "aws:kafka", "eventSourceArn": cluster_arn, "bootstrapServers": bootstrap_servers,
            "records": grouped}


def to_msk_event(records, *, topic: str = DEFAULT_MSK_TOPIC, partitions: int = 1, first_offset: int = 0,
                 timestamp_ms: int = round(DEFAULT_ARRIVAL_EPOCH * 1000), timestamp_step_ms: int = 1,
                 headers: list[tuple[str, bytes]] = (), **event_kwargs) -> dict:
    """A Lambda MSK event carrying the payloads (``None``: a tombstone), record ``i`` on partition
    ``i % partitions`` at the next offset of that partition from ``first_offset``; key = the record's
    partition key (``pk-<i>`` for a bare payload)."""
    out = []
    for index, record in enumerate(records):
        payload = record.payload if isinstance(record, GeneratedRecord) else record
        key = record.partition_key if isinstance(record, GeneratedRecord) else f"pk-{index}"
        partition = index % partitions
        out.append(msk_record(topic, partition, first_offset + index // partitions,
                              timestamp_ms + index * timestamp_step_ms, payload, key=key.encode("utf-8"),
                              headers=list(headers)))
    return msk_event(out, **event_kwargs)
