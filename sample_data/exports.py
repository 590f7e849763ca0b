"""ERP export files from generator records (tests, the demo and the local backfill runner).

:func:`write_export` turns :func:`sample_data.events.generate` records of ONE ERP entity into an
export like the ERP's: a CSV with a header row of the contract's field names, or JSON lines. By default
it is a snapshot (the latest version of each business key, deleted keys left out, in key order), as a
full ERP extract would be; ``snapshot=False`` writes every upsert in stream order (a history extract).
Only valid records are used. Standard library only.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from data_contracts.contracts import get_contract

__all__ = ["export_rows", "write_export"]


def export_rows(records, entity: str | None = None, *, source: str = "erp", snapshot: bool = True) -> list[dict]:
    """The ``data`` objects an export of ``entity`` holds (see the module docstring)."""
    envelopes = []
    for record in records:
        if not record.is_valid or record.source != source:
            continue
        env = json.loads(record.payload)
        if entity is None:
            entity = env["entity"]
        if env["entity"] == entity:
            envelopes.append(env)
    if entity is None:
        return []
    contract = get_contract(source, entity)
    if contract is None:
        raise ValueError(f"no contract for {source}.{entity}")
    if not snapshot:
        return [env["data"] for env in envelopes if env["op"] == "upsert"]
    latest: dict[tuple, dict] = {}
    for env in envelopes:  # stream order = event time order; a later event of a key replaces the earlier one
        key = tuple(env["data"][k] for k in contract.business_key)
        current = latest.get(key)
        if current is None or env["event_time"] >= current["event_time"]:
            latest[key] = env
    return [env["data"] for key, env in sorted(latest.items()) if env["op"] == "upsert"]


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_export(records, path, fmt: str, *, entity: str | None = None, source: str = "erp",
                 snapshot: bool = True) -> int:
    """Write an export file (``fmt`` ``"csv"`` or ``"jsonl"``) at ``path``; returns the number of records.

    ``entity`` defaults to the entity of the first valid record of ``source``.
    """
    rows = export_rows(records, entity, source=source, snapshot=snapshot)
    if entity is None:
        entity = next((json.loads(r.payload)["entity"] for r in records if r.is_valid and r.source == source), None)
    contract = get_contract(source, entity) if entity else None
    if contract is None:
        raise ValueError("no records of a known entity to export")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(contract.field_names)
        for row in rows:
            writer.writerow([_csv_value(row.get(name)) for name in contract.field_names])
        path.write_text(buffer.getvalue(), encoding="utf-8")
    elif fmt in ("jsonl", "json"):
        text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
        path.write_text(text, encoding="utf-8")
    else:
        raise ValueError(f"unknown export format {fmt!r} (csv, jsonl)")
    return len(rows)
