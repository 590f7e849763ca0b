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
"""
