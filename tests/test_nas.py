"""NAS (non-accelerating senior) classes: locked out of principal, then a stepped share.

NS-08 (deals/nas.waterfall): N ($45mm) is locked out for 60 months, then takes 30%, 40%,
60%, 80% (one year each), then 100% of its pro rata share of principal: its balance over all
class balances, times the period's principal. A1, A2, A3 are paid sequentially after it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structured_helpers import deal_text, load, pass_through

import structurer

DEALS = Path(__file__).resolve().parent.parent / "deals"
N0 = 45_000_000
STEPS = [0.3, 0.4, 0.6, 0.8]

# Principal of a few hundred thousand a month, from the engine and from the hand loop:
# 1e-9 relative (a thousandth of a cent).
REL = 1e-9

# A millionth of a dollar: float noise of the allocation, not a payment.
NOISE = 1e-6


@pytest.fixture(scope="module")
def ns08():
    return structurer.load(DEALS / "nas.waterfall")


def _by_hand(psa: float, periods: int) -> np.ndarray:
    """N's principal period by period, from the hand projection of the collateral."""
    coll = pass_through(300e6, 0.0715, 0.065, 356, 4, psa)
    n = N0
    paid = np.zeros(periods)
    for t in range(periods):
        year = (t - 60) // 12
        pct = 0.0 if t < 60 else (STEPS[year] if year < len(STEPS) else 1.0)
        # Every dollar of collateral belongs to a class: all class balances = collateral balance.
        paid[t] = min(pct * n / coll.begin[t] * coll.principal[t], n)
        n -= paid[t]
    return paid


@pytest.mark.parametrize("speed", ["0 PSA", "100 PSA", "250 PSA", "600 PSA"])
def test_nothing_in_the_lockout(ns08, speed):
    results = ns08.run(speed)
    n = results.arrays("N")
    assert np.all(n["principal"][0, :60] <= NOISE)
    assert np.all(np.abs(n["ending_balance"][0, :60] - N0) <= NOISE)
    assert n["principal"][0, 60] > 0  # period 61: the first of the 30% year


def test_first_periods_after_the_lockout_by_hand(ns08):
    results = ns08.run("250 PSA")
    coll = pass_through(300e6, 0.0715, 0.065, 356, 4, 250)
    paid = results.arrays("N")["principal"][0]
    # Period 61: 30% x 45mm / (collateral balance) x collateral principal.
    assert paid[60] == pytest.approx(0.3 * N0 / coll.begin[60] * coll.principal[60], rel=REL)
    # Period 62: the same on N's reduced balance.
    n62 = N0 - paid[60]
    assert paid[61] == pytest.approx(0.3 * n62 / coll.begin[61] * coll.principal[61], rel=REL)


def test_stepped_shares_by_hand(ns08):
    results = ns08.run("250 PSA")
    got = results.arrays("N")["principal"][0]
    hand = _by_hand(250, 120)
    np.testing.assert_allclose(got[:120], hand, rtol=REL, atol=1e-6)
    # The step-ups show in the share of principal: 30% in year 6, 40% in year 7, ...
    coll = results.collateral
    n_begin = results.arrays("N")["beginning_balance"][0]
    share = got / (n_begin / coll.beginning_balance[0] * coll.principal[0])
    for year, pct in enumerate(STEPS + [1.0]):
        start = 60 + 12 * year
        np.testing.assert_allclose(share[start:start + 12], pct, rtol=1e-12)


def test_the_nas_takes_everything_once_the_others_retire(ns08):
    results = ns08.run("600 PSA")
    a3 = results.arrays("A3")["ending_balance"][0]
    gone = int(np.argmax(a3 <= 1e-6))
    n = results.arrays("N")
    assert n["ending_balance"][0, gone] > 0
    coll = results.collateral.principal[0]
    after = slice(gone + 1, int(np.argmax(n["ending_balance"][0] <= 1e-6)))
    np.testing.assert_allclose(n["principal"][0, after], coll[after], rtol=1e-12)


def test_a_nas_without_steps_takes_its_full_share_after_the_lockout():
    text = deal_text(
        "class N SEQ/NAS balance 200,000 coupon 6% lockout 12 months\n"
        "class A SEQ balance 800,000 coupon 6%\nclass R R",
        "  principal {\n    pay N its share\n    pay A\n    pay N until retired\n  }",
        pools='pool "P" { balance 1,000,000  wac 6.5%  coupon 6%  term 360  age 0 }', scenarios=None)
    results = load(text).run("200 PSA")
    coll = pass_through(1e6, 0.065, 0.06, 360, 0, 200)
    paid = results.arrays("N")["principal"][0]
    assert np.all(paid[:12] <= NOISE)
    # Period 13: 100% x 200,000 / collateral balance x collateral principal.
    assert paid[12] == pytest.approx(200_000 / coll.begin[12] * coll.principal[12], rel=REL)
