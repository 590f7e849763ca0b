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


# --- every KPI of queries/kpi_*.sql, computed from the records ------------------------------------------------

def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _share(num: Decimal | None, den: Decimal | None) -> str | None:
    if num is None or den is None or den <= 0:
        return None
    return str((num / den).quantize(RATIO, rounding=ROUND_HALF_UP))


def expected_kpi_rows(payloads, company_insurer_code: str, filters: dict | None = None) -> dict[str, list[dict]]:
    """KPI name -> every row of that KPI for ``filters`` (the API's: month range, line, state), in its key order, valued as
    :func:`queries.kpi.normalise` gives them (counts as int, money and ratios as exact decimal strings),
    computed from the records by gold's documented rules (``lakehouse/gold.py``): a cell exists in
    ``kpi_loss_ratio`` when a policy earns, is written or has a (not cancelled) installment due in it, or a
    claim occurs in it; in ``kpi_market_share`` when SUSEP has a row for it or the company wrote premium in it."""
    live = live_rows(payloads)
    policies = live.get(("erp", "policy"), {})
    claims = live.get(("erp", "claim"), {})
    installments = live.get(("erp", "premium_installment"), {})
    stats = live.get(("susep", "market_statistics"), {})
    earned, written = earned_by_cell(policies), written_by_cell(policies)
    premium_cells = set(earned) | set(written)
    for p in policies.values():  # a policy earns in every month of its window, even 0.00 after rounding
        start, end = _date(p["start_date"]), _date(p["end_date"])
        earning_end = end if p["status"] != "cancelled" else min(
            end, datetime.fromisoformat(p["updated_at"].replace("Z", "+00:00")).date())
        if (end - start).days + 1 > 0 and earning_end >= start:
            premium_cells |= {(m.strftime("%Y-%m"), p["line_of_business"], p["state"]) for m, _ in
                              _months(start, earning_end)}
    for i in installments.values():
        policy = policies.get((i["policy_id"],))
        if policy is not None and i["status"] != "cancelled":
            premium_cells.add((i["due_date"][:7], policy["line_of_business"], policy["state"]))
    claim_count: dict = defaultdict(int)
    incurred: dict = defaultdict(Decimal)
    paid: dict = defaultdict(Decimal)
    for c in claims.values():
        policy = policies.get((c["policy_id"],))
        if policy is None:
            continue
        cell = (c["occurrence_date"][:7], policy["line_of_business"], policy["state"])
        claim_count[cell] += 1
        incurred[cell] += _d(c["incurred_amount"])
        paid[cell] += _d(c["paid_amount"])
    zero = Decimal(0)
    loss_cells = sorted(premium_cells | set(claim_count))
    loss = [{"month": m, "line_of_business": lob, "state": st, "claim_count": claim_count.get((m, lob, st), 0),
             "claims_incurred": incurred.get((m, lob, st), zero), "premiums_earned": earned.get((m, lob, st), zero),
             "premiums_written": written.get((m, lob, st), zero), "claims_paid": paid.get((m, lob, st), zero)}
            for m, lob, st in loss_cells]

    loss = kpi_filter(loss, filters or {})
    market: dict = defaultdict(Decimal)
    insurers: dict = defaultdict(set)
    own: dict = {}
    for s in stats.values():
        cell = (s["reference_month"], s["line_of_business"], s["state"])
        market[cell] += _d(s["premiums_written"])
        insurers[cell].add(s["insurer_code"])
        if s["insurer_code"] == company_insurer_code:
            own[cell] = _d(s["premiums_written"])
    share_cells = sorted(set(market) | {c for c, v in written.items() if v > 0})
    share = [{"month": m, "line_of_business": lob, "state": st,
              "company_premiums_written": written.get((m, lob, st), zero),
              "market_premiums_written": market.get((m, lob, st)),
              "market_insurers": len(insurers[(m, lob, st)]) if (m, lob, st) in market else 0,
              "company_susep_premiums_written": own.get((m, lob, st))} for m, lob, st in share_cells]
    share = kpi_filter(share, filters or {})

    def grouped(rows, key, columns):
        out: dict = {}
        for r in rows:
            g = out.setdefault(r[key], dict.fromkeys(columns, zero))
            for c in columns:
                g[c] += r[c]
        return sorted(out.items())

    by_month = grouped(loss, "month", ("premiums_written", "premiums_earned", "claim_count", "claims_incurred",
                                       "claims_paid"))
    by_line = grouped(loss, "line_of_business", ("claim_count", "claims_incurred", "premiums_earned"))
    by_state = grouped([r for r in share if r["market_premiums_written"] is not None], "state",
                       ("company_premiums_written", "market_premiums_written"))
    return {
        "premiums_claims_by_month": [
            {"month": k, "premiums_written": _money(g["premiums_written"]), "premiums_earned": _money(g["premiums_earned"]),
             "claim_count": int(g["claim_count"]), "claims_incurred": _money(g["claims_incurred"]),
             "claims_paid": _money(g["claims_paid"]), "loss_ratio": _share(g["claims_incurred"], g["premiums_earned"])}
            for k, g in by_month],
        "loss_ratio_by_line_of_business": [
            {"line_of_business": k, "claim_count": int(g["claim_count"]), "claims_incurred": _money(g["claims_incurred"]),
             "premiums_earned": _money(g["premiums_earned"]),
             "loss_ratio": _share(g["claims_incurred"], g["premiums_earned"])} for k, g in by_line],
        "market_share_by_state": [
            {"state": k, "company_premiums_written": _money(g["company_premiums_written"]),
             "market_premiums_written": _money(g["market_premiums_written"]),
             "market_share": _share(g["company_premiums_written"], g["market_premiums_written"])} for k, g in by_state],
        "loss_ratio": [
            {"month": r["month"], "line_of_business": r["line_of_business"], "state": r["state"],
             "claim_count": r["claim_count"], "claims_incurred": _money(r["claims_incurred"]),
             "premiums_earned": _money(r["premiums_earned"]),
             "loss_ratio": _share(r["claims_incurred"], r["premiums_earned"])} for r in loss],
        "market_share": [
            {**{k: r[k] for k in ("month", "line_of_business", "state")},
             "company_premiums_written": _money(r["company_premiums_written"]),
             "market_premiums_written": _money(r["market_premiums_written"]),
             "market_insurers": r["market_insurers"],
             "company_susep_premiums_written": _money(r["company_susep_premiums_written"]),
             "market_share": _share(r["company_premiums_written"], r["market_premiums_written"])} for r in share],
    }


def kpi_filter(rows: list[dict], filters: dict) -> list[dict]:
    """The cells of ``rows`` (each with its month, line and state) that pass ``filters``."""
    return [r for r in rows if filters.get("month_from", "0000-00") <= r["month"] <= filters.get("month_to", "9999-99")
            and r["line_of_business"] == filters.get("line_of_business", r["line_of_business"])
            and r["state"] == filters.get("state", r["state"])]
