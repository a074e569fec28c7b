"""The checked deal: what is owed, to whom, in what order. No syntax, no cash flows.

check.py builds these from the syntax tree; the engine and the analytics read only these.
Rates are decimals (7.5% -> 0.075), money in dollars, terms in months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .prepayment import Prepayment

if TYPE_CHECKING:
    from .results import Results


@dataclass(frozen=True)
class Pool:
    """One rep-line of agency collateral."""

    name: str
    balance: float
    wac: float
    coupon: float
    term: int
    remaining: int
    age: int


@dataclass(frozen=True)
class Tranche:
    """One class of the deal, in the vocabulary of an agency cover table."""

    name: str
    principal_type: str
    interest_type: str
    balance: float
    coupon: float
    index: int

    @property
    def is_residual(self) -> bool:
        return self.principal_type == "R"

    @property
    def cover_type(self) -> str:
        """'SEQ/FIX' style, as a prospectus cover table shows it (the residual is just 'R')."""
        if self.is_residual:
            return "R"
        return f"{self.principal_type}/{self.interest_type}"


# ---- compiled principal rules: a tree the interpreter walks every period


@dataclass(frozen=True)
class Pay:
    """Pay one class, up to its balance."""

    index: int


@dataclass(frozen=True)
class Sequential:
    """Pay each child in turn; a child gets what the earlier ones left."""

    children: tuple[Rule, ...]


@dataclass(frozen=True)
class ProRata:
    """Share among children by current balance (weights None) or by fixed weights summing to 1.

    With fixed weights, what a retired child cannot take goes to the others, in proportion
    to their weights, as a prospectus's "pro rata ... until retired" reads.
    """

    children: tuple[Rule, ...]
    weights: tuple[float, ...] | None = None


Rule = Pay | Sequential | ProRata


def rule_classes(rule: Rule) -> list[int]:
    """Indices of the classes a rule can pay, in the order they appear."""
    if isinstance(rule, Pay):
        return [rule.index]
    found: list[int] = []
    for child in rule.children:
        found.extend(rule_classes(child))
    return found


@dataclass(frozen=True)
class Deal:
    """A deal that parsed and checked: every class is paid by some rule and cash adds up."""

    name: str
    settle: dt.date
    first_payment: dt.date
    delay_days: int
    pools: tuple[Pool, ...]
    classes: tuple[Tranche, ...]
    principal: Sequential
    pricing: Prepayment | None = None
    decrement: tuple[Prepayment, ...] = ()
    scenarios: dict[str, Prepayment] = field(default_factory=dict)
    source: str = ""
    path: str | None = None

    @property
    def collateral_balance(self) -> float:
        return sum(p.balance for p in self.pools)

    @property
    def residual(self) -> Tranche | None:
        return next((c for c in self.classes if c.is_residual), None)

    def tranche(self, name: str) -> Tranche:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(name)

    def run(self, *speeds: Prepayment | str) -> Results:
        """Run the deal at the given speeds ('165 PSA', Prepayment objects); default: pricing."""
        from .engine import run_deal

        return run_deal(self, list(speeds) if speeds else None)
