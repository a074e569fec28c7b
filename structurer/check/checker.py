"""Semantic checks: syntax tree -> checked Deal, or every problem found, each with its place.

A deal that passes is one the engine can run without creating or losing cash: class balances
add up to the collateral, class interest (coupons, IO strips, floaters at their caps) is
covered by the collateral's net interest in every period, every class with a balance is
reached by a principal rule, rule shares add up, and PAC/TAC schedules fit their bands.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

import numpy as np

from ..dates import THIRTY_360, DayCount, day_count
from ..engine.schedules import Tier, compute_schedules
from ..errors import DealError, DealErrors, InputError, Span, did_you_mean
from ..inputs import read_schedule_csv
from ..language.grammar import KEYWORDS
from ..language.nodes import (
    AnalyticsDecl,
    ClassDecl,
    ConstantSpeed,
    CurveDecl,
    DealFile,
    IndexSetting,
    NotionalDecl,
    PoolDecl,
    PrincipalRule,
    Quantity,
    RampSpeed,
    RatePathDecl,
    ScheduleDecl,
    Speed,
    TypeWord,
    VectorSpeed,
)
from ..model.curve import Curve, make_curve, read_curve_csv
from ..model.deal import Analytics, CouponFormula, Deal, Notional, Pool, QuoteSpec, TableSpec, Tranche
from ..model.prepayment import MAX_PSA, UNITS, Prepayment, validate_speed
from ..model.rules import Rule, Sequential, rule_classes
from ..model.rules.compile import RuleContext, compile_principal_rule
from ..model.scenarios import RatePath, Scenario
from ..valuation.yields import parse_price

# The agency cover-table vocabulary, and what each word means (for messages and docs).
PRINCIPAL_TYPES = {
    "SEQ": "sequential pay",
    "PT": "pass-through: pro rata with other classes",
    "PAC": "planned amortization class: paid to a schedule that holds over a PSA band",
    "PAC II": "a PAC with a narrower band, carved out of the support",
    "TAC": "targeted amortization class: paid to a schedule at one speed",
    "SUP": "support: absorbs what the scheduled classes do not take",
    "AD": "accretion directed: paid from an accrual class's accrued interest",
    "NAS": "non-accelerating senior: locked out of principal, then a growing share",
    "NTL": "notional: no principal, interest on a notional balance",
    "R": "residual: receives whatever is left",
}
INTEREST_TYPES = {
    "FIX": "fixed rate",
    "FLT": "floating rate: index + margin, with cap and floor",
    "INV": "inverse floating rate: constant - multiplier x index, with cap and floor",
    "Z": "accrual: interest accretes to the balance while the AD classes are outstanding",
    "IO": "interest only",
    "PO": "principal only: no interest (a PO with no principal type is a pass-through, PT)",
}
ALIASES = {"PAC2": "PAC II", "PACII": "PAC II", "PAC-II": "PAC II"}
BAND_TYPES = ("PAC", "PAC II", "TAC")

MAX_TERM = 600  # months: 50 years, beyond any agency mortgage (40-year modifications are 480)
MONEY_TOLERANCE = 0.005  # half a cent: balances that add up to the cent add up
RATE_UNITS = {"%": 0.01, "bp": 0.0001}


class _Checker:
    def __init__(self, file: DealFile):
        self.file = file
        self.errors: list[DealError] = []
        # Classes already reported: later checks that would only repeat the problem skip them.
        self.failed: set[str] = set()
        # Whether schedules were derived (they are not when earlier errors stop the checks).
        self.schedules_known = False

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(DealError(message, span, hint))

    # ---- quantities in the units the deal needs

    def rate(self, q: Quantity, what: str) -> float | None:
        if q.unit not in RATE_UNITS:
            self.error(f"{what} needs a rate unit", q.span, f"write it as {q.value:g}% or in bp")
            return None
        value = q.value * RATE_UNITS[q.unit]
        if value > 1:
            self.error(f"{what} ({q.text}) is more than 100%", q.span)
            return None
        return value

    def money(self, q: Quantity, what: str) -> float | None:
        if q.unit not in (None, "mm"):
            self.error(f"{what} is an amount of money, not '{q.unit}'", q.span,
                       "write dollars (400,000,000) or millions (400mm)")
            return None
        value = q.value * (1e6 if q.unit == "mm" else 1.0)
        return value

    def months(self, q: Quantity, what: str) -> int | None:
        if q.unit not in (None, "months", "month"):
            self.error(f"{what} is a number of months, not '{q.unit}'", q.span)
            return None
        if q.value != int(q.value):
            self.error(f"{what} must be a whole number of months", q.span)
            return None
        return int(q.value)

    def speed(self, q: Quantity, unit: str | None = None) -> tuple[float, str] | None:
        unit = q.unit or unit
        if unit not in UNITS:
            self.error("a prepayment speed needs its unit", q.span, "write PSA, CPR or SMM after it")
            return None
        try:
            validate_speed(q.value, unit)
        except InputError as exc:
            self.error(str(exc), q.span, "a list of speeds needs a space after each comma: 0, 100, 165 PSA"
                       if unit == "PSA" and q.value > MAX_PSA else None)
            return None
        return q.value, unit

    # ---- sections

    def header(self) -> tuple:
        h = self.file.header
        if h.settle is None:
            self.error(f"deal \"{h.name}\" has no settlement date", h.span, "add: settle YYYY-MM-DD")
        if h.first_payment is None:
            self.error(f"deal \"{h.name}\" has no first payment date", h.span,
                       "add: first payment YYYY-MM-DD")
        if h.settle and h.first_payment and h.first_payment <= h.settle:
            self.error("the first payment date must come after settlement", h.first_payment_span,
                       f"settlement is {h.settle.isoformat()}")
        delay = 0
        if h.delay is not None:
            if h.delay.unit not in (None, "days", "day") or h.delay.value != int(h.delay.value):
                self.error("the payment delay is a whole number of days", h.delay.span,
                           "write it like: delay 24 days")
            elif h.delay.value < 0:
                self.error("the payment delay cannot be negative", h.delay.span)
            else:
                delay = int(h.delay.value)
        return h.settle, h.first_payment, delay

    def pool(self, decl: PoolDecl) -> Pool | None:
        a = decl.attrs
        bad = len(self.errors)
        for key in ("balance", "wac", "coupon"):
            if key not in a:
                self.error(f"pool \"{decl.name}\" has no {key}", decl.span, f"add: {key} ...")
        if "term" not in a and "remaining" not in a:
            self.error(f"pool \"{decl.name}\" has no term", decl.span,
                       "add: term 360 (original) with age or remaining")
        if len(self.errors) > bad:
            return None
        balance = self.money(a["balance"], "the pool balance")
        wac = self.rate(a["wac"], "the WAC")
        coupon = self.rate(a["coupon"], "the net coupon")
        term = self.months(a["term"], "the original term") if "term" in a else None
        remaining = self.months(a["remaining"], "the remaining term") if "remaining" in a else None
        age = self.months(a["age"], "the loan age") if "age" in a else None
        if len(self.errors) > bad:
            return None
        if balance is not None and balance <= 0:
            self.error("a pool balance must be positive", a["balance"].span)
        if coupon is not None and wac is not None and coupon > wac:
            self.error(f"the net coupon {a['coupon'].text} is above the WAC {a['wac'].text}",
                       a["coupon"].span, "the pass-through rate is the WAC less servicing and guarantee fees")
        if term is None:
            term = remaining + (age or 0)  # type: ignore[operator]
        if remaining is None:
            remaining = term - (age or 0)
        if age is None:
            age = term - remaining
        if term > MAX_TERM:
            key = "term" if "term" in a else "remaining"
            self.error(f"a term of {term:,} months is longer than any mortgage", a[key].span,
                       f"terms are in months (360 for 30 years); at most {MAX_TERM}")
            return None
        if remaining <= 0:
            span = a["age"].span if "age" in a else decl.span
            self.error(f"pool \"{decl.name}\" has no remaining term", span)
        elif remaining > term:
            self.error(f"the remaining term ({remaining}) is longer than the original term ({term})",
                       a["remaining"].span)
        if age < 0 and remaining <= term:
            self.error("the loan age cannot be negative", a["age"].span if "age" in a else decl.span)
        elif "age" in a and "remaining" in a and "term" in a and age + remaining > term:
            self.error(f"age {age} plus remaining term {remaining} is longer than the original term "
                       f"{term}", a["age"].span, "a loan cannot be older than its term allows")
        if len(self.errors) > bad:
            return None
        return Pool(decl.name, balance, wac, coupon, term, remaining, age)  # type: ignore[arg-type]

    # ---- classes

    def type_words(self, decl: ClassDecl) -> tuple[list[str], list[str], dict[str, TypeWord]] | None:
        """Split a class's type words into principal and interest types (agency vocabulary)."""
        principal: list[str] = []
        interest: list[str] = []
        words: dict[str, TypeWord] = {}
        for word in decl.types:
            key = ALIASES.get(word.name.upper(), word.name.upper())
            if key not in PRINCIPAL_TYPES and key not in INTEREST_TYPES:
                hint = did_you_mean(word.name, list(PRINCIPAL_TYPES) + list(INTEREST_TYPES))
                self.error(f"unknown class type '{word.name}'", word.span,
                           hint or "expected one of " + ", ".join([*PRINCIPAL_TYPES, *INTEREST_TYPES]))
                return None
            if key in words:
                self.error(f"class {decl.name} says {key} twice", word.span)
                return None
            words[key] = word
            if word.args and key not in BAND_TYPES:
                self.error(f"{key} takes no arguments", word.span)
                return None
            (principal if key in PRINCIPAL_TYPES else interest).append(key)
        return principal, interest, words

    def tranche(self, decl: ClassDecl, index: int) -> Tranche | None:
        """First pass over a class: its own attributes (references are resolved later)."""
        bad = len(self.errors)
        got = self.type_words(decl)
        if got is None:
            return None
        principal, interest, words = got
        if "R" in words:
            if len(words) > 1:
                self.error(f"the residual class {decl.name} has no other type", decl.type_span,
                           f"write: class {decl.name} R")
            if decl.balance is not None and decl.balance.value != 0:
                self.error(f"the residual class {decl.name} has no balance of its own",
                           decl.balance.span, "it receives what is left; remove the balance")
            extra = decl.coupon or decl.coupon_formula or decl.notional or decl.cap or decl.floor
            if extra is not None:
                self.error(f"the residual class {decl.name} has no coupon, notional, cap or floor",
                           extra.span, "it receives what is left; remove it")
            if len(self.errors) > bad:
                return None
            return Tranche(decl.name, "R", "R", 0.0, 0.0, index)

        is_floater = "FLT" in words or "INV" in words
        if "PO" in words and not principal:
            principal.append("PT")
        if "IO" in words and decl.notional is None and "NTL" not in words:
            self.error("an interest-only class has a notional balance, not a principal one",
                       words["IO"].span, f"write: class {decl.name} NTL/IO notional of ... coupon ...")
        if decl.notional is not None and "NTL" not in principal:
            principal.insert(0, "NTL")
        if "NTL" in principal and decl.notional is None:
            self.error(f"notional class {decl.name} does not say what its notional follows",
                       words["NTL"].span, "add: notional of A (a class), of collateral, or of pool \"...\"")
        if not principal and decl.parent is None:
            self.error(f"class {decl.name} has no principal type", decl.type_span,
                       "add one of SEQ, PT, PAC, TAC, SUP, AD, NAS, NTL, e.g. SEQ/Z")

        # Coupon: fixed, or a formula for floaters.
        coupon = 0.0
        formula = None
        if decl.coupon_formula is not None:
            if not is_floater:
                self.error(f"class {decl.name} has a floating coupon but is not typed FLT or INV",
                           decl.coupon_formula.span, f"write: class {decl.name} FLT ...")
            formula = self.formula(decl)
        elif decl.coupon is not None:
            if is_floater:
                self.error(f"floating-rate class {decl.name} needs a coupon formula", decl.coupon.span,
                           "like: coupon SOFR + 50bp  or  coupon 19.5% - 3 x SOFR")
            else:
                coupon = self.rate(decl.coupon, f"the coupon of {decl.name}") or 0.0
        elif "PO" in words:
            pass
        elif is_floater:
            self.error(f"floating-rate class {decl.name} has no coupon formula", decl.span,
                       "add: coupon SOFR + 50bp cap 7% floor 0.5%")
        else:
            self.error(f"class {decl.name} has no coupon", decl.span, "add: coupon ...%")
        if "PO" in words and (decl.coupon is not None or decl.coupon_formula is not None):
            where = decl.coupon or decl.coupon_formula
            self.error(f"principal-only class {decl.name} has no coupon", where.span)  # type: ignore[union-attr]
        if not is_floater:
            for q in (decl.cap, decl.floor):
                if q is not None:
                    self.error("only a floater or inverse floater has a cap or floor", q.span)

        # Balance: money, except notional classes (notional) and strips (derived from the pool).
        balance = 0.0
        if decl.notional is not None:
            if decl.balance is not None:
                self.error(f"notional class {decl.name} has no principal balance", decl.balance.span,
                           f"write its notional amount as: notional {decl.balance.text} of ...")
        elif decl.strip is not None:
            if decl.balance is not None:
                self.error(f"the balance of strip {decl.name} follows from its pool and target coupon",
                           decl.balance.span, "remove the balance")
        elif decl.balance is None:
            self.error(f"class {decl.name} has no balance", decl.span, "add: balance ...")
        else:
            value = self.money(decl.balance, f"the balance of {decl.name}")
            if value is not None and value <= 0:
                self.error(f"class {decl.name} needs a positive balance", decl.balance.span)
            balance = value or 0.0

        if decl.strip is not None and "PO" not in words:
            self.error("a strip of pool principal is a PO class", decl.strip.span,
                       f"write: class {decl.name} PO strip of pool ...")

        lockout, shift = 0, ()
        if "NAS" in words:
            if decl.lockout is None:
                self.error(f"NAS class {decl.name} needs its lockout", words["NAS"].span,
                           "add: lockout 60 months")
            else:
                lockout = self.months(decl.lockout, "the lockout") or 0
            if decl.shift:
                shares = [self.rate(q, "a NAS share") for q in decl.shift]
                shift = tuple(x for x in shares if x is not None)
        elif decl.lockout is not None or decl.shift is not None:
            span = decl.lockout.span if decl.lockout else decl.shift_span
            self.error("only a NAS class has a lockout", span, f"type it: class {decl.name} SEQ/NAS ...")

        if "Z" in words and ("NTL" in principal or "PO" in words):
            self.error("an accrual class must have a principal balance and a coupon", words["Z"].span)
        if len(self.errors) > bad:
            return None
        interest_type = self.interest_type(interest, formula is not None, "PO" in words)
        principal_type = "/".join(principal) if principal else ""
        return Tranche(decl.name, principal_type, interest_type, balance, coupon, index,
                       formula=formula, accrual="Z" in words, lockout=lockout, shift=shift)

    @staticmethod
    def interest_type(words: list[str], floating: bool, po: bool) -> str:
        """FIX unless the class floats or pays no interest; Z and IO qualify it: FIX/Z, FIX/IO."""
        if po:
            return "PO"
        base = [w for w in words if w in ("FLT", "INV")] or ["FIX"]
        qual = [w for w in words if w in ("Z", "IO")]
        return "/".join(base + qual)

    def formula(self, decl: ClassDecl) -> CouponFormula | None:
        f = decl.coupon_formula
        if f is None:
            return None
        constant, multiplier, index = 0.0, 0.0, None
        for term in f.terms:
            if term.constant is not None:
                value = self.rate(term.constant, "a coupon term")
                if value is None:
                    return None
                constant += term.sign * value
            else:
                if index is not None and term.index != index:
                    self.error("a coupon formula follows one index", term.span,
                               f"it already follows {index}")
                    return None
                index = term.index
                multiplier += term.sign * term.multiplier
        if index is None:
            return None
        words = {ALIASES.get(w.name.upper(), w.name.upper()) for w in decl.types}
        if "FLT" in words and multiplier <= 0:
            self.error(f"floater {decl.name}'s coupon must rise with {index}", f.span,
                       "an inverse floater is typed INV")
            return None
        if "INV" in words and multiplier >= 0:
            self.error(f"inverse floater {decl.name}'s coupon must fall as {index} rises", f.span,
                       f"write it like: coupon 19.5% - 3 x {index}")
            return None
        cap = self.rate(decl.cap, "the cap") if decl.cap is not None else None
        floor = self.rate(decl.floor, "the floor") if decl.floor is not None else 0.0
        if decl.cap is None:
            self.error(f"floating-rate class {decl.name} needs a cap", f.span,
                       "add: cap ...% (the most it can pay; needed to prove interest is covered)")
            return None
        if cap is None or floor is None:
            return None
        if cap < floor:
            self.error(f"the cap {decl.cap.text} is below the floor {decl.floor.text}",  # type: ignore[union-attr]
                       decl.cap.span)
            return None
        return CouponFormula(constant, multiplier, index, cap, floor)

    # ---- principal rules

    def principal_rule(self, prule: PrincipalRule, names: dict[str, Tranche],
                       schedules: dict[int, np.ndarray], periods: int) -> Rule | None:
        """One 'pay ...' line, compiled by the rule kinds of model.rules."""
        ctx = RuleContext(self, names, schedules, periods, _is_nas, did_you_mean)
        return compile_principal_rule(ctx, prule)


def _is_nas(tranche: Tranche) -> bool:
    return "NAS" in tranche.principal_type.split("/")


def _speed(checker: _Checker, spec: Speed) -> Prepayment | None:
    if isinstance(spec, ConstantSpeed):
        got = checker.speed(spec.rate)
        return Prepayment.constant(*got) if got else None
    if isinstance(spec, RampSpeed):
        start, end = checker.speed(spec.start), checker.speed(spec.end)
        months = checker.months(spec.months, "a ramp's length")
        if not (start and end and months is not None):
            return None
        if start[1] != end[1]:
            checker.error("a ramp must start and end in the same unit", spec.span,
                          f"it starts in {start[1]} and ends in {end[1]}")
            return None
        if months < 1:
            checker.error("a ramp lasts at least one month", spec.months.span)
            return None
        return Prepayment.ramp(start[0], end[0], months, start[1])
    spec = cast(VectorSpeed, spec)  # the one kind of speed left
    unit = spec.rates[-1].unit
    if unit not in UNITS:
        checker.error("a vector needs its unit after the last speed", spec.rates[-1].span,
                      "write it like: vector(6, 8, 10 CPR)")
        return None
    got = [checker.speed(q, unit) for q in spec.rates]
    if any(g is None for g in got):
        return None
    units = {g[1] for g in got}  # type: ignore[index]
    if len(units) > 1:
        checker.error("every speed in a vector must be in one unit", spec.span)
        return None
    return Prepayment.vector([g[0] for g in got], unit)  # type: ignore[index]


def _decrement_speeds(checker: _Checker, specs: list[Speed]) -> list[Prepayment]:
    # A bare number in the list takes the unit written after the list ("0, 100, 165 PSA").
    out: list[Prepayment] = []
    trailing = None
    for spec in reversed(specs):
        if isinstance(spec, ConstantSpeed) and spec.rate.unit is None and trailing is not None:
            spec = ConstantSpeed(Quantity(spec.rate.value, trailing, spec.rate.span, spec.rate.text),
                                 spec.span)
        elif isinstance(spec, ConstantSpeed):
            trailing = spec.rate.unit
        got = _speed(checker, spec)
        if got is not None:
            out.append(got)
    return list(reversed(out))


# ---- references between classes, strips, schedules


def _resolve(ck: _Checker, decls: dict[str, ClassDecl], classes: list[Tranche],
             pools: list[Pool]) -> list[Tranche]:
    """Second pass: parents of floaters, what notionals follow, pool strips."""
    names = {c.name: c for c in classes}
    pool_index = {p.name: i for i, p in enumerate(pools)}
    out = list(classes)
    for k, c in enumerate(classes):
        decl = decls.get(c.name)
        if decl is None:  # the residual the checker added
            continue
        if decl.parent is not None:
            parent = names.get(decl.parent)
            if parent is None:
                ck.failed.add(c.name)
                ck.error(f"class {c.name} is split from '{decl.parent}', which is not a class",
                         decl.parent_span, did_you_mean(decl.parent, names)
                         or f"declare the fixed-rate parent: class {decl.parent} SEQ balance ... coupon ...%")
                continue
            if decls[parent.name].parent is not None or parent.formula is not None or parent.is_notional \
                    or parent.is_residual or parent.accrual:
                ck.error(f"class {parent.name} cannot be split into floaters", decl.parent_span,
                         "the parent is a fixed-rate class with a principal balance")
                continue
            ptype = c.principal_type or parent.principal_type
            out[k] = dataclasses.replace(out[k], parent=parent.index, principal_type=ptype)
        if decl.notional is not None:
            out[k] = _notional(ck, decl, out[k], names, pool_index, pools, decls) or out[k]
        if decl.strip is not None:
            strip = decl.strip
            if strip.pool not in pool_index:
                ck.error(f"no pool is named \"{strip.pool}\"", strip.pool_span,
                         did_you_mean(strip.pool, pool_index))
                continue
            pool = pools[pool_index[strip.pool]]
            target = ck.rate(strip.target, "the target coupon")
            if target is None:
                continue
            if target <= pool.coupon:
                ck.error(f"a discount strip needs a target above the pool's net coupon "
                         f"({pool.coupon * 100:g}%)", strip.target.span)
                continue
            share = 1.0 - pool.coupon / target
            if any(o.strip is not None and o.strip[0] == pool_index[strip.pool] for o in out):
                ck.error(f"pool \"{strip.pool}\" is stripped twice", strip.span,
                         "one PO strip takes a pool down to one target coupon")
                continue
            out[k] = dataclasses.replace(out[k], strip=(pool_index[strip.pool], share),
                                         balance=pool.balance * share)
    # A parent is not issued once it is split; its children must add up to it.
    for parent in out:
        children = [c for c in out if c.parent == parent.index]
        if not children:
            continue
        total = sum(c.balance for c in children)
        if abs(total - parent.balance) > MONEY_TOLERANCE:
            ck.error(f"the classes split from {parent.name} add up to {total:,.2f}, not its "
                     f"{parent.balance:,.2f}", decls[children[0].name].parent_span)
        out[parent.index] = dataclasses.replace(parent, issued=False)
    return out


def _notional(ck: _Checker, decl: ClassDecl, c: Tranche, names: dict[str, Tranche],
              pool_index: dict[str, int], pools: list[Pool], decls: dict[str, ClassDecl]) -> Tranche | None:
    notional = cast(NotionalDecl, decl.notional)  # called only for a class that declares one
    classes: list[int] = []
    pool_refs: list[int] = []
    collateral = False
    base = 0.0
    for ref in notional.refs:
        if ref.kind == "collateral":
            collateral = True
            base += sum(p.balance for p in pools)
        elif ref.kind == "pool":
            if ref.name not in pool_index:
                ck.error(f"no pool is named \"{ref.name}\"", ref.span,
                         did_you_mean(ref.name or "", pool_index))
                return None
            pool_refs.append(pool_index[ref.name])  # type: ignore[index]
            base += pools[pool_index[ref.name]].balance  # type: ignore[index]
        else:
            target = names.get(ref.name or "")
            if target is None:
                ck.error(f"notional class {c.name} follows unknown class '{ref.name}'", ref.span,
                         did_you_mean(ref.name or "", names))
                return None
            if (target.is_notional or target.is_residual or target.name == c.name
                    or decls[target.name].notional is not None):
                ck.error(f"a notional balance follows classes with principal; {target.name} has none",
                         ref.span)
                return None
            classes.append(target.index)
            base += target.balance
    factor = 1.0
    if notional.amount is not None:
        amount = ck.money(notional.amount, "the notional amount")
        if amount is None:
            return None
        if base <= 0:
            ck.error("the notional follows nothing with a balance", notional.span)
            return None
        factor = amount / base
    return dataclasses.replace(c, notional=Notional(tuple(classes), tuple(pool_refs), collateral, factor))


def _read_schedule(ck: _Checker, decl: ScheduleDecl, deal_path: str | None) -> list[float] | None:
    """Scheduled balances after periods 1, 2, ... from the deal or a CSV file (period, balance)."""
    if decl.balances is not None:
        values = [ck.money(q, "a scheduled balance") for q in decl.balances]
        return None if any(v is None for v in values) else values  # type: ignore[return-value]
    base = Path(deal_path).parent if deal_path else Path.cwd()
    path = base / (decl.path or "")
    try:
        return read_schedule_csv(path)
    except InputError as exc:
        ck.error(str(exc), decl.span)
        return None


def _schedules(ck: _Checker, decls: dict[str, ClassDecl], classes: list[Tranche], pools: list[Pool],
               periods: int, deal_path: str | None) -> tuple[dict[int, np.ndarray], list[Tier]]:
    """Tiers of scheduled classes, their schedules, and whether the bands support them."""
    tiers: dict[tuple, Tier] = {}
    reported, last = len(ck.errors), None
    for c in classes:
        if last is not None and len(ck.errors) > reported:
            ck.failed.add(last)  # its band or schedule was reported: its rules need not be
        reported, last = len(ck.errors), c.name
        decl = decls.get(c.name)
        if decl is None:  # the residual the checker added
            continue
        words = {ALIASES.get(w.name.upper(), w.name.upper()): w for w in decl.types}
        kind = next((k for k in BAND_TYPES if k in words), None)
        if decl.schedule is not None:
            values = _read_schedule(ck, decl.schedule, deal_path)
            if values is None:
                continue
            arr = np.zeros(periods)
            arr[: min(len(values), periods)] = values[:periods]
            if np.any(arr < 0) or np.any(np.diff(np.concatenate([[c.balance], arr])) > MONEY_TOLERANCE):
                ck.error(f"the schedule of {c.name} must fall from its balance and never rise",
                         decl.schedule.span)
                continue
            if kind and words[kind].args:
                ck.error(f"class {c.name} has both a band and a schedule; give one", words[kind].span)
                continue
            tiers[("explicit", c.index)] = Tier(kind or "PAC", (), [c.index], [c.balance], explicit=arr)
            continue
        if kind is None:
            continue
        word: TypeWord = words[kind]
        speeds = [ck.speed(q) for q in word.args]
        if any(s is None for s in speeds):
            continue
        band = tuple(Prepayment.constant(v, u) for v, u in speeds)  # type: ignore[misc]
        want = 1 if kind == "TAC" else 2
        if len(band) != want:
            example = "TAC(200 PSA)" if kind == "TAC" else f"{kind}(90 PSA, 300 PSA)"
            ck.error(f"{kind} takes {want} speed{'s' if want > 1 else ''}", word.span, f"like {example}")
            continue
        if want == 2:
            if band[0].unit != band[1].unit:
                ck.error("a band's two speeds must be in one unit", word.span)
                continue
            if band[0].values[0] > band[1].values[0]:
                ck.error(f"the band's lower speed {band[0].label} is above its upper speed "
                         f"{band[1].label}", word.span,
                         f"write it as {kind}({band[1].label}, {band[0].label})")
                continue
        key = (kind, band)
        tiers.setdefault(key, Tier(kind, band))
        tiers[key].classes.append(c.index)
        tiers[key].balances.append(c.balance)
    if last is not None and len(ck.errors) > reported:
        ck.failed.add(last)
    if not tiers:
        return {}, []
    strips = [c.strip for c in classes if c.strip is not None]
    schedules = compute_schedules(tuple(pools), strips, list(tiers.values()), periods)  # type: ignore[arg-type]
    for tier in tiers.values():
        over = tier.over_capacity([classes[i].name for i in tier.classes], MONEY_TOLERANCE)
        if over is not None:
            first = decls[classes[tier.classes[0]].name]
            ck.error(over[0], first.balance.span if first.balance else first.span, over[1])
    return schedules, list(tiers.values())


# ---- interest: the collateral must cover it in every period, not just at issue


def effective_rates(classes: list[Tranche], pools: list[Pool],
                    floater_days: float = 1.0) -> tuple[dict[int, float], float, list[float]]:
    """The bounds the interest proof compares.

    Per principal class: the most interest a dollar of its balance can draw (its coupon, its
    floaters at their caps, IO strips on it). Per pool: the least interest a dollar of the
    waterfall's share of it pays (net coupon, grossed up by a discount strip, less IO strips on
    the pool or on its PO). On the collateral: the most a waterfall dollar pays to IOs on the
    whole collateral, which also draw on the PO strips' dollars. `floater_days` scales what a
    floater can draw in a month (31/30 on actual/360).
    """
    rates: dict[int, float] = {}
    for c in classes:
        if not c.in_waterfall:
            continue
        rates[c.index] = c.formula.cap * floater_days if c.formula else c.coupon
    strip_share = {c.strip[0]: c.strip[1] for c in classes if c.strip is not None}
    pool_rates = [p.coupon / (1.0 - strip_share.get(i, 0.0)) for i, p in enumerate(pools)]
    on_collateral = 0.0
    for c in classes:
        if c.notional is None:
            continue
        rate = c.formula.cap * floater_days if c.formula else c.coupon
        n = c.notional
        on_collateral += rate * n.factor if n.collateral else 0.0
        for p in n.pools:
            pool_rates[p] -= rate * n.factor / (1.0 - strip_share.get(p, 0.0))
        for k in n.classes:
            target = classes[k]
            if target.parent is not None:
                ratio = target.balance / classes[target.parent].balance
                rates[target.parent] = rates.get(target.parent, 0.0) + rate * n.factor * ratio
            elif target.strip is not None:
                pool, share = target.strip
                pool_rates[pool] -= rate * n.factor * share / (1.0 - share)
            else:
                rates[k] = rates.get(k, 0.0) + rate * n.factor
    largest_strip = max(strip_share.values(), default=0.0)
    return rates, on_collateral / (1.0 - largest_strip), pool_rates


def _interest_covered(ck: _Checker, decls: dict[str, ClassDecl], classes: list[Tranche],
                      pools: list[Pool], indices: dict[str, RatePath], basis: DayCount,
                      first_month: float) -> None:
    # A floater draws basis.months of a twelfth of its rate: on actual/360 at most 31/30.
    floater_days = basis.longest_month
    first_factor = first_month
    actual = floater_days > 1.0  # the split-pair hint below names the convention's long months
    coll_int = sum(p.balance * p.coupon for p in pools) / 12
    # At issue: what the first month needs, in dollars (floaters at their first-period index).
    need = 0.0
    first_rate: dict[str, float] = {}
    for c in classes:
        if c.is_residual:
            continue
        if c.formula is not None:
            path = indices.get(c.formula.index)
            rate = (float(c.formula.rate(path.path(1)[0])) if path else c.formula.cap) * first_factor
        else:
            rate = c.coupon
        first_rate[c.name] = rate
        if c.parent is None and any(k.parent == c.index for k in classes):
            continue  # a split parent: its children are counted
        need += _notional_at_issue(c, classes, pools) * rate / 12
    if need - coll_int > MONEY_TOLERANCE:
        worst = classes[[c.name for c in classes].index(max(first_rate, key=first_rate.get))]
        decl = decls[worst.name]
        ck.error(f"the classes' coupons need {need:,.2f} of interest in the first month; "
                 f"the collateral's net interest is {coll_int:,.2f}, "
                 f"a shortfall of {need - coll_int:,.2f}", (decl.coupon or decl.coupon_formula or decl).span,
                 "lower the coupons or add collateral coupon")
        return
    # Every period: each dollar of class balance draws at most its effective rate, and every
    # dollar of class balance is a dollar of collateral paying at least the lowest pool rate.
    rates, on_collateral, pool_rates = effective_rates(classes, pools, floater_days)
    floor_rate = min(pool_rates)
    for k, rate in rates.items():
        if rate + on_collateral > floor_rate + 1e-12:
            decl = decls[classes[k].name]
            ck.error(f"class {classes[k].name} can draw {(rate + on_collateral) * 100:.4g}% of interest "
                     f"(coupon, caps and IO strips on it), more than the lowest collateral net coupon "
                     f"of {floor_rate * 100:.4g}%", (decl.coupon or decl.coupon_formula or decl).span,
                     "as the other classes pay down, the collateral's interest would not cover it")
            return
    # Floaters split from a parent: at every index level their interest fits the parent's, and
    # where no cap or floor binds it equals the parent's, as a floater/inverse pair must.
    for parent in classes:
        children = [c for c in classes if c.parent == parent.index]
        if not children:
            continue
        floaters = [c for c in children if c.formula is not None]
        fixed = sum(c.balance * c.coupon for c in children if c.formula is None)
        if not floaters:
            if abs(fixed - parent.balance * parent.coupon) > 1e-6 * max(parent.balance, 1.0):
                decl = decls[children[-1].name]
                ck.error(f"the classes split from {parent.name} pay {fixed / parent.balance * 100:.6g}% "
                         f"of its balance; it pays {parent.coupon * 100:.6g}%",
                         (decl.coupon or decl).span, "their balance-weighted coupons must add up to it")
            continue
        kinks = [0.0]
        for c in floaters:
            f = cast(CouponFormula, c.formula)  # floaters: classes with a formula
            kinks += [(f.cap - f.constant) / f.multiplier, (f.floor - f.constant) / f.multiplier]
        levels = np.array(sorted(set(kinks)) + [max(kinks) + 0.01])
        levels = levels[levels >= 0]
        paid = fixed + floater_days * sum(c.balance * c.formula.rate(levels)  # type: ignore[union-attr]
                                          for c in floaters)
        owed = parent.balance * parent.coupon
        decl = decls[children[-1].name]
        over = np.nonzero(paid - owed > 1e-6)[0]
        if over.size:
            level = levels[over[0]]
            ck.error(f"at {floaters[0].formula.index} {level * 100:.4g}% the classes split from "  # type: ignore[union-attr]
                     f"{parent.name} pay {paid[over[0]] / parent.balance * 100:.4g}% of its balance, "
                     f"more than its {parent.coupon * 100:.4g}% coupon", (decl.coupon_formula or decl).span,
                     "floaters on actual/360 draw 31/30 of their rate in a 31-day month, more than "
                     "a 30/360 parent pays: use day count 30/360 for a split pair" if actual else
                     "lower the floater's cap or the inverse floater's cap so they fit the parent")
            continue
        free = [(lo + hi) / 2 for lo, hi in zip(levels[:-1], levels[1:], strict=True)
                if all(f.floor < f.rate((lo + hi) / 2) < f.cap  # type: ignore[union-attr]
                       for f in (c.formula for c in floaters))]
        for level in free[:1]:
            at = fixed + sum(c.balance * float(c.formula.rate(level)) for c in floaters)  # type: ignore[union-attr]
            if abs(at - owed) > 1e-6 * max(owed, 1.0):
                ck.error(f"the classes split from {parent.name} do not add up to its coupon: at "
                         f"{floaters[0].formula.index} {level * 100:.4g}% they pay "  # type: ignore[union-attr]
                         f"{at / parent.balance * 100:.6g}%, it pays {parent.coupon * 100:.6g}%",
                         (decl.coupon_formula or decl).span,
                         "balance x margin terms must add up: sum of (balance x constant) = parent "
                         "balance x coupon, sum of (balance x multiplier) = 0")


def _notional_at_issue(c: Tranche, classes: list[Tranche], pools: list[Pool]) -> float:
    if c.notional is None:
        return c.balance
    n = c.notional
    base = sum(classes[k].balance for k in n.classes) + sum(pools[p].balance for p in n.pools)
    if n.collateral:
        base += sum(p.balance for p in pools)
    return n.factor * base


def _index_path(ck: _Checker, decl: RatePathDecl) -> RatePath | None:
    rates = [ck.rate(q, "an index rate") for q in decl.rates]
    if any(r is None for r in rates):
        return None
    if decl.kind == "curve" and any(b <= a for a, b in zip(decl.periods, decl.periods[1:], strict=False)):
        ck.error("a curve's periods must increase", decl.span)
        return None
    return RatePath(decl.kind, tuple(rates), tuple(decl.periods))  # type: ignore[arg-type]


def _index_settings(ck: _Checker, settings: list[IndexSetting], known: set[str]) -> dict[str, RatePath]:
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
        path = _index_path(ck, setting.path)
        if path is not None:
            out[setting.index] = path
    return out


def _curve(ck: _Checker, decl: CurveDecl, deal_path: str | None) -> Curve | None:
    try:
        if decl.path is not None:
            base = Path(deal_path).parent if deal_path else Path.cwd()
            return dataclasses.replace(read_curve_csv(base / decl.path), name=decl.name)
        tenors, yields = [], []
        for tenor, q in decl.points:
            rate = ck.rate(q, "a curve yield")
            if rate is None:
                return None
            tenors.append(float(str(tenor).replace(",", "")))
            yields.append(rate)
        return make_curve(decl.name, tenors, yields)
    except InputError as exc:
        ck.error(str(exc), decl.span)
        return None


def _analytics(ck: _Checker, decl: AnalyticsDecl | None, names: dict[str, Tranche],
               decrement: list[Prepayment], deal_path: str | None) -> Analytics:
    if decl is None:
        return Analytics()
    curves: dict[str, Curve] = {}
    for cdecl in decl.curves:
        if cdecl.name in curves:
            ck.error(f"two curves are named \"{cdecl.name}\"", cdecl.span)
            continue
        curve = _curve(ck, cdecl, deal_path)
        if curve is not None:
            curves[cdecl.name] = curve
    quotes: list[QuoteSpec] = []
    quoted: dict[str, Span | None] = {}
    for q in decl.quotes:
        if q.kind == "price":
            try:
                value = parse_price(q.value)  # type: ignore[arg-type]
            except InputError as exc:
                ck.error(str(exc), q.span)
                continue
        else:
            rate = ck.rate(q.value, f"a {q.kind}")  # type: ignore[arg-type]
            if rate is None:
                continue
            value = rate
            if q.kind == "spread" and not decl.curves:
                ck.error("a spread needs a curve to be a spread to", q.span,
                         'add: curve "UST" (1: 4.1%, 2: 4.0%, 5: 4.0%, 10: 4.2%, 30: 4.5%)')
                continue
        for name, span in q.classes:
            tranche = names.get(name)
            if tranche is None:
                ck.error(f"unknown class '{name}'", span, did_you_mean(name, names))
                continue
            if tranche.is_residual or not tranche.issued:
                ck.error(f"class {name} is not an issued class with cash flows to price", span)
                continue
            if name in quoted:
                ck.error(f"class {name} is priced twice", span)
                continue
            quoted[name] = span
            quotes.append(QuoteSpec(q.kind, name, value))
    tables: list[TableSpec] = []
    for t in decl.tables:
        try:
            prices = tuple(parse_price(p) for p in t.prices)
        except InputError as exc:
            ck.error(str(exc), t.span)
            continue
        speeds = tuple(_decrement_speeds(ck, t.speeds)) if t.speeds else tuple(decrement)
        if not speeds:
            ck.error("a price/yield table needs speeds", t.span,
                     "add: speeds(100, 165, 300 PSA), or decrement speeds to the scenarios block")
            continue
        tables.append(TableSpec(prices, speeds))
    return Analytics(curves, tuple(quotes), tuple(tables))


def check(file: DealFile) -> Deal:
    """Turn a parsed deal file into a checked Deal, or raise DealErrors listing every problem."""
    ck = _Checker(file)
    settle, first_payment, delay = ck.header()
    basis = day_count(file.header.day_count or THIRTY_360)

    if not file.pools:
        ck.error("the deal has no collateral", file.header.span,
                 'add: collateral { pool "..." { balance ... wac ...% coupon ...% term 360 age 0 } }')
    pools = []
    pool_names: dict[str, Span | None] = {}
    for decl in file.pools:
        if decl.name in pool_names:
            ck.error(f"two pools are named \"{decl.name}\"", decl.span)
        pool_names[decl.name] = decl.span
        pool = ck.pool(decl)
        if pool is not None:
            pools.append(pool)
    periods = max((p.remaining for p in pools), default=0)  # the Deal's `periods`, before there is one

    classes: list[Tranche] = []
    decls: dict[str, ClassDecl] = {}
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
        tranche = ck.tranche(decl, len(classes))
        if tranche is not None:
            classes.append(tranche)
    if not file.classes:
        ck.error("the deal has no classes", file.header.span, "add: class A SEQ balance ... coupon ...%")
    residuals = [c for c in classes if c.is_residual]
    if len(residuals) > 1:
        ck.error("a deal has one residual class", decls[residuals[1].name].span,
                 f"{residuals[0].name} is already the residual")
    all_classes_ok = len(classes) == len(decls) == len(file.classes)
    if all_classes_ok and classes and not residuals:
        # Every REMIC has a residual class; one the deal does not declare is added, so that
        # whatever is left over is shown rather than lost.
        name = next(n for n in ("R", "RES", "RESIDUAL", "R_") if n not in decls)
        classes.append(Tranche(name, "R", "R", 0.0, 0.0, len(classes)))
    if all_classes_ok and pools:
        classes = _resolve(ck, decls, classes, pools)
    names = {c.name: c for c in classes}

    # Index rates the floaters reset on.
    # The indices the deal's coupon formulas name, as written (even where a class had errors).
    known = {t.index for d in decls.values() if d.coupon_formula
             for t in d.coupon_formula.terms if t.index}
    sc = file.scenarios
    indices = _index_settings(ck, sc.indices, known) if sc else {}
    for c in classes:
        if c.formula is not None and c.formula.index not in indices:
            decl = decls[c.name]
            ck.error(f"no rate is given for index {c.formula.index}", (decl.coupon_formula or decl).span,
                     f"add to the scenarios block: index {c.formula.index} 4.30%")

    clean = all_classes_ok and pools and len(pools) == len(file.pools) and not ck.errors
    schedules: dict[int, np.ndarray] = {}
    tiers: list[Tier] = []
    if clean:
        # Every dollar of collateral principal belongs to exactly one class with principal.
        coll = sum(p.balance for p in pools)
        owners = [c for c in classes if c.on_books]
        total = sum(c.balance for c in owners)
        if abs(total - coll) > MONEY_TOLERANCE:
            diff = total - coll
            word = "more" if diff > 0 else "less"
            ck.error(f"the class balances add up to {total:,.2f}, {abs(diff):,.2f} {word} than the "
                     f"collateral balance of {coll:,.2f}", file.classes[0].span,
                     "the classes must account for every dollar of collateral principal")
        else:
            first_month = basis.accrual_months(first_payment, 1)[0] if first_payment else 1.0
            _interest_covered(ck, decls, classes, pools, indices, basis, first_month)
        schedules, tiers = _schedules(ck, decls, classes, pools, periods, file.path)
        ck.schedules_known = True

    principal: Sequential = Sequential(())
    accretion: dict[int, Rule] = {}
    wf = file.waterfall
    if wf is None:
        ck.error("the deal has no waterfall", file.header.span,
                 "add: waterfall { interest: pay each class its coupon  principal { pay ... } }")
    elif all_classes_ok:
        if not wf.principal:
            ck.error("the waterfall has no principal rules", wf.principal_span or wf.span,
                     "add: principal { pay A until retired ... }")
        if any(c.coupon > 0 or c.formula for c in classes) and not wf.interest:
            ck.error("the waterfall has no interest section, but classes bear coupons",
                     wf.span, "add: interest: pay each class its coupon")
        rules = [ck.principal_rule(r, names, schedules, periods) for r in wf.principal]
        principal = Sequential(tuple(r for r in rules if r is not None))
        for acc in wf.accretion:
            z = names.get(acc.name)
            if z is None:
                ck.error(f"unknown class '{acc.name}'", acc.name_span, did_you_mean(acc.name, names))
                continue
            if not z.accrual:
                ck.error(f"class {z.name} does not accrue, so it has no accretion to direct", acc.name_span,
                         f"type it as an accrual class: class {z.name} SEQ/Z ...")
                continue
            acc_rules = [ck.principal_rule(r, names, schedules, periods) for r in acc.rules]
            if any(r is None for r in acc_rules):
                continue
            rule = Sequential(tuple(acc_rules))  # type: ignore[arg-type]
            if z.index in rule_classes(rule):
                ck.error(f"class {z.name}'s accretion cannot pay {z.name} itself", acc.span)
                continue
            if not rule_classes(rule):
                ck.error(f"class {z.name}'s accretion pays no class", acc.span)
                continue
            accretion[z.index] = rule
        for c in classes:
            if c.accrual and c.index not in accretion and not any(a.name == c.name for a in wf.accretion):
                ck.error(f"accrual class {c.name} does not say where its accrued interest goes",
                         decls[c.name].span, f"add to the waterfall: accretion {c.name}: pay A then B")
        if len(principal.children) == len(wf.principal):
            paid = set(rule_classes(principal))
            retiring = principal.retiring()
            for c in classes:
                if not c.in_waterfall or c.balance <= 0 or c.name in ck.failed:
                    continue
                if c.index not in paid:
                    ck.error(f"class {c.name} has a balance that no principal rule ever pays",
                             decls[c.name].span, f"add a rule like: pay {c.name} until retired")
                elif c.index not in retiring:
                    ck.error(f"class {c.name} is only paid to its schedule, its share or when a trigger "
                             "holds: principal it cannot take would go to the residual", decls[c.name].span,
                             f"add a last rule: pay {c.name} until retired")

    pricing = None
    decrement: list[Prepayment] = []
    scenarios: dict[str, Scenario] = {}
    if sc is not None:
        if sc.pricing is not None:
            speed = _speed(ck, sc.pricing)
            overrides = _index_settings(ck, sc.pricing_indices, known)
            if speed is not None:
                pricing = Scenario(speed, tuple(overrides.items()))
        decrement = [p for line in sc.decrement_lines for p in _decrement_speeds(ck, line)]
        for name, span, spec in sc.named:
            if name in scenarios:
                ck.error(f"two scenarios are named \"{name}\"", span)
            got = _speed(ck, spec)
            overrides = _index_settings(ck, sc.named_indices.get(name, []), known)
            if got is not None:
                scenarios[name] = Scenario(got, tuple(overrides.items()), name=name)

    analytics = _analytics(ck, file.analytics, names, decrement, file.path)

    if ck.errors:
        raise DealErrors(ck.errors).attach(file.source, file.path)
    return Deal(
        name=file.header.name,
        settle=settle,
        first_payment=first_payment,
        delay_days=delay,
        pools=tuple(pools),
        classes=tuple(classes),
        principal=principal,
        pricing=pricing,
        decrement=tuple(decrement),
        scenarios=scenarios,
        indices=indices,
        accretion=accretion,
        schedules=schedules,
        tiers=tuple(tiers),
        analytics=analytics,
        day_count=basis,
        source=file.source,
        path=file.path,
    )
