"""Data exports: cash flows and summaries to CSV, Parquet and Excel, with pandas' writers.

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
                  "total_accrued"}
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
    chunks = results.cashflow_chunks(chunk or chunk_scenarios(results))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            _write_parquet(chunks, path)
        else:
            with open(path, "w", newline="", encoding="utf-8") as out:
                for k, frame in enumerate(chunks):
                    frame.to_csv(out, index=False, header=k == 0, date_format="%Y-%m-%d")
    except OSError as exc:
        raise InputError(f"cannot write the cash flows to {path}: {exc.strerror or exc}") from None
    return path


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


def summary_frame(results: Results) -> pd.DataFrame:
    """The cover table of every scenario, one row per scenario and class."""
    import pandas as pd

    frames = []
    for s, label in enumerate(results.scenarios):
        frame = results.summary(s).reset_index()
        frame.insert(0, "scenario", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _sheet_name(text: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", text)[:31] or "Sheet"
    base, n = name, 2
    while name in taken:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def workbook_tables(results: Results, decrement: Results | None = None,
                    extra: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a workbook, by sheet title, in order."""
    tables: dict[str, pd.DataFrame] = {"Summary": summary_frame(results)}
    for s, label in enumerate(results.scenarios):
        tables[f"Collateral {label}"] = results.collateral_cashflows(s)
    tables["Cash flows"] = results.cashflows()
    if decrement is not None:
        for tranche in decrement.deal.issued_classes:
            if not tranche.is_residual:
                # Unrounded percents (shown to whole percent by the sheet's format), WAL last row.
                tables[f"Decrement {tranche.name}"] = decrement.decrement_table(
                    tranche.name, formatted=False).reset_index()
    for title, frame in (extra or {}).items():
        tables[title] = frame.reset_index()
    return tables


def write_xlsx(results: Results, path: Path, decrement: Results | None = None,
               extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """An Excel workbook: summary, collateral cash flows per scenario, all cash flows, decrement
    tables per class and any extra tables (e.g. price/yield), numbers formatted as numbers."""
    import pandas as pd

    tables = workbook_tables(results, decrement, extra)
    taken: set[str] = set()
    try:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for title, frame in tables.items():
                sheet = _sheet_name(title, taken)
                frame = frame.copy()
                for col in frame.columns:
                    if frame[col].dtype == object and frame[col].map(lambda v: hasattr(v, "isoformat")).any():
                        frame[col] = pd.to_datetime(frame[col])
                frame.to_excel(writer, sheet_name=sheet, index=False)
                _format_sheet(writer.sheets[sheet], frame)
    except ImportError:
        raise InputError("writing Excel needs openpyxl: pip install openpyxl") from None
    except OSError as exc:
        raise InputError(f"cannot write the workbook to {path}: {exc.strerror or exc}") from None
    return path


def _format_sheet(sheet, frame: pd.DataFrame) -> None:  # noqa: ANN001 - an openpyxl worksheet
    import pandas as pd

    sheet.freeze_panes = "A2"
    decrement = str(frame.columns[0]) == "Distribution date"
    for j, col in enumerate(frame.columns, start=1):
        name = str(col)
        fmt = None
        if decrement and j > 1:
            fmt = "0"  # percent outstanding, whole percent as a prospectus shows it
        elif name in _MONEY_COLUMNS:
            fmt = MONEY
        elif name in _RATE_COLUMNS:
            fmt = RATE
        elif name in _YEAR_COLUMNS:
            fmt = YEARS
        elif pd.api.types.is_datetime64_any_dtype(frame[col]):
            fmt = DATE
        width = max(len(name), 12)
        sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = min(width + 2, 40)
        if fmt is None:
            continue
        for row in range(2, len(frame) + 2):
            sheet.cell(row=row, column=j).number_format = fmt
        if decrement:
            sheet.cell(row=len(frame) + 1, column=j).number_format = YEARS  # the WAL row
