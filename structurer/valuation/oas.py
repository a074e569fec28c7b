"""Option-adjusted spread on Monte Carlo rate paths: discounting class cash flows [path, class,
period] on each path's own short rates, solving for the spread, and the figures read off it.

Conventions:
- A path's discount factor to a month m after settlement is exp(-dt (r_0 + ... )) with the
  short rate constant over each month (engine/ratepaths.py `RatePaths.discount`), read at the
  fractional 30/360 month of each distribution date, so the payment delay is discounted as the
  valuation module discounts it (yields.discount_months).
- The OAS is a continuously compounded spread s added to every path's short rate: a cash flow
  paid t years after settlement is discounted by D_path(t) exp(-s t). The zero-volatility
  (ZV) spread is the same spread on the single path of the curve's forwards (volatility zero);
  option cost = ZV - OAS.
- The spread enters every path alike, so the mean PV is sum_t exp(-s t_t) W_t with
  W_t = mean over paths of cash x D: the paths are averaged once, and the root is found on a
  sum over periods (scipy.optimize.brentq, one class at a time).
"""

from __future__ import annotations

import numpy as np

from ..engine.ratepaths import RatePaths
from ..errors import InputError

# The OAS is looked for within these spreads (decimal, continuously compounded): a price that
# needs more than -50% or +500% is not a price of these cash flows.
SPREAD_RANGE = (-0.5, 5.0)


def path_discount(paths: RatePaths, months: np.ndarray) -> np.ndarray:
    """Discount factors [path, date] to fractional months after settlement on each path: the
    short rate is constant over a month, so the log discount is linear within it. A date in
    the month after the paths end (a last payment's delay) holds the last month's rate."""
    months = np.asarray(months, dtype=float)
    n = paths.periods
    if months.size and (months.min() < 0 or months.max() > n + 1):
        raise InputError(f"the rate paths cover {n} months; a cash flow is paid at month {months.max():.2f}")
    short = paths.short
    log_d = np.zeros((short.shape[0], n + 2))
    log_d[:, 1:n + 1] = -np.cumsum(short, axis=1) / 12.0
    log_d[:, n + 1] = log_d[:, n] - short[:, -1] / 12.0
    whole = np.minimum(np.floor(months).astype(int), n)
    frac = months - whole
    return np.exp(log_d[:, whole] + frac * (log_d[:, whole + 1] - log_d[:, whole]))


def mean_discounted(cash: np.ndarray, discount: np.ndarray) -> np.ndarray:
    """W [class, period]: the mean over paths of each class's cash [class, path, period] (the
    engine's own layout) times the path's discount factors [path, period]."""
    return (cash * discount[None]).mean(axis=1)


def spread_pv(weights: np.ndarray, years: np.ndarray, spread: np.ndarray | float) -> np.ndarray:
    """Mean PV [class] at a spread [class] (or one for all): sum_t W_t exp(-s t_t)."""
    spread = np.broadcast_to(np.asarray(spread, dtype=float), weights.shape[:1])
    return (weights * np.exp(-spread[:, None] * years[None, :])).sum(axis=1)


def solve_spread(weights: np.ndarray, years: np.ndarray, full_value: np.ndarray) -> np.ndarray:
    """The spread [class] at which the mean PV equals `full_value` [class] (dollars): NaN for a
    class without cash or whose value no spread in SPREAD_RANGE reaches."""
    from scipy.optimize import brentq  # heavy: only when an OAS is solved

    out = np.full(weights.shape[0], np.nan)
    lo_s, hi_s = SPREAD_RANGE
    for c, (row, goal) in enumerate(zip(weights, np.asarray(full_value, dtype=float), strict=True)):
        if not (np.isfinite(goal) and goal > 0 and row.sum() > 0):
            continue

        def excess(s: float, row: np.ndarray = row, goal: float = goal) -> float:
            return float((row * np.exp(-s * years)).sum() - goal)

        lo, hi = excess(lo_s), excess(hi_s)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo * hi > 0:
            continue
        out[c] = brentq(excess, lo_s, hi_s, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200)
    return out


def path_values(cash: np.ndarray, discount: np.ndarray, years: np.ndarray,
                spread: np.ndarray) -> np.ndarray:
    """PV [path, class] of each path's cash [class, path, period] at each class's spread (NaN
    spread: NaN)."""
    tilt = np.exp(-np.nan_to_num(spread)[:, None] * years[None, :])  # [class, period]
    pv = np.einsum("cpt,pt,ct->pc", cash, discount, tilt, optimize=True)
    return np.where(np.isfinite(spread)[None, :], pv, np.nan)


def standard_error(values: np.ndarray, antithetic: bool) -> np.ndarray:
    """Standard error [class] of the mean of per-path values [path, class]. Antithetic paths come
    in pairs (the first half and the second half of the paths): the pairs' means are the
    independent draws."""
    n = values.shape[0]
    if antithetic and n >= 4 and n % 2 == 0:
        values = 0.5 * (values[: n // 2] + values[n // 2:])
        n //= 2
    if n < 2:
        return np.zeros(values.shape[1])
    return values.std(axis=0, ddof=1) / np.sqrt(n)


def effective(down: np.ndarray, up: np.ndarray, base: np.ndarray,
              shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Effective duration and convexity from values at rates down and up by `shift` (decimal):
    D = (P- - P+) / (2 P0 dy), C = (P- + P+ - 2 P0) / (P0 dy^2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        duration = (down - up) / (2.0 * base * shift)
        convexity = (down + up - 2.0 * base) / (base * shift**2)
    return duration, convexity
