"""Credit solvers: the break default rate of a class, and the subordination a class needs to
survive a stress.

The break rate is the lowest default rate (in SDA or CDR, at a prepayment speed, a loss severity,
a recovery lag and servicer advancing) at which a class takes its first dollar of loss, or (with
`criterion="yield"`) at which its yield at a price (par unless given) falls to zero.

Scenarios are the axis: each round runs a grid of GRID rates in one run of the deal and keeps the
first grid interval where the class breaks, so a class whose loss is not monotone in the default
rate (shifting-interest triggers can make a faster default rate lose less) is bracketed at its
first break on the grid, not at any root; ROUNDS rounds narrow the bracket by GRID - 1 each.

The subordination (`subordination`) varies the deal, not the scenario: each probe rebuilds the
deal with more or less balance below the class (structuring/solve.py `rebuild`), so it bisects,
one run of the stress per probe.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..engine.run import resolve_scenarios
from ..errors import InputError
from ..model.deal import Deal
from ..model.defaults import DefaultAssumption, DefaultRate, Severity, validate_lag
from ..model.prepayment import Prepayment
from ..model.scenarios import Scenario
from .solve import SolveResult, rebuild

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
        return _breaks(deal.run(*scenarios), name, index, face, criterion, price)

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


def _breaks(results: object, name: str, index: int, face: float, criterion: str,
            price: float) -> tuple[np.ndarray, np.ndarray]:
    """Whether class `name` broke in each scenario of `results`, and the figure judged: its
    write-downs (`criterion` "loss": a dollar or more breaks) or its yield at `price` ("yield":
    zero or below, or no yield at all, breaks)."""
    loss = results.writedowns()[:, index, :].sum(axis=1)  # type: ignore[attr-defined]
    if criterion == "loss":
        return loss >= FIRST_DOLLAR, loss
    from ..valuation import quotes, yields

    months = yields.discount_months(results.deal.settle, results.dates)  # type: ignore[attr-defined]
    accrued = quotes.accrued_per_100(results, name)  # type: ignore[arg-type]
    with np.errstate(all="ignore"):
        bey = yields.yield_from_price(quotes.class_cash(results, name), months,  # type: ignore[arg-type]
                                      (price + accrued) * face / 100.0)
    return ~(bey > 0.0), bey


SHARE_TOL = 1e-6  # the subordination is found to a millionth of the collateral ($500 on $500mm)
THIN = 1e-7  # the thinnest a resized class gets: rebuild takes no zero balances


def stress_scenario(deal: Deal, stress: Scenario | str) -> Scenario:
    """The stress of a subordination search: a scenario object, the name of one of the deal's
    scenarios, or text: '300 PSA defaults 600 SDA severity 40% lag 12', where the word
    'defaults' may be left out before a constant default rate ('300 PSA 600 SDA ...')."""
    named = isinstance(stress, str) and stress in deal.scenarios
    if isinstance(stress, str) and not named and not re.search(r"(?i)\bdefaults\b", stress):
        # The first constant default rate starts the default assumption.
        m = re.search(r"(?i)(?<![\w.])[\d.,]+\s*(?:SDA|CDR|MDR)\b", stress)
        if m is not None:
            stress = f"{stress[:m.start()]}defaults {stress[m.start():]}"
    (scenario,) = resolve_scenarios(deal, [stress])
    if not scenario.has_losses:
        raise InputError(f"the stress '{scenario.description}' has no "
                         "losses: give a default rate and a severity above 0, like "
                         "'300 PSA 600 SDA severity 40% lag 12'")
    return scenario


def subordination(deal: Deal, name: str, stress: Scenario | str, criterion: str = "loss",
                  price: float = 100.0) -> SolveResult:
    """The smallest subordination (the total balance of the classes below class `name` in the
    loss order, as a share of the collateral) at which `name` takes no loss under `stress`
    (`criterion` "loss": less than a dollar written down), or keeps a yield at `price` above
    zero ("yield").

    Each probe moves balance between `name` and the classes below it, those keeping their
    proportions to one another, every other class and the collateral unchanged, and runs the
    stress on the rebuilt deal. Bisection on the share, to SHARE_TOL: the answer holds and
    SHARE_TOL less does not (when the class's loss falls as its subordination grows, as it does
    unless a trigger turns on the subordinates' size)."""
    if criterion not in ("loss", "yield"):
        raise InputError("a class survives a stress with no loss ('loss') or a yield above zero "
                         f"('yield'), not {criterion!r}")
    tranche = deal.tranche(name)
    tiers = deal.losses or ()
    place = next((i for i, tier in enumerate(tiers) if tranche.index in tier), None)
    if tranche.is_residual or tranche.is_notional or place is None:
        raise InputError(f"class {name} is not in deal \"{deal.name}\"'s loss order, so it takes no "
                         "losses: add it to the waterfall's 'losses: write down ...' section")
    below = [deal.classes[k] for tier in tiers[:place] for k in tier]
    if not below:
        raise InputError(f"class {name} takes the deal's first loss: no class is below it to size")
    scenario = stress_scenario(deal, stress)
    collateral = deal.collateral_balance
    original = sum(c.balance for c in below)
    pool = tranche.balance + original  # what the class and its subordinates share
    weights = [c.balance / original for c in below]

    def deal_at(share: float) -> Deal:
        sub = share * collateral
        balances = {c.name: sub * w for c, w in zip(below, weights, strict=True)}
        # The class takes the rest, so the classes still add up to the collateral.
        balances[name] = pool - sum(balances.values())
        return rebuild(deal, balances)

    runs = 0

    def probe(share: float) -> tuple[bool, float, Deal]:
        nonlocal runs
        sized = deal_at(share)
        runs += 1
        hit, measure = _breaks(sized.run(scenario), name, tranche.index, sized.tranche(name).balance,
                               criterion, price)
        return bool(hit[0]), float(measure[0]), sized

    what = "no loss" if criterion == "loss" else f"a yield above 0 at {price:g}"
    goal = f"class {name}'s subordination for {what} at {scenario.description}"
    variable = "subordination (% of collateral)"
    now = original / collateral
    lo, hi = THIN, pool / collateral - THIN
    broke, measure, sized = probe(lo)
    details = {"subordinates": ", ".join(c.name for c in below), "original_subordination": 100.0 * now,
               "stress": scenario.description, "criterion": criterion}
    if not broke:
        return SolveResult(goal, variable, 0.0, measure, None, 0.0, runs, True,
                           f"class {name} survives {scenario.description} with no subordination",
                           details, sized)
    broke, measure, sized = probe(hi)
    if broke:
        return SolveResult(goal, variable, 100.0 * hi, measure, None, float("inf"), runs, False,
                           f"class {name} fails {scenario.description} even with every dollar of its "
                           "share moved below it", details, sized)
    best = (hi, measure, sized)
    while hi - lo > SHARE_TOL:
        mid = 0.5 * (lo + hi)
        broke, measure, sized = probe(mid)
        if broke:
            lo = mid
        else:
            hi = mid
            best = (hi, measure, sized)
    share, measure, sized = best
    details["fails_at"] = 100.0 * lo
    # The sized balances are the rebuilt deal's (result.deal; --json prints them).
    change = "more than" if share > now else "less than" if share < now else "the same as"
    return SolveResult(
        goal, variable, 100.0 * share, measure, FIRST_DOLLAR if criterion == "loss" else 0.0,
        100.0 * (hi - lo), runs, True,
        f"class {name} needs {100.0 * share:.4f}% subordination ({change} its {100.0 * now:.4f}%); "
        f"at {100.0 * lo:.4f}% it {'takes a loss' if criterion == 'loss' else 'yields 0 or less'}; "
        f"{runs} runs", details, sized)
