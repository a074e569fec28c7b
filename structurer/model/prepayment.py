"""Prepayment assumptions (PSA, CPR, SMM; constant, ramp, vector) and their SMM arrays.

Conventions (SIFMA Uniform Practices, chapter SF):
- PSA: CPR = min(PSA/100 x 0.2% x min(AGE, 30), 100%), AGE the loan-age month of the
  payment being projected (a pool aged 3 months projects its first month at AGE 4).
- SMM = 1 - (1 - CPR)^(1/12).
- A ramp starts at its first speed in projection month 1 and moves in equal monthly steps,
  reaching its last speed in month (months + 1); it stays flat after.
- A vector gives one speed per projection month; its last speed holds for the rest.
Speeds in PSA units in a ramp or vector are turned into CPR on each pool's own loan age.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from itertools import chain

import numpy as np

from ..errors import InputError

UNITS = ("PSA", "CPR", "SMM")


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Prepayment:
    """One prepayment assumption: speeds per projection month in one unit."""

    unit: str
    kind: str  # "constant" | "ramp" | "vector"
    values: tuple[float, ...]
    months: int = 0
    name: str | None = field(default=None, compare=False)

    def named(self, name: str) -> Prepayment:
        """The same speeds under a scenario name ("burnout"), which then labels its results."""
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
            # A label is printed to terminals and written to workbooks, where these are illegal.
            raise InputError(f"the scenario name {name!r} holds a control character")
        return replace(self, name=name)

    @classmethod
    def constant(cls, value: float, unit: str) -> Prepayment:
        return cls(unit, "constant", (float(value),))

    @classmethod
    def ramp(cls, start: float, end: float, months: int, unit: str) -> Prepayment:
        return cls(unit, "ramp", (float(start), float(end)), int(months))

    @classmethod
    def vector(cls, values: list[float] | tuple[float, ...], unit: str) -> Prepayment:
        return cls(unit, "vector", tuple(float(v) for v in values))

    @property
    def label(self) -> str:
        """The scenario's name if it has one, else its speeds ("165 PSA")."""
        return self.name or self.description

    @property
    def description(self) -> str:
        if self.kind == "constant":
            return f"{_fmt(self.values[0])} {self.unit}"
        if self.kind == "ramp":
            start, end = self.values
            return f"{_fmt(start)} {self.unit} ramp to {_fmt(end)} {self.unit} over {self.months} months"
        shown = ", ".join(_fmt(v) for v in self.values)
        return f"vector({shown} {self.unit})"

    @staticmethod
    def labels(prepayments: list[Prepayment]) -> list[str]:
        """Each one's label, as `label` gives it (a constant speed's written here at once: a
        grid's 10,000 labels in a third of the time)."""
        return [f"{p.values[0]:g} {p.unit}" if p.kind == "constant" and not p.name else p.label
                for p in prepayments]

    def path(self, periods: int) -> np.ndarray:
        """Speed in this assumption's unit for projection months 1..periods."""
        if self.kind == "constant":
            return np.full(periods, self.values[0])
        t = np.arange(periods, dtype=float)
        if self.kind == "ramp":
            start, end = self.values
            steps = np.minimum(t, self.months) / max(self.months, 1)
            return start + (end - start) * steps
        values = np.asarray(self.values, dtype=float)
        idx = np.minimum(np.arange(periods), len(values) - 1)
        return values[idx]


# The one parser of speeds written as text: the API ("165 PSA"), --psa/--cpr/--smm lists, solve's
# --psa/--at and PAC bands. The deal file's speeds are lexed by the grammar and checked by
# validate_speed, so every route accepts and refuses the same speeds in the same words.
_SPEED_RE = re.compile(r"^\s*((?:[0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?)\s*(PSA|CPR|SMM)?\s*$",
                       re.IGNORECASE)
_NOT_FINITE = re.compile(r"^\s*[+-]?(nan|inf|infinity)\s*(PSA|CPR|SMM)?\s*$", re.IGNORECASE)

# PSA has no natural ceiling: by the standard, a PSA speed whose CPR would pass 100% is 100 CPR
# (from month 30, any speed above about 1,667 PSA). Speeds up to MAX_PSA are accepted and capped
# that way; a larger one is a typo (often a list written without spaces: "100,200").
MAX_PSA = 100_000.0


def parse_speed(text: str | Prepayment, unit: str | None = None) -> Prepayment:
    """'165 PSA', '6 CPR', '0.5 SMM' -> a constant Prepayment; a bare number takes `unit` (the
    CLI's --psa 165). Raises InputError with the reason (not a number, not finite, out of range)."""
    if isinstance(text, Prepayment):
        return text
    match = _SPEED_RE.match(str(text))
    if not match or not (match.group(2) or unit):
        if _NOT_FINITE.match(str(text)):
            raise InputError(f"'{text}' is not a prepayment speed: a speed is a finite number, like 165 PSA")
        raise InputError(f"'{text}' is not a prepayment speed; write it like '165 PSA' or '6 CPR'")
    value, unit = float(match.group(1).replace("_", "")), (match.group(2) or unit or "").upper()
    validate_speed(value, unit)
    return Prepayment.constant(value, unit)


def checked_speed(value: float, unit: str = "PSA") -> Prepayment:
    """A constant speed given as a number (the API's 165 for 165 PSA), validated as text would be."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"'{value}' is not a prepayment speed; write it like 165 or '165 PSA'") from None
    validate_speed(number, unit)
    return Prepayment.constant(number, unit)


def validate_assumption(prepayment: Prepayment) -> Prepayment:
    """Every speed of a constant, ramp or vector assumption validated (for objects the API is given)."""
    for value in prepayment.values:
        validate_speed(value, prepayment.unit)
    return prepayment


@dataclass(frozen=True)
class ConstantGrid:
    """A grid of constant speeds read once, validated: each assumption's speed [scenario] and the
    units (one for all, or one per speed), as the SMM takes them (engine/prepayment.py); the
    smallest and largest speed."""

    speed: np.ndarray
    units: str | list[str]
    low: float
    high: float

    def __getitem__(self, i: slice) -> ConstantGrid:
        """A chunk of the grid (its bounds still bound it)."""
        return ConstantGrid(self.speed[i], self.units if isinstance(self.units, str) else self.units[i],
                            self.low, self.high)

    def labels(self) -> list[str]:
        """`Prepayment.labels` of these speeds when `plain_labels` says their labels are their
        speeds in words ("165 PSA"), from the speeds: formatted in one
        %-format of them all ('%g' is format's 'g'), ~40% faster than one call each."""
        n = len(self.speed)
        if isinstance(self.units, str):
            text = ("%g " + self.units + "\0") * n % tuple(self.speed.tolist())
        else:
            pairs = zip(self.speed.tolist(), self.units, strict=True)
            text = "%g %s\0" * n % tuple(chain.from_iterable(pairs))
        return text.split("\0")[:-1]


def constant_grid(prepayments: list[Prepayment]) -> ConstantGrid | None:
    """The speeds of a grid of constant assumptions (one speed each) when every one passes
    validate_speed, checked as arrays, each object read once; None otherwise (another kind, or
    a speed that fails: all_valid, or one-by-one validation, then says which)."""
    if {p.kind for p in prepayments} != {"constant"}:
        return None
    units = [p.unit for p in prepayments]
    unit_set = set(units)
    if not unit_set <= _UNIT_SET:
        return None
    try:
        first = [v for p in prepayments for (v,) in (p.values,)]  # (exactly one speed each, else ValueError)
    except (TypeError, ValueError):
        return None
    speed = np.array(first)
    if speed.dtype.kind not in "fiu":
        return None  # (not numbers: validate_speed says what they are)
    speed = speed.astype(float, copy=False)
    # validate_speed's tests (finite, not negative, at most 100 CPR or SMM and MAX_PSA PSA) on
    # the extremes: a NaN makes both fail.
    low, high = float(speed.min()), float(speed.max())
    if not low >= 0.0:
        return None
    one = units[0] if len(unit_set) == 1 else None
    if high > 100.0:
        if one is not None:
            if not (one == "PSA" and high <= MAX_PSA):
                return None
        elif not (speed <= np.where(np.array(units) == "PSA", MAX_PSA, 100.0)).all():
            return None
    return ConstantGrid(speed, one if one is not None else units, low, high)


def plain_labels(prepayments: list[Prepayment]) -> bool:
    """Whether constant speeds' labels are their speeds in words, as ConstantGrid.labels writes
    them: no assumption is named, every speed a float or an int (formatted as that float)."""
    return not any({p.name for p in prepayments}) and {type(p.values[0]) for p in prepayments} <= {float, int}


def all_valid(prepayments: list[Prepayment]) -> bool:
    """Whether every speed of every assumption passes validate_speed, checked as arrays (a grid
    of 1,000 speeds in ~0.1 ms, not one call per speed). False tells the caller to validate one
    by one, which raises the first bad speed's own message."""
    try:
        if not {p.unit for p in prepayments} <= _UNIT_SET:
            return False
        values = [p.values for p in prepayments]
        flat = np.array(list(chain.from_iterable(values)))
    except (TypeError, ValueError):
        return False
    if flat.dtype.kind not in "fiu":
        return False  # (not numbers: validate_speed says what they are)
    # validate_speed's tests: finite, not negative, at most 100 CPR or SMM and MAX_PSA PSA
    if not (np.isfinite(flat).all() and (flat >= 0).all()):
        return False
    if flat.max(initial=0.0) <= 100.0:
        return True  # (within every unit's limit)
    limit = np.repeat([MAX_PSA if p.unit == "PSA" else 100.0 for p in prepayments], list(map(len, values)))
    return bool((flat <= limit).all())


_UNIT_SET = frozenset(UNITS)


def parse_speeds(text: str, unit: str | None = None) -> list[Prepayment]:
    """A comma-separated list of speeds: '0,100,165' with unit 'PSA', '90 PSA, 6 CPR', or, as in a
    deal's decrement list, bare numbers before a unit taking that unit ('0, 100, 165 PSA')."""
    items = str(text).split(",")
    if not all(item.strip() for item in items):
        raise InputError(f"'{text}' has an empty speed; separate speeds with commas: 0,100,165")
    out: list[Prepayment] = []
    trailing = unit
    for item in reversed(items):
        match = _SPEED_RE.match(item)
        if match and match.group(2):
            trailing = match.group(2)
        out.append(parse_speed(item, trailing))
    return out[::-1]


def validate_speed(value: float, unit: str) -> None:
    """Raise InputError for a speed no pool can prepay at."""
    if unit not in UNITS:
        raise InputError(f"'{unit}' is not a prepayment unit; write PSA, CPR or SMM")
    if not math.isfinite(value):
        raise InputError(f"'{value} {unit}' is not a prepayment speed: the speed must be a finite number")
    if value < 0:
        raise InputError(f"a prepayment speed cannot be negative ({_fmt(value)} {unit})")
    if unit in ("CPR", "SMM") and value > 100:
        raise InputError(f"{_fmt(value)} {unit} is more than 100%")
    if unit == "PSA" and value > MAX_PSA:
        raise InputError(f"{_fmt(value)} PSA is not a plausible speed (at most {MAX_PSA:,.0f} PSA; "
                         "every speed above about 1,667 PSA is already 100 CPR from month 30)")
