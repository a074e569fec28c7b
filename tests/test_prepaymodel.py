"""The rate-driven prepayment model: the OTS S-curve, seasoning and seasonality against hand
values, constant turnover equals the same CPR, burnout, monotone in the incentive, properties."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structurer.engine.prepayment import smm_from_cpr, smm_matrix
from structurer.engine.prepaymodel import calendar_months, deal_smm, refi, smm_paths
from structurer.engine.ratepaths import shifted_path, simulate
from structurer.errors import InputError
from structurer.model.curve import make_curve
from structurer.model.deal import Pool
from structurer.model.prepayment import Prepayment
from structurer.model.prepaymodel import NO_SEASONALITY, OTS, PrepayModel, SCurve, constant_turnover
from structurer.model.ratemodel import HullWhite

CURVE = make_curve("ust", [0.25, 1, 2, 5, 10, 30], [0.043, 0.041, 0.040, 0.041, 0.042, 0.045])
JAN_TO_DEC = np.arange(1, 13)


@pytest.mark.parametrize("ratio, cpr", [
    (1.089, 0.2406),                # atan(0) = 0
    (1.2, 0.3216955092539316),      # 0.2406 - 0.1389 x atan(5.952 x -0.111 = -0.660672) = -0.58384096
    (0.9, 0.12335142563290497),     # 0.2406 - 0.1389 x atan(1.124928) = 0.84412221
    (1.5, 0.40488250883586785),     # 0.2406 - 0.1389 x atan(-2.446272) = -1.18273944
])
def test_the_ots_s_curve(ratio, cpr):
    assert float(refi(SCurve(), ratio)) == pytest.approx(cpr, rel=1e-12)


def test_seasoning_and_seasonality_by_payment_month():
    # One pool of age 0 at a flat mortgage rate of WAC / 1.089 (Refi = 0.2406 exactly), twelve
    # periods paid January to December, no burnout: CPR = 0.2406 x age/30 x the month's multiplier.
    model = PrepayModel(burnout_slope=0.0, burnout_floor=1.0)
    wac = 0.06
    rate = np.full((1, 12), wac / 1.089)
    smm = smm_paths(model, rate, np.array([wac]), np.array([0]), JAN_TO_DEC)
    season = np.array([.94, .76, .73, .96, .98, .92, .99, 1.10, 1.18, 1.21, 1.23, .97])
    want = smm_from_cpr(0.2406 * np.arange(1, 13) / 30 * season)
    np.testing.assert_allclose(smm[0, 0], want, rtol=1e-12)
    # March, age 3: 0.2406 x 3/30 x 0.73 = 0.0175638 CPR.
    assert smm[0, 0, 2] == pytest.approx(1 - (1 - 0.0175638) ** (1 / 12), rel=1e-12)


def test_calendar_months_follow_the_payment_dates():
    assert list(calendar_months(dt.date(2026, 11, 25), 4)) == [11, 12, 1, 2]


@pytest.mark.parametrize("cpr", [0.0, 0.06, 0.25, 1.0])
def test_turnover_alone_equals_the_constant_cpr(cpr):
    paths = simulate(CURVE, HullWhite(0.03, 0.01, 20, seed=1), 360)
    ages = np.array([0, 12, 40])
    smm = smm_paths(constant_turnover(cpr), paths.mortgage_rate(), np.array([0.05, 0.06, 0.07]), ages,
                    calendar_months(dt.date(2027, 1, 25), 360))
    same = smm_matrix([Prepayment.constant(cpr * 100, "CPR")], ages, 360)
    assert smm.shape == (20, 3, 360)
    np.testing.assert_array_equal(smm, np.broadcast_to(same, smm.shape))


def test_cpr_rises_when_rates_fall():
    months = calendar_months(dt.date(2027, 1, 25), 360)
    wac = np.array([0.065])
    levels = [shifted_path(CURVE, shift, 360).mortgage_rate() for shift in (300, 100, 0, -100, -200)]
    first = [smm_paths(OTS, rate, wac, np.array([30]), months)[0, 0, 0] for rate in levels]
    assert all(b > a for a, b in zip(first, first[1:], strict=False))


def test_the_s_curve_is_monotone_in_the_incentive():
    ratios = np.linspace(0.5, 2.0, 301)
    assert (np.diff(refi(SCurve(), ratios)) > 0).all()


def test_burnout_slows_a_pool_that_has_refinanced():
    # A deep, constant incentive: refinancing falls month by month as the pool burns out.
    model = PrepayModel(seasonality=NO_SEASONALITY, seasoning_months=0)
    rate = np.full((1, 60), 0.04)
    smm = smm_paths(model, rate, np.array([0.07]), np.array([60]), np.ones(60, dtype=int))[0, 0]
    assert (np.diff(smm) < 0).all()
    # The first month has no burnout yet: 0.3 + 0.7 x 1 = 1.
    assert smm[0] == pytest.approx(float(smm_from_cpr(refi(SCurve(), 0.07 / 0.04))), rel=1e-12)
    # Month 2: burnout 0.3 + 0.7 x (1 - SMM_1).
    cpr2 = float(refi(SCurve(), 0.07 / 0.04)) * (0.3 + 0.7 * (1 - smm[0]))
    assert smm[1] == pytest.approx(float(smm_from_cpr(cpr2)), rel=1e-12)


def test_the_multiplier_scales_refinancing():
    rate = np.full((1, 6), 0.05)
    args = (rate, np.array([0.06]), np.array([40]), np.arange(1, 7))
    base = smm_paths(PrepayModel(burnout_slope=0.0, burnout_floor=1.0), *args)
    double = smm_paths(PrepayModel(burnout_slope=0.0, burnout_floor=1.0).scaled(2.0), *args)
    want = np.minimum(2 * (1 - (1 - base) ** 12), 1.0)
    np.testing.assert_allclose(1 - (1 - double) ** 12, want, rtol=1e-12)


def test_deal_pools_give_the_engines_array():
    pools = (Pool("P1", 1e6, 0.065, 0.06, 360, 358, 2), Pool("P2", 5e5, 0.055, 0.05, 360, 300, 60))
    paths = simulate(CURVE, HullWhite(0.03, 0.01, 10, seed=4), 358)
    smm = deal_smm(OTS, paths.mortgage_rate(), pools, dt.date(2027, 1, 25))
    assert smm.shape == (10, 2, 358)
    # The higher-WAC pool has the larger incentive; once both are seasoned it prepays faster.
    assert (smm[:, 0, 40] > smm[:, 1, 40]).all()


@pytest.mark.parametrize("kwargs, words", [
    (dict(turnover=-0.1), "turnover"),
    (dict(turnover=1.5), "turnover"),
    (dict(multiplier=-1.0), "multiplier"),
    (dict(seasoning_months=-3), "seasoning"),
    (dict(seasonality=(1.0,) * 11), "12 multipliers"),
])
def test_bad_models_are_refused_in_words(kwargs, words):
    with pytest.raises(InputError, match=words):
        PrepayModel(**kwargs)


@settings(max_examples=30, deadline=None)
@given(a=st.floats(0.0, 0.5), sigma=st.floats(0.0, 0.05), shift=st.floats(-500, 500),
       multiplier=st.floats(0.0, 5.0), wac=st.floats(0.0, 0.15), age=st.integers(0, 400))
def test_smm_is_a_rate_with_no_nan(a, sigma, shift, multiplier, wac, age):
    if sigma == 0:
        paths = shifted_path(CURVE, shift, 120)
    else:
        paths = simulate(CURVE, HullWhite(a, sigma, 10, seed=1), 120)
    smm = smm_paths(OTS.scaled(multiplier), paths.mortgage_rate(), np.array([wac]), np.array([age]),
                    calendar_months(dt.date(2027, 3, 25), 120))
    assert not np.isnan(smm).any()
    assert ((smm >= 0) & (smm <= 1)).all()
    assert math.isfinite(float(smm.sum()))


def test_the_benchmark_runs_and_wal_extends_as_rates_rise(monkeypatch, capsys):
    # The whole chain on a small grid: paths -> mortgage rate -> SMM -> engine, and the classes'
    # WALs on the shifted curves lengthen as rates rise (fewer refinancings).
    from pathlib import Path

    from conftest import script_module

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_ratepaths.py"
    with script_module(script, "bench_ratepaths") as bench:
        monkeypatch.setattr("sys.argv", ["bench_ratepaths.py", "--paths", "4", "--repeat", "1"])
        bench.main()
    out = capsys.readouterr().out
    assert "4 paths x 357 months" in out
    shifts = [line.split() for line in out.splitlines() if line.strip()[:1] in "+-"]
    rows = {int(cells[0]): [float(x) for x in cells[1:]] for cells in shifts}
    assert set(rows) == {-100, 0, 300}
    assert all(a < b < c for a, b, c in zip(rows[-100], rows[0], rows[300], strict=True))
