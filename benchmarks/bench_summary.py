"""Wall time and peak memory of summaries-only runs (structurer.summarise) on large grids.

    python benchmarks/bench_summary.py [--sizes 1000,10000,100000] [--deals sequential,pac]
                                       [--full-up-to 10000] [--repeat 1] [--chunk N]

Each configuration runs in a fresh Python process, so that each peak is its own, and prints:
the wall time of `summarise` (the deal loaded and the engine warmed on one scenario first), the
process's peak resident memory (getrusage ru_maxrss, interpreter and imports included), the
chunk size used, and ns per scenario-month. The grid is N constant PSA speeds spread evenly
from 0 to 1,000 PSA, with PVs at three flat yields (4%, 5.5%, 7%).

For comparison, the same grid as one full run (deal.run, every cash flow kept) is measured up to
--full-up-to scenarios: its peak grows with the grid, where the summaries' stays at one chunk's.
With --repeat R each configuration runs R times and the best wall time and lowest peak are
printed (the machine is shared; figures are noisy). It prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATES = (0.04, 0.055, 0.07)

# Runs one configuration in this process; prints a JSON line with its figures.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import structurer
deal = structurer.load({deal!r})
n, mode, chunk = {n}, {mode!r}, {chunk}
speeds = [f"{{1000.0 * i / max(1, n - 1):.6g}} PSA" for i in range(n)]
deal.run("100 PSA")  # warm: imports and first-call costs are not the grid's
start = time.perf_counter()
if mode == "summary":
    out = structurer.summarise(deal, speeds, rates={rates!r}, chunk=chunk)
    used = chunk or __import__("structurer.analysis.summary", fromlist=["x"]).default_chunk(deal)
else:
    out = deal.run(*speeds)
    used = n
wall = time.perf_counter() - start
print(json.dumps({{"wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "periods": deal.periods, "chunk": used}}))
"""


def measure(deal: Path, n: int, mode: str, chunk: int | None) -> dict[str, float]:
    """One configuration in a fresh process: its wall time (s), peak RSS (MB), periods, chunk."""
    code = _CHILD.format(root=str(ROOT), deal=str(deal), n=n, mode=mode, chunk=chunk, rates=RATES)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{deal.name} {mode} {n}: the child failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rss_mb"] = figures.pop("maxrss_kb") / 1024.0
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="grid sizes, comma-separated")
    p.add_argument("--deals", default="sequential,pac", help="example deals under deals/")
    p.add_argument("--full-up-to", type=int, default=10_000,
                   help="also measure a full run (every cash flow kept) up to this many scenarios")
    p.add_argument("--repeat", type=int, default=1, help="runs per configuration; the best is printed")
    p.add_argument("--chunk", type=int, default=None, help="scenarios per chunk (default: from the budget)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'deal':<12} {'mode':<8} {'scenarios':>10} {'chunk':>7} {'wall s':>9} "
          f"{'ns/scen-month':>14} {'peak RSS MB':>12}")
    for name in args.deals.split(","):
        deal = ROOT / "deals" / f"{name}.waterfall"
        for n in sizes:
            modes = ["summary"] + (["full"] if n <= args.full_up_to else [])
            for mode in modes:
                runs = [measure(deal, n, mode, args.chunk) for _ in range(max(1, args.repeat))]
                wall = min(r["wall"] for r in runs)
                rss = min(r["rss_mb"] for r in runs)
                ns = 1e9 * wall / (n * runs[0]["periods"])
                print(f"{name:<12} {mode:<8} {n:>10,} {runs[0]['chunk']:>7,} {wall:>9.3g} {ns:>14.1f} "
                      f"{rss:>12.0f}", flush=True)
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"(total {time.perf_counter() - start:.0f} s)")
    sys.exit(code)
