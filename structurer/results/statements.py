"""Distribution statements: what a trustee's monthly statement to certificateholders shows, per
class and period of one scenario, read off a run's arrays (nothing is recomputed).

Conventions (stated here once; the exports and the guide repeat them):

- Record date: the last business day of the month before the payment date, business days being
  Monday to Friday (no holiday calendar is applied). This is the agency convention for monthly
  pay CMOs (Fannie Mae and Freddie Mac REMICs); a deal with another convention is not modelled.
- Write-down: the principal a class loses to credit. The engine models no credit losses yet, so
  the column is read from the run's arrays when they hold a ``writedown`` array and is zero
  otherwise (``WRITEDOWN_SOURCE`` says which, per statement).
- Factor: ending balance / original balance, rounded to 8 decimals (the agency factor files'
  precision). A notional class's factor is that of its notional balance. The residual has no
  balance, so no factor and no per-1,000 figures.
- Per 1,000: the dollar amount for each 1,000 of original face (amount * 1000 / original).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from .results import Results

FACTOR_DECIMALS = 8
RECORD_DATE_RULE = ("the last business day (Monday to Friday, no holiday calendar) of the month "
                    "before the payment date")
# The amount columns of a statement line, in the order the exports show them.
AMOUNTS = ("beginning_balance", "interest", "principal", "accrued", "writedown", "ending_balance")


def record_date(payment: dt.date) -> dt.date:
    """The record date of a distribution paid on `payment` (see the module's conventions)."""
    day = payment.replace(day=1) - dt.timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day -= dt.timedelta(days=1)
    return day


@dataclass(frozen=True)
class StatementLine:
    """One class, one period: dollars as the run computed them (full precision), the factor to
    8 decimals, and the amounts per 1,000 of original face (None for the residual)."""

    class_name: str
    period: int
    record_date: dt.date
    payment_date: dt.date
    original_balance: float
    beginning_balance: float
    interest: float
    principal: float
    accrued: float  # interest added to the balance (a Z class's accretion), not paid
    writedown: float
    ending_balance: float
    distribution: float  # interest + principal paid in cash
    factor: float | None
    per_1000: dict[str, float] | None

    def row(self) -> dict[str, Any]:
        """A flat record (dates as ISO text, per-1,000 figures as *_per_1000 columns)."""
        out = asdict(self)
        out["class"] = out.pop("class_name")
        out["record_date"] = self.record_date.isoformat()
        out["payment_date"] = self.payment_date.isoformat()
        per = out.pop("per_1000")
        for key in (*AMOUNTS, "distribution"):
            out[f"{key}_per_1000"] = None if per is None else per[key]
        return {"class": out.pop("class"), **out}


@dataclass(frozen=True)
class Statement:
    """A run's statements for one scenario: the lines, class by class, period by period."""

    deal: str
    scenario: str
    lines: list[StatementLine]
    writedown_source: str  # where the write-down column came from (see the module's conventions)
    record_date_rule: str = RECORD_DATE_RULE

    def rows(self) -> list[dict[str, Any]]:
        return [line.row() for line in self.lines]

    def for_class(self, name: str) -> list[StatementLine]:
        return [line for line in self.lines if line.class_name == name]


def statement_scenario(results: Results, scenario: int | str | None) -> int:
    """The pricing scenario when the run has it (the default), else the run's first."""
    if scenario is not None:
        return results.scenario_index(scenario)
    pricing = results.deal.pricing
    if pricing is not None and pricing.label in results.scenarios:
        return results.scenario_index(pricing.label)
    return 0


def statement(results: Results, scenario: int | str | None = None, period: int | None = None,
              classes: list[str] | None = None) -> Statement:
    """The distribution statements of `classes` (default: every issued class) for one scenario
    (default: the pricing scenario), every period or only `period` (1-based)."""
    s = statement_scenario(results, scenario)
    deal = results.deal
    if period is not None and not 1 <= period <= results.periods:
        raise InputError(f"no period {period}: the run has periods 1 to {results.periods}")
    names = [t.name for t in deal.issued_classes] if classes is None else classes
    periods = range(1, results.periods + 1) if period is None else range(period, period + 1)
    dates = results.dates
    lines: list[StatementLine] = []
    sources: set[str] = set()
    for name in names:
        tranche = deal.tranche(name)
        a = results.arrays(name)
        original = 0.0 if tranche.is_residual else results.original_balance(name)
        if "writedown" in a:
            writedown = np.asarray(a["writedown"])[s]
            sources.add("the run's writedown array")
        else:
            writedown = np.zeros(results.periods)
            sources.add("zero: the run models no credit losses")
        begin, interest, principal = a["beginning_balance"][s], a["interest"][s], a["principal"][s]
        accrued, end = a["accrued"][s], a["ending_balance"][s]
        for p in periods:
            i = p - 1
            figures = {"beginning_balance": float(begin[i]), "interest": float(interest[i]),
                       "principal": float(principal[i]), "accrued": float(accrued[i]),
                       "writedown": float(writedown[i]), "ending_balance": float(end[i])}
            figures["distribution"] = figures["interest"] + figures["principal"]
            has_face = original > 0
            lines.append(StatementLine(
                class_name=name, period=p, record_date=record_date(dates[i]), payment_date=dates[i],
                original_balance=original, **figures,
                factor=round(figures["ending_balance"] / original, FACTOR_DECIMALS) if has_face else None,
                per_1000={k: v * 1000.0 / original for k, v in figures.items()} if has_face else None))
    return Statement(deal=deal.name, scenario=results.scenarios[s], lines=lines,
                     writedown_source="; ".join(sorted(sources)) or "no classes")


def factors(results: Results, scenario: int | str | None = None) -> list[dict[str, Any]]:
    """The agency-style factor file: one row per class with a balance and period (class, period,
    record date, payment date, factor to 8 decimals), the residual left out (it has no face)."""
    rows = []
    for line in statement(results, scenario).lines:
        if line.factor is not None:
            rows.append({"class": line.class_name, "period": line.period,
                         "record_date": line.record_date.isoformat(),
                         "payment_date": line.payment_date.isoformat(),
                         "factor": f"{line.factor:.{FACTOR_DECIMALS}f}"})
    return rows
