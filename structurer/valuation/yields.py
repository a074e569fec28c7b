"""Price, yield, duration, convexity and spreads from cash flows (SIFMA standard formulas).

Conventions:
- A cash flow paid on a distribution date d is discounted to settlement over
  t = days_30_360(settle, d) / 30 months at the mortgage (monthly) yield y:
  PV = CF / (1 + y/12)^t. The distribution dates carry the payment delay, so this is SIFMA's
  yield with payment delay.
- Yields are bond-equivalent: (1 + y/12)^6 = 1 + BEY/2.
- Prices are per 100 of the balance (notional, for an IO) at settlement. Full price = clean
  price + accrued interest; accrued interest runs from the start of the accrual period (the
  first day of the month before the first distribution) to settlement, at the first period's
  coupon, on the class's own day count: 30/360 for fixed coupons, the deal's for floaters
  (quotes.accrued_interest).
- Roots (yields, Z-spreads) are found by scipy.optimize, imported when first needed.
- Modified duration and convexity are with respect to the BEY: D = -(1/P) dP/dBEY,
  C = (1/P) d2P/dBEY2, P the full price; Macaulay duration = D x (1 + BEY/2).
- A Treasury curve is par yields (BEY) at tenors in years. Spread = BEY - the curve
  interpolated linearly at the class's WAL. The Z-spread is the constant spread over the spot
  curve bootstrapped from the par curve (semiannual) that discounts the cash flows to the price.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..dates import THIRTY_360, DayCount, accrual_start, days_30_360
from ..errors import InputError
from ..model.curve import Curve

# ---------------------------------------------------------------------------- 32nds


_PRICE_RE = re.compile(r"^\s*(\d+)-(\d{2})(\+|[0-7])?\s*$")


def parse_price(text: str | float) -> float:
    """'99-16' -> 99.5, '99-16+' -> 99.515625, '99-162' -> 99 + 16.25/32, '99.5' -> 99.5."""
    if isinstance(text, int | float):
        return float(text)
    match = _PRICE_RE.match(text)
    if match:
        whole, ticks, extra = int(match.group(1)), int(match.group(2)), match.group(3)
        if ticks > 31:
            raise InputError(f"'{text}' has {ticks} 32nds; there are 32 in a point")
        frac = 0.0 if extra is None else 0.5 if extra == "+" else int(extra) / 8.0
        return whole + (ticks + frac) / 32.0
    try:
        return float(text.strip())
    except ValueError:
        raise InputError(f"'{text}' is not a price; write it like 99-16, 99-16+ or 99.5") from None


def rate_with_unit(text: str, bare: float) -> float:
    """A rate as a decimal: '5.5%' -> 0.055, '550bp' -> 0.055; a bare number is divided by
    `bare` (1 for a decimal, 100 for percent, 10,000 for bp). ValueError when not a number."""
    text = text.strip()
    if text.endswith("%"):
        return float(text[:-1]) / 100.0
    if text.endswith("bp"):
        return float(text[:-2]) / 10000.0
    return float(text) / bare


def format_32nds(price: float, eighths: bool = False) -> str:
    """99.515625 -> '99-16+'. To the nearest 1/64 ('+' is a half 32nd), or 1/256 with `eighths`
    ('99-162' is 99 and 16 2/8 32nds)."""
    if not np.isfinite(price):
        return "-"
    steps = 256 if eighths else 64
    units = int(np.floor(abs(price) * steps + 0.5))
    sign = "-" if price < 0 and units > 0 else ""  # a price that rounds to zero has no sign
    whole, rest = divmod(units, steps)
    per_32 = steps // 32
    ticks, sub = divmod(rest, per_32)
    if eighths:
        tail = "+" if sub == 4 else ("" if sub == 0 else str(sub))
    else:
        tail = "+" if sub else ""
    return f"{sign}{whole}-{ticks:02d}{tail}"


# ---------------------------------------------------------------------------- yields


def bey_from_mortgage(y: np.ndarray | float) -> np.ndarray:
    """Bond-equivalent yield from a mortgage (monthly-compounded) yield, both decimals."""
    return 2.0 * ((1.0 + np.asarray(y) / 12.0) ** 6 - 1.0)


def mortgage_from_bey(bey: np.ndarray | float) -> np.ndarray:
    return 12.0 * ((1.0 + np.asarray(bey) / 2.0) ** (1.0 / 6.0) - 1.0)


def discount_months(settle: dt.date, dates: list[dt.date]) -> np.ndarray:
    """30/360 months from settlement to each distribution date."""
    return np.array([days_30_360(settle, d) / 30.0 for d in dates])


def accrued_fraction(settle: dt.date, first_payment: dt.date, basis: DayCount = THIRTY_360) -> float:
    """Months (twelfths of a year, on `basis`) of interest accrued at settlement: from the first
    accrual period's start (dates.accrual_start) to settlement, none when settlement is earlier."""
    return max(basis.months(accrual_start(first_payment), settle), 0.0)


def present_value(cash: np.ndarray, months: np.ndarray, bey: np.ndarray | float) -> np.ndarray:
    """PV [...] of cash [..., period] at BEY (broadcast over leading axes)."""
    y = mortgage_from_bey(np.asarray(bey, dtype=float))
    v = (1.0 + y[..., None] / 12.0) ** (-months)
    return (cash * v).sum(axis=-1)


def yield_from_price(cash: np.ndarray, months: np.ndarray, full_value: np.ndarray,
                     tol: float = 1e-12) -> np.ndarray:
    """BEY [...] at which PV(cash [..., period]) = full_value [...] (dollars); NaN where there is
    no cash or no positive value, or where no monthly yield between -99% and +1000% does it.

    scipy.optimize.newton, vectorised over every cell, on u = ln(1 + y/12) (y the mortgage
    yield) for ln PV(u) = ln full_value, to `tol`/12 in u (`tol` in the yield). ln PV is a
    log-sum-exp of lines in u: convex and decreasing, so Newton converges from anywhere (from
    above the root its first step lands below it, then it climbs monotonically), including the
    deeply negative yields of a rich IO, where Newton on PV itself (exponential in the yield)
    creeps. Evaluated without overflow. Negative cash flows (float noise) count as none."""
    from scipy.optimize import newton  # heavy: only when a yield is solved

    cash = np.asarray(cash, dtype=float)
    target = np.asarray(full_value, dtype=float)
    cash, target = np.broadcast_arrays(cash, target[..., None])
    target = target[..., 0]
    months = np.asarray(months, dtype=float)
    valid = (cash.sum(axis=-1) > 0) & (target > 0)
    out = np.full(target.shape, np.nan)
    if not valid.any():
        return out
    with np.errstate(divide="ignore"):
        log_cash = np.log(np.where(cash[valid] > 0, cash[valid], 0.0))  # [cell, period], -inf: no cash
    log_target = np.log(target[valid])
    slope_at: dict[str, np.ndarray] = {}

    def f(u: np.ndarray) -> np.ndarray:
        """ln PV - ln target; keeps the slope d ln PV / du (minus the PV-weighted mean months),
        which newton asks for next at the same u: one pass over the cash for both."""
        a = log_cash - months * u[:, None]
        top = np.max(a, axis=-1, keepdims=True)
        w = np.exp(a - top)
        total = w.sum(axis=-1)
        slope_at["u"], slope_at["slope"] = u.copy(), -(w * months).sum(axis=-1) / total
        return top[:, 0] + np.log(total) - log_target

    def slope(u: np.ndarray) -> np.ndarray:
        if "u" not in slope_at or not np.array_equal(slope_at["u"], u):
            f(u)
        return slope_at["slope"]

    u0 = np.full(log_target.shape, np.log1p(0.05 / 12.0))
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell without a root is NaN below
        u = np.asarray(newton(f, u0, fprime=slope, tol=tol / 12.0, maxiter=200, disp=False), dtype=float)
        residual = f(u) if u.ndim else f(np.atleast_1d(u))
    solved = (np.abs(residual) <= 1e-9) & (u > np.log(0.01)) & (u < np.log1p(10.0))
    out[valid] = np.where(solved, bey_from_mortgage(12.0 * np.expm1(u)), np.nan)
    return out


@dataclass(frozen=True)
class Risk:
    """Full price (per 100), modified and Macaulay duration (years), convexity, at a BEY."""

    full_price: np.ndarray
    modified_duration: np.ndarray
    macaulay_duration: np.ndarray
    convexity: np.ndarray


def risk(cash: np.ndarray, months: np.ndarray, bey: np.ndarray, face: float) -> Risk:
    """Analytic duration and convexity with respect to the BEY, with the cash flows held fixed."""
    bey = np.asarray(bey, dtype=float)
    y = mortgage_from_bey(bey)
    g = 1.0 + y[..., None] / 12.0
    # At a yield near -100% the discount factors overflow: the figures are then inf or NaN (shown
    # as such), not a RuntimeWarning on the user's terminal.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        v = g ** (-months)
        pv = (cash * v).sum(axis=-1)
        # dP/dy and d2P/dy2 on the monthly yield, then the chain rule to the BEY.
        d1 = (cash * v * (-months) / (12.0 * g)).sum(axis=-1)
        d2 = (cash * v * months * (months + 1) / (144.0 * g**2)).sum(axis=-1)
        # y = 12((1 + b/2)^(1/6) - 1): dy/db = (1 + b/2)^(-5/6), d2y/db2 = -(5/12)(1 + b/2)^(-11/6)
        h = 1.0 + bey / 2.0
        dy = h ** (-5.0 / 6.0)
        d2y = -(5.0 / 12.0) * h ** (-11.0 / 6.0)
        dp = d1 * dy
        d2p = d2 * dy**2 + d1 * d2y
        mod = np.where(pv > 0, -dp / pv, np.nan)
        conv = np.where(pv > 0, d2p / pv, np.nan)
    return Risk(100.0 * pv / face, mod, mod * h, conv)


# ---------------------------------------------------------------------------- curves


def spread_to_curve(bey: np.ndarray, wal: np.ndarray, curve: Curve) -> np.ndarray:
    """Yield spread (decimal) to the curve interpolated at the WAL."""
    return np.asarray(bey) - curve.par(np.asarray(wal))


def z_spread(cash: np.ndarray, months: np.ndarray, full_value: np.ndarray, curve: Curve,
             tol: float = 1e-10) -> np.ndarray:
    """Constant spread over the spot curve (semiannual) that prices the cash flows, per row:
    scipy.optimize.brentq on [-50%, +500%] to `tol`. NaN for a row with no cash, or whose value
    no spread in that range reaches (it used to come back as the edge of the range)."""
    from scipy.optimize import brentq  # heavy: only when a spread is solved

    years = months / 12.0
    spot = curve.spot(years)
    cash = np.asarray(cash, dtype=float)
    target = np.asarray(full_value, dtype=float)
    rows = cash.reshape(-1, cash.shape[-1])
    goals = np.broadcast_to(target, cash.shape[:-1]).reshape(-1)
    out = np.full(goals.shape, np.nan)
    for r, (row, goal) in enumerate(zip(rows, goals, strict=True)):
        def excess(z: float, row: np.ndarray = row, goal: float = goal) -> float:
            return float((row * (1.0 + (spot + z) / 2.0) ** (-2.0 * years)).sum() - goal)

        if row.sum() <= 0 or not np.isfinite(goal):
            continue
        lo, hi = excess(-0.5), excess(5.0)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo * hi > 0:
            continue
        out[r] = brentq(excess, -0.5, 5.0, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=200)
    return out.reshape(cash.shape[:-1])
