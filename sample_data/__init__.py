"""lakeforge sample data: deterministic ERP and SUSEP records for the demo, the tests and the benchmarks.

Nothing here is shipped to AWS: the Lambda zip and the Glue/EMR shared-code zip bundle only
``data_contracts`` and ``lakehouse``, and neither of them (nor any job, handler or module) imports this
package. Modules:

* :mod:`sample_data.common`     the period, lines of business, states, small helpers, the stream envelope
* :mod:`sample_data.erp`        the company's ERP records: customers, policies, installments, claims
* :mod:`sample_data.susep`      SUSEP market statistics derived from the ERP figures, and restatements
* :mod:`sample_data.faults`     bad records, one per quarantine reason
* :mod:`sample_data.events`     the ingest data set (:func:`generate`), its counts, JSON lines, Kinesis and MSK events
* :mod:`sample_data.documents`  unstructured claim documents (text, JSON, PDF)
* :mod:`sample_data.exports`    ERP export files (CSV, JSON lines) for the historical backfill
* :mod:`sample_data.cli`        ``python -m sample_data --records N --seed S --bad-share 0.1 --out FILE.jsonl``
"""
from sample_data.documents import generate_documents
from sample_data.events import (
    DEFAULT_ARRIVAL_EPOCH,
    DEFAULT_FIRST_SEQUENCE,
    DEFAULT_SHARD_ID,
    GeneratedRecord,
    expected_counts,
    generate,
    manifest,
    msk_event,
    msk_record,
    to_kinesis_event,
    to_msk_event,
    write_jsonl,
)
from sample_data.exports import export_rows, write_export

__all__ = [
    "DEFAULT_ARRIVAL_EPOCH",
    "DEFAULT_FIRST_SEQUENCE",
    "DEFAULT_SHARD_ID",
    "GeneratedRecord",
    "expected_counts",
    "export_rows",
    "generate",
    "generate_documents",
    "manifest",
    "msk_event",
    "msk_record",
    "to_kinesis_event",
    "to_msk_event",
    "write_export",
    "write_jsonl",
]
