"""Observed speeds from pool factors (SIFMA standard formulas), checked by hand and by round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from structurer.cli import main
from structurer.engine.collateral import collateral_flows
from structurer.engine.prepayment import smm_matrix
from structurer.errors import InputError
from structurer.model.deal import Pool
from structurer.model.observed import amortization_factor, observed_speed, read_factors, speeds_from_factors
from structurer.model.prepayment import Prepayment


def test_one_month_by_hand() -> None:
    # WAC 6%, WAM 360, factor 1.00 -> 0.99. By hand: c = 0.005; 1.005^-360 = 0.166042,
    # 1.005^-359 = 0.166872; AMF = (1 - 0.166872) / (1 - 0.166042) = 0.9990045;
    # SMM = 1 - 0.99 / 0.9990045 = 0.901347%; CPR = 1 - (1 - 0.00901347)^12 = 10.29575%;
    # at age 0 the month is age 1, where PSA 100 is 0.2% CPR: PSA = 10.29575 / 0.2 x 100 = 5147.87.
    assert amortization_factor(6.0, 360, 1) == pytest.approx(0.9990045, abs=1e-7)
    s = observed_speed(1.0, 0.99, 6.0, 360, 0)
    assert s.smm == pytest.approx(0.901347, abs=1e-6)
    assert s.cpr == pytest.approx(10.29575, abs=1e-5)
    assert s.psa == pytest.approx(5147.87, abs=0.01)


def test_seasoned_pool_psa_is_cpr_over_six() -> None:
    # Past age 30, 100 PSA is 6 CPR flat: PSA = CPR / 6 x 100.
    s = observed_speed(0.8, 0.79, 4.5, 300, 60)
    assert s.psa == pytest.approx(s.cpr / 6.0 * 100.0, rel=1e-9)


@pytest.mark.parametrize("psa", [50.0, 150.0, 400.0])
def test_factors_of_a_projected_pool_give_its_speed_back(psa: float) -> None:
    pool = Pool("P", 1.0, 0.055, 0.05, 360, 355, 5)
    flows = collateral_flows([pool], smm_matrix([Prepayment.constant(psa, "PSA")], np.array([5.0]), 60))
    factors = [(0, 1.0)] + [(k + 1, float(b)) for k, b in enumerate(flows.ending_balance[0, :60])]
    monthly, average = speeds_from_factors(factors, 5.5, 355, 5)
    assert [m.psa for m in monthly] == pytest.approx([psa] * 60, rel=1e-8)
    assert average.psa == pytest.approx(psa, rel=1e-8)
    # month 30 onward the pool is past the ramp: CPR = 6% x PSA / 100
    assert monthly[40].cpr == pytest.approx(6.0 * psa / 100.0, rel=1e-8)


def test_factor_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("month,factor\n1,0.9\n2,0.95\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column 'factor': 0.95 is above the month before"):
        read_factors(path)
    path.write_text("month,factor\n1,0.9\n3,0.85\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected month 2, found 3"):
        read_factors(path)
    path.write_text("month,factor\n1,1.9\n", encoding="utf-8")
    with pytest.raises(InputError, match="between 0 and 1"):
        read_factors(path)
    with pytest.raises(InputError, match="can only fall"):
        observed_speed(0.9, 0.95, 5.0, 300, 10)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.csv"
    path.write_text("month,factor\n1,1.0\n2,0.99\n3,0.98\n", encoding="utf-8")
    assert main(["speeds", str(path), "--wac", "6", "--wam", "360", "--age", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["monthly"][0]["smm"] == pytest.approx(0.901347, abs=1e-6)
    assert out["average"]["end"] - out["average"]["start"] == 2
    assert main(["speeds", "1.0", "0.99", "--wac", "6", "--wam", "360", "--age", "0"]) == 0
    assert "average" in capsys.readouterr().out
    assert main(["speeds", "x", "y", "--wac", "6", "--wam", "360"]) == 2
    assert "not two factors" in capsys.readouterr().err
    assert main(["speeds", str(tmp_path / "none.csv"), "--wac", "6", "--wam", "360"]) == 1
    assert main(["speeds", str(path)]) == 2  # --wac and --wam are required
