"""GlueCatalog: the lake's Glue Data Catalog: one database per layer, the silver/gold tables, the bronze
crawler and (optionally) the account's Data Catalog encryption settings.

What it creates:

* ``aws_glue_catalog_database`` ``<prefix>_<layer>`` for each of ``layers`` (default bronze, silver,
  gold; hyphens become underscores: Athena and Hive want ``[a-z0-9_]`` names), located at the layer's
  bucket;
* ``aws_glue_catalog_table`` for every :class:`lakehouse.catalog_spec.TableSpec` in ``tables``:
  ``EXTERNAL_TABLE``, Parquet (``ParquetHiveSerDe`` + ``MapredParquetInputFormat``/``OutputFormat``) at
  ``s3://<layer bucket>/<spec.location>``, the spec's columns and partition keys, and **Athena partition
  projection** table parameters (``projection.enabled``, ``projection.<col>.type/range/format/interval/
  interval.unit/values`` and ``storage.location.template``), so Athena finds every partition without a
  crawler or ``MSCK REPAIR TABLE``. A table whose spec projects only some of its partition keys is
  rejected (Athena needs all of them). Tables of ``published_layers`` (gold) are switched to each run's copy by
  the job that publishes them: Terraform sets their location and ``storage.location.template`` at
  creation and ignores later changes of both (``lifecycle.ignore_changes``). Column comments longer than Glue's 255 bytes (table
  descriptions: 2048) are cut with "...";
* the bronze crawler ``<prefix>-bronze-raw`` over ``crawler_paths`` of the bronze bucket (the raw
  ``source=erp/`` and ``source=susep/`` JSON lines and the ``unstructured/`` documents) into the bronze
  database, with a schedule, an explicit ``recrawl_policy`` and ``schema_change_policy`` (incremental
  crawls require LOG/LOG), its own ``aws_glue_security_configuration`` (S3 SSE-KMS, CloudWatch SSE-KMS,
  bookmarks CSE-KMS) and a least-privilege role: read only those prefixes, write only the bronze
  database's tables and partitions, logs only on the crawler log groups, the lake key;
* ``aws_glue_data_catalog_encryption_settings`` (``catalog_encryption``): metadata encrypted with
  SSE-KMS and connection passwords returned encrypted, with the lake key. It is an **account-wide**
  (per region) setting: exactly one stack per account/region may own it. Every principal that reads the
  catalog then needs ``kms:Decrypt`` on the key (the key policy allows it through ``glue``).

Table specs are plain data (:class:`modules.glue_catalog_props.TableSpec`; the project's are
``lakehouse/catalog_spec.py``, the tables the Spark jobs write).
"""
from __future__ import annotations

import json
import re

from constructs import Construct

from .glue_catalog_props import OUTPUTS, GlueCatalogProps, TableSpec
from .iam import S3Access, Statement, assume_role_policy, policy_document, s3_statements
from .naming import CRAWLER_NAME, resource_name
from ._bindings import aws, core

__all__ = ["OUTPUTS", "GlueCatalog", "GlueCatalogProps", "database_name", "glue_comment", "projection_parameters",
           "security_configuration"]

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

CRAWLER_GLUE_ACTIONS: tuple[str, ...] = (
    "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition", "glue:CreatePartition",
    "glue:CreateTable", "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable",
    "glue:GetTables", "glue:UpdatePartition", "glue:UpdateTable",
)
"""What a crawler does to its target database (no deletes: the schema change policy only logs)."""

_DB_NAME_RE = re.compile(r"^[a-z0-9_]{1,255}$")
_TABLE_NAME_RE = re.compile(r"^[a-z0-9_]{1,255}$")


def glue_comment(text: str, limit: int = 255) -> str | None:
    """A comment as Glue accepts it: at most ``limit`` UTF-8 bytes (the provider counts bytes, so
    "Automóvel" is 10), longer ones cut with "..."; None if empty."""
    if not text:
        return None
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - 3].decode("utf-8", errors="ignore").rstrip()
    return cut + "..."


def database_name(name_prefix: str, layer: str) -> str:
    """Glue/Athena-safe database name: ``lakeforge-dev`` + ``bronze`` -> ``lakeforge_dev_bronze``."""
    return f"{name_prefix}_{layer}".replace("-", "_").lower()


def projection_parameters(spec: TableSpec, bucket_uri: str) -> dict[str, str]:
    """Athena partition-projection table parameters of one spec (empty when it projects nothing)."""
    if not spec.projection:
        return {}
    keys = [c.name for c in spec.partition_keys]
    missing = [k for k in keys if k not in spec.projection]
    if missing:
        raise ValueError(f"{spec.layer}.{spec.name}: partition projection needs every partition key; "
                         f"no projection for {missing}")
    params = {"projection.enabled": "true"}
    for col in keys:
        proj = spec.projection[col]
        base = f"projection.{col}"
        params[f"{base}.type"] = proj.kind
        if proj.kind == "date":
            if not (proj.range and proj.format):
                raise ValueError(f"{spec.name}.{col}: a date projection needs range and format")
            params[f"{base}.range"] = proj.range
            params[f"{base}.format"] = proj.format
            params[f"{base}.interval"] = "1"
            if proj.interval_unit:
                params[f"{base}.interval.unit"] = proj.interval_unit
        elif proj.kind == "enum":
            if not proj.values:
                raise ValueError(f"{spec.name}.{col}: an enum projection needs values")
            params[f"{base}.values"] = ",".join(proj.values)
        elif proj.kind == "integer":
            if not proj.range:
                raise ValueError(f"{spec.name}.{col}: an integer projection needs a range")
            params[f"{base}.range"] = proj.range
        elif proj.kind != "injected":
            raise ValueError(f"{spec.name}.{col}: unknown projection type {proj.kind!r}")
    params["storage.location.template"] = spec.storage_template(bucket_uri)
    return params


def security_configuration(scope: Construct, id_: str, name: str, kms_key_arn: str | None) -> str:
    """An ``aws_glue_security_configuration`` encrypting everything with ``kms_key_arn``: S3 ``SSE-KMS``,
    CloudWatch Logs ``SSE-KMS`` and job bookmarks ``CSE-KMS`` (``None``: SSE-S3, the others disabled).
    Returns its name."""
    binding = aws.glue_security_configuration
    GlueSecurityConfiguration = binding.GlueSecurityConfiguration
    GlueSecurityConfigurationEncryptionConfiguration = binding.GlueSecurityConfigurationEncryptionConfiguration
    GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption = (
        binding.GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption)
    GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption = (
        binding.GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption)
    GlueSecurityConfigurationEncryptionConfigurationS3Encryption = (
        binding.GlueSecurityConfigurationEncryptionConfigurationS3Encryption)

    key = kms_key_arn
    sec = GlueSecurityConfiguration(
        scope, id_, name=name,
        encryption_configuration=GlueSecurityConfigurationEncryptionConfiguration(
            s3_encryption=GlueSecurityConfigurationEncryptionConfigurationS3Encryption(
                s3_encryption_mode="SSE-KMS" if key else "SSE-S3", kms_key_arn=key),
            cloudwatch_encryption=GlueSecurityConfigurationEncryptionConfigurationCloudwatchEncryption(
                cloudwatch_encryption_mode="SSE-KMS" if key else "DISABLED", kms_key_arn=key),
            job_bookmarks_encryption=GlueSecurityConfigurationEncryptionConfigurationJobBookmarksEncryption(
                job_bookmarks_encryption_mode="CSE-KMS" if key else "DISABLED", kms_key_arn=key),
        ),
    )
    return sec.name


def terraform_literal(params: dict[str, str], spec: TableSpec) -> dict[str, str]:
    """Escape the ``${<partition key>}`` placeholders of ``storage.location.template`` as ``$${...}``:
    Terraform would read them as interpolations (cdktf tokens such as the bucket name stay as they are)."""
    out = dict(params)
    template = out.get("storage.location.template")
    if template:
        for col in spec.partition_keys:
            template = template.replace("${" + col.name + "}", "$${" + col.name + "}")
        out["storage.location.template"] = template
    return out


class GlueCatalog(Construct):
    """Lake databases, declared tables with partition projection, bronze crawler, catalog encryption.

    Options: :class:`GlueCatalogProps`; outputs: :data:`OUTPUTS` (``modules/glue_catalog_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: GlueCatalogProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.databases: dict[str, object] = {}
        self.database_names: dict[str, str] = {}
        self.database_arns: dict[str, str] = {}
        self.table_arns: dict[str, str] = {}
        self.tables: dict[str, object] = {}
        self.table_names: dict[str, str] = {}
        self.catalog_arn: str | None = None
        self.crawler = None
        self.crawler_name: str | None = None
        self.crawler_role_arn: str | None = None
        self.security_configuration_name: str | None = None
        self.encryption_settings = None
        if not props.create:
            return
        self._check()

        TerraformResourceLifecycle = core.TerraformResourceLifecycle
        GlueCatalogDatabase = aws.glue_catalog_database.GlueCatalogDatabase
        binding = aws.glue_catalog_table
        GlueCatalogTable = binding.GlueCatalogTable
        GlueCatalogTablePartitionKeys = binding.GlueCatalogTablePartitionKeys
        GlueCatalogTableStorageDescriptor = binding.GlueCatalogTableStorageDescriptor
        GlueCatalogTableStorageDescriptorColumns = binding.GlueCatalogTableStorageDescriptorColumns
        GlueCatalogTableStorageDescriptorSerDeInfo = binding.GlueCatalogTableStorageDescriptorSerDeInfo

        p = props
        tags = dict(p.tags)
        arn = f"arn:{p.partition}:glue:{p.region}:{p.account_id}"
        self.catalog_arn = f"{arn}:catalog"
        for layer in p.layers:
            name = database_name(p.name_prefix, layer)
            db = GlueCatalogDatabase(
                self, f"{layer}_database", name=name,
                description=f"{p.name_prefix} {layer} layer (s3://{p.bucket_names[layer]}/)",
                location_uri=f"s3://{p.bucket_names[layer]}/",
                tags=tags,
            )
            self.databases[layer] = db
            self.database_names[layer] = db.name
            self.database_arns[layer] = f"{arn}:database/{name}"
            self.table_arns[layer] = f"{arn}:table/{name}/*"

        for spec in p.tables:
            bucket_uri = f"s3://{p.bucket_names[spec.layer]}/"
            parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"}
            parameters.update(terraform_literal(projection_parameters(spec, bucket_uri), spec))
            table = GlueCatalogTable(
                self, f"{spec.layer}_{spec.name}",
                database_name=self.databases[spec.layer].name,
                name=spec.name,
                description=glue_comment(spec.description, 2048),
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[GlueCatalogTablePartitionKeys(name=c.name, type=c.type, comment=glue_comment(c.comment))
                                for c in spec.partition_keys] or None,
                storage_descriptor=GlueCatalogTableStorageDescriptor(
                    location=f"{bucket_uri}{spec.location.strip('/')}/",
                    input_format=PARQUET_INPUT_FORMAT,
                    output_format=PARQUET_OUTPUT_FORMAT,
                    compressed=False,
                    stored_as_sub_directories=False,
                    ser_de_info=GlueCatalogTableStorageDescriptorSerDeInfo(
                        name="parquet", serialization_library=PARQUET_SERDE,
                        parameters={"serialization.format": "1"}),
                    columns=[GlueCatalogTableStorageDescriptorColumns(name=c.name, type=c.type,
                                                                      comment=glue_comment(c.comment))
                             for c in spec.columns],
                ),
                lifecycle=TerraformResourceLifecycle(ignore_changes=[
                    "storage_descriptor[0].location", 'parameters["storage.location.template"]'])
                if spec.layer in p.published_layers else None,
            )
            self.tables[f"{spec.layer}.{spec.name}"] = table
            self.table_names[f"{spec.layer}.{spec.name}"] = table.name

        if p.crawler:
            self._crawler(tags, arn)
        if p.catalog_encryption and p.kms_key_arn:
            self._encryption_settings()

    # ----------------------------------------------------------------------------------------------
    def _check(self) -> None:
        p = self.props
        for layer in p.layers:
            if layer not in p.bucket_names:
                raise ValueError(f"bucket_names has no {layer!r} bucket")
            if not _DB_NAME_RE.match(database_name(p.name_prefix, layer)):
                raise ValueError(f"database name {database_name(p.name_prefix, layer)!r} is not [a-z0-9_]")
        seen = set()
        for spec in p.tables:
            if spec.layer not in p.layers:
                raise ValueError(f"table {spec.name}: layer {spec.layer!r} is not one of {p.layers}")
            if not _TABLE_NAME_RE.match(spec.name):
                raise ValueError(f"table name {spec.name!r} is not [a-z0-9_]")
            if (spec.layer, spec.name) in seen:
                raise ValueError(f"table {spec.layer}.{spec.name} declared twice")
            seen.add((spec.layer, spec.name))
        if p.crawler and ("bronze" not in p.layers or "bronze" not in p.bucket_arns):
            raise ValueError("the crawler needs the bronze database and bucket")

    def _crawler(self, tags: dict[str, str], arn: str) -> None:
        binding = aws.glue_crawler
        GlueCrawler = binding.GlueCrawler
        GlueCrawlerRecrawlPolicy = binding.GlueCrawlerRecrawlPolicy
        GlueCrawlerS3Target = binding.GlueCrawlerS3Target
        GlueCrawlerSchemaChangePolicy = binding.GlueCrawlerSchemaChangePolicy
        IamRole = aws.iam_role.IamRole
        IamRolePolicy = aws.iam_role_policy.IamRolePolicy

        p = self.props
        name = resource_name(p.name_prefix, "bronze", "raw", limit=CRAWLER_NAME)
        sec_name = security_configuration(self, "crawler_security_configuration",
                                          resource_name(p.name_prefix, "crawler"), p.kms_key_arn)
        self.security_configuration_name = sec_name
        logs = f"arn:{p.partition}:logs:{p.region}:{p.account_id}:log-group:/aws-glue/crawlers"
        bronze_db = database_name(p.name_prefix, "bronze")
        statements = [
            *s3_statements([S3Access(sid="ReadRawBronze", bucket_arn=p.bucket_arns["bronze"],
                                     prefixes=tuple(p.crawler_paths))]),
            Statement(sid="WriteBronzeCatalog", actions=CRAWLER_GLUE_ACTIONS,
                      resources=(f"{arn}:catalog", f"{arn}:database/{bronze_db}", f"{arn}:table/{bronze_db}/*")),
            # Crawler logs: /aws-glue/crawlers, or /aws-glue/crawlers-role/<role>-<security configuration>
            # when the security configuration encrypts CloudWatch Logs.
            Statement(sid="WriteCrawlerLogs",
                      actions=("logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream",
                               "logs:PutLogEvents"),
                      resources=(f"{logs}", f"{logs}:*", f"{logs}-role/*")),
        ]
        if p.kms_key_arn:
            statements.append(Statement(sid="UseLakeKey", actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"),
                                        resources=(p.kms_key_arn,)))
        role = IamRole(
            self, "crawler_role", name=f"{name}-crawler",
            description=f"Role of the {name} Glue crawler (reads {', '.join(p.crawler_paths)} of bronze)",
            assume_role_policy=assume_role_policy("glue.amazonaws.com", source_account=p.account_id), tags=tags,
        )
        grant = IamRolePolicy(self, "crawler_role_policy", name=f"{name}-least-privilege", role=role.id,
                              policy=policy_document(statements))
        bronze = p.bucket_names["bronze"]
        new_only = p.recrawl_behavior == "CRAWL_NEW_FOLDERS_ONLY"
        self.crawler = GlueCrawler(
            self, "crawler",
            name=name,
            description=f"Raw and unstructured bronze objects -> {bronze_db}",
            database_name=self.databases["bronze"].name,
            role=role.arn,
            table_prefix=p.crawler_table_prefix or None,
            s3_target=[GlueCrawlerS3Target(path=f"s3://{bronze}/{prefix}") for prefix in p.crawler_paths],
            schedule=p.crawler_schedule or None,
            security_configuration=sec_name,
            recrawl_policy=GlueCrawlerRecrawlPolicy(recrawl_behavior=p.recrawl_behavior),
            schema_change_policy=GlueCrawlerSchemaChangePolicy(
                update_behavior="LOG" if new_only else p.update_behavior,
                delete_behavior="LOG" if new_only else p.delete_behavior),
            configuration=json.dumps({
                "Version": 1.0,
                "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
                "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
            }, separators=(",", ":")),
            tags=tags,
            depends_on=[grant],
        )
        self.crawler_name = self.crawler.name
        self.crawler_role_arn = role.arn

    def _encryption_settings(self) -> None:
        binding = aws.glue_data_catalog_encryption_settings
        GlueDataCatalogEncryptionSettings = binding.GlueDataCatalogEncryptionSettings
        GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettings = (
            binding.GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettings)
        GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsConnectionPasswordEncryption = (
            binding.GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsConnectionPasswordEncryption)
        GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsEncryptionAtRest = (
            binding.GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsEncryptionAtRest)

        p = self.props
        self.encryption_settings = GlueDataCatalogEncryptionSettings(
            self, "encryption_settings",
            catalog_id=p.account_id,
            data_catalog_encryption_settings=GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettings(
                encryption_at_rest=GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsEncryptionAtRest(
                    catalog_encryption_mode="SSE-KMS", sse_aws_kms_key_id=p.kms_key_arn),
                connection_password_encryption=(
                    GlueDataCatalogEncryptionSettingsDataCatalogEncryptionSettingsConnectionPasswordEncryption(
                        return_connection_password_encrypted=True, aws_kms_key_id=p.kms_key_arn)),
            ),
        )
