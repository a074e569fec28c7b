"""Structuring solvers: a declared goal, one thing to vary, and the deal rebuilt to meet it.

    size_for_wal     split two classes' combined balance so the first has a target WAL
    max_pac_balance  the largest PAC balance a band supports, and the support that leaves
    par_coupon       the coupon at which a fixed-rate class prices at par for a spread to the curve
    effective_band   the band a PAC schedule still holds after some periods at a given speed
    effective_bands  the same for several classes and horizons, searched in one batch of runs

Each returns a SolveResult and raises InputError, saying what can be reached, when the goal
cannot be met. Solvers never edit deal text: they rebuild the checked Deal with
dataclasses.replace (new balances or coupons on its Tranche objects, PAC/TAC schedules
recomputed by schedules.compute_schedules, `to schedule` rules re-pointed at the new
schedules) and run the rebuilt deal through the same engine. A rebuilt deal keeps the source
text it was loaded from, which therefore no longer states its balances or coupons: the
solver's result is the number to write back into the deal file.

Speed: an engine run is most of a solver's time, so the solvers make few of them and nothing
else twice. What a solver's unknown does not change is built once (the collateral and index
paths of its scenario: _Runs; the collateral principal at the band speeds that schedules come
from: _Schedules), each candidate is run once and the answer returned is one of those runs,
guesses come from the flows already run (size_for_wal's truncated principal stream,
effective_band's parabola on the distance from the schedule), and where the unknown is a speed
the candidates are the scenarios of one run. benchmarks/bench_solvers.py prints each solver's
time, its engine runs and the time outside them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..check.context import MONEY_TOLERANCE
from ..check.interest import effective_rates
from ..engine import buffers
from ..engine.collateral import CollateralFlows
from ..engine.prepayment import constant_smm, smm_matrix
from ..engine.run import resolve_scenarios, run_smm
from ..engine.schedules import Tier, band_principal, compute_schedules, schedule_tiers, serving_order
from ..errors import InputError
from ..model.curve import Curve
from ..model.deal import Deal, Tranche
from ..model.prepayment import Prepayment, checked_speed, parse_speed, parse_speeds
from ..model.rules import Rule
from ..model.scenarios import Scenario, check_indices
from ..results.measures import weighted_average_life
from ..results.results import Results
from ..valuation.quotes import quote

WAL_TOLERANCE = 1e-8  # years
PRICE_TOLERANCE = 1e-10  # points of par
SCHEDULE_TOLERANCE = 0.01  # dollars: a class within a cent of its scheduled balance is on schedule
BAND_TOLERANCE = 1e-6  # PSA: how closely effective_band pins each edge of the band
BAND_LIMITS = (0.0, 2000.0)  # PSA: the speeds effective_band searches
# The first look is finer (5 PSA over 0-2000): a band narrower than the grid step would be missed.
BAND_FIRST_GRID = 401
# After the first look, each open edge is cut in each round (one engine run) by speeds placed
# around where the edge is expected (a parabola or secant on the distance from the schedule),
# spaced by factors of EDGE_LADDER out to EDGE_REACH times the guess's likely error, plus
# EDGE_GRID evenly spaced ones as a safeguard. The kernel's run costs about the same per
# scenario-month whatever its size, so the speeds run are what to save, and a round's Python
# about as much as ten of them.
EDGE_GRID = 2
EDGE_LADDER = 32.0
EDGE_REACH = 4.0
# The parabola's error is taken as at least EDGE_KINK times the distance it extrapolates (from
# the nearest run outside the bracket): the distance from the schedule has kinks where its worst
# period changes, which the three runs' curvature does not show.
EDGE_KINK = 0.1
# The first look runs every grid speed over BAND_SCREEN periods after its first leg, and in
# full only the speeds still on schedule there and those whose full distance a guess may read
# (see _first_look): most speeds outside a band miss early (a fast one uses the support up
# within a few years, a slow one falls behind at once). Only horizons whose screen is at most
# half the runs' periods: the runs in full must then be fewer than half the grid for the look
# to cost less (pac_tiers' PB after 12 periods, a 101-period horizon: 401 x 48 months screened,
# ~100 speeds in full, 3/4 of the months of one run of all in full).
BAND_SCREEN = 36


@dataclass(frozen=True)
class SolveResult:
    """What a solver found.

    `goal` says what was solved ("A's WAL = 3 years at 165 PSA"), `variable` what was varied,
    `value` the value found (a tuple for a band), `achieved` the figure the deal reaches at that
    value, `target` the figure asked for (None where the goal is a maximum or a band), `error`
    the residual error (achieved - target, or the solver's own measure, as `message` says),
    `iterations` the solver's steps, `converged` whether it met its tolerance, `message` one
    line for a person. `details` holds the supporting figures; `deal` the rebuilt deal at the
    solution, where there is one.
    """

    goal: str
    variable: str
    value: float | tuple[float, float]
    achieved: float | tuple[float, float] | None
    target: float | tuple[float, float] | None
    error: float
    iterations: int
    converged: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    deal: Deal | None = field(default=None, repr=False, compare=False)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs for printing."""
        def fmt(x: Any) -> str:
            if x is None:
                return "-"
            if isinstance(x, tuple):
                return " to ".join(fmt(v) for v in x)
            if isinstance(x, float):
                return f"{x:,.10g}" if abs(x) < 1e6 else f"{x:,.2f}"
            return str(x)

        rows = [("goal", self.goal), ("varied", self.variable), ("value", fmt(self.value)),
                ("achieved", fmt(self.achieved)), ("target", fmt(self.target)),
                ("error", f"{self.error:.3g}"), ("iterations", str(self.iterations)),
                ("converged", "yes" if self.converged else "no")]
        rows += [(k.replace("_", " "), fmt(v)) for k, v in self.details.items()]
        return rows


class _Infeasible(InputError):
    """A rebuilt deal that breaks a rule of the checks (a tier above its band's capacity)."""


# ---------------------------------------------------------------------------- root finding


class _Close(Exception):
    """Raised inside brent's function to stop the search at a value within ftol of the root."""

    def __init__(self, x: float, fx: float):
        super().__init__()
        self.x, self.fx = x, fx


def brent(f: Callable[[float], float], a: float, b: float, fa: float, fb: float,
          xtol: float, ftol: float, maxiter: int = 200) -> tuple[float, float, int]:
    """Brent's method (scipy.optimize.brentq) on a bracket [a, b] with f(a), f(b) of opposite
    signs (or one zero), which the caller has already evaluated: each evaluation here is a run
    of a rebuilt deal, so none is repeated.

    Stops when |f| <= ftol or the bracket is narrower than xtol (plus 4 ulp of x, brentq's
    rtol). Returns (x, f(x), iterations). InputError when [a, b] does not bracket a root.
    """
    from scipy.optimize import brentq  # heavy: only when a solver runs

    if fa == 0:
        return a, fa, 0
    if fb == 0:
        return b, fb, 0
    if fa * fb > 0:
        raise InputError(f"no root between {a:g} and {b:g}: the function is {fa:g} and {fb:g} there")
    seen = {a: fa, b: fb}  # brentq starts from the ends, which the caller already ran
    calls = 0

    def g(x: float) -> float:
        nonlocal calls
        if x not in seen:
            calls += 1
            seen[x] = f(x)
            if abs(seen[x]) <= ftol:
                raise _Close(x, seen[x])
        return seen[x]

    try:
        x, info = brentq(g, a, b, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=maxiter,
                         full_output=True, disp=False)
    except _Close as close:
        return close.x, close.fx, calls
    return float(x), g(float(x)), int(info.iterations)


# ---------------------------------------------------------------------------- rebuilding deals


def _tiers(deal: Deal, classes: tuple[Tranche, ...]) -> list[Tier]:
    """The deal's schedule tiers (as the checks formed them), with balances from `classes`."""
    return [dataclasses.replace(t, classes=list(t.classes), balances=[classes[i].balance for i in t.classes])
            for t in deal.tiers]


def _strips(classes: tuple[Tranche, ...]) -> list[tuple[int, float]]:
    return [c.strip for c in classes if c.strip is not None]


def rebuild(deal: Deal, balances: dict[str, float] | None = None,
            coupons: dict[str, float] | None = None) -> Deal:
    """The deal with new class balances and/or fixed coupons, schedules recomputed.

    A resized parent of floaters takes its floaters with it in proportion. Class balances must
    still add up to the collateral, so resize classes in pairs. Raises InputError for a class
    that cannot be resized or re-couponed, and _Infeasible (an InputError) when a schedule tier
    no longer fits its band.
    """
    return _rebuild(deal, balances, coupons, None)


class _Schedules:
    """compute_schedules for one deal's tiers at any balances, with the collateral principal at
    the band speeds (which the balances do not change) projected once, not on every rebuild.

    The tier loop is compute_schedules' own (schedule_tiers), so the schedules are the same arrays
    (tests/test_solve_fast.py holds the two to equality)."""

    def __init__(self, deal: Deal):
        self.periods = deal.periods
        ordered = serving_order(list(deal.tiers))
        speeds = sorted({p for t in ordered for p in t.band}, key=lambda p: (p.unit, p.values))
        principal = (band_principal(deal.pools, _strips(deal.classes), speeds, self.periods)
                     if speeds else np.zeros((0, self.periods)))
        self.at_speed = {p: principal[i] for i, p in enumerate(speeds)}

    def __call__(self, tiers: list[Tier]) -> dict[int, np.ndarray]:
        return schedule_tiers(serving_order(tiers), self.at_speed, self.periods)


    def fits(self, tiers: list[Tier], balances: np.ndarray) -> np.ndarray:
        """Whether every tier fits its band (Tier.over_capacity finds nothing), for many sets of
        class balances at once: `balances` [candidate, class] -> [candidate]. The loop of
        __call__ over a candidate axis, for tiers without an explicit schedule; a search's many
        feasibility probes then cost one pass."""
        n = balances.shape[0]
        taken = np.zeros((n, self.periods))
        ok = np.ones(n, dtype=bool)
        for tier in serving_order(tiers):
            total = 0.0
            for i in tier.classes:  # as Tier.balance adds them, in order
                total = total + balances[:, i]
            available = np.stack([np.maximum(self.at_speed[p][None, :] - taken, 0.0) for p in tier.band])
            least = available.min(axis=0)
            capacity = least.sum(axis=1)
            balance = np.maximum(total[:, None] - np.cumsum(least, axis=1), 0.0)
            taken = taken + -np.diff(np.concatenate([total[:, None], balance], axis=1), axis=1)
            ok &= total <= capacity + MONEY_TOLERANCE
        return ok


def _rebuild(deal: Deal, balances: dict[str, float] | None, coupons: dict[str, float] | None,
             schedule: _Schedules | None, fits_only: bool = False) -> Deal:
    """rebuild, with the schedules from `schedule` (a solver's, made once) when given. With
    `fits_only`, only whether the new balances fit the bands: the rules are not re-pointed
    and the deal itself comes back, unchanged (a feasibility search's many probes need no more)."""
    classes = list(deal.classes)
    by_name = {c.name: c for c in classes}
    for name in list(balances or {}) + list(coupons or {}):
        if name not in by_name:
            raise InputError(f"deal \"{deal.name}\" has no class '{name}'")
    resized_tiered = False
    for name, balance in (balances or {}).items():
        c = by_name[name]
        if c.is_residual or c.is_notional or c.strip is not None or c.parent is not None:
            kind = ("the residual" if c.is_residual else "notional" if c.is_notional
                    else "a strip of its pool" if c.strip is not None else "split from another class")
            raise InputError(f"class {name} is {kind}; its balance is not a thing to vary")
        if not balance > 0:
            raise InputError(f"class {name} needs a positive balance, not {balance:,.2f}")
        if c.index in deal.schedules:
            resized_tiered = True
        classes[c.index] = dataclasses.replace(c, balance=float(balance))
        for k, child in enumerate(deal.classes):  # floaters split from it keep their shares
            if child.parent == c.index:
                classes[k] = dataclasses.replace(child, balance=child.balance * balance / c.balance)
    for name, coupon in (coupons or {}).items():
        c = by_name[name]
        if c.formula is not None or c.is_residual or c.is_principal_only or c.is_notional \
                or not c.issued:
            raise InputError(f"class {name} is not a fixed-rate class with a coupon of its own")
        classes[c.index] = dataclasses.replace(classes[c.index], coupon=float(coupon))
    new = tuple(classes)
    schedules = deal.schedules
    principal: Rule = deal.principal
    accretion = deal.accretion
    if resized_tiered:
        tiers = _tiers(deal, new)
        for tier in tiers:
            if tier.explicit is not None and any(new[i].balance != deal.classes[i].balance
                                                 for i in tier.classes):
                raise InputError(f"class {new[tier.classes[0]].name} has an explicit schedule, "
                                 "which does not follow a new balance")
        schedules = (schedule(tiers) if schedule is not None
                     else compute_schedules(deal.pools, _strips(new), tiers, deal.periods))
        for tier in tiers:
            over = tier.over_capacity([new[i].name for i in tier.classes], MONEY_TOLERANCE)
            if over is not None:
                raise _Infeasible(f"{over[0]}: {over[1]}")
        if fits_only:
            return deal
        principal = deal.principal.reschedule(schedules)
        accretion = {z: r.reschedule(schedules) for z, r in deal.accretion.items()}
    return dataclasses.replace(deal, classes=new, schedules=schedules, principal=principal,
                               accretion=accretion)


def _scenario(deal: Deal, scenario: Scenario | Prepayment | str | None) -> Scenario:
    got = resolve_scenarios(deal, [scenario] if scenario is not None else None)[0]
    if got.defaults is not None:
        # The solvers' runs (run_smm) project prepayments only: refuse rather than drop defaults.
        raise InputError(f"scenario \"{got.label}\" carries defaults ({got.defaults.description}), and the "
                         "structuring solvers do not model defaults yet: give a scenario without them")
    return got


class _Runs:
    """Rebuilt versions of one deal, run at one scenario: what `deal.run(scenario)` does, with
    the SMM and index paths (which new class balances and coupons do not change) made once, so
    each evaluation of a solver is an engine run and nothing else (the kernel's, when the deal
    compiles; the interpreter's reuses the first run's collateral flows). Each rebuilt
    deal is run once: the solution a solver returns is one of the runs it made."""

    def __init__(self, deal: Deal, scenario: Scenario):
        self.scenario = scenario
        periods = deal.periods
        ages = np.array([p.age for p in deal.pools], dtype=float)
        self.smm = smm_matrix([scenario.prepayment], ages, periods)
        self.collateral: CollateralFlows | None = None  # the interpreter's, once made
        check_indices(deal.name, deal.index_names, (i for i, _ in scenario.indices))
        self.rates = scenario.index_paths(deal.indices, deal.index_names, periods)[None]
        self.count = 0

    def run(self, deal: Deal) -> Results:
        self.count += 1
        self.collateral, flows = run_smm(deal, self.smm, self.rates, self.collateral)
        return Results(deal, [self.scenario], self.collateral, flows)


# ---------------------------------------------------------------------------- a. size for WAL


def _one_collateral(deal: Deal, what: str) -> None:
    """Band capacities and schedules are derived on the whole collateral, where a collateral
    group's come from its own pools: refuse a grouped deal rather than answer wrongly."""
    if getattr(deal, "groups", ()):
        raise InputError(f"deal \"{deal.name}\" has collateral groups: {what} takes deals with one "
                         "collateral so far")


def size_for_wal(deal: Deal, first: str, second: str, target_wal: float,
                 scenario: Scenario | Prepayment | str | None = None) -> SolveResult:
    """Split the combined balance of `first` and `second` so `first` has the target WAL.

    The WAL is the SIFMA WAL at the pricing scenario (or `scenario`). The first class's
    balance x runs over (0, combined); its WAL rises with x for adjacent sequential classes,
    from the WAL of the first dollar paid to the WAL of the two classes together. PAC/TAC
    schedules are recomputed for every x, and x stays where the tiers fit their bands. Brent's
    method on WAL(x) - target to 1e-8 years. InputError, with the reachable range, when the
    target is out of reach.

    Before Brent, one guess: the run at the largest x shows the first class's principal, and
    a class paid first (sequentially, or to a schedule that truncates the band's payments at
    its balance) at balance x < that is paid the first x dollars of the same stream. The x at
    which that truncated stream has the target WAL is run; where it meets the target (1e-8
    years) the search ends there, and where it does not it still narrows Brent's bracket.
    """
    if getattr(deal, "groups", ()):
        pair = [deal.tranche(first), deal.tranche(second)]
        if any(c.index in deal.schedules for c in pair):
            _one_collateral(deal, "resizing a scheduled class")
        if deal.group_of(pair[0].index) is not deal.group_of(pair[1].index):
            raise InputError(f"{first} and {second} are in different collateral groups; a resize keeps "
                             "each group's classes equal to its pools")
    a, b = deal.tranche(first), deal.tranche(second)
    if a.name == b.name:
        raise InputError("give two different classes to split a balance between")
    scen = _scenario(deal, scenario)
    total = a.balance + b.balance
    eps = max(1.0, 1e-9 * total)
    runs = _Runs(deal, scen)
    schedule = _Schedules(deal) if deal.tiers else None
    built: dict[float, Deal | _Infeasible] = {}
    ran: dict[float, tuple[float, np.ndarray]] = {}  # x -> (first's WAL, its principal [period])

    def build(x: float) -> Deal:
        if x not in built:
            try:
                built[x] = _rebuild(deal, {first: x, second: total - x}, None, schedule)
            except _Infeasible as exc:
                built[x] = exc
        found = built[x]
        if isinstance(found, _Infeasible):
            raise found
        return found

    def feasible(x: float) -> bool:
        if x in built:
            return not isinstance(built[x], _Infeasible)
        try:
            _rebuild(deal, {first: x, second: total - x}, None, schedule, fits_only=True)
        except _Infeasible:
            return False
        return True

    def wal(x: float) -> float:
        if x not in ran:
            results = runs.run(build(x))
            ran[x] = (float(results.wal(first)[0]), results.flows.principal[0, a.index])
        return ran[x][0]

    def feasible_at(xs: np.ndarray) -> np.ndarray:
        """feasible(x) for every x, in one pass when the deal's tiers allow it."""
        if schedule is None or any(t.explicit is not None for t in deal.tiers):
            return np.array([feasible(x) for x in xs], dtype=bool)
        table = np.repeat(np.array([c.balance for c in deal.classes])[None, :], len(xs), axis=0)
        for c, new in ((a, xs), (b, total - xs)):  # as _rebuild sets them, floaters following
            table[:, c.index] = new
            for child in deal.classes:
                if child.parent == c.index:
                    table[:, child.index] = child.balance * new / c.balance
        return schedule.fits(_tiers(deal, deal.classes), table)

    lo, hi = eps, total - eps
    limited = ""
    if not (feasible(lo) and feasible(hi)):
        grid = np.linspace(lo, hi, 65)
        ok = [x for x, fits in zip(grid, feasible_at(grid), strict=True) if fits]
        if not ok:
            raise InputError(f"no split of {first} and {second} fits their schedules' bands")
        inside = ok[len(ok) // 2]
        if not feasible(lo):
            lo = _boundary(feasible, lo, inside)
            limited = f"{first} at least {lo:,.2f}"
        if not feasible(hi):
            hi = _boundary(feasible, hi, inside)
            limited += (", " if limited else "") + f"{first} at most {hi:,.2f}"
        limited = f" (the PAC/TAC bands allow {limited})"
    w_lo, w_hi = wal(lo), wal(hi)
    span = (min(w_lo, w_hi), max(w_lo, w_hi))
    a_x, b_x, fa, fb = lo, hi, w_lo - target_wal, w_hi - target_wal
    if fa * fb > 0:
        # Not bracketed by the ends: look inside (the WAL need not be monotonic in general).
        grid = np.linspace(lo, hi, 33)[1:-1]
        values = [wal(x) for x in grid]
        xs, ws = [lo, *grid, hi], [w_lo, *values, w_hi]
        span = (min(ws), max(ws))
        pair = next(((i, i + 1) for i in range(len(xs) - 1)
                     if (ws[i] - target_wal) * (ws[i + 1] - target_wal) <= 0), None)
        if pair is None:
            raise InputError(
                f"{first}'s WAL at {scen.label} can only be between {span[0]:.4f} and {span[1]:.4f} "
                f"years as {first} and {second} split {total:,.2f}{limited}; "
                f"{target_wal:g} years is out of reach")
        a_x, b_x = xs[pair[0]], xs[pair[1]]
        fa, fb = ws[pair[0]] - target_wal, ws[pair[1]] - target_wal
    monotonic = (w_hi - w_lo) * (fb - fa) >= 0
    iterations = 0
    x, fx = (a_x, fa) if abs(fa) <= abs(fb) else (b_x, fb)
    if abs(fx) > WAL_TOLERANCE:
        guess = _truncation_guess(ran[hi][1], hi, a_x, b_x, target_wal)
        if guess is not None:
            iterations = 1
            x, fx = guess, wal(guess) - target_wal
            if abs(fx) > WAL_TOLERANCE:  # not paid as a truncated stream: the guess narrows
                if fx * fa < 0:
                    b_x, fb = x, fx
                else:
                    a_x, fa = x, fx
    if abs(fx) > WAL_TOLERANCE:
        x, fx, more = brent(lambda x: wal(x) - target_wal, a_x, b_x, fa, fb,
                            xtol=1e-6, ftol=WAL_TOLERANCE)
        iterations += more
    solved = build(x)
    achieved = wal(x)
    error = achieved - target_wal
    converged = abs(error) <= WAL_TOLERANCE
    msg = (f"{first} {x:,.2f} and {second} {total - x:,.2f} give {first} a WAL of {achieved:.8f} "
           f"years at {scen.label}")
    if not converged:
        msg += f" (missed the target by {error:.2g} years: the WAL jumps here)"
    return SolveResult(
        goal=f"{first}'s WAL = {target_wal:g} years at {scen.label}",
        variable=f"{first} balance ({second} takes the rest of {total:,.2f})",
        value=float(x), achieved=achieved, target=float(target_wal), error=error,
        iterations=iterations, converged=converged, message=msg,
        details={f"{second}_balance": float(total - x), "reachable_wal": span, "evaluations": runs.count,
                 "monotonic_ends": monotonic},
        deal=solved)


def _truncation_guess(paid: np.ndarray, balance: float, a: float, b: float, target: float) -> float | None:
    """The balance x in (a, b) at which the first x dollars of `paid` (a class's principal
    [period] at `balance`) have the target WAL, or None when that does not cross the target
    there (an accrual class's principal, or a target the truncated stream cannot reach)."""
    from scipy.optimize import brentq  # heavy: only when a solver runs

    if (paid < 0).any() or not paid.sum() > 0:
        return None
    before = np.concatenate([[0.0], np.cumsum(paid)[:-1]])

    def wal(x: float) -> float:
        # Period t pays what is left of x after the earlier periods, up to its own payment.
        return float(weighted_average_life(np.clip(x - before, 0.0, paid))) - target

    lo, hi = min(a, b), min(max(a, b), balance)
    f_lo, f_hi = wal(lo), wal(hi)
    if not f_lo * f_hi < 0:
        return None
    return float(brentq(wal, lo, hi, xtol=1e-9, rtol=4 * np.finfo(float).eps))


def _boundary(ok: Callable[[float], bool], bad: float, good: float, rtol: float = 1e-12) -> float:
    """The point between `bad` and `good` where `ok` turns true, on the good side."""
    while abs(good - bad) > rtol * max(abs(good), 1.0):
        mid = 0.5 * (bad + good)
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


# ---------------------------------------------------------------------------- b. max PAC balance


def _band_arg(band: Any) -> tuple[Prepayment, Prepayment]:
    if isinstance(band, str):
        # "90,300", "90 PSA, 300 PSA", "90-300 PSA", "90 to 300 CPR": the one speed-list parser.
        band = parse_speeds(",".join(p for p in band.replace(" to ", ",").replace("-", ",").split(",")
                                     if p.strip()), "PSA")
    speeds = tuple(parse_speed(s) if not isinstance(s, int | float) else checked_speed(s, "PSA")
                   for s in band)
    if len(speeds) != 2:
        raise InputError("a PAC band is two speeds, like 90 PSA, 300 PSA")
    if speeds[0].unit != speeds[1].unit:
        raise InputError("a band's two speeds must be in one unit")
    lo, hi = sorted(speeds, key=lambda p: p.values[0])
    return lo, hi


def max_pac_balance(deal: Deal, pac_class: str | None = None,
                    band: tuple[Any, Any] | str | None = None) -> SolveResult:
    """The largest balance a PAC band supports on the deal's collateral, and the support left.

    With `pac_class`, the band is that class's, served after any higher-priority tiers as the
    deal declares them (a PAC II sees what the PACs leave); the capacity is its tier's. With
    `band` (two speeds) it is a PAC alone on the collateral. Capacity = sum over periods of the
    least collateral principal (net of strips) across the band speeds: a schedule that large
    is met at every speed of the band and no larger one is. The support is the collateral
    (net of strips) less the capacity and less the tiers served before it (for a PAC, every
    class outside its tier; for a PAC II, what the PACs and it leave). With `pac_class`, the
    answer is verified by rebuilding the deal with the tier at capacity (the first SUP class
    taking up the difference) and running it at the band speeds: `error` is the largest
    distance, in dollars, between the tier's balance and its schedule in those runs.
    """
    _one_collateral(deal, "the largest PAC balance")
    if (pac_class is None) == (band is None):
        raise InputError("give a PAC class or a band, not both")
    strips = _strips(deal.classes)
    periods = deal.periods
    coll = deal.collateral_balance - sum(c.balance for c in deal.classes if c.strip is not None)
    if band is not None:
        speeds = _band_arg(band)
        tier = Tier("PAC", speeds)
        compute_schedules(deal.pools, strips, [tier], periods)
        cap = tier.capacity
        label = f"{speeds[0].label} - {speeds[1].label}"
        return SolveResult(
            goal=f"the largest PAC balance a {label} band supports",
            variable="PAC balance", value=cap, achieved=cap, target=None, error=0.0, iterations=1,
            converged=True,
            message=f"a {label} band supports a PAC of {cap:,.2f}, leaving {coll - cap:,.2f} of support",
            details={"support": coll - cap, "collateral": coll, "band": label})
    c = deal.tranche(pac_class)
    if c.index not in deal.schedules:
        raise InputError(f"class {pac_class} has no schedule: it is not a PAC, PAC II or TAC")
    tiers = _tiers(deal, deal.classes)
    tier = next(t for t in tiers if c.index in t.classes)
    if tier.explicit is not None:
        raise InputError(f"class {pac_class} has an explicit schedule, not a band")
    schedule = _Schedules(deal)  # the band flows once, for the capacity and the check at it
    schedule(tiers)
    cap = tier.capacity
    ordered = serving_order(tiers)  # as compute_schedules serves them
    above = sum(t.balance for t in ordered[:ordered.index(tier)])
    label = ", ".join(p.label for p in tier.band)
    names = " + ".join(deal.classes[i].name for i in tier.classes)
    details: dict[str, Any] = {"support": coll - above - cap, "collateral": coll, "band": label,
                               "declared": tier.balance, "headroom": cap - tier.balance}
    if above:
        details["served_before"] = above
    error, note = float("nan"), ""
    support = next((s for s in deal.classes if s.is_support), None)
    last = deal.classes[tier.classes[-1]]
    if support is None or support.balance - (cap - tier.balance) <= 0:
        note = "; not verified: no support class to take up the difference"
    else:
        try:
            at_cap = _rebuild(deal, {last.name: last.balance + cap - tier.balance,
                                     support.name: support.balance - (cap - tier.balance)}, None, schedule)
        except InputError as exc:
            note = f"; not verified: at capacity {exc}"
        else:
            results = at_cap.run(*tier.band)
            scheduled = np.sum([at_cap.schedules[i] for i in tier.classes], axis=0)
            held = results.flows.ending_balance[:, tier.classes, :].sum(axis=1)
            error = float(np.abs(held - scheduled).max())
            rest = support.balance - cap + tier.balance
            details["verified_at"] = f"{label} with {support.name} {rest:,.2f}"
    converged = not (error > SCHEDULE_TOLERANCE)
    return SolveResult(
        goal=f"the largest {names} balance the {tier.label} band supports",
        variable=f"{names} balance", value=cap, achieved=cap, target=None,
        error=error, iterations=1, converged=converged,
        message=(f"{tier.label} supports {cap:,.2f} of {names} ({cap - tier.balance:+,.2f} against the "
                 f"{tier.balance:,.2f} declared), leaving {coll - above - cap:,.2f} of support"
                 + (f" after {above:,.2f} of higher-priority tiers" if above else "") + note),
        details=details)


# ---------------------------------------------------------------------------- c. par coupon


def max_coupon(deal: Deal, name: str) -> float:
    """The highest fixed coupon the class can bear and still pass the interest proof of check/interest.py:
    its coupon plus the IO strips on it plus strips on the whole collateral may not exceed the
    lowest pool net coupon (after pool strips), since it may be the last class outstanding."""
    c = deal.tranche(name)
    rates, on_collateral, pool_rates = effective_rates(list(deal.classes), list(deal.pools))
    strips_on_it = rates.get(c.index, c.coupon) - c.coupon
    return min(pool_rates) - on_collateral - strips_on_it


def par_coupon(deal: Deal, name: str, spread_bp: float, curve: Curve | None = None,
               scenario: Scenario | Prepayment | str | None = None) -> SolveResult:
    """The coupon at which a fixed-rate class's clean price is 100 at a spread to the curve.

    The class is priced at a yield of curve(WAL) + spread (valuation.quote, the WAL at the
    pricing scenario or `scenario`), as its coupon varies over [0, the most the collateral's
    interest supports]; Brent's method on clean price - 100. A class whose principal does not
    depend on its coupon (not a Z) prices affinely in the coupon, so this converges at once.
    """
    c = deal.tranche(name)
    if c.formula is not None or c.is_residual or c.is_principal_only or not c.issued:
        raise InputError(f"class {name} is not a fixed-rate class: it has no coupon to solve for")
    if c.is_notional:
        raise InputError(f"class {name} is notional (an IO): it has no par")
    curve = curve or deal.analytics.curve
    if curve is None:
        raise InputError(f"deal \"{deal.name}\" has no curve for the spread: pass one "
                         "(--curve FILE) or add a curve to its analytics block")
    scen = _scenario(deal, scenario)
    spread = spread_bp / 10000.0
    top = max_coupon(deal, name)
    runs = _Runs(deal, scen)
    priced: dict[float, tuple[Deal, Any]] = {}  # coupon -> (rebuilt deal, its quote): each run once

    def clean(coupon: float) -> float:
        if coupon not in priced:
            rebuilt = rebuild(deal, coupons={name: coupon})
            priced[coupon] = (rebuilt, quote(runs.run(rebuilt), name, spread=spread, curve=curve))
        return float(priced[coupon][1].price[0])

    p_lo, p_hi = clean(0.0), clean(top)
    if p_hi < 100.0:
        raise InputError(
            f"at {spread_bp:g}bp over {curve.name}, {name} needs a coupon above {top * 100:.4g}%, the "
            f"most the collateral's interest supports (there it prices at {p_hi:.4f}); lower the "
            "spread or add coupon to the collateral")
    if p_lo > 100.0:
        raise InputError(f"at {spread_bp:g}bp over {curve.name}, {name} prices at {p_lo:.4f} with no "
                         "coupon at all: the yield is negative, so no coupon gives par")
    x, fx, iterations = brent(lambda x: clean(x) - 100.0, 0.0, top, p_lo - 100.0, p_hi - 100.0,
                             xtol=1e-14, ftol=PRICE_TOLERANCE)
    price = clean(x)  # brent's answer was run: its rebuilt deal and quote are at hand
    solved, q = priced[x]
    evaluations = runs.count
    return SolveResult(
        goal=f"{name} at par (clean 100) at {spread_bp:g}bp over {curve.name} at {scen.label}",
        variable=f"{name} coupon", value=x, achieved=price, target=100.0, error=price - 100.0,
        iterations=iterations, converged=abs(price - 100.0) <= 1e-8,
        message=(f"{name} prices at par with a {x * 100:.6f}% coupon: yield {float(q.yield_[0]) * 100:.6f}% "
                 f"= {curve.name} {float(curve.par(q.wal[0])) * 100:.6f}% at its {float(q.wal[0]):.4f}-year "
                 f"WAL + {spread_bp:g}bp"),
        details={"coupon_pct": x * 100, "yield_pct": float(q.yield_[0]) * 100, "wal": float(q.wal[0]),
                 "curve_at_wal_pct": float(curve.par(q.wal[0])) * 100, "max_coupon_pct": top * 100,
                 "evaluations": evaluations},
        deal=solved)


# ---------------------------------------------------------------------------- d. effective band


def _psa(speed: float | str | Prepayment) -> Prepayment:
    if isinstance(speed, int | float):
        return checked_speed(speed, "PSA")
    return parse_speed(speed)


def effective_band(deal: Deal, pac_class: str, after_periods: int, at_speed: float | str | Prepayment,
                   limits: tuple[float, float] = BAND_LIMITS, tol: float = BAND_TOLERANCE) -> SolveResult:
    """The band a PAC's schedule still holds after `after_periods` periods at `at_speed`.

    How it is computed: the deal is run at `at_speed` for the first `after_periods` periods
    and at a constant PSA speed s from then on, on the same collateral, now aged (PSA's loan
    age keeps counting from each pool's age; nothing is re-originated). The PAC "holds" at s
    when its balance is within a cent of its scheduled balance in every period after
    `after_periods`: it has been paid neither less (the collateral is too slow) nor more (the
    support is gone) than the schedule. The effective band is the lowest and the highest s in
    [0, 2000] PSA at which it holds.

    The search runs many speeds at once (the engine is vectorised across scenarios): a grid
    of BAND_FIRST_GRID speeds over the limits first, which must show the speeds that hold as
    one interval (else the result says it is not, and the widest interval is taken), then each
    edge's bracket is cut, one run per round, by speeds placed around an estimate of the edge
    (a parabola through the distances just outside it) and EDGE_GRID speeds evenly across it,
    until it is narrower than `tol` PSA. Each edge reported is a speed that was run and held;
    the next speed outside it, within `tol`, did not. An edge at a limit (0 or 2000 PSA) means
    the schedule holds that far. `achieved` is the largest distance (dollars) between the PAC's
    balance and its schedule at the two edges (within a cent by definition), `error` the width
    of the wider final bracket (PSA). The support balance left after `after_periods` is in
    `details`. Where the runs are long, the first look is two runs (see _first_look): every
    speed over a few years, then in full only those still on schedule by then (and their
    nearest neighbours that are not).
    """
    found = effective_bands(deal, [pac_class], [after_periods], at_speed, limits, tol)
    result = found[(pac_class, int(after_periods))]
    if isinstance(result, InputError):
        raise result
    return result


# Scenarios per engine run of effective_bands: bounds the memory of a batch of many searches.
BAND_BATCH = 2048


@dataclass
class _BandSearch:
    """One class's effective-band search after `after` periods: its brackets (bad, good) of the
    lower and upper edge, None where the edge is at a limit."""

    name: str
    index: int
    after: int
    lower: tuple[float, float] | None = None
    upper: tuple[float, float] | None = None
    monotonic: bool = True
    rounds: int = 0

    def open(self, tol: float) -> bool:
        return self.rounds <= 100 and any(b is not None and abs(b[1] - b[0]) > tol
                                          for b in (self.lower, self.upper))


def effective_bands(deal: Deal, classes: Sequence[str], after_periods: Sequence[int],
                    at_speed: float | str | Prepayment, limits: tuple[float, float] = BAND_LIMITS,
                    tol: float = BAND_TOLERANCE) -> dict[tuple[str, int], SolveResult | InputError]:
    """effective_band of every class in `classes` after each of `after_periods`, searched
    together: each round of every search runs as the scenarios of one engine run (the engine is
    vectorised across scenarios), so a report's many bands cost a few runs, not a few per band.
    Each search is effective_band's, speed for speed, and gives its result; a class retired by
    then, or whose schedule holds at no speed, gets the InputError effective_band raises.

    `iterations` of each result counts the engine runs of the batch."""
    _one_collateral(deal, "the effective band")
    searched = [deal.tranche(name) for name in classes]
    for c in searched:
        if c.index not in deal.schedules:
            raise InputError(f"class {c.name} has no schedule: it is not a PAC, PAC II or TAC")
    periods = deal.periods
    afters = [int(a) for a in after_periods]
    for after in afters:
        if not 0 <= after < periods:
            raise InputError(f"the periods run to {periods}; 'after' must be between 0 and {periods - 1}")
    at = _psa(at_speed)
    base = deal.pricing or Scenario(at)
    ages = np.array([p.age for p in deal.pools], dtype=float)
    rates = base.index_paths(deal.indices, deal.index_names, periods)
    first_leg = smm_matrix([at], ages, periods)[0]
    index = np.array([c.index for c in searched])
    schedules = np.array([deal.schedules[c.index] for c in searched])  # [class, period]
    # The runs stop where every schedule searched has reached zero: a class that neither
    # accretes nor grows is no further from a zero schedule later than it is then.
    horizon = periods
    if not any(c.accrual for c in searched):
        live = np.flatnonzero((schedules != 0.0).any(axis=0))
        horizon = min(periods, max(int(live[-1]) + 2 if len(live) else 1, max(afters) + 1))
    schedules = schedules[:, :horizon]
    runs = 0

    def flows(rows: list[tuple[int, float]], span: int):
        """One engine run (in chunks of BAND_BATCH scenarios) over the first `span` periods:
        scenario k runs at `at` for its first rows[k][0] periods and at the constant PSA speed
        rows[k][1] from then on."""
        nonlocal runs
        runs += 1
        for start in range(0, len(rows), BAND_BATCH):
            part = rows[start:start + BAND_BATCH]
            speeds = np.array([speed for _, speed in part])
            firsts = np.array([a for a, _ in part])
            smm = buffers.empty((len(part), len(ages), span))  # (every element written below)
            for a in np.unique(firsts).tolist():
                # The second leg's SMM from the loans' age then: PSA's ramp is over within
                # 30 months of age, so little of it is computed (constant_smm repeats the rest).
                smm[firsts == a, :, :a] = first_leg[:, :a]
                if firsts[0] == firsts[-1]:  # one first leg (the usual case): in place
                    constant_smm(speeds, "PSA", ages + a, span - a, smm[:, :, a:])
                else:
                    smm[firsts == a, :, a:] = constant_smm(speeds[firsts == a], "PSA", ages + a, span - a)
            paths = rates[:, :span]
            yield part, run_smm(deal, smm, np.broadcast_to(paths, (len(part), *paths.shape)))[1]

    # Every (after, speed) run so far, by first leg (after): the speeds [run] and each searched
    # class's largest distance from its schedule after the first leg [run, class], in the order
    # first run; `seen` says where each (after, speed) is. A speed is never run twice (the edges
    # reported were run), except a screened one (`partial`) asked for in full.
    table: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    seen: dict[tuple[int, float], int] = {}
    # The class balances at the end of each horizon's first leg [class]: the same in every row of
    # that horizon (the second leg has not started), so read off the first row run.
    ends: dict[int, np.ndarray] = {}

    # The classes whose balances a run is read for: the searched ones, and the support (whose
    # balance left after the first leg the results report); only theirs are derived.
    owners = [k for k in deal.classes if k.in_waterfall]
    support = [k for k in owners if k.is_support] or [k for k in owners if k.index not in deal.schedules]
    own = list(dict.fromkeys(int(i) for i in index))
    read = list(dict.fromkeys([*own, *(k.index for k in support)]))

    # The rows of `seen` run over the first look's first periods only (see _first_look): their
    # distance up to then, a lower bound, already above a cent for every class searched.
    partial: set[tuple[int, float]] = set()

    def miss(rows: list[tuple[int, float]], span: int = horizon) -> np.ndarray:
        """Each searched class's largest distance from its schedule after the row's first leg,
        [row, class]; rows not seen before are run, together, as the scenarios of one run. With
        `span` short of the horizon, they run over the first `span` periods only and are marked
        `partial`; asked for over the horizon, a partial row is run again in full."""
        keys = [(int(a), float(s)) for a, s in rows]
        redo = partial if span == horizon else set()  # (a set: the usual case, a round, has none)
        new = [k for k in dict.fromkeys(keys) if k not in seen or k in redo]
        if new:
            if span == horizon:
                partial.difference_update(new)
            else:
                partial.update(new)
            for part, run in flows(new, span):
                firsts = np.array([a for a, _ in part])
                # The support's balances as well only while a first leg's end is still to be read.
                cols = read if any(a and a not in ends for a in set(firsts.tolist())) else own
                ending = run.ending_principal(cols)  # [row, class read, period]
                # The periods after each row's first leg only, the rows of each first leg together.
                for a in np.unique(firsts):
                    at = slice(None) if firsts[0] == firsts[-1] == a else np.flatnonzero(firsts == a)
                    found = np.empty((len(ending[at]), len(index)))
                    for j in range(len(index)):
                        gap = np.subtract(ending[at, cols.index(int(index[j])), a:], schedules[j, a:span])
                        found[:, j] = np.abs(gap, out=gap).max(axis=1)
                    a = int(a)
                    if a and a not in ends:
                        ends[a] = ending[at, :, a - 1][0].copy()
                    speeds, misses = table.get(a, (np.empty(0), np.empty((0, len(index)))))
                    keys_a = part if isinstance(at, slice) else [part[k] for k in at]
                    again = np.array([k in seen for k in keys_a], dtype=bool)
                    if again.any():  # screened rows, now run in full: in their places
                        misses[[seen[k] for k, x in zip(keys_a, again, strict=True) if x]] = found[again]
                    fresh = [k for k, x in zip(keys_a, again, strict=True) if not x]
                    seen.update(zip(fresh, range(len(speeds), len(speeds) + len(fresh)), strict=True))
                    table[a] = (np.concatenate([speeds, [s for _, s in fresh]]),
                                np.concatenate([misses, found[~again]]))
        firsts = np.array([a for a, _ in keys])
        place = np.array([seen[k] for k in keys], dtype=np.int64)
        out = np.empty((len(keys), len(index)))
        for a in np.unique(firsts):
            at = firsts == a
            out[at] = table[int(a)][1][place[at]]
        return out

    lo_lim, hi_lim = limits
    grid = np.linspace(lo_lim, hi_lim, BAND_FIRST_GRID)
    looks = _first_look(miss, afters, grid, horizon)
    then: dict[int, tuple[np.ndarray, float]] = {}
    at_read = {c: r for r, c in enumerate(read)}  # a class's place in the balances read
    for after in afters:
        end = ends[after] if after else None
        support_then = float(end[[at_read[k.index] for k in support]].sum()) if end is not None \
            else sum(k.balance for k in support)
        then[after] = (end, support_then)

    out: dict[tuple[str, int], SolveResult | InputError] = {}
    searches: list[_BandSearch] = []
    for h, after in enumerate(afters):
        end, support_then = then[after]
        for j, c in enumerate(searched):
            key = (c.name, after)
            balance_then = float(end[at_read[c.index]]) if after else c.balance
            if balance_then <= SCHEDULE_TOLERANCE:
                out[key] = InputError(
                    f"{c.name} is retired by period {after} at {at.label}; it has no band left")
                continue
            holds = looks[h * len(grid):(h + 1) * len(grid), j] <= SCHEDULE_TOLERANCE
            if not holds.any():
                scheduled_then = float(deal.schedules[c.index][after - 1]) if after else c.balance
                out[key] = InputError(
                    f"after {after} periods at {at.label}, no constant speed from {lo_lim:g} to {hi_lim:g} "
                    f"PSA keeps {c.name} on its schedule (balance {balance_then:,.2f}, scheduled "
                    f"{scheduled_then:,.2f}, support left {support_then:,.2f}): the PAC is busted")
                continue
            # The runs of consecutive grid speeds that hold.
            edges = np.flatnonzero(np.diff(np.concatenate([[0], holds.astype(int), [0]])))
            intervals = list(zip(edges[::2], edges[1::2] - 1, strict=True))
            i_lo, i_hi = max(intervals, key=lambda r: r[1] - r[0])
            searches.append(_BandSearch(
                c.name, j, after,
                lower=(grid[i_lo - 1], grid[i_lo]) if i_lo > 0 else None,
                upper=(grid[i_hi + 1], grid[i_hi]) if i_hi < len(grid) - 1 else None,
                monotonic=len(intervals) == 1))

    while True:
        active = [b for b in searches if b.open(tol)]
        if not active:
            break
        # Every open bracket of every search: a few speeds where the edge is expected and a
        # coarse grid across the bracket as a safeguard, all run at once.
        rows, spans = [], []
        runs_of = dict(table)  # after -> (speeds, misses) so far
        for b in active:
            b.rounds += 1
            for bracket in (b.lower, b.upper):
                if bracket is None or abs(bracket[1] - bracket[0]) <= tol:
                    spans.append(None)
                    continue
                pts = _edge_probes(bracket, *_edge_guess(bracket, b.index, *runs_of[b.after]), tol)
                spans.append((len(rows), len(rows) + len(pts), pts))
                rows.extend((b.after, float(x)) for x in pts)
        ok = miss(rows) <= SCHEDULE_TOLERANCE
        for n, b in enumerate(active):
            for k in (0, 1):
                span, bracket = spans[2 * n + k], (b.lower, b.upper)[k]
                if span is None or bracket is None:
                    continue
                first, stop, pts = span
                good = ok[first:stop, b.index]
                ordered_pts = np.concatenate([[min(bracket)], pts, [max(bracket)]])
                # lower edge: bad below, good above; upper edge: good below, bad above
                flags = np.concatenate([[k == 1], good, [k == 0]])
                switches = np.flatnonzero(flags[1:] != flags[:-1])
                if len(switches) != 1:
                    b.monotonic = False
                j = switches[0] if k == 0 else switches[-1]
                if k == 0:
                    b.lower = (ordered_pts[j], ordered_pts[j + 1])
                else:
                    b.upper = (ordered_pts[j + 1], ordered_pts[j])

    for b in searches:
        c = searched[b.index]
        after = b.after
        lo = float(b.lower[1]) if b.lower is not None else lo_lim
        hi = float(b.upper[1]) if b.upper is not None else hi_lim
        width = max([abs(x[1] - x[0]) for x in (b.lower, b.upper) if x is not None], default=0.0)
        # Both edges were run (the limits by the first grid): their distances are at hand.
        edge_miss = float(miss([(after, lo), (after, hi)])[:, b.index].max())
        end, support_then = then[after]
        balance_then = float(end[at_read[c.index]]) if after else c.balance
        scheduled_then = float(deal.schedules[c.index][after - 1]) if after else c.balance
        notes = []
        if b.lower is None:
            notes.append(f"holds down to {lo_lim:g} PSA")
        if b.upper is None:
            notes.append(f"holds up to the {hi_lim:g} PSA searched")
        if not b.monotonic:
            notes.append("the speeds that hold are not one interval; the widest is shown")
        msg = (f"after {after} periods at {at.label}, {c.name} holds its schedule from {lo:.4f} to "
               f"{hi:.4f} PSA" + (f" ({'; '.join(notes)})" if notes else ""))
        out[(c.name, after)] = SolveResult(
            goal=f"the band {c.name}'s schedule holds after {after} periods at {at.label}",
            variable="constant PSA speed from then on", value=(lo, hi), achieved=edge_miss,
            target=SCHEDULE_TOLERANCE, error=width, iterations=runs, converged=width <= tol and b.monotonic,
            message=msg,
            details={"balance_then": balance_then, "scheduled_then": scheduled_then,
                     "support_then": support_then, "support_classes": ", ".join(k.name for k in support),
                     "monotonic": b.monotonic, "rounds": b.rounds})
    return out


def _first_look(miss: Callable[..., np.ndarray], afters: list[int], grid: np.ndarray,
                horizon: int) -> np.ndarray:
    """effective_bands' first look: each searched class's largest distance from its schedule
    [row, class] at every speed of `grid` after each of `afters` (rows after by after), as
    `miss` finds it over the whole horizon, except for rows that miss by more than a cent for
    every class within BAND_SCREEN periods after their first leg (the latest one screened):
    theirs is the distance over those periods (a lower bound), which the search reads only as
    "does not hold" (the rows whose distance a guess reads, the three nearest that miss on either
    side of each speed that may hold, are run in full). So the search goes, speed for speed, as
    if every row had been run in full; the first look is two engine runs, not one. Horizons
    whose screen would exceed half the runs' periods are not screened."""
    rows = [(after, float(speed)) for after in afters for speed in grid]
    short = [a for a in afters if 2 * (a + BAND_SCREEN) <= horizon]
    if not short:
        return miss(rows)
    screened = np.repeat([a <= max(short) for a in afters], len(grid))  # [row]
    first = miss([r for r, s in zip(rows, screened, strict=True) if s], max(short) + BAND_SCREEN)
    bust = first > SCHEDULE_TOLERANCE  # [screened row, class]: surely does not hold
    keep = ~bust.all(axis=1)
    for h in range(0, len(first), len(grid)):  # each horizon's grid
        for column in bust[h:h + len(grid)].T:
            missed, rest = np.flatnonzero(column) + h, np.flatnonzero(~column) + h
            if len(missed) and len(rest):
                k = np.searchsorted(missed, rest)  # the first missed speed above each other one
                near = (k[:, None] + np.arange(-3, 3)[None, :]).ravel()
                keep[missed[near[(near >= 0) & (near < len(missed))]]] = True
    full = ~screened
    full[screened] = keep
    looks = np.empty((len(rows), first.shape[1]))
    looks[screened] = first
    if full.any():
        looks[full] = miss([r for r, f in zip(rows, full, strict=True) if f])
    return looks


def _edge_guess(bracket: tuple[float, float], column: int, speeds: np.ndarray,
                misses: np.ndarray) -> tuple[float, float | None]:
    """Where the edge in `bracket` (bad, good) probably is, and how far off that may be (None:
    no idea): the speed at which the class's distance from its schedule reaches
    SCHEDULE_TOLERANCE, by the parabola through the three runs nearest the bracket on its bad
    side (outside the band the distance grows smoothly with the speed, linearly near the edge and
    faster further out; inside it is nil, so the good side says nothing), its error guessed as
    its distance from the secant through the nearest two (at least EDGE_KINK times the distance
    it extrapolates); the parabola's lowest point where it does not reach the cent; by that
    secant alone (error unknown) where neither is inside the bracket; the bracket's middle
    without them.
    `speeds` [run] and `misses` [run, class] are the runs of the search's horizon so far."""
    bad, good = bracket
    lo, hi = min(bracket), max(bracket)
    gap = (speeds - good) * np.sign(bad - good)
    f = misses[:, column] - SCHEDULE_TOLERANCE
    outside = np.flatnonzero((gap >= abs(bad - good)) & (f > 0))
    near = outside[np.argsort(gap[outside], kind="stable")[:3]]
    s, y = speeds[near], f[near]
    secant = None
    if len(near) >= 2 and y[1] != y[0]:
        x = s[0] - y[0] * (s[1] - s[0]) / (y[1] - y[0])
        secant = float(x) if lo < x < hi else None
    if len(near) == 3 and len(set(s.tolist())) == 3:
        # Newton's form about the nearest run: y0 + d1 x + d2 x (x - x1), x = speed - s0
        x1, x2 = s[1] - s[0], s[2] - s[0]
        d1 = (y[1] - y[0]) / x1
        d2 = ((y[2] - y[1]) / (x2 - x1) - d1) / x2
        a, b, c = d2, d1 - d2 * x1, y[0]
        roots: list[float] = []
        if a == 0.0:
            roots = [-c / b] if b != 0.0 else []
        elif b * b >= 4 * a * c:
            q = -0.5 * (b + np.copysign(np.sqrt(b * b - 4 * a * c), b))  # the stable pair of roots
            roots = [q / a, c / q] if q != 0.0 else [q / a]
        inside = [float(s[0] + r) for r in roots if lo < s[0] + r < hi]
        if inside:
            x = min(inside, key=lambda r: abs(r - s[0]))
            return x, (max(abs(x - secant), EDGE_KINK * abs(x - s[0])) if secant is not None else None)
        if a > 0.0 and lo < s[0] - b / (2 * a) < hi:
            # No crossing: the distance falls to the cent more steeply near the edge than the
            # parabola says (~ b D + c D^2 at D from where it leaves the schedule, b small): its
            # lowest point is near the edge, off by about the parabola's width at its minimum.
            x = float(s[0] - b / (2 * a))
            return x, max(float(np.sqrt((c - b * b / (4 * a)) / a)), EDGE_KINK * abs(x - s[0]))
    if secant is not None:
        return secant, None
    return 0.5 * (bad + good), None


def _edge_probes(bracket: tuple[float, float], guess: float, error: float | None, tol: float) -> np.ndarray:
    """The speeds to run inside `bracket` next: a ladder of pairs around `guess`, from within
    `tol` of it outwards by factors of EDGE_LADDER as far as EDGE_REACH times its likely `error`
    (across the bracket when that is unknown), so the bracket shrinks to a few times the guess's
    error, to `tol` when the guess is that good; and, in case the guess is poor, EDGE_GRID even
    speeds across the bracket. Sorted, strictly inside the bracket."""
    lo, hi = min(bracket), max(bracket)
    reach = hi - lo if error is None else min(hi - lo, max(EDGE_REACH * error, tol))
    rungs = max(1, int(np.ceil(np.log(reach / (0.45 * tol)) / np.log(EDGE_LADDER))) + 1)
    steps = 0.45 * tol * EDGE_LADDER ** np.arange(rungs)
    pts = np.concatenate([guess - steps, guess + steps, np.linspace(lo, hi, EDGE_GRID + 2)[1:-1]])
    return np.unique(pts[(pts > lo) & (pts < hi)])
