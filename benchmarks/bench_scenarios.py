"""Scenarios per second: the vectorised engine against a plain per-scenario Python reference,
and the engine alone on a structured deal.

    python benchmarks/bench_scenarios.py [--scenarios 1000] [--sample 50] [--repeat 5]

Runs deals/sequential.waterfall (four sequential classes and a residual) over N constant PSA
speeds spread evenly over 0-1000 PSA:

- engine: one call to deal.run(...) with all N speeds (arrays [scenario, period]), then the
  class WALs from the Results;
- reference: benchmarks/reference.py, the deal written out from the conventions in pure Python
  floats and loops, one scenario at a time (SIFMA PSA, level-pay amortisation re-computed
  monthly, the waterfall's rules), producing the same monthly cash flows and then the class
  WALs; timed on a sample of the speeds and scaled to N.

First it checks that the two agree on every class WAL to 1e-9 years at a few speeds, then
prints best and median timings over several repetitions and the speed-up.

Then it runs benchmarks/pac_z_io.waterfall (a PAC on a 90-300 PSA schedule, its support, an
accrual support Z whose interest accretes to the support, and an IO on the PAC) over the same N
speeds in one call, with every class's WAL, and prints its scenarios per second; as a sanity
figure it prints the PAC's WAL at speeds inside its band, which a PAC keeps the same (the
reference covers that deal too: tests/test_reference.py).

It prints figures only; nothing here is asserted on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the reference next to this script

from reference import reference_cashflows, reference_wals, wal  # noqa: F401  (the tests use them)

import structurer
from structurer.model import Deal, Pay, Sequential
from structurer.model.prepayment import Prepayment

ROOT = Path(__file__).resolve().parent.parent
DEAL = ROOT / "deals" / "sequential.waterfall"
STRUCTURED = ROOT / "benchmarks" / "pac_z_io.waterfall"
CHECK_SPEEDS = (0.0, 50.0, 100.0, 165.0, 300.0, 500.0, 1000.0)
TOLERANCE = 1e-9
TARGET_SPEEDUP = 10.0


# ---- the reference: one scenario, pure Python (benchmarks/reference.py, every rule kind)


def is_plain_sequential(deal: Deal) -> bool:
    """Whether the deal's principal rules are 'pay each class until retired', in listed order."""
    rules = deal.principal.children
    order = [c.index for c in deal.classes if not c.is_residual]
    flat: list[int] = []
    for rule in rules:
        if isinstance(rule, Pay):
            flat.append(rule.index)
        elif isinstance(rule, Sequential) and all(isinstance(r, Pay) for r in rule.children):
            flat.extend(r.index for r in rule.children)  # type: ignore[union-attr]
        else:
            return False
    return flat == order


# ---- the engine: every scenario in one run


def engine_wals(deal: Deal, speeds: list[Prepayment]) -> dict[str, np.ndarray]:
    results = deal.run(*speeds)
    return {c.name: results.wal(c.name) for c in deal.classes if not c.is_residual}


def structure_of(deal: Deal) -> str:
    """The deal's classes as a cover table types them: 'P PAC FIX, S SUP/AD FIX, ...'."""
    return ", ".join(f"{c.name} {c.cover_type}" for c in deal.issued_classes)


# ---- timing


def timings(fn: Callable[[], object], repeat: int, warm_up: bool = False) -> list[float]:
    """Wall-clock seconds of `repeat` calls (after one untimed call with `warm_up`)."""
    if warm_up:
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=1000, metavar="N",
                        help="PSA scenarios in the grid (default 1000)")
    parser.add_argument("--sample", type=int, default=50,
                        help="scenarios the reference is timed on, scaled to N (default 50)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="repetitions of each timing (default 5)")
    parser.add_argument("--max-psa", type=float, default=1000.0,
                        help="top of the PSA grid (default 1000)")
    parser.add_argument("--deal", type=Path, default=DEAL, help="a sequential deal file")
    parser.add_argument("--structured", type=Path, default=STRUCTURED,
                        help="a structured deal timed without a reference "
                             "(default benchmarks/pac_z_io.waterfall)")
    args = parser.parse_args(argv)
    if args.scenarios < 1 or args.sample < 1 or args.repeat < 1:
        parser.error("--scenarios, --sample and --repeat must be at least 1")

    deal = structurer.load(args.deal)
    if not is_plain_sequential(deal):
        parser.error(f"{args.deal} is not a plain sequential deal; the reference cannot run it")
    n = args.scenarios
    grid = np.linspace(0.0, args.max_psa, n)
    speeds = [Prepayment.constant(float(v), "PSA") for v in grid]
    sample_size = min(args.sample, n)
    sample = [float(v) for v in grid[np.linspace(0, n - 1, sample_size).round().astype(int)]]
    periods = max(p.remaining for p in deal.pools)
    names = [c.name for c in deal.classes if not c.is_residual]

    print(f"deal {deal.name} ({args.deal.name}): {len(names)} sequential classes + residual, "
          f"{len(deal.pools)} pool(s), {periods} periods")
    print(f"grid: {n:,} constant PSA speeds from 0 to {args.max_psa:g} PSA")
    print()

    # 1. agreement
    checked = engine_wals(deal, [Prepayment.constant(v, "PSA") for v in CHECK_SPEEDS])
    print(f"class WAL, engine vs reference (tolerance {TOLERANCE:g} years)")
    header = "".join(f"{name:>10}" for name in names)
    print(f"  {'speed':>10}{header}{'max |diff|':>13}")
    worst = 0.0
    for s, psa in enumerate(CHECK_SPEEDS):
        ref = reference_wals(deal, psa)
        diff = max(abs(float(checked[name][s]) - ref[name]) for name in names)
        worst = max(worst, diff)
        cells = "".join(f"{float(checked[name][s]):>10.4f}" for name in names)
        print(f"  {psa:>6g} PSA{cells}{diff:>13.2e}")
    agree = worst <= TOLERANCE
    print(f"  agreement: {'yes' if agree else 'NO'} (largest difference {worst:.2e} years)")
    print()

    # 2. engine: one vectorised run of all N scenarios (a warm-up first)
    engine_wals(deal, speeds[: min(n, 10)])
    eng = timings(lambda: engine_wals(deal, speeds), args.repeat)

    # 3. reference: sample scenarios one at a time, scaled to N
    def reference_sample() -> None:
        for psa in sample:
            reference_wals(deal, psa)

    reference_sample()
    ref_t = [t * n / sample_size for t in timings(reference_sample, args.repeat)]

    def report(title: str, times: list[float]) -> None:
        print(title)
        for label, t in (("best", min(times)), ("median", statistics.median(times))):
            print(f"  {label:<7}{t:>10.4f} s per {n:,}-scenario run"
                  f"{1.0 / t:>10.2f} runs/s{n / t:>14,.0f} scenarios/s")

    def engine_only(path: Path) -> None:
        """A structured deal: the engine alone over the grid (no reference can run it)."""
        deal = structurer.load(path)
        print()
        print(f"deal {deal.name} ({path.name}), engine only: {structure_of(deal)}; "
              f"{len(deal.pools)} pool(s), {max(p.remaining for p in deal.pools)} periods")
        pacs = [c.name for c in deal.issued_classes if c.index in deal.schedules]
        if pacs:
            inside = [Prepayment.constant(v, "PSA") for v in (90.0, 165.0, 300.0)]
            wals = engine_wals(deal, inside)
            for name in pacs:
                cells = ", ".join(f"{w:.4f}" for w in wals[name])
                print(f"  class {name} WAL at 90, 165, 300 PSA (inside its band): {cells} years")
        engine_wals(deal, speeds[: min(n, 10)])
        report(f"engine, one vectorised run of {n:,} scenarios (deal.run + class WALs), "
               f"{args.repeat} repetitions", timings(lambda: engine_wals(deal, speeds), args.repeat))

    report(f"engine, one vectorised run of {n:,} scenarios (deal.run + class WALs), "
           f"{args.repeat} repetitions", eng)
    report(f"reference, pure Python one scenario at a time, timed on {sample_size} scenarios "
           f"x {args.repeat} repetitions, scaled to {n:,}", ref_t)
    best = min(ref_t) / min(eng)
    median = statistics.median(ref_t) / statistics.median(eng)
    met = "met" if median >= TARGET_SPEEDUP else "NOT met"
    print()
    print(f"speed-up of the engine: {median:.1f}x median, {best:.1f}x best "
          f"(target >= {TARGET_SPEEDUP:g}x: {met})")

    # 4. a structured deal: PAC, support, Z with accretion, IO; the engine alone
    engine_only(args.structured)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
