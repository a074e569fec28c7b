"""Time of a dealer's price/yield table: 10 prices x 10 speeds for every class of a deal.

    python benchmarks/bench_pricing.py [--repeat 7] [--deal deals/pac_tiers.waterfall ...]

For each deal (default: deals/pac_tiers.waterfall and deals/pac.waterfall) and each priced class,
times valuation.price_yield_table(deal, class, 10 prices, 10 PSA speeds): one engine run of the
10 speeds, then 100 yields solved at once, plus the WAL, duration and window rows. The prices
are 10 half-point steps (scaled for IOs and POs) around the class's price at a 6% yield at the
pricing speed. Also times the engine run alone, so the pricing share shows. Prints best and
median over the repetitions (after a warm-up); nothing here is asserted on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmark script
from bench_scenarios import timings as scenario_timings  # noqa: E402

import structurer
from structurer.model import Deal
from structurer.model.prepayment import Prepayment
from structurer.valuation import quotes as valuation
from structurer.valuation import yields as pricing

ROOT = Path(__file__).resolve().parent.parent
DEALS = [ROOT / "deals" / "pac_tiers.waterfall", ROOT / "deals" / "pac.waterfall"]
SPEEDS = [Prepayment.constant(v, "PSA") for v in (50, 100, 150, 200, 250, 300, 400, 500, 650, 800)]
N_PRICES = 10


def price_grid(deal: Deal, name: str) -> list[float]:
    """Ten prices, on 32nds, half a point apart per 100 of price, centred on the 6% price."""
    results = deal.run()
    centre = float(valuation.quote(results, name, yield_=0.06).price[0])
    step = 0.5 * max(centre, 1.0) / 100.0
    return [pricing.parse_price(pricing.format_32nds(centre + step * (k - (N_PRICES - 1) / 2)))
            for k in range(N_PRICES)]


def timings(fn: Callable[[], object], repeat: int) -> list[float]:
    return scenario_timings(fn, repeat, warm_up=True)


def line(label: str, times: list[float], cells: int) -> str:
    best, median = min(times), statistics.median(times)
    return (f"  {label:<10}{best * 1e3:>10.2f}{median * 1e3:>12.2f}"
            f"{cells / best:>16,.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each timing (default 7)")
    parser.add_argument("--deal", type=Path, action="append", default=[],
                        help="a deal file (repeatable; default pac_tiers and pac)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    speeds = SPEEDS
    cells = N_PRICES * len(speeds)
    print(f"price/yield tables: {N_PRICES} prices x {len(speeds)} speeds "
          f"({', '.join(s.label for s in speeds)}), {args.repeat} repetitions, times in ms")
    for path in args.deal or DEALS:
        deal = structurer.load(path)
        names = [c.name for c in deal.issued_classes if not c.is_residual]
        grids = {name: price_grid(deal, name) for name in names}
        periods = max(p.remaining for p in deal.pools)
        print()
        print(f"deal {deal.name} ({path.name}): {len(names)} priced classes, {periods} periods")
        print(f"  {'':<10}{'best':>10}{'median':>12}{'yields/s (best)':>16}   prices")
        engine = timings(lambda d=deal: d.run(*speeds), args.repeat)
        print(line("engine", engine, cells) + "   (deal.run of the 10 speeds alone)")
        per_class: dict[str, list[float]] = {}
        for name in names:
            prices = grids[name]
            per_class[name] = timings(
                lambda d=deal, n=name, p=prices: valuation.price_yield_table(d, n, p, speeds), args.repeat)
            span = f"{pricing.format_32nds(prices[0])} to {pricing.format_32nds(prices[-1])}"
            print(line(name, per_class[name], cells) + f"   {span}")

        def all_classes(d: Deal = deal, table: dict[str, list[float]] = grids) -> None:
            for name, prices in table.items():
                valuation.price_yield_table(d, name, prices, speeds)

        total = timings(all_classes, args.repeat)
        print(line("all", total, cells * len(names)) + f"   ({len(names)} tables, one after another)")
        results = deal.run(*speeds)
        months = pricing.discount_months(deal.settle, results.dates)

        def solve_only(r=results, m=months, table: dict[str, list[float]] = grids) -> None:
            for name, prices in table.items():
                cash = valuation.class_cash(r, name)
                face = r.original_balance(name)
                full = (np.asarray(prices)[:, None] + valuation.accrued_per_100(r, name)) * face / 100
                pricing.yield_from_price(np.broadcast_to(cash, (len(prices), *cash.shape)), m, full)

        solve = timings(solve_only, args.repeat)
        print(line("yields", solve, cells * len(names)) + "   (the 100-cell yield solve of every class, "
              "on one run: the pricing part)")
        share = min(solve) / min(total)
        print(f"  solving yields is {share:.0%} of the best time for all tables; the rest is the "
              "engine run each table makes, and the WAL/duration/window rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
