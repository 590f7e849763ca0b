"""The thin part every job entrypoint shares: its contract, arguments as Glue passes them, the Spark
session and its settings, small S3 I/O.

A job declares its :class:`JobContract` beside its code (``glue_jobs/<job>.py``, ``emr_steps/<step>.py``):
its arguments (which are required, the defaults of the others, and the lake location each path argument
points at once deployed) and the S3 prefixes it reads and writes. The composition turns the contract into
the job's default arguments and its IAM grants; the job parses its arguments with it. Plain data,
standard library only.

On AWS Glue, ``awsglue`` is importable: arguments come from ``getResolvedOptions`` and the session
from a ``GlueContext`` (with ``Job.init``/``commit`` for bookmarks). Elsewhere (EMR, local
``spark-submit``) the same ``--name value`` arguments are parsed with identical semantics and a
plain ``SparkSession`` is used. Either way the session gets :data:`SPARK_CONF`, the one definition of
the settings every job relies on. Files (manifests, reports) are read and written through the
Hadoop FileSystem of the session, so ``s3://``, ``s3a://`` and ``file://`` all work.

:func:`run_entrypoint` is the whole of a Spark job's ``main``: it times the run and prints its one run
summary (:mod:`lakehouse.run_log`: structured log lines, the summary in embedded metric format).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lakehouse import run_log

SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",                      # dates and months of timestamps are UTC
    "spark.sql.sources.partitionOverwriteMode": "dynamic",    # an overwrite replaces only the partitions written
    "spark.sql.parquet.compression.codec": "snappy",
}
"""Spark SQL settings of every job, wherever it runs (Glue, EMR ``--conf``, local ``spark-submit``, tests)."""


# --- contracts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LakePath:
    """A location in the lake: a bucket key (``bronze``, ``silver``, ``gold``, ``quarantine``, ``artifacts``)
    and a key prefix below it (``""`` = the bucket root)."""

    bucket: str
    prefix: str = ""

    def uri(self, bucket_names: Mapping[str, str]) -> str:
        """``s3://<bucket name>/<prefix>`` for the deployed bucket names."""
        return f"s3://{bucket_names[self.bucket]}/{self.prefix}"


@dataclass(frozen=True)
class JobArgument:
    """One ``--name value`` argument of a job."""

    name: str
    """Without the leading ``--``."""

    help: str
    """What it is (shown in the job's documentation)."""

    default: str | None = None
    """Value when absent; ``None`` = required."""

    path: LakePath | None = None
    """For a path argument: the lake location it points at once deployed (the job's default argument)."""

    secret: str | None = None
    """For a secret argument: the platform secret (e.g. :data:`PSEUDONYMIZATION_KEY`) whose ARN it takes once
    deployed; the job's role may read that secret and nothing else."""

    database: str | None = None
    """For a catalog argument: the layer whose Glue database it names once deployed (the job's default
    argument; ``default`` applies where no catalog is deployed)."""


PSEUDONYMIZATION_KEY = "pseudonymization_key"
"""The platform secret holding the HMAC key of personal fields (created by the composition, read by the jobs
that declare it in a :class:`JobArgument`)."""

WAREHOUSE_CREDENTIALS = "warehouse_credentials"
"""The secret with the warehouse's database credentials: on AWS the admin secret Redshift creates and manages
(``manage_admin_password``), which the warehouse load passes to the Redshift Data API (``SecretArn``); none
locally, where the PostgreSQL stand-in's password file is a run argument."""


@dataclass(frozen=True)
class S3Grant:
    """What a job may do below some prefixes of one lake bucket (``prefixes`` empty = the whole bucket)."""

    sid: str
    bucket: str
    prefixes: tuple[str, ...] = ()
    read: bool = True
    write: bool = False
    delete: bool = False
    multipart: bool = True
    """With ``write``: large objects go up in parts (Spark, S3A); False for small state objects written in
    one request (:mod:`lakehouse.objects`)."""


@dataclass(frozen=True)
class JobContract:
    """A job's interface, declared once beside it: its arguments and the S3 prefixes it reads and writes."""

    name: str
    """Job key: the script stem (``bronze_to_silver``)."""

    description: str
    arguments: tuple[JobArgument, ...]
    grants: tuple[S3Grant, ...] = ()
    catalog_layers: tuple[str, ...] = ()
    """Glue databases (by layer) the job reads and adds partitions to."""
    catalog_publish: tuple[str, ...] = ()
    """Glue databases (by layer) whose tables' locations the job switches when it publishes
    (``glue:UpdateTable``; Terraform then leaves those locations to the job)."""

    def __post_init__(self) -> None:
        names = [a.name for a in self.arguments]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate argument names {names}")

    @property
    def argument_names(self) -> list[str]:
        return [a.name for a in self.arguments]

    @property
    def defaults(self) -> dict[str, str]:
        """The optional arguments and their values when absent."""
        return {a.name: a.default for a in self.arguments if a.default is not None}

    @property
    def secrets(self) -> tuple[str, ...]:
        """The platform secrets the job reads (its secret arguments)."""
        return tuple(a.secret for a in self.arguments if a.secret is not None)

    def deployed_arguments(self, bucket_names: Mapping[str, str],
                           database_names: Mapping[str, str] | None = None,
                           secret_arns: Mapping[str, str] | None = None) -> dict[str, str]:
        """``{"--name": "s3://..."}`` for every path argument, with the deployed bucket names;
        ``{"--name": "<database>"}`` for every catalog argument whose layer has a deployed database; the ARN
        of every secret argument whose secret is deployed (``secret_arns``)."""
        database_names = database_names or {}
        secret_arns = secret_arns or {}
        out = {f"--{a.name}": a.path.uri(bucket_names) for a in self.arguments if a.path is not None}
        out.update({f"--{a.name}": database_names[a.database] for a in self.arguments
                    if a.database in database_names})
        out.update({f"--{a.name}": secret_arns[a.secret] for a in self.arguments if a.secret in secret_arns})
        return out

    def argument(self, name: str) -> JobArgument:
        return next(a for a in self.arguments if a.name == name)


# --- arguments and session ------------------------------------------------------------------------------

def resolve_options(argv: list[str], names: list[str], defaults: dict[str, str] | None = None) -> dict[str, str]:
    """Like ``awsglue.utils.getResolvedOptions``: ``--name value`` (or ``--name=value``) for each name.

    Names in ``defaults`` are optional; any other missing name is an error. Unknown arguments are
    ignored, as Glue passes its own (``--job-bookmark-option``, ``--TempDir``...).
    """
    try:  # pragma: no cover - only on AWS Glue
        from awsglue.utils import getResolvedOptions  # type: ignore
        required = [n for n in names if n not in (defaults or {})]
        present = [n for n in names if any(a == f"--{n}" or a.startswith(f"--{n}=") for a in argv)]
        resolved = getResolvedOptions(argv, sorted(set(required) | set(present)))
        return {**(defaults or {}), **resolved}
    except ImportError:
        pass
    values: dict[str, str] = dict(defaults or {})
    wanted = set(names)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            if not eq:
                if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                    value = argv[i + 1]
                    i += 1
                else:
                    value = ""
            if key in wanted:
                values[key] = value
        i += 1
    missing = [n for n in names if n not in values]
    if missing:
        raise SystemExit(f"missing job arguments: {', '.join('--' + m for m in missing)}")
    return values


@dataclass
class JobContext:
    spark: Any
    args: dict[str, str]
    glue_job: Any = None                       # awsglue.job.Job on Glue, else None
    extra: dict[str, Any] = field(default_factory=dict)

    def commit(self) -> None:
        if self.glue_job is not None:  # pragma: no cover - only on AWS Glue
            self.glue_job.commit()


def configure(spark) -> None:
    """Apply :data:`SPARK_CONF` to a session (a Glue session is created by Glue, so it is set at run time)."""
    for key, value in SPARK_CONF.items():
        spark.conf.set(key, value)


def start_job(contract: JobContract, argv: list[str] | None = None) -> JobContext:
    """Parse the contract's arguments and get the session: GlueContext on Glue, a SparkSession elsewhere."""
    argv = list(sys.argv if argv is None else argv)
    args = resolve_options(argv, ["JOB_NAME", *contract.argument_names], {"JOB_NAME": "local", **contract.defaults})
    try:  # pragma: no cover - only on AWS Glue
        from awsglue.context import GlueContext  # type: ignore
        from awsglue.job import Job  # type: ignore
        from pyspark.context import SparkContext
        glue_context = GlueContext(SparkContext.getOrCreate())
        job = Job(glue_context)
        job.init(args["JOB_NAME"], args)
        configure(glue_context.spark_session)
        return JobContext(glue_context.spark_session, args, job)
    except ImportError:
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.appName(args["JOB_NAME"]).getOrCreate()
        configure(spark)
        return JobContext(spark, args)


def _fs_path(spark, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs, path


def load_key(secret_id: str) -> bytes:
    """The bytes of a key held by a Secrets Manager secret (its ARN or name: read with
    ``GetSecretValue``, through whatever endpoint the environment gives boto3), or, for runs without
    Secrets Manager (tests, benchmarks), by a local file (``file:///path``). One clear error otherwise."""
    if not secret_id:
        raise ValueError("no secret given")
    if secret_id.startswith("file://"):
        with open(secret_id[len("file://"):], "rb") as fh:
            return fh.read().strip()
    import boto3

    return boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"].encode("utf-8")


def read_text(spark, uri: str) -> str | None:
    """The text at ``uri``, or None when it does not exist."""
    fs, path = _fs_path(spark, uri)
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        jvm = spark.sparkContext._jvm
        return jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def write_text(spark, uri: str, text: str) -> None:
    """Write (overwrite) ``text`` at ``uri``."""
    fs, path = _fs_path(spark, uri)
    out = fs.create(path, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def list_files(spark, uri: str, suffix: str = "") -> list[str]:
    """Every file below ``uri`` (recursive) whose name ends with ``suffix``, sorted."""
    fs, path = _fs_path(spark, uri)
    if not fs.exists(path):
        return []
    files = []
    it = fs.listFiles(path, True)
    while it.hasNext():
        status = it.next()
        name = status.getPath().toString()
        if name.endswith(suffix):
            files.append(name)
    return sorted(files)


def service_name(contract: JobContract, argv: list[str]) -> str:
    """The run's ``service`` (its metrics' dimension): ``--JOB_NAME`` (Glue passes the deployed job's name;
    so does the local runner), else the contract's name (an EMR step, a test)."""
    return resolve_options(argv, ["JOB_NAME"], {"JOB_NAME": ""})["JOB_NAME"] or contract.name


def run_entrypoint(run, contract: JobContract, argv: list[str] | None = None, *,
                   counts: Callable[[Any], Mapping[str, int]] | None = None):
    """The whole of a job's ``main``: arguments and session, ``run(spark, args)``, then the Glue commit,
    inside :func:`lakehouse.run_log.summarised`: exactly one run summary line is printed at the end, whether
    the run succeeded or raised (the exception then propagates), with ``job`` = the contract's name,
    ``service`` = :func:`service_name`, the run id the job bound, and the record counts ``counts(result)``
    maps the job's result onto (a run that succeeded)."""
    argv = list(sys.argv if argv is None else argv)

    def whole():
        ctx = start_job(contract, argv)
        result = run(ctx.spark, ctx.args)
        ctx.commit()
        return result

    return run_log.summarised(contract.name, service_name(contract, argv), whole, counts)
