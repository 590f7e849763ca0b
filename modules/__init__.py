"""lakeforge constructs: one module per AWS service (``<service>.py``), each with one frozen props dataclass in
``<service>_props.py`` whose options (default, meaning, limit) and outputs are data (:mod:`modules.options`).

Importing this package, a props module, :mod:`modules.options` or :mod:`modules.iam` is cheap on purpose:
the AWS provider bindings (15-20 s to import) are loaded inside the constructs, only when one is
instantiated. Constructs never import job code, the environments or the local runtime. See
``modules/README.md`` (its option tables are written by ``python -m modules.docs``).

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
"""
