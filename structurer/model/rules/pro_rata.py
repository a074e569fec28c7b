"""`pay A, B pro rata` (by current balance) and `pay A 60%, B 40% pro rata` (fixed shares)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import Book, Rule
from .program import PRO_RATA, Program

ROUNDING = 1e-12  # relative: a remainder this small is rounding, far inside the audit's 1e-9

if TYPE_CHECKING:
    from ...language.nodes import ProAlloc, Quantity
    from .compile import RuleContext


@dataclass(frozen=True)
class ProRata(Rule):
    """Share among children by what each can take (weights None), or by fixed weights summing to 1.

    With fixed weights, what a retired (or capped) child cannot take goes to the others in
    proportion to their weights, as a prospectus's "pro rata ... until retired" reads.
    """

    children: tuple[Rule, ...]
    weights: tuple[float, ...] | None = None

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return ProRata(children, self.weights)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        if self.weights is None:
            return self._by_balance(amount, book)
        return self._fixed(amount, book)

    def _by_balance(self, amount: np.ndarray, book: Book) -> np.ndarray:
        caps = np.stack([c.capacity(book) for c in self.children])
        total = caps.sum(axis=0)
        # The share of every child's capacity paid now. It is exactly 1 when there is enough
        # for everyone, so each child is offered exactly what it can take and retires to zero,
        # not to a rounding remainder that would stay live.
        factor = np.divide(amount, total, out=np.zeros_like(total), where=total > 0)
        np.minimum(factor, 1.0, out=factor)
        offer = caps * factor
        used = np.zeros_like(amount)
        for j, child in enumerate(self.children):
            used += child.allocate(offer[j], book)
        return used

    def _fixed(self, amount: np.ndarray, book: Book) -> np.ndarray:
        # Water-filling: each pass offers what is left by weight among the children that can
        # still take principal. A child offered at least its capacity retires exactly, so each
        # pass either places everything or retires a child: len + 1 passes suffice; the extra
        # ones absorb rounding remainders a nested group may leave.
        weights = np.asarray(self.weights)[:, None]
        remaining = np.maximum(amount, 0.0)
        # What is left below this is float rounding, not principal to place.
        negligible = ROUNDING * max(float(remaining.max(initial=0.0)), 1.0)
        used = np.zeros_like(amount)
        for _ in range(2 * len(self.children) + 2):
            caps = np.stack([c.capacity(book) for c in self.children])
            live_w = np.where(caps > 0.0, weights, 0.0)
            w_sum = live_w.sum(axis=0)
            if not np.any((w_sum > 0) & (remaining > negligible)):
                break
            share = np.divide(live_w, w_sum, out=np.zeros_like(live_w), where=w_sum > 0)
            step = np.zeros_like(amount)
            for j, child in enumerate(self.children):
                step += child.allocate(remaining * share[j], book)
            remaining -= step
            used += step
        return used

    def describe(self, names: list[str]) -> str:
        if self.weights is None:
            return ", ".join(c.describe(names) for c in self.children) + " pro rata"
        pairs = zip(self.children, self.weights, strict=True)
        parts = [f"{c.describe(names)} {w * 100:g}%" for c, w in pairs]
        return ", ".join(parts) + " pro rata"

    def encode(self, program: Program) -> int:
        # a: where the weights start in program.weights; b = 1: fixed weights.
        if self.weights is None:
            return program.node(self, PRO_RATA)
        start = len(program.weights)
        program.weights.extend(self.weights)
        return program.node(self, PRO_RATA, start, 1)


def compile_pro_rata(ctx: RuleContext, pa: ProAlloc, members: list[Rule],
                     shares: list[Quantity | None]) -> Rule | None:
    """Members sharing principal pro rata: by balance, or by a fixed share each."""
    given = [s for s in shares if s is not None]
    if not given:
        return ProRata(tuple(members))
    if len(given) != len(shares):
        missing = next(m for m, s in zip(pa.members, shares, strict=True) if s is None)
        ctx.checks.error("either every class in a pro rata group has a share or none has", missing.span,
                         "give this one a share too, like 40%")
        return None
    weights = []
    for s in given:
        w = ctx.checks.rate(s, "a pro rata share")
        if w is None:
            return None
        if w <= 0:
            ctx.checks.error("a pro rata share must be more than 0%", s.span,
                             "a class with no share would never be paid")
            return None
        weights.append(w)
    total = sum(weights)
    if abs(total - 1.0) > 1e-9:
        ctx.checks.error(f"pro rata shares add up to {total * 100:g}%, not 100%", pa.span)
        return None
    return ProRata(tuple(members), tuple(weights))
