"""Shared code of the batch lakehouse jobs (Glue 5 / EMR 7, Spark 3.5), shipped to Glue with --extra-py-files.

Modules that import pyspark do so at their top; ``lakehouse.catalog_spec``, the table specs
(``lakehouse.silver_tables``, ``lakehouse.gold_tables``) and ``lakehouse.tables``, which lists them all,
import no Spark, so the Terraform modules can read them cheaply.
"""
