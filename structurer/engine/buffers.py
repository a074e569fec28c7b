"""Output buffers reused from one run to the next.

A run's outputs ([class, scenario, period] and the like) are large. Allocated fresh, each run's
arrays come from new pages that the operating system must map and zero on first touch, which
on a virtual machine costs more than the kernel computing into them. The pool keeps the memory
of outputs no one references any more and hands it out again.

How it knows memory is free: each hand-out is cut from a fresh numpy array over the block's
memory (the lease); numpy makes every view, slice or transpose of it refer to the lease itself,
so the lease lives exactly as long as anything can still read that memory. When it dies, a
finalizer gives the block back. Memory still viewed by a live array (a Results, a slice of one)
is therefore never handed out again; Results that die in reference cycles give their blocks
back when the cycle collector frees them.

Bounded: free blocks are kept up to a cap in bytes (`STRUCTURER_BUFFER_POOL_MB`; by default
the smaller of 4 GiB and a quarter of the machine's memory; 0 turns the pool off), the oldest
released beyond it. An array above the cap has a mapping of its own, unmapped when it dies.
Small arrays (under `SMALLEST` bytes) are not pooled: malloc reuses them.
A block serves a request of at least half its size, so a large block is not spent on a small
array.

Reused memory is dirty: `empty` is for arrays whose every element the caller writes, `zeros`
for arrays that must read zero except in the leading-axis rows the caller says it writes in
full. The rest is read first and cleared only where it is not zero already: a page no one has
written (a residual's principal row, which the kernel never writes) reads zero without memory
behind it, as in a fresh np.zeros, and writing zeros to it would fault it in and keep it.
"""

from __future__ import annotations

import collections
import math
import mmap
import os
import threading
import weakref

import numpy as np

ENV = "STRUCTURER_BUFFER_POOL_MB"
SMALLEST = 256 * 1024  # bytes: smaller arrays are plain numpy allocations
_PAGE = mmap.PAGESIZE
_CHUNK = 64 * 1024  # bytes: what must read zero is checked, and cleared, in chunks of this size


def default_cap() -> int:
    """The pool's cap in bytes: `STRUCTURER_BUFFER_POOL_MB` if set to a number (0: no pool),
    else the smaller of 4 GiB and a quarter of the machine's memory (a full run at 100,000
    scenarios of a four-class deal keeps 2.9 GB of outputs: its memory is reused too)."""
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return max(0, int(float(text) * 2**20))
        except ValueError:
            pass  # not a number: the default (an environment variable is no place for a traceback)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 4 * 2**30
    return int(min(4 * 2**30, ram // 4))


def _block_size(nbytes: int) -> int:
    """A new block's size: the request rounded up to a quarter octave (m x 2^k, m = 4..7) and a
    whole page, so requests of nearby sizes (a solver's rounds) share blocks; the pages past the
    request cost address space only until a larger request touches them."""
    k = max(nbytes.bit_length() - 3, 0)
    m = -(-nbytes // (1 << k))
    return -(-(m << k) // _PAGE) * _PAGE


def _lift_malloc_threshold() -> None:
    """Free one 31 MiB array through malloc, as freeing any large numpy array would.

    glibc maps an allocation above its threshold (128 kB at start) on its own, fresh pages each
    time, and raises the threshold (to at most 32 MiB) when such a mapping is freed; that is how,
    without the pool, the medium-sized temporaries of the analytics after a run (a [class,
    scenario] row per period, a mask) came to be served from reused heap memory. With the
    run's large arrays in the pool, nothing large is freed through malloc any more, so this
    frees one (untouched: no page is faulted in)."""
    np.empty(31 * 2**20, dtype=np.uint8)  # (the chunk must stay under the 32 MiB limit)


class _Block:
    """One anonymous memory mapping, zero when new. No transparent huge pages are asked for
    (numpy asks for them on large arrays): where memory is fragmented the kernel compacts it on
    each huge-page fault, which made a first run at 10,000 scenarios 3-4x slower than on small
    pages here; later runs fault nothing either way."""

    __slots__ = ("memory", "size")

    def __init__(self, size: int):
        flags = getattr(mmap, "MAP_PRIVATE", None)
        if flags is not None:
            anonymous = getattr(mmap, "MAP_ANONYMOUS", getattr(mmap, "MAP_ANON", 0))
            self.memory = mmap.mmap(-1, size, flags=flags | anonymous)
        else:  # Windows: an anonymous mapping has no flags
            self.memory = mmap.mmap(-1, size)
        self.size = size


class BufferPool:
    """Arrays backed by memory that earlier runs used and no one references any more (see the
    module's docstring). Thread-safe.

    `poison`, for tests: a value every buffer handed out (pooled or not) is filled with before
    the rows it must zero are zeroed, so that a caller reading an element it did not write
    sees it."""

    def __init__(self, cap: int | None = None, smallest: int = SMALLEST):
        self.cap = default_cap() if cap is None else int(cap)
        self.smallest = smallest
        self.poison: float | None = None
        self._lock = threading.Lock()
        self._free: list[_Block] = []  # oldest first
        self._free_bytes = 0
        self._back: collections.deque[_Block] = collections.deque()  # given back, not yet filed
        self.allocated = 0  # blocks created (for tests and benchmarks)
        self.reused = 0  # hand-outs of a block used before
        self._malloc_lifted = False

    @property
    def retained(self) -> int:
        """Bytes of free blocks the pool keeps."""
        self._tidy()
        return self._free_bytes

    def empty(self, shape: tuple[int, ...], dtype: type | np.dtype = np.float64) -> np.ndarray:
        """An array whose every element the caller writes (its contents are undefined)."""
        if self._plain(shape, dtype):
            return np.empty(shape, dtype)
        return self._take(tuple(map(int, shape)), np.dtype(dtype), None, False)

    def zeros(self, shape: tuple[int, ...], dtype: type | np.dtype = np.float64,
              written: np.ndarray | None = None) -> np.ndarray:
        """An array that reads zero, except the rows the caller writes in full: `written`, a
        boolean mask over the leading axes (None: none)."""
        if self._plain(shape, dtype):
            return np.zeros(shape, dtype)
        return self._take(tuple(map(int, shape)), np.dtype(dtype),
                          None if written is None else np.asarray(written, dtype=np.bool_), True)

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread of the parent may have held this one
        when it forked, and no one would release it in the child)."""
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Release every free block (blocks in use are unaffected)."""
        self._tidy()
        with self._lock:
            self._free.clear()
            self._free_bytes = 0

    # ---- inside

    def _plain(self, shape: tuple[int, ...], dtype: type | np.dtype) -> bool:
        """A plain numpy allocation will do: a small array (a one-scenario run's, a few
        microseconds cheaper this way), unless poisoning for a test."""
        return self.poison is None and math.prod(shape) * np.dtype(dtype).itemsize < self.smallest

    def _take(self, shape: tuple[int, ...], dtype: np.dtype, written: np.ndarray | None,
              zero: bool) -> np.ndarray:
        nbytes = math.prod(shape) * dtype.itemsize
        if not max(self.smallest, 1) <= nbytes <= self.cap:
            if self.cap > 0 and nbytes > self.cap:
                # Above the cap: a mapping of its own (zero when new), never kept (unmapped with
                # its last view), for the same reason as a pooled block's: no huge pages. Numpy
                # asks for them on large arrays, and a first full run at 100,000 scenarios (1.4 GB
                # arrays) took 3-4x as long.
                block = _Block(-(-nbytes // _PAGE) * _PAGE)
                out = np.frombuffer(block.memory, dtype=np.uint8)[:nbytes].view(dtype).reshape(shape)
            else:
                out = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
            if self.poison is not None and nbytes:
                self._poison(out)
                if zero:
                    self._zero_plain(out, written)
            return out
        block, fresh = self._block(nbytes)
        lease = np.frombuffer(block.memory, dtype=np.uint8)
        out = lease[:nbytes].view(dtype).reshape(shape)
        fin = weakref.finalize(lease, self._give_back, block)
        fin.atexit = False
        if self.poison is not None:
            self._poison(out)
            fresh = False  # no longer zero
        if zero and not fresh:
            self._zero(lease, out, written)
        return out

    def _block(self, nbytes: int) -> tuple[_Block, bool]:
        """A free block of nbytes to twice that (the smallest), or a new one; and whether new."""
        self._tidy()
        with self._lock:
            best = -1
            for i, b in enumerate(self._free):
                if nbytes <= b.size <= 2 * nbytes and (best < 0 or b.size < self._free[best].size):
                    best = i
            if best >= 0:
                block = self._free.pop(best)
                self._free_bytes -= block.size
                self.reused += 1
                return block, False
            self.allocated += 1
            lift = not self._malloc_lifted
            self._malloc_lifted = True
        if lift:
            _lift_malloc_threshold()
        return _Block(_block_size(nbytes)), True

    def _give_back(self, block: _Block) -> None:
        # A finalizer: it may run in any thread, inside the collector, even while this thread
        # holds the lock; so it only queues the block, and files it if the lock is free.
        self._back.append(block)
        self._tidy()

    def _tidy(self) -> None:
        """File the blocks given back, and release the oldest free ones beyond the cap. Whoever
        releases the lock looks at the queue again, so no block waits for the next call."""
        while self._back:
            if not self._lock.acquire(blocking=False):
                return
            try:
                while self._back:
                    block = self._back.popleft()
                    self._free.append(block)
                    self._free_bytes += block.size
                while self._free_bytes > self.cap and self._free:
                    self._free_bytes -= self._free.pop(0).size
            finally:
                self._lock.release()

    def _poison(self, out: np.ndarray) -> None:
        out.fill(True if out.dtype == np.bool_ else self.poison)

    def _zero(self, lease: np.ndarray, out: np.ndarray, written: np.ndarray | None) -> None:
        """Zero the rows of `out` outside `written` (contiguous runs of rows at once)."""
        if written is None:
            _clear(lease[:out.nbytes])
            return
        rows = written.reshape(-1)
        row_bytes = out.nbytes // max(rows.size, 1)
        r = 0
        while r < rows.size:
            if rows[r]:
                r += 1
                continue
            s = r
            while r < rows.size and not rows[r]:
                r += 1
            _clear(lease[s * row_bytes:r * row_bytes], (s * row_bytes) % 8 == 0)

    @staticmethod
    def _zero_plain(out: np.ndarray, written: np.ndarray | None) -> None:
        if written is None:
            out.fill(0)
        else:
            out[~written] = 0


def _clear(region: np.ndarray, aligned: bool = True) -> None:
    """Make the bytes of `region` (uint8) read zero, writing only the chunks that do not: reading
    a page no one wrote maps the system's zero page (no memory), writing it would take a page.
    The check reads each chunk as whole words, 0.01-0.02 ns a byte on zero pages here: all of
    them at once first (the usual case: clean, one reduction), chunk by chunk when not.
    `aligned`: the region starts on a word (it does at a whole row of a lease, which starts on a
    page)."""
    full = region.size // _CHUNK * _CHUNK if aligned else 0
    if full:
        words = region[:full].view(np.uint64)
        if words.max() != 0:
            dirty = words.reshape(-1, _CHUNK // 8).max(axis=1) != 0
            edges = np.flatnonzero(np.diff(np.concatenate(([0], dirty.view(np.int8), [0]))))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                region[a * _CHUNK:b * _CHUNK] = 0
    tail = region[full:]
    if tail.size and tail.any():
        tail[:] = 0


POOL = BufferPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL.after_fork)


def empty(shape: tuple[int, ...], dtype: type | np.dtype = np.float64) -> np.ndarray:
    """`BufferPool.empty` of the process's pool."""
    return POOL.empty(shape, dtype)


def zeros(shape: tuple[int, ...], dtype: type | np.dtype = np.float64,
          written: np.ndarray | None = None) -> np.ndarray:
    """`BufferPool.zeros` of the process's pool."""
    return POOL.zeros(shape, dtype, written)
