"""lakeforge constructs: one module per AWS service (``<service>.py``), each with one frozen props dataclass in
``<service>_props.py`` whose options (default, meaning, limit) and outputs are data (:mod:`modules.options`).

Installed, this folder is the ``lakeforge-constructs`` distribution, import name ``lakeforge_constructs``
(``pyproject.toml``); in this repository it is imported as ``modules``. Its public API is :data:`__all__`:
every construct, its props class and the option classes a caller needs to build props, importable from the
package itself (``from lakeforge_constructs import DataLakeStorage, DataLakeStorageProps``). Everything else
(the submodules, :mod:`modules.options` internals, the watch builders, ``_bindings``) is private and may change
in a minor version. ``modules/README.md`` ("Public API", "Versioning") and ``modules/CHANGELOG.md``.

Importing this package, a props module, :mod:`modules.options` or :mod:`modules.iam` is cheap on purpose:
the public names are loaded on first use (PEP 562 ``__getattr__``; a props or option class loads only its
standard-library props module), and the AWS provider bindings (15-20 s to import) are loaded inside the
constructs, only when one is instantiated, through :mod:`modules._bindings`, the one module naming the CDK
packages. Constructs never import job code, the environments or the local runtime. See ``modules/README.md``
(its option tables are written by ``python -m modules.docs``).

- :mod:`modules.options`        option metadata, limits, rules and output declarations
- :mod:`modules.iam`            least-privilege policy-document helpers
- :mod:`modules.kms`            KmsKey
- :mod:`modules.s3_lake`        DataLakeStorage
- :mod:`modules.kinesis`        KinesisStream
- :mod:`modules.lambda_function` PythonFunction
- :mod:`modules.kinesis_ingest` KinesisEventSource
- :mod:`modules.s3_artifact`    S3Artifact (a local file uploaded by Terraform)
- :mod:`modules.glue_catalog`   GlueCatalog (databases, tables with partition projection, crawler, catalog encryption)
- :mod:`modules.glue_jobs`      GlueJobs (Glue 5.0 Spark jobs)
- :mod:`modules.glue_workflow`  GlueWorkflow (scheduled + conditional triggers)
- :mod:`modules.athena`         AthenaWorkgroup
- :mod:`modules.emr`            EmrCluster (transient EMR 7 cluster with steps)
- :mod:`modules.secrets_manager` GeneratedSecret
- :mod:`modules.network`        Network
- :mod:`modules.redshift`       RedshiftWarehouse
- :mod:`modules.quicksight`     QuicksightDashboards
- :mod:`modules.http_api`       HttpApi
- :mod:`modules.msk`            MskCluster
- :mod:`modules.msk_ingest`     MskEventSource
- :mod:`modules.kafka_topics`   KafkaTopics
- :mod:`modules.monitoring`     Monitoring
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
"""The version of the ``lakeforge-constructs`` distribution (semantic versioning: ``modules/README.md``,
"Versioning"); ``pyproject.toml`` reads it from here."""

CONSTRUCTS: dict[str, tuple[str, ...]] = {
    "kms": ("KmsKey", "KmsKeyProps"),
    "s3_lake": ("DataLakeStorage", "DataLakeStorageProps", "LifecycleRule"),
    "kinesis": ("KinesisStream", "KinesisStreamProps"),
    "lambda_function": ("PythonFunction", "PythonFunctionProps"),
    "kinesis_ingest": ("KinesisEventSource", "KinesisEventSourceProps"),
    "s3_artifact": ("S3Artifact", "S3ArtifactProps"),
    "glue_catalog": ("GlueCatalog", "GlueCatalogProps", "TableSpec", "ColumnSpec", "ProjectionSpec"),
    "glue_jobs": ("GlueJobs", "GlueJobsProps", "GlueJobSpec"),
    "glue_workflow": ("GlueWorkflow", "GlueWorkflowProps"),
    "athena": ("AthenaWorkgroup", "AthenaWorkgroupProps", "NamedQuery"),
    "emr": ("EmrCluster", "EmrClusterProps", "EmrStep"),
    "secrets_manager": ("GeneratedSecret", "GeneratedSecretProps"),
    "http_api": ("HttpApi", "HttpApiProps"),
    "network": ("Network", "NetworkProps"),
    "redshift": ("RedshiftWarehouse", "RedshiftWarehouseProps"),
    "quicksight": ("QuicksightDashboards", "QuicksightDashboardsProps", "QuicksightDataSetSpec",
                   "QuicksightVisualSpec", "QuicksightMeasure", "QuicksightColumn"),
    "msk": ("MskCluster", "MskClusterProps"),
    "msk_ingest": ("MskEventSource", "MskEventSourceProps"),
    "kafka_topics": ("KafkaTopics", "KafkaTopicsProps", "TopicSpec"),
    "monitoring": ("Monitoring", "MonitoringProps", "Watch", "AlarmSpec", "EventRuleSpec", "GraphSpec",
                   "AppMetrics"),
}
"""Construct module -> its construct class (defined in ``<module>.py``), then its props class and the option
classes that build props (defined in ``<module>_props.py``)."""

SHARED: dict[str, tuple[str, ...]] = {
    "options": ("OptionError", "Output"),
    "iam": ("Statement", "Condition", "S3Access", "PolicyError"),
}
"""Module -> the public names it defines that every construct shares (errors, outputs, policy statements)."""

_WHERE: dict[str, str] = {
    **{name: (module if i == 0 else f"{module}_props")
       for module, names in CONSTRUCTS.items() for i, name in enumerate(names)},
    **{name: module for module, names in SHARED.items() for name in names},
}

__all__ = [*_WHERE]

if TYPE_CHECKING:  # what a type checker sees (the same names, loaded eagerly); a unit test keeps it equal
    from .athena import AthenaWorkgroup
    from .athena_props import AthenaWorkgroupProps, NamedQuery
    from .emr import EmrCluster
    from .emr_props import EmrClusterProps, EmrStep
    from .glue_catalog import GlueCatalog
    from .glue_catalog_props import ColumnSpec, GlueCatalogProps, ProjectionSpec, TableSpec
    from .glue_jobs import GlueJobs
    from .glue_jobs_props import GlueJobSpec, GlueJobsProps
    from .glue_workflow import GlueWorkflow
    from .glue_workflow_props import GlueWorkflowProps
    from .http_api import HttpApi
    from .http_api_props import HttpApiProps
    from .iam import Condition, PolicyError, S3Access, Statement
    from .kafka_topics import KafkaTopics
    from .kafka_topics_props import KafkaTopicsProps, TopicSpec
    from .kinesis import KinesisStream
    from .kinesis_ingest import KinesisEventSource
    from .kinesis_ingest_props import KinesisEventSourceProps
    from .kinesis_props import KinesisStreamProps
    from .kms import KmsKey
    from .kms_props import KmsKeyProps
    from .lambda_function import PythonFunction
    from .lambda_function_props import PythonFunctionProps
    from .monitoring import Monitoring
    from .monitoring_props import AlarmSpec, AppMetrics, EventRuleSpec, GraphSpec, MonitoringProps, Watch
    from .msk import MskCluster
    from .msk_ingest import MskEventSource
    from .msk_ingest_props import MskEventSourceProps
    from .msk_props import MskClusterProps
    from .network import Network
    from .network_props import NetworkProps
    from .options import OptionError, Output
    from .quicksight import QuicksightDashboards
    from .quicksight_props import (
        QuicksightColumn, QuicksightDashboardsProps, QuicksightDataSetSpec, QuicksightMeasure, QuicksightVisualSpec,
    )
    from .redshift import RedshiftWarehouse
    from .redshift_props import RedshiftWarehouseProps
    from .s3_artifact import S3Artifact
    from .s3_artifact_props import S3ArtifactProps
    from .s3_lake import DataLakeStorage
    from .s3_lake_props import DataLakeStorageProps, LifecycleRule
    from .secrets_manager import GeneratedSecret
    from .secrets_manager_props import GeneratedSecretProps


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then cached in this module)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
