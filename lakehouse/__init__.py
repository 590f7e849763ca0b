"""Shared code of the batch lakehouse jobs (Glue 5 / EMR 7, Spark 3.5), shipped to Glue with --extra-py-files.

Modules that import pyspark do so at their top; ``lakehouse.catalog_spec`` and the table specs it
collects import no Spark, so the Terraform modules can read them cheaply.
"""
