"""Small literal gold rows (fact_premium, fact_claim, kpi_loss_ratio, kpi_market_share: a few cells over three
months, two lines of business, three states) and an independent computation of every KPI over them in plain
Python, shared by the KPI query tests (DuckDB, PostgreSQL) and the query API's end-to-end test (Athena)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from queries import kpi as kpis

TABLES = ("fact_premium", "fact_claim", "kpi_loss_ratio", "kpi_market_share")


def _premium(month, policy, line, state, written, earned):
    return {"date_key": int(month.replace("-", "") + "01"), "policy_key": policy, "customer_key": None,
            "line_key": 1, "state_key": 2, "policy_id": f"P{policy}", "line_of_business": line, "state": state,
            "premiums_written": Decimal(written), "premiums_earned": Decimal(earned), "earned_days": 30,
            "installments_due_count": 1, "installments_due_amount": Decimal("10.00"),
            "installments_paid_count": 0, "installments_paid_amount": Decimal("0.00"), "month": month}


def _claim(month, policy, line, state, count, incurred, paid):
    return {"date_key": int(month.replace("-", "") + "01"), "policy_key": policy, "customer_key": 7,
            "line_key": 1, "state_key": 2, "policy_id": f"P{policy}", "line_of_business": line, "state": state,
            "claim_count": count, "claimed_amount": Decimal(incurred), "incurred_amount": Decimal(incurred),
            "paid_amount": Decimal(paid), "month": month}


FACT_PREMIUM = [
    _premium("2025-01", 1, "0531", "SP", "1200.00", "100.00"),
    _premium("2025-02", 1, "0531", "SP", "0.00", "100.00"),
    _premium("2025-03", 1, "0531", "SP", "0.00", "100.01"),
    _premium("2025-01", 2, "0114", "RJ", "365.00", "17.00"),
    _premium("2025-02", 2, "0114", "RJ", "0.00", "28.00"),
    _premium("2025-02", 3, "0531", "MG", "999.99", "0.00"),
    _premium("2025-03", 4, "0114", "SP", "10.00", "3.33"),
]
FACT_CLAIM = [
    _claim("2025-01", 1, "0531", "SP", 1, "50.00", "50.00"),
    _claim("2025-02", 1, "0531", "SP", 2, "333.33", "0.00"),
    _claim("2025-02", 2, "0114", "RJ", 1, "7.77", "7.77"),
    _claim("2025-03", 5, "0114", "MG", 1, "10.00", "0.00"),
]


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _kpi_loss_ratio():
    cells: dict[tuple, dict] = {}
    for r in FACT_PREMIUM + FACT_CLAIM:
        c = cells.setdefault((r["month"], r["line_of_business"], r["state"]), {
            "claim_count": 0, "claims_incurred": Decimal("0.00"), "premiums_earned": Decimal("0.00")})
        c["premiums_earned"] += r.get("premiums_earned", 0)
        c["claims_incurred"] += r.get("incurred_amount", 0)
        c["claim_count"] += r.get("claim_count", 0)
    return [{"date_key": int(m.replace("-", "") + "01"), "line_key": 1, "state_key": 2, "line_of_business": lob,
             "state": st, **c, "month": m,
             "loss_ratio": _round(c["claims_incurred"] / c["premiums_earned"], 6) if c["premiums_earned"] else None}
            for (m, lob, st), c in sorted(cells.items())]


def _share(month, line, state, company, market, insurers, own):
    market_d = None if market is None else Decimal(market)
    return {"date_key": int(month.replace("-", "") + "01"), "line_key": 1, "state_key": 2, "line_of_business": line,
            "state": state, "company_premiums_written": Decimal(company), "market_premiums_written": market_d,
            "market_insurers": insurers, "company_susep_premiums_written": None if own is None else Decimal(own),
            "market_share": (_round(Decimal(company) / market_d, 6) if market_d else None), "month": month}


KPI_MARKET_SHARE = [
    _share("2025-01", "0531", "SP", "1200.00", "36000.00", 5, "1100.00"),
    _share("2025-01", "0114", "RJ", "365.00", "7000.00", 3, None),
    _share("2025-02", "0531", "MG", "999.99", "3000.00", 2, "999.99"),
    _share("2025-02", "0531", "SP", "0.00", "36500.00", 5, "0.00"),
    _share("2025-03", "0114", "SP", "10.00", None, 0, None),
    _share("2025-03", "0531", "RJ", "0.00", "1234.56", 1, None),
]
ROWS = {"fact_premium": FACT_PREMIUM, "fact_claim": FACT_CLAIM, "kpi_loss_ratio": _kpi_loss_ratio(),
        "kpi_market_share": KPI_MARKET_SHARE}


# --- the independent computation -----------------------------------------------------------------------------

def _passes(row, filters):
    return (filters.get("month_from", "0000-00") <= row["month"] <= filters.get("month_to", "9999-99")
            and row["line_of_business"] == filters.get("line_of_business", row["line_of_business"])
            and row["state"] == filters.get("state", row["state"]))


def _money(value) -> str | None:
    return None if value is None else str(_round(Decimal(value), 2))


def _ratio(num, den) -> str | None:
    return None if num is None or den is None or Decimal(den) <= 0 else str(_round(Decimal(num) / Decimal(den), 6))


def expected(name: str, filters: dict) -> list[dict]:
    if name in ("loss_ratio", "market_share"):
        table = "kpi_" + name
        kpi = kpis.get(name)
        rows = sorted((r for r in ROWS[table] if _passes(r, filters)),
                      key=lambda r: (r["month"], r["line_of_business"], r["state"]))
        out = []
        for r in rows:
            out.append({c.name: (None if r[c.name] is None else
                                 str(r[c.name]) if c.scale is not None else r[c.name]) for c in kpi.columns})
        return out
    groups: dict[str, dict] = {}
    if name == "premiums_claims_by_month":
        for r in FACT_PREMIUM + FACT_CLAIM:
            if _passes(r, filters):
                g = groups.setdefault(r["month"], dict.fromkeys(
                    ("premiums_written", "premiums_earned", "claims_incurred", "claims_paid"), Decimal(0)) | {
                    "claim_count": 0})
                for out_name, in_name in (("premiums_written", "premiums_written"), ("premiums_earned", "premiums_earned"),
                                          ("claims_incurred", "incurred_amount"), ("claims_paid", "paid_amount"),
                                          ("claim_count", "claim_count")):
                    g[out_name] += r.get(in_name, 0)
        return [{"month": m, **{k: _money(g[k]) for k in ("premiums_written", "premiums_earned")},
                 "claim_count": g["claim_count"], **{k: _money(g[k]) for k in ("claims_incurred", "claims_paid")},
                 "loss_ratio": _ratio(g["claims_incurred"], g["premiums_earned"])} for m, g in sorted(groups.items())]
    if name == "loss_ratio_by_line_of_business":
        for r in ROWS["kpi_loss_ratio"]:
            if _passes(r, filters):
                g = groups.setdefault(r["line_of_business"], {"claim_count": 0, "claims_incurred": Decimal(0),
                                                              "premiums_earned": Decimal(0)})
                for k in g:
                    g[k] += r[k]
        return [{"line_of_business": k, "claim_count": g["claim_count"], "claims_incurred": _money(g["claims_incurred"]),
                 "premiums_earned": _money(g["premiums_earned"]),
                 "loss_ratio": _ratio(g["claims_incurred"], g["premiums_earned"])} for k, g in sorted(groups.items())]
    if name == "market_share_by_state":
        for r in KPI_MARKET_SHARE:
            if _passes(r, filters) and r["market_premiums_written"] is not None:
                g = groups.setdefault(r["state"], {"company_premiums_written": Decimal(0),
                                                   "market_premiums_written": Decimal(0)})
                for k in g:
                    g[k] += r[k]
        return [{"state": k, **{c: _money(v) for c, v in g.items()},
                 "market_share": _ratio(g["company_premiums_written"], g["market_premiums_written"])}
                for k, g in sorted(groups.items())]
    raise AssertionError(f"no independent computation for {name}")
