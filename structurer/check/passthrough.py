"""Pass: a deal file with collateral and no classes is a pass-through.

The certificate holder of a pass-through receives every dollar the pools pass through: net
interest and all principal, and takes every realized loss. That is one class, `PT`, holding
the whole collateral balance: a fixed coupon when the pools share one net coupon, else the
collateral's net WAC each period (a WAC class). An excess servicing strip, if the pools carry
one, is the class `XS`. The classes and the waterfall are written into the deal file's tree
here, as a structurer would write them, so every later pass, the engine and the report treat
them like any other deal.
"""

from __future__ import annotations

from ..language.nodes import (
    Alloc,
    ClassDecl,
    ClassRef,
    ExcessDecl,
    InterestRule,
    LossesDecl,
    PrincipalRule,
    ProAlloc,
    Quantity,
    TypeWord,
    WaterfallDecl,
)
from .context import Checker

PASS_THROUGH_CLASS = "PT"
EXCESS_CLASS = "XS"


def is_pass_through(ck: Checker) -> bool:
    """Collateral, no classes, no waterfall."""
    file = ck.file
    return bool(file.pools) and not file.classes and file.waterfall is None


def check_pass_through(ck: Checker) -> None:
    if not is_pass_through(ck) or not ck.pools:
        return  # a deal with classes is not one; with no pool that checked there is nothing to pass
    file, span = ck.file, ck.file.header.span
    total = sum(p.balance for p in ck.pools)
    rates = {round(p.net_coupon, 12) for p in ck.pools}
    types = [TypeWord("PT", [], span)]
    coupon = None
    if len(rates) == 1:
        rate = rates.pop() * 100.0
        coupon = Quantity(rate, "%", span, f"{rate:.6g}%")
    else:
        types.append(TypeWord("WAC", [], span))
    pt = ClassDecl(PASS_THROUGH_CLASS, span, "/".join(t.name for t in types), span, types=types,
                   balance=Quantity(total, None, span, f"{total:,.2f}"), coupon=coupon)
    file.classes.append(pt)
    if any(p.excess > 0 for p in ck.pools):
        xs = [TypeWord("IO", [], span)]
        file.classes.append(ClassDecl(EXCESS_CLASS, span, "IO", span, types=xs,
                                      excess=ExcessDecl(None, None, span)))
    alloc = Alloc([ProAlloc([ClassRef(PASS_THROUGH_CLASS, span)], None, span)], span)
    file.waterfall = WaterfallDecl(span, interest=[InterestRule("coupon", span)], interest_span=span,
                                   principal=[PrincipalRule(alloc, "until retired", span)],
                                   principal_span=span, losses=LossesDecl(alloc, span))
