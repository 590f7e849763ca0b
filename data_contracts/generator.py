"""Deterministic sample data for the ingest stream (development, tests and the demo; not shipped logic).

CLI::

    python -m data_contracts.generator --records N --seed S --bad-share 0.1 --out FILE.jsonl [--manifest FILE.json]

writes one payload per line, in binary (``--out -`` writes to stdout). Payloads never contain a newline
byte: good ones are compact UTF-8 JSON envelopes, a malformed JSON payload is still one line, a non-UTF-8
payload is written as its raw bytes. The manifest holds the parameters, the expected counts and the
SHA-256 of the output.

Python API: :func:`generate`, :func:`expected_counts`, :func:`generate_documents`, :func:`to_kinesis_event`.

Everything derives from ``random.Random(seed)``: no wall clock, no OS randomness (event ids are UUID v4
built from the RNG), so the same arguments give byte-identical output on Python 3.11 and 3.12.

The good data tells one coherent story for 2024 (events until the end of January 2025):

* ERP: customers (85 % PF with a valid CPF, 15 % PJ with a valid CNPJ); policies referencing customers;
  premium installments referencing policies (created at issue, later paid / overdue / cancelled: updates
  of the same key with a later ``event_time``); claims referencing policies (opened -> under_review ->
  paid / denied / withdrawn); policy cancellations and expiries; customer address changes; a few prospect
  customers deleted on request (``op: "delete"``, key only, LGPD). Every event is emitted in time order
  after the events it references, so every prefix of the stream is referentially coherent.
* SUSEP: ``market_statistics`` for 12 reference months x 6 insurers (the company,
  :data:`~data_contracts.reference.COMPANY_INSURER_CODE`, first) x their lines x the largest states (as many
  as the record budget allows), published two months after the reference month. The company's own rows
  are aggregated from the emitted ERP events (written/earned premiums, policies in force, incurred/paid
  claims); competitors are scaled from the company's size with a fixed market share. A few rows are
  restated later (same key, later ``event_time``).
* About one good record in 200 is sent twice (same event id: a producer retry).

Bad records (``bad_share``) are spread round-robin over every reason code, placed at random positions,
exactly ``round(records * bad_share)`` of them; each breaks exactly one rule, and its
``expected_reason`` is the generator's own intent (never computed by the validator).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import random
import re
import sys
import uuid
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from data_contracts import reasons as R
from data_contracts import reference as ref
from data_contracts.contracts import (
    CLAIM_ID_PATTERN,
    CUSTOMER_ID_PATTERN,
    DATE_PATTERN,
    INSTALLMENT_ID_PATTERN,
    INSURER_CODE_PATTERN,
    MONTH_PATTERN,
    POLICY_ID_PATTERN,
    PRODUCT_CODE_PATTERN,
    REGISTRY,
    SCHEMA_VERSION,
    TIMESTAMP_PATTERN,
)

__all__ = [
    "GeneratedRecord",
    "expected_counts",
    "generate",
    "generate_documents",
    "manifest",
    "main",
    "sample_data",
    "to_kinesis_event",
    "write_jsonl",
]

UTC = timezone.utc
PERIOD_START = datetime(2024, 1, 1, tzinfo=UTC)
LAST_NEW_CUSTOMER = datetime(2024, 12, 20, tzinfo=UTC)
HORIZON = datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)  # nothing is emitted after this instant
REFERENCE_MONTHS: tuple[str, ...] = tuple(f"2024-{m:02d}" for m in range(1, 13))

SUSEP_SHARE = 0.12           # share of the good records that are SUSEP market statistics
SUSEP_RESTATED_SHARE = 0.05  # restated SUSEP rows, relative to the published cube
REPLAY_EVERY = 200           # one exact duplicate (producer retry) per this many good records
COMPANY_MARKET_SHARE = 0.02  # the company's share of the sample market (scales the competitors)

# Kinesis defaults for to_kinesis_event (a realistic 56-digit sequence number, 2024-06-01T00:00:00Z).
DEFAULT_FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898
DEFAULT_ARRIVAL_EPOCH = 1717200000.0
DEFAULT_SHARD_ID = "shardId-000000000000"


# --- public types -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedRecord:
    """One stream payload and what the generator meant it to be.

    ``source``/``entity`` name the contract the record was built from (``entity`` is None when the
    record claims an entity that has no contract). ``expected_reason`` is None for a valid record, else
    the quarantine reason code the generator deliberately broke.
    """

    payload: bytes
    partition_key: str
    source: str
    entity: str | None
    expected_reason: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.expected_reason is None


# --- generation parameters per line of business ------------------------------------------------------

@dataclass(frozen=True)
class _Line:
    pf_weight: float
    pj_weight: float
    sum_insured: tuple[float, float]
    rate: float            # annual premium / sum insured
    claim_prob: float      # probability that a policy has a claim
    causes: tuple[str, ...]
    loss_ratio: float      # market: incurred claims / earned premium
    commission: float      # commission / written premium
    market_share: float    # share of the market's written premium

    @property
    def avg_premium(self) -> float:
        low, high = self.sum_insured
        return math.sqrt(low * high) * self.rate


_LINES: dict[str, _Line] = {
    "0114": _Line(0.18, 0.00, (80e3, 900e3), 0.0012, 0.04,
                  ("incendio", "danos_eletricos", "vendaval", "roubo_furto", "alagamento"), 0.32, 0.25, 0.07),
    "0118": _Line(0.00, 0.30, (300e3, 8e6), 0.0025, 0.06,
                  ("incendio", "danos_eletricos", "vendaval", "roubo_furto", "alagamento"), 0.45, 0.22, 0.08),
    "0351": _Line(0.00, 0.12, (500e3, 10e6), 0.0030, 0.03, ("responsabilidade_civil",), 0.35, 0.18, 0.05),
    "0531": _Line(0.40, 0.20, (35e3, 250e3), 0.0400, 0.12,
                  ("colisao", "colisao", "roubo_furto", "alagamento", "incendio"), 0.62, 0.20, 0.30),
    "0553": _Line(0.10, 0.08, (50e3, 500e3), 0.0040, 0.05, ("responsabilidade_civil", "colisao"), 0.45, 0.20, 0.05),
    "0621": _Line(0.00, 0.15, (200e3, 5e6), 0.0030, 0.05, ("avaria_carga", "roubo_furto"), 0.50, 0.15, 0.05),
    "0977": _Line(0.17, 0.00, (5e3, 200e3), 0.0120, 0.02,
                  ("morte_natural", "morte_acidental", "desemprego_involuntario", "invalidez_permanente"),
                  0.25, 0.30, 0.18),
    "0993": _Line(0.15, 0.15, (50e3, 1e6), 0.0030, 0.01,
                  ("morte_natural", "morte_acidental", "invalidez_permanente"), 0.35, 0.20, 0.22),
}
_TOTAL_LOSS_CAUSES = frozenset({"roubo_furto", "morte_natural", "morte_acidental", "invalidez_permanente"})
_PRODUCTS_BY_LINE: dict[str, tuple[str, ...]] = {
    line: tuple(code for code, (lob, _) in sorted(ref.PRODUCTS.items()) if lob == line) for line in _LINES
}

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

# Rough share of the insurance market by UF (normalised where used); also the order SUSEP states are added in.
_STATE_WEIGHTS: dict[str, float] = {
    "SP": 0.300, "RJ": 0.100, "MG": 0.095, "PR": 0.070, "RS": 0.068, "SC": 0.050, "BA": 0.040, "GO": 0.030,
    "DF": 0.026, "PE": 0.025, "ES": 0.020, "CE": 0.020, "MT": 0.016, "PA": 0.015, "MS": 0.013, "AM": 0.010,
    "RN": 0.008, "PB": 0.008, "MA": 0.008, "AL": 0.006, "PI": 0.005, "SE": 0.005, "RO": 0.005, "TO": 0.004,
    "AC": 0.002, "AP": 0.002, "RR": 0.002,
}
_STATES_BY_MARKET: tuple[str, ...] = tuple(sorted(_STATE_WEIGHTS, key=lambda uf: (-_STATE_WEIGHTS[uf], uf)))
_STATE_LIST = list(_STATES_BY_MARKET)
_STATE_CUM = [0.0]
for _uf in _STATE_LIST:
    _STATE_CUM.append(_STATE_CUM[-1] + _STATE_WEIGHTS[_uf])
del _uf

_CITIES: dict[str, tuple[str, ...]] = {
    "SP": ("São Paulo", "Campinas", "Santos", "Ribeirão Preto", "São José dos Campos", "Sorocaba"),
    "RJ": ("Rio de Janeiro", "Niterói", "Petrópolis", "Volta Redonda"),
    "MG": ("Belo Horizonte", "Uberlândia", "Juiz de Fora", "Contagem"),
    "PR": ("Curitiba", "Londrina", "Maringá"),
    "RS": ("Porto Alegre", "Caxias do Sul", "Pelotas"),
    "SC": ("Florianópolis", "Joinville", "Blumenau"),
    "BA": ("Salvador", "Feira de Santana"),
    "AC": ("Rio Branco",), "AL": ("Maceió",), "AM": ("Manaus",), "AP": ("Macapá",), "CE": ("Fortaleza",),
    "DF": ("Brasília",), "ES": ("Vitória", "Vila Velha"), "GO": ("Goiânia", "Anápolis"), "MA": ("São Luís",),
    "MS": ("Campo Grande",), "MT": ("Cuiabá",), "PA": ("Belém",), "PB": ("João Pessoa",), "PE": ("Recife", "Olinda"),
    "PI": ("Teresina",), "RN": ("Natal",), "RO": ("Porto Velho",), "RR": ("Boa Vista",), "SE": ("Aracaju",),
    "TO": ("Palmas",),
}
_FIRST_NAMES = (
    "João", "Maria", "José", "Ana", "Antônio", "Francisca", "Carlos", "Adriana", "Paulo", "Juliana", "Pedro",
    "Márcia", "Lucas", "Fernanda", "Luiz", "Patrícia", "Marcos", "Aline", "Gabriel", "Sandra", "Rafael", "Camila",
    "Daniel", "Luciana", "Marcelo", "Beatriz", "Bruno", "Letícia", "Rodrigo", "Conceição",
)
_SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa",
    "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa", "Rocha",
    "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Araújo",
    "Gonçalves",
)
_COMPANY_SUFFIXES = (
    "Comércio de Alimentos Ltda", "Transportes Ltda", "Indústria Metalúrgica S.A.", "Serviços Médicos Ltda",
    "Construções e Incorporações Ltda", "Distribuidora de Bebidas Ltda", "Tecnologia da Informação Ltda",
    "Agropecuária S.A.", "Padaria e Confeitaria Ltda", "Logística e Armazéns Ltda",
)


# --- small helpers ----------------------------------------------------------------------------------

def _ts(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds: 2024-03-05T14:22:31.123Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for dd in (day.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _at(day: date, rng: random.Random, first_hour: int = 8, last_hour: int = 20) -> datetime:
    """A random millisecond-aligned instant on ``day`` between the given hours (UTC)."""
    seconds = rng.randrange(first_hour * 3600, last_hour * 3600)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds,
                                                                          milliseconds=rng.randrange(1000))


def _pick_state(rng: random.Random) -> str:
    return _STATE_LIST[min(bisect_right(_STATE_CUM, rng.random() * _STATE_CUM[-1]) - 1, len(_STATE_LIST) - 1)]


def _cpf(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        if len(set(digits)) > 1:
            break
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
        remainder = total % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _cnpj(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(8)] + [0, 0, 0, 1]
    for weights in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        remainder = sum(d * w for d, w in zip(digits, weights)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _person_name(rng: random.Random) -> str:
    first, last1, last2 = rng.choice(_FIRST_NAMES), rng.choice(_SURNAMES), rng.choice(_SURNAMES)
    return f"{first} {last1} {last2}" if rng.random() < 0.7 else f"{first} {last1} de {last2}"


def _company_name(rng: random.Random) -> str:
    return f"{rng.choice(_SURNAMES)} {rng.choice(_COMPANY_SUFFIXES)}"


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


# --- ERP: one customer "story" at a time --------------------------------------------------------------

class _Erp:
    """Builds ERP events; ``events`` holds (time, order, entity, op, data, partition_key)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[datetime, int, str, str, dict, str]] = []
        self.customers = self.policies = self.claims = 0
        self._last: dict[str, datetime] = {}   # business key -> time of its latest event

    def _after(self, key: str, moment: datetime) -> datetime:
        """``moment`` (ms-aligned), pushed 1 s past the key's previous event so versions strictly increase."""
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        last = self._last.get(key)
        if last is not None and moment <= last:
            moment = last + timedelta(seconds=1)
        return moment

    def _emit(self, moment: datetime, entity: str, op: str, data: dict, key: str, partition_key: str) -> bool:
        if moment > HORIZON:
            return False
        self._last[key] = moment
        self.events.append((moment, len(self.events), entity, op, data, partition_key))
        return True

    def story(self) -> None:
        rng = self.rng
        self.customers += 1
        cid = f"CUS-{self.customers:08d}"
        span = int((LAST_NEW_CUSTOMER - PERIOD_START).total_seconds())
        created = PERIOD_START + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        customer = customer_data(rng, cid, created)
        self._emit(created, "customer", "upsert", customer, cid, cid)

        if rng.random() < 0.06:  # a prospect: never buys; some ask to be erased (LGPD)
            if rng.random() < 0.35:
                when = self._after(cid, created + timedelta(days=rng.uniform(20, 200)))
                self._emit(when, "customer", "delete", {"customer_id": cid}, cid, cid)
            return
        if rng.random() < 0.10:  # moves house
            when = self._after(cid, created + timedelta(days=rng.uniform(10, 300)))
            state = customer["state"] if rng.random() < 0.8 else _pick_state(rng)
            moved = dict(customer, state=state, city=rng.choice(_CITIES[state]), updated_at=_ts(when))
            self._emit(when, "customer", "upsert", moved, cid, cid)

        n_policies = rng.choices((1, 2, 3), (0.72, 0.23, 0.05))[0]
        for number in range(n_policies):
            delay = rng.uniform(0, 25) if number == 0 else rng.uniform(5, 240)
            self._policy_story(customer, created + timedelta(days=delay, seconds=1))

    def _policy_story(self, customer: dict, issued: datetime) -> None:
        rng = self.rng
        issued = issued.replace(microsecond=issued.microsecond // 1000 * 1000)
        if issued > HORIZON:
            return
        self.policies += 1
        pid = f"POL-{self.policies:010d}"
        line = _choose_line(rng, customer["person_type"])
        model = _LINES[line]
        state = customer["state"] if rng.random() < 0.95 else _pick_state(rng)
        start = issued.date() + timedelta(days=rng.randrange(0, 6))
        end = _add_months(start, 12)
        sum_insured = round(_log_uniform(rng, *model.sum_insured), -2)
        premium = _money(max(50.0, sum_insured * model.rate * rng.uniform(0.7, 1.4)))
        policy = {
            "policy_id": pid,
            "customer_id": customer["customer_id"],
            "line_of_business": line,
            "product_code": rng.choice(_PRODUCTS_BY_LINE[line]),
            "state": state,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "sum_insured": _money(sum_insured),
            "annual_premium": premium,
            "status": "active",
            "issued_at": _ts(issued),
            "updated_at": _ts(issued),
        }
        self._emit(issued, "policy", "upsert", policy, pid, pid)

        cancel_at = None
        if rng.random() < 0.05:
            cancel_at = self._after(pid, issued + timedelta(days=rng.uniform(20, 300)))
            cancel_at = cancel_at.replace(microsecond=cancel_at.microsecond // 1000 * 1000)

        # Installments: the whole plan is created at issue, then each one is paid, overdue or cancelled.
        n_installments = rng.choices((1, 3, 6, 10, 12), (0.35, 0.15, 0.20, 0.20, 0.10))[0]
        cents = round(premium * 100)
        base, remainder = divmod(cents, n_installments)
        for number in range(1, n_installments + 1):
            iid = f"INS-{self.policies:010d}-{number:02d}"
            amount = (base + (remainder if number == 1 else 0)) / 100
            due = _add_months(start, number - 1)
            open_ = {
                "installment_id": iid,
                "policy_id": pid,
                "installment_number": number,
                "due_date": due.isoformat(),
                "amount": amount,
                "paid_date": None,
                "status": "open",
            }
            self._emit(issued + timedelta(milliseconds=37 * number), "premium_installment", "upsert", open_, iid, pid)
            due_at = datetime(due.year, due.month, due.day, 12, tzinfo=UTC)
            if cancel_at is not None and due_at > cancel_at:
                when = self._after(iid, cancel_at + timedelta(milliseconds=11 * number))
                self._emit(when, "premium_installment", "upsert", dict(open_, status="cancelled"), iid, pid)
                continue
            draw = rng.random()
            if draw < 0.90:
                paid_day = max(due + timedelta(days=rng.randint(-7, 3)), issued.date())
                self._pay(open_, paid_day, pid)
            else:
                when = self._after(iid, datetime(due.year, due.month, due.day, 3, tzinfo=UTC) + timedelta(days=1))
                if self._emit(when, "premium_installment", "upsert", dict(open_, status="overdue"), iid, pid):
                    if draw < 0.97:
                        self._pay(open_, due + timedelta(days=rng.randint(10, 45)), pid)

        if cancel_at is not None:
            self._emit(cancel_at, "policy", "upsert", dict(policy, status="cancelled", updated_at=_ts(cancel_at)),
                       pid, pid)
        else:
            when = self._after(pid, datetime(end.year, end.month, end.day, 3, tzinfo=UTC))
            self._emit(when, "policy", "upsert", dict(policy, status="expired", updated_at=_ts(when)), pid, pid)

        if rng.random() < model.claim_prob:
            cover_end = min(end, (cancel_at or HORIZON).date(), HORIZON.date())
            if cover_end > start:
                self._claim_story(policy, model, start, cover_end, issued)

    def _pay(self, installment: dict, paid_day: date, pid: str) -> None:
        iid = installment["installment_id"]
        when = self._after(iid, _at(paid_day, self.rng))
        paid_day = when.date()
        self._emit(when, "premium_installment", "upsert",
                   dict(installment, status="paid", paid_date=paid_day.isoformat()), iid, pid)

    def _claim_story(self, policy: dict, model: _Line, start: date, cover_end: date, issued: datetime) -> None:
        rng = self.rng
        occurred = start + timedelta(days=rng.randrange((cover_end - start).days))
        notified = occurred + timedelta(days=rng.randint(0, 15))
        opened_at = max(_at(notified, rng), issued + timedelta(hours=1))
        if opened_at > HORIZON:
            return
        self.claims += 1
        clm = f"CLM-{self.claims:010d}"
        cause = rng.choice(model.causes)
        share = rng.uniform(0.85, 1.0) if cause in _TOTAL_LOSS_CAUSES else rng.uniform(0.02, 0.35)
        claimed = _money(policy["sum_insured"] * share)
        reserve = _money(claimed * rng.uniform(0.8, 1.0))
        claim = {
            "claim_id": clm,
            "policy_id": policy["policy_id"],
            "occurrence_date": occurred.isoformat(),
            "notification_date": opened_at.date().isoformat(),
            "cause": cause,
            "claimed_amount": claimed,
            "incurred_amount": reserve,
            "paid_amount": 0.0,
            "status": "opened",
            "updated_at": _ts(opened_at),
        }
        pid = policy["policy_id"]
        self._emit(opened_at, "claim", "upsert", claim, clm, pid)
        when = self._after(clm, opened_at + timedelta(days=rng.uniform(1, 5)))
        reserve = _money(reserve * rng.uniform(0.9, 1.1))
        claim = dict(claim, status="under_review", incurred_amount=reserve, updated_at=_ts(when))
        if not self._emit(when, "claim", "upsert", claim, clm, pid):
            return
        draw = rng.random()
        when = self._after(clm, when + timedelta(days=rng.uniform(3, 20)))
        if draw < 0.85:
            claim = dict(claim, status="approved", updated_at=_ts(when))
            if self._emit(when, "claim", "upsert", claim, clm, pid):
                when = self._after(clm, when + timedelta(days=rng.uniform(2, 10)))
                self._emit(when, "claim", "upsert",
                           dict(claim, status="paid", paid_amount=reserve, updated_at=_ts(when)), clm, pid)
        else:
            status = "denied" if draw < 0.97 else "withdrawn"
            self._emit(when, "claim", "upsert",
                       dict(claim, status=status, incurred_amount=0.0, updated_at=_ts(when)), clm, pid)


def _choose_line(rng: random.Random, person_type: str) -> str:
    codes = list(_LINES)
    weights = [_LINES[c].pf_weight if person_type == "PF" else _LINES[c].pj_weight for c in codes]
    return rng.choices(codes, weights)[0]


def customer_data(rng: random.Random, customer_id: str, created: datetime) -> dict:
    """A valid ``erp.customer`` data object (85 % PF)."""
    pf = rng.random() < 0.85
    state = _pick_state(rng)
    if pf:
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 66))
        document, name, birth_date = _cpf(rng), _person_name(rng), birth.isoformat()
        if rng.random() < 0.05:
            birth_date = None  # unknown
    else:
        document, name, birth_date = _cnpj(rng), _company_name(rng), None
    return {
        "customer_id": customer_id,
        "person_type": "PF" if pf else "PJ",
        "document_number": document,
        "name": name,
        "birth_date": birth_date,
        "state": state,
        "city": rng.choice(_CITIES[state]),
        "created_at": _ts(created),
        "updated_at": _ts(created),
    }


# --- SUSEP market statistics --------------------------------------------------------------------------

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


def _allocate(good: int) -> tuple[int, int, int, int, int]:
    """Split the good records: (erp, susep cube rows, susep states, susep restatements, replays)."""
    replays = good // REPLAY_EVERY
    core = good - replays
    target = round(core * SUSEP_SHARE)
    per_state = len(REFERENCE_MONTHS) * _susep_rows_per_state()
    states = 0
    for k in range(1, len(_STATES_BY_MARKET) + 1):
        if per_state * k * (1 + SUSEP_RESTATED_SHARE) <= target:
            states = k
    if states == 0:  # fewer rows than one state's cube: publish a prefix of it (SP only)
        restated = round(target * SUSEP_RESTATED_SHARE / (1 + SUSEP_RESTATED_SHARE))
        cube, states = min(target - restated, per_state), 1
    else:
        cube = per_state * states
        restated = min(target - cube, round(cube * SUSEP_RESTATED_SHARE))
    return core - cube - restated, cube, states, restated, replays


# --- standalone samples and bad records ---------------------------------------------------------------

def sample_data(rng: random.Random, source: str, entity: str) -> dict:
    """A standalone valid ``data`` object for any contract (ids in a high range, references dangling)."""
    moment = PERIOD_START + timedelta(seconds=rng.randrange(300 * 86400), milliseconds=rng.randrange(1000))
    n = rng.randrange(90_000_000, 99_999_999)
    if (source, entity) == ("erp", "customer"):
        return customer_data(rng, f"CUS-{n:08d}", moment)
    line = rng.choice(list(_LINES))
    start = moment.date()
    if (source, entity) == ("erp", "policy"):
        sum_insured = round(_log_uniform(rng, *_LINES[line].sum_insured), -2)
        return {
            "policy_id": f"POL-{n:010d}", "customer_id": f"CUS-{n:08d}", "line_of_business": line,
            "product_code": rng.choice(_PRODUCTS_BY_LINE[line]), "state": _pick_state(rng),
            "start_date": start.isoformat(), "end_date": _add_months(start, 12).isoformat(),
            "sum_insured": _money(sum_insured), "annual_premium": _money(sum_insured * _LINES[line].rate),
            "status": "active", "issued_at": _ts(moment), "updated_at": _ts(moment),
        }
    if (source, entity) == ("erp", "premium_installment"):
        number = rng.randint(1, 12)
        return {
            "installment_id": f"INS-{n:010d}-{number:02d}", "policy_id": f"POL-{n:010d}",
            "installment_number": number, "due_date": start.isoformat(), "amount": _money(rng.uniform(50, 3000)),
            "paid_date": None, "status": "open",
        }
    if (source, entity) == ("erp", "claim"):
        claimed = _money(rng.uniform(500, 80_000))
        return {
            "claim_id": f"CLM-{n:010d}", "policy_id": f"POL-{n:010d}", "occurrence_date": start.isoformat(),
            "notification_date": (start + timedelta(days=2)).isoformat(), "cause": rng.choice(_LINES[line].causes),
            "claimed_amount": claimed, "incurred_amount": _money(claimed * 0.9), "paid_amount": 0.0,
            "status": "opened", "updated_at": _ts(moment),
        }
    if (source, entity) == ("susep", "market_statistics"):
        insurer = rng.choice(list(ref.INSURERS))
        written = rng.uniform(1e4, 5e6)
        return {
            "reference_month": rng.choice(REFERENCE_MONTHS), "insurer_code": insurer,
            "insurer_name": ref.INSURERS[insurer], "line_of_business": line, "state": _pick_state(rng),
            "premiums_written": _money(written), "premiums_earned": _money(written * 0.97),
            "claims_incurred": _money(written * 0.5), "claims_paid": _money(written * 0.4),
            "commission_expenses": _money(written * 0.2), "policies_in_force": rng.randrange(1, 50_000),
        }
    raise KeyError(f"no contract {source}.{entity}")


def _envelope(rng: random.Random, source: str, entity: str, moment: datetime, op: str, data: dict) -> dict:
    return {
        "source": source,
        "entity": entity,
        "schema_version": SCHEMA_VERSION,
        "event_id": _uuid4(rng),
        "event_time": _ts(moment),
        "op": op,
        "data": data,
    }


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# Values that break a pattern the way real producers do (Brazilian date format, punctuation, ...).
_PATTERN_BREAKERS: dict[str, str] = {
    DATE_PATTERN: "31/12/2024",
    TIMESTAMP_PATTERN: "2024-03-05 14:22:31",
    MONTH_PATTERN: "2024-1",
    CUSTOMER_ID_PATTERN: "CUS-123",
    POLICY_ID_PATTERN: "POL-ABC123",
    INSTALLMENT_ID_PATTERN: "INS-1-1",
    CLAIM_ID_PATTERN: "clm-0000000001",
    PRODUCT_CODE_PATTERN: "aut001",
    INSURER_CODE_PATTERN: "5631",
    r"^([0-9]{11}|[0-9]{14})$": "123.456.789-09",
}
_CONTRACT_KEYS = sorted(REGISTRY)
_ENVELOPE_FIELDS = ("source", "entity", "schema_version", "event_id", "event_time", "op", "data")


def _value_breakers(contract, data: dict) -> list[tuple[str, object]]:
    """(field, value) pairs, each breaking exactly one non-type rule of the contract."""
    out: list[tuple[str, object]] = []
    for name, schema in contract.fields:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "enum" in schema:
            out.append((name, "INVALIDO"))
        if "pattern" in schema:
            bad = _PATTERN_BREAKERS[schema["pattern"]]
            assert not re.search(schema["pattern"], bad)
            out.append((name, bad))
        if "minLength" in schema:
            out.append((name, ""))
        if "number" in types:
            value = data[name] if isinstance(data[name], (int, float)) else 100.0
            out.append((name, round(abs(value) % 100_000, 2) + 0.005))  # 3 decimals -> multipleOf
            if "minimum" in schema:
                out.append((name, -round(abs(value) + 1.0, 2)))
        if "integer" in types:
            if "minimum" in schema:
                out.append((name, schema["minimum"] - 1))
            if "maximum" in schema:
                out.append((name, schema["maximum"] + 1))
    if contract.entity == "customer":  # the PF/PJ cross-field rule
        out.append(("document_number", "12345678000195" if data["person_type"] == "PF" else "12345678909"))
    out.append(("observacao", "campo fora do contrato"))  # additionalProperties
    return out


def _type_breaker(rng: random.Random, schema: dict, value):
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "integer" in types:
        return rng.choice([value + 0.5, str(value)])
    if "number" in types:
        return rng.choice([f"{value:.2f}", f"R$ {value:.2f}".replace(".", ","), True])
    return rng.choice([12345, 1.5, ["lista"], {"objeto": 1}, False])  # a string (possibly nullable) field


def _bad_record(rng: random.Random, reason: str, moment: datetime) -> GeneratedRecord:
    source, entity = rng.choice(_CONTRACT_KEYS)
    contract = REGISTRY[(source, entity)]
    data = sample_data(rng, source, entity)
    env = _envelope(rng, source, entity, moment, "upsert", data)
    key = "|".join(str(data[field]) for field in contract.business_key)
    label: str | None = entity
    if reason == R.INVALID_ENCODING:
        variant = rng.randrange(3)
        if variant == 0:  # a legacy exporter writing Latin-1
            source, entity = "erp", "customer"
            data = sample_data(rng, source, entity)
            data["name"], data["city"] = "Conceição Araújo Gonçalves", "São João da Boa Vista"
            env = _envelope(rng, source, entity, moment, "upsert", data)
            key, label = data["customer_id"], entity
            payload = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("latin-1")
        elif variant == 1:  # UTF-16 with BOM
            payload = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("utf-16")
        else:  # a corrupted byte inside a string
            good = _dumps(env)
            at = good.index(b'"event_id":"') + len(b'"event_id":"') + 4
            payload = good[:at] + b"\xff" + good[at + 1:]
        if b"\n" in payload:  # cannot happen with the characters used; keep the one-line-per-payload rule
            payload = _dumps(env).replace(b'"source"', b'"s\xe3ource"', 1)
    elif reason == R.INVALID_JSON:
        text = json.dumps(env, ensure_ascii=False, separators=(",", ":"))
        variant = rng.randrange(4)
        if variant == 0:
            text = text[: rng.randrange(1, len(text) - 1)]            # truncated
        elif variant == 1:
            text = repr(env)                                            # Python repr: quotes, None
        elif variant == 2:
            text = text[:-1] + ",}"                                     # trailing comma
        else:
            money = [n for n, s in contract.fields if s.get("type") == "number"] or ["_"]
            if money[0] == "_":
                env["data"]["score"] = float("nan")
            else:
                env["data"][rng.choice(money)] = float("nan")
            text = json.dumps(env, ensure_ascii=False, separators=(",", ":"))  # emits NaN
        payload = text.encode("utf-8")
    elif reason == R.INVALID_ENVELOPE:
        variant = rng.randrange(9)
        if variant == 0:
            doc: object = [env]
        elif variant == 1:
            del env[rng.choice(_ENVELOPE_FIELDS)]
            doc = env
        elif variant == 2:
            doc = dict(env, op="merge")
        elif variant == 3:
            doc = dict(env, schema_version=2)
        elif variant == 4:
            doc = dict(env, event_time=env["event_time"][:19] + "-03:00")
        elif variant == 5:
            doc = dict(env, event_id="evt-" + env["event_id"][:8])
        elif variant == 6:
            doc = dict(env, source="crm")
        elif variant == 7:
            doc = dict(env, producer="erp-cdc")
        else:
            doc = dict(env, data=json.dumps(data, ensure_ascii=False))  # double-encoded data
        payload = _dumps(doc)
    elif reason == R.UNKNOWN_ENTITY:
        source, entity = rng.choice([("erp", "vendor"), ("erp", "broker_commission"), ("erp", "market_statistics"),
                                     ("susep", "reinsurance_statistics"), ("susep", "customer")])
        label = None
        payload = _dumps(dict(env, source=source, entity=entity))
    elif reason == R.MISSING_REQUIRED_FIELD:
        del data[rng.choice(contract.required)]
        payload = _dumps(env)
    elif reason == R.INVALID_TYPE:
        name, schema = rng.choice(contract.fields)
        data[name] = _type_breaker(rng, schema, data[name])
        payload = _dumps(env)
    elif reason == R.INVALID_VALUE:
        name, value = rng.choice(_value_breakers(contract, data))
        data[name] = value
        payload = _dumps(env)
    else:
        raise ValueError(f"unknown reason {reason!r}")
    return GeneratedRecord(payload=payload, partition_key=key, source=source, entity=label, expected_reason=reason)


# --- the public API -----------------------------------------------------------------------------------

def generate(records: int, seed: int = 42, bad_share: float = 0.0) -> list[GeneratedRecord]:
    """``records`` payloads, ``round(records * bad_share)`` of them bad (see the module docstring)."""
    if records < 0:
        raise ValueError("records must be >= 0")
    if not 0.0 <= bad_share <= 1.0:
        raise ValueError("bad_share must be between 0 and 1")
    rng = random.Random(seed)
    n_bad = round(records * bad_share)
    n_erp, n_cube, n_states, n_restated, n_replays = _allocate(records - n_bad)

    erp = _Erp(rng)
    while len(erp.events) < n_erp:
        erp.story()
    erp_events = sorted(erp.events, key=lambda e: (e[0], e[1]))[:n_erp]
    susep_events = _susep_events(rng, n_cube, n_states, n_restated, erp_events)

    timeline = [(e[0], 0, e[1], e) for e in erp_events] + [(e[0], 1, e[1], e) for e in susep_events]
    timeline.sort(key=lambda t: t[:3])
    good: list[GeneratedRecord] = []
    for moment, _, _, (_, _, entity, op, data, partition_key) in timeline:
        source = "susep" if entity == "market_statistics" else "erp"
        payload = _dumps(_envelope(rng, source, entity, moment, op, data))
        good.append(GeneratedRecord(payload=payload, partition_key=partition_key, source=source, entity=entity))
    if n_replays and good:
        replayed = set(rng.sample(range(len(good)), n_replays))
        with_replays: list[GeneratedRecord] = []
        for index, record in enumerate(good):
            with_replays.append(record)
            if index in replayed:
                with_replays.append(record)  # the producer retried: same event id, same bytes
        good = with_replays

    if not n_bad:
        return good
    reason_cycle = [R.ALL_REASONS[i % len(R.ALL_REASONS)] for i in range(n_bad)]
    rng.shuffle(reason_cycle)
    positions = set(rng.sample(range(records), n_bad))
    out: list[GeneratedRecord] = []
    good_iter, bad_iter = iter(good), iter(reason_cycle)
    for position in range(records):
        if position in positions:
            moment = PERIOD_START + timedelta(seconds=rng.randrange(390 * 86400), milliseconds=rng.randrange(1000))
            out.append(_bad_record(rng, next(bad_iter), moment))
        else:
            out.append(next(good_iter))
    return out


def expected_counts(records) -> dict:
    """``{"valid": {(source, entity): n}, "bad": {reason: n}}``; every contract and reason is present."""
    valid = {key: 0 for key in sorted(REGISTRY)}
    bad = {reason: 0 for reason in R.ALL_REASONS}
    for record in records:
        if record.expected_reason is None:
            valid[(record.source, record.entity)] += 1
        else:
            bad[record.expected_reason] += 1
    return {"valid": valid, "bad": bad}


def manifest(records, *, seed: int, bad_share: float, sha256: str | None = None) -> dict:
    """A JSON-friendly description of a generated data set (valid keys as ``"source.entity"``)."""
    counts = expected_counts(records)
    result = {
        "generator": "data_contracts.generator",
        "schema_version": SCHEMA_VERSION,
        "records": len(records),
        "seed": seed,
        "bad_share": bad_share,
        "valid": {f"{s}.{e}": n for (s, e), n in counts["valid"].items()},
        "bad": counts["bad"],
        "valid_total": sum(counts["valid"].values()),
        "bad_total": sum(counts["bad"].values()),
        "company_insurer_code": ref.COMPANY_INSURER_CODE,
    }
    if sha256 is not None:
        result["sha256"] = sha256
    return result


def write_jsonl(records, stream) -> str:
    """Write one payload per line to a binary stream; return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    for record in records:
        if b"\n" in record.payload:
            raise ValueError("a payload contains a newline byte")
        line = record.payload + b"\n"
        digest.update(line)
        stream.write(line)
    return digest.hexdigest()


def to_kinesis_event(records, *, shard_id: str = DEFAULT_SHARD_ID, first_sequence: int = DEFAULT_FIRST_SEQUENCE,
                     sequence_step: int = 10, arrival_epoch: float = DEFAULT_ARRIVAL_EPOCH,
                     arrival_step: float = 0.001, region: str = "us-east-1",
                     stream_arn: str = "arn:aws:kinesis:us-east-1:000000000000:stream/lakeforge-ingest") -> dict:
    """A Lambda Kinesis event (``{"Records": [...]}``) carrying the payloads, in order, on one shard."""
    out = []
    for index, record in enumerate(records):
        payload = record.payload if isinstance(record, GeneratedRecord) else record
        partition_key = record.partition_key if isinstance(record, GeneratedRecord) else f"pk-{index}"
        sequence = str(first_sequence + index * sequence_step)
        out.append({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": partition_key,
                "sequenceNumber": sequence,
                "data": base64.b64encode(payload).decode("ascii"),
                "approximateArrivalTimestamp": round(arrival_epoch + index * arrival_step, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::000000000000:role/lakeforge-ingest",
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        })
    return {"Records": out}


# --- unstructured documents -----------------------------------------------------------------------------

_NOTE_OPENERS = (
    "O segurado entrou em contato pela central de atendimento e relatou o ocorrido.",
    "Comunicado recebido pelo corretor por e-mail, com fotos em anexo.",
    "Aviso de sinistro registrado pelo aplicativo; segurado orientado sobre a documentação.",
)
_NOTE_BODIES: dict[str, tuple[str, ...]] = {
    "colisao": ("Colisão traseira em via urbana, sem vítimas. Terceiro envolvido forneceu dados do seguro.",
                "Colisão lateral em cruzamento; boletim de ocorrência lavrado no local."),
    "roubo_furto": ("Veículo subtraído em estacionamento público durante a noite. BO registrado.",
                    "Arrombamento da residência com furto de eletrônicos; perícia agendada."),
    "alagamento": ("Alagamento após chuva forte; água atingiu o painel do veículo.",
                   "Infiltração e alagamento do pavimento térreo após temporal."),
    "incendio": ("Princípio de incêndio na cozinha, contido pelos bombeiros.",),
    "danos_eletricos": ("Queima de equipamentos após oscilação de energia na rede da concessionária.",),
    "vendaval": ("Destelhamento parcial causado por vendaval; lona provisória instalada.",),
    "responsabilidade_civil": ("Terceiro reclama danos materiais causados durante a prestação de serviço.",),
    "avaria_carga": ("Carga avariada durante o transporte rodoviário; mercadoria recusada pelo destinatário.",),
}
_DEFAULT_BODY = ("Documentação pessoal e laudos médicos solicitados aos beneficiários.",)


def _pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF 1.4 showing ``lines`` (Helvetica, WinAnsi). Deterministic bytes."""
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 11 Tf 14 TL 50 800 Td " + " T* ".join(f"({escape(line)}) Tj" for line in lines) + " ET"
    stream = content.encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def generate_documents(count: int, seed: int = 42) -> list[tuple[str, bytes, str]]:
    """Unstructured claim documents that land in bronze untouched: ``(key_suffix, body, content_type)``.

    Three documents per claim, in turn: an attendance note (``.txt``, Portuguese), an inspection report
    (``.json``) and a settlement report (``.pdf``), for claims ``CLM-0000000001``, ``CLM-0000000002``, ...
    (the ids :func:`generate` gives its first claims). Key suffixes look like
    ``claims/CLM-0000000001/nota-atendimento.txt``.
    """
    rng = random.Random(f"lakeforge-documents-{seed}")
    documents: list[tuple[str, bytes, str]] = []
    for index in range(count):
        claim_id = f"CLM-{index // 3 + 1:010d}"
        kind = index % 3
        cause = rng.choice(ref.CLAIM_CAUSES)
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
        name = _person_name(rng)
        body_text = rng.choice(_NOTE_BODIES.get(cause, _DEFAULT_BODY))
        if kind == 0:
            text = (
                f"NOTA DE ATENDIMENTO - SINISTRO {claim_id}\n"
                f"Data do atendimento: {day.strftime('%d/%m/%Y')}\n"
                f"Segurado(a): {name}\n"
                f"Causa informada: {cause.replace('_', ' ')}\n\n"
                f"{rng.choice(_NOTE_OPENERS)}\n{body_text}\n"
                f"Próximos passos: análise de cobertura e agendamento de vistoria.\n"
                f"Atendente: {_person_name(rng)}\n"
            )
            documents.append((f"claims/{claim_id}/nota-atendimento.txt", text.encode("utf-8"),
                              "text/plain; charset=utf-8"))
        elif kind == 1:
            report = {
                "claim_id": claim_id,
                "document_type": "vistoria",
                "inspection_date": day.isoformat(),
                "inspector": _person_name(rng),
                "cause": cause,
                "findings": [body_text, "Danos compatíveis com o relato do segurado."],
                "estimated_damage": _money(rng.uniform(800, 60_000)),
                "photos": rng.randint(3, 24),
                "recommendation": rng.choice(["indenizar", "indenizar_parcialmente", "negar", "solicitar_documentos"]),
            }
            body = (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
            documents.append((f"claims/{claim_id}/vistoria.json", body, "application/json"))
        else:
            lines = [
                f"{ref.COMPANY_INSURER_NAME} - Relatório de Regulação de Sinistro",
                f"Sinistro: {claim_id}",
                f"Data: {day.strftime('%d/%m/%Y')}",
                f"Regulador(a): {_person_name(rng)}",
                f"Causa: {cause.replace('_', ' ')}",
                body_text,
                f"Valor apurado: R$ {rng.uniform(800, 60_000):,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
                "Documento gerado para fins de demonstração.",
            ]
            documents.append((f"claims/{claim_id}/relatorio-regulacao.pdf", _pdf(lines), "application/pdf"))
    return documents


# --- CLI ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_contracts.generator",
                                     description="Write deterministic sample ingest payloads, one per line.")
    parser.add_argument("--records", type=int, required=True, help="number of payloads")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed (default: %(default)s)")
    parser.add_argument("--bad-share", type=float, default=0.0, help="share of bad payloads, 0..1 (default: 0)")
    parser.add_argument("--out", required=True, help="output .jsonl file, or - for stdout")
    parser.add_argument("--manifest", help="also write a JSON manifest (parameters, expected counts, sha256)")
    args = parser.parse_args(argv)
    if args.records < 0 or not 0.0 <= args.bad_share <= 1.0:
        parser.error("--records must be >= 0 and --bad-share between 0 and 1")
    records = generate(args.records, seed=args.seed, bad_share=args.bad_share)
    if args.out == "-":
        digest = write_jsonl(records, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as stream:
            digest = write_jsonl(records, stream)
    if args.manifest:
        path = Path(args.manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(manifest(records, seed=args.seed, bad_share=args.bad_share, sha256=digest),
                          indent=2, sort_keys=True) + "\n"
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
