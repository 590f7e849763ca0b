"""The AWS calls each component of a synthesized stack makes, as IAM requests (security/policy_sim.py).

Derived from the definitions the components themselves use, never copied from the policies under test:

* the ingest function: the key layout it writes (``data_contracts.layout``: ``bronze_partition_prefix``,
  ``stream_object_name``, ``stream_quarantine_key``) for every contract of ``data_contracts.contracts``,
  its environment (log group, failure queue, stream) as synthesized;
* the Glue jobs: their deployed arguments (the synthesized ``default_arguments``: script, shared code,
  ``--TempDir``, the path arguments of their ``CONTRACT``), the table locations (``lakehouse.tables``),
  the report and manifest names, and what each job does at each path (read, a Spark write, a
  single-object write through the Hadoop FileSystem, a boto3 read): :data:`JOB_IO`, one entry per job,
  written from the job's code; the warehouse load's Redshift Data API calls on the synthesized workgroup or
  cluster (``--target redshift-data``) with the secret its ``--secret_arn`` names;
* the EMR backfill: the synthesized cluster's log URI and step arguments, and the backfill's own key
  layout (``layout.backfill_tmp_prefix``, ``backfill_object_name``);
* the crawler: its synthesized S3 targets, database and security configuration;
* the MSK ingest function: the MSK key layout it writes (``layout.msk_object_name``, ``msk_quarantine_prefix``) for
  every contract, the synthesized cluster, topic (``data_contracts.topics``) and consumer group its mapping
  polls, and the network interfaces Lambda places in the synthesized subnets for the function and its poller;
* the query API's function: the synthesized workgroup (its name and results location), the gold database
  and the gold table locations (``lakehouse.tables``, and the published copies under
  ``lakehouse.gold_publication.RUNS_PREFIX``): Athena reads the catalog and S3 and writes the results with the
  caller's credentials; its authorizer: the synthesized token secret.

How a kind of I/O turns into S3 calls (:class:`S3Calls`): a read lists its prefix and gets objects; a Spark
write (any mode) lists the output, puts task files under ``_temporary/``, copies them into place (get +
put) and deletes them, may abort a multipart upload, and with mode ``overwrite`` deletes the previous
files; a single-object write through the Hadoop FileSystem (S3A) puts the object (multipart when large)
and deletes the now-unneeded parent "directory" markers below the area it writes; every S3 client asks
for each bucket's region.

``DENIED`` lists calls a component must NOT be able to make (the issue's examples: the ingest function
writing the landing zone or the backfill's objects, or deleting anything).
"""
from __future__ import annotations

import fnmatch

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from data_contracts import layout, topics
from data_contracts.contracts import REGISTRY
from emr_steps import backfill_erp
from glue_jobs import WORKFLOW
from glue_jobs import bronze_to_silver as b2s
from glue_jobs import silver_to_gold as s2g
from glue_jobs import warehouse_load
from lakehouse import gold_publication as publication
from lakehouse import silver_journal
from lakehouse.gold_tables import DIM_CUSTOMER
from lakehouse.quality import report_path
from lakehouse.tables import all_tables
from modules.quicksight_props import SERVICE_ROLE
from security.policy_sim import EXTERNAL_ROLE, Request, StackResolver, s3_bucket_arn, s3_object_arn, s3_uri

DAY = "2026-12-02"
SHARD = "shardId-000000000000"
RUN = "20261202T000000Z"
EXPORT = "customer_2026-12-01"
PART = "part-00000-0000.snappy.parquet"

SILVER = [t for t in all_tables() if t.layer == "silver"]
GOLD = [t for t in all_tables() if t.layer == "gold"]

INGEST_ROLE = "/ingest_function/role"
MSK_INGEST_ROLE = "/ingest_msk_function/role"
KAFKA_TOPICS_ROLE = "/kafka_topics/function/role"
CRAWLER_ROLE = "/catalog/crawler_role"
EMR_INSTANCE_ROLE = "/emr/instance_role"
EMR_SERVICE_ROLE = "/emr/service_role"
QUERY_ROLE = "/query_function/role"
AUTHORIZER_ROLE = "/api_authorizer/role"
FLOW_LOG_ROLE = "/network/flow_log_role"
COPY_ROLE = "/redshift/copy_role"
QUICKSIGHT_VPC_ROLE = "/quicksight/vpc_role"
QUICKSIGHT_SERVICE_ROLE = EXTERNAL_ROLE + SERVICE_ROLE
"""QuickSight's own service role (the account's, not the stack's): the stack adds an inline policy to it."""
EXTERNAL_ROLE_PATHS = {QUICKSIGHT_SERVICE_ROLE: f"service-role/{SERVICE_ROLE}"}


def glue_role(job: str) -> str:
    return f"/glue_jobs/{job}_role"


@dataclass
class S3Calls:
    """The S3 requests of one component, built by kind of I/O (see the module docstring)."""

    why: str
    out: list[Request] = field(default_factory=list)

    def _obj(self, action: str, uri: str, why: str = "") -> None:
        bucket, key = s3_uri(uri)
        self.out.append(Request(action, s3_object_arn(bucket, key), why=why or self.why))

    def location(self, uri: str) -> None:
        bucket, _ = s3_uri(uri)
        self.out.append(Request("s3:GetBucketLocation", s3_bucket_arn(bucket), why=f"{self.why}: bucket region"))

    def list(self, uri: str, why: str = "") -> None:
        bucket, prefix = s3_uri(uri)
        self.out.append(Request("s3:ListBucket", s3_bucket_arn(bucket), {"s3:prefix": prefix}, why=why or self.why))

    def get(self, uri: str, why: str = "") -> None:
        self._obj("s3:GetObject", uri, why)

    def put(self, uri: str, why: str = "") -> None:
        self._obj("s3:PutObject", uri, why)

    def delete(self, uri: str, why: str = "") -> None:
        self._obj("s3:DeleteObject", uri, why)

    def read(self, folder: str, name: str, why: str = "") -> None:
        """List a folder (recursively) and read one of its objects."""
        self.location(folder)
        self.list(folder.rstrip("/") + "/", why)
        self.get(f"{folder.rstrip('/')}/{name}", why)

    def spark_write(self, folder: str, *, overwrite: bool, why: str = "") -> None:
        """A Spark DataFrame write to ``folder`` through the Hadoop FileOutputCommitter."""
        why = why or self.why
        f = folder.rstrip("/")
        temp = f"{f}/_temporary/0/_temporary/attempt_0/{PART}"
        bucket, key = s3_uri(f)
        parts = key.split("/")
        for i in range(1, len(parts) + 1):  # S3A mkdirs: HEAD of each parent until one exists
            self.get(f"s3://{bucket}/" + "/".join(parts[:i]), f"{why}: S3A mkdirs probes the parent path")
        self.location(f)
        self.list(f + "/", why)
        self.put(temp, f"{why}: task output")
        self.get(temp, f"{why}: commit copies the task output into place")
        self.put(f"{f}/{PART}", f"{why}: committed file")
        self.put(f"{f}/_SUCCESS", f"{why}: success marker")
        self._obj("s3:AbortMultipartUpload", f"{f}/{PART}", f"{why}: a failed multipart upload is aborted")
        self.delete(temp, f"{why}: commit removes _temporary")
        if overwrite:
            self.delete(f"{f}/part-00000-previous.snappy.parquet", f"{why}: mode overwrite removes the previous files")

    def hadoop_put(self, uri: str, area: str, why: str = "") -> None:
        """One object written through the Hadoop FileSystem (S3A) in the area ``area`` of its writer."""
        why = why or self.why
        self.location(uri)
        self.get(uri, f"{why}: S3A create() checks the path (HEAD)")
        self.list(uri + "/", f"{why}: S3A create() checks the path is not a directory")
        self.put(uri, why)
        self._obj("s3:AbortMultipartUpload", uri, f"{why}: a failed multipart upload is aborted")
        parent = uri.rsplit("/", 1)[0]
        while len(parent) >= len(area.rstrip("/")) and parent.startswith(area.rstrip("/")):
            self.delete(parent + "/", f"{why}: S3A removes the parent directory marker")
            parent = parent.rsplit("/", 1)[0]

    def delete_tree(self, folder: str, why: str = "") -> None:
        self.list(folder.rstrip("/") + "/", why)
        self.delete(f"{folder.rstrip('/')}/{PART}", why)

    def rename(self, src: str, dst: str, why: str = "") -> None:
        """S3A rename: copy (get + put) then delete the source."""
        self.get(src, why)
        self.put(dst, why)
        self.delete(src, why)


KNOWN_GAPS: dict[tuple[str, str, str], str] = {}
"""Missing grants found by this test in code another part of the work owns: (role, action, resource glob) ->
what is wrong and the exact fix. :func:`tests.synth.test_iam_policy_sim.test_known_gaps_are_still_open` fails once a gap is fixed, so the
entry is removed then."""


def known_gap(role: str, req: Request) -> str | None:
    """The resource glob of the known gap a refused request falls under, if any."""
    for (gap_role, action, glob) in KNOWN_GAPS:
        if role == gap_role and req.action == action and fnmatch.fnmatchcase(req.resource, glob):
            return glob
    return None


def marker_cleanup(req: Request) -> bool:
    """A delete of a "directory" marker (a key ending in ``/``): after each write S3A deletes every parent
    marker up to the bucket root in one bulk delete and ignores the keys it may not delete, so a refused
    marker above a job's prefixes costs nothing (the markers below them are declared and granted)."""
    return req.action == "s3:DeleteObject" and req.resource.endswith("/")


# --- what each Spark job does at each of its paths (from its code) ---------------------------------------

def _bronze_to_silver(io: S3Calls, a: dict[str, str]) -> None:
    state, silver = a["--state_path"], a["--silver_path"]
    journal = state + silver_journal.JOURNAL_NAME
    io.get(journal, "looks for the journal of a crashed run (objects.get)")
    io.get(state + b2s.MANIFEST_NAME, "reads the manifest and its version (objects.get)")
    name = layout.stream_object_name(SHARD, 1, 2)
    bronze_object = b2s.quarantine_object(layout.bronze_partition_prefix("erp", "policy", DAY) + name)
    for source, entity in REGISTRY:
        io.list(a["--bronze_path"] + layout.entity_prefix(source, entity),
                "lists the bronze objects of each contract with their versions (objects.list_versions)")
        io.read(a["--bronze_path"] + layout.entity_prefix(source, entity), f"ingest_date={DAY}/{name}",
                "reads the new bronze objects of each contract")
        quarantine = a["--quarantine_path"] + f"source={source}/entity={entity}"
        io.spark_write(f"{quarantine}/{b2s.QUARANTINE_OBJECT}={bronze_object}", overwrite=True,
                       why="rule failures, one folder per bronze object: dynamic partition overwrite")
        io.delete_tree(f"{quarantine}/{b2s.QUARANTINE_OBJECT}={bronze_object}",
                       "removes the folder of an object without quarantined rows any more")
    staging = silver_journal.staging_root(silver, RUN)
    io.delete_tree(staging, "clears what an earlier attempt of the run staged")
    for spec in SILVER:
        table = silver + spec.location
        io.read(table, f"month=2026-12/{PART}", "reads the stored rows of each silver table")
        tombs = silver + f"{silver_journal.TOMBSTONES}/{spec.location}"
        io.read(tombs, f"run_id={RUN}/{PART}", "reads the tombstones")
        staged = f"{staging}/{spec.location}/month=2026-12"
        io.spark_write(staged, overwrite=True, why="stages the new content of each touched partition")
        io.spark_write(f"{staging}/{silver_journal.TOMBSTONES}/{spec.location}", overwrite=True,
                       why="stages the run's tombstones")
        io.rename(f"{staged}/{PART}", f"{table}month=2026-12/{PART}", "the swap moves a staged file in")
        io.delete_tree(f"{table}month=2026-12", "the swap deletes the partition's previous files (or the "
                       "partition, when it became empty)")
        io.rename(f"{staging}/{silver_journal.TOMBSTONES}/{spec.location}/{PART}", f"{tombs}run_id={RUN}/{PART}",
                  "the swap moves the run's tombstones in")
    io.put(journal, "writes the journal (create only: one run swaps at a time)")
    io.put(state + b2s.MANIFEST_NAME, "commits the manifest (conditional write)")
    io.delete(journal, "removes the journal once the swap is finished")
    io.hadoop_put(report_path(a["--reports_path"], b2s.JOB_NAME, RUN), a["--reports_path"],
                  "writes the data-quality report (write_text)")


def _silver_to_gold(io: S3Calls, a: dict[str, str]) -> None:
    record = a["--state_path"] + publication.RECORD_NAME
    io.get(record, "reads the publication record (objects.get)")
    for spec in SILVER:
        io.read(a["--silver_path"] + spec.location, f"month=2026-12/{PART}", "reads every silver table")
    customers = next(spec for spec in SILVER if spec.name == "erp_customer")
    io.read(a["--silver_path"] + f"{silver_journal.TOMBSTONES}/{customers.location}", f"run_id={RUN}/{PART}",
            "reads the customers silver deleted (their policies are no orphans)")
    runs = a["--gold_path"] + publication.RUNS_PREFIX
    published, new, old = (f"{runs}g{g:06d}-{RUN}-0a1b2c3d/" for g in (2, 3, 1))
    io.read(published + DIM_CUSTOMER.location, PART, "reads the published dim_customer (type 2 history)")
    for spec in GOLD:
        io.spark_write(new + spec.location, overwrite=True, why="writes each table of the run's own copy")
    io.put(record, "records the copy as pending, then as published (conditional writes)")
    io.list(runs, "lists the kept copies")
    io.delete_tree(old, "deletes the copies no longer kept")
    io.hadoop_put(report_path(a["--reports_path"], s2g.JOB, RUN), a["--reports_path"],
                  "writes the data-quality report (write_text)")


def _warehouse_load(io: S3Calls, a: dict[str, str]) -> None:
    gold = a["--gold_path"]
    io.get(a["--state_path"] + publication.RECORD_NAME, "reads the publication record (objects.get)")
    published = f"{gold}{publication.RUNS_PREFIX}g{2:06d}-{RUN}-0a1b2c3d/"
    for spec in GOLD:
        io.read(published + spec.location, f"month=2026-12/{PART}" if spec.partition_keys else PART,
                "lists each table's Parquet files in the published copy (list_parquet) and reads their footers "
                "(ranged GetObject); locally also their rows (COPY FROM STDIN)")


JOB_IO: dict[str, Callable[[S3Calls, dict[str, str]], None]] = {
    "bronze_to_silver": _bronze_to_silver,
    "silver_to_gold": _silver_to_gold,
    warehouse_load.CONTRACT.name: _warehouse_load,
}
"""Job key -> its S3 I/O, given its deployed ``default_arguments``. Keep in step with the job's code."""


def _backfill(io: S3Calls, bronze_root: str, entity: str) -> None:
    tmp = bronze_root + layout.backfill_tmp_prefix(backfill_erp.SOURCE, entity, EXPORT)
    dest = bronze_root + layout.bronze_partition_prefix(backfill_erp.SOURCE, entity, DAY)
    io.delete_tree(tmp, "clears the export's scratch folder")
    io.spark_write(tmp, overwrite=True, why="writes the export's lines: mode('overwrite').text(tmp)")
    io.list(dest, "lists the export's previous objects")
    io.delete(dest + layout.backfill_object_name(EXPORT, 1), "removes the export's previous objects")
    io.rename(f"{tmp}part=0/{PART}", dest + layout.backfill_object_name(EXPORT, 0),
              "moves each part to its bronze key")


# --- one stack ---------------------------------------------------------------------------------------------

@dataclass
class StackCalls:
    """Requests per role (by construct path suffix), what must be allowed and what must be denied."""

    allowed: dict[str, list[Request]] = field(default_factory=dict)
    denied: dict[str, list[Request]] = field(default_factory=dict)
    key_calls: list[Request] = field(default_factory=list)
    """KMS requests also checked against the key policy (principal and context filled in)."""


def stack_calls(r: StackResolver) -> StackCalls:
    """The calls of every component present in one synthesized stack."""
    out = StackCalls()
    region, account, partition = r.region, r.account, r.partition
    key_name = next(iter(r.doc["resource"].get("aws_kms_key", {})), None)
    key_arn = r.attribute("aws_kms_key", key_name, "arn") if key_name else ""
    roles = {res["//"]["metadata"]["path"]: (name, r.attribute("aws_iam_role", name, "arn"))
             for name, res in r.doc["resource"].get("aws_iam_role", {}).items()}

    external = {key for key in r.role_policies() if key.startswith(EXTERNAL_ROLE)}

    def role_arn(suffix: str) -> str:
        if suffix in external:
            return f"arn:{partition}:iam::{account}:role/{EXTERNAL_ROLE_PATHS[suffix]}"
        return next(arn for path, (_, arn) in roles.items() if path.endswith(suffix))

    def has(suffix: str) -> bool:
        return suffix in external or any(path.endswith(suffix) for path in roles)

    def bucket(layer: str) -> str:
        name, _ = r.by_path("aws_s3_bucket", f"/lake/{layer}")
        return f"s3://{r.attribute('aws_s3_bucket', name, 'bucket')}/"

    def kms(role: str, actions: Iterable[str], via: str | None, why: str, **extra) -> list[Request]:
        reqs = []
        for action in actions:
            ctx = {"kms:CallerAccount": account, "aws:PrincipalArn": role_arn(role), **extra}
            if via:
                ctx["kms:ViaService"] = f"{via}.{region}.amazonaws.com"
            reqs.append(Request(action, key_arn, ctx, principal=role_arn(role), why=why))
        out.key_calls.extend(reqs)
        return reqs

    def logs(group: str, actions: Iterable[str], stream: str, why: str) -> list[Request]:
        arn = f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
        return [Request(a, arn if a in ("logs:CreateLogGroup", "logs:AssociateKmsKey") else
                        f"{arn}:log-stream:{stream}", why=why) for a in actions]

    if has(INGEST_ROLE):
        out.allowed[INGEST_ROLE], out.denied[INGEST_ROLE] = _ingest(r, bucket, kms, logs)
    if has(MSK_INGEST_ROLE):
        out.allowed[MSK_INGEST_ROLE], out.denied[MSK_INGEST_ROLE] = _msk_ingest(r, bucket, kms, logs)
    if has(KAFKA_TOPICS_ROLE):
        out.allowed[KAFKA_TOPICS_ROLE], out.denied[KAFKA_TOPICS_ROLE] = _kafka_topics(r, kms, logs)
    if has(CRAWLER_ROLE):
        crawler_role_name = role_arn(CRAWLER_ROLE).rsplit("/", 1)[1]
        out.allowed[CRAWLER_ROLE] = _crawler(r, kms, logs, role_name=crawler_role_name)
    for job in WORKFLOW:
        if has(glue_role(job.name)):
            out.allowed[glue_role(job.name)], out.denied[glue_role(job.name)] = _glue_job(r, job, bucket, kms, logs)
    if has(QUERY_ROLE):
        out.allowed[QUERY_ROLE], out.denied[QUERY_ROLE] = _query_function(r, bucket, kms, logs)
    if has(AUTHORIZER_ROLE):
        out.allowed[AUTHORIZER_ROLE], out.denied[AUTHORIZER_ROLE] = _authorizer(r, bucket, kms, logs)
    if has(FLOW_LOG_ROLE):
        out.allowed[FLOW_LOG_ROLE], out.denied[FLOW_LOG_ROLE] = _flow_log(r, logs)
    if has(COPY_ROLE):
        out.allowed[COPY_ROLE], out.denied[COPY_ROLE] = _redshift_copy(r, bucket, kms)
    if has(QUICKSIGHT_VPC_ROLE):
        out.allowed[QUICKSIGHT_VPC_ROLE], out.denied[QUICKSIGHT_VPC_ROLE] = _quicksight_vpc(r)
    if has(QUICKSIGHT_SERVICE_ROLE):
        out.allowed[QUICKSIGHT_SERVICE_ROLE], out.denied[QUICKSIGHT_SERVICE_ROLE] = _quicksight_service(r, bucket, kms)
    if has(EMR_INSTANCE_ROLE):
        out.allowed[EMR_INSTANCE_ROLE], out.denied[EMR_INSTANCE_ROLE] = _emr_instance(r, bucket, kms)
        service = [
            Request("iam:PassRole", role_arn(EMR_INSTANCE_ROLE), {"iam:PassedToService": "ec2.amazonaws.com"},
                    why="EMR passes the instance role to EC2"),
            *kms(EMR_SERVICE_ROLE, ("kms:CreateGrant",), "ec2", "EC2 encrypts the nodes' EBS volumes",
                 **{"kms:GrantIsForAWSResource": True}),
            *kms(EMR_SERVICE_ROLE, ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                                    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"),
                 "ec2", "EBS volume encryption"),
        ]
        out.allowed[EMR_SERVICE_ROLE] = service
        out.denied[EMR_SERVICE_ROLE] = [
            Request("iam:PassRole", role_arn(EMR_INSTANCE_ROLE), {"iam:PassedToService": "lambda.amazonaws.com"},
                    why="the instance role goes to EC2 only"),
            Request("kms:CreateGrant", key_arn, {"kms:GrantIsForAWSResource": False},
                    why="no grant for anything but an AWS resource"),
        ]
    return out


def _ingest(r, bucket, kms, logs) -> tuple[list[Request], list[Request]]:
    _, group = r.by_path("aws_cloudwatch_log_group", "/ingest_function/log_group")
    queue_name, _ = r.by_path("aws_sqs_queue", "/ingest_function/failure_queue")
    stream_name, _ = r.by_path("aws_kinesis_stream", "/ingest_stream/stream")
    bronze, quarantine = bucket("bronze"), bucket("quarantine")
    io = S3Calls("ingest: stream batch objects (data_contracts.layout)")
    shard_prefix = f"{layout.STREAM_OBJECT_PREFIX}{SHARD}-"
    for source, entity in REGISTRY:
        partition = layout.bronze_partition_prefix(source, entity, DAY)
        io.put(bronze + partition + layout.stream_object_name(SHARD, 100, 200), "ingest: puts a batch's bronze object")
        io.list(bronze + partition + shard_prefix, "ingest: lists its shard's objects of the day")
    qkey = layout.stream_quarantine_key(DAY, SHARD, 100, 200)
    io.put(quarantine + qkey, "ingest: puts a batch's quarantine object")
    io.list(quarantine + qkey[: qkey.index(shard_prefix) + len(shard_prefix)], "ingest: lists its shard's quarantine")
    allowed = [
        *io.out,
        *kms(INGEST_ROLE, ("kms:GenerateDataKey",), "s3", "SSE-KMS puts"),
        *kms(INGEST_ROLE, ("kms:Decrypt",), "lambda", "the function's environment is encrypted with the key"),
        Request("sqs:SendMessage", r.attribute("aws_sqs_queue", queue_name, "arn"),
                why="failed batches go to the failure queue (on-failure destination)"),
        *logs(r.resolve(group["name"]), ("logs:CreateLogStream", "logs:PutLogEvents"), "2026/12/02/[$LATEST]0",
              "the function's log lines"),
        Request("xray:PutTraceSegments", "*", why="active tracing"),
        Request("xray:PutTelemetryRecords", "*", why="active tracing"),
        *(Request(a, r.attribute("aws_kinesis_stream", stream_name, "arn"), why="the event source mapping polls")
          for a in ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                    "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard")),
    ]
    bad = S3Calls("ingest must not")
    stream_key = bronze + layout.bronze_partition_prefix("erp", "policy", DAY) + layout.stream_object_name(SHARD, 1, 2)
    bad.put(bronze + layout.landing_prefix("policy") + "policy_2026-12-01.csv", "write the landing zone")
    bad.put(bronze + layout.bronze_partition_prefix("erp", "customer", DAY) + layout.backfill_object_name(EXPORT, 0),
            "overwrite the backfill's objects")
    bad.put(bronze + layout.document_key("erp", "claims/CLM-1/note.txt"), "write the documents")
    bad.put(quarantine + b2s.SILVER_QUARANTINE.prefix + "run_id=x/part-0.json", "write the silver quarantine")
    bad.delete(stream_key, "delete a bronze object")
    bad.delete(quarantine + qkey, "delete a quarantine object")
    bad.get(stream_key, "read bronze")
    bad.list(bronze + layout.LANDING_PREFIX, "list the landing zone")
    bad.list(bronze + layout.bronze_partition_prefix("erp", "customer", DAY), "list a whole partition")
    bad.out.append(Request("s3:ListBucket", s3_bucket_arn(s3_uri(bronze)[0]), why="list the whole bucket"))
    return allowed, bad.out


def _crawler(r, kms, logs, role_name: str) -> list[Request]:
    _, crawler = r.by_path("aws_glue_crawler", "/catalog/crawler")
    io = S3Calls("crawler: reads its S3 targets")
    for target in crawler["s3_target"]:
        io.read(r.resolve(target["path"]), f"x/{PART}")
    db = r.resolve(crawler["database_name"])
    glue = f"arn:{r.partition}:glue:{r.region}:{r.account}"
    security = r.resolve(crawler["security_configuration"])
    return [
        *io.out,
        *(Request(a, res, why="crawler: catalogs bronze tables and partitions") for a, res in (
            ("glue:GetDatabase", f"{glue}:catalog"), ("glue:GetDatabase", f"{glue}:database/{db}"),
            ("glue:CreateTable", f"{glue}:table/{db}/source_erp"), ("glue:UpdateTable", f"{glue}:table/{db}/source_erp"),
            ("glue:BatchCreatePartition", f"{glue}:table/{db}/source_erp"))),
        *logs(f"/aws-glue/crawlers-role/{role_name}-{security}",
              ("logs:CreateLogGroup", "logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"),
              crawler["name"], "crawler logs, encrypted by its security configuration"),
        *kms(CRAWLER_ROLE, ("kms:Decrypt",), "s3", "reads SSE-KMS objects"),
    ]


def _glue_job(r, job, bucket, kms, logs) -> tuple[list[Request], list[Request]]:
    _, res = r.by_path("aws_glue_job", f"/glue_jobs/{job.name}_job")
    args = {k: r.resolve(v) for k, v in res["default_arguments"].items()}
    io = S3Calls(f"{job.name}")
    io.get(r.resolve(res["command"]["script_location"]), "Glue fetches the job script")
    io.get(args["--extra-py-files"], "Glue fetches the shared code (--extra-py-files)")
    temp = args["--TempDir"]
    io.spark_write(temp, overwrite=True, why="Glue's --TempDir")
    if "--spark-event-logs-path" in args:
        io.hadoop_put(args["--spark-event-logs-path"] + "eventlog", args["--spark-event-logs-path"], "Spark UI logs")
    JOB_IO[job.name](io, args)
    glue = f"arn:{r.partition}:glue:{r.region}:{r.account}"
    catalog = []
    for layer in job.catalog_layers:
        db_name, _ = r.by_path("aws_glue_catalog_database", f"/catalog/{layer}_database")
        db = r.attribute("aws_glue_catalog_database", db_name, "name")
        catalog += [Request("glue:GetDatabase", f"{glue}:catalog", why=f"catalog: reads {layer}"),
                    Request("glue:GetDatabase", f"{glue}:database/{db}", why=f"catalog: reads {layer}"),
                    Request("glue:GetTable", f"{glue}:table/{db}/t", why=f"catalog: reads {layer} tables"),
                    Request("glue:BatchCreatePartition", f"{glue}:table/{db}/t",
                            why=f"catalog: adds {layer} partitions (JobContract.catalog_layers)")]
    for layer in job.catalog_publish:
        db_name, _ = r.by_path("aws_glue_catalog_database", f"/catalog/{layer}_database")
        db = r.attribute("aws_glue_catalog_database", db_name, "name")
        assert args.get("--gold_database") == db, f"{job.name} publishes {layer} but is not given its database"
        catalog += [Request(action, f"{glue}:table/{db}/t",
                            why=f"publication: switches the {layer} tables' locations (JobContract.catalog_publish)")
                    for action in ("glue:GetTable", "glue:UpdateTable")]
    group = args["--continuous-log-logGroup"]
    log_calls = [req for g in (group, f"{group}/error", f"{group}/output")
                 for req in logs(g, ("logs:CreateLogGroup", "logs:AssociateKmsKey", "logs:CreateLogStream",
                                     "logs:PutLogEvents"), f"{job.name}-jr_0",
                                 "job logs (continuous and Glue 5 real-time); Glue associates the security "
                                 "configuration's key with the group")]
    secrets = []
    given = set()  # the secrets the deployment gives the job (the warehouse credentials only where Redshift is)
    for argument in job.arguments:
        if argument.secret is not None and f"--{argument.name}" in args:
            given.add(args[f"--{argument.name}"])
            secrets += [Request("secretsmanager:GetSecretValue", args[f"--{argument.name}"],
                                why=f"reads the {argument.secret} (--{argument.name})"),
                        *kms(glue_role(job.name), ("kms:Decrypt",), "secretsmanager",
                             f"Secrets Manager decrypts the {argument.secret}")]
    data_api, data_api_denied = _data_api(r, args) if args.get("--target") == "redshift-data" else ([], [])
    allowed = [
        *io.out, *catalog, *log_calls, *secrets, *data_api,
        Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Glue"}, why="--enable-metrics"),
        *kms(glue_role(job.name), ("kms:GenerateDataKey", "kms:Decrypt"), "s3", "SSE-KMS objects"),
        *kms(glue_role(job.name), ("kms:Encrypt", "kms:Decrypt"), None, "client-side encrypted job bookmarks"),
    ]
    bad = S3Calls(f"{job.name} must not")
    written = {grant.bucket for grant in job.grants if grant.write}  # the layers its contract writes
    for layer in ("bronze", "silver", "gold"):
        if layer not in written:
            bad.put(bucket(layer) + "x/part-0.parquet", f"write {layer}")
    bad.put(bucket("artifacts") + "glue/scripts/other.py", "replace job code")
    bad.put(bucket("bronze") + layout.landing_prefix("policy") + "x.csv", "write the landing zone")
    if job.name == warehouse_load.CONTRACT.name:
        bad.get(bucket("gold") + GOLD[0].location + PART, "read gold outside the published copies")
        bad.get(bucket("silver") + "erp/policy/" + PART, "read silver")
        bad.delete(f"{bucket('gold')}{publication.RUNS_PREFIX}x/{PART}", "delete a published copy")
    forbidden = [*bad.out, *data_api_denied]
    for name in r.doc.get("resource", {}).get("aws_secretsmanager_secret", {}):  # only the secrets it is given
        arn = r.attribute("aws_secretsmanager_secret", name, "arn")
        if arn not in given:
            forbidden.append(Request("secretsmanager:GetSecretValue", arn,
                                     why=f"{job.name} must not read the platform's other secrets"))
    return allowed, forbidden


GLUE_SESSION = "AROAEXAMPLEGLUEJOBROLE:GlueJobRunnerSession"
"""``aws:userid`` of a Glue job's role session (role id : session name)."""


def _data_api(r, args: dict[str, str]) -> tuple[list[Request], list[Request]]:
    """The warehouse load through the Redshift Data API (warehouse.connection.DataApiWarehouse): statements and
    batches on the deployed workgroup (or cluster), then polling and reading its own statements."""
    p, region, account = r.partition, r.region, r.account
    if args.get("--workgroup"):
        (target,) = [r.attribute("aws_redshiftserverless_workgroup", name, "arn") for name, res in
                     r.doc["resource"].get("aws_redshiftserverless_workgroup", {}).items()
                     if r.resolve(res["workgroup_name"]) == args["--workgroup"]]
        other = f"arn:{p}:redshift-serverless:{region}:{account}:workgroup/00000000-0000-4000-9000-000000000000"
    else:
        target = f"arn:{p}:redshift:{region}:{account}:cluster:{args['--cluster_identifier']}"
        other = f"arn:{p}:redshift:{region}:{account}:cluster:another-cluster"
    mine = {"redshift-data:statement-owner-iam-userid": GLUE_SESSION, "aws:userid": GLUE_SESSION}
    theirs = {"redshift-data:statement-owner-iam-userid": "AROAEXAMPLEOTHERROLE:someone", "aws:userid": GLUE_SESSION}
    allowed = [
        Request("redshift-data:ExecuteStatement", target, why="DDL, queries and counts (Warehouse.execute/query)"),
        Request("redshift-data:BatchExecuteStatement", target,
                why="one transaction: staging, the COPY batches, the swap (Warehouse.run_transaction)"),
        *(Request(action, "*", mine, why=f"{action.split(':')[1]} of its own statements")
          for action in ("redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
                         "redshift-data:CancelStatement")),
    ]
    denied = [
        Request("redshift-data:ExecuteStatement", other, why="run SQL on another warehouse"),
        Request("redshift-data:DescribeStatement", "*", theirs, why="follow another principal's statements"),
        Request("redshift-data:GetStatementResult", "*", theirs, why="read another principal's results"),
        Request("redshift-data:GetStatementResult", "*", {"aws:userid": GLUE_SESSION},
                why="a statement whose owner is not known"),
    ]
    return allowed, denied


def _emr_instance(r, bucket, kms) -> tuple[list[Request], list[Request]]:
    _, cluster = r.by_path("aws_emr_cluster", "/emr/cluster")
    io = S3Calls("EMR backfill")
    log_uri = r.resolve(cluster["log_uri"])
    io.put(log_uri + "j-0/node/i-0/applications/spark/stderr.gz", "EMR's log pusher ships the nodes' logs")
    io._obj("s3:AbortMultipartUpload", log_uri + "j-0/steps/s-0/stderr.gz", "EMR's log pusher aborts a failed upload")
    for step in cluster["step"]:
        argv = [r.resolve(a) for a in step["hadoop_jar_step"][0]["args"]]
        io.get(argv[argv.index("--py-files") + 1], "the step's shared code (--py-files)")
        io.get(next(a for a in argv if a.endswith(".py")), "the step script")
        entity = argv[argv.index("--entity") + 1]
        io.read(argv[argv.index("--input") + 1], "export.csv", "reads the ERP export")
        _backfill(io, argv[argv.index("--bronze_path") + 1], entity)
    allowed = [
        *io.out,
        *kms(EMR_INSTANCE_ROLE, ("kms:GenerateDataKey", "kms:Decrypt"), "s3", "SSE-KMS objects"),
        *kms(EMR_INSTANCE_ROLE, ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"), None,
             "local-disk encryption keys requested by the nodes"),
    ]
    bad = S3Calls("EMR backfill must not")
    bad.put(bucket("bronze") + layout.bronze_partition_prefix("susep", "market_statistics", DAY) + "x.jsonl",
            "write another source's bronze")
    bad.put(bucket("bronze") + layout.landing_prefix("policy") + "x.csv", "write the landing zone")
    bad.put(bucket("silver") + "erp/policy/x.parquet", "write silver")
    return allowed, bad.out


def _function_basics(r, kms, logs, role: str, construct: str) -> list[Request]:
    """What every PythonFunction does: its log lines, its failure queue, traces, its encrypted environment."""
    _, group = r.by_path("aws_cloudwatch_log_group", f"/{construct}/log_group")
    queue_name, _ = r.by_path("aws_sqs_queue", f"/{construct}/failure_queue")
    return [
        *kms(role, ("kms:Decrypt",), "lambda", "the function's environment is encrypted with the key"),
        Request("sqs:SendMessage", r.attribute("aws_sqs_queue", queue_name, "arn"),
                why="failed asynchronous invocations go to the failure queue"),
        *logs(r.resolve(group["name"]), ("logs:CreateLogStream", "logs:PutLogEvents"), "2026/12/02/[$LATEST]0",
              "the function's log lines"),
        Request("xray:PutTraceSegments", "*", why="active tracing"),
        Request("xray:PutTelemetryRecords", "*", why="active tracing"),
    ]


def _query_function(r, bucket, kms, logs) -> tuple[list[Request], list[Request]]:
    allowed, denied = _athena_reader(r, bucket, kms, QUERY_ROLE, "query API")
    return [*allowed, *_function_basics(r, kms, logs, QUERY_ROLE, "query_function")], denied


def _athena_reader(r, bucket, kms, role: str, who: str) -> tuple[list[Request], list[Request]]:
    """Running the KPI queries through Athena on gold (the query function, QuickSight's Athena source)."""
    _, workgroup = r.by_path("aws_athena_workgroup", "/athena/workgroup")
    wg_arn = f"arn:{r.partition}:athena:{r.region}:{r.account}:workgroup/{r.resolve(workgroup['name'])}"
    results = r.resolve(workgroup["configuration"]["result_configuration"]["output_location"])
    db_name, _ = r.by_path("aws_glue_catalog_database", "/catalog/gold_database")
    db = r.attribute("aws_glue_catalog_database", db_name, "name")
    glue = f"arn:{r.partition}:glue:{r.region}:{r.account}"
    gold = bucket("gold")
    io = S3Calls(f"{who}: Athena reads gold with the caller's credentials")
    published = f"{gold}{publication.RUNS_PREFIX}g000002-{RUN}-0a1b2c3d/"
    for spec in GOLD:
        io.read(published + spec.location, f"month=2026-12/{PART}", "Athena reads a published gold table")
        io.read(gold + spec.location, PART, "Athena reads a gold table before its first publication")
    out = S3Calls(f"{who}: Athena writes the results with the caller's credentials")
    out.location(results)
    out.put(f"{results}0000-query.csv", "Athena writes the result file")
    out.put(f"{results}0000-query.csv.metadata", "Athena writes the result metadata")
    out._obj("s3:AbortMultipartUpload", f"{results}0000-query.csv", "Athena aborts a failed result upload")
    out.list(results, "Athena lists the results prefix")
    out.get(f"{results}0000-query.csv", "GetQueryResults reads the result file")
    allowed = [
        *io.out, *out.out,
        *(Request(action, wg_arn, why="runs the named KPI queries in the lake workgroup")
          for action in ("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                         "athena:StopQueryExecution")),
        *(Request(action, resource, why="Athena reads the gold tables' definitions") for action, resource in (
            ("glue:GetDatabase", f"{glue}:catalog"), ("glue:GetDatabase", f"{glue}:database/{db}"),
            ("glue:GetTable", f"{glue}:table/{db}/kpi_loss_ratio"),
            ("glue:GetPartitions", f"{glue}:table/{db}/kpi_loss_ratio"))),
        *kms(role, ("kms:Decrypt",), "s3", "reads SSE-KMS gold objects and results"),
        *kms(role, ("kms:GenerateDataKey",), "s3", "writes SSE-KMS results"),
    ]
    if r.doc.get("resource", {}).get("aws_glue_data_catalog_encryption_settings"):
        allowed += kms(role, ("kms:Decrypt",), "glue", "the Data Catalog is encrypted with the key")
    silver_db_name, _ = r.by_path("aws_glue_catalog_database", "/catalog/silver_database")
    silver_db = r.attribute("aws_glue_catalog_database", silver_db_name, "name")
    bad = S3Calls(f"{who} must not")
    bad.get(bucket("silver") + "erp/policy/" + PART, "read silver")
    bad.get(bucket("bronze") + layout.bronze_partition_prefix("erp", "policy", DAY) + "x.jsonl", "read bronze")
    bad.put(gold + f"{publication.RUNS_PREFIX}x/{PART}", "write gold")
    bad.delete(gold + GOLD[0].location + PART, "delete gold")
    bad.put(f"s3://{s3_uri(results)[0]}/other/x.csv", "write outside the results prefix")
    denied = [
        *bad.out,
        Request("athena:StartQueryExecution", f"arn:{r.partition}:athena:{r.region}:{r.account}:workgroup/primary",
                why="run queries outside the lake workgroup (no enforced configuration, no scan limit)"),
        Request("glue:GetTable", f"{glue}:table/{silver_db}/erp_customer", why="read the silver catalog"),
        Request("glue:UpdateTable", f"{glue}:table/{db}/kpi_loss_ratio", why="change the gold catalog"),
        *(Request("secretsmanager:GetSecretValue", r.attribute("aws_secretsmanager_secret", name, "arn"),
                  why="read the platform's secrets")
          for name in r.doc.get("resource", {}).get("aws_secretsmanager_secret", {})),
    ]
    return allowed, denied


def _quicksight_service(r, bucket, kms) -> tuple[list[Request], list[Request]]:
    """QuickSight's service role: the Athena data source's queries, and the warehouse's admin secret the
    Redshift data source connects with (and no other secret)."""
    allowed, denied = _athena_reader(r, bucket, kms, QUICKSIGHT_SERVICE_ROLE, "QuickSight's Athena source")
    name, _ = r.by_path("aws_redshiftserverless_namespace", "/redshift/namespace")
    secret = r.attribute("aws_redshiftserverless_namespace", name, "admin_password_secret_arn")
    allowed += [Request("secretsmanager:GetSecretValue", secret, why="the Redshift data source's credentials"),
                *kms(QUICKSIGHT_SERVICE_ROLE, ("kms:Decrypt",), "secretsmanager", "the secret is encrypted with the key")]
    denied = [d for d in denied if d.action != "secretsmanager:GetSecretValue" or d.resource != secret]
    return allowed, denied


def _quicksight_vpc(r) -> tuple[list[Request], list[Request]]:
    """The role QuickSight assumes for its VPC connection: network interfaces in the connection's subnets."""
    _, connection = r.by_path("aws_quicksight_vpc_connection", "/quicksight/vpc_connection")
    ec2 = f"arn:{r.partition}:ec2:{r.region}:{r.account}"
    subnets = [r.resolve(s) for s in connection["subnet_ids"]]
    groups = [r.resolve(g) for g in connection["security_group_ids"]]
    eni = f"{ec2}:network-interface/eni-0abc"
    allowed = [
        *(Request("ec2:CreateNetworkInterface", arn, why="an interface in a connection subnet and group")
          for arn in (eni, *(f"{ec2}:subnet/{s}" for s in subnets), *(f"{ec2}:security-group/{g}" for g in groups))),
        Request("ec2:ModifyNetworkInterfaceAttribute", eni, why="attaches its security groups"),
        Request("ec2:DeleteNetworkInterface", eni, why="removes its interfaces"),
        Request("ec2:DescribeSubnets", "*", why="checks the subnets"),
        Request("ec2:DescribeSecurityGroups", "*", why="checks the groups"),
    ]
    denied = [
        Request("ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0other", why="an interface in another subnet"),
        Request("ec2:CreateNetworkInterface", f"{ec2}:security-group/sg-0other", why="with another group"),
        Request("ec2:RunInstances", f"{ec2}:instance/*", why="start instances"),
    ]
    return allowed, denied


def _authorizer(r, bucket, kms, logs) -> tuple[list[Request], list[Request]]:
    token_name, _ = r.by_path("aws_secretsmanager_secret", "/api_token/secret")
    allowed = [
        Request("secretsmanager:GetSecretValue", r.attribute("aws_secretsmanager_secret", token_name, "arn"),
                why="reads the API token it checks callers against"),
        *kms(AUTHORIZER_ROLE, ("kms:Decrypt",), "secretsmanager", "Secrets Manager decrypts the API token"),
        *_function_basics(r, kms, logs, AUTHORIZER_ROLE, "api_authorizer"),
    ]
    denied = [Request("secretsmanager:GetSecretValue", r.attribute("aws_secretsmanager_secret", name, "arn"),
                      why="read another secret")
              for name in r.doc.get("resource", {}).get("aws_secretsmanager_secret", {}) if name != token_name]
    bad = S3Calls("authorizer must not")
    bad.get(bucket("gold") + GOLD[0].location + PART, "read gold")
    return allowed, [*denied, *bad.out]


def _flow_log(r, logs) -> tuple[list[Request], list[Request]]:
    _, group = r.by_path("aws_cloudwatch_log_group", "/network/flow_log_group")
    name = r.resolve(group["name"])
    allowed = logs(name, ("logs:CreateLogStream", "logs:PutLogEvents"), "eni-0abc-all", "VPC flow log records")
    arn = f"arn:{r.partition}:logs:{r.region}:{r.account}:log-group:{name}"
    allowed.append(Request("logs:DescribeLogStreams", f"{arn}:log-stream:eni-0abc-all",
                           why="the flow-log service looks up its streams"))
    denied = logs("/aws/lambda/other", ("logs:PutLogEvents",), "x", "write another log group")
    return allowed, denied


def _redshift_copy(r, bucket, kms) -> tuple[list[Request], list[Request]]:
    gold = bucket("gold")
    io = S3Calls("Redshift COPY reads the published gold copy")
    published = f"{gold}{publication.RUNS_PREFIX}g000002-{RUN}-0a1b2c3d/"
    for spec in GOLD:
        io.read(published + spec.location, f"month=2026-12/{PART}" if spec.partition_keys else PART,
                "COPY ... FORMAT AS PARQUET of one published table")
    allowed = [*io.out, *kms(COPY_ROLE, ("kms:Decrypt",), "s3", "reads SSE-KMS gold objects")]
    bad = S3Calls("the COPY role must not")
    bad.get(gold + GOLD[0].location + PART, "read gold outside the published copies")
    bad.get(bucket("silver") + "erp/policy/" + PART, "read silver")
    bad.get(bucket("bronze") + layout.bronze_partition_prefix("erp", "policy", DAY) + "x.jsonl", "read bronze")
    bad.put(published + GOLD[0].location + PART, "write gold")
    bad.delete(published + GOLD[0].location + PART, "delete gold")
    denied = [*bad.out, *(Request("secretsmanager:GetSecretValue", r.attribute("aws_secretsmanager_secret", name, "arn"),
                                  why="read the platform's secrets")
                          for name in r.doc.get("resource", {}).get("aws_secretsmanager_secret", {}))]
    return allowed, denied


def _msk_ingest(r, bucket, kms, logs) -> tuple[list[Request], list[Request]]:
    bronze, quarantine = bucket("bronze"), bucket("quarantine")
    tp = layout.topic_partition(topics.INGEST_TOPIC, 0)
    io = S3Calls("MSK ingest: topic-partition batch objects (data_contracts.layout)")
    for source, entity in REGISTRY:
        partition = layout.bronze_partition_prefix(source, entity, DAY)
        io.put(bronze + partition + layout.msk_object_name(tp, 100, 200), "MSK ingest: puts a batch's bronze object")
        io.list(bronze + partition + layout.msk_object_prefix(tp),
                "MSK ingest: lists its partition's objects of the day")
    qfolder = quarantine + layout.msk_quarantine_prefix(DAY)
    io.put(qfolder + layout.msk_object_name(tp, 100, 200), "MSK ingest: puts a batch's quarantine object")
    io.list(qfolder + layout.msk_object_prefix(tp), "MSK ingest: lists its partition's quarantine")

    basics = [*io.out, *kms(MSK_INGEST_ROLE, ("kms:GenerateDataKey",), "s3", "SSE-KMS puts"),
              *_function_basics(r, kms, logs, MSK_INGEST_ROLE, "ingest_msk_function")]
    ec2 = f"arn:{r.partition}:ec2:{r.region}:{r.account}"
    eni = f"{ec2}:network-interface/eni-0123456789abcdef0"
    if not r.doc.get("resource", {}).get("aws_msk_cluster"):
        # Local (services.msk_ingest_lambda): the function alone, outside a VPC; the local poller invokes it.
        cluster_arn = f"arn:{r.partition}:kafka:{r.region}:{r.account}:cluster/local/00000000-0000-0000-0000-000000000000-1"
        kafka = cluster_arn.replace(":cluster/", ":{kind}/") + "/{name}"
        topic_arn = kafka.format(kind="topic", name=topics.INGEST_TOPIC)
        allowed = basics
        extra_denied = [
            Request("kafka-cluster:Connect", cluster_arn, why="connect to a cluster (it has none)"),
            Request("kafka-cluster:ReadData", topic_arn, why="read a topic itself (the poller hands it the records)"),
            Request("kafka:GetBootstrapBrokers", cluster_arn, why="look a cluster up"),
            Request("ec2:CreateNetworkInterface", eni, why="place network interfaces (it runs outside a VPC)"),
        ]
    else:
        cluster_name, cluster = r.by_path("aws_msk_cluster", "/msk/cluster")
        cluster_arn = r.attribute("aws_msk_cluster", cluster_name, "arn")
        kafka = cluster_arn.replace(":cluster/", ":{kind}/") + "/{name}"
        topic_arn = kafka.format(kind="topic", name=topics.INGEST_TOPIC)
        _, mapping = r.by_path("aws_lambda_event_source_mapping", "/ingest_msk_source/mapping")
        group = mapping["amazon_managed_kafka_event_source_config"]["consumer_group_id"]
        group_arn = kafka.format(kind="group", name=group)
        network = _cluster_network_calls(r, cluster, "the function's and the poller's network interfaces",
                                         ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                                          "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"))
        allowed = [
            *basics,
            *network,
            *(Request(a, cluster_arn, why="the poller finds the brokers")
              for a in ("kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers")),
            *(Request(a, cluster_arn, why="the poller connects with IAM authentication")
              for a in ("kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration")),
            *(Request(a, topic_arn, why="the poller reads the ingest topic")
              for a in ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData")),
            *(Request(a, group_arn, why="the poller commits its consumer group's offsets")
              for a in ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup")),
        ]
        extra_denied = [
            Request("ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0fffffffffffffff0",
                    why="place interfaces in another subnet"),
        ]
    bad = S3Calls("MSK ingest must not")
    kinesis_key = bronze + layout.bronze_partition_prefix("erp", "policy", DAY) + layout.stream_object_name(SHARD, 1, 2)
    msk_key = bronze + layout.bronze_partition_prefix("erp", "policy", DAY) + layout.msk_object_name(tp, 1, 2)
    bad.put(kinesis_key, "write the Kinesis ingest's objects")
    bad.put(quarantine + layout.stream_quarantine_key(DAY, SHARD, 1, 2), "write the Kinesis ingest's quarantine")
    bad.put(bronze + layout.landing_prefix("policy") + "policy_2026-12-01.csv", "write the landing zone")
    bad.put(bronze + layout.bronze_partition_prefix("erp", "customer", DAY) + layout.backfill_object_name(EXPORT, 0),
            "overwrite the backfill's objects")
    bad.delete(msk_key, "delete a bronze object")
    bad.get(msk_key, "read bronze")
    bad.list(bronze + layout.bronze_partition_prefix("erp", "customer", DAY), "list a whole partition")
    denied = [
        *bad.out,
        Request("kafka-cluster:WriteData", topic_arn, why="write to the ingest topic"),
        Request("kafka-cluster:CreateTopic", topic_arn, why="create topics"),
        Request("kafka-cluster:CreateTopic", kafka.format(kind="topic", name="other"), why="create topics"),
        Request("kafka-cluster:ReadData", kafka.format(kind="topic", name="other"), why="read another topic"),
        Request("kafka-cluster:AlterGroup", kafka.format(kind="group", name="other"),
                why="move another group's offsets"),
        Request("kafka-cluster:AlterCluster", cluster_arn, why="change the cluster"),
        Request("kafka:UpdateClusterConfiguration", cluster_arn, why="change the cluster's configuration"),
        *extra_denied,
    ]
    return allowed, denied


def _kafka_topics(r, kms, logs) -> tuple[list[Request], list[Request]]:
    """The MSK topic-admin function: connects with IAM and creates the ingest topic; nothing else of Kafka."""
    cluster_name, cluster = r.by_path("aws_msk_cluster", "/msk/cluster")
    cluster_arn = r.attribute("aws_msk_cluster", cluster_name, "arn")
    kafka = cluster_arn.replace(":cluster/", ":{kind}/") + "/{name}"
    topic_arn = kafka.format(kind="topic", name=topics.INGEST_TOPIC)
    other_topic = kafka.format(kind="topic", name="other")
    ec2 = f"arn:{r.partition}:ec2:{r.region}:{r.account}"
    allowed = [
        *_function_basics(r, kms, logs, KAFKA_TOPICS_ROLE, "kafka_topics/function"),
        Request("kafka-cluster:Connect", cluster_arn, why="the admin client connects with IAM authentication"),
        Request("kafka-cluster:DescribeTopic", topic_arn, why="it looks the ingest topic up"),
        Request("kafka-cluster:CreateTopic", topic_arn, why="and creates it when it is missing"),
        *_cluster_network_calls(r, cluster, "the function's network interfaces",
                                ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")),
    ]
    denied = [
        Request("kafka-cluster:CreateTopic", other_topic, why="create another topic"),
        Request("kafka-cluster:DescribeTopic", other_topic, why="look at another topic"),
        Request("kafka-cluster:ReadData", topic_arn, why="read the ingest topic"),
        Request("kafka-cluster:WriteData", topic_arn, why="write to the ingest topic"),
        Request("kafka-cluster:DeleteTopic", topic_arn, why="delete the ingest topic"),
        Request("kafka-cluster:AlterTopic", topic_arn, why="change the ingest topic (its partitions)"),
        Request("kafka-cluster:AlterGroup", kafka.format(kind="group", name="lakeforge-ingest-msk"),
                why="move a consumer group's offsets"),
        Request("kafka-cluster:AlterCluster", cluster_arn, why="change the cluster"),
        Request("kafka:GetBootstrapBrokers", cluster_arn, why="call MSK's control plane (it is given the brokers)"),
        Request("s3:GetObject", "arn:aws:s3:::any-bucket/any-key", why="read S3"),
        Request("ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0fffffffffffffff0",
                why="place interfaces in another subnet"),
    ]
    return allowed, denied


def _cluster_network_calls(r, cluster, what: str, describe: tuple[str, ...]) -> list[Request]:
    """What Lambda does under a role to run beside an MSK cluster: ``what`` in the cluster's subnets with its
    security group, their addresses, and the network look-ups ``describe``."""
    ec2 = f"arn:{r.partition}:ec2:{r.region}:{r.account}"
    eni = f"{ec2}:network-interface/eni-0123456789abcdef0"
    subnets = [r.resolve(s) for s in cluster["broker_node_group_info"]["client_subnets"]]
    (group_id,) = [r.resolve(g) for g in cluster["broker_node_group_info"]["security_groups"]]
    return [
        *(Request("ec2:CreateNetworkInterface", arn, why=f"Lambda places {what} in the cluster's subnets")
          for arn in (eni, *(f"{ec2}:subnet/{s}" for s in subnets), f"{ec2}:security-group/{group_id}")),
        Request("ec2:DeleteNetworkInterface", eni, why="and removes them"),
        Request("ec2:AssignPrivateIpAddresses", eni, why="the function's interfaces get their addresses"),
        Request("ec2:UnassignPrivateIpAddresses", eni, why="and give them back"),
        *(Request(a, "*", why="Lambda looks the network up") for a in describe),
    ]
