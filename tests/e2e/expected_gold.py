"""Expected gold figures computed independently of the Spark code, from the generator's records.

Plain Python over the payloads the test sent: the live version of every business key (latest
``event_time``; a delete removes the key), then the documented KPI formulas (see the docstring of
``lakehouse/gold.py``) with ``decimal.Decimal`` and ROUND_HALF_UP. Nothing here imports pyspark or
``lakehouse``.
"""
from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from data_contracts.contracts import REGISTRY

CENT = Decimal("0.01")
RATIO = Decimal("0.000001")


def _d(value) -> Decimal:
    return Decimal(str(value))


def _date(text: str) -> date:
    return date.fromisoformat(text)


def live_rows(payloads) -> dict[tuple[str, str], dict[tuple, dict]]:
    """(source, entity) -> business key -> data of the live version."""
    latest: dict[tuple[str, str], dict[tuple, tuple[str, dict]]] = defaultdict(dict)
    for payload in payloads:
        env = json.loads(payload)
        contract = REGISTRY[(env["source"], env["entity"])]
        key = tuple(env["data"][k] for k in contract.business_key)
        table = latest[(env["source"], env["entity"])]
        current = table.get(key)
        if current is None or env["event_time"] > current[0]:
            table[key] = (env["event_time"], env if env["op"] == "upsert" else None)
    return {t: {k: v[1]["data"] for k, v in rows.items() if v[1] is not None} for t, rows in latest.items()}


def _months(first: date, last: date):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        start = date(y, m, 1)
        yield start, date(y, m, calendar.monthrange(y, m)[1])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def earned_by_cell(policies: dict) -> dict[tuple[str, str, str], Decimal]:
    """(yyyy-MM, line_of_business, state) -> premiums earned, pro rata by days per policy-month."""
    out: dict = defaultdict(Decimal)
    for p in policies.values():
        start, end = _date(p["start_date"]), _date(p["end_date"])
        term = (end - start).days + 1
        earning_end = end
        if p["status"] == "cancelled":
            earning_end = min(end, datetime.fromisoformat(p["updated_at"].replace("Z", "+00:00")).date())
        if term <= 0 or earning_end < start:
            continue
        premium = _d(p["annual_premium"])
        for m_start, m_end in _months(start, earning_end):
            days = (min(earning_end, m_end) - max(start, m_start)).days + 1
            earned = (premium * days / term).quantize(CENT, rounding=ROUND_HALF_UP)
            out[(m_start.strftime("%Y-%m"), p["line_of_business"], p["state"])] += earned
    return dict(out)


def written_by_cell(policies: dict) -> dict[tuple[str, str, str], Decimal]:
    out: dict = defaultdict(Decimal)
    for p in policies.values():
        out[(p["issued_at"][:7], p["line_of_business"], p["state"])] += _d(p["annual_premium"])
    return dict(out)


def incurred_by_cell(claims: dict, policies: dict) -> dict[tuple[str, str, str], Decimal]:
    out: dict = defaultdict(Decimal)
    for c in claims.values():
        policy = policies.get((c["policy_id"],))
        if policy is None:
            continue
        out[(c["occurrence_date"][:7], policy["line_of_business"], policy["state"])] += _d(c["incurred_amount"])
    return dict(out)


def market_by_cell(statistics: dict) -> dict[tuple[str, str, str], Decimal]:
    out: dict = defaultdict(Decimal)
    for s in statistics.values():
        out[(s["reference_month"], s["line_of_business"], s["state"])] += _d(s["premiums_written"])
    return dict(out)


def expected_kpis(payloads) -> dict:
    live = live_rows(payloads)
    policies = live.get(("erp", "policy"), {})
    claims = live.get(("erp", "claim"), {})
    stats = live.get(("susep", "market_statistics"), {})
    earned, incurred = earned_by_cell(policies), incurred_by_cell(claims, policies)
    loss = {}
    for cell, value in earned.items():
        if value > 0:
            inc = incurred.get(cell, Decimal(0))
            loss[cell] = (value, inc, (inc / value).quantize(RATIO, rounding=ROUND_HALF_UP))
    written, market = written_by_cell(policies), market_by_cell(stats)
    share = {}
    for cell, total in market.items():
        if total > 0:
            company = written.get(cell, Decimal(0))
            share[cell] = (company, total, (company / total).quantize(RATIO, rounding=ROUND_HALF_UP))
    return {"live": live, "loss_ratio": loss, "market_share": share,
            "earned_total": sum(earned.values(), Decimal(0)), "incurred_total": sum(incurred.values(), Decimal(0))}
