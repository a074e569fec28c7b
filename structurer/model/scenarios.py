"""Scenarios: a prepayment assumption plus the index rates floaters reset on.

An index path is a level, a vector by period (last value held) or a curve of (period, rate)
points, linear between points and flat beyond them. Rates are decimals (4.3% -> 0.043).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from ..errors import InputError
from .defaults import DefaultAssumption
from .prepayment import ConstantGrid, Prepayment, plain_labels


def _pct(rate: float) -> str:
    return f"{rate * 100:.4g}%"


@dataclass(frozen=True)
class RatePath:
    """An index rate for each projection period."""

    kind: str  # "level" | "vector" | "curve"
    rates: tuple[float, ...]
    periods: tuple[int, ...] = ()

    @classmethod
    def level(cls, rate: float) -> RatePath:
        return cls("level", (float(rate),))

    @property
    def description(self) -> str:
        if self.kind == "level":
            return _pct(self.rates[0])
        if self.kind == "vector":
            return "vector(" + ", ".join(_pct(r) for r in self.rates) + ")"
        points = ", ".join(f"{p}: {_pct(r)}" for p, r in zip(self.periods, self.rates, strict=True))
        return f"curve({points})"

    def path(self, periods: int) -> np.ndarray:
        """The rate (decimal) of projection periods 1..periods."""
        if self.kind == "level":
            return np.full(periods, self.rates[0])
        if self.kind == "vector":
            values = np.asarray(self.rates)
            return values[np.minimum(np.arange(periods), len(values) - 1)]
        return np.interp(np.arange(1, periods + 1), self.periods, self.rates)


@dataclass(frozen=True)
class Scenario:
    """What one column of results assumes: a prepayment speed, index rate overrides and, for a
    credit scenario, a default assumption (None: no loan defaults)."""

    prepayment: Prepayment
    indices: tuple[tuple[str, RatePath], ...] = field(default=())
    name: str | None = None
    defaults: DefaultAssumption | None = None

    @property
    def has_losses(self) -> bool:
        """Whether loans may default with a loss: a nonzero rate and a nonzero severity."""
        d = self.defaults
        return d is not None and not d.rate.is_zero and any(v > 0 for v in d.severity.values)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        text = self.prepayment.label
        if self.defaults is not None:
            text += f" {self.defaults.description}"
        for index, path in self.indices:
            text += f", {index} {path.description}"
        return text

    @property
    def description(self) -> str:
        """The assumptions in words, whatever the name."""
        text = self.prepayment.description
        if self.defaults is not None:
            text += f", {self.defaults.description}"
        for index, path in self.indices:
            text += f", {index} {path.description}"
        return text

    def index_paths(self, defaults: dict[str, RatePath], names: list[str], periods: int) -> np.ndarray:
        """Rates [index, period] for the indices `names`: this scenario's, else the defaults."""
        own = dict(self.indices)
        out = np.zeros((len(names), periods))
        for i, name in enumerate(names):
            path = own.get(name) or defaults.get(name)
            if path is None:
                raise InputError(f"no rate is given for index {name}: set it in the deal's scenarios "
                                 "block or in the scenario")
            out[i] = path.path(periods)
        return out


class SpeedScenarios(Sequence[Scenario]):
    """Scenarios that are prepayment speeds alone (no index paths, no default assumption), each
    `Scenario(prepayment)` made only when asked for: a grid of 10,000 speeds then makes no
    10,000 objects per run (making them, and the cycle collector's passes over them, cost
    ~1.5 ms per 1,000 scenarios). Reads as the list of those Scenarios. `grid`: the speeds as
    arrays when every one is a constant speed (model/prepayment.py `constant_grid`), read while
    validating them, so that the SMM reads no object again."""

    __slots__ = ("grid", "prepayments")
    __hash__ = None  # type: ignore[assignment]  # (compared by value, as a list is)

    def __init__(self, prepayments: list[Prepayment], grid: ConstantGrid | None = None):
        self.prepayments = prepayments
        self.grid = grid

    def __len__(self) -> int:
        return len(self.prepayments)

    @overload
    def __getitem__(self, i: int) -> Scenario: ...

    @overload
    def __getitem__(self, i: slice) -> SpeedScenarios: ...

    def __getitem__(self, i: int | slice) -> Scenario | SpeedScenarios:
        if isinstance(i, slice):
            return SpeedScenarios(self.prepayments[i], None if self.grid is None else self.grid[i])
        return Scenario(self.prepayments[i])

    def __iter__(self) -> Iterator[Scenario]:
        return map(Scenario, self.prepayments)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpeedScenarios):
            return self.prepayments == other.prepayments
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"SpeedScenarios({self.prepayments!r})"


def prepayments_of(scenarios: Sequence[Scenario]) -> list[Prepayment]:
    """Each scenario's prepayment assumption (a SpeedScenarios' own list, no Scenario made)."""
    if isinstance(scenarios, SpeedScenarios):
        return scenarios.prepayments
    return [s.prepayment for s in scenarios]


def constant_grid_of(scenarios: Sequence[Scenario]) -> ConstantGrid | None:
    """The scenarios' constant speeds as arrays, when they are a SpeedScenarios that has them."""
    return scenarios.grid if isinstance(scenarios, SpeedScenarios) else None


def labels_of(scenarios: Sequence[Scenario]) -> list[str]:
    """Each scenario's label (a speed's alone is its prepayment's: no Scenario made for it)."""
    if isinstance(scenarios, SpeedScenarios):
        grid = scenarios.grid
        if grid is not None and plain_labels(scenarios.prepayments):
            return grid.labels()  # (the same words, without reading each object again)
        return Prepayment.labels(scenarios.prepayments)
    return [s.label for s in scenarios]


def indices_named(scenarios: Sequence[Scenario]) -> Iterator[str]:
    """The index names the scenarios give rates for (speeds alone give none: no Scenario made)."""
    if isinstance(scenarios, SpeedScenarios):
        return iter(())
    return (i for s in scenarios for i, _ in s.indices)


def at_defaults(scenarios: Sequence[Scenario], assumptions: Sequence[DefaultAssumption]) -> list[Scenario]:
    """Every scenario at every default assumption, speed-major (a PSA x SDA grid is one run): each
    named scenario's name followed by the assumption's label."""
    return [Scenario(s.prepayment, s.indices, name=f"{s.name}, {d.label}" if s.name else None, defaults=d)
            for s in scenarios for d in assumptions]


def check_indices(deal_name: str, index_names: Sequence[str], asked: Iterable[str]) -> None:
    """Raise the one InputError for index rates given for an index no class of the deal follows."""
    unknown = sorted(set(asked) - set(index_names))
    if unknown:
        floats = ", ".join(index_names) or "no index"
        raise InputError(f"no class of deal \"{deal_name}\" floats on {', '.join(unknown)} "
                         f"(they follow {floats})")


def with_index_levels(scenarios: Sequence[Scenario], index: str,
                      levels: Sequence[RatePath]) -> list[Scenario]:
    """Every scenario at every level of `index` (scenario-major: each scenario's levels together),
    the level replacing whatever the scenario said of that index. Other indices are kept."""
    return [
        Scenario(s.prepayment, tuple((k, v) for k, v in s.indices if k != index) + ((index, level),),
                 defaults=s.defaults)
        for s in scenarios for level in levels
    ]
