"""Summaries-only runs: a large grid of scenarios (100,000 and more) in bounded memory.

`summarise(deal, speeds, rates=...)` runs the scenarios a chunk at a time and keeps, per scenario
and per issued class, only the measures a structurer reads off a grid: WAL, principal window,
totals, final balance and present values at flat yields; and the collateral's WAL, window and
totals.

On the compiled engine (engine.run.sum_deal) the kernel adds each scenario's figures up as it
runs and writes nothing per period: a chunk costs its speeds and its sums, not its cash flows.
The measures are the full run's, by the same definitions (results.measures'
weighted_average_life and principal_window, as Results does; the notional WAL of
valuation.quotes.average_life; valuation.yields.present_value's discount factors), summed
period by period rather than pairwise: they equal a full run_deal's to 1e-12 relative (and a
retired class's final balance, rounding dust, to 1e-12 of the deal). On the numpy interpreter
each chunk is a full run_deal whose cash flows are dropped before the next chunk runs, and the
measures are computed by those functions on each scenario's periods as one contiguous row.
Either way every scenario is computed alone, so a summary is bit for bit the same at any chunk
size wherever the engine's cash flows are.

It lives in analysis/ (not engine/) because it uses valuation's discounting, which sits above
the engine in the layer order (tests/test_architecture.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..dates import payment_dates
from ..engine import sums as field
from ..engine.compiled import compiled
from ..engine.run import run_deal, scenario_list, sum_deal
from ..errors import InputError
from ..model.prepayment import Prepayment
from ..model.scenarios import Scenario, check_indices, indices_named, labels_of
from ..results.measures import PAYMENT_DUST, principal_window, weighted_average_life
from ..valuation import yields as pricing

if TYPE_CHECKING:
    import pandas as pd

    from ..model.deal import Deal
    from ..results.results import Results

# Memory a chunk may take, and what one scenario-period costs the engine on main: measured with
# tracemalloc on the example deals at 1,000 scenarios (42.8 doubles per scenario-period on the
# four-class PAC deal, 69.8 on the six-class two-pool IO/PO deal), rounded up to a formula
# that is above every example deal's figure by a fifth or more.
CHUNK_BUDGET_BYTES = 256 * 2**20
DOUBLES_PER_CLASS_PERIOD = 8
DOUBLES_PER_POOL_PERIOD = 12
DOUBLES_PER_PERIOD = 16

# Flat discount yields a desk can mean (BEY decimals, exclusive low, inclusive high): the
# command line's range for a quoted yield.
RATE_RANGE = (-1.0, 10.0)

CLASS_MEASURES = ("wal", "first_principal_period", "last_principal_period", "total_interest",
                  "total_principal", "total_accrued", "final_balance")
COLLATERAL = "COLLATERAL"  # results.results.COLLATERAL: the collateral's rows and columns
COLLATERAL_MEASURES = ("wal", "first_principal_period", "last_principal_period", "total_interest",
                       "total_scheduled_principal", "total_prepayment", "total_principal",
                       "total_servicing_fee", "final_balance")


@dataclass(frozen=True)
class Summary:
    """The measures of every scenario of a grid, in the order the scenarios were given.

    Class arrays are [scenario, class] over `classes` (the deal's issued classes, residual
    included, deal order); `pv` is [scenario, class, rate] over `rates`. `wal` is the SIFMA WAL
    in years; for a notional class the WAL of its notional balance (as the report and pricing
    label it); NaN for the residual and where no principal is paid. Windows are 1-based periods,
    0 where no principal is paid. `pv` is in dollars: the cash flows (interest and principal)
    discounted to settlement at each flat bond-equivalent yield, as valuation prices them, so
    100 x pv / original_balance is the full price per 100. Collateral arrays are [scenario]."""

    deal: str
    scenarios: list[str]
    classes: tuple[str, ...]
    notional: np.ndarray            # [class] bool
    original_balance: np.ndarray    # [class] (notional at issue for a notional class)
    rates: np.ndarray               # [rate] BEY decimals
    wal: np.ndarray
    first_principal_period: np.ndarray
    last_principal_period: np.ndarray
    total_interest: np.ndarray
    total_principal: np.ndarray
    total_accrued: np.ndarray
    final_balance: np.ndarray
    pv: np.ndarray
    collateral: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.scenarios)

    def full_price(self) -> np.ndarray:
        """Full price per 100 of original (notional) balance, [scenario, class, rate]."""
        with np.errstate(divide="ignore", invalid="ignore"):
            face = np.where(self.original_balance > 0, self.original_balance, np.nan)
            return 100.0 * self.pv / face[None, :, None]

    def frame(self, wide: bool = False, collateral: bool = False) -> pd.DataFrame:
        """The class measures as a DataFrame.

        Long (default): one row per scenario and class, columns the measures and `pv_<rate>`
        (the rate in percent, e.g. pv_5.5%); with `collateral`, each scenario's first row is the
        collateral's (class 'COLLATERAL': its WAL, window and totals; NaN where a class measure
        has no collateral figure). Wide: one row per scenario, columns (measure, class), with the
        collateral's measures under class 'COLLATERAL'."""
        import pandas as pd

        n, k = len(self.scenarios), len(self.classes)
        columns: dict[str, np.ndarray] = {}
        for measure in CLASS_MEASURES:
            columns[measure] = getattr(self, measure)
        for r, rate in enumerate(self.rates):
            columns[f"pv_{_rate_label(rate)}"] = self.pv[:, :, r]
        names = self.classes
        if collateral and not wide:
            names = (COLLATERAL, *self.classes)
            for measure, values in columns.items():
                first = self.collateral.get(measure)
                if first is None:
                    first = np.full(n, np.nan)
                columns[measure] = np.concatenate([first[:, None].astype(values.dtype), values], axis=1)
            k += 1
        if wide:
            parts = {(m, name): v[:, j] for m, v in columns.items() for j, name in enumerate(self.classes)}
            parts.update({(m, COLLATERAL): v for m, v in self.collateral.items()})
            frame = pd.DataFrame(parts, index=pd.Index(self.scenarios, name="scenario"))
            frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["measure", "class"])
            return frame
        labels = np.empty(n, dtype=object)
        labels[:] = self.scenarios
        data: dict[str, np.ndarray] = {
            "scenario": np.repeat(labels, k),
            "class": np.tile(np.array(names, dtype=object), n),
        }
        data.update({m: v.reshape(-1) for m, v in columns.items()})
        return pd.DataFrame(data)

    def collateral_frame(self) -> pd.DataFrame:
        """The collateral's measures, one row per scenario."""
        import pandas as pd

        return pd.DataFrame(self.collateral, index=pd.Index(self.scenarios, name="scenario"))


def _rate_label(rate: float) -> str:
    return f"{rate * 100:.10g}%"


def validate_rates(rates: Sequence[float | str] | float | str | None) -> np.ndarray:
    """Flat discount yields as BEY decimals: numbers are decimals (0.055), text may carry a unit
    ('5.5%', '550bp'). InputError, in the desk's words, for anything else."""
    if rates is None:
        return np.zeros(0)
    if isinstance(rates, str | int | float):
        rates = [rates]
    out = []
    for rate in rates:
        value: float
        if isinstance(rate, str):
            try:
                value = pricing.rate_with_unit(rate, bare=1.0)
            except ValueError:
                raise InputError(f"'{rate}' is not a discount yield; give it as a decimal (0.055) or "
                                 "with its unit ('5.5%', '550bp')") from None
        elif isinstance(rate, int | float) and not isinstance(rate, bool):
            value = float(rate)
        else:
            raise InputError(f"{rate!r} is not a discount yield; give it as a decimal (0.055) or "
                             "with its unit ('5.5%', '550bp')")
        low, high = RATE_RANGE
        if not (math.isfinite(value) and low < value <= high):
            raise InputError(f"a discount yield of {_rate_label(value)} cannot discount cash flows "
                             f"(give a finite bond-equivalent yield above {low:.0%} and up to {high:.0%})")
        out.append(value)
    return np.array(out, dtype=float)


def scenario_bytes(deal: Deal) -> int:
    """What one scenario costs a full run of the deal, in bytes (see DOUBLES_PER_*)."""
    doubles = (DOUBLES_PER_CLASS_PERIOD * len(deal.classes) + DOUBLES_PER_POOL_PERIOD * len(deal.pools)
               + DOUBLES_PER_PERIOD)
    return 8 * doubles * deal.periods


def default_chunk(deal: Deal, budget: int = CHUNK_BUDGET_BYTES) -> int:
    """Scenarios per chunk so that a chunk's run takes about `budget` bytes (at least one)."""
    return max(1, budget // scenario_bytes(deal))


def summarise(deal: Deal, speeds: Sequence[Scenario | Prepayment | str] | None = None, *,
              rates: Sequence[float | str] | float | str | None = None, chunk: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Summary:
    """Run `speeds` (as Deal.run takes them; default the pricing scenario) `chunk` scenarios at a
    time (default: default_chunk, ~256 MB a chunk) and keep only the measures of Summary.

    `rates`: flat bond-equivalent yields to discount every class's cash flows at (decimals, or
    text with a unit). `progress(done, total)` hears of each chunk, in scenarios. Every speed,
    index and rate is checked before the first chunk runs, so a bad one at the end of a long
    grid fails at once, with InputError."""
    bey = validate_rates(rates)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int | np.integer)
                              or chunk < 1):
        raise InputError(f"chunk {chunk!r} is not a number of scenarios; give a whole number, 1 or more")
    if isinstance(speeds, str | Scenario | Prepayment):
        speeds = [speeds]  # one speed, not the characters of '165 PSA'
    scenarios = scenario_list(deal, list(speeds) if speeds else None)
    check_indices(deal.name, deal.index_names, indices_named(scenarios))
    size = int(chunk) if chunk is not None else default_chunk(deal)
    classes = deal.issued_classes
    n, k, r = len(scenarios), len(classes), len(bey)
    out: dict[str, np.ndarray] = {}
    pv = np.zeros(0)
    coll: dict[str, np.ndarray] = {}
    original = np.full(k, np.nan)
    months = _discount_months(deal.settle, deal.first_payment, deal.periods)
    # yields.present_value's discount factors, [rate, period]
    discount = ((1.0 + pricing.mortgage_from_bey(bey)[:, None] / 12.0) ** (-months) if len(bey)
                else np.zeros((0, len(months))))  # (no rate: no factor to compute)
    for start in range(0, n, size):
        stop = min(n, start + size)
        sums = sum_deal(deal, scenarios[start:stop], discount, PAYMENT_DUST)
        if sums is not None and stop - start == n:
            # The one chunk: the summary's arrays are the ones made from its sums (no others
            # filled, then copied into).
            original, out, pv, coll = _sum_measures(deal, sums)
        else:
            if not out:
                out, pv, coll = _blank(n, k, r)
            if sums is not None:
                original = _from_sums(deal, sums, out, pv, coll, start, stop)
            else:
                results = run_deal(deal, scenarios[start:stop])
                original = np.array([results.original_balance(t.name) for t in classes], dtype=float)
                _class_measures(results, out, pv, bey, months, start, stop)
                _collateral_measures(results, coll, start, stop)
                del results  # the chunk's cash flows go before the next chunk's are made
        if progress is not None:
            progress(stop, n)
    if not out:  # (no scenario)
        out, pv, coll = _blank(n, k, r)
    return Summary(
        deal=deal.name,
        scenarios=labels_of(scenarios),
        classes=tuple(t.name for t in classes),
        notional=np.array([t.is_notional for t in classes], dtype=bool),
        original_balance=original,
        rates=bey,
        pv=pv,
        collateral=coll,
        **out,
    )


@functools.lru_cache(maxsize=64)
def _discount_months(settle: dt.date, first_payment: dt.date, periods: int) -> np.ndarray:
    """valuation's discount months of the deal's payment dates, kept by their dates (a pure
    function of them: a deal's repeated grids, ~0.3 ms a call, compute them once); read-only,
    as it is shared."""
    months = pricing.discount_months(settle, payment_dates(first_payment, periods))
    months.flags.writeable = False
    return months


def _blank(n: int, k: int, r: int) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """The summary's arrays before any chunk fills them: NaN, and no principal window."""
    out = {m: np.full((n, k), np.nan) for m in CLASS_MEASURES}
    for m in ("first_principal_period", "last_principal_period"):
        out[m] = np.zeros((n, k), dtype=np.int64)
    coll = {m: np.full(n, np.nan) for m in COLLATERAL_MEASURES}
    for m in ("first_principal_period", "last_principal_period"):
        coll[m] = np.zeros(n, dtype=np.int64)
    return out, np.full((n, k, r), np.nan), coll


def _from_sums(deal: Deal, sums: np.ndarray, out: dict[str, np.ndarray], pv: np.ndarray,
               coll: dict[str, np.ndarray], start: int, stop: int) -> np.ndarray:
    """Fill rows start..stop-1 from the kernel's sums (`_sum_measures`); return the classes'
    original balances."""
    original, got, got_pv, got_coll = _sum_measures(deal, sums)
    for m, values in got.items():
        out[m][start:stop] = values
    pv[start:stop] = got_pv
    for m, values in got_coll.items():
        coll[m][start:stop] = values
    return original


def _sum_measures(deal: Deal, sums: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray,
                                                           dict[str, np.ndarray]]:
    """The measures of one chunk from the kernel's sums (engine/kernel.py's F_* fields), with the
    conventions of the full run's measures (weighted_average_life: NaN where nothing is paid;
    the residual has no WAL): the classes' original balances (a notional class's notional
    balance at issue), the class measures [scenario, class], the present values [scenario,
    class, rate], the collateral's measures [scenario]. New arrays: `sums` is the pool's."""
    where, residual, original = _layout(deal)
    rows = sums[:, where, :]
    # Each field's [scenario, class] as one contiguous array: one copy of them all, each measure
    # then a view of it (the same numbers as copying each field out on its own).
    fields = np.ascontiguousarray(rows[:, :, :field.SUM_FIELDS].transpose(2, 0, 1))
    wal = _wal(fields[field.F_WAL_PAID], fields[field.F_WAL_WEIGHTED])
    if residual:
        wal[:, residual] = np.nan
    out = {
        "wal": wal,
        "first_principal_period": fields[field.F_FIRST].astype(np.int64),
        "last_principal_period": fields[field.F_LAST].astype(np.int64),
        "total_interest": fields[field.F_INTEREST],
        "total_principal": fields[field.F_PRINCIPAL],
        "total_accrued": fields[field.F_ACCRUED],
        "final_balance": fields[field.F_FINAL],
    }
    pv = np.ascontiguousarray(rows[:, :, field.SUM_FIELDS:])
    c = np.ascontiguousarray(sums[:, -1, :field.SUM_FIELDS].T)  # [field, scenario]
    coll = {
        "wal": _wal(c[field.F_WAL_PAID], c[field.F_WAL_WEIGHTED]),
        "first_principal_period": c[field.F_FIRST].astype(np.int64),
        "last_principal_period": c[field.F_LAST].astype(np.int64),
        "total_interest": c[field.F_INTEREST],
        "total_scheduled_principal": c[field.F_SCHEDULED],
        "total_prepayment": c[field.F_PREPAID],
        "total_principal": c[field.F_PRINCIPAL],
        "total_servicing_fee": c[field.F_FEE],
        "final_balance": c[field.F_FINAL],
    }
    return original.copy(), out, pv, coll


_LAYOUTS: weakref.WeakKeyDictionary[Deal, tuple[slice | list[int], list[int], np.ndarray]] = \
    weakref.WeakKeyDictionary()


def _layout(deal: Deal) -> tuple[slice | list[int], list[int], np.ndarray]:
    """Where the issued classes' rows are in the kernel's sums (a slice when they are
    consecutive, the usual deal: a view, no [scenario, class, field] copy of fresh memory, whose
    page faults cost more than the rest here), the residual's columns, and the classes' original
    balances (a notional class's notional balance at issue): the deal's, worked out once."""
    try:
        return _LAYOUTS[deal]
    except KeyError:
        pass
    classes = deal.issued_classes
    index = [t.index for t in classes]
    consecutive = index == list(range(index[0], index[0] + len(index))) if index else False
    begin0 = compiled(deal).begin0  # type: ignore[union-attr]
    got = (slice(index[0], index[0] + len(index)) if consecutive else index,
           [j for j, t in enumerate(classes) if t.is_residual],
           np.array([begin0[t.index] if t.is_notional else t.balance for t in classes], dtype=float))
    _LAYOUTS[deal] = got
    return got


def _wal(paid: np.ndarray, weighted: np.ndarray) -> np.ndarray:
    """weighted_average_life from its two sums: NaN where nothing is paid."""
    # (divided only where paid: the same quotients as dividing everywhere and then choosing,
    # in fewer passes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.divide(weighted, 12.0 * paid, out=np.full(paid.shape, np.nan), where=paid > 0)


def _rows(a: np.ndarray) -> np.ndarray:
    """[scenario, period] with each scenario's periods contiguous. The compiled engine's rows are
    already; the numpy interpreter keeps scenarios contiguous instead ([period, class,
    scenario]), and numpy then sums a row in a different order (naively across rows rather than
    pairwise along one), so that the last bits of a total would depend on how many scenarios a
    chunk has. Reducing contiguous rows makes each scenario's figures independent of its chunk."""
    return np.ascontiguousarray(a, dtype=float)


def _class_measures(results: Results, out: dict[str, np.ndarray], pv: np.ndarray, bey: np.ndarray,
                    months: np.ndarray, start: int, stop: int) -> None:
    """Fill rows start..stop-1 of the class arrays from one chunk's run: the figures Results and
    valuation compute (Results.wal, principal_window, summary's totals, quotes.average_life,
    yields.present_value), each on contiguous rows (_rows)."""
    for j, tranche in enumerate(results.deal.issued_classes):
        a = results.arrays(tranche.name)
        principal = _rows(a["principal"])
        if tranche.is_notional:
            # quotes.average_life: the WAL of the notional balance's paydown, as pricing and the
            # report give a notional class's WAL.
            paydown = np.maximum(_rows(a["beginning_balance"]) - _rows(a["ending_balance"]), 0.0)
            out["wal"][start:stop, j] = weighted_average_life(paydown)
        elif tranche.is_residual:
            out["wal"][start:stop, j] = np.nan  # as Results.wal: the residual has no WAL
        else:
            out["wal"][start:stop, j] = weighted_average_life(principal)
        first, last = principal_window(principal)
        out["first_principal_period"][start:stop, j] = first
        out["last_principal_period"][start:stop, j] = last
        interest = _rows(a["interest"])
        out["total_interest"][start:stop, j] = interest.sum(axis=-1)
        out["total_principal"][start:stop, j] = principal.sum(axis=-1)
        out["total_accrued"][start:stop, j] = _rows(a["accrued"]).sum(axis=-1)
        out["final_balance"][start:stop, j] = a["ending_balance"][:, -1]
        if len(bey):
            cash = interest + principal  # quotes.class_cash
            for i, rate in enumerate(bey):
                pv[start:stop, j, i] = pricing.present_value(cash, months, rate)


def _collateral_measures(results: Results, coll: dict[str, np.ndarray], start: int, stop: int) -> None:
    c = results.collateral
    scheduled, prepayment = _rows(c.scheduled_principal), _rows(c.prepayment)
    principal = scheduled + prepayment  # CollateralFlows.principal
    recoveries = getattr(c, "recoveries", None)
    if recoveries is not None:
        principal = principal + _rows(recoveries)  # a credit run: CreditCollateral.principal
    first, last = principal_window(principal)
    coll["wal"][start:stop] = weighted_average_life(principal)
    coll["first_principal_period"][start:stop] = first
    coll["last_principal_period"][start:stop] = last
    coll["total_interest"][start:stop] = _rows(c.interest).sum(axis=-1)
    coll["total_scheduled_principal"][start:stop] = scheduled.sum(axis=-1)
    coll["total_prepayment"][start:stop] = prepayment.sum(axis=-1)
    coll["total_principal"][start:stop] = principal.sum(axis=-1)
    coll["total_servicing_fee"][start:stop] = _rows(c.servicing_fee).sum(axis=-1)
    coll["final_balance"][start:stop] = c.ending_balance[:, -1]
