"""Pass: the rate model (`rates hull-white ...` in the analytics block), the prepayment model
and rate shifts (`prepay model OTS ...`, `rates -100 bp, +300 bp` in the scenarios block) and
the classes valued on OAS (`oas A at 100-16`): each problem positioned, in the desk's words."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InputError, Span, did_you_mean
from ..language.nodes import CurveRef, ModelDecl, Quantity
from ..model.prepaymodel import OTS, PrepayModel
from ..model.ratemodel import MAX_PATHS, HullWhite, check_horizon
from ..model.ratespec import DEFAULT_RATE_MODEL, RateSpec
from ..valuation.yields import parse_price
from .context import RATE_UNITS, Checker

RATE_MODELS = ("hull-white",)
PREPAY_MODELS = ("OTS",)
# A shift beyond this is not a rate scenario (rates cannot fall 20 points).
MAX_SHIFT_BP = 2000.0


def check_rates(ck: Checker) -> None:
    analytics = ck.file.analytics
    scenarios = ck.file.scenarios
    model_decl = analytics.rates if analytics is not None else None
    oas_decls = analytics.oas if analytics is not None else []
    prepay_decl = scenarios.prepay_model if scenarios is not None else None
    shifts = scenarios.rate_shifts if scenarios is not None else []
    if model_decl is None and not oas_decls and prepay_decl is None and not shifts:
        return
    model = _rate_model(ck, model_decl) if model_decl is not None else None
    prepay = _prepay_model(ck, prepay_decl) if prepay_decl is not None else None
    shift_bp = tuple(v for v in (_shift(ck, q) for q in shifts if isinstance(q, Quantity)) if v is not None)
    shift_curves = _shift_curves(ck, [q for q in shifts if isinstance(q, CurveRef)])
    prices = _oas_prices(ck, oas_decls)
    curve = ck.analytics.curve
    where = model_decl or (oas_decls[0] if oas_decls else None) or prepay_decl
    span = where.span if where is not None else (scenarios.rate_shifts_span if scenarios else None)
    if curve is None:
        if not (analytics is not None and analytics.curves):  # a curve given but bad is reported already
            ck.error("the rate model needs a curve to be fitted to", span,
                     'add to the analytics block: curve "UST" (1: 4.1%, 2: 4.0%, 10: 4.2%, 30: 4.5%)')
    elif ck.pools:
        periods = max(p.remaining for p in ck.pools)
        try:
            check_horizon(curve, periods)
        except InputError as exc:
            decl = next((c for c in analytics.curves if c.name == curve.name), None) if analytics else None
            ck.error(str(exc), decl.span if decl is not None else span)
    name = prepay_decl.name.upper() if prepay_decl else "OTS"
    spec = RateSpec(model=model, prepay=prepay, prepay_name=name, shifts_bp=shift_bp, oas_prices=prices,
                    shift_curves=shift_curves)
    ck.analytics = dataclasses.replace(ck.analytics, rates=spec)


def _options(ck: Checker, decl: ModelDecl, allowed: tuple[str, ...]) -> dict[str, tuple[Any, Span | None]]:
    seen: dict[str, tuple[Any, Span | None]] = {}
    for word, value, span in decl.options:
        if word in seen:
            ck.error(f"the {word} is given twice", span)
            continue
        if word not in allowed:
            ck.error(f"the {decl.name} model has no {word}", span)
            continue
        seen[word] = (value, span)
    return seen


def _number(ck: Checker, q: Quantity, what: str, units: tuple[str | None, ...] = (None,)) -> float | None:
    if q.unit not in units:
        ck.error(f"{what} is a plain number, not '{q.unit}'", q.span)
        return None
    return q.value


def _rate(ck: Checker, q: Quantity, what: str) -> float | None:
    """A rate with its unit (1%, 100 bp) or a decimal (0.01)."""
    if q.unit is None:
        return q.value
    if q.unit not in RATE_UNITS:
        ck.error(f"{what} is a rate, not '{q.unit}'", q.span, f"write it as {q.value:g}% or in bp")
        return None
    return q.value * RATE_UNITS[q.unit]


def _rate_model(ck: Checker, decl: ModelDecl) -> HullWhite | None:
    if decl.name.lower() not in RATE_MODELS:
        ck.error(f"unknown rate model '{decl.name}'", decl.name_span, "the rate model is hull-white")
        return None
    opts = _options(ck, decl, ("mean reversion", "volatility", "paths", "seed", "antithetic"))
    ok = True
    fields: dict[str, Any] = {}
    default = DEFAULT_RATE_MODEL
    if "mean reversion" in opts:
        q = opts["mean reversion"][0]
        a = _number(ck, q, "mean reversion (per year)")
        if a is not None and a < 0:
            ck.error(f"mean reversion ({q.text}) cannot be negative: it is a speed per year, "
                     "e.g. 0.03", q.span)
            a = None
        ok &= a is not None
        fields["mean_reversion"] = a
    if "volatility" in opts:
        q = opts["volatility"][0]
        v = _rate(ck, q, "the volatility")
        if v is not None and v < 0:
            ck.error(f"the volatility ({q.text}) cannot be negative", q.span,
                     "the absolute volatility of the short rate, e.g. volatility 1% (100 bp a year)")
            v = None
        elif v is not None and v > 0.2:
            ck.error(f"a volatility of {q.text} is beyond any rate market: the short rate's absolute "
                     "volatility is a few percent a year at most", q.span)
            v = None
        ok &= v is not None
        fields["volatility"] = v
    if "paths" in opts:
        q = opts["paths"][0]
        n = _number(ck, q, "the number of paths")
        if n is not None and (n != int(n) or n < 1):
            ck.error(f"the rate model needs a whole number of paths, at least one (got {q.text})",
                     q.span, "e.g. paths 1000")
            n = None
        elif n is not None and n > MAX_PATHS:
            ck.error(f"{int(n):,} paths: at most {MAX_PATHS:,}", q.span)
            n = None
        ok &= n is not None
        fields["paths"] = int(n) if n is not None else None
    if "seed" in opts:
        q = opts["seed"][0]
        s = _number(ck, q, "the seed")
        if s is not None and (s != int(s) or s < 0):
            ck.error(f"the seed is a whole number from 0 (got {q.text})", q.span)
            s = None
        ok &= s is not None
        fields["seed"] = int(s) if s is not None else None
    if "antithetic" in opts:
        fields["antithetic"] = bool(opts["antithetic"][0])
    if not ok:
        return None
    paths, antithetic = fields.get("paths", default.paths), fields.get("antithetic", default.antithetic)
    if antithetic and paths % 2:
        span = opts["paths"][1] if "paths" in opts else decl.span
        ck.error(f"antithetic paths come in pairs: {paths} paths is odd", span,
                 f"ask for {paths + 1} paths, or add: antithetic off")
        return None
    try:
        return dataclasses.replace(default, **fields)
    except InputError as exc:  # the model's own validation, should a case be missed above
        ck.error(str(exc), decl.span)
        return None


def _prepay_model(ck: Checker, decl: ModelDecl) -> PrepayModel | None:
    if decl.name.upper() not in PREPAY_MODELS:
        ck.error(f"unknown prepayment model '{decl.name}'", decl.name_span, "the prepayment model is OTS")
        return None
    opts = _options(ck, decl, ("multiplier", "turnover", "refinancing"))
    model = OTS
    if "multiplier" in opts:
        q = opts["multiplier"][0]
        m = _number(ck, q, "the refinancing multiplier")
        if m is None:
            return None
        if m < 0:
            ck.error(f"the refinancing multiplier ({q.text}) cannot be negative", q.span,
                     "1 is the model as published, 0 switches refinancing off")
            return None
        model = model.scaled(m)
    if "turnover" in opts:
        q = opts["turnover"][0]
        if q.unit not in ("CPR", "%"):
            ck.error("turnover is an annual rate: write it in CPR or %", q.span, "e.g. turnover 6 CPR")
            return None
        t = q.value / 100.0
        if not 0.0 <= t <= 1.0:
            ck.error(f"turnover ({q.text}) is a CPR from 0 to 100", q.span)
            return None
        model = dataclasses.replace(model, turnover=t)
    if "refinancing" in opts:
        model = dataclasses.replace(model, refinancing=bool(opts["refinancing"][0]))
    return model


def _shift(ck: Checker, q: Quantity) -> float | None:
    if q.unit not in ("bp", "%"):
        ck.error(f"a rate shift needs its unit ({q.text})", q.span, "write it in bp: rates -100 bp, +300 bp")
        return None
    bp = q.value * (1.0 if q.unit == "bp" else 100.0)
    if abs(bp) > MAX_SHIFT_BP:
        ck.error(f"a shift of {q.text} is beyond any rate scenario (at most {MAX_SHIFT_BP:g} bp)", q.span)
        return None
    return bp


def _shift_curves(ck: Checker, refs: list[CurveRef]) -> tuple[str, ...]:
    """The analytics block's curves named as rate scenarios (`rates curve "STEEP"`), each once, each
    reaching the deal's last payment."""
    out: list[str] = []
    curves = ck.analytics.curves
    periods = max((p.remaining for p in ck.pools), default=0)
    for ref in refs:
        if ref.name in out:
            ck.error(f'curve "{ref.name}" is named twice as a rate scenario', ref.span)
            continue
        curve = curves.get(ref.name)
        if curve is None:
            known = ", ".join(f'"{n}"' for n in curves) or "none"
            hint = did_you_mean(ref.name, curves) or f'declare it there: curve "{ref.name}" (1: 4%, 30: 4.5%)'
            ck.error(f'no curve "{ref.name}" in the analytics block (its curves: {known})', ref.span, hint)
            continue
        if periods:
            try:
                check_horizon(curve, periods)
            except InputError as exc:
                ck.error(str(exc), ref.span)
                continue
        out.append(ref.name)
    return tuple(out)


def _oas_prices(ck: Checker, decls: list) -> tuple[tuple[str, float], ...]:
    out: dict[str, float] = {}
    for q in decls:
        try:
            value = parse_price(q.value)
        except InputError as exc:
            ck.error(str(exc), q.span)
            continue
        for name, span in q.classes:
            tranche = ck.names.get(name)
            if tranche is None:
                ck.error(f"unknown class '{name}'", span, did_you_mean(name, ck.names))
                continue
            if tranche.is_residual or not tranche.issued:
                ck.error(f"class {name} is not an issued class with cash flows to value", span)
                continue
            if name in out:
                ck.error(f"class {name} is given two OAS prices", span)
                continue
            out[name] = value
    return tuple(out.items())
