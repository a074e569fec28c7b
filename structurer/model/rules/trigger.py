"""`pay Z until retired when prepayments above 300 PSA [sticky]`: a rule that pays only in
periods when the collateral prepays faster than a speed (a jump Z, a jump support).

The collateral "prepays above 300 PSA" in a period when its prepayment exceeds what every pool
would prepay that period at 300 PSA on its own amortized balance and loan age (SIFMA
formulas). Equality is not "above": a run at exactly the trigger speed does not trip it (a
relative margin of 1e-9 absorbs rounding). Without `sticky` the rule is tested afresh every
period; with `sticky` it stays tripped from the first period it trips, for the rest of the
scenario. The state is one boolean per scenario, kept across periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..prepayment import Prepayment
from .base import Book, Rule, RunInputs
from .program import TRIGGER, NotCompiled, Program

if TYPE_CHECKING:
    from ...language.nodes import Condition
    from .compile import RuleContext

MARGIN = 1e-9  # relative: a run at exactly the trigger speed is not above it


@dataclass(frozen=True)
class PrepaymentTrigger(Rule):
    """Pay `child` only while the collateral prepays above `speed`."""

    child: Rule
    speed: Prepayment
    sticky: bool = False

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.child,)

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return PrepaymentTrigger(children[0], self.speed, self.sticky)

    def retiring(self) -> set[int]:
        # It may never trip, so it proves nothing about retiring its classes.
        return set()

    def initial_state(self, inputs: RunInputs) -> np.ndarray:
        threshold = inputs.smm_of(self.speed)  # [pool, period]
        # What the collateral would prepay at the trigger speed [scenario, period].
        at_speed = np.einsum("spt,pt->st", inputs.pool_amortized, threshold)
        above = inputs.prepayment > at_speed * (1.0 + MARGIN) + MARGIN
        if self.sticky:
            above = np.logical_or.accumulate(above, axis=1)
        # Period-major, so a period's flags are one contiguous row.
        return np.ascontiguousarray(above.T)

    def tripped(self, book: Book) -> np.ndarray:
        """Whether the trigger is on this period [scenario]."""
        return book.state[id(self)][book.t]

    def capacity(self, book: Book) -> np.ndarray:
        return np.where(self.tripped(book), self.child.capacity(book), 0.0)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        return self.child.allocate(np.where(self.tripped(book), amount, 0.0), book)

    def describe(self, names: list[str]) -> str:
        sticky = " sticky" if self.sticky else ""
        return f"{self.child.describe(names)} when prepayments above {self.speed.description}{sticky}"

    def encode(self, program: Program) -> int:
        # a: its row of trigger SMMs [pool, period]; b = 1: sticky. The kernel keeps its state
        # (one flag per scenario) as it runs the collateral.
        if program.smm_of is None:
            raise NotCompiled("a trigger needs the pools' SMM at its speed")
        row = program.table_row(program.thresholds, program.smm_of(self.speed))
        return program.node(self, TRIGGER, row, int(self.sticky))


def kernel_above(prepayment: float, at_speed: float) -> bool:
    """The compiled step: whether the collateral prepaid above the trigger speed this period."""
    return prepayment > at_speed * (1.0 + MARGIN) + MARGIN


def compile_prepayment_trigger(ctx: RuleContext, condition: Condition, rule: Rule) -> Rule | None:
    """`when prepayments above SPEED [sticky]`."""
    got = ctx.checks.speed(condition.speed)
    if got is None:
        return None
    value, unit = got
    return PrepaymentTrigger(rule, Prepayment.constant(value, unit), condition.sticky)
