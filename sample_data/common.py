"""What every kind of sample data shares: the period, the lines of business, the states, small
time/money/RNG helpers, and the stream envelope with :class:`GeneratedRecord`.
"""
from __future__ import annotations

import json
import math
import random
import uuid
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timezone

from data_contracts import reference as ref
from data_contracts.contracts import SCHEMA_VERSION

UTC = timezone.utc
PERIOD_START = datetime(2024, 1, 1, tzinfo=UTC)
LAST_NEW_CUSTOMER = datetime(2024, 12, 20, tzinfo=UTC)
HORIZON = datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)  # nothing is emitted after this instant
REFERENCE_MONTHS: tuple[str, ...] = tuple(f"2024-{m:02d}" for m in range(1, 13))


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
_PRODUCTS_BY_LINE: dict[str, tuple[str, ...]] = {
    line: tuple(code for code, (lob, _) in sorted(ref.PRODUCTS.items()) if lob == line) for line in _LINES
}

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


def _pick_state(rng: random.Random) -> str:
    return _STATE_LIST[min(bisect_right(_STATE_CUM, rng.random() * _STATE_CUM[-1]) - 1, len(_STATE_LIST) - 1)]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


# --- the stream envelope ---------------------------------------------------------------------------

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
