"""Cash flows as the compiled kernel keeps them: what results need, the rest derived on demand.

The kernel stores each class's ending balance and interest, the accrual classes' accretion, the
residual's interest and principal, and each pool's ending balance. Everything else follows:
a beginning balance is the previous ending balance; principal paid is what the balance fell by
plus what accreted onto it; a pool's scheduled principal, interest and prepayment come from its
beginning balance, its amortization fraction and its ending balance. These classes expose the
same attributes as `ClassFlows` and `CollateralFlows` (computed once, on first use), so results,
exports and the analytics read either alike.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model.deal import Deal
    from .compiled import CompiledDeal


class LeanCollateralFlows:
    """Collateral flows from pool ending balances [scenario, pool, period]."""

    def __init__(self, cd: CompiledDeal, pool_end: np.ndarray):
        self._cd = cd
        self.pool_end = pool_end

    @cached_property
    def _pool_begin(self) -> np.ndarray:
        out = np.empty_like(self.pool_end)
        out[:, :, 0] = self._cd.pool_balance[None, :]
        out[:, :, 1:] = self.pool_end[:, :, :-1]
        return out

    @cached_property
    def by_pool(self) -> dict[str, np.ndarray]:
        begin = self._pool_begin
        scheduled = begin * self._cd.amort[None, :, :]
        prepay = begin - scheduled
        prepay -= self.pool_end
        return {
            "beginning_balance": begin,
            "interest": begin * self._cd.net_m[None, :, None],
            "scheduled_principal": scheduled,
            "prepayment": prepay,
            "ending_balance": self.pool_end,
        }

    def _total(self, a: np.ndarray) -> np.ndarray:
        return a[:, 0, :] if a.shape[1] == 1 else a.sum(axis=1)  # one pool: a view, no copy

    @cached_property
    def beginning_balance(self) -> np.ndarray:
        return self._total(self._pool_begin)

    @cached_property
    def ending_balance(self) -> np.ndarray:
        return self._total(self.pool_end)

    @cached_property
    def interest(self) -> np.ndarray:
        return self._total(self.by_pool["interest"])

    @cached_property
    def scheduled_principal(self) -> np.ndarray:
        return self._total(self.by_pool["scheduled_principal"])

    @cached_property
    def prepayment(self) -> np.ndarray:
        return self._total(self.by_pool["prepayment"])

    @cached_property
    def servicing_fee(self) -> np.ndarray:
        return self._total(self._pool_begin * self._cd.fee_m[None, :, None])

    @cached_property
    def smm(self) -> np.ndarray:
        """SMM [scenario, pool, period], as the kernel applied it."""
        p = self.by_pool
        base = p["beginning_balance"] - p["scheduled_principal"]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(base > 0, p["prepayment"] / np.where(base > 0, base, 1.0), 0.0)

    @property
    def principal(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment

    @property
    def cash(self) -> np.ndarray:
        return self.interest + self.principal

    @property
    def periods(self) -> int:
        return self.pool_end.shape[2]


class LeanClassFlows:
    """Class flows [scenario, class, period] from ending balances and interest (see module)."""

    def __init__(self, deal: Deal, cd: CompiledDeal, ending: np.ndarray, interest: np.ndarray,
                 accretion: np.ndarray, residual_interest: np.ndarray, residual_principal: np.ndarray,
                 short: bool, index_rates: np.ndarray):
        self._deal = deal
        self._cd = cd
        self.ending_balance = ending
        self.interest = interest
        self._accretion = accretion  # [scenario, accrual class slot, period]
        self.residual_interest = residual_interest
        self.residual_principal = residual_principal
        self._short = short
        self._index_rates = index_rates

    @cached_property
    def beginning_balance(self) -> np.ndarray:
        out = np.empty_like(self.ending_balance)
        out[:, :, 0] = self._cd.begin0[None, :]
        out[:, :, 1:] = self.ending_balance[:, :, :-1]
        return out

    @cached_property
    def accrued(self) -> np.ndarray:
        if len(self._cd.accrual_classes) == 0:
            return np.broadcast_to(0.0, self.ending_balance.shape)
        out = np.zeros(self.ending_balance.shape)
        out[:, self._cd.accrual_classes, :] = self._accretion
        return out

    @cached_property
    def principal(self) -> np.ndarray:
        # As the kernel moved the balance: accretion first, then what was paid.
        out = self.beginning_balance.copy()
        for slot, z in enumerate(self._cd.accrual_classes):
            out[:, z, :] += self._accretion[:, slot, :]
        out -= self.ending_balance
        out[:, self._cd.notional_classes, :] = 0.0  # a notional balance is not principal
        return out

    @cached_property
    def coupon(self) -> np.ndarray:
        from .waterfall import coupon_rates

        rates = coupon_rates(self._deal, self._index_rates, self._cd.periods)
        return rates.transpose(2, 1, 0)

    @cached_property
    def shortfall(self) -> np.ndarray:
        """What each class was due and not paid, carried forward (zeros when interest never fell
        short: a view, no memory)."""
        if not self._short:
            return np.broadcast_to(0.0, self.ending_balance.shape)
        # The kernel's own arithmetic, period by period: due = begin x rate / 12 + carried.
        rates = self._accrual_rates()
        begin = self.beginning_balance
        out = np.empty(begin.shape)
        carried = np.zeros(begin.shape[:2])
        accrued = self.accrued
        for t in range(begin.shape[2]):
            due = begin[:, :, t] * rates[:, :, t] * (1.0 / 12.0) + carried
            carried = due - self.interest[:, :, t] - accrued[:, :, t]
            out[:, :, t] = carried
        return out

    def _accrual_rates(self) -> np.ndarray:
        rates = self.coupon
        if not self._cd.floating:
            return rates
        days = self._cd.class_args[8]
        floating = [c.index for c in self._deal.classes if c.formula is not None]
        out = np.array(rates)
        out[:, floating, :] *= days[None, None, :]
        return out

    @property
    def interest_due(self) -> np.ndarray:
        """What each class was due: paid in cash, accrued, or still short."""
        return self.interest + self.accrued + self.shortfall
