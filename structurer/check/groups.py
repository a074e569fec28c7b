"""Passes for collateral groups (`group 1 { pools; classes; waterfall }`) and their declared
cross-collateralization (`excess principal of group 1 pays group 2`).

`prepare_groups` runs first: it checks the groups as written and lays their waterfalls end to
end as the deal's, so the deal-wide passes (principal rules, retirement proof) read them as they
read one waterfall. `check_group_members` says which pools and classes are whose, once classes
and references are resolved; the interest and schedule passes then prove each group on its own
collateral (`group_view`). `check_groups` splits the compiled principal rules by group, checks
that a group's rules pay only its own classes, and builds the model's `CollateralGroup`s.
"""

from __future__ import annotations

import dataclasses

from ..errors import Span, did_you_mean
from ..language.nodes import Alloc, ClassRef, PrincipalRule, ShiftingDecl, WaterfallDecl
from ..model.deal import Notional, Pool, Tranche
from ..model.groups import CollateralGroup, find_cycle
from .classes import net_wac_at_issue
from .context import MONEY_TOLERANCE, Checker

KINDS = ("principal", "interest")


def prepare_groups(ck: Checker) -> None:
    """The groups as written: named once, each with its own waterfall; the crosses between them."""
    file = ck.file
    if not file.groups:
        for cross in file.crosses:
            ck.error("the deal has no collateral groups for its excess to pay", cross.span,
                     "declare the groups: group 1 { pool ...  class ...  waterfall { ... } }")
        return
    if file.waterfall is not None:
        ck.error("a deal with collateral groups has no deal-wide waterfall: each group has its own",
                 file.waterfall.span, "move the rules into the waterfall block of the group they pay")
    index: dict[str, int] = {}
    for i, g in enumerate(file.groups):
        if g.name in index:
            ck.error(f"two groups are named {g.name}", g.span, "number the groups 1, 2, ...")
            continue
        index[g.name] = i
        wf = g.waterfall
        if wf is None:
            ck.error(f"group {g.name} has no waterfall", g.span,
                     "add to the group: waterfall { interest: pay each class its coupon  "
                     "principal: pay ... }")
            continue
        if not wf.principal:
            ck.error(f"group {g.name}'s waterfall has no principal rules", wf.principal_span or wf.span,
                     "add: principal { pay A until retired ... }")
        if not wf.interest and any(c.coupon is not None and c.coupon.value > 0 or c.coupon_formula
                                   for c in g.classes):
            ck.error(f"group {g.name}'s waterfall has no interest section, but its classes bear coupons",
                     wf.span, "add: interest: pay each class its coupon")
    ck.cross_to = {}
    for cross in file.crosses:
        ends = []
        for name, span in ((cross.source, cross.source_span), (cross.target, cross.target_span)):
            if name not in index:
                ck.error(f"no group is named {name}", span,
                         did_you_mean(name, index) or f"the groups are {', '.join(index)}")
            ends.append(index.get(name))
        source, target = ends
        if source is None or target is None:
            continue
        if source == target:
            ck.error(f"group {cross.source}'s excess cannot pay group {cross.source} itself", cross.span)
            continue
        for kind in ([cross.kind] if cross.kind else KINDS):
            if (source, kind) in ck.cross_to:
                ck.error(f"the excess {kind} of group {cross.source} is directed twice", cross.span,
                         "a group's excess pays one other group; chain them: 1 pays 2, 2 pays 3")
                continue
            ck.cross_to[(source, kind)] = target
    for kind in KINDS:
        cycle = find_cycle({s: t for (s, k), t in ck.cross_to.items() if k == kind})
        if cycle:
            names = [file.groups[i].name for i in cycle + cycle[:1]]
            last = next(c for c in file.crosses if c.source == names[-2] and c.kind in (kind, None))
            ck.error(f"the groups' excess {kind} goes round in a cycle: group "
                     + " pays group ".join(names), last.span, "a group's excess must end in the residual")
    # The deal-wide passes read the groups' waterfalls as one (each group's rules in turn).
    walls = [g.waterfall for g in file.groups if g.waterfall is not None]
    for w in walls:
        # A group's trigger would read its own pools in the run but the results test it on the
        # whole collateral: refused until both read the group's.
        for t in w.triggers[:1]:
            ck.error("named triggers are not available in a deal with collateral groups yet", t.span,
                     "test the months or the classes instead: pay A in months 1-36, pay B when A retired")
    if walls and file.waterfall is None:
        combined = WaterfallDecl(
            walls[0].span,
            interest=[r for w in walls for r in w.interest],
            interest_span=next((w.interest_span for w in walls if w.interest_span), None),
            principal=[r for w in walls for r in w.principal],
            principal_span=next((w.principal_span for w in walls if w.principal_span), None),
            accretion=[a for w in walls for a in w.accretion],
            triggers=[t for w in walls for t in w.triggers],
        )
        ck.file = dataclasses.replace(file, waterfall=combined)


def check_group_members(ck: Checker) -> None:
    """Each pool and class belongs to one group (the residual to none); what a class refers to
    (its parent, what its notional follows, its strip's pool) is in its own group."""
    file = ck.file
    if not file.groups or not ck.all_classes_ok:
        return
    bad = len(ck.errors)
    owner_of_pool: dict[str, int] = {}
    declared = {d.name: d for d in file.pools}
    members: list[tuple[list[int], list[int]]] = []
    for i, g in enumerate(file.groups):
        pool_idx: list[int] = []
        named = [(d.name, d.span) for d in g.pools] + list(g.pool_refs)
        for name, span in named:
            if name not in declared:
                ck.error(f"no pool is named \"{name}\"", span, did_you_mean(name, declared)
                         or 'declare it in the collateral block or in the group: pool "..." { ... }')
                continue
            if name in owner_of_pool:
                other = file.groups[owner_of_pool[name]].name
                ck.error(f"pool \"{name}\" is in group {other} and in group {g.name}", span,
                         "a pool pays one group; split it into two pools")
                continue
            owner_of_pool[name] = i
            pool_idx.extend(ck.pool_lines.get(name, []))
        cls_idx = [ck.names[c.name].index for c in g.classes if c.name in ck.names]
        for c in g.classes:
            if ck.names[c.name].is_residual:
                ck.error(f"the residual {c.name} is the deal's, not group {g.name}'s", c.span,
                         "declare it outside the groups: it takes what every group leaves")
        if g.classes and not named:
            ck.error(f"group {g.name} has classes and no pools", g.span,
                     'add its collateral: pool "..." { ... } or pools "..."')
        elif named and not g.classes:
            ck.error(f"group {g.name} has pools and no classes", g.span,
                     "declare the classes its pools pay inside the group")
        members.append((pool_idx, cls_idx))
    for d in file.pools:
        if d.name not in owner_of_pool:
            ck.error(f"pool \"{d.name}\" is in no group", d.span,
                     f'name it in the group it pays: pools "{d.name}"')
    grouped = {c.name for g in file.groups for c in g.classes}
    for c in file.classes:
        if c.name not in grouped and not ck.names[c.name].is_residual:
            ck.error(f"class {c.name} is in no group", c.span,
                     "declare it inside the group whose pools pay it")
    if len(ck.errors) > bad:
        return
    group_of_class = {k: i for i, (_, cls) in enumerate(members) for k in cls}
    group_of_pool = {p: i for i, (pools, _) in enumerate(members) for p in pools}
    for c in ck.classes:
        i = group_of_class.get(c.index)
        if i is None:
            continue
        decl = ck.decls[c.name]
        refs: list[tuple[str, Span | None, int | None]] = []
        if c.parent is not None:
            refs.append((f"its parent {ck.classes[c.parent].name}", decl.parent_span,
                         group_of_class.get(c.parent)))
        if c.notional is not None:
            span = decl.notional.span if decl.notional else decl.span
            if c.notional.collateral:
                ck.error(f"class {c.name} follows the whole collateral, which spans the groups", span,
                         "follow the pools of its group: notional of pool \"...\"")
            refs += [(f"class {ck.classes[k].name}", span, group_of_class.get(k)) for k in c.notional.classes]
            refs += [(f"pool \"{ck.pools[p].name}\"", span, group_of_pool.get(p)) for p in c.notional.pools]
        if c.strip is not None:
            span = decl.strip.span if decl.strip else decl.span
            refs.append((f"pool \"{ck.pools[c.strip[0]].name}\"", span, group_of_pool.get(c.strip[0])))
        for what, span, j in refs:
            if j != i:
                where = f"group {file.groups[j].name}" if j is not None else "no group"
                ck.error(f"class {c.name} of group {file.groups[i].name} refers to {what}, of {where}",
                         span, "a group's classes refer only to its own classes and pools")
    if len(ck.errors) > bad or ck.pools_declared_ok != len(file.pools):
        return  # (a pool that did not check would show as a group's balances not tying)
    for i, (pools, cls) in enumerate(members):
        coll = sum(ck.pools[p].balance for p in pools)
        owned = sum(ck.classes[k].balance for k in cls if ck.classes[k].on_books)
        if abs(owned - coll) > MONEY_TOLERANCE:
            diff = owned - coll
            ck.error(f"group {file.groups[i].name}'s class balances add up to {owned:,.2f}, "
                     f"{abs(diff):,.2f} {'more' if diff > 0 else 'less'} than its pools' {coll:,.2f}",
                     file.groups[i].span, "a group's classes account for every dollar of its pools")
    if len(ck.errors) > bad:
        return
    for pools, cls in members:
        # A WAC class's coupon is the net WAC of its own group's pools (at issue here; the
        # engine's by period), not of the whole collateral.
        for k in (k for k in cls if ck.classes[k].net_wac):
            c = dataclasses.replace(ck.classes[k], coupon=net_wac_at_issue([ck.pools[p] for p in pools]))
            ck.classes[k] = ck.names[c.name] = c
    ck.group_members = members
    ck.groups_ok = True


def group_view(ck: Checker, i: int) -> tuple[list[Tranche], list[Pool], list[int]]:
    """Group i's classes and pools re-indexed from 0 (so the deal-wide proofs run on it as on a
    deal of its own), and the deal's index of each of its classes."""
    pool_idx, cls_idx = ck.group_members[i]
    cmap = {k: j for j, k in enumerate(cls_idx)}
    pmap = {p: j for j, p in enumerate(pool_idx)}
    classes = []
    for k in cls_idx:
        c = ck.classes[k]
        n = c.notional
        classes.append(dataclasses.replace(
            c, index=cmap[k],
            parent=None if c.parent is None else cmap[c.parent],
            notional=None if n is None else Notional(tuple(cmap[j] for j in n.classes),
                                                     tuple(pmap[p] for p in n.pools), n.collateral, n.factor),
            strip=None if c.strip is None else (pmap[c.strip[0]], c.strip[1])))
    return classes, [ck.pools[p] for p in pool_idx], cls_idx


def _class_refs(alloc: Alloc) -> list[ClassRef]:
    out: list[ClassRef] = []
    for part in alloc.parts:
        for m in part.members:
            out.extend([m] if isinstance(m, ClassRef) else _class_refs(m.alloc))
    return out


def _rule_refs(rule: PrincipalRule | ShiftingDecl) -> list[ClassRef]:
    """The classes a principal rule pays: a shifting-interest rule its seniors and subordinates."""
    if isinstance(rule, ShiftingDecl):
        return _class_refs(rule.senior) + _class_refs(rule.subordinate)
    return _class_refs(rule.alloc)


def check_groups(ck: Checker) -> None:
    """A group's rules pay only its own classes; each group's share of the compiled rules."""
    file = ck.file
    if not file.groups or not ck.groups_ok:
        return
    group_of_class = {k: i for i, (_, cls) in enumerate(ck.group_members) for k in cls}
    bad = len(ck.errors)
    for i, g in enumerate(file.groups):
        wf = g.waterfall
        if wf is None:
            continue
        refs = [r for rule in wf.principal for r in _rule_refs(rule)]
        for acc in wf.accretion:
            refs.append(ClassRef(acc.name, acc.name_span))
            refs += [r for rule in acc.rules for r in _class_refs(rule.alloc)]
        for ref in refs:
            c = ck.names.get(ref.name)
            if c is None or group_of_class.get(c.index) == i:
                continue  # an unknown class is reported by the principal pass
            j = group_of_class.get(c.index)
            where = f"a class of group {file.groups[j].name}" if j is not None else "a class of no group"
            ck.error(f"group {g.name}'s waterfall pays {ref.name}, {where}", ref.span,
                     "a group pays only its own classes; to pass on what it has left, write: "
                     f"excess of group {g.name} pays group ...")
    wf_all = ck.file.waterfall
    rules = ck.principal.children
    if len(ck.errors) > bad or wf_all is None or len(rules) != len(wf_all.principal):
        return
    groups: list[CollateralGroup] = []
    start = 0
    for i, g in enumerate(file.groups):
        count = len(g.waterfall.principal) if g.waterfall else 0
        pools, cls = ck.group_members[i]
        groups.append(CollateralGroup(
            g.name, tuple(pools), tuple(cls), (start, start + count),
            principal_to=ck.cross_to.get((i, "principal")), interest_to=ck.cross_to.get((i, "interest"))))
        start += count
    ck.groups = groups
