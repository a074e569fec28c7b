"""Conditions on principal rules (model/rules/conditions.py), named triggers
(model/rules/triggers.py), targets (`down to EXPR`, model/rules/down_to.py) and the shifting-interest
extensions (sticky triggers, named triggers, the step-down test): what they pay, that the kernel
and the interpreter agree, their status in results, and the positioned errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal, run_on_interpreter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_credit import assert_credit_invariants
from test_reference import disagreements

import structurer
from structurer.errors import DealErrors
from structurer.model.defaults import DefaultAssumption, DefaultRate, Delinquency, Severity
from structurer.model.prepayment import Prepayment
from structurer.model.rules import down_to
from structurer.model.rules.conditions import When
from structurer.model.rules.shifting import ShiftingInterest
from structurer.model.scenarios import Scenario

CONDITIONS = DEALS_DIR / "conditions.waterfall"
PRIVATE_LABEL = DEALS_DIR / "private_label.waterfall"
ATOL = 1e-4

BASE = """deal "T" {{ settle 2027-01-30  first payment 2027-02-25  delay 24 days }}
collateral {{ pool "P" {{ balance 100,000,000  wac 6.5%  coupon 6%  term 360  age 0 }} }}
class A  SEQ  balance 50,000,000  coupon 6%
class B  SEQ  balance 30,000,000  coupon 6%
class C  SEQ  balance 20,000,000  coupon 6%
class R  R
waterfall {{
  {triggers}
  interest: pay each class its coupon
  principal {{
    {rules}
  }}
}}
scenarios {{ pricing 200 PSA }}
"""


def small(rules: str, triggers: str = "") -> structurer.Deal:
    return build_deal(BASE.format(rules=rules, triggers=triggers))


def both(deal, *runs):
    """The kernel's run and the interpreter's, checked equal (flows and trigger status)."""
    kernel = deal.run(*runs)
    assert kernel.flows.source is not None  # the kernel ran
    numpy = run_on_interpreter(deal, *runs)
    assert numpy.flows.source is None
    for name in ("principal", "interest", "ending_balance", "shortfall"):
        got, want = getattr(kernel.flows, name), getattr(numpy.flows, name)
        assert np.allclose(got, want, rtol=1e-12, atol=1e-6), name
    if kernel.flows.writedown is not None:
        assert np.allclose(kernel.flows.writedown, numpy.flows.writedown, rtol=1e-12, atol=1e-6)
    kt, nt = kernel.trigger_arrays(), numpy.trigger_arrays()
    assert kt.keys() == nt.keys()
    for name, values in kt.items():
        assert np.array_equal(values, nt[name]), name
    return kernel


def _i(deal, name):
    return deal.tranche(name).index


def _scenario(cpr: float, cdr: float = 0.0, severity: float = 0.0, lag: int = 0,
              delinquency: float | None = None) -> Scenario:
    return Scenario(Prepayment.constant(cpr, "CPR"), defaults=DefaultAssumption(
        DefaultRate.constant(cdr, "CDR"), Severity.constant(severity), lag=lag,
        delinquency=Delinquency.constant(delinquency) if delinquency is not None else None))


# ---- period ranges, classes retired / outstanding


def test_a_rule_in_a_range_of_months_pays_only_then():
    deal = small("pay C in months 1-12\n    pay A then B then C")
    r = both(deal)
    p = r.flows.principal[0]
    coll = r.collateral.principal[0]
    assert np.allclose(p[_i(deal, "C"), :12], coll[:12]) and p[_i(deal, "A"), :12].sum() == 0
    assert p[_i(deal, "C"), 12:36].sum() == 0 and p[_i(deal, "A"), 12] == pytest.approx(coll[12])
    # `from month 13`: the same class, then paid first only from month 13.
    deal = small("pay C from month 13\n    pay A then B then C")
    p = both(deal).flows.principal[0]
    assert p[_i(deal, "C"), :12].sum() == 0 and p[_i(deal, "C"), 12] == pytest.approx(coll[12])
    assert "in months 1-12" in small("pay C in months 1-12\n    pay A then B then C").principal.describe(
        [c.name for c in deal.classes])


def test_a_rule_when_a_class_is_retired_waits_for_the_start_of_the_next_period():
    deal = small("pay C when A retired\n    pay A then B then C")
    r = both(deal)
    p, end = r.flows.principal[0], r.flows.ending_balance[0]
    a_last = int(np.flatnonzero(p[_i(deal, "A")] > 0)[-1])
    assert end[_i(deal, "A"), a_last] == 0
    # In A's last period B takes what A left; from the next period C comes first.
    assert p[_i(deal, "C"), :a_last + 1].sum() == 0
    assert p[_i(deal, "B"), a_last + 1] == 0 and p[_i(deal, "C"), a_last + 1] > 0
    # `when A outstanding` is the opposite: C first while A holds a balance.
    deal = small("pay C when A outstanding\n    pay A then B then C")
    p = both(deal).flows.principal[0]
    assert p[_i(deal, "C"), 0] > 0 and p[_i(deal, "A"), 0] == 0


def test_and_or_not_combine():
    # C is paid first in months 1-6 or once A is retired; B never before C here.
    deal = small("pay C when not A outstanding or (B outstanding and not C retired)\n"
                 "    pay A then B then C")
    p = both(deal).flows.principal[0]
    assert p[_i(deal, "C"), 0] > 0 and p[_i(deal, "A"), 0] == 0
    rule = next(n for n in deal.principal.walk() if isinstance(n, When))
    assert rule.text == "when (not A outstanding or (B outstanding and not C retired))"


def test_several_conditions_must_all_hold():
    deal = small("pay C in months 1-24 when A outstanding\n    pay A then B then C")
    r = both(deal)
    p, coll = r.flows.principal[0], r.collateral.principal[0]
    assert np.allclose(p[_i(deal, "C"), :24], coll[:24]) and p[_i(deal, "C"), 24:48].sum() == 0
    # A is outstanding throughout months 1-24, so `when A retired` never holds in them.
    deal = small("pay C in months 1-24 when A retired\n    pay A then B then C")
    p = both(deal).flows.principal[0]
    assert p[_i(deal, "C"), :48].sum() == 0


# ---- targets: `down to EXPR`


def test_down_to_pays_the_class_to_its_target_at_the_start_of_the_period():
    deal = small("pay A down to max(balance of B - 10mm, 0) \n    pay B then A then C")
    r = both(deal)
    begin, end, p = r.flows.beginning_balance[0], r.flows.ending_balance[0], r.flows.principal[0]
    a, b = _i(deal, "A"), _i(deal, "B")
    target = np.maximum(begin[b] - 10e6, 0.0)
    room = np.maximum(begin[a] - target, 0.0)
    coll = r.collateral.principal[0]
    # A takes what stands above its target (all of the principal when that is less) ...
    assert np.allclose(p[a], np.minimum(room, coll), atol=1e-6)
    # ... and never goes below it.
    assert (end[a] >= np.minimum(target, begin[a]) - 1e-6).all()


def test_expression_arithmetic_and_division_by_zero():
    deal = small("pay A down to min(balance of B, 5% of collateral balance, original balance of C / 4)\n"
                 "    pay A then B then C")
    rule = next(n for n in deal.principal.walk() if isinstance(n, down_to.DownTo))
    begin = np.array([[50e6], [30e6], [20e6], [0.0]])
    assert down_to.evaluate(rule.ops, begin, np.array([100e6])) == pytest.approx(5e6)
    assert rule.text == "min(balance of B, (5% x collateral balance), (original balance of C / 4))"
    # x / 0 is 0: a target over a retired class's balance pays the class off.
    ops = ((down_to.E_NUM, 0, 7.0), (down_to.E_BAL, 1, 0.0), (down_to.E_DIV, 0, 0.0))
    assert down_to.evaluate(ops, np.array([[1.0], [0.0]]), np.array([1.0]))[0] == 0.0
    deal = small("pay A down to 1mm / balance of C\n    pay C then A then B")
    both(deal)


# ---- named triggers and the example deal


@pytest.fixture(scope="module")
def cn01():
    return structurer.load(CONDITIONS)


def test_the_example_deal_pays_its_seniors_pro_rata_while_the_triggers_pass(cn01):
    r = both(cn01, *cn01.scenarios.values(), "25 CPR")
    table = r.trigger_arrays()
    assert list(table) == ["cumulative loss", "delinquency", "support"]
    failing = table["cumulative loss"] | table["delinquency"] | table["support"]
    p, begin = r.flows.principal, r.flows.beginning_balance
    a1, a2, m1 = (_i(cn01, n) for n in ("A1", "A2", "M1"))
    live = (begin[:, a1] > 1) & (begin[:, a2] > 1)
    # Pro rata by balance in the lockout and while every trigger passes (while the subordinates
    # hold a balance, so that nothing reaches the last rule, A1 then A2) ...
    subs = [_i(cn01, n) for n in ("M1", "M2", "B")]
    prorata = live & (r.flows.ending_balance[:, subs].sum(axis=1) > 1)
    prorata[:, 36:] &= ~failing[:, 36:]
    share = p[:, a1] / np.where(p[:, a1] + p[:, a2] > 0, p[:, a1] + p[:, a2], 1)
    want = begin[:, a1] / np.where(live, begin[:, a1] + begin[:, a2], 1.0)
    paid = (p[:, a1] + p[:, a2]) > 1
    assert np.allclose(share[prorata & paid], want[prorata & paid], atol=1e-9)
    # ... A1 first once a trigger fails after the lockout (A2 waits while A1 has a balance).
    seq = live.copy()
    seq[:, :36] = False
    seq &= failing & (r.flows.ending_balance[:, a1] > 1)  # A1 not retired within the period
    assert seq.any() and (p[:, a2][seq] == 0).all()
    # The subordinates get nothing in the lockout.
    assert p[:, m1, :36].sum() == 0
    # The sticky loss trigger never passes again once it has failed.
    loss = table["cumulative loss"]
    assert (np.diff(loss.astype(int), axis=1) >= 0).all() and loss.any()


def test_trigger_status_in_results_json_csv_and_report(cn01, tmp_path):
    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    r = cn01.run(*cn01.scenarios.values())
    frame = r.triggers(2)
    assert set(frame["delinquency"]) == {"pass", "fail"} and "senior prepayment percentage" not in frame
    out = r.to_dict()["scenarios"]
    assert out[2]["triggers"]["failing_periods"]["delinquency"] == [[4, cn01.periods]]
    assert "first_step_down_period" not in out[2]["triggers"]
    json.dumps(out)
    coll = r.collateral_cashflows(2)
    assert coll["trigger_delinquency"].iloc[3] == "fail" and coll["trigger_cumulative_loss"].iloc[0] == "pass"
    plan = report_plan(r)
    assert plan.credit.triggers == ("cumulative loss", "delinquency", "support")
    html = render(plan)
    section = html[html.index('id="credit"'):html.index('id="decrement"')]
    assert "<h3>Triggers</h3>" in section and "first step-down" not in section
    assert 'data-trigger="delinquency"' in section


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(_scenario, st.floats(0, 50), st.floats(0, 15), st.floats(0, 100),
                          st.integers(0, 12), st.one_of(st.none(), st.floats(0, 12))),
                min_size=1, max_size=3))
def test_invariants_of_the_example_deal(cn01, scenarios):
    r = both(cn01, *scenarios)
    # Cash and losses conserved, nothing negative, losses in order.
    assert_credit_invariants(cn01, r)
    # Every class retires: nothing is left at the end (paid or written down).
    assert np.abs(r.flows.ending_balance[:, :, -1]).max() <= ATOL
    # A sticky trigger never un-fails.
    loss = r.trigger_arrays()["cumulative loss"]
    assert (np.diff(loss.astype(int), axis=1) >= 0).all()


# ---- shifting interest: sticky and named triggers, the step-down test

PL = PRIVATE_LABEL.read_text()


def test_a_sticky_shifting_trigger_stays_failed():
    text = PL.replace("trigger delinquency above 4%", "trigger delinquency above 4% sticky").replace(
        'scenario "300 PSA 0 SDA, 5% delinquent"  300 PSA defaults 0 SDA delinquency 5%',
        'scenario "brief"  300 PSA defaults 0 SDA delinquency vector(5, 5, 1%)')
    deal = build_deal(text)
    rule = next(n for n in deal.principal.walk() if isinstance(n, ShiftingInterest))
    assert rule.triggers == ("loss", "support") and [t.name for t in rule.named] == ["delinquency"]
    r = both(deal, deal.scenarios["brief"], "300 PSA")
    table = r.trigger_arrays()
    assert table["delinquency"][0].all() and not table["delinquency"][1].any()
    assert (table["senior prepayment percentage"][0] == 1.0).all()
    assert table["senior prepayment percentage"][1, 60] == pytest.approx(0.7)
    # Not sticky: it fails in the first two periods only, and the step-down comes at month 61.
    plain = build_deal(PL.replace(
        'scenario "300 PSA 0 SDA, 5% delinquent"  300 PSA defaults 0 SDA delinquency 5%',
        'scenario "brief"  300 PSA defaults 0 SDA delinquency vector(5, 5, 1%)'))
    got = both(plain, plain.scenarios["brief"]).trigger_arrays()
    assert np.flatnonzero(got["delinquency"][0]).tolist() == [0, 1]
    assert got["senior prepayment percentage"][0, 60] == pytest.approx(0.7)


def test_a_shifting_rule_may_read_a_named_trigger():
    text = PL.replace("waterfall {\n", 'waterfall {\n  triggers { "late": delinquency above 4% sticky }\n', 1)
    text = text.replace("trigger delinquency above 4%", 'trigger "late"')
    deal = build_deal(text)
    r = both(deal, deal.scenarios["300 PSA 600 SDA"], "300 PSA")
    table = r.trigger_arrays()
    assert "late" in table and "delinquency" not in table
    # delinquency vector(1, 2, 3%) never passes 4%: the named trigger passes; the step-down comes.
    assert not table["late"].any()
    assert structurer.load(PRIVATE_LABEL).run("300 PSA").to_dict()["scenarios"][0]["triggers"][
        "first_step_down_period"] == r.to_dict()["scenarios"][1]["triggers"]["first_step_down_period"]


def test_the_step_down_test_waits_for_the_enhancement():
    text = PL.replace("      trigger credit support below original\n",
                      "      step-down after month 60 when credit support at least 3 x original\n")
    deal = build_deal(text)
    rule = next(n for n in deal.principal.walk() if isinstance(n, ShiftingInterest))
    r = both(deal, "300 PSA", "100 PSA", "500 PSA")
    begin = r.flows.beginning_balance
    sub = begin[:, [_i(deal, n) for n in ("M1", "M2", "M3", "B1", "B2", "B3")], :].sum(axis=1)
    level = sub / r.collateral.beginning_balance
    met = level >= 3 * 0.08 * (1 - 1e-9)
    met[:, :60] = False
    first = [int(np.argmax(row)) if row.any() else None for row in met]
    spp = r.trigger_arrays()["senior prepayment percentage"]
    for s, f in enumerate(first):
        stop = f if f is not None else deal.periods
        assert (spp[s, :stop] == 1.0).all()
        if f is not None:
            assert spp[s, f] == pytest.approx(rule.percentage[f])
    assert first[0] is not None and first[0] > 60  # at 300 PSA the test, not the date, decides
    # Without the test the step-down comes at month 61.
    assert structurer.load(PRIVATE_LABEL).run("300 PSA").trigger_arrays()[
        "senior prepayment percentage"][0, 60] < 1.0


# ---- errors


def _errors(text: str) -> list[str]:
    with pytest.raises(DealErrors) as info:
        build_deal(text)
    return [f"{e.span.line}:{e.span.column} {e.message}" for e in info.value.errors]


TRIG = 'triggers { "loss": cumulative loss above 2% }'


@pytest.mark.parametrize(("rules", "triggers", "want", "line"), [
    ('pay C when trigger "los" fails\n    pay A then B then C', TRIG, 'unknown trigger "los"', 11),
    ('pay A then B then C', 'triggers { "x": delinquency above 4%  "x": delinquency above 5% }',
     'the trigger "x" is declared twice', 8),
    ("pay C in months 300-400\n    pay A then B then C", "",
     "month 400 is after the deal's last payment", 11),
    ("pay C from month 361\n    pay A then B then C", "", "month 361 is after the deal's last payment", 11),
    ("pay C in months 36-1\n    pay A then B then C", "", "months 36-1 is an empty range", 11),
    ("pay C when X retired\n    pay A then B then C", "", "unknown class 'X'", 11),
    ("pay C when R retired\n    pay A then B then C", "", "class R is the residual", 11),
    ("pay A down to balance of Q\n    pay A then B then C", "", "unknown class 'Q'", 11),
    ("pay A down to 5 PSA\n    pay A then B then C", "", "'5 PSA' is not an amount or a percentage", 11),
    ("pay A then B\n    pay C when A retired", "",
     "class C is only paid to its schedule, its share or when a trigger holds", 5),
    ("pay A then B then C", 'triggers { "s": credit support below original }',
     'say whose credit support the trigger "s" tests', 8),
    ("pay A then B then C", 'triggers { "s": credit support of A, Z below original }',
     "unknown class 'Z'", 8),
    ("pay A then B then C", 'triggers { "d": delinquency above 4 CPR }',
     "a delinquency limit is a percentage, not 'CPR'", 8),
])
def test_bad_conditions_are_positioned(rules, triggers, want, line):
    got = _errors(BASE.format(rules=rules, triggers=triggers))
    assert any(want in g and g.startswith(f"{line}:") for g in got), got


@pytest.mark.parametrize(("old", "new", "want"), [
    ("trigger delinquency above 4%", 'trigger "nope"', 'unknown trigger "nope"'),
    ("trigger credit support below original",
     "step-down after month 400 when credit support at least 2 x original",
     "month 400 is after the deal's last payment"),
    ("trigger credit support below original",
     "step-down after month 60 when credit support at least 0 x original",
     "the step-down test needs a multiple above 0"),
])
def test_bad_shifting_extensions_are_positioned(old, new, want):
    text = PL.replace(old, new)
    got = _errors(text)
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if new in t)
    assert any(want in g and g.startswith(f"{line}:") for g in got), got


def test_a_bad_deal_exits_1_without_a_traceback(tmp_path, capsys):
    from structurer.cli import main

    path = tmp_path / "bad.waterfall"
    path.write_text(BASE.format(rules='pay C when trigger "x" passes\n    pay A then B then C', triggers=""))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert 'unknown trigger "x"' in err and "Traceback" not in err


def test_conditions_in_a_collateral_group_and_named_triggers_refused_there():
    text = (DEALS_DIR / "two_groups.waterfall").read_text()
    old = "    principal: pay A1 then A2 then A3\n"
    assert old in text
    deal = build_deal(text.replace(old, "    principal {\n      pay A3 in months 1-12\n"
                                        "      pay A1 then A2 then A3\n    }\n"))
    r = deal.run("200 PSA")
    p, coll = r.flows.principal[0], r.collateral.by_pool["scheduled_principal"] + r.collateral.by_pool[
        "prepayment"]
    group1 = coll[0, :2].sum(axis=0)
    assert np.allclose(p[_i(deal, "A3"), :12], group1[:12]) and p[_i(deal, "A1"), :12].sum() == 0
    assert p[_i(deal, "A3"), 12:24].sum() == 0
    bad = text.replace(old, '    triggers { "d": delinquency above 4% }\n'
                            '    principal {\n      pay A3 when trigger "d" passes\n'
                            "      pay A1 then A2 then A3\n    }\n")
    got = _errors(bad)
    assert len(got) == 1 and "named triggers are not available in a deal with collateral groups" in got[0]


CONDITION_WORDS = ["A retired", "A outstanding", "B retired", "not C outstanding",
                   "A retired or B outstanding", "B outstanding and not A retired"]


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 200), st.integers(0, 160), st.sampled_from(CONDITION_WORDS),
       st.sampled_from(["balance of B", "50% of balance of A", "min(balance of C, 10mm)",
                        "max(0, balance of A - 2 x balance of C)", "original balance of C / balance of B"]),
       st.floats(0, 800))
def test_random_conditions_and_targets_conserve_cash_and_retire(first, length, words, target, psa):
    rules = (f"pay C in months {first}-{first + length} when {words}\n"
             f"    pay B down to {target}\n"
             "    pay A then B then C")
    deal = small(rules)
    r = both(deal, f"{psa:.4f} PSA")
    f, coll = r.flows, r.collateral
    # Cash conserved and every dollar of principal to a class while one is outstanding (the
    # engine's audit checks both too); nothing negative; every class retires.
    assert np.allclose(coll.principal, f.principal.sum(axis=1) + f.residual_principal, atol=ATOL)
    assert np.allclose(coll.interest + coll.principal,
                       (f.interest + f.principal).sum(axis=1) + f.residual_interest + f.residual_principal,
                       atol=ATOL)
    assert f.ending_balance.min() >= -ATOL and f.principal.min() >= -ATOL
    assert np.abs(f.ending_balance[:, :, -1]).max() <= ATOL


def test_the_independent_reference_agrees(ref):
    """benchmarks/reference.py, written from the docs, on conditions, targets and the step-down
    test with a sticky trigger."""
    deals = [
        small("pay C in months 1-12\n    pay A down to min(balance of B, 5% of collateral balance)\n"
              "    pay C when A retired or not B outstanding\n    pay A then B then C"),
        small("pay B down to original balance of C / balance of C\n    pay A then B then C"),
        build_deal(PL.replace("      trigger credit support below original\n",
                              "      step-down after month 60 when credit support at least 3 x original\n"
                              "      trigger credit support below original sticky\n")),
    ]
    for deal in deals:
        assert disagreements(ref, deal, [Prepayment.constant(v, "PSA") for v in (100, 300, 700)]) == []


def test_a_named_support_trigger_reads_the_shifting_seniors_by_default():
    text = PL.replace("waterfall {\n",
                      'waterfall {\n  triggers { "support": credit support below original }\n', 1)
    deal = build_deal(text)
    assert deal.triggers[0].classes == (_i(deal, "A"),) and deal.triggers[0].senior
    r = both(deal, *deal.scenarios.values())
    table = r.trigger_arrays()
    # The seniors' enhancement (collateral less A) is the subordinates' share while the classes
    # add up to the collateral: the named trigger and the rule's own agree.
    assert table["support"].any()
    assert np.array_equal(table["support"], table["credit support"])


def test_a_condition_on_a_class_split_from_a_parent_is_refused():
    text = (DEALS_DIR / "floater.waterfall").read_text()
    old = "principal: pay A then B then C then D"
    assert old in text
    text = text.replace(old, "principal {\n    pay D when FL retired\n    pay A down to balance of IF\n"
                             "    pay A then B then C then D\n  }")
    got = _errors(text)
    assert any("class FL is split from C: test the class the rules pay instead" in g for g in got), got
    assert any("class IF is split from C" in g for g in got), got
