"""The Kafka topic the MSK ingest reads: its name and partition count, defined once.

Everyone who names the topic uses these: the local Kafka broker (:mod:`local_runtime.services.kafka` creates
it), the local MSK event-source poller, the sample data's MSK events, and the MSK stack (the cluster's defaults
and the topic-admin function that creates the topic during the apply, ``compose/streaming.py``). Standard
library only.
"""
from __future__ import annotations

__all__ = ["INGEST_TOPIC", "INGEST_TOPIC_PARTITIONS"]

INGEST_TOPIC = "lakeforge-ingest"
"""The topic the ERP and SUSEP producers write to and the MSK ingest Lambda consumes."""

INGEST_TOPIC_PARTITIONS = 3
"""Its fixed partition count (a Kafka topic's partitions can only grow; keys hash onto them)."""
