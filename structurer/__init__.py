"""structurer: a language and engine for structuring CMO/REMIC deals.

    import structurer
    deal = structurer.load("deals/sequential.waterfall")
    results = deal.run("100 PSA", "165 PSA")
    results.summary("165 PSA")

This module is the API layer, above every other: it re-exports the public names lazily (so
`import structurer` loads neither numpy nor lark until a deal is read) and binds the hooks
through which the model and the results reach the engine and the report (structurer/hooks.py).
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import hooks
from .errors import DealError, DealErrors, InputError, StructurerError
from .version import __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .analysis.grid import Grid
    from .analysis.oas import OasResult
    from .analysis.summary import Summary
    from .model.curve import Curve
    from .model.deal import Deal
    from .model.defaults import DefaultAssumption
    from .model.prepayment import Prepayment
    from .model.scenarios import Scenario
    from .results.results import Results

__all__ = [
    "Deal",
    "DealError",
    "DealErrors",
    "InputError",
    "Prepayment",
    "Results",
    "StructurerError",
    "__version__",
    "factors",
    "grid",
    "holder_ledger",
    "holder_register",
    "load",
    "loads",
    "oas",
    "read_register",
    "statement",
    "summarise",
]

# Public name -> module that defines it, imported on first use (PEP 562).
_LAZY = {
    "Deal": "structurer.model.deal",
    "Prepayment": "structurer.model.prepayment",
    "Results": "structurer.results.results",
    # Distribution statements and fractional holdings (results/statements.py, results/holdings.py).
    "statement": "structurer.results.statements",
    "factors": "structurer.results.statements",
    "holder_register": "structurer.results.holdings",
    "read_register": "structurer.results.holdings",
    "holder_ledger": "structurer.results.holdings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'structurer' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def loads(source: str, path: str | None = None) -> Deal:
    """Parse and check deal text; raise DealError/DealErrors pointing into the text if it is bad."""
    from .check import check
    from .language.parser import parse

    return check(parse(source, path))


def load(path: str | os.PathLike[str]) -> Deal:
    """Read, parse and check a deal file."""
    from .inputs import read_deal_text

    source = read_deal_text(path)
    return loads(source, str(path))


def summarise(deal: Deal, speeds: Sequence[Scenario | Prepayment | str] | None = None, *,
              rates: Sequence[float | str] | float | str | None = None, chunk: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Summary:
    """Run a large grid of scenarios in chunks, keeping per scenario and class only the WAL,
    principal window, totals, final balance and PVs at flat yields `rates` (memory bounded by
    the chunk): structurer.analysis.summary.summarise; also `deal.summarise(*speeds, ...)`."""
    from .analysis.summary import summarise as run_summaries

    return run_summaries(deal, speeds, rates=rates, chunk=chunk, progress=progress)


def grid(deals: Sequence[str | os.PathLike[str] | Deal],
         speeds: Sequence[Scenario | Prepayment | str] | None = None, *,
         defaults: Sequence[DefaultAssumption | str] | None = None,
         rates: Sequence[float | str] | float | str | None = None, oas: bool = False,
         prices: dict[str, float | str] | None = None, price: float | str | None = None,
         paths: int | None = None, curve: Curve | None = None, key_rates: bool = True,
         summaries: bool = True, workers: int | None = None, scheduler: Any = None,
         chunk: int | None = None, progress: Callable[[int, int], None] | None = None) -> Grid:
    """Every deal (files or Deals) under every speed (as Deal.run takes them; default each
    deal's pricing speed), each at every default assumption of `defaults` ('100 SDA severity 35%
    lag 12'), summaries only (summarise's measures, PVs at `rates`); with `oas`, every deal on
    OAS too (prices as structurer.oas takes them, `paths` replacing the deal's). On a local pool
    of `workers` processes (default the cores; 0: this process), or a Dask cluster: `scheduler`
    an address or a distributed.Client, or $STRUCTURER_SCHEDULER / $DASK_SCHEDULER_ADDRESS.
    A deal that fails is in `Grid.failures`; `Grid.table()` / `.frame()` / `.write(path)` give
    the long-form table (analysis/grid.py)."""
    from .analysis.grid import OasRequest, run_grid

    request = None
    if oas:
        request = OasRequest(tuple((prices or {}).items()), price,
                             (("paths", paths),) if paths is not None else (), curve, key_rates)
    return run_grid(deals, speeds, defaults=defaults, rates=rates, oas=request, summaries=summaries,
                    workers=workers, scheduler=scheduler, chunk=chunk, progress=progress)


# ---- the hooks (dependency inversion: the lower layers call up through structurer.hooks)

def oas(deal: Deal, prices: dict[str, float | str] | None = None, *, price: float | str | None = None,
        paths: int | None = None, volatility: float | None = None, mean_reversion: float | None = None,
        seed: int | None = None, key_rates: bool = True,
        shifts: Sequence[float] | None = None) -> OasResult:
    """OAS, ZV spread, option cost, effective duration and convexity, key-rate durations and the
    WAL/price table across rate shifts of the deal's priced classes (analysis/oas.py).

    Prices are clean (decimal or 32nds): `prices` per class, else the deal's `oas A at ...`,
    else `price` for every class. The rate model is the deal's (`rates hull-white ...`), its
    fields replaced by those given here (`volatility` a decimal: 0.01 is 100 bp)."""
    import dataclasses

    from .analysis.oas import oas_analysis
    from .model.ratespec import RateSpec

    spec = deal.analytics.rates or RateSpec()
    changes = {k: v for k, v in (("paths", paths), ("volatility", volatility),
                                 ("mean_reversion", mean_reversion), ("seed", seed)) if v is not None}
    model = dataclasses.replace(spec.rate_model, **changes) if changes else None
    return oas_analysis(deal, prices, price, model=model, key_rates=key_rates,
                        shifts=None if shifts is None else tuple(float(s) for s in shifts))


def _run_deal(deal: Deal, speeds: list[Scenario | Prepayment | str] | None = None,
              progress: Callable[[int, int], None] | None = None) -> Results:
    from .engine.run import run_deal

    return run_deal(deal, speeds, progress)


def _deal_html(deal: Deal) -> str:
    from .analysis.plan import deal_view
    from .present.report import deal_html

    return deal_html(deal_view(deal))


def _results_html(results: Results) -> str:
    from .analysis.plan import results_view
    from .present.report import results_html

    return results_html(results_view(results))


hooks.run_deal = _run_deal
hooks.summarise = summarise
hooks.deal_html = _deal_html
hooks.results_html = _results_html
