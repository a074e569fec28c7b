"""Loss reimbursement: `losses: write down ...; reimburse from excess interest`. Excess interest
pays each class its write-downs not yet reimbursed, most senior first, as cash that does not
reinstate its balance; the books balance with it counted as class cash."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structurer.engine.waterfall import reimburse
from structurer.errors import DealErrors
from structurer.model.defaults import parse_defaults
from structurer.model.prepayment import parse_speed
from structurer.model.scenarios import Scenario

# SS-01 with its classes' coupons below the collateral's net 6.25%: 50bp of excess interest.
BASE = ((DEALS_DIR / "senior_sub.waterfall").read_text()
        .replace("coupon 6.25%    #", "coupon 5.75%    #"))
REIMBURSING = BASE.replace("losses: write down B, M, A",
                           "losses: write down B, M, A; reimburse from excess interest")
PRO_RATA = BASE.replace("losses: write down B, M, A",
                        "losses: write down B, then M and A pro rata; reimburse from excess interest")


@pytest.fixture(scope="module")
def plain():
    return build_deal(BASE)


@pytest.fixture(scope="module")
def deal():
    return build_deal(REIMBURSING)


def _scenario(prepay: float, sda: float, severity: float, lag: int) -> Scenario:
    return Scenario(parse_speed(f"{prepay} CPR"),
                    defaults=parse_defaults(f"{sda} SDA severity {severity}% lag {lag}"))


def test_the_deal_says_it_reimburses(deal, plain):
    assert deal.reimburse_losses and not plain.reimburse_losses
    assert deal.losses == plain.losses


def test_reimbursement_pays_excess_interest_without_reinstating_balances(deal, plain):
    stress = _scenario(15, 300, 40, 12)
    got, before = deal.run(stress), plain.run(stress)
    rb = got.reimbursements()[0]
    b = deal.tranche("B").index
    assert rb[b].sum() > 1e6  # B's losses are paid back out of excess interest
    # The same write-downs, principal and balances: a reimbursement is cash, not balance.
    assert np.allclose(got.writedowns(), before.writedowns(), rtol=0, atol=1e-6)
    assert np.allclose(got.flows.ending_balance, before.flows.ending_balance, rtol=0, atol=1e-6)
    assert np.allclose(got.flows.principal, before.flows.principal, rtol=0, atol=1e-6)
    # It comes out of what the residual had as interest, dollar for dollar.
    taken = before.flows.residual_interest[0] - got.flows.residual_interest[0]
    assert np.allclose(taken, rb.sum(axis=0), rtol=0, atol=1e-6)
    # A run without a loss reimbursement section keeps no such array.
    assert not before.reimburses and got.reimburses


def test_reimbursement_in_the_tables_and_json(deal):
    got = deal.run(_scenario(15, 300, 40, 12))
    b = deal.tranche("B").index
    frame = got.class_cashflows("B")
    assert np.allclose(frame["reimbursed"], got.reimbursements()[0, b])
    assert np.allclose(frame["cash_flow"], frame["interest"] + frame["principal"] + frame["reimbursed"])
    rows = got.cashflows().query("`class` == 'B'")
    assert np.isclose(rows["reimbursed"].sum(), got.reimbursements()[0, b].sum())
    entry = json.loads(json.dumps(got.to_dict()))["scenarios"][0]["classes"]["B"]
    assert entry["reimbursed"] == pytest.approx(got.reimbursements()[0, b].sum())


def test_without_excess_interest_nothing_is_reimbursed():
    # SS-01 as written: every class's coupon is the collateral's net coupon.
    text = (DEALS_DIR / "senior_sub.waterfall").read_text().replace(
        "losses: write down B, M, A", "losses: write down B, M, A; reimburse from excess interest")
    got = build_deal(text).run(_scenario(15, 300, 40, 12))
    assert got.writedowns().sum() > 0
    assert got.reimbursements().sum() == 0.0


def test_most_senior_first_and_pro_rata_by_what_is_owed():
    owed = np.array([[10.0, 10.0], [5.0, 0.0], [3.0, 4.0]])  # [class, scenario]
    out = np.zeros_like(owed)
    # Loss order B (0), then M (1), then A (2): A is repaid first.
    paid = reimburse(np.array([4.0, 20.0]), owed, [(0,), (1,), (2,)], out)
    assert np.allclose(out, [[0.0, 10.0], [1.0, 0.0], [3.0, 4.0]])
    assert np.allclose(paid, [4.0, 14.0])
    assert np.allclose(owed, [[10.0, 0.0], [4.0, 0.0], [0.0, 0.0]])
    owed = np.array([[6.0], [2.0], [6.0]])
    out = np.zeros_like(owed)
    reimburse(np.array([4.0]), owed, [(0,), (1, 2)], out)  # M and A share in proportion to 2:6
    assert np.allclose(out[:, 0], [0.0, 1.0, 3.0])


def test_a_split_parent_cannot_be_reimbursed():
    text = (DEALS_DIR / "floater.waterfall").read_text()
    assert "losses" not in text
    with pytest.raises(DealErrors, match="is split into other classes"):
        build_deal(text.replace("waterfall {", "waterfall {\n  losses: write down "
                                + _split_parent(text) + "; reimburse from excess interest", 1))


def _split_parent(text: str) -> str:
    deal = build_deal(text)
    parents = {c.parent for c in deal.classes if c.parent is not None}
    return deal.classes[min(parents)].name


PRO_RATA_DEAL = build_deal(PRO_RATA)
DEAL = build_deal(REIMBURSING)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prepay=st.floats(0, 30), sda=st.floats(0, 2500), severity=st.floats(0, 100),
       lag=st.integers(0, 24), pro_rata=st.booleans())
def test_reimbursement_invariants(prepay, sda, severity, lag, pro_rata):
    deal = PRO_RATA_DEAL if pro_rata else DEAL
    got = deal.run(_scenario(round(prepay, 2), round(sda, 1), round(severity, 1), lag))
    f, coll = got.flows, got.collateral
    rb, wd = got.reimbursements()[0], got.writedowns()[0]  # [class, period]
    cash_f = np.array([c.holds_cash for c in deal.classes], dtype=float)
    # Conservation, every period: collateral cash = class cash (reimbursements included) + residual.
    out = cash_f @ (f.interest[0] + f.principal[0] + rb) + f.residual_interest[0] + f.residual_principal[0]
    cash_in = coll.interest[0] + coll.principal[0]
    assert np.all(np.abs(out - cash_in) <= 1e-6 * np.maximum(cash_in, 1.0))
    # Nothing negative, and never more than the class's write-downs so far.
    assert rb.min() >= 0.0 and f.residual_interest[0].min() >= -1e-6
    assert np.all(np.cumsum(rb, axis=1) <= np.cumsum(wd, axis=1) + 1e-6)
    # Most senior first: a class is paid only once every class senior to it (a later tier of
    # the loss order) is owed nothing after the period's payment.
    owed = np.cumsum(wd, axis=1) - np.cumsum(rb, axis=1)
    tiers = deal.losses
    for i, tier in enumerate(tiers):
        senior = [k for t in tiers[i + 1:] for k in t]
        if not senior:
            continue
        paid_here = rb[list(tier)].sum(axis=0) > 0
        assert np.all(owed[senior][:, paid_here].sum(axis=0) <= 1e-6)


def test_the_cover_table_shows_what_was_reimbursed(tmp_path, capsys, monkeypatch):
    from structurer.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "ss.waterfall"
    path.write_text(REIMBURSING)
    assert main(["run", str(path), "--no-report", "--scenario", "200 SDA"]) == 0
    out = capsys.readouterr().out
    assert "Reimbursed" in out
    b_row = next(line for line in out.splitlines() if line.startswith("│ B "))
    paid_back = DEAL.run("200 SDA").reimbursements()[0, DEAL.tranche("B").index].sum()
    assert f"{paid_back:,.0f}" in b_row.split("│")[-2]


def test_the_kernel_and_the_interpreter_reimburse_alike(monkeypatch):
    scenarios = [_scenario(cpr, sda, sev, 12) for cpr in (5, 15) for sda in (300, 900) for sev in (30, 60)]
    for deal in (DEAL, PRO_RATA_DEAL):
        kernel = deal.run(*scenarios)
        assert type(kernel.flows.source).__name__ == "LeanClassFlows"  # the compiled kernel ran
        with monkeypatch.context() as m:
            m.setenv("STRUCTURER_ENGINE", "numpy")
            numpy = deal.run(*scenarios)
        assert numpy.flows.source is None
        assert kernel.reimbursements().sum() > 1e6
        assert np.allclose(kernel.reimbursements(), numpy.reimbursements(), rtol=1e-12, atol=1e-6)
        assert np.allclose(kernel.flows.residual_interest, numpy.flows.residual_interest, rtol=1e-12,
                           atol=1e-6)


def test_the_reports_credit_section_shows_what_was_reimbursed(deal):
    from structurer.analysis.plan import report_plan
    from structurer.present.report import render

    got = deal.run(_scenario(15, 300, 40, 12))
    credit = report_plan(got).credit
    b = credit.classes.index("B")
    assert credit.reimbursed is not None
    assert credit.reimbursed[b, 0] == pytest.approx(got.reimbursements()[0, deal.tranche("B").index].sum())
    section = render(report_plan(got)).split('id="credit"')[1].split("</section>")[0]
    assert "reimbursed" in section
