"""Accrued interest is computed once (valuation.quotes.accrued_interest), on the class's own basis."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import structurer
from structurer.dates import ACTUAL_360, THIRTY_360
from structurer.valuation import quotes as valuation
from structurer.valuation import yields as pricing

# The case: an actual/360 floater settling 2027-03-10, first payment 2027-03-25, price 100.
DEAL = """
deal "FLT" {
  settle 2027-03-10
  first payment 2027-03-25
  delay 24 days
  day count actual/360
}
collateral {
  pool "P" { balance 100mm  wac 6.0%  coupon 5.5%  term 360  age 0 }
}
class A   SEQ      balance 60mm  coupon 5.0%
class FL  SEQ/FLT  balance 40mm  coupon SOFR + 50bp  cap 5.3%  floor 0.5%
class R   R
waterfall {
  interest: pay each class its coupon
  principal: pay A then FL
}
scenarios {
  pricing 150 PSA
  index SOFR 4%
}
"""


@pytest.fixture(scope="module")
def deal() -> structurer.Deal:
    return structurer.loads(DEAL, "flt.waterfall")


def test_the_floater_accrues_actual_days_from_the_dated_date(deal: structurer.Deal) -> None:
    results = deal.run("150 PSA")
    # Feb 1 (the first accrual period's start) to Mar 10: 37 actual days (30/360 would say 39)
    # at the first coupon, SOFR 4% + 50bp.
    assert valuation.accrued_per_100(results, "FL")[0] == pytest.approx(100 * 0.045 * 37 / 360, abs=1e-13)
    # The fixed class stays 30/360: 39 days.
    assert valuation.accrued_per_100(results, "A")[0] == pytest.approx(100 * 0.05 * 39 / 360, abs=1e-13)
    assert valuation.accrued_per_100(results, "R")[0] == 0.0


def test_quote_and_index_yield_table_agree_on_the_floater(deal: structurer.Deal) -> None:
    q = valuation.quote(deal.run("150 PSA"), "FL", price=100.0)
    table = valuation.index_yield_table(deal, "FL", 100.0, ["150 PSA"], "SOFR", [0.04])
    assert q.accrued[0] == pytest.approx(0.4625, abs=1e-13)
    assert float(table.iloc[0, 0]) == pytest.approx(100 * float(q.yield_[0]), abs=1e-9)
    # And the yield is the one that discounts the cash to 100 + 37/360 of 4.5%.
    results = deal.run("150 PSA")
    months = pricing.discount_months(deal.settle, results.dates)
    pv = pricing.present_value(valuation.class_cash(results, "FL"), months, q.yield_)
    assert 100 * pv[0] / 40e6 == pytest.approx(100.4625, abs=1e-9)
    assert 100 * float(q.yield_[0]) == pytest.approx(4.582935, abs=5e-7)


def test_accrued_interest_per_scenario_follows_the_coupon(deal: structurer.Deal) -> None:
    coupons = np.array([0.045, 0.03])
    got = valuation.accrued_interest(deal, deal.tranche("FL"), coupons)
    assert got == pytest.approx(100 * coupons * 37 / 360, abs=1e-13)


def test_accrued_fraction_on_each_basis() -> None:
    settle, first = dt.date(2027, 3, 10), dt.date(2027, 3, 25)
    assert pricing.accrued_fraction(settle, first, THIRTY_360) == pytest.approx(39 / 30, abs=1e-15)
    assert pricing.accrued_fraction(settle, first, ACTUAL_360) == pytest.approx(37 / 30, abs=1e-15)
    # Settling before the dated date accrues nothing.
    assert pricing.accrued_fraction(dt.date(2027, 1, 15), first, ACTUAL_360) == 0.0


def test_each_scenario_accrues_at_its_own_first_coupon(deal: structurer.Deal) -> None:
    # SOFR 2% and 4.5% in one run: the floater's first coupons are 2.5% and 5.0% (under its
    # 5.3% cap), so its accrued differs by scenario and each matches the scenario run alone.
    from structurer.model import Prepayment, RatePath, Scenario

    speed = Prepayment.constant(150, "PSA")
    specs = [Scenario(speed, (("SOFR", RatePath.level(level)),)) for level in (0.02, 0.045)]
    results = deal.run(*specs)
    q = valuation.quote(results, "FL", price=100.0)
    assert q.accrued == pytest.approx([100 * 0.025 * 37 / 360, 100 * 0.05 * 37 / 360], abs=1e-13)
    for s, spec in enumerate(specs):
        alone = valuation.quote(deal.run(spec), "FL", price=100.0)
        assert q.row(s)["accrued"] == alone.row(0)["accrued"]
        assert q.yield_[s] == pytest.approx(alone.yield_[0], abs=1e-12)
