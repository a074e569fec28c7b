"""Floating-rate measures (valuation/floating.py, SF-52 to SF-54) against hand calculations."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import structurer as st
from structurer import valuation
from structurer.valuation import floating as fl
from structurer.valuation import yields as pricing


def _quadratic_root(a: float, b: float, c: float) -> float:
    """The positive root of a x^2 + b x + c = 0 (the hand calculation's one step)."""
    return (-b + math.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)


def test_quarterly_actual_360_by_hand_on_both_bases() -> None:
    # Face 100 paying SOFR 4% + 50bp quarterly on actual/360; settles on the accrual start
    # (no accrued) at a full price of 99.5. Periods: Jan 15 - Apr 15 (90 days), Apr 15 - Jul 15
    # (91 days). Coupons 100 x 4.5% x 90/360 = 1.125 and 100 x 4.5% x 91/360 = 1.1375.
    settle = dt.date(2027, 1, 15)
    dates, cash, path = fl.bullet_floater(100.0, 0.04, 0.005, dt.date(2027, 4, 15), 2,
                                          "quarterly", "actual/360")
    assert dates == [dt.date(2027, 4, 15), dt.date(2027, 7, 15)]
    assert cash.tolist() == pytest.approx([1.125, 101.1375], abs=1e-12)
    price = 99.5

    # Money-market: 99.5 = 1.125/(1 + x a) + 101.1375/((1 + x a)(1 + x b)), a = 90/360,
    # b = 91/360, x = index + DM: multiply out to a quadratic in x.
    a, b = 90 / 360, 91 / 360
    x = _quadratic_root(price * a * b, price * (a + b) - 1.125 * b, price - 1.125 - 101.1375)
    dm_mm = x - 0.04
    # Bond-equivalent: each quarter is 90/360 = 0.25 year on 30/360, so with v = (1 + y/2)^(-1/2)
    # 99.5 = 1.125 v + 101.1375 v^2.
    v = _quadratic_root(101.1375, 1.125, -price)
    y_be = 2.0 * (v ** -2 - 1.0)
    index_be = 2.0 * ((1.0 + 0.04 * (365 / 360) / 4) ** 2 - 1.0)  # quarterly act/360 as a BEY

    m = fl.floating_measures(cash[None, :], path[None, :], np.array([price]), settle, dates,
                             "actual/360", "quarterly")
    assert m.index_yield_mm[0] == pytest.approx(0.04, abs=1e-15)
    assert m.index_yield_bey[0] == pytest.approx(index_be, abs=1e-14)
    assert m.yield_mm[0] == pytest.approx(x, abs=1e-11)
    assert m.yield_bey[0] == pytest.approx(y_be, abs=1e-11)
    assert m.spread_mm[0] == pytest.approx(dm_mm, abs=1e-11)
    assert m.spread_bey[0] == pytest.approx(y_be - index_be, abs=1e-11)
    # A flat index: the discount margin is the yield spread on the same basis.
    assert m.margin_mm[0] == pytest.approx(dm_mm, abs=1e-11)
    assert m.margin_bey[0] == pytest.approx(y_be - index_be, abs=1e-11)
    # The bases differ: the same price is a different margin on each.
    assert abs(m.margin_mm[0] - m.margin_bey[0]) > 5e-5  # 0.7bp here
    # Read the other way, the margin gives back the price.
    back = fl.price_from_margin(cash[None, :], path[None, :], m.margin_mm, settle, dates, "actual/360", 4)
    assert back[0] == pytest.approx(price, abs=1e-9)


def test_semiannual_30_360_bases_agree_by_hand() -> None:
    # Semiannual on 30/360: both bases discount a half year by 1/(1 + r/2), and the index's
    # BEY is itself, so every pair of figures agrees. 99 = 3 u + 103 u^2, u = 1/(1 + x/2).
    settle = dt.date(2027, 1, 1)
    dates, cash, path = fl.bullet_floater(100.0, 0.05, 0.01, dt.date(2027, 7, 1), 2, "semiannual", "30/360")
    u = _quadratic_root(103.0, 3.0, -99.0)
    x = 2.0 * (1.0 / u - 1.0)
    m = fl.floating_measures(cash, path, 99.0, settle, dates, "30/360", 2)
    for figure in (m.spread_mm, m.spread_bey, m.margin_mm, m.margin_bey):
        assert figure[0] == pytest.approx(x - 0.05, abs=1e-11)


def test_actual_actual_monthly_and_a_moving_index() -> None:
    # Monthly, actual/actual, an index path that rises: the discount margin discounts each
    # period at its own index, so it is no longer the yield spread; its PV is the price.
    settle = dt.date(2027, 12, 1)
    path = np.linspace(0.03, 0.05, 24)
    dates, cash, path = fl.bullet_floater(100.0, path, 0.004, dt.date(2028, 1, 1), 24, 12, "actual/actual")
    m = fl.floating_measures(cash, path, 100.0, settle, dates, "actual/actual", "monthly")
    assert m.margin_mm[0] == pytest.approx(0.004, abs=1e-9)  # a par floater's margin is its margin
    assert abs(m.margin_mm[0] - m.spread_mm[0]) > 1e-4
    for on, margin in (("money-market", m.margin_mm), ("bond-equivalent", m.margin_bey)):
        pv = fl.price_from_margin(cash, path, margin, settle, dates, "actual/actual", 12, on=on)
        assert pv[0] == pytest.approx(100.0, abs=1e-9)


def test_no_margin_prices_nothing() -> None:
    m = fl.floating_measures(np.zeros((1, 3)), np.full((1, 3), 0.04), 100.0, dt.date(2027, 1, 1),
                             [dt.date(2027, 2, 1), dt.date(2027, 3, 1), dt.date(2027, 4, 1)])
    assert np.isnan(m.margin_mm[0]) and np.isnan(m.spread_bey[0])


def test_pay_frequency_words() -> None:
    assert [fl.frequency(w) for w in ("monthly", "Quarterly", "semiannual", 4)] == [12, 4, 2, 4]
    with pytest.raises(st.InputError):
        fl.frequency(3)


def test_deal_floater_quote_carries_the_measures() -> None:
    deal = st.load("deals/floater.waterfall")
    results = deal.run("165 PSA", "SOFR 8%")
    q = valuation.quote(results, "FL", price="99-16")
    assert q.floating is not None
    # The bond-equivalent yield of the floating measures is the quote's own BEY.
    np.testing.assert_allclose(q.floating.yield_bey, q.yield_, atol=1e-10)
    # The index yield is the first period's index: 4.30% on the curve; 8% in the flat scenario.
    assert q.floating.index_yield_mm.tolist() == pytest.approx([0.043, 0.08])
    np.testing.assert_allclose(q.floating.index_yield_bey,
                               pricing.bey_from_mortgage(q.floating.index_yield_mm))
    row = q.row(1)
    # A flat 8% SOFR: the discount margin is the yield spread (the standard's constant index).
    assert row["discount_margin_mm_bp"] == pytest.approx(row["spread_to_index_mm_bp"], abs=1e-6)
    assert row["discount_margin_bey_bp"] == pytest.approx(row["spread_to_index_bey_bp"], abs=1e-6)
    assert valuation.quote(results, "A", price=100).floating is None
