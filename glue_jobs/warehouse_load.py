"""Glue job: the published gold copy -> the warehouse star schema, the third step of the batch workflow
(after silver -> gold SUCCEEDED). Thin: the load is :mod:`warehouse.load` (:func:`~warehouse.load.main`),
declared by its :data:`~warehouse.load.CONTRACT` (arguments and grants).

Arguments (Glue style, ``--name value``; deployed values in brackets, per environment)::

    --gold_path      [s3://<gold>/]                     the published copies below it: runs/g<generation>-.../
    --state_path     [s3://<artifacts>/state/silver_to_gold/]   holds publication.json
    --target         [redshift-data] on AWS, [postgres] locally
    --workgroup | --cluster_identifier   [the Serverless workgroup | the provisioned cluster] (redshift-data)
    --database       [the warehouse's database]         (redshift-data; locally: a run argument)
    --secret_arn     [the Redshift-managed admin secret]   (redshift-data)
    --iam_role       [the COPY role]                    the role Redshift assumes to read gold (redshift-data)
    --host --port --database --user --passfile           postgres only: NOT deployed; the local runner passes
                     the local PostgreSQL's connection as the run's arguments (the port may be set per machine,
                     the password file is a local path), as a Glue job run's ``Arguments`` override defaults
    --schema, --force, --s3_endpoint                     optional (``--help`` of ``python -m warehouse.load``)

Why a Glue 5.0 Spark job (``glueetl``) for a load that starts no SparkSession: every job of the workflow runs
on Python 3.11 with the same shared-code zip (``--extra-py-files``), and Glue's Python shell jobs run Python
3.9 only, while the shared code is written and tested for Python 3.11 (Glue 5.0, EMR 7, the local runtime).
The job's driver runs this script; its workers stay idle (two G.1X workers is Glue's minimum).
On AWS the load talks to Redshift through the Redshift Data API (no network path into the VPC needed);
psycopg, the local PostgreSQL client, is imported only for ``--target postgres``.
"""
from __future__ import annotations

import sys

from warehouse.load import CONTRACT, main

__all__ = ["CONTRACT", "main"]

if __name__ == "__main__":
    main(sys.argv[1:])
