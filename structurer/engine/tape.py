"""A loan tape projected loan by loan: each loan its own level payment, remaining term, age and
speed (a PSA speed read at each loan's own age), by the same standard formulas as a rep-line
pool (engine/collateral.py), summed into the pool's cash flows [scenario, period].

Memory: the [scenario, loan, period] cube of a million loans is terabytes at 10 speeds, so
loans are taken in chunks sized to a fixed number of cells and each chunk's flows are added to
the pool totals; peak memory is a few chunk-sized arrays whatever the tape's size.
"""

from __future__ import annotations

import numpy as np

from ..model.prepayment import Prepayment
from ..model.tape import LoanTape
from .collateral import CollateralFlows, amortization_fraction
from .prepayment import smm_matrix

# Cells (scenario x loan x period) per chunk: ~16 MB per float array; a chunk's working set is
# about ten such arrays.
CHUNK_CELLS = 2_000_000


def project_tape(tape: LoanTape, prepayments: list[Prepayment], periods: int | None = None,
                 chunk_cells: int = CHUNK_CELLS) -> CollateralFlows:
    """The tape's cash flows [scenario, period], summed over loans, under each assumption.

    `by_pool` holds the same totals as one pool [scenario, 1, period], the shape a rep-line
    pool's flows have, so that what reads a pool's flows reads a tape's."""
    if periods is None:
        periods = max(int(tape.remaining_term.max(initial=0)), 1)
    n_scen = len(prepayments)
    names = ("beginning_balance", "interest", "scheduled_principal", "prepayment",
             "ending_balance", "servicing_fee")
    sums = {name: np.zeros((n_scen, periods)) for name in names}
    # The tape's SMM is what its totals imply, prepayment / (beginning balance - scheduled);
    # in a month where that base is zero (every loan's last month) it is the assumed SMM
    # weighted by beginning balance, so that the last month shows the rate, not 0.
    smm_weighted = np.zeros((n_scen, periods))
    per_chunk = max(1, chunk_cells // max(1, n_scen * periods))
    steps = np.arange(periods)
    for lo in range(0, tape.count, per_chunk):
        sl = slice(lo, lo + per_chunk)
        bal0 = tape.balance[sl][None, :, None]
        wac_m = tape.note_rate[sl] / 1200.0
        net_m = (tape.net_rate[sl] / 1200.0)[None, :, None]
        remaining = tape.remaining_term[sl][:, None] - steps[None, :]
        amort = amortization_fraction(wac_m[:, None], remaining)[None, :, :]
        smm = smm_matrix(prepayments, tape.age[sl].astype(float), periods)
        # A loan past its term has a zero balance; its SMM must not matter (it multiplies zero).
        survive = (1.0 - amort) * (1.0 - smm)
        end_factor = np.cumprod(survive, axis=2)
        begin = np.empty_like(end_factor)
        begin[:, :, 0] = 1.0
        begin[:, :, 1:] = end_factor[:, :, :-1]
        begin *= bal0
        scheduled = begin * amort
        prepay = smm * (begin - scheduled)
        sums["beginning_balance"] += begin.sum(axis=1)
        smm_weighted += (smm * begin).sum(axis=1)
        sums["scheduled_principal"] += scheduled.sum(axis=1)
        sums["prepayment"] += prepay.sum(axis=1)
        sums["ending_balance"] += (end_factor * bal0).sum(axis=1)
        sums["interest"] += np.einsum("slp,l->sp", begin, net_m[0, :, 0])
        sums["servicing_fee"] += np.einsum("slp,l->sp", begin, wac_m - net_m[0, :, 0])
    base = sums["beginning_balance"] - sums["scheduled_principal"]
    with np.errstate(divide="ignore", invalid="ignore"):
        begin_total = sums["beginning_balance"]
        fallback = np.where(begin_total > 0, smm_weighted / np.where(begin_total > 0, begin_total, 1.0), 0.0)
        smm_pool = np.where(base > 0, sums["prepayment"] / np.where(base > 0, base, 1.0), fallback)
    by_pool = {name: sums[name][:, None, :] for name in names if name != "servicing_fee"}
    return CollateralFlows(smm=smm_pool[:, None, :], by_pool=by_pool, **sums)


def principal_wal(flows: CollateralFlows) -> np.ndarray:
    """Weighted average life in years of the collateral's principal, per scenario."""
    principal = flows.principal
    t = np.arange(1, principal.shape[1] + 1) / 12.0
    total = principal.sum(axis=1)
    return np.where(total > 0, principal @ t / np.where(total > 0, total, 1.0), 0.0)
