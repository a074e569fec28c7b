"""The HTML tranche report: one self-contained page, rendered from Results with Jinja.

The report formats; it never computes. Every figure comes from a Results method (summary,
class_cashflows, collateral_cashflows, decrement_table, wal, principal_window, final_period,
original_balance, arrays), from the checked Deal (its classes' terms, coupon formulas and the
PAC/TAC schedules the engine derived) or from analytics (collateral_stats); this module only
selects rows and columns, labels and formats them. The templates live in structurer/templates/
and are autoescaped, so text from the deal file (names, the source itself) always renders as
text.

    results = deal.run("100 PSA", "165 PSA")
    write_report(results, "out/fjf-01.html", decrement=deal.run(*deal.decrement))
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from . import analytics
from .results import COLLATERAL

if TYPE_CHECKING:
    from .model import Deal, Tranche
    from .results import Results

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
SCHEDULE_CLASSES_PER_TABLE = 3  # scheduled/actual column pairs side by side in one table
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
    """Format by the column kinds of COLLATERAL_COLUMNS and CLASS_COLUMNS."""
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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's Jinja environment: package templates, autoescaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("structurer", "templates"),
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


def _pricing_index(results: Results) -> int | None:
    """The run's column for the deal's pricing scenario, if the run has it."""
    deal = results.deal
    for s, spec in enumerate(results.scenario_specs):
        if deal.pricing is not None and spec == deal.pricing:
            return s
    return None


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


def _cover(results: Results, stats: dict[str, float], s: int) -> dict[str, Any]:
    deal = results.deal
    summary = results.summary(s)
    rows = []
    for tranche in deal.issued_classes:
        row = summary.loc[tranche.name].to_dict()
        row["class"] = tranche.name
        row["is_residual"] = tranche.is_residual
        row["formula"] = _formula(tranche)
        rows.append(row)
    collateral = {
        "balance": deal.collateral_balance,
        "coupon": stats["net_coupon"],
        "wal": float(results.wal(COLLATERAL)[s]),
        **_window(results, COLLATERAL, s),
    }
    return {**_scenario_heading(deal, results, s), "rows": rows, "collateral": collateral}


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
    row = summary.loc[tranche.name].to_dict()
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


def _decrement_tables(decrement: Results) -> list[dict[str, Any]]:
    tables = []
    for tranche in decrement.deal.issued_classes:
        if tranche.is_residual:
            continue
        frame = decrement.decrement_table(tranche.name)
        tables.append({
            "name": tranche.name,
            "type": tranche.cover_type,
            "notional": tranche.is_notional,
            "accrual": tranche.accrual,
            "columns": list(frame.columns),
            "rows": [(label, list(values)) for label, values in zip(
                frame.index, frame.itertuples(index=False, name=None), strict=True)],
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
    pricing = _pricing_index(results)
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
    heads = [{"name": c.name, "type": c.principal_type} for c in classes]
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


def _floaters(deal: Deal, results: Results) -> list[dict[str, Any]]:
    """Terms of the floating-rate classes and the fixed-rate class each is split from."""
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
            "first_coupons": [float(v) for v in results.arrays(tranche.name)["coupon"][:, 0]],
        })
    return out


def report_context(results: Results, decrement: Results | None = None) -> dict[str, Any]:
    """Everything the templates show, from a run (and optionally a decrement-speed run)."""
    from . import __version__  # late: the package's __init__ defines it after its imports

    deal = results.deal
    if decrement is not None and decrement.deal.name != deal.name:
        raise ValueError(f"the decrement run is of deal \"{decrement.deal.name}\", "
                         f"not \"{deal.name}\"")
    stats = analytics.collateral_stats(deal.pools)
    coll_final = int(results.final_period(COLLATERAL)[0])
    first_summary = results.summary(0)
    issued = deal.issued_classes
    return {
        "deal": deal,
        "stats": stats,
        "pools": deal.pools,
        "issued": issued,
        "split_parents": [c for c in deal.classes if not c.issued],
        "has_notional": any(c.is_notional for c in issued),
        "has_accrual": any(c.accrual for c in issued),
        "has_strip": any(c.strip is not None for c in issued),
        "has_nas": any(c.lockout or c.shift for c in issued),
        "scenarios": [_cover(results, stats, s) for s in range(len(results.scenarios))],
        "first": _scenario_heading(deal, results, 0),
        "floaters": _floaters(deal, results),
        "schedules": _schedules(results),
        "collateral_columns": COLLATERAL_COLUMNS,
        "collateral_rows": _records(results.collateral_cashflows(0), coll_final),
        "collateral_final_date": results.date_of(coll_final),
        "class_flows": [_class_flows(results, t, first_summary) for t in issued],
        "decrement_tables": _decrement_tables(decrement) if decrement is not None else None,
        "decrement_scenarios": ([_scenario_heading(deal, decrement, s)
                                 for s in range(len(decrement.scenarios))]
                                if decrement is not None else []),
        "periods": results.periods,
        "source_lines": deal.source.splitlines(),
        "version": __version__,
    }


def render_report(results: Results, decrement: Results | None = None) -> str:
    """The report as one HTML document: no scripts, no external resources, print-ready."""
    return environment().get_template("report.html.j2").render(report_context(results, decrement))


def write_report(results: Results, path: str | Path, decrement: Results | None = None) -> Path:
    """Render the report and write it (UTF-8) to `path`, creating its directory."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(results, decrement), encoding="utf-8")
    return out
