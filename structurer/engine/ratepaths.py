"""Hull-White short-rate paths fitted exactly to a curve, and the rates read off them
(zero-coupon bond prices, par rates, the mortgage rate, floater indices), as arrays
[path, period].

The model is simulated in its exact monthly discretisation: the short rate over month i is
r_i = x_i + phi_i, where x is the Ornstein-Uhlenbeck factor sampled exactly
(x_{i+1} = q x_i + s z_i, q = exp(-a dt), s = sigma sqrt((1 - q^2) / 2a), x_0 = 0) and phi is
the fitted drift. Fit (exact, discrete): phi is chosen month by month so that the model's
expected path discount factor E[exp(-dt (r_0 + ... + r_{i-1}))] equals the curve's P(0, t_i)
for every month i. x is Gaussian, so that expectation is exp(-dt sum phi + V_i / 2) with
V_i = Var(dt (x_0 + ... + x_{i-1})) = (dt s)^2 sum_{m=1}^{i-1} B_m^2, B_m = (1 - q^m)/(1 - q);
hence dt phi_i = ln P(0, t_i) - ln P(0, t_{i+1}) + (V_{i+1} - V_i) / 2. This is the discrete
form of theta(t) from the curve's instantaneous forwards; with zero volatility phi is the
curve's monthly forward rate and the paths reproduce the curve's discount factors exactly.

Bond prices on a path at month i, maturity n months later, in closed (affine) form:
P(t_i, t_i + n) = exp(-dt (phi_i + ... + phi_{i+n-1}) - dt B_n x_i + V_n / 2), the model's own
A(t, T) and B(t, T) = dt B_n (-> (1 - exp(-a (T - t))) / a as dt -> 0).

Rates observed "in period p" are those at the start of the period (month p - 1): the mortgage
rate that drives a period's prepayments is the one borrowers saw when the month began.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.curve import Curve
from ..model.ratemodel import OTS_MORTGAGE_RATE, HullWhite, MortgageRate, check_horizon

DT = 1.0 / 12.0


def curve_discount(curve: Curve, years: np.ndarray | float) -> np.ndarray:
    """The curve's discount factors: (1 + spot/2)^(-2t) on its bootstrapped semiannual spots
    (linear between half-years, flat beyond both ends), the convention of the Z-spread."""
    years = np.asarray(years, dtype=float)
    return (1.0 + curve.spot(years) / 2.0) ** (-2.0 * years)


def _factor(a: float, sigma: float, steps: int) -> tuple[float, float, np.ndarray, np.ndarray]:
    """q, s, B_m (m = 0..steps) and V_m (m = 0..steps) of the monthly OU factor."""
    m = np.arange(steps + 1, dtype=float)
    if a * DT < 1e-12:  # no mean reversion: a random walk (the limits of the formulas below)
        q, s, b = 1.0, sigma * np.sqrt(DT), m
    else:
        q = float(np.exp(-a * DT))
        s = sigma * float(np.sqrt(-np.expm1(-2.0 * a * DT) / (2.0 * a)))
        b = np.expm1(-a * DT * m) / np.expm1(-a * DT)
    # V_m = (dt s)^2 sum_{k=1}^{m-1} B_k^2 (x_0 = 0 carries no variance).
    v = np.zeros(steps + 1)
    v[2:] = (DT * s) ** 2 * np.cumsum(b[1:-1] ** 2)
    return q, s, b, v


@dataclass(frozen=True)
class RatePaths:
    """Short-rate paths [path, period] and what the closed-form bond prices read off them."""

    model: HullWhite
    factor: np.ndarray  # x at the start of each month, [path, period]
    phi: np.ndarray  # fitted drift per month, out to the horizon plus the longest tenor read
    b: np.ndarray  # B_n, n = 0..len(phi)
    v: np.ndarray  # V_n, n = 0..len(phi)

    @property
    def periods(self) -> int:
        return self.factor.shape[1]

    @property
    def short(self) -> np.ndarray:
        """Short rate (continuously compounded, decimal) over each month, [path, period]."""
        return self.factor + self.phi[None, : self.periods]

    def discount(self) -> np.ndarray:
        """Path discount factors exp(-dt (r_0 + ... + r_{i-1})) at months i = 0..periods,
        [path, periods + 1]."""
        out = np.ones((self.factor.shape[0], self.periods + 1))
        out[:, 1:] = np.exp(-DT * np.cumsum(self.short, axis=1))
        return out

    def zero_price(self, months: int) -> np.ndarray:
        """P(t_i, t_i + months) on each path at the start of each period, [path, period]."""
        n = self.periods
        if months + n > len(self.phi):
            raise InputError(f"bond prices reach {months} months beyond the horizon; the paths were "
                             f"built for {len(self.phi) - n}")
        cum = np.concatenate(([0.0], np.cumsum(self.phi)))
        drift = cum[months: months + n] - cum[:n]  # phi_i + ... + phi_{i+months-1}
        return np.exp(-DT * drift[None, :] - DT * self.b[months] * self.factor + 0.5 * self.v[months])

    def zero_rate(self, years: float) -> np.ndarray:
        """Continuously compounded zero rate of the tenor on each path, [path, period]."""
        months = round(years * 12)
        return -np.log(self.zero_price(months)) / (months * DT)

    def par_rates(self, tenors: tuple[float, ...]) -> dict[float, np.ndarray]:
        """Par rates (semiannual BEY, as the curve) of whole half-year tenors: 2 (1 - P_T) / sum P_k
        over the semiannual coupon dates; each [path, period]."""
        halves = {t: round(t * 2) for t in tenors}
        annuity = np.zeros_like(self.factor)
        out: dict[float, np.ndarray] = {}
        for k in range(1, max(halves.values(), default=0) + 1):
            price = self.zero_price(6 * k)
            annuity += price
            for t, h in halves.items():
                if h == k:
                    out[t] = 2.0 * (1.0 - price) / annuity
        return out

    def par_rate(self, years: float) -> np.ndarray:
        return self.par_rates((years,))[years]

    def mortgage_rate(self, formula: MortgageRate = OTS_MORTGAGE_RATE) -> np.ndarray:
        """The formula's mortgage rate on each path at the start of each period, [path, period]."""
        rates = self.par_rates(tuple(t for t, _ in formula.terms))
        out = np.full_like(self.factor, formula.constant)
        for tenor, weight in formula.terms:
            out += weight * rates[tenor]
        return out

    def index(self, basis: float = 0.0) -> np.ndarray:
        """A floater index read from the path (SOFR): the month's short rate plus a basis, [path, period]."""
        return self.short + basis


def simulate(curve: Curve, model: HullWhite, periods: int, tenor_months: int = 120) -> RatePaths:
    """`model.paths` seeded Hull-White paths over `periods` months, fitted to the curve, able to
    price bonds up to `tenor_months` long at every month (120: the 10-year par rate)."""
    check_horizon(curve, periods)
    steps = periods + tenor_months
    log_p = np.log(curve_discount(curve, np.arange(steps + 1) * DT))
    q, s, b, v = _factor(model.mean_reversion, model.volatility, steps)
    phi = (log_p[:-1] - log_p[1:] + 0.5 * (v[1:] - v[:-1])) / DT
    factor = np.zeros((model.paths, periods))
    if model.volatility > 0 and periods > 1:
        rng = np.random.default_rng(model.seed)
        if model.antithetic:
            half = rng.standard_normal((model.paths // 2, periods - 1))
            shocks = np.concatenate((half, -half))
        else:
            shocks = rng.standard_normal((model.paths, periods - 1))
        # x_{i+1} = q x_i + s z_i, x_0 = 0: x_i = s sum_k q^(i-1-k) z_k. Loop over months (not paths),
        # each step one vector operation over all paths.
        for i in range(periods - 1):
            factor[:, i + 1] = q * factor[:, i] + s * shocks[:, i]
    return RatePaths(model, factor, phi, b, v)


def shifted_path(curve: Curve, shift_bp: float, periods: int, tenor_months: int = 120) -> RatePaths:
    """The single deterministic path of the curve shifted in parallel by `shift_bp` (its par
    yields moved; "rates +300"), with zero volatility: the shifted forward curve."""
    moved = Curve(f"{curve.name} {shift_bp:+g}bp", curve.tenors,
                  tuple(y + shift_bp / 10_000.0 for y in curve.yields))
    return simulate(moved, HullWhite(0.0, 0.0, 1, antithetic=False), periods, tenor_months)
