"""Files the user hands us (deal files, and the schedules and curves a deal names): read safely,
decoded as UTF-8 with every failure in the desk's words, and CSV rows with their header checked.

Every error names the file, and the line (row) and column where there is one. Nothing here blocks
on a FIFO or swallows /dev/zero: only regular files of a sane size are read.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from pathlib import Path

from .errors import DealError, InputError, Span

# Far beyond any deal or curve a desk writes (the largest example deal is a few kB); a larger
# file is a wrong path (a log, a disk image), and reading it whole would exhaust memory.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Numbers in CSV cells: beyond this no balance or yield is meant (a quadrillion dollars).
MAX_CELL_VALUE = 1e15


def checked_file(path: Path, what: str, limit: int | None = None) -> None:
    """Refuse what is not a readable regular file of at most `limit` bytes: a missing file, a
    directory, a device, FIFO or socket, a huge file. `what` names it ("deal file", "loan tape");
    `limit` defaults to MAX_FILE_BYTES."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"no deal file at {path}" if what == "deal file"
                         else f"cannot read the {what} {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"the {what} {path} is a directory")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block for ever and /dev/zero never ends.
        raise InputError(f"the {what} {path} is not a regular file (a device, pipe or socket)")
    if info.st_size > limit:
        raise InputError(f"the {what} {path} is {info.st_size:,} bytes; a {what} is at most {limit:,} bytes")


def _read_bytes(path: Path, what: str) -> bytes:
    """The bytes of a regular file, refusing devices, FIFOs, directories and huge files."""
    checked_file(path, f"{what} file")
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since stat(), open() must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the {what} file {path} is larger than {MAX_FILE_BYTES:,} bytes")
    return data


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte `offset`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def decode(data: bytes, path: str, what: str) -> str:
    """UTF-8 text (a leading BOM, as Excel writes it, dropped); a bad byte is reported at its line
    and column as a DealError that shows the line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        byte = data[exc.start]
        shown = data.decode("utf-8", errors="replace")
        err = DealError(f"the {what} file is not UTF-8 text: byte 0x{byte:02x} at line {line}, "
                        f"column {column}",
                        Span(line, column, line, column + 1),
                        "save the file as UTF-8 (the byte is likely Latin-1 or Windows-1252)")
        raise err.attach(shown, path) from None


def read_deal_text(path: str | Path) -> str:
    """The text of a deal file."""
    return decode(_read_bytes(Path(path), "deal"), str(path), "deal")


def read_text(path: Path, what: str) -> str:
    """The text of a CSV input; errors are InputErrors naming the file, row and column."""
    data = _read_bytes(path, what)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # Excel's "CSV UTF-8" starts with a BOM
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise InputError(f"{path}, row {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
                         "save the file as UTF-8 (Excel: 'CSV UTF-8')") from None


def read_rows(path: Path, header: tuple[str, ...], what: str, note: str = "") -> list[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank data row of a CSV file whose first row is `header`."""
    text = read_text(path, what)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    first = [h.strip().lower() for h in rows[0]] if rows else []
    if first[: len(header)] != list(header):
        for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if len(first) == 1 and [h.strip() for h in first[0].split(sep)][: len(header)] == list(header):
                raise InputError(f"{path}: the columns are separated by {word}; separate them with commas "
                                 f"(the header is '{','.join(header)}')")
        raise InputError(f"{path}: the first row must be the header '{','.join(header)}'{note}")
    return [(n, row) for n, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]


def parse_cell_number(cell: str, where: str, what: str = "a number") -> float:
    """A finite number of sane size from a CSV cell ('1,234.5', '4.5%' allowed); InputError otherwise."""
    text = cell.strip().removesuffix("%").replace(",", "").replace("_", "")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: '{cell}' is not {what}") from None
    if not math.isfinite(value) and text.lstrip("+-").replace(".", "").isdigit():
        raise InputError(f"{where}: '{_clip(cell)}' is too large (at most {MAX_CELL_VALUE:,.0f})")
    if not math.isfinite(value):
        raise InputError(f"{where}: '{cell}' is not {what} (it must be a finite number)")
    if abs(value) > MAX_CELL_VALUE:
        raise InputError(f"{where}: '{_clip(cell)}' is too large (at most {MAX_CELL_VALUE:,.0f})")
    return value


def parse_whole_cell(cell: str, where: str) -> int:
    """A whole number from a CSV cell (a period, a month); InputError naming `where` otherwise."""
    try:
        return int(cell.strip())
    except ValueError:
        raise InputError(f"{where}: '{cell}' is not a whole number") from None


def _clip(cell: str) -> str:
    return cell if len(cell) <= 40 else f"{cell[:20]}...{cell[-8:]} ({len(cell):,} characters)"


def read_schedule_csv(path: Path) -> list[float]:
    """Scheduled balances after periods 1, 2, ... from a CSV file 'period,balance'."""
    values: list[float] = []
    for row_no, row in read_rows(path, ("period", "balance"), "schedule"):
        if len(row) < 2:
            raise InputError(f"{path}, row {row_no}: needs a period and a balance")
        if len([cell for cell in row if cell.strip()]) > 2:
            raise InputError(f"{path}, row {row_no}: more cells than period and balance; write the balance "
                             'without thousands separators, or quote it: "2,000,000"')
        period = parse_whole_cell(row[0], f"{path}, row {row_no}, column 'period'")
        balance = parse_cell_number(row[1], f"{path}, row {row_no}, column 'balance'", "an amount")
        if balance < 0:
            raise InputError(f"{path}, row {row_no}, column 'balance': a scheduled balance cannot be "
                             "negative")
        if period != len(values) + 1:
            raise InputError(f"{path}, row {row_no}, column 'period': expected period {len(values) + 1}, "
                             f"found {period}")
        values.append(balance)
    return values
