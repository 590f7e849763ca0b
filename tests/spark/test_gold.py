"""Silver -> gold on the local SparkSession: each transformation on tiny literal data, then the job end to end.

Expected values are computed by hand (or, for the generator data set, recomputed in plain Python from the
formulas documented in :mod:`lakehouse.gold`).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from data_contracts import emf
from data_contracts import reference as ref
from data_contracts.metrics import RECORDS_OUT, RUN_FAILED
from data_contracts.contracts import REGISTRY
from lakehouse import gold
from lakehouse.gold_tables import GOLD_TABLES, column_names
from lakehouse.quality import QualityGateFailed
from sample_data import generate

UTC = timezone.utc
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)
COMPANY = ref.COMPANY_INSURER_CODE


@pytest.fixture(scope="module", autouse=True)
def _small_data_settings(spark):
    """Adaptive execution only slows down jobs over a few hundred rows (results do not depend on it)."""
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    yield
    spark.conf.set("spark.sql.adaptive.enabled", previous)


# --- helpers ------------------------------------------------------------------------------------------------

def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def utc(value: datetime | None) -> datetime | None:
    """A collected (naive, local-time) timestamp as an aware UTC datetime."""
    return None if value is None else value.astimezone(UTC)


def silver_df(spark, table: str, rows: list[dict]):
    schema = gold.silver_schema(table)
    return spark.createDataFrame([tuple(row.get(f.name) for f in schema.fields) for row in rows], schema)


def customer(cid: str, state: str = "SP", city: str = "São Paulo", created: str = "2024-01-10T09:00:00",
             updated: str | None = None, **extra) -> dict:
    row = {"customer_id": cid, "person_type": "PF", "document_hash": "9f" * 32, "birth_year": 1980,
           "state": state, "city": city, "created_at": ts(created),
           "updated_at": ts(updated or created)}
    row.update(extra)
    return row


def policy(pid: str, start: str, end: str, premium: str, *, issued: str, cid: str = "CUS-00000001",
           line: str = "0531", state: str = "SP", status: str = "active", updated: str | None = None) -> dict:
    return {"policy_id": pid, "customer_id": cid, "line_of_business": line, "product_code": "AUT-001",
            "state": state, "start_date": d(start), "end_date": d(end), "sum_insured": money("100000"),
            "annual_premium": money(premium), "status": status, "issued_at": ts(issued),
            "updated_at": ts(updated or issued)}


def installment(iid: str, pid: str, number: int, due: str, amount: str, status: str = "open",
                paid: str | None = None) -> dict:
    return {"installment_id": iid, "policy_id": pid, "installment_number": number, "due_date": d(due),
            "amount": money(amount), "paid_date": d(paid) if paid else None, "status": status}


def claim(cid: str, pid: str, occurred: str, claimed: str, incurred: str, paid: str, status: str = "paid") -> dict:
    return {"claim_id": cid, "policy_id": pid, "occurrence_date": d(occurred),
            "notification_date": d(occurred) + timedelta(days=2), "cause": "colisao",
            "claimed_amount": money(claimed), "incurred_amount": money(incurred), "paid_amount": money(paid),
            "status": status, "updated_at": ts(occurred + "T12:00:00")}


def market(month: str, insurer: str, written: str, line: str = "0531", state: str = "SP") -> dict:
    return {"reference_month": month, "insurer_code": insurer, "insurer_name": ref.INSURERS.get(insurer, "Nova S.A."),
            "line_of_business": line, "state": state, "premiums_written": money(written),
            "premiums_earned": money(written), "claims_incurred": money("0"), "claims_paid": money("0"),
            "commission_expenses": money("0"), "policies_in_force": 10}


def rows_of(df, *columns) -> list[tuple]:
    return sorted(tuple(r[c] for c in columns) for r in df.select(*columns).collect())


def snapshot(df) -> list[tuple]:
    """Every row, every column, order-independent (timestamps as UTC)."""
    return sorted((tuple(utc(v) if isinstance(v, datetime) else v for v in r) for r in df.collect()), key=repr)


# --- dimensions -----------------------------------------------------------------------------------------------

def test_dim_date_covers_whole_months_with_pt_br_names(spark):
    dates = spark.createDataFrame([(d("2024-02-10"),), (d("2024-03-05"),), (None,)], "d date")
    dim = gold.conform_gold(gold.build_dim_date(dates), "dim_date")
    rows = {r["date_key"]: r for r in dim.collect()}
    assert len(rows) == 29 + 31 and min(rows) == 20240201 and max(rows) == 20240331
    leap = rows[20240229]
    assert (leap["date"], leap["year"], leap["quarter"], leap["month"], leap["month_name"], leap["year_month"],
            leap["day"], leap["day_of_week"], leap["day_name"], leap["is_weekend"], leap["is_month_start"],
            leap["is_month_end"]) == (d("2024-02-29"), 2024, 1, 2, "Fevereiro", "2024-02", 29, 4, "Quinta-feira",
                                      False, False, True)
    first = rows[20240301]
    assert (first["month_name"], first["day_name"], first["is_month_start"], first["week_of_year"]) == \
        ("Março", "Sexta-feira", True, 9)
    assert rows[20240303]["day_of_week"] == 7 and rows[20240303]["is_weekend"]


def test_reference_dimensions(spark):
    susep = silver_df(spark, "susep_market_statistics", [
        market("2024-01", COMPANY, "10"), market("2024-01", "09999", "5"),
        dict(market("2024-02", "09999", "5"), insurer_name="Nova Seguradora S.A.")])
    insurers = {r["insurer_code"]: r for r in gold.build_dim_insurer(susep, COMPANY).collect()}
    assert set(insurers) == set(ref.INSURERS) | {"09999"}
    assert insurers["09999"]["insurer_name"] == "Nova Seguradora S.A."  # the latest SUSEP name
    assert insurers[COMPANY]["is_company"] and not insurers["05177"]["is_company"]
    assert insurers["05177"]["insurer_name"] == ref.INSURERS["05177"]
    lines = {r["line_of_business"]: r for r in gold.build_dim_line_of_business(spark).collect()}
    assert set(lines) == set(ref.LINES_OF_BUSINESS)
    assert (lines["0531"]["group_code"], lines["0531"]["group_name"]) == ("05", "Automóvel")
    states = {r["state"]: r for r in gold.build_dim_state(spark).collect()}
    assert len(states) == 27 and states["SP"]["region"] == "Sudeste" and states["AM"]["region"] == "Norte"
    assert states["DF"]["state_name"] == "Distrito Federal" and states["DF"]["region"] == "Centro-Oeste"


DIM_CUSTOMER_COLUMNS = ("customer_id", "version", "state", "city", "valid_from", "valid_to", "is_current")


def _versions(dim) -> list[tuple]:
    return [tuple(utc(v) if isinstance(v, datetime) else v for v in row) for row in rows_of(dim, *DIM_CUSTOMER_COLUMNS)]


def test_dim_customer_scd2_opens_closes_and_is_idempotent(spark):
    build = lambda rows, existing=None: gold.conform_gold(  # noqa: E731
        gold.build_dim_customer(silver_df(spark, "erp_customer", rows), existing), "dim_customer").cache()
    pj = dict(person_type="PJ", document_hash="7c" * 32, birth_year=None)
    first = build([customer("CUS-00000001"), customer("CUS-00000002", **pj),
                   customer("CUS-00000004", created="2024-01-12T00:00:00"),
                   customer("CUS-00000005", created="2024-02-01T00:00:00")])
    assert _versions(first) == [
        ("CUS-00000001", 1, "SP", "São Paulo", ts("2024-01-10T09:00:00"), OPEN_END, True),
        ("CUS-00000002", 1, "SP", "São Paulo", ts("2024-01-10T09:00:00"), OPEN_END, True),
        ("CUS-00000004", 1, "SP", "São Paulo", ts("2024-01-12T00:00:00"), OPEN_END, True),
        ("CUS-00000005", 1, "SP", "São Paulo", ts("2024-02-01T00:00:00"), OPEN_END, True),
    ]
    # 1 moves; 2 is unchanged (a null birth_year stays equal); 3 is new; 4 was erased at the source (LGPD):
    # dropped with its history; 5 changes with an update stamped before its current version (+1 s).
    moved = [customer("CUS-00000001", state="RJ", city="Niterói", updated="2024-06-01T10:00:00"),
             customer("CUS-00000002", **pj), customer("CUS-00000003", created="2024-05-02T08:00:00"),
             customer("CUS-00000005", created="2024-02-01T00:00:00", updated="2024-01-01T00:00:00", city="Santos")]
    second = build(moved, first)
    assert _versions(second) == [
        ("CUS-00000001", 1, "SP", "São Paulo", ts("2024-01-10T09:00:00"), ts("2024-06-01T10:00:00"), False),
        ("CUS-00000001", 2, "RJ", "Niterói", ts("2024-06-01T10:00:00"), OPEN_END, True),
        ("CUS-00000002", 1, "SP", "São Paulo", ts("2024-01-10T09:00:00"), OPEN_END, True),
        ("CUS-00000003", 1, "SP", "São Paulo", ts("2024-05-02T08:00:00"), OPEN_END, True),
        ("CUS-00000005", 1, "SP", "São Paulo", ts("2024-02-01T00:00:00"), ts("2024-02-01T00:00:01"), False),
        ("CUS-00000005", 2, "SP", "Santos", ts("2024-02-01T00:00:01"), OPEN_END, True),
    ]
    keys_before = dict(rows_of(first, "customer_id", "customer_key"))
    keys_after = dict(rows_of(second.where("version = 1"), "customer_id", "customer_key"))
    assert all(keys_after[c] == keys_before[c] for c in ("CUS-00000001", "CUS-00000002", "CUS-00000005"))
    assert len(set(dict(rows_of(second, "customer_key", "customer_id")))) == 6
    # rerun with the same attributes (only 2's updated_at moved): no new version, identical rows and keys
    moved[1] = customer("CUS-00000002", updated="2024-09-01T00:00:00", **pj)
    third = build(moved, second)
    assert snapshot(third) == snapshot(second)
    for df in (first, second, third):
        df.unpersist()


def test_dim_policy_earning_window_and_customer_version_at_issue(spark):
    customers = silver_df(spark, "erp_customer", [customer("CUS-00000001", state="RJ",
                                                           updated="2024-06-01T10:00:00")])
    old = silver_df(spark, "erp_customer", [customer("CUS-00000001")])
    dim_customer = gold.build_dim_customer(customers, gold.build_dim_customer(old))
    policies = silver_df(spark, "erp_policy", [
        policy("POL-0000000001", "2024-03-01", "2025-02-28", "1000", issued="2024-02-20T10:00:00",
               status="cancelled", updated="2024-04-10T15:00:00"),
        policy("POL-0000000002", "2024-07-01", "2025-06-30", "500", issued="2024-06-20T10:00:00"),
        dict(policy("POL-0000000003", "2024-01-01", "2024-12-31", "500", issued="2023-12-20T10:00:00"),
             product_code="XYZ-999"),
    ])
    dim = gold.conform_gold(gold.build_dim_policy(policies, dim_customer), "dim_policy")
    keys = {r["version"]: r["customer_key"] for r in dim_customer.collect()}
    rows = {r["policy_id"]: r for r in dim.collect()}
    first, second, third = rows["POL-0000000001"], rows["POL-0000000002"], rows["POL-0000000003"]
    assert (first["term_days"], first["earning_end_date"], first["issue_month"]) == (365, d("2024-04-10"), "2024-02")
    assert (second["term_days"], second["earning_end_date"]) == (365, d("2025-06-30"))
    assert first["customer_key"] == keys[1] and second["customer_key"] == keys[2]  # the version at issue
    assert third["customer_key"] == keys[1]  # issued before gold knew the customer: the earliest version
    assert first["product_name"] == "Auto Individual" and third["product_name"] is None


# --- facts ----------------------------------------------------------------------------------------------------

def _fact_premium(spark, policies, installments=()):
    dim_customer = gold.build_dim_customer(silver_df(spark, "erp_customer", [customer("CUS-00000001")]))
    dim_policy = gold.build_dim_policy(silver_df(spark, "erp_policy", policies), dim_customer)
    fact = gold.build_fact_premium(dim_policy, silver_df(spark, "erp_premium_installment", list(installments)))
    return gold.conform_gold(fact, "fact_premium")


def test_fact_premium_written_earned_and_installments(spark):
    fact = _fact_premium(spark, [
        policy("POL-0000000001", "2025-01-15", "2026-01-14", "365.00", issued="2025-01-10T10:00:00"),
        policy("POL-0000000002", "2024-03-01", "2025-02-28", "1000.00", issued="2024-02-20T10:00:00",
               status="cancelled", updated="2024-04-10T15:00:00"),
        policy("POL-0000000003", "2024-05-31", "2024-06-07", "1.00", issued="2024-05-30T10:00:00"),
    ], [
        installment("INS-0000000001-01", "POL-0000000001", 1, "2025-01-15", "182.50", "paid", "2025-01-14"),
        installment("INS-0000000001-02", "POL-0000000001", 2, "2025-07-15", "182.50"),
        installment("INS-0000000002-01", "POL-0000000002", 1, "2024-03-01", "500.00", "paid", "2024-03-02"),
        installment("INS-0000000002-02", "POL-0000000002", 2, "2024-09-01", "500.00", "cancelled"),
    ]).cache()
    cols = ("policy_id", "month", "premiums_written", "premiums_earned", "earned_days", "installments_due_count",
            "installments_due_amount", "installments_paid_count", "installments_paid_amount")
    rows = {(r[0], r[1]): r[2:] for r in rows_of(fact, *cols)}
    one = {m: v for (p, m), v in rows.items() if p == "POL-0000000001"}
    # 2025-01-15..2026-01-14 is 365 days: 365.00 earns 1.00 a day
    assert one["2025-01"] == (money("365.00"), money("17.00"), 17, 1, money("182.50"), 1, money("182.50"))
    assert one["2025-02"] == (money("0"), money("28.00"), 28, 0, money("0"), 0, money("0"))
    assert one["2025-07"] == (money("0"), money("31.00"), 31, 1, money("182.50"), 0, money("0"))
    assert one["2026-01"][1:3] == (money("14.00"), 14)
    assert len(one) == 13 and sum(v[1] for v in one.values()) == money("365.00")
    # cancelled on 2024-04-10: earns 2024-03-01..2024-04-10 of a 365-day term, written in the issue month
    two = {m: v for (p, m), v in rows.items() if p == "POL-0000000002"}
    assert set(two) == {"2024-02", "2024-03", "2024-04"}  # the cancelled installment is ignored
    assert two["2024-02"][:2] == (money("1000.00"), money("0"))
    assert two["2024-03"][1:4] == (money("84.93"), 31, 1)     # 1000 * 31 / 365 = 84.9315...
    assert two["2024-04"][1:3] == (money("27.40"), 10)       # 1000 * 10 / 365 = 27.3972...
    # half-up per policy-month: 1.00 over 8 days -> 0.125 -> 0.13 and 0.875 -> 0.88
    three = {m: v[1] for (p, m), v in rows.items() if p == "POL-0000000003"}
    assert three == {"2024-05": money("0.13"), "2024-06": money("0.88")}
    keys = {r["policy_id"]: r["policy_key"] for r in fact.select("policy_id", "policy_key").distinct().collect()}
    assert len(set(keys.values())) == 3
    assert fact.where("date_key = 20250101 and policy_id = 'POL-0000000001'").count() == 1
    fact.unpersist()


def test_fact_claim_and_fact_market(spark):
    dim_customer = gold.build_dim_customer(silver_df(spark, "erp_customer", [customer("CUS-00000001")]))
    dim_policy = gold.build_dim_policy(silver_df(spark, "erp_policy", [
        policy("POL-0000000001", "2024-01-01", "2024-12-31", "1200", issued="2023-12-28T00:00:00")]), dim_customer)
    claims = silver_df(spark, "erp_claim", [
        claim("CLM-0000000001", "POL-0000000001", "2024-03-05", "1000", "900", "900"),
        claim("CLM-0000000002", "POL-0000000001", "2024-03-20", "500", "0", "0", status="denied"),
        claim("CLM-0000000003", "POL-0000000001", "2024-05-01", "300.10", "250.05", "0", status="opened"),
    ])
    fact = gold.conform_gold(gold.build_fact_claim(dim_policy, claims), "fact_claim")
    assert rows_of(fact, "month", "date_key", "claim_count", "claimed_amount", "incurred_amount", "paid_amount") == [
        ("2024-03", 20240301, 2, money("1500"), money("900"), money("900")),
        ("2024-05", 20240501, 1, money("300.10"), money("250.05"), money("0")),
    ]
    susep = silver_df(spark, "susep_market_statistics", [market("2024-01", COMPANY, "10"),
                                                          market("2024-01", "05177", "90")])
    fm = gold.conform_gold(gold.build_fact_market(susep, COMPANY), "fact_market")
    assert rows_of(fm, "month", "date_key", "insurer_code", "is_company", "premiums_written", "policies_in_force") == [
        ("2024-01", 20240101, "05177", False, money("90"), 10),
        ("2024-01", 20240101, COMPANY, True, money("10"), 10),
    ]


def test_surrogate_keys_are_deterministic(spark):
    policies = [policy(f"POL-000000000{i}", "2024-01-01", "2024-12-31", "100", issued="2023-12-01T00:00:00")
                for i in range(1, 5)]

    def keys(repartition: int):
        customers = silver_df(spark, "erp_customer", [customer("CUS-00000001")]).repartition(repartition)
        dim_customer = gold.build_dim_customer(customers)
        dim = gold.build_dim_policy(silver_df(spark, "erp_policy", policies[::-1]).repartition(repartition),
                                    dim_customer)
        return rows_of(dim, "policy_id", "policy_key", "customer_key", "line_key", "state_key")

    first, second = keys(1), keys(3)
    assert first == second
    expected = spark.sql("SELECT xxhash64('POL-0000000001') AS k, xxhash64('0531') AS l, xxhash64('SP') AS s").first()
    assert first[0][1] == expected["k"] and first[0][3] == expected["l"] and first[0][4] == expected["s"]
    micros = int(ts("2024-01-10T09:00:00").timestamp() * 1_000_000)
    assert first[0][2] == spark.sql(f"SELECT xxhash64('CUS-00000001', {micros}L) AS k").first()["k"]


# --- KPIs -----------------------------------------------------------------------------------------------------

def test_kpi_loss_ratio(spark):
    premium = spark.createDataFrame([
        ("2025-01", "0531", "SP", money("17.00"), money("365.00")),
        ("2025-01", "0531", "SP", money("13.00"), money("0")),
        ("2025-02", "0531", "SP", money("28.00"), money("0")),
        ("2025-01", "0114", "RJ", money("0"), money("0")),          # installment-only cell: earned 0
        ("2025-01", "0993", "MG", money("3.00"), money("0")),
    ], "month string, line_of_business string, state string, premiums_earned decimal(18,2), "
       "premiums_written decimal(18,2)")
    claims = spark.createDataFrame([
        ("2025-01", "0531", "SP", 2, money("15.00")),
        ("2025-01", "0114", "RJ", 1, money("50.00")),
        ("2025-03", "0531", "SP", 1, money("10.00")),                # claims, no premium row
        ("2025-01", "0993", "MG", 1, money("2.00")),
    ], "month string, line_of_business string, state string, claim_count int, incurred_amount decimal(18,2)")
    kpi = gold.conform_gold(gold.build_kpi_loss_ratio(premium, claims), "kpi_loss_ratio")
    assert rows_of(kpi, "month", "line_of_business", "state", "claim_count", "claims_incurred", "premiums_earned",
                   "loss_ratio") == [
        ("2025-01", "0114", "RJ", 1, money("50.00"), money("0"), None),
        ("2025-01", "0531", "SP", 2, money("15.00"), money("30.00"), Decimal("0.500000")),
        ("2025-01", "0993", "MG", 1, money("2.00"), money("3.00"), Decimal("0.666667")),   # half-up
        ("2025-02", "0531", "SP", 0, money("0"), money("28.00"), Decimal("0.000000")),
        ("2025-03", "0531", "SP", 1, money("10.00"), money("0"), None),
    ]
    assert kpi.where("date_key = 20250101").count() == 3


def test_kpi_market_share(spark):
    premium = spark.createDataFrame([
        ("2025-01", "0531", "SP", money("300.00")),
        ("2025-01", "0531", "SP", money("100.00")),
        ("2025-02", "0531", "SP", money("0")),           # earned-only row: not a market-share cell by itself
        ("2025-01", "0531", "RJ", money("50.00")),       # no SUSEP data for RJ
        ("2025-01", "0993", "SP", money("10.00")),
    ], "month string, line_of_business string, state string, premiums_written decimal(18,2)")
    fm = gold.build_fact_market(silver_df(spark, "susep_market_statistics", [
        market("2025-01", COMPANY, "400.00"), market("2025-01", "05177", "1000.00"),
        market("2025-01", "06238", "600.00"),
        market("2025-01", "05177", "500.00", line="0114"),                 # company absent from the cell
        market("2025-01", COMPANY, "10.00", line="0993"), market("2025-01", "05908", "20.00", line="0993"),
        market("2025-01", "05177", "0", line="0118"),                      # market total 0
    ]), COMPANY)
    kpi = gold.conform_gold(gold.build_kpi_market_share(premium, fm), "kpi_market_share")
    assert rows_of(kpi, "month", "line_of_business", "state", "company_premiums_written", "market_premiums_written",
                   "market_insurers", "company_susep_premiums_written", "market_share") == [
        ("2025-01", "0114", "SP", money("0"), money("500.00"), 1, None, Decimal("0.000000")),
        ("2025-01", "0118", "SP", money("0"), money("0"), 1, None, None),
        ("2025-01", "0531", "RJ", money("50.00"), None, 0, None, None),
        ("2025-01", "0531", "SP", money("400.00"), money("2000.00"), 3, money("400.00"), Decimal("0.200000")),
        ("2025-01", "0993", "SP", money("10.00"), money("30.00"), 2, money("10.00"), Decimal("0.333333")),
    ]


# --- the quality gate: every check of a table in one aggregation ------------------------------------------------

def test_folded_checks_detect_duplicates_nulls_orphans_and_count_rows(spark):
    from lakehouse.quality import TableChecks, Unique, run_checks

    dim = spark.createDataFrame([(1, "a"), (2, "b"), (2, "b2"), (None, "c")], "k bigint, name string")
    fact = spark.createDataFrame([("x", 1, 10), ("x", 1, None), ("y", 3, 30), ("z", 3, 31), ("w", None, 40)],
                                 "id string, fk bigint, amount int")
    dim_out, fact_out, clean = run_checks([
        TableChecks(dim, table="dim", uniques=(Unique("dim.unique(k)", ("k",)),), not_null=("dim.not_null", ("k", "name"))),
        TableChecks(fact, table="fact", uniques=(Unique("fact.unique(id)", ("id",)),),
                    not_null=("fact.not_null", ("id", "amount")), references=(("fk", dim, "dim", "k"),)),
        TableChecks(dim.where("k = 1"), table="one", uniques=(Unique("one.unique(k)", ("k",)),),
                    not_null=("one.not_null", ("k",))),
    ])
    assert dim_out.rows == 4 and fact_out.rows == 5 and clean.rows == 1
    unique, not_null = dim_out.results
    assert (unique.name, unique.passed, unique.observed) == ("dim.unique(k)", False, {"duplicated_keys": 1})
    assert unique.message == "1 duplicated keys on (k)"
    assert (not_null.passed, not_null.observed, not_null.message) == (False, {"nulls": {"k": 1, "name": 0}},
                                                                         "nulls: {'k': 1}")
    unique, not_null, orphan = fact_out.results
    assert (unique.passed, unique.observed) == (False, {"duplicated_keys": 1})  # "x" twice
    assert (not_null.passed, not_null.observed) == (False, {"nulls": {"id": 0, "amount": 1}})
    # 3 is missing from dim (two rows, one distinct value); a null fk is no orphan; the duplicated dim key 2
    # does not multiply the fact's rows
    assert (orphan.name, orphan.passed, orphan.observed) == ("fact.fk->dim.k", False, {"orphan_keys": 1})
    assert orphan.message == "1 fk values missing from the dimension"
    assert all(r.passed for r in clean.results)
    assert [r.message for r in clean.results] == ["0 duplicated keys on (k)", "no nulls in 1 columns"]


def test_folded_unique_among_some_rows(spark):
    from lakehouse.quality import TableChecks, Unique, check_not_null, check_references_of, check_unique, run_checks

    versions = spark.createDataFrame([(1, "c1", True), (2, "c1", False), (3, "c2", True), (4, "c2", True),
                                      (5, "c3", False), (6, "c3", False)],
                                     "customer_key bigint, customer_id string, is_current boolean")
    (outcome,) = run_checks([TableChecks(versions, uniques=(
        Unique("pk", ("customer_key",)), Unique("one_current", ("customer_id",), "is_current")))])
    assert outcome.rows == 6
    assert [(r.name, r.passed, r.observed) for r in outcome.results] == [
        ("pk", True, {"duplicated_keys": 0}), ("one_current", False, {"duplicated_keys": 1})]  # c2
    assert check_unique("u", versions, ["customer_id"]).observed == {"duplicated_keys": 3}
    assert check_unique("u", versions, ["customer_id", "customer_key"]).passed
    assert check_not_null("n", versions, ["customer_id"]).passed
    assert check_references_of("t", versions, []) == []
    with pytest.raises(ValueError, match="must cover every row"):
        run_checks([TableChecks(versions, uniques=(Unique("u", ("customer_id",), "is_current"),))])


def test_gold_gate_on_a_second_current_version(spark):
    customers = silver_df(spark, "erp_customer", [customer("CUS-00000001"), customer("CUS-00000002")])
    silver = {
        "erp_customer": customers,
        "erp_policy": silver_df(spark, "erp_policy", [
            policy("POL-0000000001", "2024-01-01", "2024-12-31", "1200", issued="2024-01-11T00:00:00")]),
        "erp_premium_installment": silver_df(spark, "erp_premium_installment", []),
        "erp_claim": silver_df(spark, "erp_claim", []),
        "susep_market_statistics": silver_df(spark, "susep_market_statistics", [market("2024-01", COMPANY, "1200")]),
    }
    tables = gold.build_gold(silver)
    rows, results = gold.quality_checks(tables)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    assert rows["dim_customer"] == 2 and rows["dim_policy"] == 1 and rows["dim_state"] == len(ref.STATES)
    names = [r.name for r in results]
    assert names[:3] == [f"{GOLD_TABLES[0].name}.schema", f"{GOLD_TABLES[0].name}.unique(date_key)",
                         f"{GOLD_TABLES[0].name}.not_null"]
    assert names.index("dim_customer.one_current_version") == 3 * len(GOLD_TABLES)
    assert names[3 * len(GOLD_TABLES) + 1] == "dim_customer.state->dim_state.state"
    # a second current version of CUS-00000001 (another valid_from: another customer_key)
    from pyspark.sql import functions as F
    dim = tables["dim_customer"]
    second = dim.where("customer_id = 'CUS-00000001'").withColumn("customer_key", F.lit(7).cast("bigint"))
    rows, results = gold.quality_checks({**tables, "dim_customer": dim.unionByName(second)})
    failed = {r.name: r for r in results if not r.passed}
    assert set(failed) == {"dim_customer.one_current_version"}, failed
    assert failed["dim_customer.one_current_version"].observed == {"duplicated_keys": 1}
    assert rows["dim_customer"] == 3



def test_kept_gold_tables_over_an_existing_dim_customer(spark, tmp_path):
    """build_gold with ``persist`` (each table computed and kept as it is built, its lineage cut) gives the
    same tables as without, on a second run over the previous dim_customer (read back from Parquet, as the
    job does) with a customer who changed, one who is new and one who is gone, and they pass the gate.
    (The job's own second run, ``generated_run``, is where cut lineages once tripped the analyzer in
    dim_policy's join of the policies with the customer version picked from them.)"""
    def silver(customers, policies):
        return {"erp_customer": silver_df(spark, "erp_customer", customers),
                "erp_policy": silver_df(spark, "erp_policy", policies),
                "erp_premium_installment": silver_df(spark, "erp_premium_installment", [
                    installment("INS-0000000001-01", "POL-0000000001", 1, "2024-03-01", "500", paid="2024-03-02")]),
                "erp_claim": silver_df(spark, "erp_claim", [
                    claim("CLM-0000000001", "POL-0000000001", "2024-04-05", "100", "90", "0")]),
                "susep_market_statistics": silver_df(spark, "susep_market_statistics", [
                    market("2024-03", COMPANY, "1200"), market("2024-03", "05444", "3000")])}

    first = silver([customer("CUS-00000001"), customer("CUS-00000002")],
                   [policy("POL-0000000001", "2024-03-01", "2025-02-28", "1000", issued="2024-02-20T10:00:00")])
    previous = gold.build_gold(first, persist=True)
    try:
        previous["dim_customer"].write.parquet(str(tmp_path / "dim_customer"))
    finally:
        gold.release(previous)
    existing = spark.read.parquet(str(tmp_path / "dim_customer"))
    second = silver([customer("CUS-00000001", state="RJ", updated="2024-06-01T10:00:00"),
                     customer("CUS-00000003", created="2024-05-02T08:00:00")],
                    [policy("POL-0000000001", "2024-03-01", "2025-02-28", "1000", issued="2024-02-20T10:00:00"),
                     policy("POL-0000000002", "2024-07-01", "2025-06-30", "500", issued="2024-06-20T10:00:00"),
                     policy("POL-0000000003", "2024-07-01", "2025-06-30", "700", issued="2024-06-20T10:00:00",
                            cid="CUS-00000003")])
    kept = gold.build_gold(second, existing, persist=True)
    try:
        plain = gold.build_gold(second, existing)
        for name, df in kept.items():
            assert snapshot(df) == snapshot(plain[name]), name
        assert rows_of(kept["dim_customer"], "customer_id", "version", "is_current") == [
            ("CUS-00000001", 1, False), ("CUS-00000001", 2, True), ("CUS-00000003", 1, True)]
        rows, results = gold.quality_checks(kept)
        assert all(r.passed for r in results), [r for r in results if not r.passed]
        assert rows["dim_policy"] == 3 and rows["dim_customer"] == 3
    finally:
        gold.release(kept)

# --- the job, end to end on file:// paths ---------------------------------------------------------------------

SILVER_PARTITIONS = {"erp_customer": ("created_month", "created_at"), "erp_policy": ("issued_month", "issued_at"),
                     "erp_premium_installment": ("due_month", "due_date"),
                     "erp_claim": ("occurrence_month", "occurrence_date"),
                     "susep_market_statistics": ("reference_month", None)}


def write_silver(spark, root: Path, tables: dict[str, list[dict]], deleted: dict[str, list[dict]] | None = None):
    """Silver as bronze->silver writes it: Parquet per table, partitioned by month, with an ``op`` column."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    for name, rows in tables.items():
        location, _ = gold.SILVER_INPUTS[name]
        schema = gold.silver_schema(name)
        data = [(*(r.get(f.name) for f in schema.fields), "upsert") for r in rows]
        data += [(*(r.get(f.name) for f in schema.fields), "delete") for r in (deleted or {}).get(name, [])]
        df = spark.createDataFrame(data, T.StructType([*schema.fields, T.StructField("op", T.StringType())]))
        partition, source = SILVER_PARTITIONS[name]
        if source is not None:
            df = df.withColumn(partition, F.date_format(source, "yyyy-MM"))
        df.coalesce(1).write.mode("overwrite").partitionBy(partition).parquet(str(root / location))


def silver_from_generator(records) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """(upserts, deletes) per silver table: the latest event per business key, as JSON values."""
    latest: dict = {}
    for index, record in enumerate(records):
        if not record.is_valid:
            continue
        env = json.loads(record.payload)
        contract = REGISTRY[(env["source"], env["entity"])]
        key = (f"{env['source']}_{env['entity']}", tuple(env["data"][f] for f in contract.business_key))
        if key not in latest or (env["event_time"], index) >= latest[key][:2]:
            latest[key] = (env["event_time"], index, env["op"], env["data"])
    upserts: dict[str, list[dict]] = {name: [] for name in gold.SILVER_INPUTS}
    deletes: dict[str, list[dict]] = {name: [] for name in gold.SILVER_INPUTS}
    for (table, _), (_, _, op, data) in sorted(latest.items(), key=lambda kv: kv[1][1]):
        (upserts if op == "upsert" else deletes)[table].append(protected(table, data))
    return upserts, deletes


def protected(table: str, data: dict) -> dict:
    """A record's data as silver stores it: personal fields as lakehouse.silver_tables.PROTECTION says."""
    from lakehouse.bronze_silver.privacy import pseudonym
    from lakehouse.silver_tables import GENERALIZED_YEAR, KEYED_HASH, PROTECTION

    source, entity = table.split("_", 1)
    out = dict(data)
    for name, how in PROTECTION.get((source, entity), {}).items():
        value = out.pop(name, None)
        if how.kind == KEYED_HASH:
            out[how.column] = pseudonym(b"test-key-" * 4, value)
        elif how.kind == GENERALIZED_YEAR:
            out[how.column] = int(value[:4]) if value else None
    return out


def typed(table: str, data: dict) -> dict:
    out = {}
    for name, type_ in gold.SILVER_INPUTS[table][1]:
        value = data.get(name)
        if value is None:
            out[name] = None
        elif type_ == "date":
            out[name] = d(value)
        elif type_ == "timestamp":
            out[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif type_.startswith("decimal"):
            out[name] = money(value)
        else:
            out[name] = value
    return out


def expected_kpis(upserts: dict[str, list[dict]]) -> tuple[dict, dict]:
    """kpi_loss_ratio and kpi_market_share recomputed in plain Python from the documented formulas."""
    policies = {p["policy_id"]: p for p in upserts["erp_policy"]}
    earned: dict = defaultdict(Decimal)
    written: dict = defaultdict(Decimal)
    premium_cells, claim_cells = set(), set()
    for p in policies.values():
        cell = lambda month, p=p: (month, p["line_of_business"], p["state"])  # noqa: E731
        start, end = d(p["start_date"]), d(p["end_date"])
        term = (end - start).days + 1
        stop = min(end, d(p["updated_at"][:10])) if p["status"] == "cancelled" else end
        premium = money(p["annual_premium"])
        written[cell(p["issued_at"][:7])] += premium
        premium_cells.add(cell(p["issued_at"][:7]))
        first = date(start.year, start.month, 1)
        while term > 0 and first <= stop:
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            days = (min(stop, following - timedelta(days=1)) - max(start, first)).days + 1
            earned[cell(first.isoformat()[:7])] += (premium * days / term).quantize(CENT, ROUND_HALF_UP)
            premium_cells.add(cell(first.isoformat()[:7]))
            first = following
    for i in upserts["erp_premium_installment"]:
        if i["status"] != "cancelled":
            p = policies[i["policy_id"]]
            premium_cells.add((i["due_date"][:7], p["line_of_business"], p["state"]))
    incurred: dict = defaultdict(Decimal)
    for c in upserts["erp_claim"]:
        p = policies[c["policy_id"]]
        cell = (c["occurrence_date"][:7], p["line_of_business"], p["state"])
        incurred[cell] += money(c["incurred_amount"])
        claim_cells.add(cell)
    loss_ratio = {}
    for cell in premium_cells | claim_cells:
        e, i = earned.get(cell, Decimal(0)), incurred.get(cell, Decimal(0))
        loss_ratio[cell] = (e, i, (i / e).quantize(MICRO, ROUND_HALF_UP) if e != 0 else None)
    total: dict = defaultdict(Decimal)
    for row in upserts["susep_market_statistics"]:
        total[(row["reference_month"], row["line_of_business"], row["state"])] += money(row["premiums_written"])
    share = {}
    for cell in set(total) | {c for c, w in written.items() if w > 0}:
        w, m = written.get(cell, Decimal(0)), total.get(cell)
        share[cell] = (w, m, (w / m).quantize(MICRO, ROUND_HALF_UP) if m is not None and m > 0 else None)
    return loss_ratio, share


def published(root: Path, state: Path | None = None):
    """The publication record of the gold job run with ``--state_path <root>/state``."""
    from lakehouse import gold_publication

    return gold_publication.load(f"file://{state or root.parent / 'state'}")


def read_gold(spark, root: Path, state: Path | None = None) -> dict[str, list[tuple]]:
    """Every gold table from its PUBLISHED copy (what the catalog would point at)."""
    from lakehouse import gold_publication

    pub = published(root, state)
    out = {}
    for spec in GOLD_TABLES:
        uri = gold_publication.table_location(pub, f"file://{root}", spec.location)
        df = spark.read.parquet(uri).select(*column_names(spec))
        out[spec.name] = snapshot(df)
    return out


@pytest.fixture(scope="module")
def generated_run(spark, tmp_path_factory):
    """The job run twice on silver made from the generator's records; gold read back after each run."""
    from glue_jobs import silver_to_gold

    root = tmp_path_factory.mktemp("silver_to_gold")
    upserts, deletes = silver_from_generator(generate(600, seed=7))
    assert deletes["erp_customer"] and upserts["erp_claim"] and upserts["susep_market_statistics"]
    write_silver(spark, root / "silver", {t: [typed(t, r) for r in rows] for t, rows in upserts.items()},
                 {t: [typed(t, r) for r in rows] for t, rows in deletes.items()})
    argv = ["silver_to_gold.py", "--silver_path", f"file://{root}/silver", "--gold_path", f"file://{root}/gold",
            "--reports_path", f"file://{root}/reports", "--state_path", f"file://{root}/state"]
    first_report = silver_to_gold.main(argv)
    first = read_gold(spark, root / "gold")
    second_report = silver_to_gold.main(argv)
    second = read_gold(spark, root / "gold")
    return {"root": root, "upserts": upserts, "deletes": deletes, "first": first, "second": second,
            "reports": (first_report, second_report)}


def test_job_rerun_gives_identical_gold(generated_run):
    first, second = generated_run["first"], generated_run["second"]
    assert all(first[name] for name in first), [name for name in first if not first[name]]
    assert first == second
    root = generated_run["root"]
    pub = published(root / "gold")
    assert pub.published.generation == 2 and [g.generation for g in pub.history] == [1] and pub.pending is None
    copies = sorted(p.name for p in (root / "gold" / "runs").iterdir())
    assert copies == sorted(g.prefix.split("/")[1] for g in (pub.published, *pub.history))
    fact_premium = root / "gold" / pub.published.prefix / "fact_premium"
    months = sorted(p.name for p in fact_premium.iterdir() if p.name.startswith("month="))
    assert months[0] == "month=2024-01"
    a, b = generated_run["reports"]
    assert a.passed and b.passed and a.run_id == b.run_id and a.run_id.startswith("auto-")
    report = json.loads((root / "reports" / "silver_to_gold" / f"run_id={a.run_id}" / "report.json").read_text())
    assert report["passed"] and report["job"] == "silver_to_gold"
    assert report["counts"]["gold_rows"]["dim_policy"] == len(generated_run["upserts"]["erp_policy"])
    assert b.counts["previous_dim_customer"] and not a.counts["previous_dim_customer"]
    from glue_jobs import silver_to_gold
    assert silver_to_gold.run_counts(a) == {RECORDS_OUT: sum(report["counts"]["gold_rows"].values())}


def test_job_gold_matches_plain_python_recomputation(generated_run):
    gold_rows, upserts = generated_run["first"], generated_run["upserts"]
    customers = {r[1] for r in gold_rows["dim_customer"]}
    assert customers == {c["customer_id"] for c in upserts["erp_customer"]}  # deleted ones are not there
    assert not customers & {c["customer_id"] for c in generated_run["deletes"]["erp_customer"]}
    loss_ratio, share = expected_kpis(upserts)
    names = column_names(next(t for t in GOLD_TABLES if t.name == "kpi_loss_ratio"))
    got = {}
    for row in gold_rows["kpi_loss_ratio"]:
        r = dict(zip(names, row))
        got[(r["month"], r["line_of_business"], r["state"])] = (r["premiums_earned"], r["claims_incurred"],
                                                                 r["loss_ratio"])
    assert got == loss_ratio
    assert any(v[1] > 0 for v in got.values())
    names = column_names(next(t for t in GOLD_TABLES if t.name == "kpi_market_share"))
    got = {}
    for row in gold_rows["kpi_market_share"]:
        r = dict(zip(names, row))
        got[(r["month"], r["line_of_business"], r["state"])] = (r["company_premiums_written"],
                                                                 r["market_premiums_written"], r["market_share"])
    assert got == share
    assert any(v[2] is not None and v[2] > 0 for v in got.values())


def test_gate_blocks_writing_on_an_orphan_foreign_key(spark, tmp_path, capsys):
    from glue_jobs import silver_to_gold

    write_silver(spark, tmp_path / "silver", {
        "erp_customer": [customer("CUS-00000001")],
        "erp_policy": [policy("POL-0000000001", "2024-01-01", "2024-12-31", "1200", issued="2023-12-28T00:00:00")],
        "erp_premium_installment": [installment("INS-0000000001-01", "POL-0000000001", 1, "2024-01-01", "1200")],
        "erp_claim": [claim("CLM-0000000001", "POL-0000000099", "2024-03-05", "100", "90", "0", "opened")],
        "susep_market_statistics": [market("2024-01", COMPANY, "1200")],
    })
    argv = ["x", "--silver_path", f"file://{tmp_path}/silver", "--gold_path", f"file://{tmp_path}/gold",
            "--reports_path", f"file://{tmp_path}/reports", "--run_id", "orphan-test"]  # state: <gold>/_state/
    capsys.readouterr()
    with pytest.raises(QualityGateFailed, match="fact_claim.policy_key->dim_policy.policy_key"):
        silver_to_gold.main(argv)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    verdict, summary = lines[-2:]  # the verdict, then the one run summary: a failed run, with its run id
    assert (verdict["event"], verdict["level"], verdict["passed"], verdict["run_id"]) == (
        "data quality checked", "ERROR", False, "orphan-test")
    assert "fact_claim.policy_key->dim_policy.policy_key" in verdict["failed_checks"]
    points = {p.name: p.value for p in emf.parse(json.dumps(summary))}
    assert (points[RUN_FAILED], summary["run_id"], summary["service"]) == (1, "orphan-test", "silver_to_gold")
    assert summary["error"].startswith("QualityGateFailed") and RECORDS_OUT not in points
    assert not (tmp_path / "gold").exists() or not any((tmp_path / "gold").rglob("*"))
    report = json.loads((tmp_path / "reports" / "silver_to_gold" / "run_id=orphan-test" / "report.json").read_text())
    failed = {c["name"] for c in report["checks"] if not c["passed"]}
    assert not report["passed"]
    assert {"fact_claim.policy_key->dim_policy.policy_key", "fact_claim.not_null"} <= failed
    assert not any(name.startswith(("fact_premium.", "dim_")) for name in failed), failed


def test_a_policy_of_a_deleted_customer_is_no_orphan(spark, tmp_path):
    """A customer deleted or erased (a silver tombstone) leaves gold with all its versions; its policy stays,
    still naming it, with no customer version: the gate accepts that, and still refuses a policy whose
    customer silver never held."""
    from glue_jobs import silver_to_gold

    tables = {
        "erp_customer": [customer("CUS-00000001")],
        "erp_policy": [policy("POL-0000000001", "2024-01-01", "2024-12-31", "1200", issued="2023-12-28T00:00:00"),
                       policy("POL-0000000002", "2024-01-01", "2024-12-31", "600", issued="2023-12-28T00:00:00",
                              cid="CUS-00000002")],
        "erp_premium_installment": [installment("INS-0000000001-01", "POL-0000000001", 1, "2024-01-01", "1200"),
                                    installment("INS-0000000002-01", "POL-0000000002", 1, "2024-01-01", "600")],
        "erp_claim": [],
        "susep_market_statistics": [market("2024-01", COMPANY, "1800")],
    }
    argv = ["x", "--silver_path", f"file://{tmp_path}/silver", "--gold_path", f"file://{tmp_path}/gold",
            "--reports_path", f"file://{tmp_path}/reports", "--state_path", f"file://{tmp_path}/state",
            "--run_id", "deleted-customer"]
    write_silver(spark, tmp_path / "silver", tables)
    with pytest.raises(QualityGateFailed, match=r"dim_policy.customer_id->dim_customer.customer_id"):
        silver_to_gold.main(argv)
    tombstones = tmp_path / "silver" / "_tombstones" / "erp" / "customer" / "run_id=r1"
    spark.createDataFrame([("CUS-00000002",)], "customer_id string").write.parquet(str(tombstones))
    silver_to_gold.main(argv)
    from lakehouse import gold_publication

    location = gold_publication.table_location(published(tmp_path / "gold"), f"file://{tmp_path}/gold", "dim_policy/")
    policies = {r.policy_id: r for r in spark.read.parquet(location).collect()}
    assert (policies["POL-0000000002"].customer_id, policies["POL-0000000002"].customer_key) == ("CUS-00000002", None)
    assert policies["POL-0000000001"].customer_key is not None
