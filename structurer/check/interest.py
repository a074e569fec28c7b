"""Pass: the collateral's interest covers the classes' interest, at issue and in every period
(coupons, floaters at their caps, IO strips), and floaters split from a parent fit its coupon.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..dates import DayCount
from ..language.nodes import ClassDecl
from ..model.deal import CouponFormula, Pool, Tranche
from ..model.scenarios import RatePath
from .context import MONEY_TOLERANCE, Checker
from .groups import group_view
from .references import split_children


def check_interest(ck: Checker) -> None:
    if not (ck.clean and ck.balanced):
        return
    basis = ck.basis
    first_month = basis.accrual_months(ck.first_payment, 1)[0] if ck.first_payment else 1.0
    if ck.file.groups:
        # Collateral groups: each group's pools pay its own classes' interest (check/groups.py).
        for i in range(len(ck.group_members) if ck.groups_ok else 0):
            classes, pools, _ = group_view(ck, i)
            interest_covered(ck, ck.decls, classes, pools, ck.indices, basis, first_month)
        return
    interest_covered(ck, ck.decls, ck.classes, ck.pools, ck.indices, basis, first_month)


def effective_rates(classes: list[Tranche], pools: list[Pool],
                    floater_days: float = 1.0) -> tuple[dict[int, float], float, list[float]]:
    """The bounds the interest proof compares.

    Per principal class: the most interest a dollar of its balance can draw (its coupon, its
    floaters at their caps, IO strips on it). Per pool: the least interest a dollar of the
    waterfall's share of it pays (net coupon, grossed up by a discount strip, less IO strips on
    the pool or on its PO). On the collateral: the most a waterfall dollar pays to IOs on the
    whole collateral, which also draw on the PO strips' dollars. `floater_days` scales what a
    floater can draw in a month (31/30 on actual/360).
    """
    rates: dict[int, float] = {}
    for c in classes:
        if not c.in_waterfall or c.net_wac:
            continue  # a WAC class draws the net WAC, which the collateral pays (wac_covered)
        rates[c.index] = c.formula.cap * floater_days if c.formula else c.coupon
    strip_share = {c.strip[0]: c.strip[1] for c in classes if c.strip is not None}
    pool_rates = [p.coupon / (1.0 - strip_share.get(i, 0.0)) for i, p in enumerate(pools)]
    on_collateral = 0.0
    for c in classes:
        if c.notional is None:
            continue
        rate = c.formula.cap * floater_days if c.formula else c.coupon
        n = c.notional
        on_collateral += rate * n.factor if n.collateral else 0.0
        for p in n.pools:
            pool_rates[p] -= rate * n.factor / (1.0 - strip_share.get(p, 0.0))
        for k in n.classes:
            target = classes[k]
            if target.parent is not None:
                ratio = target.balance / classes[target.parent].balance
                rates[target.parent] = rates.get(target.parent, 0.0) + rate * n.factor * ratio
            elif target.strip is not None:
                pool, share = target.strip
                pool_rates[pool] -= rate * n.factor * share / (1.0 - share)
            else:
                rates[k] = rates.get(k, 0.0) + rate * n.factor
    largest_strip = max(strip_share.values(), default=0.0)
    return rates, on_collateral / (1.0 - largest_strip), pool_rates


def interest_covered(ck: Checker, decls: dict[str, ClassDecl], classes: list[Tranche],
                      pools: list[Pool], indices: dict[str, RatePath], basis: DayCount,
                      first_month: float) -> None:
    # A floater draws basis.months of a twelfth of its rate: on actual/360 at most 31/30.
    floater_days = basis.longest_month
    first_factor = first_month
    actual = floater_days > 1.0  # the split-pair hint below names the convention's long months
    coll_int = sum(p.balance * p.coupon for p in pools) / 12
    # At issue: what the first month needs, in dollars (floaters at their first-period index).
    need = 0.0
    first_rate: dict[str, float] = {}
    split = split_children(classes)  # parent index -> its floaters, found once
    for c in classes:
        if c.is_residual:
            continue
        if c.formula is not None:
            path = indices.get(c.formula.index)
            rate = (float(c.formula.rate(path.path(1)[0])) if path else c.formula.cap) * first_factor
        else:
            rate = c.coupon
        first_rate[c.name] = rate
        if c.parent is None and c.index in split:
            continue  # a split parent: its children are counted
        need += _notional_at_issue(c, classes, pools) * rate / 12
    if need - coll_int > MONEY_TOLERANCE:
        worst = classes[[c.name for c in classes].index(max(first_rate, key=first_rate.get))]
        decl = decls[worst.name]
        ck.error(f"the classes' coupons need {need:,.2f} of interest in the first month; "
                 f"the collateral's net interest is {coll_int:,.2f}, "
                 f"a shortfall of {need - coll_int:,.2f}", (decl.coupon or decl.coupon_formula or decl).span,
                 "lower the coupons or add collateral coupon")
        return
    if not wac_covered(ck, decls, classes, pools):
        return
    # Every period: each dollar of class balance draws at most its effective rate, and every
    # dollar of class balance is a dollar of collateral paying at least the lowest pool rate.
    rates, on_collateral, pool_rates = effective_rates(classes, pools, floater_days)
    floor_rate = min(pool_rates)
    for k, rate in rates.items():
        if rate + on_collateral > floor_rate + 1e-12:
            decl = decls[classes[k].name]
            ck.error(f"class {classes[k].name} can draw {(rate + on_collateral) * 100:.4g}% of interest "
                     f"(coupon, caps and IO strips on it), more than the lowest collateral net coupon "
                     f"of {floor_rate * 100:.4g}%", (decl.coupon or decl.coupon_formula or decl).span,
                     "as the other classes pay down, the collateral's interest would not cover it")
            return
    # Floaters split from a parent: at every index level their interest fits the parent's, and
    # where no cap or floor binds it equals the parent's, as a floater/inverse pair must.
    for parent_index, children in split.items():
        parent = classes[parent_index]
        floaters = [c for c in children if c.formula is not None]
        fixed = sum(c.balance * c.coupon for c in children if c.formula is None)
        if not floaters:
            if abs(fixed - parent.balance * parent.coupon) > 1e-6 * max(parent.balance, 1.0):
                decl = decls[children[-1].name]
                ck.error(f"the classes split from {parent.name} pay {fixed / parent.balance * 100:.6g}% "
                         f"of its balance; it pays {parent.coupon * 100:.6g}%",
                         (decl.coupon or decl).span, "their balance-weighted coupons must add up to it")
            continue
        kinks = [0.0]
        for c in floaters:
            f = cast(CouponFormula, c.formula)  # floaters: classes with a formula
            kinks += [(f.cap - f.constant) / f.multiplier, (f.floor - f.constant) / f.multiplier]
        levels = np.array(sorted(set(kinks)) + [max(kinks) + 0.01])
        levels = levels[levels >= 0]
        paid = fixed + floater_days * sum(c.balance * c.formula.rate(levels)  # type: ignore[union-attr]
                                          for c in floaters)
        owed = parent.balance * parent.coupon
        decl = decls[children[-1].name]
        over = np.nonzero(paid - owed > 1e-6)[0]
        if over.size:
            level = levels[over[0]]
            ck.error(f"at {floaters[0].formula.index} {level * 100:.4g}% the classes split from "  # type: ignore[union-attr]
                     f"{parent.name} pay {paid[over[0]] / parent.balance * 100:.4g}% of its balance, "
                     f"more than its {parent.coupon * 100:.4g}% coupon", (decl.coupon_formula or decl).span,
                     "floaters on actual/360 draw 31/30 of their rate in a 31-day month, more than "
                     "a 30/360 parent pays: use day count 30/360 for a split pair" if actual else
                     "lower the floater's cap or the inverse floater's cap so they fit the parent")
            continue
        free = [(lo + hi) / 2 for lo, hi in zip(levels[:-1], levels[1:], strict=True)
                if all(f.floor < f.rate((lo + hi) / 2) < f.cap  # type: ignore[union-attr]
                       for f in (c.formula for c in floaters))]
        for level in free[:1]:
            at = fixed + sum(c.balance * float(c.formula.rate(level)) for c in floaters)  # type: ignore[union-attr]
            if abs(at - owed) > 1e-6 * max(owed, 1.0):
                ck.error(f"the classes split from {parent.name} do not add up to its coupon: at "
                         f"{floaters[0].formula.index} {level * 100:.4g}% they pay "  # type: ignore[union-attr]
                         f"{at / parent.balance * 100:.6g}%, it pays {parent.coupon * 100:.6g}%",
                         (decl.coupon_formula or decl).span,
                         "balance x margin terms must add up: sum of (balance x constant) = parent "
                         "balance x coupon, sum of (balance x multiplier) = 0")


def wac_covered(ck: Checker, decls: dict[str, ClassDecl], classes: list[Tranche],
                pools: list[Pool]) -> bool:
    """WAC classes draw the net WAC of the pools each period. Every other class draws at most the
    lowest net coupon (the proof below), which is at most the net WAC, and the class balances are
    at most the collateral's: so all of them together draw at most what the collateral pays at
    its net WAC. That holds when the only IO strips on the pools are their excess servicing
    classes (net coupons are net of those); another strip is not proved, and is rejected."""
    wac = [c for c in classes if c.net_wac]
    if not wac:
        return True
    for c in classes:
        n = c.notional
        if n is None:
            continue
        excess_strip = (not n.classes and not n.collateral and n.factor == 1.0 and n.pools
                        and all(abs(pools[p].excess - c.coupon) < 1e-12 and pools[p].excess > 0
                                for p in n.pools))
        if not excess_strip or c.net_wac:
            decl = decls[c.name]
            ck.error(f"IO class {c.name} draws on the collateral that WAC class {wac[0].name}'s coupon "
                     "is the net WAC of", (decl.notional or decl).span,
                     "a WAC class's interest is proved covered with excess servicing strips only")
            return False
    return True


def _notional_at_issue(c: Tranche, classes: list[Tranche], pools: list[Pool]) -> float:
    if c.notional is None:
        return c.balance
    n = c.notional
    base = sum(classes[k].balance for k in n.classes) + sum(pools[p].balance for p in n.pools)
    if n.collateral:
        base += sum(p.balance for p in pools)
    return n.factor * base

