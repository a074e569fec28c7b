"""Wall time of a portfolio grid (analysis/grid.py): 50 deals x 1,000 scenarios, summaries only,
on a local pool of 1 and of 2 worker processes, the speed-up, and the same grid on a Dask
LocalCluster of 2 worker processes (its overhead against the pool).

    python benchmarks/bench_grid.py [--deals 50] [--scenarios 1000] [--repeat 3] [--no-dask]

The 50 deals are the example deals that run on the compiled engine, repeated under new names
(written to a temporary folder). Each figure is the best of --repeat runs; a pool's time
includes starting its processes (each imports structurer and loads the compiled kernel from
numba's cache), which a run pays every time; "warm" is the same grid on a pool whose processes
have already run it once (Grid runs reuse nothing, so this is the work alone, measured inside
one long-lived pool of the same size: concurrent.futures with the grid's own worker functions).
The Dask cluster is started once (its start-up is printed apart), as a desk's cluster is
running before the night's grid. Times depend on the machine's load: `uptime` is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Deals whose rules all have a compiled form and that need no input file beside them.
BASE = ("sequential", "pac", "pac_tiers", "accrual", "floater", "io_po", "jump_z", "nas", "prorata",
        "passthrough", "senior_sub", "private_label", "two_pool", "trust_io_po", "oas")


def write_deals(folder: Path, count: int) -> list[Path]:
    """`count` deal files: the example deals in turn, each copy under its own deal name."""
    import re

    out = []
    for i in range(count):
        base = BASE[i % len(BASE)]
        text = (ROOT / "deals" / f"{base}.waterfall").read_text()
        text = re.sub(r'deal "([^"]+)"', lambda m, i=i: f'deal "{m.group(1)}-{i:03d}"', text, count=1)
        path = folder / f"{base}_{i:03d}.waterfall"
        path.write_text(text)
        out.append(path)
    return out


def best(repeat: int, run) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def pool_run(deals: list[Path], speeds: list[str], workers: int) -> tuple[float, float, float, object]:
    """One grid on a fresh local pool: (wall seconds, this process's CPU seconds, the worker
    processes' CPU seconds with their start-up, the Grid)."""
    import multiprocessing
    import resource

    from structurer.analysis.grid import run_grid

    def children() -> float:
        while multiprocessing.active_children():  # joins (reaps) the pool's finished processes
            time.sleep(0.01)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = children()
    cpu, start = time.process_time(), time.perf_counter()
    grid = run_grid(deals, speeds, workers=workers)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, children() - before, grid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--deals", type=int, default=50)
    p.add_argument("--scenarios", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    ns = p.parse_args()

    from structurer.analysis.grid import run_grid

    speeds = [f"{800 * k / max(1, ns.scenarios - 1):.4f} PSA" for k in range(ns.scenarios)]
    folder = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    try:
        deals = write_deals(folder, ns.deals)
        print(f"grid: {ns.deals} deals x {ns.scenarios:,} scenarios (summaries only), best of {ns.repeat}")
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
              f"(1/5/15 min), {os.cpu_count()} cores")
        run_grid(deals[:2], speeds[:10], workers=1)  # numba's cache filled before any clock starts
        figures: dict[str, float] = {}
        cpu: dict[int, tuple[float, float]] = {}
        for workers in (1, 2):
            runs = [pool_run(deals, speeds, workers) for _ in range(ns.repeat)]
            wall, _, _, grid = min(runs, key=lambda r: r[0])
            assert grid.ok, grid.failures  # type: ignore[attr-defined]
            figures[f"pool {workers}"] = wall
            cpu[workers] = (min(r[1] for r in runs), min(r[2] for r in runs))
            print(f"local pool, {workers} worker{'s' if workers > 1 else ' '}: {wall:7.2f} s wall  "
                  f"({grid.tasks} tasks; CPU: this process {cpu[workers][0]:.2f} s, the workers "  # type: ignore[attr-defined]
                  f"{cpu[workers][1]:.2f} s with their start-up, of which the tasks "
                  f"{grid.busy:.2f} s)")  # type: ignore[attr-defined]
        print(f"speed-up, 2 workers over 1:  {figures['pool 1'] / figures['pool 2']:.2f}x (target 1.8x)")
        # On a quiet machine the two workers' CPU runs side by side; this process's does not.
        one = cpu[1][0] + cpu[1][1]
        two = cpu[2][0] + cpu[2][1] / 2
        print(f"  from the CPU times, on a quiet machine: {one:.2f} s / {two:.2f} s = {one / two:.2f}x "
              "(this process's CPU serial, the workers' split in two)")
        for workers in (1, 2):
            seconds = warm(deals, speeds, workers, ns.repeat)
            figures[f"warm {workers}"] = seconds
            print(f"warm pool, {workers} worker{'s' if workers > 1 else ' '}:  {seconds:7.2f} s wall "
                  "(processes started and the deals sent before the clock)")
        print(f"speed-up, warm, 2 over 1:    {figures['warm 1'] / figures['warm 2']:.2f}x")
        if not ns.no_dask:
            from distributed import Client, LocalCluster

            start = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                client.wait_for_workers(2)
                print(f"Dask LocalCluster, 2 workers: started in {time.perf_counter() - start:.2f} s")
                run_grid(deals[:2], speeds[:10], scheduler=client)  # the workers import structurer
                seconds, grid = best(ns.repeat, lambda: run_grid(deals, speeds, scheduler=client))
                assert grid.ok  # type: ignore[attr-defined]
                print(f"Dask, 2 workers:             {seconds:7.2f} s wall")
                print(f"Dask overhead over the pool: {seconds - figures['pool 2']:+7.2f} s "
                      f"({seconds / figures['pool 2']:.2f}x the 2-worker pool's time, which starts its "
                      "processes each run)")
                print(f"  over the warm pool:        {seconds - figures['warm 2']:+7.2f} s "
                      f"({seconds / figures['warm 2']:.2f}x: the transport alone, both started)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def warm(deals: list[Path], speeds: list[str], workers: int, repeat: int) -> float:
    """The grid's tasks on a pool whose processes are up and hold the deals already."""
    import multiprocessing
    import uuid
    from concurrent.futures import ProcessPoolExecutor

    from structurer.analysis import grid as g
    from structurer.analysis.grid_tasks import install, run_task, shipment
    from structurer.analysis.summary import validate_rates

    plan = g._plan(deals, speeds, None, validate_rates(None), None, True, None, workers)
    token = uuid.uuid4().hex
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=install,
                             initargs=(token, shipment(plan.entries))) as pool:
        list(pool.map(run_task, [token] * len(plan.tasks), plan.tasks))  # start up, compile, warm
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            done = list(pool.map(run_task, [token] * len(plan.tasks), plan.tasks))
            times.append(time.perf_counter() - start)
            assert all(d.error is None for d in done)
    return min(times)


if __name__ == "__main__":
    main()
