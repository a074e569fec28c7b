"""Payment dates, accrual periods and day counts.

A day count is an object (`DayCount`): its name as a deal writes it, `days(start, end)` and
`year_fraction(start, end)`. `DAY_COUNTS` holds one of each by name and alias; `day_count(name)`
looks one up for the parser, the checker, the engine and valuation alike.
"""

from __future__ import annotations

import calendar
import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from .errors import InputError, did_you_mean


def add_months(date: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 -> Feb 28)."""
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    day = min(date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def payment_dates(first_payment: dt.date, periods: int) -> list[dt.date]:
    """Distribution dates of periods 1..periods: monthly, on the first payment date's day."""
    return list(_payment_dates(first_payment, periods))


@lru_cache(maxsize=64)
def _payment_dates(first_payment: dt.date, periods: int) -> tuple[dt.date, ...]:
    # Once per deal: a solver's or a tie-out's every run would otherwise date 360 periods anew.
    return tuple(add_months(first_payment, k) for k in range(periods))


def days_30_360(start: dt.date, end: dt.date) -> int:
    """Days between two dates by the 30/360 (Bond Basis) convention SIFMA uses for agency MBS."""
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def accrual_days(first_payment: dt.date, periods: int) -> list[int]:
    """Actual days in each period's accrual period (accrual_periods)."""
    return [(b - a).days for a, b in accrual_periods(first_payment, periods)]

def accrual_periods(first_payment: dt.date, periods: int) -> list[tuple[dt.date, dt.date]]:
    """(start, end) of each period's accrual period: the calendar month before its distribution
    month, end exclusive (the agency convention for classes paid with a delay)."""
    out = []
    for k in range(periods):
        paid = add_months(first_payment, k)
        end = dt.date(paid.year, paid.month, 1)
        out.append((add_months(end, -1), end))
    return out


def accrual_start(first_payment: dt.date) -> dt.date:
    """First day of the month before the first distribution: the first accrual period's start
    (the dated date of a new deal)."""
    return accrual_periods(first_payment, 1)[0][0]


# ---------------------------------------------------------------------------- payment delay

# The stated delay counts from the first day of the accrual month (a 31-day month is assumed);
# the actual delay from the first day of the month after it, when the accrual period ends.
STATED_DELAY_EXTRA = 31


@dataclass(frozen=True)
class AgencyConvention:
    """An agency program's payment convention: `delay` actual days after the accrual month,
    so payment on day `delay + 1` of the month after it."""

    name: str
    delay: int

    @property
    def payment_day(self) -> int:
        return payment_day(self.delay)

    @property
    def stated_delay(self) -> int:
        return self.delay + STATED_DELAY_EXTRA


AGENCIES: dict[str, AgencyConvention] = {a.name: a for a in (
    AgencyConvention("FNMA", 24),
    AgencyConvention("FHLMC", 14),  # Gold PCs
    AgencyConvention("GNMA I", 14),
    AgencyConvention("GNMA II", 19),
)}
_AGENCY_KEYS = {name.replace(" ", "").upper(): a for name, a in AGENCIES.items()} | {
    "GNMA1": AGENCIES["GNMA I"], "GNMA2": AGENCIES["GNMA II"],
    "GNMA-I": AGENCIES["GNMA I"], "GNMA-II": AGENCIES["GNMA II"],
}


def agency_convention(name: str) -> AgencyConvention:
    """The program written `name` ('FNMA', 'GNMA II', any case); InputError if there is none."""
    found = _AGENCY_KEYS.get(name.replace(" ", "").upper())
    if found is None:
        hint = did_you_mean(name, list(AGENCIES))
        raise InputError(f"'{name}' is not an agency program; the programs are {', '.join(AGENCIES)}"
                         + (f" ({hint})" if hint else ""))
    return found


def payment_day(delay: int) -> int:
    """The day of the month a class with an actual delay of `delay` days is paid on: the accrual
    period ends on the 1st, so 24 days later is the 25th."""
    return delay + 1


def delay_of(payment: dt.date) -> int:
    """The actual delay of a distribution on `payment`: days after its accrual period ends."""
    return (payment - accrual_periods(payment, 1)[0][1]).days


def first_payment_after(settle: dt.date, delay: int) -> dt.date:
    """The first distribution of a deal settled on `settle` (dated the 1st of its month), paid
    `delay` days after the end of its first accrual month (clamped to a short month's end)."""
    nxt = add_months(dt.date(settle.year, settle.month, 1), 1)
    return nxt + dt.timedelta(days=min(delay, calendar.monthrange(nxt.year, nxt.month)[1] - 1))


# ---------------------------------------------------------------------------- day counts


@dataclass(frozen=True)
class DayCount(ABC):
    """A day-count convention. Instances of one class are equal: a convention has no settings."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()

    def days(self, start: dt.date, end: dt.date) -> int:
        """Days from start to end under the convention (negative when end is earlier)."""
        return (end - start).days

    @abstractmethod
    def year_fraction(self, start: dt.date, end: dt.date) -> float:
        """The period in years."""

    def months(self, start: dt.date, end: dt.date) -> float:
        """The period as a multiple of a 30/360 month (a twelfth of a year): what a monthly
        coupon of rate/12 is scaled by."""
        return 12.0 * self.year_fraction(start, end)

    def accrual_months(self, first_payment: dt.date, periods: int) -> np.ndarray:
        """`months` of each period's accrual period (accrual_periods), for periods 1..periods."""
        return np.array([self.months(a, b) for a, b in accrual_periods(first_payment, periods)])

    @property
    def longest_month(self) -> float:
        """The most `months` any calendar month counts for (31/30 on actual/360): the most of a
        twelfth of its rate a class on this basis can draw in a period."""
        return float(self.accrual_months(dt.date(2001, 2, 1), 12).max())

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Thirty360(DayCount):
    """30/360 (Bond Basis), SIFMA's convention for agency MBS and CMO fixed coupons."""

    name: ClassVar[str] = "30/360"

    def days(self, start: dt.date, end: dt.date) -> int:
        return days_30_360(start, end)

    def year_fraction(self, start: dt.date, end: dt.date) -> float:
        return self.days(start, end) / 360.0

    def months(self, start: dt.date, end: dt.date) -> float:
        return self.days(start, end) / 30.0  # exact: a whole month is 1.0, not 12 x (30/360)


@dataclass(frozen=True)
class Actual360(DayCount):
    """Actual/360: actual days over a 360-day year (money-market floaters on SOFR)."""

    name: ClassVar[str] = "actual/360"
    aliases: ClassVar[tuple[str, ...]] = ("act/360",)

    def year_fraction(self, start: dt.date, end: dt.date) -> float:
        return self.days(start, end) / 360.0

    def months(self, start: dt.date, end: dt.date) -> float:
        return self.days(start, end) / 30.0  # days/360 of a year is days/30 of a twelfth


@dataclass(frozen=True)
class Actual365(DayCount):
    """Actual/365 (Fixed): actual days over 365, leap years or not."""

    name: ClassVar[str] = "actual/365"
    aliases: ClassVar[tuple[str, ...]] = ("act/365", "actual/365f", "act/365f")

    def year_fraction(self, start: dt.date, end: dt.date) -> float:
        return self.days(start, end) / 365.0


@dataclass(frozen=True)
class ActualActual(DayCount):
    """Actual/actual (ISDA): the days in each calendar year over that year's length."""

    name: ClassVar[str] = "actual/actual"
    aliases: ClassVar[tuple[str, ...]] = ("act/act",)

    def year_fraction(self, start: dt.date, end: dt.date) -> float:
        if end < start:
            return -self.year_fraction(end, start)
        total = 0.0
        for year in range(start.year, end.year + 1):
            a = max(start, dt.date(year, 1, 1))
            b = min(end, dt.date(year + 1, 1, 1))
            total += (b - a).days / (366.0 if calendar.isleap(year) else 365.0)
        return total


THIRTY_360 = Thirty360()
ACTUAL_360 = Actual360()
DAY_COUNTS: dict[str, DayCount] = {
    key: convention
    for convention in (THIRTY_360, ACTUAL_360, Actual365(), ActualActual())
    for key in (convention.name, *convention.aliases)
}


def day_count(name: str | DayCount) -> DayCount:
    """The convention written `name` (any case, 'act' for 'actual'); InputError if there is none."""
    if isinstance(name, DayCount):
        return name
    found = DAY_COUNTS.get(str(name).strip().lower())
    if found is None:
        names = sorted({c.name for c in DAY_COUNTS.values()})
        hint = did_you_mean(str(name), names)
        raise InputError(f"'{name}' is not a day count; the day counts are {', '.join(names)}"
                         + (f" ({hint})" if hint else ""))
    return found
