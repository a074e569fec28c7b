"""Wall time and peak memory of the command line on large runs: the terminal, --json, the cash-flow
exports and the workbook.

    python benchmarks/bench_scale.py [--scenarios 10000] [--classes 300] [--with-report]

Each case runs `structure ...` in a fresh Python process (so that each peak is its own) and prints
the wall time of the whole command, interpreter start included, the process's peak resident
memory (getrusage) and the size of the file it wrote:

- terminal: deals/sequential.waterfall at N constant PSA speeds (0, 0.1, 0.2, ... PSA), --no-report;
- --json at the same N speeds;
- --cashflows x.csv and x.parquet at the same N speeds (streamed by chunks of scenarios);
- --xlsx of a deal of C sequential classes (benchmarks/gen300.py) at its pricing speed;
- with --with-report, the terminal case with the HTML report as well.

The N-scenario run's own arrays (about 0.12 MB a scenario for FJF-01's 357 periods) are part of
every peak. It prints figures only; nothing here is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEAL = ROOT / "deals" / "sequential.waterfall"

# Runs the command line in this process and reports the process's peak RSS (KB on Linux).
_CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
from structurer.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({{"code": code, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}, out)
"""


def measure(argv: list[str], folder: Path) -> dict[str, float]:
    """Run `structure argv` in a fresh process: wall seconds, peak RSS in MB, exit code."""
    report = folder / "rusage.json"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT)), str(report), *argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    figures = json.loads(report.read_text()) if report.exists() else {"code": done.returncode, "maxrss_kb": 0}
    if figures["code"] != 0:
        print(done.stderr, file=sys.stderr)
    return {"wall": wall, "rss_mb": figures["maxrss_kb"] / 1024.0, "code": figures["code"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", type=int, default=10_000, help="PSA speeds in the large runs")
    p.add_argument("--classes", type=int, default=300, help="classes of the wide deal's workbook")
    p.add_argument("--with-report", action="store_true", help="also time the large run with its report")
    args = p.parse_args(argv)

    speeds = ",".join(f"{k / 10:g}" for k in range(args.scenarios))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wide = folder / f"wide{args.classes}.waterfall"
        gen = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen300.py"), str(args.classes)],
                             capture_output=True, text=True, check=True)
        wide.write_text(gen.stdout)
        n = f"{args.scenarios:,} scenarios"
        cases = [
            (f"terminal, {n}", [str(DEAL), "--psa", speeds, "--no-report"], None),
            (f"--json, {n}", [str(DEAL), "--psa", speeds, "--json"], None),
            (f"--cashflows .csv, {n}", [str(DEAL), "--psa", speeds, "--no-report",
                                         "--cashflows", str(folder / "flows.csv")], folder / "flows.csv"),
            (f"--cashflows .parquet, {n}", [str(DEAL), "--psa", speeds, "--no-report",
                                             "--cashflows", str(folder / "flows.parquet")],
             folder / "flows.parquet"),
            (f"--xlsx, {args.classes} classes",
             [str(wide), "--no-report", "--xlsx", str(folder / "wide.xlsx")], folder / "wide.xlsx"),
        ]
        if args.with_report:
            report = folder / "report.html"
            cases.append((f"terminal and report, {n}", [str(DEAL), "--psa", speeds, "--report", str(report)],
                          report))
        print(f"{'case':<40} {'wall s':>8} {'peak MB':>8} {'file MB':>9}")
        worst = 0
        for title, case, written in cases:
            figures = measure(case, folder)
            size = " " * 9
            if written is not None and written.exists():
                size = f"{written.stat().st_size / 1e6:9.1f}"
            print(f"{title:<40} {figures['wall']:8.1f} {figures['rss_mb']:8.0f} {size}", flush=True)
            worst = max(worst, int(figures["code"]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
