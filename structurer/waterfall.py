"""The waterfall interpreter: collateral cash in, class cash out, period by period.

Steps over periods and is vectorised across scenarios: every quantity in a period is an
array [scenario]. A pure function of (deal, collateral flows), so it can be cached, tested
and distributed freely.

Each period:
1. Interest: every class is due balance x coupon / 12 (30/360) plus any interest it was
   short before. The collateral's net interest pays what is due, pro rata to the amounts due
   when it is not enough; what a class is not paid is carried as a shortfall.
2. Principal: the collateral's principal (scheduled + prepaid) goes through the compiled
   principal rules; no class is paid more than its balance.
3. What is left of either goes to the residual.
Then the books are audited: cash in must equal cash out and no balance may go negative. A
violation is a bug in the engine and raises EngineError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .collateral import CollateralFlows
from .model import Deal, Pay, ProRata, Rule, Sequential, rule_classes

CONSERVATION_RTOL = 1e-9  # relative to the period's collateral cash; the test standard is 1e-6
DUST = 1e-9  # dollars below which a balance is treated as nothing when sharing fixed weights


class EngineError(AssertionError):
    """Cash created or lost, or a negative balance: a bug in the engine, never the user's input."""


@dataclass(frozen=True)
class ClassFlows:
    """Arrays [scenario, class, period] (index 0 is period 1), plus the residual [scenario, period]."""

    beginning_balance: np.ndarray
    interest_due: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    ending_balance: np.ndarray
    shortfall: np.ndarray
    residual_interest: np.ndarray
    residual_principal: np.ndarray


class _Book:
    """The class balances of one period, with what each rule paid."""

    def __init__(self, balance: np.ndarray):
        self.balance = balance  # [scenario, class], updated as rules pay
        self.paid = np.zeros_like(balance)

    def capacity(self, rule: Rule, cache: dict[int, list[int]]) -> np.ndarray:
        key = id(rule)
        if key not in cache:
            cache[key] = rule_classes(rule)
        return self.balance[:, cache[key]].sum(axis=1)


def _allocate(rule: Rule, amount: np.ndarray, book: _Book, cache: dict[int, list[int]]) -> np.ndarray:
    """Pay up to `amount` [scenario] through `rule`; return what was used [scenario]."""
    if isinstance(rule, Pay):
        paid = np.minimum(np.maximum(amount, 0.0), book.balance[:, rule.index])
        book.balance[:, rule.index] -= paid
        book.paid[:, rule.index] += paid
        return paid
    if isinstance(rule, Sequential):
        used = np.zeros_like(amount)
        for child in rule.children:
            used += _allocate(child, amount - used, book, cache)
        return used
    assert isinstance(rule, ProRata)
    if rule.weights is None:
        caps = np.stack([book.capacity(c, cache) for c in rule.children], axis=1)
        total_cap = caps.sum(axis=1)
        pay = np.minimum(amount, total_cap)
        share = np.divide(caps, total_cap[:, None], out=np.zeros_like(caps), where=total_cap[:, None] > 0)
        used = np.zeros_like(amount)
        for j, child in enumerate(rule.children):
            used += _allocate(child, pay * share[:, j], book, cache)
        return used
    # Fixed weights: what a retired (or capped) member cannot take goes to the others.
    weights = np.asarray(rule.weights)
    remaining = np.maximum(amount, 0.0).copy()
    used = np.zeros_like(amount)
    for _ in range(len(rule.children)):
        caps = np.stack([book.capacity(c, cache) for c in rule.children], axis=1)
        live_w = np.where(caps > DUST, weights[None, :], 0.0)
        w_sum = live_w.sum(axis=1)
        if not np.any((w_sum > 0) & (remaining > DUST)):
            break
        share = np.divide(live_w, w_sum[:, None], out=np.zeros_like(live_w), where=w_sum[:, None] > 0)
        step = np.zeros_like(amount)
        for j, child in enumerate(rule.children):
            step += _allocate(child, remaining * share[:, j], book, cache)
        remaining -= step
        used += step
    return used


def run_waterfall(deal: Deal, coll: CollateralFlows) -> ClassFlows:
    """Distribute the collateral cash of every scenario to the deal's classes."""
    n_scen, periods = coll.interest.shape
    n_cls = len(deal.classes)
    coupon_m = np.array([c.coupon for c in deal.classes]) / 12.0
    balance = np.tile(np.array([c.balance for c in deal.classes], dtype=float), (n_scen, 1))
    # Period-major copies, so each period reads and writes contiguous memory.
    coll_interest = np.ascontiguousarray(coll.interest.T)
    coll_principal = np.ascontiguousarray(coll.principal.T)

    shape = (periods, n_scen, n_cls)
    names = ("begin", "due", "interest", "principal", "end", "shortfall")
    out = {k: np.empty(shape) for k in names}
    resid_int = np.empty((periods, n_scen))
    resid_prin = np.empty((periods, n_scen))
    carried = np.zeros((n_scen, n_cls))
    cache: dict[int, list[int]] = {}

    for t in range(periods):
        begin = balance.copy()
        available, principal_in = coll_interest[t], coll_principal[t]
        # 1. interest, pro rata to what is due when the collateral's interest falls short
        due = begin * coupon_m + carried
        total_due = due.sum(axis=1)
        ratio = np.divide(available, total_due, out=np.ones_like(available), where=total_due > 0)
        interest = due * np.minimum(ratio, 1.0)[:, None]
        carried = due - interest
        # 2. principal through the rules
        book = _Book(balance)
        _allocate(deal.principal, principal_in, book, cache)
        balance = book.balance
        # 3. the residual takes what is left
        resid_int[t] = available - interest.sum(axis=1)
        resid_prin[t] = principal_in - book.paid.sum(axis=1)

        out["begin"][t] = begin
        out["due"][t] = due
        out["interest"][t] = interest
        out["principal"][t] = book.paid
        out["end"][t] = balance
        out["shortfall"][t] = carried
        _audit(t, available + principal_in, begin, interest, book.paid, balance, resid_int[t], resid_prin[t])

    def scenario_major(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.transpose(1, 2, 0))

    return ClassFlows(
        beginning_balance=scenario_major(out["begin"]),
        interest_due=scenario_major(out["due"]),
        interest=scenario_major(out["interest"]),
        principal=scenario_major(out["principal"]),
        ending_balance=scenario_major(out["end"]),
        shortfall=scenario_major(out["shortfall"]),
        residual_interest=np.ascontiguousarray(resid_int.T),
        residual_principal=np.ascontiguousarray(resid_prin.T),
    )


def _audit(
    t: int,
    cash_in: np.ndarray,
    begin: np.ndarray,
    interest: np.ndarray,
    principal: np.ndarray,
    end: np.ndarray,
    resid_int: np.ndarray,
    resid_prin: np.ndarray,
) -> None:
    """Cash in = cash out, from balances as well as payments; nothing negative. Raise if not."""
    tol = CONSERVATION_RTOL * np.maximum(cash_in, 1.0)
    retired = (begin - end).sum(axis=1)  # class principal as the balances see it
    cash_out = interest.sum(axis=1) + retired + resid_int + resid_prin
    problems = []
    if np.any(np.abs(cash_in - cash_out) > tol):
        s = int(np.argmax(np.abs(cash_in - cash_out) - tol))
        problems.append(f"cash in {cash_in[s]:,.6f} != cash out {cash_out[s]:,.6f}")
    if np.any(np.abs(retired - principal.sum(axis=1)) > tol):
        problems.append("class principal paid differs from the fall in class balances")
    if np.any(end < -tol[:, None]):
        problems.append("a class balance went negative")
    if np.any(resid_int < -tol) or np.any(resid_prin < -tol):
        problems.append("classes were paid more than the collateral provided")
    if np.any(principal < -tol[:, None]) or np.any(interest < -tol[:, None]):
        problems.append("a class was paid a negative amount")
    if problems:
        raise EngineError(f"period {t + 1}: " + "; ".join(problems))
