"""Credit runs of deals with collateral groups: each group's waterfall carries its own loss
section; its pools' realized losses are written down against its own classes in that order, its
pools' recoveries are its principal, and each group's books (cash, principal, losses) balance on
their own. Property tests over CDR 0-30, severity 0-100%, speeds 0-100 CPR."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal, deal_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_groups import HEADER, _as_group_two, _group_books, _standalone, at

import structurer
from structurer.engine.audit import EngineError, audit
from structurer.model.defaults import DefaultAssumption, DefaultRate, Severity
from structurer.model.prepayment import Prepayment
from structurer.model.scenarios import Scenario

ATOL = 1e-5  # dollars, on deals of a few million

GROUP1 = '''group 1 {
  pool "P1" { balance 1,000,000  wac 6.5%  coupon 6%  term 360  age 0 }
  class A1 SEQ balance 700,000 coupon 6%
  class M1 SEQ balance 200,000 coupon 6%
  class B1 SEQ balance 100,000 coupon 6%
  waterfall {
    interest: pay each class its coupon
    principal: pay A1 then M1 then B1
    losses: write down B1, M1, A1
  }
}
'''
GROUP2 = '''group 2 {
  pool "P2" { balance 500,000  wac 5.5%  coupon 5%  term 180  age 0 }
  class A2 SEQ balance 400,000 coupon 4.5%
  class B2 SEQ balance 100,000 coupon 4.5%
  waterfall {
    interest: pay each class its coupon
    principal: pay A2 then B2
    losses: write down B2, A2
  }
}
'''
SCENARIOS = ("150 PSA defaults 8 CDR severity 40% lag 6",
             "0 CPR defaults 30 CDR severity 100% lag 0 advance off",
             "300 PSA defaults 200 SDA severity 25% lag 12",
             "100 PSA")


def credit_deal(group1: str = GROUP1, group2: str = GROUP2, crosses: str = "", scenarios: str = "") -> str:
    return (HEADER + group1 + group2 + "class R R\n" + crosses + "\n"
            + f"scenarios {{ pricing 150 PSA {scenarios} }}\n")


# ------------------------------------------------------------------------- the language


def test_each_groups_loss_order_is_its_own_and_the_deals_is_theirs_end_to_end():
    deal = build_deal(credit_deal())
    names = [c.name for c in deal.classes]
    g1, g2 = deal.groups
    assert [[names[k] for k in tier] for tier in g1.losses] == [["B1"], ["M1"], ["A1"]]
    assert [[names[k] for k in tier] for tier in g2.losses] == [["B2"], ["A2"]]
    assert deal.losses == g1.losses + g2.losses


def test_a_loss_order_naming_another_groups_class_is_pointed_at():
    text = credit_deal(group2=GROUP2.replace("write down B2, A2", "write down B2, B1, A2"))
    (err,) = deal_errors(text)
    assert err.message == "group 2's loss order names B1, a class of group 1"
    assert at(err, text, "B1", within="write down B2, B1")


def test_a_group_without_a_loss_order_next_to_one_with_is_pointed_at():
    text = credit_deal(group2=GROUP2.replace("    losses: write down B2, A2\n", ""))
    (err,) = deal_errors(text)
    assert err.message == "group 2's waterfall has no loss section, while group 1's has"
    # At group 2's waterfall (the third `waterfall {` line is none: there are two).
    lines = text.splitlines()
    assert lines[err.span.line - 1].strip() == "waterfall {"
    assert err.span.line > lines.index("group 2 {")


def test_a_lossy_scenario_needs_the_groups_loss_orders():
    g1 = GROUP1.replace("    losses: write down B1, M1, A1\n", "")
    g2 = GROUP2.replace("    losses: write down B2, A2\n", "")
    text = credit_deal(g1, g2, scenarios='scenario "stress" 100 PSA defaults 5 CDR severity 40%')
    (err,) = deal_errors(text)
    assert err.message.startswith('scenario "stress" has defaults but no group\'s waterfall says which')
    assert at(err, text, "\"stress\"")


def test_a_loss_order_in_a_group_still_rejects_what_cannot_take_losses():
    text = credit_deal(group2=GROUP2.replace("write down B2, A2", "write down B2, R, A2"))
    assert any("class R cannot take losses" in e.message for e in deal_errors(text))


# ------------------------------------------------------------------------- the engine


def test_each_group_pays_under_defaults_as_a_deal_of_its_own():
    # Without cross lines a group is a deal of its own: its classes' flows, write-downs included,
    # are those of the group alone (which runs on the compiled kernel), scenario by scenario.
    grouped = build_deal(credit_deal()).run(*SCENARIOS)
    for group in (GROUP1, GROUP2):
        alone = build_deal(_standalone(group)).run(*SCENARIOS)
        for c in alone.deal.classes:
            if c.is_residual:
                continue
            k = grouped.deal.tranche(c.name).index
            for name in ("principal", "interest", "ending_balance", "writedown", "shortfall"):
                got, want = getattr(grouped.flows, name)[:, k], getattr(alone.flows, name)[:, c.index]
                # The grouped deal runs to its longest pool's term, the group alone to its own.
                n = want.shape[1]
                assert np.allclose(got[:, :n], want, rtol=1e-9, atol=1e-6), (c.name, name)
                assert np.abs(got[:, n:]).max(initial=0.0) <= 1e-6, (c.name, name)


def test_each_groups_write_downs_are_its_own_pools_losses():
    results = build_deal(credit_deal()).run(*SCENARIOS[:3])
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    for i, g in enumerate(deal.groups):
        lost = by_pool["losses"][:, list(g.pools)].sum(axis=1)  # [scenario, period]
        written = f.writedown[:, list(g.classes)].sum(axis=1)
        assert lost.sum() > 1000.0  # every scenario here loses money in both groups
        assert np.allclose(written + f.group_unallocated_loss[:, i], lost, atol=ATOL)
        # Without crosses each group's classes tie to its pools: every loss is absorbed.
        assert np.abs(f.group_unallocated_loss[:, i]).max() <= ATOL
        # And no other group's class was written down for it: the juniors of group 1 take
        # group 1's losses while group 2's are the larger share of group 2's balance.
        assert written.sum() == pytest.approx(lost.sum(), rel=1e-9)
    # 100% severity, no advancing, 30 CDR: group 1's subordinates are wiped out first.
    b1, m1 = deal.tranche("B1").index, deal.tranche("M1").index
    assert f.writedown[1, b1].sum() == pytest.approx(100_000.0, rel=1e-9)
    assert f.writedown[1, m1].sum() > 0.0


def test_recoveries_are_principal_of_their_group():
    results = build_deal(credit_deal()).run(SCENARIOS[0])
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    assert by_pool["recoveries"].sum() > 0.0
    for g in deal.groups:
        pools = list(g.pools)
        principal = (by_pool["scheduled_principal"] + by_pool["prepayment"]
                     + by_pool["recoveries"])[:, pools].sum(axis=1)
        paid = f.principal[:, list(g.classes)].sum(axis=1)
        assert np.allclose(paid, principal, atol=ATOL)
    _group_books(results)


def test_losses_stay_in_their_group_while_excess_crosses():
    # Group 2's excess interest (its pool's 5% over its classes' 4.5%) retires group 1's classes
    # early; group 1's losses once its classes are gone are left unabsorbed in group 1
    # (reported), never passed to group 2, whose own classes absorb all of its own.
    results = build_deal(credit_deal(crosses="excess of group 2 pays group 1")).run(*SCENARIOS[:3])
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    _group_books(results)
    assert f.cross_interest[:, 1].sum() > 0.0 and f.cross_interest_principal[:, 0].sum() > 0.0
    for i, g in enumerate(deal.groups):
        lost = by_pool["losses"][:, list(g.pools)].sum(axis=1)
        written = f.writedown[:, list(g.classes)].sum(axis=1)
        assert np.allclose(written + f.group_unallocated_loss[:, i], lost, atol=ATOL)
    assert f.group_unallocated_loss[:, 0].sum() > 1000.0
    assert np.abs(f.group_unallocated_loss[:, 1]).max() <= ATOL
    assert np.allclose(f.unallocated_loss, f.group_unallocated_loss.sum(axis=1), atol=ATOL)


def test_credit_enhancement_is_of_a_classs_own_group():
    results = build_deal(credit_deal()).run(SCENARIOS[0])
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    ce = results.credit_enhancement()
    a2, b2 = deal.tranche("A2").index, deal.tranche("B2").index
    p2_end = by_pool["ending_balance"][:, list(deal.groups[1].pools)].sum(axis=1)
    # A2's support is B2 alone, over group 2's pool (not group 1's classes over the deal's).
    assert np.allclose(ce[0, a2, :12], f.ending_balance[0, b2, :12] / p2_end[0, :12])
    assert ce[0, a2, 0] == pytest.approx(100_000 / 500_000, rel=0.05)
    assert np.all(ce[0, b2, :12] == 0.0)


def test_the_audit_catches_a_loss_written_down_in_the_wrong_group():
    results = build_deal(credit_deal()).run(SCENARIOS[0])
    deal, f = results.deal, results.flows
    a1, a2 = deal.tranche("A1").index, deal.tranche("A2").index
    t = int(np.argmax(f.writedown[0, deal.tranche("B1").index] > 0))
    # A dollar of group 1's loss written down against group 2's senior instead (balances moved
    # with it, so the deal-wide books still balance).
    for k, sign in ((a1, -1.0), (a2, 1.0)):
        f.writedown[0, k, t] += sign
        f.ending_balance[0, k, t:] -= sign
        f.beginning_balance[0, k, t + 1:] -= sign
    with pytest.raises(EngineError, match="group 1: its pools' losses differ from its classes' write-downs"):
        audit(deal, results.collateral, f)


# ------------------------------------------------------------------------- properties

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def grouped_credit_deals(draw) -> tuple[str, list[Scenario], bool]:
    text = [HEADER]
    for g in (1, 2):
        balance = draw(st.integers(5, 50)) * 100_000
        coupon = draw(st.sampled_from([4.5, 5.0, 5.5, 6.0]))
        term = draw(st.sampled_from([180, 240, 360]))
        n_cls = draw(st.integers(1, 3))
        cuts = sorted(draw(st.lists(st.integers(1, balance // 1000 - 1), min_size=n_cls - 1,
                                    max_size=n_cls - 1, unique=True)))
        bounds = [0, *[c * 1000 for c in cuts], balance]
        names = [f"G{g}C{k}" for k in range(n_cls)]
        lines = [f'  pool "P{g}" {{ balance {balance:,}  wac {coupon + 0.5}%  coupon {coupon}%  '
                 f'term {term}  age {draw(st.integers(0, 24))} }}']
        lines += [f"  class {n} SEQ balance {b - a:,} coupon {coupon}%"
                  for n, a, b in zip(names, bounds, bounds[1:], strict=False)]
        rule = draw(st.sampled_from(["then", "pro rata"]))
        alloc = " then ".join(names) if rule == "then" or n_cls == 1 else ", ".join(names) + " pro rata"
        # The loss order: the most junior (last paid) first; sometimes the two juniors a tier.
        junior_first = list(reversed(names))
        if len(junior_first) >= 2 and draw(st.booleans()):
            losses = f"{junior_first[0]} and {junior_first[1]} pro rata"
            if len(junior_first) > 2:
                losses += " then " + ", ".join(junior_first[2:])
        else:
            losses = ", ".join(junior_first)
        lines.append(f"  waterfall {{ interest: pay each class its coupon  principal: pay {alloc}  "
                     f"losses: write down {losses} }}")
        text.append(f"group {g} {{\n" + "\n".join(lines) + "\n}\n")
    text.append("class R R\n")
    crosses = draw(st.sampled_from(["", "excess principal of group 1 pays group 2",
                                    "excess of group 2 pays group 1",
                                    "excess interest of group 1 pays group 2\n"
                                    "excess principal of group 2 pays group 1"]))
    text.append(crosses + "\n")
    scenario = st.builds(
        lambda cpr, cdr, sev, lag, adv: Scenario(
            Prepayment.constant(cpr, "CPR"),
            defaults=DefaultAssumption(DefaultRate.constant(cdr, "CDR"), Severity.constant(sev), lag=lag,
                                       advancing=adv)),
        st.floats(0, 100), st.floats(0, 30), st.floats(0, 100), st.integers(0, 12), st.booleans())
    return "".join(text), draw(st.lists(scenario, min_size=1, max_size=3)), bool(crosses)


def assert_group_credit_invariants(results: structurer.Results, crossed: bool) -> None:
    deal, f, by_pool = results.deal, results.flows, results.collateral.by_pool
    _group_books(results)  # per group: cash in (recoveries included) = cash out
    book = np.array([c.on_books for c in deal.classes])
    for i, g in enumerate(deal.groups):
        pools, members = list(g.pools), list(g.classes)
        lost = by_pool["losses"][:, pools].sum(axis=1)
        unabsorbed = f.group_unallocated_loss[:, i]
        # Losses conserved per group: its pools' losses are its classes' write-downs plus what
        # none of its classes was left to absorb (only once a cross retired them early).
        assert np.allclose(f.writedown[:, members].sum(axis=1) + unabsorbed, lost, atol=ATOL)
        assert unabsorbed.min() >= -ATOL
        if not crossed:
            assert unabsorbed.max() <= ATOL
        # Principal per group: its pools' balance falls by their principal and losses; its
        # classes' balances by their principal and write-downs; the rest left or crossed.
        coll_fell = (by_pool["beginning_balance"] - by_pool["ending_balance"])[:, pools].sum(axis=1)
        on_books = [k for k in members if book[k]]
        fell = (f.beginning_balance - f.ending_balance)[:, on_books].sum(axis=1)
        came = sum(f.cross_principal[:, j] for j, d in enumerate(deal.groups) if d.principal_to == i)
        moved = (fell + f.group_residual_principal[:, i] + f.cross_principal[:, i] - came
                 - f.cross_interest_principal[:, i] + unabsorbed)
        assert np.allclose(moved, coll_fell, rtol=1e-9, atol=ATOL)
        # No class written down while a more junior class of its group still has a balance.
        for pos, tier in enumerate(g.losses[1:], start=1):
            earlier = [k for t in g.losses[:pos] for k in t]
            left = f.ending_balance[:, earlier].sum(axis=1)
            for k in tier:
                assert not ((f.writedown[:, k] > ATOL) & (left > ATOL)).any(), deal.classes[k].name
    # Nothing negative.
    for name in ("ending_balance", "principal", "interest", "writedown", "shortfall"):
        assert getattr(f, name).min() >= -ATOL, name
    assert f.residual_interest.min() >= -ATOL and f.residual_principal.min() >= -ATOL
    # Every balance retires or is written off by the last period.
    assert np.abs(f.ending_balance[:, :, -1]).max() <= ATOL


@SETTINGS
@given(grouped_credit_deals())
def test_group_credit_invariants(case: tuple[str, list[Scenario], bool]):
    text, scenarios, crossed = case
    assert_group_credit_invariants(build_deal(text).run(*scenarios), crossed)


def test_the_tieout_and_group_figures_hold_in_a_credit_run():
    from structurer.structuring.tieout import check_groups

    results = build_deal(credit_deal(crosses="excess of group 2 pays group 1")).run(*SCENARIOS)
    checks = check_groups(results)
    assert [c.name for c in checks] == ["group 1: cash in = cash out", "group 2: cash in = cash out"]
    assert all(c.passed for c in checks), [c.detail for c in checks]
    for s in range(len(SCENARIOS) - 1):
        for g in results.group_figures(s):
            cash_in = g["collateral_interest"] + g["collateral_principal"] + g["excess_interest_in"] \
                + g["excess_principal_in"]
            cash_out = g["class_interest"] + g["class_principal"] + g["excess_interest_out"] \
                + g["excess_principal_out"] + g["residual_interest"] + g["residual_principal"]
            assert cash_in == pytest.approx(cash_out, rel=1e-9)
            assert g["collateral_losses"] > 0.0
            absorbed = g["class_writedown"] + g["unallocated_loss"]
            assert absorbed == pytest.approx(g["collateral_losses"], rel=1e-9)
    # Half a write-down dropped from group 2's books fails its check (its balances are not retired).
    b2 = results.deal.tranche("B2").index
    results.flows.writedown[0, b2] *= 0.5
    failed = [c for c in check_groups(results) if not c.passed]
    assert [c.name for c in failed] == ["group 2: cash in = cash out"] and "written down" in failed[0].detail


def test_the_command_line_runs_a_grouped_deal_with_defaults(tmp_path, capsys):
    from structurer.cli import main

    path = tmp_path / "g.waterfall"
    path.write_text(credit_deal())
    assert main(["run", str(path), "--cdr", "5", "--severity", "40", "--json"]) == 0
    import json

    record = json.loads(capsys.readouterr().out)["scenarios"][0]
    groups = record["groups"]
    assert groups["1"]["class_writedown"] == pytest.approx(groups["1"]["collateral_losses"], rel=1e-9)
    assert groups["2"]["collateral_losses"] > 0.0


@pytest.mark.parametrize("path", ["senior_sub.waterfall", "private_label.waterfall"])
def test_a_credit_example_pays_in_a_group_as_it_does_alone(path: str):
    # The private-label examples as group 2 next to a small sequential group 1 that takes its own
    # losses: under their own default scenarios, group 2's classes are paid and written down as
    # the deal alone's are. (Shifting interest and its cumulative-loss, delinquency and
    # credit-support triggers read group 2's own pools' balance and losses.)
    text, alone_deal = _as_group_two(path)
    text = text.replace("principal: pay X1 then X2 }",
                        "principal: pay X1 then X2  losses: write down X2, X1 }")
    deal = structurer.loads(text, DEALS_DIR / f"group_{path}")
    names = [n for n, s in alone_deal.scenarios.items() if s.defaults is not None]
    assert len(names) >= 4
    scenarios = [alone_deal.scenarios[n] for n in names]
    together, alone = deal.run(*scenarios), alone_deal.run(*scenarios)
    _group_books(together)
    assert together.flows.writedown[:, [deal.tranche("X1").index, deal.tranche("X2").index]].sum() > 0.0
    for c in alone_deal.classes:
        if c.is_residual:
            continue
        k = deal.tranche(c.name).index
        for key in ("interest", "principal", "writedown", "shortfall"):
            got = getattr(together.flows, key)[:, k, : alone.periods]
            want = getattr(alone.flows, key)[:, c.index]
            assert np.allclose(got, want, rtol=1e-9, atol=1e-5), (c.name, key)


def test_a_shifting_interest_rule_paying_another_groups_class_is_pointed_at():
    text, _ = _as_group_two("private_label.waterfall")
    text = text.replace("      senior A\n", "      senior A, X1 pro rata\n")
    errors = [e for e in deal_errors(text) if "X1" in e.message]
    assert errors and errors[0].message == "group 2's waterfall pays X1, a class of group 1"
    assert at(errors[0], text, "X1", within="senior A, X1")
