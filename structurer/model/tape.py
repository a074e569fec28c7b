"""Loan tapes: a pool given loan by loan in a CSV file (or Parquet, by extension).

One row per loan: loan id, balance, note rate, net rate or servicing fee, original term, remaining
term or age, and optional credit fields (FICO, LTV, state, occupancy, purpose) kept for later
models. Every row is validated loudly: a bad cell is an InputError naming the file, the row
number (the header is row 1, as a spreadsheet shows it), the column, the value and what was
expected. Nothing is dropped silently.

The tape is held as one numpy array per column, so that a million loans cost tens of megabytes,
not a million Python objects.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..inputs import MAX_CELL_VALUE, checked_file, parse_cell_number
from .deal import Pool

# A tape is far larger than a schedule (1,000,000 loans is ~80 MB of CSV); beyond this a path
# is a wrong file, and reading it whole would exhaust memory.
MAX_TAPE_BYTES = 2 * 1024 * 1024 * 1024

MAX_RATE = 25.0  # percent; no mortgage note rate is above this: a rate in basis points or a typo
MAX_TERM = 480  # months (40 years)
FICO_RANGE = (300.0, 850.0)
LTV_RANGE = (0.0, 200.0)

REQUIRED = ("loan_id", "balance", "note_rate", "original_term")
# One of each pair is required: the net rate or the servicing fee; the remaining term or the age.
EITHER = (("net_rate", "servicing_fee"), ("remaining_term", "age"))
NUMERIC_OPTIONAL = ("fico", "ltv")
TEXT_OPTIONAL = ("state", "occupancy", "purpose")
NUMERIC_FIELDS = ("balance", "note_rate", "net_rate", "servicing_fee", "original_term", "remaining_term",
                  "age", "fico", "ltv")
KNOWN = REQUIRED + tuple(c for pair in EITHER for c in pair) + NUMERIC_OPTIONAL + TEXT_OPTIONAL


# eq=False: compared field by field, numpy columns would raise (a Deal holding a tape compares
# tapes by identity).
@dataclass(frozen=True, eq=False)
class LoanTape:
    """The loans of one pool, one array per column (rates in percent, terms in months)."""

    path: str
    loan_id: np.ndarray  # object array of str
    balance: np.ndarray
    note_rate: np.ndarray
    net_rate: np.ndarray
    original_term: np.ndarray  # int64
    remaining_term: np.ndarray  # int64
    fico: np.ndarray | None = None  # float; NaN where a row left it blank
    ltv: np.ndarray | None = None
    state: np.ndarray | None = None  # object arrays of str ('' where blank)
    occupancy: np.ndarray | None = None
    purpose: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.balance.size)

    @property
    def age(self) -> np.ndarray:
        return self.original_term - self.remaining_term


@dataclass(frozen=True)
class TapeStatistics:
    """Balance-weighted pool statistics, as a term sheet states them."""

    count: int
    balance: float
    average_balance: float
    wac: float  # percent, gross (note rate)
    net_wac: float  # percent
    wam: float  # months remaining
    wala: float  # months of age
    original_term: float  # balance-weighted original term


def statistics(tape: LoanTape) -> TapeStatistics:
    """WAC, WAM, WALA and the average loan size, weighted by current balance."""
    total = float(tape.balance.sum())
    if tape.count == 0 or total <= 0:
        raise InputError(f"{tape.path}: the tape has no loan with a balance")
    w = tape.balance / total
    return TapeStatistics(
        count=tape.count,
        balance=total,
        average_balance=total / tape.count,
        wac=float(w @ tape.note_rate),
        net_wac=float(w @ tape.net_rate),
        wam=float(w @ tape.remaining_term),
        wala=float(w @ tape.age),
        original_term=float(w @ tape.original_term),
    )


def _open_text(path: Path) -> io.TextIOBase:
    checked_file(path, "loan tape", MAX_TAPE_BYTES)
    # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM.
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the caller


def _columns_from_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with _open_text(path) as handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: the loan tape is empty; the first row must name the columns "
                                 f"({', '.join(REQUIRED)}, ...)")
            rows = [(n, row) for n, row in enumerate(reader, start=2) if any(c.strip() for c in row)]
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: the loan tape is not UTF-8 text ({exc.reason}); save it as UTF-8 "
                             "(Excel: 'CSV UTF-8')") from None
        except csv.Error as exc:
            raise InputError(f"{path}: not a CSV file ({exc})") from None
    return [h.strip().lower() for h in header], rows


def _parquet_table(path: Path, strict: bool):  # type: ignore[no-untyped-def]
    """The Parquet file as an Arrow table, after the same file checks as a CSV tape. A file that
    is not Parquet: an InputError when `strict`, else None."""
    _open_text(path).close()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading a Parquet tape needs pyarrow (pip install pyarrow), "
                         "or give the tape as CSV") from None
    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        if strict:
            raise InputError(f"{path}: not a Parquet file ({exc})") from None
        return None


def _columns_from_parquet(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = _parquet_table(path, strict=True)
    header = [str(name).strip().lower() for name in table.column_names]
    columns = [["" if v is None else str(v) for v in table.column(i).to_pylist()]
               for i in range(table.num_columns)]
    # Row numbers as a spreadsheet would show them: the header is row 1.
    return header, [(n + 2, [col[n] for col in columns]) for n in range(table.num_rows)]


@dataclass
class _Out:
    """The tape's columns as they are filled."""

    ids: np.ndarray
    bal: np.ndarray
    note: np.ndarray
    net: np.ndarray
    orig: np.ndarray
    rem: np.ndarray
    fico: np.ndarray | None
    ltv: np.ndarray | None
    texts: dict[str, np.ndarray]

    @classmethod
    def empty(cls, n: int, index: dict[str, int]) -> _Out:
        return cls(np.empty(n, dtype=object), np.empty(n), np.empty(n), np.empty(n),
                   np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
                   np.full(n, np.nan) if "fico" in index else None,
                   np.full(n, np.nan) if "ltv" in index else None,
                   {name: np.empty(n, dtype=object) for name in TEXT_OPTIONAL if name in index})

    def tape(self, path: Path) -> LoanTape:
        return LoanTape(str(path), self.ids, self.bal, self.note, self.net, self.orig, self.rem, self.fico,
                        self.ltv, self.texts.get("state"), self.texts.get("occupancy"),
                        self.texts.get("purpose"))


def read_tape(path: str | Path) -> LoanTape:
    """The loans of a CSV or Parquet tape, every row checked; InputError on the first bad cell
    (the first in the file's order, whichever way the tape was read)."""
    path = Path(path)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    fast = _read_parquet_fast(path) if parquet else _read_csv_fast(path)
    if fast is not None:
        return fast
    # The tape did not parse as a plain table (a ragged row, not UTF-8, not CSV): read it row by
    # row, which says where and what.
    return read_tape_by_rows(path)


def read_tape_by_rows(path: Path) -> LoanTape:
    """read_tape one row at a time in Python: the reference the fast path is tested against, and
    the reader of a tape that is not a plain table."""
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet:
        header, rows = _columns_from_parquet(path)
    else:
        header, rows = _columns_from_csv(path)
    index = _check_header(path, header)
    if not rows:
        raise InputError(f"{path}: the loan tape has a header but no loans")
    out = _Out.empty(len(rows), index)
    seen: dict[str, int] = {}
    for i, (row_no, row) in enumerate(rows):
        _check_row(path, index, len(header), out, i, row_no, row, seen)
        seen[out.ids[i]] = row_no
    return out.tape(path)


def _check_row(path: Path, index: dict[str, int], width: int, out: _Out, i: int, row_no: int,
               row: list[str], seen: dict[str, int]) -> None:
    """Check one row and write its loan at position i; InputError naming the row and the column of
    the first bad cell. `seen`: the row of each loan id before this one."""
    def cell(name: str) -> str:
        j = index[name]
        return row[j].strip() if j < len(row) else ""

    def where(name: str) -> str:
        return f"{path}, row {row_no}, column '{name}'"

    if len(row) > width:
        raise InputError(f"{path}, row {row_no}: {len(row)} cells but the header names {width} "
                         "columns; quote a cell that holds a comma")
    loan_id = cell("loan_id")
    if not loan_id:
        raise InputError(f"{where('loan_id')}: the loan id is blank; every loan needs an id")
    if loan_id in seen:
        raise InputError(f"{where('loan_id')}: loan id '{loan_id}' appears twice (rows {seen[loan_id]} "
                         f"and {row_no}); each loan is one row")
    out.ids[i] = loan_id

    b = _number(cell("balance"), where("balance"), "a balance")
    if b < 0:
        raise InputError(f"{where('balance')}: '{cell('balance')}' is negative; a loan's balance is "
                         "0 or more")
    out.bal[i] = b
    note = out.note[i] = _rate(cell("note_rate"), where("note_rate"), "note rate")
    if "net_rate" in index:
        net = _rate(cell("net_rate"), where("net_rate"), "net rate")
    else:
        net = note - _rate(cell("servicing_fee"), where("servicing_fee"), "servicing fee")
    out.net[i] = net
    if net > note:
        column = "net_rate" if "net_rate" in index else "servicing_fee"
        raise InputError(f"{where(column)}: the net rate {net:g}% is above the note rate "
                         f"{note:g}%; the net rate is the note rate less the servicing fee")
    o = _term(cell("original_term"), where("original_term"), "original term", low=1)
    out.orig[i] = o
    if "remaining_term" in index:
        r = _term(cell("remaining_term"), where("remaining_term"), "remaining term", low=0)
        if r > o:
            raise InputError(f"{where('remaining_term')}: the remaining term {r} is more than the "
                             f"original term {o}")
    else:
        a = _term(cell("age"), where("age"), "age", low=0)
        if a > o:
            raise InputError(f"{where('age')}: the age {a} is more than the original term {o}")
        r = o - a
    if r == 0 and b > 0:
        column = "remaining_term" if "remaining_term" in index else "age"
        raise InputError(f"{where(column)}: the loan has a balance of {b:,.2f} but no remaining term; "
                         "a loan with a balance has at least 1 month left")
    out.rem[i] = r
    if out.fico is not None and cell("fico"):
        out.fico[i] = _ranged(cell("fico"), where("fico"), "FICO score", FICO_RANGE)
    if out.ltv is not None and cell("ltv"):
        out.ltv[i] = _ranged(cell("ltv"), where("ltv"), "LTV (percent)", LTV_RANGE)
    for name, arr in out.texts.items():
        arr[i] = cell(name).upper() if name == "state" else cell(name).lower()


# The fast path -------------------------------------------------------------------------------
# A million-row tape checked cell by cell in Python takes minutes. The fast path parses whole
# columns at once and checks them with the very rules of _check_row; every row that any
# vectorised test flags (and any cell written in a form the fast parse does not take, such as
# '1,234.50' or '4.5%') goes through _check_row itself, in file order, so the first bad row and
# its message are exactly the row-by-row reader's, and an odd but valid cell is read as it would
# be.

def _read_csv_fast(path: Path) -> LoanTape | None:
    """The tape read column by column with pandas, or None to read it row by row."""
    import warnings

    import pandas as pd

    _open_text(path).close()  # the file checks (exists, a file, size), with their messages
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a parser warning is a tape to read row by row
            # Cells as Python strings: numbers are parsed below by float() itself, the row-by-row
            # reader's own parse, so that a balance is the same double either way.
            frame = pd.read_csv(path, header=None, dtype=object, na_filter=False, skip_blank_lines=False,
                                encoding="utf-8-sig", engine="c")
    except Exception:  # a ragged row, bad encoding, not CSV: the row-by-row reader says which
        return None
    if frame.shape[0] == 0:
        return None
    header = [str(h).strip().lower() for h in frame.iloc[0].tolist()]
    raw = [frame[c].to_numpy(dtype=object)[1:] for c in frame.columns]
    columns = [col if name in NUMERIC_FIELDS else _each(col, str.strip)
               for name, col in zip(header, raw, strict=True)]
    row_nos = np.arange(2, frame.shape[0] + 1)  # a record per row; the header is row 1
    # A blank line is skipped (and counted in the row numbers), as the row-by-row reader does:
    # rows whose text cells are all blank are candidates, confirmed on every cell.
    blank = np.ones(row_nos.size, dtype=bool)
    for name, col in zip(header, columns, strict=True):
        if name not in NUMERIC_FIELDS:
            blank &= col == ""
    candidates = np.flatnonzero(blank)
    if candidates.size:
        blank[candidates] = [all(not str(col[k]).strip() for col in raw) for k in candidates]
        keep = ~blank
        columns, raw, row_nos = [c[keep] for c in columns], [c[keep] for c in raw], row_nos[keep]

    def row_of(i: int) -> list[str]:
        return [str(col[i]) for col in raw]

    return _from_columns(path, header, columns, row_nos, row_of)


def _read_parquet_fast(path: Path) -> LoanTape | None:
    """A Parquet tape read column by column: numeric columns are taken as numbers, never printed
    and parsed again."""
    table = _parquet_table(path, strict=False)
    if table is None:  # not Parquet: the row-by-row reader gives the message
        return None
    import pyarrow as pa

    header = [str(name).strip().lower() for name in table.column_names]
    columns: list[np.ndarray] = []
    for j in range(table.num_columns):
        col = table.column(j)
        numeric = pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
        if header[j] in NUMERIC_FIELDS and numeric and col.null_count == 0:
            columns.append(col.to_numpy().astype(float))
        elif (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) and col.null_count == 0:
            columns.append(_each(col.to_numpy(zero_copy_only=False), str.strip))
        else:
            columns.append(np.array(["" if v is None else str(v).strip() for v in col.to_pylist()],
                                    dtype=object))

    def row_of(i: int) -> list[str]:
        return ["" if v is None else str(v) for v in (table.column(j)[i].as_py()
                                                       for j in range(table.num_columns))]

    return _from_columns(path, header, columns, np.arange(2, table.num_rows + 2), row_of)


def _numbers(col: np.ndarray) -> np.ndarray:
    """A column as floats, NaN where a cell is not a plain number (blank, '1,234', '4.5%', text).
    float() of each cell is the row-by-row reader's own parse (it ignores padding, as the
    reader's strip does)."""
    try:
        return col.astype(float)  # a numeric (Parquet) column, or cells that are all numbers
    except (ValueError, TypeError):
        out = np.empty(col.size)
        for k, text in enumerate(col):
            try:
                out[k] = float(text)
            except ValueError:
                out[k] = np.nan
        return out


def _from_columns(path: Path, header: list[str], columns: list[np.ndarray], row_nos: np.ndarray,
                  row_of) -> LoanTape:  # type: ignore[no-untyped-def]
    index = _check_header(path, header)
    n = row_nos.size
    if n == 0:
        raise InputError(f"{path}: the loan tape has a header but no loans")
    out = _Out.empty(n, index)
    bad = np.zeros(n, dtype=bool)

    def number(name: str, low: float, high: float, whole: bool = False,
               optional: bool = False) -> np.ndarray:
        """The column's values; rows outside [low, high] (or not whole) flagged."""
        nonlocal bad
        col = columns[index[name]]
        values = _numbers(col)
        missing = np.isnan(values)
        if optional and col.dtype == object:
            # A blank (or all-space) optional cell is allowed; any other cell that is not a number
            # goes to the row-by-row check.
            blank = np.zeros(col.size, dtype=bool)
            where_missing = np.flatnonzero(missing)
            blank[where_missing] = [not str(col[k]).strip() for k in where_missing]
            bad |= missing & ~blank
        else:
            bad |= missing
        with np.errstate(invalid="ignore"):
            bad |= ~missing & ((values < low) | (values > high) | (np.abs(values) > MAX_CELL_VALUE))
            if whole:
                bad |= ~missing & (values != np.floor(values))
        return values

    ids = columns[index["loan_id"]]
    bad |= ids == ""
    duplicate = _duplicated(ids)
    bal = number("balance", 0.0, np.inf)
    note = number("note_rate", 0.0, MAX_RATE)
    if "net_rate" in index:
        net = number("net_rate", 0.0, MAX_RATE)
    else:
        net = note - number("servicing_fee", 0.0, MAX_RATE)
    with np.errstate(invalid="ignore"):
        bad |= net > note
    orig = number("original_term", 1, MAX_TERM, whole=True)
    if "remaining_term" in index:
        rem = number("remaining_term", 0, MAX_TERM, whole=True)
    else:
        rem = orig - number("age", 0, MAX_TERM, whole=True)
    with np.errstate(invalid="ignore"):
        bad |= (rem < 0) | (rem > orig) | ((rem == 0) & (bal > 0))
    fico = number("fico", *FICO_RANGE, optional=True) if "fico" in index else None
    ltv = number("ltv", *LTV_RANGE, optional=True) if "ltv" in index else None

    good = ~bad & ~duplicate
    out.ids[:] = ids
    out.bal[good], out.note[good], out.net[good] = bal[good], note[good], net[good]
    out.orig[good], out.rem[good] = orig[good].astype(np.int64), rem[good].astype(np.int64)
    if out.fico is not None and fico is not None:
        out.fico[good] = fico[good]
    if out.ltv is not None and ltv is not None:
        out.ltv[good] = ltv[good]
    for name, arr in out.texts.items():
        col = columns[index[name]]
        arr[:] = _each(col, str.upper if name == "state" else str.lower)
    flagged = np.flatnonzero(~good)
    if flagged.size:
        first_row = {}
        if duplicate.any():
            for k in range(n):  # only when some id repeats
                first_row.setdefault(ids[k], int(row_nos[k]))
        for k in flagged:
            row_no = int(row_nos[k])
            seen = {ids[k]: first_row[ids[k]]} if duplicate[k] else {}
            _check_row(path, index, len(header), out, int(k), row_no, row_of(int(k)), seen)
    return out.tape(path)


def _each(col: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """fn of each cell, computed once per distinct cell (a state or occupancy column has a handful
    of values in a million rows)."""
    import pandas as pd

    codes, uniques = pd.factorize(col)
    mapped = np.array([fn(u) for u in uniques] + [""], dtype=object)  # code -1: none here (no NaN)
    return mapped[codes]


def _duplicated(ids: np.ndarray) -> np.ndarray:
    """True at each repeat of an id seen in an earlier row."""
    import pandas as pd

    return pd.Series(ids).duplicated(keep="first").to_numpy()


def _check_header(path: Path, header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in index:
            raise InputError(f"{path}: the column '{name}' appears twice in the header")
        if name:
            index[name] = j
    missing = [name for name in REQUIRED if name not in index]
    for pair in EITHER:
        if not any(name in index for name in pair):
            missing.append(f"{pair[0]} (or {pair[1]})")
    if missing:
        raise InputError(f"{path}: the loan tape has no column {', '.join(repr(m) for m in missing)}; "
                         f"the header has {', '.join(repr(h) for h in header)}; the required columns "
                         f"are loan_id, balance, note_rate, net_rate or servicing_fee, original_term, "
                         f"remaining_term or age")
    unknown = [name for name in index if name not in KNOWN]
    if unknown:
        # Nothing is ignored silently: a misspelt 'fico_score' would otherwise vanish.
        raise InputError(f"{path}: unknown column {', '.join(repr(u) for u in unknown)}; the columns a "
                         f"tape may have are {', '.join(KNOWN)}")
    return index


def _number(text: str, where: str, what: str) -> float:
    if not text:
        raise InputError(f"{where}: blank; expected {what}")
    return parse_cell_number(text, where, what)


def _rate(text: str, where: str, what: str) -> float:
    value = _number(text, where, f"a {what} in percent")
    if value < 0 or value > MAX_RATE:
        raise InputError(f"{where}: '{text}' is not a {what} between 0% and {MAX_RATE:g}% (rates are in "
                         "percent: 4.25 means 4.25%)")
    return value


def _term(text: str, where: str, what: str, low: int) -> int:
    value = _number(text, where, f"the {what} in months")
    if value != math.floor(value):
        raise InputError(f"{where}: '{text}' is not a whole number of months")
    if value < low or value > MAX_TERM:
        raise InputError(f"{where}: '{text}' is out of range; the {what} is {low} to {MAX_TERM} months")
    return int(value)


def _ranged(text: str, where: str, what: str, bounds: tuple[float, float]) -> float:
    value = _number(text, where, f"a {what}")
    if not bounds[0] <= value <= bounds[1]:
        raise InputError(f"{where}: '{text}' is not a {what} between {bounds[0]:g} and {bounds[1]:g}")
    return value


# Stratification -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StratRow:
    bucket: str
    count: int
    balance: float
    percent: float  # of the pool's balance
    wac: float
    wam: float


# Bucket edges as term sheets draw them: the lower edge is in the bucket, the upper is not.
STRAT_EDGES: dict[str, tuple[float, ...]] = {
    "balance": (0, 100_000, 200_000, 300_000, 400_000, 500_000, 750_000, 1_000_000),
    "note_rate": (0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0),
    "age": (0, 6, 12, 24, 36, 60, 120),
    "remaining_term": (0, 120, 180, 240, 300, 348, 360),
    "fico": (300, 620, 660, 700, 740, 780),
    "ltv": (0, 60, 70, 80, 90, 95, 100),
}


def _label(name: str, lo: float, hi: float | None) -> str:
    money = name == "balance"
    fmt = (lambda v: f"{v:,.0f}") if money else (lambda v: f"{v:g}")
    return f"{fmt(lo)} and over" if hi is None else f"{fmt(lo)} to < {fmt(hi)}"


def stratify(tape: LoanTape, by: str) -> list[StratRow]:
    """Count, balance, % of balance, WAC and WAM per bucket of one field (empty buckets left out;
    loans with the field blank form a 'not given' row, so the rows add up to the pool)."""
    total = float(tape.balance.sum())
    if by == "state":
        if tape.state is None:
            return []
        keys = tape.state.astype(str)
        groups = [(k or "not given", keys == k) for k in sorted(set(keys.tolist()))]
        groups.sort(key=lambda g: -float(tape.balance[g[1]].sum()))
    else:
        if by not in STRAT_EDGES:
            raise InputError(f"no stratification by '{by}'; choose one of "
                             f"{', '.join([*STRAT_EDGES, 'state'])}")
        values = getattr(tape, by) if by != "age" else tape.age
        if values is None:
            return []
        values = np.asarray(values, dtype=float)
        edges = STRAT_EDGES[by]
        groups = []
        for k, lo in enumerate(edges):
            hi = edges[k + 1] if k + 1 < len(edges) else None
            mask = (values >= lo) & ((values < hi) if hi is not None else True)
            groups.append((_label(by, lo, hi), mask))
        below = values < edges[0]
        if below.any():
            groups.insert(0, (f"under {edges[0]:g}", below))
        blank = np.isnan(values)
        if blank.any():
            groups.append(("not given", blank))
    rows = []
    for label, mask in groups:
        count = int(mask.sum())
        if count == 0:
            continue
        bal = float(tape.balance[mask].sum())
        w = tape.balance[mask] / bal if bal > 0 else np.full(count, 1.0 / count)
        rows.append(StratRow(label, count, bal, 100.0 * bal / total if total else 0.0,
                             float(w @ tape.note_rate[mask]), float(w @ tape.remaining_term[mask])))
    return rows


# Rep-lines --------------------------------------------------------------------------------------

def rep_lines(tape: LoanTape, name: str, rate_step: float | None = None,
              age_step: int | None = None) -> list[Pool]:
    """The tape as rep-line pools, for the engine.

    With no rule, loans that project identically (same note rate, net rate, original and
    remaining term) are summed: exact, whatever the speed. With `rate_step` (percent) and
    `age_step` (months), loans are bucketed by note rate and age (within each original term) and
    each bucket becomes one rep-line at its balance-weighted WAC, net coupon, remaining term and
    age (terms rounded to whole months): fewer lines, at the cost of a WAL difference that
    engine.tape measures."""
    live = tape.balance > 0
    if rate_step is None:
        keys = np.stack([tape.note_rate, tape.net_rate, tape.original_term, tape.remaining_term])[:, live]
    else:
        if rate_step <= 0 or not age_step or age_step <= 0:
            raise InputError("an aggregation rule needs a positive rate step and age step")
        # Original terms are never mixed: a 15-year and a 30-year loan amortise too differently
        # for one rep-line to stand for both.
        keys = np.stack([np.floor(tape.note_rate / rate_step + 1e-9), np.floor(tape.age / age_step),
                         tape.original_term])[:, live]
    _, group = np.unique(keys, axis=1, return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max(initial=-1)) + 1
    bal = tape.balance[live]
    totals = np.bincount(group, weights=bal, minlength=n_groups)

    def weighted(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=bal * values[live], minlength=n_groups) / totals

    wac, net = weighted(tape.note_rate), weighted(tape.net_rate)
    remaining = np.maximum(np.rint(weighted(tape.remaining_term.astype(float))), 1).astype(int)
    age = np.maximum(np.rint(weighted(tape.age.astype(float))), 0).astype(int)
    order = np.lexsort((age, -wac))  # as a term sheet lists them: highest rate first
    width = len(str(n_groups))
    return [Pool(name if n_groups == 1 else f"{name} #{k + 1:0{width}d}", float(totals[g]),
                 float(wac[g]) / 100.0, float(net[g]) / 100.0, int(remaining[g] + age[g]),
                 int(remaining[g]), int(age[g]))
            for k, g in enumerate(order)]


STRAT_TITLES = {"balance": "Current balance", "note_rate": "Note rate (%)", "age": "Loan age (months)",
                "remaining_term": "Remaining term (months)", "fico": "FICO", "ltv": "LTV (%)",
                "state": "State"}


def collateral_summary(tape: LoanTape) -> dict[str, object]:
    """The tape's statistics and stratification tables as plain data (for --json and printing)."""
    stats = statistics(tape)
    tables = {}
    for by, title in STRAT_TITLES.items():
        rows = stratify(tape, by)
        if rows:
            tables[by] = {"title": title, "rows": [
                {"bucket": r.bucket, "count": r.count, "balance": r.balance, "percent": r.percent,
                 "wac": r.wac, "wam": r.wam} for r in rows]}
    return {"path": tape.path, "count": stats.count, "balance": stats.balance,
            "average_balance": stats.average_balance, "wac": stats.wac, "net_wac": stats.net_wac,
            "wam": stats.wam, "wala": stats.wala, "strata": tables}
