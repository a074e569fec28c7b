"""Named triggers and the conditions that read them: tested once at the start of each period, on
what is known then (losses realized before the period, the delinquent share assumed for it, the
classes' and the collateral's balances at its start).

A trigger *fails* when its test is met:
- `cumulative loss above SCHEDULE`: realized losses before the period over the collateral's
  original balance above the schedule's fraction for the month;
- `delinquency above SCHEDULE`: the scenario's 60+ day delinquent share above it;
- `credit support of A1, A2 below original`: the senior enhancement, (collateral balance - the
  classes' balance) / collateral balance, below its level at closing. A shifting-interest rule's
  own support tests measure its subordinates instead (their balance over the collateral), which is
  the same figure while the classes add up to the collateral.
A `sticky` trigger that has failed stays failed for the rest of the scenario.

A condition (`when trigger "X" fails and A retired`, `in months 1-36`) is a short postfix program
of (op, a, b) triples, evaluated here over scenarios and inline by the kernel (engine/kernel.py)
from the same triples. `A retired`: A's balance at the start of the period is at most DUST.

`kernel_trigger_fails` is the compiled step; `fails_now` the same arithmetic over arrays, for the
interpreter's period and for the results' whole run (`history`), so the three cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import RunInputs

MARGIN = 1e-9  # relative: credit support equal to its original (to rounding) is not below it
DUST = 1e-6  # dollars: a class holding no more than this at the start of a period is retired

# Trigger kinds (the kernel's codes). SUPPORT_AT_LEAST "fails" (is met) when the enhancement is at
# least the multiple: the step-down test of a shifting-interest rule.
LOSS, DELINQUENCY, SUPPORT_BELOW, SUPPORT_AT_LEAST = range(4)
KIND_WORDS = {LOSS: "cumulative loss", DELINQUENCY: "delinquency", SUPPORT_BELOW: "credit support",
              SUPPORT_AT_LEAST: "credit support at least"}

# Condition ops, postfix: each pushes or combines booleans over scenarios.
OP_TRUE, OP_FALSE, OP_TRIGGER, OP_RANGE, OP_RETIRED, OP_NOT, OP_AND, OP_OR = range(8)


@dataclass(frozen=True, eq=False)
class NamedTrigger:
    """A trigger tested each period. `limit` [period]: a fraction (loss, delinquency) or the
    multiple of the original enhancement (support: 1.0 for `below original`; +inf in periods where
    a step-down test may not pass yet). `classes`: whose balance a support test reads, `senior`
    (True: the enhancement is the collateral less their balance; False: their balance itself, over
    the collateral) and `original`: their balance at closing."""

    name: str
    kind: int
    limit: np.ndarray
    sticky: bool = False
    classes: tuple[int, ...] = ()
    senior: bool = True
    original: float = 0.0

    def describe(self) -> str:
        return f'trigger "{self.name}"'


def prior_cumulative(losses: np.ndarray) -> np.ndarray:
    """Losses realized before each period [scenario, period]: a trigger is tested on what is
    known at the start of the period."""
    out = np.zeros_like(losses)
    np.cumsum(losses[:, :-1], axis=1, out=out[:, 1:])
    return out


def support_level(held: np.ndarray | float, collateral: np.ndarray, senior: bool) -> np.ndarray:
    """The enhancement: (collateral - held) / collateral (senior) or held / collateral; 0 without
    collateral."""
    num = collateral - held if senior else held + np.zeros_like(collateral)
    return np.divide(num, collateral, out=np.zeros_like(collateral, dtype=float), where=collateral > 0)


def fails_now(trig: NamedTrigger, loss: np.ndarray, delinquency: np.ndarray, level: np.ndarray,
              original_level: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Whether the test is met, elementwise (a period's [scenario] or a run's [scenario, period])."""
    if trig.kind == LOSS:
        return loss > limit
    if trig.kind == DELINQUENCY:
        return delinquency > limit
    threshold = original_level * limit * (1.0 - MARGIN)
    with np.errstate(invalid="ignore"):  # 0 x inf: no original enhancement, never met
        return level < threshold if trig.kind == SUPPORT_BELOW else level >= threshold


def kernel_trigger_fails(kind: int, loss_before: float, collateral0: float, delinquency: float,
                         held: float, collateral: float, held0: float, senior: bool,
                         limit: float) -> bool:
    """The compiled step (engine/kernel.py): `fails_now` for one scenario and period."""
    if kind == LOSS:
        loss = loss_before / collateral0 if collateral0 > 0 else 0.0
        return loss > limit
    if kind == DELINQUENCY:
        return delinquency > limit
    if senior:
        level = (collateral - held) / collateral if collateral > 0 else 0.0
        original = (collateral0 - held0) / collateral0 if collateral0 > 0 else 0.0
    else:
        level = held / collateral if collateral > 0 else 0.0
        original = held0 / collateral0 if collateral0 > 0 else 0.0
    threshold = original * limit * (1.0 - MARGIN)
    if kind == SUPPORT_BELOW:
        return level < threshold
    return level >= threshold


class TriggerTrack:
    """The interpreter's view of some named triggers through a run: what each reads of the
    collateral, and `failed` [trigger, scenario], updated at the start of each period."""

    def __init__(self, triggers: tuple[NamedTrigger, ...], inputs: RunInputs) -> None:
        n, periods = inputs.n_scen, inputs.periods
        zeros = np.zeros((n, periods))
        balance = inputs.balance if inputs.balance is not None else zeros
        losses = inputs.losses if inputs.losses is not None else zeros
        delinquency = inputs.delinquency if inputs.delinquency is not None else zeros
        original = balance[:, :1]
        loss = np.divide(prior_cumulative(losses), original, out=np.zeros_like(losses), where=original > 0)
        self.triggers = triggers
        self.loss = np.ascontiguousarray(loss.T)  # [period, scenario]
        self.delinquency = np.ascontiguousarray(delinquency.T)
        self.collateral = np.ascontiguousarray(balance.T)
        self.collateral0 = balance[:, 0].copy()
        self.failed = np.zeros((len(triggers), n), dtype=bool)

    def update(self, t: int, begin: np.ndarray) -> None:
        """Test every trigger at the start of period t; `begin` [class, scenario]."""
        coll = self.collateral[t]
        for j, trig in enumerate(self.triggers):
            held = begin[list(trig.classes)].sum(axis=0) if trig.classes else np.zeros_like(coll)
            level = support_level(held, coll, trig.senior)
            original = support_level(trig.original, self.collateral0, trig.senior)
            now = fails_now(trig, self.loss[t], self.delinquency[t], level, original, trig.limit[t])
            self.failed[j] = (self.failed[j] | now) if trig.sticky else now

    def status(self, trig: NamedTrigger) -> np.ndarray:
        return self.failed[self.triggers.index(trig)]


def history(trig: NamedTrigger, begin: np.ndarray, collateral_begin: np.ndarray, losses: np.ndarray,
            delinquency: np.ndarray) -> np.ndarray:
    """After a run: the trigger's status [scenario, period] (True: failed), from the classes'
    beginning balances [scenario, class, period], the collateral's [scenario, period], the realized
    losses and the delinquent share [scenario, period]. The run's arithmetic (`fails_now`)."""
    original = collateral_begin[:, :1]
    loss = np.divide(prior_cumulative(losses), original, out=np.zeros_like(losses), where=original > 0)
    held = begin[:, list(trig.classes), :].sum(axis=1) if trig.classes else np.zeros_like(collateral_begin)
    level = support_level(held, collateral_begin, trig.senior)
    orig = support_level(trig.original, collateral_begin[:, :1], trig.senior)
    now = fails_now(trig, loss, delinquency, level, orig, trig.limit[None, :collateral_begin.shape[1]])
    return np.logical_or.accumulate(now, axis=1) if trig.sticky else now


# ---- conditions: postfix programs of (op, a, b); OP_TRIGGER's `a` is the NamedTrigger itself
Ops = tuple[tuple[int, Any, int], ...]


def evaluate(ops: Ops, t: int, begin: np.ndarray, track: TriggerTrack | None) -> np.ndarray:
    """Whether the condition holds at the start of period t [scenario]; `begin` [class, scenario]."""
    n = begin.shape[1]
    stack: list[np.ndarray] = []
    for op, a, b in ops:
        if op == OP_TRUE or op == OP_FALSE:
            stack.append(np.full(n, op == OP_TRUE))
        elif op == OP_TRIGGER:
            failed = track.status(a)  # type: ignore[union-attr]
            stack.append(failed.copy() if b else ~failed)
        elif op == OP_RANGE:
            stack.append(np.full(n, a <= t < b))
        elif op == OP_RETIRED:
            retired = begin[a] <= DUST
            stack.append(retired if b else ~retired)
        elif op == OP_NOT:
            stack.append(~stack.pop())
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(left & right if op == OP_AND else left | right)
    return stack.pop() if stack else np.ones(n, dtype=bool)


def triggers_of(ops: Ops) -> tuple[NamedTrigger, ...]:
    """The named triggers a condition reads, each once, in order."""
    found: list[NamedTrigger] = []
    for op, a, _ in ops:
        if op == OP_TRIGGER and all(a is not f for f in found):
            found.append(a)
    return tuple(found)
