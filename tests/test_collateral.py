"""Collateral cash flows, checked against figures worked out from the SIFMA formulas by hand.

Nothing here takes an expected number from the engine: each is either a published figure or
computed in the test, step by step, from the formulas in DESIGN.md section 3.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_deal, deal_text

from structurer.engine.collateral import amortization_fraction, collateral_flows, level_payment
from structurer.engine.prepayment import smm_matrix
from structurer.model import Pool
from structurer.model.prepayment import Prepayment

# Hand arithmetic and the engine's cumulative products differ only in float rounding
# (relative 1e-15 per step, a few hundred steps): 1e-10 relative is far above that noise and
# far below a cent on any balance here.
RTOL = 1e-10


def run_pool(pool: Pool, smm: float | np.ndarray, periods: int | None = None):
    periods = periods or pool.remaining
    smm_arr = np.broadcast_to(np.asarray(smm, dtype=float), (periods,)).reshape(1, 1, periods)
    return collateral_flows([pool], smm_arr)


# ---------------------------------------------------------------------------- level payment


def test_level_payment_of_a_200000_30_year_4pct_loan():
    # P = B r / (1 - (1 + r)^-n), r = 4%/12, n = 360: $954.83 a month.
    r = 0.04 / 12
    by_hand = 200_000 * r / (1 - (1 + r) ** -360)
    assert round(by_hand, 2) == 954.83
    assert round(level_payment(200_000, 0.04, 360), 2) == 954.83


def test_first_month_of_that_loan_as_a_pool():
    # With no prepayment the first month's scheduled principal plus gross interest is the
    # level payment: 954.83 = 666.67 interest + 288.16 principal.
    pool = Pool("loan", 200_000, 0.04, 0.04, 360, 360, 0)
    cf = run_pool(pool, 0.0)
    assert round(cf.interest[0, 0], 2) == 666.67
    assert round(cf.scheduled_principal[0, 0], 2) == 288.16
    assert round(cf.interest[0, 0] + cf.scheduled_principal[0, 0], 2) == 954.83


def test_level_payment_at_zero_rate_is_straight_line():
    assert level_payment(1200, 0.0, 12) == 100.0


def test_without_prepayment_the_payment_stays_level():
    # Re-amortising on the remaining term with no prepayment gives the same payment every month.
    pool = Pool("P", 1_000_000, 0.07, 0.065, 360, 300, 60)
    cf = run_pool(pool, 0.0)
    gross = cf.interest + cf.servicing_fee + cf.scheduled_principal
    assert gross[0] == pytest.approx(level_payment(1_000_000, 0.07, 300), rel=RTOL)
    assert cf.ending_balance[0, -1] == 0.0


def test_amortization_fraction():
    r = np.array(0.005)
    assert amortization_fraction(r, np.array(3)) == pytest.approx(0.005 / (1.005**3 - 1), rel=RTOL)
    assert amortization_fraction(r, np.array(1)) == 1.0
    assert amortization_fraction(r, np.array(0)) == 0.0
    assert amortization_fraction(np.array(0.0), np.array(4)) == 0.25


# ---------------------------------------------------------------------------- a small pool


def test_small_pool_step_by_step():
    """$1,000,000, 6% WAC, 5.5% net, 3 months remaining, 1% SMM every month.

    Each month: payment = B r / (1 - (1+r)^-n) on the remaining term n, r = 6%/12;
    scheduled = payment - B r; prepayment = SMM (B - scheduled); net interest = B x 5.5%/12.
    """
    r, net, smm = 0.06 / 12, 0.055 / 12, 0.01
    # Month 1: B = 1,000,000, n = 3.
    b1 = 1_000_000.0
    pay1 = b1 * r / (1 - (1 + r) ** -3)               # 336,672.21
    sched1 = pay1 - b1 * r                            # 331,672.21
    prep1 = smm * (b1 - sched1)                       #   6,683.28
    int1 = b1 * net                                   #   4,583.33
    # Month 2: n = 2.
    b2 = b1 - sched1 - prep1                          # 661,644.51
    pay2 = b2 * r / (1 - (1 + r) ** -2)               # 333,305.49
    sched2 = pay2 - b2 * r                            # 329,997.26
    prep2 = smm * (b2 - sched2)                       #   3,316.47
    int2 = b2 * net                                   #   3,032.54
    # Month 3: n = 1, the last payment retires the balance; nothing is left to prepay.
    b3 = b2 - sched2 - prep2                          # 328,330.78
    sched3, prep3, int3 = b3, 0.0, b3 * net           # 328,330.78, 0, 1,504.85

    # The cents, worked out by hand from the lines above.
    assert [round(x, 2) for x in (pay1, sched1, prep1, int1)] == [
        336_672.21, 331_672.21, 6_683.28, 4_583.33]
    assert [round(x, 2) for x in (b2, pay2, sched2, prep2, int2)] == [
        661_644.51, 333_305.49, 329_997.26, 3_316.47, 3_032.54]
    assert [round(x, 2) for x in (b3, int3)] == [328_330.78, 1_504.85]

    pool = Pool("P", 1_000_000, 0.06, 0.055, 3, 3, 0)
    cf = run_pool(pool, smm)
    assert cf.beginning_balance[0] == pytest.approx([b1, b2, b3], rel=RTOL)
    assert cf.scheduled_principal[0] == pytest.approx([sched1, sched2, sched3], rel=RTOL)
    assert cf.prepayment[0] == pytest.approx([prep1, prep2, prep3], rel=RTOL, abs=1e-9)
    assert cf.interest[0] == pytest.approx([int1, int2, int3], rel=RTOL)
    assert cf.ending_balance[0, -1] == 0.0
    assert cf.principal[0].sum() == pytest.approx(1_000_000.0, rel=RTOL)
    # The fee strip: B x (WAC - net) / 12 = B x 0.5% / 12.
    assert cf.servicing_fee[0] == pytest.approx(np.array([b1, b2, b3]) * 0.005 / 12, rel=RTOL)


# ---------------------------------------------------------------------------- Fabozzi


FABOZZI = deal_text(
    name="FABOZZI",
    pools='pool "FN 7.5" { balance 400,000,000 wac 8.125% coupon 7.5% term 360 age 3 }',
    classes="class A SEQ balance 400,000,000 coupon 7.5%",
    principal="pay A",
    scenarios="pricing 165 PSA",
)


def test_fabozzi_month_one_at_165_psa():
    """Fabozzi, The Handbook of Mortgage-Backed Securities: $400mm of 7.5% pass-throughs,
    WAC 8.125%, WAM 357, month 1 at 165 PSA (to the dollar)."""
    row = build_deal(FABOZZI).run("165 PSA").collateral_cashflows().iloc[0]
    assert round(row["beginning_balance"]) == 400_000_000
    assert round(row["scheduled_principal"]) == 267_535
    assert round(row["prepayment"]) == 442_389
    assert round(row["principal"]) == 709_923
    assert round(row["interest"]) == 2_500_000
    assert round(row["cash_flow"]) == 3_209_923
    # The mortgage payment: scheduled principal plus interest at the gross WAC.
    assert round(row["scheduled_principal"] + row["interest"] + row["servicing_fee"]) == 2_975_868
    assert row["cpr"] == pytest.approx(0.0132, rel=1e-12)  # 1.65 x 0.2% x AGE 4
    assert round(row["smm"], 5) == 0.00111


def test_fabozzi_month_one_by_hand():
    r = 0.08125 / 12
    payment = 400e6 * r / (1 - (1 + r) ** -357)
    scheduled = payment - 400e6 * r
    smm = 1 - (1 - 1.65 * 0.002 * 4) ** (1 / 12)
    prepayment = smm * (400e6 - scheduled)
    assert [round(x) for x in (payment, scheduled, prepayment, scheduled + prepayment)] == [
        2_975_868, 267_535, 442_389, 709_923]


def test_fabozzi_months_two_and_three_by_hand():
    cf = build_deal(FABOZZI).run("165 PSA").collateral
    r, b = 0.08125 / 12, 400e6
    for month in range(1, 4):
        n = 357 - (month - 1)
        smm = 1 - (1 - 1.65 * 0.002 * (3 + month)) ** (1 / 12)
        scheduled = b * r / ((1 + r) ** n - 1)
        prepayment = smm * (b - scheduled)
        t = month - 1
        assert cf.beginning_balance[0, t] == pytest.approx(b, rel=RTOL)
        assert cf.scheduled_principal[0, t] == pytest.approx(scheduled, rel=RTOL)
        assert cf.prepayment[0, t] == pytest.approx(prepayment, rel=RTOL)
        assert cf.interest[0, t] == pytest.approx(b * 0.075 / 12, rel=RTOL)
        b -= scheduled + prepayment


# ---------------------------------------------------------------------------- properties


def test_balance_identity_and_retirement_at_term():
    pool = Pool("P", 5_000_000, 0.065, 0.06, 360, 240, 120)
    smm = smm_matrix([Prepayment.constant(250, "PSA")], np.array([120]), 240)
    cf = collateral_flows([pool], smm)
    assert cf.beginning_balance - cf.scheduled_principal - cf.prepayment == pytest.approx(
        cf.ending_balance, rel=1e-12, abs=1e-6)
    assert np.all(cf.beginning_balance[0, 1:] == pytest.approx(cf.ending_balance[0, :-1], rel=1e-12))
    assert cf.ending_balance[0, -1] == 0.0
    assert cf.principal.sum() == pytest.approx(5_000_000, rel=RTOL)
    assert cf.cash == pytest.approx(cf.interest + cf.principal, rel=1e-15)


def test_full_prepayment_in_month_one():
    pool = Pool("P", 1_000_000, 0.06, 0.055, 360, 360, 0)
    cf = run_pool(pool, 1.0)
    assert cf.principal[0, 0] == pytest.approx(1_000_000, rel=1e-15)
    assert cf.ending_balance[0, 0] == 0.0
    assert np.all(cf.principal[0, 1:] == 0.0)
    assert cf.interest[0, 0] == pytest.approx(1_000_000 * 0.055 / 12, rel=1e-15)


def test_zero_rate_pool_amortises_straight_line():
    pool = Pool("P", 1200, 0.0, 0.0, 12, 12, 0)
    cf = run_pool(pool, 0.0)
    assert cf.scheduled_principal[0] == pytest.approx([100.0] * 12, rel=1e-12)
    assert np.all(cf.interest == 0.0)


def test_pools_are_summed_and_kept_by_pool():
    short = Pool("short", 1_000_000, 0.06, 0.055, 120, 12, 108)
    long = Pool("long", 3_000_000, 0.07, 0.065, 360, 360, 0)
    smm = np.full((2, 2, 360), 0.01)
    cf = collateral_flows([short, long], smm)
    assert cf.interest.shape == (2, 360)
    assert cf.by_pool["interest"].shape == (2, 2, 360)
    for key in ("interest", "scheduled_principal", "prepayment", "beginning_balance"):
        assert getattr(cf, key) == pytest.approx(cf.by_pool[key].sum(axis=1), rel=1e-15)
    # The short pool retires at its own term; each pool pays its own net coupon.
    assert cf.by_pool["ending_balance"][0, 0, 11] == 0.0
    assert np.all(cf.by_pool["beginning_balance"][0, 0, 12:] == 0.0)
    assert cf.by_pool["interest"][0, 1, 0] == pytest.approx(3_000_000 * 0.065 / 12, rel=1e-15)
    assert cf.principal[0].sum() == pytest.approx(4_000_000, rel=RTOL)
    assert cf.servicing_fee[0, 0] == pytest.approx((1e6 * 0.005 + 3e6 * 0.005) / 12, rel=1e-12)
