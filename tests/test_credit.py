"""Credit runs: default assumptions in scenarios and on the command line, the collateral under
defaults feeding the waterfall, and realized losses written down in the deal's loss order."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structurer
from structurer.cli import main
from structurer.engine.collateral import collateral_flows
from structurer.engine.credit import credit_collateral, write_down
from structurer.engine.defaults import default_flows
from structurer.engine.prepayment import smm_matrix
from structurer.errors import DealErrors, InputError
from structurer.model.defaults import DefaultAssumption, DefaultRate, Severity, parse_defaults
from structurer.model.prepayment import Prepayment, parse_speed
from structurer.model.scenarios import Scenario

SEQUENTIAL = (DEALS_DIR / "sequential.waterfall").read_text()
SEQUENTIAL_LOSSES = SEQUENTIAL.replace("  principal {", "  losses: write down D, C, B, A\n  principal {")
SENIOR_SUB = DEALS_DIR / "senior_sub.waterfall"


def _credit(prepay: str, defaults: str) -> Scenario:
    return Scenario(parse_speed(prepay), defaults=parse_defaults(defaults))


@pytest.fixture(scope="module")
def sequential():
    return build_deal(SEQUENTIAL_LOSSES)


@pytest.fixture(scope="module")
def senior_sub():
    return structurer.load(SENIOR_SUB)


# ---- the collateral


def test_zero_defaults_keep_todays_collateral_to_the_bit(sequential):
    pools = sequential.pools
    smm = smm_matrix([parse_speed("165 PSA"), parse_speed("300 PSA")], np.array([3.0]), sequential.periods)
    plain = collateral_flows(pools, smm)
    zero = DefaultAssumption(DefaultRate.constant(0.0, "SDA"), Severity.constant(40), lag=6)
    got = credit_collateral(pools, smm, [None, zero])
    for name in ("beginning_balance", "interest", "scheduled_principal", "prepayment", "ending_balance",
                 "servicing_fee"):
        assert np.array_equal(getattr(got, name), getattr(plain, name)), name
    assert np.array_equal(got.principal, plain.principal)
    assert not got.losses.any() and not got.recoveries.any()


def test_credit_collateral_reads_default_flows(sequential):
    pools = sequential.pools
    smm = smm_matrix([parse_speed("165 PSA"), parse_speed("150 PSA")], np.array([3.0]), sequential.periods)
    stress = parse_defaults("300 SDA severity 40% lag 12 advance off")
    got = credit_collateral(pools, smm, [None, stress])
    want = default_flows(pools, smm[1:], [stress])
    assert np.array_equal(got.losses[1], want.losses[0])
    assert np.array_equal(got.recoveries[1], want.recoveries[0])
    assert np.allclose(got.principal[1], want.principal[0], rtol=1e-12)
    assert np.array_equal(got.interest[1], want.interest[0])
    # The collateral balance falls by the principal passed through plus the losses.
    fall = got.beginning_balance - got.ending_balance
    assert np.allclose(fall, got.principal + got.losses, rtol=1e-9, atol=1e-6)


def test_a_mixed_run_leaves_the_scenarios_without_defaults_as_they_were(sequential, monkeypatch):
    monkeypatch.setenv("STRUCTURER_ENGINE", "numpy")
    # Against a run of as many scenarios (the interpreter's sums over classes are matrix products,
    # whose rounding may depend on the number of columns).
    alone = sequential.run("165 PSA", "300 PSA")
    mixed = sequential.run(Scenario(parse_speed("165 PSA")), _credit("165 PSA", "200 SDA severity 40% lag 6"))
    for name in ("interest", "principal", "ending_balance", "shortfall"):
        assert np.array_equal(getattr(mixed.flows, name)[0], getattr(alone.flows, name)[0]), name
    assert not mixed.flows.writedown[0].any()
    assert mixed.flows.writedown[1].sum() > 0


# ---- write-downs


def test_write_down_in_order_and_pro_rata_within_a_tier():
    balance = np.array([[100.0, 100.0], [50.0, 50.0], [30.0, 10.0], [20.0, 0.0]])
    out = np.zeros_like(balance)
    left = write_down(balance, np.array([60.0, 500.0]), [(3,), (2,), (0, 1)], out)
    # Scenario 1: D (20) then C (30) are written off, then A and B share 10 pro rata 2:1.
    assert out[:, 0].tolist() == pytest.approx([20 / 3, 10 / 3, 30.0, 20.0])
    assert balance[:, 0].tolist() == pytest.approx([100 - 20 / 3, 50 - 10 / 3, 0.0, 0.0])
    # Scenario 2: more loss than balance: everything written off, 340 left unabsorbed.
    assert balance[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert left.tolist() == [0.0, 340.0]


def test_losses_hit_the_junior_class_first(senior_sub):
    r = senior_sub.run("15 CPR", *[senior_sub.scenarios[n] for n in ("200 SDA", "1600 SDA")])
    wd = r.flows.writedown.sum(axis=2)  # [scenario, class]
    a, m, b = (senior_sub.tranche(n).index for n in "AMB")
    assert wd[1, b] > 0 and wd[1, m] == 0 and wd[1, a] == 0
    assert wd[2, b] == pytest.approx(20e6) and wd[2, m] == pytest.approx(30e6) and wd[2, a] > 0


def test_without_a_loss_section_losses_are_an_error():
    deal = build_deal(SEQUENTIAL)
    with pytest.raises(InputError, match="has defaults but the waterfall of deal .* says nowhere which "
                                         "classes take losses"):
        deal.run(_credit("165 PSA", "100 SDA severity 30% lag 6"))
    # Defaults that lose nothing need no loss order.
    deal.run(_credit("165 PSA", "100 SDA severity 0% lag 6"))


# ---- the deal language


def _with(scenario_line: str, losses: str | None = "losses: write down D, C, B, A") -> str:
    text = SEQUENTIAL.replace("pricing 165 PSA", scenario_line)
    if losses:
        text = text.replace("  principal {", f"  {losses}\n  principal {{")
    return text


def _errors(text: str) -> list[str]:
    with pytest.raises(DealErrors) as info:
        build_deal(text)
    return [f"{e.span.line}:{e.span.column} {e.message}" for e in info.value.errors]


def test_defaults_on_scenario_lines():
    deal = build_deal(_with('pricing 165 PSA defaults 100 SDA severity 35% lag 12 advance off\n'
                            '  scenario "ramp" 100 PSA defaults 1 CDR ramp to 4 CDR over 24 months '
                            'severity vector(20, 30, 40%)\n'
                            '  scenario "vector" 100 PSA defaults vector(0.5, 1, 2 MDR) lag 3'))
    assert deal.pricing.defaults == DefaultAssumption(DefaultRate.constant(100, "SDA"), Severity.constant(35),
                                                      lag=12, advancing=False)
    assert deal.scenarios["ramp"].defaults == DefaultAssumption(DefaultRate.ramp(1, 4, 24, "CDR"),
                                                                Severity.vector([20, 30, 40]))
    assert deal.scenarios["vector"].defaults.rate == DefaultRate.vector([0.5, 1, 2], "MDR")
    assert deal.scenarios["slow"].defaults is None
    assert deal.losses == ((3,), (2,), (1,), (0,))


def test_loss_order_tiers():
    deal = build_deal(_with("pricing 165 PSA", "losses: write down D, C, then A and B pro rata"))
    assert deal.losses == ((3,), (2,), (0, 1))


def test_a_scenario_with_losses_needs_a_loss_section():
    got = _errors(_with("pricing 165 PSA defaults 100 SDA severity 35% lag 12", losses=None))
    assert got == ["32:19 the pricing scenario has defaults but the waterfall says nowhere which classes "
                   "take losses"]


@pytest.mark.parametrize(("line", "losses", "want"), [
    ("pricing 165 PSA defaults 100 SDA severity 135%", None,
     "33:45 a loss severity of 135% is more than 100%"),
    ("pricing 165 PSA defaults 100 SDA lag 400", None,
     "33:40 a recovery lag of 400 months is longer than the loans' term (360 months)"),
    ("pricing 165 PSA defaults 100 PSA", None, "33:28 a default rate needs its unit"),
    ("pricing 165 PSA defaults 120 CDR", None, "33:28 120 CDR is more than 100%"),
    ("pricing 165 PSA defaults 1 CDR lag 3 lag 4", None, "33:40 'lag' is given twice"),
    ("pricing 165 PSA defaults 1 CDR severity 5 bp", None, "33:43 a loss severity is a percentage"),
    ("pricing 165 PSA", "losses: write down D, X", "23:25 the loss order names class X"),
    ("pricing 165 PSA", "losses: write down D, R", "23:25 class R cannot take losses: it is the residual"),
    ("pricing 165 PSA", "losses: write down D, D", "23:25 class D is named twice"),
    ("pricing 165 PSA", "losses: write down D, (A, B)", "23:25 a loss order names classes"),
])
def test_bad_credit_input_is_positioned(line, losses, want):
    got = _errors(_with(line, losses or "losses: write down D, C, B, A"))
    assert any(g.startswith(want) for g in got), got


def test_accrual_and_notional_classes_cannot_take_losses():
    accrual = (DEALS_DIR / "accrual.waterfall").read_text()
    z = next(line.split()[1] for line in accrual.splitlines()
             if line.startswith("class ") and "Z" in line.split()[2])
    text = accrual.replace("waterfall {", f"waterfall {{\n  losses: write down {z}", 1)
    assert any("cannot take losses: it is an accrual class" in e for e in _errors(text))
    io = (DEALS_DIR / "io_po.waterfall").read_text()
    name = next(line.split()[1] for line in io.splitlines()
                if line.startswith("class ") and ("IO" in line.split()[2] or "NTL" in line.split()[2]))
    text = io.replace("waterfall {", f"waterfall {{\n  losses: write down {name}", 1)
    assert any("cannot take losses: it is a notional class" in e for e in _errors(text))


# ---- the command line


def test_cli_grid_is_every_speed_at_every_rate(capsys):
    code = main(["run", str(SENIOR_SUB), "--json", "--psa", "100,300", "--sda", "0,400",
                 "--severity", "40", "--lag", "12", "--advance", "off"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    labels = [s["name"] for s in out["scenarios"]]
    assert labels == [f"{p} PSA {r} SDA severity 40% lag 12 advance off"
                      for p in (100, 300) for r in (0, 400)]


@pytest.mark.parametrize("args", [
    ["--severity", "30"],
    ["--sda", "100", "--severity", "130"],
    ["--sda", "100", "--lag", "400"],
    ["--sda", "100", "--advance", "maybe"],
    ["--cdr", "1,x"],
    ["--cdr", "100 SDA"],
])
def test_cli_bad_default_options_are_usage_errors(args, capsys):
    assert main(["run", str(SENIOR_SUB), "--no-report", *args]) == 2


def test_cli_losses_without_a_loss_section(capsys):
    code = main(["run", str(DEALS_DIR / "sequential.waterfall"), "--no-report", "--sda", "100",
                 "--severity", "30"])
    assert code == 1
    assert "says nowhere which classes take losses" in capsys.readouterr().err


# ---- invariants over speeds, default rates, severities and lags

ATOL = 1e-4  # dollars: float rounding over 360 periods of balances near 1e8


def assert_credit_invariants(deal, results) -> None:
    coll, f = results.collateral, results.flows
    classes = deal.classes
    cash = np.array([c.holds_cash for c in classes], dtype=float)
    book = np.array([c.on_books for c in classes], dtype=float)
    scale = deal.collateral_balance
    # Cash conserved: collateral cash in = class cash + residual, every period.
    cash_in = coll.interest + coll.principal
    cash_out = (np.einsum("c,scp->sp", cash, f.interest + f.principal) + f.residual_interest
                + f.residual_principal)
    assert np.allclose(cash_in, cash_out, rtol=1e-9, atol=ATOL)
    # Collateral principal = class principal + residual principal, every period.
    assert np.allclose(coll.principal, np.einsum("c,scp->sp", book, f.principal) + f.residual_principal,
                       rtol=1e-9, atol=ATOL)
    # Losses conserved: the collateral's losses are the classes' write-downs (nothing unabsorbed
    # while the classes' balances tie to the collateral's).
    wd = f.writedown
    assert np.allclose(coll.losses, np.einsum("c,scp->sp", book, wd) + f.unallocated_loss, atol=ATOL)
    assert f.unallocated_loss.sum() <= 1e-6 * scale
    # Balances move by principal paid plus write-downs.
    moved = f.beginning_balance - f.ending_balance
    assert np.allclose((moved - f.principal - wd + f.accrued)[:, book > 0], 0.0, atol=ATOL)
    # Nothing negative.
    for name in ("ending_balance", "principal", "interest", "writedown", "shortfall"):
        assert getattr(f, name).min() >= -ATOL, name
    assert f.residual_interest.min() >= -ATOL and f.residual_principal.min() >= -ATOL
    # No class written down while a class earlier in the loss order (a more junior tier) still
    # has a balance; classes of one tier share pro rata.
    for pos, tier in enumerate(deal.losses[1:], start=1):
        earlier = [i for t in deal.losses[:pos] for i in t]
        left = f.ending_balance[:, earlier, :].sum(axis=1)
        for k in tier:
            hit = wd[:, k, :] > ATOL
            assert not (hit & (left > ATOL)).any(), deal.classes[k].name
    # Every balance retires or is written off by the last period.
    assert np.abs(f.ending_balance[:, :, -1]).max() <= ATOL


credit_scenarios = st.builds(
    lambda cpr, cdr, sev, lag, adv: Scenario(
        Prepayment.constant(cpr, "CPR"),
        defaults=DefaultAssumption(DefaultRate.constant(cdr, "CDR"), Severity.constant(sev), lag=lag,
                                   advancing=adv)),
    st.floats(0, 100), st.floats(0, 50), st.floats(0, 100), st.integers(0, 24), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(credit_scenarios, min_size=1, max_size=3))
def test_invariants_sequential(sequential, scenarios):
    assert_credit_invariants(sequential, sequential.run(*scenarios))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(credit_scenarios, min_size=1, max_size=3))
def test_invariants_senior_sub(senior_sub, scenarios):
    assert_credit_invariants(senior_sub, senior_sub.run(*scenarios))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(credit_scenarios, min_size=1, max_size=2))
def test_invariants_pro_rata_tier(sequential, scenarios):
    deal = replace(sequential, losses=((3,), (1, 2), (0,)))
    assert_credit_invariants(deal, deal.run(*scenarios))


@pytest.mark.parametrize("engine", ["compiled", "numpy"])
def test_defaults_are_written_down_on_either_engine(sequential, monkeypatch, engine):
    # The kernel and the interpreter both pay out the collateral under defaults: neither may
    # silently drop the losses.
    monkeypatch.setenv("STRUCTURER_ENGINE", engine)
    r = sequential.run(_credit("165 PSA", "300 SDA severity 40% lag 12"))
    assert (r.flows.source is not None) == (engine == "compiled")  # the kernel's lean flows
    assert r.flows.writedown is not None
    assert r.flows.writedown.sum() == pytest.approx(r.collateral.losses.sum())
    assert r.collateral.losses.sum() > 0


def test_summaries_of_a_credit_grid_agree_with_the_full_run(senior_sub):
    grid = [senior_sub.scenarios[n] for n in ("0 SDA", "400 SDA", "1600 SDA")]
    full = senior_sub.run(*grid)
    summary = senior_sub.summarise(*grid, chunk=2)
    assert np.allclose(summary.collateral["total_principal"], full.collateral.principal.sum(axis=1),
                       rtol=1e-12)
    assert np.allclose(summary.wal[:, 0], full.wal("A"), rtol=1e-12, equal_nan=True)


def test_json_credit_totals(senior_sub, capsys):
    args = ["run", str(SENIOR_SUB), "--json", "--scenario", "1600 SDA", "--scenario", "0 SDA"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    stress, clean = out["scenarios"]
    full = senior_sub.run(senior_sub.scenarios["1600 SDA"])
    assert stress["collateral"]["cumulative_loss"] == pytest.approx(full.collateral.losses.sum())
    assert stress["collateral"]["cumulative_default"] == pytest.approx(full.collateral.new_defaults.sum())
    assert stress["classes"]["B"]["writedown"] == pytest.approx(20e6)
    total = sum(c["writedown"] for c in stress["classes"].values())
    assert total == pytest.approx(full.collateral.losses.sum())
    assert stress["classes"]["A"]["interest_shortfall"] > 0
    assert clean["collateral"]["cumulative_loss"] == 0 and clean["classes"]["B"]["writedown"] == 0


def test_credit_columns_in_the_cash_flow_frames(senior_sub):
    r = senior_sub.run(senior_sub.scenarios["400 SDA"])
    coll = r.collateral_cashflows(0)
    for name in ("new_defaults", "liquidations", "recoveries", "losses", "performing_balance",
                 "delinquent_balance"):
        assert name in coll.columns
    b = r.class_cashflows("B", 0)
    assert b["cumulative_loss"].iloc[-1] == pytest.approx(b["writedown"].sum())
    long = r.cashflows()
    rows = long[long["class"] == "COLLATERAL"]
    assert rows["principal"].sum() == pytest.approx(r.collateral.principal.sum())
    assert long[long["class"] != "COLLATERAL"]["writedown"].sum() == pytest.approx(r.collateral.losses.sum())
    # A run without defaults keeps today's columns.
    assert "writedown" not in senior_sub.run("15 CPR").cashflows().columns


def test_a_speed_text_may_carry_defaults(senior_sub):
    r = senior_sub.run("15 CPR defaults 400 SDA severity 40% lag 12", "100 PSA")
    assert r.scenario_specs[0].defaults == parse_defaults("400 SDA severity 40% lag 12")
    assert r.scenario_specs[1].defaults is None
    with pytest.raises(InputError, match="more than 100%"):
        senior_sub.run("15 CPR defaults 400 SDA severity 140%")


def test_statements_read_the_write_downs(senior_sub):
    r = senior_sub.run(senior_sub.scenarios["800 SDA"])
    statement = structurer.statement(r)
    assert "the run's writedown array" in statement.writedown_source
    b = statement.for_class("B")
    assert sum(line.writedown for line in b) == pytest.approx(20e6)
    assert structurer.statement(senior_sub.run("15 CPR")).writedown_source.startswith("zero")


def test_the_solvers_refuse_a_scenario_with_defaults(senior_sub):
    # The solvers project prepayments only: a credit scenario is refused, never run without its
    # defaults.
    from structurer.structuring import solve

    with pytest.raises(InputError, match="solvers do not model defaults"):
        solve.size_for_wal(senior_sub, "A", "M", 4.0, scenario="400 SDA")
    assert solve.size_for_wal(senior_sub, "A", "M", 4.0).converged  # its plain pricing speed
