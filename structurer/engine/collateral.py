"""Collateral cash flows by the SIFMA standard formulas, for many scenarios at once.

For each rep-line, every month: the level payment is re-computed on the current balance and
the remaining term at the gross WAC; scheduled principal = payment - balance x WAC/12;
prepayment = SMM x (balance - scheduled principal); investor interest = balance x net
coupon / 12; the servicing and guarantee fee is balance x (WAC - net coupon) / 12.

Because the scheduled principal is a fixed fraction a_t = r / ((1 + r)^n - 1) of the balance
(n the remaining term), the balance path is B_t = B_0 x prod (1 - a_k)(1 - SMM_k), which lets the
whole [scenario, pool, period] cube be computed with one cumulative product, no period loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.deal import Pool


@dataclass(frozen=True)
class CollateralFlows:
    """Arrays [scenario, period] for period 1..T (index 0 is period 1), summed over pools.

    `by_pool` keeps the same figures per pool, as arrays [scenario, pool, period].
    """

    beginning_balance: np.ndarray
    interest: np.ndarray
    scheduled_principal: np.ndarray
    prepayment: np.ndarray
    ending_balance: np.ndarray
    servicing_fee: np.ndarray
    smm: np.ndarray
    by_pool: dict[str, np.ndarray]

    @property
    def principal(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment

    @property
    def cash(self) -> np.ndarray:
        return self.interest + self.principal

    @property
    def periods(self) -> int:
        return self.interest.shape[1]


def amortization_fraction(rate_monthly: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """Scheduled principal as a fraction of the balance for a level-pay loan.

    a = r / ((1 + r)^n - 1), or 1/n when r = 0; 1 in the last month; 0 once the term is over
    (the balance is zero by then).
    """
    r = np.asarray(rate_monthly, dtype=float)
    n = np.asarray(remaining, dtype=float)
    r, n = np.broadcast_arrays(r, n)
    out = np.zeros(n.shape)
    live = n >= 1
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.power(1.0 + r, np.where(live, n, 1.0)) - 1.0
        level = np.where(r > 0, r / np.where(growth > 0, growth, 1.0), 1.0 / np.where(live, n, 1.0))
    out[live] = level[live]
    out[n == 1] = 1.0
    return np.minimum(out, 1.0)


def level_payment(balance: float, annual_rate: float, months: int) -> float:
    """The level monthly payment that retires `balance` over `months` at `annual_rate`."""
    r = annual_rate / 12.0
    if r == 0:
        return balance / months
    return balance * r / (1.0 - (1.0 + r) ** -months)


def pool_amortization(pools: tuple[Pool, ...] | list[Pool], periods: int) -> np.ndarray:
    """Each pool's scheduled principal as a fraction of its balance [pool, period], on its
    remaining term at its gross WAC (the interpreter and the kernel read the same numbers)."""
    wac_m = np.array([p.wac for p in pools])[:, None] / 12.0
    remaining = np.array([p.remaining for p in pools])[:, None] - np.arange(periods)[None, :]
    return amortization_fraction(wac_m, remaining)


def collateral_flows(pools: tuple[Pool, ...] | list[Pool], smm: np.ndarray) -> CollateralFlows:
    """Cash flows of the pools under SMM [scenario, pool, period]."""
    smm = np.asarray(smm, dtype=float)
    n_scen, n_pool, periods = smm.shape
    balance0 = np.array([p.balance for p in pools])[None, :, None]
    wac_m = np.array([p.wac for p in pools])[:, None] / 12.0
    net_m = np.array([p.coupon for p in pools])[None, :, None] / 12.0
    fee_m = wac_m[None, :, :] - net_m
    amort = pool_amortization(pools, periods)[None, :, :]  # [1, pool, period]

    survive = (1.0 - amort) * (1.0 - smm)
    end_factor = np.cumprod(survive, axis=2)
    begin_factor = np.concatenate([np.ones((n_scen, n_pool, 1)), end_factor[:, :, :-1]], axis=2)
    begin = balance0 * begin_factor
    scheduled = begin * amort
    prepay = smm * (begin - scheduled)
    end = begin - scheduled - prepay
    interest = begin * net_m
    fee = begin * fee_m

    by_pool = {
        "beginning_balance": begin,
        "interest": interest,
        "scheduled_principal": scheduled,
        "prepayment": prepay,
        "ending_balance": end,
    }
    def total(a: np.ndarray) -> np.ndarray:
        return a[:, 0, :] if n_pool == 1 else a.sum(axis=1)  # one pool: a view, no copy

    return CollateralFlows(
        beginning_balance=total(begin),
        interest=total(interest),
        scheduled_principal=total(scheduled),
        prepayment=total(prepay),
        ending_balance=total(end),
        servicing_fee=total(fee),
        smm=smm,
        by_pool=by_pool,
    )
