"""Building a large deal makes millions of small objects and no reference cycles; the cycle
collector would only re-scan them, over and over (it doubled the parse of a 16,000-class deal
and made checking grow faster than the class count). Parsing and checking pause it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the block (restored as it was, even on an error)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
