"""Payment dates, accrual periods and the day-count objects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from structurer.dates import (
    ACTUAL_360,
    DAY_COUNTS,
    THIRTY_360,
    accrual_days,
    accrual_periods,
    add_months,
    day_count,
    days_30_360,
    payment_dates,
)
from structurer.errors import InputError

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


# ---------------------------------------------------------------------------- day counts as objects


@pytest.mark.parametrize("name,days,years", [
    ("30/360", 39, 39 / 360),
    ("actual/360", 37, 37 / 360),
    ("actual/365", 37, 37 / 365),
    ("actual/actual", 37, 37 / 365),
])
def test_day_count_days_and_year_fraction(name, days, years):
    basis = day_count(name)
    assert basis.name == name and str(basis) == name
    assert basis.days(D(2027, 2, 1), D(2027, 3, 10)) == days
    assert basis.year_fraction(D(2027, 2, 1), D(2027, 3, 10)) == pytest.approx(years, abs=1e-15)


def test_actual_actual_splits_a_period_across_years():
    # 2027-12-01 to 2028-03-01: 31 days of 2027 (365) and 60 of 2028 (a leap year, 366).
    got = day_count("act/act").year_fraction(D(2027, 12, 1), D(2028, 3, 1))
    assert got == pytest.approx(31 / 365 + 60 / 366, abs=1e-15)
    assert day_count("act/act").year_fraction(D(2028, 3, 1), D(2027, 12, 1)) == pytest.approx(-got)


def test_the_registry_knows_aliases_and_refuses_the_unknown_in_words():
    assert day_count("ACT/360") is day_count("actual/360") is ACTUAL_360
    assert day_count(THIRTY_360) is THIRTY_360
    assert ACTUAL_360 == day_count("actual/360") and ACTUAL_360 != THIRTY_360
    assert {c.name for c in DAY_COUNTS.values()} == {"30/360", "actual/360", "actual/365", "actual/actual"}
    with pytest.raises(InputError, match="'30/365' is not a day count; the day counts are 30/360"):
        day_count("30/365")


def test_accrual_months_scale_a_monthly_coupon():
    # Distributions in Feb, Mar, Apr 2027 pay for January (31 days), February (28), March (31).
    assert accrual_periods(D(2027, 2, 25), 1) == [(D(2027, 1, 1), D(2027, 2, 1))]
    assert accrual_days(D(2027, 2, 25), 3) == [31, 28, 31]
    assert ACTUAL_360.accrual_months(D(2027, 2, 25), 3).tolist() == [31 / 30, 28 / 30, 31 / 30]
    assert THIRTY_360.accrual_months(D(2027, 2, 25), 24).tolist() == [1.0] * 24  # exactly one month
    assert ACTUAL_360.longest_month == 31 / 30
    assert THIRTY_360.longest_month == 1.0


def test_a_deal_carries_its_day_count_object():
    import structurer

    deal = structurer.load(Path(__file__).resolve().parent.parent / "deals" / "floater.waterfall")
    assert deal.day_count is THIRTY_360
