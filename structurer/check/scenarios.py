"""Pass: the scenarios block (the pricing speed, decrement speeds, named scenarios, their default
assumptions: check/credit.py) and the prepayment speeds written anywhere in the deal (constant,
ramp, vector).
"""

from __future__ import annotations

from ..language.nodes import ConstantSpeed, Quantity, Speed
from ..model.prepayment import UNITS, Prepayment
from ..model.scenarios import Scenario
from .context import Checker
from .credit import default_assumption
from .indices import index_settings
from .shapes import Words, shaped_rate


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


SPEED_WORDS = Words("speed", "a vector needs its unit after the last speed", "vector(6, 8, 10 CPR)",
                    frozenset(UNITS))


def speed(checker: Checker, spec: Speed) -> Prepayment | None:
    return shaped_rate(checker, spec, checker.speed, Prepayment, SPEED_WORDS)


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

