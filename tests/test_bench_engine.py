"""benchmarks/bench_engine.py and its C program: the C build agrees with the engine, and the script
runs end to end on tiny sizes so it cannot rot. Nothing here is timed."""

from __future__ import annotations

import mmap
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import script_module

import structurer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_engine.py"
needs_cc = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                              reason="no C compiler on this machine")


@pytest.fixture(scope="module")
def bench():
    if not SCRIPT.exists():
        pytest.skip("the benchmarks are not shipped with an installed package")
    with script_module(SCRIPT, "bench_engine") as module:
        yield module


@pytest.fixture(scope="module")
def exe(bench, tmp_path_factory):
    built = bench.compile_c(tmp_path_factory.mktemp("seq_c"))
    if built is None:
        pytest.skip("the C program did not build")
    return built


@needs_cc
@pytest.mark.parametrize("deal_file", ["sequential.waterfall", "two_pool.waterfall"])
def test_c_program_agrees_with_the_engine(bench, exe, deal_file: str) -> None:
    deal = structurer.load(ROOT / "deals" / deal_file)
    speeds = [0.0, 75.0, 165.0, 777.0, 1500.0]
    wals, seconds, cpu = bench.run_c(exe, deal, speeds, 2, 1)
    results = deal.run(*(f"{v:g} PSA" for v in speeds))
    names = [c.name for c in deal.classes if not c.is_residual]
    engine = np.array([[float(results.wal(n)[s]) for n in names] for s in range(len(speeds))])
    assert wals.shape == engine.shape
    assert np.max(np.abs(wals - engine)) <= 1e-9
    assert seconds > 0 and cpu > 0


@needs_cc
def test_c_program_refuses_bad_input(exe) -> None:
    import subprocess

    done = subprocess.run([str(exe), "1", "1"], input="1\n400 oops\n", capture_output=True, text=True)
    assert done.returncode == 1 and "bad input" in done.stderr


def test_script_runs_on_tiny_sizes(bench, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--counts", "1,3", "--repeat", "1", "--sample", "1", "--rounds", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.rstrip().endswith("agreement: yes")
    assert out.count("largest WAL difference") >= 2
    for deal in ("sequential.waterfall (FJF-01)", "pac.waterfall (FJF-02)"):
        table = out[out.index(deal):]
        assert "ns per scenario-month" in table and "doubles/s-m" in table
        lines = table.splitlines()
        top = next(i for i, line in enumerate(lines) if line.split()[:1] == ["scenarios"])
        rows = [line.split() for line in lines[top + 1:top + 3]]
        assert [r[0] for r in rows] == ["1", "3"]
        assert all(float(r[1].replace(",", "")) > 0 for r in rows)  # the engine's first run
        assert all(float(r[2].replace(",", "")) > 0 for r in rows)  # its best
        assert all(float(r[5].replace(",", "")) > 0 for r in rows)  # and the summaries-only run
    for solver in ("size_for_wal", "max_pac_balance", "par_coupon", "effective_band", "tieout"):
        assert solver in out
    assert out.count("tieout ") == len(list((ROOT / "deals").glob("*.waterfall")))


def test_counts_must_be_whole_numbers(bench) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--counts", "1,x"])
    with pytest.raises(SystemExit):
        bench.main(["--head-counts", "0"])
    with pytest.raises(SystemExit):
        bench.main(["--rounds", "-1"])


@needs_cc
def test_head_to_head_runs_turn_about(bench, exe, capsys: pytest.CaptureFixture[str]) -> None:
    rows = bench.head_to_head(exe, [3, 5], 2)
    out = capsys.readouterr().out
    assert [r["scenarios"] for r in rows] == [3, 3, 5, 5]
    assert all(r["c1"] > 0 and r["c2"] > 0 and r["engine"] > 0 for r in rows)
    table = out.splitlines()
    top = next(i for i, line in enumerate(table) if line.split()[:1] == ["scenarios"])
    cells = [line.split() for line in table[top + 1:top + 3]]
    assert [c[0] for c in cells] == ["3", "5"] and all(c[1] == "2" for c in cells)
    for c, n in zip(cells, (3, 5), strict=True):
        ratios = sorted(r["engine"] / r["c1"] for r in rows if r["scenarios"] == n)
        assert float(c[2]) == pytest.approx((ratios[0] + ratios[1]) / 2, abs=0.006)  # the median
        assert c[3] == f"{ratios[0]:.2f}-{ratios[1]:.2f}"
        assert c[4] == str(sum(x < 1 for x in ratios)) and c[5:7] == ["of", "2"]


def test_memory_column_sees_a_run_below_an_earlier_peak(bench) -> None:
    """The warm-up (a cold numba compile) can peak far above the runs: the peak must be measured
    from the runs' start, or the runs read as no memory at all."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("no /proc/self/clear_refs: the peak cannot be reset here")
    # Fresh anonymous mappings, touched: memory the allocator cannot hand back from a free list,
    # as a run's new pages are.
    with mmap.mmap(-1, 200 * 2**20) as spike:  # an earlier peak, 200 MB
        np.frombuffer(spike, dtype=np.uint8)[:] = 1
    before = bench.start_peak()
    with mmap.mmap(-1, 40 * 2**20) as run:  # the "run": 40 MB touched after the reset
        np.frombuffer(run, dtype=np.uint8)[:] = 1
        added = bench.peak_resident() - before
    assert 35 * 2**20 <= added <= 120 * 2**20
