"""The Python around the kernel: speeds resolved as arrays (SpeedScenarios), SMM by unit, index
paths once per distinct set, what is kept from run to run. Each fast path gives what the
object-by-object path gives, to the last bit, and the same errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import DEALS_DIR, script_module

import structurer
from structurer.analysis import summary as summary_module
from structurer.dates import payment_dates
from structurer.engine import compiled as compiled_module
from structurer.engine.prepayment import constant_smm, cpr_from_psa, smm_from_cpr, smm_matrix
from structurer.engine.run import resolve_scenarios, scenario_index_rates, scenario_list
from structurer.errors import InputError
from structurer.model.prepayment import MAX_PSA, Prepayment, all_valid, validate_assumption, validate_speed
from structurer.model.scenarios import RatePath, Scenario, SpeedScenarios, labels_of, prepayments_of
from structurer.valuation import yields as pricing

SEQ = structurer.load(DEALS_DIR / "sequential.waterfall")
FLOATER = structurer.load(DEALS_DIR / "floater.waterfall")

MIXED = [
    Prepayment.constant(165, "PSA"), Prepayment.constant(6, "CPR"), Prepayment.constant(0.5, "SMM"),
    Prepayment.constant(0, "PSA"), Prepayment.constant(100, "CPR"), Prepayment.constant(100, "SMM"),
    Prepayment.constant(2500, "PSA"), Prepayment.constant(-0.0, "PSA"),
    Prepayment.ramp(100, 300, 24, "PSA"), Prepayment.ramp(4, 12, 12, "CPR"),
    Prepayment.ramp(1, 0.5, 6, "SMM"), Prepayment.vector([1, 2, 3, 150], "PSA"),
    Prepayment.vector([6, 7], "CPR"), Prepayment.vector([0.2], "SMM"),
    Prepayment.constant(200, "PSA").named("fast"), Prepayment.constant(300, "PSA").named(""),
]


def bits(a: np.ndarray) -> np.ndarray:
    """The float64 bits (so that -0.0 and 0.0 differ, as the last bit does)."""
    return np.ascontiguousarray(a, dtype=float).view(np.int64)


# ---- the SMM before this change, operation for operation: the reference for the new one


def _old_smm(units, speed, ages, periods, out=None):
    loan_age = ages[:, None] + np.arange(1, periods + 1)[None, :]
    speed = speed[:, None, :]
    units = np.asarray(units)[:, None, None]
    if out is None:
        out = np.empty((len(units), len(ages), periods))
    cpr_from_psa(speed, loan_age[None, :, :], out=out)
    np.copyto(out, speed / 100.0, where=units != "PSA")
    smm_from_cpr(out, out=out)
    np.copyto(out, np.clip(speed / 100.0, 0.0, 1.0), where=units == "SMM")
    return out


def _old_constant_smm(speeds, units, ages, periods):
    ages = np.asarray(ages, dtype=float)
    speeds = np.asarray(speeds, dtype=float)
    flat_from = int(np.ceil(30.0 - ages.min(initial=30.0))) + 1
    width = min(periods, max(1, flat_from))
    out = np.empty((len(speeds), len(ages), periods))
    part = _old_smm(np.broadcast_to(np.asarray(units), speeds.shape), speeds[:, None], ages, width,
                    out[:, :, :width])
    out[:, :, width:] = part[:, :, width - 1:]
    return out


def _old_smm_matrix(prepayments, ages, periods):
    ages = np.asarray(ages, dtype=float)
    out = np.empty((len(prepayments), len(ages), periods))
    constant = [i for i, p in enumerate(prepayments) if p.kind == "constant"]
    other = [i for i, p in enumerate(prepayments) if p.kind != "constant"]
    if constant:
        speed = np.array([prepayments[i].values[0] for i in constant])
        out[constant] = _old_constant_smm(speed, [prepayments[i].unit for i in constant], ages, periods)
    if other:
        speed = np.stack([prepayments[i].path(periods) for i in other])
        out[other] = _old_smm([prepayments[i].unit for i in other], speed, ages, periods)
    return out


@pytest.mark.parametrize("ages", [[3.0], [0.0, 12.0], [40.0], [3.0, 29.0, 0.0]])
@pytest.mark.parametrize("periods", [1, 5, 27, 40, 360])
def test_smm_matrix_is_the_same_to_the_bit(ages, periods):
    rng = np.random.default_rng(periods + len(ages))
    ages = np.array(ages)
    grids = [
        MIXED,
        [p for p in MIXED if p.kind == "constant"],
        [Prepayment.constant(v, "PSA") for v in rng.uniform(0, 3000, 50)],
        [Prepayment.constant(v, "CPR") for v in rng.uniform(0, 100, 50)],
        [Prepayment.constant(v, "SMM") for v in rng.uniform(0, 100, 50)],
        [Prepayment.constant(v, u)
         for v, u in zip(rng.uniform(0, 100, 60), ["PSA", "CPR", "SMM"] * 20, strict=True)],
        [Prepayment.vector(list(rng.uniform(0, 500, 7)), "PSA") for _ in range(5)],
        [Prepayment.ramp(0, 30, 12, "CPR"), Prepayment.constant(150, "PSA")],
    ]
    for grid in grids:
        assert (bits(smm_matrix(grid, ages, periods)) == bits(_old_smm_matrix(grid, ages, periods))).all()


@pytest.mark.parametrize("units", ["PSA", "CPR", "SMM", ["PSA", "CPR", "SMM", "PSA"], ["CPR"] * 4])
def test_constant_smm_is_the_same_to_the_bit(units):
    speeds = np.array([0.0, 12.5, 99.0, 100.0])
    ages = np.array([3.0, 17.0])
    got = constant_smm(speeds, units, ages, 60)
    assert (bits(got) == bits(_old_constant_smm(speeds, units, ages, 60))).all()


def test_the_kernels_smm_arrays_are_the_same_to_the_bit():
    ages = np.array([3.0, 8.0])
    for grid in (MIXED, [p for p in MIXED if p.kind == "constant"], MIXED[8:]):
        smm_const, row, paths = compiled_module.smm_arrays(grid, ages, 100)
        width = smm_const.shape[2]
        for s, p in enumerate(grid):
            want = _old_smm_matrix([p], ages, 100)[0]
            if row[s] < 0:
                assert (bits(smm_const[s]) == bits(want[:, :width])).all()
                assert (want[:, width:] == want[:, width - 1:width]).all()  # (flat from there)
            else:
                assert (bits(paths[row[s]]) == bits(want)).all()


# ---- resolution: arrays, and the same scenarios and errors as one by one


def test_speeds_alone_resolve_to_speed_scenarios_equal_to_the_list():
    got = scenario_list(SEQ, list(MIXED))
    assert isinstance(got, SpeedScenarios)
    want = [Scenario(p) for p in MIXED]
    assert got == want and list(got) == want and resolve_scenarios(SEQ, list(MIXED)) == want
    assert len(got) == len(want)
    assert got[0] == want[0] and got[-1] == want[-1]
    assert got[3:9] == want[3:9] and isinstance(got[3:9], SpeedScenarios)
    assert labels_of(got) == [s.label for s in want]
    assert labels_of(got)[-2:] == ["fast", "300 PSA"]
    assert prepayments_of(got) == list(MIXED)


def test_anything_else_resolves_one_by_one():
    named = Scenario(Prepayment.constant(150, "PSA"), name="base")
    for speeds in ([named, *MIXED], [*MIXED, "165 PSA"], ["100 PSA", "6 CPR"]):
        got = scenario_list(SEQ, speeds)
        assert not isinstance(got, SpeedScenarios)
    got = scenario_list(SEQ, [MIXED[0], named, "6 CPR"])
    assert got == [Scenario(MIXED[0]), named, Scenario(Prepayment.constant(6, "CPR"))]


EDGE = [0.0, -0.0, 1e-300, 100.0, np.nextafter(100.0, 200.0), 101.0, MAX_PSA,
        np.nextafter(MAX_PSA, 2 * MAX_PSA),
        -1e-300, -5.0, float("nan"), float("inf"), -float("inf")]


def _one_by_one_ok(prepayments) -> bool:
    try:
        for p in prepayments:
            validate_assumption(p)
    except InputError:
        return False
    return True


@pytest.mark.parametrize("unit", ["PSA", "CPR", "SMM"])
@pytest.mark.parametrize("value", EDGE)
def test_all_valid_agrees_with_validate_speed(unit, value):
    for p in (Prepayment.constant(value, unit), Prepayment.vector([1.0, value, 2.0], unit),
              Prepayment.ramp(value, 1.0, 12, unit)):
        grid = [Prepayment.constant(50, "CPR"), p, Prepayment.constant(150, "PSA")]
        assert all_valid(grid) == _one_by_one_ok(grid)


def test_all_valid_refuses_what_validation_refuses():
    assert not all_valid([Prepayment("XYZ", "constant", (1.0,))])
    assert not all_valid([Prepayment("PSA", "constant", ("fast",))])  # type: ignore[arg-type]
    assert all_valid([])


@pytest.mark.parametrize("bad,message", [
    (Prepayment.constant(-1, "PSA"), "a prepayment speed cannot be negative (-1 PSA)"),
    (Prepayment.constant(120, "CPR"), "120 CPR is more than 100%"),
    (Prepayment.vector([1, float("nan")], "SMM"), "'nan SMM' is not a prepayment speed"),
    (Prepayment.constant(2 * MAX_PSA, "PSA"), "200000 PSA is not a plausible speed"),
    (Prepayment("FOO", "constant", (1.0,)), "'FOO' is not a prepayment unit"),
])
def test_a_bad_speed_in_a_grid_fails_with_its_own_message(bad, message):
    grid = [Prepayment.constant(v, "PSA") for v in range(20)]
    grid.insert(7, bad)
    grid.append(Prepayment.constant(-7, "CPR"))  # (a later bad speed: the first one is named)
    with pytest.raises(InputError) as one:
        validate_assumption(bad)
    assert message in str(one.value)
    for call in (lambda: SEQ.run(*grid), lambda: structurer.summarise(SEQ, grid),
                 lambda: resolve_scenarios(SEQ, grid)):
        with pytest.raises(InputError) as got:
            call()
        assert str(got.value) == str(one.value)


def test_validate_speed_is_what_all_valid_mirrors():
    # all_valid restates validate_speed's limits: if these move, it must move with them.
    validate_speed(MAX_PSA, "PSA")
    validate_speed(100.0, "CPR")
    validate_speed(100.0, "SMM")
    for value, unit in ((np.nextafter(MAX_PSA, 2 * MAX_PSA), "PSA"), (np.nextafter(100.0, 200.0), "CPR"),
                        (np.nextafter(100.0, 200.0), "SMM"), (-1e-300, "PSA")):
        with pytest.raises(InputError):
            validate_speed(value, unit)


# ---- runs: the fast path and the object-by-object path give the same numbers


@pytest.mark.parametrize("name", ["sequential", "pac", "floater", "two_pool", "accrual"])
def test_a_run_of_speeds_equals_a_run_of_their_scenarios_to_the_bit(name):
    deal = structurer.load(DEALS_DIR / f"{name}.waterfall")
    fast = deal.run(*MIXED)
    slow = deal.run(*[Scenario(p) for p in MIXED])  # (Scenario objects: resolved one by one)
    assert isinstance(fast.scenario_specs, SpeedScenarios)
    assert not isinstance(slow.scenario_specs, SpeedScenarios)
    assert fast.scenarios == slow.scenarios
    assert fast.prepayments == slow.prepayments == list(MIXED)
    for t in deal.classes:
        a, b = fast.arrays(t.name), slow.arrays(t.name)
        for key in ("principal", "interest", "ending_balance", "coupon"):
            assert (bits(a[key]) == bits(b[key])).all(), (t.name, key)
    assert (bits(fast.collateral.principal) == bits(slow.collateral.principal)).all()


def test_a_summary_of_speeds_equals_one_of_their_scenarios_to_the_bit():
    fast = structurer.summarise(SEQ, MIXED, rates=[0.05, 0.06], chunk=5)
    slow = structurer.summarise(SEQ, [Scenario(p) for p in MIXED], rates=[0.05, 0.06], chunk=5)
    assert fast.scenarios == slow.scenarios
    for m in ("wal", "total_interest", "total_principal", "final_balance", "pv"):
        assert np.array_equal(getattr(fast, m), getattr(slow, m), equal_nan=True)


def test_index_paths_are_each_scenarios_own():
    names = FLOATER.index_names
    low, high = RatePath.level(0.01), RatePath("vector", (0.02, 0.03))
    scenarios = [Scenario(MIXED[0]), Scenario(MIXED[1], ((names[0], low),)), Scenario(MIXED[2]),
                 Scenario(MIXED[3], ((names[0], high),)), Scenario(MIXED[4], ((names[0], low),))]
    got = scenario_index_rates(FLOATER, scenarios)
    want = np.stack([s.index_paths(FLOATER.indices, names, FLOATER.periods) for s in scenarios])
    assert got.shape == want.shape and (bits(got) == bits(want)).all()
    plain = scenario_index_rates(FLOATER, SpeedScenarios(list(MIXED)))
    want = np.stack([Scenario(p).index_paths(FLOATER.indices, names, FLOATER.periods) for p in MIXED])
    assert (bits(plain) == bits(want)).all()
    plain[0, 0, 0] = -1.0  # (each scenario its own row: writing one leaves the others)
    assert plain[1, 0, 0] == want[1, 0, 0]


# ---- what is kept from run to run


def test_discount_months_are_kept_by_their_dates_and_read_only():
    seen = {}
    for settle, first, periods in ((dt.date(2026, 1, 30), dt.date(2026, 2, 25), 360),
                                   (dt.date(2026, 1, 15), dt.date(2026, 2, 25), 360),
                                   (dt.date(2026, 1, 30), dt.date(2026, 3, 25), 360),
                                   (dt.date(2026, 1, 30), dt.date(2026, 2, 25), 120)):
        got = summary_module._discount_months(settle, first, periods)
        want = pricing.discount_months(settle, payment_dates(first, periods))
        assert (bits(got) == bits(want)).all()
        assert not got.flags.writeable
        seen[(settle, first, periods)] = got
    assert summary_module._discount_months(dt.date(2026, 1, 30), dt.date(2026, 2, 25), 360) is \
        seen[(dt.date(2026, 1, 30), dt.date(2026, 2, 25), 360)]
    assert len({id(v) for v in seen.values()}) == 4


def test_a_summary_discounts_on_its_own_deals_dates():
    # Two deals alike but for settlement: the kept months are each one's own.
    text = (DEALS_DIR / "sequential.waterfall").read_text()
    assert "settle 2027-01-30" in text
    other = structurer.loads(text.replace("settle 2027-01-30", "settle 2027-01-05"), "other.waterfall")
    a = structurer.summarise(SEQ, ["165 PSA"], rates=[0.05])
    b = structurer.summarise(other, ["165 PSA"], rates=[0.05])
    c = structurer.summarise(SEQ, ["165 PSA"], rates=[0.05])
    assert not np.array_equal(a.pv, b.pv)
    assert np.array_equal(a.pv, c.pv)
    months = pricing.discount_months(other.settle, payment_dates(other.first_payment, other.periods))
    discount = (1.0 + pricing.mortgage_from_bey(np.array([0.05]))[:, None] / 12.0) ** (-months)
    run = other.run("165 PSA")
    cash = run.arrays("A")["interest"][0] + run.arrays("A")["principal"][0]
    j = b.classes.index("A")
    assert b.pv[0, j, 0] == pytest.approx(float((cash * discount[0]).sum()), rel=1e-12)


def test_the_shared_empty_kernel_arguments_stay_empty():
    for args in (compiled_module._no_credit(), compiled_module._no_enhancement()):
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        assert arrays and all(a.size == 0 for a in arrays)
    assert compiled_module._no_credit() is compiled_module._no_credit()
    SEQ.run(*MIXED)  # (a run does not write into them)
    assert all(a.size == 0 for a in compiled_module._no_credit() if isinstance(a, np.ndarray))


def test_the_overhead_benchmark_prints_its_figures(capsys):
    with script_module(DEALS_DIR.parent / "benchmarks" / "bench_overhead.py", "bench_overhead") as bench:
        assert bench.main(["--sizes", "1,3", "--deals", "sequential,pac", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    for line, (deal, n) in zip(lines[1:], [("sequential", 1), ("sequential", 3), ("pac", 1), ("pac", 3)],
                               strict=True):
        words = line.replace("|", " ").split()
        assert words[:2] == [deal, str(n)]
        figures = [float(w) for w in words[2:]]
        assert len(figures) == 8 and all(f >= 0 or i in (2, 3, 6, 7) for i, f in enumerate(figures))
        assert figures[1] <= figures[0] and figures[5] <= figures[4]  # (the kernel is inside the call)
