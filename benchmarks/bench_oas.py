"""Time of a 1,000-path OAS with effective duration and convexity for a 10-class
PAC/support/IO/PO/Z/floater deal (deals/oas.waterfall): the zero-volatility run (ZV spreads),
the Monte Carlo run (OAS, standard errors) and the +/-25 bp runs on the same random numbers,
each one engine run with the paths as its scenario axis. Then the same with the key-rate
durations (8 runs more), the time of one engine run of the paths on its own, and the OAS of
each class as the paths grow (convergence).

    python benchmarks/bench_oas.py [--paths 1000] [--repeat 5] [--convergence 250,1000,4000]

Prints the best of the repetitions (the machine is shared: the best is the least disturbed)
after one warm-up run (the kernel is compiled or loaded from numba's cache then). Nothing is
asserted on time."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import structurer
from structurer.analysis.oas import model_run, oas_analysis
from structurer.engine.ratepaths import simulate
from structurer.model.ratemodel import HullWhite

ROOT = Path(__file__).resolve().parent.parent
DEAL = ROOT / "deals" / "oas.waterfall"


def _best(repeat: int, step) -> tuple[float, float, object]:
    """The best wall time, the CPU time (every thread of the process) of that repetition, and
    the step's result."""
    times, out = [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = step()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, used = min(times)
    return wall, used, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--convergence", default="250,500,1000,2000,4000",
                        help="path counts for the convergence table ('' for none)")
    args = parser.parse_args()
    deal = structurer.load(DEAL)
    spec = deal.analytics.rates
    model = HullWhite(spec.rate_model.mean_reversion, spec.rate_model.volatility, args.paths,
                      seed=spec.rate_model.seed)
    issued = [c for c in deal.issued_classes if not c.is_residual]
    print(f"deal {deal.name}: {len(deal.classes)} classes ({len(issued)} valued: "
          f"{', '.join(c.name for c in issued)}), {deal.periods} months, {args.paths:,} paths, "
          f"{os.cpu_count()} cores; best of {args.repeat} after a warm-up")

    oas_analysis(deal, model=model, key_rates=False, shifts=())  # warm-up: kernel compiled/loaded
    t_core, c_core, core = _best(args.repeat, lambda: oas_analysis(deal, model=model, key_rates=False,
                                                                   shifts=()))
    t_keys, c_keys, _ = _best(args.repeat, lambda: oas_analysis(deal, model=model, key_rates=True, shifts=()))
    paths = simulate(deal.analytics.curve, model, deal.periods)
    t_run, c_run, _ = _best(args.repeat, lambda: model_run(deal, [paths], spec.prepay_model, spec.mortgage))
    print(f"{'':78} {'wall s':>7} {'CPU s':>7}")
    n = f"{args.paths:,}"
    rows = ((f"OAS + ZV + effective duration/convexity (1 + 3 x {n} paths)", t_core, c_core),
            ("... and key-rate durations at 2, 5, 10, 30y (8 runs more)", t_keys, c_keys),
            (f"one engine run of {n} paths (mortgage rate, SMM, kernel, discounting)", t_run, c_run))
    for what, wall, cpu in rows:
        print(f"  {what:76} {wall:7.3f} {cpu:7.3f}")
    print("  (CPU s: every thread's time; wall above CPU / cores means the machine was shared)")
    print()
    print(f"{'class':6} {'OAS bp':>8} {'ZV bp':>8} {'opt bp':>8} {'SE bp':>6} {'eff dur':>8} {'eff conv':>9}")
    for c in core.classes:  # type: ignore[attr-defined]
        print(f"{c.name:6} {c.oas * 1e4:8.1f} {c.zv_spread * 1e4:8.1f} {c.option_cost * 1e4:8.1f} "
              f"{c.oas_std_error * 1e4:6.2f} {c.effective_duration:8.2f} {c.effective_convexity:9.2f}")

    counts = [int(x) for x in args.convergence.split(",") if x.strip()]
    if counts:
        print()
        print("OAS (bp) +/- its standard error as the paths grow (seed fixed):")
        names = [c.name for c in issued]
        print(f"{'paths':>6} " + " ".join(f"{n:>14}" for n in names))
        for n in counts:
            grown = HullWhite(model.mean_reversion, model.volatility, n, seed=model.seed)
            got = oas_analysis(deal, model=grown, key_rates=False, shifts=())
            by = {c.name: c for c in got.classes}
            cells = [f"{by[n_].oas * 1e4:7.1f} +/-{by[n_].oas_std_error * 1e4:4.1f}"
                     if np.isfinite(by[n_].oas) else f"{'-':>14}" for n_ in names]
            print(f"{n:>6} " + " ".join(cells))


if __name__ == "__main__":
    main()
