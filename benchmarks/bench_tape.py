"""Time and peak memory of a 1,000,000-loan tape: read, statistics, and projected loan by loan
at one speed and at 10 speeds. Best of `--repeat` runs (the machine is shared; figures are noisy).

    python benchmarks/bench_tape.py [--loans 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_tape import generate, write  # noqa: E402

from structurer.engine.tape import project_tape  # noqa: E402
from structurer.model.prepayment import Prepayment  # noqa: E402
from structurer.model.tape import LoanTape, read_tape, read_tape_by_rows, statistics  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--read", action="store_true", help="also time reading the tape (CSV, Parquet)")
    parser.add_argument("--by-rows", action="store_true",
                        help="with --read, also time the row-by-row reference reader (minutes at 1M loans)")
    args = parser.parse_args()
    cols = generate(args.loans, seed=7)
    tape = LoanTape("<generated>", cols["loan_id"].astype(object), cols["balance"].astype(float),
                    cols["note_rate"].astype(float), cols["net_rate"].astype(float),
                    cols["original_term"].astype(np.int64), cols["remaining_term"].astype(np.int64))
    print(f"{args.loans:,} loans, {tape.balance.sum():,.0f} balance; peak RSS after generating: "
          f"{_peak_mb():,.0f} MB")
    if args.read:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tape.csv"
            write(cols, path)
            readers = [("read + validate CSV", read_tape, path)]
            if args.by_rows:
                readers.append(("the same, row by row (the reference)", read_tape_by_rows, path))
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq

                parquet = Path(tmp) / "tape.parquet"
                pq.write_table(pa.table({k: v.tolist() if v.dtype.kind == "U" else v
                                         for k, v in cols.items()}), parquet)
                readers.append(("read + validate Parquet", read_tape, parquet))
            except ImportError:
                print("(no pyarrow: Parquet not timed)")
            for label, reader, where in readers:
                seconds, read = _best(lambda reader=reader, where=where: reader(where), 1)
                print(f"{label} ({where.stat().st_size / 1e6:,.0f} MB): {seconds:.2f} s; "
                      f"peak RSS {_peak_mb():,.0f} MB")
                assert read.count == args.loans  # noqa: S101 - a benchmark's sanity check
    seconds, stats = _best(lambda: statistics(tape), args.repeat)
    print(f"statistics: {seconds * 1e3:.1f} ms (WAC {stats.wac:.3f}%, WAM {stats.wam:.1f}, "
          f"WALA {stats.wala:.1f})")
    for speeds in ([Prepayment.constant(150, "PSA")],
                   [Prepayment.constant(s, "PSA") for s in range(50, 550, 50)]):
        seconds, flows = _best(lambda speeds=speeds: project_tape(tape, speeds), args.repeat)
        print(f"projected loan by loan at {len(speeds):>2} speed(s): {seconds:.2f} s "
              f"(best of {args.repeat}); "
              f"peak RSS so far {_peak_mb():,.0f} MB; principal {flows.principal.sum(axis=1)[0]:,.0f}")


if __name__ == "__main__":
    main()
