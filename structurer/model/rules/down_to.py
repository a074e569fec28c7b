"""`pay A down to min(balance of B, 5% of collateral balance)`: pay a rule's classes only down to a
target balance, an expression computed at the start of each period.

The expression language: numbers (dollars, `mm`), percentages (`5%`, `25bp`: fractions), `balance
of X` (X's balance at the start of the period), `original balance of X`, `collateral balance` (at
the start of the period), `original collateral balance`, `+ - x /`, `N% of EXPR` (a product),
`min(...)`, `max(...)` and parentheses. A division by zero gives 0 (a target over a retired class's
balance is then 0: the rule pays its classes off). A negative target pays them off too. Like `to
schedule`, the rule pays at most the amount by which its classes stand above the target, and
proves nothing about retiring them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...language.nodes import ExprBalance, ExprCollateral, ExprNum
from .base import Book, Rule, RunInputs
from .conditions import principal_class
from .program import DOWN_TO, Program

if TYPE_CHECKING:
    from ...language.nodes import Expr, PrincipalRule
    from .compile import RuleContext

# Expression ops, postfix (after the condition ops of triggers.py, in the same kernel table).
E_NUM, E_BAL, E_COLL, E_ADD, E_SUB, E_MUL, E_DIV, E_MIN, E_MAX = range(20, 29)
BINARY = {"+": E_ADD, "-": E_SUB, "x": E_MUL, "/": E_DIV, "min": E_MIN, "max": E_MAX}


def combine(op: int, left: Any, right: Any) -> Any:
    """One binary op, on floats or arrays alike (the kernel inlines the same arithmetic)."""
    if op == E_ADD:
        return left + right
    if op == E_SUB:
        return left - right
    if op == E_MUL:
        return left * right
    if op == E_DIV:
        return np.divide(left, right, out=np.zeros_like(left * right), where=right != 0)
    if op == E_MIN:
        return np.minimum(left, right)
    return np.maximum(left, right)


def kernel_combine(op: int, left: float, right: float) -> float:
    """The compiled step (engine/kernel.py): one binary op of a target, on scalars."""
    if op == E_ADD:
        return left + right
    if op == E_SUB:
        return left - right
    if op == E_MUL:
        return left * right
    if op == E_DIV:
        return left / right if right != 0 else 0.0
    if op == E_MIN:
        return min(left, right)
    return max(left, right)


def evaluate(ops: tuple[tuple[int, int, float], ...], begin: np.ndarray,
             collateral: np.ndarray) -> np.ndarray:
    """The target [scenario] from the classes' [class, scenario] and the collateral's [scenario]
    balances at the start of the period."""
    stack: list[np.ndarray] = []
    for op, a, x in ops:
        if op == E_NUM:
            stack.append(np.full(collateral.shape, x))
        elif op == E_BAL:
            stack.append(begin[a].copy())
        elif op == E_COLL:
            stack.append(collateral.copy())
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(combine(op, left, right))
    return stack.pop()


@dataclass(frozen=True, eq=False)
class DownTo(Rule):
    """Pay `child` only down to the target `ops` computes; `text` is the expression as written."""

    child: Rule
    ops: tuple[tuple[int, int, float], ...]
    text: str

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.child,)

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return DownTo(children[0], self.ops, self.text)

    def retiring(self) -> set[int]:
        return set()  # paid down to its target only

    def initial_state(self, inputs: RunInputs) -> Any:
        balance = inputs.balance if inputs.balance is not None else np.zeros((inputs.n_scen, inputs.periods))
        return [np.ascontiguousarray(balance.T), np.zeros(inputs.n_scen)]  # [period, scenario], target

    def begin_period(self, book: Book) -> None:
        st = book.state[id(self)]
        st[1] = evaluate(self.ops, book.owners_begin, st[0][book.t])

    def over(self, book: Book) -> np.ndarray:
        """How far the classes stand above the target [scenario]."""
        return np.maximum(self.child.capacity(book) - book.state[id(self)][1], 0.0)

    def capacity(self, book: Book) -> np.ndarray:
        return self.over(book)

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        return self.child.allocate(np.minimum(amount, self.over(book)), book)

    def describe(self, names: list[str]) -> str:
        return f"{self.child.describe(names)} down to {self.text}"

    def encode(self, program: Program) -> int:
        # The target is the node's first program; the kernel computes it at the start of each period.
        n = program.node(self, DOWN_TO)
        program.set_programs(n, program.program([(op, a, 0, x) for op, a, x in self.ops]))
        return n


def compile_down_to(ctx: RuleContext, prule: PrincipalRule, rule: Rule) -> Rule | None:
    """`down to EXPR`."""
    ops: list[tuple[int, int, float]] = []
    if prule.target is None or not _ops(ctx, prule.target, ops):
        return None
    return DownTo(rule, tuple(ops), _text(prule.target))


def _ops(ctx: RuleContext, expr: Expr, out: list) -> bool:
    if isinstance(expr, ExprNum):
        q = expr.quantity
        scale = {"%": 0.01, "bp": 1e-4, "mm": 1e6, None: 1.0}.get(q.unit)
        if scale is None:
            ctx.checks.error(f"'{q.text}' is not an amount or a percentage", q.span,
                             "write dollars (2,500,000 or 2.5mm) or a percentage (5%)")
            return False
        out.append((E_NUM, 0, q.value * scale))
        return True
    if isinstance(expr, ExprBalance):
        index = principal_class(ctx, expr.name, expr.span)
        if index is None:
            return False
        if expr.original:
            out.append((E_NUM, 0, float(ctx.tranche(index).balance)))
        else:
            out.append((E_BAL, index, 0.0))
        return True
    if isinstance(expr, ExprCollateral):
        if expr.original:
            out.append((E_NUM, 0, float(ctx.collateral_balance)))
        else:
            out.append((E_COLL, 0, 0.0))
        return True
    ok = _ops(ctx, expr.args[0], out)
    for arg in expr.args[1:]:
        ok = _ops(ctx, arg, out) and ok
        out.append((BINARY[expr.op], 0, 0.0))
    return ok


def _text(expr: Expr) -> str:
    if isinstance(expr, ExprNum):
        return expr.quantity.text
    if isinstance(expr, ExprBalance):
        return ("original " if expr.original else "") + f"balance of {expr.name}"
    if isinstance(expr, ExprCollateral):
        return ("original " if expr.original else "") + "collateral balance"
    if expr.op in ("min", "max"):
        return f"{expr.op}(" + ", ".join(_text(a) for a in expr.args) + ")"
    return f"({_text(expr.args[0])} {expr.op} {_text(expr.args[1])})"
