"""Observed prepayment speeds from pool factors, by the SIFMA standard formulas.

A pool's factor falls for two reasons: scheduled amortization and prepayment. The standard
method takes the scheduled part out with the amortization factor of a level-pay pool at the
WAC: after k months from a remaining term of M months at monthly rate c,

    AMF(k) = (1 - (1 + c)^-(M - k)) / (1 - (1 + c)^-M)

and the prepayment survival over the m months between two factors is what is left:

    SMM = 1 - ((F2 / F1) / AMF(m))^(1/m),    CPR = 1 - (1 - SMM)^12.

The PSA speed is the one whose monthly SMMs, at the pool's ages over those months, give the same
survival; there is no closed form (the PSA ramp changes each month up to age 30), so it is found
by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..inputs import parse_cell_number, parse_whole_cell, read_rows

MAX_PSA = 100_000.0  # the bisection's upper end; beyond this no pool has paid


@dataclass(frozen=True)
class ObservedSpeed:
    """The speed between two factors: months `start`..`end` (end - start months apart)."""

    start: int
    end: int
    smm: float  # percent
    cpr: float  # percent
    psa: float | None  # None when the survival needs more than MAX_PSA (or the pool paid off)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"start": self.start, "end": self.end, "smm": self.smm, "cpr": self.cpr, "psa": self.psa}


def amortization_factor(wac: float, wam: int, months: int) -> float:
    """The scheduled balance left after `months` of a level-pay pool of WAC (percent) and WAM."""
    if months >= wam:
        return 0.0
    c = wac / 1200.0
    if c == 0:
        return (wam - months) / wam
    return (1.0 - (1.0 + c) ** -(wam - months)) / (1.0 - (1.0 + c) ** -wam)


def observed_speed(factor1: float, factor2: float, wac: float, wam: int, age: int,
                   months: int = 1, start: int = 0) -> ObservedSpeed:
    """SMM, CPR and PSA between factor1 and factor2, `months` apart; WAC (percent), WAM and age
    (months) as of factor1."""
    if not (factor1 > 0 and 0 <= factor2 <= factor1):
        raise InputError(f"factors {factor1:g} then {factor2:g}: a factor must be positive and can only "
                         "fall (a later factor above an earlier one is not a paydown)")
    if months < 1:
        raise InputError("the factors must be at least one month apart")
    if not 0 <= wac <= 25:
        raise InputError(f"a WAC of {wac:g}% is not a mortgage rate (0 to 25, in percent)")
    if not 1 <= wam <= 480 or months > wam:
        raise InputError(f"a WAM of {wam} months cannot span {months} months (WAM 1 to 480)")
    if age < 0:
        raise InputError("the loan age cannot be negative")
    amf = amortization_factor(wac, wam, months)
    survival = (factor2 / factor1) / amf if amf > 0 else 0.0
    survival = min(survival, 1.0)  # a factor a hair above schedule is rounding, not negative prepayment
    smm = 1.0 - survival ** (1.0 / months)
    cpr = 1.0 - (1.0 - smm) ** 12
    return ObservedSpeed(start, start + months, 100.0 * smm, 100.0 * cpr, _psa(survival, age, months))


def _psa_survival(psa: float, age: int, months: int) -> float:
    out = 1.0
    for k in range(1, months + 1):
        cpr = min(psa / 100.0 * 0.002 * min(max(age + k, 1), 30), 1.0)
        out *= (1.0 - cpr) ** (1.0 / 12.0)
    return out


def _psa(survival: float, age: int, months: int) -> float | None:
    if survival >= 1.0:
        return 0.0
    if survival <= _psa_survival(MAX_PSA, age, months):
        return None
    lo, hi = 0.0, MAX_PSA
    for _ in range(200):  # to float precision: the interval halves each step
        mid = 0.5 * (lo + hi)
        if _psa_survival(mid, age, months) > survival:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def read_factors(path: Path) -> list[tuple[int, float]]:
    """(month, factor) rows of a CSV 'month,factor', months rising by one, factors in 0..1."""
    out: list[tuple[int, float]] = []
    for row_no, row in read_rows(path, ("month", "factor"), "factor"):
        if len(row) < 2:
            raise InputError(f"{path}, row {row_no}: needs a month and a factor")
        month = parse_whole_cell(row[0], f"{path}, row {row_no}, column 'month'")
        factor = parse_cell_number(row[1], f"{path}, row {row_no}, column 'factor'", "a factor")
        if not 0 <= factor <= 1:
            raise InputError(f"{path}, row {row_no}, column 'factor': '{row[1]}' is not a factor "
                             "between 0 and 1")
        if out and month != out[-1][0] + 1:
            raise InputError(f"{path}, row {row_no}, column 'month': expected month {out[-1][0] + 1}, "
                             f"found {month}")
        if out and factor > out[-1][1]:
            raise InputError(f"{path}, row {row_no}, column 'factor': {factor:g} is above the month before "
                             f"({out[-1][1]:g}); a pool factor only falls")
        out.append((month, factor))
    if len(out) < 2:
        raise InputError(f"{path}: needs at least two months of factors")
    return out


def speeds_from_factors(factors: list[tuple[int, float]], wac: float, wam: int,
                        age: int) -> tuple[list[ObservedSpeed], ObservedSpeed]:
    """Each month's speed and the average over the whole span; WAC, WAM, age as of the first row."""
    monthly = []
    first = factors[0][0]
    for (m1, f1), (_, f2) in zip(factors, factors[1:], strict=False):
        k = m1 - first
        if f1 == 0:
            break  # paid off: no later month has a speed
        monthly.append(observed_speed(f1, f2, wac, wam - k, age + k, 1, m1))
    months = factors[-1][0] - first
    average = observed_speed(factors[0][1], factors[-1][1], wac, wam, age, months, first)
    if math.isnan(average.smm):
        raise InputError("the factors give no speed")
    return monthly, average
