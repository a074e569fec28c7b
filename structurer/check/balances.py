"""Pass: every dollar of collateral principal belongs to exactly one class with principal (or,
in an overcollateralized deal, to its overcollateralization).

Also decides whether the deal-wide proofs can run at all: they need every pool and class to
have checked without error (`ck.clean`).
"""

from __future__ import annotations

from .context import MONEY_TOLERANCE, Checker


def check_balances(ck: Checker) -> None:
    file = ck.file
    # Every pool declaration checked (a loan tape's is one declaration for its many rep-lines).
    ck.clean = bool(ck.all_classes_ok and ck.pools and ck.pools_declared_ok == len(file.pools)
                    and not ck.errors)
    if not ck.clean:
        return
    coll = sum(p.balance for p in ck.pools)
    owners = [c for c in ck.classes if c.on_books]
    total = sum(c.balance for c in owners)
    wf = file.waterfall
    oc = wf.overcollateralization if wf is not None and not file.groups else None
    if oc is not None and total > coll + MONEY_TOLERANCE:
        ck.error(f"the deal is overcollateralized, but its class balances add up to {total:,.2f}, "
                 f"{total - coll:,.2f} more than the collateral balance of {coll:,.2f}", oc.span,
                 "overcollateralization is the collateral less the classes: make the classes smaller")
        return
    # An overcollateralized deal's classes may add up to less than the collateral: the difference
    # is its overcollateralization at closing (check/enhancement.py).
    if abs(total - coll) > MONEY_TOLERANCE and not (oc is not None and total < coll):
        diff = total - coll
        word = "more" if diff > 0 else "less"
        ck.error(f"the class balances add up to {total:,.2f}, {abs(diff):,.2f} {word} than the "
                 f"collateral balance of {coll:,.2f}", file.classes[0].span,
                 "the classes must account for every dollar of collateral principal")
        return
    ck.balanced = True
