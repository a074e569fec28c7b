"""Time and size of the HTML report at scale: a 300-class deal, and a run of 10,000 scenarios.

    python benchmarks/bench_report.py [--classes 300] [--scenarios 10000] [--repeat 1]

1. The sequential deal of --classes classes (benchmarks/gen300.py) as `structure DEAL --report`
   runs it: the whole command in a subprocess (its wall time, as a user waits for it), then the
   report alone, planned (analysis.plan.report_plan) and rendered (present.report.render) from
   a run already made, and the report's size and its largest sections.
2. deals/sequential.waterfall at --scenarios constant PSA speeds spaced evenly from 0 up to
   100 PSA: the report alone, planned and rendered, and its size. The run is timed apart; the
   terminal summary is not the report's and is not run.

Prints figures; asserts nothing (tests/test_report_scale.py asserts the 300-class size).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen300 import sequential_deal  # noqa: E402

import structurer  # noqa: E402
from structurer.analysis.plan import report_plan  # noqa: E402
from structurer.present.report import render  # noqa: E402


def sections(html: str) -> list[tuple[str, int]]:
    """Each <section> of the report and its size in bytes, largest first."""
    out = []
    for name in re.findall(r'<section class="([a-z]+)"', html):
        start = html.index(f'<section class="{name}"')
        out.append((name, len(html[start:html.index("</section>", start)].encode())))
    return sorted(out, key=lambda item: -item[1])


def timed_report(results, decrement, repeat: int) -> tuple[float, float, str]:
    """Best-of-`repeat` plan and render times of a run's report, and the page."""
    best_plan = best_render = float("inf")
    html = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = report_plan(results, decrement)
        t1 = time.perf_counter()
        html = render(plan)
        t2 = time.perf_counter()
        best_plan, best_render = min(best_plan, t1 - t0), min(best_render, t2 - t1)
    return best_plan, best_render, html


def show(html: str) -> None:
    print(f"  size {len(html.encode()) / 1e6:.2f} MB; largest sections: "
          + ", ".join(f"{name} {size / 1e3:,.0f} KB" for name, size in sections(html)[:4]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=300)
    p.add_argument("--scenarios", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=1)
    ns = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        deal_file = Path(tmp) / f"big{ns.classes}.waterfall"
        deal_file.write_text(sequential_deal(ns.classes), encoding="utf-8")
        out = Path(tmp) / "report.html"
        command = [sys.executable, "-m", "structurer.cli", str(deal_file), "--report", str(out)]
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        quiet = [*command[:-2], "--no-report"]
        t0 = time.perf_counter()
        subprocess.run(quiet, check=True, capture_output=True, cwd=ROOT)
        without = time.perf_counter() - t0
        print(f"{ns.classes}-class sequential deal: `structure DEAL --report` {wall:.2f} s wall "
              f"(--no-report {without:.2f} s), report {out.stat().st_size / 1e6:.2f} MB")
        deal = structurer.load(deal_file)
    results, decrement = deal.run(deal.pricing), deal.run(*deal.decrement)
    planned, rendered, html = timed_report(results, decrement, ns.repeat)
    print(f"  the report alone: plan {planned:.2f} s, render {rendered:.2f} s")
    show(html)

    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    speeds = [f"{k * 100 / ns.scenarios:g} PSA" for k in range(ns.scenarios)]
    t0 = time.perf_counter()
    results = deal.run(*speeds)
    ran = time.perf_counter() - t0
    decrement = deal.run(*deal.decrement)
    planned, rendered, html = timed_report(results, decrement, ns.repeat)
    print(f"deals/sequential.waterfall at {ns.scenarios:,} scenarios: run {ran:.2f} s; the report alone: "
          f"plan {planned:.2f} s, render {rendered:.2f} s")
    show(html)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
