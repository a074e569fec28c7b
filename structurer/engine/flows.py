"""Cash flows as the compiled kernel keeps them: what results need, the rest derived on demand.

The kernel stores each class's principal and interest paid, the accrual classes' accretion and
the residual's interest and principal. Everything else follows: balances move by what accreted
and what was paid (a beginning balance is the previous ending balance), and the collateral is a
function of the speeds alone. These classes expose the
same attributes as `ClassFlows` and `CollateralFlows` (computed once, on first use), so results,
exports and the analytics read either alike.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .collateral import CollateralFlows, collateral_flows
from .prepayment import smm_matrix

if TYPE_CHECKING:
    from ..model.deal import Deal
    from ..model.prepayment import Prepayment
    from .compiled import CompiledDeal


class LeanCollateralFlows:
    """Collateral flows, computed by engine/collateral.py when first asked for: they are a
    function of the speeds alone, so the kernel keeps none of them."""

    def __init__(self, deal: Deal, prepayments: list[Prepayment]):
        self._deal = deal
        self._prepayments = prepayments

    @cached_property
    def _flows(self) -> CollateralFlows:
        deal = self._deal
        ages = np.array([p.age for p in deal.pools], dtype=float)
        return collateral_flows(deal.pools, smm_matrix(self._prepayments, ages, deal.periods))

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._flows, name)

    @property
    def periods(self) -> int:
        return self._deal.periods


class LeanClassFlows:
    """Class flows [scenario, class, period] from what was paid (see the module's docstring)."""

    def __init__(self, deal: Deal, cd: CompiledDeal, collateral: LeanCollateralFlows, principal: np.ndarray,
                 interest: np.ndarray, accretion: np.ndarray, residual_interest: np.ndarray,
                 residual_principal: np.ndarray, short: bool, index_rates: np.ndarray):
        self._deal = deal
        self._cd = cd
        self._collateral = collateral
        self._paid = principal
        self.interest = interest
        self._accretion = accretion  # [scenario, accrual class slot, period]
        self.residual_interest = residual_interest
        self.residual_principal = residual_principal
        self._short = short
        self._index_rates = index_rates

    @cached_property
    def principal(self) -> np.ndarray:
        # Split classes were paid their share of the parent's principal: the kernel stores it.
        return self._paid

    @cached_property
    def _balances(self) -> tuple[np.ndarray, np.ndarray]:
        """Beginning and ending balances, moved period by period as the waterfall moved them
        (accretion added, then principal taken off), so they agree with it to the last bit."""
        deal, cd = self._deal, self._cd
        n, c, t = self._paid.shape
        begin = np.empty((n, c, t))
        end = np.empty((n, c, t))
        balance = np.repeat(cd.class_args[0][:, None], n, axis=1)  # [class, scenario]
        paid = self._paid.transpose(2, 1, 0)  # [period, class, scenario] views
        acc = self._accretion.transpose(2, 1, 0)
        kids = [(k.index, k.parent, k.balance / deal.classes[k.parent].balance)
                for k in deal.classes if k.parent is not None]
        books = [k.index for k in deal.classes if k.on_books]
        notionals = [(k.index, k.notional) for k in deal.classes if k.notional is not None]
        pools_begin = pools_end = None
        if notionals:
            by_pool = self._collateral.by_pool
            pools_begin = by_pool["beginning_balance"].transpose(2, 1, 0)
            pools_end = by_pool["ending_balance"].transpose(2, 1, 0)
        zs = list(cd.accrual_classes)
        for p in range(t):
            begin[:, :, p] = balance.T
            if notionals:
                _notional(begin[:, :, p].T, notionals, pools_begin[p])  # type: ignore[index]
            for slot, z in enumerate(zs):
                balance[z] += acc[p, slot]
            balance[books] -= paid[p, books]
            for k, parent, share in kids:
                balance[k] = balance[parent] * share
            end[:, :, p] = balance.T
            if notionals:
                _notional(end[:, :, p].T, notionals, pools_end[p])  # type: ignore[index]
        return begin, end

    @property
    def beginning_balance(self) -> np.ndarray:
        return self._balances[0]

    @property
    def ending_balance(self) -> np.ndarray:
        return self._balances[1]

    @cached_property
    def accrued(self) -> np.ndarray:
        if len(self._cd.accrual_classes) == 0:
            return np.broadcast_to(0.0, self._paid.shape)
        out = np.zeros(self._paid.shape)
        out[:, self._cd.accrual_classes, :] = self._accretion
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
            return np.broadcast_to(0.0, self._paid.shape)
        # The waterfall's own arithmetic, period by period: due = begin x rate / 12 + carried.
        rates = self._accrual_rates()
        begin = self.beginning_balance
        out = np.empty(begin.shape)
        carried = np.zeros(begin.shape[:2])
        accrued = self.accrued
        for t in range(begin.shape[2]):
            due = begin[:, :, t] * rates[:, :, t]
            due *= 1.0 / 12.0
            due += carried
            carried = due - self.interest[:, :, t]
            carried -= accrued[:, :, t]
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


def _notional(out: np.ndarray, notionals: list, pools: np.ndarray) -> None:
    """Notional balances [class, scenario] in place, as engine/waterfall.py computes them."""
    for k, n in notionals:
        base = out[list(n.classes)].sum(axis=0) if n.classes else 0.0
        if n.pools:
            base = base + pools[list(n.pools)].sum(axis=0)
        if n.collateral:
            base = base + pools.sum(axis=0)
        out[k] = n.factor * base
