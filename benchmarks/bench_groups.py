"""Wall time of collateral-group deals against the same classes in one collateral.

    python benchmarks/bench_groups.py [--sizes 1,100,1000] [--repeat 3]

Deals compared, each at N constant PSA speeds spread evenly from 0 to 1,000 PSA:
- two_groups: deals/two_groups.waterfall (two groups, both kinds of cross), on the numpy
  interpreter (the compiled kernel declines grouped deals);
- flat, numpy: the same pools and classes as one collateral (group 1's rules, then group 2's;
  group 1's coupons at 5.5%, which one collateral can cover), on the numpy interpreter: what
  the groups themselves cost the interpreter;
- flat, kernel: that deal on the compiled kernel: what running on the interpreter costs.

Each figure is the best of --repeat runs (the machine is shared: figures are noisy), after a
warm-up run, in milliseconds, with ns per scenario-month. It prints figures only.
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


def best(deal: structurer.Deal, speeds: list[str], repeat: int, engine: str) -> float:
    os.environ["STRUCTURER_ENGINE"] = engine
    try:
        deal.run(*speeds[:1])  # warm: imports, compilation, caches
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            deal.run(*speeds)
            times.append(time.perf_counter() - start)
        return min(times)
    finally:
        os.environ.pop("STRUCTURER_ENGINE", None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args(argv)
    sizes = [int(x) for x in ns.sizes.split(",")]
    grouped = structurer.load(ROOT / "deals" / "two_groups.waterfall")
    flat = structurer.loads(flat_text(), "flat.waterfall")
    periods = grouped.periods
    print(f"two_groups.waterfall: {len(grouped.groups)} groups, {len(grouped.classes)} classes, "
          f"{periods} periods; best of {ns.repeat}")
    print(f"{'scenarios':>9}  {'two_groups ms':>14}  {'flat numpy ms':>14}  {'flat kernel ms':>15}  "
          f"{'groups ns/s-m':>13}")
    for n in sizes:
        speeds = [f"{1000.0 * i / max(1, n - 1):.6g} PSA" for i in range(n)]
        g = best(grouped, speeds, ns.repeat, "numpy")
        f = best(flat, speeds, ns.repeat, "numpy")
        k = best(flat, speeds, ns.repeat, "compiled")
        print(f"{n:>9,}  {g * 1e3:>14,.1f}  {f * 1e3:>14,.1f}  {k * 1e3:>15,.1f}  "
              f"{g * 1e9 / (n * periods):>13,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
