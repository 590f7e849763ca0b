"""lakeforge data contracts: what the ERP and SUSEP sources may put on the ingest stream.

The package is shipped inside the ingest Lambda zip, so it imports only the standard library
(and ``fastjsonschema``, lazily, in :mod:`data_contracts.validation`). Modules:

* :mod:`data_contracts.reasons`    quarantine reason codes (a fixed vocabulary)
* :mod:`data_contracts.reference`  reference tables: lines of business, UFs, insurers, products
* :mod:`data_contracts.contracts`  the contract registry, keyed by ``(source, entity)``, and the envelope
* :mod:`data_contracts.validation` ``classify(payload: bytes)``: the fast validator used by the Lambda
* :mod:`data_contracts.topics`     the Kafka topic of the MSK ingest: name and partition count
* :mod:`data_contracts.metrics`    the platform's own metric names, units, namespace, dimension and log keys
* :mod:`data_contracts.emf`        one embedded-metric-format line: ``render`` it, ``parse`` it as CloudWatch does
* :mod:`data_contracts.export`     ``python -m data_contracts.export`` writes ``schemas/*.schema.json``

The deterministic sample data (development, tests and the demo) lives in the top-level ``sample_data``
package, which is never shipped.
"""
from data_contracts.reasons import (  # noqa: F401  (re-exported constants; stdlib only)
    ALL_REASONS,
    INVALID_ENCODING,
    INVALID_ENVELOPE,
    INVALID_JSON,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_REQUIRED_FIELD,
    UNKNOWN_ENTITY,
)
