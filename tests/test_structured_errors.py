"""Impossible structures are refused with the file, the line, a caret under the culprit, and
a message a structurer can act on."""

from __future__ import annotations

import numpy as np
from structured_helpers import (
    assert_points_at,
    deal_errors,
    deal_text,
    error_matching,
    fjf,
    load,
)

PAC_RULES = """  principal {
    pay P to schedule
    pay S until retired
    pay P until retired
  }"""
SOFR = "pricing 165 PSA\n  index SOFR 4%"
A300 = "class A SEQ balance 300,000,000 coupon 7.5%\n"
B100 = "class B SEQ balance 100,000,000 coupon 7.5%\n"
PAIR = ("class A SEQ balance 300,000,000 coupon 7.5%\n"
        "class B SEQ balance 100,000,000 coupon 7.5%\n"
        "class FL FLT from B balance 75mm coupon SOFR + 50bp cap 9.5% floor 0.5%\n"
        "class IF INV from B balance 25mm coupon 28.5% - 3 x SOFR cap 27% floor 0%\n"
        "class R R")


def _pair(**changes: str) -> str:
    classes = PAIR
    for old, new in changes.items():
        classes = classes.replace(old.replace("_", " "), new)
    return deal_text(classes, "  principal: pay A then B", scenarios=SOFR)


def test_the_pair_as_written_checks():
    # The baseline the error cases below alter one thing of.
    deal = load(_pair())
    assert [c.name for c in deal.issued_classes] == ["A", "FL", "IF", "R"]


# ---------------------------------------------------------------------------- PAC bands


def test_band_whose_lower_speed_exceeds_the_upper():
    text = deal_text("class P PAC(300 PSA, 90 PSA) balance 243,800,000 coupon 7.5%\n"
                     "class S SUP balance 156,200,000 coupon 7.5%\nclass R R", PAC_RULES)
    err = error_matching(deal_errors(text), "lower speed")
    assert "300 PSA" in err.message and "90 PSA" in err.message
    assert_points_at(text, err, "PAC(300 PSA, 90 PSA)")
    assert "PAC(90 PSA, 300 PSA)" in err.hint


def test_a_reversed_band_is_reported_once():
    text = deal_text("class P PAC(300 PSA, 90 PSA) balance 243,800,000 coupon 7.5%\n"
                     "class S SUP balance 156,200,000 coupon 7.5%\nclass R R", PAC_RULES)
    assert len(deal_errors(text)) == 1


def test_pac_balance_larger_than_its_band_supports_gives_the_capacity():
    capacity = np.minimum(fjf(90).principal, fjf(300).principal).sum()  # by hand: $243,896,875.51
    text = deal_text("class P PAC(90 PSA, 300 PSA) balance 300,000,000 coupon 7.5%\n"
                     "class S SUP balance 100,000,000 coupon 7.5%\nclass R R", PAC_RULES)
    errors = deal_errors(text)
    assert len(errors) == 1
    err = errors[0]
    assert err.message.startswith("PAC(90 PSA, 300 PSA) supports at most")
    assert f"{capacity:,.2f}" in err.message
    assert_points_at(text, err, "300,000,000")
    assert f"{300e6 - capacity:,.2f}" in err.hint


def test_band_with_the_wrong_number_of_speeds():
    text = deal_text("class P PAC(90 PSA) balance 200,000,000 coupon 7.5%\n"
                     "class S SUP balance 200,000,000 coupon 7.5%\nclass R R",
                     "  principal {\n    pay P\n    pay S\n  }")
    err = error_matching(deal_errors(text), "PAC takes 2 speeds")
    assert_points_at(text, err, "PAC(90 PSA)")


def test_to_schedule_on_a_class_without_a_schedule():
    text = deal_text(A300 + B100 + "class R R", "  principal {\n    pay A to schedule\n    pay B\n  }")
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "class A has no schedule to pay to"
    assert_points_at(text, errors[0], "pay A to schedule")


# ---------------------------------------------------------------------------- floaters


def test_inverse_floater_whose_parent_does_not_exist():
    text = _pair(**{"IF INV from B": "IF INV from Bx"})
    err = error_matching(deal_errors(text), "split from 'Bx'")
    assert "not a class" in err.message
    assert err.hint == "did you mean 'B'?"
    assert_points_at(text, err, "Bx")


def test_an_unknown_parent_is_reported_without_follow_on_errors():
    text = _pair(**{"FL FLT from B": "FL FLT from Bx", "IF INV from B": "IF INV from Bx"})
    errors = deal_errors(text)
    assert all("Bx" in e.message for e in errors), [e.message for e in errors]


def test_cap_below_the_floor():
    text = _pair(**{"cap 9.5% floor 0.5%": "cap 5% floor 6%"})
    err = error_matching(deal_errors(text), "cap 5% is below the floor 6%")
    assert_points_at(text, err, "5%", on="cap 5%")


def test_floater_without_a_cap():
    text = _pair(**{"cap 9.5% floor 0.5%": "floor 0.5%"})
    err = error_matching(deal_errors(text), "FL needs a cap")
    assert_points_at(text, err, "SOFR + 50bp")


def test_floater_and_inverse_that_do_not_add_up_to_the_parent():
    # 28% instead of 28.5%: per dollar of B, 0.75 x 0.5% + 0.25 x 28% = 7.375%, not 7.5%.
    text = _pair(**{"28.5% - 3 x SOFR": "28% - 3 x SOFR"})
    errors = deal_errors(text)
    assert len(errors) == 1
    err = errors[0]
    assert "do not add up to its coupon" in err.message
    assert "7.375%" in err.message and "7.5%" in err.message
    assert_points_at(text, err, "28% - 3 x SOFR")


def test_floater_whose_cap_lets_the_pair_pay_more_than_the_parent():
    # A 12% cap: at SOFR 10%, FL pays 10.5% on 3/4 of B, more than B's 7.5% altogether.
    text = _pair(**{"cap 9.5%": "cap 12%"})
    err = error_matching(deal_errors(text), "split from B pay")
    assert "more than its 7.5% coupon" in err.message


def test_floater_balances_that_do_not_add_up_to_the_parent():
    text = _pair(**{"IF INV from B balance 25mm": "IF INV from B balance 20mm"})
    err = error_matching(deal_errors(text), "split from B add up to 95,000,000.00")
    assert "100,000,000.00" in err.message
    assert_points_at(text, err, "B", on="class FL")


def test_floater_without_an_index_rate():
    text = deal_text(PAIR, "  principal: pay A then B", scenarios="pricing 165 PSA")
    errors = deal_errors(text)
    assert [e.message for e in errors] == ["no rate is given for index SOFR"] * 2
    assert_points_at(text, errors[0], "SOFR + 50bp")


def test_scenario_on_an_index_no_class_floats_on():
    text = deal_text(PAIR, "  principal: pay A then B",
                     scenarios='pricing 165 PSA\n  index SOFR 4%\n  scenario "x" 100 PSA with SOFX 3%')
    err = error_matching(deal_errors(text), "no class floats on index 'SOFX'")
    assert err.hint == "did you mean 'SOFR'?"
    assert_points_at(text, err, "SOFX")


# ---------------------------------------------------------------------------- notionals, strips


def test_notional_class_referencing_an_unknown_class():
    text = deal_text("class A SEQ balance 300,000,000 coupon 6.5%\n" + B100.replace("7.5%", "6.5%")
                     + "class AI NTL/IO notional of Ax coupon 1%\nclass R R", "  principal: pay A then B")
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "notional class AI follows unknown class 'Ax'"
    assert errors[0].hint == "did you mean 'A'?"
    assert_points_at(text, errors[0], "Ax")


def test_notional_on_an_unknown_pool():
    text = deal_text("class A SEQ balance 400,000,000 coupon 7%\n"
                     'class X NTL/IO notional of pool "Q" coupon 0.1%\nclass R R', "  principal: pay A")
    err = error_matching(deal_errors(text), 'no pool is named "Q"')
    assert_points_at(text, err, '"Q"')


def test_coupon_plus_io_strip_above_the_lowest_collateral_coupon():
    # At issue the classes need 200mm x 8% + 200mm x 6% = 7% of 400mm, less than the 7.5% the
    # collateral pays; but A draws 7% + 1% = 8%, which the collateral cannot pay once B is gone.
    text = deal_text("class A SEQ balance 200,000,000 coupon 7%\nclass B SEQ balance 200,000,000 coupon 6%\n"
                     "class AI NTL/IO notional of A coupon 1%\nclass R R", "  principal: pay B then A")
    errors = deal_errors(text)
    assert len(errors) == 1
    err = errors[0]
    assert err.message.startswith("class A can draw 8% of interest")
    assert "lowest collateral net coupon of 7.5%" in err.message
    assert_points_at(text, err, "7%", on="class A ")


def test_coupon_plus_io_strip_above_the_lowest_of_two_pools():
    # 6.25% + 0.5% fits the average of 6.5% and 7% pools, not the 6.5% one, which may be all
    # that is left once the other has paid off.
    pools = ('pool "L" { balance 100,000,000 wac 7% coupon 6.5% term 360 }\n'
             '  pool "H" { balance 100,000,000 wac 7.5% coupon 7% term 360 }')
    text = deal_text("class A SEQ balance 100,000,000 coupon 6.25%\n"
                     "class B SEQ balance 100,000,000 coupon 6%\n"
                     "class AI NTL/IO notional of A coupon 0.5%\nclass R R", "  principal: pay B then A",
                     pools=pools, scenarios=None)
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message.startswith("class A can draw 6.75% of interest")
    assert "lowest collateral net coupon of 6.5%" in errors[0].message
    assert_points_at(text, errors[0], "6.25%")


def test_coupons_above_the_collateral_interest_at_issue():
    text = deal_text(A300 + B100 + "class AI NTL/IO notional of A coupon 1%\nclass R R",
                     "  principal: pay A then B")
    # 300mm x (7.5% + 1%) + 100mm x 7.5% = 33mm a year, 2.75mm a month; the pool pays 2.5mm.
    err = error_matching(deal_errors(text), "need 2,750,000.00 of interest in the first month")
    assert "2,500,000.00" in err.message and "shortfall of 250,000.00" in err.message


def test_discount_strip_with_a_target_below_the_pool_coupon():
    text = deal_text('class PO PO strip of pool "FN 7.5" to 7%\nclass A SEQ balance 400,000,000 coupon 7%\n'
                     "class R R", "  principal: pay A")
    err = error_matching(deal_errors(text), "target above the pool's net coupon (7.5%)")
    assert_points_at(text, err, "7%", on="class PO")


# ---------------------------------------------------------------------------- accrual, NAS


def test_z_with_no_accretion_section():
    text = deal_text(A300 + "class Z SEQ/Z balance 100,000,000 coupon 7.5%\nclass R R",
                     "  principal: pay A then Z")
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "accrual class Z does not say where its accrued interest goes"
    assert_points_at(text, errors[0], "Z", on="class Z")
    assert "accretion Z:" in errors[0].hint


def test_accretion_of_a_class_that_does_not_accrue():
    text = deal_text(A300 + B100 + "class R R", "  accretion A: pay B\n  principal: pay A then B")
    err = error_matching(deal_errors(text), "class A does not accrue")
    assert_points_at(text, err, "A", on="accretion A")


def test_accretion_that_pays_the_z_itself():
    text = deal_text("class A SEQ/AD balance 300,000,000 coupon 7.5%\n"
                     "class Z SEQ/Z balance 100,000,000 coupon 7.5%\nclass R R",
                     "  accretion Z: pay A then Z\n  principal: pay A then Z")
    err = error_matching(deal_errors(text), "cannot pay Z itself")
    assert err.span is not None
    assert err.span.line == text.splitlines().index("  accretion Z: pay A then Z") + 1


def test_its_share_on_a_class_that_is_not_nas():
    text = deal_text(A300 + B100 + "class R R", "  principal {\n    pay A its share\n    pay A then B\n  }")
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "class A is not a NAS class, so it has no share"
    assert_points_at(text, errors[0], "pay A its share")


def test_lockout_on_a_class_that_is_not_nas_and_nas_without_lockout():
    text = deal_text("class A SEQ balance 300,000,000 coupon 7.5% lockout 12 months\n"
                     "class B SEQ/NAS balance 100,000,000 coupon 7.5%\nclass R R",
                     "  principal: pay A then B")
    errors = deal_errors(text)
    assert_points_at(text, error_matching(errors, "only a NAS class has a lockout"), "12 months")
    assert_points_at(text, error_matching(errors, "NAS class B needs its lockout"), "NAS")


# ---------------------------------------------------------------------------- principal rules


def test_paying_a_notional_class_in_a_principal_rule():
    text = deal_text("class A SEQ balance 300,000,000 coupon 6.5%\n" + B100
                     + "class AI NTL/IO notional of A coupon 1%\nclass R R",
                     "  principal: pay A then AI then B")
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "class AI is notional: it has no principal to pay"
    assert_points_at(text, errors[0], "AI", on="pay A then AI")


def test_paying_a_split_child_in_a_principal_rule():
    text = deal_text(PAIR, "  principal: pay A then FL then B", scenarios=SOFR)
    errors = deal_errors(text)
    assert len(errors) == 1
    assert errors[0].message == "class FL is split from B and paid with it"
    assert errors[0].hint == "pay B instead"
    assert_points_at(text, errors[0], "FL", on="pay A then FL")


def test_paying_a_po_strip_in_a_principal_rule():
    text = deal_text('class PO PO strip of pool "FN 7.5" to 8%\nclass A SEQ balance 375,000,000 coupon 7.5%\n'
                     "class R R", "  principal: pay PO then A")
    err = error_matching(deal_errors(text), "class PO is paid its share of its pool's principal")
    assert_points_at(text, err, "PO", on="pay PO then A")


def test_a_structured_deal_without_a_declared_residual_loads():
    text = deal_text("class P PAC(90 PSA, 300 PSA) balance 243,800,000 coupon 7.5%\n"
                     "class S SUP balance 156,200,000 coupon 7.5%", PAC_RULES)
    deal = load(text)
    assert deal.residual is not None
