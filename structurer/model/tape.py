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
from ..inputs import checked_file, parse_cell_number
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


def _columns_from_parquet(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    _open_text(path).close()  # the same file checks as a CSV tape
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading a Parquet tape needs pyarrow (pip install pyarrow), "
                         "or give the tape as CSV") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"{path}: not a Parquet file ({exc})") from None
    header = [str(name).strip().lower() for name in table.column_names]
    columns = [["" if v is None else str(v) for v in table.column(i).to_pylist()]
               for i in range(table.num_columns)]
    # Row numbers as a spreadsheet would show them: the header is row 1.
    return header, [(n + 2, [col[n] for col in columns]) for n in range(table.num_rows)]


def read_tape(path: str | Path) -> LoanTape:
    """The loans of a CSV or Parquet tape, every row checked; InputError on the first bad cell."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        header, rows = _columns_from_parquet(path)
    else:
        header, rows = _columns_from_csv(path)
    index = _check_header(path, header)
    if not rows:
        raise InputError(f"{path}: the loan tape has a header but no loans")

    n = len(rows)
    ids = np.empty(n, dtype=object)
    bal = np.empty(n)
    note = np.empty(n)
    net = np.empty(n)
    orig = np.empty(n, dtype=np.int64)
    rem = np.empty(n, dtype=np.int64)
    fico = np.full(n, np.nan) if "fico" in index else None
    ltv = np.full(n, np.nan) if "ltv" in index else None
    texts = {name: np.empty(n, dtype=object) for name in TEXT_OPTIONAL if name in index}
    seen: dict[str, int] = {}

    for i, (row_no, row) in enumerate(rows):
        def cell(name: str, row: list[str] = row) -> str:
            j = index[name]
            return row[j].strip() if j < len(row) else ""

        def where(name: str, row_no: int = row_no) -> str:
            return f"{path}, row {row_no}, column '{name}'"

        if len(row) > len(header):
            raise InputError(f"{path}, row {row_no}: {len(row)} cells but the header names {len(header)} "
                             "columns; quote a cell that holds a comma")
        loan_id = cell("loan_id")
        if not loan_id:
            raise InputError(f"{where('loan_id')}: the loan id is blank; every loan needs an id")
        if loan_id in seen:
            raise InputError(f"{where('loan_id')}: loan id '{loan_id}' appears twice (rows {seen[loan_id]} "
                             f"and {row_no}); each loan is one row")
        seen[loan_id] = row_no
        ids[i] = loan_id

        b = _number(cell("balance"), where("balance"), "a balance")
        if b < 0:
            raise InputError(f"{where('balance')}: '{cell('balance')}' is negative; a loan's balance is "
                             "0 or more")
        bal[i] = b
        note[i] = _rate(cell("note_rate"), where("note_rate"), "note rate")
        if "net_rate" in index:
            net[i] = _rate(cell("net_rate"), where("net_rate"), "net rate")
        else:
            fee = _rate(cell("servicing_fee"), where("servicing_fee"), "servicing fee")
            net[i] = note[i] - fee
        if net[i] > note[i]:
            column = "net_rate" if "net_rate" in index else "servicing_fee"
            raise InputError(f"{where(column)}: the net rate {net[i]:g}% is above the note rate "
                             f"{note[i]:g}%; the net rate is the note rate less the servicing fee")
        o = _term(cell("original_term"), where("original_term"), "original term", low=1)
        orig[i] = o
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
        rem[i] = r
        if fico is not None and cell("fico"):
            fico[i] = _ranged(cell("fico"), where("fico"), "FICO score", FICO_RANGE)
        if ltv is not None and cell("ltv"):
            ltv[i] = _ranged(cell("ltv"), where("ltv"), "LTV (percent)", LTV_RANGE)
        for name, arr in texts.items():
            arr[i] = cell(name).upper() if name == "state" else cell(name).lower()

    return LoanTape(str(path), ids, bal, note, net, orig, rem, fico, ltv,
                    texts.get("state"), texts.get("occupancy"), texts.get("purpose"))


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
