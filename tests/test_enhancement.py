"""Overcollateralization (target, step-down with triggers, floor, turbo, release) and the reserve
account: the checks, the engines (the kernel and the interpreter alike), the books, the results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structurer.errors import DealErrors
from structurer.model.defaults import parse_defaults
from structurer.model.prepayment import parse_speed
from structurer.model.scenarios import Scenario

HE = (DEALS_DIR / "home_equity.waterfall").read_text()
TOL = 1e-6


@pytest.fixture(scope="module")
def deal():
    return build_deal(HE)


def _scenario(speed: str, defaults: str | None = None) -> Scenario:
    return Scenario(parse_speed(speed), defaults=parse_defaults(defaults) if defaults else None)


def _errors(text: str) -> list:
    with pytest.raises(DealErrors) as raised:
        build_deal(text)
    return raised.value.errors


# ---- checks ----------------------------------------------------------------------------------

def test_an_oc_deal_may_have_classes_below_the_collateral(deal):
    oc = deal.overcollateralization
    assert oc is not None and oc.initial_amount == pytest.approx(12_500_000)
    assert oc.turbo and oc.stepdown == 36 and oc.triggers == ("loss", "delinquency", "support")
    assert deal.reserve is not None and deal.reserve.initial == 2_500_000 and deal.reserve.covers_losses


def test_without_an_oc_section_the_classes_must_still_add_up():
    text = (HE.split("  overcollateralization:")[0] + "}\n"
            + HE.split("covers interest shortfalls and losses\n}")[1])
    (err,) = _errors(text)
    assert "the class balances add up to 487,500,000.00, 12,500,000.00 less than" in err.message


def test_classes_above_the_collateral_in_an_oc_deal_is_an_error_at_the_section():
    (err,) = _errors(HE.replace("balance  22,500,000", "balance  42,500,000"))
    assert "overcollateralized, but its class balances add up to 507,500,000.00" in err.message
    assert err.span is not None and err.span.line == HE.splitlines().index(
        next(x for x in HE.splitlines() if x.startswith("  overcollateralization:"))) + 1


@pytest.mark.parametrize("old, new, words", [
    ("target 3.1% of original", "target 103% of original", "is over 100% of the collateral"),
    ("target 3.1% of original", "target 3.1 of original", "a percentage of the collateral balance"),
    ("floor 0.5% of original", "floor 4% of original", "floor (4% of original balance) is above its target"),
    ("release to R", "release to B", "goes to class B, which is not the residual"),
    ("release to R", "release to Q", "which the deal does not declare"),
    ("after month 36", "after month 400", "after the deal's last payment"),
    ("target 2,500,000", "target -1% of current balance", "target of -1% is negative"),
    ("initial 2,500,000", "initial -2,500,000", "initial deposit of -2,500,000 is negative"),
    ("covers interest shortfalls and losses", "covers losses and losses", "covers losses twice"),
    ("; turbo from excess interest", "; turbo from excess interest; turbo from excess interest",
     "'turbo' is given twice"),
    ("trigger delinquency above 10%", "trigger delinquency above 110%", "not between 0% and 100%"),
])
def test_bad_sections_are_positioned_errors(old, new, words):
    assert old in HE
    errors = _errors(HE.replace(old, new, 1))
    assert any(words in e.message for e in errors), [e.message for e in errors]
    assert all(e.span is not None for e in errors)


def test_triggers_need_a_step_down():
    text = HE.replace("    after month 36 6.2% of current balance; floor 0.5% of original balance; "
                      "release to R\n", "    release to R\n")
    assert any("hold its step-down, and it has none" in e.message for e in _errors(text))


def test_a_reserve_covering_losses_needs_a_loss_order():
    text = (DEALS_DIR / "sequential.waterfall").read_text().replace(
        "waterfall {", "waterfall {\n  reserve account: initial 1,000,000; covers losses", 1)
    assert any("the reserve covers losses" in e.message for e in _errors(text))


def test_a_bad_deal_exits_1_with_a_positioned_message(tmp_path, capsys):
    from structurer.cli import main

    path = tmp_path / "he.waterfall"
    path.write_text(HE.replace("release to R", "release to M1"))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "which is not the residual" in err and "he.waterfall:" in err and "^" in err


def test_a_grouped_deal_cannot_have_oc_yet():
    from test_group_credit import GROUP1, credit_deal

    text = credit_deal(group1=GROUP1.replace("losses: write down B1, M1, A1",
                                             "losses: write down B1, M1, A1\n    overcollateralization: "
                                             "target 1% of original balance"))
    errors = _errors(text)
    assert any("not supported in a deal with collateral groups" in e.message and e.span for e in errors)


# ---- the engine ------------------------------------------------------------------------------

def test_turbo_builds_the_oc_to_its_target_then_release_holds_it_there(deal):
    got = deal.run("200 PSA")
    e = got.enhancement()
    oc, target, turbo, release = e["oc_amount"][0], e["oc_target"][0], e["turbo"][0], e["oc_release"][0]
    assert oc[0] == pytest.approx(12_500_000 + turbo[0])
    # Before the step-down the target is 3.1% of the original balance, reached by turbo alone.
    assert np.allclose(target[:36], 15_500_000)
    assert turbo[:36].sum() == pytest.approx(3_000_000, rel=1e-9)
    assert np.allclose(oc[3:36], 15_500_000, rtol=1e-9)
    assert release[:36].max() < 1e-6
    # After it: the lesser of 3.1% of the original and 6.2% of the current, not below 0.5% of the
    # original; the OC is held at it by releases while classes are outstanding.
    coll = got.collateral.ending_balance[0]
    expect = np.maximum(np.minimum(15_500_000, 0.062 * coll), 2_500_000)
    assert np.allclose(target[36:], expect[36:], rtol=1e-12)
    live = (coll - oc) > 1.0
    assert release[live].sum() > 5e6
    assert np.allclose(oc[36:][live[36:]], target[36:][live[36:]], rtol=1e-9)
    # The residual's principal is the release while classes are outstanding.
    assert np.allclose(got.flows.residual_principal[0][live], release[live], atol=1e-6)


def test_losses_hit_the_oc_before_any_class(deal):
    got = deal.run(_scenario("200 PSA", "200 SDA severity 40% lag 12"))
    lost = got.collateral.losses[0]
    assert lost.sum() > 5e6
    assert got.writedowns().sum() == 0.0
    assert np.allclose(got.enhancement()["oc_absorbed"][0], lost, rtol=1e-12, atol=1e-9)


def test_losses_beyond_the_oc_write_down_the_junior_class_then_the_reserve_pays(deal):
    got = deal.run(_scenario("100 PSA", "1200 SDA severity 60% lag 12"))
    e = got.enhancement()
    wd = got.writedowns()[0].sum(axis=1)
    b, m2 = deal.tranche("B").index, deal.tranche("M2").index
    assert wd[b] > 1e6 and wd[[c.index for c in deal.classes if c.index not in (b, m2)]].sum() == 0.0
    assert e["reserve_loss_draw"][0].sum() == pytest.approx(2_500_000)
    # The losses balance: write-downs + what the OC (excess interest, the reserve) took.
    lost = got.collateral.losses[0]
    assert np.allclose(lost, got.writedowns()[0].sum(axis=0) + got.flows.unallocated_loss[0]
                       + e["oc_absorbed"][0], rtol=1e-9, atol=1e-6)
    # While a class is written down, the OC is nil; it never goes negative.
    assert e["oc_amount"][0].min() >= -TOL
    assert np.all(np.abs(e["oc_amount"][0][got.writedowns()[0].sum(axis=0) > 0]) <= TOL)


def _books(got, deal) -> tuple[np.ndarray, np.ndarray]:
    """Each period's cash in (the collateral's, and the reserve's deposit at closing) and cash out
    (classes, residual, the reserve's change), [scenario, period]."""
    f, coll = got.flows, got.collateral
    cash_f = np.array([c.holds_cash for c in deal.classes], dtype=float)
    rb = got.reimbursements()
    out = np.einsum("c,scp->sp", cash_f, f.interest + f.principal + rb)
    out = out + f.residual_interest + f.residual_principal
    cash_in = coll.interest + coll.principal
    e = got.enhancement()
    if "reserve_balance" in e:
        held = e["reserve_balance"]
        out = out + np.diff(held, axis=1, prepend=0.0)
        cash_in = cash_in.copy()
        cash_in[:, 0] += deal.reserve.initial
    return cash_in, out


def test_the_books_balance_with_the_reserve(deal):
    got = deal.run(*deal.scenarios.values(), "0 PSA", "400 PSA")
    cash_in, out = _books(got, deal)
    assert np.all(np.abs(out - cash_in) <= 1e-6 * np.maximum(cash_in, 1.0))
    held = got.enhancement()["reserve_balance"]
    assert held.min() >= 0.0 and np.all(held[:, -1] == 0.0)


def test_the_reserve_pays_interest_shortfalls():
    # SS-01 (coupons equal to the collateral's net) with a reserve and no servicer advancing: the
    # delinquent loans' interest is missed, and the reserve pays it until it runs out.
    text = (DEALS_DIR / "senior_sub.waterfall").read_text()
    with_reserve = text.replace("losses: write down B, M, A", "losses: write down B, M, A\n"
                                "  reserve account: initial 3,000,000; covers interest shortfalls")
    stress = _scenario("10 CPR", "600 SDA severity 40% lag 12 advance off")
    plain, got = build_deal(text).run(stress), build_deal(with_reserve).run(stress)
    drawn = got.enhancement()["reserve_interest_draw"][0]
    assert drawn.sum() == pytest.approx(3_000_000)
    paid_more = got.flows.interest[0].sum() - plain.flows.interest[0].sum()
    assert paid_more == pytest.approx(3_000_000, rel=1e-9)
    assert got.flows.shortfall[0].sum() < plain.flows.shortfall[0].sum()


def test_the_kernel_and_the_interpreter_agree(deal, monkeypatch):
    scenarios = [*deal.scenarios.values(), _scenario("0 PSA"), _scenario("800 PSA"), _scenario("30 CPR"),
                 _scenario("25 CPR", "8 CDR severity 70% lag 6 delinquency 15%")]
    kernel = deal.run(*scenarios)
    assert type(kernel.flows.source).__name__ == "LeanClassFlows"  # the compiled kernel ran
    monkeypatch.setenv("STRUCTURER_ENGINE", "numpy")
    numpy = deal.run(*scenarios)
    assert numpy.flows.source is None
    for name, value in kernel.enhancement().items():
        np.testing.assert_allclose(value, numpy.enhancement()[name], rtol=1e-9, atol=1e-6, err_msg=name)
    for name in ("interest", "principal", "ending_balance", "residual_interest", "residual_principal",
                 "writedown", "reimbursed"):
        np.testing.assert_allclose(getattr(kernel.flows, name), getattr(numpy.flows, name), rtol=1e-9,
                                   atol=1e-6, err_msg=name)


def test_a_trigger_failing_holds_the_step_down(deal):
    calm = deal.run("200 PSA")
    stress = deal.run(_scenario("200 PSA", "0 SDA delinquency 12%"))  # the delinquency trigger fails
    assert calm.enhancement()["oc_target"][0, 150] < 15_500_000
    assert np.allclose(stress.enhancement()["oc_target"][0], 15_500_000)
    assert stress.enhancement()["oc_trigger_failing"][0].min() == 1.0
    assert calm.enhancement()["oc_trigger_failing"][0].max() == 0.0
    entry = stress.to_dict()["scenarios"][0]["collateral"]["overcollateralization"]
    assert entry["trigger_failing_periods"] == [[1, stress.periods]]


# ---- results ---------------------------------------------------------------------------------

def test_results_json_csv_and_report(deal, tmp_path):
    got = deal.run(_scenario("200 PSA", "400 SDA severity 50% lag 12"))
    entry = json.loads(json.dumps(got.to_dict()))["scenarios"][0]["collateral"]
    oc, reserve = entry["overcollateralization"], entry["reserve"]
    e = got.enhancement()
    assert oc["initial"] == pytest.approx(12_500_000)
    assert oc["turbo"] == pytest.approx(e["turbo"][0].sum())
    assert oc["losses_absorbed"] == pytest.approx(got.collateral.losses[0].sum())
    assert reserve["initial"] == 2_500_000 and reserve["released"] == pytest.approx(2_500_000)
    rows = got.cashflows().query("`class` == 'COLLATERAL'")
    assert np.allclose(rows["oc_amount"], e["oc_amount"][0])
    assert np.allclose(rows["reserve_balance"], e["reserve_balance"][0])
    frame = got.enhancement_frame(0)
    assert list(frame.columns[2:]) == list(e)

    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    plan = report_plan(got)
    years = dict(plan.credit.enhancement_years)
    assert years["OC amount"][0] == pytest.approx(e["oc_amount"][0, 11])
    assert years["Turbo (excess interest paid as principal)"][0] == pytest.approx(e["turbo"][0, :12].sum())
    section = render(plan).split('id="credit"')[1].split("</section>")[0]
    assert "Overcollateralization and reserve account" in section and "OC released" in section


def test_the_terminal_prints_the_enhancement_table(tmp_path, capsys, monkeypatch):
    from structurer.cli import main

    monkeypatch.setenv("COLUMNS", "240")
    path = tmp_path / "he.waterfall"
    path.write_text(HE)
    assert main(["run", str(path), "--no-report", "--scenario", "200 PSA 400 SDA"]) == 0
    out = capsys.readouterr().out
    assert "Credit enhancement over the life" in out and "12,500,000" in out


def test_credit_enhancement_counts_the_oc(deal):
    got = deal.run("200 PSA")
    b = deal.tranche("B").index
    ce = got.credit_enhancement()[0, b]
    e = got.enhancement()
    assert ce[0] == pytest.approx(e["oc_amount"][0, 0] / got.collateral.ending_balance[0, 0])


# ---- invariants ------------------------------------------------------------------------------

DEAL = build_deal(HE)
SPEEDS = st.one_of(st.floats(0, 1000).map(lambda v: f"{v:.1f} PSA"),
                   st.floats(0, 100).map(lambda v: f"{v:.2f} CPR"))
DEFAULTS = st.one_of(st.none(), st.tuples(st.one_of(st.floats(0, 3000).map(lambda v: f"{v:.0f} SDA"),
                                                   st.floats(0, 40).map(lambda v: f"{v:.2f} CDR")),
                                         st.floats(0, 100), st.integers(0, 24), st.floats(0, 20))
                     .map(lambda d: f"{d[0]} severity {d[1]:.1f}% lag {d[2]} delinquency {d[3]:.1f}%"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(speed=SPEEDS, defaults=DEFAULTS)
def test_enhancement_invariants(speed, defaults, monkeypatch):
    scenario = _scenario(speed, defaults)
    got = DEAL.run(scenario)
    f, e = got.flows, got.enhancement()
    cash_in, out = _books(got, DEAL)
    # Cash conserved every period, the reserve's deposit at closing and its changes counted.
    assert np.all(np.abs(out - cash_in) <= 1e-6 * np.maximum(cash_in, 1.0))
    # Losses conserved: write-downs + what the OC took + what no class could absorb.
    if got.is_credit:
        lost = got.collateral.losses[0]
        taken = got.writedowns()[0].sum(axis=0) + f.unallocated_loss[0] + e["oc_absorbed"][0]
        assert np.all(np.abs(taken - lost) <= 1e-6 * np.maximum(lost, 1.0))
    # Nothing negative: balances, OC, the reserve, the flows.
    assert f.ending_balance.min() >= -TOL and e["oc_amount"].min() >= -TOL
    for name in ("reserve_balance", "turbo", "oc_release", "reserve_deposit", "reserve_interest_draw",
                 "reserve_loss_draw", "reserve_release"):
        assert e[name].min() >= -TOL, name
    # Every class retires.
    assert np.all(f.ending_balance[0, :, -1] <= TOL)
    # After the release the OC is not above its target, unless there was not principal enough to
    # release (the release was all of it) or the classes are retired.
    coll = got.collateral.ending_balance[0]
    live = coll - e["oc_amount"][0] > TOL
    principal = got.collateral.principal[0]
    over = e["oc_amount"][0] > e["oc_target"][0] * (1 + 1e-9) + TOL
    assert not np.any(over & live & (e["oc_release"][0] < principal - TOL))
    # The kernel and the interpreter pay the same.
    assert type(f.source).__name__ == "LeanClassFlows"
    with monkeypatch.context() as m:
        m.setenv("STRUCTURER_ENGINE", "numpy")
        other = DEAL.run(scenario)
    for name, value in e.items():
        np.testing.assert_allclose(value, other.enhancement()[name], rtol=1e-9, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(f.principal, other.flows.principal, rtol=1e-9, atol=1e-6)
