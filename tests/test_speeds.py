"""Speed conversions: SMM <-> CPR <-> PSA at an age and ABS <-> SMM at an age agree with the
standard's formulas and the engine's, and round-trip; the `structure convert` command."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from structurer.cli import main
from structurer.engine import prepayment as engine
from structurer.errors import InputError
from structurer.model import speeds

percent = st.floats(min_value=0.0, max_value=99.999, allow_nan=False)
ages = st.integers(min_value=1, max_value=480)


def test_hand_values() -> None:
    assert speeds.smm_from_cpr(6.0) == pytest.approx(0.51430128, abs=1e-8)
    assert speeds.cpr_from_psa(100.0, 30) == pytest.approx(6.0)
    assert speeds.cpr_from_psa(100.0, 15) == pytest.approx(3.0)
    assert speeds.cpr_from_psa(165.0, 360) == pytest.approx(9.9)
    assert speeds.cpr_from_psa(2000.0, 30) == 100.0  # the cap
    assert speeds.psa_from_cpr(6.0, 12) == pytest.approx(250.0)  # an observed 6 CPR at month 12
    # ABS: 1.5% of the original loans a month; by month 10 13.5% of them are gone.
    assert speeds.smm_from_abs(1.5, 10) == pytest.approx(100 * 0.015 / (1 - 0.015 * 9))
    assert speeds.smm_from_abs(1.5, 1) == pytest.approx(1.5)


@given(cpr=percent)
def test_smm_cpr_round_trip(cpr: float) -> None:
    assert speeds.cpr_from_smm(speeds.smm_from_cpr(cpr)) == pytest.approx(cpr, abs=1e-9)
    assert speeds.smm_from_cpr(cpr) == pytest.approx(100 * float(engine.smm_from_cpr(cpr / 100)),
                                                     rel=1e-12, abs=1e-12)


@given(psa=st.floats(min_value=0.0, max_value=1600.0, allow_nan=False), age=ages)
def test_psa_cpr_round_trip_and_engine(psa: float, age: int) -> None:
    cpr = speeds.cpr_from_psa(psa, age)
    assert cpr == pytest.approx(100 * float(engine.cpr_from_psa(psa, age)), abs=1e-12)
    assert speeds.psa_from_cpr(cpr, age) == pytest.approx(psa, rel=1e-12, abs=1e-9)


@given(smm=percent, age=st.integers(min_value=1, max_value=120))
def test_abs_smm_round_trip(smm: float, age: int) -> None:
    speed = speeds.abs_from_smm(smm, age)
    assert speeds.smm_from_abs(speed, age) == pytest.approx(smm, rel=1e-9, abs=1e-12)


# Realistic speeds: near 100 CPR, 1 - CPR keeps few digits and no conversion can round-trip.
@given(value=st.floats(min_value=0.0, max_value=30.0, allow_nan=False),
       unit=st.sampled_from(["SMM", "CPR", "ABS"]), age=st.integers(min_value=1, max_value=60))
@example(value=12.25, unit="ABS", age=8)
def test_convert_is_consistent(value: float, unit: str, age: int) -> None:
    try:
        out = speeds.convert(value, unit, age)
    except InputError:
        assert unit == "ABS" and value / 100 * (age - 1) >= 1  # every loan already prepaid
        return
    # SMM -> CPR is the well-conditioned direction: a fast ABS speed late in a pool's life is a
    # large SMM whose CPR is within 1e-10 of 100%, and the way back from such a CPR keeps only
    # ~1e-7 of the SMM (ABS 12.25 at age 8: 85.96 SMM), so the check goes forward.
    assert speeds.cpr_from_smm(out.smm) == pytest.approx(out.cpr, rel=1e-12, abs=1e-12)
    if out.cpr < 99.0:
        assert out.smm == pytest.approx(speeds.smm_from_cpr(out.cpr), rel=1e-9, abs=1e-9)
    if out.psa is not None:
        assert speeds.cpr_from_psa(out.psa, age) == pytest.approx(out.cpr, rel=1e-9, abs=1e-9)
    assert speeds.smm_from_abs(out.abs, age) == pytest.approx(out.smm, rel=1e-9, abs=1e-9)


def test_refusals() -> None:
    with pytest.raises(InputError, match="age"):
        speeds.convert(165, "PSA")
    with pytest.raises(InputError, match="no single PSA"):
        speeds.psa_from_cpr(100.0, 40)
    with pytest.raises(InputError, match="prepaid every loan"):
        speeds.smm_from_abs(10.0, 12)
    with pytest.raises(InputError, match="not a speed"):
        speeds.smm_from_cpr(-1.0)
    with pytest.raises(InputError, match="not a speed"):
        speeds.smm_from_cpr(float("nan"))
    with pytest.raises(InputError, match="whole number of months"):
        speeds.cpr_from_psa(100, 0)


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "6", "CPR", "--age", "12"]) == 0
    out = capsys.readouterr().out
    assert "PSA  250.00000000" in out and "SMM  0.51430128" in out
    assert main(["convert", "1.5ABS", "--age", "10", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ABS"] == 1.5 and doc["SMM"] == pytest.approx(1.7341040462427744)
    assert main(["convert", "165", "PSA"]) == 2
    assert "add --age" in capsys.readouterr().err
    assert main(["convert", "6", "XYZ", "--age", "3"]) == 1
    assert main(["convert", "fast"]) == 2


def test_python_m_runs_the_new_commands() -> None:
    """`python -m structurer.cli` runs the module as __main__: every function the parser names
    must be defined before the `if __name__ == "__main__"` line (it was not, once)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "structurer.cli", "convert", "6", "CPR", "--age", "12"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "PSA  250.00000000" in run.stdout, run.stderr
