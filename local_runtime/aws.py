"""AWS clients pointed at the local emulator, built in one place.

* :func:`client` -- a boto3 client for one service at the emulator's endpoint, with the local credentials
  (:data:`local_runtime.services.LOCAL_CREDENTIALS`), the region and one botocore config (three standard
  retries, path-style S3). Every client of the demo, the end-to-end tests and the benchmarks comes from it.
  It is plain boto3, not ``localstack-client`` (which the design card named): localstack-client 2.12 takes
  its endpoint from ``AWS_ENDPOINT_URL`` whenever that is set, ignoring the host it is given (a test's
  private emulator on another port would be bypassed), builds ``http://`` URLs unless ``USE_SSL`` is set
  for the whole process, and turns TLS verification off on every client; using it here meant replacing a
  private attribute of its session. An endpoint URL handed to boto3 does all of this in one call.
* :func:`boto3_session` and :func:`wrangler` -- awswrangler needs a real ``boto3.Session`` and takes its
  endpoints from ``wr.config``, which is process-wide: :func:`wrangler` sets the S3, Glue, Athena and STS
  endpoints on each call, so helpers for two emulators (the demo's, a test's) do not mix.
* :func:`environment` -- the variables that point a child process (Terraform, spark-submit) at the emulator.

Where awswrangler is used (``local_runtime/lake.py``) and where not:

* used: listing objects (``wr.s3.list_objects``: pagination, suffix filter) and reading Parquet datasets
  (``wr.s3.read_parquet``).
* not used for Athena: ``wr.athena.start_query_execution(wait=True)`` waits without a time limit (a stuck
  query would hang the demo), and ``wr.athena.read_sql_query`` fails on ministack (``NoFilesFound``: ministack
  reports ``OutputLocation`` ``results/<id>.csv`` but writes ``results/<id>.csv/<id>.csv``; the CTAS path fails
  with "Schema ... does not exist"), and ``wr.athena.get_query_results`` reads the same file (it uses
  ``OutputLocation`` whenever the query has one). Rows come from the ``GetQueryResults`` API (boto3
  paginator), after a bounded wait on ``GetQueryExecution``.
* not used for JSON lines (bronze, quarantine, reports): ``wr.s3.read_json`` would turn the lines into a
  pandas DataFrame (NaN where a line lacks a key, pandas' type and date inference) where the helpers need
  each line as it was written; the lines are read with ``GetObject`` and ``json.loads``.
* not used for uploads, PutObject with a content type, Kinesis, Lambda or ``glue.get_job``: awswrangler
  has nothing for them, or only a wrapper of the same single boto3 call.
"""
from __future__ import annotations

import boto3
from botocore.config import Config

from local_runtime.services import LOCAL_CREDENTIALS, REGION

CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"})
_WRANGLER_SERVICES = ("s3", "glue", "athena", "sts")


def client(service: str, endpoint: str):
    """A boto3 client for ``service`` on the emulator at ``endpoint``."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], config=CLIENT_CONFIG)


def boto3_session() -> boto3.Session:
    """A boto3 session with the emulator's credentials and region (for awswrangler; no endpoint of its own)."""
    return boto3.Session(aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=REGION)


def wrangler(endpoint: str):
    """``(awswrangler, boto3 session)`` with awswrangler's S3/Glue/Athena/STS endpoints set to ``endpoint``."""
    import awswrangler as wr  # imported on first use: it pulls in pandas and pyarrow (~1 s)

    for service in _WRANGLER_SERVICES:
        setattr(wr.config, f"{service}_endpoint_url", endpoint)
    wr.config.botocore_config = CLIENT_CONFIG
    return wr, boto3_session()


def environment(endpoint: str) -> dict[str, str]:
    """Environment variables that send a child process's AWS SDK calls to the emulator."""
    return {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
