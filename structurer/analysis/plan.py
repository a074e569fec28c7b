"""The run plan: every run, table and check the report shows, computed before it renders.

The report (structurer/present/report.py) and its charts only format and draw; whatever needs
the engine, the valuation or the tie-out is computed here, in one place and in one pass:

- the tiers' band runs that the schedule charts draw (one run per PAC/TAC tier),
- the structuring range of each PAC/TAC tier: the balance its band supports against the
  balance issued (structuring.solve.max_pac_balance), and each scheduled class's effective
  band today and after EFFECTIVE_AFTER periods at the pricing speed (solve.effective_band),
- the quotes (the caller's, or the deal's analytics block priced on its curve), the analytics
  block's price/yield tables, and the yield tables of quoted IO, PO and inverse floater classes
  by speed (and index level),
- the REMIC tie-out,
- for a credit run (default scenarios, or a shifting-interest deal), the Credit section: loss by
  class across the scenarios, each class's yield under them, credit enhancement over time and
  the shifting-interest triggers' timeline (CreditPlan),
- the collateral's statistics,
- for a large run, what the report summarises (analysis.budget): a run of more scenarios than
  budget.SCENARIOS_LISTED gets each class's measures by scenario and their distribution over
  all scenarios (ScenarioSummary); a deal whose class-periods exceed
  budget.CASHFLOW_CELLS_MONTHLY gets its cash flows by year (YearlyFlows).

    plan = report_plan(results, decrement=deal.run(*deal.decrement))
    html = render(plan)            # structurer.present.report

The notebook views are planned the same way (deal_view, results_view).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..results import measures
from ..results.results import COLLATERAL
from . import budget

if TYPE_CHECKING:
    import pandas as pd

    from ..engine.schedules import Tier
    from ..model.curve import Curve
    from ..model.deal import Deal, HorizonSpec, QuoteSpec, Tranche
    from ..model.prepayment import Prepayment
    from ..results.results import Results
    from ..structuring.tieout import TieOut
    from ..valuation.horizon import HorizonResult
    from ..valuation.quotes import Quote
    from .oas import OasResult


@dataclass(frozen=True)
class BandRun:
    """A scheduled tier's classes run at the tier's band speeds (or the pricing speed, for an
    explicit schedule), for the schedule-against-band charts."""

    tier: Tier
    names: tuple[str, ...]
    results: Results


# The periods after which the report shows a PAC's effective band at the pricing speed: today,
# and after one, three and five years, the horizons desks quote a seasoned PAC's band at.
EFFECTIVE_AFTER = (0, 12, 36, 60)
# The report shows band edges to whole PSA, so the solver need pin them no closer than this:
# a third of the engine runs its default tolerance takes.
EFFECTIVE_TOLERANCE = 0.5
# The effective bands of every class and horizon are searched together (solve.effective_bands:
# one engine run per round, its scenarios every class's speeds), so each class adds scenarios to
# those runs, not runs; a deal with many scheduled classes still gets them for its first
# EFFECTIVE_CLASSES only, and the report names the rest.
EFFECTIVE_CLASSES = 8


@dataclass(frozen=True)
class EffectiveBand:
    """The band a class's schedule still holds after `after` periods at the pricing speed
    (solve.effective_band); `band` None when it holds at no speed or the class is retired by
    then, and `note` says why (or what the solver noted about the band)."""

    after: int
    band: tuple[float, float] | None
    note: str


@dataclass(frozen=True)
class StructuringRange:
    """A PAC/TAC tier's structuring range: its band, the balance the band supports (None for
    an explicit schedule, which has no band) against the balance issued, and each scheduled
    class's effective band at the pricing speed `at` (empty if the deal has no pricing speed)."""

    tier: Tier
    names: tuple[str, ...]
    supported: float | None
    issued: float
    at: str | None
    effective: dict[str, list[EffectiveBand]]
    omitted: tuple[str, ...] = ()   # classes past EFFECTIVE_CLASSES: no effective band computed


@dataclass(frozen=True)
class PriceYieldTable:
    """The analytics block's price/yield table of one class (valuation.price_yield_table)."""

    name: str
    prices: int
    frame: pd.DataFrame
    mortgage: pd.DataFrame | None = None  # the price rows' yields as mortgage yields


@dataclass(frozen=True)
class IndexTable:
    """A quoted IO, PO or inverse floater's yield at its quoted price, by speed and (if the
    deal has an index) index level; `levels` None means a price/yield table at one price."""

    name: str
    kind: str
    price: float
    index: str | None
    levels: list[float] | None
    frame: pd.DataFrame
    mortgage: pd.DataFrame | None = None  # the same yields as mortgage yields


@dataclass(frozen=True)
class Pricing:
    """The quotes, and the specs they were priced from (empty if the caller gave none)."""

    quotes: Mapping[str, Quote]
    specs: Sequence[QuoteSpec]
    tables: list[PriceYieldTable]
    index_tables: list[IndexTable]
    horizons: list[HorizonResult] = field(default_factory=list)  # total return, class by horizon


# The distribution of a measure over the scenarios: these percentiles, between min and max.
PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class Distribution:
    """One measure of one class over every scenario of the run: its min, PERCENTILES, max and
    mean (NaN scenarios, where the measure does not exist, left out), the scenarios (run
    columns) at its min and max, and how many scenarios have it."""

    name: str
    measure: str
    low: float
    percentiles: tuple[float, ...]
    high: float
    mean: float
    at_low: int
    at_high: int
    count: int


@dataclass(frozen=True)
class ScenarioSummary:
    """A run of more scenarios than budget.SCENARIOS_LISTED, summarised: `listed` the scenarios
    (run columns) whose measures are tabulated one row each, `wal` each class's WAL (notional
    WAL for a notional class) for every scenario, and each class's distributions over all."""

    total: int
    listed: tuple[int, ...]
    wal: dict[str, np.ndarray]
    distributions: list[Distribution]


@dataclass(frozen=True)
class YearlyFlows:
    """A class's (or the collateral's) cash flows at one scenario by year: per year its first and
    last period, the beginning balance of its first period, the sums over its periods, and the
    balances (and carried shortfall) after its last. Years run to the last with cash."""

    name: str
    columns: dict[str, np.ndarray]

    @property
    def years(self) -> int:
        return len(self.columns["year"])


@dataclass(frozen=True)
class CreditPlan:
    """The report's Credit section, computed: for the scenarios listed (run columns), each class's
    write-down (in the loss order, the most junior first) in dollars and in percent of its
    original balance, and its yield (BEY, decimal; NaN where it has none) at `prices` (its quoted
    price at the chart scenario, else par); the collateral's realized loss; each class's credit
    enhancement (Results.credit_enhancement) at `scenario` by period and at each anniversary;
    and for a deal with triggers (shifting interest, named triggers) their timeline: the months
    each trigger fails in each year [scenario, trigger, year], and for a shifting-interest deal the
    first period the seniors' share of prepayments stepped below 100% (None: never, or no such
    rule: `shifting`)."""

    scenarios: tuple[int, ...]
    classes: tuple[str, ...]
    writedown: np.ndarray  # [class, scenario]
    loss_pct: np.ndarray  # [class, scenario]
    collateral_loss: np.ndarray  # [scenario]
    collateral_loss_pct: np.ndarray  # [scenario]
    prices: dict[str, float]
    yields: np.ndarray  # [class, scenario]
    scenario: int
    enhancement: np.ndarray  # [class, period] at `scenario`
    anniversaries: np.ndarray  # periods (from 1) of the anniversaries shown
    triggers: tuple[str, ...]
    timeline: np.ndarray  # [scenario, trigger, year]: months failing
    first_step_down: tuple[int | None, ...]
    run: Results | None = None  # the run of these figures: the report's own, or its deal's stresses
    reimbursed: np.ndarray | None = None  # [class, scenario]: write-downs paid back (None: the deal does not)
    # A grouped deal: each group's name, its pools' realized loss [group, scenario] in dollars and
    # in percent of its pools' original balance, and what none of its classes was left to absorb.
    groups: tuple[str, ...] = ()
    group_loss: np.ndarray | None = None
    group_loss_pct: np.ndarray | None = None
    group_unabsorbed: np.ndarray | None = None
    # Overcollateralization and the reserve account at `scenario`, by year (the anniversaries):
    # each row's name and values [year] (balances at the anniversary, flows summed over the year);
    # empty for a deal with neither.
    enhancement_years: tuple[tuple[str, np.ndarray], ...] = ()
    shifting: bool = False  # a shifting-interest deal: `first_step_down` means something

    @property
    def mortgage_yields(self) -> np.ndarray:
        """The same yields as mortgage (monthly-compounded) yields [class, scenario]."""
        from ..valuation.yields import mortgage_from_bey

        return mortgage_from_bey(self.yields)


@dataclass(frozen=True)
class ReportPlan:
    """Everything the report shows, computed: the run itself and the runs derived from it."""

    results: Results
    decrement: Results | None
    stats: dict[str, float]
    chart_scenario: int          # the scenario charts, schedules and index tables are drawn at
    chart_is_pricing: bool       # ... and whether it is the deal's pricing scenario
    band_runs: list[BandRun]
    ranges: list[StructuringRange]
    notional_wal: dict[str, np.ndarray]             # each notional class's WAL, per scenario
    decrement_notional_wal: dict[str, np.ndarray]   # ... at the decrement speeds (empty: no run)
    pricing: Pricing | None
    tieout: TieOut
    scenarios: ScenarioSummary | None = None    # None: every scenario is shown in full
    yearly: list[YearlyFlows] | None = None     # None: the cash flows are shown month by month
    tapes: dict[str, dict[str, Any]] = field(default_factory=dict)  # each loan tape's statistics, strata
    oas: OasResult | None = None  # OAS figures and the rate-shift table (analysis/oas.py)
    credit: CreditPlan | None = None  # None: no defaults and no shifting interest


@dataclass(frozen=True)
class NotebookView:
    """A notebook view of a deal or a run: the deal's collateral statistics and the run whose
    cover tables are shown (None for a deal that names no speed)."""

    deal: Deal
    stats: dict[str, float]
    results: Results | None
    notional_wal: dict[str, np.ndarray]


def notional_wal(results: Results | None) -> dict[str, np.ndarray]:
    """Each notional class's WAL per scenario: the WAL of its notional balance's paydown, the
    average life its pricing uses (valuation.quotes.average_life). Results.wal gives NaN for
    them, as they are paid no principal; the report shows this one, labelled notional."""
    from ..valuation.quotes import average_life

    if results is None:
        return {}
    return {t.name: average_life(results, t.name) for t in results.deal.issued_classes if t.is_notional}


def pricing_scenario(results: Results) -> int | None:
    """The run's column for the deal's pricing scenario, if the run has it."""
    deal = results.deal
    for s, spec in enumerate(results.scenario_specs):
        if deal.pricing is not None and spec == deal.pricing:
            return s
    return None


def chart_scenario(results: Results) -> tuple[int, bool]:
    """The scenario the charts and schedules show: the pricing scenario if the run has it,
    else the run's first; and whether it is the pricing scenario."""
    pricing = pricing_scenario(results)
    return (pricing, True) if pricing is not None else (0, False)


def quote_kind(tranche: Tranche) -> str | None:
    """IO, PO or INV: the classes whose yield desks tabulate by speed and index level."""
    return tranche.quote_kind


def index_levels(deal: Deal, index: str) -> list[float]:
    """The deal's index path at period 1, and 100 and 200bp either side (no negative level)."""
    base = float(deal.indices[index].path(1)[0])
    return [base + shift for shift in (-0.02, -0.01, 0.0, 0.01, 0.02) if base + shift >= -1e-12]


def band_runs(deal: Deal) -> list[BandRun]:
    """One run per scheduled tier, at its band speeds (an explicit schedule, which has no band,
    at the pricing speed); tiers with no class to draw or no speed are skipped."""
    out = []
    for tier in deal.tiers:
        names = tuple(deal.classes[i].name for i in tier.classes if i in deal.schedules)
        if not names:
            continue
        speeds = list(tier.band) or ([deal.pricing] if deal.pricing is not None else [])
        if not speeds:
            continue
        out.append(BandRun(tier, names, deal.run(*speeds)))
    return out


def _effective_band(n: int, found: Any) -> EffectiveBand:
    """One of solve.effective_bands' results as the report shows it: the band and its notes, or
    why there is none (retired, busted)."""
    from ..structuring import solve

    if isinstance(found, InputError):
        return EffectiveBand(n, None, str(found))
    low, high = found.value
    notes = []
    if high >= solve.BAND_LIMITS[1]:
        notes.append(f"holds up to the {solve.BAND_LIMITS[1]:g} PSA searched")
    if not found.details.get("monotonic", True):
        notes.append("the speeds that hold are not one interval; the widest is shown")
    return EffectiveBand(n, (float(low), float(high)), "; ".join(notes))


def effective_bands(deal: Deal, names: Sequence[str], at: Prepayment,
                    after: Sequence[int] = EFFECTIVE_AFTER) -> dict[str, list[EffectiveBand]]:
    """Scheduled classes' effective bands after each of `after` periods at speed `at` (those
    inside the deal's term), searched together (solve.effective_bands: a few engine runs for
    all of them); a class retired by then, or a busted schedule, gets a note."""
    from ..structuring import solve

    horizons = [n for n in after if n < deal.periods]
    if not names or not horizons:
        return {name: [] for name in names}
    found = solve.effective_bands(deal, list(names), horizons, at, tol=EFFECTIVE_TOLERANCE)
    return {name: [_effective_band(n, found[(name, n)]) for n in horizons] for name in names}


def structuring_ranges(deal: Deal) -> list[StructuringRange]:
    """Each PAC/TAC tier's structuring range: the solver's supported balance against the balance
    issued, and its classes' effective bands at the pricing speed (none without one)."""
    from ..structuring import solve

    if deal.groups:
        # A band's capacity and effective band are derived on the whole collateral, where a
        # group's come from its own pools: the solvers refuse grouped deals, and the report
        # leaves the section out (docs/language.md, "Collateral groups", says so).
        return []
    at = deal.pricing.prepayment if deal.pricing is not None else None
    tiers = []
    budget = EFFECTIVE_CLASSES
    for tier in deal.tiers:
        names = tuple(deal.classes[i].name for i in tier.classes if i in deal.schedules)
        if not names:
            continue
        searched = names[:budget] if at is not None else ()
        budget = max(0, budget - len(names)) if at is not None else budget
        tiers.append((tier, names, searched))
    # Every tier's searches at once: one batch of engine runs for the whole section.
    bands = effective_bands(deal, [n for _, _, searched in tiers for n in searched], at) if at is not None \
        else {}
    out = []
    for tier, names, searched in tiers:
        supported = None if tier.explicit is not None else float(solve.max_pac_balance(deal, names[0]).value)
        effective = {name: bands[name] for name in searched}
        omitted = names[len(searched):] if at is not None else ()
        out.append(StructuringRange(tier, names, supported, float(tier.balance),
                                    at.label if at is not None else None, effective, omitted))
    return out


def horizon_results(results: Results, quotes: Mapping[str, Quote], horizons: Sequence[HorizonSpec],
                    curve: Curve | None) -> list[HorizonResult]:
    """The total return (valuation.horizon) of each quoted class each horizon names, bought at
    its quote: a class the horizon names that was not priced is left out."""
    from ..valuation.horizon import horizon_return

    return [horizon_return(results, quotes[name], h.months, h.reinvest, h.sell, h.value, curve)
            for h in horizons for name in h.classes if name in quotes]


def pricing_plan(results: Results, quotes: Mapping[str, Quote] | None,
                 specs: Sequence[QuoteSpec] | None,
                 horizons: Sequence[HorizonResult] | None = None) -> Pricing | None:
    """Quotes, the analytics block's price/yield tables, and for quoted IO, PO and inverse
    floater classes their yield by speed (and index level, if the deal has an index).

    `quotes` None: price what the deal's analytics block asks for, on its curve. `horizons`
    None: the total returns the deal's analytics block asks for, of the quoted classes."""
    from ..valuation import quotes as valuation

    deal = results.deal
    if quotes is None:
        specs = list(deal.analytics.quotes)
        quotes = valuation.quote_classes(results, specs, deal.analytics.curve) if specs else {}
    if not quotes and not deal.analytics.tables:
        return None

    tables = []
    for spec in deal.analytics.tables:
        run = deal.run(*spec.speeds)  # one run for every class's table, both ways
        for tranche in deal.issued_classes:
            if tranche.is_residual:
                continue
            frame, mortgage = valuation.price_yield_frames(run, tranche.name, list(spec.prices))
            tables.append(PriceYieldTable(tranche.name, len(spec.prices), frame,
                                          mortgage.iloc[:len(spec.prices)]))

    s, _ = chart_scenario(results)
    speeds = list(deal.decrement) or list(dict.fromkeys(results.prepayments))
    import pandas as pd  # late: pandas is slow to import, and only priced runs need it

    from ..valuation.yields import mortgage_from_bey

    index_tables = []
    for name, q in quotes.items():
        tranche = deal.tranche(name)
        kind = quote_kind(tranche)
        price = float(q.price[s])
        if kind is None or not math.isfinite(price):
            continue
        index = tranche.formula.index if tranche.formula is not None else \
            (deal.index_names[0] if deal.index_names else None)
        if index is not None:
            levels = index_levels(deal, index)
            frame = valuation.index_yield_table(deal, name, price, speeds, index, levels)
            mortgage = pd.DataFrame(100.0 * mortgage_from_bey(frame.to_numpy(dtype=float) / 100.0),
                                    index=frame.index, columns=frame.columns)
            mortgage.index.name = frame.index.name
            index_tables.append(IndexTable(name, kind, price, index, levels, frame, mortgage))
        else:
            frame, mortgage = valuation.price_yield_frames(deal.run(*speeds), name, [price])
            mortgage = mortgage.iloc[:1]
            index_tables.append(IndexTable(name, kind, price, None, None, frame, mortgage))
    if horizons is None:
        horizons = horizon_results(results, quotes, deal.analytics.horizons, deal.analytics.curve)
    return Pricing(quotes, list(specs or ()), tables, index_tables, list(horizons))


def report_plan(results: Results, decrement: Results | None = None,
                quotes: Mapping[str, Quote] | None = None,
                specs: Sequence[QuoteSpec] | None = None,
                horizons: Sequence[HorizonResult] | None = None) -> ReportPlan:
    """Compute everything the report of a run shows (and of a decrement-speed run, if given).

    `quotes` are the classes priced (valuation.quote_classes on this run) and `specs` what they
    were priced from; without them the plan prices what the deal's analytics block asks.
    `horizons`: the total returns computed (horizon_results); None: the analytics block's."""
    from ..structuring.tieout import tieout

    deal = results.deal
    if decrement is not None and decrement.deal.name != deal.name:
        raise InputError(f"the decrement run is of deal \"{decrement.deal.name}\", "
                         f"not \"{deal.name}\"")
    s, is_pricing = chart_scenario(results)
    wal = notional_wal(results)
    priced = pricing_plan(results, quotes, specs, horizons)
    return ReportPlan(
        results=results,
        decrement=decrement,
        stats=measures.collateral_stats(deal.pools),
        chart_scenario=s,
        chart_is_pricing=is_pricing,
        band_runs=band_runs(deal),
        ranges=structuring_ranges(deal),
        notional_wal=wal,
        decrement_notional_wal=notional_wal(decrement),
        pricing=priced,
        tieout=tieout(deal),
        scenarios=scenario_summary(results, wal),
        yearly=(yearly_flows(results, 0) if class_periods(results) > budget.CASHFLOW_CELLS_MONTHLY
                else None),
        tapes=tape_summaries(deal),
        credit=_credit_section(results, priced.quotes if priced is not None else None, s),
    )


def _credit_section(results: Results, quotes: Mapping[str, Quote] | None, chart: int) -> CreditPlan | None:
    """The Credit section of the run; for a run without defaults of a deal whose named scenarios
    carry default assumptions (the report of a plain `structure DEAL`, at its pricing speed), of
    a run of those scenarios, each class priced as the run quoted it at the charts' scenario."""
    deal = results.deal
    stressed = [sc for sc in deal.scenarios.values() if sc.defaults is not None]
    if results.is_credit or not stressed:
        return credit_plan(results, quotes, chart)
    prices = {name: float(q.price[chart]) for name, q in (quotes or {}).items()
              if math.isfinite(float(q.price[chart]))}
    return credit_plan(deal.run(*stressed), None, 0, prices)


def credit_plan(results: Results, quotes: Mapping[str, Quote] | None, chart: int,
                prices: Mapping[str, float] | None = None) -> CreditPlan | None:
    """The Credit section's tables (see CreditPlan), or None for a run without defaults of a deal
    without shifting interest. `prices`: each class's clean price for its yields, in place of its
    quote at scenario `chart` (par for a class with neither)."""
    from ..valuation import quotes as valuation
    from ..valuation import yields

    deal = results.deal
    shifting = results.shifting_rules()
    if not results.is_credit and not shifting and not results.enhancement() and not deal.triggers:
        return None
    listed = tuple(range(min(len(results.scenarios), budget.SCENARIOS_LISTED)))
    order = [i for tier in (deal.losses or ()) for i in tier]
    order += [c.index for c in deal.issued_classes if c.index not in order and not c.is_residual
              and not c.is_notional]
    names = tuple(deal.classes[i].name for i in order)
    wd = results.writedowns()[list(listed)].sum(axis=2)[:, order].T  # [class, scenario]
    reimbursed = (results.reimbursements()[list(listed)].sum(axis=2)[:, order].T
                  if deal.reimburse_losses else None)
    original = np.array([results.original_balance(n) for n in names], dtype=float)
    loss_pct = np.divide(100.0 * wd, original[:, None], out=np.zeros_like(wd), where=original[:, None] > 0)
    coll_losses = getattr(results.collateral, "losses", None)
    coll_loss = (coll_losses[list(listed)].sum(axis=1) if coll_losses is not None
                 else np.zeros(len(listed)))
    coll_original = float(sum(p.balance for p in deal.pools))
    months = yields.discount_months(deal.settle, results.dates)
    prices: dict[str, float] = {}
    ylds = np.full((len(names), len(listed)), np.nan)
    for k, name in enumerate(names):
        q = (quotes or {}).get(name)
        price = float(q.price[chart]) if q is not None and math.isfinite(float(q.price[chart])) else 100.0
        if prices is not None:
            price = prices.get(name, 100.0)
        prices[name] = price
        face = results.original_balance(name)
        cash = valuation.class_cash(results, name)[list(listed)]
        accrued = valuation.accrued_per_100(results, name)[list(listed)]
        if face > 0:
            with np.errstate(all="ignore"):
                ylds[k] = yields.yield_from_price(cash, months, (price + accrued) * face / 100.0)
    enhancement = results.credit_enhancement()[chart][order]
    anniversaries = np.minimum(np.array(measures.anniversary_periods(results.periods)), results.periods)
    triggers: tuple[str, ...] = ()
    years = math.ceil(results.periods / 12)
    timeline = np.zeros((len(listed), 0, years), dtype=int)
    first: list[int | None] = [None] * len(listed)
    arrays = results.trigger_arrays()
    if arrays:
        triggers = tuple(k for k, v in arrays.items() if v.dtype == bool)
        fails = np.stack([arrays[k][list(listed)] for k in triggers], axis=1)  # [scenario, trigger, period]
        pad = years * 12 - results.periods
        padded = np.concatenate([fails, np.zeros(fails.shape[:2] + (pad,), dtype=bool)], axis=2)
        timeline = padded.reshape(len(listed), len(triggers), years, 12).sum(axis=3)
        if shifting:
            spp = arrays["senior prepayment percentage"][list(listed)]
            first = [int(np.argmax(row < 1.0)) + 1 if (row < 1.0).any() else None for row in spp]
    group_figures: dict[str, Any] = {}
    unabsorbed = getattr(results.flows, "group_unallocated_loss", None)
    if deal.groups and coll_losses is not None and unabsorbed is not None:
        pool_loss = results.collateral.by_pool["losses"][list(listed)]  # [scenario, pool, period]
        g_loss = np.array([pool_loss[:, list(g.pools)].sum(axis=(1, 2)) for g in deal.groups])
        g_original = np.array([sum(deal.pools[p].balance for p in g.pools) for g in deal.groups])
        group_figures = {
            "groups": tuple(g.name for g in deal.groups), "group_loss": g_loss,
            "group_loss_pct": 100.0 * g_loss / np.maximum(g_original, 1.0)[:, None],
            "group_unabsorbed": unabsorbed[list(listed)].sum(axis=2).T,
        }
    return CreditPlan(
        **group_figures,
        scenarios=listed, classes=names, writedown=wd, loss_pct=loss_pct, collateral_loss=coll_loss,
        collateral_loss_pct=100.0 * coll_loss / coll_original if coll_original > 0 else coll_loss * 0.0,
        prices=prices, yields=ylds, scenario=chart, enhancement=enhancement, anniversaries=anniversaries,
        triggers=triggers, timeline=timeline, first_step_down=tuple(first), run=results,
        reimbursed=reimbursed, enhancement_years=enhancement_years(results, chart, anniversaries),
        shifting=bool(shifting),
    )


# The OC and reserve rows of the report's Credit section: (title, field, a balance at the
# anniversary (True) or a flow summed over the year).
_ENHANCEMENT_ROWS = (
    ("OC amount", "oc_amount", True), ("OC target", "oc_target", True),
    ("Turbo (excess interest paid as principal)", "turbo", False), ("OC released", "oc_release", False),
    ("Losses OC took", "oc_absorbed", False), ("Months a trigger failed", "oc_trigger_failing", False),
    ("Reserve balance", "reserve_balance", True),
    ("Reserve deposits", "reserve_deposit", False),
    ("Reserve drawn for interest", "reserve_interest_draw", False),
    ("Reserve drawn for losses", "reserve_loss_draw", False), ("Reserve released", "reserve_release", False),
)


def enhancement_years(results: Results, s: int,
                      anniversaries: np.ndarray) -> tuple[tuple[str, np.ndarray], ...]:
    """The OC and reserve figures of scenario `s` by year: balances at each anniversary period,
    flows summed over the twelve months to it, and the OC as a percent of the collateral."""
    figures = results.enhancement()
    if not figures:
        return ()
    ends = np.asarray(anniversaries, dtype=int)
    starts = np.concatenate([[0], ends[:-1]])
    rows: list[tuple[str, np.ndarray]] = []
    for title, key, balance in _ENHANCEMENT_ROWS:
        if key not in figures:
            continue
        v = figures[key][s]
        got = v[ends - 1] if balance else np.array([v[a:b].sum() for a, b in zip(starts, ends, strict=True)])
        rows.append((title, got))
        if key == "oc_amount":
            coll = results.collateral.ending_balance[s][ends - 1]
            pct = np.divide(100.0 * got, coll, out=np.full(got.shape, np.nan), where=coll > 0)
            rows.append(("OC, % of the collateral", pct))
    return tuple(rows)


def tape_summaries(deal: Deal) -> dict[str, dict[str, Any]]:
    """Each loan tape's statistics and stratification tables (model.tape.collateral_summary)."""
    from ..model.tape import collateral_summary

    return {name: collateral_summary(tape) for name, tape in deal.tapes.items()}


# Measures whose distribution over the scenarios the report shows: (key, label).
MEASURES = (("wal", "WAL (years)"), ("first", "First principal period"),
            ("last", "Last principal period"), ("final", "Final distribution period"))


def distribution(name: str, measure: str, values: np.ndarray) -> Distribution | None:
    """The distribution of one class's measure over the scenarios; None if no scenario has it."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return None
    # The extremes' scenarios: the first run column at the min and at the max.
    masked_low = np.where(ok, v, np.inf)
    masked_high = np.where(ok, v, -np.inf)
    finite = v[ok]
    return Distribution(name, measure, float(finite.min()),
                        tuple(float(x) for x in np.percentile(finite, PERCENTILES)),
                        float(finite.max()), float(finite.mean()),
                        int(masked_low.argmin()), int(masked_high.argmax()), int(ok.sum()))


def scenario_summary(results: Results, notional: Mapping[str, np.ndarray],
                     listed: int = budget.SCENARIOS_LISTED) -> ScenarioSummary | None:
    """A run of more than `listed` scenarios summarised: the first `listed` scenarios' WAL by
    class, and each class's WAL, principal window and final distribution over all scenarios
    (periods where a class pays no principal, and WAL where it has none, left out).
    None for a run small enough to show each scenario in full."""
    n = len(results.scenarios)
    if n <= listed:
        return None
    wal: dict[str, np.ndarray] = {}
    out = []
    for tranche in results.deal.issued_classes:
        if tranche.is_residual:
            continue
        name = tranche.name
        first, last = results.principal_window(name)
        paid = first > 0
        figures = {
            "wal": notional[name] if name in notional else results.wal(name),
            "first": np.where(paid, first, np.nan),
            "last": np.where(paid, last, np.nan),
            "final": np.asarray(results.final_period(name), dtype=float),
        }
        wal[name] = figures["wal"]
        for key, _ in MEASURES:
            d = distribution(name, key, figures[key])
            if d is not None:
                out.append(d)
    return ScenarioSummary(n, tuple(range(listed)), wal, out)


def class_periods(results: Results) -> int:
    """The deal's class-periods, issued classes x periods: the figure
    budget.CASHFLOW_CELLS_MONTHLY bounds for cash flows shown month by month."""
    return len(results.deal.issued_classes) * results.periods


# Columns of a table by year: summed over the year's periods, or read at its first or last.
YEAR_SUMS = ("interest", "scheduled_principal", "prepayment", "principal", "cash_flow", "accrued",
             "servicing_fee")
YEAR_FIRST = ("beginning_balance",)
YEAR_LAST = ("ending_balance", "interest_shortfall")


def by_year(name: str, flows: Mapping[str, np.ndarray], final: int) -> YearlyFlows:
    """Cash flows of one scenario (arrays by period) by year of 12 periods, to the year of the
    last period with cash `final` (no year if it has none)."""
    years = -(-int(final) // 12)
    periods = len(next(iter(flows.values())))
    first = np.arange(years) * 12 + 1
    last = np.minimum(first + 11, periods)
    columns: dict[str, np.ndarray] = {"year": np.arange(1, years + 1), "first": first, "last": last}
    for key, values in flows.items():
        v = np.asarray(values, dtype=float)
        if key in YEAR_SUMS:
            padded = np.zeros(max(years * 12, len(v)))
            padded[:len(v)] = v
            columns[key] = padded[:years * 12].reshape(years, 12).sum(axis=1)
        elif key in YEAR_FIRST:
            columns[key] = v[first - 1]
        elif key in YEAR_LAST:
            columns[key] = v[last - 1]
    return YearlyFlows(name, columns)


def yearly_flows(results: Results, s: int = 0) -> list[YearlyFlows]:
    """The collateral's and every issued class's cash flows at scenario `s`, by year."""
    c = results.collateral
    out = [by_year(COLLATERAL, {
        "beginning_balance": c.beginning_balance[s], "interest": c.interest[s],
        "scheduled_principal": c.scheduled_principal[s], "prepayment": c.prepayment[s],
        "principal": c.principal[s], "cash_flow": c.cash[s], "ending_balance": c.ending_balance[s],
        "servicing_fee": c.servicing_fee[s]}, int(results.final_period(COLLATERAL)[s]))]
    for tranche in results.deal.issued_classes:
        a = results.arrays(tranche.name)
        out.append(by_year(tranche.name, {
            "beginning_balance": a["beginning_balance"][s], "interest": a["interest"][s],
            "principal": a["principal"][s], "cash_flow": a["interest"][s] + a["principal"][s],
            "accrued": a["accrued"][s], "ending_balance": a["ending_balance"][s],
            "interest_shortfall": a["shortfall"][s]}, int(results.final_period(tranche.name)[s])))
    return out


def results_view(results: Results) -> NotebookView:
    """A run as a notebook shows it (Results._repr_html_)."""
    return NotebookView(results.deal, measures.collateral_stats(results.deal.pools), results,
                        notional_wal(results))


def deal_view(deal: Deal) -> NotebookView:
    """A deal as a notebook shows it (Deal._repr_html_): run at its pricing speed, else its
    first decrement speed; not run if it names no speed."""
    speeds = [deal.pricing] if deal.pricing is not None else list(deal.decrement[:1])
    results = deal.run(*speeds) if speeds else None
    return NotebookView(deal, measures.collateral_stats(deal.pools), results, notional_wal(results))
