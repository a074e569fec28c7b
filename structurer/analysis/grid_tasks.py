"""What a grid's worker processes run (analysis/grid.py cuts the work, analysis/grid_dask.py
sends it to a Dask cluster): the deals each worker is sent once and keeps, and the tasks.

A worker keeps a run's deals under the run's token (install), each with its scenarios, its
discount yields, the OAS request and its compiled program, which goes in the engine's cache so
that no task builds it again. A task names a deal by its number and returns a Done: its value,
or the deal's error as printed (a deal's own failure is never raised across processes).
"""

from __future__ import annotations

import os
import pickle
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.audit import EngineError
from ..engine.compiled import adopt
from ..errors import DealError, DealErrors, InputError, StructurerError
from ..model.deal import Deal
from ..model.scenarios import Scenario
from .oas import OasSetup, bump_curves, curve_weights, oas_base, oas_setup, oas_shifts
from .summary import summarise

if TYPE_CHECKING:
    from ..model.curve import Curve
    from ..model.ratemodel import HullWhite


@dataclass(frozen=True)
class OasRequest:
    """What an OAS run of every deal takes (analysis/oas.py oas_analysis's arguments): clean
    prices per class or one for every class (else each deal's `oas A at ...`), the rate model
    (None: the deal's, its fields replaced by those given here by dataclasses.replace), the curve
    (None: the deal's analytics curve), key rates."""

    prices: tuple[tuple[str, float | str], ...] = ()
    price: float | str | None = None
    model_changes: tuple[tuple[str, Any], ...] = ()
    curve: Curve | None = None
    key_rates: bool = True

    def model(self, deal: Deal) -> HullWhite | None:
        import dataclasses

        from ..model.ratespec import RateSpec

        if not self.model_changes:
            return None
        spec = deal.analytics.rates or RateSpec()
        return dataclasses.replace(spec.rate_model, **dict(self.model_changes))


# ---- tasks: what a worker is sent once, and what it is asked to do


@dataclass(frozen=True)
class Entry:
    """One deal as a worker keeps it."""

    deal: Deal
    program: Any  # engine.compiled.CompiledDeal | None: shipped so that no worker builds it again
    scenarios: list[Scenario]
    rates: np.ndarray
    oas: OasRequest | None


@dataclass(frozen=True)
class Task:
    key: int          # the deal's number
    kind: str         # 'summary', 'oas base', 'oas curve', 'oas shifts'
    start: int = 0    # summary: the scenarios start..stop-1
    stop: int = 0
    label: str = ""   # oas curve: bump_curves' label
    weight: int = 1   # for the progress bar: scenarios, or 1


@dataclass(frozen=True)
class Done:
    task: Task
    value: Any = None
    error: str | None = None
    seconds: float = 0.0  # the task's own time in the worker (process CPU time), for Grid.busy


# What this process was sent, by run: {run token: {deal number: Entry}}.
_INSTALLED: dict[str, dict[int, Entry]] = {}
# Per run and deal, what the OAS parts share in one worker (the setup, the simulated paths).
# The two deals last valued (a deal's parts are handed out together): the paths of 1,000 and the
# random part of their bond prices take tens of MB a deal, which a worker running hundreds of
# deals must not keep.
_OAS_CACHE: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
OAS_CACHE_DEALS = 2


def single_threaded_numba() -> None:
    """Numba on one thread in this process (and this thread: numba's setting is per thread).
    Before numba is imported, its variable; after, its setter."""
    import sys

    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = "1"
        return
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def install(token: str, blob: bytes) -> None:
    """Keep a run's deals in this process (a pool's initializer, a Dask worker plugin's setup);
    their compiled programs go in the engine's cache, so no task builds them."""
    single_threaded_numba()
    entries: dict[int, Entry] = pickle.loads(blob)
    for entry in entries.values():
        if entry.program is not None:
            adopt(entry.deal, entry.program)
    _INSTALLED[token] = entries


def start_worker(token: str, queue: Any) -> None:
    """A local pool's initializer: numba on one thread, numba and the kernel imported while the
    driver still loads and checks the deals, then the deals, once, from `queue` (None: the run
    has no deal to run)."""
    single_threaded_numba()
    from ..engine import kernel  # noqa: F401 - the slow imports, before the deals arrive

    blob = queue.get()
    if blob is not None:
        install(token, blob)


def ready() -> None:
    """A pool's first task per process: submitting it is what starts the process."""


def keep(token: str, entries: dict[int, Entry]) -> None:
    """A run's deals kept in this process as they are (a grid run in the driver: nothing to ship)."""
    _INSTALLED[token] = entries


def uninstall(token: str) -> None:
    _INSTALLED.pop(token, None)
    for key in [k for k in _OAS_CACHE if k[0] == token]:
        del _OAS_CACHE[key]


def run_task(token: str, task: Task) -> Done:
    """Run one task in a worker process (numba on one thread)."""
    single_threaded_numba()
    return attempt(token, task)


def attempt(token: str, task: Task) -> Done:
    """Run one task; a deal's own failure comes back as its message, not raised."""
    entry = _INSTALLED[token][task.key]
    start = time.process_time()
    try:
        return Done(task, _compute(token, entry, task), seconds=time.process_time() - start)
    except (DealError, DealErrors) as exc:
        return Done(task, error=exc.render())
    except StructurerError as exc:
        return Done(task, error=f"error: {exc}")
    except EngineError as exc:
        return Done(task, error=f"error: the engine's audit refused a run: {exc}")


def _compute(token: str, entry: Entry, task: Task) -> Any:
    deal = entry.deal
    if task.kind == "summary":
        scenarios = entry.scenarios[task.start:task.stop]
        return summarise(deal, scenarios, rates=entry.rates, chunk=max(1, len(scenarios)))
    request = entry.oas
    if request is None:  # never: OAS tasks are made only for an OAS run
        raise InputError("this grid was not asked for OAS")
    cache = _OAS_CACHE.setdefault((token, task.key), {})
    _OAS_CACHE.move_to_end((token, task.key))
    while len(_OAS_CACHE) > OAS_CACHE_DEALS:
        _OAS_CACHE.popitem(last=False)
    setup = cache.get("setup")
    if setup is None:
        setup = cache["setup"] = _oas_setup(deal, request)
    if task.kind == "oas base":
        return setup, oas_base(deal, setup, cache)
    if task.kind == "oas curve":
        curve = dict(bump_curves(setup))[task.label]
        return curve_weights(deal, setup, curve, cache)
    if task.kind == "oas shifts":
        return oas_shifts(deal, setup)
    raise InputError(f"no grid task '{task.kind}'")


def _oas_setup(deal: Deal, request: OasRequest) -> OasSetup:
    return oas_setup(deal, dict(request.prices) or None, request.price, model=request.model(deal),
                     curve=request.curve, key_rates=request.key_rates)


def internal_error(task: Task, exc: BaseException) -> Done:
    """A task that failed other than by its deal's input: a bug, reported for that deal alone
    (a nightly grid of hundreds of deals does not stop for it)."""
    return Done(task, error=f"error: structurer failed on this deal ({type(exc).__name__}: {exc}); "
                             "please report it")


def shipment(entries: dict[int, Entry]) -> bytes:
    """The deals, scenarios and compiled programs as one pickle, made once for every worker."""
    return pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
