"""`pay P to schedule`: pay a PAC/TAC (or any scheduled class) only down to its scheduled balance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import Book, Rule
from .program import TO_SCHEDULE, Program

if TYPE_CHECKING:
    from ...language.nodes import PrincipalRule
    from .compile import RuleContext


@dataclass(frozen=True, eq=False)
class ToSchedule(Rule):
    """Pay `child` only down to `schedule` [period]: its classes' scheduled balance (PAC, TAC)."""

    child: Rule
    schedule: np.ndarray

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.child,)

    def retiring(self) -> set[int]:
        return set()  # paid down to a schedule only, never by this rule beyond it

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return ToSchedule(children[0], self.schedule)

    def reschedule(self, schedules: dict[int, np.ndarray]) -> Rule:
        child = self.child.reschedule(schedules)
        return ToSchedule(child, np.sum([schedules[i] for i in child.classes()], axis=0))

    def over(self, book: Book) -> np.ndarray:
        """How far the classes stand above their schedule this period [scenario]."""
        return np.maximum(self.child.capacity(book) - self.schedule[book.t], 0.0)

    def capacity(self, book: Book) -> np.ndarray:
        return self.over(book)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        return self.child.allocate(np.minimum(amount, self.over(book)), book)

    def describe(self, names: list[str]) -> str:
        return f"{self.child.describe(names)} to schedule"

    def encode(self, program: Program) -> int:
        return program.node(self, TO_SCHEDULE, program.table_row(program.schedules, self.schedule))


def kernel_over_schedule(capacity: float, scheduled: float) -> float:
    """The compiled step: how far the classes (holding `capacity`) stand above their schedule."""
    return max(capacity - scheduled, 0.0)


def compile_to_schedule(ctx: RuleContext, prule: PrincipalRule, rule: Rule) -> Rule | None:
    """`to schedule`: every class the rule pays must have a schedule; they are paid to its sum."""
    members = [ctx.tranche(i) for i in rule.classes()]
    missing = [c.name for c in members if c.index not in ctx.schedules]
    if missing and (set(missing) <= ctx.checks.failed or not ctx.checks.schedules_known):
        return None  # the reason was reported already
    if missing:
        ctx.checks.error(f"class {missing[0]} has no schedule to pay to", prule.span,
                         "only PAC, PAC II and TAC classes (or a class with a schedule) have one")
        return None
    target = np.sum([ctx.schedules[c.index] for c in members], axis=0)
    return ToSchedule(rule, target)
