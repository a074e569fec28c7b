"""Pass: excess servicing strips.

A pool written with `servicing` and `excess` strips part of its servicing fee and sells it: the
trust collects the net coupon plus the excess (model.deal.Pool), and a class written
`excess servicing [of pool "X"]` is paid it. That class is an IO on the balance of its pools at
the excess rate, so it is written here as one (`notional of pool "X"` at `coupon` the excess):
the interest proof, the engine and the report then treat it as the IO strip it is. Every pool's
excess has exactly one class; a class over several pools needs them to strip one rate.
"""

from __future__ import annotations

from ..language.nodes import NotionalDecl, NotionalRef, Quantity
from .context import Checker


def check_fee_strips(ck: Checker) -> None:
    pools = {p.name: p for p in ck.pools}
    taken: dict[str, str] = {}  # pool name -> the class paid its excess
    for decl in ck.file.classes:
        x = decl.excess
        if x is None:
            continue
        if decl.notional is not None or decl.coupon is not None or decl.coupon_formula is not None:
            where = decl.notional or decl.coupon or decl.coupon_formula
            ck.error(f"the notional and coupon of excess servicing class {decl.name} follow from its pools",
                     where.span, "remove them")  # type: ignore[union-attr]
            continue
        if x.pool is not None:
            if x.pool not in pools:
                names = ", ".join(f'"{n}"' for n in pools) or "none"
                ck.error(f'there is no pool "{x.pool}"', x.pool_span, f"the pools are {names}")
                continue
            mine = [pools[x.pool]]
            if mine[0].excess <= 0:
                ck.error(f'pool "{x.pool}" strips no excess servicing', x.pool_span,
                         'add to the pool: servicing ...% excess ...%')
                continue
        else:
            mine = [p for p in ck.pools if p.excess > 0]
            if not mine:
                ck.error("no pool strips excess servicing", x.span,
                         "add to a pool: servicing 0.5% excess 0.25%")
                continue
        rates = {round(p.excess, 12) for p in mine}
        if len(rates) > 1:
            shown = ", ".join(sorted(f"{r * 100:.4g}%" for r in rates))
            ck.error(f"the pools strip different excess servicing rates ({shown})", x.span,
                     'one class per rate: excess servicing of pool "..."')
            continue
        for p in mine:
            if p.name in taken:
                ck.error(f'the excess servicing of pool "{p.name}" is already paid to class {taken[p.name]}',
                         x.span)
            taken[p.name] = decl.name
        rate = rates.pop() * 100.0
        decl.notional = NotionalDecl(None, [NotionalRef("pool", p.name, x.span) for p in mine], x.span)
        decl.coupon = Quantity(rate, "%", x.span, f"{rate:.6g}%")
    for decl in ck.file.pools:
        excess = decl.attrs.get("excess")
        pool = pools.get(decl.name)
        if excess is not None and pool is not None and pool.excess > 0 and decl.name not in taken:
            ck.error(f'pool "{decl.name}" strips {excess.text} of excess servicing but no class is paid it',
                     excess.span, f'add: class XS NTL/IO excess servicing of pool "{decl.name}"')
