"""SUSEP ``market_statistics``: the monthly market cube and its restatements.

12 reference months x 6 insurers (the company, :data:`~data_contracts.reference.COMPANY_INSURER_CODE`,
first) x their lines x the largest states (as many as the record budget allows), published two months
after the reference month. The company's own rows are aggregated from the emitted ERP events
(written/earned premiums, policies in force, incurred/paid claims); competitors are scaled from the
company's size with a fixed market share. A few rows are restated later (same key, later ``event_time``).
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime

from data_contracts import reference as ref
from sample_data.common import (
    _LINES,
    _STATE_WEIGHTS,
    _STATES_BY_MARKET,
    REFERENCE_MONTHS,
    UTC,
    _add_months,
    _money,
)

SUSEP_SHARE = 0.12           # share of the good records that are SUSEP market statistics
SUSEP_RESTATED_SHARE = 0.05  # restated SUSEP rows, relative to the published cube
COMPANY_MARKET_SHARE = 0.02  # the company's share of the sample market (scales the competitors)

# Competitors in the sample market: (market share, lines). The company writes every line.
_COMPETITORS: dict[str, tuple[float, tuple[str, ...]]] = {
    "05177": (0.16, tuple(_LINES)),
    "06238": (0.12, tuple(_LINES)),
    "06564": (0.09, tuple(_LINES)),
    "05908": (0.06, ("0114", "0977", "0993")),
    "06882": (0.05, ("0531", "0553", "0621")),
}
_INSURER_LINES: dict[str, tuple[str, ...]] = {ref.COMPANY_INSURER_CODE: tuple(_LINES)}
_INSURER_LINES.update({code: lines for code, (_, lines) in _COMPETITORS.items()})


def _month_bounds(month: str) -> tuple[date, date]:
    year, mon = int(month[:4]), int(month[5:])
    first = date(year, mon, 1)
    return first, _add_months(first, 1)  # [first, next first)


def _company_figures(erp_events) -> dict[tuple[str, str, str], dict[str, float]]:
    """Aggregate the emitted ERP events into the company's SUSEP figures per (month, line, state)."""
    first_version: dict[str, dict] = {}
    cancelled_on: dict[str, date] = {}
    claims: dict[str, dict] = {}
    for _, _, entity, op, data, _ in erp_events:
        if entity == "policy":
            first_version.setdefault(data["policy_id"], data)
            if data["status"] == "cancelled":
                cancelled_on[data["policy_id"]] = date.fromisoformat(data["updated_at"][:10])
        elif entity == "claim":
            claims[data["claim_id"]] = data  # the latest emitted version wins
    figures: dict[tuple[str, str, str], dict[str, float]] = {}

    def cell(month: str, line: str, state: str) -> dict[str, float]:
        key = (month, line, state)
        if key not in figures:
            figures[key] = {"written": 0.0, "earned": 0.0, "incurred": 0.0, "paid": 0.0, "in_force": 0}
        return figures[key]

    months = [(m, *_month_bounds(m)) for m in REFERENCE_MONTHS]
    for pid, policy in first_version.items():
        line, state, premium = policy["line_of_business"], policy["state"], policy["annual_premium"]
        start, end = date.fromisoformat(policy["start_date"]), date.fromisoformat(policy["end_date"])
        stop = min(end, cancelled_on.get(pid, end))
        term_days = max((end - start).days, 1)
        issued_month = policy["issued_at"][:7]
        if issued_month in REFERENCE_MONTHS:
            cell(issued_month, line, state)["written"] += premium
        for month, first, nxt in months:
            overlap = (min(stop, nxt) - max(start, first)).days
            if overlap > 0:
                target = cell(month, line, state)
                target["earned"] += premium * overlap / term_days
                if start < nxt <= stop:  # in force at the end of the month
                    target["in_force"] += 1
    for claim in claims.values():
        policy = first_version.get(claim["policy_id"])
        if policy is None:
            continue
        line, state = policy["line_of_business"], policy["state"]
        if claim["occurrence_date"][:7] in REFERENCE_MONTHS:
            cell(claim["occurrence_date"][:7], line, state)["incurred"] += claim["incurred_amount"]
        if claim["status"] == "paid" and claim["updated_at"][:7] in REFERENCE_MONTHS:
            cell(claim["updated_at"][:7], line, state)["paid"] += claim["paid_amount"]
    return figures


def _susep_rows_per_state() -> int:
    return sum(len(lines) for lines in _INSURER_LINES.values())


def _publication_time(month: str, extra_months: int = 2) -> datetime:
    first, _ = _month_bounds(month)
    published = _add_months(first, extra_months).replace(day=20)
    return datetime(published.year, published.month, published.day, 3, tzinfo=UTC)


def _susep_events(rng: random.Random, n_cube: int, n_states: int, n_restated: int, erp_events) -> list:
    """SUSEP events: the first ``n_cube`` rows of month x insurer x line x state, plus restatements."""
    if n_cube <= 0:
        return []
    company = _company_figures(erp_events)
    company_written = sum(v["written"] for v in company.values()) or 5_000_000.0
    market_month = company_written / COMPANY_MARKET_SHARE / 12
    line_total = sum(m.market_share for m in _LINES.values())
    state_total = sum(_STATE_WEIGHTS.values())
    states = _STATES_BY_MARKET[:n_states]
    events: list = []
    published: list[dict] = []
    for month_index, month in enumerate(REFERENCE_MONTHS):
        when = _publication_time(month)
        season = 1.0 + 0.08 * math.sin(2 * math.pi * month_index / 12)
        for insurer, lines in _INSURER_LINES.items():
            for line in lines:
                model = _LINES[line]
                for state in states:
                    if len(events) >= n_cube:
                        break
                    if insurer == ref.COMPANY_INSURER_CODE:
                        f = company.get((month, line, state), {})
                        written, earned = f.get("written", 0.0), f.get("earned", 0.0)
                        incurred, paid, in_force = f.get("incurred", 0.0), f.get("paid", 0.0), f.get("in_force", 0)
                        commission = written * model.commission
                    else:
                        share = _COMPETITORS[insurer][0]
                        written = (market_month * model.market_share / line_total * _STATE_WEIGHTS[state] / state_total
                                   * share * season * rng.uniform(0.85, 1.15))
                        earned = written * rng.uniform(0.92, 1.03)
                        incurred = earned * model.loss_ratio * rng.uniform(0.75, 1.25)
                        paid = incurred * rng.uniform(0.70, 0.98)
                        commission = written * model.commission * rng.uniform(0.9, 1.1)
                        in_force = round(written * 12 / model.avg_premium * rng.uniform(0.9, 1.1))
                    data = {
                        "reference_month": month,
                        "insurer_code": insurer,
                        "insurer_name": ref.INSURERS[insurer],
                        "line_of_business": line,
                        "state": state,
                        "premiums_written": _money(written),
                        "premiums_earned": _money(earned),
                        "claims_incurred": _money(incurred),
                        "claims_paid": _money(paid),
                        "commission_expenses": _money(commission),
                        "policies_in_force": int(in_force),
                    }
                    published.append(data)
                    events.append((when, len(events), "market_statistics", "upsert", data, _susep_key(data)))
    for original in rng.sample(published, min(n_restated, len(published))):
        when = _publication_time(original["reference_month"], extra_months=3 + rng.randrange(3))
        factor = rng.uniform(0.97, 1.03)
        revised = dict(original,
                       premiums_earned=_money(original["premiums_earned"] * factor),
                       claims_incurred=_money(original["claims_incurred"] * rng.uniform(0.95, 1.08)),
                       claims_paid=_money(max(0.0, original["claims_paid"] * rng.uniform(1.0, 1.05))))
        events.append((when, len(events), "market_statistics", "upsert", revised, _susep_key(revised)))
    return events


def _susep_key(data: dict) -> str:
    return "|".join((data["reference_month"], data["insurer_code"], data["line_of_business"], data["state"]))
