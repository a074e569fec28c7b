"""The rule kinds of model.rules: the prepayment trigger (jump Z), a rule with state across
periods written from scratch, and the pro rata leak that used to send principal to R."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.engine.audit import EngineError, audit
from structurer.engine.run import run_deal
from structurer.model.prepayment import Prepayment
from structurer.model.rules import Book, Pay, Rule, RunInputs, Sequential
from structurer.model.rules.trigger import PrepaymentTrigger

JUMP_Z = Path(__file__).resolve().parent.parent / "deals" / "jump_z.waterfall"

JUMP = """deal "JZ" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }
collateral { pool "p" { balance 300,000,000  wac 7.0%  coupon 6.5%  term 360  age 2 } }
class A  SEQ    balance 200,000,000  coupon 6.5%
class J  SEQ    balance 100,000,000  coupon 6.5%
class R  R
waterfall {
  interest: pay each class its coupon
  principal {
    pay J until retired when prepayments above 300 PSA STICKY
    pay A then J
  }
}
"""


def _deal(sticky: bool):
    return structurer.loads(JUMP.replace("STICKY", "sticky" if sticky else ""))


def _speeds() -> Prepayment:
    # 100 PSA for 10 months, 500 PSA for 10 months, then 100 PSA again.
    return Prepayment.vector([100] * 10 + [500] * 10 + [100], "PSA")


def test_a_trigger_pays_only_in_periods_above_its_speed():
    flows = _deal(sticky=False).run(_speeds()).flows
    j_paid = flows.principal[0, 1, :30]
    a_paid = flows.principal[0, 0, :30]
    assert np.all(j_paid[:10] == 0) and np.all(j_paid[20:30] == 0)
    assert np.all(j_paid[10:20] > 0)
    # While the trigger is on, J takes every dollar of principal ahead of A.
    coll = flows.principal[0, :, 10:20].sum(axis=0)
    assert np.allclose(j_paid[10:20], coll, rtol=1e-12)
    assert np.all(a_paid[10:20] == 0) and np.all(a_paid[20:30] > 0)


def test_a_sticky_trigger_stays_on_once_tripped():
    flows = _deal(sticky=True).run(_speeds()).flows
    j_paid = flows.principal[0, 1]
    assert np.all(j_paid[:10] == 0)
    first_zero = int(np.argmax(flows.ending_balance[0, 1] <= 0))
    assert first_zero > 20  # J is still being paid after the speed falls back to 100 PSA
    assert np.all(j_paid[10:first_zero + 1] > 0)
    assert np.all(flows.principal[0, 0, 10:first_zero] == 0)


def test_a_run_at_exactly_the_trigger_speed_does_not_trip_it():
    flows = _deal(sticky=True).run("300 PSA").flows
    first_j = int(np.argmax(flows.principal[0, 1] > 0))
    last_a = int(np.nonzero(flows.principal[0, 0])[0].max())
    assert first_j >= last_a  # paid in order: A first, J after


def test_trigger_state_is_per_scenario():
    deal = _deal(sticky=True)
    together = deal.run("100 PSA", "500 PSA").flows
    alone = [deal.run(s).flows for s in ("100 PSA", "500 PSA")]
    for s, one in enumerate(alone):
        np.testing.assert_array_equal(together.principal[s], one.principal[0])


def test_the_jump_z_example_pays_z_first_above_300_psa():
    deal = structurer.load(JUMP_Z)
    results = deal.run("165 PSA", "400 PSA")
    z = deal.tranche("Z").index
    flows = results.flows
    # At 165 PSA Z waits for C; at 400 PSA it jumps to the front from period 1.
    assert flows.principal[0, z, :100].sum() == 0
    assert flows.principal[1, z, 0] > 0
    assert results.wal("Z")[1] < 1.5 < results.wal("Z")[0]


def test_the_jump_z_example_without_its_trigger_is_the_plain_sequential_deal():
    text = JUMP_Z.read_text()
    plain = structurer.loads(text.replace("pay Z until retired when prepayments above 300 PSA sticky", ""))
    jump = structurer.load(JUMP_Z)
    a, b = plain.run("165 PSA").flows, jump.run("165 PSA").flows
    np.testing.assert_array_equal(a.principal, b.principal)
    np.testing.assert_array_equal(a.interest, b.interest)


def test_a_trigger_speed_needs_its_unit():
    with pytest.raises(structurer.StructurerError) as err:
        structurer.loads(JUMP.replace("300 PSA", "300").replace("STICKY", ""))
    text = str(err.value)
    assert "needs its unit" in text and "<deal>:9:48" in text


def test_a_class_paid_only_by_a_trigger_is_an_error():
    with pytest.raises(structurer.StructurerError) as err:
        structurer.loads(JUMP.replace("pay A then J", "pay A").replace("STICKY", ""))
    assert "only paid to its schedule, its share or when a trigger holds" in str(err.value)


def test_describe_reads_like_the_deal_file():
    rule = PrepaymentTrigger(Sequential((Pay(0), Pay(1))), Prepayment.constant(300, "PSA"), True)
    assert rule.describe(["A", "B"]) == "A then B when prepayments above 300 PSA sticky"


@dataclass(frozen=True, eq=False)
class _Lockout(Rule):
    """A rule written in a test, as docs/architecture.md walks through: pay `child` only after
    `months` periods in which it could have been paid (a counter kept across periods)."""

    child: Rule
    months: int

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.child,)

    def initial_state(self, inputs: RunInputs) -> np.ndarray:
        return np.zeros(inputs.n_scen)  # periods counted so far

    def begin_period(self, book: Book) -> None:
        book.state[id(self)] += 1

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        open_ = book.state[id(self)] > self.months
        return self.child.allocate(np.where(open_, amount, 0.0), book)


def test_a_new_stateful_rule_needs_no_change_to_the_interpreter():
    deal = _deal(sticky=False)
    locked = Sequential((_Lockout(Pay(1), 12), Pay(0), Pay(1)))
    import dataclasses

    flows = run_deal(dataclasses.replace(deal, principal=locked), [Prepayment.constant(200, "PSA")]).flows
    assert np.all(flows.principal[0, 1, :12] == 0)
    assert np.all(flows.principal[0, 1, 12:20] > 0) and np.all(flows.principal[0, 0, 12:20] == 0)


LEAK = """deal "LEAK" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }
collateral { pool "p" { balance 250,000,000  wac 6%  coupon 5.5%  term 360  age 0 } }
class A SEQ balance 53,446,788 coupon 5.5%
class B SEQ balance 15,000,492 coupon 5.5%
class C SEQ balance 181,552,720 coupon 5.5%
class R R
waterfall {
  interest: pay each class its coupon
  principal { pay (A and B pro rata) 50%, C 50% pro rata }
}
"""


@pytest.mark.parametrize("speed", ["100 CPR", "1670 PSA", "2000 PSA", "99.99 CPR"])
def test_a_by_balance_group_inside_fixed_shares_sends_nothing_to_the_residual(speed):
    flows = structurer.loads(LEAK).run(speed).flows
    # Rounding only: a millionth of a dollar on balances of hundreds of millions.
    assert np.all(np.abs(flows.residual_principal) < 1e-6)
    assert np.all(np.abs(flows.ending_balance[0, :3, -1]) < 1e-6)
    assert np.all(flows.shortfall < 1e-6)


def test_the_audit_fails_when_principal_reaches_the_residual_early():
    deal = structurer.loads(LEAK)
    results = deal.run("165 PSA")
    flows, coll = results.flows, results.collateral
    moved = flows.principal.copy()
    end = flows.ending_balance.copy()
    resid = flows.residual_principal.copy()
    # Take 1,000 of C's principal in period 5 and give it to R: cash still adds up.
    moved[0, 2, 4] -= 1000.0
    end[0, 2, 4:] += 1000.0
    end[0, 2, 5] -= 0.0
    resid[0, 4] += 1000.0
    begin = flows.beginning_balance.copy()
    begin[0, 2, 5:] += 1000.0
    import dataclasses

    bad = dataclasses.replace(flows, principal=moved, ending_balance=end, beginning_balance=begin,
                              residual_principal=resid)
    with pytest.raises(EngineError, match="principal went to the residual while a class still had a balance"):
        audit(deal, coll, bad)
