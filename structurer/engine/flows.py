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

from . import buffers
from .collateral import CollateralFlows, collateral_flows
from .prepayment import smm_matrix

if TYPE_CHECKING:
    from ..model.deal import Deal
    from ..model.prepayment import Prepayment
    from .compiled import CompiledDeal


class LeanCollateralFlows:
    """Collateral flows, computed by engine/collateral.py when first asked for: they are a
    function of the speeds alone, so the kernel keeps none of them."""

    def __init__(self, deal: Deal, prepayments: list[Prepayment] | np.ndarray):
        self._deal = deal
        self._prepayments = prepayments  # speeds, or their SMM [scenario, pool, period]

    @cached_property
    def _flows(self) -> CollateralFlows:
        deal, smm = self._deal, self._prepayments
        if not isinstance(smm, np.ndarray):
            ages = np.array([p.age for p in deal.pools], dtype=float)
            smm = smm_matrix(list(smm), ages, deal.periods)
        return collateral_flows(deal.pools, smm)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._flows, name)

    @property
    def periods(self) -> int:
        return self._deal.periods


class LeanClassFlows:
    """The class flows the kernel did not store, derived from what it did (see the module's
    docstring). Everything here is [class, scenario, period], as the kernel's outputs are, and
    handed out as [scenario, class, period] views (each scenario's periods contiguous)."""

    def __init__(self, deal: Deal, cd: CompiledDeal, collateral: LeanCollateralFlows | CollateralFlows,
                 paid: np.ndarray, interest: np.ndarray, accretion: np.ndarray, short: np.ndarray,
                 index_rates: np.ndarray, writedown: np.ndarray | None = None):
        self._deal = deal
        self._cd = cd
        self._collateral = collateral
        self._paid = paid  # [class, scenario, period]
        self._interest = interest  # [class, scenario, period]
        self._accretion = accretion  # [accrual class slot, scenario, period]
        self._short = short  # [scenario]: interest fell short somewhere in the scenario
        self._index_rates = index_rates
        # a credit run's write-downs [class, scenario, period]; an empty array otherwise
        self._writedown = writedown if writedown is not None else np.zeros((0, 0, 0))

    @cached_property
    def _balances(self) -> tuple[np.ndarray, np.ndarray]:
        """Beginning and ending balances [class, scenario, period], moved period by period as the
        waterfall moved them (accretion added, then principal taken off), so they agree with it
        to the last bit; a compiled loop (engine/kernel.py), since a Python one costs a single
        scenario more than its whole run."""
        from .kernel import derive_balances

        deal, cd = self._deal, self._cd
        begin = buffers.empty(self._paid.shape)  # (every row written: derived, notionals below)
        end = buffers.empty(self._paid.shape)
        # The compiled deal's own arrays: classes on the books; split classes, parents and shares.
        on_books, kid_k, kid_parent, kid_share = cd.flag_args[4], *cd.flag_args[6:9]
        derive_balances(cd.class_args[0], self._paid, self._accretion, self._writedown, cd.accrual_classes,
                        on_books, kid_k, kid_parent, kid_share, begin, end)
        notionals = [(k.index, k.notional) for k in deal.classes if k.notional is not None]
        if notionals:
            by_pool = self._collateral.by_pool
            _notional(begin, notionals, by_pool["beginning_balance"])
            _notional(end, notionals, by_pool["ending_balance"])
        return begin, end

    @cached_property
    def _ending_principal(self) -> np.ndarray:
        if "_balances" in self.__dict__:
            return self._balances[1]
        from .kernel import derive_balances

        cd = self._cd
        end = buffers.empty(self._paid.shape)
        on_books, kid_k, kid_parent, kid_share = cd.flag_args[4], *cd.flag_args[6:9]
        # One array as both outputs: each period's beginning balance is written, then overwritten
        # by its ending balance.
        derive_balances(cd.class_args[0], self._paid, self._accretion, self._writedown, cd.accrual_classes,
                        on_books, kid_k, kid_parent, kid_share, end, end)
        return end

    def ending_principal(self, classes: list[int] | None = None) -> np.ndarray:
        """ClassFlows.ending_principal: the ending balances without the notional ones (rows of
        zeros), which would need the collateral's flows; `classes`: of those classes only
        [scenario, class asked, period], derived for them alone (a solver reading one class)."""
        if classes is None or "_ending_principal" in self.__dict__ or "_balances" in self.__dict__:
            out = self._ending_principal.transpose(1, 0, 2)
            return out if classes is None else out[:, classes, :]
        from .kernel import derive_ending_rows

        cd = self._cd
        on_books, kid_k, kid_parent, kid_share = cd.flag_args[4], *cd.flag_args[6:9]
        parent_of = {int(k): (int(p), float(f)) for k, p, f in zip(kid_k, kid_parent, kid_share, strict=True)}
        slot_of = {int(z): j for j, z in enumerate(cd.accrual_classes)}
        if any(parent_of[c][0] in parent_of for c in classes if c in parent_of):
            # A split of a split class: the full derivation takes the shares in its order.
            return self._ending_principal.transpose(1, 0, 2)[:, classes, :]
        source = [parent_of[c][0] if c in parent_of else c for c in classes]
        end = buffers.empty((len(classes), *self._paid.shape[1:]))
        derive_ending_rows(cd.class_args[0], self._paid, self._accretion, self._writedown, on_books,
                           np.array(source, dtype=np.int64), np.array([slot_of.get(c, -1) for c in source],
                                                                      dtype=np.int64),
                           np.array([parent_of[c][1] if c in parent_of else 1.0 for c in classes]),
                           np.array([c in parent_of for c in classes], dtype=np.bool_), end)
        return end.transpose(1, 0, 2)

    @property
    def beginning_balance(self) -> np.ndarray:
        return self._balances[0].transpose(1, 0, 2)

    @property
    def ending_balance(self) -> np.ndarray:
        return self._balances[1].transpose(1, 0, 2)

    @cached_property
    def _accrued(self) -> np.ndarray:
        written = np.zeros(self._paid.shape[0], dtype=np.bool_)
        written[self._cd.accrual_classes] = True
        out = buffers.zeros(self._paid.shape, written=written)
        out[self._cd.accrual_classes] = self._accretion
        return out

    @property
    def accrued(self) -> np.ndarray:
        if len(self._cd.accrual_classes) == 0:
            return np.broadcast_to(0.0, self._paid.shape).transpose(1, 0, 2)  # no memory
        return self._accrued.transpose(1, 0, 2)

    @cached_property
    def _rates(self) -> np.ndarray:
        from .waterfall import coupon_rates

        # [period, class, scenario]; a WAC class's from the collateral's balances
        return coupon_rates(self._deal, self._index_rates, self._paid.shape[2],
                            self._collateral if self._deal.has_wac_classes else None)

    @property
    def coupon(self) -> np.ndarray:
        return self._rates.transpose(2, 1, 0)

    @property
    def shortfall(self) -> np.ndarray:
        """What each class was due and not paid, carried forward (zeros when interest never fell
        short: a view, no memory)."""
        if not self._short.any():
            return np.broadcast_to(0.0, self._paid.shape).transpose(1, 0, 2)
        return self._shortfall.transpose(1, 0, 2)

    @cached_property
    def _shortfall(self) -> np.ndarray:
        # The waterfall's own arithmetic, period by period: due = begin x rate / 12 + carried.
        rates = self._rates
        if self._cd.floating:
            days = self._cd.class_args[8][:rates.shape[0]]
            floating = [c.index for c in self._deal.classes if c.formula is not None]
            rates = np.array(rates)
            rates[:, floating, :] *= days[:, None, None]
        begin = self._balances[0]
        accrued = self._accrued if len(self._cd.accrual_classes) else None
        out = buffers.empty(begin.shape)
        carried = np.zeros(begin.shape[:2])
        for t in range(begin.shape[2]):
            due = np.multiply(begin[:, :, t], rates[t])
            due *= 1.0 / 12.0
            due += carried
            carried = np.subtract(due, self._interest[:, :, t])
            if accrued is not None:
                carried -= accrued[:, :, t]
            out[:, :, t] = carried
        # A scenario whose interest never fell short carries nothing (the kernel knows): the
        # recomputation above leaves rounding dust there, from balances derived, not kept.
        out[:, ~self._short, :] = 0.0
        return out


def _notional(out: np.ndarray, notionals: list, pools: np.ndarray) -> None:
    """Notional balances in place on `out` [class, scenario, period], from the pools' balances
    [scenario, pool, period], as engine/waterfall.py computes them (elementwise sums over the
    classes and pools named, in the same order)."""
    for k, n in notionals:
        base = out[list(n.classes)].sum(axis=0) if n.classes else 0.0
        if n.pools:
            base = base + pools[:, list(n.pools)].sum(axis=1)
        if n.collateral:
            base = base + pools.sum(axis=1)
        out[k] = n.factor * base
