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
from . import buffers


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

    # Each figure computed in place in a buffer of the pool (engine/buffers.py): no temporaries
    # of this size, and memory earlier results have let go of. The arithmetic is the formulas'
    # as written, operation for operation.
    shape = smm.shape
    survive = buffers.empty(shape)  # then the survival's running product, then the ending balance
    np.multiply(1.0 - amort, np.subtract(1.0, smm, out=survive), out=survive)
    end_factor = np.cumprod(survive, axis=2, out=survive)
    begin = buffers.empty(shape)
    begin[:, :, :1] = balance0 * 1.0  # (the factor before period 1 is 1)
    np.multiply(balance0, end_factor[:, :, :-1], out=begin[:, :, 1:])
    scheduled = np.multiply(begin, amort, out=buffers.empty(shape))
    prepay = np.subtract(begin, scheduled, out=buffers.empty(shape))
    np.multiply(smm, prepay, out=prepay)
    end = np.subtract(np.subtract(begin, scheduled, out=survive), prepay, out=survive)
    interest = np.multiply(begin, net_m, out=buffers.empty(shape))
    fee = np.multiply(begin, fee_m, out=buffers.empty(shape))

    by_pool = {
        "beginning_balance": begin,
        "interest": interest,
        "scheduled_principal": scheduled,
        "prepayment": prepay,
        "ending_balance": end,
    }
    def total(a: np.ndarray) -> np.ndarray:
        # one pool: a view, no copy
        return a[:, 0, :] if n_pool == 1 else a.sum(axis=1, out=buffers.empty((n_scen, periods)))

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
