"""PAC, PAC II and TAC classes: schedules derived from the band, and paid to them.

The schedules are rebuilt here from a hand-written level-pay projection of the collateral
(structured_helpers.pass_through), following DESIGN.md section 3: each period the lower of
the collateral principal at the two band speeds, cumulated and truncated at the PAC balance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structured_helpers import (
    deal_errors,
    deal_text,
    error_matching,
    fjf,
    load,
    pac_schedule,
    pass_through,
    wal,
)

import structurer
from structurer.engine.schedules import Tier, compute_schedules
from structurer.model.prepayment import Prepayment

DEALS = Path(__file__).resolve().parent.parent / "deals"

# Balances are a few hundred million dollars; after 357 periods of float arithmetic the engine
# and the hand loop agree to well under a cent. 1e-6 dollars is the standard of the brief for
# "balance == schedule", 1e-3 dollars for figures rebuilt by an independent loop.
EXACT = 1e-6
HAND = 1e-3

# A millionth of a dollar: float noise of the allocation, not a payment.
NOISE = 1e-6

FJF_PAC = """
class P   PAC(90 PSA, 300 PSA)  balance 243,800,000  coupon 7.5%
class S   SUP                   balance 156,200,000  coupon 7.5%
class R   R
"""
FJF_RULES = """  principal {
    pay P to schedule
    pay S until retired
    pay P until retired
  }"""


@pytest.fixture(scope="module")
def fjf02():
    return structurer.load(DEALS / "pac.waterfall")


@pytest.fixture(scope="module")
def band_runs():
    return fjf(90), fjf(300)


# ---------------------------------------------------------------------------- the schedule


def test_schedule_is_the_lower_band_run_cumulated_and_truncated(fjf02, band_runs):
    low, high = band_runs
    expected = pac_schedule(low.principal, high.principal, 243_800_000)
    got = fjf02.schedules[fjf02.tranche("P").index]
    assert got.shape == (357,)
    for period in (1, 2, 12, 36, 60, 100, 150, 200, 250, 300, 340):
        assert got[period - 1] == pytest.approx(expected[period - 1], abs=HAND), period
    np.testing.assert_allclose(got, expected, rtol=0, atol=HAND)
    # Early on the lower speed pays less principal, late in the life the higher one does
    # (its pool has shrunk): the schedule follows 90 PSA first, then 300 PSA.
    assert low.principal[0] < high.principal[0]
    assert high.principal[300] < low.principal[300]
    # The schedule never rises and reaches zero before the collateral's last period.
    assert np.all(np.diff(got) <= 0)
    assert got[-1] == 0.0


def test_schedule_first_period_by_hand():
    # Period 1 at 90 PSA, loan age 4: CPR = 0.9 x 0.2% x 4 = 0.72%. Level payment on $400mm at
    # 8.125%/12 over 357 months; scheduled principal = payment - interest at the WAC.
    r = 0.08125 / 12
    payment = 400e6 * r / (1 - (1 + r) ** -357)
    scheduled = payment - 400e6 * r
    smm90 = 1 - (1 - 0.0072) ** (1 / 12)
    smm300 = 1 - (1 - 0.024) ** (1 / 12)
    first = min(scheduled + smm90 * (400e6 - scheduled), scheduled + smm300 * (400e6 - scheduled))
    deal = structurer.load(DEALS / "pac.waterfall")
    assert deal.schedules[0][0] == pytest.approx(243_800_000 - first, abs=HAND)


@pytest.mark.parametrize("speed", [90, 100, 120, 165, 200, 250, 275, 300])
def test_pac_pays_exactly_its_schedule_inside_the_band(fjf02, speed):
    results = fjf02.run(f"{speed} PSA")
    balance = results.arrays("P")["ending_balance"][0]
    schedule = fjf02.schedules[0]
    assert np.abs(balance - schedule).max() <= EXACT
    # Paid exactly the scheduled amounts: the WAL of the schedule itself.
    scheduled_payments = -np.diff(np.concatenate([[243_800_000], schedule]))
    assert results.wal("P")[0] == pytest.approx(wal(scheduled_payments), abs=1e-9)


def test_pac_wal_is_the_same_at_every_speed_in_the_band(fjf02):
    speeds = [f"{s} PSA" for s in range(90, 301, 15)]
    wals = fjf02.run(*speeds).wal("P")
    # The same payments at every speed: WALs agree to float noise.
    assert np.ptp(wals) <= 1e-9
    # ...and the support's does not (it absorbs the variation).
    assert np.ptp(fjf02.run(*speeds).wal("S")) > 5.0


def test_fabozzi_fjf02_band_supports_243_8mm_and_wal_7_26(band_runs):
    # Fabozzi, FJF-02: a 90-300 PSA band on FJF-01's collateral supports a PAC of $243.8mm
    # with an average life of 7.26 years at every speed from 90 to 300 PSA.
    low, high = band_runs
    capacity = np.minimum(low.principal, high.principal).sum()
    assert capacity >= 243.8e6
    assert capacity < 244.0e6  # and not much more: 243.8mm is the published (rounded) figure
    text = deal_text(FJF_PAC, FJF_RULES)
    deal = load(text)
    speeds = [90, 100, 125, 150, 165, 175, 200, 225, 250, 275, 300]
    wals = deal.run(*[f"{s} PSA" for s in speeds]).wal("P")
    assert [f"{w:.2f}" for w in wals] == ["7.26"] * len(speeds)
    # The capacity the checks compute is the same sum.
    tier = Tier("PAC", (Prepayment.constant(90, "PSA"), Prepayment.constant(300, "PSA")), [0], [243.8e6])
    compute_schedules(deal.pools, [], [tier], 357)
    assert tier.capacity == pytest.approx(capacity, abs=HAND)


def test_a_pac_larger_than_the_band_supports_is_refused_with_the_capacity(band_runs):
    low, high = band_runs
    capacity = np.minimum(low.principal, high.principal).sum()
    text = deal_text(FJF_PAC.replace("243,800,000", "250,000,000").replace("156,200,000", "150,000,000"),
                     FJF_RULES)
    err = error_matching(deal_errors(text), "supports at most")
    assert f"{capacity:,.2f}" in err.message
    assert "250,000,000.00" in err.message


# ---------------------------------------------------------------------------- outside the band


def test_above_the_band_the_support_retires_and_the_pac_is_busted(fjf02):
    results = fjf02.run("500 PSA")
    p, s = results.arrays("P"), results.arrays("S")
    schedule = fjf02.schedules[0]
    coll = results.collateral.principal[0]
    gone = int(np.argmax(s["ending_balance"][0] <= EXACT))  # 0-based period the support retires
    assert 0 < gone < 100
    # Before that the PAC gets its schedule, no more; afterwards it takes every dollar.
    assert np.abs(p["ending_balance"][0, :gone] - schedule[:gone]).max() <= EXACT
    after = slice(gone + 1, 357)
    np.testing.assert_allclose(p["principal"][0, after], coll[after], rtol=1e-12, atol=EXACT)
    # ...so it runs ahead of schedule (paid faster) and its WAL shortens.
    assert (schedule - p["ending_balance"][0]).max() > 50e6
    assert results.wal("P")[0] < 7.26 - 2


def test_below_the_band_the_pac_falls_behind_then_catches_up(fjf02):
    results = fjf02.run("0 PSA")
    p, s = results.arrays("P"), results.arrays("S")
    schedule = fjf02.schedules[0]
    coll = results.collateral.principal[0]
    behind = p["ending_balance"][0] - schedule > 1.0
    assert behind[0] and behind[100]
    # While it is behind, the PAC has priority to its past-due amounts: the support gets nothing.
    assert np.all(s["principal"][0][behind] <= NOISE)
    np.testing.assert_allclose(p["principal"][0][behind], coll[behind], rtol=1e-12)
    # It catches up: from some period on it is back on schedule until retired.
    last_behind = int(np.flatnonzero(behind)[-1])
    assert last_behind < 340
    assert np.abs(p["ending_balance"][0, last_behind + 1:] - schedule[last_behind + 1:]).max() <= EXACT
    assert results.wal("P")[0] > 7.26 + 5


# ---------------------------------------------------------------------------- tiers


@pytest.fixture(scope="module")
def tiers_deal():
    return structurer.load(DEALS / "pac_tiers.waterfall")


@pytest.fixture(scope="module")
def tiers_by_hand():
    """PT-06's schedules rebuilt: the PAC tier on 100-250 PSA, the PAC II on 130-200 PSA net of
    the PAC's scheduled payments, the TAC on 200 PSA net of both."""
    run = {s: pass_through(500e6, 0.067, 0.06, 358, 2, s).principal for s in (100, 130, 200, 250)}
    pac = pac_schedule(run[100], run[250], 310e6)
    pac_pay = -np.diff(np.concatenate([[310e6], pac]))
    least = np.minimum(np.maximum(run[130] - pac_pay, 0), np.maximum(run[200] - pac_pay, 0))
    pac2 = np.maximum(40e6 - np.cumsum(least), 0)
    pac2_pay = -np.diff(np.concatenate([[40e6], pac2]))
    tac = np.maximum(50e6 - np.cumsum(np.maximum(run[200] - pac_pay - pac2_pay, 0)), 0)
    return {"PAC": pac, "P2": pac2, "T": tac}


def test_sequential_pacs_share_one_aggregate_schedule(tiers_deal, tiers_by_hand):
    agg = tiers_by_hand["PAC"]
    sched = {n: tiers_deal.schedules[tiers_deal.tranche(n).index] for n in ("PA", "PB", "PC")}
    np.testing.assert_allclose(sched["PA"] + sched["PB"] + sched["PC"], agg, rtol=0, atol=HAND)
    # PA is scheduled down first: PB and PC keep their balances until PA's schedule is zero.
    np.testing.assert_allclose(sched["PA"], np.clip(agg - 190e6, 0, 120e6), rtol=0, atol=HAND)
    np.testing.assert_allclose(sched["PB"], np.clip(agg - 90e6, 0, 100e6), rtol=0, atol=HAND)
    np.testing.assert_allclose(sched["PC"], np.clip(agg, 0, 90e6), rtol=0, atol=HAND)
    pa_done = int(np.argmax(sched["PA"] == 0))
    assert 0 < pa_done and np.all(sched["PB"][:pa_done] == 100e6)


@pytest.mark.parametrize("speed", [100, 130, 165, 200, 250])
def test_sequential_pacs_pay_their_schedules_inside_the_band(tiers_deal, speed):
    results = tiers_deal.run(f"{speed} PSA")
    for name in ("PA", "PB", "PC"):
        k = tiers_deal.tranche(name).index
        assert np.abs(results.flows.ending_balance[0, k] - tiers_deal.schedules[k]).max() <= EXACT


def test_pac_ii_and_tac_schedules_by_hand(tiers_deal, tiers_by_hand):
    for name in ("P2", "T"):
        got = tiers_deal.schedules[tiers_deal.tranche(name).index]
        np.testing.assert_allclose(got, tiers_by_hand[name], rtol=0, atol=HAND)


@pytest.mark.parametrize("speed", [130, 150, 165, 180, 200])
def test_pac_ii_pays_its_schedule_inside_its_band(tiers_deal, speed):
    results = tiers_deal.run(f"{speed} PSA")
    k = tiers_deal.tranche("P2").index
    assert np.abs(results.flows.ending_balance[0, k] - tiers_deal.schedules[k]).max() <= EXACT


def test_pac_ii_leaves_its_schedule_outside_its_band(tiers_deal):
    results = tiers_deal.run("100 PSA", "400 PSA")
    k = tiers_deal.tranche("P2").index
    gap = results.flows.ending_balance[:, k] - tiers_deal.schedules[k]
    assert gap[0].max() > 1e6  # slow: behind schedule
    assert gap[1].min() < -1e6  # fast: the support is gone and it is paid ahead


def test_tac_pays_its_schedule_at_its_speed(tiers_deal):
    results = tiers_deal.run("200 PSA", "130 PSA")
    k = tiers_deal.tranche("T").index
    balance = results.flows.ending_balance[:, k]
    assert np.abs(balance[0] - tiers_deal.schedules[k]).max() <= EXACT
    # A TAC protects against fast prepayments only: at a slower speed it falls behind.
    assert (balance[1] - tiers_deal.schedules[k]).max() > 1e6


# ---------------------------------------------------------------------------- explicit schedules

SMALL_POOL = 'pool "P" { balance 1,000,000  wac 6%  coupon 5.5%  term 360  age 0 }'
SMALL_RULES = """  principal {
    pay P to schedule
    pay S until retired
    pay P until retired
  }"""


def _small(schedule: str) -> str:
    return deal_text(f"class P PAC balance 4,000 coupon 5.5% {schedule}\n"
                     "class S SUP balance 996,000 coupon 5.5%\nclass R R", SMALL_RULES, pools=SMALL_POOL)


def _check_explicit(deal) -> None:
    np.testing.assert_array_equal(deal.schedules[0][:6], [3000, 2000, 1000, 0, 0, 0])
    results = deal.run("100 PSA")
    coll = results.collateral.principal[0]
    # Period 1 at 100 PSA: scheduled principal ~ $995, prepayment ~ $167: more than $1,000, so
    # the PAC takes exactly $1,000 a month and the support the rest.
    assert coll[0] > 1000
    p = results.arrays("P")["principal"][0]
    np.testing.assert_allclose(p[:4], [1000, 1000, 1000, 1000], rtol=0, atol=EXACT)
    assert np.all(p[4:] <= NOISE)
    np.testing.assert_allclose(results.arrays("S")["principal"][0, :4], coll[:4] - 1000, rtol=1e-12)


def test_explicit_schedule_as_a_list():
    deal = load(_small("schedule (3,000, 2,000, 1,000, 0)"))
    _check_explicit(deal)


def test_explicit_schedule_from_a_csv_file(tmp_path):
    (tmp_path / "p.csv").write_text("period,balance\n1,3000\n2,2000\n3,\"1,000\"\n4,0\n")
    deal = load(_small('schedule from "p.csv"'), str(tmp_path / "deal.waterfall"))
    _check_explicit(deal)


def test_a_list_schedule_ends_at_zero_after_its_last_value():
    # Values after the list's end are zero: in period 3 the PAC is $2,000 behind schedule, more
    # than the collateral pays, so it takes every dollar and the support nothing.
    deal = load(_small("schedule (3,000, 2,000)"))
    assert deal.schedules[0][2] == 0.0
    results = deal.run("100 PSA")
    coll = results.collateral.principal[0]
    assert coll[2] < 2000
    assert results.arrays("P")["principal"][0, 2] == pytest.approx(coll[2], rel=1e-12)
    assert results.arrays("S")["principal"][0, 2] <= NOISE
    assert results.arrays("P")["principal"][0, 3] == pytest.approx(2000 - coll[2], rel=1e-12)


@pytest.mark.parametrize("rows, row, column, word", [
    ("1,3000\n2,abc\n", 3, "balance", "'abc' is not an amount"),
    ("1,3000\nx,2000\n", 3, "period", "'x' is not a whole number"),
    ("1,3000\n3,2000\n", 3, "period", "expected period 2, found 3"),
])
def test_a_bad_csv_row_is_named_by_row_and_column(tmp_path, rows, row, column, word):
    (tmp_path / "p.csv").write_text("period,balance\n" + rows)
    text = _small('schedule from "p.csv"')
    errors = deal_errors(text, str(tmp_path / "deal.waterfall"))
    err = error_matching(errors, f"row {row}")
    assert f"column '{column}'" in err.message and word in err.message
    assert "p.csv" in err.message
    assert err.span is not None and err.span.line == text.splitlines().index(
        next(x for x in text.splitlines() if "schedule from" in x)) + 1


def test_a_csv_schedule_without_its_header_or_file_is_refused(tmp_path):
    (tmp_path / "p.csv").write_text("1,3000\n2,2000\n")
    text = _small('schedule from "p.csv"')
    err = error_matching(deal_errors(text, str(tmp_path / "deal.waterfall")), "header")
    assert "period,balance" in err.message
    err = error_matching(deal_errors(_small('schedule from "none.csv"'), str(tmp_path / "d.waterfall")),
                         "cannot read")
    assert "none.csv" in err.message


def test_a_csv_row_with_an_unquoted_thousands_separator_is_an_error(tmp_path):
    (tmp_path / "p.csv").write_text("period,balance\n1,3000\n2,2,000\n")
    text = _small('schedule from "p.csv"')
    errors = deal_errors(text, str(tmp_path / "deal.waterfall"))
    assert any("row 3" in e.message for e in errors)


def test_a_schedule_that_rises_is_refused():
    err = error_matching(deal_errors(_small("schedule (3,000, 3,500, 0)")), "never rise")
    assert "P" in err.message
