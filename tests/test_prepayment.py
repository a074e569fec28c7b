"""Prepayment: the PSA curve, CPR -> SMM, ramps and vectors, speeds per loan age."""

from __future__ import annotations

import numpy as np
import pytest

from structurer.engine.prepayment import cpr_from_psa, smm_from_cpr, smm_matrix
from structurer.errors import InputError
from structurer.model.prepayment import Prepayment, parse_speed, validate_speed

# Rates are computed by one or two float operations from exact inputs: agreement to 1e-12
# relative is what float64 gives, with room to spare.
RTOL = 1e-12


# ---- the PSA benchmark: CPR = PSA/100 x 0.2% x min(AGE, 30)


@pytest.mark.parametrize("age,cpr", [(1, 0.002), (15, 0.03), (30, 0.06), (60, 0.06)])
def test_100_psa(age, cpr):
    assert cpr_from_psa(100, age) == pytest.approx(cpr, rel=RTOL)


@pytest.mark.parametrize("psa,age,cpr", [
    (165, 4, 0.0132),      # 1.65 x 0.2% x 4
    (165, 30, 0.099),
    (50, 10, 0.01),
    (300, 360, 0.18),
    (0, 12, 0.0),
])
def test_psa_multiples(psa, age, cpr):
    assert cpr_from_psa(psa, age) == pytest.approx(cpr, rel=RTOL, abs=1e-18)


def test_psa_age_below_one_counts_as_month_one():
    assert cpr_from_psa(100, 0) == pytest.approx(0.002, rel=RTOL)


def test_psa_is_capped_at_100_cpr():
    # 5000 PSA reaches 100% CPR at age 10 (50 x 0.2% x 10).
    assert cpr_from_psa(5000, 5) == pytest.approx(0.5, rel=RTOL)
    assert cpr_from_psa(5000, 10) == pytest.approx(1.0, rel=RTOL)
    assert cpr_from_psa(5000, 30) == 1.0


def test_psa_vectorises_over_ages():
    got = cpr_from_psa(200, np.array([1, 2, 29, 30, 31]))
    assert got == pytest.approx([0.004, 0.008, 0.116, 0.12, 0.12], rel=RTOL)


# ---- SMM = 1 - (1 - CPR)^(1/12)


@pytest.mark.parametrize("cpr,smm", [
    (0.06, 0.00514301),   # the textbook 6% CPR -> 0.5143% SMM
    (0.0132, 0.00110671),  # 165 PSA at AGE 4 (Fabozzi: 0.00111)
    (0.0, 0.0),
    (1.0, 1.0),
])
def test_smm_from_cpr(cpr, smm):
    assert smm_from_cpr(cpr) == pytest.approx(smm, abs=5e-9)  # the quoted figures have 8 places


def test_smm_compounds_back_to_cpr():
    cpr = np.linspace(0, 1, 101)
    smm = smm_from_cpr(cpr)
    assert 1 - (1 - smm) ** 12 == pytest.approx(cpr, rel=1e-12, abs=1e-15)


# ---- assumptions


def test_constant_path_and_label():
    p = Prepayment.constant(165, "PSA")
    assert p.path(3).tolist() == [165.0, 165.0, 165.0]
    assert p.label == "165 PSA"


def test_ramp_path():
    # From 6 CPR in month 1, in equal monthly steps, to 12 CPR in month 13, flat after.
    p = Prepayment.ramp(6, 12, 12, "CPR")
    path = p.path(20)
    assert path[0] == 6.0
    assert path[6] == pytest.approx(9.0, rel=RTOL)
    assert path[12] == pytest.approx(12.0, rel=RTOL)
    assert path[13:].tolist() == [12.0] * 7
    assert np.all(np.diff(path[:13]) == pytest.approx(0.5, rel=1e-12))
    assert p.label == "6 CPR ramp to 12 CPR over 12 months"


def test_downward_ramp():
    path = Prepayment.ramp(20, 10, 5, "CPR").path(8)
    assert path.tolist() == pytest.approx([20, 18, 16, 14, 12, 10, 10, 10], rel=RTOL)


def test_vector_path_holds_its_last_speed():
    p = Prepayment.vector([12, 11, 10], "CPR")
    assert p.path(5).tolist() == [12.0, 11.0, 10.0, 10.0, 10.0]
    assert p.path(2).tolist() == [12.0, 11.0]
    assert p.label == "vector(12, 11, 10 CPR)"


def test_equal_assumptions_compare_equal():
    assert Prepayment.constant(100, "PSA") == Prepayment.constant(100.0, "PSA")
    assert Prepayment.constant(100, "PSA") != Prepayment.constant(100, "CPR")


# ---- SMM per scenario, pool and period


def test_smm_matrix_psa_uses_each_pools_loan_age():
    # A pool aged 3 projects its first month at AGE 4; one aged 34 is on the plateau.
    smm = smm_matrix([Prepayment.constant(100, "PSA")], np.array([3, 34]), 30)
    assert smm.shape == (1, 2, 30)
    assert smm[0, 0, 0] == pytest.approx(smm_from_cpr(0.008), rel=RTOL)
    assert smm[0, 0, 25] == pytest.approx(smm_from_cpr(0.058), rel=RTOL)  # AGE 29
    assert smm[0, 0, 26:] == pytest.approx(smm_from_cpr(0.06), rel=RTOL)
    assert smm[0, 1] == pytest.approx(smm_from_cpr(0.06), rel=RTOL)


def test_smm_matrix_new_pool_month_one():
    smm = smm_matrix([Prepayment.constant(100, "PSA")], np.array([0]), 2)
    assert smm[0, 0].tolist() == pytest.approx([smm_from_cpr(0.002), smm_from_cpr(0.004)], rel=RTOL)


def test_smm_matrix_cpr_and_smm_are_flat_in_age():
    smm = smm_matrix([Prepayment.constant(6, "CPR"), Prepayment.constant(0.5, "SMM")],
                     np.array([0, 100]), 4)
    assert smm[0] == pytest.approx(smm_from_cpr(0.06), rel=RTOL)
    assert smm[1] == pytest.approx(0.005, rel=RTOL)


def test_smm_matrix_psa_ramp_maps_each_month_on_the_loan_age():
    smm = smm_matrix([Prepayment.ramp(100, 200, 2, "PSA")], np.array([0]), 3)
    want = [smm_from_cpr(0.002), smm_from_cpr(1.5 * 0.004), smm_from_cpr(2.0 * 0.006)]
    assert smm[0, 0].tolist() == pytest.approx(want, rel=RTOL)


def test_smm_matrix_extremes():
    smm = smm_matrix([Prepayment.constant(100, "CPR"), Prepayment.constant(100, "SMM"),
                      Prepayment.constant(0, "PSA")], np.array([0]), 3)
    assert smm[0].tolist() == [[1.0, 1.0, 1.0]]
    assert smm[1].tolist() == [[1.0, 1.0, 1.0]]
    assert smm[2].tolist() == [[0.0, 0.0, 0.0]]


# ---- speeds given as text (the API and the CLI)


@pytest.mark.parametrize("text,value,unit", [
    ("165 PSA", 165.0, "PSA"),
    ("6 cpr", 6.0, "CPR"),
    (" 0.5 SMM ", 0.5, "SMM"),
    ("1_000 PSA", 1000.0, "PSA"),
    (".5 SMM", 0.5, "SMM"),
    ("165PSA", 165.0, "PSA"),
])
def test_parse_speed(text, value, unit):
    assert parse_speed(text) == Prepayment.constant(value, unit)


def test_parse_speed_passes_assumptions_through():
    p = Prepayment.ramp(1, 2, 3, "CPR")
    assert parse_speed(p) is p


@pytest.mark.parametrize("text", ["fast", "165", "PSA", "-5 PSA", "101 CPR", "100.5 SMM",
                                  "165 PSA 2"])
def test_parse_speed_rejects(text):
    with pytest.raises(InputError):
        parse_speed(text)


def test_validate_speed():
    validate_speed(0, "PSA")
    validate_speed(5000, "PSA")
    validate_speed(100, "CPR")
    with pytest.raises(InputError, match="negative"):
        validate_speed(-1, "PSA")
    with pytest.raises(InputError, match="more than 100%"):
        validate_speed(100.01, "SMM")


def test_engine_runs_the_tested_psa_formula_exactly():
    # One implementation: the SMM grid the engine builds is, bit for bit, the tested formulas.
    ages = np.array([0.0, 3.0, 40.0])
    speeds = [Prepayment.constant(165, "PSA"), Prepayment.ramp(100, 400, 12, "PSA")]
    smm = smm_matrix(speeds, ages, 60)
    loan_age = ages[:, None] + np.arange(1, 61)[None, :]
    for s, p in enumerate(speeds):
        want = smm_from_cpr(cpr_from_psa(p.path(60)[None, :], loan_age))
        assert np.array_equal(smm[s], want)
