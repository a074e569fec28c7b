"""Pass: the collateral, pool by pool (balance, WAC, net coupon, term, age)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, Span
from ..language.nodes import PoolDecl
from ..model.deal import Pool
from ..model.tape import read_tape, rep_lines
from .context import MAX_TERM, Checker


def check_collateral(ck: Checker) -> None:
    """Every pool, named once; the deal's projection periods follow from them."""
    file = ck.file
    if not file.pools:
        ck.error("the deal has no collateral", file.header.span,
                 'add: collateral { pool "..." { balance ... wac ...% coupon ...% term 360 age 0 } }')
    pool_names: dict[str, Span | None] = {}
    for decl in file.pools:
        if decl.name in pool_names:
            ck.error(f"two pools are named \"{decl.name}\"", decl.span)
        pool_names[decl.name] = decl.span
        first = len(ck.pools)
        if decl.tape is not None:
            lines = _tape_pools(ck, decl)  # a tape's rep-lines: one declaration, many pools
            ck.pools.extend(lines)
            ck.pools_declared_ok += bool(lines)
            ck.pool_lines[decl.name] = list(range(first, len(ck.pools)))
            continue
        pool = _pool(ck, decl)
        if pool is not None:
            ck.pools.append(pool)
            ck.pools_declared_ok += 1
            ck.pool_lines[decl.name] = [first]
    ck.periods = max((p.remaining for p in ck.pools), default=0)  # the Deal's `periods`, before there is one


def _pool(ck: Checker, decl: PoolDecl) -> Pool | None:
    a = decl.attrs
    bad = len(ck.errors)
    fees_written = "servicing" in a or "guarantee" in a
    for key in ("balance", "wac", "coupon"):
        # Gross WAC -> net coupon: with the fees, either one follows from the other.
        if key not in a and not (fees_written and key in ("wac", "coupon") and ({"wac", "coupon"} & set(a))):
            ck.error(f"pool \"{decl.name}\" has no {key}", decl.span, f"add: {key} ...")
    if "term" not in a and "remaining" not in a:
        ck.error(f"pool \"{decl.name}\" has no term", decl.span,
                 "add: term 360 (original) with age or remaining")
    if len(ck.errors) > bad:
        return None
    balance = ck.money(a["balance"], "the pool balance")
    servicing = ck.rate(a["servicing"], "the servicing fee") if "servicing" in a else 0.0
    guarantee = ck.rate(a["guarantee"], "the guarantee fee") if "guarantee" in a else 0.0
    excess = ck.rate(a["excess"], "the excess servicing") if "excess" in a else 0.0
    wac = ck.rate(a["wac"], "the WAC") if "wac" in a else None
    coupon = ck.rate(a["coupon"], "the net coupon") if "coupon" in a else None
    term = ck.months(a["term"], "the original term") if "term" in a else None
    remaining = ck.months(a["remaining"], "the remaining term") if "remaining" in a else None
    age = ck.months(a["age"], "the loan age") if "age" in a else None
    if len(ck.errors) > bad:
        return None
    for key, fee in (("servicing", servicing), ("guarantee", guarantee), ("excess", excess)):
        if fee is not None and fee < 0:
            ck.error(f"a {key} fee cannot be negative", a[key].span)
    if excess and excess > (servicing or 0.0) + 1e-12:
        ck.error(f"the excess servicing {a['excess'].text} is more than the servicing fee "
                 f"{a['servicing'].text if 'servicing' in a else '0%'}", a["excess"].span,
                 "excess servicing is the part of the servicing fee stripped and sold: write servicing ...%")
    fees = (servicing or 0.0) + (guarantee or 0.0)
    if wac is None and coupon is not None:
        wac = coupon + fees
    elif coupon is None and wac is not None:
        coupon = wac - fees
    elif fees_written and wac is not None and coupon is not None and abs(wac - fees - coupon) > 1e-10:
        ck.error(f"the net coupon {a['coupon'].text} is not the WAC {a['wac'].text} less servicing and "
                 f"guarantee fees of {fees * 100:.6g}% ({(wac - fees) * 100:.6g}%)", a["coupon"].span,
                 "gross WAC = net coupon + servicing + guarantee fee; write one of them so they agree")
    if balance is not None and balance <= 0:
        ck.error("a pool balance must be positive", a["balance"].span)
    if "coupon" in a and "wac" in a and coupon is not None and wac is not None and coupon > wac:
        ck.error(f"the net coupon {a['coupon'].text} is above the WAC {a['wac'].text}",
                 a["coupon"].span, "the pass-through rate is the WAC less servicing and guarantee fees")
    elif "coupon" not in a and coupon is not None and coupon < 0:
        ck.error(f"the fees are more than the WAC {a['wac'].text}", a["wac"].span,
                 "the net coupon is the WAC less servicing and guarantee fees")
    if term is None:
        term = remaining + (age or 0)  # type: ignore[operator]
    if remaining is None:
        remaining = term - (age or 0)
    if age is None:
        age = term - remaining
    if term > MAX_TERM:
        key = "term" if "term" in a else "remaining"
        ck.error(f"a term of {term:,} months is longer than any mortgage", a[key].span,
                 f"terms are in months (360 for 30 years); at most {MAX_TERM}")
        return None
    if remaining <= 0:
        span = a["age"].span if "age" in a else decl.span
        ck.error(f"pool \"{decl.name}\" has no remaining term", span)
    elif remaining > term:
        ck.error(f"the remaining term ({remaining}) is longer than the original term ({term})",
                 a["remaining"].span)
    if age < 0 and remaining <= term:
        ck.error("the loan age cannot be negative", a["age"].span if "age" in a else decl.span)
    elif "age" in a and "remaining" in a and "term" in a and age + remaining > term:
        ck.error(f"age {age} plus remaining term {remaining} is longer than the original term "
                 f"{term}", a["age"].span, "a loan cannot be older than its term allows")
    if len(ck.errors) > bad:
        return None
    # The trust collects the net coupon and the excess servicing it strips (model.deal.Pool).
    return Pool(decl.name, balance, wac, coupon + (excess or 0.0), term, remaining, age,  # type: ignore[arg-type,operator]
                servicing or 0.0, guarantee or 0.0, excess or 0.0)



def _tape_pools(ck: Checker, decl: PoolDecl) -> list[Pool]:
    """A loan tape's rep-lines; a bad file or row is reported at the `from "..."`."""
    bad = len(ck.errors)
    rate_step = ck.rate(decl.rate_step, "the aggregation rate step") if decl.rate_step else None
    age_step = ck.months(decl.age_step, "the aggregation age step") if decl.age_step else None
    if len(ck.errors) > bad:
        return []
    if decl.rate_step is not None and (not rate_step or rate_step <= 0 or not age_step or age_step <= 0):
        ck.error("an aggregation rule needs a positive rate step and age step", decl.rate_step.span,
                 "write: aggregate by rate 0.25% age 12")
        return []
    base = Path(ck.file.path).parent if ck.file.path else Path.cwd()
    try:
        tape = read_tape(base / decl.tape)  # type: ignore[operator]
        ck.tapes[decl.name] = tape
        # ck.rate gives a decimal; the tape's rates are in percent.
        return rep_lines(tape, decl.name, None if rate_step is None else rate_step * 100.0, age_step)
    except InputError as exc:
        ck.error(str(exc), decl.tape_span, "the path is relative to the deal file")
        return []
