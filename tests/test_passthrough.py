"""Collateral as it is delivered: a collateral-only deal is a pass-through; the collateral's
columns pool by pool and in total (level payment, balances, SMM, CPR); fee strips (servicing and
guarantee fees, excess servicing classes) and WAC classes paid the collateral's net WAC."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import (
    DEALS_DIR,
    assert_classes_retire,
    assert_conserves_cash,
    build_deal,
    column_of,
    deal_text,
    line_of,
    only_error,
    script_module,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from structurer.engine.collateral import level_payment
from structurer.engine.run import _compiled
from structurer.results.results import COLLATERAL

ROOT = DEALS_DIR.parent

HEADER = 'deal "PT" {\n  settle 2027-01-30\n  agency FNMA\n}\n'
TWO_POOLS = """collateral {
  pool "A" { balance 60,000,000  wac 6.5%  servicing 0.25%  guarantee 0.25%  term 360  age 2 }
  pool "B" { balance 40,000,000  wac 7.25%  coupon 6.5%  servicing 0.5%  excess 0.25%  guarantee 0.25%
             term 180  age 12 }
}
"""
SCENARIOS = "scenarios {\n  pricing 150 PSA\n  decrement 0, 150, 500 PSA\n}\n"


def at(err, text: str, needle: str, within: str | None = None) -> bool:
    return (err.span.line, err.span.column) == (line_of(text, within or needle),
                                                column_of(text, needle, within))


def net_wac_by_hand(results) -> np.ndarray:
    """The pools' net coupons (excess stripped) weighted by their balances, [scenario, period]."""
    begin = results.collateral.by_pool["beginning_balance"]
    net = np.array([p.coupon - p.excess for p in results.deal.pools])[None, :, None]
    total = begin.sum(axis=1)
    return (begin * net).sum(axis=1) / np.where(total > 0, total, 1.0)


# ---------------------------------------------------------------------------- pass-through


def test_a_collateral_only_deal_is_a_pass_through():
    pool = 'pool "P" { balance 1,000,000  wac 6%  coupon 5.5%  term 360  age 3 }'
    text = HEADER + "collateral {\n  " + pool + "\n}\n" + SCENARIOS
    deal = build_deal(text)
    pt, r = deal.classes
    assert (pt.name, pt.cover_type, pt.balance) == ("PT", "PT FIX", 1_000_000.0)
    assert pt.coupon == pytest.approx(0.055)
    assert r.is_residual
    assert _compiled(deal) is not None  # one net coupon: a plain fixed class, on the kernel
    results = deal.run(*deal.decrement)
    a, c = results.arrays("PT"), results.collateral
    np.testing.assert_allclose(a["interest"], c.interest, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(a["principal"], c.principal, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(results.wal("PT"), results.wal(COLLATERAL), rtol=1e-12)
    assert np.abs(results.flows.residual_interest).max() < 1e-6
    assert_conserves_cash(results)


def test_pools_of_different_net_coupons_pass_through_their_net_wac():
    deal = build_deal(HEADER + TWO_POOLS + SCENARIOS)
    names = [c.name for c in deal.classes]
    assert names == ["PT", "XS", "R"]
    pt = deal.tranche("PT")
    assert pt.cover_type == "PT WAC" and pt.net_wac
    assert pt.coupon == pytest.approx(0.6 * 0.06 + 0.4 * 0.065)  # the net WAC at issue
    assert _compiled(deal) is not None  # a WAC class runs on the kernel
    results = deal.run(*deal.decrement)
    coupon = results.arrays("PT")["coupon"]
    want = net_wac_by_hand(results)
    live = results.collateral.beginning_balance > 0
    np.testing.assert_allclose(coupon[live], want[live], rtol=1e-12)
    # The 15-year pool pays off first: the WAC falls to the 30-year pool's 6%.
    assert coupon[1, 0] == pytest.approx(0.062) and coupon[1, 200] == pytest.approx(0.06)
    # PT and XS take every dollar of interest; the residual nothing.
    xs = results.arrays("XS")["interest"]
    np.testing.assert_allclose(results.arrays("PT")["interest"] + xs, results.collateral.interest,
                               rtol=1e-12, atol=1e-6)
    assert np.abs(results.flows.residual_interest).max() < 1e-6
    assert_conserves_cash(results)
    assert_classes_retire(results)


def test_the_wac_pass_through_agrees_with_the_reference():
    with script_module(ROOT / "benchmarks" / "reference.py", "reference_pt") as ref:
        deal = build_deal(HEADER + TWO_POOLS + SCENARIOS)
        results = deal.run("150 PSA")
        got = ref.reference_cashflows(deal, deal.pricing.prepayment)
        for name in ("PT", "XS"):
            for key in ("interest", "principal", "coupon"):
                np.testing.assert_allclose(results.arrays(name)[key][0], got[name][key], rtol=1e-9, atol=1e-6,
                                           err_msg=f"{name} {key}")


def test_a_pass_through_with_a_header_error_reports_the_header_only():
    from conftest import deal_errors

    text = HEADER.replace("  settle 2027-01-30\n", "") + TWO_POOLS + SCENARIOS
    messages = [e.message for e in deal_errors(text)]
    assert messages == ['deal "PT" has no settlement date', 'deal "PT" has no first payment date']


def test_no_collateral_and_no_classes_is_still_an_error():
    from conftest import deal_errors

    messages = [e.message for e in deal_errors('deal "X" { settle 2027-01-30 agency FNMA }')]
    assert "the deal has no collateral" in messages and "the deal has no classes" in messages


def test_the_example_pass_through_reports_and_prices(tmp_path):
    from structurer.cli import main

    path = DEALS_DIR / "passthrough.waterfall"
    report, pools = tmp_path / "pt.html", tmp_path / "pools.csv"
    assert main([str(path), "--report", str(report), "--pools", str(pools)]) == 0
    html = report.read_text()
    assert "PT-01" in html and "Delay 24 days (stated 55)" in html and "101-00" in html
    assert '<th class="num">Servicing</th>' in html and '<th class="num">Excess servicing</th>' in html
    frame = pd.read_csv(pools)
    assert list(frame.columns) == ["scenario", "pool", "period", "date", "beginning_balance",
                                   "scheduled_payment", "interest", "scheduled_principal", "prepayment",
                                   "principal", "cash_flow", "ending_balance", "servicing_fee", "smm", "cpr"]
    assert list(dict.fromkeys(frame["pool"])) == [COLLATERAL, "FN 30yr 6.0", "FN 15yr 6.0"]
    assert len(frame) == 3 * 358


# ---------------------------------------------------------------------------- pool columns


@pytest.fixture(scope="module")
def two_pool_run():
    deal = build_deal(HEADER + TWO_POOLS + SCENARIOS)
    return deal.run("0 PSA", "150 PSA", "100 CPR")


def test_pool_columns_add_up_to_the_total(two_pool_run):
    r = two_pool_run
    frame = r.pool_cashflows()
    assert len(frame) == 3 * 3 * r.periods
    for s, label in enumerate(r.scenarios):
        rows = frame[frame["scenario"] == label]
        total = rows[rows["pool"] == COLLATERAL]
        pools = rows[rows["pool"] != COLLATERAL].groupby("period").sum(numeric_only=True)
        for col in ("beginning_balance", "scheduled_payment", "interest", "principal", "ending_balance",
                    "servicing_fee", "prepayment"):
            np.testing.assert_allclose(total[col].to_numpy(), pools[col].to_numpy(), rtol=1e-12, atol=1e-6)
        coll = r.collateral_cashflows(s)
        for col in ("beginning_balance", "interest", "principal", "ending_balance", "servicing_fee",
                    "scheduled_payment", "smm", "cpr"):
            np.testing.assert_allclose(total[col].to_numpy(), coll[col].to_numpy(), rtol=1e-12, atol=1e-9)


def test_the_level_payment_is_the_pools_mortgage_payment(two_pool_run):
    frame = two_pool_run.pool_cashflows("0 PSA")
    first = frame[frame["period"] == 1].set_index("pool")
    assert first.loc["A", "scheduled_payment"] == pytest.approx(level_payment(60e6, 0.065, 358), rel=1e-12)
    assert first.loc["B", "scheduled_payment"] == pytest.approx(level_payment(40e6, 0.0725, 168), rel=1e-12)
    # Fees: gross interest at the WAC less what the trust collects (net coupon + excess).
    assert first.loc["B", "servicing_fee"] == pytest.approx(40e6 * (0.0725 - 0.0675) / 12, rel=1e-12)


def test_the_smm_shows_the_assumed_rate_in_a_pools_last_month(two_pool_run):
    frame = two_pool_run.pool_cashflows("150 PSA")
    b = frame[frame["pool"] == "B"].set_index("period")
    assert b.loc[168, "beginning_balance"] > 0 and b.loc[169, "beginning_balance"] == 0
    assumed = 1 - (1 - 0.09) ** (1 / 12)  # 150 PSA past month 30: 9% CPR
    assert b.loc[168, "smm"] == pytest.approx(assumed, rel=1e-12)
    assert b.loc[168, "cpr"] == pytest.approx(0.09, rel=1e-9)
    assert b.loc[169, "smm"] == 0.0  # paid off: nothing to prepay
    coll = two_pool_run.collateral_cashflows("150 PSA")
    assert coll["smm"].iloc[-1] == pytest.approx(assumed, rel=1e-12)  # was 0 before


# ---------------------------------------------------------------------------- fees


def pool_deal(pool: str, classes: str = "class A SEQ balance 1,000,000 coupon 5%") -> str:
    return deal_text(pools=pool, classes=classes, principal="pay A until retired")


def test_the_net_coupon_follows_from_the_gross_wac_and_the_fees():
    fees = "servicing 0.25%  guarantee 0.5%  term 360"
    deal = build_deal(pool_deal(f'pool "P" {{ balance 1,000,000  wac 6.25%  {fees} }}'))
    p = deal.pools[0]
    got = (p.wac, p.coupon, p.servicing, p.guarantee, p.net_coupon)
    assert got == pytest.approx((0.0625, 0.055, 0.0025, 0.005, 0.055))
    deal = build_deal(pool_deal(f'pool "P" {{ balance 1,000,000  coupon 5.5%  {fees} }}'))
    assert deal.pools[0].wac == pytest.approx(0.0625)


def test_a_pool_whose_coupon_and_fees_disagree_is_rejected_at_the_coupon():
    text = pool_deal('pool "P" { balance 1,000,000  wac 6.25%  coupon 5.75%\n'
                     '  servicing 0.25%  guarantee 0.5%  term 360 }')
    err = only_error(text)
    assert err.message == ("the net coupon 5.75% is not the WAC 6.25% less servicing and guarantee fees "
                           "of 0.75% (5.5%)")
    assert at(err, text, "5.75%")


def test_excess_servicing_is_part_of_the_servicing_fee():
    text = pool_deal('pool "P" { balance 1,000,000  wac 6%  servicing 0.25%  excess 0.5%  term 360 }')
    err = only_error(text)
    assert err.message == "the excess servicing 0.5% is more than the servicing fee 0.25%"
    assert at(err, text, "0.5%")


def test_excess_servicing_no_class_is_paid_is_an_error():
    text = pool_deal('pool "P" { balance 1,000,000  wac 6%  servicing 0.5%  excess 0.25%  term 360 }')
    err = only_error(text)
    assert err.message == 'pool "P" strips 0.25% of excess servicing but no class is paid it'
    assert 'excess servicing of pool "P"' in err.hint


def test_an_excess_servicing_class_is_an_io_on_its_pool():
    text = pool_deal('pool "P" { balance 1,000,000  wac 6%  servicing 0.5%  excess 0.25%  term 360 }',
                     classes='class A SEQ balance 1,000,000 coupon 5.5%\n'
                             'class XS IO excess servicing of pool "P"')
    deal = build_deal(text)
    xs = deal.tranche("XS")
    assert xs.is_notional and xs.notional.pools == (0,) and xs.coupon == pytest.approx(0.0025)
    results = deal.run("0 PSA", "300 PSA")
    begin = results.collateral.by_pool["beginning_balance"][:, 0, :]
    np.testing.assert_allclose(results.arrays("XS")["interest"], begin * 0.0025 / 12, rtol=1e-12, atol=1e-9)
    # The trust collects 5.75%: A's 5.5% and XS's 0.25%; nothing is left to the residual.
    assert np.abs(results.flows.residual_interest).max() < 1e-6


def test_an_excess_servicing_class_over_an_unknown_pool_is_named():
    text = pool_deal('pool "P" { balance 1,000,000  wac 6%  servicing 0.5%  excess 0.25%  term 360 }',
                     classes='class A SEQ balance 1,000,000 coupon 5.5%\n'
                             'class XS IO excess servicing of pool "Q"')
    errors = [e.message for e in __import__("conftest").deal_errors(text)]
    assert 'there is no pool "Q"' in errors


# ---------------------------------------------------------------------------- WAC classes

WAC_POOLS = ('pool "P1" { balance 600,000  wac 6.5%  coupon 6%  term 360  age 0 }\n'
             '  pool "P2" { balance 400,000  wac 5.5%  coupon 5%  term 180  age 0 }')


def test_a_wac_class_in_a_cmo_is_paid_the_net_wac():
    text = deal_text(pools=WAC_POOLS,
                     classes="class A SEQ balance 500,000 coupon 4.5%\nclass B SEQ/WAC balance 500,000",
                     principal="pay A until retired\n    pay B until retired")
    deal = build_deal(text)
    b = deal.tranche("B")
    assert b.cover_type == "SEQ WAC" and b.coupon == pytest.approx(0.056)
    results = deal.run("0 PSA", "100 PSA", "400 PSA")
    live = results.arrays("B")["beginning_balance"] > 0
    want = net_wac_by_hand(results)
    np.testing.assert_allclose(results.arrays("B")["coupon"][live], want[live], rtol=1e-12)
    assert_conserves_cash(results)
    assert_classes_retire(results)


def test_a_wac_class_has_no_written_coupon():
    text = deal_text(pools=WAC_POOLS, classes="class A SEQ/WAC balance 1,000,000 coupon 5%",
                     principal="pay A until retired")
    err = only_error(text)
    assert err.message == "the coupon of WAC class A is the collateral's net WAC"
    assert at(err, text, "5%", "class A")


def test_a_wac_class_beside_an_io_on_the_collateral_is_not_proved():
    text = deal_text(pools=WAC_POOLS,
                     classes="class A SEQ/WAC balance 500,000\nclass B SEQ balance 500,000 coupon 4%\n"
                             "class X NTL/IO notional of collateral coupon 0.5%",
                     principal="pay A until retired\n    pay B until retired")
    err = only_error(text)
    assert at(err, text, "notional of collateral")
    assert err.message == "IO class X draws on the collateral that WAC class A's coupon is the net WAC of"


@settings(max_examples=25, deadline=None)
@given(
    wacs=st.lists(st.integers(450, 800), min_size=2, max_size=3),
    servicing=st.lists(st.integers(5, 50), min_size=3, max_size=3),
    excess=st.integers(0, 5),
    guarantee=st.integers(0, 40),
    speed=st.sampled_from(["0 PSA", "100 PSA", "300 PSA", "1000 PSA", "25 CPR", "100 CPR"]),
    split=st.integers(10, 90),
)
def test_cash_is_conserved_with_fee_strips(wacs, servicing, excess, guarantee, speed, split):
    """Random pools with fees and an excess servicing strip on the first, paid to a fixed class,
    a WAC class and the XS: every dollar the trust collects reaches a class (none the residual),
    and the XS is paid exactly its excess."""
    pools, total = [], 0
    for k, (w, s) in enumerate(zip(wacs, servicing, strict=False)):
        x = f"  excess {min(excess, s) / 100:g}%" if k == 0 and excess else ""
        pools.append(f'pool "P{k}" {{ balance {1_000_000 * (k + 1):,}  wac {w / 100:g}%  '
                     f'servicing {s / 100:g}%{x}  guarantee {guarantee / 100:g}%  '
                     f'term {360 - 120 * (k % 2)}  age {k} }}')
        total += 1_000_000 * (k + 1)
    a = total * split // 100
    low = min((w - s - guarantee) / 100 for w, s in zip(wacs, servicing, strict=False))
    classes = f"class A SEQ balance {a:,} coupon {low:g}%\nclass B SEQ/WAC balance {total - a:,}"
    if excess:
        classes += '\nclass XS IO excess servicing of pool "P0"'
    deal = build_deal(deal_text(pools="\n  ".join(pools), classes=classes,
                                principal="pay A until retired\n    pay B until retired"))
    results = deal.run(speed)
    assert_conserves_cash(results)
    assert_classes_retire(results)
    if excess:
        x = min(excess, servicing[0]) / 10_000
        begin = results.collateral.by_pool["beginning_balance"][:, 0, :]
        np.testing.assert_allclose(results.arrays("XS")["interest"], begin * x / 12, rtol=1e-9, atol=1e-6)
    # Fixed A at the lowest net coupon and B at the net WAC take every dollar of interest while
    # both are out; once A retires, B alone takes all of it.
    assert np.all(results.flows.shortfall <= 1e-6)
    assert dt.date(2027, 2, 25) == results.dates[0]


def test_a_pass_through_takes_its_losses():
    """Under defaults the certificate is written down by every realized loss (the pass-through's
    loss section), and cash is still conserved."""
    deal = build_deal(HEADER + TWO_POOLS + SCENARIOS)
    results = deal.run("150 PSA defaults 200 SDA severity 40% lag 12")
    assert results.is_credit and deal.losses is not None
    lost = results.collateral.losses.sum()
    assert lost > 0
    assert results.writedowns()[:, deal.tranche("PT").index].sum() == pytest.approx(lost, rel=1e-9)
    assert_conserves_cash(results)
