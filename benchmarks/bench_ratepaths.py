"""Time to build Hull-White rate paths (1,000 paths x 360 months by default), the OTS mortgage
rate on them and the OTS prepayment model's SMM for a 1-pool deal (deals/sequential.waterfall),
then one engine run of the deal on that SMM (the paths are the scenario axis); and, for
information, the classes' WALs on the deterministic curves shifted -100, 0 and +300 bp.

    python benchmarks/bench_ratepaths.py [--paths 1000] [--months 360] [--repeat 5]

Prints the best of the repetitions for each step (the machine is shared: the best is the least
disturbed). Nothing is asserted on time."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import structurer
from structurer.engine.prepaymodel import deal_smm
from structurer.engine.ratepaths import shifted_path, simulate
from structurer.engine.run import run_smm
from structurer.model.curve import make_curve
from structurer.model.prepaymodel import OTS
from structurer.model.ratemodel import HullWhite

ROOT = Path(__file__).resolve().parent.parent
# A Treasury par curve (BEY), upward sloping, out to 30 years.
CURVE = make_curve("ust", [0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30],
                   [0.0430, 0.0425, 0.0415, 0.0400, 0.0395, 0.0400, 0.0408, 0.0420, 0.0445, 0.0450])


def _best(repeat: int, step) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = step()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--months", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    months = min(args.months, deal.periods)
    model = HullWhite(0.03, 0.01, args.paths, seed=1)

    t_paths, paths = _best(args.repeat, lambda: simulate(CURVE, model, months))
    t_rate, rate = _best(args.repeat, lambda: paths.mortgage_rate())
    t_smm, smm = _best(args.repeat, lambda: deal_smm(OTS, rate, deal.pools, deal.first_payment))
    index = np.zeros((args.paths, 0, months))
    t_run, _ = _best(args.repeat, lambda: run_smm(deal, smm, index))
    print(f"{args.paths:,} paths x {months} months, 1 pool (best of {args.repeat}):")
    print(f"  short-rate paths          {t_paths * 1e3:8.1f} ms")
    print(f"  OTS mortgage rate         {t_rate * 1e3:8.1f} ms")
    print(f"  OTS prepayment SMM        {t_smm * 1e3:8.1f} ms")
    print(f"  total to the SMM          {(t_paths + t_rate + t_smm) * 1e3:8.1f} ms")
    print(f"  engine run on the SMM     {t_run * 1e3:8.1f} ms")
    late, mid = min(119, months - 1), min(59, months - 1)
    print(f"  mean mortgage rate month 1 / {late + 1}: {rate[:, 0].mean():.4%} / {rate[:, late].mean():.4%}; "
          f"mean CPR month {mid + 1}: {(1 - (1 - smm[:, 0, mid]) ** 12).mean():.2%}")
    print("WAL (years: principal-weighted period / 12) on the shifted curves, zero volatility:")
    names = [c.name for c in deal.classes if not c.is_residual]
    print("  shift  " + "".join(f"{n:>8}" for n in names))
    for shift in (-100, 0, 300):
        shifted = shifted_path(CURVE, shift, months).mortgage_rate()
        one = deal_smm(OTS, shifted, deal.pools, deal.first_payment)
        _, flows = run_smm(deal, one, np.zeros((1, 0, months)))
        wals = [_wal(flows.principal[0, i]) for i, c in enumerate(deal.classes) if not c.is_residual]
        print(f"  {shift:+5d}  " + "".join(f"{w:8.2f}" for w in wals))


def _wal(principal: np.ndarray) -> float:
    total = principal.sum()
    return float((principal * np.arange(1, len(principal) + 1)).sum() / total / 12.0) if total else 0.0


if __name__ == "__main__":
    main()
