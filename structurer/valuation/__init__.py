"""Valuation: price, yield, duration and spreads of a class's cash flows (SIFMA conventions).

The public calls, importable from here (`from structurer import valuation`):
`valuation.quote`, `quote_classes`, `price_yield_table`, `index_yield_table`, `average_life`
(from `quotes`), `parse_price`, `format_32nds` (from `yields`), the floating-rate measures
`floating_measures`, `price_from_margin`, `bullet_floater`, `index_bey` (from `floating`), total
return `horizon_return` (from `horizon`) and the curves `make_curve`,
`read_curve_csv` (from `structurer.model.curve`). Loaded on first use, so importing the package
costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "quote": "quotes", "quote_classes": "quotes", "price_yield_table": "quotes",
    "price_yield_frames": "quotes", "index_yield_table": "quotes", "average_life": "quotes",
    "accrued_interest": "quotes",
    "Quote": "quotes",
    "floating_measures": "floating", "price_from_margin": "floating", "bullet_floater": "floating",
    "index_bey": "floating", "FloatingMeasures": "floating",
    "horizon_return": "horizon", "HorizonResult": "horizon",
    "parse_price": "yields", "format_32nds": "yields", "yield_from_price": "yields",
    "make_curve": "..model.curve", "read_curve_csv": "..model.curve", "Curve": "..model.curve",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    where = _PUBLIC.get(name)
    if where is None:
        raise AttributeError(f"module 'structurer.valuation' has no attribute {name!r}")
    module = import_module(where if where.startswith("..") else "." + where, __name__)
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
