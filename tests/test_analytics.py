"""Analytics: WAL, principal windows, decrement-table rounding and anniversaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from structurer.results import measures as analytics
from structurer.results.measures import (
    anniversary_periods,
    average_life_to_receipt,
    decrement_cell,
    last_payment_period,
    percent_outstanding,
    principal_window,
    weighted_average_life,
)

# WALs below are ratios of small integers: float64 gets them to 1e-15; 1e-12 leaves room.
RTOL = 1e-12


# ---- WAL = sum(k x P_k) / (12 x sum P_k)


def test_wal_single_bullet():
    p = np.zeros(120)
    p[119] = 1_000_000
    assert weighted_average_life(p) == pytest.approx(10.0, rel=RTOL)


def test_wal_by_hand():
    # (1 x 100 + 3 x 300) / (12 x 400) = 1000 / 4800
    assert weighted_average_life(np.array([100.0, 0.0, 300.0])) == pytest.approx(1000 / 4800,
                                                                                 rel=RTOL)


def test_wal_level_principal():
    # Equal principal in months 1..n: WAL = (n + 1) / 24 years.
    assert weighted_average_life(np.full(360, 5.0)) == pytest.approx(361 / 24, rel=RTOL)


def test_wal_counts_only_positive_principal():
    # An accrual class's accretion (negative principal) is not a payment.
    assert weighted_average_life(np.array([-50.0, 0.0, 0.0, 0.0, 0.0, 100.0])) == pytest.approx(
        0.5, rel=RTOL)


def test_wal_without_principal_is_nan():
    assert np.isnan(weighted_average_life(np.zeros(12)))


def test_wal_per_scenario():
    p = np.array([[12.0, 0.0], [0.0, 12.0]])
    assert weighted_average_life(p).tolist() == pytest.approx([1 / 12, 2 / 12], rel=RTOL)


def test_average_life_to_receipt_includes_the_delay():
    # Settle Jan 30; distributions on the 25th from Feb 25. 30/360: 25 days to Feb 25,
    # 55 days to Mar 25. Half the principal each: (25 + 55) / 2 / 360 years.
    dates = [dt.date(2027, 2, 25), dt.date(2027, 3, 25)]
    al = average_life_to_receipt(np.array([50.0, 50.0]), dt.date(2027, 1, 30), dates)
    assert al == pytest.approx(40 / 360, rel=RTOL)


def test_average_life_to_receipt_without_principal_is_nan():
    assert np.isnan(average_life_to_receipt(np.zeros(2), dt.date(2027, 1, 1),
                                            [dt.date(2027, 2, 1), dt.date(2027, 3, 1)]))


# ---- windows


def test_principal_window():
    p = np.array([[0, 0, 5, 0, 7, 0.0], [0, 0, 0, 0, 0, 0.0], [1, 0, 0, 0, 0, 1.0]])
    first, last = principal_window(p)
    assert first.tolist() == [3, 0, 1]
    assert last.tolist() == [5, 0, 6]


def test_principal_window_ignores_dust():
    # Half a cent and less is rounding, not a payment.
    first, last = principal_window(np.array([0.004, 10.0, 10.0, 0.005, 1e-9]))
    assert (int(first), int(last)) == (2, 3)
    assert analytics.PAYMENT_DUST == 0.005


def test_last_payment_period():
    assert last_payment_period(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])).tolist() == [2, 0]


# ---- decrement tables


@pytest.mark.parametrize("percent,cell", [
    (100.0, "100"),
    (99.5, "100"),      # half up
    (99.49, "99"),
    (2.5, "3"),         # half up, not to even
    (1.5, "2"),
    (0.5, "1"),         # the smallest whole percent
    (0.4999, "*"),      # a positive balance under half a percent
    (1e-9, "*"),
    (0.0, "0"),
    (-1e-12, "0"),
    (float("nan"), "0"),
])
def test_decrement_cell(percent, cell):
    assert decrement_cell(percent) == cell


def test_percent_outstanding():
    end = np.array([[90.0, 80.0, 70.0, 0.0]])
    pct = percent_outstanding(end, 100.0, [1, 3, 12])
    assert pct.tolist() == [[90.0, 70.0, 0.0]]     # past the last period: the last balance


def test_percent_outstanding_treats_rounding_dust_as_retired():
    # A balance of a fraction of a cent is what float rounding leaves of a retired class: the
    # decrement table must show 0, not '*'.
    pct = percent_outstanding(np.array([[1.6e-7, 0.004, 0.006]]), 73_000_000.0, [1, 2, 3])
    assert pct[0, 0] == 0.0 and pct[0, 1] == 0.0
    assert pct[0, 2] > 0.0
    assert [decrement_cell(p) for p in pct[0]] == ["0", "0", "*"]


@pytest.mark.parametrize("periods,rows", [
    (1, [12]),
    (12, [12]),
    (13, [12, 24]),
    (357, [12 * k for k in range(1, 31)]),
    (360, [12 * k for k in range(1, 31)]),
])
def test_anniversary_periods(periods, rows):
    assert anniversary_periods(periods) == rows
