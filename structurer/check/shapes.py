"""A rate written as a constant, a ramp or a vector (`6 CPR`, `6 CPR ramp to 12 CPR over 12
months`, `vector(6, 8, 10 CPR)`), checked the same way for prepayment speeds and default rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from ..language.nodes import ConstantSpeed, Quantity, RampSpeed, VectorSpeed
from .context import Checker

# Reads one quantity (with the unit to assume when it has none): (value, unit), or None after
# reporting what is wrong with it.
Read = Callable[[Quantity, str | None], "tuple[float, str] | None"]


@dataclass(frozen=True)
class Words:
    """What the messages call the rate, and how a vector is written."""

    noun: str                 # "speed", "rate"
    vector_unit: str          # the error when a vector's last entry has no unit
    vector_example: str       # "vector(6, 8, 10 CPR)"
    units: frozenset[str]
    end_takes_start_unit: bool = False  # a ramp's end may leave out the start's unit


def shaped_rate(ck: Checker, spec: object, read: Read, make: Any, words: Words) -> Any:
    """`make.constant`, `make.ramp` or `make.vector` (Prepayment or DefaultRate) of what `spec`
    writes, or None after reporting what is wrong with it at its place."""
    if isinstance(spec, ConstantSpeed):
        got = read(spec.rate, None)
        return make.constant(*got) if got else None
    if isinstance(spec, RampSpeed):
        start = read(spec.start, None)
        end = read(spec.end, spec.start.unit if words.end_takes_start_unit else None)
        months = ck.months(spec.months, "a ramp's length")
        if not (start and end and months is not None):
            return None
        if start[1] != end[1]:
            ck.error("a ramp must start and end in the same unit", spec.span,
                     f"it starts in {start[1]} and ends in {end[1]}")
            return None
        if months < 1:
            ck.error("a ramp lasts at least one month", spec.months.span)
            return None
        return make.ramp(start[0], end[0], months, start[1])
    spec = cast(VectorSpeed, spec)  # the one kind left
    unit = spec.rates[-1].unit
    if unit not in words.units:
        ck.error(words.vector_unit, spec.rates[-1].span, f"write it like: {words.vector_example}")
        return None
    got = [read(q, unit) for q in spec.rates]
    if any(g is None for g in got):
        return None
    if len({g[1] for g in got if g}) > 1:
        ck.error(f"every {words.noun} in a vector must be in one unit", spec.span)
        return None
    return make.vector([g[0] for g in got if g], unit)
