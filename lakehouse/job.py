"""The thin part every job entrypoint shares: arguments as Glue passes them, the Spark session, small S3 I/O.

On AWS Glue, ``awsglue`` is importable: arguments come from ``getResolvedOptions`` and the session
from a ``GlueContext`` (with ``Job.init``/``commit`` for bookmarks). Elsewhere (EMR, local
``spark-submit``) the same ``--name value`` arguments are parsed with identical semantics and a
plain ``SparkSession`` is used. Files (manifests, reports) are read and written through the
Hadoop FileSystem of the session, so ``s3://``, ``s3a://`` and ``file://`` all work.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


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


def start_job(names: list[str], defaults: dict[str, str] | None = None, argv: list[str] | None = None) -> JobContext:
    """Parse arguments and get the session: GlueContext on Glue, a SparkSession elsewhere."""
    argv = list(sys.argv if argv is None else argv)
    args = resolve_options(argv, ["JOB_NAME", *names], {"JOB_NAME": "local", **(defaults or {})})
    try:  # pragma: no cover - only on AWS Glue
        from awsglue.context import GlueContext  # type: ignore
        from awsglue.job import Job  # type: ignore
        from pyspark.context import SparkContext
        glue_context = GlueContext(SparkContext.getOrCreate())
        job = Job(glue_context)
        job.init(args["JOB_NAME"], args)
        return JobContext(glue_context.spark_session, args, job)
    except ImportError:
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.appName(args["JOB_NAME"])
                 .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
                 .config("spark.sql.session.timeZone", "UTC")
                 .getOrCreate())
        return JobContext(spark, args)


def _fs_path(spark, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return fs, path


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


def run_entrypoint(run, names: list[str], defaults: dict[str, str] | None = None, argv: list[str] | None = None):
    """The whole of a job's ``main``: arguments and session, ``run(spark, args)``, then the Glue commit."""
    ctx = start_job(names, defaults, argv)
    result = run(ctx.spark, ctx.args)
    ctx.commit()
    return result
