"""SMM arrays [path, pool, period] from the rate-driven prepayment model (model/prepaymodel.py)
on mortgage-rate paths [path, period]: the paths are the engine's scenario axis."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..dates import payment_dates
from ..model.prepaymodel import PrepayModel, SCurve
from .prepayment import smm_from_cpr

# The mortgage rate is held above this (decimal) so that WAC / rate stays finite when a shifted
# curve goes negative.
RATE_FLOOR = 1e-4


def refi(curve: SCurve, ratio: np.ndarray | float) -> np.ndarray:
    """The S-curve's annual CPR at WAC / rate = ratio."""
    ratio = np.asarray(ratio, dtype=float)
    return curve.level - curve.slope * np.arctan(curve.steepness * (curve.centre - ratio))


def seasoning(model: PrepayModel, age: np.ndarray) -> np.ndarray:
    """min(age, months) / months; 1 throughout when the ramp is off."""
    if model.seasoning_months == 0:
        return np.ones_like(age, dtype=float)
    return np.minimum(age, model.seasoning_months) / model.seasoning_months


def calendar_months(first_payment: dt.date, periods: int) -> np.ndarray:
    """Calendar month (1-12) of each period's payment date."""
    return np.array([d.month for d in payment_dates(first_payment, periods)])


def smm_paths(model: PrepayModel, mortgage: np.ndarray, wacs: np.ndarray, ages: np.ndarray,
              months: np.ndarray) -> np.ndarray:
    """SMM [path, pool, period] for pools of WACs and ages (months before the first period) on
    mortgage-rate paths [path, period]; `months` the calendar month of each period's payment.

    Burnout depends on the pool's own past prepayments, so periods are stepped in order; each
    step is one vector operation over every path and pool."""
    mortgage = np.maximum(np.asarray(mortgage, dtype=float), RATE_FLOOR)
    wacs = np.asarray(wacs, dtype=float)
    ages = np.asarray(ages, dtype=float)
    paths, periods = mortgage.shape
    loan_age = ages[:, None] + np.arange(1, periods + 1)[None, :]  # [pool, period]
    timing = seasoning(model, loan_age) * np.asarray(model.seasonality)[np.asarray(months) - 1][None, :]
    base = model.turnover * timing  # [pool, period]
    if not model.refinancing or model.multiplier == 0:
        cpr = np.broadcast_to(base[None], (paths, len(wacs), periods))
        return smm_from_cpr(cpr)
    # Refinancing before burnout [path, pool, period]: one array operation.
    ratio = wacs[None, :, None] / mortgage[:, None, :]
    incentive = model.multiplier * refi(model.s_curve, ratio) * timing[None]
    out = np.empty((paths, len(wacs), periods))
    survive = np.ones((paths, len(wacs)))
    for p in range(periods):
        burnout = model.burnout_floor + model.burnout_slope * survive
        out[:, :, p] = smm_from_cpr(base[None, :, p] + incentive[:, :, p] * burnout)
        survive *= 1.0 - out[:, :, p]
    return out


def deal_smm(model: PrepayModel, mortgage: np.ndarray, pools: tuple, first_payment: dt.date) -> np.ndarray:
    """SMM [path, pool, period] for a deal's pools (Pool: wac, age) over the mortgage paths'
    periods, seasonality on the deal's payment dates: the `paths` array the engine runs."""
    periods = mortgage.shape[1]
    return smm_paths(model, mortgage, np.array([p.wac for p in pools]), np.array([p.age for p in pools]),
                     calendar_months(first_payment, periods))
