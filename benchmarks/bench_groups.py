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

Each figure is the best of --repeat runs after a warm-up run, in milliseconds: wall time, then
(after a slash) the process's CPU time over all threads, which a shared machine disturbs less
(the kernel runs on every core: under load its wall time suffers most); and the kernel's wall ns
per scenario-month. A credit run's time includes the collateral under defaults
(engine/credit.py), which both engines share. The interpreter is run
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
         summaries: bool = False) -> tuple[float, float]:
    os.environ["STRUCTURER_ENGINE"] = engine
    try:
        def once(which: list[str]) -> None:
            if summaries:
                structurer.summarise(deal, which, rates=[0.05])
            else:
                deal.run(*which)

        once(speeds[:1])  # warm: imports, compilation, caches
        wall, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            once(speeds)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        return min(wall), min(cpu)
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
    print(f"{'scenarios':>9}  {'kernel ms':>13}  {'numpy ms':>13}  {'x cpu':>5}  {'sums ms':>13}  "
          f"{'flat kernel ms':>14}  {'ns/s-m':>6}  {'credit kernel ms':>16}  {'credit numpy ms':>16}")
    nan = (float("nan"), float("nan"))

    def ms(t: tuple[float, float]) -> str:
        return f"{t[0] * 1e3:,.0f}/{t[1] * 1e3:,.0f}"

    for n in sizes:
        speeds = [f"{1000.0 * i / max(1, n - 1):.6g} PSA" for i in range(n)]
        stressed = [f"{s} defaults 500 SDA severity 40% lag 12" for s in speeds]
        k = best(grouped, speeds, ns.repeat, "compiled")
        g = best(grouped, speeds, ns.repeat, "numpy") if n <= ns.numpy_max else nan
        m = best(grouped, speeds, ns.repeat, "compiled", summaries=True)
        f = best(flat, speeds, ns.repeat, "compiled")
        ck = best(credit, stressed, ns.repeat, "compiled")
        cn = best(credit, stressed, ns.repeat, "numpy") if n <= ns.numpy_max else nan
        print(f"{n:>9,}  {ms(k):>13}  {ms(g):>13}  {g[1] / k[1]:>5.1f}  {ms(m):>13}  {ms(f):>14}  "
              f"{k[0] * 1e9 / (n * periods):>6,.0f}  {ms(ck):>16}  {ms(cn):>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
