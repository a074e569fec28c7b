"""Prepayment speed conversions (SIFMA Uniform Practices, chapter SF), one number at a time.

Every speed is in percent, as the deal language writes it (6 CPR is 6%, 0.5 SMM is 0.5%,
1.5 ABS is 1.5%). AGE is the loan-age month of the payment (month 1 is the first payment).

- SMM <-> CPR: SMM = 1 - (1 - CPR)^(1/12); CPR = 1 - (1 - SMM)^12. No age needed.
- PSA -> CPR: CPR = min(PSA/100 x 0.2% x min(max(AGE, 1), 30), 100%) (as the engine projects).
- CPR -> PSA at AGE: PSA = CPR / (0.2% x min(max(AGE, 1), 30)) x 100, the PSA speed whose
  curve passes through the observed CPR at that age. A CPR of 100% is reached by every PSA
  at or above the cap, so it has no single PSA: refused.
- ABS (the absolute prepayment model of auto and other amortising ABS): ABS is the monthly
  prepayment rate as a share of the ORIGINAL number of loans, so at AGE the SMM is
  SMM = ABS / (1 - ABS x (AGE - 1)) (decimals), and ABS = SMM / (1 + SMM x (AGE - 1)).
  An ABS speed so high that ABS x (AGE - 1) >= 1 has prepaid every loan before AGE: refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

SPEED_UNITS = ("SMM", "CPR", "PSA", "ABS")


def _check(value: float, unit: str, top: float | None = 100.0) -> float:
    if not math.isfinite(value) or value < 0 or (top is not None and value > top):
        limit = f" and at most {top:g}" if top is not None else ""
        raise InputError(f"{value:g} {unit} is not a speed: a speed is a finite number, 0 or more{limit}")
    return float(value)


def _age(age: int | None, unit: str) -> int:
    if age is None:
        raise InputError(f"{unit} speeds depend on the loan's age: give the age (month 1 is the first "
                         "payment)")
    if isinstance(age, bool) or int(age) != age or age < 1:
        raise InputError(f"the age is a whole number of months, 1 or more (it was {age})")
    return int(age)


def smm_from_cpr(cpr: float) -> float:
    """SMM (percent) of a CPR (percent)."""
    c = _check(cpr, "CPR") / 100.0
    # 1 - (1 - c)^(1/12) through log1p/expm1: the same number, without cancellation for small c.
    return 100.0 * -math.expm1(math.log1p(-c) / 12.0) if c < 1.0 else 100.0


def cpr_from_smm(smm: float) -> float:
    """CPR (percent) of an SMM (percent)."""
    s = _check(smm, "SMM") / 100.0
    return 100.0 * -math.expm1(12.0 * math.log1p(-s)) if s < 1.0 else 100.0


def cpr_from_psa(psa: float, age: int) -> float:
    """The CPR (percent) of a PSA speed at loan-age month `age`."""
    p = _check(psa, "PSA", None)
    return min(p / 100.0 * 0.2 * min(max(_age(age, "PSA"), 1), 30), 100.0)


def psa_from_cpr(cpr: float, age: int) -> float:
    """The PSA speed whose curve gives `cpr` (percent) at loan-age month `age`."""
    c = _check(cpr, "CPR")
    if c >= 100.0:
        raise InputError("100 CPR is the PSA curve's cap, reached by every speed above some PSA: it "
                         "has no single PSA speed")
    return c / (0.2 * min(max(_age(age, "PSA"), 1), 30)) * 100.0


def smm_from_abs(abs_speed: float, age: int) -> float:
    """The SMM (percent) of an ABS speed (percent) at loan-age month `age`."""
    a = _check(abs_speed, "ABS") / 100.0
    m = _age(age, "ABS")
    left = 1.0 - a * (m - 1)
    if left <= 0.0:
        raise InputError(f"{abs_speed:g} ABS has prepaid every loan by month {m}: no SMM at that age")
    return 100.0 * min(a / left, 1.0)


def abs_from_smm(smm: float, age: int) -> float:
    """The ABS speed (percent) that gives `smm` (percent) at loan-age month `age`."""
    s = _check(smm, "SMM") / 100.0
    m = _age(age, "ABS")
    return 100.0 * s / (1.0 + s * (m - 1))


@dataclass(frozen=True)
class Speeds:
    """One speed in every unit at one age (PSA and ABS None where they have no value)."""

    age: int | None
    smm: float
    cpr: float
    psa: float | None
    abs: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"age": self.age, "SMM": self.smm, "CPR": self.cpr, "PSA": self.psa, "ABS": self.abs}


def convert(value: float, unit: str, age: int | None = None) -> Speeds:
    """`value` in `unit` (SMM, CPR, PSA or ABS) in every unit at `age`. PSA and ABS need the
    age (to convert from them, or to them); SMM <-> CPR alone does not."""
    unit = unit.upper()
    if unit not in SPEED_UNITS:
        raise InputError(f"'{unit}' is not a speed unit; write SMM, CPR, PSA or ABS")
    if unit == "SMM":
        smm = _check(value, "SMM")
        cpr = cpr_from_smm(smm)
    elif unit == "CPR":
        cpr = _check(value, "CPR")
        smm = smm_from_cpr(cpr)
    elif unit == "PSA":
        cpr = cpr_from_psa(value, _age(age, "PSA"))
        smm = smm_from_cpr(cpr)
    else:
        smm = smm_from_abs(value, _age(age, "ABS"))
        cpr = cpr_from_smm(smm)
    if age is None:
        return Speeds(None, smm, cpr, None, None)
    psa = float(value) if unit == "PSA" else (psa_from_cpr(cpr, age) if cpr < 100.0 else None)
    speed_abs = float(value) if unit == "ABS" else abs_from_smm(smm, age)
    return Speeds(_age(age, unit), smm, cpr, psa, speed_abs)
