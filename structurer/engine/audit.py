"""The books after a run: cash in equals cash out, balances move by what was paid and accrued,
nothing is negative. A failure is a bug in the engine, never the user's input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..model.deal import Deal
from .collateral import CollateralFlows

if TYPE_CHECKING:
    from .waterfall import ClassFlows

CONSERVATION_RTOL = 1e-9  # relative to the period's collateral cash; the test standard is 1e-6
# Dollars: the OC loss identity reads the collateral's balances, which under defaults agree with
# its principal and losses to ~1e-9 dollars only (engine/defaults.py's rounding once the balance
# is dust), so it is held to a millionth of a dollar beside the relative tolerance.
BALANCE_DUST = 1e-6


class EngineError(AssertionError):
    """Cash created or lost, or a negative balance: a bug in the engine, never the user's input."""


def audit(deal: Deal, coll: CollateralFlows, flows: ClassFlows) -> None:
    """Cash in = cash out in every period and scenario, balances move by what was paid and
    accrued, nothing is negative. Raise EngineError naming the first period that fails."""
    classes = deal.classes
    cash_f = np.array([c.holds_cash for c in classes], dtype=float)
    book_f = np.array([c.on_books for c in classes], dtype=float)
    # Period-major views [period, class, scenario]: sums over classes are vector-matrix products.
    begin, end = flows.beginning_balance.transpose(2, 1, 0), flows.ending_balance.transpose(2, 1, 0)
    interest, principal = flows.interest.transpose(2, 1, 0), flows.principal.transpose(2, 1, 0)
    accrued = flows.accrued.transpose(2, 1, 0)
    resid_int, resid_prin = flows.residual_interest.T, flows.residual_principal.T
    cash_in = np.ascontiguousarray((coll.interest + coll.principal).T)  # [period, scenario]
    tol = CONSERVATION_RTOL * np.maximum(cash_in, 1.0)
    # In place where it can be: these are [period, scenario] arrays, one pass each.
    gap = cash_f @ interest
    gap += cash_f @ principal
    gap += resid_int
    gap += resid_prin
    reimbursed = flows.reimbursed
    if reimbursed is not None:
        # Reimbursed losses are class cash, out of the interest the residual would have had.
        gap += cash_f @ reimbursed.transpose(2, 1, 0)
    gap -= cash_in
    enh = flows.enhancement
    if enh is not None and deal.reserve is not None:
        # The reserve's deposit at closing is cash in of period 1; what it gains or loses in a
        # period is cash out (in) of the waterfall's.
        held = enh["reserve_balance"].T  # [period, scenario]
        gap += held
        gap[1:] -= held[:-1]
        gap[0] -= deal.reserve.initial
    # Principal as the balances see it: what they fell by, plus what accrued onto them.
    moved = book_f @ begin
    moved -= book_f @ end
    moved += book_f @ accrued
    moved -= book_f @ principal
    writedown = flows.writedown
    if writedown is not None:
        # A write-down moves a balance without cash.
        moved -= book_f @ writedown.transpose(2, 1, 0)
    # Written as "not within tolerance" so that a NaN anywhere fails too.
    # Principal may reach the residual only once every class the rules pay has retired.
    # Measured against the deal's size: float rounding leaves a residual of up to ~1e-6 dollars
    # on a 400mm deal in late periods, where the period's own cash is small. The residual rarely
    # gets principal at all, so the balances are looked at only where it does.
    scale = CONSERVATION_RTOL * max(sum(p.balance for p in deal.pools), 1.0)
    # An OC release is principal the residual is due while classes are outstanding.
    leaked = (resid_prin - enh["oc_release"].T if enh is not None else resid_prin) > scale  # [period, scen]
    if deal.groups:
        # A group whose classes are retired leaves principal while another group's classes are
        # outstanding: the leak is judged group by group (_group_checks).
        leaked[:] = False
    if leaked.any():
        owner_f = np.array([c.in_waterfall for c in classes], dtype=float)
        leaked &= (owner_f @ end) > scale
    checks = [
        (~(np.abs(gap, out=gap) <= tol), "cash in differs from cash out"),
        (~(np.abs(moved, out=moved) <= tol),
         "class principal paid differs from the fall in class balances"),
        (~((resid_int >= -tol) & (resid_prin >= -tol)),
         "classes were paid more than the collateral provided"),
        (leaked, "principal went to the residual while a class still had a balance"),
    ]
    coll_losses = getattr(coll, "losses", None)
    if coll_losses is not None:
        # Losses conserved: the collateral's realized losses are the classes' write-downs plus
        # what no class was left to absorb (flows.unallocated_loss, reported, not an error).
        lost = np.ascontiguousarray(coll_losses.T)
        unallocated = flows.unallocated_loss
        if writedown is None or unallocated is None:
            absorbed = np.zeros_like(lost)
        else:
            absorbed = book_f @ writedown.transpose(2, 1, 0) + unallocated.T
            if enh is not None:
                # ... plus what overcollateralization (or the reserve) took.
                absorbed = absorbed + enh["oc_absorbed"].T
                checks.append((~(np.abs(_oc_identity(deal, coll, flows, enh, writedown) - lost)
                                 <= CONSERVATION_RTOL * np.maximum(cash_in, 1.0) + BALANCE_DUST),
                               "the collateral's losses differ from what the write-downs, the "
                               "overcollateralization and the reserve took"))
        checks.append((~(np.abs(absorbed - lost) <= CONSERVATION_RTOL * np.maximum(lost, 1.0)),
                       "the collateral's losses differ from the classes' write-downs"))
        if reimbursed is not None and writedown is not None:
            # Never negative, and never more than the class has lost so far.
            paid_back = reimbursed.transpose(2, 1, 0)
            checks.append((~(paid_back.min(axis=1) >= -tol), "a class was reimbursed a negative amount"))
            written = np.cumsum(writedown.transpose(2, 1, 0), axis=0)
            over = (np.cumsum(paid_back, axis=0) - written).max(axis=1)
            checks.append((~(over <= tol), "a class was reimbursed more than its write-downs"))
        if writedown is not None and not writedown.min() >= -CONSERVATION_RTOL:
            checks.append((~(writedown.transpose(2, 1, 0).min(axis=1) >= -tol),
                           "a class was written down by a negative amount"))
    # Signs: one pass over everything first (the smallest tolerance anywhere is 1e-9 dollars);
    # only a failure, or a NaN, pays for the per-period look that says where.
    smallest = CONSERVATION_RTOL
    if not end.min() >= -smallest:
        checks.append((~(end.min(axis=1) >= -tol), "a class balance went negative"))
    if not min(principal.min(), interest.min()) >= -smallest:
        checks.append((~(np.minimum(principal.min(axis=1), interest.min(axis=1)) >= -tol),
                       "a class was paid a negative amount"))
    if deal.groups and flows.group_residual_interest is not None:
        checks += _group_checks(deal, coll, flows, cash_f, scale)
    problems = []
    for bad, what in checks:
        if bad.any():
            t, s = np.argwhere(bad)[0]
            problems.append(f"{what} (scenario {s + 1}, period {t + 1})")
    if problems:
        raise EngineError("the waterfall does not balance: " + "; ".join(problems))


def _oc_identity(deal: Deal, coll: CollateralFlows, flows: ClassFlows, enh: dict[str, np.ndarray],
                 writedown: np.ndarray) -> np.ndarray:
    """The losses [period, scenario] as the books see them, from balances and cash alone: the fall
    in overcollateralization (collateral less the classes on the books) plus the write-downs,
    the turbo and the reserve's draw for losses paid as principal, less the principal the residual
    took (its release). Equal to the collateral's losses when every dollar is accounted for."""
    book = np.array([c.on_books for c in deal.classes], dtype=float)
    held_begin = np.einsum("c,scp->sp", book, flows.beginning_balance)
    held_end = np.einsum("c,scp->sp", book, flows.ending_balance)
    oc_fall = (coll.beginning_balance - held_begin) - (coll.ending_balance - held_end)
    written = np.einsum("c,scp->sp", book, writedown)
    covered = enh["turbo"] + enh["reserve_loss_draw"]
    return (oc_fall + written + covered - flows.residual_principal).T


def _group_checks(deal: Deal, coll: CollateralFlows, flows: ClassFlows, cash_f: np.ndarray,
                  scale: float) -> list[tuple[np.ndarray, str]]:
    """Collateral groups: each group's books balance on their own. A group's pools' cash plus
    what donor groups' excess brought it equals what its classes were paid, plus what it left to
    the residual, plus what its own excess paid on; nothing it passes on is negative; and no
    principal leaves a group while one of its classes still has a balance."""
    by_pool = coll.by_pool
    pool_principal = by_pool["scheduled_principal"] + by_pool["prepayment"]
    credit = flows.group_unallocated_loss is not None
    if credit:
        # A group's pools' recoveries are its principal.
        pool_principal = pool_principal + by_pool["recoveries"]
    pool_cash = by_pool["interest"] + pool_principal
    paid = flows.interest + flows.principal  # [scenario, class, period]
    if flows.reimbursed is not None:
        paid = paid + flows.reimbursed  # class cash, out of its group's excess interest
    r_int, r_prin = flows.group_residual_interest, flows.group_residual_principal
    x_int, x_prin = flows.cross_interest, flows.cross_principal  # [scenario, group, period]
    end = flows.ending_balance
    book_f = np.array([c.on_books for c in deal.classes], dtype=float)
    # What each class's balance fell by: its principal and write-down, less what accrued onto
    # it (an accrual class's interest, which its group's rules paid on as principal).
    fell = flows.beginning_balance - end  # [scenario, class, period]
    # Measured against the deal's cash in the period, as the deal's own books are: a donor's
    # excess is a difference of its large flows and carries their rounding (~1e-9 dollars) to
    # a target group whose own cash may be nil.
    tol = CONSERVATION_RTOL * np.maximum(coll.interest + coll.principal, 1.0)
    checks: list[tuple[np.ndarray, str]] = []
    for i, g in enumerate(deal.groups):
        cash_in = pool_cash[:, list(g.pools)].sum(axis=1)  # [scenario, period]
        for j, donor in enumerate(deal.groups):
            if donor.interest_to == i:
                cash_in = cash_in + x_int[:, j]
            if donor.principal_to == i:
                cash_in = cash_in + x_prin[:, j]
        members = list(g.classes)
        out = np.einsum("c,scp->sp", cash_f[members], paid[:, members])
        out += r_int[:, i] + r_prin[:, i] + x_int[:, i] + x_prin[:, i]
        label = f"group {g.name}"
        checks.append((~(np.abs(out - cash_in) <= tol).T, f"{label}: cash in differs from cash out"))
        # Principal: the group's pools' balance falls by their principal and realized losses;
        # that is what its classes' balances fell by (principal paid, written down), plus what
        # it passed on or left as principal, less what donor groups' excess brought it as
        # principal, plus any loss its classes were not left to absorb.
        pools = list(g.pools)
        coll_fell = pool_principal[:, pools].sum(axis=1)
        classes_fell = np.einsum("c,scp->sp", book_f[members], fell[:, members])
        moved = classes_fell + r_prin[:, i] + x_prin[:, i]
        for j, donor in enumerate(deal.groups):
            if donor.principal_to == i:
                moved -= x_prin[:, j]
        if flows.cross_interest_principal is not None:
            moved -= flows.cross_interest_principal[:, i]
        if credit:
            lost = by_pool["losses"][:, pools].sum(axis=1)
            coll_fell = coll_fell + lost
            unabsorbed = flows.group_unallocated_loss[:, i]  # type: ignore[index]
            moved += unabsorbed
            written = np.einsum("c,scp->sp", book_f[members], flows.writedown[:, members])  # type: ignore[index]
            checks.append((~(np.abs(written + unabsorbed - lost) <= tol).T,
                           f"{label}: its pools' losses differ from its classes' write-downs"))
            checks.append((~(unabsorbed >= -tol).T, f"{label}: a negative loss was left unabsorbed"))
        checks.append((~(np.abs(moved - coll_fell) <= tol).T,
                       f"{label}: its pools' principal differs from the fall in its classes' balances"))
        passed = np.stack([r_int[:, i], r_prin[:, i], x_int[:, i], x_prin[:, i]]).min(axis=0)
        checks.append((~(passed >= -tol).T, f"{label}: classes were paid more than the group provided"))
        owners = [k for k in members if deal.classes[k].in_waterfall]
        if owners:
            left = (r_prin[:, i] + x_prin[:, i]) > scale
            outstanding = end[:, owners].sum(axis=1) > scale
            checks.append(((left & outstanding).T,
                           f"{label}: principal left the group while one of its classes had a balance"))
    return checks
