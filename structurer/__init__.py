"""structurer: a language and engine for structuring CMO/REMIC deals.

    import structurer
    deal = structurer.load("deals/sequential.waterfall")
    results = deal.run("100 PSA", "165 PSA")
    results.summary("165 PSA")
"""

from __future__ import annotations

from pathlib import Path

from .check import check
from .errors import DealError, DealErrors, InputError, StructurerError
from .language.parser import parse
from .model.deal import Deal
from .model.prepayment import Prepayment
from .results.results import Results

__all__ = [
    "Deal",
    "DealError",
    "DealErrors",
    "InputError",
    "Prepayment",
    "Results",
    "StructurerError",
    "load",
    "loads",
]
__version__ = "0.1.0"


def loads(source: str, path: str | None = None) -> Deal:
    """Parse and check deal text; raise DealError/DealErrors pointing into the text if it is bad."""
    return check(parse(source, path))


def load(path: str | Path) -> Deal:
    """Read, parse and check a deal file."""
    p = Path(path)
    try:
        source = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no deal file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the deal file {p}: {exc}") from None
    return loads(source, str(path))
