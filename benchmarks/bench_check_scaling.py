"""Time of checking a deal as the class count grows: it should grow linearly.

    python benchmarks/bench_check_scaling.py [--sizes 1000 9000 72000] [--repeat 3]

For each size, generates a deal of that many sequential classes (`pay C1 then C2 then ...`),
a pro rata variant (`pay C1 and C2 and ... pro rata`) and a variant with one `pay` line per
class (`pay C1 until retired` ...), parses it once, then times
check.check() on the parsed tree (best of --repeat). Prints the check time, the time per class
and the ratio of the per-class time to that of the smallest size (1.0 means linear). Parse
time is printed apart: it is the parser's, not the checker's. Nothing here is asserted on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

from structurer.check import check  # noqa: E402
from structurer.language.parser import parse  # noqa: E402

CLASS_BALANCE = 1_000  # dollars per class: the pool is n x this


VARIANTS = ("sequential", "pro rata", "lines")


def deal_text(n: int, variant: str) -> str:
    """A deal of n classes with one pool that covers them, paid by one rule `pay C1 then C2 ...`
    ("sequential"), one rule `pay C1 and C2 ... pro rata` ("pro rata"), or one line per class,
    `pay C1 until retired` ... ("lines"). A long rule is written over lines of 100 names, as
    the parser refuses lines over 20,000 characters."""
    names = [f"C{i}" for i in range(1, n + 1)]
    if variant == "lines":
        rules = [f"    pay {name} until retired" for name in names]
    else:
        joiner, tail = (" and ", " pro rata") if variant == "pro rata" else (" then ", "")
        chunks = [joiner.join(names[i:i + 100]) for i in range(0, n, 100)]
        rules = ["    pay " + (joiner.rstrip() + "\n      ").join(chunks) + tail]
    lines = [
        'deal "SCALE" {', "  settle 2027-01-30", "  first payment 2027-02-25", "  delay 24 days", "}",
        "collateral {",
        f'  pool "P" {{ balance {n * CLASS_BALANCE}  wac 6.5%  coupon 6.0%  term 360  age 0 }}',
        "}",
    ]
    lines += [f"class {name} SEQ balance {CLASS_BALANCE} coupon 5.5%" for name in names]
    lines += ["class R R", "waterfall {", "  interest: pay each class its coupon", "  principal {",
              *rules, "  }", "}",
              "scenarios {", "  pricing 165 PSA", "}"]
    return "\n".join(lines) + "\n"


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 9_000, 72_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"{'variant':<10}{'classes':>9}{'parse s':>10}{'check s':>10}{'us/class':>10}{'ratio':>8}")
    for variant in VARIANTS:
        base = None
        for n in args.sizes:
            text = deal_text(n, variant)
            start = time.perf_counter()
            tree = parse(text, "scale.waterfall")
            parse_s = time.perf_counter() - start
            check_s = best_time(lambda tree=tree: check(tree), args.repeat)
            per_class = check_s / n * 1e6
            base = base or per_class
            print(f"{variant:<10}{n:>9,}{parse_s:>10.2f}{check_s:>10.3f}{per_class:>10.1f}"
                  f"{per_class / base:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
