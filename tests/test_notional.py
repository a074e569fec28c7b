"""Notional (IO) classes, coupon stripping, and discount PO strips.

IP-07 (deals/io_po.waterfall): a 5.5% discount pool of $120mm and a 6.5% premium pool of
$180mm back a 6% deal. PO takes 1 - 5.5/6 = 1/12 of the discount pool's principal; IX is an IO
of 0.5% on the premium pool's balance; AI strips 1% off A's 6% (A is issued at 5%).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structured_helpers import deal_text, load, pass_through

import structurer
from structurer.errors import DealErrors

DEALS = Path(__file__).resolve().parent.parent / "deals"

# Interest amounts of up to a million dollars a month after float arithmetic: relative 1e-12
# is a millionth of a dollar; balances compared with their hand-projected values: 1e-9.
REL = 1e-12
HAND = 1e-9


@pytest.fixture(scope="module")
def ip07():
    deal = structurer.load(DEALS / "io_po.waterfall")
    return deal, deal.run("200 PSA", "0 PSA", "600 PSA")


def test_io_on_a_class_follows_its_balance(ip07):
    _, results = ip07
    a, ai = results.arrays("A"), results.arrays("AI")
    np.testing.assert_array_equal(ai["beginning_balance"], a["beginning_balance"])
    np.testing.assert_allclose(ai["interest"], a["beginning_balance"] * 0.01 / 12, rtol=REL, atol=1e-9)
    assert ai["interest"][0, 0] == pytest.approx(150e6 * 0.01 / 12, rel=REL)  # $125,000
    # The IO's notional ends when A retires; afterwards it is paid nothing.
    gone = int(np.argmax(a["ending_balance"][0] <= 1e-6))
    assert np.all(ai["interest"][0, gone + 1:] <= 1e-6)  # float dust of A's balance, not cash


def test_premium_io_strip_on_a_pool(ip07):
    deal, results = ip07
    pool = results.collateral.by_pool["beginning_balance"][:, 1, :]
    ix = results.arrays("IX")
    np.testing.assert_allclose(ix["beginning_balance"], pool, rtol=REL)
    np.testing.assert_allclose(ix["interest"], pool * 0.005 / 12, rtol=REL, atol=1e-9)
    # Against the hand projection of the 6.5% pool (180mm, WAC 7.10%, 359 months, age 1).
    hand = pass_through(180e6, 0.071, 0.065, 359, 1, 200)
    np.testing.assert_allclose(ix["interest"][0], hand.begin * 0.005 / 12, rtol=HAND, atol=1e-9)


def test_discount_po_strip_takes_its_share_of_its_pools_principal(ip07):
    deal, results = ip07
    po = deal.tranche("PO")
    assert po.strip is not None and po.strip[0] == 0
    assert po.strip[1] == pytest.approx(1 - 0.055 / 0.06, rel=REL)  # 1/12
    assert po.balance == pytest.approx(120e6 / 12, rel=REL)  # $10mm
    by_pool = results.collateral.by_pool
    pool_principal = by_pool["scheduled_principal"][:, 0, :] + by_pool["prepayment"][:, 0, :]
    p = results.arrays("PO")
    np.testing.assert_allclose(p["principal"], pool_principal / 12, rtol=REL, atol=1e-9)
    assert np.all(p["interest"] == 0)
    # Against the hand projection of the 5.5% pool (120mm, WAC 6.10%, 354 months, age 6).
    # (The deal runs 359 periods, the other pool's term; this one is paid off after 354.)
    hand = pass_through(120e6, 0.061, 0.055, 354, 6, 200)
    np.testing.assert_allclose(p["principal"][0, :354], hand.principal / 12, rtol=HAND, atol=1e-6)
    assert np.all(p["principal"][0, 354:] == 0)
    # A and B share the rest of the collateral's principal.
    rest = results.collateral.principal - p["principal"]
    paid = results.arrays("A")["principal"] + results.arrays("B")["principal"]
    np.testing.assert_allclose(paid, rest, rtol=REL, atol=1e-6)
    # The PO retires with its pool.
    assert p["principal"].sum(axis=1) == pytest.approx([10e6] * 3, rel=1e-9)


def test_coupons_and_strips_use_all_the_collateral_interest(ip07):
    # 120mm x 5.5% + 180mm x 6.5% = 150mm x (5% + 1%) + 140mm x 6% + 180mm x 0.5%, each / 12:
    # nothing is left for the residual in period 1.
    _, results = ip07
    first = sum(results.arrays(n)["interest"][0, 0] for n in ("A", "AI", "B", "IX"))
    assert first == pytest.approx((120e6 * 0.055 + 180e6 * 0.065) / 12, rel=REL)
    assert results.arrays("R")["interest"][0, 0] == pytest.approx(0, abs=1e-6)


def test_notional_classes_have_no_principal_in_the_results(ip07):
    _, results = ip07
    out = results.to_dict()
    for scenario in out["scenarios"]:
        for name in ("AI", "IX"):
            row = scenario["classes"][name]
            assert row["notional"] is True
            assert row["total_principal"] == 0.0
            assert row["wal"] is None
            assert row["total_interest"] > 0
        assert scenario["classes"]["A"]["notional"] is False
        assert scenario["classes"]["PO"]["total_interest"] == 0.0
    assert out["scenarios"][0]["classes"]["AI"]["original_balance"] == 150e6
    assert out["scenarios"][0]["classes"]["IX"]["original_balance"] == 180e6


# ---------------------------------------------------------------------------- small deals

POOL = 'pool "P" { balance 1,000,000  wac 6.5%  coupon 6%  term 360  age 0 }'


def _run(classes: str, speed: str = "150 PSA"):
    text = deal_text(classes + "\nclass R R", "  principal: pay A then B", pools=POOL, scenarios=None)
    return load(text).run(speed, "0 PSA", "800 PSA")


def test_coupon_stripping_pays_what_the_unstripped_class_would():
    stripped = _run("class A SEQ balance 600,000 coupon 5%\nclass AI NTL/IO notional of A coupon 1%\n"
                    "class B SEQ balance 400,000 coupon 6%")
    whole = _run("class A SEQ balance 600,000 coupon 6%\nclass B SEQ balance 400,000 coupon 6%")
    five = stripped.arrays("A")["interest"] + stripped.arrays("AI")["interest"]
    np.testing.assert_allclose(five, whole.arrays("A")["interest"], rtol=REL, atol=1e-9)
    np.testing.assert_allclose(stripped.arrays("A")["principal"], whole.arrays("A")["principal"], rtol=REL)
    # The split is 5:1 in every period.
    np.testing.assert_allclose(stripped.arrays("A")["interest"], 5 * stripped.arrays("AI")["interest"],
                               rtol=REL, atol=1e-9)


def test_io_on_the_collateral_follows_the_collateral_balance():
    results = _run("class A SEQ balance 600,000 coupon 5%\nclass B SEQ balance 400,000 coupon 5.5%\n"
                   "class X NTL/IO notional of collateral coupon 0.5%")
    x = results.arrays("X")
    np.testing.assert_allclose(x["beginning_balance"], results.collateral.beginning_balance, rtol=REL)
    np.testing.assert_allclose(x["interest"], results.collateral.beginning_balance * 0.005 / 12,
                               rtol=REL, atol=1e-9)
    hand = pass_through(1e6, 0.065, 0.06, 360, 0, 150)
    np.testing.assert_allclose(x["interest"][0], hand.begin * 0.005 / 12, rtol=HAND, atol=1e-9)


def test_io_with_a_notional_amount_scales_what_it_follows():
    # A notional of $300,000 on A's $600,000: half of A's balance each period.
    results = _run("class A SEQ balance 600,000 coupon 5%\nclass AI NTL/IO notional 300,000 of A coupon 2%\n"
                   "class B SEQ balance 400,000 coupon 6%")
    a, ai = results.arrays("A"), results.arrays("AI")
    np.testing.assert_allclose(ai["beginning_balance"], 0.5 * a["beginning_balance"], rtol=REL)
    np.testing.assert_allclose(ai["interest"], 0.5 * a["beginning_balance"] * 0.02 / 12, rtol=REL, atol=1e-9)
    assert results.original_balance("AI") == pytest.approx(300_000, rel=REL)


def test_io_on_several_classes_follows_their_sum():
    results = _run("class A SEQ balance 600,000 coupon 5%\nclass B SEQ balance 400,000 coupon 5%\n"
                   "class X NTL/IO notional of A and B coupon 1%")
    total = results.arrays("A")["beginning_balance"] + results.arrays("B")["beginning_balance"]
    np.testing.assert_allclose(results.arrays("X")["beginning_balance"], total, rtol=REL)
    np.testing.assert_allclose(results.arrays("X")["interest"], total * 0.01 / 12, rtol=REL, atol=1e-9)


def test_io_on_an_accrual_class_follows_its_growing_balance():
    text = deal_text("class A SEQ/AD balance 600,000 coupon 5%\nclass Z SEQ/Z balance 400,000 coupon 5%\n"
                     "class ZI NTL/IO notional of Z coupon 1%\nclass R R",
                     "  accretion Z: pay A\n  principal: pay A then Z", pools=POOL, scenarios=None)
    results = load(text).run("150 PSA")
    zi, z = results.arrays("ZI"), results.arrays("Z")
    # Z grows at 5%/12 a month while A is outstanding; the IO's notional grows with it.
    assert zi["beginning_balance"][0, 12] == pytest.approx(400_000 * (1 + 0.05 / 12) ** 12, rel=REL)
    np.testing.assert_allclose(zi["interest"], z["beginning_balance"] * 0.01 / 12, rtol=REL, atol=1e-9)


# ---------------------------------------------------------------------------- interest coverage

TWO_POOLS = ('pool "D" { balance 100,000,000  wac 6.5%  coupon 5.5%  term 360  age 0 }\n'
             '  pool "Q" { balance 100,000,000  wac 6.5%  coupon 6%  term 360  age 0 }')


@pytest.mark.parametrize("io, b_coupon", [
    # The IO's notional is all the collateral, the PO's $8.33mm included: A (4%) is short of
    # nothing, but once A retires B's 5.5% + the IO's 0.5% on every collateral dollar need
    # more than the 5.75% the pools pay on a balance 1/24th of which is the PO's.
    ("notional of collateral coupon 0.5%", "5.5%"),
    # An IO on the PO itself draws interest the effective-rate test never counts.
    ("notional of PO coupon 2%", "6%"),
])
def test_a_deal_that_checks_never_leaves_a_class_short_of_interest(io, b_coupon):
    text = deal_text('class PO PO strip of pool "D" to 6%\nclass A SEQ balance 100,000,000 coupon 4%\n'
                     f"class B SEQ balance 91,666,666.67 coupon {b_coupon}\nclass IO NTL/IO {io}\nclass R R",
                     "  principal: pay A then B", pools=TWO_POOLS, scenarios=None)
    # The checks promise "class interest is covered in every period": either they refuse the
    # deal, or no class is ever short. (Before the PO's dollars were charged, B ran ~$82,000
    # short with the collateral IO and ~$360,000 with the IO on the PO.)
    try:
        deal = load(text)
    except DealErrors as exc:
        assert "more than the lowest collateral net coupon" in str(exc)
        return
    results = deal.run("0 PSA", "300 PSA", "1000 PSA")
    assert results.flows.shortfall.max() <= 1e-6
