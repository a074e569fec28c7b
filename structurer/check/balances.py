"""Pass: every dollar of collateral principal belongs to exactly one class with principal.

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
    if abs(total - coll) > MONEY_TOLERANCE:
        diff = total - coll
        word = "more" if diff > 0 else "less"
        ck.error(f"the class balances add up to {total:,.2f}, {abs(diff):,.2f} {word} than the "
                 f"collateral balance of {coll:,.2f}", file.classes[0].span,
                 "the classes must account for every dollar of collateral principal")
        return
    ck.balanced = True
