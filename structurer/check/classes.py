"""Pass: each class on its own (names, type words, coupon, balance, the checks of its types).

What a type word means comes from the class-type registry (model/classtypes.py); references
to other classes and pools are resolved by the next pass (references.py).
"""

from __future__ import annotations

from ..errors import did_you_mean
from ..language.grammar import KEYWORDS
from ..language.nodes import ClassDecl, TypeWord
from ..model.classtypes import REGISTRY, TypeChecks, any_of
from ..model.deal import CouponFormula, Pool, Tranche
from .context import Checker

# Type words a class gets without writing them: a notional class is NTL, a lone PO a pass-through,
# a class that does not float is FIX; the residual is R and nothing else.
NOTIONAL, PASS_THROUGH, FIXED, RESIDUAL = "NTL", "PT", "FIX", "R"


def check_classes(ck: Checker) -> None:
    """Every class, declared once; a residual added if the deal has none."""
    file = ck.file
    classes, decls = ck.classes, ck.decls
    for decl in file.classes:
        if decl.name in decls:
            first = decls[decl.name].span
            ck.error(f"class {decl.name} is declared twice", decl.span,
                     f"first declared on line {first.line}" if first else None)
            continue
        decls[decl.name] = decl
        if decl.name in KEYWORDS:
            ck.error(f"'{decl.name}' is a word of the deal language, not a class name", decl.span,
                     "name the class otherwise")
        tranche = _tranche(ck, decl, len(classes))
        if tranche is not None:
            classes.append(tranche)
    if not file.classes:
        ck.error("the deal has no classes", file.header.span, "add: class A SEQ balance ... coupon ...%")
    residuals = [c for c in classes if c.is_residual]
    if len(residuals) > 1:
        ck.error("a deal has one residual class", decls[residuals[1].name].span,
                 f"{residuals[0].name} is already the residual")
    ck.all_classes_ok = len(classes) == len(decls) == len(file.classes)
    if ck.all_classes_ok and classes and not residuals:
        # Every REMIC has a residual class; one the deal does not declare is added, so that
        # whatever is left over is shown rather than lost.
        name = next(n for n in ("R", "RES", "RESIDUAL", "R_") if n not in decls)
        classes.append(Tranche(name, RESIDUAL, RESIDUAL, 0.0, 0.0, len(classes)))


def _type_words(ck: Checker, decl: ClassDecl) -> tuple[list[str], list[str], dict[str, TypeWord]] | None:
    """Split a class's type words into principal and interest types (agency vocabulary)."""
    principal: list[str] = []
    interest: list[str] = []
    words: dict[str, TypeWord] = {}
    for word in decl.types:
        kind = REGISTRY.get(word.name)
        if kind is None:
            vocabulary = REGISTRY.names("principal") + REGISTRY.names("interest")
            hint = did_you_mean(word.name, vocabulary)
            ck.error(f"unknown class type '{word.name}'", word.span,
                     hint or "expected one of " + ", ".join(vocabulary))
            return None
        key = kind.name
        if key in words:
            ck.error(f"class {decl.name} says {key} twice", word.span)
            return None
        words[key] = word
        if word.args and not kind.band_speeds:
            ck.error(f"{key} takes no arguments", word.span)
            return None
        (principal if kind.column == "principal" else interest).append(key)
    return principal, interest, words


def _run_type_checks(ck: Checker, decl: ClassDecl, words: dict[str, TypeWord],
                     principal: list[str]) -> TypeChecks:
    tc = TypeChecks(ck, decl, words, principal)
    for key in words:
        kind = REGISTRY[key]
        if kind.check is not None:
            kind.check(tc)
    return tc


def _tranche(ck: Checker, decl: ClassDecl, index: int) -> Tranche | None:
    """First pass over a class: its own attributes (references are resolved later)."""
    bad = len(ck.errors)
    got = _type_words(ck, decl)
    if got is None:
        return None
    principal, interest, words = got
    if any_of(words, "residual"):
        # The residual receives what is left: its own check is all there is to it.
        _run_type_checks(ck, decl, words, principal)
        if len(ck.errors) > bad:
            return None
        return Tranche(decl.name, RESIDUAL, RESIDUAL, 0.0, 0.0, index)

    is_floater = any_of(words, "floating")
    is_po = any_of(words, "principal_only")
    is_wac = any_of(words, "net_wac")
    if is_po and not principal:
        principal.append(PASS_THROUGH)
    io = next((w for k, w in words.items() if REGISTRY[k].interest_only), None)
    if io is not None and decl.notional is None and not any_of(words, "notional"):
        ck.error("an interest-only class has a notional balance, not a principal one",
                 io.span, f"write: class {decl.name} NTL/IO notional of ... coupon ...")
    if decl.notional is not None and not any_of(principal, "notional"):
        principal.insert(0, NOTIONAL)
    ntl = next((w for k, w in words.items() if REGISTRY[k].notional), None)
    if any_of(principal, "notional") and decl.notional is None:
        ck.error(f"notional class {decl.name} does not say what its notional follows",
                 ntl.span if ntl else decl.type_span,
                 "add: notional of A (a class), of collateral, or of pool \"...\"")
    if not principal and decl.parent is None:
        ck.error(f"class {decl.name} has no principal type", decl.type_span,
                 "add one of SEQ, PT, PAC, TAC, SUP, AD, NAS, NTL, e.g. SEQ/Z")

    # Coupon: fixed, or a formula for floaters.
    coupon = 0.0
    formula = None
    if is_wac:
        # The collateral's net WAC: at issue here (the cover table's coupon), by period in the engine.
        written = decl.coupon or decl.coupon_formula
        if written is not None:
            ck.error(f"the coupon of WAC class {decl.name} is the collateral's net WAC", written.span,
                     "remove the coupon")
        if is_floater or is_po:
            ck.error(f"a WAC class cannot also be {'a floater' if is_floater else 'a PO'}", decl.type_span)
        coupon = net_wac_at_issue(ck.pools)
    elif decl.coupon_formula is not None:
        if not is_floater:
            ck.error(f"class {decl.name} has a floating coupon but is not typed FLT or INV",
                     decl.coupon_formula.span, f"write: class {decl.name} FLT ...")
        formula = _formula(ck, decl)
    elif decl.coupon is not None:
        if is_floater:
            ck.error(f"floating-rate class {decl.name} needs a coupon formula", decl.coupon.span,
                     "like: coupon SOFR + 50bp  or  coupon 19.5% - 3 x SOFR")
        else:
            coupon = ck.rate(decl.coupon, f"the coupon of {decl.name}") or 0.0
    elif is_po:
        pass
    elif is_floater:
        ck.error(f"floating-rate class {decl.name} has no coupon formula", decl.span,
                 "add: coupon SOFR + 50bp cap 7% floor 0.5%")
    else:
        ck.error(f"class {decl.name} has no coupon", decl.span, "add: coupon ...%")
    if is_po and (decl.coupon is not None or decl.coupon_formula is not None):
        where = decl.coupon or decl.coupon_formula
        ck.error(f"principal-only class {decl.name} has no coupon", where.span)  # type: ignore[union-attr]
    if not is_floater:
        for q in (decl.cap, decl.floor):
            if q is not None:
                ck.error("only a floater or inverse floater has a cap or floor", q.span)

    # Balance: money, except notional classes (notional) and strips (derived from the pool).
    balance = 0.0
    if decl.notional is not None:
        if decl.balance is not None:
            ck.error(f"notional class {decl.name} has no principal balance", decl.balance.span,
                     f"write its notional amount as: notional {decl.balance.text} of ...")
    elif decl.strip is not None:
        if decl.balance is not None:
            ck.error(f"the balance of strip {decl.name} follows from its pool and target coupon",
                     decl.balance.span, "remove the balance")
    elif decl.balance is None:
        ck.error(f"class {decl.name} has no balance", decl.span, "add: balance ...")
    else:
        value = ck.money(decl.balance, f"the balance of {decl.name}")
        if value is not None and value <= 0:
            ck.error(f"class {decl.name} needs a positive balance", decl.balance.span)
        balance = value or 0.0

    if decl.strip is not None and not is_po:
        ck.error("a strip of pool principal is a PO class", decl.strip.span,
                 f"write: class {decl.name} PO strip of pool ...")

    # The checks particular to each of its types (a NAS's lockout, a Z's balance, ...).
    if not any_of(words, "nas") and (decl.lockout is not None or decl.shift is not None):
        span = decl.lockout.span if decl.lockout else decl.shift_span
        ck.error("only a NAS class has a lockout", span, f"type it: class {decl.name} SEQ/NAS ...")
    tc = _run_type_checks(ck, decl, words, principal)
    if len(ck.errors) > bad:
        return None
    interest_type = _interest_type(interest, formula is not None, is_po, is_wac)
    principal_type = "/".join(principal) if principal else ""
    return Tranche(decl.name, principal_type, interest_type, balance, coupon, index,
                   formula=formula, accrual=any_of(words, "accrual"), **tc.fields)


def _interest_type(words: list[str], floating: bool, po: bool, wac: bool = False) -> str:
    """FIX unless the class floats, pays the net WAC or pays no interest; Z and IO qualify it:
    FIX/Z, FIX/IO, WAC/IO."""
    if po:
        return "PO"
    base = [w for w in words if REGISTRY[w].floating or REGISTRY[w].net_wac] or [FIXED]
    qual = [w for w in words if not (REGISTRY[w].floating or REGISTRY[w].net_wac) and w != FIXED]
    return "/".join(base + qual)


def net_wac_at_issue(pools: list[Pool]) -> float:
    """The balance-weighted net coupon the certificates share (excess servicing stripped)."""
    total = sum(p.balance for p in pools)
    return sum(p.balance * p.net_coupon for p in pools) / total if total > 0 else 0.0


def _formula(ck: Checker, decl: ClassDecl) -> CouponFormula | None:
    f = decl.coupon_formula
    if f is None:
        return None
    constant, multiplier, index = 0.0, 0.0, None
    for term in f.terms:
        if term.constant is not None:
            value = ck.rate(term.constant, "a coupon term")
            if value is None:
                return None
            constant += term.sign * value
        else:
            if index is not None and term.index != index:
                ck.error("a coupon formula follows one index", term.span,
                         f"it already follows {index}")
                return None
            index = term.index
            multiplier += term.sign * term.multiplier
    if index is None:
        return None
    directions = {k.floating for k in map(REGISTRY.get, (w.name for w in decl.types)) if k is not None}
    if 1 in directions and multiplier <= 0:
        ck.error(f"floater {decl.name}'s coupon must rise with {index}", f.span,
                 "an inverse floater is typed INV")
        return None
    if -1 in directions and multiplier >= 0:
        ck.error(f"inverse floater {decl.name}'s coupon must fall as {index} rises", f.span,
                 f"write it like: coupon 19.5% - 3 x {index}")
        return None
    cap = ck.rate(decl.cap, "the cap") if decl.cap is not None else None
    floor = ck.rate(decl.floor, "the floor") if decl.floor is not None else 0.0
    if decl.cap is None:
        ck.error(f"floating-rate class {decl.name} needs a cap", f.span,
                 "add: cap ...% (the most it can pay; needed to prove interest is covered)")
        return None
    if cap is None or floor is None:
        return None
    if cap < floor:
        ck.error(f"the cap {decl.cap.text} is below the floor {decl.floor.text}",  # type: ignore[union-attr]
                 decl.cap.span)
        return None
    return CouponFormula(constant, multiplier, index, cap, floor)
