"""Fractional holdings: a class divided into units, a register of holders, and each holder's
distribution per period in the smallest unit of the payment currency.

The rule (documented in docs/guide.md, "Fractional holdings"):

1. The class's interest and its principal of a period are each rounded, half up, to the smallest
   unit (10**-decimals: cents for 2, a token's base unit for 6 or 18). The float the engine
   computed is read by its shortest decimal text (``repr``), so 0.1 is 0.1, not the binary
   0.1000000000000000055...; from there on every amount is a Python integer of smallest units,
   so nothing drifts.
2. Each amount is split over the holders in force on the period's record date in proportion to
   their units by the largest-remainder method: every holder gets floor(amount * units / total);
   the units left over (fewer than the number of holders) go one each to the holders with the
   largest remainders, ties broken by the holder's identifier in ascending text order (a stable
   order that does not depend on how the register file is sorted).
3. So the holders' interest sums exactly to the class's rounded interest, their principal to its
   rounded principal, and their total to the class distribution (rounded interest + rounded
   principal), every period: no dust is created or lost.

Periods in which the class pays nothing (both amounts round to zero) have no ledger rows; the
class's amounts of every period are still kept (``Ledger.class_interest``, ``class_principal``).

Transfers: a register may carry a ``record_date`` column; the register in force for a period is
the latest one dated on or before the period's record date (rows with no date are in force from
the start).
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InputError
from ..inputs import read_text
from .statements import record_date, statement_scenario

if TYPE_CHECKING:
    from .results import Results

MAX_DECIMALS = 18
# Far beyond any class balance (inputs cap cells at 1e15), and within the 80 digits used below.
MAX_AMOUNT = 1e40
REGISTER_COLUMNS = ("holder", "units")
OPTIONAL_COLUMNS = ("class", "record_date")


def to_smallest_units(amount: float, decimals: int) -> int:
    """`amount` in integer smallest units (10**-decimals), rounded half up from its shortest
    decimal text."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise InputError(f"decimals must be 0 to {MAX_DECIMALS} (it was {decimals})")
    if not math.isfinite(amount) or abs(amount) > MAX_AMOUNT:
        raise InputError(f"cannot distribute {amount!r}: amounts are finite and at most {MAX_AMOUNT:g}")
    # The default context keeps 28 digits: 1e10 at 18 decimals has 29. 80 holds any finite amount
    # a deal can carry (at most ~1e15, MAX_CELL_VALUE) at any decimals, and then some.
    with localcontext(prec=80):
        value = Decimal(repr(float(amount))).scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(value)


def format_units(units: int, decimals: int) -> str:
    """Integer smallest units as exact decimal text ('1234' at 2 decimals -> '12.34')."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}" if decimals else f"{sign}{digits}"


def allocate(amount: int, holdings: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split `amount` (integer smallest units, >= 0) over (holder, units) by largest remainder;
    the result sums to `amount` exactly. Ties: holder identifier, ascending."""
    if amount < 0:
        raise InputError(f"cannot distribute a negative amount ({amount})")
    total = sum(units for _, units in holdings)
    if total <= 0:
        raise InputError("the register holds no units: nothing to divide the distribution by")
    shares: dict[str, int] = {}
    order: list[tuple[int, str]] = []  # (-remainder, holder): ascending is the rule's order
    for holder, units in holdings:
        q, r = divmod(amount * units, total)
        shares[holder] = q
        if r:
            order.append((-r, holder))
    left = amount - sum(shares.values())  # fewer than the holders with a remainder
    # Largest remainder first, equal remainders in holder order. Tuples compare natively (no key
    # function); a partial selection when few are needed, else one sort.
    chosen = heapq.nsmallest(left, order) if left * 8 < len(order) else sorted(order)[:left]
    for _, holder in chosen:
        shares[holder] += 1
    return shares


@dataclass(frozen=True)
class Register:
    """Who holds how many units of one class, by the date from which each register is in force
    (None: from the start)."""

    class_name: str
    units: int
    by_date: Mapping[dt.date | None, tuple[tuple[str, int], ...]]

    def in_force(self, record: dt.date) -> tuple[dt.date | None, tuple[tuple[str, int], ...]]:
        """The register in force on `record`: the latest dated on or before it."""
        dated = sorted((d for d in self.by_date if d is not None and d <= record), reverse=True)
        if dated:
            return dated[0], self.by_date[dated[0]]
        if None in self.by_date:
            return None, self.by_date[None]
        first = min(d for d in self.by_date if d is not None)
        raise InputError(f"class {self.class_name}: no register is in force on record date {record} "
                         f"(the first is dated {first}); add one dated on or before it, or rows with "
                         "no record_date")


def register(class_name: str, units: int,
             holdings: Mapping[dt.date | None, Sequence[tuple[str, int]]] | Sequence[tuple[str, int]],
             where: str = "register") -> Register:
    """A validated register from Python data: one list of (holder, units), or such lists by the
    date from which each is in force."""
    by_date = holdings if isinstance(holdings, Mapping) else {None: holdings}
    if units <= 0:
        raise InputError(f"class {class_name} must be divided into at least one unit (it was {units})")
    checked: dict[dt.date | None, tuple[tuple[str, int], ...]] = {}
    for date, rows in by_date.items():
        seen: set[str] = set()
        for holder, n in rows:
            if not holder:
                raise InputError(f"{where}: a holder with no identifier")
            if holder in seen:
                on = f" on {date}" if date else ""
                raise InputError(f"{where}: holder '{holder}' appears twice{on}")
            seen.add(holder)
            if n < 0:
                raise InputError(f"{where}: holder '{holder}' has negative units ({n})")
        total = sum(n for _, n in rows)
        if total != units:
            raise InputError(f"{where}{f' dated {date}' if date else ''}: the units sum to {total:,}, "
                             f"and class {class_name} is divided into {units:,}")
        checked[date] = tuple((h, int(n)) for h, n in rows)
    if not checked:
        raise InputError(f"{where}: no holders")
    return Register(class_name, units, checked)


def _whole(cell: str, where: str) -> int:
    text = cell.strip().replace(",", "").replace("_", "")
    try:
        return int(text)
    except ValueError:
        try:
            value = Decimal(text)
        except ArithmeticError:
            raise InputError(f"{where}: '{cell}' is not a whole number of units") from None
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise InputError(f"{where}: '{cell}' is not a whole number of units") from None


def read_register(path: str | Path, class_name: str, units: int) -> Register:
    """A register CSV: columns holder, units, and optionally class and record_date (any order;
    the header names them). Every error names the file, the row and the column."""
    path = Path(path)
    text = read_text(path, "register")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    missing = [c for c in REGISTER_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: the first row must be a header naming the columns holder and units "
                         f"(and optionally class, record_date); it lacks {', '.join(missing)}")
    unknown = [h for h in header if h not in REGISTER_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise InputError(f"{path}: unknown column '{unknown[0]}' (the columns are holder, units, class, "
                         "record_date)")
    col = {name: header.index(name) for name in header}
    by_date: dict[dt.date | None, list[tuple[str, int]]] = {}
    seen: dict[tuple[dt.date | None, str], int] = {}
    for row_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))

        def cell(name: str, row: list[str] = row) -> str:
            return row[col[name]].strip() if name in col else ""

        at = f"{path}, row {row_no}"
        if "class" in col and cell("class") != class_name:
            raise InputError(f"{at}, column 'class': '{cell('class')}' is not class {class_name}, whose "
                             "register this is")
        holder = cell("holder")
        if not holder:
            raise InputError(f"{at}, column 'holder': empty")
        n = _whole(cell("units"), f"{at}, column 'units'")
        if n < 0:
            raise InputError(f"{at}, column 'units': negative units ({n})")
        date: dt.date | None = None
        if cell("record_date"):
            try:
                date = dt.date.fromisoformat(cell("record_date"))
            except ValueError:
                raise InputError(f"{at}, column 'record_date': '{cell('record_date')}' is not a date "
                                 "(write YYYY-MM-DD)") from None
        if (date, holder) in seen:
            raise InputError(f"{at}, column 'holder': '{holder}' is already on row {seen[date, holder]}"
                             + (f" for record date {date}" if date else ""))
        seen[date, holder] = row_no
        by_date.setdefault(date, []).append((holder, n))
    return register(class_name, units, by_date, where=str(path))


class LedgerEntry(NamedTuple):
    """One holder's distribution of one period, in integer smallest units (a named tuple: a
    ledger of 10,000 holders has millions, and a frozen dataclass costs 4x as much to make)."""

    period: int
    record_date: dt.date
    payment_date: dt.date
    holder: str
    units: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.interest + self.principal


@dataclass(frozen=True)
class Ledger:
    """Every holder's distribution of one class, period by period, and the class's own rounded
    amounts (the holders' sums equal them exactly)."""

    deal: str
    class_name: str
    scenario: str
    decimals: int
    units: int
    entries: list[LedgerEntry]
    class_interest: dict[int, int]   # period -> the class's interest in smallest units
    class_principal: dict[int, int]

    def rows(self) -> list[dict[str, Any]]:
        """Records for export: integer smallest units as text (exact for any consumer: a JSON
        number loses digits beyond 2**53 in JavaScript), and the same amounts as decimal text."""
        d = self.decimals
        return [{"class": self.class_name, "period": e.period, "record_date": e.record_date.isoformat(),
                 "payment_date": e.payment_date.isoformat(), "holder": e.holder, "units": e.units,
                 "interest_units": str(e.interest), "principal_units": str(e.principal),
                 "total_units": str(e.total), "interest": format_units(e.interest, d),
                 "principal": format_units(e.principal, d), "total": format_units(e.total, d)}
                for e in self.entries]

    def holder_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for e in self.entries:
            totals[e.holder] = totals.get(e.holder, 0) + e.total
        return totals


def ledger(results: Results, reg: Register, decimals: int = 2, scenario: int | str | None = None,
           period: int | None = None) -> Ledger:
    """Each holder's distribution of `reg`'s class per period (or only `period`), for one scenario
    (default: the pricing scenario); see the module's rule."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise InputError(f"decimals must be 0 to {MAX_DECIMALS} (it was {decimals})")
    if period is not None and not 1 <= period <= results.periods:
        raise InputError(f"no period {period}: the run has periods 1 to {results.periods}")
    results.deal.tranche(reg.class_name)  # an unknown class: InputError naming the classes
    s = statement_scenario(results, scenario)
    a = results.arrays(reg.class_name)
    interest, principal = a["interest"][s], a["principal"][s]
    periods = range(1, results.periods + 1) if period is None else range(period, period + 1)
    entries: list[LedgerEntry] = []
    class_interest: dict[int, int] = {}
    class_principal: dict[int, int] = {}
    for p in periods:
        pay = results.dates[p - 1]
        record = record_date(pay)
        i_units = to_smallest_units(interest[p - 1], decimals)
        p_units = to_smallest_units(principal[p - 1], decimals)
        class_interest[p], class_principal[p] = i_units, p_units
        if i_units == 0 and p_units == 0:
            continue  # nothing to pay (a retired class's months): no rows a payer would act on
        _, holders = reg.in_force(record)
        i_shares, p_shares = allocate(i_units, holders), allocate(p_units, holders)
        entries.extend(LedgerEntry(p, record, pay, h, n, i_shares[h], p_shares[h]) for h, n in holders)
    return Ledger(results.deal.name, reg.class_name, results.scenarios[s], decimals, reg.units, entries,
                  class_interest, class_principal)


def units_for(results: Results, class_name: str, units: int | None = None,
              denomination: float | None = None) -> int:
    """The units a class is divided into: given, or its original face / a denomination (which
    must divide it exactly)."""
    if (units is None) == (denomination is None):
        raise InputError("give the class's units or its denomination (one of them)")
    if units is not None:
        if units <= 0:
            raise InputError(f"the units must be a positive whole number (it was {units})")
        return units
    face = Decimal(repr(results.original_balance(class_name)))
    step = Decimal(repr(float(denomination or 0.0)))
    if step <= 0:
        raise InputError(f"the denomination must be positive (it was {denomination})")
    count, rest = divmod(face, step)
    if rest != 0 or count <= 0:
        raise InputError(f"class {class_name}'s face {face:,} is not a whole number of "
                         f"{step:,} denominations")
    return int(count)


# The names the package exports (structurer.holder_register, structurer.holder_ledger).
holder_register = register
holder_ledger = ledger
