"""A portfolio run: every deal under every scenario (and on OAS), on several processes.

`run_grid(deals, speeds, ...)` loads and checks the deals here, then splits the work into
tasks: by deal, and within a deal by chunks of scenarios (each chunk a summaries-only run,
analysis/summary.py) and, on OAS, by the parts of the analysis (analysis/oas.py: the Monte Carlo
run at the curve, one run per bumped curve, the rate-shift table). The tasks run on

- a local process pool (the default: no server), `workers` processes; or
- a Dask cluster (`scheduler`: its address, or a `distributed.Client`), analysis/grid_dask.py.

Each worker process is sent the checked deals, their scenarios and their compiled programs once
(the pool's initializer; a Dask worker plugin, which a restarted worker also gets) and keeps them
for the run; a task names a deal by its number. Each worker runs numba on one thread: the
processes are the parallelism, and two single-threaded workers scale on two cores where two
multi-threaded ones would fight for them.

The figures are the single-process run's, bit for bit: every scenario of a summaries-only run is
computed alone (a chunk's figures do not depend on the chunk), and the OAS parts are the
functions oas_analysis itself joins, on the same paths (the same seed). The driver only copies
and joins what the tasks return.

A deal that fails (it does not check, a scenario does not fit it, the engine's audit refuses a
run) is reported with its error; the other deals carry on.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.compiled import compiled
from ..engine.run import resolve_scenarios
from ..errors import DealError, DealErrors, InputError, StructurerError
from ..model.deal import Deal
from ..model.defaults import DefaultAssumption, parse_defaults, validate_lag
from ..model.prepayment import Prepayment
from ..model.scenarios import Scenario, at_defaults, check_indices, indices_named
from .grid_tasks import (
    Done,
    Entry,
    OasRequest,
    Task,
    attempt,
    internal_error,
    keep,
    ready,
    run_task,
    shipment,
    start_worker,
    uninstall,
)
from .oas import OasBase, OasResult, OasSetup, RateShifts, oas_assemble
from .summary import CLASS_MEASURES, COLLATERAL, COLLATERAL_MEASURES, Summary, _rate_label, default_chunk

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Where the scheduler's address may be given instead of --scheduler / scheduler=: ours first,
# then Dask's own variable (Client() reads it too).
SCHEDULER_VARIABLES = ("STRUCTURER_SCHEDULER", "DASK_SCHEDULER_ADDRESS")
# How often a local pool that lost a worker process is started again before the tasks it still
# owes are reported failed (Dask's own default for a task whose worker dies: 3).
POOL_RESTARTS = 3
# Tasks per worker the default chunk aims at: enough for the last ones to even out the load.
TASKS_PER_WORKER = 4
GRID_COLUMNS = ("deal", "scenario", "class", "measure", "value")
OAS_SCENARIO = "OAS"


@dataclass(frozen=True)
class Failure:
    """A deal that did not run: its label, where it came from and the error, as printed."""

    deal: str
    source: str
    message: str


@dataclass
class Grid:
    """What a grid run gives: per deal that ran, its Summary (the scenarios, in the order given)
    and its OasResult (on OAS); the deals that failed, with their errors; and how it ran."""

    deals: list[str]
    summaries: dict[str, Summary]
    oas: dict[str, OasResult]
    failures: list[Failure]
    backend: str  # 'local' (this process), 'pool' or 'dask'
    workers: int
    tasks: int
    retried: int = 0  # tasks run again after their worker died (the local pool; Dask's are not told)
    busy: float = 0.0  # CPU seconds the tasks took in the workers, summed: the work without the transport

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self) -> pa.Table:
        """The long-form table (deal, scenario, class, measure, value), one row per figure: each
        scenario's class measures (summary.CLASS_MEASURES, then `pv_<rate>` per discount yield)
        and the collateral's (class 'COLLATERAL'); on OAS, scenario 'OAS' with each priced
        class's figures (spreads in bp) and the rate-shift table's WAL and price per shift. The
        text columns are dictionary-encoded."""
        import pyarrow as pa

        parts = [part for name in self.deals for part in _deal_rows(name, self.summaries.get(name),
                                                                    self.oas.get(name))]
        labels: dict[str, list[str]] = {c: [] for c in GRID_COLUMNS[:4]}
        codes: dict[str, list[np.ndarray]] = {c: [] for c in GRID_COLUMNS[:4]}
        values: list[np.ndarray] = []
        for columns, value in parts:
            for c in GRID_COLUMNS[:4]:
                names, index = columns[c]
                codes[c].append(index + len(labels[c]))
                labels[c].extend(names)
            values.append(value)
        arrays = []
        for c in GRID_COLUMNS[:4]:
            index = np.concatenate(codes[c]) if codes[c] else np.zeros(0, dtype=np.int64)
            unique, inverse = np.unique(np.array(labels[c], dtype=object), return_inverse=True) \
                if labels[c] else (np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(inverse[index].astype(np.int32)),
                                                         pa.array(unique.tolist(), type=pa.string())))
        arrays.append(pa.array(np.concatenate(values) if values else np.zeros(0), type=pa.float64()))
        return pa.Table.from_arrays(arrays, names=list(GRID_COLUMNS))

    def frame(self) -> pd.DataFrame:
        """The long-form table as a DataFrame (text columns categorical)."""
        return self.table().to_pandas()

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the long-form table: Parquet (.parquet, .pq) or CSV (.csv)."""
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".pq", ".csv"):
            raise InputError(f"a grid is written as .parquet (or .csv), not '{out.name}'")
        try:
            if suffix == ".csv":
                self.frame().to_csv(out, index=False)
            else:
                import pyarrow.parquet as pq

                pq.write_table(self.table(), out)
        except OSError as exc:
            raise InputError(f"cannot write the grid to {out}: {exc.strerror or exc}") from None
        return out


def _coded(names: Sequence[str], index: np.ndarray) -> tuple[list[str], np.ndarray]:
    return list(names), index


def _deal_rows(name: str, summary: Summary | None,
               oas: OasResult | None) -> Iterator[tuple[dict[str, tuple[list[str], np.ndarray]], np.ndarray]]:
    """The deal's rows as code arrays into small label lists (no string per row)."""
    if summary is not None:
        measures = [*CLASS_MEASURES, *(f"pv_{_rate_label(r)}" for r in summary.rates)]
        blocks = [getattr(summary, m) for m in CLASS_MEASURES] + [summary.pv[:, :, r]
                                                                  for r in range(len(summary.rates))]
        # [scenario, class, measure] in that order, then the collateral's [scenario, measure]
        cube = np.stack([np.asarray(b, dtype=float) for b in blocks], axis=-1)
        s, c, m = np.indices(cube.shape).reshape(3, -1)
        yield ({"deal": _coded([name], np.zeros(s.size, dtype=np.int64)),
                "scenario": _coded(summary.scenarios, s), "class": _coded(summary.classes, c),
                "measure": _coded(measures, m)}, cube.reshape(-1))
        coll = np.stack([np.asarray(summary.collateral[m], dtype=float) for m in COLLATERAL_MEASURES],
                        axis=-1)
        s, m = np.indices(coll.shape).reshape(2, -1)
        yield ({"deal": _coded([name], np.zeros(s.size, dtype=np.int64)),
                "scenario": _coded(summary.scenarios, s), "class": _coded([COLLATERAL], np.zeros_like(s)),
                "measure": _coded(list(COLLATERAL_MEASURES), m)}, coll.reshape(-1))
    if oas is not None:
        scen, cls, meas, vals = [], [], [], []
        for c in oas.classes:
            for measure, value in oas_figures(c).items():
                scen.append(OAS_SCENARIO)
                cls.append(c.name)
                meas.append(measure)
                vals.append(value)
        if oas.shifts is not None:
            for kind, table in (("wal", oas.shifts.wal), ("price", oas.shifts.price)):
                for cname, row in table.items():
                    for label, value in zip(oas.shifts.labels, row, strict=True):
                        scen.append(f"rates {label}")
                        cls.append(cname)
                        meas.append(kind)
                        vals.append(value)
        if vals:
            idx = np.arange(len(vals))
            yield ({"deal": _coded([name], np.zeros(len(vals), dtype=np.int64)),
                    "scenario": _coded(scen, idx), "class": _coded(cls, idx), "measure": _coded(meas, idx)},
                   np.array(vals, dtype=float))


def oas_figures(c: Any) -> dict[str, float]:
    """One class's OAS figures for the long-form table, unrounded: spreads in bp, prices per 100."""
    out = {"price": c.price, "accrued": c.accrued, "oas": c.oas * 1e4, "zv_spread": c.zv_spread * 1e4,
           "option_cost": c.option_cost * 1e4, "oas_std_error": c.oas_std_error * 1e4,
           "price_std_error": c.price_std_error, "effective_duration": c.effective_duration,
           "effective_convexity": c.effective_convexity}
    out.update({f"krd_{k:g}y": v for k, v in c.key_rates.items()})
    out.update({"wal": c.wal, "mean_wal": c.mean_wal})
    return {k: float(v) for k, v in out.items()}


# ---- the driver


@dataclass
class _Plan:
    """The deals that loaded, their tasks, and what the tasks return, joined per deal."""

    labels: dict[int, str]
    sources: dict[int, str]
    entries: dict[int, Entry]
    tasks: list[Task]
    failures: dict[int, str] = field(default_factory=dict)
    chunks: dict[int, list[tuple[int, Summary]]] = field(default_factory=dict)
    oas_parts: dict[int, dict[str, Any]] = field(default_factory=dict)
    busy: float = 0.0

    def take(self, done: Done) -> None:
        key = done.task.key
        self.busy += done.seconds
        if key in self.failures:
            return
        if done.error is not None:
            self.failures[key] = done.error
            self.chunks.pop(key, None)
            self.oas_parts.pop(key, None)
            return
        kind = done.task.kind
        if kind == "summary":
            self.chunks.setdefault(key, []).append((done.task.start, done.value))
        elif kind == "oas base":
            self.oas_parts.setdefault(key, {})["setup"], self.oas_parts[key]["base"] = done.value
        elif kind == "oas curve":
            self.oas_parts.setdefault(key, {}).setdefault("weights", {})[done.task.label] = done.value
        else:
            self.oas_parts.setdefault(key, {})["shifts"] = done.value


def run_grid(deals: Sequence[str | os.PathLike[str] | Deal],
             speeds: Sequence[Scenario | Prepayment | str] | None = None, *,
             defaults: Sequence[DefaultAssumption | str] | None = None,
             rates: Sequence[float | str] | float | str | None = None,
             oas: OasRequest | bool | None = None, summaries: bool = True,
             workers: int | None = None, scheduler: Any = None, chunk: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> Grid:
    """Every deal under every scenario (see the module's docstring).

    `deals`: deal files or checked Deals. `speeds` as Deal.run takes them (default: each deal's
    pricing scenario), each run at every default assumption of `defaults` (speed-major, as the
    command line's --sda grid). `rates`: flat yields for the PVs (analysis/summary.py). `oas`:
    an OasRequest (True: each deal's declared prices) to value every deal on OAS as well;
    `summaries=False` runs only that. `workers`: processes of the local pool (default: the
    cores; 0 runs every task in this process). `scheduler`: a Dask scheduler's address or a
    distributed.Client (default, when `workers` is not given either: the variables
    SCHEDULER_VARIABLES, else the local pool).
    `chunk`: scenarios per task (default: a few tasks per worker, within summary's memory
    budget). `progress(done, total)` hears of each task done, in scenarios and OAS parts."""
    from .summary import validate_rates

    bey = validate_rates(rates)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise InputError(f"chunk {chunk!r} is not a number of scenarios; give a whole number, 1 or more")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise InputError(f"workers {workers!r} is not a number of processes; give a whole number, 0 or more")
    if isinstance(speeds, str | Scenario | Prepayment):
        speeds = [speeds]
    if isinstance(defaults, str | DefaultAssumption):
        defaults = [defaults]
    request = OasRequest() if oas is True else (oas or None)
    if not summaries and request is None:
        raise InputError("a grid with no summaries and no OAS has nothing to run")
    if scheduler is None and workers is None:  # a pool size given asks for the local pool
        scheduler = next((os.environ[v] for v in SCHEDULER_VARIABLES if os.environ.get(v, "").strip()), None)
    if isinstance(scheduler, str) and scheduler.strip().lower() == "local":
        scheduler = None  # the local pool, whatever the environment says
    pool: _LocalPool | None = None
    cluster = None
    if scheduler is not None:
        from .grid_dask import DaskRunner

        cluster = DaskRunner(scheduler)  # connected first: the work is cut for its size
        size = cluster.workers
    else:
        size = _cores() if workers is None else workers
        # The local pool starts before the deals are loaded: its start-up and the loading overlap.
        pool = _LocalPool(size) if size > 0 else None
    try:
        plan = _plan(deals, speeds, defaults, bey, request, summaries, chunk, max(1, size))
        retried = 0
        if cluster is not None:
            backend = "dask"
            if plan.entries:
                size, retried = cluster.run(plan, progress)
        elif pool is None:
            backend = "local"
            _run_here(plan, progress)
        else:
            backend = "pool"
            if plan.entries:
                retried = pool.run(plan, progress)
    finally:
        if pool is not None:
            pool.close()
        if cluster is not None:
            cluster.close()
    return _join(plan, backend, size, retried)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _load(path: str | os.PathLike[str]) -> Deal:
    """Read, parse and check a deal file (structurer.load, which sits above this layer)."""
    from ..check import check
    from ..inputs import read_deal_text
    from ..language.parser import parse

    return check(parse(read_deal_text(path), str(path)))


def _label(deal: Deal, source: str, seen: dict[str, int]) -> str:
    """The deal's name; a second deal of the same name is told apart by its source."""
    seen[deal.name] = seen.get(deal.name, 0) + 1
    return deal.name if seen[deal.name] == 1 else f"{deal.name} ({source})"


def _plan(deals: Sequence[str | os.PathLike[str] | Deal], speeds: Sequence[Any] | None,
          defaults: Sequence[DefaultAssumption | str] | None, bey: np.ndarray, request: OasRequest | None,
          summaries: bool, chunk: int | None, workers: int) -> _Plan:
    """Load and check every deal and resolve its scenarios here (a deal that fails is recorded
    with its error and left out), then cut the tasks."""
    plan = _Plan({}, {}, {}, [])
    seen: dict[str, int] = {}
    loaded: list[tuple[int, Deal, list[Scenario]]] = []
    read: dict[str, Scenario] = {}
    for key, item in enumerate(deals):
        source = item.name if isinstance(item, Deal) else str(item)
        plan.sources[key] = source
        plan.labels[key] = source
        try:
            deal = item if isinstance(item, Deal) else _load(item)
            plan.labels[key] = _label(deal, source, seen)
            scenarios = _scenarios(deal, speeds, defaults, read) if summaries else []
            if request is not None:
                _check_oas(deal, request)
        except (DealError, DealErrors) as exc:
            plan.failures[key] = exc.render()
            continue
        except StructurerError as exc:
            plan.failures[key] = f"error: {exc}"
            continue
        loaded.append((key, deal, scenarios))
    # A few tasks per worker over the whole grid: many deals need no split, few deals do.
    split = max(1, math.ceil(TASKS_PER_WORKER * workers / max(1, len(loaded))))
    for key, deal, scenarios in loaded:
        plan.entries[key] = Entry(deal, compiled(deal), scenarios, bey, request)
        n = len(scenarios)
        size = chunk if chunk is not None else min(default_chunk(deal), max(1, math.ceil(n / split)))
        # OAS first: its parts are the longest tasks, and long tasks last would leave a worker idle.
        if request is not None:
            plan.tasks.append(Task(key, "oas base"))
            plan.tasks.append(Task(key, "oas shifts"))
            labels = ["up", "down"] + ([f"{d} {k:g}y" for k in _key_rates() for d in ("up", "down")]
                                       if request.key_rates else [])
            plan.tasks.extend(Task(key, "oas curve", label=label) for label in labels)
        for start in range(0, n, size):
            stop = min(n, start + size)
            plan.tasks.append(Task(key, "summary", start, stop, weight=stop - start))
    return plan


def _check_oas(deal: Deal, request: OasRequest) -> None:
    """What an OAS run of the deal would refuse at once (no curve, nothing priced, a bad model),
    found here so that the deal's failure costs no task."""
    from ..model.ratemodel import check_horizon
    from ..model.ratespec import RateSpec
    from .oas import _prices

    request.model(deal)  # HullWhite checks its fields (paths in pairs, ...)
    curve = request.curve if request.curve is not None else deal.analytics.curve
    if curve is None:
        raise InputError(f"deal \"{deal.name}\" has no curve for OAS: give one (--curve FILE) or add it "
                         "to its analytics block")
    check_horizon(curve, deal.periods)
    _prices(deal, deal.analytics.rates or RateSpec(), dict(request.prices) or None, request.price)


def _key_rates() -> tuple[float, ...]:
    from ..model.ratespec import KEY_RATES

    return KEY_RATES


def _scenarios(deal: Deal, speeds: Sequence[Any] | None,
               defaults: Sequence[DefaultAssumption | str] | None,
               read: dict[str, Scenario] | None = None) -> list[Scenario]:
    """The deal's scenarios, each at every default assumption (the command line's grid). `read`:
    speeds already read from text, by their text, shared by every deal (a speed that is not one
    of the deal's scenario names reads the same for every deal: the same objects, read and sent
    once)."""
    if speeds and read is not None:
        out: list[Scenario] = []
        for speed in speeds:
            if isinstance(speed, str) and speed not in deal.scenarios and "defaults" not in speed.lower():
                got = read.get(speed)
                if got is None:
                    got = read[speed] = resolve_scenarios(deal, [speed])[0]
                out.append(got)
            else:
                out.extend(resolve_scenarios(deal, [speed]))
        scenarios = out
    else:
        scenarios = resolve_scenarios(deal, list(speeds) if speeds else None)
    check_indices(deal.name, deal.index_names, indices_named(scenarios))
    if not defaults:
        return scenarios
    term = max(p.term for p in deal.pools)
    assumptions = [parse_defaults(d, term) for d in defaults]
    for d in assumptions:
        validate_lag(d.lag, term)
    return at_defaults(scenarios, assumptions)


def _run_here(plan: _Plan, progress: Callable[[int, int], None] | None) -> int:
    """Every task in this process, in order (workers=0): the reference the pools are held to."""
    token = uuid.uuid4().hex
    keep(token, plan.entries)
    total, done = sum(t.weight for t in plan.tasks), 0
    if progress is not None:
        progress(0, total)  # the bar's length, before the first task is back
    try:
        for task in plan.tasks:
            if task.key in plan.failures:
                continue
            plan.take(attempt(token, task))  # this process keeps its numba threads
            done += task.weight
            if progress is not None:
                progress(done, total)
    finally:
        uninstall(token)
    return 0


class _LocalPool:
    """A local process pool, started before the deals are planned: its processes start up (import
    structurer and numba) while this process loads and checks the deals, then each takes the
    run's deals once from a queue (grid_tasks.start_worker)."""

    def __init__(self, workers: int):
        import multiprocessing

        self.workers = workers
        # spawn: a fork would copy this process's numba threads, which are not safe to fork.
        self.context = multiprocessing.get_context("spawn")
        self.token = uuid.uuid4().hex
        self.blob: bytes | None = None
        self._open()

    def _open(self) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.queue = self.context.SimpleQueue()
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self.context,
                                        initializer=start_worker, initargs=(self.token, self.queue))
        # The pool starts a process per task submitted, up to its size: these start them all now.
        self.starting = [self.pool.submit(ready) for _ in range(self.workers)]
        if self.blob is not None:
            self.ship(self.blob)

    def ship(self, blob: bytes | None) -> None:
        self.blob = blob
        for _ in range(self.workers):
            self.queue.put(blob)

    def close(self) -> None:
        if self.blob is None:
            self.ship(None)  # no deal to run: the processes stop waiting for one
        # Every result is in: the processes' interpreters wind down while the caller goes on (the
        # pool's own thread still joins them).
        self.pool.shutdown(wait=False, cancel_futures=True)

    def run(self, plan: _Plan, progress: Callable[[int, int], None] | None) -> int:
        """The plan's tasks. A pool that loses a worker process breaks as a whole: the tasks not
        yet back run again on a new pool, up to POOL_RESTARTS times; returns how many did."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        self.ship(shipment(plan.entries))
        pending = list(plan.tasks)
        total, done, retried, restarts = sum(t.weight for t in plan.tasks), 0, 0, 0
        if progress is not None:
            progress(0, total)  # the bar's length, before the first task is back
        while pending:
            broken = False
            futures = {self.pool.submit(run_task, self.token, task): task for task in pending
                       if task.key not in plan.failures}
            pending = []
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        pending.append(task)
                        continue
                    except Exception as exc:  # a bug on one deal: the others carry on
                        result = internal_error(task, exc)
                    plan.take(result)
                    done += task.weight
                    if progress is not None:
                        progress(done, total)
            if broken:
                self.pool.shutdown(wait=False, cancel_futures=True)
                if not any(f.done() and f.exception() is None for f in self.starting):
                    # No process ever got through its start: a retry cannot mend that (most
                    # often a script without the guard spawn needs).
                    raise InputError("the local pool's worker processes died before any task came back. "
                                     "A script that runs a grid on the local pool must keep its top level "
                                     "under `if __name__ == \"__main__\":` (each worker process starts by "
                                     "importing the script); or run it in this process with workers=0")
                restarts += 1
                retried += len(pending)
                if restarts > POOL_RESTARTS:
                    for task in pending:
                        plan.failures.setdefault(task.key, f"error: a worker process died running deal "
                                                           f"\"{plan.labels[task.key]}\" {restarts} times")
                    pending = []
                if pending:
                    self._open()
        return retried


def _join(plan: _Plan, backend: str, workers: int, retried: int) -> Grid:
    """Each deal's chunks joined in scenario order and its OAS parts assembled."""
    names, summaries, oas = [], {}, {}
    for key, entry in plan.entries.items():
        if key in plan.failures:
            continue
        label = plan.labels[key]
        names.append(label)
        chunks = sorted(plan.chunks.get(key, []), key=lambda c: c[0])
        if entry.scenarios:
            summaries[label] = join_summaries([s for _, s in chunks])
        if entry.oas is not None:
            parts = plan.oas_parts[key]
            setup: OasSetup = parts["setup"]
            base: OasBase = parts["base"]
            table: RateShifts | None = parts.get("shifts")
            oas[label] = oas_assemble(entry.deal, setup, base, parts.get("weights", {}), table)
    failures = [Failure(plan.labels[k], plan.sources[k], plan.failures[k]) for k in sorted(plan.failures)]
    return Grid(names, summaries, oas, failures, backend, workers, len(plan.tasks), retried, plan.busy)


def join_summaries(parts: list[Summary]) -> Summary:
    """Summaries of consecutive chunks of one deal's scenarios as one (copies, no arithmetic)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    arrays = {m: np.concatenate([getattr(p, m) for p in parts]) for m in CLASS_MEASURES}
    return Summary(
        deal=first.deal, scenarios=[s for p in parts for s in p.scenarios], classes=first.classes,
        notional=first.notional, original_balance=first.original_balance, rates=first.rates,
        pv=np.concatenate([p.pv for p in parts]),
        collateral={m: np.concatenate([p.collateral[m] for p in parts]) for m in first.collateral},
        **arrays)
