"""Distribution statements, factor files and holder ledgers written to files: CSV and JSON for
machines, a printable HTML statement for people. The figures come from results/statements.py
and results/holdings.py; nothing is computed here."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..results.holdings import Ledger
from ..results.statements import FACTOR_DECIMALS, Statement
from ..version import __version__

STATEMENT_SUFFIXES = (".csv", ".json", ".html", ".htm")
DATA_SUFFIXES = (".csv", ".json")


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InputError(f"{path}: a {what} is written as {', '.join(allowed)} (chosen by the file's "
                         "extension)")
    return suffix


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


STATEMENT_COLUMNS = ["class", "period", "record_date", "payment_date", "original_balance",
                     "beginning_balance", "interest", "principal", "accrued", "writedown",
                     "ending_balance", "distribution", "factor",
                     "beginning_balance_per_1000", "interest_per_1000", "principal_per_1000",
                     "accrued_per_1000", "writedown_per_1000", "ending_balance_per_1000",
                     "distribution_per_1000"]


def _statement_rows(statement: Statement) -> list[dict[str, Any]]:
    rows = statement.rows()
    for row in rows:  # the factor as agency files print it: 8 decimals, trailing zeros kept
        row["factor"] = None if row["factor"] is None else f"{row['factor']:.{FACTOR_DECIMALS}f}"
    return rows


def write_statement(statement: Statement, path: str | Path) -> Path:
    """The statement as CSV, JSON or printable HTML, by the path's extension."""
    path = Path(path)
    suffix = _suffix(path, STATEMENT_SUFFIXES, "statement")
    if suffix == ".csv":
        _write_csv(path, _statement_rows(statement), STATEMENT_COLUMNS)
    elif suffix == ".json":
        _write_json(path, {"deal": statement.deal, "scenario": statement.scenario,
                           "record_date_rule": statement.record_date_rule,
                           "writedown": statement.writedown_source,
                           "lines": _statement_rows(statement)})
    else:
        path.write_text(render_statement(statement), encoding="utf-8")
    return path


def render_statement(statement: Statement) -> str:
    """The printable HTML statement: one section per class (a page each when printed)."""
    from .report import environment

    classes: dict[str, list[Any]] = {}
    for line in statement.lines:
        classes.setdefault(line.class_name, []).append(line)
    return environment().get_template("statement.html.j2").render(
        statement=statement, classes=classes, version=__version__, factor_decimals=FACTOR_DECIMALS)


def write_factors(rows: list[dict[str, Any]], path: str | Path, deal: str = "", scenario: str = "") -> Path:
    """The agency-style factor file (class, period, record date, payment date, factor) as CSV or
    JSON."""
    path = Path(path)
    if _suffix(path, DATA_SUFFIXES, "factor file") == ".csv":
        _write_csv(path, rows, ["class", "period", "record_date", "payment_date", "factor"])
    else:
        _write_json(path, {"deal": deal, "scenario": scenario, "factors": rows})
    return path


LEDGER_COLUMNS = ["class", "period", "record_date", "payment_date", "holder", "units", "interest_units",
                  "principal_units", "total_units", "interest", "principal", "total"]


def write_ledger(ledger: Ledger, path: str | Path) -> Path:
    """The per-holder ledger as CSV or JSON. Amounts are integer smallest units written as text
    (`*_units`), beside the same amounts as decimal text."""
    path = Path(path)
    if _suffix(path, DATA_SUFFIXES, "ledger") == ".csv":
        _write_csv(path, ledger.rows(), LEDGER_COLUMNS)
    else:
        _write_json(path, {
            "deal": ledger.deal, "class": ledger.class_name, "scenario": ledger.scenario,
            "decimals": ledger.decimals, "units": ledger.units,
            "class_distributions": [
                {"period": p, "interest_units": str(i), "principal_units": str(ledger.class_principal[p]),
                 "total_units": str(i + ledger.class_principal[p])}
                for p, i in ledger.class_interest.items()],
            "entries": ledger.rows()})
    return path
