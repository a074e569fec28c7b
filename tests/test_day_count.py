"""Floating-rate day count: 30/360 by default, actual/360 when the deal header says so."""

from __future__ import annotations

import pytest

import structurer
from structurer.errors import DealError, DealErrors
from structurer.valuation import quotes as valuation

DEAL = """
deal "ACT" {{
  settle 2027-01-30
  first payment 2027-02-25
  delay 24 days
  {day_count}
}}
collateral {{
  pool "P" {{ balance 100mm  wac 7.0%  coupon 6.5%  term 360  age 0 }}
}}
class A   SEQ      balance 60mm  coupon 6.0%
class FL  SEQ/FLT  balance 40mm  coupon SOFR + 50bp  cap {cap}  floor 0.5%
class R   R
waterfall {{
  interest: pay each class its coupon
  principal: pay A then FL
}}
scenarios {{
  pricing 165 PSA
  index SOFR 4%
}}
"""

# Money figures are products of a few exact decimals: a cent's millionth is rounding.
TOL = 1e-8


def deal(day_count: str = "", cap: str = "6.0%") -> structurer.Deal:
    return structurer.loads(DEAL.format(day_count=day_count, cap=cap), "act.waterfall")


def test_the_default_is_30_360():
    d = deal()
    assert d.day_count.name == "30/360"
    flows = d.run().class_cashflows("FL")
    # FL is outstanding and unpaid through these periods (A is paid first): 4.5% / 12 each month.
    assert flows["interest"].iloc[:3].tolist() == pytest.approx([40e6 * 0.045 / 12] * 3, rel=TOL)


@pytest.mark.parametrize("written", ["actual/360", "act/360", "ACTUAL/360"])
def test_actual_360_accrues_the_days_of_the_accrual_month(written):
    d = deal(f"day count {written}")
    assert d.day_count.name == "actual/360"
    flows = d.run().class_cashflows("FL")
    # Distributions in Feb, Mar, Apr 2027 pay for January (31 days), February (28), March (31).
    want = [40e6 * 0.045 * days / 360 for days in (31, 28, 31)]
    assert flows["interest"].iloc[:3].tolist() == pytest.approx(want, rel=TOL)
    # Fixed coupons stay 30/360.
    fixed = d.run().class_cashflows("A")
    assert fixed["interest"].iloc[0] == pytest.approx(60e6 * 0.06 / 12, rel=TOL)


def test_accrued_interest_of_a_floater_on_actual_360():
    d = deal("day count actual/360")
    results = d.run()
    # January 1 to the January 30 settlement: 29 actual days of 4.5%, per 100.
    assert valuation.accrued_per_100(results, "FL")[0] == pytest.approx(100 * 0.045 * 29 / 360, rel=TOL)
    assert valuation.accrued_per_100(results, "A")[0] == pytest.approx(100 * 0.06 / 12 * 29 / 30, rel=TOL)


def test_the_interest_proof_charges_a_31_day_month():
    # A 6.4% cap fits under the 6.5% collateral on 30/360, but 6.4% x 31/30 = 6.61% does not.
    deal("", cap="6.4%")
    with pytest.raises(DealErrors) as info:
        deal("day count actual/360", cap="6.4%")
    assert "class FL can draw 6.613% of interest" in str(info.value)


def test_a_bad_day_count_is_a_syntax_error_in_words():
    with pytest.raises(DealError) as info:
        deal("day count 30/365")
    text = str(info.value)
    assert "act.waterfall:6:3" in text
    assert "'day count 30/365' is not a day count" in text
    assert "day count actual/360" in text


def test_the_engine_asks_the_day_count_object():
    # Any registered convention accrues through DayCount.accrual_months: actual/365 here.
    import dataclasses

    from structurer.dates import day_count

    d = dataclasses.replace(deal(), day_count=day_count("actual/365"))
    flows = d.run().class_cashflows("FL")
    want = [40e6 * 0.045 * days / 365 for days in (31, 28, 31)]
    assert flows["interest"].iloc[:3].tolist() == pytest.approx(want, rel=TOL)
    results = d.run()
    assert valuation.accrued_per_100(results, "FL")[0] == pytest.approx(100 * 0.045 * 29 / 365, rel=TOL)
