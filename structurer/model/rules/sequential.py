"""`pay A then B`, `pay A, B sequentially`: each child gets what the earlier ones left."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .base import Book, Rule
from .pay import Pay
from .program import SEQUENTIAL, Program


@dataclass(frozen=True)
class Sequential(Rule):
    """Pay each child in turn; a child gets what the earlier ones left."""

    children: tuple[Rule, ...]

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return Sequential(children)

    @cached_property
    def flat(self) -> np.ndarray | slice | None:
        """The class indices when every child is one distinct class (paid in one step), else None."""
        if not self.children or not all(isinstance(c, Pay) for c in self.children):
            return None
        idx = [c.index for c in self.children]  # type: ignore[attr-defined]
        if len(set(idx)) != len(idx):
            return None
        if idx == list(range(idx[0], idx[0] + len(idx))):
            return slice(idx[0], idx[0] + len(idx))  # a view: no copy each period
        return np.array(idx, dtype=int)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        idx = self.flat
        if idx is not None:
            # Each class takes what the earlier ones leave, all at once.
            bal = book.balance[idx]
            room = amount - np.cumsum(bal, axis=0)
            room += bal
            paid = np.clip(room, 0.0, bal, out=room)
            book.balance[idx] -= paid
            book.paid[idx] += paid
            return paid.sum(axis=0)
        used = np.zeros_like(amount)
        for child in self.children:
            used += child.allocate(amount - used, book)
        return used

    def describe(self, names: list[str]) -> str:
        return " then ".join(c.describe(names) for c in self.children)

    def encode(self, program: Program) -> int:
        # b = 1: every child is one distinct class, paid as the numpy `flat` path pays them
        # (running sums), so both engines round alike.
        return program.node(self, SEQUENTIAL, 0, int(self.flat is not None))


def kernel_flat_sequential(amount: float, cum: float, balance: float) -> float:
    """The compiled step of the flat path: what a class takes when the classes before it hold
    `cum` (their balances and its own, summed in order)."""
    room = amount - cum
    room += balance
    return min(max(room, 0.0), balance)
