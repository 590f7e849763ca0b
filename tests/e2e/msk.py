"""What the MSK end-to-end tests share: deploy the ``ingest_msk`` function to a private emulator (the one
definition is :func:`local_runtime.msk_poller.deploy_function`), produce
generated records to the local broker, read back what landed and what a consumer group committed."""
from __future__ import annotations

import json

from confluent_kafka import Consumer, TopicPartition

from data_contracts.topics import INGEST_TOPIC, INGEST_TOPIC_PARTITIONS
from local_runtime.lake import produce_records
from local_runtime.msk_poller import deploy_function
from local_runtime.services.kafka import KafkaBroker

__all__ = ["committed", "deploy_function", "lines", "produce"]


def produce(broker: KafkaBroker, records, topic: str = INGEST_TOPIC) -> dict[int, int]:
    """Produce the generated ``records`` (key = partition key, one header) with the demo's producer
    (:func:`local_runtime.lake.produce_records`); each partition's end offset (one past its last record)."""
    _, ends = produce_records(broker.bootstrap_servers, topic, ((r.payload, r.partition_key) for r in records),
                              [("producer", b"erp-connector")])
    return ends


def lines(s3, buckets) -> list[tuple[str, dict]]:
    """(bucket, line) of every JSON line of every object in ``buckets``."""
    out = []
    for bucket in buckets:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", ()):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                out.extend((bucket, json.loads(raw)) for raw in body.split(b"\n")[:-1])
    return out


def committed(broker: KafkaBroker, group: str, topic: str = INGEST_TOPIC) -> dict[int, int]:
    """Partition -> the offset ``group`` committed on ``topic`` (negative: none)."""
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(INGEST_TOPIC_PARTITIONS)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()
