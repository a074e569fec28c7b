"""A sequential deal of many classes, for the report's size and speed at scale.

    python benchmarks/gen300.py 300 > big300.waterfall

N classes of $1,000,000 each, paid one after another, on one pool; pricing at 165 PSA and the
usual five decrement speeds. tests/test_report_scale.py and benchmarks/bench_report.py use it.
"""

from __future__ import annotations

import sys

BALANCE = 1_000_000


def sequential_deal(n: int = 300) -> str:
    """The deal file of `n` sequential classes (A000, A001, ...) and a residual."""
    pool = f'  pool "FN rep" {{ balance {n * BALANCE:,}  wac 6.0%  coupon 5.5%  term 360  age 0 }}'
    lines = [f'deal "BIG-{n}" {{', "  settle 2027-01-30", "  first payment 2027-02-25", "  delay 24 days",
             "}", "", "collateral {", pool, "}", ""]
    lines += [f"class A{i:03d} SEQ balance {BALANCE:,} coupon 5.5%" for i in range(n)]
    lines += ["class R R", "", "waterfall {", "  interest: pay each class its coupon", "  principal {"]
    lines += [f"    pay A{i:03d} until retired" for i in range(n)]
    lines += ["  }", "}", "", "scenarios {", "  pricing 165 PSA", "  decrement 0, 100, 165, 300, 500 PSA",
              "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(sequential_deal(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
