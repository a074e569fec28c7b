"""`structure solve ... --json`: every solver's answer, machine-readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from structurer.cli import main

DEALS = Path(__file__).resolve().parent.parent / "deals"
FIELDS = {"deal", "deal_file", "solver", "goal", "variable", "value", "achieved", "target", "error",
          "iterations", "converged", "message", "details"}


def _solve(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["solve", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_size_for_wal(capsys: pytest.CaptureFixture[str]) -> None:
    out = _solve([str(DEALS / "sequential.waterfall"), "--size", "A,B", "--wal", "3"], capsys)
    assert FIELDS <= set(out) and out["solver"] == "size" and out["converged"] is True
    assert out["achieved"] == pytest.approx(3.0, abs=1e-8) and out["target"] == 3.0
    # The solved deal's balances: A is the value, B the rest of the two.
    assert out["classes"]["A"]["balance"] == pytest.approx(out["value"])
    assert out["classes"]["A"]["balance"] + out["classes"]["B"]["balance"] == pytest.approx(230_500_000)
    assert len(out["details"]["reachable_wal"]) == 2


def test_max_pac_and_effective_band(capsys: pytest.CaptureFixture[str]) -> None:
    pac = str(DEALS / "pac.waterfall")
    out = _solve([pac, "--max-pac", "P"], capsys)
    assert out["solver"] == "max_pac" and out["target"] is None and out["value"] > 0
    assert "support" in out["details"]
    band = _solve([pac, "--effective-band", "P", "--after", "24", "--at", "150"], capsys)
    assert band["solver"] == "effective_band" and len(band["value"]) == 2
    low, high = band["value"]
    assert low < 150 < high


def test_par_coupon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    curve = tmp_path / "ust.csv"
    curve.write_text("tenor,yield\n1,4.10\n2,4.00\n5,4.00\n10,4.20\n30,4.50\n", encoding="utf-8")
    out = _solve([str(DEALS / "sequential.waterfall"), "--par-coupon", "A", "--spread", "120",
                  "--curve", str(curve)], capsys)
    assert out["solver"] == "par_coupon" and out["converged"] is True
    assert out["classes"]["A"]["coupon"] == pytest.approx(out["details"]["coupon_pct"] / 100.0)
