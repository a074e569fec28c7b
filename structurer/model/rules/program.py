"""The principal rules as a flat program the compiled kernel (engine/kernel.py) runs.

Each rule node becomes one row of int arrays (its kind code, two operands, where its children
and member classes start); tables of floats hold what the rows point at (schedules, NAS shares,
pro rata weights, trigger thresholds). Each rule kind writes its own row in its module's
`encode`, so adding a rule kind stays one module; a rule without `encode` makes the deal run on
the numpy interpreter instead (`Program.build` raises NotCompiled).

Kind codes are fixed here, one per rule kind, because the kernel dispatches on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..prepayment import Prepayment
from .base import Rule

# One code per rule kind (the kernel's dispatch reads these).
PAY, SEQUENTIAL, PRO_RATA, TO_SCHEDULE, NAS_SHARE, TRIGGER = range(6)
SHIFTING = 6  # shifting interest (model/rules/shifting.py)
WHEN = 7  # a rule under a condition (model/rules/conditions.py)
DOWN_TO = 8  # a rule paying down to a target balance (model/rules/down_to.py)


class NotCompiled(Exception):
    """A rule kind with no compiled form: the deal runs on the numpy interpreter."""


@dataclass
class Program:
    """The rule trees of one deal, flattened. Node rows are indexed by node id.

    kind[n], a[n], b[n]: the kind code and two operands (their meaning is the kind's own).
    first_child[n], n_children[n] index `children`; first_member[n], n_members[n] index
    `members` (the classes whose balances make the node's capacity).
    """

    periods: int
    n_pools: int
    kind: list[int] = field(default_factory=list)
    a: list[int] = field(default_factory=list)
    b: list[int] = field(default_factory=list)
    first_child: list[int] = field(default_factory=list)
    n_children: list[int] = field(default_factory=list)
    first_member: list[int] = field(default_factory=list)
    n_members: list[int] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    schedules: list[np.ndarray] = field(default_factory=list)  # rows [period]
    nas: list[np.ndarray] = field(default_factory=list)  # rows [period]
    thresholds: list[np.ndarray] = field(default_factory=list)  # trigger SMM rows [pool, period]
    shift: list[np.ndarray] = field(default_factory=list)  # shifting-interest rows [period]
    smm_of: Callable[[Prepayment], np.ndarray] | None = None  # a speed -> SMM [pool, period]
    # Named triggers (model/rules/triggers.py), tested by the kernel at the start of each period:
    # per trigger (kind, sticky, its limit row of `shift`, first member, member count, senior); the
    # row after its limit holds the classes' original balance.
    named: list = field(default_factory=list)
    trig: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    # Postfix programs of (op, a, b) (conditions, target expressions; `cond_num`: an op's number)
    # and each node's two programs: (start, length, start, length).
    cond_ops: list[tuple[int, int, int]] = field(default_factory=list)
    cond_num: list[float] = field(default_factory=list)
    node_cond: list[tuple[int, int, int, int]] = field(default_factory=list)

    def node(self, rule: Rule, kind: int, a: int = 0, b: int = 0) -> int:
        """Add a node for `rule` and its children (encoded first); return its id."""
        kids = [encode(child, self) for child in rule.children]
        n = len(self.kind)
        self.kind.append(kind)
        self.a.append(a)
        self.b.append(b)
        self.first_child.append(len(self.children))
        self.n_children.append(len(kids))
        self.children.extend(kids)
        self.first_member.append(len(self.members))
        members = rule.classes()
        self.n_members.append(len(members))
        self.members.extend(members)
        self.node_cond.append((0, 0, 0, 0))
        return n

    def trigger_id(self, trig) -> int:
        """The kernel's index of a named trigger (model/rules/triggers.py), added once."""
        for g, known in enumerate(self.named):
            if known is trig:
                return g
        row = self.table_row(self.shift, trig.limit)
        self.table_row(self.shift, np.full(self.periods, trig.original))
        self.trig.append((trig.kind, int(trig.sticky), row, len(self.members), len(trig.classes),
                          int(trig.senior)))
        self.members.extend(trig.classes)
        self.named.append(trig)
        return len(self.named) - 1

    def program(self, ops: list[tuple[int, int, int, float]]) -> tuple[int, int]:
        """Add a postfix program of (op, a, b, number); return (start, length)."""
        start = len(self.cond_ops)
        for op, a, b, x in ops:
            self.cond_ops.append((op, a, b))
            self.cond_num.append(x)
        return start, len(ops)

    def set_programs(self, n: int, first: tuple[int, int], second: tuple[int, int] = (0, 0)) -> None:
        self.node_cond[n] = (*first, *second)

    def table_row(self, table: list[np.ndarray], row: np.ndarray) -> int:
        table.append(np.asarray(row, dtype=float))
        return len(table) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The program as contiguous arrays for the kernel."""
        ints = {k: np.asarray(getattr(self, k), dtype=np.int64)
                for k in ("kind", "a", "b", "first_child", "n_children", "first_member", "n_members",
                          "children", "members")}
        t, p = self.periods, self.n_pools
        return {
            **ints,
            "weights": np.asarray(self.weights, dtype=float),
            "schedules": np.array(self.schedules).reshape(len(self.schedules), t),
            "nas": np.array(self.nas).reshape(len(self.nas), t),
            "thresholds": np.array(self.thresholds).reshape(len(self.thresholds), p, t),
            "shift": np.array(self.shift).reshape(len(self.shift), t),
            "trig": np.asarray(self.trig, dtype=np.int64).reshape(len(self.trig), 6),
            "cond_ops": np.asarray(self.cond_ops, dtype=np.int64).reshape(len(self.cond_ops), 3),
            "cond_num": np.asarray(self.cond_num, dtype=float),
            "node_cond": np.asarray(self.node_cond, dtype=np.int64).reshape(len(self.node_cond), 4),
        }


def encode(rule: Rule, program: Program) -> int:
    """The node id of `rule` in `program`, encoded by its kind's own `encode`."""
    enc = getattr(rule, "encode", None)
    if enc is None:
        raise NotCompiled(type(rule).__name__)
    return enc(program)
