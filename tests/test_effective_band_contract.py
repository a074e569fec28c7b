"""effective_band's contract on random deals, histories and tolerances, whatever the probes'
placement: each edge reported is a speed that was run over the whole search horizon and holds
(through the public API, deal.run), the speed `tol` beyond it does not, and the bracket left is
at most `tol` wide. The placement of the probes (solve._edge_guess, solve._edge_probes) only
decides how fast the brackets shrink; this is what it must not change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import structurer
from structurer.errors import InputError
from structurer.model.prepayment import Prepayment
from structurer.structuring import solve

DEALS = Path(__file__).resolve().parent.parent / "deals"
CASES = [("pac", "P"), ("pac_tiers", "PA"), ("pac_tiers", "PB"), ("pac_tiers", "P2")]
_LOADED: dict[str, structurer.Deal] = {}


def _deal(name: str) -> structurer.Deal:
    if name not in _LOADED:
        _LOADED[name] = structurer.load(DEALS / f"{name}.waterfall")
    return _LOADED[name]


def holds(deal: structurer.Deal, name: str, after: int, at: float, speed: float) -> bool:
    """On schedule to a cent in every period after `after` months at `at`, then `speed`."""
    balance = deal.run(Prepayment.vector([at] * after + [speed], "PSA")).arrays(name)["ending_balance"][0]
    schedule = deal.schedules[deal.tranche(name).index]
    return bool(np.abs(balance[after:] - schedule[after:]).max() <= solve.SCHEDULE_TOLERANCE)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), after=st.integers(0, 48),
       at=st.floats(50.0, 600.0).map(lambda x: round(x, 1)), tol=st.sampled_from([1e-6, 1e-3, 0.05]))
def test_each_edge_was_run_and_holds_and_the_speed_tol_beyond_does_not(
        case: tuple[str, str], after: int, at: float, tol: float) -> None:
    deal_name, name = case
    deal = _deal(deal_name)
    ran: list[tuple[float, int]] = []  # (speed, periods) of every row the search ran
    original = solve.constant_smm

    def recorded(speeds, units, ages, periods, out=None):  # type: ignore[no-untyped-def]
        ran.extend((float(s), int(periods)) for s in np.atleast_1d(speeds))
        return original(speeds, units, ages, periods, out)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solve, "constant_smm", recorded)
        try:
            result = solve.effective_band(deal, name, after, at, tol=tol)
        except InputError:
            event("no band")
            return  # retired or busted: effective_band's own tests check those messages
    low, high = result.value
    event("a band")
    assert result.converged and result.error <= tol and result.details["monotonic"]
    assert result.achieved <= solve.SCHEDULE_TOLERANCE
    horizon = max(p for _, p in ran)
    in_full = {s for s, p in ran if p == horizon}
    lo_lim, hi_lim = solve.BAND_LIMITS
    for edge, outward, limit in ((low, -1.0, lo_lim), (high, 1.0, hi_lim)):
        assert edge == limit or edge in in_full  # run (the limits by the first grid)
        assert holds(deal, name, after, at, edge)
        if edge != limit:
            assert not holds(deal, name, after, at, edge + outward * tol)


@pytest.mark.parametrize("ages", [[3.0], [0.0, 12.0], [29.0, 40.0]])
@pytest.mark.parametrize(("after", "span"), [(0, 60), (1, 60), (24, 349), (40, 41)])
def test_the_second_leg_from_the_loans_age_then_is_the_same_smm(ages: list[float], after: int,
                                                                span: int) -> None:
    """effective_bands computes a row's SMM after its first leg from the loans' age then (PSA's
    ramp is mostly over): the very numbers of those columns computed from the start."""
    speeds = np.array([0.0, 1e-6, 90.0, 165.0, 333.3333, 2000.0])
    ages_now = np.array(ages)
    whole = solve.constant_smm(speeds, "PSA", ages_now, span)
    np.testing.assert_array_equal(solve.constant_smm(speeds, "PSA", ages_now + after, span - after),
                                  whole[:, :, after:])


def _distances(speeds: np.ndarray, edge: float, side: float, b: float, c: float) -> np.ndarray:
    """A distance from the schedule [run, 1] that is nil inside the band and, outside it (on
    `side` of `edge`), reaches the cent at `edge` and grows as b D + c D^2 beyond."""
    d = (speeds - edge) * side
    return np.where(d > 0, solve.SCHEDULE_TOLERANCE + b * d + c * d * d, 0.0)[:, None]


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_the_parabola_through_three_distances_finds_a_quadratic_edge(side: float) -> None:
    edge = 101.8678
    speeds = edge + side * np.array([0.3, 0.2, 0.25, 5.0, -1.0, -2.0])
    misses = _distances(speeds, edge, side, 243.0, 5600.0)
    bracket = (edge + side * 0.2, edge - side * 1.0)  # (bad, good)
    guess, error = solve._edge_guess(bracket, 0, speeds, misses)
    assert guess == pytest.approx(edge, abs=1e-9)
    assert error is not None and error >= solve.EDGE_KINK * 0.2 * 0.99  # a tenth of its reach
    # Its probes bracket the edge within tol of the guess, and stay inside the bracket.
    tol = 1e-6
    pts = solve._edge_probes(bracket, guess, error, tol)
    assert (pts > min(bracket)).all() and (pts < max(bracket)).all() and (np.diff(pts) > 0).all()
    assert ((pts > edge) & (pts - edge < tol)).any() and ((pts < edge) & (edge - pts < tol)).any()


def test_no_crossing_takes_the_parabola_s_lowest_point_and_none_gives_the_middle() -> None:
    # Three distances whose parabola never falls to the cent (it bottoms out at 1 dollar near
    # 100): its lowest point is the guess, off by about the parabola's half width there.
    speeds = np.array([101.0, 102.0, 103.0])
    misses = (1.0 + solve.SCHEDULE_TOLERANCE + (speeds - 100.0) ** 2)[:, None]
    guess, error = solve._edge_guess((101.0, 95.0), 0, speeds, misses)
    assert guess == pytest.approx(100.0) and error == pytest.approx(1.0)
    # Two distances only: the secant, its error unknown; none: the bracket's middle.
    guess, error = solve._edge_guess((101.0, 95.0), 0, speeds[:2], misses[:2])
    assert 95.0 < guess < 101.0 and error is None
    assert solve._edge_guess((101.0, 95.0), 0, speeds[:0], misses[:0]) == (98.0, None)
