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
