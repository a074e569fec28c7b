"""Quotes for the classes of a run: price <-> yield, accrued, durations, spreads.

The math is in pricing.py; this module applies it to a class's cash flows in Results and, for
effective risk, re-runs the deal with index rates shifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..dates import THIRTY_360
from ..errors import InputError
from ..model.curve import Curve
from ..model.deal import Deal, QuoteSpec, Tranche
from ..model.prepayment import Prepayment
from ..model.scenarios import RatePath, Scenario, check_indices, with_index_levels
from ..results.measures import weighted_average_life
from ..results.results import Results
from . import yields as pricing
from .floating import FloatingMeasures, floating_measures, price_from_margin

if TYPE_CHECKING:  # pandas is imported by the two table functions only: it is slow to import
    import pandas as pd

EFFECTIVE_SHIFT = 0.0025  # 25bp up and down, in the index and in the yield


@dataclass(frozen=True)
class Quote:
    """One class priced in every scenario of a run. Arrays are [scenario]; yields are BEY decimals."""

    name: str
    scenarios: list[str]
    face: float
    price: np.ndarray  # clean, per 100
    accrued: np.ndarray  # per 100, [scenario]: a floater's coupon depends on its index path
    yield_: np.ndarray
    wal: np.ndarray
    modified_duration: np.ndarray
    macaulay_duration: np.ndarray
    convexity: np.ndarray
    effective_duration: np.ndarray
    effective_convexity: np.ndarray
    static: bool  # True when no cash flow depends on rates: effective = static figures
    spread: np.ndarray | None = None  # to the curve at the WAL, decimal
    z_spread: np.ndarray | None = None
    floating: FloatingMeasures | None = None  # a floater's index yield, spread and margin (SF-52..54)

    @property
    def mortgage_yield(self) -> np.ndarray:
        """The monthly-compounded (mortgage) yield of the BEY: (1 + y/12)^6 = 1 + BEY/2."""
        return pricing.mortgage_from_bey(self.yield_)

    @property
    def full_price(self) -> np.ndarray:
        return self.price + self.accrued

    def row(self, s: int) -> dict[str, float | str | None]:
        def pct(x: np.ndarray | None, scale: float = 100.0) -> float | None:
            if x is None or not np.isfinite(x[s]):
                return None
            return round(float(x[s]) * scale, 10)

        out: dict[str, float | str | None] = {
            "price": pct(self.price, 1.0),
            "price_32nds": pricing.format_32nds(float(self.price[s])),
            "accrued": round(float(self.accrued[s]), 10),
            "yield": pct(self.yield_),
            "mortgage_yield": pct(self.mortgage_yield),
            "wal": pct(self.wal, 1.0),
            "modified_duration": pct(self.modified_duration, 1.0),
            "macaulay_duration": pct(self.macaulay_duration, 1.0),
            "convexity": pct(self.convexity, 1.0),
            "effective_duration": pct(self.effective_duration, 1.0),
            "effective_convexity": pct(self.effective_convexity, 1.0),
            "spread_bp": pct(self.spread, 10000.0),
            "z_spread_bp": pct(self.z_spread, 10000.0),
        }
        if self.floating is not None:
            out.update(self.floating.row(s))
        return out


def class_cash(results: Results, name: str) -> np.ndarray:
    a = results.arrays(name)
    cash = a["interest"] + a["principal"]
    if results.reimburses:
        cash = cash + a["reimbursed"]  # reimbursed losses are the class's cash too
    return cash


def accrued_interest(deal: Deal, tranche: Tranche, coupon: np.ndarray | float) -> np.ndarray:
    """Accrued interest at settlement per 100 of face (notional, for an IO) at the first
    period's `coupon` (decimal; an array gives one figure per scenario): the one computation
    behind quote(), price_yield_table() and index_yield_table().

    SIFMA: accrued = coupon x (days from the last accrual start to settlement) / day-count
    basis, counted on the basis the class's interest accrues on, because accrued interest is
    the part of the next coupon the seller has earned, and the engine pays that coupon on the
    class's own basis. The accrual start is the start of the first accrual period (the dated
    date: the first day of the month before the first distribution). The basis is 30/360 for
    fixed coupons and the deal's day count for floaters: a floater on actual/360 settling
    2027-03-10 with its first payment 2027-03-25 has accrued 37 actual days / 360 (Feb 1 to
    Mar 10), not 39/360 as 30/360 would count them. A PO or the residual accrues nothing."""
    coupon = np.asarray(coupon, dtype=float)
    if tranche.is_residual or tranche.is_principal_only:
        return np.zeros_like(coupon)
    basis = deal.day_count if tranche.formula is not None else THIRTY_360
    return 100.0 * coupon / 12.0 * pricing.accrued_fraction(deal.settle, deal.first_payment, basis)


def accrued_per_100(results: Results, name: str) -> np.ndarray:
    """Accrued interest (accrued_interest) per scenario [scenario], at each scenario's own
    first-period coupon (a floater's depends on the scenario's index path)."""
    coupon = results.arrays(name)["coupon"][:, 0]
    return np.asarray(accrued_interest(results.deal, results.deal.tranche(name), coupon), dtype=float)


def quote(results: Results, name: str, price: float | str | None = None,
          yield_: float | None = None, spread: float | None = None,
          curve: Curve | None = None, mortgage_yield: float | None = None,
          margin: float | None = None) -> Quote:
    """Price the class from exactly one of: a clean price (decimal or 32nds), a BEY (decimal), a
    spread (decimal) to the curve at each scenario's WAL, a mortgage (monthly-compounded) yield
    (decimal), or, for a floater, a money-market discount margin (decimal, valuation.floating)."""
    given = [x is not None for x in (price, yield_, spread, mortgage_yield, margin)]
    if sum(given) != 1:
        raise InputError("give one of a price, a yield, a spread, a mortgage yield or a margin")
    tranche = results.deal.tranche(name)
    if tranche.is_residual:
        raise InputError(f"class {name} is the residual; it is not quoted")
    face = results.original_balance(name)
    cash = class_cash(results, name)
    months = pricing.discount_months(results.deal.settle, results.dates)
    accrued = accrued_per_100(results, name)
    wal = average_life(results, name)
    if mortgage_yield is not None:
        yield_ = float(pricing.bey_from_mortgage(mortgage_yield))
    if margin is not None:
        if tranche.formula is None:
            raise InputError(f"class {name} has a fixed coupon: a discount margin is over a floater's index")
        full_value = price_from_margin(cash, index_path(results, name), margin, results.deal.settle,
                                       results.dates, results.deal.day_count, 12)
        price = 0.0  # replaced below: the clean price of that full value, scenario by scenario
    if spread is not None:
        if curve is None:
            raise InputError("a spread needs a curve")
        yield_ = curve.par(wal) + spread
    if yield_ is not None:
        bey = np.broadcast_to(np.asarray(yield_, dtype=float), wal.shape).copy()
        full = 100.0 * pricing.present_value(cash, months, bey) / face
        clean = full - accrued
    else:
        if margin is not None:
            clean = 100.0 * full_value / face - accrued
        else:
            clean = np.full(wal.shape, pricing.parse_price(price))  # type: ignore[arg-type]
        bey = pricing.yield_from_price(cash, months, (clean + accrued) * face / 100.0)
    risk = pricing.risk(cash, months, bey, face)
    eff_d, eff_c, static = effective_risk(results, name, bey, risk.full_price)
    if static:
        eff_d, eff_c = risk.modified_duration, risk.convexity
    out_spread = out_z = None
    if curve is not None:
        out_spread = pricing.spread_to_curve(bey, wal, curve)
        out_z = pricing.z_spread(cash, months, (clean + accrued) * face / 100.0, curve)
    floating = floater_measures(results, name, (clean + accrued) * face / 100.0, bey)
    return Quote(name, results.scenarios, face, clean, accrued, bey, wal, risk.modified_duration,
                 risk.macaulay_duration, risk.convexity, eff_d, eff_c, static, out_spread, out_z,
                 floating)


def index_path(results: Results, name: str) -> np.ndarray:
    """The index [scenario, period] a floating class's coupon resets to in each scenario."""
    formula = results.deal.tranche(name).formula
    if formula is None:
        raise InputError(f"class {name} does not float on an index")
    deal = results.deal
    return np.array([spec.index_paths(deal.indices, [formula.index], results.periods)[0]
                     for spec in results.scenario_specs])


def floater_measures(results: Results, name: str, full_value: np.ndarray,
                     bey: np.ndarray | None = None) -> FloatingMeasures | None:
    """The floating-rate measures (valuation.floating: index yield, yield spread to the index,
    discount margin; both bases) of a floater or inverse floater at a full value [scenario] in
    dollars (`bey`: its BEY there, if solved); None for a class with a fixed coupon. Monthly pay,
    the deal's accrual basis."""
    if results.deal.tranche(name).formula is None:
        return None
    return floating_measures(class_cash(results, name), index_path(results, name), full_value,
                             results.deal.settle, results.dates, results.deal.day_count, 12, bey)


def average_life(results: Results, name: str) -> np.ndarray:
    """WAL per scenario; for a notional class, the WAL of its notional balance's paydown, as
    desks quote an IO's average life."""
    if not results.deal.tranche(name).is_notional:
        return results.wal(name)
    a = results.arrays(name)
    return weighted_average_life(np.maximum(a["beginning_balance"] - a["ending_balance"], 0.0))


def depends_on_rates(results: Results) -> bool:
    """Whether any class's cash flows move with rates: floaters (index) do; prepayments here are
    given speeds, not a function of rates."""
    return any(c.formula is not None for c in results.deal.classes)


def effective_risk(results: Results, name: str, bey: np.ndarray,
                   full_price: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Effective duration and convexity: shift every index (from the second period: the first
    coupon is set at settlement) and the yield by +/-25bp, re-run the deal and re-price. When
    nothing depends on rates the figures are the static ones."""
    if not depends_on_rates(results):
        return full_price * np.nan, full_price * np.nan, True
    deal = results.deal
    periods = results.periods
    shifted: list[Scenario] = []
    for sign in (-1.0, 1.0):
        for spec in results.scenario_specs:
            paths = []
            for index in deal.index_names:
                base = dict(spec.indices).get(index) or deal.indices[index]
                values = base.path(periods)
                values[1:] += sign * EFFECTIVE_SHIFT  # the first coupon is already set at settlement
                paths.append((index, RatePath("vector", tuple(values.tolist()))))
            shifted.append(Scenario(spec.prepayment, tuple(paths), name=None, defaults=spec.defaults))
    rerun = deal.run(*shifted)
    n = len(results.scenario_specs)
    cash = class_cash(rerun, name)
    months = pricing.discount_months(deal.settle, results.dates)
    face = results.original_balance(name)
    down = 100.0 * pricing.present_value(cash[:n], months, bey - EFFECTIVE_SHIFT) / face
    up = 100.0 * pricing.present_value(cash[n:], months, bey + EFFECTIVE_SHIFT) / face
    with np.errstate(divide="ignore", invalid="ignore"):
        duration = (down - up) / (2.0 * full_price * EFFECTIVE_SHIFT)
        convexity = (down + up - 2.0 * full_price) / (full_price * EFFECTIVE_SHIFT**2)
    return duration, convexity, False


# QuoteSpec.kind -> the argument of quote() it is.
QUOTE_KINDS = {"price": "price", "yield": "yield_", "spread": "spread",
               "mortgage yield": "mortgage_yield", "margin": "margin"}


def quote_classes(results: Results, specs: list[QuoteSpec], curve: Curve | None) -> dict[str, Quote]:
    """Quote every class the specs name, in deal order."""
    by_name = {spec.name: spec for spec in specs}
    out: dict[str, Quote] = {}
    for tranche in results.deal.issued_classes:
        spec = by_name.get(tranche.name)
        if spec is None:
            continue
        kwargs = {QUOTE_KINDS[spec.kind]: spec.value}
        out[tranche.name] = quote(results, tranche.name, curve=curve, **kwargs)  # type: ignore[arg-type]
    return out


def price_yield_table(deal: Deal, name: str, prices: list[float | str],
                      scenarios: list[Scenario | Prepayment | str], mortgage: bool = False) -> pd.DataFrame:
    """A dealer's price/yield table for one class: rows are prices (cells: BEY in percent), columns
    the scenarios; then rows for WAL, modified duration at the middle price, and the principal
    window. One run of the deal serves every cell. `mortgage`: the price rows' cells are the same
    yields as mortgage (monthly-compounded) yields, converted before rounding."""
    bey, monthly = price_yield_frames(deal.run(*scenarios), name, prices)
    return monthly if mortgage else bey


def price_yield_frames(results: Results, name: str,
                       prices: list[float | str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """price_yield_table of a run already made, both ways at once: (BEY, mortgage yield), so that
    a caller showing both (and every class) runs the deal once."""
    import pandas as pd

    face = results.original_balance(name)
    cash = class_cash(results, name)
    months = pricing.discount_months(results.deal.settle, results.dates)
    accrued = accrued_per_100(results, name)
    grid = np.array([pricing.parse_price(p) for p in prices], dtype=float)  # 99-16 or 99.5
    full = (grid[:, None] + accrued[None, :]) * face / 100.0  # [price, scenario]
    yields = pricing.yield_from_price(np.broadcast_to(cash, (len(grid), *cash.shape)), months, full)
    mid = float(grid[len(grid) // 2])
    mid_yield = yields[len(grid) // 2]
    risk = pricing.risk(cash, months, mid_yield, face)
    first, last = results.principal_window(name)
    wal = average_life(results, name)
    rest: dict[str, list[object]] = {
        "WAL (years)": [round(float(w), 2) if np.isfinite(w) else None for w in wal],
        f"Mod. duration at {pricing.format_32nds(mid)}": list(np.round(risk.modified_duration, 2)),
        "Principal window": [f"{a}-{b}" if a else "-" for a, b in zip(first, last, strict=True)],
    }
    frames = []
    for shown, what in ((yields, "yield"), (pricing.mortgage_from_bey(yields), "mortgage yield")):
        rows: dict[str, list[object]] = {pricing.format_32nds(p): list(np.round(shown[i] * 100, 3))
                                         for i, p in enumerate(grid)}
        frame = pd.DataFrame({**rows, **rest}, index=results.scenarios).T
        frame.index.name = f"{name}: price / {what}"
        frames.append(frame)
    return frames[0], frames[1]


def _rate(level: object) -> float:
    """An index level given as a number (a decimal: 0.043 for 4.3%)."""
    try:
        return float(level)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"'{level}' is not an index level; give a decimal rate like 0.043 or a "
                         "RatePath") from None


def index_yield_table(deal: Deal, name: str, price: float | str,
                      speeds: list[Scenario | Prepayment | str], index: str,
                      levels: list[float | RatePath]) -> pd.DataFrame:
    """Yield (BEY, percent) of one class at one clean price (decimal or 32nds), by index level
    (rows) and speed (columns): the table desks run for IOs, POs and inverse floaters, whose
    yields move with both the speed and the index.

    A level is a decimal rate held for every period (0.043 for 4.3%) or a RatePath; it replaces
    `index` in each speed (a speed given as a Scenario keeps its other indices). Every (level,
    speed) pair is a scenario of ONE run of the deal. Accrued interest is at each cell's own
    first-period coupon (an inverse floater's moves with the level), so each cell equals
    quote() on a run of that one scenario. Cells are unrounded floats, NaN where no yield
    prices the class."""
    import pandas as pd

    from ..engine.run import resolve_scenarios

    check_indices(deal.name, deal.index_names, [index])
    tranche = deal.tranche(name)
    if tranche.is_residual or not tranche.issued:
        raise InputError(f"class {name} is not an issued class with cash flows to price")
    if not levels:
        raise InputError("an index yield table needs at least one index level")
    base = resolve_scenarios(deal, list(speeds))
    paths = [lv if isinstance(lv, RatePath) else RatePath.level(_rate(lv)) for lv in levels]
    scenarios = with_index_levels(base, index, paths)  # [speed x level]
    results = deal.run(*scenarios)
    face = results.original_balance(name)
    cash = class_cash(results, name)  # [level x speed, period]
    months = pricing.discount_months(deal.settle, results.dates)
    clean = pricing.parse_price(price)
    accrued = accrued_interest(deal, tranche, results.arrays(name)["coupon"][:, 0])
    yields = pricing.yield_from_price(cash, months, (clean + accrued) * face / 100.0)
    grid = yields.reshape(len(base), len(paths)).T * 100.0
    frame = pd.DataFrame(grid, index=[f"{index} {p.description}" for p in paths],
                         columns=[s.label for s in base])
    frame.index.name = f"{name}: yield (BEY %) at {pricing.format_32nds(clean)} by {index} level"
    return frame
