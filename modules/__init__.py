"""lakeforge constructs: one module per AWS service, each with one frozen props dataclass.

Importing this package is cheap on purpose: the AWS provider bindings (15-20 s to import) are loaded
inside the constructs, only when one is instantiated. See ``modules/README.md``.

- :mod:`modules.environment`    EnvironmentConfig loaded from ``environments/<env>.toml``
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
"""
