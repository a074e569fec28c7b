"""Floaters and inverse floaters split from a fixed-rate parent, and the index paths they reset on.

FLT-05 (deals/floater.waterfall): class C ($96.5mm, 7.5%) is split into FL ($72.375mm,
SOFR + 50bp, cap 9.5%, floor 0.5%) and IF ($24.125mm, 28.5% - 3 x SOFR, cap 27%, floor 0%).
Per dollar of C: 0.75 x (SOFR + 0.5%) + 0.25 x (28.5% - 3 SOFR) = 0.375% + 7.125% = 7.5%.
Between SOFR 0.5% (IF at its 27% cap) and 9% (FL at its 9.5% cap) nothing binds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structured_helpers import at_sofr, deal_text, load, psa

import structurer
from structurer.model.scenarios import RatePath, Scenario

DEALS = Path(__file__).resolve().parent.parent / "deals"
FL_BAL, IF_BAL, C_BAL = 72_375_000, 24_125_000, 96_500_000

# Monthly interest of a few hundred thousand dollars, computed two ways in float: 1e-12
# relative is well under a millionth of a dollar.
REL = 1e-12
ATOL = 1e-6  # dollars; for periods in which the balances are zero or float dust

INSIDE = [0.005, 0.01, 0.02, 0.0301, 0.043, 0.05, 0.0625, 0.075, 0.085, 0.09]
ABOVE = [0.0901, 0.095, 0.10, 0.12, 0.15]


@pytest.fixture(scope="module")
def flt05():
    return structurer.load(DEALS / "floater.waterfall")


def _fl_rate(sofr: float) -> float:
    return min(max(sofr + 0.005, 0.005), 0.095)


def _if_rate(sofr: float) -> float:
    return min(max(0.285 - 3 * sofr, 0.0), 0.27)


def test_pair_pays_the_parents_interest_at_every_level_inside_the_caps(flt05):
    results = flt05.run(*at_sofr(165, *INSIDE))
    fl, inv = results.arrays("FL"), results.arrays("IF")
    c_begin = fl["beginning_balance"] + inv["beginning_balance"]
    parent_interest = c_begin * 0.075 / 12
    np.testing.assert_allclose(fl["interest"] + inv["interest"], parent_interest, rtol=REL, atol=ATOL)
    for s, sofr in enumerate(INSIDE):
        np.testing.assert_allclose(fl["interest"][s], fl["beginning_balance"][s] * (sofr + 0.005) / 12,
                                   rtol=REL, atol=ATOL)
        np.testing.assert_allclose(inv["interest"][s], inv["beginning_balance"][s] * (0.285 - 3 * sofr) / 12,
                                   rtol=REL, atol=ATOL)
        # Period 1 by hand.
        assert fl["interest"][s, 0] + inv["interest"][s, 0] == pytest.approx(C_BAL * 0.075 / 12, rel=REL)
    # Nothing is left for the residual: every class pays the collateral's 7.5%.
    assert np.abs(results.arrays("R")["interest"]).max() <= ATOL


def test_split_classes_follow_the_parents_principal_pro_rata(flt05):
    results = flt05.run("165 PSA")
    fl, inv = results.arrays("FL")["principal"][0], results.arrays("IF")["principal"][0]
    total = fl + inv
    assert total.sum() == pytest.approx(C_BAL, rel=1e-9)
    np.testing.assert_allclose(fl, 0.75 * total, rtol=REL, atol=ATOL)
    # C is paid after A and B retire: FL's window starts when B's ends.
    b_last = int(np.flatnonzero(results.arrays("B")["principal"][0] > 0)[-1])
    assert np.all(fl[:b_last] <= ATOL) and fl[b_last] > 0


@pytest.mark.parametrize("sofr", [0.0, 0.002] + ABOVE)
def test_outside_the_caps_the_pair_pays_no_more_than_the_parent(flt05, sofr):
    results = flt05.run(*at_sofr(165, sofr))
    fl, inv = results.arrays("FL"), results.arrays("IF")
    rate_fl, rate_if = _fl_rate(sofr), _if_rate(sofr)
    np.testing.assert_allclose(fl["interest"][0], fl["beginning_balance"][0] * rate_fl / 12,
                               rtol=REL, atol=ATOL)
    np.testing.assert_allclose(inv["interest"][0], inv["beginning_balance"][0] * rate_if / 12,
                               rtol=REL, atol=ATOL)
    if sofr > 0.09:
        assert rate_fl == 0.095  # the floater pays its cap; the inverse falls three times as fast
        assert rate_if == pytest.approx(max(0.285 - 3 * sofr, 0.0), abs=1e-15)
    pair = fl["interest"][0] + inv["interest"][0]
    c_begin = fl["beginning_balance"][0] + inv["beginning_balance"][0]
    parent = c_begin * 0.075 / 12
    assert np.all(pair <= parent + ATOL)
    # The excess of the parent's 7.5% over what the pair pays goes to the residual.
    np.testing.assert_allclose(results.arrays("R")["interest"][0], parent - pair, rtol=1e-9, atol=ATOL)
    assert (parent - pair)[0] == pytest.approx(
        C_BAL * 0.075 / 12 - FL_BAL * rate_fl / 12 - IF_BAL * rate_if / 12, rel=1e-9)
    assert (parent - pair)[0] > 500  # at least 3 x 0.01% of IF's balance a month


def test_above_the_cap_the_pair_pays_floater_cap_times_balance():
    # At 12% SOFR: FL 9.5% of 72.375mm, IF 0%: 572,968.75 a month against C's 603,125.
    deal = structurer.load(DEALS / "floater.waterfall")
    results = deal.run(*at_sofr(165, 0.12))
    assert results.arrays("FL")["interest"][0, 0] == pytest.approx(572_968.75, rel=REL)
    assert results.arrays("IF")["interest"][0, 0] == 0.0
    assert results.arrays("R")["interest"][0, 0] == pytest.approx(603_125 - 572_968.75, rel=1e-9)


# ---------------------------------------------------------------------------- index paths


def test_level_path():
    assert RatePath.level(0.043).path(4).tolist() == [0.043] * 4


def test_vector_path_holds_its_last_rate():
    path = RatePath("vector", (0.01, 0.02, 0.03))
    assert path.path(6).tolist() == [0.01, 0.02, 0.03, 0.03, 0.03, 0.03]


def test_curve_path_is_linear_between_points_and_flat_beyond():
    path = RatePath("curve", (0.043, 0.038, 0.04), (1, 24, 60)).path(80)
    assert path[0] == pytest.approx(0.043, abs=1e-15)
    # Period 12: 4.30% + (3.80% - 4.30%) x (12 - 1) / (24 - 1).
    assert path[11] == pytest.approx(0.043 - 0.005 * 11 / 23, abs=1e-15)
    assert path[23] == pytest.approx(0.038, abs=1e-15)
    assert path[41] == pytest.approx(0.038 + 0.002 * 18 / 36, abs=1e-15)  # period 42: 3.90%
    assert path[59] == pytest.approx(0.04, abs=1e-15)
    assert np.all(path[59:] == path[59])
    # Before the first point: flat at the first rate.
    later = RatePath("curve", (0.02, 0.03), (6, 12)).path(14)
    assert later[:6].tolist() == [0.02] * 6 and later[12:].tolist() == [0.03, 0.03]


def test_the_deals_curve_drives_the_floater_coupon(flt05):
    results = flt05.run("165 PSA")  # no override: the deal's curve(1: 4.30%, 24: 3.80%, 60: 4.00%)
    coupon = results.arrays("FL")["coupon"][0]
    assert coupon[0] == pytest.approx(0.043 + 0.005, abs=1e-15)
    assert coupon[11] == pytest.approx(0.043 - 0.005 * 11 / 23 + 0.005, abs=1e-15)
    assert coupon[23] == pytest.approx(0.043, abs=1e-15)
    assert np.allclose(coupon[59:], 0.045, rtol=0, atol=1e-15)
    inv = results.arrays("IF")["coupon"][0]
    assert inv[23] == pytest.approx(0.285 - 3 * 0.038, abs=1e-15)


def test_named_scenarios_override_the_index(flt05):
    results = flt05.run("SOFR 8%", "SOFR 1%")
    assert results.scenarios == ["SOFR 8%", "SOFR 1%"]
    np.testing.assert_allclose(results.arrays("FL")["coupon"][:, :5], [[0.085] * 5, [0.015] * 5], atol=1e-15)
    np.testing.assert_allclose(results.arrays("IF")["coupon"][:, :5], [[0.045] * 5, [0.255] * 5], atol=1e-15)


def test_vector_and_curve_paths_written_in_the_deal():
    text = deal_text(
        "class A SEQ balance 300,000,000 coupon 7.5%\n"
        "class F SEQ/FLT balance 100,000,000 coupon SOFR + 1% cap 7.5% floor 1%\nclass R R",
        "  principal: pay A then F",
        scenarios='pricing 165 PSA\n  index SOFR vector(1%, 2%, 8%)\n'
                  '  scenario "up" 165 PSA with SOFR curve(1: 2%, 11: 4%)')
    deal = load(text)
    results = deal.run("165 PSA", "up")
    coupon = results.arrays("F")["coupon"]
    # The vector: 2%, 3%, then 9% capped at 7.5%, held.
    np.testing.assert_allclose(coupon[0, :5], [0.02, 0.03, 0.075, 0.075, 0.075], atol=1e-15)
    # The curve: 2% + 0.2% a period to 4% at period 11, flat after; plus the 1% margin.
    np.testing.assert_allclose(coupon[1, :12], [0.03 + 0.002 * k for k in range(11)] + [0.05], atol=1e-15)
    f = results.arrays("F")
    np.testing.assert_allclose(f["interest"], f["beginning_balance"] * coupon / 12, rtol=REL, atol=ATOL)
    # Interest the floater does not take is the residual's: 7.5% collateral, 7.5% on A.
    np.testing.assert_allclose(results.arrays("R")["interest"],
                               f["beginning_balance"] * (0.075 - coupon) / 12, rtol=1e-9, atol=ATOL)


def test_scenarios_with_index_levels_run_side_by_side(flt05):
    # A grid of levels is one run: each scenario sees its own level.
    levels = [0.01, 0.04, 0.07]
    results = flt05.run(*[Scenario(psa(165), indices=(("SOFR", RatePath.level(x)),)) for x in levels])
    np.testing.assert_allclose(results.arrays("FL")["coupon"][:, 100], [x + 0.005 for x in levels],
                               atol=1e-15)
    assert results.scenarios == ["165 PSA, SOFR 1%", "165 PSA, SOFR 4%", "165 PSA, SOFR 7%"]
