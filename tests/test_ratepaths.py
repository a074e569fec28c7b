"""Hull-White rate paths: the exact fit to the curve, bond prices on the paths, antithetic and
seeded draws, the mortgage rate and floater index, shifted curves, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structurer.engine.ratepaths import curve_discount, shifted_path, simulate
from structurer.errors import InputError
from structurer.model.curve import make_curve
from structurer.model.ratemodel import HullWhite, MortgageRate, check_horizon

CURVE = make_curve("ust", [0.25, 1, 2, 5, 10, 30], [0.043, 0.041, 0.040, 0.041, 0.042, 0.045])
MONTHS = np.arange(361)


def test_zero_volatility_gives_the_curves_discount_factors():
    paths = simulate(CURVE, HullWhite(0.03, 0.0, 2), 360)
    want = curve_discount(CURVE, MONTHS / 12.0)
    np.testing.assert_allclose(paths.discount(), np.broadcast_to(want, (2, 361)), rtol=0, atol=1e-12)


def test_zero_volatility_short_rate_is_the_forward_curve():
    paths = simulate(CURVE, HullWhite(0.1, 0.0, 2), 360)
    # The monthly forward rate, continuously compounded: ln(P(0, t_i) / P(0, t_{i+1})) / dt.
    p = curve_discount(CURVE, MONTHS / 12.0)
    forward = np.log(p[:-1] / p[1:]) * 12.0
    np.testing.assert_allclose(paths.short[0], forward, rtol=0, atol=1e-12)
    # And the bonds read at month i are the forward bonds P(0, T) / P(0, t).
    p_ahead = curve_discount(CURVE, (MONTHS[:-1] + 24) / 12.0)
    np.testing.assert_allclose(paths.zero_price(24)[0], p_ahead / p[:-1], rtol=1e-12)


def test_zero_volatility_par_rates_today_are_the_curves():
    paths = simulate(CURVE, HullWhite(0.03, 0.0, 2), 360)
    rates = paths.par_rates((2.0, 10.0))
    assert rates[2.0][0, 0] == pytest.approx(0.040, abs=1e-12)
    assert rates[10.0][0, 0] == pytest.approx(0.042, abs=1e-12)


@pytest.mark.parametrize("years", [2, 5, 10, 30])
def test_a_zero_coupon_bond_on_the_paths_reproduces_the_curve(years):
    paths = simulate(CURVE, HullWhite(0.03, 0.012, 1000, seed=7), 360)
    values = paths.discount()[:, 12 * years]
    error = values.std(ddof=1) / np.sqrt(len(values))
    assert error > 0
    assert abs(values.mean() - float(curve_discount(CURVE, years))) < 3 * error


def test_bond_prices_at_month_zero_are_the_curves_for_any_volatility():
    paths = simulate(CURVE, HullWhite(0.05, 0.02, 10, seed=1), 360)
    for months in (6, 24, 120):
        np.testing.assert_allclose(paths.zero_price(months)[:, 0], float(curve_discount(CURVE, months / 12)),
                                   rtol=1e-12)


def test_antithetic_paths_have_mean_shock_zero():
    paths = simulate(CURVE, HullWhite(0.03, 0.01, 200, seed=3), 360)
    # The factor is linear in the shocks, so the antithetic pairs cancel it exactly.
    half = paths.factor[:100]
    np.testing.assert_array_equal(half, -paths.factor[100:])
    assert np.abs(paths.factor.mean(axis=0)).max() < 1e-15
    # Without antithetic draws, they do not.
    plain = simulate(CURVE, HullWhite(0.03, 0.01, 200, seed=3, antithetic=False), 360)
    assert np.abs(plain.factor.mean(axis=0)).max() > 1e-4


def test_seeded_runs_are_identical_and_seeds_differ():
    model = HullWhite(0.03, 0.01, 50, seed=11)
    a, b = simulate(CURVE, model, 120), simulate(CURVE, model, 120)
    np.testing.assert_array_equal(a.short, b.short)
    other = simulate(CURVE, HullWhite(0.03, 0.01, 50, seed=12), 120)
    assert not np.array_equal(a.short, other.short)


def test_the_factor_has_the_hull_white_variance():
    # Var x(t) = sigma^2 (1 - exp(-2 a t)) / 2a: the exact OU transition, checked on 20,000 paths.
    a, sigma = 0.1, 0.01
    paths = simulate(CURVE, HullWhite(a, sigma, 20_000, seed=5), 121)
    var = paths.factor[:, 120].var()
    want = sigma ** 2 * (1 - np.exp(-2 * a * 10)) / (2 * a)
    assert var == pytest.approx(want, rel=0.05)


def test_ots_mortgage_rate_and_the_index():
    paths = simulate(CURVE, HullWhite(0.03, 0.0, 2), 360)
    rate = paths.mortgage_rate()
    assert rate[0, 0] == pytest.approx(0.024 + 0.2 * 0.040 + 0.6 * 0.042, abs=1e-12)
    ten_plus = paths.mortgage_rate(MortgageRate(0.017, ((10.0, 1.0),)))
    assert ten_plus[0, 0] == pytest.approx(0.042 + 0.017, abs=1e-12)
    np.testing.assert_allclose(paths.index(0.0015), paths.short + 0.0015)
    assert rate.shape == (2, 360)


def test_a_shifted_curve_moves_the_mortgage_rate_by_the_shift():
    base = shifted_path(CURVE, 0, 360).mortgage_rate()
    up = shifted_path(CURVE, 300, 360).mortgage_rate()
    # Par yields move by 300 bp, so today's OTS rate moves by 0.8 x 300 bp.
    assert up[0, 0] - base[0, 0] == pytest.approx(0.8 * 0.03, abs=1e-12)
    assert (up > base).all()
    assert up.shape == (1, 360)


def test_mean_reversion_zero_is_a_random_walk():
    paths = simulate(CURVE, HullWhite(0.0, 0.01, 2000, seed=2), 121)
    assert paths.factor[:, 120].var() == pytest.approx(0.01 ** 2 * 10, rel=0.1)


@pytest.mark.parametrize("kwargs, words", [
    (dict(mean_reversion=0.03, volatility=-0.01, paths=10), "volatility"),
    (dict(mean_reversion=0.03, volatility=0.01, paths=0), "at least one path"),
    (dict(mean_reversion=-1.0, volatility=0.01, paths=10), "mean reversion"),
    (dict(mean_reversion=0.03, volatility=0.01, paths=11), "antithetic"),
    (dict(mean_reversion=0.03, volatility=float("nan"), paths=10), "volatility"),
])
def test_bad_models_are_refused_in_words(kwargs, words):
    with pytest.raises(InputError, match=words):
        HullWhite(**kwargs)


def test_a_curve_short_of_the_horizon_is_refused():
    short = make_curve("short", [1, 10], [0.04, 0.042])
    with pytest.raises(InputError, match=r'curve "short" reaches 10 years but the deal runs 30 years'):
        simulate(short, HullWhite(0.03, 0.01, 10), 360)
    check_horizon(short, 120)  # ten years is covered


def test_mortgage_rate_tenors_are_half_years():
    with pytest.raises(InputError, match="half-years"):
        MortgageRate(0.0, ((2.3, 1.0),))


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.0, 0.5), sigma=st.floats(0.0, 0.05), shift=st.floats(-300, 300))
def test_paths_are_finite_and_fit_the_curve_at_month_zero(a, sigma, shift):
    paths = shifted_path(CURVE, shift, 120) if sigma == 0 else simulate(CURVE, HullWhite(a, sigma, 20), 120)
    rate = paths.mortgage_rate()
    assert np.isfinite(rate).all() and np.isfinite(paths.discount()).all()
    assert np.isfinite(paths.short).all()


def test_bonds_beyond_what_the_paths_were_built_for_are_refused():
    paths = simulate(CURVE, HullWhite(0.03, 0.01, 2), 120, tenor_months=24)
    assert paths.zero_price(24).shape == (2, 120)
    with pytest.raises(InputError, match="24"):
        paths.zero_price(36)
