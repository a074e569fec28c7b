"""The declared short-rate model (Hull-White one factor) and the mortgage-rate formula read off
its paths; the simulation lives in engine/ratepaths.py.

Conventions:
- Rates are decimals. The short rate r is continuously compounded, constant over each monthly
  step (dt = 1/12 year); mean reversion `a` is per year, volatility `sigma` is the absolute
  (normal) volatility of the short rate per sqrt(year), e.g. 0.01 = 100 bp.
- The curve the model is fitted to is the deal's par curve (model/curve.py), turned into
  discount factors through its bootstrapped semiannual spot rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError
from .curve import Curve

# Most a Monte Carlo run is asked for; beyond it the arrays [path, period, tenor] outgrow memory.
MAX_PATHS = 100_000


@dataclass(frozen=True)
class HullWhite:
    """Hull-White one-factor model: dr = (theta(t) - a r) dt + sigma dW, theta fitted to the curve.

    `paths` Monte Carlo paths from `seed`; with `antithetic`, paths come in pairs whose shocks are
    negatives of each other (so the mean shock is exactly zero; `paths` must then be even)."""

    mean_reversion: float
    volatility: float
    paths: int
    seed: int = 0
    antithetic: bool = True

    def __post_init__(self) -> None:
        if not math.isfinite(self.volatility) or self.volatility < 0:
            raise InputError(f"the rate model's volatility ({self.volatility:g}) must be zero or positive "
                             "(an absolute volatility of the short rate, e.g. 0.01 for 100 bp)")
        if not math.isfinite(self.mean_reversion) or self.mean_reversion < 0:
            raise InputError(f"the rate model's mean reversion ({self.mean_reversion:g}) must be zero or "
                             "positive (per year, e.g. 0.03)")
        if self.paths < 1:
            raise InputError(f"the rate model needs at least one path (got {self.paths})")
        if self.paths > MAX_PATHS:
            raise InputError(f"the rate model asks for {self.paths:,} paths: at most {MAX_PATHS:,}")
        if self.antithetic and self.paths % 2:
            raise InputError(f"antithetic paths come in pairs: {self.paths} paths is odd "
                             f"(ask for {self.paths + 1}, or switch antithetic off)")


def check_horizon(curve: Curve, periods: int) -> None:
    """The curve must reach the deal's last payment: rate paths are fitted to its discount
    factors out to there (tenors read beyond it, e.g. a 10-year rate in year 30, use the curve's
    last spot rate held flat)."""
    if periods < 1:
        raise InputError(f"rate paths need at least one period (got {periods})")
    horizon = periods / 12.0
    longest = max(curve.tenors)
    if longest + 1e-9 < horizon:
        raise InputError(f"curve \"{curve.name}\" reaches {longest:g} years but the deal runs "
                         f"{horizon:g} years ({periods} months): add points out to "
                         f"{math.ceil(horizon):g} years")


@dataclass(frozen=True)
class MortgageRate:
    """The prevailing mortgage rate on a path: constant + sum of weight x par rate(tenor).

    The default is the OTS form 0.024 + 0.2 x 2-year + 0.6 x 10-year. It uses par rates
    (semiannual bond-equivalent, like the curve): the OTS regression was fitted on
    constant-maturity Treasury yields, which are par yields. A tenor's par rate plus a spread is
    MortgageRate(spread, ((tenor, 1.0),))."""

    constant: float = 0.024
    terms: tuple[tuple[float, float], ...] = ((2.0, 0.2), (10.0, 0.6))

    def __post_init__(self) -> None:
        for tenor, _ in self.terms:
            # Par rates are read at semiannual coupons: a tenor is a whole number of half-years.
            if tenor <= 0 or abs(tenor * 2 - round(tenor * 2)) > 1e-9:
                raise InputError(f"the mortgage rate reads a {tenor:g}-year rate: tenors are positive "
                                 "whole half-years (2, 10, ...)")

    @property
    def longest_months(self) -> int:
        return max((round(t * 12) for t, _ in self.terms), default=0)


OTS_MORTGAGE_RATE = MortgageRate()
