"""From the deal file's `pay ...` lines to compiled rules: the one place that maps each
syntax (a sharing mode, a limit, a condition) to the rule kind that implements it.

The checker supplies a `Checks` object for messages and quantities; each rule kind's module
supplies its compile function. Adding a rule kind adds one entry to MODES, LIMITS or
CONDITIONS (and its keyword to the grammar).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ...errors import did_you_mean
from ...language.nodes import Group, ShiftingDecl
from .base import Rule
from .conditions import compile_period, compile_when
from .down_to import compile_down_to
from .nas_share import compile_its_share
from .pay import Pay
from .pro_rata import compile_pro_rata
from .sequential import Sequential
from .shifting import compile_shifting_interest
from .to_schedule import compile_to_schedule
from .trigger import compile_prepayment_trigger

if TYPE_CHECKING:
    from ...errors import Span
    from ...language.nodes import Alloc, Member, PrincipalRule, ProAlloc, Quantity
    from ..deal import Tranche


class Checks(Protocol):
    """What rule compilation needs from the checker."""

    failed: set[str]
    schedules_known: bool

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None: ...
    def rate(self, q: Quantity, what: str) -> float | None: ...
    def speed(self, q: Quantity, unit: str | None = None) -> tuple[float, str] | None: ...


@dataclass
class RuleContext:
    """Everything a rule's compile function may consult."""

    checks: Checks
    names: dict[str, Tranche]
    schedules: dict[int, np.ndarray]
    periods: int
    # The waterfall's named triggers (model/rules/triggers.py) and the names whose declaration
    # failed (so a rule naming one is not reported again).
    triggers: dict[str, Any] = field(default_factory=dict)
    failed_triggers: set[str] = field(default_factory=set)
    collateral_balance: float = 0.0  # at closing (`original collateral balance`)
    _by_index: dict[int, Tranche] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_index = {c.index: c for c in self.names.values()}

    def tranche(self, index: int) -> Tranche:
        return self._by_index[index]


def _sequentially(ctx: RuleContext, pa: ProAlloc, members: list[Rule],
                  shares: list[Quantity | None]) -> Rule | None:
    for s in shares:
        if s is not None:
            ctx.checks.error("shares mean nothing when classes are paid sequentially", s.span)
            return None
    return Sequential(tuple(members))


# How the members of one list share principal: `... sequentially`, `... pro rata`.
MODES: dict[str, Callable[..., Rule | None]] = {
    "sequentially": _sequentially,
    "pro_rata": compile_pro_rata,
}
# What limits a `pay` line: `until retired` (no limit), `to schedule`, `its share`.
LIMITS: dict[str, Callable[..., Rule | None] | None] = {
    "until retired": None,
    "to schedule": compile_to_schedule,
    "its share": compile_its_share,
    "down to": compile_down_to,
}
# When a `pay` line applies: `when prepayments above SPEED [sticky]`, `when trigger "X" fails`
# (and/or/not, `A retired`), `in months 1-36`.
CONDITIONS: dict[str, Callable[..., Rule | None]] = {
    "prepayments": compile_prepayment_trigger,
    "when": compile_when,
    "period": compile_period,
}


def compile_principal_rule(ctx: RuleContext, prule: PrincipalRule) -> Rule | None:
    """One `pay ...` line: its allocation, its limit, its condition."""
    if isinstance(prule, ShiftingDecl):
        return compile_shifting_interest(ctx, prule, compile_alloc)
    rule = compile_alloc(ctx, prule.alloc, {})
    if rule is None:
        return None
    limit = LIMITS[prule.limit or "until retired"]
    if limit is not None:
        rule = limit(ctx, prule, rule)
        if rule is None:
            return None
    condition = getattr(prule, "condition", None)
    if condition is not None:
        rule = CONDITIONS[condition.kind](ctx, condition, rule)
    for more in getattr(prule, "conditions", ()):
        if rule is None:
            return None
        rule = CONDITIONS[more.kind](ctx, more, rule)
    return rule


def compile_alloc(ctx: RuleContext, alloc: Alloc, seen: dict[str, Span | None]) -> Rule | None:
    """Parts joined by `then`: paid one after another."""
    parts = [_compile_part(ctx, p, seen) for p in alloc.parts]
    if any(p is None for p in parts):
        return None
    return parts[0] if len(parts) == 1 else Sequential(tuple(parts))  # type: ignore[arg-type]


def _compile_part(ctx: RuleContext, pa: ProAlloc, seen: dict[str, Span | None]) -> Rule | None:
    members = [_compile_member(ctx, m, seen) for m in pa.members]
    shares = [m.share for m in pa.members]
    if any(m is None for m in members):
        return None
    if len(members) == 1:
        if shares[0] is not None:
            ctx.checks.error("a share only means something among classes paid pro rata", shares[0].span)
            return None
        return members[0]
    if pa.mode is None:
        ctx.checks.error("say how these classes share principal", pa.span,
                         "end the list with 'pro rata' or 'sequentially'")
        return None
    return MODES[pa.mode](ctx, pa, members, shares)


def _compile_member(ctx: RuleContext, m: Member, seen: dict[str, Span | None]) -> Rule | None:
    if isinstance(m, Group):
        return compile_alloc(ctx, m.alloc, seen)
    names, error = ctx.names, ctx.checks.error
    tranche = names.get(m.name)
    if tranche is None:
        error(f"unknown class '{m.name}'", m.span,
              did_you_mean(m.name, names) or "declare it with: class NAME TYPE balance ... coupon ...")
        return None
    if tranche.is_residual:
        error(f"class {m.name} is the residual; it receives what is left after every rule",
              m.span, "remove it from the principal rules")
        return None
    if tranche.is_notional:
        error(f"class {m.name} is notional: it has no principal to pay", m.span)
        return None
    if tranche.parent is not None:
        parent = ctx.tranche(tranche.parent)
        error(f"class {m.name} is split from {parent.name} and paid with it", m.span,
              f"pay {parent.name} instead")
        return None
    if tranche.strip is not None:
        error(f"class {m.name} is paid its share of its pool's principal before the waterfall",
              m.span, "remove it from the principal rules")
        return None
    if m.name in seen:
        error(f"class {m.name} appears twice in one principal rule", m.span)
        return None
    seen[m.name] = m.span
    return Pay(tranche.index)
