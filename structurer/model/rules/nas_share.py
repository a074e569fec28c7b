"""`pay N its share`: a NAS class's share of principal, after its lockout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import Book, Rule
from .pay import Pay
from .program import NAS_SHARE, Program

if TYPE_CHECKING:
    from ...language.nodes import PrincipalRule
    from .compile import RuleContext


@dataclass(frozen=True, eq=False)
class NasShare(Rule):
    """Pay a NAS class its share: percent[period] x its balance / all class balances x principal."""

    index: int
    percent: np.ndarray

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (Pay(self.index),)

    def classes(self) -> list[int]:
        return [self.index]

    def retiring(self) -> set[int]:
        return set()  # paid its share only

    def reschedule(self, schedules: dict[int, np.ndarray]) -> Rule:
        return self

    def share(self, book: Book) -> np.ndarray:
        """What the class is due this period [scenario]."""
        total_begin = book.owners_begin.sum(axis=0)
        own = book.owners_begin[self.index]
        fraction = np.divide(own, total_begin, out=np.zeros_like(own), where=total_begin > 0)
        return self.percent[book.t] * fraction * book.principal_total

    def capacity(self, book: Book) -> np.ndarray:
        return np.minimum(self.share(book), book.balance[self.index])

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        paid = np.minimum(np.maximum(np.minimum(amount, self.share(book)), 0.0), book.balance[self.index])
        book.balance[self.index] -= paid
        book.paid[self.index] += paid
        return paid

    def describe(self, names: list[str]) -> str:
        return f"{names[self.index]} its share"

    def encode(self, program: Program) -> int:
        return program.node(self, NAS_SHARE, self.index, program.table_row(program.nas, self.percent))


def kernel_nas_share(percent: float, own: float, total_begin: float, principal_total: float) -> float:
    """The compiled step: what the class is due this period (as `NasShare.share`)."""
    fraction = own / total_begin if total_begin > 0 else 0.0
    return percent * fraction * principal_total


def compile_its_share(ctx: RuleContext, prule: PrincipalRule, rule: Rule) -> Rule | None:
    """`its share`: one NAS class, paid its lockout-and-shift share."""
    if not isinstance(rule, Pay):
        ctx.checks.error("'its share' pays one NAS class", prule.span, "write: pay N its share")
        return None
    tranche = ctx.tranche(rule.index)
    if not tranche.is_nas:
        ctx.checks.error(f"class {tranche.name} is not a NAS class, so it has no share", prule.span,
                         f"type it: class {tranche.name} SEQ/NAS ... lockout 60 months")
        return None
    return NasShare(tranche.index, tranche.nas_percent(ctx.periods))
