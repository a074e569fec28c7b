"""Small CSV inputs named in a deal (schedules, curves): read, header checked, blank rows skipped.

The callers parse the cells; every error names the file, and the row and column where there is one.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import InputError


def read_rows(path: Path, header: tuple[str, ...], what: str, note: str = "") -> list[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank data row of a CSV file whose first row is `header`."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    if not rows or [h.strip().lower() for h in rows[0][: len(header)]] != list(header):
        raise InputError(f"{path}: the first row must be the header '{','.join(header)}'{note}")
    return [(n, row) for n, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
