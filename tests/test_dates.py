"""Payment dates and the 30/360 day count."""

from __future__ import annotations

import datetime as dt

import pytest

from structurer.dates import add_months, days_30_360, payment_dates

D = dt.date


@pytest.mark.parametrize("start,months,end", [
    (D(2027, 2, 25), 1, D(2027, 3, 25)),
    (D(2027, 2, 25), 11, D(2028, 1, 25)),
    (D(2027, 11, 25), 2, D(2028, 1, 25)),     # across a year end
    (D(2027, 1, 31), 1, D(2027, 2, 28)),      # clamped to the month's last day
    (D(2028, 1, 31), 1, D(2028, 2, 29)),      # leap year
    (D(2027, 3, 31), -1, D(2027, 2, 28)),
    (D(2027, 1, 15), 0, D(2027, 1, 15)),
    (D(2027, 1, 15), 360, D(2057, 1, 15)),
])
def test_add_months(start, months, end):
    assert add_months(start, months) == end


def test_add_months_does_not_drift():
    # Clamping one month does not shorten the months after it.
    assert add_months(D(2027, 1, 31), 2) == D(2027, 3, 31)


def test_payment_dates():
    dates = payment_dates(D(2027, 2, 25), 13)
    assert dates[0] == D(2027, 2, 25)
    assert dates[11] == D(2028, 1, 25)
    assert dates[12] == D(2028, 2, 25)
    assert len(dates) == 13
    assert payment_dates(D(2027, 1, 31), 3) == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31)]


@pytest.mark.parametrize("start,end,days", [
    (D(2027, 1, 30), D(2027, 2, 25), 25),
    (D(2027, 1, 1), D(2028, 1, 1), 360),
    (D(2027, 1, 31), D(2027, 3, 31), 60),      # both 31sts count as 30ths
    (D(2027, 1, 30), D(2027, 3, 31), 60),
    (D(2027, 1, 15), D(2027, 3, 31), 76),      # D2 = 31 stays 31 when D1 < 30
    (D(2027, 2, 28), D(2027, 3, 28), 30),
    (D(2027, 1, 30), D(2027, 1, 30), 0),
    (D(2027, 3, 25), D(2027, 2, 25), -30),
])
def test_days_30_360(start, end, days):
    assert days_30_360(start, end) == days
