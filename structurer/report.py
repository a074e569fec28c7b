"""The HTML tranche report: one self-contained page, rendered from Results with Jinja.

The report formats; it never computes. Every figure comes from a Results method (summary,
class_cashflows, collateral_cashflows, decrement_table, wal, principal_window, final_period)
or from analytics (collateral_stats); this module only selects rows, labels and formats them.
The templates live in structurer/templates/ and are autoescaped, so text from the deal file
(names, the source itself) always renders as text.

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


def _scenario_heading(deal: Deal, results: Results, s: int) -> dict[str, Any]:
    """A scenario's label ('165 PSA'), its name in the deal file if it has one, and whether it
    is the deal's pricing speed."""
    prepay = results.prepayments[s]
    name = getattr(prepay, "name", None)
    return {
        "key": results.scenarios[s],
        "label": getattr(prepay, "description", results.scenarios[s]),
        "name": name,
        "pricing": deal.pricing is not None and prepay == deal.pricing,
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


def _cover(results: Results, stats: dict[str, float], s: int) -> dict[str, Any]:
    deal = results.deal
    summary = results.summary(s)
    rows = []
    for tranche in deal.classes:
        row = summary.loc[tranche.name].to_dict()
        row["class"] = tranche.name
        row["is_residual"] = tranche.is_residual
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


def _class_flows(results: Results, tranche: Tranche) -> dict[str, Any]:
    final = int(results.final_period(tranche.name)[0])
    return {
        "name": tranche.name,
        "type": tranche.cover_type,
        "is_residual": tranche.is_residual,
        "columns": RESIDUAL_COLUMNS if tranche.is_residual else CLASS_COLUMNS,
        "rows": _records(results.class_cashflows(tranche.name, 0), final),
        "final_date": results.date_of(final),
    }


def _decrement_tables(decrement: Results) -> list[dict[str, Any]]:
    tables = []
    for tranche in decrement.deal.classes:
        if tranche.is_residual:
            continue
        frame = decrement.decrement_table(tranche.name)
        tables.append({
            "name": tranche.name,
            "type": tranche.cover_type,
            "columns": list(frame.columns),
            "rows": [(label, list(values)) for label, values in zip(
                frame.index, frame.itertuples(index=False, name=None), strict=True)],
        })
    return tables


def report_context(results: Results, decrement: Results | None = None) -> dict[str, Any]:
    """Everything the templates show, from a run (and optionally a decrement-speed run)."""
    from . import __version__  # late: the package's __init__ defines it after its imports

    deal = results.deal
    if decrement is not None and decrement.deal.name != deal.name:
        raise ValueError(f"the decrement run is of deal \"{decrement.deal.name}\", "
                         f"not \"{deal.name}\"")
    stats = analytics.collateral_stats(deal.pools)
    coll_final = int(results.final_period(COLLATERAL)[0])
    return {
        "deal": deal,
        "stats": stats,
        "pools": deal.pools,
        "scenarios": [_cover(results, stats, s) for s in range(len(results.scenarios))],
        "first": _scenario_heading(deal, results, 0),
        "collateral_columns": COLLATERAL_COLUMNS,
        "collateral_rows": _records(results.collateral_cashflows(0), coll_final),
        "collateral_final_date": results.date_of(coll_final),
        "class_flows": [_class_flows(results, t) for t in deal.classes],
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
