"""Total return / horizon analysis (valuation/horizon.py, SF-50/51) against hand calculations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import structurer as st
from structurer import valuation
from structurer.dates import add_months, days_30_360
from structurer.valuation import horizon as hz


def test_three_flows_by_hand() -> None:
    # Bought for 1,000 on Jan 1; pays 100 on Feb 1 and Mar 1 and 1,000 on Apr 1. Held 2 months
    # (to Mar 1), reinvesting at 6% (0.5% a month), sold at a 6% mortgage yield.
    dates = [dt.date(2027, 2, 1), dt.date(2027, 3, 1), dt.date(2027, 4, 1)]
    cash = np.array([[100.0, 100.0, 1000.0]])
    horizon = dt.date(2027, 3, 1)
    received, income = hz.reinvested(cash, dates, horizon, 0.06)
    assert received[0] == pytest.approx(200.0)
    assert income[0] == pytest.approx(100.0 * 0.005)  # Feb 1's 100 for one month; Mar 1's none
    bey = 2.0 * (1.005 ** 6 - 1.0)  # a 6% mortgage yield as a BEY
    sale = hz.value_at(cash, dates, horizon, bey)
    assert sale[0] == pytest.approx(1000.0 / 1.005)
    growth = (200.5 + 1000.0 / 1.005) / 1000.0
    ann_bey, ann_mtg = hz.annualise(np.array([growth]), 2)
    assert ann_bey[0] == pytest.approx(2.0 * (growth ** 3 - 1.0))
    assert ann_mtg[0] == pytest.approx(12.0 * (growth ** 0.5 - 1.0))


@pytest.fixture(scope="module")
def seq() -> tuple:
    deal = st.load("deals/sequential.waterfall")
    results = deal.run("100 PSA", "165 PSA", "300 PSA")
    return deal, results, valuation.quote(results, "A", price="99-16")


def test_a_deal_class_equals_the_hand_calculation(seq: tuple) -> None:
    deal, results, q = seq
    h = hz.horizon_return(results, q, 12, 0.04, "yield", 0.06)
    a = results.arrays("A")
    cash = a["interest"] + a["principal"]
    horizon = add_months(deal.settle, 12)
    assert h.horizon == horizon
    y_m = 12.0 * ((1.0 + 0.06 / 2.0) ** (1.0 / 6.0) - 1.0)
    for s in range(3):
        reinvest = sale = 0.0
        for k, d in enumerate(results.dates):
            if d <= horizon:
                reinvest += cash[s, k] * (1.0 + 0.04 / 12.0) ** (days_30_360(d, horizon) / 30.0)
            else:
                sale += cash[s, k] * (1.0 + y_m / 12.0) ** (-days_30_360(horizon, d) / 30.0)
        bought = (99.5 + q.accrued[s]) * deal.tranche("A").balance / 100.0
        total = (reinvest + sale) / bought - 1.0
        assert h.initial_value[s] == pytest.approx(bought, rel=1e-12)
        assert h.sale_value[s] == pytest.approx(sale, rel=1e-12)
        assert h.total_return[s] == pytest.approx(total, rel=1e-10)
        assert h.annualised_bey[s] == pytest.approx(2.0 * ((1.0 + total) ** 0.5 - 1.0), rel=1e-10)
    assert h.frame().shape == (3, 10)  # the scenarios in one table


def test_reinvesting_and_selling_at_the_yield_earns_the_yield(seq: tuple) -> None:
    # Bought at a yield, cash reinvested at that (mortgage) yield and sold at it: the horizon
    # value is the purchase compounded at the yield, whatever the speed.
    _, results, q = seq
    for s in range(3):
        h = hz.horizon_return(results, q, 24, float(q.mortgage_yield[s]), "yield", float(q.yield_[s]))
        assert h.annualised_bey[s] == pytest.approx(q.yield_[s], abs=1e-10)
        assert h.annualised_mortgage[s] == pytest.approx(q.mortgage_yield[s], abs=1e-10)


def test_selling_at_a_price_and_a_spread(seq: tuple) -> None:
    _, results, q = seq
    h = hz.horizon_return(results, q, 6, 0.03, "price", "100-00")
    np.testing.assert_allclose(h.horizon_price, 100.0, atol=1e-9)
    # Sold at its horizon yield, it fetches the same price back.
    again = hz.horizon_return(results, q, 6, 0.03, "yield", float(h.horizon_yield[1]))
    assert again.horizon_price[1] == pytest.approx(100.0, abs=1e-6)
    curve = valuation.make_curve("UST", [1, 2, 5, 10, 30], [0.041, 0.04, 0.04, 0.042, 0.045])
    spread = hz.horizon_return(results, q, 6, 0.03, "spread", 0.01, curve)
    assert np.all(np.isfinite(spread.total_return))
    with pytest.raises(st.InputError):
        hz.horizon_return(results, q, 6, 0.03, "spread", 0.01)


def test_a_class_retired_before_the_horizon_is_all_reinvestment(seq: tuple) -> None:
    _, results, q = seq
    h = hz.horizon_return(results, q, 300, 0.05, "yield", 0.06)
    assert np.all(h.sale_value < 1e-6)
    assert np.all(np.isnan(h.horizon_price))
