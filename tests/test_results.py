"""Results: the DataFrames, decrement tables and the machine-readable summary."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import build_deal, deal_text

from structurer import InputError
from structurer.results.results import COLLATERAL

# A pool with no interest rate amortises in a straight line: 1,200,000 over 24 months is
# 50,000 a month, so every figure below can be worked out by hand.
STRAIGHT = deal_text(
    name="STRAIGHT",
    pools='pool "P" { balance 1,200,000 wac 0% coupon 0% term 24 age 0 }',
    classes="class A SEQ balance 600,000 coupon 0%\nclass B SEQ balance 600,000 coupon 0%\n"
            "class R R",
    principal="pay A then B",
    scenarios='pricing 0 PSA\n decrement 0 PSA, 100 SMM\n scenario "fast" 100 SMM',
)

# A deal with interest, excess interest for the residual and two speeds.
COUPON = deal_text(
    name="COUPON",
    pools='pool "P" { balance 1,000,000 wac 6.5% coupon 6% term 60 age 0 }',
    classes="class A SEQ balance 600,000 coupon 5%\nclass B SEQ balance 400,000 coupon 6%\n"
            "class R R",
    principal="pay A then B",
    scenarios="pricing 100 PSA",
)

CLASS_COLUMNS = ["period", "date", "beginning_balance", "interest", "principal", "cash_flow",
                 "ending_balance", "interest_shortfall"]
COLLATERAL_COLUMNS = ["period", "date", "beginning_balance", "interest", "scheduled_principal",
                      "prepayment", "principal", "cash_flow", "ending_balance", "servicing_fee",
                      "smm", "cpr"]
RTOL = 1e-12  # straight-line figures: sums of a few dozen round numbers


def in_order(columns, wanted: list[str]) -> bool:
    """Every wanted column is there, in this order (others may come between)."""
    return [c for c in columns if c in wanted] == wanted


@pytest.fixture(scope="module")
def straight():
    return build_deal(STRAIGHT).run("0 PSA", "100 SMM")


@pytest.fixture(scope="module")
def coupon():
    return build_deal(COUPON).run("100 PSA", "300 PSA")


# ---------------------------------------------------------------------------- running


def test_labels_periods_dates(straight):
    assert straight.scenarios == ["0 PSA", "100 SMM"]
    assert straight.periods == 24
    assert straight.dates[0] == dt.date(2027, 2, 25)
    assert straight.dates[-1] == dt.date(2029, 1, 25)
    assert straight.date_of(12) == dt.date(2028, 1, 25)
    assert straight.date_of(0) is None


def test_default_run_is_the_pricing_speed():
    assert build_deal(COUPON).run().scenarios == ["100 PSA"]


def test_named_scenarios_run_by_name():
    res = build_deal(STRAIGHT).run("fast")
    assert res.scenarios == ["fast"]
    assert res.arrays("B")["principal"][0, 0] == pytest.approx(600_000, rel=RTOL)


def test_no_pricing_speed_is_an_input_error():
    deal = build_deal(deal_text(scenarios=None))
    with pytest.raises(InputError, match="no pricing speed"):
        deal.run()


def test_bad_speed_text_is_an_input_error():
    with pytest.raises(InputError):
        build_deal(COUPON).run("fast")


def test_scenario_index(straight):
    assert straight.scenario_index("100 SMM") == 1
    assert straight.scenario_index(1) == 1
    with pytest.raises(InputError, match="no scenario"):
        straight.scenario_index("42 PSA")


# ---------------------------------------------------------------------------- figures


def test_straight_line_figures(straight):
    a, b = straight.arrays("A")["principal"][0], straight.arrays("B")["principal"][0]
    assert a[:12] == pytest.approx([50_000] * 12, rel=RTOL)
    assert np.all(a[12:] == 0)
    assert b[12:] == pytest.approx([50_000] * 12, rel=RTOL)
    # WAL A = (1 + ... + 12) x 50,000 / (12 x 600,000) = 78/144; B = (13 + ... + 24)/144.
    assert straight.wal("A")[0] == pytest.approx(78 / 144, rel=RTOL)
    assert straight.wal("B")[0] == pytest.approx(222 / 144, rel=RTOL)
    assert straight.wal(COLLATERAL)[0] == pytest.approx(300 / 288, rel=RTOL)
    # At 100 SMM everything is paid in month 1.
    assert straight.wal("A")[1] == pytest.approx(1 / 12, rel=RTOL)
    assert straight.wal("B")[1] == pytest.approx(1 / 12, rel=RTOL)
    first, last = straight.principal_window("B")
    assert first.tolist() == [13, 1] and last.tolist() == [24, 1]
    assert straight.final_period("B").tolist() == [24, 1]
    assert straight.final_period(COLLATERAL).tolist() == [24, 1]


def test_average_life_to_receipt(straight):
    # At 100 SMM all principal arrives on Feb 25, 2027: 25 days after the Jan 30 settlement.
    assert straight.average_life_to_receipt("A")[1] == pytest.approx(25 / 360, rel=RTOL)


def test_residual_arrays(coupon):
    r = coupon.arrays("R")
    assert np.all(r["beginning_balance"] == 0) and np.all(r["ending_balance"] == 0)
    # Collateral pays 6% on 1,000,000, the classes 5% on 600,000 and 6% on 400,000:
    # the residual's first month is 1,000,000 x 6%/12 - 2,500 - 2,000 = 500.
    assert r["interest"][0, 0] == pytest.approx(500, rel=1e-9)


# ---------------------------------------------------------------------------- DataFrames


def test_class_cashflows(coupon):
    df = coupon.class_cashflows("A", "300 PSA")
    assert in_order(df.columns, CLASS_COLUMNS)
    assert len(df) == coupon.periods
    assert df["period"].tolist() == list(range(1, 61))
    assert df["date"].iloc[0] == pd.Timestamp("2027-02-25")
    arrays = coupon.arrays("A")
    assert df["principal"].to_numpy() == pytest.approx(arrays["principal"][1], rel=1e-15)
    assert df["cash_flow"].to_numpy() == pytest.approx(df["interest"] + df["principal"], rel=1e-15)
    assert df["beginning_balance"].iloc[0] == 600_000


def test_collateral_cashflows(coupon):
    df = coupon.collateral_cashflows(0)
    assert in_order(df.columns, COLLATERAL_COLUMNS)
    assert df["principal"].to_numpy() == pytest.approx(
        (df["scheduled_principal"] + df["prepayment"]).to_numpy(), rel=1e-15)
    # 100 PSA month 1 of a new pool: 0.2% CPR.
    assert df["cpr"].iloc[0] == pytest.approx(0.002, rel=1e-9)
    assert df["smm"].iloc[0] == pytest.approx(1 - 0.998 ** (1 / 12), rel=1e-9)


def test_cashflows_in_long_form(coupon):
    df = coupon.cashflows()
    assert list(df.columns[:2]) == ["scenario", "class"]
    assert in_order(df.columns, CLASS_COLUMNS)
    names = [COLLATERAL, "A", "B", "R"]
    assert len(df) == 2 * len(names) * coupon.periods
    assert set(df["scenario"]) == {"100 PSA", "300 PSA"}
    assert list(dict.fromkeys(df["class"])) == names
    coll = df[(df["scenario"] == "300 PSA") & (df["class"] == COLLATERAL)]
    assert coll["principal"].to_numpy() == pytest.approx(coupon.collateral.principal[1], rel=1e-15)
    # The long form adds up: collateral cash = the classes' cash + the residual's, per period.
    by = df.groupby(["scenario", "period"])
    classes = df[df["class"] != COLLATERAL].groupby(["scenario", "period"])["cash_flow"].sum()
    collateral = df[df["class"] == COLLATERAL].groupby(["scenario", "period"])["cash_flow"].sum()
    assert classes.to_numpy() == pytest.approx(collateral.to_numpy(), rel=1e-9)
    assert by.ngroups == 2 * coupon.periods


def test_summary(straight):
    s = straight.summary("0 PSA")
    assert list(s.index) == ["A", "B", "R"]
    for column in ("type", "original_balance", "coupon", "wal", "first_principal_period",
                   "last_principal_period", "first_principal_date", "last_principal_date",
                   "final_date", "total_interest", "total_principal", "interest_shortfall"):
        assert column in s.columns
    assert (s.loc["B", "principal_type"], s.loc["B", "interest_type"]) == ("SEQ", "FIX")
    assert s.loc["B", "wal"] == pytest.approx(222 / 144, rel=RTOL)
    assert (s.loc["B", "first_principal_period"], s.loc["B", "last_principal_period"]) == (13, 24)
    assert s.loc["B", "first_principal_date"] == dt.date(2028, 2, 25)
    assert s.loc["B", "final_date"] == dt.date(2029, 1, 25)
    assert s.loc["B", "total_principal"] == pytest.approx(600_000, rel=RTOL)
    assert math.isnan(s.loc["R", "wal"])
    assert s.loc["R", "type"] == "R"


# ---------------------------------------------------------------------------- decrement tables


def test_decrement_table(straight):
    t = straight.decrement_table("B")
    assert list(t.columns) == ["0 PSA", "100 SMM"]
    assert t.index.name == "Distribution date"
    assert list(t.index) == ["Initial", "Jan 2028", "Jan 2029", "WAL (years)"]
    assert t["0 PSA"].tolist() == ["100", "100", "0", "1.54"]
    assert t["100 SMM"].tolist() == ["100", "0", "0", "0.08"]


def test_decrement_table_rounding(straight):
    t = straight.decrement_table("A")
    # A: 600,000 in 12 payments of 50,000: retired by the first anniversary.
    assert list(t.index) == ["Initial", "Jan 2028", "WAL (years)"]
    assert t["0 PSA"].tolist() == ["100", "0", "0.54"]


def test_unformatted_decrement_table(coupon):
    t = coupon.decrement_table("B", formatted=False)
    formatted = coupon.decrement_table("B")
    assert t.index.equals(formatted.index)
    assert t.iloc[0].tolist() == [100.0, 100.0]
    end = coupon.arrays("B")["ending_balance"]
    assert t.loc["Jan 2028", "100 PSA"] == pytest.approx(100 * end[0, 11] / 400_000, rel=1e-12)
    assert t.iloc[-1].tolist() == pytest.approx(coupon.wal("B").tolist(), rel=1e-12)


def test_decrement_table_of_the_residual_is_an_error(straight):
    with pytest.raises(ValueError, match="residual"):
        straight.decrement_table("R")


# ---------------------------------------------------------------------------- to_dict


def test_to_dict_structure(coupon):
    d = coupon.to_dict()
    assert d["deal"] == "COUPON"
    assert [s["name"] for s in d["scenarios"]] == ["100 PSA", "300 PSA"]
    json.dumps(d, allow_nan=False)  # plain JSON: no NaN, no numpy types, no dates
    for s, scen in enumerate(d["scenarios"]):
        assert set(scen) >= {"name", "collateral", "classes"}
        assert set(scen["collateral"]) >= {"wal", "total_principal", "total_interest"}
        assert scen["collateral"]["total_principal"] == pytest.approx(1_000_000, rel=1e-9)
        assert scen["collateral"]["total_interest"] == pytest.approx(
            coupon.collateral.interest[s].sum(), rel=1e-12)
        assert scen["collateral"]["wal"] == pytest.approx(coupon.wal(COLLATERAL)[s], rel=1e-9)
        assert list(scen["classes"]) == ["A", "B", "R"]
        for c in scen["classes"].values():
            assert set(c) >= {"wal", "principal_window", "total_principal", "total_interest",
                              "final_date"}
            assert isinstance(c["principal_window"], list) and len(c["principal_window"]) == 2
            assert all(type(x) is int for x in c["principal_window"])
            if c["final_date"] is not None:
                dt.date.fromisoformat(c["final_date"])
        a = scen["classes"]["A"]
        assert a["wal"] == pytest.approx(coupon.wal("A")[s], rel=1e-9)
        assert a["total_principal"] == pytest.approx(600_000, rel=1e-9)
        assert a["total_interest"] == pytest.approx(coupon.arrays("A")["interest"][s].sum(),
                                                    rel=1e-12)
        first, last = coupon.principal_window("A")
        assert a["principal_window"] == [int(first[s]), int(last[s])]
        assert a["final_date"] == coupon.date_of(int(coupon.final_period("A")[s])).isoformat()
        assert scen["classes"]["R"]["wal"] is None


def test_to_dict_window_of_a_class_never_paid(straight):
    # At 0 PSA the residual is never paid: no window, no final date.
    r = straight.to_dict()["scenarios"][0]["classes"]["R"]
    assert r["principal_window"] == [0, 0]
    assert r["final_date"] is None
