"""Semantic checks: each problem is found, explained, and pointed at the right place."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import (
    build_deal,
    column_of,
    deal_errors,
    deal_text,
    line_of,
    only_error,
    prepayment_of,
)

from structurer.errors import DealErrors
from structurer.model import Pay, ProRata, Sequential
from structurer.model.prepayment import Prepayment

TWO_CLASSES = "class A SEQ balance 600,000 coupon 5%\nclass B SEQ balance 400,000 coupon 5%"


def at(err, text: str, needle: str, within: str | None = None) -> bool:
    """Whether the error's span starts at `needle` (on the line containing `within`)."""
    return (err.span.line, err.span.column) == (line_of(text, within or needle),
                                                column_of(text, needle, within))


# ---------------------------------------------------------------------------- a good deal


def test_a_good_deal_checks_into_the_model():
    text = deal_text(
        pools='pool "P1" { balance 600,000 wac 6% coupon 5.5% term 360 age 3 }\n'
              '  pool "P2" { balance 0.4mm wac 6.5% coupon 6% term 360 remaining 350 }',
        classes=TWO_CLASSES + "\nclass R R",
        scenarios='pricing 165 PSA\n decrement 0, 100 PSA, 6 CPR\n'
                  ' scenario "slow" 6 CPR ramp to 12 CPR over 12 months',
    )
    deal = build_deal(text)
    assert deal.name == "T-1"
    assert (deal.settle, deal.first_payment, deal.delay_days) == (
        dt.date(2027, 1, 30), dt.date(2027, 2, 25), 24)
    p1, p2 = deal.pools
    assert (p1.balance, p1.wac, p1.coupon, p1.term, p1.remaining, p1.age) == (
        600_000.0, 0.06, 0.055, 360, 357, 3)
    assert (p2.balance, p2.term, p2.remaining, p2.age) == (400_000.0, 360, 350, 10)
    assert deal.collateral_balance == 1_000_000.0
    a, b, r = deal.classes
    assert (a.name, a.principal_type, a.interest_type, a.balance, a.coupon, a.index) == (
        "A", "SEQ", "FIX", 6e5, 0.05, 0)
    assert r.is_residual and r.balance == 0.0 and deal.residual is r
    assert deal.tranche("B") is b
    assert deal.principal == Sequential((Pay(0), Pay(1)))
    assert prepayment_of(deal.pricing) == Prepayment.constant(165, "PSA")
    assert [prepayment_of(p) for p in deal.decrement] == [
        Prepayment.constant(0, "PSA"), Prepayment.constant(100, "PSA"), Prepayment.constant(6, "CPR")]
    assert prepayment_of(deal.scenarios["slow"]) == Prepayment.ramp(6, 12, 12, "CPR")
    assert deal.scenarios["slow"].label == "slow"


def test_a_deal_without_a_residual_class_gets_one():
    # Every REMIC has a residual: one the deal does not declare is added, and it takes the
    # collateral's excess interest (here 5.5% net against 5% coupons).
    deal = build_deal(deal_text(residual=False))
    assert [c.name for c in deal.classes][:2] == ["A", "B"]
    assert deal.residual is not None
    res = deal.run("100 PSA")
    excess = res.arrays(deal.residual.name)["interest"][0, 0]
    assert excess == pytest.approx(1_000_000 * 0.005 / 12, rel=1e-9)


def test_pool_term_from_remaining_and_age():
    deal = build_deal(deal_text(
        pools='pool "P" { balance 1,000,000 wac 6% coupon 5.5% remaining 300 age 60 }'))
    (pool,) = deal.pools
    assert (pool.term, pool.remaining, pool.age) == (360, 300, 60)


def test_rates_in_basis_points_and_money_in_millions():
    deal = build_deal(deal_text(
        pools='pool "P" { balance 1mm wac 600bp coupon 550 bp term 360 }',
        classes="class A SEQ balance .6mm coupon 500bp\nclass B SEQ balance 400_000 coupon 5%"))
    assert deal.pools[0].wac == pytest.approx(0.06, rel=1e-15)
    assert deal.pools[0].coupon == pytest.approx(0.055, rel=1e-15)
    assert deal.classes[0].balance == pytest.approx(600_000.0, rel=1e-15)
    assert deal.classes[0].coupon == pytest.approx(0.05, rel=1e-15)


@pytest.mark.parametrize("principal,rule", [
    ("pay A then B", Sequential((Sequential((Pay(0), Pay(1))),))),
    ("pay A, B sequentially", Sequential((Sequential((Pay(0), Pay(1))),))),
    ("pay A and B pro rata", Sequential((ProRata((Pay(0), Pay(1))),))),
    ("pay A 60%, B 40% pro rata until retired", Sequential((ProRata((Pay(0), Pay(1)), (0.6, 0.4)),))),
    ("pay A\n pay B", Sequential((Pay(0), Pay(1)))),
])
def test_rules_compile(principal, rule):
    assert build_deal(deal_text(principal=principal)).principal == rule


def test_nested_rules_compile():
    classes = TWO_CLASSES.replace("400,000", "200,000") + "\nclass C SEQ balance 200,000 coupon 5%"
    deal = build_deal(deal_text(classes=classes,
                                principal="pay (A then B) 50%, C 50% pro rata"))
    assert deal.principal == Sequential((
        ProRata((Sequential((Pay(0), Pay(1))), Pay(2)), (0.5, 0.5)),))


def test_a_class_may_appear_in_several_rules():
    deal = build_deal(deal_text(principal="pay A\n pay B\n pay A"))
    assert deal.principal == Sequential((Pay(0), Pay(1), Pay(0)))


# ---------------------------------------------------------------------------- classes


def test_unknown_class_suggests_the_closest():
    text = deal_text(principal="pay A until retired\n    pay BB until retired")
    err = only_error(text)
    assert err.message == "unknown class 'BB'"
    assert err.hint == "did you mean 'B'?"
    assert at(err, text, "BB")
    assert "did you mean 'B'?" in err.render()


def test_unknown_class_differing_in_case():
    text = deal_text(principal="pay A\n pay b")
    err = only_error(text)
    assert err.hint == "did you mean 'B'?"


def test_unknown_class_with_nothing_close_says_how_to_declare():
    text = deal_text(principal="pay A\n pay B\n pay Zebra99")
    err = only_error(text)
    assert err.message == "unknown class 'Zebra99'"
    assert "declare it" in err.hint


def test_duplicate_class_names():
    text = deal_text(classes=TWO_CLASSES + "\nclass A SEQ balance 1 coupon 1%")
    err = only_error(text)
    assert err.message == "class A is declared twice"
    assert err.span.line == line_of(text, "class A SEQ balance 1 coupon")
    assert err.span.column == len("class ") + 1
    assert err.hint == f"first declared on line {line_of(text, 'class A SEQ balance 600,000')}"


@pytest.mark.parametrize("b_balance,total,word,diff", [
    ("300,000", "900,000.00", "less", "100,000.00"),
    ("400,001.50", "1,000,001.50", "more", "1.50"),
])
def test_balances_not_adding_up_to_the_collateral(b_balance, total, word, diff):
    text = deal_text(classes=TWO_CLASSES.replace("400,000", b_balance),
                     principal="pay A\n pay B")
    errors = [e for e in deal_errors(text) if "balances" in e.message]
    (err,) = errors
    assert err.message == (f"the class balances add up to {total}, {diff} {word} than the "
                           "collateral balance of 1,000,000.00")
    assert err.span.line == line_of(text, "class A")


def test_balances_within_half_a_cent_add_up():
    text = deal_text(classes=TWO_CLASSES.replace("400,000", "400,000.004"))
    build_deal(text)


def test_coupons_exceeding_collateral_interest_state_the_shortfall():
    # Collateral: 1,000,000 x 5.5% / 12 = 4,583.33. Classes: 600,000 x 5% / 12 = 2,500.00 plus
    # 400,000 x 8% / 12 = 2,666.67, together 5,166.67: a shortfall of 583.33.
    text = deal_text(classes=TWO_CLASSES.replace("coupon 5%\nclass B", "coupon 5%\nclass B")
                     .replace("400,000 coupon 5%", "400,000 coupon 8%"))
    err = only_error(text)
    assert err.message == ("the classes' coupons need 5,166.67 of interest in the first month; "
                           "the collateral's net interest is 4,583.33, a shortfall of 583.33")
    assert at(err, text, "8%", "class B")


def test_coupons_equal_to_collateral_interest_are_fine():
    build_deal(deal_text(classes=TWO_CLASSES.replace("5%", "5.5%")))


def test_class_with_a_balance_no_rule_pays():
    classes = TWO_CLASSES.replace("400,000", "300,000") + "\nclass C SEQ balance 100,000 coupon 5%"
    text = deal_text(classes=classes, principal="pay A then B")
    err = only_error(text)
    assert err.message == "class C has a balance that no principal rule ever pays"
    assert at(err, text, "C", "class C")
    assert "pay C" in err.hint


@pytest.mark.parametrize("classes,message,needle", [
    ("class A SEQ balance 600,000 coupon 5 PSA", "the coupon of A needs a rate unit", "5 PSA"),
    ("class A SEQ balance 600,000 coupon 5", "the coupon of A needs a rate unit", "5"),
    ("class A SEQ balance 600,000 % coupon 5%",
     "the balance of A is an amount of money, not '%'", "600,000 %"),
    ("class A SEQ balance 600,000 PSA coupon 5%",
     "the balance of A is an amount of money, not 'PSA'", "600,000 PSA"),
    ("class A SEQ balance 600,000 coupon 120%", "the coupon of A .*120%.* is more than 100%",
     "120%"),
])
def test_bad_class_units(classes, message, needle):
    text = deal_text(classes=classes + "\nclass B SEQ balance 400,000 coupon 5%")
    matching = [e for e in deal_errors(text) if re.fullmatch(message, e.message)]
    assert matching, [e.message for e in deal_errors(text)]
    assert at(matching[0], text, needle, "class A")


@pytest.mark.parametrize("pool,message,needle", [
    ('balance 1,000,000 wac 6 coupon 5.5% term 360', "the WAC needs a rate unit", "6 coupon"),
    ('balance 1,000,000 wac 6% coupon 5.5% term 360 days',
     "the original term is a number of months, not 'days'", "360 days"),
    ('balance 1,000,000 wac 6% coupon 5.5% term 360 age 2.5',
     "the loan age must be a whole number of months", "2.5"),
    ('balance 1,000,000 CPR wac 6% coupon 5.5% term 360',
     "the pool balance is an amount of money, not 'CPR'", "1,000,000 CPR"),
])
def test_bad_pool_units(pool, message, needle):
    text = deal_text(pools=f'pool "P" {{ {pool} }}')
    err = only_error(text)
    assert err.message == message
    assert at(err, text, needle, "pool")


@pytest.mark.parametrize("delay", ["24 PSA", "24%", "2.5 days"])
def test_bad_delay(delay):
    text = deal_text(header=f"settle 2027-01-30 first payment 2027-02-25 delay {delay}")
    err = only_error(text)
    assert err.message == "the payment delay is a whole number of days"
    assert at(err, text, delay)


@pytest.mark.parametrize("scenarios,message,needle", [
    ("pricing 100", "a prepayment speed needs its unit", "100"),
    ("pricing 100 bp", "a prepayment speed needs its unit", "100 bp"),
    ("pricing 150 CPR", "150 CPR is more than 100%", "150 CPR"),
    ("pricing 101 SMM", "101 SMM is more than 100%", "101 SMM"),
    ("pricing 6 CPR ramp to 12 CPR over 12 days", "a ramp's length is a number of months, not 'days'",
     "12 days"),
    ("pricing vector(1, 2, 3)", "a vector needs its unit after the last speed", "3"),
])
def test_bad_speed_units(scenarios, message, needle):
    text = deal_text(scenarios=scenarios)
    err = only_error(text)
    assert err.message == message
    assert at(err, text, needle, "pricing")


def test_ramp_with_mixed_units():
    text = deal_text(scenarios='pricing 100 PSA\n scenario "r" 6 CPR ramp to 150 PSA over 12 months')
    err = only_error(text)
    assert err.message == "a ramp must start and end in the same unit"
    assert err.hint == "it starts in CPR and ends in PSA"
    assert at(err, text, "6 CPR", "ramp")


def test_ramp_of_no_months():
    text = deal_text(scenarios="pricing 6 CPR ramp to 12 CPR over 0 months")
    err = only_error(text)
    assert err.message == "a ramp lasts at least one month"
    assert at(err, text, "0 months")


def test_vector_with_mixed_units():
    text = deal_text(scenarios="pricing vector(100 PSA, 6 CPR)")
    err = only_error(text)
    assert err.message == "every speed in a vector must be in one unit"
    assert at(err, text, "vector")


def test_pro_rata_shares_not_summing_to_100():
    text = deal_text(principal="pay A 60%, B 30% pro rata until retired")
    err = only_error(text)
    assert err.message == "pro rata shares add up to 90%, not 100%"
    assert at(err, text, "A 60%")


def test_pro_rata_shares_must_be_rates():
    text = deal_text(principal="pay A 60, B 40 pro rata")
    err = only_error(text)
    assert err.message == "a pro rata share needs a rate unit"
    assert at(err, text, "60", "pay A")


def test_every_member_or_none_has_a_share():
    text = deal_text(principal="pay A 60%, B pro rata")
    err = only_error(text)
    assert err.message == "either every class in a pro rata group has a share or none has"
    assert at(err, text, "B", "pay A")


def test_share_on_a_single_class():
    text = deal_text(principal="pay A 100%\n pay B")
    err = only_error(text)
    assert err.message == "a share only means something among classes paid pro rata"
    assert at(err, text, "100%")


def test_share_in_a_sequential_list():
    text = deal_text(principal="pay A 60%, B 40% sequentially")
    err = only_error(text)
    assert err.message == "shares mean nothing when classes are paid sequentially"
    assert at(err, text, "60%")


def test_list_without_a_mode():
    text = deal_text(principal="pay A and B")
    err = only_error(text)
    assert err.message == "say how these classes share principal"
    assert "'pro rata' or 'sequentially'" in err.hint
    assert at(err, text, "A and B")


def test_class_twice_in_one_rule():
    text = deal_text(principal="pay A then B then A")
    err = only_error(text)
    assert err.message == "class A appears twice in one principal rule"
    n = line_of(text, "pay A then B")
    assert (err.span.line, err.span.column) == (n, text.splitlines()[n - 1].rindex("A") + 1)


def test_residual_in_a_principal_rule():
    text = deal_text(classes=TWO_CLASSES + "\nclass R R", principal="pay A\n pay B\n pay R")
    err = only_error(text)
    assert err.message.startswith("class R is the residual")
    assert at(err, text, "R", "pay R")


def test_residual_with_a_balance():
    text = deal_text(classes=TWO_CLASSES + "\nclass R R balance 5")
    err = only_error(text)
    assert err.message == "the residual class R has no balance of its own"
    assert at(err, text, "5", "class R")


def test_two_residuals():
    text = deal_text(classes=TWO_CLASSES + "\nclass R1 R\nclass R2 R")
    err = only_error(text)
    assert err.message == "a deal has one residual class"
    assert err.span.line == line_of(text, "class R2")


def test_unknown_class_type_suggests_the_closest():
    text = deal_text(classes=TWO_CLASSES.replace("class A SEQ", "class A SQE"))
    err = deal_errors(text)[0]
    assert err.message == "unknown class type 'SQE'"
    assert err.hint == "did you mean 'SEQ'?"
    assert at(err, text, "SQE")


def test_class_without_balance_or_coupon():
    text = deal_text(classes="class A SEQ coupon 5%\nclass B SEQ balance 400,000")
    messages = [e.message for e in deal_errors(text)]
    assert "class A has no balance" in messages
    assert "class B has no coupon" in messages


# ---------------------------------------------------------------------------- deal, pools


def test_missing_dates():
    text = deal_text(header="delay 24 days")
    messages = [e.message for e in deal_errors(text)]
    assert 'deal "T-1" has no settlement date' in messages
    assert 'deal "T-1" has no first payment date' in messages


def test_first_payment_before_settlement():
    text = deal_text(header="settle 2027-03-30 first payment 2027-02-25")
    err = only_error(text)
    assert err.message == "the first payment date must come after settlement"
    assert at(err, text, "2027-02-25")


def test_pool_missing_attributes():
    text = deal_text(pools='pool "P" { wac 6% }')
    messages = [e.message for e in deal_errors(text)]
    assert 'pool "P" has no balance' in messages
    assert 'pool "P" has no coupon' in messages
    assert 'pool "P" has no term' in messages


def test_net_coupon_above_wac():
    text = deal_text(pools='pool "P" { balance 1,000,000 wac 5% coupon 5.5% term 360 }',
                     classes=TWO_CLASSES)
    err = only_error(text)
    assert err.message == "the net coupon 5.5% is above the WAC 5%"
    assert at(err, text, "5.5%", "pool")


def test_pool_past_its_term():
    text = deal_text(pools='pool "P" { balance 1,000,000 wac 6% coupon 5.5% term 360 age 360 }')
    err = only_error(text)
    assert err.message == 'pool "P" has no remaining term'
    assert at(err, text, "360 }", "pool")


def test_remaining_longer_than_term():
    text = deal_text(pools='pool "P" { balance 1,000,000 wac 6% coupon 5.5% term 300 '
                           'remaining 360 }')
    errors = deal_errors(text)
    err = next(e for e in errors if "remaining" in e.message)
    assert err.message == "the remaining term (360) is longer than the original term (300)"
    assert at(err, text, "360 }", "pool")


def test_two_pools_with_one_name():
    text = deal_text(pools='pool "P" { balance 500,000 wac 6% coupon 5.5% term 360 }\n'
                           ' pool "P" { balance 500,000 wac 6.5% coupon 5.5% term 360 }')
    err = only_error(text)
    assert err.message == 'two pools are named "P"'
    assert err.span.line == line_of(text, "wac 6.5%")


def test_missing_sections():
    text = 'deal "X" { settle 2027-01-30 first payment 2027-02-25 }'
    messages = [e.message for e in deal_errors(text)]
    assert "the deal has no collateral" in messages
    assert "the deal has no classes" in messages
    assert "the deal has no waterfall" in messages


def test_no_principal_rules():
    text = deal_text().replace("pay A until retired\n    pay B until retired", "")
    messages = [e.message for e in deal_errors(text)]
    assert "the waterfall has no principal rules" in messages


def test_coupons_need_an_interest_section():
    text = deal_text(interest=None)
    err = only_error(text)
    assert err.message == "the waterfall has no interest section, but classes bear coupons"


def test_two_scenarios_with_one_name():
    text = deal_text(scenarios='scenario "s" 100 PSA\n scenario "s" 200 PSA')
    err = only_error(text)
    assert err.message == 'two scenarios are named "s"'


# ---------------------------------------------------------------------------- reporting


def test_every_problem_is_reported_at_once_in_file_order():
    text = deal_text(classes=TWO_CLASSES.replace("400,000", "300,000"),
                     principal="pay A\n pay BB", scenarios="pricing 100")
    errors = deal_errors(text)
    assert len(errors) == 3
    assert [e.span.line for e in errors] == sorted(e.span.line for e in errors)
    with pytest.raises(DealErrors) as info:
        build_deal(text, "deal.waterfall")
    rendered = str(info.value)
    for e in errors:
        assert f"--> deal.waterfall:{e.span.line}:{e.span.column}" in rendered


def test_every_check_error_renders_the_line_and_a_caret():
    text = deal_text(classes=TWO_CLASSES.replace("400,000 coupon 5%", "400,000 coupon 8%"))
    err = only_error(text)
    rendered = err.render()
    n = err.span.line
    assert f"{n} | {text.splitlines()[n - 1]}" in rendered
    assert "^^" in rendered  # under "8%"


# ---------------------------------------------------------------------------- regressions


def test_a_bad_class_declaration_is_reported_once():
    # Not again as an "unknown class" wherever a rule names it.
    text = deal_text(classes="class A SEQ balance 600,000 coupon 5 PSA\n"
                             "class B SEQ balance 400,000 coupon 5%")
    messages = [e.message for e in deal_errors(text)]
    assert messages == ["the coupon of A needs a rate unit"]


def test_a_zero_share_is_rejected():
    # A class with a 0% share would never be paid: its principal would go to the residual.
    text = deal_text(classes=TWO_CLASSES + "\nclass R R",
                     principal="pay A 0%, B 100% pro rata until retired")
    errors = deal_errors(text)
    assert any("share" in e.message for e in errors)
