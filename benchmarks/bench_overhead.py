"""What a run costs around the kernel: `deal.run` and `structurer.summarise` against the time
inside the compiled kernel (engine/kernel.py `run`), on a grid of N constant PSA speeds.

    python benchmarks/bench_overhead.py [--sizes 1,100,1000,10000] [--deals sequential,pac]
                                        [--repeat 9]

For each deal and size it prints, in ms per call, the best wall time of the whole call, the best
time in the kernel, and the best of (whole call - kernel) over the repeats: the overhead (speeds
resolved, the SMM, arguments packed, outputs taken, results assembled), also in ns per
scenario-month. The speeds are Prepayment objects (`Prepayment.constant(v, "PSA")`), as an API
grid gives them. Set NUMBA_NUM_THREADS=1 for one thread. The machine is shared: compare
figures taken back to back (another checkout: PYTHONPATH=that checkout). It prints figures
only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def measure(deal_name: str, n: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` figures (seconds) of one deal at n scenarios."""
    import structurer
    from structurer import Prepayment
    from structurer.engine import kernel

    deal = structurer.load(ROOT / "deals" / f"{deal_name}.waterfall")
    speeds = [Prepayment.constant(v, "PSA") for v in np.linspace(0.0, 1000.0, n)]
    inside = [0.0]
    plain = kernel.run

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return plain(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - t

    kernel.run = timed
    try:
        deal.run(*speeds)  # warm: compilation, first-call costs, the buffer pool
        structurer.summarise(deal, speeds)
        best = {k: float("inf") for k in ("run", "run_kernel", "run_over", "sum", "sum_kernel", "sum_over")}
        for _ in range(repeat):
            for key, call in (("run", lambda: deal.run(*speeds)),
                              ("sum", lambda: structurer.summarise(deal, speeds))):
                inside[0] = 0.0
                t = time.perf_counter()
                got = call()
                whole = time.perf_counter() - t
                del got
                best[key] = min(best[key], whole)
                best[key + "_kernel"] = min(best[key + "_kernel"], inside[0])
                best[key + "_over"] = min(best[key + "_over"], whole - inside[0])
        best["months"] = float(n * deal.periods)
        return best
    finally:
        kernel.run = plain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument("--deals", default="sequential,pac")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    print(f"{'deal':12s} {'n':>6s} | {'run':>9s} {'kernel':>9s} {'overhead':>9s} {'ns/s-m':>7s} | "
          f"{'summarise':>9s} {'kernel':>9s} {'overhead':>9s} {'ns/s-m':>7s}   (ms per call, best of "
          f"{args.repeat})")
    for deal_name in args.deals.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            b = measure(deal_name, n, args.repeat)
            per = 1e9 / b["months"]
            print(f"{deal_name:12s} {n:6d} | {b['run'] * 1e3:9.3f} {b['run_kernel'] * 1e3:9.3f} "
                  f"{b['run_over'] * 1e3:9.3f} {b['run_over'] * per:7.2f} | {b['sum'] * 1e3:9.3f} "
                  f"{b['sum_kernel'] * 1e3:9.3f} {b['sum_over'] * 1e3:9.3f} {b['sum_over'] * per:7.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
