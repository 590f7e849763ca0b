"""One local Spark 3.5 session (local[2], UI off, few shuffle partitions) for every Spark test."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    from local_runtime.spark import spark_conf

    builder = SparkSession.builder.appName("lakeforge-tests")
    for key, value in spark_conf(None, shuffle_partitions=2, driver_memory="2g").items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
