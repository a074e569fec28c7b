"""Parsing: every construct of the deal language, numbers and units, and syntax errors."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import TOKEN_NAME, column_of, deal_text, line_of

import structurer
from structurer.errors import DealError, DealErrors
from structurer.language.nodes import ClassRef, ConstantSpeed, DealFile, Group, RampSpeed, VectorSpeed
from structurer.language.parser import parse


def parsed(**parts) -> DealFile:
    return parse(deal_text(**parts), "t.waterfall")


def principal_rules(principal: str):
    return parsed(principal=principal).waterfall.principal


def syntax_error(text: str) -> DealError:
    with pytest.raises(DealError) as info:
        parse(text, "bad.waterfall")
    return info.value


# ---------------------------------------------------------------------------- constructs


def test_deal_header():
    f = parsed(name="FJF-01", header="settle 2027-01-30\n first payment 2027-02-25\n delay 24 days")
    h = f.header
    assert h.name == "FJF-01"
    assert h.settle == dt.date(2027, 1, 30)
    assert h.first_payment == dt.date(2027, 2, 25)
    assert (h.delay.value, h.delay.unit) == (24.0, "days")
    assert f.path == "t.waterfall"
    assert f.source.startswith('deal "FJF-01"')


def test_header_items_in_any_order_and_optional_delay():
    h = parsed(header="first payment 2027-02-25 settle 2027-01-30").header
    assert h.settle == dt.date(2027, 1, 30)
    assert h.first_payment == dt.date(2027, 2, 25)
    assert h.delay is None


def test_pool_attributes():
    f = parsed(pools='pool "FN 7.5" { balance 400,000,000 wac 8.125% coupon 7.5% term 360 '
                     'remaining 357 age 3 }')
    (pool,) = f.pools
    assert pool.name == "FN 7.5"
    values = {k: (q.value, q.unit) for k, q in pool.attrs.items()}
    assert values == {
        "balance": (400_000_000.0, None),
        "wac": (8.125, "%"),
        "coupon": (7.5, "%"),
        "term": (360.0, None),
        "remaining": (357.0, None),
        "age": (3.0, None),
    }


def test_several_pools_and_collateral_blocks():
    text = deal_text(pools='pool "A" { balance 1 wac 6% coupon 5% term 360 }\n'
                           '  pool "B" { balance 2 wac 6% coupon 5% term 360 }')
    text = text.replace("class A", 'collateral { pool "C" { balance 3 wac 6% coupon 5% term 180 } }\n'
                                   "class A", 1)
    f = parse(text)
    assert [p.name for p in f.pools] == ["A", "B", "C"]


def test_classes():
    f = parsed(classes="class A1 SEQ balance 80,000,000 coupon 5.5%\n"
                       "class A-2 PT coupon 6% balance 40mm\n"
                       "class R R")
    a1, a2, r = f.classes
    assert (a1.name, a1.type_name, a1.balance.value, a1.coupon.value) == ("A1", "SEQ", 8e7, 5.5)
    assert (a2.name, a2.type_name, a2.balance.value, a2.balance.unit) == ("A-2", "PT", 40.0, "mm")
    assert (r.name, r.type_name, r.balance, r.coupon) == ("R", "R", None, None)


@pytest.mark.parametrize("interest", [
    "interest: pay each class its coupon",
    "interest pay each class its coupon",
    "interest { pay each class its coupon }",
    "interest: {\n pay each class its coupon\n }",
])
def test_interest_section_forms(interest):
    wf = parsed(interest=interest).waterfall
    assert [r.kind for r in wf.interest] == ["coupon"]
    assert wf.interest_span.line == line_of(deal_text(interest=interest), "interest")


def test_waterfall_without_interest_section_parses():
    assert parsed(interest=None).waterfall.interest == []


def test_principal_single_rule_after_colon():
    text = deal_text().replace("principal {\n    pay A until retired\n    pay B until retired\n  }",
                               "principal: pay A then B")
    (rule,) = parse(text).waterfall.principal
    assert [[m.name for m in part.members] for part in rule.alloc.parts] == [["A"], ["B"]]
    assert rule.limit is None


def test_principal_rules_in_order_with_limits():
    rules = principal_rules("pay A until retired\n pay B")
    assert [r.alloc.parts[0].members[0].name for r in rules] == ["A", "B"]
    assert [r.limit for r in rules] == ["until retired", None]


@pytest.mark.parametrize("text", ["pay A then B then C", "pay A, then B, then C",
                                  "pay A\n then B\n then C"])
def test_then_chains(text):
    (rule,) = principal_rules(text)
    assert [[m.name for m in p.members] for p in rule.alloc.parts] == [["A"], ["B"], ["C"]]


@pytest.mark.parametrize("text,names,mode", [
    ("pay A and B pro rata", ["A", "B"], "pro_rata"),
    ("pay A, B pro rata", ["A", "B"], "pro_rata"),
    ("pay A, B and C pro rata", ["A", "B", "C"], "pro_rata"),
    ("pay A, B sequentially", ["A", "B"], "sequentially"),
    ("pay A and B", ["A", "B"], None),
])
def test_pro_alloc_members_and_mode(text, names, mode):
    (rule,) = principal_rules(text)
    (part,) = rule.alloc.parts
    assert part.mode == mode
    assert all(isinstance(m, ClassRef) for m in part.members)
    assert [m.name for m in part.members] == names


def test_pro_rata_then_sequential():
    (rule,) = principal_rules("pay A1 and A2 pro rata, then B")
    first, second = rule.alloc.parts
    assert ([m.name for m in first.members], first.mode) == (["A1", "A2"], "pro_rata")
    assert ([m.name for m in second.members], second.mode) == (["B"], None)


def test_fixed_percentage_shares():
    (rule,) = principal_rules("pay C1 60%, C2 40% pro rata until retired")
    (part,) = rule.alloc.parts
    assert [(m.name, m.share.value, m.share.unit) for m in part.members] == [
        ("C1", 60.0, "%"), ("C2", 40.0, "%")]
    assert rule.limit == "until retired"


def test_nested_groups_with_shares():
    (rule,) = principal_rules("pay (A then (B1 and B2 pro rata)) 70%, C 30% pro rata")
    (part,) = rule.alloc.parts
    group, c = part.members
    assert isinstance(group, Group) and group.share.value == 70.0
    assert isinstance(c, ClassRef) and (c.name, c.share.value) == ("C", 30.0)
    inner_a, inner_b = group.alloc.parts
    assert inner_a.members[0].name == "A"
    (nested,) = inner_b.members
    assert isinstance(nested, Group)
    assert [m.name for m in nested.alloc.parts[0].members] == ["B1", "B2"]
    assert nested.alloc.parts[0].mode == "pro_rata"


def test_scenarios_block():
    sc = parsed(scenarios='pricing 165 PSA\n decrement 0, 100, 165 PSA, 6 CPR\n'
                          ' scenario "slow" 6 CPR ramp to 12 CPR over 12 months\n'
                          ' scenario "burnout" vector(12, 11, 10 CPR)').scenarios
    assert isinstance(sc.pricing, ConstantSpeed)
    assert (sc.pricing.rate.value, sc.pricing.rate.unit) == (165.0, "PSA")
    assert [(s.rate.value, s.rate.unit) for s in sc.decrement] == [
        (0.0, None), (100.0, None), (165.0, "PSA"), (6.0, "CPR")]
    (slow_name, _, slow), (burn_name, _, burn) = sc.named
    assert slow_name == "slow" and isinstance(slow, RampSpeed)
    assert (slow.start.value, slow.end.value, slow.months.value, slow.months.unit) == (
        6.0, 12.0, 12.0, "months")
    assert burn_name == "burnout" and isinstance(burn, VectorSpeed)
    assert [q.value for q in burn.rates] == [12.0, 11.0, 10.0]
    assert [q.unit for q in burn.rates] == [None, None, "CPR"]


def test_sections_may_come_in_any_order_and_be_absent():
    text = deal_text(scenarios=None)
    head, rest = text.split("\n\n", 1)
    f = parse(head + "\n" + "\n\n".join(reversed(rest.split("\n\n"))))
    assert [c.name for c in f.classes] == ["A", "B", "R"]
    assert f.scenarios is None


def test_comments_are_ignored_everywhere():
    text = deal_text(pools='pool "P" {  # the rep-line\n balance 1,000,000  # dollars\n'
                           ' wac 6% coupon 5.5% term 360 age 0 }')
    text = "# leading comment\n" + text.replace("class A", "# classes\nclass A") + "# trailing"
    f = parse(text)
    assert f.pools[0].attrs["balance"].value == 1e6


# ---------------------------------------------------------------------------- numbers, units


@pytest.mark.parametrize("written,value,unit", [
    ("400,000,000", 400_000_000.0, None),
    ("400_000_000", 400_000_000.0, None),
    ("400000000", 400_000_000.0, None),
    ("1,234,567.89", 1_234_567.89, None),
    ("1_000.5", 1000.5, None),
    ("400mm", 400.0, "mm"),
    ("400 mm", 400.0, "mm"),
    (".5", 0.5, None),
    ("0.25", 0.25, None),
])
def test_money_numbers(written, value, unit):
    f = parsed(pools=f'pool "P" {{ balance {written} wac 6% coupon 5% term 360 }}')
    q = f.pools[0].attrs["balance"]
    assert q.value == pytest.approx(value, rel=1e-15)
    assert q.unit == unit


@pytest.mark.parametrize("written,value,unit", [
    ("7.5%", 7.5, "%"),
    ("7.5 %", 7.5, "%"),
    ("25bp", 25.0, "bp"),
    ("750 bp", 750.0, "bp"),
])
def test_rate_units(written, value, unit):
    f = parsed(classes=f"class A SEQ balance 1 coupon {written}")
    q = f.classes[0].coupon
    assert (q.value, q.unit) == (value, unit)


@pytest.mark.parametrize("unit", ["PSA", "CPR", "SMM"])
def test_speed_units(unit):
    sc = parsed(scenarios=f"pricing 1_000.5 {unit}").scenarios
    assert (sc.pricing.rate.value, sc.pricing.rate.unit) == (1000.5, unit)


@pytest.mark.parametrize("written,unit", [("24 days", "days"), ("1 day", "day"), ("24", None)])
def test_delay_units(written, unit):
    h = parsed(header=f"settle 2027-01-30 first payment 2027-02-25 delay {written}").header
    assert h.delay.unit == unit


def test_quantity_spans_point_at_the_number():
    text = deal_text(classes="class A SEQ balance 600,000 coupon 5%\n"
                             "class B SEQ balance   400,000   coupon 5%")
    f = parse(text)
    b = f.classes[1]
    assert (b.balance.span.line, b.balance.span.column) == (
        line_of(text, "class B"), column_of(text, "400,000"))
    assert b.balance.span.end_column == column_of(text, "400,000") + len("400,000")
    assert (b.span.line, b.span.column) == (line_of(text, "class B"), column_of(text, "B SEQ"))
    assert b.type_span.column == column_of(text, "SEQ balance   400")


def test_class_ref_spans():
    text = deal_text(principal="pay A then B")
    (rule,) = parse(text).waterfall.principal
    b = rule.alloc.parts[1].members[0]
    n = line_of(text, "pay A then B")
    assert (b.span.line, b.span.column) == (n, text.splitlines()[n - 1].rindex("B") + 1)


# ---------------------------------------------------------------------------- parse-level errors


@pytest.mark.parametrize("header,message", [
    ("settle 2027-01-30 settle 2027-01-31 first payment 2027-02-25", "'settle' is given twice"),
    ("settle 2027-01-30 first payment 2027-02-25 first payment 2027-03-25",
     "'first payment' is given twice"),
])
def test_header_item_given_twice(header, message):
    err = syntax_error(deal_text(header=header))
    assert message in err.message


def test_pool_key_given_twice():
    text = deal_text(pools='pool "P" { balance 1 wac 6% coupon 5% term 360 wac 7% }')
    err = syntax_error(text)
    assert "gives 'wac' twice" in err.message
    assert err.span.column == text.splitlines()[err.span.line - 1].rindex("wac") + 1


def test_class_attribute_given_twice():
    text = deal_text(classes="class A SEQ balance 1 coupon 5% coupon 6%")
    err = syntax_error(text)
    assert "class A gives its coupon twice" in err.message
    assert err.span.column == column_of(text, "6%", "class A")


def test_two_waterfall_blocks():
    text = deal_text()
    wf = text[text.index("waterfall {"):text.index("scenarios")]
    err = syntax_error(text + wf)
    assert "two waterfall blocks" in err.message


def test_two_principal_sections():
    text = deal_text(principal="pay A }\n principal { pay B")
    assert "two principal sections" in syntax_error(text).message


def test_pricing_twice():
    assert "pricing speed is given twice" in syntax_error(
        deal_text(scenarios="pricing 100 PSA\n pricing 200 PSA")).message


def test_impossible_date():
    text = deal_text(header="settle 2027-02-30 first payment 2027-03-25")
    err = syntax_error(text)
    assert "'2027-02-30' is not a calendar date" in err.message
    assert (err.span.line, err.span.column) == (line_of(text, "2027-02-30"),
                                                column_of(text, "2027-02-30"))
    assert "YYYY-MM-DD" in err.hint


# ---------------------------------------------------------------------------- syntax errors


def caret_column(rendered: str, line_no: int) -> int:
    """The 1-based column the caret points at, read off the rendered error."""
    lines = rendered.splitlines()
    source_row = next(i for i, ln in enumerate(lines) if ln.startswith(f"{line_no} | "))
    caret_row = lines[source_row + 1]
    prefix = " " * len(str(line_no)) + " | "
    assert caret_row.startswith(prefix)
    return caret_row.index("^") - len(prefix) + 1


def assert_points_at(err: DealError, text: str, line: int, column: int) -> None:
    rendered = err.render()
    assert (err.span.line, err.span.column) == (line, column), rendered
    assert f"--> bad.waterfall:{line}:{column}" in rendered
    assert f"{line} | {text.splitlines()[line - 1]}" in rendered
    assert caret_column(rendered, line) == column
    assert rendered.startswith("error: ")


def test_missing_closing_brace():
    text = deal_text(header="settle 2027-01-30\n  first payment 2027-02-25").replace(
        "2027-02-25\n}", "2027-02-25\n", 1)
    err = syntax_error(text)
    assert err.message == "unexpected 'collateral'"
    assert_points_at(err, text, line_of(text, "collateral {"), 1)
    assert "'}'" in err.hint and err.hint.startswith("expected ")


def test_unexpected_character():
    text = deal_text(classes="class A SEQ balance 600,000 @ coupon 5%\n"
                             "class B SEQ balance 400,000 coupon 5%")
    err = syntax_error(text)
    assert err.message == "unexpected character '@'"
    assert_points_at(err, text, line_of(text, "@"), column_of(text, "@"))
    assert err.hint.startswith("expected ")


def test_file_ends_too_early():
    text = deal_text(scenarios=None) + "scenarios {\n  pricing"
    err = syntax_error(text)
    assert err.message == "the deal file ends too early"
    n = len(text.splitlines())
    assert_points_at(err, text, n, len("  pricing") + 1)
    assert "a number" in err.hint


def test_empty_file():
    err = syntax_error("")
    assert err.message == "the deal file ends too early"
    assert "'deal'" in err.hint


def test_wrong_keyword_says_what_was_expected():
    text = deal_text(principal="pay A until paid\n pay B until retired")
    err = syntax_error(text)
    assert err.message == "unexpected 'paid'"
    assert_points_at(err, text, line_of(text, "until paid"), column_of(text, "paid"))
    assert "'retired'" in err.hint


def test_missing_number_says_a_number():
    text = deal_text(classes="class A SEQ balance 600,000 coupon %\nclass B SEQ balance 1 coupon 1%")
    err = syntax_error(text)
    assert_points_at(err, text, line_of(text, "coupon %"), column_of(text, "%", "coupon %"))
    assert err.hint.startswith("expected ") and "a number" in err.hint


def test_unquoted_deal_name():
    err = syntax_error("deal FJF {\n}\n")
    assert_points_at(err, "deal FJF {\n}\n", 1, 6)
    assert "quoted" in err.hint


BROKEN = [
    "",
    "deal",
    'deal "X" {',
    'deal "X" { settle 2027 }',
    'deal "X" { settle 2027-01-30 } collateral { pool { } }',
    'deal "X" { } collateral { pool "P" { balance } }',
    'deal "X" { } collateral { pool "P" { balance 1 wac 6% } ',
    'deal "X" { } class A',
    'deal "X" { } class A SEQ balance',
    'deal "X" { } class A SEQ balance 1 coupon 5% @',
    'deal "X" { } waterfall { interest: pay each class }',
    'deal "X" { } waterfall { principal { pay } }',
    'deal "X" { } waterfall { principal { pay A and } }',
    'deal "X" { } waterfall { principal { pay (A then B } }',
    'deal "X" { } waterfall { principal { pay A until } }',
    'deal "X" { } waterfall { principal { pay A pro } }',
    'deal "X" { } waterfall { principal { pay A 50 } } }',
    'deal "X" { } scenarios { decrement }',
    'deal "X" { } scenarios { pricing 6 CPR ramp 12 CPR }',
    'deal "X" { } scenarios { pricing vector 1 }',
    'deal "X" { } scenarios { scenario slow 100 PSA }',
    'deal "X" { } scenarios { pricing 100 PSA } }',
    'deal "X" { delay 24 } }',
    'deal "X" { } ; ',
]


@pytest.mark.parametrize("text", BROKEN)
def test_syntax_errors_speak_words_not_token_names(text):
    err = syntax_error(text)
    rendered = err.render()
    assert err.span is not None
    assert "--> bad.waterfall:" in rendered
    assert "^" in rendered
    assert "expected " in (err.hint or ""), rendered
    assert not TOKEN_NAME.search(err.hint), rendered
    assert not TOKEN_NAME.search(err.message), rendered


def test_str_of_a_syntax_error_is_the_rendered_error():
    err = syntax_error('deal "X" { settle }')
    assert str(err) == err.render()
    assert "bad.waterfall:1:" in str(err)


def test_tabs_do_not_shift_the_caret():
    text = 'deal "X" {\n\tsettle\t2027-01-30 @\n}\n'
    err = syntax_error(text)
    assert (err.span.line, err.span.column) == (2, 20)
    assert caret_column(err.render(), 2) == 20


# ---------------------------------------------------------------------------- known problems


def test_comma_list_of_speeds_is_not_one_number():
    # Without spaces the list lexes as one number with thousands separators; the checks refuse
    # it as a speed no pool prepays at and say how to write the list.
    with pytest.raises(DealErrors) as info:
        structurer.loads(deal_text(scenarios="decrement 100,200,300 PSA"))
    assert "not a plausible speed" in str(info.value)
    assert "0, 100, 165" in str(info.value)


def test_comma_list_starting_with_zero_is_refused_as_a_number():
    with pytest.raises(DealError) as info:
        structurer.loads(deal_text(scenarios="decrement 0,100,165 PSA"))
    assert "'0,100,165' is not a number" in str(info.value)


def test_unexpected_character_lists_only_what_can_follow():
    text = deal_text(classes="class A SEQ balance 600,000 @ coupon 5%\n"
                             "class B SEQ balance 400,000 coupon 5%")
    err = syntax_error(text)
    for impossible in ("'ramp'", "')'", "'until'", "'over'", "'sequentially'"):
        assert impossible not in err.hint


def test_misspelled_keyword_is_reported_as_the_whole_word():
    # Not split into the keyword 'wac' and a stray 'k'.
    text = deal_text(pools='pool "P" { balance 1,000,000 wack 6% coupon 5.5% term 360 }')
    err = syntax_error(text)
    assert "'wack'" in err.message
    assert_points_at(err, text, line_of(text, "wack"), column_of(text, "wack"))
    assert err.span.end_column - err.span.column == len("wack")
    assert "did you mean 'wac'?" in err.hint
