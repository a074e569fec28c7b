"""`pay A`: one class, up to its balance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Book, Rule
from .program import PAY, Program


@dataclass(frozen=True)
class Pay(Rule):
    """Pay one class, up to its balance."""

    index: int

    def classes(self) -> list[int]:
        return [self.index]

    def retiring(self) -> set[int]:
        return {self.index}

    def capacity(self, book: Book) -> np.ndarray:
        return book.balance[self.index]

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        paid = np.minimum(np.maximum(amount, 0.0), book.balance[self.index])
        book.balance[self.index] -= paid
        book.paid[self.index] += paid
        return paid

    def describe(self, names: list[str]) -> str:
        return names[self.index]

    def encode(self, program: Program) -> int:
        return program.node(self, PAY, self.index)


def kernel_pay(amount: float, balance: float) -> float:
    """The compiled step (engine/kernel.py): what one class takes of `amount`."""
    return min(max(amount, 0.0), balance)
