"""Collateral groups and WAC classes on the compiled kernel: random grouped deals (with and
without crosses, at speeds to 100 CPR, with and without defaults, reimbursing or not) agree with
the numpy interpreter on every flow and every group figure; a WAC class of a group is paid its own
group's net WAC; a group reimburses its own classes out of its excess interest before passing it
on; a summaries-only run of a grouped deal equals its full run; a group's books that do not
balance in the kernel are named as the interpreter names them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import DEALS_DIR, assert_conserves_cash, build_deal, run_on_interpreter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_group_credit import GROUP1, SCENARIOS, credit_deal
from test_group_properties import grouped_deals
from test_groups import _group_books, _standalone
from test_kernel import assert_same

import structurer
from structurer.engine import compiled as compiled_mod
from structurer.engine.audit import EngineError
from structurer.model.prepayment import Prepayment

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REIMBURSING = GROUP1.replace("coupon 6%\n", "coupon 5.25%\n").replace(
    "losses: write down B1, M1, A1", "losses: write down B1, M1, A1; reimburse from excess interest")


def _with_losses(text: str, reimburse: list[bool]) -> str:
    """Each group's waterfall given a loss section: its classes, the last (most junior) first."""
    out, group = [], -1
    for line in text.splitlines():
        if line.startswith("group "):
            group += 1
            names: list[str] = []
        if line.strip().startswith("class ") and group >= 0 and not line.startswith("class"):
            names.append(line.split()[1])
        if line.strip().startswith("waterfall {") and group >= 0:
            clause = "; reimburse from excess interest" if reimburse[group % len(reimburse)] else ""
            line = line.rstrip()[:-1] + f"  losses: write down {', '.join(reversed(names))}{clause} }}"
        out.append(line)
    return "\n".join(out) + "\n"


@SETTINGS
@given(grouped_deals())
def test_random_grouped_deals_agree_with_the_interpreter(case):
    text, speeds = case
    deal = build_deal(text)
    assert compiled_mod.compiled(deal) is not None
    assert_same(deal, *speeds)


@SETTINGS
@given(case=grouped_deals(), reimburse=st.lists(st.booleans(), min_size=3, max_size=3),
       defaults=st.lists(st.tuples(st.floats(0, 40), st.floats(0, 100), st.integers(0, 12), st.booleans()),
                         min_size=1, max_size=3))
def test_random_grouped_credit_runs_agree_with_the_interpreter(case, reimburse, defaults):
    """Defaults to 40 CDR, severities to 100%, with each group reimbursing its losses or not."""
    text, speeds = case
    deal = build_deal(_with_losses(text, reimburse))
    runs = [f"{speed} defaults {cdr:.6g} CDR severity {sev:.6g}% lag {lag} advance {'on' if adv else 'off'}"
            for speed, (cdr, sev, lag, adv) in zip(speeds * 3, defaults, strict=False)]
    assert_same(deal, *runs)
    results = deal.run(*runs)
    _group_books(results)
    assert_conserves_cash(results)


def test_the_two_group_example_runs_on_the_kernel_as_on_the_interpreter():
    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    assert_same(deal, "0 PSA", "100 PSA", "200 PSA", "1000 PSA", "100 CPR")
    kernel = deal.run("200 PSA")
    assert kernel.flows.source is not None  # the kernel ran it
    numpy = run_on_interpreter(deal, "200 PSA")
    for got, want in zip(kernel.group_figures(), numpy.group_figures(), strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-6), key
            else:
                assert got[key] == value, key


# ---------------------------------------------------------------------------- WAC classes

WAC_GROUPS = '''group 1 {
  pool "A" { balance 60,000,000  wac 6.5%  coupon 6%  term 360  age 2 }
  pool "B" { balance 40,000,000  wac 7.5%  coupon 7%  term 180  age 2 }
  class A1 SEQ/WAC balance 100,000,000
  waterfall { interest: pay each class its coupon  principal: pay A1 }
}
group 2 {
  pool "C" { balance 50,000,000  wac 5.5%  coupon 5%  term 360  age 2 }
  class B1 SEQ balance 30,000,000 coupon 5%
  class B2 SEQ/WAC balance 20,000,000
  waterfall { interest: pay each class its coupon  principal: pay B1 then B2 }
}
class R R
scenarios { pricing 200 PSA }
'''


def test_a_wac_class_of_a_group_is_paid_its_groups_net_wac():
    from test_groups import HEADER

    deal = build_deal(HEADER + WAC_GROUPS)
    assert deal.tranche("A1").coupon == pytest.approx(0.064)  # 60% at 6%, 40% at 7%: group 1's pools
    assert deal.tranche("B2").coupon == pytest.approx(0.05)  # group 2's pool only
    assert_same(deal, "0 PSA", "200 PSA", "60 CPR", "100 CPR")
    results = deal.run("0 PSA", "200 PSA")
    begin = results.collateral.by_pool["beginning_balance"]
    want = (begin[:, 0] * 0.06 + begin[:, 1] * 0.07) / (begin[:, 0] + begin[:, 1])
    coupon = results.arrays("A1")["coupon"]
    live = begin[:, :2].sum(axis=1) > 0
    np.testing.assert_allclose(coupon[live], want[live], rtol=1e-12)
    np.testing.assert_allclose(results.arrays("B2")["coupon"], 0.05, rtol=1e-12)
    _group_books(results)
    # Under defaults too (the net WAC of the pools' balances as defaults leave them).
    credit = build_deal(HEADER + WAC_GROUPS.replace(
        "principal: pay A1 }", "principal: pay A1  losses: write down A1 }").replace(
        "principal: pay B1 then B2 }", "principal: pay B1 then B2  losses: write down B2, B1 }"))
    assert_same(credit, "100 PSA defaults 10 CDR severity 40% lag 6",
                "0 CPR defaults 30 CDR severity 100% lag 0 advance off")


# ---------------------------------------------------------------------------- reimbursement


def test_a_reimbursing_group_without_a_cross_pays_as_a_deal_of_its_own():
    grouped = build_deal(credit_deal(group1=REIMBURSING)).run(*SCENARIOS)
    alone = build_deal(_standalone(REIMBURSING)).run(*SCENARIOS)
    assert grouped.reimbursements().sum() > 1e4
    for c in alone.deal.classes:
        if c.is_residual:
            continue
        k = grouped.deal.tranche(c.name).index
        got, want = grouped.reimbursements()[:, k], alone.reimbursements()[:, c.index]
        n = want.shape[1]
        np.testing.assert_allclose(got[:, :n], want, rtol=1e-9, atol=1e-6, err_msg=c.name)
    # Group 2 does not reimburse: its classes are paid nothing back.
    for name in ("A2", "B2"):
        assert not grouped.reimbursements()[:, grouped.deal.tranche(name).index].any()


@pytest.mark.parametrize("engine", ["compiled", "numpy"])
def test_a_reimbursing_group_pays_its_own_classes_back_before_its_excess_goes_on(monkeypatch, engine):
    monkeypatch.setenv("STRUCTURER_ENGINE", engine)
    cross = "excess interest of group 1 pays group 2\n"
    plain = build_deal(credit_deal(group1=GROUP1.replace("coupon 6%\n", "coupon 5.25%\n"), crosses=cross))
    held = build_deal(credit_deal(group1=REIMBURSING, crosses=cross))
    p, h = plain.run(*SCENARIOS), held.run(*SCENARIOS)
    _group_books(h)
    assert_conserves_cash(h)
    back = h.reimbursements()
    assert back.sum() > 1e4
    # What group 1 paid back it did not pass on to group 2.
    passed_less = p.flows.cross_interest[:, 0].sum() - h.flows.cross_interest[:, 0].sum()
    assert passed_less == pytest.approx(back.sum(), rel=1e-9)
    # Never more than a class has lost so far.
    written = np.cumsum(h.flows.writedown, axis=-1)
    assert np.all(np.cumsum(back, axis=-1) <= written + 1e-6)


# ---------------------------------------------------------------------------- summaries, audit


def test_a_summaries_run_of_a_grouped_deal_uses_the_kernel_and_equals_the_full_run():
    from structurer.engine.run import resolve_scenarios, sum_deal

    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    speeds = ["0 PSA", "200 PSA", "100 CPR"]
    assert sum_deal(deal, resolve_scenarios(deal, speeds), np.ones((1, deal.periods)), 1e-9) is not None
    summary = structurer.summarise(deal, speeds, rates=[0.05])
    results = deal.run(*speeds)
    for j, tranche in enumerate(deal.issued_classes):
        if tranche.is_notional:
            continue
        figures = results._class_figures(tranche.name)
        np.testing.assert_allclose(summary.wal[:, j], figures["wal"], rtol=1e-12, err_msg=tranche.name)
        np.testing.assert_allclose(summary.total_interest[:, j], figures["total_interest"], rtol=1e-12,
                                   atol=1e-12 * deal.collateral_balance)


def test_a_group_whose_books_do_not_balance_is_named_by_the_kernel():
    deal = structurer.load(DEALS_DIR / "two_groups.waterfall")
    cd = compiled_mod.compiled(deal)
    # Group 2's class P is counted in group 1: group 1 is paid cash its pools never had.
    class_grp = cd.group_args[1].copy()
    class_grp[deal.tranche("P").index] = 0
    broken = dataclasses.replace(cd, group_args=(cd.group_args[0], class_grp, *cd.group_args[2:]))
    with pytest.raises(EngineError, match=r"group 1: cash in differs from cash out \(scenario 1, period 1\)"):
        compiled_mod.run_compiled(deal, broken, [Prepayment.constant(200, "PSA")],
                                  np.zeros((1, 0, deal.periods)))


# ---------------------------------------------------------------------------- the example, the report


def test_the_grouped_credit_example_ties_out_per_group_and_its_report_shows_each_groups_loss():
    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    deal = structurer.load(DEALS_DIR / "two_groups_credit.waterfall")
    stresses = [name for name, s in deal.scenarios.items() if s.defaults is not None]
    results = deal.run(*stresses)
    assert_same(deal, *stresses)
    _group_books(results)
    for s in range(len(stresses)):
        figures = results.group_figures(s)
        for g in figures:
            cash_in = g["collateral_interest"] + g["collateral_principal"] + g["excess_interest_in"] \
                + g["excess_principal_in"]
            cash_out = g["class_interest"] + g["class_principal"] + g.get("class_reimbursed", 0.0) \
                + g["excess_interest_out"] + g["excess_principal_out"] + g["residual_interest"] \
                + g["residual_principal"]
            assert cash_out == pytest.approx(cash_in, rel=1e-9)
            written = g["class_writedown"] + g["unallocated_loss"]
            assert written == pytest.approx(g["collateral_losses"], rel=1e-9)
        # Group 1 does not reimburse; group 2 pays its own classes back.
        assert "class_reimbursed" in figures[0] and figures[0]["class_reimbursed"] == 0.0
    assert results.reimbursements()[:, [deal.tranche(n).index for n in ("B2", "M2")]].sum() > 1e6
    credit = report_plan(results).credit
    assert credit.groups == ("1", "2")
    np.testing.assert_allclose(credit.group_loss.sum(axis=0), credit.collateral_loss, rtol=1e-12)
    for i, g in enumerate(deal.groups):
        written = results.writedowns()[:, list(g.classes)].sum(axis=(1, 2))
        np.testing.assert_allclose(credit.group_loss[i], written + credit.group_unabsorbed[i], rtol=1e-9)
    page = render(report_plan(results))
    assert "Group 1&#39;s pools" in page or "Group 1's pools" in page


# ---------------------------------------------------------------------------- rule kinds in a group


@pytest.mark.parametrize("path", ["senior_sub.waterfall", "private_label.waterfall"])
def test_shifting_interest_and_its_triggers_in_a_group_agree_with_the_interpreter(path: str):
    from test_group_credit import _as_group_two

    text, alone = _as_group_two(path)
    text = text.replace("principal: pay X1 then X2 }",
                        "principal: pay X1 then X2  losses: write down X2, X1 }")
    deal = build_deal(text)
    stresses = [alone.scenarios[name] for name, s in alone.scenarios.items() if s.defaults is not None]
    assert_same(deal, *stresses)
    assert_same(deal, "0 PSA", "300 PSA")


def _example_as_group_two(stem: str, first: str, speed: str) -> str:
    """An example deal's pool, classes and waterfall as group 2, next to a large seasoned group 1."""
    src = (DEALS_DIR / f"{stem}.waterfall").read_text()
    pool = src[src.index("  pool "):src.index(f"}}\n\nclass {first}")].rstrip()
    classes = src[src.index(f"class {first}"):src.index("class R")]
    waterfall = src[src.index("waterfall {"):src.index("scenarios")]
    seasoned = ('group 1 {\n  pool "OLD" { balance 3,000,000,000  wac 7%  coupon 6.5%  term 360  age 60 }\n'
                "  class X SEQ balance 3,000,000,000 coupon 6.5%\n"
                "  waterfall { interest: pay each class its coupon  principal: pay X }\n}\n")
    return (src[:src.index("collateral {")] + seasoned + "group 2 {\n" + pool + "\n" + classes + waterfall
            + f"}}\nclass R R\nscenarios {{ pricing {speed} }}\n")


@pytest.mark.parametrize(("stem", "first"), [("nas", "N"), ("jump_z", "A"), ("accrual", "A")])
def test_nas_shares_triggers_and_accretion_in_a_group_agree_with_the_interpreter(stem: str, first: str):
    deal = build_deal(_example_as_group_two(stem, first, "8 CPR"))
    assert_same(deal, "0 PSA", "8 CPR", "250 PSA", "600 PSA", "100 CPR")
    _group_books(deal.run("8 CPR", "600 PSA"))


def test_the_json_gives_each_groups_reimbursements(capsys):
    import json

    from structurer.cli import main

    assert main(["run", str(DEALS_DIR / "two_groups_credit.waterfall"), "--scenario", "500 SDA", "--json",
                 "--no-report"]) == 0
    groups = json.loads(capsys.readouterr().out)["scenarios"][0]["groups"]
    assert groups["1"]["class_reimbursed"] == 0.0  # group 1 does not reimburse
    g = groups["2"]
    assert g["class_reimbursed"] > 1e6
    cash_in = g["collateral_interest"] + g["collateral_principal"]
    cash_out = (g["class_interest"] + g["class_principal"] + g["class_reimbursed"] + g["excess_interest_out"]
                + g["residual_interest"] + g["residual_principal"])
    assert cash_out == pytest.approx(cash_in, rel=1e-9)
