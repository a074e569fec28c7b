"""Credit enhancement beyond subordination: overcollateralization with turbo and release, and a
reserve account (the waterfall's `overcollateralization:` and `reserve account:` sections).

Overcollateralization (OC) is the collateral balance less the class balances (the classes on
the books). Each period, with the collateral's ending balance known:

- the OC target is `target` (of the original or the current balance) until the step-down month,
  or while a trigger fails; after it, the lesser of that and the step-down percentage, but not
  below the floor (the subprime "Targeted Overcollateralization Amount");
- excess interest pays principal to the classes (turbo, the "extra principal distribution
  amount") up to what OC falls short of its target, assuming all the collateral's principal is
  paid to the classes (so it first covers the period's losses);
- when OC would be above its target, the excess is released: principal that would go to the
  classes goes to the residual instead (the "overcollateralization release amount"), at most the
  period's principal;
- realized losses reduce the collateral and so OC; the classes are written down (in the loss
  order) only by what their balances exceed the collateral's.

A reserve account holds cash: its initial deposit at closing, topped up out of excess interest to
its target, drawn to pay interest shortfalls (and, when it covers losses, principal to the
classes against the period's write-downs); what is above the target, and all of it once the
classes are retired or the deal ends, goes to the residual.

Both engines read these numbers through the functions here (`oc_target`), so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules.shifting import MARGIN, collateral_trigger_fails

# Where a percentage applies: the collateral's balance at closing, or at the end of the period.
ORIGINAL, CURRENT = "original", "current"

# The per-period figures a run reports, in the order of the kernel's output rows
# (engine/kernel.py `enh_out`, engine/waterfall.py), [scenario, period] each.
ENHANCEMENT_FIELDS = ("oc_amount", "oc_target", "turbo", "oc_release", "oc_absorbed", "reserve_balance",
                      "reserve_deposit", "reserve_interest_draw", "reserve_loss_draw", "reserve_release",
                      "oc_trigger_failing")


@dataclass(frozen=True)
class Percentage:
    """A share of the collateral balance, original or current (`3.1% of original balance`)."""

    fraction: float
    basis: str  # ORIGINAL or CURRENT

    def amount(self, original: float, current: np.ndarray | float) -> np.ndarray | float:
        return self.fraction * (original if self.basis == ORIGINAL else current)

    def describe(self) -> str:
        return f"{self.fraction * 100:g}% of {self.basis} balance"


@dataclass(frozen=True)
class Overcollateralization:
    """The OC section of a deal. `stepdown` is the first period (0-based) the step-down may apply
    (0 with `step` None: never); `triggers` and the limits as shifting interest's
    (model/rules/shifting.py); `support0`: OC over the collateral at closing, which the credit
    support trigger compares with."""

    target: Percentage
    step: Percentage | None
    stepdown: int
    floor: Percentage | None
    turbo: bool
    original_balance: float
    initial_amount: float
    triggers: tuple[str, ...] = ()
    loss_limit: np.ndarray | None = None
    delinquency_limit: np.ndarray | None = None

    @property
    def support0(self) -> float:
        return self.initial_amount / self.original_balance if self.original_balance > 0 else 0.0

    def static_fails(self, balance: np.ndarray, losses: np.ndarray, delinquency: np.ndarray) -> np.ndarray:
        """[scenario, period]: the cumulative-loss or delinquency trigger fails (the collateral's
        balance at the start of each period, its realized losses, the delinquent share)."""
        return collateral_trigger_fails(self.triggers, balance, losses, delinquency, self.loss_limit,
                                        self.delinquency_limit)

    def support_fails(self, oc_begin: np.ndarray | float,
                      coll_begin: np.ndarray | float) -> np.ndarray | bool:
        """The credit-support trigger (OC over the collateral at the start of the period below its
        level at closing); False without that trigger."""
        if "support" not in self.triggers:
            return False if np.ndim(oc_begin) == 0 else np.zeros(np.shape(oc_begin), dtype=bool)
        level = np.divide(oc_begin, coll_begin, out=np.zeros_like(np.asarray(oc_begin, dtype=float)),
                          where=np.asarray(coll_begin) > 0)
        return level < self.support0 * (1.0 - MARGIN)

    def params(self) -> np.ndarray:
        """The scalars the kernel reads (engine/kernel.py): see `oc_target`'s arguments."""
        step = self.step or self.target
        floor = self.floor or Percentage(0.0, ORIGINAL)
        return np.array([self.target.fraction, float(self.target.basis == CURRENT), step.fraction,
                         float(step.basis == CURRENT), floor.fraction, float(floor.basis == CURRENT),
                         float(self.stepdown if self.step is not None else -1), float(self.turbo),
                         self.original_balance, float("support" in self.triggers), self.support0])


def oc_target(t: int, current: float, failing: bool, target: float, target_cur: float, step: float,
              step_cur: float, floor: float, floor_cur: float, stepdown: float,
              original: float) -> float:
    """The OC target of period t (0-based) on the collateral's ending balance `current`: the target
    before the step-down month or while a trigger fails, else the lesser of it and the step-down
    amount, not below the floor. Scalars only: the kernel calls it every period (a `*_cur` flag
    1.0 says the percentage is of the current balance)."""
    base = target * (current if target_cur > 0.5 else original)
    if stepdown < 0 or t < stepdown or failing:
        return base
    stepped = step * (current if step_cur > 0.5 else original)
    low = floor * (current if floor_cur > 0.5 else original)
    return max(min(base, stepped), low)


def oc_targets(oc: Overcollateralization, t: int, current: np.ndarray, failing: np.ndarray) -> np.ndarray:
    """`oc_target` over scenarios [scenario] (the interpreter's), the same arithmetic."""
    p = oc.params()
    base = p[0] * (current if p[1] > 0.5 else p[8])
    if p[6] < 0 or t < p[6]:
        return np.broadcast_to(base, current.shape).copy()
    stepped = p[2] * (current if p[3] > 0.5 else p[8])
    low = p[4] * (current if p[5] > 0.5 else p[8])
    return np.where(failing, base, np.maximum(np.minimum(base, stepped), low))


@dataclass(frozen=True)
class ReserveAccount:
    """The reserve account: its deposit at closing, its target (an amount, or a percentage), what
    it covers."""

    initial: float
    target_amount: float = 0.0
    target: Percentage | None = None
    covers_interest: bool = False
    covers_losses: bool = False

    def params(self, original: float) -> np.ndarray:
        """The scalars the kernel reads: see `reserve_target`'s arguments, then the initial deposit
        and the two cover flags."""
        pct = self.target or Percentage(0.0, ORIGINAL)
        return np.array([self.target_amount, pct.fraction, float(pct.basis == CURRENT), original,
                         self.initial, float(self.covers_interest), float(self.covers_losses)])


def reserve_targets(reserve: ReserveAccount, current: np.ndarray, original: float) -> np.ndarray:
    """`reserve_target` over scenarios [scenario] (the interpreter's), the same arithmetic."""
    p = reserve.params(original)
    if p[1] == 0.0:
        return np.full(current.shape, p[0])
    return p[1] * (current if p[2] > 0.5 else np.full(current.shape, p[3]))


def reserve_target(current: float, amount: float, fraction: float, of_current: float,
                   original: float) -> float:
    """The reserve's target in a period: a fixed amount, or a share of the original or current
    (ending) collateral balance. Scalars only (the kernel calls it every period)."""
    if fraction == 0.0:
        return amount
    return fraction * (current if of_current > 0.5 else original)
