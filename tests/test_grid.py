"""The portfolio grid (analysis/grid.py, `structure grid`, `structurer.grid`): on the local
process pool and on a real dask.distributed LocalCluster of two worker processes, its figures
are the single-process run's, bit for bit; a worker killed mid-run costs nothing; a failing deal
is reported and the others carry on."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import structurer
from structurer.analysis import grid_tasks
from structurer.analysis.grid import run_grid
from structurer.analysis.oas import oas_analysis
from structurer.analysis.summary import CLASS_MEASURES, COLLATERAL_MEASURES, Summary, summarise
from structurer.cli import main
from structurer.engine.audit import EngineError
from structurer.model.ratemodel import HullWhite

DEALS = Path(__file__).resolve().parent.parent / "deals"
GOOD = [DEALS / "sequential.waterfall", DEALS / "pac.waterfall", DEALS / "floater.waterfall",
        DEALS / "two_groups.waterfall"]  # two_groups runs on the numpy interpreter
SPEEDS = [f"{p} PSA" for p in range(0, 600, 25)]
RATES = ["5%", "6.5%"]
PATHS = 40  # OAS paths: enough to show the parts join as the whole does, quick to run


def assert_same_summary(got: Summary, want: Summary) -> None:
    assert got.scenarios == want.scenarios
    assert got.classes == want.classes
    for m in (*CLASS_MEASURES, "pv", "original_balance"):
        np.testing.assert_array_equal(getattr(got, m), getattr(want, m), err_msg=m)  # NaN == NaN, bit for bit
    for m in COLLATERAL_MEASURES:
        np.testing.assert_array_equal(got.collateral[m], want.collateral[m], err_msg=m)


def reference(paths: list[Path], speeds: list[str] = SPEEDS) -> dict[str, Summary]:
    """The single-process run: summarise each deal's whole grid at once."""
    out = {}
    for path in paths:
        deal = structurer.load(path)
        out[deal.name] = summarise(deal, speeds, rates=RATES)
    return out


@pytest.fixture(scope="module")
def want() -> dict[str, Summary]:
    return reference(GOOD)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    """A real Dask cluster on this machine: a scheduler and two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.fixture
def client(cluster: object) -> Iterator[object]:
    import distributed

    with distributed.Client(cluster) as client:  # type: ignore[arg-type]
        client.wait_for_workers(2, timeout=60)
        yield client


# ---- figures: the same as the single-process run


def test_the_local_pool_gives_the_single_process_figures(want: dict) -> None:
    grid = run_grid(GOOD, SPEEDS, rates=RATES, workers=2, chunk=7)
    assert grid.backend == "pool" and grid.workers == 2 and grid.ok
    assert grid.deals == list(want)
    # chunks of 7 of 24 scenarios: four tasks per deal, joined in order
    assert grid.tasks == 4 * len(GOOD)
    for name, summary in want.items():
        assert_same_summary(grid.summaries[name], summary)


def test_in_this_process_at_any_chunk_size(want: dict) -> None:
    for chunk in (1, 5, None):
        grid = run_grid(GOOD[:2], SPEEDS, rates=RATES, workers=0, chunk=chunk)
        assert grid.backend == "local"
        for name in grid.deals:
            assert_same_summary(grid.summaries[name], want[name])


def test_a_dask_cluster_gives_the_single_process_figures(want: dict, client: object) -> None:
    grid = run_grid(GOOD, SPEEDS, rates=RATES, scheduler=client, chunk=5)
    assert grid.backend == "dask" and grid.workers == 2 and grid.ok
    for name, summary in want.items():
        assert_same_summary(grid.summaries[name], summary)
    # Each worker ran numba on one thread: the processes are the parallelism.
    import numba  # noqa: F401 - the workers import it; the probe asks theirs

    threads = client.run(lambda: __import__("numba").get_num_threads())  # type: ignore[attr-defined]
    assert set(threads.values()) == {1}


def test_the_scheduler_address_from_the_environment(want: dict, cluster: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRUCTURER_SCHEDULER", cluster.scheduler_address)  # type: ignore[attr-defined]
    grid = run_grid(GOOD[:1], SPEEDS, rates=RATES)
    assert grid.backend == "dask"
    assert_same_summary(grid.summaries["FJF-01"], want["FJF-01"])
    # 'local', or a pool size, keeps the local pool whatever the environment says
    assert run_grid(GOOD[:1], SPEEDS[:3], scheduler="local").backend == "pool"
    assert run_grid(GOOD[:1], SPEEDS[:3], workers=1).backend == "pool"


def test_oas_on_dask_is_oas_analysis(client: object) -> None:
    # The OAS parts (the paths at the curve, each bumped curve, the shift table) run on different
    # workers and are joined by the functions oas_analysis joins them with: the same figures.
    deal = structurer.load(DEALS / "oas.waterfall")
    model = HullWhite(0.03, 0.01, PATHS, seed=11)
    single = oas_analysis(deal, model=model)
    grid = run_grid([DEALS / "oas.waterfall"], SPEEDS[:2], scheduler=client,
                    oas=grid_tasks.OasRequest(model_changes=(("paths", PATHS), ("seed", 11))))
    assert grid.ok
    assert repr(grid.oas[deal.name]) == repr(single)  # every float's repr: bit for bit
    rows = grid.frame()
    oas_rows = rows[(rows["scenario"] == "OAS") & (rows["measure"] == "oas")]
    got = dict(zip(oas_rows["class"].astype(str), oas_rows["value"], strict=True))
    assert got == {c.name: c.oas * 1e4 for c in single.classes}
    # the deal's declared rate shifts: a WAL and a price per class and shift
    shifts = rows[rows["scenario"].astype(str).str.startswith("rates ")]
    assert len(shifts) == 2 * len(single.classes) * len(single.shifts.labels)


def test_oas_on_the_local_pool_without_key_rates() -> None:
    deal = structurer.load(DEALS / "oas.waterfall")
    single = structurer.oas(deal, paths=PATHS, key_rates=False)  # the deal's model, PATHS paths
    grid = structurer.grid([deal], oas=True, paths=PATHS, key_rates=False, summaries=False, workers=2)
    assert grid.summaries == {}
    assert repr(grid.oas[deal.name]) == repr(single)


# ---- a worker killed mid-run


def _kill_once(pids: list[int]) -> tuple[object, threading.Event]:
    """A progress callback that kills the first of `pids` (worker processes this test started)
    when the first task comes back, while the others are still running."""
    killed = threading.Event()

    def progress(done: int, total: int) -> None:
        if not killed.is_set() and 0 < done < total:
            killed.set()
            os.kill(pids[0], signal.SIGKILL)

    return progress, killed


def test_a_dask_worker_killed_mid_run_loses_nothing(want: dict, client: object) -> None:
    pids = list(client.run(os.getpid).values())  # type: ignore[attr-defined]
    progress, killed = _kill_once(pids)
    grid = run_grid(GOOD, SPEEDS, rates=RATES, scheduler=client, chunk=2, progress=progress)
    assert killed.is_set()
    assert grid.ok, grid.failures
    for name, summary in want.items():
        assert_same_summary(grid.summaries[name], summary)
    client.wait_for_workers(2, timeout=60)  # type: ignore[attr-defined]
    assert pids[0] not in client.run(os.getpid).values()  # type: ignore[attr-defined]  # it did die


def _pool_processes() -> set[int]:
    """This process's children that are multiprocessing's spawned workers."""
    import psutil

    out = set()
    for child in psutil.Process().children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                out.add(child.pid)
        except psutil.Error:
            pass
    return out


def test_a_pool_worker_killed_mid_run_loses_nothing(want: dict) -> None:
    before = _pool_processes()  # the Dask cluster's workers, if it is up: not ours to kill
    killed = threading.Event()

    def progress(done: int, total: int) -> None:
        if not killed.is_set() and 0 < done < total:
            mine = sorted(_pool_processes() - before)
            if mine:
                killed.set()
                os.kill(mine[0], signal.SIGKILL)

    grid = run_grid(GOOD, SPEEDS, rates=RATES, workers=2, chunk=2, progress=progress)
    assert killed.is_set()
    assert grid.ok, grid.failures
    assert grid.retried > 0  # the tasks the broken pool still owed ran again on a new one
    for name, summary in want.items():
        assert_same_summary(grid.summaries[name], summary)


# ---- failing deals


# A class whose coupon is written twice over: a positioned error on line 7.
BAD = DEALS.joinpath("sequential.waterfall").read_text().replace(
    "class A  SEQ  balance 194,500,000  coupon 7.5%", "class A  SEQ  balance 194,500,000  coupon 7.5%%")
BAD_LINE = BAD.splitlines().index("class A  SEQ  balance 194,500,000  coupon 7.5%%") + 1


def test_a_failing_deal_among_good_ones(tmp_path: Path, want: dict) -> None:
    bad = tmp_path / "bad.waterfall"
    bad.write_text(BAD)
    missing = tmp_path / "missing.waterfall"
    deals = [GOOD[0], bad, GOOD[1], missing]
    grid = run_grid(deals, SPEEDS, rates=RATES, workers=2)
    assert grid.deals == ["FJF-01", "FJF-02"]
    for name in grid.deals:
        assert_same_summary(grid.summaries[name], want[name])
    assert [f.source for f in grid.failures] == [str(bad), str(missing)]
    positioned = grid.failures[0].message
    assert f"{bad}:{BAD_LINE}:" in positioned and "^" in positioned
    assert "no deal file" in grid.failures[1].message


def test_a_deal_failing_in_a_worker_does_not_stop_the_others(want: dict) -> None:
    # Defaults on deals with no loss section: refused by the engine in the worker, reported per
    # deal; the credit deals run.
    deals = [GOOD[0], DEALS / "senior_sub.waterfall", DEALS / "private_label.waterfall"]
    grid = run_grid(deals, SPEEDS[:4], defaults=["100 SDA severity 35% lag 6", "200 SDA"], workers=2)
    assert grid.deals == ["SS-01", "PL-01"]
    assert [f.deal for f in grid.failures] == ["FJF-01"]
    assert "loss section" in grid.failures[0].message
    # speed-major, every speed at every default assumption, as `structure --sda` grids them
    ss = structurer.load(DEALS / "senior_sub.waterfall")
    alone = summarise(ss, [f"{s} defaults {d}" for s in SPEEDS[:4]
                           for d in ("100 SDA severity 35% lag 6", "200 SDA")])
    assert_same_summary(grid.summaries["SS-01"], alone)


def test_an_audit_failure_is_the_deals_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine's audit refusing a run (EngineError) fails that deal and no other.
    real = grid_tasks.summarise

    def audited(deal, *args, **kwargs):  # type: ignore[no-untyped-def]
        if deal.name == "FJF-02":
            raise EngineError("the waterfall does not balance: cash in differs from cash out")
        return real(deal, *args, **kwargs)

    monkeypatch.setattr(grid_tasks, "summarise", audited)
    grid = run_grid(GOOD[:3], SPEEDS[:3], workers=0)
    assert "FJF-02" not in grid.deals and len(grid.deals) == 2
    assert len(grid.failures) == 1 and grid.failures[0].deal == "FJF-02"
    assert "audit" in grid.failures[0].message and "does not balance" in grid.failures[0].message


# ---- the table and the command line


def test_the_long_form_table(tmp_path: Path, want: dict) -> None:
    grid = run_grid(GOOD[:2], SPEEDS, rates=RATES, workers=0)
    out = grid.write(tmp_path / "grid.parquet")
    table = pq.read_table(out)
    assert table.column_names == ["deal", "scenario", "class", "measure", "value"]
    frame = table.to_pandas()
    s = want["FJF-02"]
    per_scenario = len(s.classes) * (len(CLASS_MEASURES) + len(RATES)) + len(COLLATERAL_MEASURES)
    assert (frame["deal"] == "FJF-02").sum() == len(s.scenarios) * per_scenario
    # one figure: class A's WAL at 300 PSA, and its PV at 6.5%
    mine = frame[frame["deal"] == "FJF-02"]
    row = mine[(mine["scenario"] == "300 PSA") & (mine["class"] == s.classes[0])]
    values = dict(zip(row["measure"].astype(str), row["value"], strict=True))
    k = s.scenarios.index("300 PSA")
    assert values["wal"] == s.wal[k, 0]
    assert values["pv_6.5%"] == s.pv[k, 0, 1]
    coll = frame[(frame["deal"] == "FJF-02") & (frame["class"] == "COLLATERAL") & (frame["measure"] == "wal")]
    np.testing.assert_array_equal(coll["value"].to_numpy(), s.collateral["wal"])
    # the same table as CSV
    frame_csv = grid.write(tmp_path / "grid.csv")
    assert frame_csv.read_text().splitlines()[0] == "deal,scenario,class,measure,value"


def test_structure_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str], want: dict) -> None:
    bad = tmp_path / "bad.waterfall"
    bad.write_text(BAD)
    out = tmp_path / "grid.parquet"
    code = main(["grid", str(GOOD[0]), str(bad), str(GOOD[1]), "--psa", "0..575/25", "--discount", "5%,6.5%",
                 "--out", str(out), "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 1  # a deal failed; the others ran and were written
    assert "FJF-01" in captured.out and "FJF-02" in captured.out
    assert "a local pool of 2 processes" in captured.out
    assert f"{bad}: deal failed" in captured.err and "^" in captured.err and "Traceback" not in captured.err
    assert "1 of 3 deals failed" in captured.err
    frame = pq.read_table(out).to_pandas()
    assert set(frame["deal"].astype(str)) == {"FJF-01", "FJF-02"}
    got = frame[(frame["deal"] == "FJF-01") & (frame["measure"] == "pv_5%")]["value"].to_numpy()
    np.testing.assert_array_equal(got, want["FJF-01"].pv[:, :, 0].reshape(-1))


def test_structure_grid_on_a_cluster(cluster: object, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    code = main(["grid", str(GOOD[0]), "--psa", "100,200", "--scheduler",
                 cluster.scheduler_address, "--out", str(tmp_path / "g.pq")])  # type: ignore[attr-defined]
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "a Dask cluster of 2 workers" in captured.out


@pytest.mark.parametrize("args, message", [
    (["--out", "grid.txt"], "--out writes .parquet"),
    (["--paths", "100"], "--paths is for OAS; add --oas"),
    (["--price", "100"], "--price is for OAS; add --oas"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--workers sizes the local pool"),
    (["--severity", "35"], "give the default rates with --cdr or --sda"),
    (["--oas", "--oas-only", "--psa", "100"], "--oas-only runs no scenario grid"),
    (["--workers", "-1"], "--workers must be at least 0"),
    (["--chunk", "0"], "--chunk must be at least 1"),
    (["--psa", "fast"], "--psa"),
])
def test_usage_errors_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grid", str(GOOD[0]), *args]) == 2
    assert message in capsys.readouterr().err


def test_out_never_overwrites_a_deal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grid", str(GOOD[0]), "--out", str(GOOD[0])]) == 2
    assert "never overwritten" in capsys.readouterr().err


def test_without_dask_the_scheduler_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    monkeypatch.delitem(sys.modules, "structurer.analysis.grid_dask", raising=False)
    with pytest.raises(structurer.InputError, match=r"pip install 'structurer\[dask\]'"):
        importlib.import_module("structurer.analysis.grid_dask")
    monkeypatch.delitem(sys.modules, "structurer.analysis.grid_dask", raising=False)


def test_bad_api_arguments_are_input_errors() -> None:
    with pytest.raises(structurer.InputError, match="chunk"):
        run_grid(GOOD[:1], SPEEDS, chunk=0)
    with pytest.raises(structurer.InputError, match="workers"):
        run_grid(GOOD[:1], SPEEDS, workers=-2)
    with pytest.raises(structurer.InputError, match="nothing to run"):
        run_grid(GOOD[:1], SPEEDS, summaries=False)
    with pytest.raises(structurer.InputError, match="discount yield"):
        run_grid(GOOD[:1], SPEEDS, rates=["fast"])


def test_structure_grid_oas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The command line's OAS options reach every part: the figures are structurer.oas's.
    out = tmp_path / "oas.parquet"
    code = main(["grid", str(DEALS / "oas.waterfall"), "--oas", "--oas-only", "--paths", str(PATHS),
                 "--seed", "3", "--no-key-rates", "--price", "PA=99-16", "--workers", "0", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    deal = structurer.load(DEALS / "oas.waterfall")
    single = structurer.oas(deal, {"PA": "99-16"}, paths=PATHS, seed=3, key_rates=False)
    frame = pq.read_table(out).to_pandas()
    assert set(frame["scenario"].astype(str)) >= {"OAS"}
    oas = frame[(frame["scenario"] == "OAS") & (frame["measure"] == "oas")]
    assert dict(zip(oas["class"].astype(str), oas["value"], strict=True)) == {c.name: c.oas * 1e4
                                                                              for c in single.classes}
    assert not frame["measure"].astype(str).str.startswith("krd_").any()


def test_a_script_without_the_main_guard_is_told_why(tmp_path: Path) -> None:
    # spawn imports the calling script in each worker process: unguarded, they die at start,
    # and the grid says why instead of retrying.
    import subprocess

    script = tmp_path / "nightly.py"
    script.write_text(
        "import structurer\n"
        "try:\n"
        f"    structurer.grid([{str(GOOD[0])!r}], ['100 PSA'], workers=1)\n"
        "except structurer.InputError as exc:\n"
        "    print('InputError:', exc)\n")
    env = dict(os.environ, PYTHONPATH=str(Path(structurer.__file__).resolve().parent.parent))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env=env, check=False)
    assert 'InputError: the local pool\'s worker processes died before any task came back' in run.stdout
    assert 'if __name__ == "__main__":' in run.stdout


def test_the_grid_benchmark_runs() -> None:
    # benchmarks/bench_grid.py end to end on a small grid: it prints its figures (not asserted).
    import subprocess

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_grid.py"
    if not script.exists():
        pytest.skip("the benchmarks are not shipped with an installed package")
    run = subprocess.run([sys.executable, str(script), "--deals", "3", "--scenarios", "20", "--repeat", "1",
                          "--no-dask"], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    for line in ("local pool, 1 worker", "local pool, 2 workers", "speed-up, 2 workers over 1",
                 "warm pool, 2 workers"):
        assert line in run.stdout, run.stdout
