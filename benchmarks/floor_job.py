"""The least a bronze -> silver job can do: parse every bronze line and write it as Parquet.

No validation, typing, deduplication, merge or accounting: each line's envelope and data fields are
parsed as text (``from_json`` with the contract's field names) and written per entity. The batch
benchmark runs it like the real jobs, as a floor for the bronze -> silver figure on this machine.

Arguments: ``--bronze_path <uri>`` ``--out_path <uri>``.
"""
from __future__ import annotations

import sys

from lakehouse.job import JobArgument, JobContract, start_job

CONTRACT = JobContract(name="floor_job", description="parse every bronze line and write it as Parquet", arguments=(
    JobArgument("bronze_path", "root of bronze"), JobArgument("out_path", "where the Parquet goes")))


def main(argv: list[str] | None = None) -> int:
    from pyspark.sql import functions as F

    from data_contracts import layout
    from data_contracts.contracts import REGISTRY
    from lakehouse.bronze_silver import bronze_line_schema

    ctx = start_job(CONTRACT, argv)
    spark, args = ctx.spark, ctx.args
    for contract in REGISTRY.values():
        schema = bronze_line_schema(contract)
        source = f"{args['bronze_path'].rstrip('/')}/{layout.entity_prefix(contract.source, contract.entity)}"
        (spark.read.text(source).select(F.from_json("value", schema).alias("j"))
         .select("j.event.source", "j.event.entity", "j.event.event_id", "j.event.event_time", "j.event.op",
                 "j.ingest.*", "j.event.data.*")
         .write.mode("overwrite").parquet(f"{args['out_path'].rstrip('/')}/{contract.source}/{contract.entity}/"))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
