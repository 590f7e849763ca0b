"""The gold layer's tables: a star schema over the company's ERP and the SUSEP market, plus two KPI tables.

Dimensions (full overwrite, unpartitioned): ``dim_date``, ``dim_insurer``, ``dim_line_of_business``,
``dim_state``, ``dim_customer`` (type 2 history) and ``dim_policy``. Facts and KPIs are partitioned by
``month`` (``yyyy-MM``, written with dynamic partition overwrite) with Athena partition projection.
How every column is computed is documented in :mod:`lakehouse.gold`.

Besides :data:`GOLD_TABLES`, this module declares what the silver->gold data-quality gate checks:
:data:`FOREIGN_KEYS` (every fact/dimension reference) and :data:`NULLABLE` (the only columns allowed to be
null; every other column is required); each table's ``primary_key`` must be unique. (The dimensions'
surrogate keys hash their natural keys, so a unique surrogate key also means a unique natural key.)
Standard library only (no Spark): the Terraform synth imports it.
"""
from __future__ import annotations

from lakehouse.catalog_spec import Column, PartitionProjection, TableSpec
from lakehouse.silver_tables import contract_columns, silver_table

KEY = "bigint"                 # surrogate keys: xxhash64 of the natural key (see lakehouse.gold)
MONEY = "decimal(18,2)"
RATIO = "decimal(18,6)"

# Same window as silver (lakehouse.silver_tables: nothing before 1990-01; installments fall due up to ten
# years ahead): facts hold earning schedules and installments due after the last event.
MONTH_RANGE = "1990-01,NOW+10YEARS"
MONTH = Column("month", "string", "Calendar month, yyyy-MM (partition)")
MONTH_PROJECTION = {"month": PartitionProjection(kind="date", range=MONTH_RANGE, format="yyyy-MM",
                                                 interval_unit="MONTHS")}


def _c(name: str, type_: str, comment: str = "") -> Column:
    return Column(name, type_, comment)


def _dim(name: str, description: str, columns: tuple[Column, ...], primary_key: tuple[str, ...]) -> TableSpec:
    return TableSpec(layer="gold", name=name, location=f"{name}/", columns=columns, description=description,
                     primary_key=primary_key)


def _fact(name: str, description: str, columns: tuple[Column, ...], primary_key: tuple[str, ...]) -> TableSpec:
    return TableSpec(layer="gold", name=name, location=f"{name}/", columns=columns, partition_keys=(MONTH,),
                     projection=dict(MONTH_PROJECTION), description=description, primary_key=primary_key)


_FACT_KEYS = (
    _c("date_key", "int", "First day of the month, yyyymmdd (dim_date)"),
    _c("policy_key", KEY, "dim_policy"),
    _c("customer_key", KEY, "dim_customer version in effect when the policy was issued (null: customer deleted)"),
    _c("line_key", KEY, "dim_line_of_business"),
    _c("state_key", KEY, "dim_state (state of the insured risk)"),
    _c("policy_id", "string", "ERP policy id"),
    _c("line_of_business", "string", "SUSEP ramo code"),
    _c("state", "string", "UF of the insured risk"),
)

DIM_DATE = _dim("dim_date", "Calendar, one row per day over the range of the data (whole months).", (
    _c("date_key", "int", "yyyymmdd"),
    _c("date", "date"),
    _c("year", "int"),
    _c("quarter", "int", "1..4"),
    _c("month", "int", "1..12"),
    _c("month_name", "string", "pt-BR: Janeiro..Dezembro"),
    _c("year_month", "string", "yyyy-MM (the facts' month)"),
    _c("day", "int", "Day of the month"),
    _c("day_of_week", "int", "ISO: 1 = Monday .. 7 = Sunday"),
    _c("day_name", "string", "pt-BR: Segunda-feira..Domingo"),
    _c("week_of_year", "int", "ISO week"),
    _c("is_weekend", "boolean"),
    _c("is_month_start", "boolean"),
    _c("is_month_end", "boolean"),
), ("date_key",))

DIM_INSURER = _dim("dim_insurer", "Insurers of the SUSEP statistics and the reference list; is_company flags ours.", (
    _c("insurer_key", KEY, "xxhash64(insurer_code)"),
    _c("insurer_code", "string", "SUSEP FIP code (5 digits)"),
    _c("insurer_name", "string"),
    _c("is_company", "boolean", "The company whose ERP feeds the platform"),
), ("insurer_key",))

DIM_LINE_OF_BUSINESS = _dim("dim_line_of_business", "SUSEP lines of business (ramos) the platform knows.", (
    _c("line_key", KEY, "xxhash64(line_of_business)"),
    _c("line_of_business", "string", "SUSEP ramo code (4 digits)"),
    _c("line_name", "string"),
    _c("group_code", "string", "SUSEP group (first 2 digits)"),
    _c("group_name", "string"),
), ("line_key",))

DIM_STATE = _dim("dim_state", "Brazilian federative units.", (
    _c("state_key", KEY, "xxhash64(state)"),
    _c("state", "string", "UF"),
    _c("state_name", "string"),
    _c("region", "string", "Norte, Nordeste, Centro-Oeste, Sudeste, Sul"),
), ("state_key",))

DIM_CUSTOMER = _dim("dim_customer", "ERP customers, type 2 history of the tracked attributes.", (
    _c("customer_key", KEY, "xxhash64(customer_id, unix_micros(valid_from))"),
    _c("customer_id", "string"),
    _c("person_type", "string", "PF / PJ (tracked)"),
    _c("document_hash", "string", "CPF / CNPJ as its keyed hash (silver's pseudonym; tracked)"),
    _c("birth_year", "int", "Year of birth (PF; tracked)"),
    _c("state", "string", "Address UF (tracked)"),
    _c("city", "string", "Address city (tracked)"),
    _c("created_at", "timestamp", "Creation time in the ERP"),
    _c("version", "int", "1, 2, ... in valid_from order"),
    _c("valid_from", "timestamp", "Inclusive"),
    _c("valid_to", "timestamp", "Exclusive; 9999-12-31 00:00:00 for the current version"),
    _c("is_current", "boolean"),
), ("customer_key",))

DIM_POLICY = _dim("dim_policy", "ERP policies (type 1: the latest silver version).", (
    _c("policy_key", KEY, "xxhash64(policy_id)"),
    _c("policy_id", "string"),
    _c("customer_id", "string"),
    _c("customer_key", KEY, "dim_customer version in effect at issued_at (null: customer deleted)"),
    _c("line_key", KEY),
    _c("line_of_business", "string"),
    _c("product_code", "string"),
    _c("product_name", "string"),
    _c("state_key", KEY),
    _c("state", "string", "UF of the insured risk"),
    _c("start_date", "date"),
    _c("end_date", "date"),
    _c("term_days", "int", "end_date - start_date + 1 (both inclusive)"),
    _c("earning_end_date", "date", "Last earning day: end_date, or the cancellation date if cancelled earlier"),
    _c("sum_insured", MONEY),
    _c("annual_premium", MONEY),
    _c("status", "string"),
    _c("issued_at", "timestamp"),
    _c("issue_month", "string", "yyyy-MM of issued_at (UTC): where premiums_written is booked"),
    _c("updated_at", "timestamp"),
), ("policy_key",))

FACT_PREMIUM = _fact("fact_premium", "Premiums per month x policy: written, earned (pro rata), installments.", (
    *_FACT_KEYS,
    _c("premiums_written", MONEY, "annual_premium in the issue month, else 0"),
    _c("premiums_earned", MONEY, "round_half_up(annual_premium x earned_days / term_days, 2)"),
    _c("earned_days", "int", "Days of the earning window inside the month"),
    _c("installments_due_count", "int", "Installments due in the month (not cancelled)"),
    _c("installments_due_amount", MONEY),
    _c("installments_paid_count", "int", "Of those, paid (paid_date not null)"),
    _c("installments_paid_amount", MONEY),
), ("month", "policy_key"))

FACT_CLAIM = _fact("fact_claim", "Claims per month of occurrence x policy.", (
    *_FACT_KEYS,
    _c("claim_count", "int"),
    _c("claimed_amount", MONEY),
    _c("incurred_amount", MONEY),
    _c("paid_amount", MONEY),
), ("month", "policy_key"))

FACT_MARKET = _fact("fact_market", "SUSEP market statistics per month x insurer x line x state.", (
    _c("date_key", "int", "First day of the month, yyyymmdd"),
    _c("insurer_key", KEY),
    _c("line_key", KEY),
    _c("state_key", KEY),
    _c("insurer_code", "string"),
    _c("line_of_business", "string"),
    _c("state", "string"),
    _c("is_company", "boolean"),
    _c("premiums_written", MONEY),
    _c("premiums_earned", MONEY),
    _c("claims_incurred", MONEY),
    _c("claims_paid", MONEY),
    _c("commission_expenses", MONEY),
    _c("policies_in_force", "bigint"),
), ("month", "insurer_code", "line_of_business", "state"))

KPI_LOSS_RATIO = _fact("kpi_loss_ratio", "Company loss ratio (ERP): incurred claims / earned premiums.", (
    _c("date_key", "int"),
    _c("line_key", KEY),
    _c("state_key", KEY),
    _c("line_of_business", "string"),
    _c("state", "string"),
    _c("claim_count", "bigint"),
    _c("claims_incurred", MONEY, "sum of fact_claim.incurred_amount"),
    _c("premiums_earned", MONEY, "sum of fact_premium.premiums_earned"),
    _c("loss_ratio", RATIO, "round_half_up(claims_incurred / premiums_earned, 6); null when earned = 0"),
), ("month", "line_of_business", "state"))

KPI_MARKET_SHARE = _fact("kpi_market_share", "Company market share: ERP written premiums / SUSEP market total.", (
    _c("date_key", "int"),
    _c("line_key", KEY),
    _c("state_key", KEY),
    _c("line_of_business", "string"),
    _c("state", "string"),
    _c("company_premiums_written", MONEY, "sum of fact_premium.premiums_written (ERP)"),
    _c("market_premiums_written", MONEY, "SUSEP, all insurers incl. the company; null without SUSEP rows"),
    _c("market_insurers", "int", "Insurers with a SUSEP row in the cell"),
    _c("company_susep_premiums_written", MONEY, "The company's own SUSEP row; null when absent"),
    _c("market_share", RATIO, "round_half_up(company / market, 6); null when market is null or <= 0"),
), ("month", "line_of_business", "state"))

GOLD_TABLES: tuple[TableSpec, ...] = (
    DIM_DATE, DIM_INSURER, DIM_LINE_OF_BUSINESS, DIM_STATE, DIM_CUSTOMER, DIM_POLICY,
    FACT_PREMIUM, FACT_CLAIM, FACT_MARKET, KPI_LOSS_RATIO, KPI_MARKET_SHARE,
)
GOLD_TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in GOLD_TABLES}

# Dimensions whose size is bounded by a calendar or a reference list (not by the business): written as one
# file each by silver->gold, copied to every node of the warehouse (Redshift DISTSTYLE ALL).
SMALL_TABLES: frozenset[str] = frozenset({"dim_date", "dim_insurer", "dim_line_of_business", "dim_state"})

# (table, column, referenced table, referenced column): checked by the quality gate (no orphans).
FOREIGN_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("dim_customer", "state", "dim_state", "state"),
    ("dim_policy", "customer_id", "dim_customer", "customer_id"),
    ("dim_policy", "customer_key", "dim_customer", "customer_key"),
    ("dim_policy", "line_key", "dim_line_of_business", "line_key"),
    ("dim_policy", "state_key", "dim_state", "state_key"),
    *((fact, fk, dim, fk) for fact in ("fact_premium", "fact_claim") for fk, dim in (
        ("date_key", "dim_date"), ("policy_key", "dim_policy"), ("customer_key", "dim_customer"),
        ("line_key", "dim_line_of_business"), ("state_key", "dim_state"))),
    *(("fact_market", fk, dim, fk) for fk, dim in (
        ("date_key", "dim_date"), ("insurer_key", "dim_insurer"), ("line_key", "dim_line_of_business"),
        ("state_key", "dim_state"))),
    *((kpi, fk, dim, fk) for kpi in ("kpi_loss_ratio", "kpi_market_share") for fk, dim in (
        ("date_key", "dim_date"), ("line_key", "dim_line_of_business"), ("state_key", "dim_state"))),
)

# The only columns that may be null; every other column of every gold table is required.
# customer_key: a customer deleted at the source or erased leaves dim_customer with every version; its
# policies stay and still name it (customer_id, checked against dim_customer and silver's tombstones), with no
# version to point at. A customer that never arrived is still caught, by the customer_id reference check.
NULLABLE: dict[str, frozenset[str]] = {
    "dim_customer": frozenset({"birth_year"}),
    "dim_policy": frozenset({"product_name", "customer_key"}),  # product codes outside reference.PRODUCTS are valid
    "fact_premium": frozenset({"customer_key"}),
    "fact_claim": frozenset({"customer_key"}),
    "kpi_loss_ratio": frozenset({"loss_ratio"}),
    "kpi_market_share": frozenset({"market_premiums_written", "company_susep_premiums_written", "market_share"}),
}


def column_names(table: TableSpec) -> list[str]:
    """Every column of ``table`` in write order (data columns, then partition keys)."""
    return [c.name for c in table.columns] + [c.name for c in table.partition_keys]


def required_columns(table: TableSpec) -> list[str]:
    """The columns of ``table`` that must never be null."""
    nullable = NULLABLE.get(table.name, frozenset())
    return [name for name in column_names(table) if name not in nullable]


# --- what gold reads ---------------------------------------------------------------------------------------

SILVER_INPUT_CONTRACTS: tuple[tuple[str, str], ...] = (
    ("erp", "customer"), ("erp", "policy"), ("erp", "premium_installment"), ("erp", "claim"),
    ("susep", "market_statistics"),
)
# Silver tables gold reads, in read order: name -> (location below the silver root, (contract field, Glue type)...),
# derived from the silver table specs.
SILVER_INPUTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    silver_table(source, entity).name: (
        silver_table(source, entity).location,
        tuple((c.name, c.type) for c in contract_columns(source, entity)),
    )
    for source, entity in SILVER_INPUT_CONTRACTS
}
