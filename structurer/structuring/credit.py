"""Credit solvers: the break default rate of a class.

The break rate is the lowest default rate (in SDA or CDR, at a prepayment speed, a loss severity,
a recovery lag and servicer advancing) at which a class takes its first dollar of loss, or (with
`criterion="yield"`) at which its yield at a price (par unless given) falls to zero.

Scenarios are the axis: each round runs a grid of GRID rates in one run of the deal and keeps the
first grid interval where the class breaks, so a class whose loss is not monotone in the default
rate (shifting-interest triggers can make a faster default rate lose less) is bracketed at its
first break on the grid, not at any root; ROUNDS rounds narrow the bracket by GRID - 1 each.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..model.deal import Deal
from ..model.defaults import DefaultAssumption, DefaultRate, Severity, validate_lag
from ..model.prepayment import Prepayment
from ..model.scenarios import Scenario
from .solve import SolveResult

GRID = 33  # default rates per run
ROUNDS = 4  # runs; the bracket shrinks 32x each
FIRST_DOLLAR = 1.0  # a class "takes a loss" at a write-down of a dollar or more (not rounding)
UPPER = {"SDA": 5000.0, "CDR": 100.0}  # the highest rate searched


def break_default(deal: Deal, name: str, unit: str = "SDA", prepayment: Prepayment | None = None,
                  severity: float | None = None, lag: int | None = None, advancing: bool | None = None,
                  criterion: str = "loss", price: float = 100.0, upper: float | None = None) -> SolveResult:
    """The lowest default rate at which class `name` takes its first dollar of loss (`criterion`
    "loss") or its yield at `price` falls to zero or below ("yield").

    Unwritten assumptions come from the deal's pricing scenario (its speed, and its default
    assumption's severity, lag and advancing, if it has one); a severity must be known somehow."""
    if unit not in UPPER:
        raise InputError(f"a break rate is searched in SDA or CDR, not '{unit}'")
    if criterion not in ("loss", "yield"):
        raise InputError("a break is the first dollar of loss ('loss') or a zero yield ('yield'), "
                         f"not {criterion!r}")
    tranche = deal.tranche(name)
    if tranche.is_residual or tranche.is_notional:
        raise InputError(f"class {name} has no principal to lose")
    if deal.losses is None or not any(tranche.index in tier for tier in deal.losses):
        raise InputError(f"class {name} is not in deal \"{deal.name}\"'s loss order, so it takes no "
                         "losses: add it to the waterfall's 'losses: write down ...' section")
    pricing = deal.pricing
    base = pricing.defaults if pricing is not None else None
    speed = prepayment or (pricing.prepayment if pricing is not None else None)
    if speed is None:
        raise InputError(f"deal \"{deal.name}\" has no pricing speed: give the prepayment speed of "
                         "the search")
    if severity is None:
        if base is None:
            raise InputError("a break rate needs a loss severity: give one (a deal whose pricing scenario "
                             "has defaults lends its own)")
        sev = base.severity
    else:
        sev = Severity.constant(severity)
    term = max(p.term for p in deal.pools)
    lag_months = lag if lag is not None else (base.lag if base is not None else 0)
    validate_lag(lag_months, term)
    advance = advancing if advancing is not None else (base.advancing if base is not None else True)
    if sev.values and max(sev.values) == 0.0:
        raise InputError("at a severity of 0% no class ever takes a loss: give a severity above 0%")
    hi = float(upper if upper is not None else UPPER[unit])
    template = DefaultAssumption(DefaultRate.constant(0.0, unit), sev, lag_months, advance)
    index = tranche.index
    face = tranche.balance

    def breaks(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scenarios = [Scenario(speed, defaults=replace(template, rate=DefaultRate.constant(float(r), unit)))
                     for r in rates]
        results = deal.run(*scenarios)
        loss = results.writedowns()[:, index, :].sum(axis=1)
        if criterion == "loss":
            return loss >= FIRST_DOLLAR, loss
        from ..valuation import quotes, yields

        months = yields.discount_months(deal.settle, results.dates)
        accrued = quotes.accrued_per_100(results, name)
        with np.errstate(all="ignore"):
            bey = yields.yield_from_price(quotes.class_cash(results, name), months,
                                          (price + accrued) * face / 100.0)
        # No yield at all (nothing comes back) is below zero too.
        return ~(bey > 0.0), bey

    lo, runs = 0.0, 0
    rates = np.linspace(lo, hi, GRID)
    hit, measure = breaks(rates)
    runs += 1
    what = "first dollar of loss" if criterion == "loss" else f"zero yield at {price:g}"
    goal = (f"class {name}'s {what} at {speed.description}, {sev.description}, lag {lag_months}, "
            f"advance {'on' if advance else 'off'}")
    if hit[0]:
        return SolveResult(goal, f"default rate ({unit})", 0.0, float(measure[0]), None, 0.0, runs, True,
                           f"class {name} breaks with no defaults at all", {"unit": unit})
    if not hit.any():
        return SolveResult(goal, f"default rate ({unit})", hi, float(measure[-1]), None, float("inf"),
                           runs, False, f"class {name} does not break at any rate up to {hi:g} {unit}",
                           {"unit": unit})
    for _ in range(ROUNDS - 1):
        k = int(np.argmax(hit))
        lo, hi = float(rates[k - 1]), float(rates[k])
        rates = np.linspace(lo, hi, GRID)
        hit, measure = breaks(rates)
        runs += 1
        hit[-1] = True  # the bracket's top broke in the run before
    k = int(np.argmax(hit))
    lo, hi = float(rates[k - 1]), float(rates[k])
    achieved = float(measure[k])
    target = FIRST_DOLLAR if criterion == "loss" else 0.0
    return SolveResult(
        goal, f"default rate ({unit})", hi, achieved, target, hi - lo, runs, True,
        f"class {name} breaks at {hi:,.6g} {unit} (it holds at {lo:,.6g} {unit}); "
        f"{runs} runs of {GRID} rates",
        {"unit": unit, "holds_at": lo})
