"""Shifting interest (model/rules/shifting.py): the senior percentage of scheduled principal, the
senior prepayment percentage of prepayments and recoveries with its step-down, the triggers that
stop the step-down, their status in results, and the deal language's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal, run_on_interpreter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_credit import assert_credit_invariants

import structurer
from structurer.cli import main
from structurer.engine.compiled import compiled
from structurer.errors import DealErrors, InputError
from structurer.model.defaults import (
    DefaultAssumption,
    DefaultRate,
    Delinquency,
    Severity,
    parse_defaults,
    parse_delinquency,
)
from structurer.model.prepayment import Prepayment
from structurer.model.rules.shifting import ShiftingInterest, schedule_path
from structurer.model.scenarios import Scenario

PRIVATE_LABEL = DEALS_DIR / "private_label.waterfall"
TEXT = PRIVATE_LABEL.read_text()
SENIOR = ["A"]
SUBORDINATE = ["M1", "M2", "M3", "B1", "B2", "B3"]
ATOL = 1e-4


@pytest.fixture(scope="module")
def deal():
    return structurer.load(PRIVATE_LABEL)


def _rule(deal) -> ShiftingInterest:
    return next(n for n in deal.principal.walk() if isinstance(n, ShiftingInterest))


def _idx(deal, names):
    return [deal.tranche(n).index for n in names]


def _scenario(cpr: float, cdr: float = 0.0, severity: float = 0.0, lag: int = 0,
              delinquency: float | None = None) -> Scenario:
    return Scenario(Prepayment.constant(cpr, "CPR"), defaults=DefaultAssumption(
        DefaultRate.constant(cdr, "CDR"), Severity.constant(severity), lag=lag,
        delinquency=Delinquency.constant(delinquency) if delinquency is not None else None))


# ---- the schedule and the rule as compiled


def test_the_senior_prepayment_percentage_steps_down_by_year(deal):
    rule = _rule(deal)
    want = np.zeros(deal.periods)
    want[:60] = 1.0
    for k, pct in enumerate((0.7, 0.6, 0.4, 0.2)):
        want[60 + 12 * k:72 + 12 * k] = pct
    assert np.array_equal(rule.percentage, want)
    assert rule.stepdown == 60
    assert rule.triggers == ("loss", "delinquency", "support")
    assert rule.loss_limit[71] == pytest.approx(0.024) and rule.loss_limit[72] == pytest.approx(0.028)
    assert rule.loss_limit[120] == pytest.approx(0.04)
    assert rule.delinquency_limit.max() == rule.delinquency_limit.min() == pytest.approx(0.04)
    assert rule.senior_original == 368e6 and rule.subordinate_original == 32e6


def test_schedule_path_without_by_year_holds_its_one_step():
    assert schedule_path(1.0, 3, (0.5,), False, None, 6).tolist() == [1, 1, 1, 0.5, 0.5, 0.5]
    assert schedule_path(0.3, None, (), False, None, 3).tolist() == [0.3, 0.3, 0.3]


def test_the_kernel_agrees_with_the_interpreter(deal, monkeypatch):
    assert compiled(deal) is not None
    runs = ["300 PSA", *deal.scenarios.values(), _scenario(8, cdr=4, severity=60, lag=3, delinquency=4.5)]
    kernel = deal.run(*runs)
    assert kernel.flows.source is not None  # the kernel's lean flows
    monkeypatch.setenv("STRUCTURER_ENGINE", "numpy")
    numpy = deal.run(*runs)
    assert numpy.flows.source is None
    for name in ("principal", "interest", "ending_balance", "writedown", "shortfall"):
        got, want = getattr(kernel.flows, name), getattr(numpy.flows, name)
        assert np.allclose(got, want, rtol=1e-12, atol=1e-6), name
    for name, values in kernel.trigger_arrays().items():
        assert np.array_equal(values, numpy.trigger_arrays()[name]), name


# ---- the allocation


def _split(deal, r):
    """Per [scenario, period]: senior and subordinate principal, senior percentage, scheduled and
    unscheduled principal."""
    f, coll = r.flows, r.collateral
    sen, sub = _idx(deal, SENIOR), _idx(deal, SUBORDINATE)
    senior_begin = f.beginning_balance[:, sen, :].sum(axis=1)
    pct = np.minimum(senior_begin / coll.beginning_balance, 1.0)
    unscheduled = coll.prepayment + getattr(coll, "recoveries", 0.0)
    return (f.principal[:, sen, :].sum(axis=1), f.principal[:, sub, :].sum(axis=1), pct,
            coll.principal - unscheduled, unscheduled, f.ending_balance[:, sen, :].sum(axis=1))


def test_before_the_step_down_the_subordinates_get_no_prepayments(deal):
    r = deal.run("300 PSA", "500 PSA")
    senior, sub, pct, scheduled, unscheduled, _ = _split(deal, r)
    assert unscheduled[:, :60].min() > 0
    assert np.allclose(sub[:, :60], (1 - pct[:, :60]) * scheduled[:, :60], rtol=1e-9, atol=ATOL)
    assert np.allclose(senior[:, :60], pct[:, :60] * scheduled[:, :60] + unscheduled[:, :60],
                       rtol=1e-9, atol=ATOL)


def test_after_the_step_down_the_seniors_take_the_percentage(deal):
    r = deal.run("300 PSA")
    senior, sub, pct, scheduled, unscheduled, _ = _split(deal, r)
    table = r.trigger_arrays()
    spp = table["senior prepayment percentage"][0]
    passing = ~(table["cumulative loss"] | table["delinquency"] | table["credit support"])[0]
    t = np.arange(deal.periods)
    year6 = (t >= 60) & (t < 72) & passing
    assert year6.any()  # the step-down happens in some months, and takes 70% there
    assert np.allclose(spp[year6], 0.7)
    want = pct[0] * scheduled[0] + spp * unscheduled[0]
    assert np.allclose(senior[0][year6], want[year6], rtol=1e-9, atol=ATOL)
    # Whenever credit support fell below its original 8%, the seniors took every prepayment.
    failing = table["credit support"][0] & (r.flows.ending_balance[0, 0] > ATOL)
    assert failing.any()
    assert np.allclose(sub[0][failing], ((1 - pct[0]) * scheduled[0])[failing], rtol=1e-9, atol=ATOL)


def test_a_failing_delinquency_trigger_keeps_the_seniors_at_100_percent(deal):
    r = deal.run(_scenario(20, delinquency=5.0), _scenario(20, delinquency=3.0))
    senior, sub, pct, scheduled, unscheduled, senior_end = _split(deal, r)
    table = r.trigger_arrays()
    assert table["delinquency"][0].all() and not table["delinquency"][1].any()
    live = senior_end[0] > ATOL
    assert np.allclose(sub[0][live], ((1 - pct[0]) * scheduled[0])[live], rtol=1e-9, atol=ATOL)
    assert (table["senior prepayment percentage"][0] == 1.0).all()
    # At 3% the test passes: the subordinates share prepayments after month 60.
    assert (sub[1, 60:] > ((1 - pct[1]) * scheduled[1])[60:] + 1.0).any()


def test_a_cumulative_loss_trigger_fails_on_losses_before_the_period(deal):
    r = deal.run(_scenario(10, cdr=3.0, severity=50, lag=6))
    table = r.trigger_arrays()
    loss = np.concatenate([[0.0], np.cumsum(r.collateral.losses[0])[:-1]]) / 400e6
    rule = _rule(deal)
    assert np.array_equal(table["cumulative loss"][0], loss > rule.loss_limit)
    assert table["cumulative loss"][0].any()


def test_once_the_seniors_retire_all_principal_goes_to_the_subordinates(deal):
    r = deal.run("500 PSA")
    senior, sub, _, _, _, senior_end = _split(deal, r)
    coll = r.collateral.principal[0]
    retired = np.flatnonzero(senior_end[0] <= ATOL)
    assert retired.size
    after = retired[retired > retired[0]]
    assert np.allclose(sub[0][after], coll[after], rtol=1e-9, atol=ATOL)
    assert r.flows.residual_principal.max() < 1e-6


# ---- invariants (hypothesis) over speeds, default rates, severities, lags, delinquency


shifting_scenarios = st.builds(
    _scenario, st.floats(0, 60), st.floats(0, 20), st.floats(0, 100), st.integers(0, 18),
    st.one_of(st.none(), st.floats(0, 10)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(shifting_scenarios, min_size=1, max_size=3))
def test_invariants(deal, scenarios):
    r = deal.run(*scenarios)
    # Collateral principal = class principal + write-downs' counterpart + residual; interest and
    # losses conserved; no class written down while a more junior one has a balance; nothing negative.
    assert_credit_invariants(deal, r)
    senior, sub, pct, scheduled, unscheduled, senior_end = _split(deal, r)
    table = r.trigger_arrays()
    failing = table["cumulative loss"] | table["delinquency"] | table["credit support"]
    held = failing.copy()
    held[:, :_rule(deal).stepdown] = True
    # Before the step-down, or while a trigger fails, the subordinates get no prepayments or
    # recoveries: only their share of scheduled principal (while the seniors still hold a balance).
    sub_begin = r.flows.beginning_balance[:, _idx(deal, SUBORDINATE), :].sum(axis=1)
    due = np.minimum((1 - pct) * scheduled, sub_begin)
    live = held & (senior_end > ATOL)
    assert np.allclose(sub[live], due[live], rtol=1e-9, atol=ATOL)
    # The seniors never get less than their share, whatever the triggers say.
    spp = table["senior prepayment percentage"]
    senior_begin = r.flows.beginning_balance[:, _idx(deal, SENIOR), :].sum(axis=1)
    owed = np.minimum(pct * scheduled + spp * unscheduled, senior_begin)
    assert (senior >= owed - ATOL - 1e-9 * owed).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(shifting_scenarios, min_size=1, max_size=3))
def test_kernel_and_interpreter_agree_on_random_scenarios(deal, scenarios):
    kernel = deal.run(*scenarios)
    numpy = run_on_interpreter(deal, *scenarios)
    for name in ("principal", "writedown", "ending_balance"):
        got, want = getattr(kernel.flows, name), getattr(numpy.flows, name)
        assert np.allclose(got, want, rtol=1e-12, atol=1e-6), name
    for name, values in kernel.trigger_arrays().items():
        assert np.array_equal(values, numpy.trigger_arrays()[name]), name


# ---- results


def test_trigger_status_in_results_json_and_csv(deal, tmp_path):
    r = deal.run(deal.scenarios["300 PSA 0 SDA, 5% delinquent"], deal.scenarios["300 PSA 200 SDA"])
    frame = r.triggers(0)
    assert set(frame["delinquency"]) == {"fail"}
    assert (frame["senior prepayment percentage"] == 100.0).all()
    out = r.to_dict()["scenarios"]
    assert out[0]["triggers"]["failing_periods"]["delinquency"] == [[1, deal.periods]]
    assert out[0]["triggers"]["first_step_down_period"] is None
    assert out[1]["triggers"]["first_step_down_period"] == 61
    coll = r.collateral_cashflows(1)
    assert coll["senior_prepayment_pct"].iloc[60] == pytest.approx(70.0)
    long = r.cashflows()
    rows = long[long["class"] == "COLLATERAL"]
    assert set(rows["trigger_delinquency"]) <= {"pass", "fail"}
    assert set(long[long["class"] != "COLLATERAL"]["trigger_delinquency"]) == {""}
    # A deal without shifting interest has no trigger columns.
    plain = structurer.load(DEALS_DIR / "senior_sub.waterfall").run("15 CPR")
    assert "triggers" not in plain.to_dict()["scenarios"][0]
    assert r.triggers(0).shape[0] == deal.periods and plain.triggers(0).empty


def test_credit_enhancement_over_time(deal):
    r = deal.run("300 PSA")
    ce = r.credit_enhancement()
    a, b3 = deal.tranche("A").index, deal.tranche("B3").index
    assert ce[0, b3, 0] == 0.0
    end = r.flows.ending_balance[0]
    live = r.collateral.ending_balance[0] > 0
    want = end[_idx(deal, SUBORDINATE)].sum(axis=0)[live] / r.collateral.ending_balance[0][live]
    assert np.allclose(ce[0, a][live], want)


def test_cli_delinquency_and_json(capsys):
    code = main(["run", str(PRIVATE_LABEL), "--json", "--psa", "300", "--sda", "0", "--delinquency", "5"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)["scenarios"][0]
    assert "delinquency 5%" in out["name"]
    assert out["triggers"]["failing_periods"]["delinquency"] == [[1, 358]]
    assert main(["run", str(PRIVATE_LABEL), "--no-report", "--delinquency", "5"]) == 2
    assert main(["run", str(PRIVATE_LABEL), "--no-report", "--sda", "0", "--delinquency", "120"]) == 2


def test_delinquency_text():
    assert parse_delinquency("3%") == Delinquency.constant(3)
    assert parse_delinquency("vector(1, 2, 4%)").fractions(5).tolist() == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert parse_defaults("100 SDA delinquency 2%").delinquency == Delinquency.constant(2)
    with pytest.raises(InputError, match="not a share of the balance"):
        parse_delinquency("120%")


# ---- the deal language's errors, positioned


def _errors(text: str) -> list[str]:
    with pytest.raises(DealErrors) as info:
        build_deal(text)
    return [f"{e.span.line}:{e.span.column} {e.message}" for e in info.value.errors]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(("old", "new", "want"), [
    ("senior A\n", "senior X\n", "unknown class 'X'"),
    ("subordinate M1,", "subordinate M9,", "unknown class 'M9'"),
    ("subordinate M1,", "subordinate A,", "class A appears twice in one principal rule"),
    ("then 70% 60%", "then 70 PSA 60%", "a senior prepayment percentage is a percentage, not 'PSA'"),
    ("then 70% 60%", "then 70 60%", "a senior prepayment percentage is a percentage, not a bare number"),
    ("above 2.4%", "above 240%", "a cumulative loss limit of 240% is not between 0% and 100%"),
    ("above 4%\n", "above 4 CPR\n", "a delinquency limit is a percentage, not 'CPR'"),
    ("20% by year, then 0%", "20%, 0%", "a senior prepayment percentage lists 5 percentages"),
    ("percentage 100% until", "percentage 90% until", "before the step-down date the seniors take every"),
    ("until month 60,", "until month 400,", "month 400 is after the deal's last payment"),
    ("trigger delinquency above 4%\n", "trigger delinquency above 4%\n trigger delinquency above 5%\n",
     "the delinquency trigger is given twice"),
])
def test_bad_shifting_input_is_positioned(old, new, want):
    text = TEXT.replace(old, new, 1)
    assert text != TEXT
    got = _errors(text)
    assert any(want in g for g in got), got
    # Every message points into the shifting-interest rule.
    first = _line_of(text, "pay principal shifting interest")
    assert all(first <= int(g.split(":")[0]) <= first + 8 for g in got), got


def test_a_missing_percentage_and_a_bad_scenario_delinquency():
    text = TEXT.replace("      senior prepayment percentage 100% until month 60, then 70% 60% 40% 20% "
                        "by year, then 0%\n", "")
    assert any("needs its senior prepayment percentage" in g for g in _errors(text))
    text = TEXT.replace("delinquency 5%", "delinquency 105%")
    line = _line_of(text, "delinquency 105%")
    got = _errors(text)
    assert any(g.startswith(f"{line}:") and "not a share of the balance" in g for g in got), got
    text = TEXT.replace("delinquency 5%", "delinquency 5 bp")
    assert any("a delinquency is a percentage of the balance, not 'bp'" in g for g in _errors(text))


# ---- the report's Credit section


def test_the_report_has_a_credit_section(deal):
    import re

    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    grid = [deal.scenarios[n] for n in ("300 PSA 600 SDA", "300 PSA 0 SDA, 5% delinquent")]
    r = deal.run("300 PSA defaults 0 SDA", *grid)
    plan = report_plan(r)
    credit = plan.credit
    assert credit.classes == ("B3", "B2", "B1", "M3", "M2", "M1", "A")
    # Loss by class: the write-downs, which add up to the collateral's loss.
    assert np.allclose(credit.writedown.sum(axis=0), credit.collateral_loss)
    assert credit.writedown[0, 1] > 0 and credit.writedown[:, 0].sum() == 0
    # Yields at par: a class that loses principal yields less than in the clean scenario.
    assert credit.prices["B3"] == 100.0
    assert credit.yields[0, 1] < credit.yields[0, 0]
    assert credit.yields[-1, 0] == pytest.approx(credit.yields[-1, 2], abs=5e-4)
    # The triggers' timeline: the delinquency trigger fails every month of every year.
    d = credit.triggers.index("delinquency")
    assert (credit.timeline[2, d, :-1] == 12).all() and credit.first_step_down[2] is None
    assert credit.first_step_down[0] == 61
    html = render(plan)
    section = html[html.index('id="credit"'):html.index('id="decrement"')]
    assert '<a href="#credit">Credit</a>' in html
    assert "2,9" in section and "Shifting-interest triggers" in section and 'style="--bar: ' in section
    assert re.search(r'data-trigger="delinquency"><th scope="row">delinquency</th>'
                     r'<td class="num fail">12', section)
    # A deal without defaults or shifting interest has no Credit section.
    plain = structurer.load(DEALS_DIR / "sequential.waterfall")
    assert report_plan(plain.run("165 PSA")).credit is None


# ---- the break default rate (structuring/credit.py)


def test_break_rate_is_the_first_dollar_of_loss(deal):
    from structurer.structuring.credit import GRID, break_default

    got = break_default(deal, "M1", "SDA", severity=40, lag=12)
    assert got.converged and got.iterations == 4
    lo, hi = got.details["holds_at"], got.value
    assert 0 < hi - lo <= 5000 / (GRID - 1) ** 4 * 1.0001
    speed = deal.pricing.prepayment

    def m1_loss(rate: float) -> float:
        assumption = DefaultAssumption(DefaultRate.constant(rate, "SDA"), Severity.constant(40), lag=12)
        s = Scenario(speed, defaults=assumption)
        return float(deal.run(s).writedowns()[0, deal.tranche("M1").index].sum())

    assert m1_loss(lo) < 1.0 <= m1_loss(hi)
    # The senior breaks later than the mezzanine; the first-loss class at almost any defaults.
    assert break_default(deal, "A", "SDA", severity=40, lag=12).value > hi
    assert break_default(deal, "B3", "SDA", severity=40, lag=12).value < 0.01
    # A zero yield needs more defaults than a first dollar of loss.
    assert break_default(deal, "M1", "SDA", severity=40, lag=12, criterion="yield").value > hi


def test_break_rate_errors_and_cli(deal, capsys):
    from structurer.structuring.credit import break_default

    with pytest.raises(InputError, match="needs a loss severity"):
        break_default(deal, "M1")
    with pytest.raises(InputError, match="no principal to lose"):
        break_default(deal, "R", severity=40)
    assert not break_default(deal, "A", "SDA", severity=1, upper=200).converged
    assert main(["solve", str(PRIVATE_LABEL), "--break", "M1", "--severity", "40", "--lag", "12",
                 "--unit", "CDR"]) == 0
    assert "class M1 breaks at" in capsys.readouterr().out
    assert main(["solve", str(PRIVATE_LABEL), "--break", "M9", "--severity", "40"]) == 2


def test_a_plain_report_shows_the_deals_default_scenarios(deal):
    """`structure DEAL` runs the pricing speed, which has no defaults: the Credit section then runs
    the scenarios the deal names with a default assumption, and says so."""
    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    r = deal.run(deal.pricing)
    assert not r.is_credit
    plan = report_plan(r)
    credit = plan.credit
    named = [n for n, sc in deal.scenarios.items() if sc.defaults is not None]
    assert credit.run is not r and credit.run.scenarios == named
    stressed = deal.run(*[deal.scenarios[n] for n in named])
    assert np.allclose(credit.writedown.sum(axis=0), stressed.writedowns().sum(axis=(1, 2)))
    assert credit.writedown.sum() > 0
    section = render(plan).split('id="credit"')[1].split("</section>")[0]
    assert "the report&rsquo;s own run has no defaults" in section
    assert all(n.replace("%", "") in section.replace("%", "") for n in named)
