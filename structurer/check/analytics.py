"""Pass: the analytics block (curves, quotes by price, yield or spread, price/yield tables)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import InputError, Span, did_you_mean
from ..language.nodes import AnalyticsDecl, CurveDecl
from ..model.curve import Curve, make_curve, read_curve_csv
from ..model.deal import Analytics, HorizonSpec, QuoteSpec, TableSpec, Tranche
from ..model.prepayment import Prepayment
from ..valuation.yields import parse_price
from .context import Checker
from .scenarios import decrement_speeds


def check_analytics(ck: Checker) -> None:
    ck.analytics = _analytics(ck, ck.file.analytics, ck.names, ck.decrement, ck.file.path)


def _curve(ck: Checker, decl: CurveDecl, deal_path: str | None) -> Curve | None:
    try:
        if decl.path is not None:
            base = Path(deal_path).parent if deal_path else Path.cwd()
            return dataclasses.replace(read_curve_csv(base / decl.path), name=decl.name)
        tenors, yields = [], []
        for tenor, q in decl.points:
            rate = ck.rate(q, "a curve yield")
            if rate is None:
                return None
            tenors.append(float(str(tenor).replace(",", "")))
            yields.append(rate)
        return make_curve(decl.name, tenors, yields)
    except InputError as exc:
        ck.error(str(exc), decl.span)
        return None


def _analytics(ck: Checker, decl: AnalyticsDecl | None, names: dict[str, Tranche],
               decrement: list[Prepayment], deal_path: str | None) -> Analytics:
    if decl is None:
        return Analytics()
    curves: dict[str, Curve] = {}
    for cdecl in decl.curves:
        if cdecl.name in curves:
            ck.error(f"two curves are named \"{cdecl.name}\"", cdecl.span)
            continue
        curve = _curve(ck, cdecl, deal_path)
        if curve is not None:
            curves[cdecl.name] = curve
    quotes: list[QuoteSpec] = []
    quoted: dict[str, Span | None] = {}
    for q in decl.quotes:
        if q.kind == "price":
            try:
                value = parse_price(q.value)  # type: ignore[arg-type]
            except InputError as exc:
                ck.error(str(exc), q.span)
                continue
        else:
            rate = ck.rate(q.value, f"a {q.kind}")  # type: ignore[arg-type]
            if rate is None:
                continue
            value = rate
            if q.kind == "spread" and not decl.curves:
                ck.error("a spread needs a curve to be a spread to", q.span,
                         'add: curve "UST" (1: 4.1%, 2: 4.0%, 5: 4.0%, 10: 4.2%, 30: 4.5%)')
                continue
        for name, span in q.classes:
            tranche = names.get(name)
            if tranche is None:
                ck.error(f"unknown class '{name}'", span, did_you_mean(name, names))
                continue
            if tranche.is_residual or not tranche.issued:
                ck.error(f"class {name} is not an issued class with cash flows to price", span)
                continue
            if q.kind == "margin" and tranche.formula is None:
                ck.error(f"class {name} has a fixed coupon: a discount margin is over a floater's index",
                         span, f"price it by price, yield or spread: yield {name} at 5%")
                continue
            if name in quoted:
                ck.error(f"class {name} is priced twice", span)
                continue
            quoted[name] = span
            quotes.append(QuoteSpec(q.kind, name, value))
    tables: list[TableSpec] = []
    for t in decl.tables:
        try:
            prices = tuple(parse_price(p) for p in t.prices)
        except InputError as exc:
            ck.error(str(exc), t.span)
            continue
        speeds = tuple(decrement_speeds(ck, t.speeds)) if t.speeds else tuple(decrement)
        if not speeds:
            ck.error("a price/yield table needs speeds", t.span,
                     "add: speeds(100, 165, 300 PSA), or decrement speeds to the scenarios block")
            continue
        tables.append(TableSpec(prices, speeds))
    horizons = _horizons(ck, decl, names, quoted, bool(decl.curves))
    return Analytics(curves, tuple(quotes), tuple(tables), tuple(horizons))


def _horizons(ck: Checker, decl: AnalyticsDecl, names: dict[str, Tranche], quoted: dict[str, Span | None],
              has_curve: bool) -> list[HorizonSpec]:
    """The total-return horizons: each class must be priced (its purchase price) in the block."""
    out: list[HorizonSpec] = []
    for h in decl.horizons:
        months = ck.months(h.months, "a horizon")
        reinvest = ck.rate(h.reinvest, "a reinvestment rate")
        if h.sell == "price":
            try:
                value: float | None = parse_price(h.value)  # type: ignore[arg-type]
            except InputError as exc:
                ck.error(str(exc), h.span)
                value = None
        else:
            value = ck.rate(h.value, f"a horizon {h.sell}")  # type: ignore[arg-type]
            if h.sell == "spread" and not has_curve:
                ck.error("a horizon spread needs a curve to be a spread to", h.span,
                         'add: curve "UST" (1: 4.1%, 2: 4.0%, 5: 4.0%, 10: 4.2%, 30: 4.5%)')
                value = None
        if months is not None and months < 1:
            ck.error("a horizon is at least 1 month", h.months.span)
            months = None
        classes = []
        for name, span in h.classes:
            if name not in names:
                ck.error(f"unknown class '{name}'", span, did_you_mean(name, names))
            elif name not in quoted:
                ck.error(f"class {name} has a horizon but no price to buy it at", span,
                         f"price it in this block: price {name} at 100-00")
            else:
                classes.append(name)
        if months is None or reinvest is None or value is None or len(classes) != len(h.classes):
            continue
        out.append(HorizonSpec(tuple(classes), months, reinvest, h.sell, value))
    return out

