"""Defaults and losses: the SDA curve, MDR from CDR, the assumptions' text and errors, and the
collateral cash flows of the BMA/SIFMA standard formulas, checked against the standard's own
Cash Flows A and B (Uniform Practices, chapter SF) to the dollar.

The standard's examples: 30-year new loans, 8% WAC (and net coupon), 100,000,000 original
balance, 12-month recovery period, 20% severity, servicer advancing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import structurer
from structurer.engine.collateral import collateral_flows
from structurer.engine.defaults import cdr_from_sda, default_flows, mdr_from_cdr, mdr_matrix, project
from structurer.engine.prepayment import smm_matrix
from structurer.errors import InputError
from structurer.model import Pool
from structurer.model.defaults import (
    DefaultAssumption,
    DefaultRate,
    Severity,
    parse_advancing,
    parse_default_rate,
    parse_default_rates,
    parse_defaults,
    parse_lag,
    parse_severity,
)
from structurer.model.prepayment import Prepayment, parse_speed

DEALS = Path(__file__).resolve().parent.parent / "deals"
STANDARD_POOL = Pool("standard", 100_000_000, 0.08, 0.08, 360, 360, 0)
STANDARD_TERMS = "severity 20% lag 12 advance on"


def standard(prepayment: str, default_rate: str):
    flows = project([STANDARD_POOL], [parse_speed(prepayment)],
                    [parse_defaults(f"{default_rate} {STANDARD_TERMS}")])
    return flows


def dollars(x: float) -> int:
    return round(float(x))  # the standard prints whole dollars


# ---- the standard's Cash Flow A: 1% SMM, 1% MDR


@pytest.fixture(scope="module")
def cash_flow_a():
    return standard("1 SMM", "1 MDR")


@pytest.fixture(scope="module")
def cash_flow_b():
    return standard("150 PSA", "100 SDA")


def test_cash_flow_a_month_1(cash_flow_a):
    f = cash_flow_a
    assert dollars(f.performing_balance[0, 0]) == 97_934_244
    assert dollars(f.new_defaults[0, 0]) == 1_000_000
    assert dollars(f.expected_amortization[0, 0]) == 67_098
    assert dollars(f.prepayments[0, 0]) == 999_329
    # The defaulted loans' own amortization, advanced: expected less actual amortization.
    assert dollars(f.defaulted_amortization[0, 0]) == 671
    assert f.defaulted_amortization[0, 0] == pytest.approx(
        f.expected_amortization[0, 0] - f.scheduled_principal[0, 0], rel=1e-12)


def test_cash_flow_a_totals(cash_flow_a):
    totals = cash_flow_a.totals()
    assert dollars(totals["new_defaults"][0]) == 47_576_640
    assert dollars(totals["losses"][0]) == 9_515_314


def test_cash_flow_b_month_1(cash_flow_b):
    f = cash_flow_b
    assert dollars(f.performing_balance[0, 0]) == 99_906_219
    assert dollars(f.new_defaults[0, 0]) == 1_667
    assert dollars(f.prepayments[0, 0]) == 25_018


def test_cash_flow_b_totals(cash_flow_b):
    totals = cash_flow_b.totals()
    assert dollars(totals["new_defaults"][0]) == 2_776_019
    assert dollars(totals["prepayments"][0]) == 76_052_023
    assert dollars(totals["recoveries"][0]) == 2_184_008
    assert dollars(totals["losses"][0]) == 555_201
    # Cumulative default at 150 PSA and 100 SDA: 2.78% of the original balance.
    assert round(100 * totals["new_defaults"][0] / STANDARD_POOL.balance, 2) == 2.78


def test_no_defaults_in_the_last_lag_months(cash_flow_a, cash_flow_b):
    for f in (cash_flow_a, cash_flow_b):
        assert f.new_defaults[0, 347] > 0
        assert (f.new_defaults[0, 348:] == 0).all()
        # Every defaulted loan is liquidated by the last month.
        assert f.delinquent_balance[0, -1] == pytest.approx(0, abs=1e-6)


# ---- the SDA curve and MDR


@pytest.mark.parametrize("month,cdr", [
    (1, 0.0002), (15, 0.003), (30, 0.006), (45, 0.006), (60, 0.006), (61, 0.005905),
    (90, 0.00315), (120, 0.0003), (121, 0.0003), (200, 0.0003),
])
def test_100_sda(month, cdr):
    assert cdr_from_sda(100, month) == pytest.approx(cdr, rel=1e-12)


def test_sda_multiples_scale_and_cap_at_100_cdr():
    assert cdr_from_sda(200, 30) == pytest.approx(0.012, rel=1e-12)
    assert cdr_from_sda(50, 61) == pytest.approx(0.0029525, rel=1e-12)
    assert cdr_from_sda(0, 45) == 0.0
    assert cdr_from_sda(20_000, 30) == 1.0


def test_mdr_from_cdr_is_the_smm_cpr_relation():
    cdr = np.linspace(0, 1, 41)
    assert 1 - (1 - mdr_from_cdr(cdr)) ** 12 == pytest.approx(cdr, rel=1e-12, abs=1e-15)
    assert mdr_from_cdr(0.06) == pytest.approx(0.00514301, abs=5e-9)


def test_sda_counts_age_from_each_pool():
    seasoned = Pool("seasoned", 1.0, 0.08, 0.08, 360, 300, 60)
    new = Pool("new", 1.0, 0.08, 0.08, 360, 360, 0)
    mdr = mdr_matrix([DefaultRate.constant(100, "SDA")], [new, seasoned], [0], 360)
    assert mdr[0, 0, 0] == pytest.approx(mdr_from_cdr(0.0002), rel=1e-12)  # age 1
    assert mdr[0, 1, 0] == pytest.approx(mdr_from_cdr(0.005905), rel=1e-12)  # age 61
    assert (mdr[0, 1, 300:] == 0).all()  # past its remaining term


def test_mdr_matrix_units_and_the_final_lag_months():
    pool = Pool("P", 1.0, 0.06, 0.06, 24, 24, 0)
    mdr = mdr_matrix([DefaultRate.constant(2, "CDR"), DefaultRate.constant(0.5, "MDR"),
                      DefaultRate.vector([1, 2, 3], "MDR")], [pool], [6, 0, 23], 24)
    assert mdr[0, 0, :18] == pytest.approx(mdr_from_cdr(0.02), rel=1e-12)
    assert (mdr[0, 0, 18:] == 0).all()  # lag 6: months 19-24 have no new defaults
    assert mdr[1, 0] == pytest.approx(0.005, rel=1e-12)  # lag 0: every month
    assert mdr[2, 0, 0] == pytest.approx(0.01) and (mdr[2, 0, 1:] == 0).all()


def test_ramp_follows_prepayment_conventions():
    ramp = DefaultRate.ramp(2, 6, 4, "CDR")
    assert ramp.path(7).tolist() == [2, 3, 4, 5, 6, 6, 6]
    assert ramp.path(7).tolist() == Prepayment.ramp(2, 6, 4, "CPR").path(7).tolist()
    assert DefaultRate.vector([1, 2], "CDR").path(4).tolist() == [1, 2, 2, 2]


# ---- the assumptions as text


@pytest.mark.parametrize("text,rate", [
    ("100 SDA", DefaultRate("SDA", "constant", (100.0,))),
    ("2 CDR", DefaultRate("CDR", "constant", (2.0,))),
    ("0.5 mdr", DefaultRate("MDR", "constant", (0.5,))),
    ("1_000 SDA", DefaultRate("SDA", "constant", (1000.0,))),
    ("2 CDR ramp to 6 CDR over 24 months", DefaultRate("CDR", "ramp", (2.0, 6.0), 24)),
    ("50 SDA ramp to 200 over 12", DefaultRate("SDA", "ramp", (50.0, 200.0), 12)),
    ("vector(1, 2, 3 CDR)", DefaultRate("CDR", "vector", (1.0, 2.0, 3.0))),
])
def test_parse_default_rate(text, rate):
    assert parse_default_rate(text) == rate


def test_a_bare_number_takes_the_unit_given():
    assert parse_default_rate("2", unit="CDR") == DefaultRate.constant(2, "CDR")


def test_parse_the_other_parts():
    assert parse_severity("severity 35%") == Severity.constant(35)
    assert parse_severity("35") == Severity.constant(35)
    assert parse_severity("vector(20, 30, 40%)") == Severity.vector([20, 30, 40])
    assert parse_lag("lag 12") == 12
    assert parse_lag("12 months") == 12
    assert parse_advancing("advance on") is True
    assert parse_advancing("off") is False


def test_parse_a_whole_assumption_in_any_order():
    got = parse_defaults("100 SDA lag 12 advance off severity 35%")
    assert got == DefaultAssumption(DefaultRate.constant(100, "SDA"), Severity.constant(35), 12, False)
    assert parse_defaults(got.description) == got
    assert got.description == "100 SDA severity 35% lag 12 advance off"
    bare = parse_defaults("2 CDR")
    assert (bare.severity, bare.lag, bare.advancing) == (Severity.constant(0), 0, True)


def test_severity_path_is_by_month_last_held():
    assert Severity.vector([20, 40]).fractions(4).tolist() == [0.2, 0.4, 0.4, 0.4]


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("text,message,caret", [
    ("100 SDA severity 135% lag 12",
     "a loss severity of 135% is more than 100%: a liquidation cannot lose more than the defaulted balance",
     "                   ^^^"),
    ("-1 CDR", "a default rate cannot be negative (-1 CDR)", "  ^^^^^^"),
    ("200 CDR", "200 CDR is more than 100%: no more than every loan can default", "  ^^^^^^^"),
    ("101 MDR", "101 MDR is more than 100%: no more than every loan can default", "  ^^^^^^^"),
    ("200000 SDA", "200000 SDA is not a plausible default rate (at most 100,000 SDA; every rate above "
     "about 16,667 SDA is already 100 CDR from month 30)", "  ^^^^^^^^^^"),
    ("100 SDA severity -5%", "a loss severity cannot be negative (-5%)", "                   ^^"),
    ("100 SDA lag 400", "a recovery lag of 400 months is longer than the loans' term (360 months): the "
     "defaulted loans would never be liquidated", "              ^^^"),
    ("100 SDA lag -1", "a recovery lag cannot be negative (-1 months)", "              ^^"),
    ("100 SDA lag 1.5", "a recovery lag is a whole number of months, not 1.5", "              ^^^"),
    ("100 SDA lag 12 lag 3", "'lag' is given twice", "                 ^^^"),
    ("100", "a default rate needs its unit: write it like '100 SDA', '2 CDR' or '0.5 MDR'", "  ^^^"),
    ("100 PSA", "'PSA' is not a default rate unit; write CDR, MDR or SDA", "      ^^^"),
    ("2 CDR ramp 6", "expected 'to' after 'ramp': write it like '2 CDR ramp to 6 CDR over 24 months'",
     "             ^"),
    ("2 CDR ramp to 6 SDA over 3", "a ramp must start and end in the same unit (it starts in CDR and ends "
     "in SDA)", "                ^^^^^"),
    ("2 CDR ramp to 6 CDR", "expected 'over' and the ramp's length: write it like '2 CDR ramp to 6 CDR "
     "over 24 months'", "                     ^"),
    ("2 CDR ramp to 6 CDR over 0", "a ramp lasts a whole number of months, at least one",
     "                           ^"),
    ("vector(1, 2)", "a vector needs its unit after the last rate: write it like 'vector(1, 2, 3 CDR)'",
     "        ^^^^^^"),
    ("vector(1 CDR, 2 MDR)", "every rate in a vector must be in one unit", "                  ^^^"),
    ("vector(1 2 CDR)", "expected ',' between the rates of a vector", "           ^"),
    ("vector 1 CDR", "expected '(' after 'vector': write it like 'vector(1, 2, 3 CDR)'", "         ^"),
    ("nan SDA", "a default rate is a finite number, not 'nan'", "  ^^^"),
    ("100 SDA foo", "unexpected 'foo': after the default rate come 'severity 35%', 'lag 12' and "
     "'advance on|off'", "          ^^^"),
    ("100 SDA advance maybe", "servicer advancing is 'on' or 'off'", "                  ^^^^^"),
    ("100 SDA severity", "expected a loss severity (a number), found the end", "                  ^"),
    ("SDA", "expected a default rate (a number), found 'SDA'", "  ^^^"),
])
def test_every_error_in_the_domain_words_with_its_place(text, message, caret):
    lines = error_of(parse_defaults, text, term=360).split("\n")
    assert lines == [message, f"  {text}", caret]


def test_errors_of_objects_built_in_python():
    assert "cannot be negative" in error_of(DefaultRate.constant, -1, "CDR")
    assert error_of(DefaultRate.constant, 1, "PSA") == ("'PSA' is not a default rate unit; "
                                                         "write CDR, MDR or SDA")
    assert "is more than 100%" in error_of(Severity.constant, 100.5)
    assert "at least one severity" in error_of(Severity.vector, [])
    assert "at least one rate" in error_of(DefaultRate.vector, [], "CDR")
    assert "a ramp lasts at least one month" == error_of(DefaultRate.ramp, 1, 2, 0, "CDR")
    assert "whole number of months" in error_of(DefaultAssumption, DefaultRate.constant(1, "CDR"), lag=1.5)
    assert "longer than any mortgage term (600 months)" in error_of(
        DefaultAssumption, DefaultRate.constant(1, "CDR"), lag=601)
    assert "control character" in error_of(parse_defaults("1 CDR").named, "a\x1bb")
    assert parse_defaults("1 CDR").named("stress").label == "stress"


def test_the_engine_refuses_a_lag_longer_than_the_loans_term():
    pool = Pool("short", 1_000_000, 0.06, 0.06, 120, 120, 0)
    message = error_of(project, [pool], [Prepayment.constant(0, "CPR")], [parse_defaults("2 CDR lag 121")])
    assert message.startswith("a recovery lag of 121 months is longer than the loans' term (120 months)")
    assert "pair them one to one" in error_of(project, [pool], [], [parse_defaults("2 CDR")])
    smm = np.zeros((2, 1, 120))
    assert "give one for each" in error_of(default_flows, [pool], smm, [parse_defaults("2 CDR")])


# ---- hand-checked mechanics on a small pool


def test_without_advancing_the_defaulted_balance_waits_whole_and_pays_nothing():
    pool = Pool("P", 1_200_000, 0.06, 0.05, 12, 12, 0)
    f = project([pool], [Prepayment.constant(0, "CPR")],
                [parse_defaults("1 MDR severity 40% lag 3 advance off")])
    new = f.new_defaults[0]
    assert new[0] == pytest.approx(12_000, rel=1e-12)
    assert (f.defaulted_amortization == 0).all() and (f.advanced_interest == 0).all()
    # Month 4 liquidates month 1's defaults whole; 40% of them are lost.
    assert f.liquidations[0, 3] == pytest.approx(new[0], rel=1e-12)
    assert f.losses[0, 3] == pytest.approx(0.4 * new[0], rel=1e-12)
    assert f.delinquent_balance[0, 2] == pytest.approx(new[:3].sum(), rel=1e-12)
    # Interest only from the loans that paid: the prior performing balance less the new defaults.
    assert f.interest[0, 1] == pytest.approx((f.performing_balance[0, 0] - new[1]) * 0.05 / 12, rel=1e-12)
    assert (new[9:] == 0).all()  # the last 3 months


def test_with_advancing_the_defaulted_loans_amortize_on_schedule_until_liquidated():
    pool = Pool("P", 1_200_000, 0.06, 0.05, 12, 12, 0)
    f = project([pool], [Prepayment.constant(0, "CPR")],
                [parse_defaults("1 MDR severity 40% lag 3 advance on")])
    r = 0.06 / 12
    a = [r / ((1 + r) ** n - 1) for n in (12, 11, 10)]
    cohort = f.new_defaults[0, 0]
    # Month 1's defaults pay (by advance) their scheduled principal in months 1, 2 and 3.
    assert f.defaulted_amortization[0, 0] == pytest.approx(cohort * a[0], rel=1e-12)
    liquidated = cohort * (1 - a[0]) * (1 - a[1]) * (1 - a[2])
    assert f.liquidations[0, 3] == pytest.approx(liquidated, rel=1e-12)
    assert f.losses[0, 3] == pytest.approx(0.4 * cohort, rel=1e-12)  # on the balance at default
    assert f.recoveries[0, 3] == pytest.approx(liquidated - 0.4 * cohort, rel=1e-12)
    # Advanced interest on what waits: this month's defaults and those still in the pipeline.
    waiting = f.delinquent_balance[0, 0] + f.new_defaults[0, 1]
    assert f.advanced_interest[0, 1] == pytest.approx(waiting * 0.05 / 12, rel=1e-12)


def test_lag_zero_liquidates_in_the_month_of_default():
    pool = Pool("P", 1_000_000, 0.06, 0.06, 60, 60, 0)
    f = project([pool], [Prepayment.constant(10, "CPR")], [parse_defaults("5 CDR severity 30% lag 0")])
    assert f.liquidations == pytest.approx(f.new_defaults, rel=1e-12)
    assert f.losses == pytest.approx(0.3 * f.new_defaults, rel=1e-12)
    assert (f.delinquent_balance == 0).all() and (f.defaulted_amortization == 0).all()


def test_100_cdr_defaults_everything_at_once_and_prepays_nothing():
    pool = Pool("P", 1_000_000, 0.06, 0.06, 60, 60, 0)
    f = project([pool], [Prepayment.constant(50, "CPR")], [parse_defaults("100 CDR severity 50% lag 6")])
    assert f.new_defaults[0, 0] == 1_000_000 and f.prepayments[0, 0] == 0
    assert (f.performing_balance == 0).all()
    assert f.losses.sum() == pytest.approx(500_000, rel=1e-12)


# ---- zero defaults are engine/collateral.py's flows, on every pool of the example deals


def _example_pools() -> list[tuple[str, tuple[Pool, ...]]]:
    return [(path.stem, structurer.load(path).pools) for path in sorted(DEALS.glob("*.waterfall"))]


@pytest.mark.parametrize("name,pools", _example_pools(), ids=[n for n, _ in _example_pools()])
def test_zero_default_rate_gives_the_collateral_flows(name, pools):
    periods = max(p.remaining for p in pools)
    speeds = [Prepayment.constant(s, "PSA") for s in (0, 100, 165, 300, 1000)] + \
             [Prepayment.constant(6, "CPR"), Prepayment.ramp(2, 20, 12, "CPR")]
    smm = smm_matrix(speeds, np.array([p.age for p in pools]), periods)
    expected = collateral_flows(pools, smm)
    for zero in ("0 CDR severity 35% lag 12", "0 SDA lag 0 advance off"):
        got = default_flows(pools, smm, [parse_defaults(zero)] * len(speeds))
        for mine, theirs in [("beginning_balance", "beginning_balance"),
                             ("performing_balance", "ending_balance"),
                             ("scheduled_principal", "scheduled_principal"), ("prepayments", "prepayment"),
                             ("interest", "interest")]:
            assert getattr(got, mine) == pytest.approx(getattr(expected, theirs), rel=1e-9, abs=1e-9)
            assert got.by_pool[mine] == pytest.approx(expected.by_pool[theirs], rel=1e-9, abs=1e-9)
        assert got.servicing_fee == pytest.approx(expected.servicing_fee, rel=1e-9, abs=1e-9)
        assert got.principal == pytest.approx(expected.principal, rel=1e-9, abs=1e-9)
        for none in ("new_defaults", "defaulted_amortization", "delinquent_balance", "liquidations",
                     "recoveries", "losses", "advanced_interest"):
            assert (getattr(got, none) == 0).all()


# ---- invariants over speeds, default rates, severities, lags, advancing


@settings(max_examples=60, deadline=None)
@given(
    cpr=st.floats(0, 100), cdr=st.floats(0, 100), severity=st.floats(0, 100),
    lag=st.integers(0, 36), advancing=st.booleans(),
    term=st.integers(37, 360), age=st.integers(0, 120), wac=st.floats(0, 0.15),
    sda=st.booleans(),
)
def test_invariants(cpr, cdr, severity, lag, advancing, term, age, wac, sda):
    pools = [Pool("A", 1_000_000, wac, wac * 0.9, term + age, term, age),
             Pool("B", 250_000, 0.07, 0.065, 360, 360, 0)]
    rate = DefaultRate.constant(cdr * 100 if sda else cdr, "SDA" if sda else "CDR")
    assumption = DefaultAssumption(rate, Severity.constant(severity), lag, advancing)
    f = project(pools, [Prepayment.constant(cpr, "CPR")], [assumption])
    original = sum(p.balance for p in pools)
    paid = f.scheduled_principal + f.defaulted_amortization + f.prepayments + f.recoveries + f.losses
    held = f.performing_balance + f.delinquent_balance + np.cumsum(paid, axis=1)
    assert held == pytest.approx(np.full_like(held, original), rel=1e-6)
    for name in ("performing_balance", "delinquent_balance", "new_defaults", "scheduled_principal",
                 "defaulted_amortization", "prepayments", "liquidations", "recoveries", "losses",
                 "interest", "advanced_interest"):
        assert (getattr(f, name) >= 0).all(), name
    # Each pool retires by its own last month: performing and pending alike.
    for k, pool in enumerate(pools):
        assert f.by_pool["performing_balance"][0, k, pool.remaining - 1:] == pytest.approx(0, abs=1e-9)
        assert f.by_pool["delinquent_balance"][0, k, pool.remaining - 1:] == pytest.approx(0, abs=1e-6)
    # Losses: severity x the defaulted balance, capped at what is liquidated; without advancing
    # the liquidated balance is the defaulted balance, so losses are severity x liquidations.
    assert f.liquidations == pytest.approx(f.recoveries + f.losses, rel=1e-12, abs=1e-9)
    for k in range(len(pools)):
        new = f.by_pool["new_defaults"][0, k]
        due = np.concatenate([np.zeros(lag), new[:len(new) - lag]])
        expected = np.minimum(severity / 100 * due, f.by_pool["liquidations"][0, k])
        assert f.by_pool["losses"][0, k] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    if not advancing:
        assert f.losses == pytest.approx(severity / 100 * f.liquidations, rel=1e-12, abs=1e-9)
    assert f.liquidations.sum() == pytest.approx(f.new_defaults.sum() - f.defaulted_amortization.sum(),
                                                 rel=1e-9, abs=1e-6)


def test_scenarios_with_different_lags_in_one_run_are_each_their_own_run():
    pools = [Pool("A", 1_000_000, 0.07, 0.065, 360, 300, 60), Pool("B", 500_000, 0.06, 0.055, 180, 178, 2)]
    speeds = [Prepayment.constant(s, "PSA") for s in (100, 250, 0, 400)]
    defaults = [parse_defaults(text) for text in (
        "100 SDA severity 35% lag 12", "2 CDR severity 50% lag 0 advance off",
        "vector(1, 3, 5 CDR) severity vector(20, 60%) lag 30", "300 SDA severity 100% lag 7 advance off")]
    together = project(pools, speeds, defaults)
    for i, (speed, default) in enumerate(zip(speeds, defaults, strict=True)):
        alone = project(pools, [speed], [default])
        for name in ("performing_balance", "new_defaults", "defaulted_amortization", "delinquent_balance",
                     "liquidations", "recoveries", "losses", "interest"):
            assert getattr(together, name)[i] == pytest.approx(getattr(alone, name)[0], rel=1e-12, abs=1e-9)
        assert alone.losses.sum() > 0


def test_a_list_of_rates_for_a_grid():
    expected = [DefaultRate.constant(v, "SDA") for v in (0, 100, 200)]
    assert parse_default_rates("0,100,200", unit="SDA") == expected
    assert parse_default_rates("0, 1, 2 CDR, 100 SDA") == [
        DefaultRate.constant(0, "CDR"), DefaultRate.constant(1, "CDR"), DefaultRate.constant(2, "CDR"),
        DefaultRate.constant(100, "SDA")]
    assert "empty default rate" in error_of(parse_default_rates, "1,,2", "CDR")
    assert "needs its unit" in error_of(parse_default_rates, "1, 2")
    assert "not a constant default rate" in error_of(parse_default_rates, "1 CDR ramp to 2 CDR over 3")


def test_the_engine_validates_assumptions_built_without_the_checks():
    pool = Pool("P", 1_000_000, 0.06, 0.06, 60, 60, 0)
    bad_rate = DefaultAssumption(DefaultRate("CDR", "constant", (-2.0,)))
    bad_severity = DefaultAssumption(DefaultRate.constant(2, "CDR"), Severity("constant", (150.0,)))
    for bad, words in ((bad_rate, "cannot be negative"), (bad_severity, "more than 100%")):
        assert words in error_of(project, [pool], [Prepayment.constant(0, "CPR")], [bad])
