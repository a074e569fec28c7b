"""Average-life conventions side by side (results/average_life.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import structurer as st
from structurer import valuation
from structurer.cli import main
from structurer.results import average_life as al

ROOT = Path(__file__).resolve().parent.parent


def test_net_principal_by_hand() -> None:
    # 100 accretes 10 in period 1 (balance 110), then pays 60 in period 2 and 50 in period 3:
    # net changes -10, 60, 50; (1 x -10 + 2 x 60 + 3 x 50) / (12 x 100) = 260 / 1200 years.
    beginning = np.array([[100.0, 110.0, 50.0]])
    ending = np.array([[110.0, 50.0, 0.0]])
    assert al.net_principal_average_life(beginning, ending)[0] == pytest.approx(260.0 / 1200.0)
    # Paid principal only (the Z-bond convention, the WAL): (2 x 60 + 3 x 50) / (12 x 110).
    from structurer.results.measures import weighted_average_life
    assert weighted_average_life(np.array([[0.0, 60.0, 50.0]]))[0] == pytest.approx(270.0 / 1320.0)
    assert np.isnan(al.net_principal_average_life(np.ones((1, 2)), np.ones((1, 2))))[0]


@pytest.fixture(scope="module")
def accrual() -> st.Results:
    return st.load(ROOT / "deals" / "accrual.waterfall").run("100 PSA", "300 PSA")


def test_an_accrual_class_gets_every_convention(accrual: st.Results) -> None:
    z = al.conventions(accrual, "Z")
    assert set(z) == {"wal", "to_receipt", "z_bond", "net_principal"}
    np.testing.assert_array_equal(z["z_bond"], accrual.wal("Z"))
    np.testing.assert_allclose(z["to_receipt"], accrual.average_life_to_receipt("Z"))
    a = accrual.arrays("Z")
    net = a["beginning_balance"] - a["ending_balance"]
    k = np.arange(1, net.shape[1] + 1)
    by_hand = (net * k).sum(axis=1) / (12.0 * net.sum(axis=1))
    np.testing.assert_allclose(z["net_principal"], by_hand)
    assert np.all(z["net_principal"] > z["wal"])  # the months of accretion weigh against it
    # A class that does not accrue has the two general conventions only.
    assert set(al.conventions(accrual, "A")) == {"wal", "to_receipt"}
    assert al.conventions(accrual, "R") == {}


def test_a_notional_class_is_its_notional_paydown() -> None:
    results = st.load(ROOT / "deals" / "io_po.waterfall").run("200 PSA")
    notional = [t.name for t in results.deal.issued_classes if t.is_notional][0]
    np.testing.assert_allclose(al.conventions(results, notional)["wal"],
                               valuation.average_life(results, notional))


def test_cli_says_which_convention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = str(ROOT / "deals" / "accrual.waterfall")
    assert main([deal, "--no-report", "--average-lives", "--psa", "165"]) == 0
    out = capsys.readouterr().out
    assert "WAL: years by period count from settlement, principal paid (SIFMA)" in out
    assert "average life (years) by convention" in out and "GPM/ARM net" in out
    assert main([deal, "--json", "--psa", "165"]) == 0
    assert "average_life_conventions" not in json.loads(capsys.readouterr().out)
    assert main([deal, "--json", "--psa", "165", "--average-lives"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["average_life_conventions"]) == {"wal", "to_receipt", "z_bond", "net_principal"}
    z = data["scenarios"][0]["classes"]["Z"]["average_life"]
    assert z["z_bond"] == z["wal"] == pytest.approx(data["scenarios"][0]["classes"]["Z"]["wal"])
