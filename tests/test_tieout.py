"""REMIC tie-out: every example deal ties out; a run broken on purpose does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import structurer
from structurer.cli import main
from structurer.model import Deal
from structurer.structuring.tieout import STRESS, Check, TieOut, tieout

DEALS = Path(__file__).resolve().parent.parent / "deals"
EXAMPLES = sorted(DEALS.glob("*.waterfall"))
SEQUENTIAL = DEALS / "sequential.waterfall"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_deal_ties_out(path):
    result = tieout(structurer.load(path))
    assert result.passed, result.frame().to_string()
    assert isinstance(result, TieOut) and all(isinstance(c, Check) for c in result.checks)
    for speed in STRESS:
        assert speed in result.scenarios
    assert len(result.scenarios) == len(set(result.scenarios))  # each speed run once


def test_frame_view():
    frame = tieout(structurer.load(SEQUENTIAL)).frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["passed", "detail"]
    assert frame.index.name == "check"
    assert frame["passed"].all()
    assert "total class principal = collateral principal" in frame.index
    assert "every class retires by its final date at 5000 PSA" in frame.index


def test_scenarios_given_replace_the_deals_and_the_stress_speeds_always_run():
    result = tieout(structurer.load(SEQUENTIAL), ["120 PSA", "6 CPR"])
    assert result.scenarios == ["120 PSA", "6 CPR", *STRESS]


def test_final_distribution_dates_come_from_0_psa():
    result = tieout(structurer.load(SEQUENTIAL))
    at_zero = next(c for c in result.checks if c.name == "every class retires at 0 PSA")
    # D, the last class, retires with the collateral: 357 months after February 2027.
    assert "D 10/2056" in at_zero.detail


def test_residual_cash_is_reported():
    # PR-02's A1 pays 5.5% on 6.0% collateral: the excess interest goes to the residual.
    result = tieout(structurer.load(DEALS / "prorata.waterfall"))
    residual = next(c for c in result.checks if c.name.startswith("residual cash"))
    assert residual.passed
    interest = float(residual.detail.split("200 PSA: ")[1].split(" interest")[0].replace(",", ""))
    assert interest > 100_000


# ---- a Results broken on purpose: the engine's own audit is bypassed by editing its arrays


def broken_run(monkeypatch, damage):
    """Make Deal.run return results that `damage(results)` has tampered with."""
    real = Deal.run

    def run(self, *speeds):
        results = real(self, *speeds)
        damage(results)
        return results

    monkeypatch.setattr(Deal, "run", run)


def failed(result: TieOut) -> set[str]:
    return {c.name for c in result.failures}


def test_principal_not_paid_fails(monkeypatch):
    def damage(results):
        a = results.deal.tranche("A").index
        results.flows.principal[:, a, 10] -= 5_000.0  # five thousand dollars never paid

    broken_run(monkeypatch, damage)
    result = tieout(structurer.load(SEQUENTIAL))
    assert not result.passed
    assert "total class principal = collateral principal" in failed(result)


def test_interest_over_the_collateral_fails(monkeypatch):
    def damage(results):
        b = results.deal.tranche("B").index
        results.flows.interest[:, b, 3] += 1.0  # a dollar more than the collateral paid

    broken_run(monkeypatch, damage)
    result = tieout(structurer.load(SEQUENTIAL))
    assert failed(result) == {"class interest + IO <= collateral interest"}
    detail = result.failures[0].detail
    assert "period 4" in detail


def test_negative_balance_fails(monkeypatch):
    def damage(results):
        c = results.deal.tranche("C").index
        results.flows.ending_balance[-1, c, 200] = -3.0

    broken_run(monkeypatch, damage)
    result = tieout(structurer.load(SEQUENTIAL))
    assert "no negative balances" in failed(result)
    assert "C balance -3.00" in next(c for c in result.checks if c.name == "no negative balances").detail


def test_late_retirement_fails(monkeypatch):
    def damage(results):
        labels = results.scenarios
        if "5000 PSA" in labels:
            s = labels.index("5000 PSA")
            a = results.deal.tranche("A").index  # outstanding to period 300; its final is 264
            end = results.flows.ending_balance
            end[s, a, :299] = np.maximum(end[s, a, :299], 1.0)

    broken_run(monkeypatch, damage)
    result = tieout(structurer.load(SEQUENTIAL))
    assert failed(result) == {"every class retires by its final date at 5000 PSA"}
    assert "A retires 01/2052, final 01/2049" in result.failures[0].detail


def test_negative_residual_fails(monkeypatch):
    def damage(results):
        results.flows.residual_interest[0, 0] = -10.0

    broken_run(monkeypatch, damage)
    result = tieout(structurer.load(SEQUENTIAL))
    assert {"no negative balances", "residual cash (R)"} <= failed(result)


# ---- CLI


def test_cli_tieout_passes(capsys):
    assert main(["tieout", str(DEALS / "pac.waterfall")]) == 0
    out = capsys.readouterr().out
    assert "7 of 7 checks pass" in out
    assert "FAIL" not in out


def test_cli_tieout_with_speeds(capsys):
    assert main(["tieout", str(SEQUENTIAL), "--psa", "100,250"]) == 0
    assert "over 100 PSA, 250 PSA, 0 PSA, 5000 PSA, 100 CPR" in capsys.readouterr().out


def test_cli_tieout_fails_with_exit_1(monkeypatch, capsys):
    def damage(results):
        results.flows.principal[:, 0, 10] -= 5_000.0

    broken_run(monkeypatch, damage)
    assert main(["tieout", str(SEQUENTIAL)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "7 of 7" not in out


def test_cli_tieout_bad_usage(capsys):
    assert main(["tieout", str(SEQUENTIAL), "--psa", "fast"]) == 2
    assert main(["tieout"]) == 2
    assert main(["tieout", str(DEALS / "missing.waterfall")]) == 1
    capsys.readouterr()
