"""The waterfall interpreter on small, hand-checkable cash flows.

The collateral flows are made up (interest and principal per period) and the deals are built
from model objects, so each expected figure can be worked out on paper.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import build_deal, deal_text, flows, model_deal, tranche

import structurer.engine.waterfall as wf
from structurer.engine.audit import EngineError
from structurer.engine.waterfall import run_waterfall
from structurer.model import Pay, ProRata, Sequential

# Small round numbers: the only error is float rounding in a handful of operations.
RTOL = 1e-12


def paid(result, period: int) -> list[float]:
    """Principal paid to each class in a 1-based period, scenario 0."""
    return result.principal[0, :, period - 1].tolist()


def ending(result, period: int) -> list[float]:
    return result.ending_balance[0, :, period - 1].tolist()


# ---------------------------------------------------------------------------- principal


def test_sequential():
    deal = model_deal([tranche(0, "A", 100), tranche(1, "B", 50)], [Pay(0), Pay(1)])
    out = run_waterfall(deal, flows([0, 0, 0], [30, 80, 40]))
    assert paid(out, 1) == [30, 0]
    assert paid(out, 2) == [70, 10]      # A retires; the rest goes to B
    assert paid(out, 3) == [0, 40]
    assert ending(out, 3) == [0, 0]
    assert out.residual_principal[0].tolist() == [0, 0, 0]


def test_sequential_excess_principal_goes_to_the_residual():
    deal = model_deal([tranche(0, "A", 100), tranche(1, "R", 0, ptype="R")], [Pay(0)])
    out = run_waterfall(deal, flows([0, 0], [60, 60]))
    assert paid(out, 2) == [40, 0]
    assert out.residual_principal[0].tolist() == [0, 20]


def test_pro_rata_by_balance():
    deal = model_deal([tranche(0, "A", 300), tranche(1, "B", 100)], ProRata((Pay(0), Pay(1))))
    out = run_waterfall(deal, flows([0, 0, 0], [40, 200, 500]))
    assert paid(out, 1) == pytest.approx([30, 10], rel=RTOL)
    assert paid(out, 2) == pytest.approx([150, 50], rel=RTOL)   # still 3:1 (270:90)
    assert paid(out, 3) == pytest.approx([120, 40], rel=RTOL)   # all that is left
    assert out.residual_principal[0, 2] == pytest.approx(340, rel=RTOL)


def test_fixed_percentages():
    deal = model_deal([tranche(0, "A", 600), tranche(1, "B", 400)],
                      ProRata((Pay(0), Pay(1)), (0.6, 0.4)))
    out = run_waterfall(deal, flows([0], [100]))
    assert paid(out, 1) == pytest.approx([60, 40], rel=RTOL)


def test_fixed_percentages_redistribute_after_one_retires():
    # A (60%) has only 10 left: it takes 10, and the 20 it cannot take goes to B.
    deal = model_deal([tranche(0, "A", 10), tranche(1, "B", 100)],
                      ProRata((Pay(0), Pay(1)), (0.6, 0.4)))
    out = run_waterfall(deal, flows([0, 0], [50, 30]))
    assert paid(out, 1) == pytest.approx([10, 40], rel=RTOL)
    assert paid(out, 2) == pytest.approx([0, 30], rel=RTOL)     # B takes everything now
    assert out.residual_principal[0].tolist() == pytest.approx([0, 0], abs=1e-12)


def test_fixed_percentages_redistribute_in_proportion_to_the_live_weights():
    # A 20%, B 30%, C 50%; C has 5 left of a 100 payment: C 5, and the other 95 is shared
    # 20:30 by A and B: 38 and 57.
    deal = model_deal([tranche(0, "A", 1000), tranche(1, "B", 1000), tranche(2, "C", 5)],
                      ProRata((Pay(0), Pay(1), Pay(2)), (0.2, 0.3, 0.5)))
    out = run_waterfall(deal, flows([0], [100]))
    assert paid(out, 1) == pytest.approx([38, 57, 5], rel=RTOL)


def test_nested_pro_rata_inside_sequential():
    # pay A1 and A2 pro rata, then B
    deal = model_deal([tranche(0, "A1", 80), tranche(1, "A2", 40), tranche(2, "B", 50)],
                      Sequential((ProRata((Pay(0), Pay(1))), Pay(2))))
    out = run_waterfall(deal, flows([0, 0], [60, 90]))
    assert paid(out, 1) == pytest.approx([40, 20, 0], rel=RTOL)
    assert paid(out, 2) == pytest.approx([40, 20, 30], rel=RTOL)


def test_nested_sequential_inside_fixed_percentages():
    # pay (A then B) 50%, C 50% pro rata: the group's half goes to A until A retires, then B.
    deal = model_deal([tranche(0, "A", 30), tranche(1, "B", 70), tranche(2, "C", 100)],
                      ProRata((Sequential((Pay(0), Pay(1))), Pay(2)), (0.5, 0.5)))
    out = run_waterfall(deal, flows([0, 0], [40, 40]))
    assert paid(out, 1) == pytest.approx([20, 0, 20], rel=RTOL)
    assert paid(out, 2) == pytest.approx([10, 10, 20], rel=RTOL)


def test_group_pro_rata_by_balance_uses_the_groups_total_balance():
    # pay (A then B) and C pro rata: the group has 100 of balance, C 300: shares 1:3.
    deal = model_deal([tranche(0, "A", 40), tranche(1, "B", 60), tranche(2, "C", 300)],
                      ProRata((Sequential((Pay(0), Pay(1))), Pay(2))))
    out = run_waterfall(deal, flows([0], [80]))
    assert paid(out, 1) == pytest.approx([20, 0, 60], rel=RTOL)


def test_several_rules_in_order():
    # pay A; pay B; pay A: the third rule is never needed while B is outstanding.
    deal = model_deal([tranche(0, "A", 10), tranche(1, "B", 10)], [Pay(0), Pay(1), Pay(0)])
    out = run_waterfall(deal, flows([0], [15]))
    assert paid(out, 1) == [10, 5]


def test_scenarios_are_independent():
    deal = model_deal([tranche(0, "A", 100), tranche(1, "B", 100)], [Pay(0), Pay(1)])
    out = run_waterfall(deal, flows([[0, 0], [0, 0]], [[50, 50], [150, 50]]))
    assert out.principal[0, :, 0].tolist() == [50, 0]
    assert out.principal[1, :, 0].tolist() == [100, 50]
    assert out.principal[1, :, 1].tolist() == [0, 50]


# ---------------------------------------------------------------------------- interest


def test_interest_is_balance_times_coupon_over_12():
    deal = model_deal([tranche(0, "A", 1200, 0.06), tranche(1, "B", 2400, 0.03)], [Pay(0), Pay(1)])
    out = run_waterfall(deal, flows([100], [0]))
    assert out.interest[0, :, 0].tolist() == pytest.approx([6, 6], rel=RTOL)
    assert out.interest_due[0, :, 0].tolist() == pytest.approx([6, 6], rel=RTOL)


def test_interest_on_the_beginning_balance():
    # Principal paid this period does not reduce this period's interest.
    deal = model_deal([tranche(0, "A", 1200, 0.12)], [Pay(0)])
    out = run_waterfall(deal, flows([100, 100], [600, 600]))
    assert out.interest[0, 0].tolist() == pytest.approx([12, 6], rel=RTOL)


def test_residual_gets_the_excess_interest():
    deal = model_deal([tranche(0, "A", 1200, 0.05), tranche(1, "R", 0, ptype="R")], [Pay(0)])
    out = run_waterfall(deal, flows([10], [0]))
    assert out.interest[0, 0, 0] == pytest.approx(5, rel=RTOL)
    assert out.residual_interest[0, 0] == pytest.approx(5, rel=RTOL)


def test_interest_shortfall_pro_rata_and_carried_forward():
    # Due: A 1,200 x 12%/12 = 12 and B 1,200 x 24%/12 = 24; only 18 comes in: half of each.
    deal = model_deal([tranche(0, "A", 1200, 0.12), tranche(1, "B", 1200, 0.24)], [Pay(0), Pay(1)])
    out = run_waterfall(deal, flows([18, 50, 40], [0, 0, 0]))
    assert out.interest[0, :, 0].tolist() == pytest.approx([6, 12], rel=RTOL)
    assert out.shortfall[0, :, 0].tolist() == pytest.approx([6, 12], rel=RTOL)
    assert out.residual_interest[0, 0] == 0.0
    # Period 2: due 12 + 6 and 24 + 12 = 54 > 50: each is paid 50/54 of what it is due.
    assert out.interest_due[0, :, 1].tolist() == pytest.approx([18, 36], rel=RTOL)
    assert out.interest[0, :, 1].tolist() == pytest.approx([18 * 50 / 54, 36 * 50 / 54], rel=RTOL)
    carried = [18 * 4 / 54, 36 * 4 / 54]
    assert out.shortfall[0, :, 1].tolist() == pytest.approx(carried, rel=RTOL)
    # Period 3: due 12 + 1.33 and 24 + 2.67 = 40: paid in full, nothing left over.
    assert out.interest[0, :, 2].tolist() == pytest.approx([12 + carried[0], 24 + carried[1]],
                                                          rel=RTOL)
    assert out.shortfall[0, :, 2].tolist() == pytest.approx([0, 0], abs=1e-12)
    assert out.residual_interest[0, 2] == pytest.approx(0, abs=1e-12)


def test_shortfall_is_made_up_before_the_residual_gets_excess():
    deal = model_deal([tranche(0, "A", 1200, 0.12), tranche(1, "R", 0, ptype="R")], [Pay(0)])
    out = run_waterfall(deal, flows([4, 20], [0, 0]))
    assert out.interest[0, 0].tolist() == pytest.approx([4, 20], rel=RTOL)   # 12 + 8 due
    assert out.residual_interest[0].tolist() == pytest.approx([0, 0], abs=1e-12)


def test_principal_never_pays_interest():
    # An interest shortfall is not made up from principal: principal still retires balance.
    deal = model_deal([tranche(0, "A", 1200, 0.12)], [Pay(0)])
    out = run_waterfall(deal, flows([0], [100]))
    assert out.interest[0, 0, 0] == 0.0
    assert out.principal[0, 0, 0] == 100.0
    assert out.shortfall[0, 0, 0] == pytest.approx(12, rel=RTOL)


# ---------------------------------------------------------------------------- shapes, text


def test_shapes():
    deal = model_deal([tranche(0, "A", 100), tranche(1, "B", 100)], [Pay(0), Pay(1)])
    out = run_waterfall(deal, flows(np.ones((3, 7)), np.ones((3, 7))))
    for name in ("beginning_balance", "interest_due", "interest", "principal", "ending_balance",
                 "shortfall"):
        assert getattr(out, name).shape == (3, 2, 7)
    assert out.residual_interest.shape == out.residual_principal.shape == (3, 7)


def test_a_deal_from_text_runs_through_the_waterfall():
    deal = build_deal(deal_text(principal="pay A and B pro rata"))
    res = deal.run("0 PSA")
    a, b = res.arrays("A")["principal"][0], res.arrays("B")["principal"][0]
    assert a == pytest.approx(1.5 * b, rel=1e-9)    # 600,000 : 400,000, all the way
    assert a.sum() + b.sum() == pytest.approx(1_000_000, rel=1e-12)


# ---------------------------------------------------------------------------- the audit


def _good_run():
    """A consistent run to tamper with: A 100 and B 100 at 12%, two periods."""
    deal = model_deal([tranche(0, "A", 100, 0.12), tranche(1, "B", 100, 0.12)], [Pay(0), Pay(1)])
    coll = flows([5, 5], [30, 40])
    return deal, coll, run_waterfall(deal, coll)


def _tampered(out, **changes):
    """A copy of `out` with arrays changed in place by the given functions."""
    arrays = {k: getattr(out, k).copy() for k in changes}
    for k, change in changes.items():
        change(arrays[k])
    return dataclasses.replace(out, **arrays)


def test_the_audit_passes_a_consistent_run():
    deal, coll, out = _good_run()
    wf.audit(deal, coll, out)


def test_audit_catches_a_payment_out_of_nowhere():
    deal, coll, out = _good_run()

    def more(a):
        a[0, 0, 1] += 1.0    # a dollar paid that neither the collateral nor a balance provided

    with pytest.raises(EngineError, match="period 2"):
        wf.audit(deal, coll, _tampered(out, principal=more))


def test_audit_catches_classes_paid_more_than_the_collateral_provided():
    deal, coll, out = _good_run()

    def pay_more(a):
        a[0, 1, 0] += 10.0

    def less_left(a):
        a[0, 0] -= 10.0

    def lower(a):
        a[0, 1, :] -= 10.0

    bad = _tampered(out, principal=pay_more, residual_principal=less_left, ending_balance=lower)
    with pytest.raises(EngineError, match="classes were paid more than the collateral provided"):
        wf.audit(deal, coll, bad)


def test_audit_catches_balances_that_fall_without_a_payment():
    deal, coll, out = _good_run()

    def write_off(a):
        a[0, 1, 1] -= 5.0

    with pytest.raises(EngineError, match="differs from the fall in class balances"):
        wf.audit(deal, coll, _tampered(out, ending_balance=write_off))


def test_audit_catches_a_negative_balance():
    deal, coll, out = _good_run()

    def overdraw(a):
        a[0, 0, 1] = -50.0

    with pytest.raises(EngineError, match="a class balance went negative"):
        wf.audit(deal, coll, _tampered(out, ending_balance=overdraw))


def test_audit_catches_a_negative_payment():
    deal, coll, out = _good_run()

    def negative(a):
        a[0, 0, 0] = -a[0, 0, 0]

    with pytest.raises(EngineError, match="negative amount"):
        wf.audit(deal, coll, _tampered(out, interest=negative))


def test_audit_catches_collateral_flows_that_take_cash_away():
    # Negative collateral principal cannot be paid out: the residual would go negative.
    deal = model_deal([tranche(0, "A", 100)], [Pay(0)])
    with pytest.raises(EngineError, match="period 2"):
        run_waterfall(deal, flows([0, 0], [10, -10]))


def test_audit_catches_negative_interest_payments():
    deal = model_deal([tranche(0, "A", 1200, 0.12)], [Pay(0)])
    with pytest.raises(EngineError, match="negative"):
        run_waterfall(deal, flows([-5], [0]))


def test_engine_error_is_not_a_user_error():
    import structurer

    assert not issubclass(EngineError, structurer.StructurerError)


@pytest.mark.parametrize("which", ["interest", "principal"])
def test_audit_catches_nan_cash(which):
    deal = model_deal([tranche(0, "A", 1200, 0.12)], [Pay(0)])
    interest, principal = [10.0, 10.0], [10.0, 10.0]
    (interest if which == "interest" else principal)[1] = float("nan")
    with pytest.raises(EngineError):
        run_waterfall(deal, flows(interest, principal))


def test_audit_catches_nan_in_class_flows():
    deal, coll, out = _good_run()

    def nan(a):
        a[0, 1, 1] = np.nan

    with pytest.raises(EngineError):
        wf.audit(deal, coll, _tampered(out, principal=nan, ending_balance=nan))
