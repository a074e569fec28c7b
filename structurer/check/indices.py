"""Pass: index rates the floaters reset on (the scenarios block's `index SOFR 4.3%` lines)."""

from __future__ import annotations

from ..errors import did_you_mean
from ..language.nodes import IndexSetting, RatePathDecl
from ..model.scenarios import RatePath
from .context import Checker


def check_indices(ck: Checker) -> None:
    """Every index a coupon formula names has a rate; every rate given is for such an index."""
    # The indices the deal's coupon formulas name, as written (even where a class had errors).
    ck.known_indices = {t.index for d in ck.decls.values() if d.coupon_formula
                        for t in d.coupon_formula.terms if t.index}
    sc = ck.file.scenarios
    ck.indices = index_settings(ck, sc.indices, ck.known_indices) if sc else {}
    for c in ck.classes:
        if c.formula is not None and c.formula.index not in ck.indices:
            decl = ck.decls[c.name]
            ck.error(f"no rate is given for index {c.formula.index}", (decl.coupon_formula or decl).span,
                     f"add to the scenarios block: index {c.formula.index} 4.30%")


def index_path(ck: Checker, decl: RatePathDecl) -> RatePath | None:
    rates = [ck.rate(q, "an index rate") for q in decl.rates]
    if any(r is None for r in rates):
        return None
    if decl.kind == "curve" and any(b <= a for a, b in zip(decl.periods, decl.periods[1:], strict=False)):
        ck.error("a curve's periods must increase", decl.span)
        return None
    return RatePath(decl.kind, tuple(rates), tuple(decl.periods))  # type: ignore[arg-type]


def index_settings(ck: Checker, settings: list[IndexSetting], known: set[str]) -> dict[str, RatePath]:
    out: dict[str, RatePath] = {}
    for setting in settings:
        if setting.index in out:
            ck.error(f"index {setting.index} is given twice", setting.index_span)
            continue
        if setting.index not in known:
            ck.error(f"no class floats on index '{setting.index}'", setting.index_span,
                     did_you_mean(setting.index, known)
                     or ("floaters here follow " + ", ".join(sorted(known)) if known
                         else "only floaters and inverse floaters (FLT, INV) use index rates"))
            continue
        path = index_path(ck, setting.path)
        if path is not None:
            out[setting.index] = path
    return out

