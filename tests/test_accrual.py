"""Accrual (Z) classes and their accretion-directed (AD) classes.

FJF-04 (deals/accrual.waterfall, after Fabozzi): A, B, C are AD classes, Z a 7.5% accrual
class of $73mm. While C is outstanding Z's interest accretes to its balance and is paid as
principal to A, then B, then C; afterwards Z pays current interest and takes the principal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structured_helpers import deal_text, load, pass_through, wal

import structurer

DEALS = Path(__file__).resolve().parent.parent / "deals"
Z0 = 73_000_000
MONTHLY = 0.075 / 12

# Compounding $73mm over a hundred periods in float: relative error ~1e-14 per step.
REL = 1e-12
# Dollar amounts of a few million compared after float arithmetic: a millionth of a dollar.
EXACT = 1e-6

# A millionth of a dollar: float noise of the allocation, not a payment.
NOISE = 1e-6


@pytest.fixture(scope="module")
def fjf04():
    return structurer.load(DEALS / "accrual.waterfall")


@pytest.fixture(scope="module")
def run165(fjf04):
    return fjf04.run("165 PSA", "0 PSA")


def _retired(balance: np.ndarray) -> int:
    """0-based period in which a balance first reaches zero."""
    return int(np.argmax(balance <= EXACT))


def test_z_balance_compounds_at_its_coupon_while_accruing(run165):
    z = run165.arrays("Z")
    c_gone = _retired(run165.arrays("C")["ending_balance"][0])
    assert c_gone > 100
    for n in (1, 2, 12, 60, 100, c_gone):  # C is still outstanding at the start of these periods
        assert z["ending_balance"][0, n - 1] == pytest.approx(Z0 * (1 + MONTHLY) ** n, rel=REL), n
    # Period 1 by hand: 73,000,000 x 7.5% / 12 = 456,250 accrued, no interest paid in cash.
    assert z["accrued"][0, 0] == pytest.approx(456_250.0, abs=EXACT)
    assert z["interest"][0, 0] == 0.0
    assert z["ending_balance"][0, 0] == pytest.approx(73_456_250.0, abs=EXACT)
    assert np.all(z["interest"][0, :c_gone + 1] == 0.0)
    assert np.all(z["principal"][0, :c_gone] <= NOISE)


def test_ad_classes_receive_the_accretion_on_top_of_collateral_principal(run165):
    coll = run165.collateral.principal[0]
    accrued = run165.arrays("Z")["accrued"][0]
    a = run165.arrays("A")["principal"][0]
    a_gone = _retired(run165.arrays("A")["ending_balance"][0])
    # While A is outstanding it takes the collateral's principal plus Z's accrued interest.
    np.testing.assert_allclose(a[:a_gone], coll[:a_gone] + accrued[:a_gone], rtol=1e-12)
    # Period 1: 456,250 more than the collateral's principal.
    assert a[0] - coll[0] == pytest.approx(456_250.0, abs=EXACT)
    # Until C retires, A + B + C together take exactly collateral principal + accretion.
    c_gone = _retired(run165.arrays("C")["ending_balance"][0])
    ad = sum(run165.arrays(n)["principal"][0] for n in "ABC")
    np.testing.assert_allclose(ad[:c_gone], coll[:c_gone] + accrued[:c_gone], rtol=1e-12)
    # The accretion shortens the AD classes compared with a plain sequential (FJF-01) deal.
    seq = structurer.load(DEALS / "sequential.waterfall").run("165 PSA")
    for name in "ABC":
        assert run165.wal(name)[0] < seq.wal(name)[0]


def test_z_pays_current_interest_once_the_ad_classes_retire(run165):
    z = run165.arrays("Z")
    c_gone = _retired(run165.arrays("C")["ending_balance"][0])
    after = slice(c_gone + 1, 357)
    assert np.all(z["accrued"][0, after] == 0.0)
    np.testing.assert_allclose(z["interest"][0, after], z["beginning_balance"][0, after] * MONTHLY,
                               rtol=1e-12)
    # In C's last period the accretion and the principal C cannot take go to Z.
    coll = run165.collateral.principal[0]
    c_paid = run165.arrays("C")["principal"][0, c_gone]
    assert z["principal"][0, c_gone] == pytest.approx(coll[c_gone] + z["accrued"][0, c_gone] - c_paid,
                                                      rel=1e-9)


def test_z_wal_counts_only_positive_principal(run165):
    z = run165.arrays("Z")
    for s in range(2):
        principal, accrued = z["principal"][s], z["accrued"][s]
        assert np.all(principal >= 0)
        # Z pays back its original balance and everything that accreted onto it.
        assert principal.sum() == pytest.approx(Z0 + accrued.sum(), rel=1e-9)
        assert run165.wal("Z")[s] == pytest.approx(wal(principal), abs=1e-9)
        # Counting accretion as negative principal would give quite another figure.
        k = np.arange(1, 358)
        net = principal - accrued
        assert abs((k * net).sum() / (12 * net.sum()) - run165.wal("Z")[s]) > 1


def test_z_decrement_table_exceeds_100_early(run165):
    table = run165.decrement_table("Z", formatted=False)
    # First anniversary: 100 x (1 + 7.5%/12)^12 = 107.76 while accruing, at any speed.
    assert table.iloc[1, 0] == pytest.approx(100 * (1 + MONTHLY) ** 12, rel=REL)
    assert table.iloc[1, 1] == pytest.approx(100 * (1 + MONTHLY) ** 12, rel=REL)
    formatted = run165.decrement_table("Z")
    assert formatted.iloc[1].tolist() == ["108", "108"]
    assert formatted.iloc[2].tolist() == ["116", "116"]  # 100 x 1.00625^24 = 116.13
    # At 0 PSA the AD classes last longer, so Z grows for longer: above 300% at some point.
    assert table.iloc[1:-1, 1].max() > 300


# ---------------------------------------------------------------------------- small deal by hand

SMALL_POOL = 'pool "P" { balance 1,000,000  wac 6.5%  coupon 6%  term 360  age 0 }'


def test_accretion_follows_its_own_rule_not_the_principal_rule():
    # The accretion goes to B first, although the principal rule pays A first.
    text = deal_text(
        "class A SEQ/AD balance 500,000 coupon 6%\nclass B SEQ/AD balance 300,000 coupon 6%\n"
        "class Z SEQ/Z balance 200,000 coupon 6%\nclass R R",
        "  accretion Z: pay B then A\n  principal: pay A then B then Z",
        pools=SMALL_POOL, scenarios=None)
    results = load(text).run("100 PSA")
    coll = pass_through(1e6, 0.065, 0.06, 360, 0, 100)
    accrual = 200_000 * 0.005  # $1,000 in period 1
    assert results.arrays("Z")["accrued"][0, 0] == pytest.approx(accrual, abs=EXACT)
    assert results.arrays("B")["principal"][0, 0] == pytest.approx(accrual, abs=EXACT)
    assert results.arrays("A")["principal"][0, 0] == pytest.approx(coll.principal[0], rel=1e-9)
    # Period 2: Z accrues on 201,000.
    assert results.arrays("Z")["accrued"][0, 1] == pytest.approx(201_000 * 0.005, abs=EXACT)
    # Interest in cash: A and B their coupon, Z nothing; the rest of the 6% is the residual's
    # (none here: the classes' coupons equal the pool's net coupon).
    assert results.arrays("A")["interest"][0, 0] == pytest.approx(2500, abs=EXACT)
    assert results.arrays("R")["interest"][0, 0] == pytest.approx(0, abs=EXACT)


def test_accretion_the_ad_classes_cannot_take_joins_the_principal():
    # A tiny AD class: after it retires in period 1, the rest of the accretion is principal
    # for the principal rules (here: to Z itself, which then stops accruing).
    text = deal_text(
        "class A SEQ/AD balance 1,500 coupon 6%\nclass Z SEQ/Z balance 998,500 coupon 6%\nclass R R",
        "  accretion Z: pay A\n  principal: pay A then Z", pools=SMALL_POOL, scenarios=None)
    results = load(text).run("100 PSA")
    coll = pass_through(1e6, 0.065, 0.06, 360, 0, 100)
    z, a = results.arrays("Z"), results.arrays("A")
    accrual = 998_500 * 0.005
    assert z["accrued"][0, 0] == pytest.approx(accrual, abs=EXACT)
    assert a["principal"][0, 0] == pytest.approx(1500, abs=EXACT)
    assert z["principal"][0, 0] == pytest.approx(coll.principal[0] + accrual - 1500, rel=1e-9)
    assert z["ending_balance"][0, 0] == pytest.approx(1e6 - coll.principal[0], rel=1e-9)
    # From period 2 on, with A gone, Z is a current-pay class.
    assert z["accrued"][0, 1] == 0.0
    assert z["interest"][0, 1] == pytest.approx(z["beginning_balance"][0, 1] * 0.005, rel=1e-12)
