"""Helpers for the structured-class tests (PAC, Z, IO/PO, floaters, NAS).

Everything here is independent of the engine's arithmetic: the collateral is projected by a
plain month-by-month level-pay loop written from DESIGN.md section 3, so the tests can compare
the engine against figures derived from first principles rather than against its own output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import structurer
from structurer.errors import DealError, DealErrors
from structurer.model import Deal
from structurer.model.prepayment import Prepayment
from structurer.model.scenarios import RatePath, Scenario

HEADER = """deal "T-S" {
  settle 2027-01-30
  first payment 2027-02-25
  delay 24 days
}"""

# Fabozzi's FJF collateral: $400mm of 7.5% pass-throughs, WAC 8.125%, 357 months remaining.
FJF_POOL = 'pool "FN 7.5" { balance 400,000,000  wac 8.125%  coupon 7.5%  term 360  age 3 }'


def deal_text(classes: str, waterfall: str, *, pools: str = FJF_POOL,
              scenarios: str | None = "pricing 165 PSA") -> str:
    """A whole deal file: the header above, the pools, the class lines, the waterfall body."""
    parts = [HEADER, "collateral {\n  " + pools + "\n}", classes.strip(),
             "waterfall {\n  interest: pay each class its coupon\n" + waterfall.rstrip() + "\n}"]
    if scenarios is not None:
        parts.append("scenarios {\n  " + scenarios + "\n}")
    return "\n\n".join(parts) + "\n"


def load(text: str, path: str | None = "test.waterfall") -> Deal:
    return structurer.loads(text, path)


def deal_errors(text: str, path: str | None = "test.waterfall") -> list[DealError]:
    """Every problem the parser and the checks find in `text` (fails if there is none)."""
    with pytest.raises((DealError, DealErrors)) as info:
        structurer.loads(text, path)
    exc = info.value
    return list(exc.errors) if isinstance(exc, DealErrors) else [exc]


def error_matching(errors: list[DealError], *words: str) -> DealError:
    """The first error whose message contains every one of `words`."""
    for err in errors:
        if all(w in err.message for w in words):
            return err
    raise AssertionError(f"no error mentions {words}; got: " + "; ".join(e.message for e in errors))


def spanned(text: str, err: DealError) -> str:
    """The text under an error's span (one line)."""
    assert err.span is not None, f"error without a place: {err.message}"
    assert err.span.line == err.span.end_line
    line = text.splitlines()[err.span.line - 1]
    return line[err.span.column - 1: err.span.end_column - 1]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


def assert_points_at(text: str, err: DealError, needle: str, *, on: str | None = None,
                     path: str = "test.waterfall") -> None:
    """The error's span covers exactly `needle` on the first line containing `on` (default
    `needle`), and the rendered error shows file:line:col, the line, and carets under it."""
    line_no = line_of(text, on or needle)
    line = text.splitlines()[line_no - 1]
    column = line.index(needle) + 1
    assert err.span is not None
    assert (err.span.line, err.span.column) == (line_no, column), (err.span, needle)
    assert spanned(text, err) == needle
    rendered = err.render()
    assert f"--> {path}:{line_no}:{column}" in rendered
    assert f"{line_no} | {line}" in rendered
    caret_line = next(x for x in rendered.splitlines() if "^" in x)
    gutter = caret_line.index("|") + 2
    assert caret_line[gutter + column - 1: gutter + column - 1 + len(needle)] == "^" * len(needle)


# ---------------------------------------------------------------------------- collateral by hand


def psa_smm(psa: float, loan_age: int) -> float:
    """SMM of the PSA curve at loan-age month `loan_age` (DESIGN.md section 3)."""
    cpr = min(psa / 100.0 * 0.002 * max(1, min(loan_age, 30)), 1.0)
    return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)


@dataclass
class Pass:
    """One pool's cash flows by hand, index 0 = period 1."""

    begin: np.ndarray
    interest: np.ndarray
    scheduled: np.ndarray
    prepay: np.ndarray

    @property
    def principal(self) -> np.ndarray:
        return self.scheduled + self.prepay

    @property
    def end(self) -> np.ndarray:
        return self.begin - self.principal


def pass_through(balance: float, wac: float, coupon: float, remaining: int, age: int,
                 psa: float) -> Pass:
    """Level-pay amortisation re-computed each month on the remaining term at the gross WAC;
    prepayment = SMM x (balance - scheduled principal); interest = balance x net coupon / 12."""
    r = wac / 12.0
    begin, interest, scheduled, prepay = (np.zeros(remaining) for _ in range(4))
    bal = balance
    for k in range(remaining):
        n = remaining - k
        payment = bal * r / (1.0 - (1.0 + r) ** -n) if r > 0 else bal / n
        sched = min(payment - bal * r, bal)
        pre = psa_smm(psa, age + k + 1) * (bal - sched)
        begin[k], interest[k], scheduled[k], prepay[k] = bal, bal * coupon / 12.0, sched, pre
        bal = bal - sched - pre
    return Pass(begin, interest, scheduled, prepay)


def fjf(psa: float) -> Pass:
    return pass_through(400e6, 0.08125, 0.075, 357, 3, psa)


def pac_schedule(principal_low: np.ndarray, principal_high: np.ndarray, balance: float) -> np.ndarray:
    """SIFMA: the lower of the two band runs' principal each period, cumulated, truncated at the
    PAC balance; the scheduled balance after each period."""
    return np.maximum(balance - np.cumsum(np.minimum(principal_low, principal_high)), 0.0)


def wal(principal: np.ndarray) -> float:
    """sum(k x P_k) / (12 x sum P_k), positive payments only."""
    paid = np.maximum(principal, 0.0)
    k = np.arange(1, len(paid) + 1)
    return float((k * paid).sum() / (12.0 * paid.sum()))


# ---------------------------------------------------------------------------- scenarios


def psa(value: float) -> Prepayment:
    return Prepayment.constant(value, "PSA")


def at_sofr(speed: float, *levels: float) -> list[Scenario]:
    """One scenario per SOFR level (decimal), all at `speed` PSA."""
    return [Scenario(psa(speed), indices=(("SOFR", RatePath.level(x)),)) for x in levels]
