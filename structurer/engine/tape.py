"""A loan tape projected loan by loan: each loan its own level payment, remaining term, age and
speed (a PSA speed read at each loan's own age), by the same standard formulas as a rep-line
pool (engine/collateral.py), summed into the pool's cash flows [scenario, period].

Memory: the [scenario, loan, period] cube of a million loans is terabytes at 10 speeds, so it
is never built. A numba loop walks each loan's months and adds them to the pool's totals; the
only arrays are the tape's columns, the totals and an SMM table.

Speed: a loan's SMM depends only on its age (capped at 30 months, where the PSA curve is flat)
and the period, so the SMM of every loan is read from a table [scenario, age 0..29, period]
computed by engine/prepayment.smm_matrix, the same numbers as computing it loan by loan. The
level payment's (1 + r)^n is carried from month to month by one division, not a power.
"""

from __future__ import annotations

import numpy as np

from ..model.prepayment import Prepayment
from ..model.tape import LoanTape
from .collateral import CollateralFlows
from .kernel import CACHE, njit, prange
from .prepayment import smm_matrix

# Totals the loop keeps per period, in this order.
_BEGIN, _INTEREST, _SCHEDULED, _PREPAY, _END, _FEE, _SMM_WEIGHTED = range(7)
_FIELDS = 7
# Loans are split in this many blocks, each adding to its own totals (threads write no shared
# cell); the blocks' totals are added at the end.
BLOCKS = 16
AGE_ROWS = 30  # the PSA curve is flat from month 30 of age


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _tape_loop(balance: np.ndarray, rate_m: np.ndarray, net_m: np.ndarray, remaining: np.ndarray,
               age_row: np.ndarray, smm_table: np.ndarray, blocks: int) -> np.ndarray:
    n_scen, _, periods = smm_table.shape
    n_loans = balance.size
    out = np.zeros((blocks, _FIELDS, n_scen, periods))
    size = (n_loans + blocks - 1) // blocks
    for j in prange(blocks):
        acc = out[j]
        for s in range(n_scen):
            for i in range(j * size, min(n_loans, (j + 1) * size)):
                b = balance[i]
                r = rate_m[i]
                net = net_m[i]
                n = remaining[i]
                k = age_row[i]
                growth = (1.0 + r) ** n  # (1 + r)^(months left), divided by (1 + r) each month
                for t in range(periods):
                    left = n - t
                    if left < 1 or b <= 0.0:
                        break
                    if left == 1:
                        a = 1.0
                    elif r > 0.0:
                        a = r / (growth - 1.0)
                    else:
                        a = 1.0 / left
                    if a > 1.0:
                        a = 1.0
                    growth /= 1.0 + r
                    sched = b * a
                    smm = smm_table[s, k, t]
                    rest = b - sched
                    pre = smm * rest
                    acc[_BEGIN, s, t] += b
                    acc[_INTEREST, s, t] += b * net
                    acc[_FEE, s, t] += b * (r - net)
                    acc[_SCHEDULED, s, t] += sched
                    acc[_PREPAY, s, t] += pre
                    acc[_SMM_WEIGHTED, s, t] += smm * b
                    b = rest - pre  # never below zero: sched <= b and pre <= rest
                    acc[_END, s, t] += b
    return out.sum(axis=0)


def project_tape(tape: LoanTape, prepayments: list[Prepayment],
                 periods: int | None = None) -> CollateralFlows:
    """The tape's cash flows [scenario, period], summed over loans, under each assumption.

    `by_pool` holds the same totals as one pool [scenario, 1, period], the shape a rep-line
    pool's flows have, so that what reads a pool's flows reads a tape's."""
    if periods is None:
        periods = max(int(tape.remaining_term.max(initial=0)), 1)
    table = np.ascontiguousarray(smm_matrix(prepayments, np.arange(AGE_ROWS, dtype=float), periods))
    age_row = np.minimum(tape.age, AGE_ROWS - 1).astype(np.int64)
    sums = _tape_loop(np.ascontiguousarray(tape.balance, dtype=float), tape.note_rate / 1200.0,
                      tape.net_rate / 1200.0, tape.remaining_term.astype(np.int64), age_row, table,
                      BLOCKS)
    begin, scheduled, prepay = sums[_BEGIN], sums[_SCHEDULED], sums[_PREPAY]
    # The tape's SMM is what its totals imply, prepayment / (beginning balance - scheduled); in a
    # month where that base is zero (every loan's last month) it is the assumed SMM weighted by
    # beginning balance, so the last month shows the rate, not 0.
    base = begin - scheduled
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = np.where(begin > 0, sums[_SMM_WEIGHTED] / np.where(begin > 0, begin, 1.0), 0.0)
        smm = np.where(base > 0, prepay / np.where(base > 0, base, 1.0), fallback)
    by_pool = {"beginning_balance": begin[:, None, :], "interest": sums[_INTEREST][:, None, :],
               "scheduled_principal": scheduled[:, None, :], "prepayment": prepay[:, None, :],
               "ending_balance": sums[_END][:, None, :]}
    return CollateralFlows(beginning_balance=begin, interest=sums[_INTEREST], scheduled_principal=scheduled,
                           prepayment=prepay, ending_balance=sums[_END], servicing_fee=sums[_FEE],
                           smm=smm[:, None, :], by_pool=by_pool)


def principal_wal(flows: CollateralFlows) -> np.ndarray:
    """Weighted average life in years of the collateral's principal, per scenario."""
    principal = flows.principal
    t = np.arange(1, principal.shape[1] + 1) / 12.0
    total = principal.sum(axis=1)
    return np.where(total > 0, principal @ t / np.where(total > 0, total, 1.0), 0.0)


def aggregation_wal_difference(tape: LoanTape, pools: list, prepayments: list[Prepayment]) -> np.ndarray:
    """WAL of the rep-lines less the WAL of the loans projected one by one, in years, per
    assumption: what an aggregation rule changed."""
    from .collateral import collateral_flows  # the rep-lines' flows, as the engine computes them

    periods = max(int(tape.remaining_term.max(initial=0)), max(p.remaining for p in pools), 1)
    ages = np.array([p.age for p in pools], dtype=float)
    lines = collateral_flows(pools, smm_matrix(prepayments, ages, periods))
    return principal_wal(lines) - principal_wal(project_tape(tape, prepayments, periods))
