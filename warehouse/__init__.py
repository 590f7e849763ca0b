"""The warehouse: the gold star schema in Amazon Redshift (PostgreSQL locally).

:mod:`warehouse.schema` generates the DDL from the gold table specs; :mod:`warehouse.connection` is the one
connection factory (Redshift Data API on AWS, psycopg locally); :mod:`warehouse.load` loads the published
gold copy (``python -m warehouse.load``). Job-side code: it imports :mod:`lakehouse` and
:mod:`data_contracts` only; third-party imports (pyarrow, psycopg, sqlglot) happen where they are used, so
the AWS path needs only boto3 and pyarrow.
"""
