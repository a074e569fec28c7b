"""The solvers' short cuts: each gives what the long way gives.

The solvers run rebuilt deals on SMM and index paths made once (solve._Runs), recompute PAC/TAC
schedules from band flows projected once (solve._Schedules), guess size_for_wal's answer from
a truncated principal stream and place effective_band's probes by a secant. Here each short
cut is compared with the public API it stands for, and the engine runs each solver makes are
counted, so a change that quietly goes back to the long way shows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.engine import prepayment
from structurer.engine.prepayment import constant_smm, smm_matrix
from structurer.engine.schedules import compute_schedules
from structurer.model.curve import make_curve
from structurer.model.prepayment import Prepayment
from structurer.structuring import solve

DEALS = Path(__file__).resolve().parent.parent / "deals"
SEQUENTIAL = DEALS / "sequential.waterfall"
PAC = DEALS / "pac.waterfall"
TIERS = DEALS / "pac_tiers.waterfall"
FIELDS = ("beginning_balance", "interest", "accrued", "principal", "ending_balance", "shortfall",
          "residual_interest", "residual_principal")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The scenario counts of the engine runs the solvers make, one entry per run."""
    made: list[int] = []
    original = solve.run_smm

    def counted(deal, smm, *rest, **kw):  # type: ignore[no-untyped-def]
        made.append(smm.shape[0])
        return original(deal, smm, *rest, **kw)

    monkeypatch.setattr(solve, "run_smm", counted)
    return made


@pytest.mark.parametrize("path", sorted(DEALS.glob("*.waterfall")), ids=lambda p: p.stem)
def test_runs_on_speeds_made_once_are_the_deal_run(path: Path) -> None:
    deal = structurer.load(path)
    scen = solve._scenario(deal, None)
    runs = solve._Runs(deal, scen)
    for _ in range(2):  # the second run reuses the SMM, the index paths (and the interpreter's collateral)
        mine, public = runs.run(deal), deal.run(scen)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(mine.flows, name), getattr(public.flows, name),
                                          err_msg=name)
        assert mine.scenarios == public.scenarios


@pytest.mark.parametrize("path", [PAC, TIERS], ids=lambda p: p.stem)
def test_schedules_from_band_flows_made_once_are_compute_schedules(path: Path) -> None:
    deal = structurer.load(path)
    schedule = solve._Schedules(deal)
    rng = np.random.default_rng(7)
    for _ in range(5):
        classes = tuple(c if c.index not in deal.schedules
                        else dataclasses.replace(c, balance=c.balance * rng.uniform(0.5, 1.2))
                        for c in deal.classes)
        mine, theirs = solve._tiers(deal, classes), solve._tiers(deal, classes)
        got = schedule(mine)
        want = compute_schedules(deal.pools, solve._strips(classes), theirs, deal.periods)
        assert got.keys() == want.keys()
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
        assert [t.capacity for t in mine] == [t.capacity for t in theirs]


@pytest.mark.parametrize(("path", "first", "second"),
                         [(PAC, "P", "S"), (TIERS, "PA", "S"), (TIERS, "PB", "S"), (TIERS, "P2", "S")])
def test_band_fits_of_many_splits_at_once_are_each_split_rebuilt(path: Path, first: str, second: str) -> None:
    deal = structurer.load(path)
    schedule = solve._Schedules(deal)
    a, b = deal.tranche(first), deal.tranche(second)
    total = a.balance + b.balance
    xs = np.linspace(1.0, total - 1.0, 97)
    table = np.repeat(np.array([c.balance for c in deal.classes])[None, :], len(xs), axis=0)
    table[:, a.index], table[:, b.index] = xs, total - xs
    fits = schedule.fits(solve._tiers(deal, deal.classes), table)

    def one(x: float) -> bool:
        try:
            solve.rebuild(deal, balances={first: x, second: total - x})
        except solve._Infeasible:
            return False
        return True

    assert list(fits) == [one(x) for x in xs]
    assert fits.any() and not fits.all()  # the grid crosses a band's limit


def test_size_for_wal_guesses_a_sequential_split_in_one_run(runs: list[int]) -> None:
    deal = structurer.load(SEQUENTIAL)
    target = float(solve.rebuild(deal, balances={"A": 120e6, "B": 110.5e6}).run().wal("A")[0])
    result = solve.size_for_wal(deal, "A", "B", target)
    assert result.converged and abs(result.error) <= solve.WAL_TOLERANCE
    assert result.value == pytest.approx(120e6, abs=2.0)
    assert runs == [1, 1, 1]  # the two ends and the guess; the answer is not run again
    assert result.details["evaluations"] == 3
    # The deal returned is the one that was run, and runs as the public API says.
    assert float(result.deal.run().wal("A")[0]) == pytest.approx(target, abs=solve.WAL_TOLERANCE)


def test_size_for_wal_guesses_a_pac_split_in_one_run(runs: list[int]) -> None:
    deal = structurer.load(PAC)
    target = float(solve.rebuild(deal, balances={"P": 200e6, "S": 200e6}).run().wal("P")[0])
    result = solve.size_for_wal(deal, "P", "S", target)
    assert result.converged
    assert result.value == pytest.approx(200e6, abs=5.0)
    assert len(runs) == 3


def test_size_for_wal_falls_back_to_brent_when_the_guess_does_not_hold(runs: list[int]) -> None:
    # B is paid after A: B at balance x is paid the last x dollars of the pair's stream, not the
    # first, so the truncation guess misses and Brent finishes, from a narrower bracket.
    deal = structurer.load(SEQUENTIAL)
    total = deal.tranche("A").balance + deal.tranche("B").balance
    target = float(solve.rebuild(deal, balances={"B": 60e6, "A": total - 60e6}).run().wal("B")[0])
    result = solve.size_for_wal(deal, "B", "A", target)
    assert result.converged
    assert float(result.deal.run().wal("B")[0]) == pytest.approx(target, abs=solve.WAL_TOLERANCE)
    assert result.value == pytest.approx(60e6, rel=1e-6)
    assert len(runs) == result.details["evaluations"] > 3


def test_truncation_guess_is_exact_for_a_stream_paid_first() -> None:
    paid = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    x = solve._truncation_guess(paid, 100.0, 1.0, 100.0, target=(2 * 10 + 3 * 20 + 4 * 5) / (12 * 35))
    assert x == pytest.approx(35.0, abs=1e-8)
    assert solve._truncation_guess(np.array([5.0, -1.0, 4.0]), 8.0, 1.0, 8.0, 0.1) is None  # accretion


def test_par_coupon_runs_each_coupon_once(runs: list[int]) -> None:
    curve = make_curve("UST", [1, 2, 5, 10, 30], [0.041, 0.040, 0.041, 0.042, 0.045])
    result = solve.par_coupon(structurer.load(SEQUENTIAL), "C", 80, curve)
    assert result.converged
    # Price is affine in a non-accrual coupon: both ends, then the secant lands on par.
    assert runs == [1, 1, 1] and result.details["evaluations"] == 3


def holds(deal: structurer.Deal, name: str, after: int, at: float, speed: float) -> bool:
    """On schedule to a cent after `after` months at `at`, then `speed`: through the public API."""
    balance = deal.run(Prepayment.vector([at] * after + [speed], "PSA")).arrays(name)["ending_balance"][0]
    schedule = deal.schedules[deal.tranche(name).index]
    return bool(np.abs(balance[after:] - schedule[after:]).max() <= 0.01)


@pytest.mark.parametrize(("path", "name", "after"), [(PAC, "P", 24), (TIERS, "PB", 12), (TIERS, "P2", 36)])
def test_effective_band_edges_hold_and_the_speeds_just_outside_do_not(runs: list[int], path: Path,
                                                                      name: str, after: int) -> None:
    deal = structurer.load(path)
    result = solve.effective_band(deal, name, after, 165.0)
    assert result.converged and result.error <= solve.BAND_TOLERANCE
    low, high = result.value
    step = 2 * solve.BAND_TOLERANCE
    assert holds(deal, name, after, 165.0, low) and not holds(deal, name, after, 165.0, low - step)
    assert holds(deal, name, after, 165.0, high) and not holds(deal, name, after, 165.0, high + step)
    # The first grid and a few rounds; the edges reported are speeds already run.
    assert runs[0] == solve.BAND_FIRST_GRID and len(runs) <= 6 and result.iterations == len(runs)


def test_effective_bands_together_are_each_band_alone() -> None:
    deal = structurer.load(TIERS)
    together = solve.effective_bands(deal, ["PA", "PB", "P2"], [0, 12], 165.0)
    for (name, after), found in together.items():
        alone = solve.effective_band(deal, name, after, 165.0)
        assert isinstance(found, solve.SolveResult)
        for a, b in zip(found.value, alone.value, strict=True):  # type: ignore[arg-type]
            assert a == pytest.approx(b, abs=solve.BAND_TOLERANCE)


def _same_search(a: solve.SolveResult | Exception, b: solve.SolveResult | Exception) -> None:
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b) and str(a) == str(b)
        return
    assert (a.value, a.achieved, a.error, a.converged) == (b.value, b.achieved, b.error, b.converged)
    assert a.details == b.details and a.message == b.message


@pytest.mark.parametrize(("after", "at"), [(0, 165.0), (1, 500.0), (24, 165.0), (60, 300.0)])
def test_a_first_look_screened_early_searches_as_every_speed_run_in_full(
        runs: list[int], monkeypatch: pytest.MonkeyPatch, after: int, at: float) -> None:
    # The screen's short runs say only "does not hold"; the speeds a secant reads are run in
    # full, so the search, speed for speed, is the one that runs every grid speed in full.
    deal = structurer.load(PAC)
    screened = solve.effective_band(deal, "P", after, at)
    assert runs[0] == solve.BAND_FIRST_GRID and runs[1] < solve.BAND_FIRST_GRID / 2
    assert screened.iterations == len(runs)
    monkeypatch.setattr(solve, "BAND_SCREEN", 10**6)  # every grid speed in full, in one run
    full = solve.effective_band(deal, "P", after, at)
    _same_search(screened, full)
    assert screened.iterations == full.iterations + 1


@pytest.mark.parametrize(("path", "names", "afters"), [
    (PAC, ["P"], [0, 12, 36, 60, 200]),  # every horizon but the last screened
    (TIERS, ["PA", "PB", "P2", "T"], [0, 12, 36, 60]),  # short runs: the first horizon only
])
def test_many_bands_screened_search_as_run_in_full(monkeypatch: pytest.MonkeyPatch, path: Path,
                                                   names: list[str], afters: list[int]) -> None:
    deal = structurer.load(path)
    screened = solve.effective_bands(deal, names, afters, 165.0, tol=0.1)
    monkeypatch.setattr(solve, "BAND_SCREEN", 10**6)
    full = solve.effective_bands(deal, names, afters, 165.0, tol=0.1)
    assert screened.keys() == full.keys()
    for key, found in screened.items():
        _same_search(found, full[key])


@pytest.mark.parametrize("ages", [[3.0], [0.0, 12.0], [29.0, 40.0], [45.0]])
@pytest.mark.parametrize("periods", [1, 5, 360])
def test_constant_smm_is_every_column_computed(ages: list[float], periods: int) -> None:
    """constant_smm (smm_matrix's constant speeds, the band search's) computes the columns up to
    loan age 30 and repeats the last: the very numbers of the formula in every column."""
    speeds = np.array([0.0, 1e-6, 90.0, 165.0, 333.3333, 2000.0])
    every = prepayment._smm(["PSA"] * len(speeds), speeds[:, None], np.array(ages), periods)
    np.testing.assert_array_equal(constant_smm(speeds, "PSA", np.array(ages), periods), every)
    np.testing.assert_array_equal(
        smm_matrix([Prepayment.constant(s, "PSA") for s in speeds], np.array(ages), periods), every)
