"""A grid of constant speeds read once (model/prepayment.py `ConstantGrid`) and what is made from
it: the same validation, SMM, labels and summaries as reading each speed on its own, to the bit."""

from __future__ import annotations

import mmap

import numpy as np
import pytest
from conftest import DEALS_DIR

import structurer
from structurer.engine import buffers
from structurer.engine import compiled as compiled_module
from structurer.engine.prepayment import _smm, constant_smm, constant_speeds
from structurer.engine.run import scenario_list
from structurer.model.prepayment import (
    MAX_PSA,
    ConstantGrid,
    Prepayment,
    all_valid,
    constant_grid,
    plain_labels,
)
from structurer.model.scenarios import Scenario, SpeedScenarios, labels_of

SEQ = structurer.load(DEALS_DIR / "sequential.waterfall")

EDGE = [0.0, -0.0, 1e-300, 0.1, 100.0, np.nextafter(100.0, 200.0), 101.0, 1666.0, 1700.0, MAX_PSA,
        np.nextafter(MAX_PSA, 2 * MAX_PSA), -1e-300, -5.0, float("nan"), float("inf"), -float("inf")]


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=float).view(np.int64)


@pytest.mark.parametrize("value", EDGE)
@pytest.mark.parametrize("units", [["PSA"], ["CPR"], ["SMM"], ["PSA", "CPR", "SMM"]])
def test_the_grid_is_there_exactly_when_every_speed_is_valid(value, units):
    grid = [Prepayment.constant(v, units[i % len(units)]) for i, v in enumerate([1.0, 50.0, value, 2.0])]
    got = constant_grid(grid)
    assert (got is not None) == all_valid(grid)
    if got is not None:
        speed, unit = constant_speeds(grid)
        assert (bits(got.speed) == bits(speed)).all() and got.units == unit
        assert got.low == got.speed.min() and got.high == got.speed.max()


def test_no_grid_for_other_kinds_or_shapes_and_run_says_the_same():
    assert constant_grid([Prepayment.constant(1, "PSA"), Prepayment.ramp(1, 2, 3, "PSA")]) is None
    assert constant_grid([Prepayment("PSA", "constant", (1.0, 2.0))]) is None
    assert constant_grid([Prepayment("PSA", "constant", ())]) is None
    assert constant_grid([Prepayment("PSA", "constant", ("fast",))]) is None  # type: ignore[arg-type]
    assert constant_grid([Prepayment("FOO", "constant", (1.0,))]) is None
    assert constant_grid([Prepayment("PSA", "constant", (True,))]) is None  # (validated one by one)
    ints = constant_grid([Prepayment("PSA", "constant", (5,)), Prepayment("CPR", "constant", (6,))])
    assert ints is not None and ints.speed.dtype == float and ints.units == ["PSA", "CPR"]
    got = scenario_list(SEQ, [Prepayment.constant(v, "PSA") for v in (0, 100, 165)])
    assert isinstance(got, SpeedScenarios) and got.grid is not None
    got = scenario_list(SEQ, [Prepayment.constant(100, "PSA"), Prepayment.vector([1, 2], "CPR")])
    assert isinstance(got, SpeedScenarios) and got.grid is None


def test_a_chunk_of_the_grid_is_the_grid_of_the_chunk():
    speeds = [Prepayment.constant(v, u) for v, u in zip(range(10), ["PSA", "CPR"] * 5, strict=True)]
    scenarios = scenario_list(SEQ, speeds)
    part = scenarios[2:7]
    assert part.grid is not None
    want = constant_grid(speeds[2:7])
    assert want is not None
    assert (bits(part.grid.speed) == bits(want.speed)).all() and part.grid.units == want.units
    assert part.grid.low <= want.low and part.grid.high >= want.high  # (the whole grid's bounds)


@pytest.mark.parametrize("values", [
    list(np.linspace(0.0, 1000.0, 101)), [0.0, -0.0, 0.5, 99.99, 1e-300, 123.4565, 2500.0],
    [1e5, 1e-5, 0.0001, 99999.95, 5e-324, 12345.65], [3, 165, 7],
])
@pytest.mark.parametrize("units", [["PSA"], ["CPR", "SMM", "PSA"]])
def test_labels_from_the_grid_are_the_objects_labels(values, units):
    speeds = [Prepayment(units[i % len(units)], "constant", (v if isinstance(v, int) else float(v),))
              for i, v in enumerate(values)]
    speeds = [p for p in speeds if p.unit == "PSA" or p.values[0] <= 100]
    scenarios = scenario_list(SEQ, speeds)
    assert isinstance(scenarios, SpeedScenarios) and scenarios.grid is not None
    assert plain_labels(speeds)
    assert labels_of(scenarios) == Prepayment.labels(speeds) == [Scenario(p).label for p in speeds]


def test_other_number_types_are_labelled_by_their_objects():
    speeds = [Prepayment("PSA", "constant", (np.float32(0.1),)),
              Prepayment("PSA", "constant", (np.float64(2.5),))]
    scenarios = scenario_list(SEQ, speeds)
    assert scenarios.grid is not None and not plain_labels(speeds)
    assert labels_of(scenarios) == Prepayment.labels(speeds)


def test_named_speeds_keep_their_names():
    speeds = [Prepayment.constant(100, "PSA"), Prepayment.constant(200, "PSA").named("fast"),
              Prepayment.constant(300, "PSA").named("")]
    scenarios = scenario_list(SEQ, speeds)
    assert scenarios.grid is not None and not plain_labels(speeds)
    assert labels_of(scenarios) == ["100 PSA", "fast", "300 PSA"]


def _reference_smm(speeds, units, ages, periods):
    """constant_smm through the general formula (`_smm`) alone."""
    ages = np.asarray(ages, dtype=float)
    flat_from = int(np.ceil(30.0 - ages.min(initial=30.0))) + 1
    width = min(periods, max(1, flat_from))
    out = np.empty((len(speeds), len(ages), periods))
    part = _smm(units, np.asarray(speeds, dtype=float)[:, None], ages, width, out[:, :, :width])
    out[:, :, width:] = part[:, :, width - 1:]
    return out


@pytest.mark.parametrize("speeds", [
    [0.0, 100.0, 165.0, 1000.0], [-0.0, 0.0, 1e-300], [1500.0, 1666.0, 1700.0, 5000.0, MAX_PSA],
    [-5.0, 100.0], [float("nan"), 100.0], [float("inf"), 1.0], list(np.linspace(0, 3000, 77)),
])
@pytest.mark.parametrize("ages", [[3.0], [0.0, 12.0], [29.5, 40.0], [45.0]])
def test_the_psa_smm_is_the_general_formulas_to_the_bit(speeds, ages):
    speeds = np.array(speeds)
    want = _reference_smm(speeds, "PSA", ages, 60)
    with np.errstate(invalid="ignore"):
        assert (bits(constant_smm(speeds, "PSA", np.array(ages), 60)) == bits(want)).all()
        finite = speeds[np.isfinite(speeds)]
        if len(finite) == len(speeds):  # (bounds as a grid gives them, and looser ones)
            for bounds in ((speeds.min(), speeds.max()), (min(0.0, speeds.min()), 2 * speeds.max() + 1)):
                got = constant_smm(speeds, "PSA", np.array(ages), 60, bounds=bounds)
                assert (bits(got) == bits(want)).all()


def test_the_kernels_smm_from_the_grid_is_the_objects():
    speeds = [Prepayment.constant(v, "PSA") for v in np.linspace(0.0, 2500.0, 40)]
    grid = constant_grid(speeds)
    ages = np.array([3.0, 17.0])
    for a, b in zip(compiled_module.smm_arrays(speeds, ages, 360, grid),
                    compiled_module.smm_arrays(speeds, ages, 360), strict=True):
        assert a.shape == b.shape and (bits(a) == bits(b)).all()


def test_a_run_and_a_summary_are_the_same_with_and_without_the_grid():
    speeds = [Prepayment.constant(v, "PSA") for v in np.linspace(0.0, 1000.0, 23)]
    fast = SEQ.run(*speeds)
    slow = SEQ.run(*[Scenario(p) for p in speeds])
    for t in SEQ.classes:
        for key in ("principal", "interest", "ending_balance"):
            assert (bits(fast.arrays(t.name)[key]) == bits(slow.arrays(t.name)[key])).all()
    one = structurer.summarise(SEQ, speeds, rates=[0.05])
    for chunk in (1, 5, 22):
        other = structurer.summarise(SEQ, speeds, rates=[0.05], chunk=chunk)
        assert one.scenarios == other.scenarios
        for m in ("wal", "first_principal_period", "last_principal_period", "total_interest",
                  "total_principal", "total_accrued", "final_balance", "pv"):
            a, b = getattr(one, m), getattr(other, m)
            assert a.dtype == b.dtype and a.shape == b.shape, m
            assert (a.view(np.int64) == b.view(np.int64)).all(), m
        for m, a in one.collateral.items():
            b = other.collateral[m]
            assert a.dtype == b.dtype and (a.view(np.int64) == b.view(np.int64)).all(), m


def test_a_dirty_region_is_cleared_where_dirty_and_a_clean_one_is_not_written():
    memory = mmap.mmap(-1, 8 * buffers._CHUNK)
    lease = np.frombuffer(memory, dtype=np.uint8)
    buffers._clear(lease)  # (clean: nothing to write)
    assert not lease.any()
    for offset, aligned in ((0, True), (3, False), (8, True)):
        lease[offset + 5] = 1
        lease[offset + 3 * buffers._CHUNK + 17] = 2
        lease[-1] = 3
        buffers._clear(lease[offset:], aligned)
        assert not lease[offset:].any()


def test_constant_grid_is_a_value():
    g = ConstantGrid(np.array([1.0, 2.0]), "PSA", 1.0, 2.0)
    assert g[0:1].speed.tolist() == [1.0] and g[0:1].units == "PSA"
