"""Silver -> gold: pure DataFrame -> DataFrame transformations building the star schema and the KPIs.

Every function here takes DataFrames and returns a DataFrame (no I/O); ``glue_jobs/silver_to_gold.py``
reads silver, calls :func:`build_gold`, runs :func:`quality_checks` and writes. The tables, their
columns and keys are declared in :mod:`lakehouse.gold_tables`. All dates and months are computed with
the session time zone set to UTC (``spark.sql.session.timeZone`` of :data:`lakehouse.job.SPARK_CONF`).

Silver input (:data:`SILVER_INPUTS`)
    One row per business key (latest version). Rows whose lineage column ``op`` is ``"delete"`` (when the
    column exists) are ignored; only the contract fields are used, cast to the types the silver table
    specs give them (:data:`SILVER_INPUTS`, derived from :mod:`lakehouse.silver_tables`).

Surrogate keys
    Deterministic from the natural key, so a rerun gives the same keys: ``xxhash64`` (Spark's, seed 42)
    of the natural key columns: ``policy_key = xxhash64(policy_id)``, ``insurer_key = xxhash64(insurer_code)``,
    ``line_key = xxhash64(line_of_business)``, ``state_key = xxhash64(state)``; for the type 2 customer
    dimension ``customer_key = xxhash64(customer_id, unix_micros(valid_from))``. ``date_key`` is the
    integer ``yyyymmdd``; facts carry the ``date_key`` of the first day of their month. A key is null
    when a natural key column is null.

Dimensions
    * ``dim_date``: one row per day from the first day of the month of the earliest date to the last
      day of the month of the latest date among the facts' months, the policies' start/end dates and
      issue days, the installments' due/paid dates and the claims' occurrence/notification dates.
      pt-BR month/day names, ISO day of week (1 = Monday) and week.
    * ``dim_insurer``: every insurer code in the SUSEP statistics or in ``reference.INSURERS``; the name is
      the SUSEP ``insurer_name`` of the latest ``reference_month`` (the greatest name on ties), else the
      reference name; ``is_company = (insurer_code == company_insurer_code)``.
    * ``dim_line_of_business`` / ``dim_state``: ``reference.LINES_OF_BUSINESS`` (group = first two digits,
      :data:`LINE_GROUPS`) and ``reference.STATES`` (with :data:`STATE_REGIONS`).
    * ``dim_customer`` (type 2): tracked attributes :data:`TRACKED_CUSTOMER_ATTRIBUTES`. Compared with the
      existing gold dimension (null-safe equality of every tracked attribute against the current version):
      a customer new to gold opens version 1 with ``valid_from = created_at``; a changed customer closes
      its current version (``valid_to`` = the new ``valid_from``, ``is_current = false``) and opens one with
      ``valid_from = greatest(updated_at, previous valid_from + 1 second)``; an unchanged customer keeps
      its versions as they are. Customers absent from silver (deleted at the source, LGPD erasure) are
      dropped with all their versions; their policies keep their rows and ``customer_id``, with no
      ``customer_key`` (no version of the customer is left to point at). ``valid_to`` of the current version is ``9999-12-31 00:00:00`` UTC;
      versions are ``[valid_from, valid_to)``; ``version`` numbers them in ``valid_from`` order.
    * ``dim_policy`` (type 1, latest silver version): ``term_days = end_date - start_date + 1``;
      ``earning_end_date = least(end_date, to_date(updated_at))`` when ``status = 'cancelled'`` (the
      cancellation date, taken as the date of the last update, is earned), else ``end_date``;
      ``issue_month = yyyy-MM of issued_at``; ``customer_key`` = the customer version with
      ``valid_from <= issued_at < valid_to``, else (issued before gold knew the customer) the earliest
      version.

fact_premium (grain: month x policy; a row exists when any measure below has a contribution)
    * ``premiums_written`` = the policy's ``annual_premium`` in ``issue_month``, 0 in other months.
      Cancellations do not reverse written premium.
    * ``premiums_earned`` (pro rata by days): for each month m overlapping the earning window
      ``[start_date, earning_end_date]`` (both inclusive; nothing when ``earning_end_date < start_date`` or
      ``term_days <= 0``)::

          earned_days(m) = min(earning_end_date, last day of m) - max(start_date, first day of m) + 1
          premiums_earned(m) = round_half_up(annual_premium * earned_days(m) / term_days, 2)

      rounded per policy-month (the months of one policy may not add up to the premium to the cent;
      a cancelled policy never earns its unexpired part). E.g. 2025-01-15..2026-01-14, 365.00 -> 17.00 in
      2025-01.
    * installments (by ``due_date`` month; installments with ``status = 'cancelled'`` are ignored):
      ``installments_due_count/amount`` = count / sum(amount) of the installments due in the month,
      ``installments_paid_count/amount`` = the same over those with ``paid_date`` not null.

fact_claim (grain: month of ``occurrence_date`` x policy): ``claim_count`` = number of claims (every
    status), ``claimed_amount``, ``incurred_amount``, ``paid_amount`` = sums over those claims.

    Both ERP facts take ``customer_key``, ``line_key``/``line_of_business`` and ``state_key``/``state``
    (the state of the insured risk) from ``dim_policy``; an installment or claim whose policy is missing
    keeps ``policy_key = xxhash64(policy_id)`` and null attributes, so the quality gate reports it.

fact_market: the SUSEP rows as they are (month = ``reference_month``), plus keys and
    ``is_company = (insurer_code == company_insurer_code)``.

kpi_loss_ratio (grain: month x line_of_business x state; one row per cell present in fact_premium or
    fact_claim; from the company's ERP facts, not from SUSEP)::

        premiums_earned = sum(fact_premium.premiums_earned)      (0 when the cell has no premium row)
        claims_incurred = sum(fact_claim.incurred_amount)        (0 when the cell has no claim row)
        claim_count     = sum(fact_claim.claim_count)
        loss_ratio      = round_half_up(claims_incurred / premiums_earned, 6), null when premiums_earned = 0

kpi_market_share (grain: month x line_of_business x state; one row per cell with a SUSEP row in
    fact_market or with company_premiums_written > 0)::

        company_premiums_written       = sum(fact_premium.premiums_written)   (the ERP; 0 when none)
        market_premiums_written        = sum(fact_market.premiums_written) over ALL insurers of the cell
                                         (the company's own SUSEP row included); null without SUSEP rows
        market_insurers                = number of distinct insurer codes in those SUSEP rows
        company_susep_premiums_written = premiums_written of the company's own SUSEP row (null if none)
        market_share                   = round_half_up(company_premiums_written / market_premiums_written, 6),
                                         null when market_premiums_written is null or <= 0

    Sums are exact decimals (money is ``decimal(18,2)``); ratios are ``decimal(18,6)``.

Data quality (:func:`quality_checks`): every gold table has the declared schema, its primary key is
unique, its required columns are not null, ``dim_customer`` has one current version per
customer, and every foreign key of :data:`lakehouse.gold_tables.FOREIGN_KEYS` finds its dimension row,
except a ``customer_id`` whose customer silver deleted (its tombstones: ``deleted_customers``).
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from data_contracts import reference as ref
from lakehouse import gold_tables as gt
from lakehouse.gold_tables import SILVER_INPUTS
from lakehouse.quality import CheckResult, TableChecks, Unique, run_checks
from lakehouse.silver_tables import contract_columns
from lakehouse.spark_schema import spark_type

__all__ = [
    "SILVER_INPUTS", "TRACKED_CUSTOMER_ATTRIBUTES", "STATE_REGIONS", "LINE_GROUPS",
    "silver_schema", "conform_silver", "surrogate_key", "month_date_key",
    "build_dim_date", "build_dim_insurer", "build_dim_line_of_business", "build_dim_state",
    "build_dim_customer", "build_dim_policy", "build_fact_premium", "build_fact_claim", "build_fact_market",
    "earned_premium_schedule", "build_kpi_loss_ratio", "build_kpi_market_share", "build_gold", "release", "conform_gold",
    "quality_checks",
]

MONEY = T.DecimalType(18, 2)
RATIO = T.DecimalType(18, 6)
OPEN_END_MICROS = 253402214400000000          # 9999-12-31T00:00:00Z: valid_to of current versions

TRACKED_CUSTOMER_ATTRIBUTES: tuple[str, ...] = tuple(
    c.name for c in contract_columns("erp", "customer") if c.name not in ("customer_id", "created_at", "updated_at"))
"""Every stored customer attribute (silver's: personal fields already protected, e.g. ``document_hash``)."""

MONTH_NAMES_PT: tuple[str, ...] = ("Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho", "Julho", "Agosto",
                                   "Setembro", "Outubro", "Novembro", "Dezembro")
DAY_NAMES_PT: tuple[str, ...] = ("Segunda-feira", "Terça-feira", "Quarta-feira", "Quinta-feira", "Sexta-feira",
                                 "Sábado", "Domingo")  # ISO order, Monday first

# IBGE macro-regions.
STATE_REGIONS: dict[str, str] = {
    **dict.fromkeys(("AC", "AM", "AP", "PA", "RO", "RR", "TO"), "Norte"),
    **dict.fromkeys(("AL", "BA", "CE", "MA", "PB", "PE", "PI", "RN", "SE"), "Nordeste"),
    **dict.fromkeys(("DF", "GO", "MS", "MT"), "Centro-Oeste"),
    **dict.fromkeys(("ES", "MG", "RJ", "SP"), "Sudeste"),
    **dict.fromkeys(("PR", "RS", "SC"), "Sul"),
}

# SUSEP groups (first two digits of the ramo code) of the lines in reference.LINES_OF_BUSINESS.
LINE_GROUPS: dict[str, str] = {
    "01": "Patrimonial",
    "03": "Responsabilidades",
    "05": "Automóvel",
    "06": "Transportes",
    "09": "Pessoas Coletivo",
}

# Silver tables read by the job, in the order it reads them.


# --- helpers --------------------------------------------------------------------------------------------

def silver_schema(table: str) -> T.StructType:
    """The (contract-field) schema :func:`conform_silver` returns for silver ``table``."""
    _, columns = SILVER_INPUTS[table]
    return T.StructType([T.StructField(name, spark_type(type_), True) for name, type_ in columns])


def conform_silver(df: DataFrame, table: str) -> DataFrame:
    """The contract fields of silver ``table`` with their gold-side types; ``op = 'delete'`` rows dropped.

    A ``yyyy-MM`` partition column that Spark inferred as a date is formatted back to ``yyyy-MM``.
    """
    if "op" in df.columns:
        df = df.where(F.col("op").isNull() | (F.col("op") != F.lit("delete")))
    types = {f.name: f.dataType for f in df.schema.fields}
    out = []
    for name, type_ in SILVER_INPUTS[table][1]:
        if name not in types:
            raise ValueError(f"silver {table}: column {name!r} is missing (has {sorted(types)})")
        col = F.col(name)
        if type_ == "string" and isinstance(types[name], (T.DateType, T.TimestampType)):
            col = F.date_format(col, "yyyy-MM")
        out.append(col.cast(type_).alias(name))
    return df.select(*out)


def surrogate_key(*cols: Column | str) -> Column:
    """``xxhash64`` of the natural key columns (stable across runs); null when any column is null."""
    columns = [F.col(c) if isinstance(c, str) else c for c in cols]
    any_null = columns[0].isNull()
    for c in columns[1:]:
        any_null = any_null | c.isNull()
    return F.when(~any_null, F.xxhash64(*columns))


def month_date_key(month: Column | str) -> Column:
    """``yyyymm01`` (int) of a ``yyyy-MM`` month: the dim_date key of the month's first day."""
    month = F.col(month) if isinstance(month, str) else month
    return F.concat(F.regexp_replace(month, "-", ""), F.lit("01")).cast("int")


def _month(col: Column | str) -> Column:
    return F.date_format(col, "yyyy-MM")


def _money_sum(name: str) -> Column:
    return F.coalesce(F.sum(name), F.lit(0)).cast(MONEY).alias(name)


def _ratio(numerator: Column, denominator: Column) -> Column:
    return F.round(numerator.cast(MONEY) / denominator.cast(MONEY), 6).cast(RATIO)


def _open_end() -> Column:
    return F.timestamp_micros(F.lit(OPEN_END_MICROS))


def _literal_frame(spark, rows: list[tuple], schema: str) -> DataFrame:
    return spark.createDataFrame(rows, schema)


# --- dimensions -----------------------------------------------------------------------------------------

def build_dim_date(dates: DataFrame) -> DataFrame:
    """One row per day over whole months covering the (non-null) values of ``dates``' single date column."""
    col = dates.columns[0]
    bounds = dates.agg(F.min(col).alias("lo"), F.max(col).alias("hi")).where(F.col("lo").isNotNull())
    days = bounds.select(F.explode(F.sequence(F.trunc("lo", "month"), F.last_day("hi"),
                                              F.expr("INTERVAL 1 DAY"))).alias("date"))
    dow = ((F.dayofweek("date") + 5) % 7) + 1
    return days.select(
        (F.year("date") * 10000 + F.month("date") * 100 + F.dayofmonth("date")).cast("int").alias("date_key"),
        F.col("date"),
        F.year("date").alias("year"),
        F.quarter("date").alias("quarter"),
        F.month("date").alias("month"),
        F.element_at(F.array(*[F.lit(n) for n in MONTH_NAMES_PT]), F.month("date")).alias("month_name"),
        _month("date").alias("year_month"),
        F.dayofmonth("date").alias("day"),
        dow.cast("int").alias("day_of_week"),
        F.element_at(F.array(*[F.lit(n) for n in DAY_NAMES_PT]), dow.cast("int")).alias("day_name"),
        F.weekofyear("date").alias("week_of_year"),
        (dow >= 6).alias("is_weekend"),
        (F.dayofmonth("date") == 1).alias("is_month_start"),
        (F.col("date") == F.last_day("date")).alias("is_month_end"),
    )


def build_dim_insurer(susep: DataFrame, company_insurer_code: str = ref.COMPANY_INSURER_CODE) -> DataFrame:
    """Insurers of the SUSEP statistics and of ``reference.INSURERS``."""
    reference = _literal_frame(susep.sparkSession, sorted(ref.INSURERS.items()),
                               "insurer_code string, reference_name string")
    latest = (susep.groupBy("insurer_code")
              .agg(F.max(F.struct("reference_month", "insurer_name")).alias("latest"))
              .select("insurer_code", F.col("latest.insurer_name").alias("susep_name")))
    return (reference.join(latest, "insurer_code", "full")
            .select(surrogate_key("insurer_code").alias("insurer_key"),
                    "insurer_code",
                    F.coalesce("susep_name", "reference_name").alias("insurer_name"),
                    (F.col("insurer_code") == F.lit(company_insurer_code)).alias("is_company")))


def build_dim_line_of_business(spark) -> DataFrame:
    rows = [(code, name, code[:2], LINE_GROUPS.get(code[:2], f"Grupo {code[:2]}"))
            for code, name in sorted(ref.LINES_OF_BUSINESS.items())]
    df = _literal_frame(spark, rows, "line_of_business string, line_name string, group_code string, group_name string")
    return df.select(surrogate_key("line_of_business").alias("line_key"), *df.columns)


def build_dim_state(spark) -> DataFrame:
    rows = [(uf, name, STATE_REGIONS[uf]) for uf, name in sorted(ref.STATES.items())]
    df = _literal_frame(spark, rows, "state string, state_name string, region string")
    return df.select(surrogate_key("state").alias("state_key"), *df.columns)


def build_dim_customer(customers: DataFrame, existing: DataFrame | None = None) -> DataFrame:
    """Type 2 customer dimension from the current silver customers and the existing gold dimension."""
    tracked = list(TRACKED_CUSTOMER_ATTRIBUTES)
    current = customers.select("customer_id", *tracked, "created_at", "updated_at")
    open_end = _open_end()
    if existing is None:
        versions = current.select("customer_id", *tracked, "created_at", F.col("created_at").alias("valid_from"),
                                  open_end.alias("valid_to"), F.lit(True).alias("is_current"))
    else:
        spec = {c.name: c.type for c in gt.DIM_CUSTOMER.columns}
        keep = ["customer_id", *tracked, "created_at", "valid_from", "valid_to", "is_current"]
        old = (existing.select(*[F.col(c).cast(spec[c]).alias(c) for c in keep])
               .join(current.select("customer_id"), "customer_id", "left_semi"))  # erased customers go
        old_current = old.where("is_current").select(
            "customer_id", *[F.col(a).alias(f"old_{a}") for a in tracked],
            F.col("valid_from").alias("old_valid_from"))
        joined = current.join(old_current, "customer_id", "left")
        same = F.lit(True)
        for a in tracked:
            same = same & F.col(a).eqNullSafe(F.col(f"old_{a}"))
        first = joined.where(F.col("old_valid_from").isNull()).select(
            "customer_id", *tracked, "created_at", F.col("created_at").alias("valid_from"))
        changed = joined.where(F.col("old_valid_from").isNotNull() & ~same).select(
            "customer_id", *tracked, "created_at", "old_valid_from",
            F.greatest(F.col("updated_at"), F.col("old_valid_from") + F.expr("INTERVAL 1 SECOND")).alias("valid_from"))
        opened = (first.unionByName(changed.drop("old_valid_from"))
                  .withColumn("valid_to", open_end).withColumn("is_current", F.lit(True)))
        closing = changed.select("customer_id", F.col("old_valid_from").alias("valid_from"),
                                 F.col("valid_from").alias("closed_at"))
        kept = (old.join(closing, ["customer_id", "valid_from"], "left")
                .withColumn("valid_to", F.coalesce("closed_at", "valid_to"))
                .withColumn("is_current", F.col("is_current") & F.col("closed_at").isNull())
                .drop("closed_at"))
        versions = kept.unionByName(opened)
    order = Window.partitionBy("customer_id").orderBy("valid_from")
    return versions.select(
        surrogate_key(F.col("customer_id"), F.unix_micros("valid_from")).alias("customer_key"),
        "customer_id", *tracked, "created_at",
        F.row_number().over(order).cast("int").alias("version"),
        "valid_from", "valid_to", "is_current")


def build_dim_policy(policies: DataFrame, dim_customer: DataFrame) -> DataFrame:
    """Policies (latest version) with their earning window and the customer version at issue."""
    products = _literal_frame(policies.sparkSession, [(c, n) for c, (_, n) in sorted(ref.PRODUCTS.items())],
                              "product_code string, product_name string")
    versions = dim_customer.select("customer_id", "customer_key", "valid_from", "valid_to")
    candidates = (policies.select("policy_id", "customer_id", "issued_at")
                  .join(versions, "customer_id", "left")
                  .withColumn("in_range", (F.col("valid_from") <= F.col("issued_at"))
                              & (F.col("issued_at") < F.col("valid_to"))))
    pick = Window.partitionBy("policy_id").orderBy(F.col("in_range").desc_nulls_last(),
                                                   F.col("valid_from").asc_nulls_last())
    at_issue = (candidates.withColumn("rank", F.row_number().over(pick)).where("rank = 1")
                .select(F.col("policy_id").alias("policy_id"), "customer_key"))  # fresh: joined back to policies
    earning_end = F.when(F.col("status") == "cancelled", F.least("end_date", F.to_date("updated_at"))) \
        .otherwise(F.col("end_date"))
    return (policies.join(at_issue, "policy_id", "left").join(F.broadcast(products), "product_code", "left")
            .select(surrogate_key("policy_id").alias("policy_key"), "policy_id", "customer_id", "customer_key",
                    surrogate_key("line_of_business").alias("line_key"), "line_of_business", "product_code",
                    "product_name", surrogate_key("state").alias("state_key"), "state", "start_date", "end_date",
                    (F.datediff("end_date", "start_date") + 1).cast("int").alias("term_days"),
                    earning_end.alias("earning_end_date"), "sum_insured", "annual_premium", "status", "issued_at",
                    _month("issued_at").alias("issue_month"), "updated_at"))


# --- facts ------------------------------------------------------------------------------------------------

_POLICY_ATTRIBUTES = ("customer_key", "line_key", "line_of_business", "state_key", "state")


def _with_policy(measures: DataFrame, dim_policy: DataFrame) -> DataFrame:
    """Month x policy measures + keys and attributes of the policy (null when the policy is missing)."""
    return (measures.join(dim_policy.select("policy_id", *_POLICY_ATTRIBUTES), "policy_id", "left")
            .withColumn("date_key", month_date_key("month"))
            .withColumn("policy_key", surrogate_key("policy_id")))


def earned_premium_schedule(dim_policy: DataFrame) -> DataFrame:
    """(policy_id, month, earned_days, premiums_earned) for every month of each policy's earning window."""
    earning = dim_policy.where((F.col("term_days") > 0) & (F.col("earning_end_date") >= F.col("start_date")))
    months = earning.select(
        "policy_id", "start_date", "earning_end_date", "term_days", "annual_premium",
        F.explode(F.sequence(F.trunc("start_date", "month"), F.trunc("earning_end_date", "month"),
                             F.expr("INTERVAL 1 MONTH"))).alias("month_start"))
    days = (F.datediff(F.least("earning_end_date", F.last_day("month_start")),
                       F.greatest("start_date", "month_start")) + 1).cast("int")
    return months.select(
        "policy_id", _month("month_start").alias("month"), days.alias("earned_days"),
        F.round(F.col("annual_premium") * days.cast("decimal(7,0)") / F.col("term_days").cast("decimal(7,0)"), 2)
        .cast(MONEY).alias("premiums_earned"))


def build_fact_premium(dim_policy: DataFrame, installments: DataFrame) -> DataFrame:
    zero_money, zero = F.lit(0).cast(MONEY), F.lit(0)
    written = dim_policy.select("policy_id", F.col("issue_month").alias("month"),
                                F.col("annual_premium").alias("premiums_written"))
    earned = earned_premium_schedule(dim_policy)
    live = installments.where(F.col("status") != "cancelled")
    paid = F.col("paid_date").isNotNull()
    due = live.select("policy_id", _month("due_date").alias("month"), F.lit(1).alias("installments_due_count"),
                      F.col("amount").alias("installments_due_amount"),
                      F.when(paid, 1).otherwise(0).alias("installments_paid_count"),
                      F.when(paid, F.col("amount")).otherwise(zero_money).alias("installments_paid_amount"))
    measures = (written.unionByName(earned, allowMissingColumns=True).unionByName(due, allowMissingColumns=True)
                .groupBy("month", "policy_id")
                .agg(_money_sum("premiums_written"), _money_sum("premiums_earned"),
                     F.coalesce(F.sum("earned_days"), zero).cast("int").alias("earned_days"),
                     F.coalesce(F.sum("installments_due_count"), zero).cast("int").alias("installments_due_count"),
                     _money_sum("installments_due_amount"),
                     F.coalesce(F.sum("installments_paid_count"), zero).cast("int").alias("installments_paid_count"),
                     _money_sum("installments_paid_amount")))
    return _with_policy(measures, dim_policy)


def build_fact_claim(dim_policy: DataFrame, claims: DataFrame) -> DataFrame:
    measures = (claims.withColumn("month", _month("occurrence_date"))
                .groupBy("month", "policy_id")
                .agg(F.count(F.lit(1)).cast("int").alias("claim_count"), _money_sum("claimed_amount"),
                     _money_sum("incurred_amount"), _money_sum("paid_amount")))
    return _with_policy(measures, dim_policy)


def build_fact_market(susep: DataFrame, company_insurer_code: str = ref.COMPANY_INSURER_CODE) -> DataFrame:
    return susep.select(
        F.col("reference_month").alias("month"), month_date_key("reference_month").alias("date_key"),
        surrogate_key("insurer_code").alias("insurer_key"), surrogate_key("line_of_business").alias("line_key"),
        surrogate_key("state").alias("state_key"), "insurer_code", "line_of_business", "state",
        (F.col("insurer_code") == F.lit(company_insurer_code)).alias("is_company"),
        *[F.col(c).cast(MONEY).alias(c) for c in ("premiums_written", "premiums_earned", "claims_incurred",
                                                   "claims_paid", "commission_expenses")],
        F.col("policies_in_force").cast("bigint").alias("policies_in_force"))


# --- KPIs -------------------------------------------------------------------------------------------------

_CELL = ["month", "line_of_business", "state"]


def _cell_keys(df: DataFrame) -> DataFrame:
    return (df.withColumn("date_key", month_date_key("month"))
            .withColumn("line_key", surrogate_key("line_of_business"))
            .withColumn("state_key", surrogate_key("state")))


def build_kpi_loss_ratio(fact_premium: DataFrame, fact_claim: DataFrame) -> DataFrame:
    earned = fact_premium.groupBy(*_CELL).agg(F.sum("premiums_earned").alias("premiums_earned"))
    incurred = fact_claim.groupBy(*_CELL).agg(F.sum("incurred_amount").alias("claims_incurred"),
                                              F.sum("claim_count").alias("claim_count"))
    cells = (earned.join(incurred, _CELL, "full")
             .select(*_CELL,
                     F.coalesce("claim_count", F.lit(0)).cast("bigint").alias("claim_count"),
                     F.coalesce("claims_incurred", F.lit(0)).cast(MONEY).alias("claims_incurred"),
                     F.coalesce("premiums_earned", F.lit(0)).cast(MONEY).alias("premiums_earned")))
    cells = cells.withColumn("loss_ratio", F.when(F.col("premiums_earned") != 0,
                                                  _ratio(F.col("claims_incurred"), F.col("premiums_earned"))))
    return _cell_keys(cells)


def build_kpi_market_share(fact_premium: DataFrame, fact_market: DataFrame) -> DataFrame:
    company = (fact_premium.groupBy(*_CELL).agg(F.sum("premiums_written").alias("company_premiums_written"))
               .where(F.col("company_premiums_written") > 0))
    market = fact_market.groupBy(*_CELL).agg(
        F.sum("premiums_written").alias("market_premiums_written"),
        F.countDistinct("insurer_code").alias("market_insurers"),
        F.sum(F.when(F.col("is_company"), F.col("premiums_written"))).alias("company_susep_premiums_written"))
    cells = (company.join(market, _CELL, "full")
             .select(*_CELL,
                     F.coalesce("company_premiums_written", F.lit(0)).cast(MONEY).alias("company_premiums_written"),
                     F.col("market_premiums_written").cast(MONEY).alias("market_premiums_written"),
                     F.coalesce("market_insurers", F.lit(0)).cast("int").alias("market_insurers"),
                     F.col("company_susep_premiums_written").cast(MONEY).alias("company_susep_premiums_written")))
    cells = cells.withColumn("market_share", F.when(F.col("market_premiums_written") > 0,
                                                    _ratio(F.col("company_premiums_written"),
                                                           F.col("market_premiums_written"))))
    return _cell_keys(cells)


# --- the whole layer ------------------------------------------------------------------------------------

def _calendar_dates(dim_policy: DataFrame, installments: DataFrame, claims: DataFrame,
                    facts: list[DataFrame]) -> DataFrame:
    parts = [f.select(F.to_date(F.concat(F.col("month"), F.lit("-01"))).alias("d")) for f in facts]
    parts += [dim_policy.select(F.col(c).alias("d")) for c in ("start_date", "end_date")]
    parts.append(dim_policy.select(F.to_date("issued_at").alias("d")))
    parts += [installments.select(F.col(c).alias("d")) for c in ("due_date", "paid_date")]
    parts += [claims.select(F.col(c).alias("d")) for c in ("occurrence_date", "notification_date")]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def conform_gold(df: DataFrame, table: str) -> DataFrame:
    """``df`` with exactly the columns of gold ``table``, in write order, cast to their declared types."""
    spec = gt.GOLD_TABLES_BY_NAME[table]
    types = {c.name: c.type for c in (*spec.columns, *spec.partition_keys)}
    return df.select(*[F.col(name).cast(types[name]).alias(name) for name in gt.column_names(spec)])


def build_gold(silver: dict[str, DataFrame], existing_dim_customer: DataFrame | None = None,
               company_insurer_code: str = ref.COMPANY_INSURER_CODE, *, persist: bool = False) -> dict[str, DataFrame]:
    """Every gold table (name -> DataFrame, columns as declared) from conformed silver tables.

    ``silver`` maps the names of :data:`SILVER_INPUTS` to DataFrames already passed through
    :func:`conform_silver`; ``existing_dim_customer`` is the gold ``dim_customer`` of the previous run.
    Each table is built from the conformed tables it depends on. With ``persist`` each one is computed as
    soon as it is built and kept (``localCheckpoint``: its rows stay as MEMORY_AND_DISK blocks and its
    plan becomes a scan of them), so the tables built from it, the checks and the writes that follow
    compute every table once and plan only their own steps, not the whole lineage down to silver (the
    driver's planning was a large part of the job's time). :func:`release` frees the blocks.
    """
    customers, policies = silver["erp_customer"], silver["erp_policy"]
    installments, claims = silver["erp_premium_installment"], silver["erp_claim"]
    susep = silver["susep_market_statistics"]
    spark = customers.sparkSession
    tables: dict[str, DataFrame] = {}

    def add(name: str, df: DataFrame) -> DataFrame:
        df = conform_gold(df, name)
        tables[name] = df.localCheckpoint(eager=True) if persist else df
        return tables[name]

    add("dim_insurer", build_dim_insurer(susep, company_insurer_code))
    add("dim_line_of_business", build_dim_line_of_business(spark))
    add("dim_state", build_dim_state(spark))
    dim_customer = add("dim_customer", build_dim_customer(customers, existing_dim_customer))
    dim_policy = add("dim_policy", build_dim_policy(policies, dim_customer))
    fact_premium = add("fact_premium", build_fact_premium(dim_policy, installments))
    fact_claim = add("fact_claim", build_fact_claim(dim_policy, claims))
    fact_market = add("fact_market", build_fact_market(susep, company_insurer_code))
    add("kpi_loss_ratio", build_kpi_loss_ratio(fact_premium, fact_claim))
    add("kpi_market_share", build_kpi_market_share(fact_premium, fact_market))
    add("dim_date", build_dim_date(_calendar_dates(dim_policy, installments, claims,
                                                   [fact_premium, fact_claim, fact_market])))
    return {spec.name: tables[spec.name] for spec in gt.GOLD_TABLES}


def release(tables: dict[str, DataFrame]) -> None:
    """Free the blocks :func:`build_gold` kept with ``persist`` (no-op for tables it did not keep)."""
    for df in tables.values():
        plan = df._jdf.queryExecution().logical()
        if plan.getClass().getSimpleName() == "LogicalRDD":  # a checkpoint: its rows are the RDD's blocks
            plan.rdd().unpersist(False)
        else:
            df.unpersist()


# --- data quality -----------------------------------------------------------------------------------------

def _check_schema(table: str, df: DataFrame) -> CheckResult:
    spec = gt.GOLD_TABLES_BY_NAME[table]
    expected = [(c.name, c.type) for c in (*spec.columns, *spec.partition_keys)]
    actual = [(f.name, f.dataType.simpleString()) for f in df.schema.fields]
    passed = actual == expected
    diff = sorted(set(actual) ^ set(expected))
    return CheckResult(f"{table}.schema", passed,
                       f"{len(actual)} columns as declared" if passed else f"differs from the spec: {diff}",
                       {"columns": len(actual)})


def quality_checks(tables: dict[str, DataFrame], deleted_customers: DataFrame | None = None, parallel: int = 1
                   ) -> tuple[dict[str, int], list[CheckResult]]:
    """Every check of the silver->gold gate over the gold tables (see the module docstring), and the row
    count of every table (name -> rows) from the same pass.

    ``deleted_customers`` (a ``customer_id`` column: the customers silver holds tombstones of) are valid
    targets of ``customer_id`` references: a policy of a deleted or erased customer is not an orphan.

    One Spark action per table (:func:`lakehouse.quality.run_checks`, ``parallel`` at a time): one
    aggregation giving its rows, duplicated keys (the primary key; for ``dim_customer`` also ``customer_id`` among
    current versions), nulls of required columns and orphan foreign keys. Results are ordered: per table
    (``GOLD_TABLES`` order) schema, unique, not_null; then ``dim_customer.one_current_version``; then the
    foreign keys per referring table (``FOREIGN_KEYS`` order).
    """
    references: dict[str, list] = {}
    for table, fk, dim, pk in gt.FOREIGN_KEYS:
        target = tables[dim]
        if deleted_customers is not None and (dim, pk) == ("dim_customer", "customer_id"):
            target = target.select(pk).unionByName(deleted_customers.select(pk))
        references.setdefault(table, []).append((fk, target, dim, pk))
    one_current = Unique("dim_customer.one_current_version", ("customer_id",), "is_current")
    passes = [TableChecks(tables[spec.name], table=spec.name,
                          uniques=(Unique(f"{spec.name}.unique({','.join(spec.primary_key)})", tuple(spec.primary_key)),
                                   *((one_current,) if spec.name == "dim_customer" else ())),
                          not_null=(f"{spec.name}.not_null", tuple(gt.required_columns(spec))),
                          references=tuple(references.get(spec.name, ())))
              for spec in gt.GOLD_TABLES]
    outcomes = run_checks(passes, parallel)
    results, extra, refs = [], [], {}
    for spec, checks, outcome in zip(gt.GOLD_TABLES, passes, outcomes):
        uniques = len(checks.uniques)  # outcome: the uniques, not_null, the references
        results += [_check_schema(spec.name, tables[spec.name]), outcome.results[0], outcome.results[uniques]]
        extra += outcome.results[1:uniques]
        refs[spec.name] = outcome.results[uniques + 1:]
    results += extra
    for table in references:  # FOREIGN_KEYS order
        results += refs[table]
    return {spec.name: outcome.rows for spec, outcome in zip(gt.GOLD_TABLES, outcomes)}, results
