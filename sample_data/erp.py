"""The company's ERP records: customers, policies, premium installments and claims.

Customers are 85 % PF with a valid CPF, 15 % PJ with a valid CNPJ; policies reference customers;
premium installments reference policies (created at issue, later paid / overdue / cancelled: updates of
the same key with a later ``event_time``); claims reference policies (opened -> under_review -> paid /
denied / withdrawn); policy cancellations and expiries; customer address changes; a few prospect
customers deleted on request (``op: "delete"``, key only, LGPD). Every event is emitted in time order
after the events it references, so every prefix of the stream is referentially coherent.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sample_data.common import (
    _LINES,
    _PRODUCTS_BY_LINE,
    HORIZON,
    LAST_NEW_CUSTOMER,
    PERIOD_START,
    UTC,
    _add_months,
    _Line,
    _log_uniform,
    _money,
    _pick_state,
    _ts,
)

__all__ = ["customer_data"]

_TOTAL_LOSS_CAUSES = frozenset({"roubo_furto", "morte_natural", "morte_acidental", "invalidez_permanente"})

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


def _at(day: date, rng: random.Random, first_hour: int = 8, last_hour: int = 20) -> datetime:
    """A random millisecond-aligned instant on ``day`` between the given hours (UTC)."""
    seconds = rng.randrange(first_hour * 3600, last_hour * 3600)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds,
                                                                          milliseconds=rng.randrange(1000))


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
