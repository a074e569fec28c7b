"""Time of overcollateralization and reserve runs: HE-01 (deals/home_equity.waterfall) on a PSA x
SDA credit grid and a PSA grid without defaults, on the compiled kernel and the numpy
interpreter; and the same grids of HE-01 without its OC and reserve sections (its classes made to
add up to the collateral), which is the cost of the two sections in the kernel.

    python benchmarks/bench_enhancement.py [--psa 24] [--sda 8] [--repeat 3]

Prints the best-of-R wall time and process CPU time of each (the engine warmed first). The machine
may be shared: the load average is printed with the figures. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structurer  # noqa: E402


def _plain(text: str) -> str:
    """HE-01 without its OC and reserve sections, B made larger so the classes tie to the collateral."""
    lines = text.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("  overcollateralization:"))
    end = next(i for i, x in enumerate(lines) if x.startswith("  reserve account:"))
    kept = lines[:start] + lines[end + 1:]
    return "\n".join(kept).replace("balance  22,500,000", "balance  35,000,000") + "\n"


def _best(fn, repeat: int) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--psa", type=int, default=24)
    ap.add_argument("--sda", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    text = (ROOT / "deals" / "home_equity.waterfall").read_text()
    deals = {"HE-01 (OC, reserve)": structurer.loads(text),
             "HE-01 without them": structurer.loads(_plain(text))}
    psa = [f"{1000.0 * i / max(1, ns.psa - 1):.4g} PSA" for i in range(ns.psa)]
    grid = [f"{p} defaults {2000.0 * j / max(1, ns.sda - 1):.4g} SDA severity 50% lag 12"
            for p in psa for j in range(ns.sda)]
    print(f"load average {os.getloadavg()[0]:.2f}; {len(psa)} PSA speeds, {len(grid)} PSA x SDA scenarios; "
          f"best of {ns.repeat}")
    for engine in ("compiled", "numpy"):
        os.environ["STRUCTURER_ENGINE"] = engine
        for label, deal in deals.items():
            deal.run(psa[1], grid[1])  # warm: compile, caches
            for what, speeds in (("PSA grid", psa), ("PSA x SDA grid", grid)):
                wall, cpu = _best(lambda d=deal, s=speeds: d.run(*s), ns.repeat)
                print(f"{engine:9} {label:22} {what:15} wall {wall * 1e3:8.1f} ms   cpu {cpu * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
