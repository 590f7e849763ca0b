"""Options of :class:`modules.glue_catalog.GlueCatalog` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .options import Props, Rule, create_option, glue_cron, one_of, option, or_value, outputs, tags_option

RECRAWL_BEHAVIORS = ("CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY")


class ColumnSpec(Protocol):
    name: str
    type: str
    """Glue/Hive type, e.g. ``string``, ``decimal(18,2)``."""
    comment: str


class ProjectionSpec(Protocol):
    kind: str
    """``date``, ``enum``, ``integer`` or ``injected`` (Athena partition projection)."""
    range: str
    format: str
    interval_unit: str
    values: Sequence[str]


class TableSpec(Protocol):
    """What the catalog needs to know of a table (the project's specs: ``lakehouse.catalog_spec.TableSpec``)."""

    layer: str
    name: str
    location: str
    """Below the layer's bucket."""
    description: str
    columns: Sequence[ColumnSpec]
    partition_keys: Sequence[ColumnSpec]
    projection: Mapping[str, ProjectionSpec]
    """Partition key -> its projection (empty: no projection)."""

    def storage_template(self, bucket_uri: str) -> str:
        """Athena ``storage.location.template`` of the projected partitions."""


@dataclass(frozen=True)
class GlueCatalogProps(Props):
    """Options of :class:`modules.glue_catalog.GlueCatalog`."""

    name_prefix: str = option(
        doc="Resource name prefix, e.g. ``lakeforge-dev`` (databases become ``lakeforge_dev_<layer>``).")
    bucket_names: Mapping[str, str] = option(
        doc="Layer -> bucket name (tokens allowed); needs every layer in ``layers`` (and ``bronze`` for "
            "the crawler).")
    bucket_arns: Mapping[str, str] = option(doc="Layer -> bucket ARN (for the crawler role).")
    account_id: str = option(doc="Account id (token allowed): catalog, database and table ARNs.")
    region: str = option(doc="Region of the catalog.")
    partition: str = option("aws", doc="ARN partition (token allowed).")
    kms_key_arn: str | None = option(
        None,
        doc="Lake key: crawler security configuration, catalog encryption, crawler role grant. ``None`` = "
            "no crawler security configuration encryption and no catalog encryption (not recommended).")
    layers: tuple[str, ...] = option(("bronze", "silver", "gold"), doc="One database per layer.")
    published_layers: tuple[str, ...] = option(
        (), doc="Layers whose tables' locations a job switches when it publishes: Terraform sets them at "
                "creation and then ignores changes of ``location`` and ``storage.location.template``.")
    tables: tuple[TableSpec, ...] = option(
        (),
        doc="Tables to declare (any object with the attributes of ``TableSpec``, e.g. "
            "``lakehouse.catalog_spec.TableSpec``); each spec's ``layer`` must be one of ``layers``.")
    crawler: bool = option(True, doc="Create the bronze crawler.")
    crawler_paths: tuple[str, ...] = option(
        (),
        doc="Prefixes of the bronze bucket the crawler reads (and the only ones its role may read); at "
            "least one when ``crawler`` is on.")
    crawler_schedule: str = option(
        "cron(0 2 * * ? *)", limit=or_value("", glue_cron()),
        doc="Glue cron of the crawler; empty = on demand only.")
    crawler_table_prefix: str = option(
        "raw_",
        doc="Prefix of the tables the crawler creates (keeps them apart from declared tables).")
    recrawl_behavior: str = option(
        "CRAWL_NEW_FOLDERS_ONLY", limit=one_of(*RECRAWL_BEHAVIORS),
        doc="``CRAWL_NEW_FOLDERS_ONLY`` (incremental, cheapest; forces LOG/LOG schema changes) or "
            "``CRAWL_EVERYTHING``.")
    update_behavior: str = option(
        "LOG", limit=one_of("LOG", "UPDATE_IN_DATABASE"),
        doc="Schema change policy on changed tables (``UPDATE_IN_DATABASE`` only with CRAWL_EVERYTHING).")
    delete_behavior: str = option(
        "LOG", limit=one_of("LOG", "DEPRECATE_IN_DATABASE", "DELETE_FROM_DATABASE"),
        doc="Schema change policy on vanished objects (other than ``LOG`` only with CRAWL_EVERYTHING).")
    catalog_encryption: bool = option(
        True,
        doc="Create the account-wide ``aws_glue_data_catalog_encryption_settings`` (needs "
            "``kms_key_arn``).")
    tags: dict[str, str] = tags_option("every taggable resource (databases, crawler, role)")
    create: bool = create_option()

    RULES = (
        Rule(("crawler", "crawler_paths"), lambda crawler, paths: not crawler or bool(paths),
             "crawler_paths: at least one bronze prefix when crawler is on"),
        Rule(("recrawl_behavior", "update_behavior", "delete_behavior"),
             lambda recrawl, update, delete: recrawl != "CRAWL_NEW_FOLDERS_ONLY" or (update, delete) == ("LOG", "LOG"),
             "recrawl_behavior: CRAWL_NEW_FOLDERS_ONLY requires update_behavior = delete_behavior = LOG"),
        Rule(("catalog_encryption", "kms_key_arn"), lambda encrypt, key: not encrypt or bool(key),
             "catalog_encryption needs kms_key_arn"),
    )


OUTPUTS = outputs(
    ("databases", "The ``aws_glue_catalog_database`` resources, by layer."),
    ("database_names", "Database names, by layer."),
    ("database_arns", "Database ARNs, by layer."),
    ("table_arns", "ARN pattern of each database's tables, by layer (for IAM)."),
    ("tables", "The ``aws_glue_catalog_table`` resources, by ``<layer>.<name>``."),
    ("table_names", "Table names, by ``<layer>.<name>``."),
    ("catalog_arn", "ARN of the account's Data Catalog."),
    ("crawler", "The bronze ``aws_glue_crawler`` (``None`` without it)."),
    ("crawler_name", "Name of the bronze crawler."),
    ("crawler_role_arn", "ARN of the crawler's role."),
    ("security_configuration_name", "Name of the crawler's security configuration."),
    ("encryption_settings", "The account-wide catalog encryption settings (``None`` without them)."),
)
