"""Wall time of collateral-group deals on the compiled kernel against the numpy interpreter.

    python benchmarks/bench_groups.py [--sizes 1,1000,10000] [--repeat 3] [--numpy-max 10000]

Deals compared, each at N constant PSA speeds spread evenly from 0 to 1,000 PSA:
- two_groups: deals/two_groups.waterfall (two groups, both kinds of cross) on the kernel and on
  the numpy interpreter (STRUCTURER_ENGINE=numpy), and its summaries-only run
  (structurer.summarise, the kernel writing nothing per period);
- flat: the same pools and classes as one collateral (group 1's rules, then group 2's; group
  1's coupons at 5.5%, which one collateral can cover) on the kernel: what the groups cost it;
- two_groups_credit: deals/two_groups_credit.waterfall at the same speeds under 500 SDA defaults
  (severity 40%, lag 12), kernel and interpreter.

Each figure is the best of --repeat runs (the machine is shared: figures are noisy), after a
warm-up run, in milliseconds, with the kernel's ns per scenario-month. The interpreter is run
up to --numpy-max scenarios (it holds [period, class, scenario] buffers). It prints figures only.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import structurer

ROOT = Path(__file__).resolve().parent.parent


def flat_text() -> str:
    """deals/two_groups.waterfall without its groups: one collateral, the rules end to end."""
    text = (ROOT / "deals" / "two_groups.waterfall").read_text(encoding="utf-8")
    header = text[:text.index("group 1 {")]
    pools = re.findall(r"(?m)^\s*(pool .*)$", text)
    # At 5.5%: a 5.75% class cannot be proved covered by the 5.5% pool once it is one collateral.
    classes = [c.replace("coupon 5.75%", "coupon 5.5%") for c in re.findall(r"(?m)^\s*(class .*)$", text)]
    return (header + "collateral {\n" + "\n".join(f"  {p}" for p in pools) + "\n}\n"
            + "\n".join(classes) + "\nwaterfall {\n  interest: pay each class its coupon\n"
            "  principal {\n    pay A1 then A2 then A3\n    pay P to schedule\n    pay S until retired\n"
            "    pay P until retired\n  }\n}\nscenarios { pricing 200 PSA }\n")


def best(deal: structurer.Deal, speeds: list[str], repeat: int, engine: str,
         summaries: bool = False) -> float:
    os.environ["STRUCTURER_ENGINE"] = engine
    try:
        def once(which: list[str]) -> None:
            if summaries:
                structurer.summarise(deal, which, rates=[0.05])
            else:
                deal.run(*which)

        once(speeds[:1])  # warm: imports, compilation, caches
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            once(speeds)
            times.append(time.perf_counter() - start)
        return min(times)
    finally:
        os.environ.pop("STRUCTURER_ENGINE", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--numpy-max", type=int, default=10000)
    ns = ap.parse_args(argv)
    sizes = [int(x) for x in ns.sizes.split(",")]
    grouped = structurer.load(ROOT / "deals" / "two_groups.waterfall")
    credit = structurer.load(ROOT / "deals" / "two_groups_credit.waterfall")
    flat = structurer.loads(flat_text(), "flat.waterfall")
    periods = grouped.periods
    print(f"two_groups.waterfall: {len(grouped.groups)} groups, {len(grouped.classes)} classes, "
          f"{periods} periods; best of {ns.repeat}; os.cpu_count() {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'scenarios':>9}  {'kernel ms':>10}  {'numpy ms':>10}  {'x':>6}  {'sums ms':>9}  "
          f"{'flat kern ms':>12}  {'ns/s-m':>7}  {'credit kern ms':>14}  {'credit numpy ms':>15}")
    for n in sizes:
        speeds = [f"{1000.0 * i / max(1, n - 1):.6g} PSA" for i in range(n)]
        stressed = [f"{s} defaults 500 SDA severity 40% lag 12" for s in speeds]
        k = best(grouped, speeds, ns.repeat, "compiled")
        g = best(grouped, speeds, ns.repeat, "numpy") if n <= ns.numpy_max else float("nan")
        m = best(grouped, speeds, ns.repeat, "compiled", summaries=True)
        f = best(flat, speeds, ns.repeat, "compiled")
        ck = best(credit, stressed, ns.repeat, "compiled")
        cn = best(credit, stressed, ns.repeat, "numpy") if n <= ns.numpy_max else float("nan")
        print(f"{n:>9,}  {k * 1e3:>10,.1f}  {g * 1e3:>10,.1f}  {g / k:>6.1f}  {m * 1e3:>9,.1f}  "
              f"{f * 1e3:>12,.1f}  {k * 1e9 / (n * periods):>7,.0f}  {ck * 1e3:>14,.1f}  {cn * 1e3:>15,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
