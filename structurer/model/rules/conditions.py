"""`pay A1, A2 sequentially when trigger "cumulative loss" fails`, `pay B when A retired`,
`pay A until retired in months 1-36`: a rule that pays only in the periods when its condition
holds, and the waterfall's named triggers (`triggers { "NAME": TEST [sticky] }`) it may read.

A condition is tested at the start of each period, on what is known then (see triggers.py): the
month, the classes' balances at the start of the period (`A retired`: A holds nothing), and the
named triggers' status. Several conditions on one rule must all hold. Like the jump trigger, a
conditional rule proves nothing about retiring its classes: the check asks for an unconditional
rule as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import did_you_mean
from ...language.nodes import CondClass, CondTrigger, Group, ShiftingDecl
from .base import Book, Rule, RunInputs
from .program import WHEN, Program
from .shifting import _schedule
from .triggers import (
    DELINQUENCY,
    LOSS,
    OP_AND,
    OP_NOT,
    OP_OR,
    OP_RANGE,
    OP_RETIRED,
    OP_TRIGGER,
    SUPPORT_BELOW,
    NamedTrigger,
    Ops,
    TriggerTrack,
    evaluate,
    triggers_of,
)

if TYPE_CHECKING:
    from ...language.nodes import Alloc, CondExpr, PeriodCondition, TriggerDecl, WhenCondition
    from .compile import RuleContext


@dataclass(frozen=True, eq=False)
class When(Rule):
    """Pay `child` only while `ops` (a postfix condition, triggers.py) holds; `text` is the
    condition as written."""

    child: Rule
    ops: Ops
    text: str

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.child,)

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return When(children[0], self.ops, self.text)

    def retiring(self) -> set[int]:
        return set()  # the condition may never hold

    def initial_state(self, inputs: RunInputs) -> Any:
        # [its triggers' track, whether the condition holds this period [scenario]]
        return [TriggerTrack(triggers_of(self.ops), inputs), np.zeros(inputs.n_scen, dtype=bool)]

    def begin_period(self, book: Book) -> None:
        st = book.state[id(self)]
        st[0].update(book.t, book.owners_begin)
        st[1] = evaluate(self.ops, book.t, book.owners_begin, st[0])

    def capacity(self, book: Book) -> np.ndarray:
        return np.where(book.state[id(self)][1], self.child.capacity(book), 0.0)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        return self.child.allocate(np.where(book.state[id(self)][1], amount, 0.0), book)

    def describe(self, names: list[str]) -> str:
        return f"{self.child.describe(names)} {self.text}"

    def encode(self, program: Program) -> int:
        # Its condition is the node's first program; the kernel tests it at the start of each
        # period, as `begin_period` does.
        n = program.node(self, WHEN)
        program.set_programs(n, program.program(encode_ops(self.ops, program)))
        return n


def encode_ops(ops: Ops, program: Program) -> list[tuple[int, int, int, float]]:
    """A condition for the kernel: each named trigger as its index among the program's."""
    return [(op, program.trigger_id(a) if op == OP_TRIGGER else int(a), b, 0.0) for op, a, b in ops]


# ---- compiling the deal file's words

def compile_triggers(ctx: RuleContext, decls: list[TriggerDecl],
                     seniors: list[int] | None) -> dict[str, NamedTrigger]:
    """The waterfall's `triggers { ... }`: each one's test, limit by period and classes. A
    support test without `of` reads the seniors of the deal's shifting-interest rule (`seniors`;
    None: the deal has none)."""
    out: dict[str, NamedTrigger] = {}
    for d in decls:
        ctx.failed_triggers.add(d.name)  # until it compiles: no "unknown trigger" on top
        if d.name in out:
            ctx.checks.error(f'the trigger "{d.name}" is declared twice', d.name_span,
                             "give each its own name")
            continue
        if not d.name.strip():
            ctx.checks.error("a trigger needs a name", d.name_span)
            continue
        if d.kind == "support":
            classes = _support_classes(ctx, d, seniors)
            if classes is None:
                continue
            original = float(sum(ctx.tranche(i).balance for i in classes))
            out[d.name] = NamedTrigger(d.name, SUPPORT_BELOW, np.ones(ctx.periods), d.sticky, tuple(classes),
                                       True, original)
            ctx.failed_triggers.discard(d.name)
            continue
        what = "a cumulative loss limit" if d.kind == "loss" else "a delinquency limit"
        got = _schedule(ctx, d.schedule, what, ctx.periods)
        if got is None:
            continue
        out[d.name] = NamedTrigger(d.name, LOSS if d.kind == "loss" else DELINQUENCY, got[0], d.sticky)
        ctx.failed_triggers.discard(d.name)
    return out


def shifting_seniors(ctx: RuleContext, rules: list) -> list[int] | None:
    """The senior classes of the deal's shifting-interest rule, as written (None: no such rule)."""
    for rule in rules:
        if isinstance(rule, ShiftingDecl):
            found: list[int] = []
            _names(rule.senior, ctx, found)
            return found
    return None


def _names(alloc: Alloc, ctx: RuleContext, out: list[int]) -> None:
    for part in alloc.parts:
        for m in part.members:
            if isinstance(m, Group):
                _names(m.alloc, ctx, out)
            elif m.name in ctx.names:
                out.append(ctx.names[m.name].index)


def _support_classes(ctx: RuleContext, d: TriggerDecl, seniors: list[int] | None) -> list[int] | None:
    if not d.classes:
        if seniors is None:
            ctx.checks.error(f'say whose credit support the trigger "{d.name}" tests', d.span,
                             "name the senior classes: credit support of A1, A2 below original")
            return None
        return seniors
    found: list[int] = []
    for name, span in d.classes:
        tranche = principal_class(ctx, name, span)
        if tranche is None:
            return None
        if tranche in found:
            ctx.checks.error(f"class {name} is named twice", span)
            return None
        found.append(tranche)
    return found


def principal_class(ctx: RuleContext, name: str, span: Any) -> int | None:
    """A class a condition or a target may read: declared, and paid by the principal rules (the
    residual and notional classes have no principal; a class split from a parent and a PO strip
    follow their parent or pool)."""
    tranche = ctx.names.get(name)
    if tranche is None:
        ctx.checks.error(f"unknown class '{name}'", span,
                         did_you_mean(name, ctx.names) or "declare it with: class NAME TYPE balance ...")
        return None
    if tranche.is_residual or tranche.is_notional:
        what = "the residual" if tranche.is_residual else "notional"
        ctx.checks.error(f"class {name} is {what}: it has no principal balance to test", span)
        return None
    if not tranche.in_waterfall:
        follows = (f"split from {ctx.tranche(tranche.parent).name}" if tranche.parent is not None
                   else "paid off its pool's principal")
        ctx.checks.error(f"class {name} is {follows}: test the class the rules pay instead", span)
        return None
    return tranche.index


def compile_when(ctx: RuleContext, condition: WhenCondition, rule: Rule) -> Rule | None:
    """`when CONDITION`: triggers that fail or pass, classes retired or outstanding, and/or/not."""
    ops: list[tuple[int, Any, int]] = []
    if not _ops(ctx, condition.expr, ops):
        return None
    return When(rule, tuple(ops), "when " + _text(condition.expr))


def _ops(ctx: RuleContext, expr: CondExpr, out: list) -> bool:
    if isinstance(expr, CondTrigger):
        trig = ctx.triggers.get(expr.name)
        if trig is None:
            known = ctx.triggers or {}
            hint = did_you_mean(expr.name, known) or (
                'declare it in the waterfall: triggers { "' + expr.name + '": cumulative loss above 3% }')
            if expr.name not in ctx.failed_triggers:
                ctx.checks.error(f'unknown trigger "{expr.name}"', expr.span, hint)
            return False
        out.append((OP_TRIGGER, trig, int(expr.failing)))
        return True
    if isinstance(expr, CondClass):
        index = principal_class(ctx, expr.name, expr.span)
        if index is None:
            return False
        out.append((OP_RETIRED, index, int(expr.retired)))
        return True
    ok = all(_ops(ctx, item, out) for item in expr.items)
    if expr.op == "not":
        out.append((OP_NOT, 0, 0))
    else:
        out.extend([(OP_AND if expr.op == "and" else OP_OR, 0, 0)] * (len(expr.items) - 1))
    return ok


def _text(expr: CondExpr) -> str:
    if isinstance(expr, CondTrigger):
        return f'trigger "{expr.name}" {"fails" if expr.failing else "passes"}'
    if isinstance(expr, CondClass):
        return f"{expr.name} {'retired' if expr.retired else 'outstanding'}"
    if expr.op == "not":
        return "not " + _text(expr.items[0])
    return "(" + f" {expr.op} ".join(_text(i) for i in expr.items) + ")"


def compile_period(ctx: RuleContext, condition: PeriodCondition, rule: Rule) -> Rule | None:
    """`in months 1-36`, `in month 12`, `from month 37` (months count payment dates from 1)."""
    first, last = condition.first, condition.last
    if last is not None and last < first:
        ctx.checks.error(f"months {first}-{last} is an empty range", condition.span,
                         f"write the first month first: in months {last}-{first}")
        return None
    beyond = first if last is None or first > ctx.periods else last
    if beyond > ctx.periods:
        ctx.checks.error(f"month {beyond} is after the deal's last payment (month {ctx.periods})",
                         condition.span)
        return None
    end = ctx.periods if last is None else last
    text = (f"from month {first}" if last is None else
            f"in month {first}" if first == last else f"in months {first}-{last}")
    return When(rule, ((OP_RANGE, first - 1, end),), text)
