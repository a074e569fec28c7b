"""OAS of a deal's classes: rate paths -> rate-driven prepayments -> one engine run with the
paths as the scenario axis -> discounting on each path (valuation/oas.py).

For each class priced: the OAS (the spread over each path's short rates at which the mean PV
equals the full price), the zero-volatility spread (the same on the curve's forward path),
option cost = ZV - OAS, the standard error of the price across paths, effective duration and
convexity from par-curve shifts of +/-25 bp re-run on the same random numbers (the same seed:
the Hull-White factor does not depend on the curve, only its fitted drift does) with
prepayments responding, and key-rate durations at 2, 5, 10 and 30 years. Also a table of each
class's WAL and price on deterministic curve shifts (`rates +300 bp`): the model run on the
shifted curve at zero volatility, priced at the class's ZV spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.prepaymodel import deal_smm
from ..engine.ratepaths import DT, RatePaths, curve_discount, shifted_path, simulate
from ..engine.run import run_smm
from ..errors import InputError
from ..model.curve import Curve
from ..model.deal import Deal
from ..model.prepaymodel import PrepayModel
from ..model.ratemodel import HullWhite, MortgageRate, check_horizon
from ..model.ratespec import KEY_RATES, RateSpec, describe_model, describe_prepay
from ..results.measures import weighted_average_life
from ..valuation import oas as val
from ..valuation.quotes import EFFECTIVE_SHIFT, accrued_interest
from ..valuation.yields import discount_months, parse_price

ZERO_VOL = HullWhite(0.0, 0.0, 1, antithetic=False)


@dataclass(frozen=True)
class ModelRun:
    """Cash flows of classes on rate paths: cash [class, path, period] (the classes asked for, in
    the engine's layout), the paths' discount factors at the distribution dates [path, period],
    and the run's class flows."""

    cash: np.ndarray
    discount: np.ndarray
    flows: Any


def model_run(deal: Deal, paths: list[RatePaths], prepay: PrepayModel, mortgage: MortgageRate,
              shared: dict[int, np.ndarray] | None = None, rows: np.ndarray | None = None) -> ModelRun:
    """Run the deal once on every path of `paths` (several path sets are stacked on the scenario
    axis): the mortgage rate drives the prepayment model's SMM, the short rate is every floater
    index, and each path's own rates discount its cash. `shared`: the random part of the bond
    prices of paths that share one factor (mortgage_rates), kept across calls."""
    periods = deal.periods
    rates = np.concatenate([mortgage_rates(p, mortgage, shared)[:, :periods] for p in paths])
    short = np.concatenate([p.short[:, :periods] for p in paths])
    smm = deal_smm(prepay, rates, deal.pools, deal.first_payment)
    shape = (len(short), len(deal.index_names), periods)
    index = np.ascontiguousarray(np.broadcast_to(short[:, None, :], shape))
    _, flows = run_smm(deal, smm, index)
    rows = np.arange(len(deal.classes)) if rows is None else rows
    # [class, path, period]: the kernel's own layout, each class's block contiguous.
    cash = flows.interest.transpose(1, 0, 2)[rows] + flows.principal.transpose(1, 0, 2)[rows]
    months = discount_months(deal.settle, _dates(deal))
    discount = np.concatenate([val.path_discount(p, months) for p in paths])
    return ModelRun(cash, discount, flows)


def refit(paths: RatePaths, curve: Curve) -> RatePaths:
    """The same random paths (the same factor x, so the same random numbers) fitted to another
    curve: in Hull-White only the fitted drift phi depends on the curve (engine/ratepaths.py
    `simulate`, whose fit this repeats)."""
    steps = len(paths.phi)
    log_p = np.log(curve_discount(curve, np.arange(steps + 1) * DT))
    phi = (log_p[:-1] - log_p[1:] + 0.5 * (paths.v[1:] - paths.v[:-1])) / DT
    return RatePaths(paths.model, paths.factor, phi, paths.b, paths.v)


def mortgage_rates(paths: RatePaths, formula: MortgageRate,
                   shared: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """RatePaths.mortgage_rate, with the random part of each bond price exp(-dt B_n x) kept in
    `shared` (by maturity in months) for paths refitted to other curves from the same factor:
    the curve moves only the deterministic part, so a shifted curve's rates cost no exp over
    every path and period again."""
    if shared is None:
        return paths.mortgage_rate(formula)
    n = paths.periods
    cum = np.concatenate(([0.0], np.cumsum(paths.phi)))
    halves = {t: round(t * 2) for t, _ in formula.terms}
    annuity = np.zeros_like(paths.factor)
    par: dict[float, np.ndarray] = {}
    for k in range(1, max(halves.values(), default=0) + 1):
        m = 6 * k
        if m not in shared:
            shared[m] = np.exp(-DT * paths.b[m] * paths.factor)
        price = shared[m] * np.exp(-DT * (cum[m: m + n] - cum[:n]) + 0.5 * paths.v[m])[None, :]
        annuity += price
        for t, h in halves.items():
            if h == k:
                par[t] = 2.0 * (1.0 - price) / annuity
    out = np.full_like(paths.factor, formula.constant)
    for tenor, weight in formula.terms:
        out += weight * par[tenor]
    return out


def _dates(deal: Deal) -> list:
    from ..dates import payment_dates

    return payment_dates(deal.first_payment, deal.periods)


def _years(deal: Deal) -> np.ndarray:
    return discount_months(deal.settle, _dates(deal)) / 12.0


def bumped_curve(curve: Curve, bump_bp: float, key: float | None = None,
                 keys: tuple[float, ...] = KEY_RATES) -> Curve:
    """The curve's par yields moved by `bump_bp`: in parallel (key None), or by a triangle that is
    `bump_bp` at the key tenor and falls linearly to zero at the neighbouring keys (flat before
    the first key and beyond the last), so the key-rate bumps add up to the parallel one."""
    grid = sorted(set(curve.tenors) | set(keys)) if key is not None else list(curve.tenors)
    yields = curve.par(np.asarray(grid))
    if key is None:
        weight = np.ones(len(grid))
    else:
        i = keys.index(key)
        xs = [keys[0] - 1.0, *keys, keys[-1] + 1.0]
        ys = np.zeros(len(xs))
        ys[i + 1] = 1.0
        if i == 0:
            ys[0] = 1.0
        if i == len(keys) - 1:
            ys[-1] = 1.0
        weight = np.interp(grid, xs, ys)
    moved = yields + weight * bump_bp / 10_000.0
    label = f"{curve.name} {bump_bp:+g}bp" + (f" at {key:g}y" if key is not None else "")
    return Curve(label, tuple(float(t) for t in grid), tuple(float(y) for y in moved))


@dataclass(frozen=True)
class OasClass:
    """One class's OAS figures. Spreads and option cost are decimals; prices per 100 of face
    (notional, for an IO)."""

    name: str
    price: float  # clean
    accrued: float
    oas: float
    zv_spread: float
    price_std_error: float
    oas_std_error: float
    effective_duration: float
    effective_convexity: float
    key_rates: dict[float, float]
    wal: float  # on the forward path (zero volatility)
    mean_wal: float  # mean over the paths

    @property
    def option_cost(self) -> float:
        return self.zv_spread - self.oas

    def to_dict(self) -> dict[str, Any]:
        def num(x: float, scale: float = 1.0) -> float | None:
            return round(float(x) * scale, 8) if math.isfinite(x) else None

        return {
            "price": num(self.price),
            "accrued": num(self.accrued),
            "oas": num(self.oas, 1e4),
            "zv_spread": num(self.zv_spread, 1e4),
            "option_cost": num(self.option_cost, 1e4),
            "oas_std_error": num(self.oas_std_error, 1e4),
            "price_std_error": num(self.price_std_error),
            "effective_duration": num(self.effective_duration),
            "effective_convexity": num(self.effective_convexity),
            "key_rate_durations": {f"{k:g}y": num(v) for k, v in self.key_rates.items()},
            "wal": num(self.wal),
            "mean_wal": num(self.mean_wal),
        }


@dataclass(frozen=True)
class RateShifts:
    """Each class's WAL and clean price on the forward path of the curve shifted in parallel
    (zero volatility, prepayments from the model), priced at its ZV spread."""

    shifts_bp: tuple[float, ...]
    wal: dict[str, list[float]]  # per class: one figure per shift, then one per named curve
    price: dict[str, list[float]]
    curves: tuple[str, ...] = ()  # analytics curves run as scenarios (rates curve "STEEP"), after the shifts

    @property
    def labels(self) -> list[str]:
        """Each scenario's heading: the shift in bp, or the curve's name."""
        return [f"{s:+g} bp" for s in self.shifts_bp] + [f'curve "{c}"' for c in self.curves]

    def to_dict(self) -> dict[str, Any]:
        def nums(xs: list[float]) -> list[float | None]:
            return [round(float(x), 8) if math.isfinite(x) else None for x in xs]

        return {"shifts_bp": list(self.shifts_bp), "curves": list(self.curves),
                "wal": {k: nums(v) for k, v in self.wal.items()},
                "price": {k: nums(v) for k, v in self.price.items()}}


@dataclass(frozen=True)
class OasResult:
    deal: str
    curve: str
    model: HullWhite
    prepay: str
    classes: list[OasClass]
    shifts: RateShifts | None

    @property
    def model_text(self) -> str:
        return describe_model(self.model)

    def to_dict(self) -> dict[str, Any]:
        return {
            "curve": self.curve,
            "rate_model": self.model_text,
            "prepay_model": self.prepay,
            "paths": self.model.paths,
            "classes": {c.name: c.to_dict() for c in self.classes},
            "rate_shifts": self.shifts.to_dict() if self.shifts is not None else None,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per class, the terminal's and the report's OAS table (spreads in bp)."""
        out = []
        for c in self.classes:
            d = c.to_dict()
            row = {"class": c.name, "price": d["price"], "oas": d["oas"], "zv_spread": d["zv_spread"],
                   "option_cost": d["option_cost"], "oas_std_error": d["oas_std_error"],
                   "effective_duration": d["effective_duration"],
                   "effective_convexity": d["effective_convexity"]}
            row.update({f"krd_{k}": v for k, v in d["key_rate_durations"].items()})
            row["wal"] = d["wal"]
            out.append(row)
        return out


def _prices(deal: Deal, spec: RateSpec, prices: dict[str, float | str] | None,
            price: float | str | None) -> dict[str, float]:
    """Clean price per class: given per class, else declared (`oas A at 100-16`), else `price`."""
    declared = dict(spec.oas_prices)
    given = {k: parse_price(v) for k, v in (prices or {}).items()}
    out: dict[str, float] = {}
    for tranche in deal.issued_classes:
        if tranche.is_residual:
            continue
        name = tranche.name
        value = given.get(name, declared.get(name))
        if value is None and price is not None:
            value = parse_price(price)
        if value is not None:
            out[name] = float(value)
    for name in given:
        deal.tranche(name)  # an unknown class is an InputError naming the deal's classes
    if not out:
        raise InputError(f"deal \"{deal.name}\" has no class to value on OAS: give a price "
                         "(--price 100) or declare one in its analytics block (oas A at 100-16)")
    return out


def oas_analysis(deal: Deal, prices: dict[str, float | str] | None = None, price: float | str | None = None,
                 *, model: HullWhite | None = None, prepay: PrepayModel | None = None,
                 curve: Curve | None = None, key_rates: bool = True,
                 shifts: tuple[float, ...] | None = None) -> OasResult:
    """The OAS figures of the deal's priced classes (see the module's docstring). Prices are
    clean, decimal or 32nds; the model, prepayment model and curve default to the deal's.

    The work is in independent parts (oas_setup, then oas_base, curve_weights for each of
    bump_curves, oas_shifts), joined by oas_assemble: a grid (analysis/grid.py) runs the parts on
    several processes and joins them with the same functions, so its figures are these."""
    setup = oas_setup(deal, prices, price, model=model, prepay=prepay, curve=curve, key_rates=key_rates,
                      shifts=shifts)
    cache: dict[str, Any] = {}
    base = oas_base(deal, setup, cache)
    weights = {label: curve_weights(deal, setup, bumped, cache) for label, bumped in bump_curves(setup)}
    return oas_assemble(deal, setup, base, weights, oas_shifts(deal, setup))


@dataclass(frozen=True)
class OasSetup:
    """What every part of an OAS analysis shares: its inputs resolved and the zero-volatility run
    (faces, accrued interest, full prices, the ZV spread, the forward path's WAL), per class of
    `names` (the classes priced, deal order)."""

    curve: Curve
    model: HullWhite
    prepay: PrepayModel
    custom_prepay: bool  # a prepayment model given, not the deal's
    mortgage: MortgageRate
    clean: dict[str, float]
    names: list[str]
    rows: np.ndarray
    years: np.ndarray
    tenor: int
    face: np.ndarray
    accrued: np.ndarray
    full: np.ndarray
    zv: np.ndarray
    zero_wal: np.ndarray
    key_rates: bool
    table: bool  # the WAL/price table across rate shifts asked for
    shifts: tuple[float, ...]
    shift_curves: tuple[Curve, ...]


@dataclass(frozen=True)
class OasBase:
    """The Monte Carlo run at the curve: per class the OAS, the standard errors of price and
    spread, and the mean WAL over the paths."""

    oas: np.ndarray
    price_se: np.ndarray
    oas_se: np.ndarray
    mean_wal: np.ndarray


def oas_setup(deal: Deal, prices: dict[str, float | str] | None = None, price: float | str | None = None,
              *, model: HullWhite | None = None, prepay: PrepayModel | None = None,
              curve: Curve | None = None, key_rates: bool = True,
              shifts: tuple[float, ...] | None = None) -> OasSetup:
    """The inputs of an OAS analysis resolved (oas_analysis's defaults) and its zero-volatility
    run: one path, cheap."""
    spec = deal.analytics.rates or RateSpec()
    curve = curve if curve is not None else deal.analytics.curve
    if curve is None:
        raise InputError(f"deal \"{deal.name}\" has no curve to fit the rate model to: add one to its "
                         "analytics block, e.g. curve \"UST\" (1: 4.1%, 2: 4.0%, 10: 4.2%, 30: 4.5%)")
    model = model if model is not None else spec.rate_model
    custom = prepay is not None and prepay is not spec.prepay_model
    prepay = prepay if prepay is not None else spec.prepay_model
    mortgage = spec.mortgage
    check_horizon(curve, deal.periods)
    clean = _prices(deal, spec, prices, price)
    periods = deal.periods
    tenor = max(120, mortgage.longest_months)
    years = _years(deal)
    idx = {c.name: c.index for c in deal.classes}
    names = list(clean)
    rows = np.array([idx[n] for n in names])

    # Zero volatility: the forward path. Faces, accrued interest and the ZV spread.
    zero = model_run(deal, [simulate(curve, ZERO_VOL, periods, tenor)], prepay, mortgage, rows=rows)
    face = zero.flows.beginning_balance[0, rows, 0]
    coupon = zero.flows.coupon[0, rows, 0]
    accrued = np.array([float(accrued_interest(deal, deal.tranche(n), coupon[k]))
                        for k, n in enumerate(names)])
    full = (np.array([clean[n] for n in names]) + accrued) * face / 100.0
    zv = val.solve_spread(val.mean_discounted(zero.cash, zero.discount), years, full)
    zero_wal = _wal(deal, zero.flows, rows)[0]
    return OasSetup(curve, model, prepay, custom, mortgage, clean, names, rows, years, tenor, face, accrued,
                    full, zv, zero_wal, key_rates, shifts is None or bool(shifts),
                    spec.shifts if shifts is None else shifts,
                    tuple(_shift_curves(deal, spec)) if shifts is None else ())


def _base_paths(deal: Deal, setup: OasSetup,
                cache: dict[str, Any]) -> tuple[RatePaths, dict[int, np.ndarray]]:
    """The Monte Carlo paths at the curve and the random part of their bond prices, made once
    per `cache` (every part simulates the same paths: the same seed)."""
    if "paths" not in cache:
        cache["paths"] = simulate(setup.curve, setup.model, deal.periods, setup.tenor)
        cache["shared"] = {}
    return cache["paths"], cache["shared"]


def oas_base(deal: Deal, setup: OasSetup, cache: dict[str, Any] | None = None) -> OasBase:
    """The Monte Carlo paths: OAS, its standard error, the mean WAL."""
    base_paths, shared = _base_paths(deal, setup, {} if cache is None else cache)
    face, years = setup.face, setup.years
    base = model_run(deal, [base_paths], setup.prepay, setup.mortgage, shared, setup.rows)
    cash = base.cash
    weights = val.mean_discounted(cash, base.discount)
    oas = val.solve_spread(weights, years, setup.full)
    per_path = 100.0 * val.path_values(cash, base.discount, years, oas) / face[None, :]
    price_se = val.standard_error(per_path, setup.model.antithetic)
    # dP/ds at the OAS, per 100: turns the price's standard error into the spread's.
    tilt = np.exp(-np.nan_to_num(oas)[:, None] * years[None, :])
    slope = 100.0 * (weights * years[None, :] * tilt).sum(axis=1) / face
    with np.errstate(divide="ignore", invalid="ignore"):
        oas_se = price_se / slope
    # The mean WAL over the paths of the classes with principal (a notional class's paydown
    # would derive every path's balances: its WAL is the forward path's).
    mean_wal = _mean_wal(base.flows.principal.transpose(1, 0, 2)[setup.rows])
    return OasBase(oas, price_se, oas_se, mean_wal)


def bump_curves(setup: OasSetup) -> list[tuple[str, Curve]]:
    """The bumped curves effective duration and convexity (and the key rates) are valued on,
    each with its label: 'up', 'down', then 'up 2y', 'down 2y', ... by key rate."""
    curve = setup.curve
    out = [("up", bumped_curve(curve, EFFECTIVE_SHIFT * 1e4)),
           ("down", bumped_curve(curve, -EFFECTIVE_SHIFT * 1e4))]
    if setup.key_rates:
        for key in KEY_RATES:
            out.append((f"up {key:g}y", bumped_curve(curve, EFFECTIVE_SHIFT * 1e4, key)))
            out.append((f"down {key:g}y", bumped_curve(curve, -EFFECTIVE_SHIFT * 1e4, key)))
    return out


def curve_weights(deal: Deal, setup: OasSetup, shifted: Curve,
                  cache: dict[str, Any] | None = None) -> np.ndarray:
    """The same random paths refitted to `shifted`, run: the mean discounted cash [class,
    period], which priced at the OAS gives the class's value on that curve (oas_assemble)."""
    base_paths, shared = _base_paths(deal, setup, {} if cache is None else cache)
    run = model_run(deal, [refit(base_paths, shifted)], setup.prepay, setup.mortgage, shared, setup.rows)
    return val.mean_discounted(run.cash, run.discount)


def oas_shifts(deal: Deal, setup: OasSetup) -> RateShifts | None:
    """The WAL/price table across the rate shifts, priced at the ZV spread; None if not asked."""
    if not setup.table:
        return None
    return rate_shifts(deal, setup.curve, setup.prepay, setup.mortgage, setup.names, setup.zv, setup.face,
                       setup.accrued, setup.shifts, setup.shift_curves)


def oas_assemble(deal: Deal, setup: OasSetup, base: OasBase, weights: dict[str, np.ndarray],
                 table: RateShifts | None) -> OasResult:
    """The parts joined: durations and key rates from the bumped curves' weights (by the labels
    of bump_curves) priced at the OAS."""
    face, oas, names = setup.face, base.oas, setup.names

    def value(label: str) -> np.ndarray:
        return 100.0 * val.spread_pv(weights[label], setup.years, np.nan_to_num(oas)) / face

    p0 = 100.0 * setup.full / face
    eff_d, eff_c = val.effective(value("down"), value("up"), p0, EFFECTIVE_SHIFT)
    krd: dict[float, np.ndarray] = {}
    if setup.key_rates:
        for key in KEY_RATES:
            krd[key] = val.effective(value(f"down {key:g}y"), value(f"up {key:g}y"), p0, EFFECTIVE_SHIFT)[0]
    classes = []
    for k, n in enumerate(names):
        ok = math.isfinite(oas[k])
        classes.append(OasClass(
            n, setup.clean[n], float(setup.accrued[k]), float(oas[k]), float(setup.zv[k]),
            float(base.price_se[k]) if ok else math.nan, float(base.oas_se[k]) if ok else math.nan,
            float(eff_d[k]) if ok else math.nan, float(eff_c[k]) if ok else math.nan,
            {key: float(v[k]) if ok else math.nan for key, v in krd.items()},
            float(setup.zero_wal[k]), float(base.mean_wal[k])))
    spec = deal.analytics.rates or RateSpec()
    prepay_text = describe_prepay("custom" if setup.custom_prepay else spec.prepay_name, setup.prepay)
    return OasResult(deal.name, setup.curve.name, setup.model, prepay_text, classes, table)


def _mean_wal(principal: np.ndarray) -> np.ndarray:
    """The mean over paths of each class's WAL, principal [class, path, period] (a fresh array,
    clipped in place): results.measures.weighted_average_life, its sums as one matrix product."""
    paid = np.maximum(principal, 0.0, out=principal)
    k = np.arange(1, paid.shape[-1] + 1, dtype=float)
    total = paid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        wal = np.where(total > 0, (paid @ k) / (12.0 * np.where(total > 0, total, 1.0)), np.nan)
    return wal.mean(axis=1)


def _wal(deal: Deal, flows: Any, rows: np.ndarray) -> np.ndarray:
    """WAL [path, class] of the rows: principal paid, or a notional class's notional paydown."""
    notional = np.array([deal.classes[r].is_notional for r in rows])
    out = weighted_average_life(flows.principal[:, rows])
    if notional.any():
        nrows = rows[notional]
        paydown = np.maximum(flows.beginning_balance[:, nrows] - flows.ending_balance[:, nrows], 0.0)
        out[:, notional] = weighted_average_life(paydown)
    return out


def rate_shifts(deal: Deal, curve: Curve, prepay: PrepayModel, mortgage: MortgageRate, names: list[str],
                spreads: np.ndarray, face: np.ndarray, accrued: np.ndarray,
                shifts: tuple[float, ...], curves: Sequence[Curve] = ()) -> RateShifts:
    """Each class's WAL and clean price on the curve shifted by each of `shifts` (bp), then on
    each of `curves` (other curves of the analytics block, each on its own forward path): one
    engine run, these its scenarios."""
    tenor = max(120, mortgage.longest_months)
    idx = {c.name: c.index for c in deal.classes}
    rows = np.array([idx[n] for n in names])
    paths = [shifted_path(curve, s, deal.periods, tenor) for s in shifts]
    paths += [shifted_path(other, 0.0, deal.periods, tenor) for other in curves]
    run = model_run(deal, paths, prepay, mortgage, rows=rows)
    years = _years(deal)
    wal = _wal(deal, run.flows, rows)  # [shift, class]
    tilt = np.exp(-np.nan_to_num(spreads)[:, None] * years[None, :])
    pv = np.einsum("cst,st,ct->sc", run.cash, run.discount, tilt)
    price = 100.0 * pv / face[None, :] - accrued[None, :]
    price = np.where(np.isfinite(spreads)[None, :], price, np.nan)
    return RateShifts(tuple(float(s) for s in shifts),
                      {n: wal[:, k].tolist() for k, n in enumerate(names)},
                      {n: price[:, k].tolist() for k, n in enumerate(names)},
                      tuple(c.name for c in curves))



def _shift_curves(deal: Deal, spec: RateSpec) -> list[Curve]:
    """The analytics curves the deal runs as rate scenarios (`rates curve "STEEP"`)."""
    return [deal.analytics.curves[name] for name in spec.shift_curves]


def shift_table(deal: Deal, curve: Curve | None = None, prepay: PrepayModel | None = None,
                shifts: tuple[float, ...] | None = None) -> OasResult:
    """The WAL of every issued class across the deal's rate shifts (`rates -100 bp, +300 bp`),
    without prices: what a deal that declares shifts but prices nothing on OAS shows."""
    spec = deal.analytics.rates or RateSpec()
    curve = curve if curve is not None else deal.analytics.curve
    if curve is None:
        raise InputError(f"deal \"{deal.name}\" has no curve to shift: add one to its analytics block")
    check_horizon(curve, deal.periods)
    prepay = prepay if prepay is not None else spec.prepay_model
    names = [c.name for c in deal.issued_classes if not c.is_residual]
    none = np.full(len(names), np.nan)
    table = rate_shifts(deal, curve, prepay, spec.mortgage, names, none, np.ones(len(names)), none,
                        spec.shifts if shifts is None else shifts,
                        _shift_curves(deal, spec) if shifts is None else ())
    prepay_text = describe_prepay(spec.prepay_name if prepay is spec.prepay_model else "custom", prepay)
    return OasResult(deal.name, curve.name, spec.rate_model, prepay_text, [], table)
