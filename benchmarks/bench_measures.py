"""Time of the measures added for issue 14: a floater's quote with its floating-rate measures
(the bisections of valuation/floating.py), the measures alone, and a total return, at 1,000
and 10,000 scenarios of deals/floater.waterfall (PSA grid x SOFR levels). Best of --repeat.

    python benchmarks/bench_measures.py [--repeat 3] [--scenarios 1000,10000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import structurer as st
from structurer import valuation
from structurer.model.scenarios import RatePath, Scenario
from structurer.valuation import quotes as q

DEAL = Path(__file__).resolve().parent.parent / "deals" / "floater.waterfall"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenarios", default="1000,10000")
    ns = ap.parse_args()
    deal = st.load(DEAL)
    print(f"{'scenarios':>10} {'quote FL (s)':>13} {'measures (s)':>13} {'share':>6} {'horizon (s)':>12}")
    for count in (int(x) for x in ns.scenarios.split(",")):
        speeds = np.linspace(50, 500, max(count // 10, 1))
        levels = np.linspace(0.01, 0.10, 10)
        scenarios = [Scenario(st.Prepayment.constant(float(p), "PSA"), (("SOFR", RatePath.level(float(lv))),))
                     for p in speeds for lv in levels][:count]
        results = deal.run(*scenarios)
        quote = valuation.quote(results, "FL", price="99-16")
        full = quote.full_price * quote.face / 100.0
        t_quote = best(lambda r=results: valuation.quote(r, "FL", price="99-16"), ns.repeat)
        t_measures = best(lambda r=results, f=full, y=quote.yield_: q.floater_measures(r, "FL", f, y),
                          ns.repeat)
        t_horizon = best(lambda r=results, x=quote: valuation.horizon_return(r, x, 12, 0.04, "yield", 0.06),
                         ns.repeat)
        print(f"{len(scenarios):>10,} {t_quote:>13.3f} {t_measures:>13.3f} {t_measures / t_quote:>6.0%} "
              f"{t_horizon:>12.3f}")


if __name__ == "__main__":
    main()
