"""The engine against a scalar C build of the same algorithm and the pure-Python reference, from 1
to 100,000 scenarios; peak memory; and the time of every structuring solver (issue 10).

    python benchmarks/bench_engine.py [--counts 1,100,1000,10000,100000] [--repeat 5]
                                      [--sample 20] [--skip-100k] [--no-solvers]
                                      [--rounds 12] [--head-counts 1000,10000]

1. Builds benchmarks/seq_c/seq.c with the system C compiler (`cc -O3`, when there is one) and
   checks that its class WALs on deals/sequential.waterfall agree with deal.run(...) to 1e-9
   years; checks the reference (benchmarks/reference.py) the same way on both deals.
2. On deals/sequential.waterfall and deals/pac.waterfall, at each scenario count N (constant
   PSA speeds spread over 0-1000 PSA), prints ns per scenario-month (best of the repetitions):
   - engine: one deal.run(*speeds) with all N speeds, timed in a fresh subprocess per
     configuration, which also measures the peak memory the runs add (the peak resident size
     during the runs less the resident size before them, per scenario-month, in bytes and in
     doubles; the peak is reset before the runs, so numba's compile does not hide it). "eng
     first" is the first such run in the process, on fresh memory (each page faulted in on
     first touch); "engine" the best of the repetitions, whose outputs reuse the memory of the
     results dropped before them (engine/buffers.py);
   - C: the computation alone (the program times itself), on 1 thread and on 2 threads
     (sequential deal only: the C program knows the sequential waterfall only);
   - reference: pure Python, one scenario at a time, timed on a sample of the speeds and
     scaled to N.
   A count whose engine run would need more memory than the machine has available (estimated
   from the largest count measured before it) is skipped with what it would need; --skip-100k
   skips 100,000 outright.
3. Head to head (sequential deal, 1,000 and 10,000 scenarios, when there is a C compiler): the
   engine on all cores against C on one thread, run turn about, so that both meet the same state
   of the machine. The tables above time each configuration once, minutes apart; on a virtual
   machine whose cores are sometimes two hardware threads of one core, the same program runs up to
   ~40% slower in one phase than in the other, and a ratio of figures taken in different phases
   says more about the machine than about the engine. Each round times C on one thread, C on two
   and the engine (in this process, all cores), best of a few runs each; it prints the rounds'
   ratios (median, range, how many under 1) and C's own two-thread speed-up in each round, which
   shows the phase: near 2 when the two threads have a core each.
4. Times every solver of structurer.structuring.solve on the example deals (size_for_wal,
   max_pac_balance, par_coupon, effective_band) and the tie-out of every example deal.

It prints figures only: nothing is asserted on time. Exit code 1 when an agreement check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the reference next to this script

from reference import derive_schedules, reference_wals

import structurer
from structurer.model import Deal
from structurer.model.curve import make_curve
from structurer.model.prepayment import Prepayment

ROOT = Path(__file__).resolve().parent.parent
SEQUENTIAL = ROOT / "deals" / "sequential.waterfall"
PAC = ROOT / "deals" / "pac.waterfall"
SOURCE = ROOT / "benchmarks" / "seq_c" / "seq.c"
COUNTS = (1, 100, 1_000, 10_000, 100_000)
CHECK_SPEEDS = (0.0, 50.0, 100.0, 165.0, 300.0, 500.0, 1000.0)
TOLERANCE = 1e-9  # years
MAX_PSA = 1000.0
CURVE = make_curve("UST", [1, 2, 5, 10, 30], [0.041, 0.040, 0.041, 0.042, 0.045])


def grid(n: int) -> list[float]:
    """N constant PSA speeds spread evenly over 0-1000 PSA (one speed, 165 PSA, when N is 1)."""
    return [165.0] if n == 1 else [float(v) for v in np.linspace(0.0, MAX_PSA, n)]


def periods_of(deal: Deal) -> int:
    return max(p.remaining for p in deal.pools)


def best(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` wall-clock timings of fn() (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# ---- the C program


def compile_c(build_dir: Path) -> Path | None:
    """seq.c built with the system C compiler at -O3, or None when there is no compiler."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    exe = build_dir / "seq"
    cmd = [cc, "-O3", "-o", str(exe), str(SOURCE), "-lm", "-lpthread"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"C build failed ({' '.join(cmd)}):\n{done.stderr}")
        return None
    return exe


def c_input(deal: Deal, speeds: list[float]) -> str:
    pools = [f"{p.balance!r} {p.wac!r} {p.coupon!r} {p.remaining} {p.age}" for p in deal.pools]
    classes = [f"{c.balance!r} {c.coupon!r}" for c in deal.classes if not c.is_residual]
    return "\n".join([str(len(pools)), *pools, str(len(classes)), *classes, str(len(speeds)),
                      " ".join(repr(s) for s in speeds)]) + "\n"


def run_c(exe: Path, deal: Deal, speeds: list[float], threads: int, repeat: int
          ) -> tuple[np.ndarray, float, float]:
    """(WALs [scenario, class], the best of `repeat` timings of the computation in wall-clock
    seconds, and in CPU seconds of all its threads)."""
    done = subprocess.run([str(exe), str(threads), str(repeat)], input=c_input(deal, speeds),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"seq failed: {done.stderr.strip()}")
    wall, cpu = (float(x) for x in done.stderr.split()[-2:])
    wals = np.array([[float(x) for x in line.split()] for line in done.stdout.splitlines()])
    return wals, wall, cpu


# ---- the engine in a subprocess: time and peak memory


def child(path: str, n: int, repeat: int) -> None:
    """Run in a fresh interpreter: warm up, then time deal.run over N speeds and measure the peak
    resident memory the runs add; print one JSON line."""
    deal = structurer.load(path)
    speeds = [Prepayment.constant(v, "PSA") for v in grid(n)]
    deal.run(*speeds[:1])  # imports and lazy set-up, outside the measurement
    structurer.summarise(deal, speeds[:1])
    before = start_peak()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        results = deal.run(*speeds)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        del results
    after = peak_resident()
    # The same scenarios, summaries only (WALs, windows, totals; no cash flows kept): what the C
    # program computes.
    sums = []
    for _ in range(repeat):
        start = time.perf_counter()
        structurer.summarise(deal, speeds)
        sums.append(time.perf_counter() - start)
    print(json.dumps({"seconds": min(times), "cpu_seconds": min(cpu), "peak_bytes": after - before,
                      "summary_seconds": min(sums), "first_seconds": times[0]}))


def _status_bytes(field: str) -> int | None:
    """A size from /proc/self/status (VmRSS, VmHWM) in bytes; None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def start_peak() -> int:
    """The resident size now, with the peak reset to it where Linux allows (writing 5 to
    /proc/self/clear_refs): numba's compile in the warm-up can peak above the runs, and a peak
    that is not reset would then read as no memory at all. Elsewhere, the peak so far."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    now = _status_bytes("VmRSS")
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_resident() -> int:
    """The peak resident size since `start_peak` (where it reset the peak) or ever."""
    peak = _status_bytes("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def engine_in_child(path: Path, n: int, repeat: int, threads: int | None = None) -> dict[str, float] | str:
    """The child's figures; `threads`: NUMBA_NUM_THREADS in the child (None: all cores)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), str(n), str(repeat)]
    env = dict(os.environ)
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    limit = available_bytes()

    def cap_memory() -> None:
        # A run too large for the machine fails with MemoryError in the child instead of waking
        # the kernel's OOM killer, which might pick another process.
        if math.isfinite(limit):
            resource.setrlimit(resource.RLIMIT_AS, (int(0.8 * limit), resource.RLIM_INFINITY))

    done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap_memory, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return f"failed ({'killed: out of memory?' if done.returncode < 0 else tail[:80]})"
    return json.loads(done.stdout.strip().splitlines()[-1])


def available_bytes() -> float:
    """MemAvailable from /proc/meminfo (inf where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return math.inf


# ---- agreement


def check_agreement(exe: Path | None, seq: Deal, pac: Deal) -> bool:
    ok = True
    speeds = [Prepayment.constant(v, "PSA") for v in CHECK_SPEEDS]
    names = [c.name for c in seq.classes if not c.is_residual]
    engine = seq.run(*speeds)
    engine_wals = np.array([[float(engine.wal(n)[s]) for n in names] for s in range(len(speeds))])
    print(f"agreement on {SEQUENTIAL.name} at {', '.join(f'{v:g}' for v in CHECK_SPEEDS)} PSA "
          f"(tolerance {TOLERANCE:g} years):")
    if exe is not None:
        c_wals, _, _ = run_c(exe, seq, list(CHECK_SPEEDS), 1, 1)
        diff = float(np.max(np.abs(c_wals - engine_wals)))
        ok &= diff <= TOLERANCE
        print(f"  C program vs engine: largest WAL difference {diff:.2e} years "
              f"({'agree' if diff <= TOLERANCE else 'DISAGREE'})")
    for deal, path in ((seq, SEQUENTIAL), (pac, PAC)):
        results = deal.run(*speeds)
        schedules = derive_schedules(deal) if deal.tiers else {}
        worst = 0.0
        for s, v in enumerate(CHECK_SPEEDS):
            ref = reference_wals(deal, v, schedules=schedules)
            for name, w in ref.items():
                if not math.isnan(w):
                    worst = max(worst, abs(w - float(results.wal(name)[s])))
        ok &= worst <= TOLERANCE
        print(f"  reference vs engine on {path.name}: largest WAL difference {worst:.2e} years "
              f"({'agree' if worst <= TOLERANCE else 'DISAGREE'})")
    print()
    return ok


# ---- speed and memory at scale


def ns(seconds: float, n: int, periods: int) -> float:
    return seconds / (n * periods) * 1e9


def cell(x: float | None, width: int = 12) -> str:
    return f"{'-':>{width}}" if x is None else f"{x:>{width},.0f}" if x >= 100 else f"{x:>{width},.1f}"


def scale_table(path: Path, exe: Path | None, counts: list[int], repeat: int, sample: int,
                skip_100k: bool) -> None:
    deal = structurer.load(path)
    periods = periods_of(deal)
    sequential = path == SEQUENTIAL
    schedules = derive_schedules(deal) if deal.tiers else {}
    print(f"{path.name} ({deal.name}): {', '.join(c.name for c in deal.issued_classes)}; "
          f"{periods} periods; speeds over 0-{MAX_PSA:g} PSA")
    print("  ns per scenario-month, best of the repetitions, wall clock; (cpu): CPU time of the process,")
    print("  all threads; eng first: the process's first run, on fresh memory (later runs reuse the output")
    print("  buffers of the results dropped before them, engine/buffers.py: the best of those is 'engine');")
    print("  CPU time is what other load on the machine does not inflate; eng 1 thr: the engine's wall"
          " clock with NUMBA_NUM_THREADS=1 (from 1,000 scenarios); memory: the peak the engine's run adds;")
    print("  sums, sums 1 thr: structurer.summarise over the same speeds (WAL, window, totals per class;"
          " no cash flows kept: what the C program computes), all cores and one thread")
    head = (f"  {'scenarios':>9}{'eng first':>10}{'engine':>10}{'(cpu)':>9}{'eng 1 thr':>10}{'sums':>10}"
            f"{'sums 1 thr':>11}"
            f"{'C 1 thr':>9}{'(cpu)':>8}{'C 2 thr':>9}"
            f"{'reference':>11}{'1thr/C1':>8}{'eng/C1':>8}{'eng/C2':>8}{'sums/C1':>8}{'bytes/s-m':>11}"
            f"{'doubles/s-m':>13}")
    if sequential and exe is not None:
        print("  issue 10's targets from 1,000 scenarios: 1thr/C1 (eng 1 thr / C 1 thr) at most 2; eng/C1"
              " (the engine on all cores / C 1 thr) under 1")
    print(head)
    per_sm: float | None = None  # bytes per scenario-month measured at the largest count so far
    for n in counts:
        reps = max(1, min(repeat, int(2e5 / max(n, 1)) or 1)) if n >= 10_000 else repeat
        speeds = grid(n)
        note = ""
        e_one: float | None = None
        s_one: float | None = None
        engine: dict[str, float] | str | None = None
        need = per_sm * n * periods if per_sm else 0.0
        if n >= 100_000 and skip_100k:
            note = f"engine skipped (--skip-100k); it needs about {need / 2**30:.1f} GB" if need else \
                "engine skipped (--skip-100k)"
        elif need > 0.8 * available_bytes():
            note = (f"engine skipped: it needs about {need / 2**30:.1f} GB, "
                    f"{available_bytes() / 2**30:.1f} GB available")
        else:
            engine = engine_in_child(path, n, reps)
            if isinstance(engine, str):
                note, engine = f"engine {engine}", None
            elif n >= 1_000:
                # The target speaks of single-threaded: the same run on one thread.
                one = engine_in_child(path, n, reps, threads=1)
                e_one = ns(one["seconds"], n, periods) if isinstance(one, dict) else None
                s_one = ns(one["summary_seconds"], n, periods) if isinstance(one, dict) else None
        e_ns = ns(engine["seconds"], n, periods) if engine else None
        e_first = ns(engine["first_seconds"], n, periods) if engine else None
        e_cpu = ns(engine["cpu_seconds"], n, periods) if engine else None
        s_ns = ns(engine["summary_seconds"], n, periods) if engine else None
        peak = engine["peak_bytes"] / (n * periods) if engine else None
        if engine and n >= 1_000:
            per_sm = max(peak or 0.0, per_sm or 0.0)
        c1 = c2 = c1_cpu = None
        if exe is not None and sequential:
            # Repetitions worth about 2 s at ~50 ns a scenario-month (at least 3): on a busy
            # machine the best of several is the program's own speed.
            c_reps = max(3, min(2000, int(4e7 / (n * periods))))
            _, wall, cpu = run_c(exe, deal, speeds, 1, c_reps)
            c1, c1_cpu = ns(wall, n, periods), ns(cpu, n, periods)
            c2 = ns(run_c(exe, deal, speeds, 2, c_reps)[1], n, periods)
        picked = [speeds[i] for i in np.linspace(0, n - 1, min(sample, n)).round().astype(int)]
        ref_s = best(lambda picked=picked: [reference_wals(deal, v, schedules=schedules) for v in picked], 1)
        r = ns(ref_s / len(picked) * n, n, periods)
        ratio_one = f"{e_one / c1:>8.2f}" if e_one and c1 else f"{'-':>8}"
        ratio1 = f"{e_ns / c1:>8.2f}" if e_ns and c1 else f"{'-':>8}"
        ratio2 = f"{e_ns / c2:>8.1f}" if e_ns and c2 else f"{'-':>8}"
        ratio_s = f"{s_ns / c1:>8.1f}" if s_ns and c1 else f"{'-':>8}"
        mem = f"{peak:>11,.0f}{peak / 8:>13,.1f}" if peak is not None else f"{'-':>11}{'-':>13}"
        print(f"  {n:>9,}{cell(e_first, 10)}{cell(e_ns, 10)}{cell(e_cpu, 9)}{cell(e_one, 10)}{cell(s_ns, 10)}"
              f"{cell(s_one, 11)}"
              f"{cell(c1, 9)}{cell(c1_cpu, 8)}{cell(c2, 9)}"
              f"{cell(r, 11)}{ratio_one}{ratio1}{ratio2}{ratio_s}{mem}"
              + (f"  {note}" if note else ""))
    print()


# ---- head to head: the engine on all cores and C on one thread, turn about


def head_to_head(exe: Path, counts: list[int], rounds: int) -> list[dict[str, float]]:
    """For each count, `rounds` rounds of: C on one thread, C on two, the engine on all cores
    (deal.run in this process, after an untimed run), each the best of a few runs (~0.3 s of C's
    work); per round, ns per scenario-month of each. Printed as it goes; returned for the tests."""
    deal = structurer.load(SEQUENTIAL)
    periods = periods_of(deal)
    print("head to head on sequential.waterfall, turn about: C 1 thr, C 2 thr, engine (all cores);")
    print("  ns per scenario-month, best of a few runs each; C 2x: C's own speed-up on two threads in")
    print("  the round (near 2: two cores; near 1.4: two hardware threads of one core)")
    print(f"  {'scenarios':>9}{'rounds':>8}{'eng/C1 median':>15}{'range':>15}{'under 1':>9}"
          f"{'C 2x median':>13}{'eng/C1 where C 2x >= 1.8':>27}")
    out: list[dict[str, float]] = []
    for n in counts:
        speeds = grid(n)
        scenarios = [Prepayment.constant(v, "PSA") for v in speeds]
        reps = max(2, min(20, int(1e7 / (n * periods))))
        rows = []
        for _ in range(rounds):
            c1 = ns(run_c(exe, deal, speeds, 1, reps)[1], n, periods)
            c2 = ns(run_c(exe, deal, speeds, 2, reps)[1], n, periods)
            eng = ns(best(lambda s=scenarios: deal.run(*s), max(2, reps // 4)), n, periods)
            rows.append({"scenarios": n, "c1": c1, "c2": c2, "engine": eng})
        ratio = [r["engine"] / r["c1"] for r in rows]
        gains = [r["c1"] / r["c2"] for r in rows]
        two = [x for x, g in zip(ratio, gains, strict=True) if g >= 1.8]
        ratios = sorted(ratio)
        two_cell = f"{statistics.median(two):.2f} in {len(two)}" if two else "no such round"
        print(f"  {n:>9,}{rounds:>8}{statistics.median(ratios):>15.2f}"
              f"{f'{ratios[0]:.2f}-{ratios[-1]:.2f}':>15}{sum(x < 1 for x in ratios):>6} of {rounds}"
              f"{statistics.median(gains):>10.2f}{two_cell:>27}")
        out.extend(rows)
    print()
    return out


# ---- solvers


def solver_cases() -> list[tuple[str, Callable[[], object]]]:
    from structurer.structuring import solve, tieout

    seq = structurer.load(SEQUENTIAL)
    pac = structurer.load(PAC)
    tiers = structurer.load(ROOT / "deals" / "pac_tiers.waterfall")
    # Targets known to be reachable: the WALs of the same deals re-sized by hand.
    seq_target = float(solve.rebuild(seq, balances={"A": 150e6, "B": 80.5e6}).run().wal("A")[0])
    pac_target = float(solve.rebuild(pac, balances={"P": 230e6, "S": 170e6}).run().wal("P")[0])
    cases: list[tuple[str, Callable[[], object]]] = [
        (f"size_for_wal  {SEQUENTIAL.name} A/B to {seq_target:.3f} y",
         lambda: solve.size_for_wal(seq, "A", "B", seq_target)),
        (f"size_for_wal  {PAC.name} P/S to {pac_target:.3f} y",
         lambda: solve.size_for_wal(pac, "P", "S", pac_target)),
        (f"max_pac_balance  {PAC.name} P", lambda: solve.max_pac_balance(pac, "P")),
        ("max_pac_balance  pac_tiers.waterfall P2 (PAC II)", lambda: solve.max_pac_balance(tiers, "P2")),
        (f"par_coupon  {SEQUENTIAL.name} C at 80bp", lambda: solve.par_coupon(seq, "C", 80, CURVE)),
        (f"par_coupon  {PAC.name} P at 80bp", lambda: solve.par_coupon(pac, "P", 80, CURVE)),
        (f"effective_band  {PAC.name} P after 24 at 165 PSA",
         lambda: solve.effective_band(pac, "P", 24, 165.0)),
        ("effective_band  pac_tiers.waterfall PB after 12 at 165 PSA",
         lambda: solve.effective_band(tiers, "PB", 12, 165.0)),
    ]
    for path in sorted((ROOT / "deals").glob("*.waterfall")):
        deal = structurer.load(path)
        cases.append((f"tieout  {path.name}", lambda deal=deal: tieout.tieout(deal)))
    return cases


def solver_table(repeat: int) -> None:
    warm = repeat > 1  # one repetition: a single cold call (the smoke test's setting)
    print(f"solvers (structurer.structuring.solve) and the tie-out, ms over {repeat} repetition(s)"
          f"{' after a warm-up call' if warm else ''}")
    print(f"  {'':<62}{'best':>10}{'median':>10}{'best cpu':>10}")
    for label, fn in solver_cases():
        if warm:
            fn()
        times, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(f"  {label:<62}{min(times) * 1e3:>10.1f}{statistics.median(times) * 1e3:>10.1f}"
              f"{min(cpu) * 1e3:>10.1f}")
    print()


def _counts(parser: argparse.ArgumentParser, option: str, text: str) -> list[int]:
    try:
        return [int(c.replace("_", "")) for c in text.split(",")]
    except ValueError:
        parser.error(f"{option} takes whole numbers separated by commas, not '{text}'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default=",".join(str(c) for c in COUNTS),
                        help="scenario counts, comma-separated (default 1,100,1000,10000,100000)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each timing (default 5; "
                        "fewer at 10,000 scenarios and more)")
    parser.add_argument("--sample", type=int, default=20,
                        help="scenarios the reference is timed on, scaled to N (default 20)")
    parser.add_argument("--skip-100k", action="store_true",
                        help="do not run the engine at 100,000 scenarios (a full run keeps ~3.5 GB)")
    parser.add_argument("--no-solvers", action="store_true", help="skip the solver timings")
    parser.add_argument("--rounds", type=int, default=12,
                        help="rounds of the head-to-head of the engine and C (default 12; 0 skips it)")
    parser.add_argument("--head-counts", default="1000,10000",
                        help="scenario counts of the head-to-head, comma-separated (default 1000,10000)")
    parser.add_argument("--child", nargs=3, metavar=("DEAL", "N", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    counts = _counts(parser, "--counts", args.counts)
    head_counts = _counts(parser, "--head-counts", args.head_counts)
    if any(c < 1 for c in counts + head_counts) or args.repeat < 1 or args.sample < 1:
        parser.error("--counts, --head-counts, --repeat and --sample must be at least 1")
    if args.rounds < 0:
        parser.error("--rounds must be 0 or more")

    seq, pac = structurer.load(SEQUENTIAL), structurer.load(PAC)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"structurer {structurer.__version__}")
    with tempfile.TemporaryDirectory(prefix="seq_c") as build:
        exe = compile_c(Path(build))
        print(f"C: {'benchmarks/seq_c/seq.c built with -O3' if exe else 'no C compiler: C columns skipped'}")
        print()
        ok = check_agreement(exe, seq, pac)
        for path in (SEQUENTIAL, PAC):
            scale_table(path, exe, counts, args.repeat, args.sample, args.skip_100k)
        if exe is not None and args.rounds > 0:
            head_to_head(exe, head_counts, args.rounds)
    if not args.no_solvers:
        solver_table(max(1, min(args.repeat, 5)))
    print("agreement: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
