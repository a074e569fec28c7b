"""Time every structuring solver and the tie-out on the example deals (issue 10).

    python benchmarks/bench_solvers.py [--repeat 7] [--tree /path/to/other/checkout]

For each solver case it prints, best of `--repeat` calls after one warm-up call (the machine
is shared, so the best is the least noisy figure):

- `ms`: wall time of the solver call;
- `engine ms`: the part of it spent inside engine runs: the compiled kernel's
  (engine.compiled.run_compiled) and the waterfall interpreter's (engine.waterfall.run_waterfall);
  `other ms` is the rest (rebuilding deals, schedules, collateral, pricing, search logic);
- `runs` and `scen`: how many engine runs the call makes and how many scenarios they hold
  in total (each run of the interpreter costs a fixed per-period overhead, so the run count
  matters more than the scenario count there).

`--tree` imports the package from another checkout (e.g. main, for before/after figures) and
writes no bytecode into it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed calls per case (best is shown)")
    parser.add_argument("--tree", type=Path, default=HERE.parent,
                        help="the checkout whose structurer is timed (default: this one)")
    parser.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    if tree != HERE.parent:
        sys.dont_write_bytecode = True  # leave the other checkout as it is
    sys.path.insert(0, str(tree))

    import structurer
    import structurer.engine.waterfall as waterfall
    from structurer.errors import InputError
    from structurer.model.curve import make_curve
    from structurer.structuring import solve, tieout

    def refused(fn: Callable[..., object], *args: object) -> str:
        """A solver call that must fail with its message (the time of finding that out)."""
        try:
            fn(*args)
        except InputError as exc:
            return str(exc)
        raise AssertionError("expected an InputError")

    # Count and time every engine run (the compiled kernel's and the waterfall interpreter's),
    # whichever module calls it (they import it by name). The kernel is absent from an older tree.
    import structurer.engine.run as engine_run
    stats = {"runs": 0, "scen": 0, "seconds": 0.0}

    def counting(original: Callable[..., object], scenarios: Callable[..., int]) -> Callable[..., object]:
        def counted(*args, **kw):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return original(*args, **kw)
            finally:
                stats["runs"] += 1
                stats["scen"] += scenarios(*args)
                stats["seconds"] += time.perf_counter() - start
        return counted

    engines = {"run_waterfall": counting(waterfall.run_waterfall,
                                         lambda deal, coll, *_: coll.interest.shape[0])}
    if hasattr(engine_run, "run_compiled"):
        engines["run_compiled"] = counting(engine_run.run_compiled, lambda deal, cd, speeds, *_: len(speeds))
    originals = {name: getattr(engine_run, name) for name in engines}
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("structurer"):
            for name, counted in engines.items():
                if getattr(mod, name, None) is originals[name]:
                    setattr(mod, name, counted)

    deals = tree / "deals"
    seq = structurer.load(deals / "sequential.waterfall")
    pac = structurer.load(deals / "pac.waterfall")
    tiers = structurer.load(deals / "pac_tiers.waterfall")
    accrual = structurer.load(deals / "accrual.waterfall")
    curve = make_curve("UST", [1, 2, 5, 10, 30], [0.041, 0.040, 0.041, 0.042, 0.045])
    seq_target = float(solve.rebuild(seq, balances={"A": 150e6, "B": 80.5e6}).run().wal("A")[0])
    pac_target = float(solve.rebuild(pac, balances={"P": 230e6, "S": 170e6}).run().wal("P")[0])
    cases: list[tuple[str, Callable[[], object]]] = [
        (f"size_for_wal     seq A/B to {seq_target:.3f} y",
         lambda: solve.size_for_wal(seq, "A", "B", seq_target)),
        ("size_for_wal     seq A/B to 2 y at 300 PSA",
         lambda: solve.size_for_wal(seq, "A", "B", 2.0, "300 PSA")),
        ("size_for_wal     seq A/B to 9 y (out of reach)",
         lambda: refused(solve.size_for_wal, seq, "A", "B", 9.0)),
        (f"size_for_wal     pac P/S to {pac_target:.3f} y",
         lambda: solve.size_for_wal(pac, "P", "S", pac_target)),
        ("max_pac_balance  pac P", lambda: solve.max_pac_balance(pac, "P")),
        ("max_pac_balance  pac_tiers P2 (PAC II)", lambda: solve.max_pac_balance(tiers, "P2")),
        ("max_pac_balance  band 90-300 PSA", lambda: solve.max_pac_balance(pac, band="90,300")),
        ("max_coupon       pac P", lambda: solve.max_coupon(pac, "P")),
        ("par_coupon       seq C at 80bp", lambda: solve.par_coupon(seq, "C", 80, curve)),
        ("par_coupon       pac P at 80bp", lambda: solve.par_coupon(pac, "P", 80, curve)),
        ("par_coupon       accrual Z at 100bp", lambda: solve.par_coupon(accrual, "Z", 100, curve)),
        ("effective_band   pac P after 24 at 165 PSA", lambda: solve.effective_band(pac, "P", 24, 165.0)),
        ("effective_band   pac P after 0 at 165 PSA", lambda: solve.effective_band(pac, "P", 0, 165.0)),
        ("effective_band   pac_tiers PB after 12 at 165 PSA",
         lambda: solve.effective_band(tiers, "PB", 12, 165.0)),
        ("effective_bands  pac_tiers PA,PB,P2 after 0,12,36",
         lambda: solve.effective_bands(tiers, ["PA", "PB", "P2"], [0, 12, 36], 165.0)),
    ]
    for path in sorted(deals.glob("*.waterfall")):
        deal = structurer.load(path)
        cases.append((f"tieout           {path.stem}", lambda deal=deal: tieout.tieout(deal)))

    print(f"structurer from {tree}; best of {args.repeat} calls after a warm-up call")
    print(f"  {'case':<50}{'ms':>9}{'engine ms':>11}{'other ms':>10}{'runs':>6}{'scen':>7}")
    for label, fn in cases:
        if args.only and args.only not in label:
            continue
        fn()
        best = None
        for _ in range(args.repeat):
            stats.update(runs=0, scen=0, seconds=0.0)
            start = time.perf_counter()
            fn()
            wall = time.perf_counter() - start
            if best is None or wall < best[0]:
                best = (wall, stats["seconds"], stats["runs"], stats["scen"])
        wall, engine, runs, scen = best  # type: ignore[misc]
        print(f"  {label:<50}{wall * 1e3:>9.1f}{engine * 1e3:>11.1f}{(wall - engine) * 1e3:>10.1f}"
              f"{runs:>6}{scen:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
