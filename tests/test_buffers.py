"""The pool of reused output buffers (engine/buffers.py) and the engine's use of it.

Reused memory is dirty: every example deal is run with every buffer poisoned before it is
handed out (NaN, then a huge number), and must give bit for bit what fresh zeroed buffers give.
Memory still viewed by a live array is never handed out again; the cap bounds what is kept.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pytest
from test_golden import regenerate
from test_kernel import COLLATERAL, DEALS, FLOWS, GROUP_FLOWS, SPEEDS

import structurer
from structurer.engine import buffers
from structurer.engine.buffers import BufferPool

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


# ---- the pool itself


def test_memory_no_one_references_is_handed_out_again():
    pool = BufferPool(cap=64 * MB, smallest=0)
    a = pool.empty((100, 50))
    where = address(a)
    del a
    b = pool.empty((100, 50))
    assert address(b) == where and pool.reused == 1


@pytest.mark.parametrize("keep", ["slice", "transpose", "row", "broadcast", "memoryview"])
def test_memory_a_live_view_reads_is_never_handed_out(keep):
    pool = BufferPool(cap=64 * MB, smallest=0)
    a = pool.zeros((4, 100, 30))
    a[...] = 7.0
    views = {"slice": lambda x: x[1:3, 5:], "transpose": lambda x: x.transpose(1, 0, 2),
             "row": lambda x: x[2, 3], "broadcast": lambda x: np.broadcast_to(x[0], (5, 100, 30)),
             "memoryview": lambda x: memoryview(x[1])}
    held = views[keep](a)
    del a
    gc.collect()
    others = [pool.zeros((4, 100, 30)) for _ in range(3)]
    for b in others:
        assert not np.shares_memory(b, np.asarray(held))
        b[...] = -1.0
    assert (np.asarray(held) == 7.0).all()
    assert pool.reused == 0
    del held, others
    gc.collect()
    pool.empty((4, 100, 30))
    assert pool.reused == 1  # once the view is gone, the memory is reused


def test_zeros_reads_zero_except_the_rows_written():
    pool = BufferPool(cap=64 * MB, smallest=0)
    a = pool.zeros((5, 300, 200))  # rows of 480 kB: checked and cleared in chunks
    a[...] = 3.0
    del a
    pool.poison = np.nan
    written = np.array([True, False, True, False, False])
    b = pool.zeros((5, 300, 200), written=written)
    assert pool.reused == 1
    assert (b[~written] == 0.0).all() and np.isnan(b[written]).all()
    del b
    c = pool.zeros((5, 300, 200))
    assert (c == 0.0).all()
    d = pool.zeros((6, 2, 7, 11), written=np.array([[True, False]] * 6))  # rows over two axes
    assert (d[:, 1] == 0.0).all() and np.isnan(d[:, 0]).all()
    e = pool.zeros((3, 5), dtype=np.bool_, written=np.array([False, True, False]))
    assert not e[[0, 2]].any() and e[1].all()


@pytest.mark.parametrize("dtype", [np.float64, np.bool_])
def test_a_few_dirty_elements_anywhere_are_cleared(dtype):
    pool = BufferPool(cap=64 * MB, smallest=0)
    shape = (3, 1000, 37)  # rows of 296 kB: whole chunks and a tail
    spots = [(0, 0, 0), (1, 500, 11), (1, 999, 36), (2, 998, 36), (2, 999, 36), (0, 222, 5)]
    for spot in spots:
        a = pool.zeros(shape, dtype=dtype)
        assert not a.any()
        a[spot] = 1
        if dtype == np.float64:
            a[(spot[0], 0, 1)] = -0.0  # a negative zero reads as zero but is not zero's bits
        del a
    b = pool.zeros(shape, dtype=dtype)
    assert not b.any() and pool.reused == len(spots)
    if dtype == np.float64:
        assert not np.signbit(b).any()


def test_a_large_block_is_not_spent_on_a_small_array():
    pool = BufferPool(cap=64 * MB, smallest=0)
    big = pool.empty((MB,))  # 8 MB
    del big
    small = pool.empty((MB // 4,))
    assert pool.reused == 0 and pool.allocated == 2
    del small
    half = pool.empty((MB * 2 // 3,))  # more than half of the first block: it may take it
    assert pool.reused == 1 and half.shape == (MB * 2 // 3,)


def test_the_cap_bounds_what_is_kept():
    pool = BufferPool(cap=3 * MB, smallest=0)
    held = [pool.empty((MB // 8,)) for _ in range(6)]  # six 1 MB blocks in use: not counted
    assert pool.retained == 0
    del held
    gc.collect()
    assert 0 < pool.retained <= 3 * MB
    assert pool.retained == 3 * MB  # the three newest kept, the rest released
    too_big = pool.empty((MB,))  # above the cap: memory of its own, never kept
    del too_big
    assert pool.retained <= 3 * MB
    pool.clear()
    assert pool.retained == 0


def test_an_array_above_the_cap_has_fresh_memory_of_its_own():
    pool = BufferPool(cap=MB, smallest=0)
    first = pool.empty((MB // 8 * 3,))  # 3 MB
    first[:] = 7.0
    del first
    assert pool.retained == 0 and pool.allocated == 0  # never kept
    big = pool.zeros((3, MB // 8), written=np.array([True, False, False]))
    assert (big[1:] == 0.0).all() and big.flags.writeable and big.flags.c_contiguous
    big[0] = 1.0
    assert (big[0] == 1.0).all() and (big[1:] == 0.0).all()
    assert address(pool.empty((MB // 8 * 3,))) != address(big)  # live memory is its own
    pool.poison = np.nan
    dirty = pool.zeros((3, MB // 8), written=np.array([True, False, True]))
    assert np.isnan(dirty[0]).all() and (dirty[1] == 0.0).all()  # poison where written, zero elsewhere


def test_no_pool_when_the_cap_is_zero(monkeypatch):
    monkeypatch.setenv(buffers.ENV, "0")
    pool = BufferPool(smallest=0)
    assert pool.cap == 0
    a = pool.zeros((1000, 300))
    assert a.base is None and (a == 0.0).all() and pool.allocated == 0
    monkeypatch.delenv(buffers.ENV)
    default = BufferPool().cap
    assert 0 < default <= 4 * 2**30
    monkeypatch.setenv(buffers.ENV, "not a number")
    assert BufferPool().cap == default  # the default, no traceback
    monkeypatch.setenv(buffers.ENV, "12.5")
    assert BufferPool().cap == int(12.5 * MB)


def test_small_arrays_are_plain_numpy():
    pool = BufferPool(cap=64 * MB)
    a = pool.zeros((10, 10))
    assert a.base is None and pool.allocated == 0


def test_a_cycle_gives_its_buffer_back_when_collected():
    pool = BufferPool(cap=64 * MB, smallest=0)

    class Holder:
        pass

    h = Holder()
    h.me = h
    h.data = pool.empty((1000,))
    where = address(h.data)
    del h
    gc.collect()
    assert address(pool.empty((1000,))) == where


def test_threads_never_share_live_memory():
    pool = BufferPool(cap=16 * MB, smallest=0)
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(200):
            a = pool.zeros((50, 40), written=np.array([False] * 25 + [True] * 25))
            if (a[:25] != 0.0).any():
                errors.append("dirty")
            a[...] = k
            b = pool.empty((50, 40))
            b[...] = -k
            if (a != k).any():
                errors.append("overwritten")
            del a, b

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and pool.reused > 0


def test_a_forked_child_gets_a_lock_no_one_holds():
    pool = BufferPool(cap=64 * MB, smallest=0)
    pool._lock.acquire()  # as another thread of the parent may hold it when the process forks
    pool.after_fork()
    a = pool.empty((1000,))
    del a
    assert pool.retained > 0


# ---- the engine on reused, poisoned buffers


@pytest.fixture
def poisoned(monkeypatch):
    """Every buffer the engine takes from the pool (small ones too) filled with `value` first."""
    def use(value: float | None) -> None:
        monkeypatch.setattr(buffers.POOL, "poison", value)
        monkeypatch.setattr(buffers.POOL, "smallest", 0 if value is not None else buffers.SMALLEST)
    return use


def _arrays(results) -> dict[str, np.ndarray]:
    flows, coll = results.flows, results.collateral
    out = {name: np.array(getattr(flows, name)) for name in FLOWS}
    out |= {f"collateral {name}": np.array(getattr(coll, name)) for name in COLLATERAL}
    for name in (*GROUP_FLOWS, "writedown", "unallocated_loss"):
        got = getattr(flows, name, None)
        if got is not None:
            out[name] = np.array(got)
    for name, figure in (flows.enhancement or {}).items():
        out[f"enhancement {name}"] = np.array(figure)
    out["ending principal"] = np.array(flows.ending_principal())
    return out


def _runs(path: Path) -> dict[str, np.ndarray]:
    deal = structurer.load(path)
    out = {f"run {k}": v for k, v in _arrays(deal.run(*SPEEDS, *deal.scenarios)).items()}
    credit = [n for n, s in deal.scenarios.items() if s.defaults is not None]
    if credit:
        out |= {f"credit {k}": v for k, v in _arrays(deal.run(*credit)).items()}
    return out


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_poisoned_buffers_give_what_fresh_ones_give(path, poisoned):
    poisoned(None)
    want = _runs(path)
    golden = regenerate.dumps(regenerate.snapshot(path))  # summaries, tables, the tie-out
    for poison in (np.nan, 7.7e300):
        poisoned(poison)
        got = _runs(path)
        assert got.keys() == want.keys()
        for name, a in want.items():
            assert np.array_equal(got[name], a), f"{path.stem} {name} under poison {poison}"
        assert regenerate.dumps(regenerate.snapshot(path)) == golden, f"{path.stem} under poison {poison}"
    assert buffers.POOL.reused > 0  # (the runs did reuse memory)


def test_a_live_result_keeps_its_memory(poisoned):
    poisoned(np.nan)
    deal = structurer.load(ROOT / "deals" / "pac.waterfall")
    first = deal.run(*SPEEDS)
    kept = first.flows.principal[3, 0]  # one class's principal in one scenario: a view
    copy = kept.copy()
    del first
    gc.collect()
    later = [deal.run(*SPEEDS) for _ in range(3)]
    assert np.array_equal(kept, copy)
    for r in later:
        assert not np.shares_memory(r.flows.principal, kept)
    reused = buffers.POOL.reused
    del kept, later
    gc.collect()
    deal.run(*SPEEDS)
    assert buffers.POOL.reused > reused


def test_runs_at_10000_scenarios_keep_memory_bounded():
    """Runs at 10,000 scenarios, each result dropped: every later run reuses the first one's
    memory, and the pool keeps what one run uses."""
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    speeds = [f"{v:g} PSA" for v in np.linspace(0, 1000, 10_000)]
    one = deal.run(*speeds)
    per_run = sum(a.nbytes for a in (one.flows.principal, one.flows.interest, one.flows.residual_interest,
                                       one.flows.residual_principal))
    del one
    allocated = buffers.POOL.allocated
    for _ in range(10):
        r = deal.run(*speeds)
        del r
    assert buffers.POOL.allocated == allocated  # every later run reused the first one's memory
    assert buffers.POOL.retained <= min(buffers.POOL.cap, 2 * per_run)


def test_the_environment_variable_is_documented():
    for doc in ("docs/guide.md", "README.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        if buffers.ENV in text:
            return
    raise AssertionError(f"{buffers.ENV} is documented nowhere")

