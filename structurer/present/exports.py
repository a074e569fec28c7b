"""Data exports: cash flows and summaries to CSV and Parquet (pandas' and pyarrow's writers, chunk
by chunk) and Excel (present/xlsx.py).

Excel: one sheet per table, numbers stored as numbers with display formats (balances to the
cent with thousands separators, coupons and yields as percents, dates as dates), so that a
desk can recompute anything in the workbook.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis.budget import EXPORT_CHUNK
from ..errors import InputError
from . import xlsx

if TYPE_CHECKING:  # pandas is imported where a table is written: the CLI imports this module always
    import pandas as pd

    from ..results.results import Results

MONEY = "#,##0.00"
RATE = "0.000%"
YEARS = "0.00"
DATE = "yyyy-mm-dd"

_MONEY_COLUMNS = {"beginning_balance", "interest", "principal", "cash_flow", "ending_balance",
                  "interest_shortfall", "accrued", "scheduled_principal", "prepayment",
                  "servicing_fee", "original_balance", "total_interest", "total_principal",
                  "total_accrued", "scheduled_payment"}
_RATE_COLUMNS = {"coupon", "first_coupon", "smm", "cpr"}
_YEAR_COLUMNS = {"wal"}


# A chunk of a streamed export holds at most this many rows (a wide deal's scenario is long).
CHUNK_ROWS = 1_000_000


def chunk_scenarios(results: Results) -> int:
    """Scenarios per chunk of a streamed export: budget.EXPORT_CHUNK, fewer for a deal whose
    scenario has so many class-periods that the chunk's rows would pass CHUNK_ROWS."""
    per_scenario = (len(results.deal.issued_classes) + 1) * results.periods
    return max(1, min(EXPORT_CHUNK, CHUNK_ROWS // max(1, per_scenario)))


def write_cashflows(results: Results, path: Path, chunk: int | None = None) -> Path:
    """Every cash flow in long form, as CSV or (by extension .parquet/.pq) Parquet, written
    `chunk` scenarios at a time (default `chunk_scenarios`): a Parquet row group or a run of CSV
    lines per chunk, so memory is bounded by the chunk whatever the number of scenarios."""
    size = chunk or chunk_scenarios(results)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            _write_parquet(results.cashflow_chunks(size), path)
        else:
            _write_csv(results, path, size)
    except OSError as exc:
        raise InputError(f"cannot write the cash flows to {path}: {exc.strerror or exc}") from None
    return path


# Rows formatted to text at a time: a row's dozen Python strings take ~1 KB, so the text of a
# whole chunk (a million rows) would take a gigabyte.
CSV_ROWS = 50_000


def _write_csv(results: Results, path: Path, size: int) -> None:
    """The CSV pandas' `to_csv(index=False, date_format="%Y-%m-%d")` writes, byte for byte, formatted
    from the arrays: pandas formats a float with numpy's shortest repr, which is Python's, and
    quotes a field as the csv module's QUOTE_MINIMAL does; it takes ~2x as long."""
    import os

    import numpy as np

    end = os.linesep  # pandas' line terminator
    dates = np.array([d.strftime("%Y-%m-%d") for d in results.dates], dtype=object)
    with open(path, "w", newline="", encoding="utf-8") as out:
        total = len(results.scenario_specs)
        for k, start in enumerate(range(0, total, size)):
            columns = results.cashflow_columns(start, min(total, start + size))
            if k == 0:
                out.write(",".join(_csv_field(c) for c in columns) + end)
            rows = len(columns["period"])
            date_text = np.tile(dates, rows // len(dates))
            quoted = {name: {v: _csv_field(v) for v in set(values.tolist())}
                      for name, values in columns.items() if values.dtype == object}
            for first in range(0, rows, CSV_ROWS):
                part = slice(first, first + CSV_ROWS)
                cells = []
                for name, values in columns.items():
                    values = values[part]
                    if name == "date":
                        cells.append(date_text[part].tolist())
                    elif name in quoted:
                        cells.append([quoted[name][v] for v in values.tolist()])
                    elif values.dtype.kind == "f":
                        text = list(map(repr, values.tolist()))
                        for i in np.flatnonzero(np.isnan(values)).tolist():
                            text[i] = ""  # pandas' na_rep
                        cells.append(text)
                    else:
                        cells.append(list(map(str, values.tolist())))
                out.write(end.join(map(",".join, zip(*cells, strict=True))) + end)


def write_pool_cashflows(results: Results, path: Path) -> Path:
    """The collateral pool by pool and in total (Results.pool_columns), as CSV or Parquet,
    a chunk of scenarios at a time."""
    import pandas as pd

    rows = (len(results.deal.pools) + 1) * results.periods
    size = max(1, min(EXPORT_CHUNK, CHUNK_ROWS // max(1, rows)))
    total = len(results.scenario_specs)
    chunks = (pd.DataFrame(results.pool_columns(a, min(total, a + size))) for a in range(0, total, size))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            _write_parquet(chunks, path)
        else:
            with open(path, "w", newline="", encoding="utf-8") as out:
                for k, frame in enumerate(chunks):
                    frame.to_csv(out, index=False, header=k == 0, date_format="%Y-%m-%d")
    except OSError as exc:
        raise InputError(f"cannot write the pool cash flows to {path}: {exc.strerror or exc}") from None
    return path


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_parquet(chunks: Iterator[pd.DataFrame], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("writing Parquet needs pyarrow: pip install pyarrow") from None
    writer = None
    try:
        for frame in chunks:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                # The first chunk's schema (with pandas' metadata) is the file's: pandas reads the
                # file back to the frame `Results.cashflows()` returns.
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def summary_frame(results: Results, scenarios: int | None = None) -> pd.DataFrame:
    """The cover table of every scenario (or the first `scenarios`), one row per scenario and class."""
    import pandas as pd

    count = len(results.scenario_specs) if scenarios is None else scenarios
    labels = results.scenarios
    classes = results.deal.issued_classes
    # One frame of records: a frame per scenario, concatenated, costs ~1 ms a scenario.
    rows = [{"scenario": labels[s], **results._summary_row(t, s)} for s in range(count) for t in classes]
    return pd.DataFrame(rows)


def _sheet_name(text: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", text)[:31] or "Sheet"
    base, n = name, 2
    while name in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


LEFT_OUT = "Left out"


def workbook_tables(results: Results, decrement: Results | None = None,
                    extra: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a workbook, by sheet title, in order.

    A run of up to budget.SCENARIOS_LISTED scenarios whose cash flows fit a sheet has them all: the
    summary, a collateral sheet per scenario, every cash flow. A larger run has the summary of
    every scenario (as many as a sheet holds), the pricing scenario's (or the first's) collateral
    and cash flows, and a first sheet, "Left out", that says what is not there and where it is
    (`--cashflows` writes every cash flow of every scenario).
    """
    import pandas as pd

    from ..analysis.budget import SCENARIOS_LISTED
    from ..analysis.plan import chart_scenario

    count, labels = len(results.scenario_specs), results.scenarios
    classes = len(results.deal.issued_classes)
    room = xlsx.MAX_ROWS - 1  # rows of a sheet under its header
    flows_rows = count * (classes + 1) * results.periods
    summarised = count > SCENARIOS_LISTED or flows_rows > room
    left: list[tuple[str, str]] = []
    summary_scenarios = min(count, room // max(1, classes))
    tables: dict[str, pd.DataFrame] = {"Summary": summary_frame(results, summary_scenarios)}
    if summary_scenarios < count:
        left.append((f"Summary: the cover tables of scenarios {summary_scenarios + 1:,} to {count:,} "
                     f"({labels[summary_scenarios]} on); a sheet holds {xlsx.MAX_ROWS:,} rows",
                     "structure DEAL ... --json prints every scenario's figures"))
    if not summarised:
        for s, label in enumerate(labels):
            tables[f"Collateral {label}"] = results.collateral_cashflows(s)
        tables["Cash flows"] = results.cashflows()
    else:
        shown, pricing = chart_scenario(results)
        which = f"{labels[shown]}, the {'pricing' if pricing else 'first'} scenario"
        tables[f"Collateral {labels[shown]}"] = results.collateral_cashflows(shown)
        flows = results.cashflow_block(shown, shown + 1)
        if len(flows) > room:
            left.append((f"Cash flows: rows {room + 1:,} to {len(flows):,} of {which}",
                         "--cashflows PATH (.csv or .parquet)"))
            flows = flows.iloc[:room]
        tables["Cash flows"] = flows
        reason = (f"{count:,} scenarios, more than the {SCENARIOS_LISTED} a workbook shows in full"
                  if count > SCENARIOS_LISTED else
                  f"{flows_rows:,} rows of cash flows, more than a sheet's {xlsx.MAX_ROWS:,}")
        left.insert(0, (f"The collateral and cash flows of every scenario but {which} ({reason})",
                        "structure DEAL ... --cashflows PATH (.csv or .parquet) writes every cash flow "
                        "of every scenario, streamed by chunks of scenarios"))
    if decrement is not None:
        for tranche in decrement.deal.issued_classes:
            if not tranche.is_residual:
                # Unrounded percents (shown to whole percent by the sheet's format), WAL last row.
                tables[f"Decrement {tranche.name}"] = decrement.decrement_table(
                    tranche.name, formatted=False).reset_index()
    for title, frame in (extra or {}).items():
        tables[title] = frame.reset_index()
    if left:
        tables = {LEFT_OUT: pd.DataFrame(left, columns=["left out of this workbook", "where it is"]),
                  **tables}
    return tables


def write_xlsx(results: Results, path: Path, decrement: Results | None = None,
               extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """An Excel workbook: summary, collateral cash flows per scenario, all cash flows, decrement
    tables per class and any extra tables (e.g. price/yield), numbers formatted as numbers. A
    large run is summarised (see `workbook_tables`), within Excel's rows a sheet."""
    tables = workbook_tables(results, decrement, extra)
    taken: set[str] = set()
    sheets = (_sheet(_sheet_name(title, taken), frame) for title, frame in tables.items())
    try:
        xlsx.write(path, sheets)
    except OSError as exc:
        raise InputError(f"cannot write the workbook to {path}: {exc.strerror or exc}") from None
    return path


def _sheet(title: str, frame: pd.DataFrame) -> xlsx.Sheet:
    """A table as a sheet: each column's values as Python objects (dates as datetimes, empty
    cells None) with its display format."""
    import numpy as np
    import pandas as pd

    decrement = str(frame.columns[0]) == "Distribution date"
    columns, formats, widths = [], [], []
    for j, col in enumerate(frame.columns):
        name, series = str(col), frame[col]
        if series.dtype == object and series.map(lambda v: hasattr(v, "isoformat")).any():
            series = pd.to_datetime(series)
        fmt = None
        if decrement and j > 0:
            fmt = "0"  # percent outstanding, whole percent as a prospectus shows it
        elif name in _MONEY_COLUMNS:
            fmt = MONEY
        elif name in _RATE_COLUMNS:
            fmt = RATE
        elif name in _YEAR_COLUMNS:
            fmt = YEARS
        elif pd.api.types.is_datetime64_any_dtype(series):
            fmt = DATE
        if pd.api.types.is_datetime64_any_dtype(series):
            values = [None if v is pd.NaT else v for v in series.dt.to_pydatetime().tolist()]
        elif series.dtype.kind in "fiub":
            values = series.to_numpy().tolist()  # Python numbers; NaN is written as an empty cell
        else:
            values = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v
                      for v in series.tolist()]
        columns.append(values)
        formats.append(fmt)
        widths.append(min(max(len(name), 12) + 2, 40))
    return xlsx.Sheet(title, [str(c) for c in frame.columns], columns, formats, widths,
                      last_row_format=YEARS if decrement else None)
