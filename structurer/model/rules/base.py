"""What every waterfall rule is: a node of the compiled principal tree that the interpreter
asks, each period, how much it can take and to allocate an amount among its classes.

A rule kind lives in one module of this package (its compiled form, its allocation, its
state if it keeps any, and its compilation from the deal file); see docs/architecture.md,
"Adding a waterfall rule".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..prepayment import Prepayment


@dataclass
class Book:
    """The class balances during one period, as the rules pay them.

    Arrays are class-major, [class, scenario], so paying one class works on a contiguous row.
    `state` holds each stateful rule's arrays over scenarios, kept across periods.
    """

    t: int
    balance: np.ndarray  # [class, scenario], updated as rules pay
    paid: np.ndarray  # [class, scenario], principal paid this period
    principal_total: np.ndarray  # [scenario], the principal the rules distribute this period
    owners_begin: np.ndarray  # [class, scenario], balances at the start of the period
    state: dict[int, Any] = field(default_factory=dict)  # id(rule) -> its state (arrays)


@dataclass(frozen=True)
class RunInputs:
    """What a stateful rule may read before the run starts: the collateral's flows and a way to
    turn a speed into SMM on the pools' own loan ages (supplied by the engine)."""

    n_scen: int
    periods: int
    pool_amortized: np.ndarray  # [scenario, pool, period]: balance less scheduled principal
    prepayment: np.ndarray  # [scenario, period]: the collateral's prepayments
    smm_of: Callable[[Prepayment], np.ndarray]  # a speed -> SMM [pool, period]
    # The collateral's beginning balance and, in a credit run, its recoveries, realized losses
    # and the 60+ day delinquent share assumed [scenario, period] (None: not known / none).
    balance: np.ndarray | None = None
    recoveries: np.ndarray | None = None
    losses: np.ndarray | None = None
    delinquency: np.ndarray | None = None


class Rule:
    """A node of the compiled principal tree. Subclasses are frozen dataclasses.

    The interpreter keys state on the node's identity (`id(rule)`), so two equal rules at
    different places in the tree keep their own state.
    """

    children: tuple[Rule, ...] = ()

    # ---- structure
    def walk(self):
        """This node and every node below it."""
        yield self
        for child in self.children:
            yield from child.walk()

    def classes(self) -> list[int]:
        """Indices of the classes this rule can pay, in the order they appear."""
        found: list[int] = []
        for child in self.children:
            found.extend(child.classes())
        return found

    @cached_property
    def members(self) -> np.ndarray:
        """`classes()` as an index array, computed once."""
        return np.array(self.classes(), dtype=int)

    def retiring(self) -> set[int]:
        """Classes this rule can pay until retired (not only down to a schedule or a share)."""
        return set().union(*(child.retiring() for child in self.children))

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        """The same rule over other children (used when a solver re-sizes classes)."""
        raise NotImplementedError(type(self).__name__)

    def reschedule(self, schedules: dict[int, np.ndarray]) -> Rule:
        """The same tree with every schedule recomputed from `schedules` [class -> period]."""
        if not self.children:
            return self
        return self.with_children(tuple(c.reschedule(schedules) for c in self.children))

    # ---- state (most rules keep none)
    def initial_state(self, inputs: RunInputs) -> Any:
        """Arrays over scenarios this rule keeps across periods (or an object holding them), or
        None."""
        return None

    def begin_period(self, book: Book) -> None:
        """Update this rule's state at the start of period `book.t` (before anything is paid)."""

    # ---- allocation
    def capacity(self, book: Book) -> np.ndarray:
        """The most this rule could take now [scenario]."""
        return book.balance[self.members].sum(axis=0)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        """Pay up to `amount` [scenario] through this rule; return what was used [scenario]."""
        raise NotImplementedError(type(self).__name__)

    def describe(self, names: list[str]) -> str:
        """The rule as the deal file reads, for messages and the report."""
        raise NotImplementedError(type(self).__name__)


def initial_states(roots: list[Rule], inputs: RunInputs) -> dict[int, Any]:
    """The starting state of every stateful node under `roots`."""
    state: dict[int, Any] = {}
    for root in roots:
        for node in root.walk():
            got = node.initial_state(inputs)
            if got is not None:
                state[id(node)] = got
    return state
