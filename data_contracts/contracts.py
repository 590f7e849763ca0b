"""The contract registry: every (source, entity) the ingest stream accepts, defined once, here.

Each :class:`Contract` carries its business key, its ordered field list and the JSON Schema (draft
2020-12) of the envelope's ``data`` object. Schemas are strict: every field is required (nullable
fields must be present with ``null``), no extra properties, ``format``s are enforced as ``pattern``s
(the ``format`` keyword is kept only as an annotation), money is a JSON number with at most 2
decimals (``multipleOf: 0.01``; converted to decimal downstream).

Deletes (``op: "delete"``) carry only the business key: for them ``data`` is validated against
:meth:`Contract.delete_schema` (same properties, only the business key required).

Every record travels in an envelope (:func:`envelope_schema`)::

    {"source": "erp"|"susep", "entity": "<entity>", "schema_version": 1,
     "event_id": "<uuid4>", "event_time": "<YYYY-MM-DDTHH:MM:SS[.ffffff]Z>",
     "op": "upsert"|"delete", "data": {...entity fields...}}

Standard library only: this module is shipped inside the Lambda zip.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from data_contracts import reference as ref

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_VERSION = 1
OPS: tuple[str, ...] = ("upsert", "delete")

# "format"s as patterns, so validation never depends on a format checker. fastjsonschema anchors "$"
# as "\Z" (no trailing newline accepted).
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z$"
)
UUID4_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
ENTITY_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

CUSTOMER_ID_PATTERN = r"^CUS-[0-9]{8}$"
POLICY_ID_PATTERN = r"^POL-[0-9]{10}$"
INSTALLMENT_ID_PATTERN = r"^INS-[0-9]{10}-[0-9]{2}$"
CLAIM_ID_PATTERN = r"^CLM-[0-9]{10}$"
PRODUCT_CODE_PATTERN = r"^[A-Z]{3}-[0-9]{3}$"
INSURER_CODE_PATTERN = r"^[0-9]{5}$"
CPF_PATTERN = r"^[0-9]{11}$"
CNPJ_PATTERN = r"^[0-9]{14}$"


# --- field-schema helpers ---------------------------------------------------------------------------

def _nullable(schema: dict, nullable: bool) -> dict:
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _string(description: str, *, pattern: str | None = None, fmt: str | None = None, min_length: int | None = None,
            max_length: int | None = None, nullable: bool = False) -> dict:
    schema: dict = {"type": "string", "description": description}
    if pattern is not None:
        schema["pattern"] = pattern
    if fmt is not None:
        schema["format"] = fmt
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return _nullable(schema, nullable)


def _enum(description: str, values, *, nullable: bool = False) -> dict:
    values = list(values)
    schema = {"type": "string", "enum": values + [None] if nullable else values, "description": description}
    return _nullable(schema, nullable)


def _date(description: str, *, nullable: bool = False) -> dict:
    return _string(description + " (YYYY-MM-DD)", pattern=DATE_PATTERN, fmt="date", nullable=nullable)


def _timestamp(description: str) -> dict:
    return _string(description + " (ISO-8601 UTC, 'Z' suffix)", pattern=TIMESTAMP_PATTERN, fmt="date-time")


def _money(description: str, *, minimum: float | None = 0) -> dict:
    schema: dict = {"type": "number", "multipleOf": 0.01, "description": description + " (BRL, at most 2 decimals)"}
    if minimum is not None:
        schema["minimum"] = minimum
    return schema


def _integer(description: str, *, minimum: int | None = None, maximum: int | None = None) -> dict:
    schema: dict = {"type": "integer", "description": description}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _state(description: str = "Brazilian federative unit (UF)") -> dict:
    return _enum(description, ref.STATE_CODES)


def _line_of_business() -> dict:
    names = "; ".join(f"{code} {name}" for code, name in sorted(ref.LINES_OF_BUSINESS.items()))
    return _enum(f"SUSEP ramo code: {names}", ref.LINE_OF_BUSINESS_CODES)


# --- the contract type ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Contract:
    """One entity of one source: its business key, fields (in order) and JSON Schema."""

    source: str
    entity: str
    description: str
    business_key: tuple[str, ...]
    fields: tuple[tuple[str, dict], ...]          # (name, JSON Schema fragment), in payload order
    all_of: tuple[dict, ...] = ()                 # cross-field rules (if/then), upserts only
    schema_version: int = SCHEMA_VERSION
    personal: tuple[str, ...] = ()
    """Fields holding personal data (LGPD): kept in the clear only in bronze and the quarantine (raw payloads,
    under their retention); no message, report or layer beyond shows their values."""
    nullable: frozenset = field(default=frozenset(), init=False, repr=False, compare=False)  # set in __post_init__

    def __post_init__(self) -> None:
        names = [name for name, _ in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate field names")
        missing = [key for key in self.business_key if key not in names]
        if missing:
            raise ValueError(f"{self.name}: business key fields {missing} are not fields")
        unknown = [name for name in self.personal if name not in names]
        if unknown:
            raise ValueError(f"{self.name}: personal fields {unknown} are not fields")
        nullable = frozenset(name for name, schema in self.fields if "null" in _types(schema))
        object.__setattr__(self, "nullable", nullable)

    @property
    def name(self) -> str:
        """``"<source>.<entity>"``, also the schema file stem."""
        return f"{self.source}.{self.entity}"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """Every field is required on upserts (nullable ones must be present as ``null``)."""
        return self.field_names

    def json_schema(self) -> dict:
        """Schema of ``data`` for ``op: "upsert"`` (the exported schema file)."""
        schema = {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": f"{self.name} v{self.schema_version}",
            "description": self.description,
            "type": "object",
            "additionalProperties": False,
            "required": list(self.required),
            "properties": {name: copy.deepcopy(fragment) for name, fragment in self.fields},
            "x-source": self.source,
            "x-entity": self.entity,
            "x-schema-version": self.schema_version,
            "x-business-key": list(self.business_key),
            "x-delete": "op=delete carries only the business key fields (all other fields optional)",
        }
        if self.all_of:
            schema["allOf"] = copy.deepcopy(list(self.all_of))
        return schema

    def delete_schema(self) -> dict:
        """Schema of ``data`` for ``op: "delete"``: same properties, only the business key required."""
        schema = self.json_schema()
        schema.pop("allOf", None)
        schema["title"] += " (delete)"
        schema["required"] = list(self.business_key)
        return schema


def _types(schema: dict) -> list[str]:
    t = schema.get("type", [])
    return t if isinstance(t, list) else [t]


# --- the contracts ----------------------------------------------------------------------------------

MARKET_STATISTICS = Contract(
    source="susep",
    entity="market_statistics",
    description=(
        "SUSEP market statistics (SES database): monthly figures per insurer, line of business (ramo) and "
        "state (UF). Restatements re-send the same business key with a later event_time."
    ),
    business_key=("reference_month", "insurer_code", "line_of_business", "state"),
    fields=(
        ("reference_month", _string("Reference month (YYYY-MM)", pattern=MONTH_PATTERN)),
        ("insurer_code", _string("SUSEP insurer code (5 digits, FIP code)", pattern=INSURER_CODE_PATTERN)),
        ("insurer_name", _string("Insurer legal name", min_length=1, max_length=200)),
        ("line_of_business", _line_of_business()),
        ("state", _state()),
        ("premiums_written", _money("Prêmio emitido (written premiums, net of cancellations; may be negative)",
                                    minimum=None)),
        ("premiums_earned", _money("Prêmio ganho (earned premiums; may be negative)", minimum=None)),
        ("claims_incurred", _money("Sinistro ocorrido (incurred claims; may be negative on reserve releases)",
                                   minimum=None)),
        ("claims_paid", _money("Sinistros pagos (claims paid)")),
        ("commission_expenses", _money("Despesa de comercialização (commissions)")),
        ("policies_in_force", _integer("Number of policies in force at month end", minimum=0)),
    ),
)

CUSTOMER = Contract(
    source="erp",
    entity="customer",
    description="ERP customer (policyholder): a person (PF, CPF) or a company (PJ, CNPJ).",
    business_key=("customer_id",),
    fields=(
        ("customer_id", _string("ERP customer id", pattern=CUSTOMER_ID_PATTERN)),
        ("person_type", _enum("PF = pessoa física (CPF), PJ = pessoa jurídica (CNPJ)", ref.PERSON_TYPES)),
        ("document_number", _string("CPF (11 digits, PF) or CNPJ (14 digits, PJ), digits only",
                                    pattern=r"^([0-9]{11}|[0-9]{14})$")),
        ("name", _string("Full name or company name", min_length=1, max_length=200)),
        ("birth_date", _date("Birth date (PF; null when unknown or PJ)", nullable=True)),
        ("state", _state("Address state (UF)")),
        ("city", _string("Address city", min_length=1, max_length=100)),
        ("created_at", _timestamp("Creation time in the ERP")),
        ("updated_at", _timestamp("Last update time in the ERP")),
    ),
    all_of=(
        {"if": {"properties": {"person_type": {"const": "PF"}}, "required": ["person_type"]},
         "then": {"properties": {"document_number": {"pattern": CPF_PATTERN}}}},
        {"if": {"properties": {"person_type": {"const": "PJ"}}, "required": ["person_type"]},
         "then": {"properties": {"document_number": {"pattern": CNPJ_PATTERN}}}},
    ),
    personal=("document_number", "name", "birth_date"),
)

POLICY = Contract(
    source="erp",
    entity="policy",
    description="ERP insurance policy (apólice). References erp.customer.",
    business_key=("policy_id",),
    fields=(
        ("policy_id", _string("ERP policy id", pattern=POLICY_ID_PATTERN)),
        ("customer_id", _string("Policyholder (erp.customer.customer_id)", pattern=CUSTOMER_ID_PATTERN)),
        ("line_of_business", _line_of_business()),
        ("product_code", _string("ERP product code", pattern=PRODUCT_CODE_PATTERN)),
        ("state", _state("State (UF) of the insured risk")),
        ("start_date", _date("Coverage start date")),
        ("end_date", _date("Coverage end date")),
        ("sum_insured", _money("Importância segurada (sum insured)")),
        ("annual_premium", _money("Annual net premium")),
        ("status", _enum("Policy status", ref.POLICY_STATUSES)),
        ("issued_at", _timestamp("Issue time")),
        ("updated_at", _timestamp("Last update time in the ERP")),
    ),
)

PREMIUM_INSTALLMENT = Contract(
    source="erp",
    entity="premium_installment",
    description="ERP premium installment (parcela de prêmio). References erp.policy.",
    business_key=("installment_id",),
    fields=(
        ("installment_id", _string("ERP installment id", pattern=INSTALLMENT_ID_PATTERN)),
        ("policy_id", _string("Policy (erp.policy.policy_id)", pattern=POLICY_ID_PATTERN)),
        ("installment_number", _integer("Installment number within the policy's payment plan", minimum=1,
                                        maximum=60)),
        ("due_date", _date("Due date")),
        ("amount", _money("Installment amount")),
        ("paid_date", _date("Payment date (null while unpaid)", nullable=True)),
        ("status", _enum("Installment status", ref.INSTALLMENT_STATUSES)),
    ),
)

CLAIM = Contract(
    source="erp",
    entity="claim",
    description="ERP claim (sinistro). References erp.policy.",
    business_key=("claim_id",),
    fields=(
        ("claim_id", _string("ERP claim id", pattern=CLAIM_ID_PATTERN)),
        ("policy_id", _string("Policy (erp.policy.policy_id)", pattern=POLICY_ID_PATTERN)),
        ("occurrence_date", _date("Date of the loss")),
        ("notification_date", _date("Date the claim was notified")),
        ("cause", _enum("Cause of loss", ref.CLAIM_CAUSES)),
        ("claimed_amount", _money("Amount claimed by the insured")),
        ("incurred_amount", _money("Incurred amount (paid + outstanding reserve)")),
        ("paid_amount", _money("Amount paid so far")),
        ("status", _enum("Claim status", ref.CLAIM_STATUSES)),
        ("updated_at", _timestamp("Last update time in the ERP")),
    ),
)

REGISTRY: dict[tuple[str, str], Contract] = {
    (c.source, c.entity): c for c in (MARKET_STATISTICS, CUSTOMER, POLICY, PREMIUM_INSTALLMENT, CLAIM)
}
SOURCES: tuple[str, ...] = tuple(sorted({source for source, _ in REGISTRY}))


def get_contract(source: str, entity: str) -> Contract | None:
    """The contract of ``(source, entity)``, or None when there is none."""
    return REGISTRY.get((source, entity))


def envelope_schema() -> dict:
    """JSON Schema of the envelope every record travels in (``data`` is checked by the entity schema)."""
    contracts = ", ".join(sorted(c.name for c in REGISTRY.values()))
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": f"lakeforge ingest envelope v{SCHEMA_VERSION}",
        "description": (
            "Every record on the ingest stream. data is validated by the schema of (source, entity): "
            f"{contracts}. For op=delete, data carries only the business key."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["source", "entity", "schema_version", "event_id", "event_time", "op", "data"],
        "properties": {
            "source": {"type": "string", "enum": list(SOURCES), "description": "Producing system"},
            "entity": {"type": "string", "pattern": ENTITY_NAME_PATTERN,
                       "description": "Entity name within the source"},
            "schema_version": {"type": "integer", "const": SCHEMA_VERSION, "description": "Contract version"},
            "event_id": {"type": "string", "pattern": UUID4_PATTERN, "format": "uuid",
                         "description": "Unique event id (UUID v4, lowercase); identical on producer retries"},
            "event_time": {"type": "string", "pattern": TIMESTAMP_PATTERN, "format": "date-time",
                           "description": "When the change happened at the source (ISO-8601 UTC, 'Z' suffix); "
                                          "the latest event_time per business key wins downstream"},
            "op": {"type": "string", "enum": list(OPS), "description": "upsert (full record) or delete (key only)"},
            "data": {"type": "object", "description": "The entity record, see <source>.<entity>.schema.json"},
        },
    }
