"""Semantic checks: syntax tree -> checked Deal, or every problem found, each with its place.

A deal that passes is one the engine can run without creating or losing cash: class balances
add up to the collateral, class coupons are covered by the collateral's net interest at issue,
every class with a balance is reached by a principal rule, and rule shares add up.
"""

from __future__ import annotations

from .errors import DealError, DealErrors, Span, did_you_mean
from .model import Deal, Pay, Pool, ProRata, Rule, Sequential, Tranche, rule_classes
from .prepayment import UNITS, Prepayment
from .syntax import (
    Alloc,
    ClassDecl,
    ClassRef,
    ConstantSpeed,
    DealFile,
    Group,
    Member,
    PoolDecl,
    ProAlloc,
    Quantity,
    RampSpeed,
    Speed,
    VectorSpeed,
)

# Principal types this version runs, and what each means (for messages and docs).
PRINCIPAL_TYPES = {
    "SEQ": "sequential pay",
    "PT": "pass-through (pro rata with other classes)",
    "R": "residual: receives whatever is left",
}
# Types of the agency vocabulary that are recognised but need the structured-classes engine.
LATER_TYPES = ("PAC", "TAC", "SUP", "AD", "Z", "NAS", "NTL", "PO", "IO", "FLT", "INV", "WAC")

MONEY_TOLERANCE = 0.005  # half a cent: balances that add up to the cent add up
RATE_UNITS = {"%": 0.01, "bp": 0.0001}


class _Checker:
    def __init__(self, file: DealFile):
        self.file = file
        self.errors: list[DealError] = []

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(DealError(message, span, hint))

    # ---- quantities in the units the deal needs

    def rate(self, q: Quantity, what: str) -> float | None:
        if q.unit not in RATE_UNITS:
            self.error(f"{what} needs a rate unit", q.span, f"write it as {q.value:g}% or in bp")
            return None
        value = q.value * RATE_UNITS[q.unit]
        if value > 1:
            self.error(f"{what} of {q.text} is more than 100%", q.span)
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
        if unit in ("CPR", "SMM") and q.value > 100:
            self.error(f"{q.value:g} {unit} is more than 100%", q.span)
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
        if remaining <= 0:
            span = a["age"].span if "age" in a else decl.span
            self.error(f"pool \"{decl.name}\" has no remaining term", span)
        elif remaining > term:
            self.error(f"the remaining term ({remaining}) is longer than the original term ({term})",
                       a["remaining"].span)
        if age < 0:
            self.error("the loan age cannot be negative", a["age"].span if "age" in a else decl.span)
        if len(self.errors) > bad:
            return None
        return Pool(decl.name, balance, wac, coupon, term, remaining, age)  # type: ignore[arg-type]

    def tranche(self, decl: ClassDecl, index: int) -> Tranche | None:
        ptype = decl.type_name.upper()
        bad = len(self.errors)
        if ptype not in PRINCIPAL_TYPES:
            if ptype in LATER_TYPES:
                self.error(f"class type {ptype} is not supported by this version", decl.type_span,
                           "supported: " + ", ".join(PRINCIPAL_TYPES))
            else:
                hint = did_you_mean(decl.type_name, list(PRINCIPAL_TYPES) + list(LATER_TYPES))
                self.error(f"unknown class type '{decl.type_name}'", decl.type_span,
                           hint or "expected one of " + ", ".join(PRINCIPAL_TYPES))
            return None
        if ptype == "R":
            if decl.balance is not None and decl.balance.value != 0:
                self.error(f"the residual class {decl.name} has no balance of its own",
                           decl.balance.span, "it receives what is left; remove the balance")
            return Tranche(decl.name, "R", "R", 0.0, 0.0, index)
        if decl.balance is None:
            self.error(f"class {decl.name} has no balance", decl.span, "add: balance ...")
        if decl.coupon is None:
            self.error(f"class {decl.name} has no coupon", decl.span, "add: coupon ...%")
        if len(self.errors) > bad:
            return None
        balance = self.money(decl.balance, f"the balance of {decl.name}")  # type: ignore[arg-type]
        coupon = self.rate(decl.coupon, f"the coupon of {decl.name}")  # type: ignore[arg-type]
        if balance is not None and balance <= 0:
            self.error(f"class {decl.name} needs a positive balance", decl.balance.span)  # type: ignore[union-attr]
            return None
        if balance is None or coupon is None:
            return None
        return Tranche(decl.name, ptype, "FIX", balance, coupon, index)

    # ---- principal rules

    def rule(self, alloc: Alloc, names: dict[str, Tranche], seen: dict[str, Span | None]) -> Rule | None:
        parts = [self.pro_alloc(p, names, seen) for p in alloc.parts]
        if any(p is None for p in parts):
            return None
        return parts[0] if len(parts) == 1 else Sequential(tuple(parts))  # type: ignore[arg-type]

    def pro_alloc(self, pa: ProAlloc, names: dict[str, Tranche], seen: dict[str, Span | None]) -> Rule | None:
        members = [self.member(m, names, seen) for m in pa.members]
        shares = [m.share for m in pa.members]
        if any(m is None for m in members):
            return None
        if len(members) == 1:
            if shares[0] is not None:
                self.error("a share only means something among classes paid pro rata",
                           shares[0].span)
                return None
            return members[0]
        if pa.mode is None:
            self.error("say how these classes share principal", pa.span,
                       "end the list with 'pro rata' or 'sequentially'")
            return None
        if pa.mode == "sequentially":
            for s in shares:
                if s is not None:
                    self.error("shares mean nothing when classes are paid sequentially", s.span)
                    return None
            return Sequential(tuple(members))  # type: ignore[arg-type]
        given = [s for s in shares if s is not None]
        if not given:
            return ProRata(tuple(members))  # type: ignore[arg-type]
        if len(given) != len(shares):
            missing = next(m for m, s in zip(pa.members, shares, strict=True) if s is None)
            self.error("either every class in a pro rata group has a share or none has", missing.span,
                       "give this one a share too, like 40%")
            return None
        weights = []
        for s in given:
            w = self.rate(s, "a pro rata share")
            if w is None:
                return None
            weights.append(w)
        total = sum(weights)
        if abs(total - 1.0) > 1e-9:
            self.error(f"pro rata shares add up to {total * 100:g}%, not 100%", pa.span)
            return None
        return ProRata(tuple(members), tuple(weights))  # type: ignore[arg-type]

    def member(self, m: Member, names: dict[str, Tranche], seen: dict[str, Span | None]) -> Rule | None:
        if isinstance(m, Group):
            return self.rule(m.alloc, names, seen)
        assert isinstance(m, ClassRef)
        tranche = names.get(m.name)
        if tranche is None:
            self.error(f"unknown class '{m.name}'", m.span,
                       did_you_mean(m.name, names)
                       or "declare it with: class NAME TYPE balance ... coupon ...")
            return None
        if tranche.is_residual:
            self.error(f"class {m.name} is the residual; it receives what is left after every rule",
                       m.span, "remove it from the principal rules")
            return None
        if m.name in seen:
            self.error(f"class {m.name} appears twice in one principal rule", m.span)
            return None
        seen[m.name] = m.span
        return Pay(tranche.index)


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
    assert isinstance(spec, VectorSpeed)
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


def check(file: DealFile) -> Deal:
    """Turn a parsed deal file into a checked Deal, or raise DealErrors listing every problem."""
    ck = _Checker(file)
    settle, first_payment, delay = ck.header()

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

    classes: list[Tranche] = []
    names: dict[str, Tranche] = {}
    decls: dict[str, ClassDecl] = {}
    for decl in file.classes:
        if decl.name in decls:
            first = decls[decl.name].span
            ck.error(f"class {decl.name} is declared twice", decl.span,
                     f"first declared on line {first.line}" if first else None)
            continue
        decls[decl.name] = decl
        tranche = ck.tranche(decl, len(classes))
        if tranche is not None:
            classes.append(tranche)
            names[tranche.name] = tranche
    if not file.classes:
        ck.error("the deal has no classes", file.header.span, "add: class A SEQ balance ... coupon ...%")
    residuals = [c for c in classes if c.is_residual]
    if len(residuals) > 1:
        ck.error("a deal has one residual class", decls[residuals[1].name].span,
                 f"{residuals[0].name} is already the residual")

    # Balances and coupons against the collateral, only when both sides checked cleanly.
    if pools and len(pools) == len(file.pools) and len(classes) == len(file.classes) and classes:
        coll = sum(p.balance for p in pools)
        total = sum(c.balance for c in classes)
        if abs(total - coll) > MONEY_TOLERANCE:
            diff = total - coll
            word = "more" if diff > 0 else "less"
            ck.error(f"the class balances add up to {total:,.2f}, {abs(diff):,.2f} {word} than the "
                     f"collateral balance of {coll:,.2f}", file.classes[0].span,
                     "the classes must account for every dollar of collateral principal")
        coll_int = sum(p.balance * p.coupon for p in pools) / 12
        class_int = sum(c.balance * c.coupon for c in classes) / 12
        if class_int - coll_int > MONEY_TOLERANCE:
            worst = max((c for c in classes if not c.is_residual), key=lambda c: c.coupon)
            ck.error(f"the classes' coupons need {class_int:,.2f} of interest in the first month; "
                     f"the collateral's net interest is {coll_int:,.2f}, "
                     f"a shortfall of {class_int - coll_int:,.2f}", decls[worst.name].coupon.span,  # type: ignore[union-attr]
                     "lower the coupons or add collateral coupon")

    principal: Sequential = Sequential(())
    wf = file.waterfall
    if wf is None:
        ck.error("the deal has no waterfall", file.header.span,
                 "add: waterfall { interest: pay each class its coupon  principal { pay ... } }")
    else:
        if not wf.principal:
            ck.error("the waterfall has no principal rules", wf.principal_span or wf.span,
                     "add: principal { pay A until retired ... }")
        coupon_classes = [c for c in classes if c.coupon > 0]
        if coupon_classes and not wf.interest:
            ck.error("the waterfall has no interest section, but classes bear coupons",
                     wf.span, "add: interest: pay each class its coupon")
        rules = []
        for prule in wf.principal:
            rule = ck.rule(prule.alloc, names, {})
            if rule is not None:
                rules.append(rule)
        principal = Sequential(tuple(rules))
        if len(rules) == len(wf.principal):
            paid = set(rule_classes(principal))
            for c in classes:
                if c.balance > 0 and c.index not in paid:
                    ck.error(f"class {c.name} has a balance that no principal rule ever pays",
                             decls[c.name].span, f"add a rule like: pay {c.name} until retired")

    pricing = None
    decrement: list[Prepayment] = []
    scenarios: dict[str, Prepayment] = {}
    if file.scenarios is not None:
        sc = file.scenarios
        if sc.pricing is not None:
            pricing = _speed(ck, sc.pricing)
        decrement = _decrement_speeds(ck, sc.decrement)
        for name, span, spec in sc.named:
            if name in scenarios:
                ck.error(f"two scenarios are named \"{name}\"", span)
            got = _speed(ck, spec)
            if got is not None:
                scenarios[name] = got.named(name)

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
        source=file.source,
        path=file.path,
    )
