"""Pass: the scenarios block (the pricing speed, decrement speeds, named scenarios, their default
assumptions: check/credit.py) and the prepayment speeds written anywhere in the deal (constant,
ramp, vector).
"""

from __future__ import annotations

from typing import cast

from ..language.nodes import ConstantSpeed, Quantity, RampSpeed, Speed, VectorSpeed
from ..model.prepayment import UNITS, Prepayment
from ..model.scenarios import Scenario
from .context import Checker
from .credit import default_assumption
from .indices import index_settings


def check_scenarios(ck: Checker) -> None:
    sc = ck.file.scenarios
    if sc is None:
        return
    known = ck.known_indices
    if sc.pricing is not None:
        got = speed(ck, sc.pricing)
        overrides = index_settings(ck, sc.pricing_indices, known)
        defaults = default_assumption(ck, sc.pricing_defaults) if sc.pricing_defaults else None
        if got is not None:
            ck.pricing = Scenario(got, tuple(overrides.items()), defaults=defaults)
    ck.decrement = [p for line in sc.decrement_lines for p in decrement_speeds(ck, line)]
    for name, span, spec in sc.named:
        if name in ck.scenarios:
            ck.error(f"two scenarios are named \"{name}\"", span)
        got = speed(ck, spec)
        overrides = index_settings(ck, sc.named_indices.get(name, []), known)
        written = sc.named_defaults.get(name)
        defaults = default_assumption(ck, written) if written else None
        if got is not None:
            ck.scenarios[name] = Scenario(got, tuple(overrides.items()), name=name, defaults=defaults)


def speed(checker: Checker, spec: Speed) -> Prepayment | None:
    if isinstance(spec, ConstantSpeed):
        got = checker.speed(spec.rate)
        return Prepayment.constant(*got) if got else None
    if isinstance(spec, RampSpeed):
        start, end = checker.speed(spec.start), checker.speed(spec.end)
        months = checker.months(spec.months, "a ramp's length")
        if not (start and end and months is not None):
            return None
        if start[1] != end[1]:
            checker.error("a ramp must start and end in the same unit", spec.span,
                          f"it starts in {start[1]} and ends in {end[1]}")
            return None
        if months < 1:
            checker.error("a ramp lasts at least one month", spec.months.span)
            return None
        return Prepayment.ramp(start[0], end[0], months, start[1])
    spec = cast(VectorSpeed, spec)  # the one kind of speed left
    unit = spec.rates[-1].unit
    if unit not in UNITS:
        checker.error("a vector needs its unit after the last speed", spec.rates[-1].span,
                      "write it like: vector(6, 8, 10 CPR)")
        return None
    got = [checker.speed(q, unit) for q in spec.rates]
    if any(g is None for g in got):
        return None
    units = {g[1] for g in got}  # type: ignore[index]
    if len(units) > 1:
        checker.error("every speed in a vector must be in one unit", spec.span)
        return None
    return Prepayment.vector([g[0] for g in got], unit)  # type: ignore[index]


def decrement_speeds(checker: Checker, specs: list[Speed]) -> list[Prepayment]:
    # A bare number in the list takes the unit written after the list ("0, 100, 165 PSA").
    out: list[Prepayment] = []
    trailing = None
    for spec in reversed(specs):
        if isinstance(spec, ConstantSpeed) and spec.rate.unit is None and trailing is not None:
            spec = ConstantSpeed(Quantity(spec.rate.value, trailing, spec.rate.span, spec.rate.text),
                                 spec.span)
        elif isinstance(spec, ConstantSpeed):
            trailing = spec.rate.unit
        got = speed(checker, spec)
        if got is not None:
            out.append(got)
    return list(reversed(out))

