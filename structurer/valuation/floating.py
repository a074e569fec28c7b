"""Floating-rate measures (SIFMA Standard Formulas, floating-rate securities, SF-52 to SF-54):
the index yield, the yield-to-maturity spread to the index and the discount margin, each on
the bond-equivalent and the money-market basis.

Notation. A class pays cash CF_k on payment dates d_1 < ... < d_n (the payment delay
included), settling on s. Period k runs from d_{k-1} to d_k (d_0 = s: the first period is the
stub from settlement). Its coupon resets to the index I_k (a money-market rate quoted on the
class's accrual basis: actual/360, actual/actual or 30/360), paid f times a year (12: monthly,
4: quarterly, 2: semiannual). P is the full price (clean + accrued) in the same units as CF.

- Money-market basis (simple interest per period, compounded period by period), tau_k the
  period's length in years on the accrual basis:
      DF_k = prod_{j<=k} 1 / (1 + r_j x tau_j)
- Bond-equivalent basis (semiannual compounding, SIFMA's yield convention for MBS), t_k the
  period's length in 30/360 years:
      DF_k = prod_{j<=k} (1 + r_j / 2)^(-2 t_j)

- Index yield (SF-52): the index as a yield. Money-market: I_1 itself. Bond-equivalent: the
  annual growth of I_1 earned f times a year on its accrual basis, as a semiannual rate:
      BEY(I) = 2 [ (1 + I x R / f)^(f/2) - 1 ],  R = 365/360 on actual/360, 1 otherwise.
- Yield-to-maturity spread to the index (SF-53): the constant rate r (r_j = r) that prices
  the projected cash flows at P, less the index yield on the same basis. On the
  bond-equivalent basis with monthly pay this is the class's BEY (valuation.yields) less
  BEY(I_1).
- Discount margin (SF-54): the constant margin m with r_j = I_j + m (money-market) or
  r_j = BEY(I_j) + m (bond-equivalent) that prices the projected cash flows at P. The cash
  flows are projected on the run's index path; when that path is flat (the standard's "index
  held at its current level") the discount margin equals the yield spread on the same basis,
  which the tests check.

Each solved figure is found by Newton's method kept inside a shrinking bracket (a step that
leaves it bisects), vectorised over scenarios (PV falls monotonically in the rate while every
1 + r tau stays positive), to 1e-13; NaN where no rate in the bracket prices the cash flows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dates import THIRTY_360, DayCount, add_months, day_count
from ..errors import InputError

FREQUENCIES = {"monthly": 12, "quarterly": 4, "semiannual": 2}
BASES = ("bond-equivalent", "money-market")

_BRACKET = (-0.5, 5.0)  # rates (or margins) searched, decimals
_STEPS = 80  # at most: bisection alone would take 56 halvings of the bracket to 1e-16


def frequency(value: int | str) -> int:
    """Payments a year from 12/4/2 or 'monthly'/'quarterly'/'semiannual'."""
    if isinstance(value, str):
        if value.strip().lower() not in FREQUENCIES:
            raise InputError(f"'{value}' is not a pay frequency; use {', '.join(FREQUENCIES)}")
        return FREQUENCIES[value.strip().lower()]
    if int(value) not in FREQUENCIES.values():
        raise InputError(f"{value} payments a year is not monthly, quarterly or semiannual")
    return int(value)


def _year_ratio(basis: DayCount) -> float:
    """Days a year the basis pays over 360 per year of its quote: 365/360 for actual/360."""
    return 365.0 / 360.0 if basis.name == "actual/360" else 1.0


def index_bey(index: np.ndarray | float, pay_frequency: int, basis: DayCount | str) -> np.ndarray:
    """The index (money-market rate on `basis`, reset `pay_frequency` times a year) as a
    bond-equivalent yield: 2[(1 + I R / f)^(f/2) - 1] (module docstring, SF-52)."""
    f = frequency(pay_frequency)
    r = _year_ratio(day_count(basis))
    return 2.0 * ((1.0 + np.asarray(index, dtype=float) * r / f) ** (f / 2.0) - 1.0)


def period_years(settle: dt.date, dates: list[dt.date], basis: DayCount | str) -> np.ndarray:
    """Length in years on `basis` of each period: settlement to d_1, then d_{k-1} to d_k."""
    conv = day_count(basis)
    edges = [settle, *dates]
    return np.array([conv.year_fraction(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)])


def discount_factors(rates: np.ndarray, tau_mm: np.ndarray, t_be: np.ndarray, basis: str) -> np.ndarray:
    """DF [..., period] for per-period rates [..., period] on `basis` (module docstring)."""
    return _factors(rates, tau_mm, t_be, basis)[0]


def _factors(rates: np.ndarray, tau_mm: np.ndarray, t_be: np.ndarray,
             basis: str) -> tuple[np.ndarray, np.ndarray]:
    """(DF, d ln DF / dr) [..., period]: the discount factors, and their log-derivative with
    respect to a shift of every period's rate (a cumulative sum, so Newton's slope costs one
    pass more)."""
    rates = np.asarray(rates, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if basis == "money-market":
            step = 1.0 / (1.0 + rates * tau_mm)
            dlog = -tau_mm * step
        elif basis == "bond-equivalent":
            base = 1.0 + rates / 2.0
            step = base ** (-2.0 * t_be)
            dlog = -t_be / base
        else:
            raise InputError(f"'{basis}' is not a basis; use {' or '.join(BASES)}")
        return np.cumprod(step, axis=-1), np.cumsum(np.broadcast_to(dlog, step.shape), axis=-1)


Valuer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _solve(pv: Valuer, target: np.ndarray, start: float | np.ndarray = 0.05) -> np.ndarray:
    """The x [cell] in _BRACKET with pv(x)[0] = target [cell], pv decreasing in x, pv(x)[1] its
    slope: Newton's method kept inside a bracket that shrinks each step (a step that leaves it
    bisects instead), vectorised over cells, to 1e-13 in x."""
    target = np.asarray(target, dtype=float)
    lo = np.full(target.shape, _BRACKET[0])
    hi = np.full(target.shape, _BRACKET[1])
    f_lo, f_hi = pv(lo)[0] - target, pv(hi)[0] - target
    ok = np.isfinite(f_lo) & np.isfinite(f_hi) & (f_lo >= 0) & (f_hi <= 0) & (target > 0)
    x = np.clip(np.broadcast_to(np.asarray(start, dtype=float), target.shape), lo, hi)
    for _ in range(_STEPS):
        value, slope = pv(x)
        f = value - target
        above = f > 0  # PV too high: the rate is higher than x
        lo = np.where(above, x, lo)
        hi = np.where(above, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            nxt = x - f / slope
        # x itself is now an end of the bracket, so a step of Newton's that stays within it
        # (ends included) is taken; one that leaves it bisects.
        inside = np.isfinite(nxt) & (nxt >= lo) & (nxt <= hi)
        nxt = np.where(inside, nxt, 0.5 * (lo + hi))
        moved = np.abs(nxt - x)
        x = nxt
        if not np.any(ok & (moved > 1e-13)):
            break
    return np.where(ok, x, np.nan)


@dataclass(frozen=True)
class FloatingMeasures:
    """The floating-rate measures of one class, arrays [scenario], decimals."""

    index_yield_bey: np.ndarray
    index_yield_mm: np.ndarray
    yield_bey: np.ndarray
    yield_mm: np.ndarray
    spread_bey: np.ndarray  # yield-to-maturity spread to the index, bond-equivalent
    spread_mm: np.ndarray  # the same, money-market
    margin_bey: np.ndarray  # discount margin, bond-equivalent
    margin_mm: np.ndarray  # discount margin, money-market
    basis: str  # the accrual basis the money-market figures are on
    pay_frequency: int

    def row(self, s: int) -> dict[str, float | str | None]:
        def bp(x: np.ndarray) -> float | None:
            return round(float(x[s]) * 10000.0, 6) if np.isfinite(x[s]) else None

        def pct(x: np.ndarray) -> float | None:
            return round(float(x[s]) * 100.0, 10) if np.isfinite(x[s]) else None

        return {
            "index_yield_bey": pct(self.index_yield_bey), "index_yield_mm": pct(self.index_yield_mm),
            "yield_mm": pct(self.yield_mm),
            "spread_to_index_bey_bp": bp(self.spread_bey), "spread_to_index_mm_bp": bp(self.spread_mm),
            "discount_margin_bey_bp": bp(self.margin_bey), "discount_margin_mm_bp": bp(self.margin_mm),
            "money_market_basis": self.basis,
        }


def floating_measures(cash: np.ndarray, index_path: np.ndarray, full_value: np.ndarray,
                      settle: dt.date, dates: list[dt.date], basis: DayCount | str = THIRTY_360,
                      pay_frequency: int | str = 12, bey: np.ndarray | None = None) -> FloatingMeasures:
    """Index yield, yield spread to the index and discount margin on both bases (SF-52 to
    SF-54, module docstring) of cash [scenario, period] paid on `dates`, whose coupon resets to
    index_path [scenario, period], priced at full_value [scenario] (same units as the cash).
    `bey`: the bond-equivalent yield at that value when already solved (a quote's), which is
    the bond-equivalent yield here too; it also starts the other solves near their roots."""
    cash = np.atleast_2d(np.asarray(cash, dtype=float))
    index_path = np.broadcast_to(np.asarray(index_path, dtype=float), cash.shape)
    target = np.broadcast_to(np.asarray(full_value, dtype=float), cash.shape[:1]).copy()
    conv = day_count(basis)
    f = frequency(pay_frequency)
    tau = period_years(settle, dates[: cash.shape[-1]], conv)
    t_be = period_years(settle, dates[: cash.shape[-1]], THIRTY_360)
    index_be = index_bey(index_path, f, conv)

    Rates = Callable[[np.ndarray], np.ndarray]

    def pv(rates_of: Rates, basis_name: str) -> Valuer:
        def value(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            df, dlog = _factors(rates_of(x), tau, t_be, basis_name)
            weighted = cash * df
            return weighted.sum(axis=-1), (weighted * dlog).sum(axis=-1)
        return value

    def flat(x: np.ndarray) -> np.ndarray:  # a constant rate every period
        return np.broadcast_to(x[:, None], cash.shape)

    first_mm, first_be = index_path[:, 0], index_be[:, 0]
    if bey is None:
        yield_be = _solve(pv(flat, "bond-equivalent"), target)
    else:
        yield_be = np.broadcast_to(np.asarray(bey, dtype=float), target.shape).copy()
    # Each solve starts where the last one's answer says its root is (NaN: the default start).
    near = np.where(np.isfinite(yield_be), yield_be, 0.05)
    yield_mm = _solve(pv(flat, "money-market"), target, near)
    near_mm = np.where(np.isfinite(yield_mm), yield_mm, 0.05)
    margin_be = _solve(pv(lambda m: index_be + m[:, None], "bond-equivalent"), target, near - first_be)
    margin_mm = _solve(pv(lambda m: index_path + m[:, None], "money-market"), target, near_mm - first_mm)
    return FloatingMeasures(first_be, first_mm.copy(), yield_be, yield_mm, yield_be - first_be,
                            yield_mm - first_mm, margin_be, margin_mm, conv.name, f)


def price_from_margin(cash: np.ndarray, index_path: np.ndarray, margin: float | np.ndarray,
                      settle: dt.date, dates: list[dt.date], basis: DayCount | str = THIRTY_360,
                      pay_frequency: int | str = 12, on: str = "money-market") -> np.ndarray:
    """The full value [scenario] of cash [scenario, period] at a discount margin (decimal) on
    basis `on` (SF-54 read the other way)."""
    cash = np.atleast_2d(np.asarray(cash, dtype=float))
    index_path = np.broadcast_to(np.asarray(index_path, dtype=float), cash.shape)
    conv = day_count(basis)
    tau = period_years(settle, dates[: cash.shape[-1]], conv)
    t_be = period_years(settle, dates[: cash.shape[-1]], THIRTY_360)
    base = index_path if on == "money-market" else index_bey(index_path, frequency(pay_frequency), conv)
    m = np.asarray(margin, dtype=float)
    rates = base + (m[:, None] if m.ndim else m)
    return (cash * discount_factors(rates, tau, t_be, on)).sum(axis=-1)


def bullet_floater(face: float, index: float | np.ndarray, margin: float, first_payment: dt.date,
                   periods: int, pay_frequency: int | str = 4, basis: DayCount | str = "actual/360",
                   ) -> tuple[list[dt.date], np.ndarray, np.ndarray]:
    """A non-amortising floater paying index + margin on `basis`, `periods` coupons from
    `first_payment` every 12/f months, face at the last: (dates, cash [period], index [period]).
    The first coupon accrues from one period before the first payment."""
    f = frequency(pay_frequency)
    conv = day_count(basis)
    step = 12 // f
    dates = [add_months(first_payment, step * k) for k in range(periods)]
    starts = [add_months(first_payment, -step), *dates[:-1]]
    path = np.broadcast_to(np.asarray(index, dtype=float), (periods,)).astype(float)
    years = np.array([conv.year_fraction(a, b) for a, b in zip(starts, dates, strict=True)])
    cash = face * (path + margin) * years
    cash[-1] += face
    return dates, cash, path
