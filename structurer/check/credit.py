"""Pass: credit. Default assumptions written on scenario lines (`defaults 100 SDA severity 35%
lag 12 advance off`) and the waterfall's loss section (`losses: write down D, C, B, A`).

Values are validated by model/defaults.py's functions, so the deal's messages and the command
line's agree; here they gain the position of what was written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..errors import InputError, Span
from ..language.nodes import ClassRef, DefaultsDecl, LossesDecl, Quantity
from ..model.defaults import (
    RATE_UNITS,
    DefaultAssumption,
    DefaultRate,
    Delinquency,
    Severity,
    validate_delinquency,
    validate_lag,
    validate_rate,
    validate_severity,
)
from .context import Checker
from .shapes import Words, shaped_rate


def _valid(ck: Checker, check: Callable[..., None], span: Span | None, *args: object) -> bool:
    try:
        check(*args)
    except InputError as exc:
        ck.error(str(exc), span)
        return False
    return True


def _rate(ck: Checker, q: Quantity, unit: str | None = None) -> tuple[float, str] | None:
    got = q.unit or unit
    if got not in RATE_UNITS:
        ck.error("a default rate needs its unit", q.span, "write CDR, MDR or SDA after it: 100 SDA, 2 CDR")
        return None
    return (q.value, got) if _valid(ck, validate_rate, q.span, q.value, got) else None


RATE_WORDS = Words("rate", "a vector of default rates needs its unit after the last rate",
                   "vector(1, 2, 3 CDR)", frozenset(RATE_UNITS), end_takes_start_unit=True)


def default_rate(ck: Checker, spec: object) -> DefaultRate | None:
    return shaped_rate(ck, spec, lambda q, unit: _rate(ck, q, unit), DefaultRate, RATE_WORDS)


def default_assumption(ck: Checker, decl: DefaultsDecl) -> DefaultAssumption | None:
    """The assumption a scenario line writes, or None after reporting what is wrong with it."""
    rate = default_rate(ck, decl.rate)
    term = max((p.term for p in ck.pools), default=None)
    parts: dict[str, object] = {}
    ok = rate is not None
    for word, value, span in decl.options:
        key = "advancing" if word == "advance" else word
        if key in parts:
            ck.error(f"'{word}' is given twice in one scenario's defaults", span)
            ok = False
            continue
        if word == "severity":
            quantities: list[Quantity] = value  # type: ignore[assignment]
            bad = [q for q in quantities if q.unit not in (None, "%")]
            for q in bad:
                ck.error(f"a loss severity is a percentage, not '{q.unit}'", q.span, "write it like 35%")
            if bad or not all(_valid(ck, validate_severity, q.span, q.value) for q in quantities):
                ok = False
                continue
            values = [q.value for q in quantities]
            parts[key] = Severity.constant(values[0]) if len(values) == 1 else Severity.vector(values)
        elif word == "delinquency":
            quantities = value  # type: ignore[assignment]
            bad = [q for q in quantities if q.unit not in (None, "%")]
            for q in bad:
                ck.error(f"a delinquency is a percentage of the balance, not '{q.unit}'", q.span,
                         "write it like 3%")
            if bad or not all(_valid(ck, validate_delinquency, q.span, q.value) for q in quantities):
                ok = False
                continue
            values = [q.value for q in quantities]
            parts[key] = Delinquency.constant(values[0]) if len(values) == 1 else Delinquency.vector(values)
        elif word == "lag":
            q: Quantity = value  # type: ignore[no-redef]
            months = ck.months(q, "a recovery lag")
            if months is None or not _valid(ck, validate_lag, q.span, months, term):
                ok = False
                continue
            parts[key] = months
        else:
            parts[key] = bool(value)
    if not ok or rate is None:
        return None
    return DefaultAssumption(rate, **parts)  # type: ignore[arg-type]


def check_losses(ck: Checker) -> None:
    """The loss order (tiers of classes), and no scenario with losses in a deal without one.

    A grouped deal has no deal-wide waterfall: each group's waterfall carries its own loss
    section, naming only its own classes, since a group's pools' losses are written down
    against its classes alone. Either every group has one or none has (a deal-wide default
    assumption makes every group's pools lose)."""
    if ck.file.groups:
        _check_group_losses(ck)
        return
    wf = ck.file.waterfall
    decl = wf.losses if wf is not None else None
    if decl is None:
        _no_loss_order(ck, "the waterfall says nowhere which classes take losses",
                       "add a loss section to the waterfall, e.g. 'losses: write down D, C, B, A' "
                       "(the most junior class first)")
        return
    tiers = _loss_tiers(ck, decl)
    if tiers is not None:
        ck.losses = tiers
        ck.reimburse_losses = decl.reimburse is not None


def _no_loss_order(ck: Checker, what_is_missing: str, hint: str) -> None:
    """Report each scenario (the pricing one first) whose defaults lose money."""
    sc = ck.file.scenarios
    if sc is None:
        return
    lossy = [(name, span) for name, span, _ in sc.named
             if name in ck.scenarios and ck.scenarios[name].has_losses]
    if ck.pricing is not None and ck.pricing.has_losses and sc.pricing_defaults is not None:
        lossy.insert(0, ("pricing", sc.pricing_defaults.span))
    for name, span in lossy:
        what = "the pricing scenario" if name == "pricing" else f"scenario \"{name}\""
        ck.error(f"{what} has defaults but {what_is_missing}", span, hint)


def _check_group_losses(ck: Checker) -> None:
    """Each group's loss section names only its own classes; all groups have one or none."""
    file = ck.file
    decls = [g.waterfall.losses if g.waterfall is not None else None for g in file.groups]
    if all(d is None for d in decls):
        _no_loss_order(ck, "no group's waterfall says which classes take losses",
                       "add a loss section to each group's waterfall, e.g. 'losses: write down "
                       "B1, A1' (the group's most junior class first)")
        return
    with_one = next(g.name for g, d in zip(file.groups, decls, strict=True) if d is not None)
    bad = len(ck.errors)
    found: list[tuple[tuple[int, ...], ...] | None] = []
    for i, (g, decl) in enumerate(zip(file.groups, decls, strict=True)):
        if decl is None:
            ck.error(f"group {g.name}'s waterfall has no loss section, while group {with_one}'s has",
                     g.waterfall.span if g.waterfall is not None else g.span,
                     "each group says who takes its own pools' losses: add to its waterfall "
                     "'losses: write down ...' naming its classes, the most junior first")
            found.append(None)
            continue
        tiers = _loss_tiers(ck, decl)
        found.append(tiers)
        if tiers is None or not ck.groups_ok:
            continue
        own = set(ck.group_members[i][1])
        for m in (m for part in decl.alloc.parts for m in part.members if isinstance(m, ClassRef)):
            c = ck.names.get(m.name)
            if c is None or c.index in own:
                continue
            j = next((j for j, (_, cls) in enumerate(ck.group_members) if c.index in cls), None)
            where = f"a class of group {file.groups[j].name}" if j is not None else "a class of no group"
            ck.error(f"group {g.name}'s loss order names {m.name}, {where}", m.span,
                     "a group's pools' losses are written down against its own classes only")
    if len(ck.errors) > bad or not ck.groups_ok or len(ck.groups) != len(found):
        return
    # The deal's loss order is the groups' end to end (a class is in one group's at most): what
    # asks whether a class takes losses at all reads it; the engine writes down group by group.
    # A group whose loss section says so pays its own classes' write-downs back out of its own
    # excess interest (engine/waterfall.py `_Groups.reimburse`).
    ck.groups = [dataclasses.replace(g, losses=t or (), reimburse=d is not None and d.reimburse is not None)
                 for g, t, d in zip(ck.groups, found, decls, strict=True)]
    ck.losses = tuple(tier for t in found if t for tier in t)
    ck.reimburse_losses = any(g.reimburse for g in ck.groups)


def _loss_tiers(ck: Checker, decl: LossesDecl) -> tuple[tuple[int, ...], ...] | None:
    """A loss section's tiers of class indices, or None after reporting what is wrong."""
    tiers: list[tuple[int, ...]] = []
    seen: set[str] = set()
    ok = True
    for part in decl.alloc.parts:
        members = []
        for m in part.members:
            if not isinstance(m, ClassRef):
                ck.error("a loss order names classes, not groups in parentheses", m.span,
                         "write it like: losses: write down D, C, then A and B pro rata")
                ok = False
                continue
            if m.share is not None:
                ck.error("a loss order shares pro rata to balance, not in fixed shares", m.share.span)
                ok = False
            index = _loss_class(ck, m)
            if index is None:
                ok = False
            elif m.name in seen:
                ck.error(f"class {m.name} is named twice in the loss order", m.span)
                ok = False
            else:
                members.append(index)
            seen.add(m.name)
        if part.mode == "pro_rata":
            tiers.append(tuple(members))
        else:
            tiers.extend((i,) for i in members)
    if ok and decl.reimburse is not None:
        # A split parent's cash belongs to its floaters: a reimbursement to it would have no
        # holder (write down the parent and its floaters follow, but they are not reimbursed).
        split = {c.parent for c in ck.classes if c.parent is not None}
        for k in (k for t in tiers for k in t if k in split):
            ck.error(f"class {ck.classes[k].name} is split into other classes: its write-downs cannot be "
                     "reimbursed", decl.reimburse, "drop '; reimburse from excess interest', or write down "
                     "classes that are not split")
            ok = False
    return tuple(t for t in tiers if t) if ok else None


def _loss_class(ck: Checker, ref: ClassRef) -> int | None:
    c = ck.names.get(ref.name)
    if c is None:
        if ref.name not in ck.decls:
            names = ", ".join(ck.names) or "none"
            ck.error(f"the loss order names class {ref.name}, which the deal does not declare", ref.span,
                     f"the classes are {names}")
        return None
    why = None
    if c.is_residual:
        why = "it is the residual: it holds no balance to write down"
    elif c.is_notional:
        why = "it is a notional class: its balance follows other classes' and falls with theirs"
    elif c.parent is not None:
        why = "it is split from a parent class: write down the parent, and it follows"
    elif c.accrual:
        why = "it is an accrual class: its balance grows by its interest while other classes are paid"
    if why:
        ck.error(f"class {ref.name} cannot take losses: {why}", ref.span)
        return None
    return c.index
