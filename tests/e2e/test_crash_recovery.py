"""The Glue jobs killed for real (``os._exit`` in the spark-submit driver, LAKEFORGE_FAULT=<point>:exit) in the
middle of their publication on the emulator, then run again: silver, its quarantine and gold (read where the
Glue catalog points, and counted through Athena) are exactly what a run that never failed gives.

The clean reference is a second lake in the same deployment: the same jobs, same bronze, same sequence of
runs, with their paths moved to ``crash-test-clean/`` prefixes and no catalog switch."""
from __future__ import annotations

import pytest

from lakehouse import faults, gold_publication
from lakehouse.gold_tables import GOLD_TABLES
from lakehouse.silver_tables import SILVER_TABLES
from local_runtime.aws import client
from local_runtime.batch import JobHost, run_glue_job
from local_runtime.lake import landed, put_records, read_parquet, row_counts, wait_for
from sample_data import generate

pytestmark = pytest.mark.e2e
CLEAN = "crash-test-clean"


def _send(out, endpoint, records) -> None:
    events = list(records)
    seqs = set(put_records(client("kinesis", endpoint), out["ingest_stream_name"],
                           [(r.payload, r.partition_key) for r in events]))
    counts = wait_for(len(seqs), lambda: landed(endpoint, out["bronze_bucket"], out["quarantine_bucket"], seqs),
                      timeout=240)
    assert counts.total == len(events) and counts.duplicates == 0


def _clean_args(out) -> tuple[dict, dict]:
    b2s = {"--silver_path": f"s3://{out['silver_bucket']}/{CLEAN}/",
           "--quarantine_path": f"s3://{out['quarantine_bucket']}/silver_rules/{CLEAN}/",
           "--state_path": f"s3://{out['artifacts_bucket']}/state/{CLEAN}/bronze_to_silver/"}
    s2g = {"--silver_path": b2s["--silver_path"], "--gold_path": f"s3://{out['gold_bucket']}/{CLEAN}/",
           "--state_path": f"s3://{out['artifacts_bucket']}/state/{CLEAN}/silver_to_gold/", "--gold_database": ""}
    return b2s, s2g


def _frame(endpoint, uri):
    import awswrangler as wr

    try:
        df = read_parquet(endpoint, uri)
    except wr.exceptions.NoFilesFound:  # a silver table the data set has no row for
        return None
    df = df.astype({c: "string" for c in df.columns})
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _silver(endpoint, root: str) -> dict:
    return {t.name: _frame(endpoint, f"{root.rstrip('/')}/{t.location}") for t in SILVER_TABLES}


def _quarantine(endpoint, bucket: str, prefix: str) -> list[str]:
    s3 = client("s3", endpoint)
    lines = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".json") and (prefix.endswith(f"{CLEAN}/") or f"/{CLEAN}/" not in obj["Key"]):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
                lines += [line for line in body.splitlines() if line.strip()]
    return sorted(lines)


def _gold_from_catalog(endpoint, out) -> dict:
    glue = client("glue", endpoint)
    frames = {}
    for t in GOLD_TABLES:
        location = glue.get_table(DatabaseName=out["glue_database_gold"], Name=t.name)["Table"]["StorageDescriptor"]
        frames[t.name] = _frame(endpoint, location["Location"])
    return frames


def _gold_clean(endpoint, out, monkeypatch) -> dict:
    from local_runtime.aws import environment
    for name, value in environment(endpoint).items():
        monkeypatch.setenv(name, value)
    pub = gold_publication.load(f"s3://{out['artifacts_bucket']}/state/{CLEAN}/silver_to_gold/")
    return {t.name: _frame(endpoint, gold_publication.table_location(pub, f"s3://{out['gold_bucket']}/{CLEAN}/",
                                                                     t.location)) for t in GOLD_TABLES}


def _both(out, endpoint, fault_b2s: str | None, fault_s2g: str | None, monkeypatch, host: JobHost) -> None:
    """One batch on the clean lake, then on the real one with the faults, each job rerun after its crash.

    The jobs run in one warm local Spark, as the demo runs them: a fault kills its driver (``os._exit``), and the
    rerun gets a fresh one."""
    b2s_clean, s2g_clean = _clean_args(out)
    run_glue_job(out["glue_job_bronze_to_silver"], endpoint, b2s_clean, stream=False, host=host)
    run_glue_job(out["glue_job_silver_to_gold"], endpoint, s2g_clean, stream=False, host=host)
    for job, point in ((out["glue_job_bronze_to_silver"], fault_b2s), (out["glue_job_silver_to_gold"], fault_s2g)):
        if point:
            monkeypatch.setenv(faults.ENV, f"{point}:exit")
            with pytest.raises(RuntimeError, match=f"exit {faults.EXIT_CODE}"):
                run_glue_job(job, endpoint, stream=False, host=host)
            monkeypatch.delenv(faults.ENV)
        run_glue_job(job, endpoint, stream=False, host=host)


def test_jobs_killed_mid_publication_recover_to_the_clean_result(deployed, emulator, monkeypatch):
    out, endpoint = deployed["outputs"], emulator.endpoint
    records = generate(300, seed=11)
    half = len(records) // 2
    with JobHost(endpoint) as host:
        _send(out, endpoint, records[:half])
        _both(out, endpoint, None, "gold_after_staging", monkeypatch, host)
        _send(out, endpoint, records[half:])
        _both(out, endpoint, "silver_during_swap", "gold_during_publication", monkeypatch, host)
        assert host.starts == 4  # one, and one after each of the three killed drivers

    silver_bucket = f"s3://{out['silver_bucket']}/"
    real, clean = _silver(endpoint, silver_bucket), _silver(endpoint, f"{silver_bucket}{CLEAN}/")
    assert sum(df is not None for df in clean.values()) >= 3
    for name in real:
        if clean[name] is None:
            assert real[name] is None, name
            continue
        assert len(real[name]) == len(clean[name]) > 0, name
        assert real[name].equals(clean[name]), name
    assert _quarantine(endpoint, out["quarantine_bucket"], "silver_rules/") == \
        _quarantine(endpoint, out["quarantine_bucket"], f"silver_rules/{CLEAN}/")
    gold, gold_clean = _gold_from_catalog(endpoint, out), _gold_clean(endpoint, out, monkeypatch)
    assert sum(df is not None for df in gold_clean.values()) >= 8
    for name in gold:
        if gold_clean[name] is None:  # a table this small data set leaves empty (no claims)
            assert gold[name] is None, name
            continue
        assert gold[name].equals(gold_clean[name]), name
    counts = row_counts(endpoint, out, "gold")  # Athena over the catalog: the published copy only
    assert counts == {name: 0 if df is None else len(df) for name, df in gold_clean.items()}
