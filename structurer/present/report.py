"""The HTML tranche report: one self-contained page, rendered with Jinja from a computed plan.

The report formats; it never computes. Every run, quote, table and check it shows is in the
ReportPlan that structurer/analysis/plan.py builds (the run, the decrement run, the tiers' band
runs, the quotes and price/yield and index tables, the tie-out, the collateral statistics);
every other figure is read from Results (summary, class_cashflows, collateral_cashflows,
decrement_table, wal, principal_window, final_period, arrays) or from the checked Deal (its
classes' terms, coupon formulas, the PAC/TAC schedules and its tiers' bands). This module only
selects rows and columns, labels and formats them, and draws the charts (charts.py) from the
runs it is given. The templates live in structurer/present/templates/ and are autoescaped, so
text from the deal file (names, the source itself) always renders as text.

    results = deal.run("100 PSA", "165 PSA")
    plan = report_plan(results, decrement=deal.run(*deal.decrement))   # analysis.plan
    write(plan, "out/fjf-01.html")

(`render_report` and `write_report` take a run and do both steps.) Sections appear when their
data exists: charts of the run (and of the decrement run and the tiers' bands), pricing when
the deal's analytics block or the caller gives quotes or tables, floaters, schedules and the
PAC/TAC structuring ranges (the plan's), the tie-out. A notional class's WAL, in the cover and
decrement tables, is the plan's WAL of its notional balance, labelled notional. A large run is
shown as the plan summarised it (analysis.budget's sizes): the pricing scenario in full and the
rest as WAL by scenario and distributions of measures, cash flows by year, charts of many classes
grouped; each summary says, where it stands, what it left out and which option gives the rest. `results_html`
and `deal_html` are the compact notebook views (Results._repr_html_, Deal._repr_html_), rendered
from the same templates from an analysis.plan.NotebookView.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

from ..analysis import budget
from ..analysis.plan import MEASURES, PERCENTILES, class_periods, pricing_scenario
from ..results import measures as analytics
from ..results.results import COLLATERAL
from ..version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis.plan import NotebookView, ReportPlan, ScenarioSummary, YearlyFlows
    from ..engine.schedules import Tier
    from ..model.deal import Deal, QuoteSpec, Tranche
    from ..results.results import Results
    from ..structuring.tieout import TieOut
    from ..valuation.horizon import HorizonResult
    from ..valuation.quotes import Quote

DASH = "\u2014"  # shown where a figure does not exist (a residual's WAL, no principal paid)

# Columns of the cash flow tables: (DataFrame column, heading, format).
COLLATERAL_COLUMNS = (
    ("period", "Period", "int"),
    ("date", "Date", "date"),
    ("beginning_balance", "Beginning balance", "money"),
    ("interest", "Net interest", "money"),
    ("scheduled_principal", "Scheduled principal", "money"),
    ("prepayment", "Prepayment", "money"),
    ("principal", "Total principal", "money"),
    ("cash_flow", "Cash flow", "money"),
    ("ending_balance", "Ending balance", "money"),
    ("servicing_fee", "Servicing / g-fee", "money"),
    ("cpr", "CPR", "rate2"),
)
CLASS_COLUMNS = (
    ("period", "Period", "int"),
    ("date", "Date", "date"),
    ("beginning_balance", "Beginning balance", "money"),
    ("interest", "Interest", "money"),
    ("principal", "Principal", "money"),
    ("cash_flow", "Cash flow", "money"),
    ("ending_balance", "Ending balance", "money"),
    ("interest_shortfall", "Interest shortfall", "money"),
)
# Shown only for the classes they concern (see class_columns).
COUPON_COLUMN = ("coupon", "Coupon", "rate")
ACCRUED_COLUMN = ("accrued", "Accrued", "money")
NOTIONAL_HEADINGS = {
    "beginning_balance": "Beginning notional",
    "ending_balance": "Ending notional",
}
# Columns of the cash flow tables by year (a large deal's, analysis.plan.YearlyFlows).
COLLATERAL_YEAR_COLUMNS = (
    ("beginning_balance", "Beginning balance"),
    ("interest", "Net interest"),
    ("scheduled_principal", "Scheduled principal"),
    ("prepayment", "Prepayment"),
    ("principal", "Total principal"),
    ("cash_flow", "Cash flow"),
    ("ending_balance", "Ending balance"),
    ("servicing_fee", "Servicing / g-fee"),
)
CLASS_YEAR_COLUMNS = (
    ("beginning_balance", "Beginning balance"),
    ("interest", "Interest"),
    ("accrued", "Accrued"),
    ("principal", "Principal"),
    ("cash_flow", "Cash flow"),
    ("ending_balance", "Ending balance"),
    ("interest_shortfall", "Interest shortfall carried"),
)
SCHEDULE_CLASSES_PER_TABLE = 3  # scheduled/actual column pairs side by side in one table
MEASURE_CLASSES_PER_TABLE = 10  # classes' WAL side by side in a large run's table by scenario
SCHEDULE_CHARTS = 10  # scheduled classes drawn against their schedules; the rest are named
RESIDUAL_COLUMNS = (
    ("period", "Period", "int"),
    ("date", "Date", "date"),
    ("interest", "Interest", "money"),
    ("principal", "Principal", "money"),
    ("cash_flow", "Cash flow", "money"),
)


# ---- formatting (the only arithmetic here is scaling a decimal rate to percent)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_money(value: Any) -> str:
    """Whole dollars with thousands separators; '-0' and sub-dollar dust print as 0."""
    if _missing(value):
        return DASH
    text = f"{float(value):,.0f}"
    return "0" if text == "-0" else text


def fmt_rate(value: Any, places: int = 3) -> str:
    """A decimal rate as a percent: 0.075 -> '7.500%'."""
    if _missing(value):
        return DASH
    text = f"{float(value) * 100:.{places}f}%"
    return text[1:] if text.startswith("-") and float(text[1:-1]) == 0 else text


def fmt_years(value: Any) -> str:
    """An average life in years, 2 decimals."""
    return DASH if _missing(value) else f"{float(value):.2f}"


def fmt_number(value: Any, places: int = 0) -> str:
    return DASH if _missing(value) else f"{float(value):,.{places}f}"


def fmt_date(value: Any) -> str:
    """YYYY-MM-DD."""
    return DASH if value is None else value.strftime("%Y-%m-%d")


def fmt_month(value: Any) -> str:
    """'Mon YYYY', as prospectus tables date distributions."""
    return DASH if value is None else value.strftime("%b %Y")


def fmt(value: Any, kind: str) -> str:
    """Format by the column kinds of COLLATERAL_COLUMNS and CLASS_COLUMNS, and of the pricing
    tables: 'pct3' a figure already in percent (a yield) to 3 places, 'num2' and 'num4' plain
    decimals (durations, convexity; prices, accrued), 'bp' whole basis points."""
    if isinstance(value, str):
        return value
    if kind == "pct3":
        return DASH if _missing(value) else f"{float(value):.3f}"
    if kind == "num2":
        return fmt_number(value, 2)
    if kind == "num4":
        return fmt_number(value, 4)
    if kind == "bp":
        return fmt_number(value, 0)
    if kind == "money":
        return fmt_money(value)
    if kind == "rate2":
        return fmt_rate(value, 2)
    if kind == "rate":
        return fmt_rate(value)
    if kind == "years":
        return fmt_years(value)
    if kind == "date":
        return fmt_date(value)
    if kind == "month":
        return fmt_month(value)
    if kind == "int":
        return fmt_number(value)
    return DASH if _missing(value) else str(value)


# ---- charts: matplotlib's SVG made fit to sit inside an HTML page, several to a page

_SVG_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SVG_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)
# The SVG and XLink namespace declarations matplotlib writes on the root <svg>. They are XML
# namespace names, never fetched; but an HTML page does not need them at all: the HTML parser
# puts an inline <svg> and everything in it in the SVG namespace, and maps `xlink:href` to the
# XLink namespace, by itself (HTML Living Standard, "adjust foreign attributes"). Dropping them
# keeps the promise that the report holds no URL, which the tests check literally.
_SVG_XMLNS = re.compile(r'\s+xmlns(?::xlink)?="http://www\.w3\.org/(?:2000/svg|1999/xlink)"')
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def inline_svg(svg: str, prefix: str, label: str) -> Markup:
    """A chart's SVG for inlining in the page: no namespace URLs, comments or stylesheet (the
    page's CSS carries matplotlib's one rule, scoped to charts), and every id and reference to
    it prefixed so that several charts' ids ('figure_1', clip paths) do not collide."""
    text = _SVG_COMMENT.sub("", svg)
    text = _SVG_STYLE.sub("", text)
    text = _SVG_XMLNS.sub("", text)
    text = _SVG_ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _SVG_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    head = f'<svg class="chart" role="img" aria-label="{escape(label)}" '
    return Markup(text.replace("<svg ", head, 1))  # matplotlib escapes the text it writes


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's Jinja environment: package templates, autoescaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("structurer.present", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=fmt_money,
        rate=fmt_rate,
        years=fmt_years,
        number=fmt_number,
        isodate=fmt_date,
        month=fmt_month,
        fmt=fmt,
        price32=fmt_price32,
    )
    return env


# ---- what the templates see: rows selected from Results, no new figures


def _index_paths(deal: Deal, results: Results, s: int) -> list[dict[str, Any]]:
    """The index paths a scenario ran on: its own where it sets one, else the deal's default."""
    own = dict(results.scenario_specs[s].indices)
    out = []
    for name in deal.index_names:
        path = own.get(name) or deal.indices.get(name)
        out.append({"index": name, "path": path.description if path is not None else DASH,
                    "default": name not in own})
    return out


def _scenario_heading(deal: Deal, results: Results, s: int) -> dict[str, Any]:
    """A scenario's label ('165 PSA'), what it assumes in words, its name in the deal file if it
    has one, whether it is the deal's pricing scenario, and the index paths it ran on."""
    spec = results.scenario_specs[s]
    return {
        "key": results.scenarios[s],
        "label": spec.description,
        "name": spec.name or spec.prepayment.name,
        "pricing": deal.pricing is not None and spec == deal.pricing,
        "indices": _index_paths(deal, results, s),
    }


def _window(results: Results, name: str, s: int) -> dict[str, Any]:
    first, last = results.principal_window(name)
    final = int(results.final_period(name)[s])
    first_s, last_s = int(first[s]), int(last[s])
    return {
        "first_principal_period": first_s,
        "last_principal_period": last_s,
        "first_principal_date": results.date_of(first_s),
        "last_principal_date": results.date_of(last_s),
        "final_date": results.date_of(final),
    }


def _formula(tranche: Tranche) -> dict[str, Any] | None:
    f = tranche.formula
    if f is None:
        return None
    return {"description": f.description, "index": f.index, "cap": f.cap, "floor": f.floor,
            "constant": f.constant, "multiplier": f.multiplier}


def band_text(tier: Tier) -> str:
    """A tier's structuring band as a prospectus supplement writes it: '90-300 PSA' (one unit),
    '200 PSA' (a TAC's one speed), else the speeds' own labels; 'explicit schedule'."""
    if tier.explicit is not None:
        return "explicit schedule"
    speeds = tier.band
    if all(p.kind == "constant" for p in speeds) and len({p.unit for p in speeds}) == 1:
        return "-".join(f"{p.values[0]:g}" for p in speeds) + f" {speeds[0].unit}"
    return "-".join(p.label for p in speeds)


def class_bands(deal: Deal) -> dict[str, str]:
    """Each scheduled class's band, for the cover table's principal type ('PAC (90-300 PSA)')."""
    return {deal.classes[i].name: band_text(tier) for tier in deal.tiers for i in tier.classes
            if i in deal.schedules}


def _cover(results: Results, stats: dict[str, float], s: int,
           notional_wal: Mapping[str, Any], summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A scenario's cover table; `summary` its Results.summary rows by class, if at hand."""
    deal = results.deal
    if summary is None:
        summary = results.summary(s).to_dict("index")  # one conversion, not one per class
    bands = class_bands(deal)
    rows = []
    for tranche in deal.issued_classes:
        row = dict(summary[tranche.name])
        row["class"] = tranche.name
        row["band"] = bands.get(tranche.name)
        row["notional_wal"] = float(notional_wal[tranche.name][s]) if tranche.name in notional_wal else None
        row["is_residual"] = tranche.is_residual
        row["formula"] = _formula(tranche)
        rows.append(row)
    collateral = {
        "balance": deal.collateral_balance,
        "coupon": stats["net_coupon"],
        "wal": float(results.wal(COLLATERAL)[s]),
        **_window(results, COLLATERAL, s),
    }
    from ..results.average_life import rows as average_lives

    return {**_scenario_heading(deal, results, s), "rows": rows, "collateral": collateral,
            "average_lives": average_lives(results, s),
            # The Z-bond and GPM/ARM columns only where a class accretes: elsewhere they are blank.
            "accrual": any(c.accrual for c in deal.classes)}


def _records(frame: Any, periods: int) -> list[dict[str, Any]]:
    """The first `periods` rows of a cash flow frame (the rest are all zero) as dicts."""
    return frame.iloc[:periods].to_dict("records")


def class_columns(tranche: Tranche, row: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """The cash flow columns of a class, given its summary row: a floater's coupon by period, a
    Z's accretion when it has any; a notional class's balances headed as notional, and no
    principal column when it is paid none."""
    if tranche.is_residual:
        return RESIDUAL_COLUMNS
    columns = []
    for key, heading, kind in CLASS_COLUMNS:
        if tranche.is_notional:
            if key == "principal" and row["total_principal"] == 0:
                continue
            heading = NOTIONAL_HEADINGS.get(key, heading)
        columns.append((key, heading, kind))
        if key == "beginning_balance" and tranche.formula is not None:
            columns.append(COUPON_COLUMN)
        if key == "interest" and row["total_accrued"] != 0:
            columns.append(ACCRUED_COLUMN)
    return tuple(columns)


def _class_flows(results: Results, tranche: Tranche, summary: Any) -> dict[str, Any]:
    final = int(results.final_period(tranche.name)[0])
    row = summary[tranche.name]
    return {
        "name": tranche.name,
        "type": tranche.cover_type,
        "notional": tranche.is_notional,
        "formula": _formula(tranche),
        "is_residual": tranche.is_residual,
        "accrues": row["total_accrued"] != 0,
        "total_accrued": row["total_accrued"],
        "columns": class_columns(tranche, row),
        "rows": _records(results.class_cashflows(tranche.name, 0), final),
        "final_date": results.date_of(final),
    }


def _year_rows(results: Results, flows: YearlyFlows, columns: Sequence[tuple[str, str]]) -> list[list[str]]:
    """A table by year's rows as text: the year, its periods and its last distribution date, then
    each column in whole dollars."""
    c = flows.columns
    rows = []
    for k in range(flows.years):
        first, last = int(c["first"][k]), int(c["last"][k])
        rows.append([str(int(c["year"][k])), f"{first}\u2013{last}", fmt_month(results.date_of(last)),
                     *(fmt_money(c[key][k]) for key, _ in columns)])
    return rows


def _yearly(results: Results, yearly: Sequence[YearlyFlows], summary: Any) -> dict[str, Any]:
    """The cash flow tables by year of a deal too large to show month by month: the collateral's
    and each class's (a class's columns as its monthly table's: notional headings, accretion
    only for a class that accretes, interest and principal only for the residual)."""
    deal = results.deal
    collateral, classes = yearly[0], yearly[1:]
    tables = []
    for tranche, flows in zip(deal.issued_classes, classes, strict=True):
        row = summary[tranche.name]
        if tranche.is_residual:
            columns = tuple(c for c in CLASS_YEAR_COLUMNS if c[0] in ("interest", "principal", "cash_flow"))
        else:
            columns = tuple(
                (key, NOTIONAL_HEADINGS.get(key, heading) if tranche.is_notional else heading)
                for key, heading in CLASS_YEAR_COLUMNS
                if not (key == "accrued" and row["total_accrued"] == 0)
                and not (key == "principal" and tranche.is_notional and row["total_principal"] == 0))
        final = int(results.final_period(tranche.name)[0])
        tables.append({
            "name": tranche.name, "type": tranche.cover_type, "notional": tranche.is_notional,
            "formula": _formula(tranche), "accrues": row["total_accrued"] != 0,
            "total_accrued": row["total_accrued"], "periods": final,
            "final_date": results.date_of(final),
            "headings": [heading for _, heading in columns], "rows": _year_rows(results, flows, columns),
        })
    final = int(results.final_period(COLLATERAL)[0])
    return {
        "collateral": {"headings": [heading for _, heading in COLLATERAL_YEAR_COLUMNS],
                       "rows": _year_rows(results, collateral, COLLATERAL_YEAR_COLUMNS),
                       "periods": final, "final_date": results.date_of(final)},
        "classes": tables,
        "class_periods": class_periods(results),
        "budget": budget.CASHFLOW_CELLS_MONTHLY,
    }


def _scenario_summary(results: Results, summary: ScenarioSummary) -> dict[str, Any]:
    """A large run's measures as the report shows them: the listed scenarios' WAL by class, and
    each class's measures over all scenarios (min, percentiles, max, mean; where the extremes
    are), formatted."""
    deal = results.deal
    names = list(summary.wal)
    labels = results.scenarios
    # At most MEASURE_CLASSES_PER_TABLE classes side by side, so a table fits the page.
    blocks = []
    for start in range(0, len(names), MEASURE_CLASSES_PER_TABLE):
        block = names[start:start + MEASURE_CLASSES_PER_TABLE]
        blocks.append({
            "classes": [{"name": name, "notional": deal.tranche(name).is_notional} for name in block],
            "rows": [{"key": labels[s], "cells": [fmt_years(summary.wal[name][s]) for name in block]}
                     for s in summary.listed]})
    measure_labels = dict(MEASURES)
    rows = []
    for d in summary.distributions:
        if d.measure == "wal":
            exact = inner = fmt_years
        else:
            def exact(v: float) -> str:
                return fmt_number(v, 0)

            def inner(v: float) -> str:
                # A percentile of whole periods falls between two: one decimal only then.
                return fmt_number(v, 0 if float(v).is_integer() else 1)
        rows.append({
            "class": d.name, "measure": measure_labels[d.measure], "first": d.measure == "wal",
            "notional": d.measure == "wal" and deal.tranche(d.name).is_notional,
            "cells": [exact(d.low), *(inner(v) for v in d.percentiles), exact(d.high), inner(d.mean)],
            "at_low": labels[d.at_low], "at_high": labels[d.at_high],
            "count": d.count if d.count < summary.total else None,
        })
    return {
        "total": summary.total,
        "listed_count": len(summary.listed),
        "blocks": blocks,
        "percentiles": list(PERCENTILES),
        "rows": rows,
        "budget": budget.SCENARIOS_LISTED,
    }


def _decrement_tables(decrement: Results, notional_wal: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Results.decrement_table of each class; a notional class's last row, which has no WAL of
    principal, is the WAL of its notional balance (the plan's), labelled so."""
    tables = []
    for tranche in decrement.deal.issued_classes:
        if tranche.is_residual:
            continue
        index, columns = decrement.decrement_rows(tranche.name)
        rows = [(label, [cells[k] for cells in columns.values()]) for k, label in enumerate(index)]
        if tranche.name in notional_wal:
            rows[-1] = ("WAL (notional)", [fmt_years(v) for v in notional_wal[tranche.name]])
        tables.append({
            "name": tranche.name,
            "type": tranche.cover_type,
            "notional": tranche.is_notional,
            "accrual": tranche.accrual,
            "columns": list(columns),
            "rows": rows,
        })
    return tables


def _schedules(results: Results) -> dict[str, Any] | None:
    """The PAC/PAC II/TAC scheduled balances on each anniversary, next to the actual balances
    of the same classes at the pricing scenario (else the run's first scenario).

    Both are read, not derived: the schedules are the engine's (Deal.schedules, the balance
    after each period), the actual balances are Results' ending balances. Rows run to the first
    anniversary by which every schedule and every actual balance shown is retired.
    """
    deal = results.deal
    if not deal.schedules:
        return None
    pricing = pricing_scenario(results)
    s = pricing if pricing is not None else 0
    classes = [c for c in deal.classes if c.index in deal.schedules]
    actual = {c.name: results.arrays(c.name)["ending_balance"][s] for c in classes}
    schedule = {c.name: deal.schedules[c.index] for c in classes}
    last = max(max(int(analytics.last_payment_period(schedule[c.name])),
                   int(analytics.last_payment_period(actual[c.name]))) for c in classes)
    horizon = min(last + 1, results.periods)
    rows = [{"label": "Initial", "period": 0, "cells": [(c.balance, c.balance) for c in classes]}]
    for p in analytics.anniversary_periods(horizon):
        t = min(p, results.periods, *(len(schedule[c.name]) for c in classes)) - 1
        rows.append({
            "label": fmt_month(results.date_of(t + 1)),
            "period": t + 1,
            "cells": [(float(schedule[c.name][t]), float(actual[c.name][t])) for c in classes],
        })
    # At most SCHEDULE_CLASSES_PER_TABLE classes side by side, so a table fits the page.
    heads = [{"name": c.name, "type": c.principal_label} for c in classes]
    tables = []
    for start in range(0, len(classes), SCHEDULE_CLASSES_PER_TABLE):
        stop = start + SCHEDULE_CLASSES_PER_TABLE
        tables.append({
            "classes": heads[start:stop],
            "rows": [{**row, "cells": row["cells"][start:stop]} for row in rows],
        })
    return {
        "scenario": _scenario_heading(deal, results, s),
        "pricing_in_run": pricing is not None,
        "classes": heads,
        "tables": tables,
    }


def _ranges(plan: ReportPlan) -> list[dict[str, Any]]:
    """The plan's structuring ranges: per tier the band, the balance it supports against the
    balance issued, and per class its effective band after each horizon, in whole PSA."""
    deal = plan.results.deal
    out = []
    for r in plan.ranges:
        horizons = sorted({e.after for bands in r.effective.values() for e in bands})
        classes = []
        for name in r.names:
            if name in r.omitted:
                continue
            by_after = {e.after: e for e in r.effective.get(name, [])}
            cells = []
            for n in horizons:
                e = by_after.get(n)
                text = DASH if e is None or e.band is None else f"{e.band[0]:.0f}-{e.band[1]:.0f}"
                cells.append({"text": text, "note": "" if e is None else e.note})
            classes.append({"name": name, "balance": deal.tranche(name).balance, "cells": cells})
        out.append({
            "label": r.tier.kind, "band": band_text(r.tier), "names": list(r.names),
            # Whole dollars down: a schedule a cent larger than the capacity is not supported.
            "supported": None if r.supported is None else math.floor(r.supported), "issued": r.issued,
            "headroom": None if r.supported is None else math.floor(r.supported - r.issued),
            "at": r.at, "horizons": horizons, "classes": classes, "omitted": list(r.omitted),
            "notes": [(c["name"], h, cell["note"]) for c in classes
                      for h, cell in zip(horizons, c["cells"], strict=True) if cell["note"]],
        })
    return out


def _floaters(deal: Deal, results: Results, shown: Sequence[int]) -> list[dict[str, Any]]:
    """Terms of the floating-rate classes and the fixed-rate class each is split from, and their
    first coupon at each scenario shown."""
    out = []
    for tranche in deal.issued_classes:
        if tranche.formula is None:
            continue
        parent = deal.classes[tranche.parent] if tranche.parent is not None else None
        out.append({
            "name": tranche.name,
            "interest_type": tranche.interest_type,
            "balance": tranche.balance,
            "formula": _formula(tranche),
            "parent": None if parent is None else {
                "name": parent.name, "balance": parent.balance, "coupon": parent.coupon,
                "interest_type": parent.interest_type},
            "first_coupons": [float(results.arrays(tranche.name)["coupon"][s, 0]) for s in shown],
        })
    return out


def _supported(deal: Deal) -> bool:
    return any(c.is_support for c in deal.issued_classes)


def _figures(plan: ReportPlan) -> list[dict[str, Any]]:
    """The report's charts, in order: class balances and principal paid by class at the pricing
    scenario, WAL across the decrement speeds, and each scheduled class against its band.

    A scheduled class is drawn at its tier's band speeds (the plan's band runs); a class with an
    explicit schedule, which has no band, at the pricing speed."""
    import matplotlib

    from . import charts

    results, decrement = plan.results, plan.decrement
    deal = results.deal
    s, pricing = plan.chart_scenario, plan.chart_is_pricing
    scenario = _scenario_heading(deal, results, s)
    where = scenario["label"] + (", the pricing scenario" if pricing else "")
    figures: list[dict[str, Any]] = []

    def add(kind: str, title: str, caption: str, draw: Any, *args: Any) -> None:
        # Text is text: a '$' in a scenario name is a dollar sign, not matplotlib mathtext.
        with matplotlib.rc_context({"text.parse_math": False}):
            svg = draw(*args)
        n = len(figures) + 1
        figures.append({"id": f"fig{n}", "number": n, "kind": kind, "title": title,
                        "caption": caption, "svg": inline_svg(svg, f"fig{n}", title)})

    drawn = charts.principal_classes(results)
    grouped = ""
    if len(drawn) > charts.MANY_SERIES:
        # Said where it is left out: the charts draw groups, the tables hold each class.
        grouped = (f" The {len(drawn)} classes are drawn in {charts.MANY_SERIES} groups of consecutive "
                   "classes, each the sum of its classes; each class\u2019s own figures are in the "
                   "cover, decrement and cash-flow tables.")
    add("balances", f"Class balances at {where}",
        "Balance of each class with principal after each distribution, stacked: how the "
        "collateral balance is carved up over time." + grouped, charts.class_balances, results, s)
    add("principal", f"Principal paid by class at {where}",
        "Principal distributed to each class in each period, stacked: the principal windows "
        "of the cover table." + grouped, charts.principal_by_class, results, s)
    if decrement is not None and len(decrement.scenarios) > 1:
        shaded = (f" The {len(drawn)} lines are shaded from the first class to the last; each class\u2019s "
                  "WAL at each speed is in its decrement table." if len(drawn) > charts.MANY_SERIES else "")
        add("wal", "Weighted average life across the decrement speeds",
            "WAL in years of each class with principal at "
            + ", ".join(decrement.scenarios) + ": how each class shortens and extends." + shaded,
            charts.wal_by_speed, decrement)
    drawn_schedules = set(_schedule_charts(plan)[0])
    for band in plan.band_runs:
        tier, band_run = band.tier, band.results
        at = " and ".join(band_run.scenarios)
        support = (" The support classes\u2019 combined balance at each speed is drawn beneath: "
                   "it absorbs what the schedule does not take." if _supported(deal) else "")
        for name in band.names:
            if name not in drawn_schedules:
                continue
            if tier.explicit is not None:
                what = f"The schedule (black) and the class\u2019s balance at the pricing speed, {at}"
            elif len(tier.band) == 1:
                what = f"The schedule (black) and the class\u2019s balance at the {tier.kind} speed, {at}"
            else:
                what = f"The schedule (black) and the class\u2019s balance at the band speeds, {at}"
            schedule = (f"explicit {tier.kind} schedule" if tier.explicit is not None
                        else f"{tier.label} schedule")
            add("schedule", f"Class {name} against its {schedule}",
                f"{what} (dashed).{support}",
                charts.schedule_vs_band, deal, band_run, name)
    return figures


def _schedule_charts(plan: ReportPlan) -> tuple[list[str], list[str]]:
    """The scheduled classes drawn against their schedules (the first SCHEDULE_CHARTS) and
    those left out: a deal of hundreds of PACs would otherwise get hundreds of charts."""
    names = [name for band in plan.band_runs for name in band.names]
    return names[:SCHEDULE_CHARTS], names[SCHEDULE_CHARTS:]


def _basis(spec: QuoteSpec | None) -> str:
    """What a class was priced from, as the deal file or the command line gave it."""
    if spec is None:
        return DASH
    if spec.kind == "price":
        from ..valuation.yields import format_32nds

        return f"price {format_32nds(spec.value)}"
    if spec.kind == "yield":
        return f"yield {fmt_rate(spec.value)}"
    if spec.kind == "mortgage yield":
        return f"mortgage yield {fmt_rate(spec.value)}"
    if spec.kind == "margin":
        return f"margin {spec.value * 10000:.0f}bp (money-market)"
    return f"spread {spec.value * 10000:.0f}bp"


def _grid(frame: pd.DataFrame, kinds: Sequence[str]) -> dict[str, Any]:
    """A valuation table as headings and formatted rows; `kinds` gives each row's format."""
    rows = []
    for (label, values), kind in zip(frame.iterrows(), kinds, strict=True):
        rows.append({"label": str(label), "kind": kind, "rule": bool(rows) and rows[-1]["kind"] != kind
                     and rows[-1]["kind"] == "pct3", "cells": [fmt(v, kind) for v in values.tolist()]})
    return {"title": frame.index.name, "columns": [str(c) for c in frame.columns], "rows": rows}


def _price_yield(frame: pd.DataFrame, prices: int) -> dict[str, Any]:
    """valuation.price_yield_table's rows: yields at each price, then WAL, modified duration
    and the principal window."""
    kinds = ["pct3"] * prices + ["num2", "num2", "text"]
    return _grid(frame, kinds)


def _pricing(plan: ReportPlan, shown: Sequence[int]) -> dict[str, Any] | None:
    """The plan's quotes at each scenario shown, the analytics block's price/yield tables, and the
    yield tables of quoted IO, PO and inverse floater classes, formatted."""
    results, priced = plan.results, plan.pricing
    if priced is None:
        return None
    deal = results.deal
    quotes = priced.quotes
    by_name = {spec.name: spec for spec in priced.specs}
    with_curve = any(q.spread is not None for q in quotes.values())
    scenarios = []
    for s in shown:
        rows = []
        for name, q in quotes.items():
            rows.append({"class": name, "basis": _basis(by_name.get(name)), "static": q.static,
                         "face": q.face, "notional": deal.tranche(name).is_notional, **q.row(s)})
        floating_rows = [r for r in rows if "discount_margin_mm_bp" in r]
        scenarios.append({**_scenario_heading(deal, results, s), "rows": rows,
                          "floating_rows": floating_rows})

    tables = []
    for table in priced.tables:
        tranche = deal.tranche(table.name)
        tables.append({"class": tranche.name, "type": tranche.cover_type,
                       **_price_yield(table.frame, table.prices),
                       "mortgage": _grid(table.mortgage, ["pct3"] * table.prices)
                       if table.mortgage is not None else None})

    s, pricing = plan.chart_scenario, plan.chart_is_pricing
    index_tables = []
    for t in priced.index_tables:
        tranche = deal.tranche(t.name)
        entry = {"class": t.name, "kind": t.kind, "type": tranche.cover_type,
                 "price": t.price, "price_32nds": fmt_price32(t.price),
                 "at": results.scenarios[s], "pricing": pricing, "index": t.index}
        if t.levels is not None:
            entry.update(_grid(t.frame, ["pct3"] * len(t.levels)), levels=t.levels)
        else:
            entry.update(_price_yield(t.frame, 1), levels=None)
        entry["mortgage"] = _grid(t.mortgage, ["pct3"] * len(t.mortgage)) if t.mortgage is not None else None
        index_tables.append(entry)

    horizons = [_horizon(h) for h in priced.horizons]
    return {"horizons": horizons, "scenarios": scenarios, "with_curve": with_curve,
            "has_basis": bool(by_name),
            "any_static": any(q.static for q in quotes.values()),
            "any_floating": any(q.floating is not None for q in quotes.values()),
            "tables": tables, "index_tables": index_tables}


def _horizon(h: HorizonResult) -> dict[str, Any]:
    """A total-return table: one row per scenario (valuation.horizon's figures, formatted)."""
    from ..valuation.yields import format_32nds

    sold = {"yield": f"a yield of {fmt_rate(h.sell_at)}", "spread": f"a spread of {h.sell_at * 1e4:.0f}bp",
            "price": f"a price of {format_32nds(h.sell_at)}"}[h.sell]
    rows = []
    for s, label in enumerate(h.scenarios):
        r = h.row(s)
        rows.append({"scenario": label, "initial_value": fmt_money(r["initial_value"]),
                     "received": fmt_money(r["cash_received"]),
                     "income": fmt_money(r["reinvestment_income"]), "sale": fmt_money(r["sale_value"]),
                     "horizon_value": fmt_money(r["horizon_value"]),
                     "price": fmt_number(r["horizon_price"], 4), "yield": fmt(r["horizon_yield"], "pct3"),
                     "total": fmt(r["total_return"], "pct3"), "bey": fmt(r["annualised_bey"], "pct3"),
                     "mortgage": fmt(r["annualised_mortgage"], "pct3")})
    return {"class": h.name, "months": h.months, "horizon": h.horizon, "reinvest": fmt_rate(h.reinvest),
            "sold": sold, "rows": rows}


def _oas(plan: ReportPlan) -> dict[str, Any] | None:
    """The OAS table and the rate-shift chart and table, as analysis/oas.py computed them."""
    result = plan.oas
    if result is None:
        return None
    rows = result.rows()
    keys = [k for k in rows[0] if k.startswith("krd_")] if rows else []
    shifts = None
    if result.shifts is not None:
        import matplotlib  # late: matplotlib is slow to import, and only charts need it

        from . import charts

        t = result.shifts
        svg = None
        k = len(t.shifts_bp)  # the chart's axis is the parallel shift; named curves are in the table
        if k:
            with matplotlib.rc_context({"text.parse_math": False}):
                svg = charts.rate_shift_chart(list(t.shifts_bp), {n: w[:k] for n, w in t.wal.items()},
                                              {n: p[:k] for n, p in t.price.items()})
        priced = any(math.isfinite(p) for prices in t.price.values() for p in prices)
        shifts = {"shifts": t.labels, "priced": priced, "curves": list(t.curves),
                  "rows": [{"class": n, "cells": list(zip(t.wal[n], t.price[n], strict=True))}
                           for n in t.wal],
                  "svg": inline_svg(svg, "oasfig", "WAL and price across rate shifts") if svg else None}
    return {"model": result.model_text, "prepay": result.prepay, "curve": result.curve,
            "paths": result.model.paths, "rows": rows, "key_rates": [k[4:] for k in keys],
            "key_columns": keys, "shifts": shifts}


def fmt_price32(value: Any) -> str:
    """A price in 32nds: 99.515625 -> '99-16+'."""
    from ..valuation.yields import format_32nds

    return DASH if _missing(value) else format_32nds(float(value))


def _tieout(result: TieOut) -> dict[str, Any]:
    """The REMIC tie-out checks, each with its details split into lines at '; '."""
    checks = [{"name": c.name, "passed": c.passed, "lines": c.detail.split("; ")}
              for c in result.checks]
    return {"passed": result.passed, "scenarios": result.scenarios, "checks": checks,
            "failures": len(result.failures)}


def _credit(plan: ReportPlan) -> dict[str, Any] | None:
    """The Credit section from the plan's CreditPlan, formatted: loss and yield by class across
    the default scenarios, credit enhancement at the anniversaries and its chart, the triggers'
    timeline by year."""
    credit = plan.credit
    if credit is None:
        return None
    import numpy as np

    # The report's run, or the run of the deal's default scenarios when the report's has none.
    results = credit.run if credit.run is not None else plan.results
    labels = [results.scenarios[s] for s in credit.scenarios]
    specs = [results.scenario_specs[s] for s in credit.scenarios]
    defaults = [sp.defaults.description if sp.defaults is not None else "no defaults" for sp in specs]
    def loss_cell(k: int, j: int) -> str:
        text = f"{fmt_money(credit.writedown[k, j])} ({credit.loss_pct[k, j]:.2f}%)"
        if credit.reimbursed is not None and credit.reimbursed[k, j] > 0:
            text += f", {fmt_money(credit.reimbursed[k, j])} reimbursed"
        return text

    losses = [{"name": n, "cells": [loss_cell(k, j) for j in range(len(labels))]}
              for k, n in enumerate(credit.classes)]
    collateral = [f"{fmt_money(v)} ({p:.2f}%)"
                  for v, p in zip(credit.collateral_loss, credit.collateral_loss_pct, strict=True)]

    def group_cell(i: int, j: int) -> str:
        text = f"{fmt_money(credit.group_loss[i, j])} ({credit.group_loss_pct[i, j]:.2f}%)"  # type: ignore[index]
        left = credit.group_unabsorbed[i, j]  # type: ignore[index]
        return text + (f", {fmt_money(left)} unabsorbed" if left > 0.5 else "")

    # A grouped deal: each group's pools' loss, written down against that group's classes only.
    group_losses = [{"name": f"Group {name}'s pools", "cells": [group_cell(i, j) for j in range(len(labels))]}
                    for i, name in enumerate(credit.groups)]
    mortgage = credit.mortgage_yields
    yields = [{"name": n, "price": f"{credit.prices[n]:.3f}",
               "cells": [fmt_rate(credit.yields[k, j]) for j in range(len(labels))],
               "mortgage": [fmt_rate(mortgage[k, j]) for j in range(len(labels))]}
              for k, n in enumerate(credit.classes)]
    years = list(range(1, len(credit.anniversaries) + 1))
    # Drawn as bars in the table's cells (a bar's length: the cell's share of the largest
    # enhancement shown): the report's SVG charts are the Charts section's alone.
    shown = credit.enhancement[:, credit.anniversaries - 1]
    top = float(np.nanmax(shown)) if np.isfinite(shown).any() else 0.0
    enhancement = [{"name": n,
                    "cells": [(fmt_rate(v, 2),
                               f"{100.0 * v / top:.1f}" if top > 0 and np.isfinite(v) else "0")
                              for v in shown[k]]}
                   for k, n in enumerate(credit.classes)]
    at = results.scenarios[credit.scenario]
    timeline = []
    n_years = credit.timeline.shape[2]
    for j, name in enumerate(labels):
        rows = [{"trigger": t, "cells": [int(v) for v in credit.timeline[j, i]]}
                for i, t in enumerate(credit.triggers)]
        step = credit.first_step_down[j]
        timeline.append({"scenario": name, "rows": rows,
                         "step_down": results.date_of(step).strftime("%b %Y") + f" (month {step})"
                         if step is not None else "never"})
        if not credit.shifting:
            timeline[-1]["step_down"] = None
    return {
        "labels": labels, "defaults": defaults, "losses": losses, "collateral": collateral,
        "group_losses": group_losses,
        "yields": yields, "years": years, "enhancement": enhancement, "at": at,
        "triggers": list(credit.triggers), "shifting": credit.shifting,
        "timeline": timeline, "timeline_years": list(range(1, n_years + 1)),
        "listed_all": len(labels) == len(results.scenarios),
        "own_run": results is plan.results,
        "any_reimbursed": credit.reimbursed is not None and bool((credit.reimbursed > 0).any()),
        # the OC's share of the collateral in percent, the rest in dollars
        "oc_years": [{"name": name, "cells": [(f"{v:.2f}%" if "%" in name else fmt_money(v))
                                             if np.isfinite(v) else "-" for v in values]}
                     for name, values in credit.enhancement_years],
    }


def shown_scenarios(plan: ReportPlan) -> list[int]:
    """The scenarios shown each in full (cover and quote tables, floaters' first coupons): every
    scenario of the run, or for a run the plan summarises only the chart (pricing) scenario."""
    if plan.scenarios is not None:
        return [plan.chart_scenario]
    return list(range(len(plan.results.scenarios)))


def _groups(results: Results, s: int) -> dict[str, Any] | None:
    """A deal with collateral groups: each group's pools, classes and cash over the life at the
    chart (pricing) scenario, as Results.group_figures gives them; None without groups."""
    if not results.deal.groups:
        return None
    rows = []
    for g in results.group_figures(s):
        passed = [f"{fmt_money(g[f'excess_{k}_out'])} {k} to group {g[f'excess_{k}_to']}"
                  for k in ("interest", "principal") if g[f"excess_{k}_to"]]
        rows.append({
            "group": g["group"], "pools": ", ".join(g["pools"]), "classes": ", ".join(g["classes"]),
            "balance": g["collateral_balance"],
            "pools_cash": g["collateral_interest"] + g["collateral_principal"],
            # (with the write-downs paid back out of the group's excess interest)
            "classes_cash": g["class_interest"] + g["class_principal"] + g.get("class_reimbursed", 0.0),
            "excess_in": g["excess_interest_in"] + g["excess_principal_in"],
            "excess_out": "; ".join(passed) or "-",
            "residual": g["residual_interest"] + g["residual_principal"],
            # A credit run: the group's pools' realized losses, its classes' write-downs and what
            # they could not absorb (Results.group_figures has them only then).
            "losses": g.get("collateral_losses"), "writedown": g.get("class_writedown"),
            "unallocated": g.get("unallocated_loss"),
        })
    credit = any(r["losses"] is not None for r in rows)
    return {"scenario": results.scenarios[s], "rows": rows, "credit": credit}


def report_context(plan: ReportPlan) -> dict[str, Any]:
    """Everything the templates show, selected and formatted from a computed plan."""
    results, decrement = plan.results, plan.decrement
    deal = results.deal
    stats = plan.stats
    coll_final = int(results.final_period(COLLATERAL)[0])
    first_summary = results.summary(0).to_dict("index")
    issued = deal.issued_classes
    shown = shown_scenarios(plan)
    monthly = plan.yearly is None
    return {
        "deal": deal,
        "deal_command": str(deal.path) if deal.path else "DEAL",
        "stats": stats,
        "pools": deal.pools,
        "tapes": plan.tapes,  # loan tapes' statistics and strata (analysis/plan.py)
        "groups": _groups(results, plan.chart_scenario),
        "issued": issued,
        "split_parents": [c for c in deal.classes if not c.issued],
        "has_notional": any(c.is_notional for c in issued),
        "has_accrual": any(c.accrual for c in issued),
        "has_strip": any(c.strip is not None for c in issued),
        "has_nas": any(c.lockout or c.shift for c in issued),
        "scenarios": [_cover(results, stats, s, plan.notional_wal, first_summary if s == 0 else None)
                      for s in shown],
        "scenario_summary": (_scenario_summary(results, plan.scenarios)
                             if plan.scenarios is not None else None),
        "first": _scenario_heading(deal, results, 0),
        "floaters": _floaters(deal, results, shown),
        "schedules": _schedules(results),
        "ranges": _ranges(plan),
        "collateral_columns": COLLATERAL_COLUMNS,
        "collateral_rows": _records(results.collateral_cashflows(0), coll_final) if monthly else [],
        "collateral_final_date": results.date_of(coll_final),
        "class_flows": [_class_flows(results, t, first_summary) for t in issued] if monthly else [],
        "yearly": None if monthly else _yearly(results, plan.yearly, first_summary),
        "decrement_tables": (_decrement_tables(decrement, plan.decrement_notional_wal)
                             if decrement is not None else None),
        "decrement_scenarios": ([_scenario_heading(deal, decrement, s)
                                 for s in range(len(decrement.scenarios))]
                                if decrement is not None else []),
        "figures": _figures(plan),
        "schedule_charts_omitted": _schedule_charts(plan)[1],
        "pricing": _pricing(plan, shown),
        "oas": _oas(plan),
        "tieout": _tieout(plan.tieout),
        "credit": _credit(plan),
        "periods": results.periods,
        "source_lines": deal.source.splitlines(),
        "version": __version__,
    }


def render(plan: ReportPlan) -> str:
    """The report of a computed plan as one HTML document: no scripts, no external resources,
    print-ready."""
    return environment().get_template("report.html.j2").render(report_context(plan))


def render_report(results: Results, decrement: Results | None = None,
                  quotes: Mapping[str, Quote] | None = None,
                  specs: Sequence[QuoteSpec] | None = None) -> str:
    """Plan the report of a run (analysis.plan.report_plan computes its runs, quotes, tables and
    tie-out), then render it."""
    from ..analysis.plan import report_plan

    return render(report_plan(results, decrement, quotes, specs))


def write(plan: ReportPlan, path: str | Path) -> Path:
    """Render a computed plan and write it (UTF-8) to `path`, creating its directory."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(plan), encoding="utf-8")
    return out


def write_report(results: Results, path: str | Path, decrement: Results | None = None,
                 quotes: Mapping[str, Quote] | None = None,
                 specs: Sequence[QuoteSpec] | None = None) -> Path:
    """Plan the report of a run, render it and write it to `path`."""
    from ..analysis.plan import report_plan

    return write(report_plan(results, decrement, quotes, specs), path)


# ---- notebook views: Results._repr_html_ and Deal._repr_html_

NOTEBOOK_SCENARIOS = 6  # cover tables shown for a run; a grid's other scenarios are counted


def _deal_context(view: NotebookView) -> dict[str, Any]:
    return {"deal": view.deal, "stats": view.stats, "pools": view.deal.pools,
            "issued": view.deal.issued_classes, "version": __version__}


def results_html(view: NotebookView) -> str:
    """A run as a notebook shows it: the deal's name and collateral, and the cover table of each
    scenario (the first NOTEBOOK_SCENARIOS of a grid)."""
    context = _deal_context(view)
    results = view.results
    shown = min(len(results.scenarios), NOTEBOOK_SCENARIOS) if results is not None else 0
    context.update(view="results",
                   scenarios=[_cover(results, view.stats, s, view.notional_wal) for s in range(shown)],
                   hidden=len(results.scenarios) - shown if results is not None else 0)
    return environment().get_template("notebook.html.j2").render(context)


def deal_html(view: NotebookView) -> str:
    """A deal as a notebook shows it: its terms and pools, and its cover table at the speed the
    view ran it at (none if the deal names no speed)."""
    context = _deal_context(view)
    scenarios = [_cover(view.results, view.stats, 0, view.notional_wal)] if view.results is not None else []
    context.update(view="deal", scenarios=scenarios, hidden=0)
    return environment().get_template("notebook.html.j2").render(context)
