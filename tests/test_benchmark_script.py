"""benchmarks/bench_scenarios.py: its pure-Python reference agrees with the engine, its
structured deal (benchmarks/pac_z_io.waterfall) is what it says it is, and the script runs end
to end on a small grid. Nothing here is timed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import script_module

import structurer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_scenarios.py"
STRUCTURED = ROOT / "benchmarks" / "pac_z_io.waterfall"


@pytest.fixture(scope="module")
def bench():
    with script_module(SCRIPT, "bench_scenarios") as module:
        yield module


@pytest.mark.parametrize("deal_file", ["sequential.waterfall", "two_pool.waterfall"])
@pytest.mark.parametrize("psa", [0.0, 165.0, 777.0])
def test_reference_agrees_with_engine(bench, deal_file: str, psa: float) -> None:
    deal = structurer.load(ROOT / "deals" / deal_file)
    assert bench.is_plain_sequential(deal)
    results = deal.run(f"{psa:g} PSA")
    reference = bench.reference_cashflows(deal, psa)
    for tranche in deal.classes:
        if tranche.is_residual:
            continue
        got = bench.reference_wals(deal, psa)[tranche.name]
        assert math.isclose(got, float(results.wal(tranche.name)[0]), rel_tol=0, abs_tol=1e-9)
        frame = results.class_cashflows(tranche.name)
        for column in ("interest", "principal", "ending_balance"):
            ours = reference[tranche.name][column]
            theirs = frame[column].tolist()
            assert len(ours) == len(theirs)
            assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-4


def test_pro_rata_deal_is_not_plain_sequential(bench) -> None:
    assert not bench.is_plain_sequential(structurer.load(ROOT / "deals" / "prorata.waterfall"))


def test_structured_deal_is_pac_support_z_and_io(bench) -> None:
    """PAC + SUP + Z with accretion + an IO on the PAC; not one of the example deals."""
    assert bench.STRUCTURED == STRUCTURED
    assert not (ROOT / "deals" / STRUCTURED.name).exists()
    deal = structurer.load(STRUCTURED)
    assert not bench.is_plain_sequential(deal)
    by_name = {c.name: c for c in deal.classes}
    pac, support, z, io = by_name["P"], by_name["S"], by_name["Z"], by_name["PI"]
    assert pac.principal_type == "PAC" and pac.index in deal.schedules
    assert support.principal_type.startswith("SUP")
    assert z.accrual and z.index in deal.accretion
    assert io.is_notional and io.notional.classes == (pac.index,)
    assert bench.structure_of(deal).startswith("P PAC FIX, S SUP/AD FIX, Z SUP FIX/Z, PI NTL FIX/IO")
    results = deal.run("90 PSA", "165 PSA", "300 PSA", "500 PSA")
    wal = results.wal("P")
    # Inside its band the PAC keeps its WAL; at 500 PSA the supports are gone and it shortens.
    assert wal[0] == pytest.approx(wal[1], abs=1e-9) and wal[1] == pytest.approx(wal[2], abs=1e-9)
    assert wal[3] < wal[1] - 1.0
    assert (results.summary(1).loc["Z", "total_accrued"]) > 0
    assert math.isnan(float(results.wal("PI")[0]))


def test_script_runs(bench, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--scenarios", "12", "--sample", "3", "--repeat", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "agreement: yes" in out
    assert "scenarios/s" in out and "runs/s" in out
    assert "speed-up of the engine" in out
    structured = out[out.index("deal BZ-01"):]
    assert "pac_z_io.waterfall" in structured and "engine only" in structured
    assert "inside its band" in structured
    assert structured.count("scenarios/s") == 2  # best and median
