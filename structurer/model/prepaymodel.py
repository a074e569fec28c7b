"""The declared rate-driven prepayment model: turnover plus refinancing, each seasoned and
seasonal; the arithmetic over rate paths lives in engine/prepaymodel.py.

CPR (annual, decimal) of a pool in a period, clipped to [0, 1]:

    CPR = (turnover + multiplier x Refi(WAC / rate) x Burnout) x Seasoning(age) x Season(month)

- Refi is the OTS S-curve Refi = 0.2406 - 0.1389 x atan(5.952 x (1.089 - WAC / rate)), `rate`
  the path's mortgage rate at the start of the period (model/ratemodel.MortgageRate).
- Seasoning = min(age, 30) / 30, age the loan-age month of the payment projected (as for PSA).
- Season = the multiplier of the payment date's calendar month, January to December:
  .94 .76 .73 .96 .98 .92 .99 1.10 1.18 1.21 1.23 .97.
- Burnout = 0.3 + 0.7 x (the pool's balance surviving prepayment since the projection start):
  the OTS burnout multiplier B_t/B_0, with B the prepayment factor (scheduled amortisation does
  not burn a pool out). A pool that refinanced heavily has lost its most rate-sensitive
  borrowers, so its cumulative exposure to incentive lowers further refinancing.

The default, OTS, is the Office of Thrift Supervision's Net Portfolio Value model prepayment
function (OTS, "The OTS Net Portfolio Value Model", 1994/2000): CPR = RI x AGE x MM x BM with
RI = 0.2406 - 0.1389 atan(5.952 (1.089 - C/R)), AGE = min(age/30, 1), the month multipliers
above and BM = 0.3 + 0.7 B_{t-1}/B_0. Its S-curve already holds turnover (about 9% CPR at no
incentive), so its separate turnover is zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import InputError

OTS_SEASONALITY = (0.94, 0.76, 0.73, 0.96, 0.98, 0.92, 0.99, 1.10, 1.18, 1.21, 1.23, 0.97)
NO_SEASONALITY = (1.0,) * 12


@dataclass(frozen=True)
class SCurve:
    """Refi = level - slope x atan(steepness x (centre - WAC / rate)), annual CPR."""

    level: float = 0.2406
    slope: float = 0.1389
    steepness: float = 5.952
    centre: float = 1.089


@dataclass(frozen=True)
class PrepayModel:
    """Coefficients of the model (see the module's docstring). `refinancing` False switches the
    S-curve off; `seasoning_months` 0 switches the ramp off."""

    turnover: float = 0.0
    refinancing: bool = True
    multiplier: float = 1.0
    s_curve: SCurve = SCurve()
    seasoning_months: int = 30
    seasonality: tuple[float, ...] = OTS_SEASONALITY
    burnout_floor: float = 0.3
    burnout_slope: float = 0.7

    def __post_init__(self) -> None:
        if not math.isfinite(self.turnover) or not 0.0 <= self.turnover <= 1.0:
            raise InputError(f"the prepayment model's turnover ({self.turnover:g}) is an annual CPR "
                             "from 0 to 1")
        if not math.isfinite(self.multiplier) or self.multiplier < 0:
            raise InputError(f"the prepayment model's refinancing multiplier ({self.multiplier:g}) "
                             "must be zero or positive")
        if self.seasoning_months < 0:
            raise InputError(f"the seasoning ramp ({self.seasoning_months} months) cannot be negative")
        if len(self.seasonality) != 12 or any(not math.isfinite(m) or m < 0 for m in self.seasonality):
            raise InputError("seasonality needs 12 multipliers, January to December, none negative")
        if self.burnout_floor < 0 or self.burnout_slope < 0:
            raise InputError("the burnout multiplier's floor and slope cannot be negative")

    def scaled(self, multiplier: float) -> PrepayModel:
        """The same model with its refinancing scaled (1.5 = refinancing 50% faster)."""
        return replace(self, multiplier=multiplier)


OTS = PrepayModel()


def constant_turnover(cpr: float) -> PrepayModel:
    """Turnover alone at a constant annual CPR: no refinancing, no ramp, no seasonality."""
    return PrepayModel(turnover=cpr, refinancing=False, seasoning_months=0, seasonality=NO_SEASONALITY)
