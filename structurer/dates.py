"""Payment dates and 30/360 day counts."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(date: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1 -> Feb 28)."""
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    day = min(date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def payment_dates(first_payment: dt.date, periods: int) -> list[dt.date]:
    """Distribution dates of periods 1..periods: monthly, on the first payment date's day."""
    return [add_months(first_payment, k) for k in range(periods)]


def days_30_360(start: dt.date, end: dt.date) -> int:
    """Days between two dates by the 30/360 (Bond Basis) convention SIFMA uses for agency MBS."""
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def accrual_days(first_payment: dt.date, periods: int) -> list[int]:
    """Actual days in each period's accrual period: the calendar month before its distribution
    month (the agency convention for classes paid with a delay)."""
    out = []
    for k in range(periods):
        paid = add_months(first_payment, k)
        month_start = dt.date(paid.year, paid.month, 1)
        before = add_months(month_start, -1)
        out.append((month_start - before).days)
    return out
