"""Pass: references between classes and to pools (floaters' parents, what notionals follow,
PO strips of a pool). One walk over the classes with dictionary look-ups: linear in their count.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from ..errors import did_you_mean
from ..language.nodes import ClassDecl, NotionalDecl
from ..model.deal import Notional, Pool, Tranche
from .context import MONEY_TOLERANCE, Checker


def resolve_references(ck: Checker) -> None:
    if ck.all_classes_ok and ck.pools:
        ck.classes = _resolve(ck, ck.decls, ck.classes, ck.pools)
    ck.names = {c.name: c for c in ck.classes}


def split_children(classes: list[Tranche]) -> dict[int, list[Tranche]]:
    """Parent index -> the classes split from it, in class order (parents in class order)."""
    out: dict[int, list[Tranche]] = {}
    for c in classes:
        if c.parent is not None:
            out.setdefault(c.parent, []).append(c)
    return dict(sorted(out.items()))


def _resolve(ck: Checker, decls: dict[str, ClassDecl], classes: list[Tranche],
             pools: list[Pool]) -> list[Tranche]:
    """Second pass: parents of floaters, what notionals follow, pool strips."""
    names = {c.name: c for c in classes}
    pool_index = {p.name: i for i, p in enumerate(pools)}
    out = list(classes)
    stripped: set[int] = set()  # pools with a PO strip already
    for k, c in enumerate(classes):
        decl = decls.get(c.name)
        if decl is None:  # the residual the checker added
            continue
        if decl.parent is not None:
            parent = names.get(decl.parent)
            if parent is None:
                ck.failed.add(c.name)
                ck.error(f"class {c.name} is split from '{decl.parent}', which is not a class",
                         decl.parent_span, did_you_mean(decl.parent, names)
                         or f"declare the fixed-rate parent: class {decl.parent} SEQ balance ... coupon ...%")
                continue
            if decls[parent.name].parent is not None or parent.formula is not None or parent.is_notional \
                    or parent.is_residual or parent.accrual:
                ck.error(f"class {parent.name} cannot be split into floaters", decl.parent_span,
                         "the parent is a fixed-rate class with a principal balance")
                continue
            ptype = c.principal_type or parent.principal_type
            out[k] = dataclasses.replace(out[k], parent=parent.index, principal_type=ptype)
        if decl.notional is not None:
            out[k] = _notional(ck, decl, out[k], names, pool_index, pools, decls) or out[k]
        if decl.strip is not None:
            strip = decl.strip
            if strip.pool not in pool_index:
                ck.error(f"no pool is named \"{strip.pool}\"", strip.pool_span,
                         did_you_mean(strip.pool, pool_index))
                continue
            pool = pools[pool_index[strip.pool]]
            target = ck.rate(strip.target, "the target coupon")
            if target is None:
                continue
            if target <= pool.coupon:
                ck.error(f"a discount strip needs a target above the pool's net coupon "
                         f"({pool.coupon * 100:g}%)", strip.target.span)
                continue
            share = 1.0 - pool.coupon / target
            if pool_index[strip.pool] in stripped:
                ck.error(f"pool \"{strip.pool}\" is stripped twice", strip.span,
                         "one PO strip takes a pool down to one target coupon")
                continue
            stripped.add(pool_index[strip.pool])
            out[k] = dataclasses.replace(out[k], strip=(pool_index[strip.pool], share),
                                         balance=pool.balance * share)
    # A parent is not issued once it is split; its children must add up to it.
    for parent_index, children in split_children(out).items():
        parent = out[parent_index]
        total = sum(c.balance for c in children)
        if abs(total - parent.balance) > MONEY_TOLERANCE:
            ck.error(f"the classes split from {parent.name} add up to {total:,.2f}, not its "
                     f"{parent.balance:,.2f}", decls[children[0].name].parent_span)
        out[parent.index] = dataclasses.replace(parent, issued=False)
    return out


def _notional(ck: Checker, decl: ClassDecl, c: Tranche, names: dict[str, Tranche],
              pool_index: dict[str, int], pools: list[Pool], decls: dict[str, ClassDecl]) -> Tranche | None:
    notional = cast(NotionalDecl, decl.notional)  # called only for a class that declares one
    classes: list[int] = []
    pool_refs: list[int] = []
    collateral = False
    base = 0.0
    for ref in notional.refs:
        if ref.kind == "collateral":
            collateral = True
            base += sum(p.balance for p in pools)
        elif ref.kind == "pool":
            if ref.name not in pool_index:
                ck.error(f"no pool is named \"{ref.name}\"", ref.span,
                         did_you_mean(ref.name or "", pool_index))
                return None
            pool_refs.append(pool_index[ref.name])  # type: ignore[index]
            base += pools[pool_index[ref.name]].balance  # type: ignore[index]
        else:
            target = names.get(ref.name or "")
            if target is None:
                ck.error(f"notional class {c.name} follows unknown class '{ref.name}'", ref.span,
                         did_you_mean(ref.name or "", names))
                return None
            if (target.is_notional or target.is_residual or target.name == c.name
                    or decls[target.name].notional is not None):
                ck.error(f"a notional balance follows classes with principal; {target.name} has none",
                         ref.span)
                return None
            classes.append(target.index)
            base += target.balance
    factor = 1.0
    if notional.amount is not None:
        amount = ck.money(notional.amount, "the notional amount")
        if amount is None:
            return None
        if base <= 0:
            ck.error("the notional follows nothing with a balance", notional.span)
            return None
        factor = amount / base
    return dataclasses.replace(c, notional=Notional(tuple(classes), tuple(pool_refs), collateral, factor))

