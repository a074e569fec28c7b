"""Time of a holder ledger as the register grows: the time to split class A of
deals/sequential.waterfall at its pricing speed over N holders (random units), at 2 and at 18
decimals, best of --repeat runs; and the time of its distribution statement and factor file.

    python benchmarks/bench_holdings.py [--holders 100,1000,10000] [--repeat 3]

Prints figures; asserts nothing about time (the machine is shared: take the best of several).
"""

from __future__ import annotations

import argparse
import random
import time
from functools import partial
from pathlib import Path

import structurer

ROOT = Path(__file__).resolve().parent.parent


def best_of(repeat: int, work) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--holders", default="100,1000,10000")
    p.add_argument("--repeat", type=int, default=3)
    ns = p.parse_args()
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    results = deal.run(deal.pricing)
    paying = int(results.final_period("A")[0])
    seconds = best_of(ns.repeat, lambda: structurer.statement(results))
    print(f"statement, {len(deal.issued_classes)} classes x {results.periods} periods: {seconds:.3f} s")
    seconds = best_of(ns.repeat, lambda: structurer.factors(results))
    print(f"factor file: {seconds:.3f} s")
    for n in (int(x) for x in ns.holders.split(",")):
        rng = random.Random(1)
        units = [rng.randint(1, 10**6) for _ in range(n)]
        holders = [(f"0x{i:040x}", u) for i, u in enumerate(units)]
        register = structurer.holder_register("A", sum(units), holders)
        for decimals in (2, 18):
            seconds = best_of(ns.repeat, partial(structurer.holder_ledger, results, register, decimals))
            rows = n * paying
            print(f"ledger, {n:,} holders x {paying} paying months = {rows:,} rows, {decimals} decimals: "
                  f"{seconds:.2f} s ({seconds / rows * 1e6:.2f} us a row), best of {ns.repeat}")


if __name__ == "__main__":
    main()
