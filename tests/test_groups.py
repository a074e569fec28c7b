"""Collateral groups: `group 1 { pools; classes; waterfall }`, each paying its own classes from
its own pools, and declared cross-collateralization (`excess [principal|interest] of group 1
pays group 2`). The checks point at the right place; the interpreter keeps each group's books."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    DEALS_DIR,
    assert_classes_retire,
    assert_conserves_cash,
    build_deal,
    column_of,
    deal_errors,
    line_of,
)

import structurer
from structurer.engine.audit import EngineError, audit
from structurer.engine.compiled import compiled

HEADER = 'deal "G-1" {\n  settle 2027-01-30\n  first payment 2027-02-25\n  delay 24 days\n}\n'
GROUP1 = '''group 1 {
  pool "P1" { balance 1,000,000  wac 6.5%  coupon 6%  term 360  age 0 }
  class A1 SEQ balance 600,000 coupon 6%
  class A2 SEQ balance 400,000 coupon 6%
  waterfall { interest: pay each class its coupon  principal: pay A1 then A2 }
}
'''
P2 = 'pool "P2" { balance 500,000  wac 5.5%  coupon 5%  term 180  age 0 }'
GROUP2 = '''group 2 {
  pool "P2" { balance 500,000  wac 5.5%  coupon 5%  term 180  age 0 }
  class B1 SEQ balance 300,000 coupon 4.5%
  class B2 SEQ balance 200,000 coupon 4.5%
  waterfall { interest: pay each class its coupon  principal: pay B1 then B2 }
}
'''
TAIL = "class R R\n{crosses}\nscenarios {{ pricing 150 PSA  decrement 0, 150, 500 PSA }}\n"


def grouped(group1: str = GROUP1, group2: str = GROUP2, crosses: str = "", extra: str = "") -> str:
    return HEADER + extra + group1 + group2 + TAIL.format(crosses=crosses)


def at(err, text: str, needle: str, within: str | None = None) -> bool:
    return (err.span.line, err.span.column) == (line_of(text, within or needle),
                                                column_of(text, needle, within))


def messages(text: str) -> list[str]:
    return [e.message for e in deal_errors(text)]


# ------------------------------------------------------------------------- the language


def test_a_grouped_deal_checks_into_groups():
    deal = build_deal(grouped(crosses="excess of group 2 pays group 1"))
    g1, g2 = deal.groups
    names = [c.name for c in deal.classes]
    assert (g1.name, [names[k] for k in g1.classes], g1.pools) == ("1", ["A1", "A2"], (0,))
    assert (g2.name, [names[k] for k in g2.classes], g2.pools) == ("2", ["B1", "B2"], (1,))
    # `excess of` without a word directs both kinds.
    assert (g2.principal_to, g2.interest_to, g1.principal_to, g1.interest_to) == (0, 0, None, None)
    assert deal.group_of(names.index("R")) is None
    # Each group's rules pay its own classes only; the deal's rules are the groups' end to end.
    assert g1.principal(deal.principal).classes() == [0, 1]
    assert g2.principal(deal.principal).classes() == [2, 3]
    assert deal.principal.classes() == [0, 1, 2, 3]


def test_a_group_may_name_pools_of_the_collateral_block():
    text = grouped(group2=GROUP2.replace(P2, 'pools "P2"'), extra=f"collateral {{ {P2} }}\n")
    deal = build_deal(text)
    assert [deal.pools[p].name for p in deal.groups[1].pools] == ["P2"]


def test_a_class_paid_by_a_group_that_does_not_own_it_is_pointed_at():
    text = grouped(group2=GROUP2.replace("pay B1 then B2", "pay B1 then B2 then A2"))
    errors = deal_errors(text)
    err = next(e for e in errors if "group 2's waterfall pays A2" in e.message)
    assert "a class of group 1" in err.message
    assert at(err, text, "A2", within="pay B1 then B2 then A2")


def test_a_pool_in_two_groups_is_an_error():
    text = grouped(group2=GROUP2.replace('pool "P2"', 'pools "P1"\n  pool "P2"'))
    err = next(e for e in deal_errors(text) if "in group 1 and in group 2" in e.message)
    assert err.message == 'pool "P1" is in group 1 and in group 2'
    assert at(err, text, '"P1"', within='pools "P1"')


def test_a_group_with_classes_and_no_pools_is_an_error():
    text = grouped(group2=GROUP2.replace(P2, ""), extra=f"collateral {{ {P2} }}\n")
    msgs = messages(text)
    assert "group 2 has classes and no pools" in msgs
    assert 'pool "P2" is in no group' in msgs


def test_a_group_with_pools_and_no_classes_is_an_error():
    bare = 'group 3 {\n  pool "P3" { balance 100,000  wac 6.5%  coupon 6%  term 360  age 0 }\n' \
           '  waterfall { principal: pay A1 }\n}\n'
    text = grouped().replace("class R R", bare + "class R R")
    err = next(e for e in deal_errors(text) if "no classes" in e.message)
    assert err.message == "group 3 has pools and no classes"
    assert at(err, text, "3", within="group 3")


def test_classes_and_pools_outside_every_group_are_errors():
    text = grouped(extra='collateral { pool "P9" { balance 1,000  wac 6.5%  coupon 6%  term 360  age 0 } }\n'
                         "class Z9 SEQ balance 1,000 coupon 6%\n")
    msgs = messages(text)
    assert 'pool "P9" is in no group' in msgs and "class Z9 is in no group" in msgs


def test_a_deal_wide_waterfall_next_to_groups_is_an_error():
    text = grouped().replace("class R R", "class R R\nwaterfall { principal: pay A1 }")
    err = next(e for e in deal_errors(text) if "deal-wide waterfall" in e.message)
    assert err.span.line == line_of(text, "waterfall { principal: pay A1 }")


def test_a_group_without_a_waterfall_is_an_error():
    text = grouped(group2=GROUP2.replace(
        "  waterfall { interest: pay each class its coupon  principal: pay B1 then B2 }\n", ""))
    err = next(e for e in deal_errors(text) if "no waterfall" in e.message)
    assert err.message == "group 2 has no waterfall" and at(err, text, "2", within="group 2 {")


def test_group_balances_tie_to_their_own_pools():
    text = grouped(group1=GROUP1.replace("class A2 SEQ balance 400,000", "class A2 SEQ balance 500,000"),
                   group2=GROUP2.replace("class B2 SEQ balance 200,000", "class B2 SEQ balance 100,000"))
    msgs = messages(text)
    # The deal's total ties (1,500,000 both ways); each group's does not.
    assert any(m.startswith("group 1's class balances add up to 1,100,000.00, 100,000.00 more") for m in msgs)
    assert any(m.startswith("group 2's class balances add up to 400,000.00, 100,000.00 less") for m in msgs)


def test_interest_is_proved_per_group():
    # Group 2's 5% pool cannot pay a 5.5% class, though group 1's 6% pool could deal-wide.
    text = grouped(group2=GROUP2.replace("class B2 SEQ balance 200,000 coupon 4.5%",
                                         "class B2 SEQ balance 200,000 coupon 5.5%"))
    err = next(e for e in deal_errors(text) if "class B2 can draw" in e.message)
    assert "more than the lowest collateral net coupon of 5%" in err.message
    assert at(err, text, "5.5%", within="class B2")


def test_references_stay_inside_a_group():
    io = "  class IO NTL/IO notional of A1 coupon 0.5%\n"
    text = grouped(group2=GROUP2.replace("  waterfall", io + "  waterfall"))
    err = next(e for e in deal_errors(text) if "refers to" in e.message)
    assert err.message == "class IO of group 2 refers to class A1, of group 1"


def test_the_residual_belongs_to_no_group():
    text = grouped(group1=GROUP1.replace("  waterfall", "  class R R\n  waterfall")).replace(
        "class R R\n\n", "\n")
    assert "the residual R is the deal's, not group 1's" in messages(text)


@pytest.mark.parametrize(("crosses", "message"), [
    ("excess of group 3 pays group 1", "no group is named 3"),
    ("excess of group 1 pays group 1", "group 1's excess cannot pay group 1 itself"),
    ("excess principal of group 1 pays group 2\nexcess of group 2 pays group 1",
     "the groups' excess principal goes round in a cycle: group 1 pays group 2 pays group 1"),
    ("excess interest of group 1 pays group 2\nexcess interest of group 1 pays group 2",
     "the excess interest of group 1 is directed twice"),
])
def test_cross_collateralization_is_checked(crosses: str, message: str):
    text = grouped(crosses=crosses)
    errors = deal_errors(text)
    err = next((e for e in errors if e.message == message), None)
    assert err is not None, [e.message for e in errors]
    assert err.span is not None and err.span.line >= line_of(text, crosses.splitlines()[0])


def test_excess_between_groups_needs_groups():
    text = (DEALS_DIR / "sequential.waterfall").read_text() + "\nexcess of group 1 pays group 2\n"
    err = next(e for e in deal_errors(text) if "no collateral groups" in e.message)
    assert err.span.line == line_of(text, "excess of group 1 pays group 2")


def test_interest_and_principal_crosses_may_run_opposite_ways():
    deal = build_deal(grouped(crosses="excess interest of group 1 pays group 2\n"
                                      "excess principal of group 2 pays group 1"))
    assert (deal.groups[0].interest_to, deal.groups[1].principal_to) == (1, 0)


# ------------------------------------------------------------------------- the engine


def _group_books(results: structurer.Results) -> None:
    """Each group's books recomputed from the flows, apart from the engine's own audit: its pools'
    cash plus what donors' excess brought equals its classes' cash, its excess passed on and what
    it left to the residual, every period and scenario; nothing passed on is negative."""
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    pool_cash = by_pool["interest"] + by_pool["scheduled_principal"] + by_pool["prepayment"]
    if "recoveries" in by_pool:
        pool_cash = pool_cash + by_pool["recoveries"]  # a credit run: recoveries are principal
    for i, g in enumerate(deal.groups):
        cash_in = pool_cash[:, list(g.pools)].sum(axis=1)
        for j, donor in enumerate(deal.groups):
            cash_in = cash_in + (f.cross_interest[:, j] if donor.interest_to == i else 0.0) \
                + (f.cross_principal[:, j] if donor.principal_to == i else 0.0)
        cash = [k for k in g.classes if deal.classes[k].holds_cash]
        paid = f.interest + f.principal
        if f.reimbursed is not None:
            paid = paid + f.reimbursed  # losses paid back: class cash out of its group's excess interest
        out = paid[:, cash].sum(axis=1) + f.group_residual_interest[:, i] \
            + f.group_residual_principal[:, i] + f.cross_interest[:, i] + f.cross_principal[:, i]
        assert np.allclose(out, cash_in, rtol=1e-9, atol=1e-6), f"group {g.name}"
        for a in (f.group_residual_interest, f.group_residual_principal, f.cross_interest, f.cross_principal):
            assert a[:, i].min() >= -1e-6
        # A class's cash never exceeds what its group had: its pools' and what donors passed.
        assert np.all(paid[:, cash].sum(axis=1) <= cash_in + 1e-6)
    # The deal's residual is what the groups left.
    assert np.allclose(f.residual_interest, f.group_residual_interest.sum(axis=1), atol=1e-6)
    assert np.allclose(f.residual_principal, f.group_residual_principal.sum(axis=1), atol=1e-6)


def _standalone(group: str) -> str:
    """One group of the test deal as a deal of its own."""
    body = group.split("{", 1)[1].rsplit("}", 1)[0]
    pools = "\n".join(line for line in body.splitlines() if line.strip().startswith("pool"))
    rest = "\n".join(line for line in body.splitlines() if not line.strip().startswith("pool"))
    return (HEADER + "collateral {\n" + pools + "\n}\n" + rest + "\nclass R R\n"
            + "scenarios { pricing 150 PSA }\n")


@pytest.mark.parametrize("group", [GROUP1, GROUP2], ids=["group1", "group2"])
def test_without_crosses_each_group_pays_as_a_deal_of_its_own(group: str):
    speeds = ["0 PSA", "150 PSA", "600 PSA", "100 CPR"]
    together = build_deal(grouped()).run(*speeds)
    alone = build_deal(_standalone(group)).run(*speeds)
    for name in [c.name for c in alone.deal.classes if not c.is_residual]:
        for key in ("interest", "principal", "ending_balance"):
            got = together.arrays(name)[key][:, : alone.periods]
            assert np.allclose(got, alone.arrays(name)[key], rtol=1e-12, atol=1e-7), (name, key)


def test_a_pac_schedule_comes_from_its_own_groups_pools():
    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    text = (DEALS_DIR / "two_groups.waterfall").read_text()
    group2 = text[text.index("group 2 {"):text.index("class R  R")]
    alone = build_deal(_standalone(group2))
    p = deal.tranche("P").index
    assert np.allclose(deal.schedules[p][: alone.periods], alone.schedules[alone.tranche("P").index])


def test_the_example_keeps_each_groups_books():
    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    results = deal.run(*deal.decrement, "100 CPR")
    _group_books(results)
    assert_conserves_cash(results)
    assert_classes_retire(results)
    # Group 1's excess interest paid group 2's classes; group 2's pools' principal after its
    # classes retired paid group 1's: both crosses carry cash at the pricing speed.
    figures = {g["group"]: g for g in results.group_figures("200 PSA")}
    assert figures["1"]["excess_interest_out"] > 1e6
    assert figures["2"]["excess_principal_out"] > 1e6
    assert figures["2"]["excess_interest_in"] == pytest.approx(figures["1"]["excess_interest_out"])
    assert figures["2"]["class_principal"] == pytest.approx(120e6)


def test_excess_interest_pays_the_other_groups_classes_sooner():
    plain = build_deal(grouped()).run("150 PSA")
    crossed = build_deal(grouped(crosses="excess interest of group 1 pays group 2")).run("150 PSA")
    _group_books(crossed)
    assert crossed.wal("B1")[0] < plain.wal("B1")[0]
    assert crossed.wal("A1")[0] == pytest.approx(plain.wal("A1")[0], rel=1e-12)
    # Without a principal cross, group 2's pools pay the residual once its classes are retired.
    assert crossed.group_figures()[1]["residual_principal"] > 0


def test_grouped_deals_run_on_the_kernel():
    deal = build_deal(grouped())
    assert compiled(deal) is not None
    assert deal.run("150 PSA").flows.source is not None  # the kernel's lean flows


def test_the_audit_catches_cash_moved_between_groups():
    deal = build_deal(grouped())
    results = deal.run("150 PSA")
    f = results.flows
    # Move a dollar of period 5's principal from A1 to B1: the deal still balances, group 1
    # and group 2 do not.
    f.principal[0, deal.tranche("A1").index, 4] -= 1.0
    f.principal[0, deal.tranche("B1").index, 4] += 1.0
    f.ending_balance[0, deal.tranche("A1").index, 4:] += 1.0
    f.ending_balance[0, deal.tranche("B1").index, 4:] -= 1.0
    f.beginning_balance[0, deal.tranche("A1").index, 5:] += 1.0
    f.beginning_balance[0, deal.tranche("B1").index, 5:] -= 1.0
    with pytest.raises(EngineError, match="group 1: cash in differs from cash out"):
        audit(deal, results.collateral, f)


def test_results_say_whose_classes_and_pools_are_whose():
    results = structurer.load(DEALS_DIR / "two_groups.waterfall").run()
    assert results.group_of("A2") == "1" and results.group_of("S") == "2" and results.group_of("R") is None
    record = results.to_dict()["scenarios"][0]["groups"]
    assert record["2"]["pools"] == ["FN 5.5 15yr"] and record["2"]["classes"] == ["P", "S"]
    assert record["1"]["excess_interest_to"] == "2"


def test_a_lossy_credit_run_of_a_grouped_deal_without_loss_orders_is_refused():
    # Defaults that lose money need the groups to say who takes the losses (tests/
    # test_group_credit.py runs grouped deals that do); defaults without losses run.
    deal = build_deal(grouped())
    with pytest.raises(structurer.InputError, match="says nowhere which classes take losses"):
        deal.run("150 PSA defaults 1 CDR severity 40%")
    assert deal.run("150 PSA defaults 1 CDR").flows.writedown.max() == 0.0


def test_the_tieout_checks_each_group():
    from structurer.structuring.tieout import check_groups, tieout

    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    result = tieout(deal)
    names = [c.name for c in result.checks]
    assert "group 1: cash in = cash out" in names and "group 2: cash in = cash out" in names
    assert result.passed
    # A dollar of group 1's interest paid to group 2's class instead: each group's check fails.
    results = deal.run("200 PSA")
    f = results.flows
    f.interest[0, deal.tranche("A1").index, 3] -= 1.0
    f.interest[0, deal.tranche("P").index, 3] += 1.0
    failed = [c for c in check_groups(results) if not c.passed]
    assert [c.name for c in failed] == ["group 1: cash in = cash out", "group 2: cash in = cash out"]
    assert "period 4" in failed[0].detail


def test_the_terminal_and_the_report_show_the_groups(tmp_path, capsys):
    from structurer.cli import main

    report = tmp_path / "tg.html"
    assert main([str(DEALS_DIR / "two_groups.waterfall"), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Collateral groups at 200 PSA" in out
    line = next(x for x in out.splitlines() if "FN 5.5 15yr" in x)
    assert "P, S" in line and "principal to group 1" in line
    html = report.read_text(encoding="utf-8")
    assert '<a href="#groups">Collateral groups</a>' in html
    assert "<td>FN 6.0 30yr A, FN 6.0 30yr B</td><td>A1, A2, A3</td><td>250,000,000</td>" in html
    assert "group 1: cash in = cash out" in html  # the tie-out section, per group


def test_a_deal_without_groups_shows_no_group_table(tmp_path, capsys):
    from structurer.cli import main

    report = tmp_path / "seq.html"
    assert main([str(DEALS_DIR / "sequential.waterfall"), "--report", str(report)]) == 0
    assert "Collateral groups" not in capsys.readouterr().out
    assert 'id="groups"' not in report.read_text(encoding="utf-8")


def test_a_nas_share_is_of_its_own_groups_balances():
    # The NAS example deal as group 2 next to a sequential group 1: N's share is of group 2's
    # classes and principal, so group 2 pays exactly as the NAS deal alone does.
    nas = (DEALS_DIR / "nas.waterfall").read_text()
    pool = nas[nas.index("  pool "):nas.index("}\n\nclass N")].rstrip()
    classes = nas[nas.index("class N"):nas.index("class R")]
    waterfall = nas[nas.index("waterfall {"):nas.index("scenarios")]
    group1 = GROUP1.replace("A1", "X1").replace("A2", "X2")
    text = (nas[:nas.index("collateral {")] + group1 + "group 2 {\n" + pool + "\n" + classes + waterfall
            + "}\nclass R R\nscenarios { pricing 250 PSA }\n")
    speeds = ["0 PSA", "250 PSA", "600 PSA"]
    together = build_deal(text).run(*speeds)
    alone = structurer.load(DEALS_DIR / "nas.waterfall").run(*speeds)
    _group_books(together)
    for name in ("N", "A1", "A2", "A3"):
        got = together.arrays(name)["principal"][:, : alone.periods]
        assert np.allclose(got, alone.arrays(name)["principal"], rtol=1e-12, atol=1e-7), name


def test_a_trigger_reads_its_own_groups_prepayments():
    # The jump-Z deal as group 2 next to a large seasoned group 1. At 8 CPR the young jump-Z
    # pool prepays above 300 PSA in its first months, the seasoned pool (300 PSA: 18 CPR) never:
    # the trigger must read group 2's pool alone, as the jump-Z deal alone does.
    jz = (DEALS_DIR / "jump_z.waterfall").read_text()
    pool = jz[jz.index("  pool "):jz.index("}\n\nclass A")].rstrip()
    classes = jz[jz.index("class A"):jz.index("class R")]
    waterfall = jz[jz.index("waterfall {"):jz.index("scenarios")]
    seasoned = ('group 1 {\n  pool "OLD" { balance 3,000,000,000  wac 7%  coupon 6.5%  term 360  age 60 }\n'
                "  class X SEQ balance 3,000,000,000 coupon 6.5%\n"
                "  waterfall { interest: pay each class its coupon  principal: pay X }\n}\n")
    text = (jz[:jz.index("collateral {")] + seasoned + "group 2 {\n" + pool + "\n" + classes + waterfall
            + "}\nclass R R\nscenarios { pricing 8 CPR }\n")
    together = build_deal(text).run("8 CPR")
    alone = structurer.load(DEALS_DIR / "jump_z.waterfall").run("8 CPR")
    z = alone.arrays("Z")["principal"]
    assert z[0, 0] > 0  # the trigger trips in period 1
    assert np.allclose(together.arrays("Z")["principal"][:, : alone.periods], z, rtol=1e-12, atol=1e-7)


@pytest.mark.parametrize(("args", "words"), [
    (["--max-pac", "P"], "has collateral groups"),
    (["--effective-band", "P", "--after", "12", "--at", "400"], "has collateral groups"),
    (["--size", "P,S", "--wal", "4"], "has collateral groups"),
    (["--size", "A1,S", "--wal", "3"], "A1 and S are in different collateral groups"),
])
def test_the_cli_refuses_solves_it_would_answer_on_the_whole_collateral(capsys, args, words):
    from structurer.cli import main

    assert main(["solve", str(DEALS_DIR / "two_groups.waterfall"), *args]) == 1
    assert words in capsys.readouterr().err


def test_a_resize_within_a_group_is_solved(capsys):
    from structurer.cli import main

    assert main(["solve", str(DEALS_DIR / "two_groups.waterfall"), "--size", "A1,A2", "--wal", "2.5"]) == 0
    assert "give A1 a WAL of 2.50000000 years" in capsys.readouterr().out


def test_a_groups_rules_are_the_deals_so_a_rebuilt_deal_keeps_them():
    import dataclasses

    from structurer.model.rules import Pay, Sequential

    deal = build_deal(grouped())
    # Group 2's rules replaced in the deal's (as a solver's rebuild re-points rules): B2 first.
    rules = deal.principal.children
    swapped = dataclasses.replace(deal, principal=Sequential((*rules[:1], Sequential((Pay(3), Pay(2))))))
    assert swapped.groups[1].principal(swapped.principal).classes() == [3, 2]
    results = swapped.run("150 PSA")
    assert results.arrays("B2")["principal"][0, 0] > 0 and results.arrays("B1")["principal"][0, 0] == 0


def test_a_loan_tape_may_be_a_groups_collateral():
    # The tape example's pool and classes as group 2: its rep-lines are all group 2's pools.
    tape = (DEALS_DIR / "tape.waterfall").read_text()
    pool = tape[tape.index("  pool "):tape.index("}\n\nclass A")].rstrip()
    classes = tape[tape.index("class A"):tape.index("class R")].replace("class A ", "class TA ")
    classes = classes.replace("class B ", "class TB ").replace("class C ", "class TC ")
    text = (HEADER + GROUP1 + "group 2 {\n" + pool + "\n" + classes
            + "waterfall { interest: pay each class its coupon  principal: pay TA then TB then TC }\n}\n"
            + "class R R\nscenarios { pricing 165 PSA }\n")
    deal = structurer.loads(text, DEALS_DIR / "grouped_tape.waterfall")  # the tape is beside it
    g2 = deal.groups[1]
    assert len(g2.pools) > 1 and all(deal.pools[p].name.startswith("Tape #") for p in g2.pools)
    assert len(deal.pools) == len(g2.pools) + 1
    _group_books(deal.run("0 PSA", "165 PSA", "100 CPR"))


def _as_group_two(path: str) -> tuple[str, structurer.Deal]:
    """An example deal as group 2 of a deal whose group 1 is a small sequential of its own."""
    text = (DEALS_DIR / path).read_text()
    body = text[text.index("collateral {"):]
    collateral = _braced(body, 0)
    pools = collateral[collateral.index("{") + 1:collateral.rindex("}")]
    waterfall = _braced(text, text.index("waterfall {"))
    classes = "\n".join(line for line in text.splitlines()
                        if line.startswith("class ") and line.split()[2] != "R")  # R: the deal's
    scenarios = _braced(text, text.index("scenarios {")) if "scenarios {" in text else ""
    group1 = ('group 1 {\n  pool "GX" { balance 2,000,000  wac 7%  coupon 6.5%  term 240  age 10 }\n'
              "  class X1 SEQ balance 1,200,000 coupon 6.5%\n  class X2 SEQ balance 800,000 coupon 6.5%\n"
              "  waterfall { interest: pay each class its coupon  principal: pay X1 then X2 }\n}\n")
    head = text[:text.index("collateral {")]
    grouped_text = (head + group1 + "group 2 {\n" + pools + "\n" + classes + "\n" + waterfall + "\n}\n"
                    + "class R R\n" + scenarios + "\n")
    return grouped_text, structurer.load(DEALS_DIR / path)


def _braced(text: str, start: int) -> str:
    """The block that opens at the first '{' from `start`, braces balanced."""
    depth, i = 0, text.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[start:i]


@pytest.mark.parametrize("path", ["sequential.waterfall", "pac.waterfall", "pac_tiers.waterfall",
                                  "accrual.waterfall", "jump_z.waterfall", "nas.waterfall",
                                  "io_po.waterfall", "prorata.waterfall", "floater.waterfall",
                                  "two_pool.waterfall"])
def test_every_kind_of_example_pays_in_a_group_as_it_does_alone(path: str):
    text, alone_deal = _as_group_two(path)
    deal = structurer.loads(text, DEALS_DIR / f"group_{path}")
    speeds = ["0 PSA", "165 PSA", "450 PSA", "100 CPR"]
    together, alone = deal.run(*speeds), alone_deal.run(*speeds)
    _group_books(together)
    for c in alone_deal.classes:
        if c.is_residual:
            continue
        for key in ("interest", "principal", "accrued"):
            got = together.arrays(c.name)[key][:, : alone.periods]
            assert np.allclose(got, alone.arrays(c.name)[key], rtol=1e-12, atol=1e-7), (c.name, key)


def test_a_bad_pool_in_a_group_is_reported_once():
    text = grouped(group2=GROUP2.replace("coupon 5%  term 180", "coupon 5%  term 900"))
    msgs = messages(text)
    assert any("900 months is longer than any mortgage" in m for m in msgs)
    assert not any("class balances add up" in m for m in msgs)


def test_the_solvers_refuse_what_they_would_answer_on_the_whole_collateral():
    """From the API as from the command line: a band capacity or an effective band of a grouped
    deal would be the whole collateral's, so the solver refuses it; a resize across groups too."""
    from structurer.structuring import solve

    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    with pytest.raises(structurer.InputError, match="has collateral groups"):
        solve.max_pac_balance(deal, "P")
    with pytest.raises(structurer.InputError, match="has collateral groups"):
        solve.effective_band(deal, "P", 12, 400.0)
    with pytest.raises(structurer.InputError, match="has collateral groups"):
        solve.size_for_wal(deal, "P", "S", 4.0)
    with pytest.raises(structurer.InputError, match="A1 and S are in different collateral groups"):
        solve.size_for_wal(deal, "A1", "S", 3.0)
