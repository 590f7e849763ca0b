"""One way to talk to the warehouse, wherever it is: :func:`connect` gives a :class:`Warehouse`.

* On AWS (:class:`DataApiSettings`): Amazon Redshift through the Redshift Data API (boto3
  ``redshift-data``): ``ExecuteStatement`` / ``BatchExecuteStatement`` on a Serverless workgroup
  (``WorkgroupName``) or a provisioned cluster (``ClusterIdentifier``), authenticated by a Secrets Manager
  secret (``SecretArn``) or, on a cluster, temporary credentials of a database user (``DbUser``); every
  statement is polled with ``DescribeStatement`` until it finished, failed or the time ran out.
  (``redshift_connector`` would need a network path into the VPC; the Data API needs none.)
* Locally (:class:`PostgresSettings`): the PostgreSQL stand-in (:mod:`local_runtime.services.postgres`)
  through psycopg; ``redshift_connector`` cannot talk to plain PostgreSQL.

The interface is what the load step needs (:mod:`warehouse.load`) and no more: run a statement
(:meth:`Warehouse.execute`), read rows (:meth:`Warehouse.query`), run a list of statements as ONE
transaction (:meth:`Warehouse.run_transaction`: all or nothing), and copy the rows of Parquet folders in S3
into a table (:meth:`Warehouse.copy_parquet`). The SQL given to it is the subset both engines speak the same
way (plain DDL from :mod:`warehouse.schema`, ``INSERT ... SELECT``, ``DELETE``, ``COUNT``, ``CASE``); the
dialect-specific parts (how COPY reads Parquet, the DDL's dialect) live here and in the schema module.

Parquet folders (:class:`ParquetSource`) may carry constant column values: a partition column such as
``month`` lives in the folder names (``month=2024-05/``), not in the files. Redshift's COPY from Parquet
needs the table's columns to be exactly the file's, so for such a folder the Data API path copies into a
temporary landing table with the file's columns (created in the same session by ``CREATE TEMP TABLE ...
AS SELECT <file columns> FROM <table> WHERE 1 = 0``) and inserts from it with the constants added; up to
:data:`SOURCES_PER_BATCH` folders per ``BatchExecuteStatement``. Locally the files are read with boto3 and
pyarrow and streamed with ``COPY ... FROM STDIN``, the constants appended to every row.
"""
from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from lakehouse.objects import s3_client
from queries.kpi import numbered, pyformat, quote_literal
from warehouse.schema import validate_name

__all__ = ["DataApiSettings", "DataApiWarehouse", "ParquetSource", "PostgresSettings", "PostgresWarehouse",
           "Warehouse", "WarehouseError", "connect", "list_parquet", "quote_literal"]

MAX_BATCH = 40
"""``BatchExecuteStatement`` accepts at most 40 statements."""
SOURCES_PER_BATCH = (MAX_BATCH - 2) // 3
"""Partition folders per batch: a landing table, then COPY + INSERT + DELETE per folder, then DROP."""


class WarehouseError(RuntimeError):
    """A statement failed, was aborted or did not finish in time; the message says which and why."""


@dataclass(frozen=True)
class ParquetSource:
    """A folder of Parquet files (``s3://bucket/prefix/``) and constant values of columns not in the files."""

    uri: str
    constants: tuple[tuple[str, str], ...] = ()


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "s3a", "s3n") or not parsed.netloc:
        raise ValueError(f"{uri}: not an s3:// location")
    return parsed.netloc, parsed.path.lstrip("/")


def list_parquet(s3, uri: str) -> list[tuple[str, str, int]]:
    """``(bucket, key, size)`` of every Parquet file below the folder ``uri`` (names starting with ``_`` or
    ``.`` skipped, as Spark and Athena do), sorted by key."""
    bucket, prefix = _split_s3(uri)
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"].rsplit("/", 1)[-1]
            if name.endswith(".parquet") and not name.startswith(("_", ".")):
                out.append((bucket, obj["Key"], obj["Size"]))
    return sorted(out)


class Warehouse(ABC):
    """A connection to the warehouse (use it as a context manager, or call :meth:`close`)."""

    dialect: str
    """``redshift`` or ``postgres``: which DDL of :mod:`warehouse.schema` this warehouse takes."""

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement (committed on its own)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[str | int] = ()) -> list[tuple]:
        """Run one query; its rows. ``params`` are bound by the engine to the positional ``?`` of ``sql``
        (:mod:`queries.kpi`'s form), never formatted into it."""

    @abstractmethod
    def run_transaction(self, statements: Sequence[str],
                        on_statement: Callable[[int], None] | None = None) -> None:
        """Run ``statements`` in order as one transaction: every one of them or none. ``on_statement(i)``
        is called after statement ``i`` ran (where statements run one by one; see the implementations);
        an exception from it rolls everything back."""

    @abstractmethod
    def copy_parquet(self, table: str, columns: Sequence[str], sources: Sequence[ParquetSource]) -> None:
        """Append the rows of every Parquet file of ``sources`` to ``table``: ``columns`` are the files' columns
        in file order, then each source's constants."""

    def close(self) -> None:
        return None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- locally: PostgreSQL ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    database: str
    user: str
    passfile: str = ""
    """A libpq password file (``host:port:database:user:password``); the password is never an argument."""
    connect_timeout: int = 5

    def psycopg_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (the password comes from the password file)."""
        kwargs: dict[str, Any] = {"host": self.host, "port": self.port, "dbname": self.database, "user": self.user,
                                  "connect_timeout": self.connect_timeout}
        if self.passfile:
            kwargs["passfile"] = self.passfile
        return kwargs


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, settings: PostgresSettings, s3=None):
        import psycopg

        self.conn = psycopg.connect(**settings.psycopg_kwargs(), autocommit=True)
        self._s3 = s3

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = s3_client()  # AWS_ENDPOINT_URL (the emulator) is honoured
        return self._s3

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def query(self, sql: str, params: Sequence[str | int] = ()) -> list[tuple]:
        if not params:
            return self.conn.execute(sql).fetchall()
        return self.conn.execute(pyformat(sql), list(params)).fetchall()

    def run_transaction(self, statements: Sequence[str],
                        on_statement: Callable[[int], None] | None = None) -> None:
        with self.conn.transaction():
            for i, statement in enumerate(statements):
                self.conn.execute(statement)
                if on_statement is not None:
                    on_statement(i)

    def copy_parquet(self, table: str, columns: Sequence[str], sources: Sequence[ParquetSource]) -> None:
        import pyarrow.parquet as pq

        file_columns = [validate_name(c) for c in columns]
        for source in sources:
            constant_names = [validate_name(name) for name, _ in source.constants]
            constant_values = tuple(value for _, value in source.constants)
            sql = f"COPY {table} ({', '.join(file_columns + constant_names)}) FROM STDIN"
            for bucket, key, _ in list_parquet(self.s3, source.uri):
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                data = pq.read_table(io.BytesIO(body), columns=file_columns)
                with self.conn.cursor() as cur, cur.copy(sql) as copy:
                    for batch in data.to_batches():
                        values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                        for row in zip(*values):
                            copy.write_row(row + constant_values)

    def close(self) -> None:
        self.conn.close()


# --- on AWS: the Redshift Data API --------------------------------------------------------------------

@dataclass(frozen=True)
class DataApiSettings:
    database: str
    iam_role: str
    """The role Redshift assumes to read gold in COPY (its ARN, or ``default`` for the namespace's default)."""
    workgroup: str = ""
    """Redshift Serverless workgroup name (or ``cluster_identifier`` for a provisioned cluster)."""
    cluster_identifier: str = ""
    secret_arn: str = ""
    """Secrets Manager secret with the database credentials (the managed admin secret or a user's)."""
    db_user: str = ""
    """Provisioned clusters only, instead of ``secret_arn``: temporary credentials of this database user."""
    poll_seconds: float = 1.0
    timeout_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if bool(self.workgroup) == bool(self.cluster_identifier):
            raise ValueError("give exactly one of workgroup (Redshift Serverless) and cluster_identifier")
        if not self.secret_arn and not (self.cluster_identifier and self.db_user):
            raise ValueError("give secret_arn (or, for a provisioned cluster, db_user)")
        if not self.iam_role:
            raise ValueError("give iam_role: the role Redshift assumes to read gold in COPY")


_FINAL = {"FINISHED", "FAILED", "ABORTED"}


class DataApiWarehouse(Warehouse):
    dialect = "redshift"

    def __init__(self, settings: DataApiSettings, client=None, *, sleep: Callable[[float], None] = time.sleep):
        if client is None:
            import boto3

            client = boto3.client("redshift-data")
        self.client = client
        self.settings = settings
        self._sleep = sleep

    def _target(self) -> dict[str, str]:
        s = self.settings
        target = {"Database": s.database}
        if s.workgroup:
            target["WorkgroupName"] = s.workgroup
        else:
            target["ClusterIdentifier"] = s.cluster_identifier
        if s.secret_arn:
            target["SecretArn"] = s.secret_arn
        else:
            target["DbUser"] = s.db_user
        return target

    def _wait(self, statement_id: str, what: str) -> dict:
        deadline = time.monotonic() + self.settings.timeout_seconds
        while True:
            desc = self.client.describe_statement(Id=statement_id)
            status = desc["Status"]
            if status == "FINISHED":
                return desc
            if status in ("FAILED", "ABORTED"):
                failed = ""
                for sub in desc.get("SubStatements") or []:  # a batch: which of its statements failed
                    if sub.get("Status") in ("FAILED", "ABORTED"):
                        failed = f" at statement {sub.get('Id', '?')}: {sub.get('QueryString', '')[:300]}"
                        break
                raise WarehouseError(f"{what} {status.lower()}{failed}: {desc.get('Error', 'no error given')}")
            if time.monotonic() > deadline:
                self.client.cancel_statement(Id=statement_id)
                raise WarehouseError(f"{what} did not finish in {self.settings.timeout_seconds:.0f} s (cancelled)")
            self._sleep(self.settings.poll_seconds)

    def execute(self, sql: str) -> None:
        resp = self.client.execute_statement(Sql=sql, **self._target())
        self._wait(resp["Id"], f"statement {sql[:200]!r}")

    def query(self, sql: str, params: Sequence[str | int] = ()) -> list[tuple]:
        extra = {}
        if params:  # the Data API binds named parameters only (:p1, :p2, ...), each given as text
            sql = numbered(sql)
            extra["Parameters"] = [{"name": f"p{i}", "value": str(v)} for i, v in enumerate(params, start=1)]
        resp = self.client.execute_statement(Sql=sql, **self._target(), **extra)
        desc = self._wait(resp["Id"], f"query {sql[:200]!r}")
        if not desc.get("HasResultSet"):
            return []
        rows: list[tuple] = []
        token = None
        while True:
            page = self.client.get_statement_result(Id=resp["Id"], **({"NextToken": token} if token else {}))
            rows.extend(tuple(_field(f) for f in record) for record in page.get("Records", []))
            token = page.get("NextToken")
            if not token:
                return rows

    def run_transaction(self, statements: Sequence[str],
                        on_statement: Callable[[int], None] | None = None) -> None:
        """One ``BatchExecuteStatement`` (the Data API runs its statements as one transaction). The service
        runs them, so nothing can run between two of them here: ``on_statement(i)`` is called for every
        statement before the batch is submitted (an exception then submits nothing)."""
        statements = list(statements)
        if not 0 < len(statements) <= MAX_BATCH:
            raise ValueError(f"a transaction through the Data API takes 1 to {MAX_BATCH} statements, not "
                             f"{len(statements)}")
        if on_statement is not None:
            for i in range(len(statements)):
                on_statement(i)
        self._batch(statements, f"transaction of {len(statements)} statements")

    def _batch(self, statements: list[str], what: str) -> None:
        if len(statements) == 1:
            resp = self.client.execute_statement(Sql=statements[0], **self._target())
        else:
            resp = self.client.batch_execute_statement(Sqls=statements, **self._target())
        self._wait(resp["Id"], what)

    def copy_statement(self, table: str, uri: str) -> str:
        return (f"COPY {table} FROM {quote_literal(uri)} IAM_ROLE {quote_literal(self.settings.iam_role)} "
                f"FORMAT AS PARQUET")

    def copy_parquet(self, table: str, columns: Sequence[str], sources: Sequence[ParquetSource]) -> None:
        file_columns = ", ".join(validate_name(c) for c in columns)
        plain = [s for s in sources if not s.constants]
        for chunk in _chunks(plain, MAX_BATCH):
            self._batch([self.copy_statement(table, _folder(s.uri)) for s in chunk], f"COPY into {table}")
        with_constants = [s for s in sources if s.constants]
        landing = "warehouse_landing"
        for chunk in _chunks(with_constants, SOURCES_PER_BATCH):
            batch = [f"CREATE TEMP TABLE {landing} AS SELECT {file_columns} FROM {table} WHERE 1 = 0"]
            for source in chunk:
                names = ", ".join(validate_name(n) for n, _ in source.constants)
                values = ", ".join(quote_literal(v) for _, v in source.constants)
                batch += [self.copy_statement(landing, _folder(source.uri)),
                          f"INSERT INTO {table} ({file_columns}, {names}) SELECT {file_columns}, {values} "
                          f"FROM {landing}",
                          f"DELETE FROM {landing}"]
            batch.append(f"DROP TABLE {landing}")
            self._batch(batch, f"COPY into {table} ({len(chunk)} partitions)")


def _folder(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _field(field: dict) -> Any:
    if field.get("isNull"):
        return None
    for key in ("longValue", "doubleValue", "booleanValue", "stringValue", "blobValue"):
        if key in field:
            return field[key]
    raise WarehouseError(f"unexpected field in a Data API result: {field}")


def connect(settings: PostgresSettings | DataApiSettings, *, s3=None, redshift_data=None) -> Warehouse:
    """The warehouse the settings name: PostgreSQL (psycopg; ``s3`` reads the Parquet to copy) or Redshift
    through the Data API (``redshift_data``: a boto3 ``redshift-data`` client, default a new one)."""
    if isinstance(settings, PostgresSettings):
        return PostgresWarehouse(settings, s3)
    if isinstance(settings, DataApiSettings):
        return DataApiWarehouse(settings, redshift_data)
    raise TypeError(f"unknown warehouse settings {type(settings).__name__}")
