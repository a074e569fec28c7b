"""Collateral groups: pools that pay only their own classes, through their own waterfall, and
the declared cross-collateralization between groups.

A grouped deal is still one Deal (its pools and classes in the usual tuples, `Deal.principal`
the groups' rules end to end, for the checks and the report); `Deal.groups` says which pools and
classes belong to which group, which of `Deal.principal`'s rules are each group's (a slice, so a
deal rebuilt with rescheduled rules keeps its groups), and where a group's excess goes.
Both engines pay each group from its own pools (engine/waterfall.py `_Groups`, engine/kernel.py
with engine/compiled.py `_group_arrays`); the residual class is the deal's, outside every group.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .rules import Sequential


@dataclass(frozen=True)
class CollateralGroup:
    """One group: its pools and classes (indices into the deal's), its principal rules (the
    rules `rules[0]` to `rules[1]` - 1 of `Deal.principal`), the group (index into
    `Deal.groups`) its excess principal / excess interest pays, if any, and its loss order."""

    name: str
    pools: tuple[int, ...]
    classes: tuple[int, ...]
    rules: tuple[int, int]
    principal_to: int | None = None
    interest_to: int | None = None
    # Who takes the realized losses of its pools (its waterfall's `losses: write down ...`):
    # tiers of its own class indices, as Deal.losses; () without a loss section.
    losses: tuple[tuple[int, ...], ...] = ()
    # Its loss section ends '; reimburse from excess interest': its excess interest pays back its
    # classes' write-downs before it goes on (to another group, or the residual).
    reimburse: bool = False

    def principal(self, deal_principal: Sequential) -> Sequential:
        """The group's principal rules, out of the deal's (`Deal.principal`)."""
        return Sequential(deal_principal.children[self.rules[0]:self.rules[1]])

    @property
    def label(self) -> str:
        return f"group {self.name}"


def serving_order(groups: tuple[CollateralGroup, ...] | list[CollateralGroup], kind: str) -> list[int]:
    """Group indices with every group after the groups whose excess of `kind` ("principal" or
    "interest") pays it (the check rejects cycles), otherwise in declaration order: a donor's
    excess is known before its target pays. Interest is paid before principal in a period, so
    each kind has its own order."""
    incoming: dict[int, set[int]] = {i: set() for i in range(len(groups))}
    for i, g in enumerate(groups):
        target = g.principal_to if kind == "principal" else g.interest_to
        if target is not None:
            incoming[target].add(i)
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(groups):
        ready = [i for i in range(len(groups)) if i not in done and incoming[i] <= done]
        if not ready:
            raise InputError(f"the groups' excess {kind} goes round in a cycle")
        order.append(ready[0])
        done.add(ready[0])
    return order


def find_cycle(edges: dict[int, int]) -> list[int] | None:
    """A cycle in a map group -> the group its excess pays (one kind of excess), or None."""
    for start in edges:
        seen: list[int] = []
        node: int | None = start
        while node is not None and node not in seen:
            seen.append(node)
            node = edges.get(node)
        if node is not None:
            return seen[seen.index(node):]
    return None
