"""Pass: the waterfall's overcollateralization and reserve account sections
(`overcollateralization: target 3.1% of original balance, ...`, `reserve account: initial ...`),
into model/enhancement.py's objects. Each problem is reported at the clause that has it.

The balances pass (check/balances.py) has already accepted class balances below the collateral
when the deal has an OC section, and rejected a deal whose classes exceed it.
"""

from __future__ import annotations

from ..language.nodes import OcDecl, OcPct, ReserveDecl, ShiftTrigger
from ..model.enhancement import CURRENT, ORIGINAL, Overcollateralization, Percentage, ReserveAccount
from ..model.rules.compile import RuleContext
from ..model.rules.shifting import compile_triggers
from .context import Checker


def check_enhancement(ck: Checker) -> None:
    """The OC section and the reserve account, when the deal has them."""
    wf = ck.file.waterfall
    grouped = [g.waterfall for g in ck.file.groups if g.waterfall is not None]
    for gwf in grouped:
        for decl, what in ((gwf.overcollateralization, "overcollateralization"),
                           (gwf.reserve, "a reserve account")):
            if decl is not None:
                ck.error(f"{what} is not supported in a deal with collateral groups yet", decl.span,
                         "drop the section, or write the deal without groups")
    if wf is None or ck.file.groups:
        return
    if wf.overcollateralization is not None:
        ck.overcollateralization = _oc(ck, wf.overcollateralization)
    if wf.reserve is not None:
        ck.reserve = _reserve(ck, wf.reserve)


def _pct(ck: Checker, p: OcPct, what: str, default: str) -> Percentage | None:
    q = p.value
    if q.unit != "%":
        unit = f"'{q.unit}'" if q.unit else "a bare number"
        ck.error(f"{what} is a percentage of the collateral balance, not {unit}", q.span,
                 f"write it like {abs(q.value):g}% of original balance")
        return None
    if q.value < 0:
        ck.error(f"{what} of {q.text} is negative", q.span)
        return None
    if q.value > 100:
        ck.error(f"{what} of {q.text} is over 100% of the collateral", q.span)
        return None
    return Percentage(q.value / 100.0, p.basis or default)


def _once(ck: Checker, seen: dict[str, object], word: str, span: object, section: str) -> bool:
    if word in seen:
        ck.error(f"'{word}' is given twice in the {section} section", span)  # type: ignore[arg-type]
        return False
    seen[word] = span
    return True


def _oc(ck: Checker, decl: OcDecl) -> Overcollateralization | None:
    seen: dict[str, object] = {}
    ok = True
    target = step = floor = None
    stepdown = 0
    turbo = False
    triggers: list[ShiftTrigger] = []
    periods = ck.periods or max((p.remaining for p in ck.pools), default=0)
    for clause in decl.clauses:
        if isinstance(clause, ShiftTrigger):
            triggers.append(clause)
            continue
        word, value, span = clause
        if not _once(ck, seen, word, span, "overcollateralization"):
            ok = False
            continue
        if word == "target":
            target = _pct(ck, value, "an overcollateralization target", ORIGINAL)  # type: ignore[arg-type]
            ok &= target is not None
        elif word == "after":
            month_tok, pct = value  # type: ignore[misc]
            month = float(str(month_tok).replace(",", ""))
            if month != int(month) or month < 1:
                ck.error("a step-down month is a whole number from 1", span)
                ok = False
            elif periods and month >= periods:
                ck.error(f"month {int(month)} is after the deal's last payment (month {periods})", span)
                ok = False
            stepdown = int(month)
            step = _pct(ck, pct, "a step-down target", CURRENT)
            ok &= step is not None
        elif word == "floor":
            floor = _pct(ck, value, "an overcollateralization floor", ORIGINAL)  # type: ignore[arg-type]
            ok &= floor is not None
        elif word == "turbo":
            turbo = True
        elif word == "release":
            name = str(value)
            c = ck.names.get(name)
            if c is None:
                if name not in ck.decls:
                    ck.error(f"the OC release goes to class {name}, which the deal does not declare", span,
                             f"the classes are {', '.join(ck.names) or 'none'}")
                ok = False
            elif not c.is_residual:
                ck.error(f"the OC release goes to class {name}, which is not the residual", span,
                         "released overcollateralization is the residual's: write 'release to "
                         f"{next((r.name for r in ck.classes if r.is_residual), 'R')}'")
                ok = False
    if target is None and "target" not in seen:
        ck.error("an overcollateralization section needs its target", decl.span,
                 "add: target 3.1% of original balance")
        ok = False
    if target is not None and floor is not None and floor.basis == target.basis \
            and floor.fraction > target.fraction:
        ck.error(f"the overcollateralization floor ({floor.describe()}) is above its target "
                 f"({target.describe()})", seen["floor"], "the floor is the least the target steps "  # type: ignore[arg-type]
                 "down to: make it smaller than the target")
        ok = False
    if triggers and step is None:
        ck.error("the triggers of an overcollateralization section hold its step-down, and it has none",
                 triggers[0].span, "add the step-down: after month 36 6.2% of current balance")
        ok = False
    ctx = RuleContext(ck, ck.names, ck.schedules, periods)
    compiled = compile_triggers(ctx, triggers)
    if compiled is None or not ok or target is None or not ck.balanced:
        return None
    kinds, limits = compiled
    original = sum(p.balance for p in ck.pools)
    held = sum(c.balance for c in ck.classes if c.on_books)
    return Overcollateralization(target, step, stepdown, floor, turbo, original, max(original - held, 0.0),
                                 kinds, limits.get("loss"), limits.get("delinquency"))


def _reserve(ck: Checker, decl: ReserveDecl) -> ReserveAccount | None:
    seen: dict[str, object] = {}
    ok = True
    initial = 0.0
    amount: float | None = None
    pct: Percentage | None = None
    cover_interest = cover_losses = False
    for word, value, span in decl.clauses:  # type: ignore[misc]
        if not _once(ck, seen, word, span, "reserve account"):
            ok = False
            continue
        if word in ("initial", "target"):
            p: OcPct = value  # type: ignore[assignment]
            what = "the reserve's initial deposit" if word == "initial" else "the reserve's target"
            if p.value.unit == "%" and word == "target":
                pct = _pct(ck, p, what, CURRENT)
                ok &= pct is not None
                continue
            if p.basis is not None:
                ck.error(f"{what} is an amount of money or a percentage: 'of {p.basis} balance' "
                         "needs a percentage", p.span, "write it like 0.5% of current balance")
                ok = False
                continue
            money = ck.money(p.value, what)
            if money is None:
                ok = False
            elif money < 0:
                ck.error(f"{what} of {p.value.text} is negative", p.value.span)
                ok = False
            elif word == "initial":
                initial = money
            else:
                amount = money
        else:
            items: list[tuple[str, object]] = value  # type: ignore[assignment]
            kinds = [k for k, _ in items]
            for k, s in items:
                if kinds.count(k) > 1:
                    ck.error(f"the reserve covers {k} twice", s)  # type: ignore[arg-type]
                    ok = False
                    break
            cover_interest = "interest" in kinds
            cover_losses = "losses" in kinds
    if cover_losses and ck.file.waterfall is not None and ck.file.waterfall.losses is None:
        ck.error("the reserve covers losses, but the waterfall says nowhere which classes take them",
                 seen["covers"], "add a loss section, e.g. 'losses: write down B, M, A'")  # type: ignore[arg-type]
        ok = False
    if not ok:
        return None
    if amount is None and pct is None:
        amount = initial  # no target: the reserve is kept at its initial deposit
    return ReserveAccount(initial, amount or 0.0, pct, cover_interest, cover_losses)
