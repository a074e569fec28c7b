"""Start-up time of the package and the CLI, each in a fresh process.

    python benchmarks/bench_startup.py [--repeat 15] [--deal deals/sequential.waterfall] [--top 8]

Times three commands, each run `--repeat` times as a new Python process (after one warm-up run
that fills the OS file cache and Lark's grammar cache), and prints the median and best wall
time and the median CPU time:

    import structurer
    structure check DEAL
    structure --help

Then runs each once more in-process under a probe and prints the heavy modules it imported
(pandas, matplotlib, pyarrow, openpyxl, jinja2, scipy, rich.table/progress/markdown/syntax):
the list should be empty, since none of these is needed until a table, chart or file is
written. With --top N, also prints the N slowest imports of each command (python -X importtime,
cumulative microseconds). Targets on the development machine: `import structurer` under 0.3 s,
`structure check` under 0.4 s. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "matplotlib", "pyarrow", "openpyxl", "jinja2", "scipy",
         "rich.table", "rich.progress", "rich.markdown", "rich.syntax", "rich.pretty")

# Each command as Python code, so that the probe can run the same thing and then look at
# sys.modules. The CLI's exit (SystemExit from --help) is caught so the probe can report.
COMMANDS = {
    "import structurer": "import structurer",
    "structure check": ("import sys\nfrom structurer.cli import main\n"
                        "code = main(['check', {deal!r}])"),
    "structure --help": ("import contextlib, io\nfrom structurer.cli import main\n"
                         "with contextlib.redirect_stdout(io.StringIO()):\n    code = main(['--help'])"),
}
PROBE = ("\nimport json, sys\nheavy = sorted(h for h in {heavy!r} if any(m == h or m.startswith(h + '.') "
         "for m in sys.modules))\nprint('\\nHEAVY ' + json.dumps(heavy))\n")


def _env() -> dict[str, str]:
    # The checkout's package first, whatever is installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timings(code: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) times of `repeat` fresh interpreters running `code`, after one
    warm-up run. CPU time is steadier than wall time on a busy machine."""
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, capture_output=True, env=_env(), check=False)
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _child_cpu()
        subprocess.run(argv, capture_output=True, env=_env(), check=False)
        wall.append(time.perf_counter() - start)
        cpu.append(_child_cpu() - start_cpu)
    return wall, cpu


def heavy_modules(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    out = subprocess.run([sys.executable, "-c", code + PROBE.format(heavy=HEAVY)],
                         capture_output=True, text=True, env=_env(), check=False)
    for line in out.stdout.splitlines()[::-1]:
        if line.startswith("HEAVY "):
            return json.loads(line[len("HEAVY "):])
    raise SystemExit(f"the probe failed:\n{out.stderr}")


def slowest_imports(code: str, top: int) -> list[tuple[int, str]]:
    """The `top` largest cumulative import times (microseconds) of a fresh interpreter."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                         capture_output=True, text=True, env=_env(), check=False)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="fresh processes per command")
    ap.add_argument("--deal", default=str(ROOT / "deals" / "sequential.waterfall"))
    ap.add_argument("--top", type=int, default=0, help="also list the N slowest imports")
    args = ap.parse_args()
    base, _ = timings("pass", args.repeat)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"{args.repeat} fresh processes each; a bare interpreter takes {statistics.median(base):.3f} s")
    print(f"{'command':<20} {'wall median s':>13} {'wall best s':>11} {'CPU median s':>12}  "
          "heavy modules imported")
    for label, template in COMMANDS.items():
        code = template.format(deal=args.deal)
        wall, cpu = timings(code, args.repeat)
        heavy = heavy_modules(code)
        print(f"{label:<20} {statistics.median(wall):>13.3f} {min(wall):>11.3f} "
              f"{statistics.median(cpu):>12.3f}  {', '.join(heavy) or 'none'}")
    if args.top:
        for label, template in COMMANDS.items():
            print(f"\nslowest imports of `{label}` (cumulative ms):")
            for micros, name in slowest_imports(template.format(deal=args.deal), args.top):
                print(f"  {micros / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
