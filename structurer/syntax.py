"""Parsing: deal text -> syntax tree of plain dataclasses that remember where they came from.

The grammar (grammars/waterfall.lark) is LALR(1), so parsing is linear and a syntax error is
found at the first token that cannot continue the deal. Nothing here judges meaning (unknown
classes, balances that do not add up): that is check.py's job.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import lark
from lark import Lark, Token, Transformer, v_args

from .errors import DealError, Span, did_you_mean

# ---------------------------------------------------------------------------- syntax tree


@dataclass
class Quantity:
    """A number as written, with its unit (or None) and where it stands."""

    value: float
    unit: str | None
    span: Span | None
    text: str = ""


@dataclass
class DealHeader:
    name: str
    span: Span | None
    settle: dt.date | None = None
    settle_span: Span | None = None
    first_payment: dt.date | None = None
    first_payment_span: Span | None = None
    delay: Quantity | None = None
    day_count: str | None = None
    day_count_span: Span | None = None


@dataclass
class PoolDecl:
    name: str
    span: Span | None
    attrs: dict[str, Quantity] = field(default_factory=dict)
    key_spans: dict[str, Span | None] = field(default_factory=dict)


@dataclass
class TypeWord:
    """One word of a class's type, with its arguments: PAC(90 PSA, 300 PSA), SEQ, Z."""

    name: str
    args: list[Quantity]
    span: Span | None


@dataclass
class RateTerm:
    """One term of a coupon formula: a constant rate, or multiplier x index."""

    sign: int
    constant: Quantity | None
    multiplier: float
    index: str | None
    span: Span | None


@dataclass
class RateFormula:
    """A coupon that floats: constant + sum of (multiplier x index), e.g. 19.5% - 3 x SOFR."""

    terms: list[RateTerm]
    span: Span | None


@dataclass
class NotionalRef:
    """What a notional balance follows: a class, the whole collateral, or one pool."""

    kind: str  # "class" | "collateral" | "pool"
    name: str | None
    span: Span | None


@dataclass
class NotionalDecl:
    amount: Quantity | None
    refs: list[NotionalRef]
    span: Span | None


@dataclass
class ScheduleDecl:
    """An explicit schedule of balances: a list in the deal, or a CSV file (period, balance)."""

    balances: list[Quantity] | None
    path: str | None
    span: Span | None


@dataclass
class StripDecl:
    """A PO carved from a discount pool so that the rest of the pool pays `target`."""

    pool: str
    pool_span: Span | None
    target: Quantity
    span: Span | None


@dataclass
class ClassDecl:
    name: str
    span: Span | None
    type_name: str
    type_span: Span | None
    balance: Quantity | None = None
    coupon: Quantity | None = None
    types: list[TypeWord] = field(default_factory=list)
    coupon_formula: RateFormula | None = None
    cap: Quantity | None = None
    floor: Quantity | None = None
    parent: str | None = None
    parent_span: Span | None = None
    notional: NotionalDecl | None = None
    schedule: ScheduleDecl | None = None
    lockout: Quantity | None = None
    shift: list[Quantity] | None = None
    shift_span: Span | None = None
    strip: StripDecl | None = None


@dataclass
class ClassRef:
    """A class named in a principal rule, with its fixed pro rata share if one was written."""

    name: str
    span: Span | None
    share: Quantity | None = None


@dataclass
class Group:
    """A parenthesised allocation used as one member of an outer allocation."""

    alloc: Alloc
    span: Span | None
    share: Quantity | None = None


Member = ClassRef | Group


@dataclass
class ProAlloc:
    """Members joined by ',' or 'and', with how they share: 'pro_rata', 'sequentially' or None."""

    members: list[Member]
    mode: str | None
    span: Span | None


@dataclass
class Alloc:
    """Parts paid one after another ('then')."""

    parts: list[ProAlloc]
    span: Span | None


@dataclass
class PrincipalRule:
    alloc: Alloc
    limit: str | None
    span: Span | None


@dataclass
class InterestRule:
    kind: str
    span: Span | None


@dataclass
class AccretionDecl:
    """Where an accrual class's accrued interest is paid as principal."""

    name: str
    name_span: Span | None
    rules: list[PrincipalRule]
    span: Span | None


@dataclass
class WaterfallDecl:
    span: Span | None
    interest: list[InterestRule] = field(default_factory=list)
    interest_span: Span | None = None
    principal: list[PrincipalRule] = field(default_factory=list)
    principal_span: Span | None = None
    accretion: list[AccretionDecl] = field(default_factory=list)


@dataclass
class ConstantSpeed:
    rate: Quantity
    span: Span | None


@dataclass
class RampSpeed:
    start: Quantity
    end: Quantity
    months: Quantity
    span: Span | None


@dataclass
class VectorSpeed:
    rates: list[Quantity]
    span: Span | None


Speed = ConstantSpeed | RampSpeed | VectorSpeed


@dataclass
class RatePathDecl:
    """An index path: kind 'level' (one rate), 'vector' (one per period) or 'curve' (points)."""

    kind: str
    rates: list[Quantity]
    periods: list[int]
    span: Span | None


@dataclass
class IndexSetting:
    index: str
    index_span: Span | None
    path: RatePathDecl


@dataclass
class ScenariosDecl:
    span: Span | None
    pricing: Speed | None = None
    decrement: list[Speed] = field(default_factory=list)
    decrement_lines: list[list[Speed]] = field(default_factory=list)
    named: list[tuple[str, Span | None, Speed]] = field(default_factory=list)
    indices: list[IndexSetting] = field(default_factory=list)
    pricing_indices: list[IndexSetting] = field(default_factory=list)
    named_indices: dict[str, list[IndexSetting]] = field(default_factory=dict)


@dataclass
class CurveDecl:
    name: str
    span: Span | None
    points: list[tuple[Token, Quantity]] = field(default_factory=list)
    path: str | None = None


@dataclass
class QuoteDecl:
    """price/yield/spread CLASS, CLASS at VALUE: what a class is priced at."""

    kind: str  # "price" | "yield" | "spread"
    classes: list[tuple[str, Span | None]]
    value: Quantity | str  # a price in 32nds stays text; others are quantities
    span: Span | None


@dataclass
class TableDecl:
    prices: list[str]
    speeds: list[Speed]
    span: Span | None


@dataclass
class AnalyticsDecl:
    span: Span | None
    curves: list[CurveDecl] = field(default_factory=list)
    quotes: list[QuoteDecl] = field(default_factory=list)
    tables: list[TableDecl] = field(default_factory=list)


@dataclass
class DealFile:
    """The whole deal file as written."""

    header: DealHeader
    pools: list[PoolDecl]
    classes: list[ClassDecl]
    waterfall: WaterfallDecl | None
    scenarios: ScenariosDecl | None
    source: str
    path: str | None
    analytics: AnalyticsDecl | None = None


# ---------------------------------------------------------------------------- parser


# Two-word phrases of the language, as they are mistyped glued together.
_PHRASES = {p.replace(" ", ""): p for p in (
    "pro rata", "until retired", "to schedule", "its share", "first payment", "each class")}

# The text being parsed, for the keyword check below (the lexer hands callbacks tokens only).
_SOURCE: ContextVar[str] = ContextVar("_SOURCE", default="")


def _whole_word(token: Token) -> Token:
    """Keywords are whole words: 'prorata' is not 'pro' + 'rata', 'untill' is not 'until'."""
    source = _SOURCE.get()
    end = token.end_pos or 0
    if end < len(source) and (source[end].isalnum() or source[end] == "_"):
        stop = end
        while stop < len(source) and (source[stop].isalnum() or source[stop] in "_-"):
            stop += 1
        word = source[token.start_pos:stop]
        span = Span(token.line or 1, token.column or 1, token.line or 1, (token.column or 1) + len(word))
        glued = _PHRASES.get(word.lower().replace("-", "").replace("_", ""))
        hint = (f"write '{glued}' as two words" if glued
                else did_you_mean(word, KEYWORDS) or "check the spelling")
        raise DealError(f"unknown word '{word}'", span, hint)
    return token


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("structurer").joinpath("grammars/waterfall.lark").read_text()
    probe = Lark(grammar, parser="lalr", maybe_placeholders=False)
    keyword_terminals = [t.name for t in probe.terminals
                         if t.pattern.type == "str" and t.pattern.value[:1].isalpha()]
    KEYWORDS.update(probe.get_terminal(n).pattern.value for n in keyword_terminals)
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                lexer_callbacks={name: _whole_word for name in keyword_terminals})


# Every word of the language (filled from the grammar): not usable as a class name.
KEYWORDS: set[str] = set()


def _number(token: Token) -> float:
    text = str(token)
    if "," in text and text.startswith("0"):
        # "0,100,165" is a list someone wrote without spaces, never a number.
        raise DealError(f"'{text}' is not a number", Span.of(token),
                        "separate the items of a list with a comma and a space: 0, 100, 165")
    return float(text.replace(",", "").replace("_", ""))


@v_args(meta=True)
class _ToAst(Transformer):
    """One method per grammar rule; each builds the dataclass for it."""

    def quantity(self, meta, children):
        number = children[0]
        unit = str(children[1]) if len(children) > 1 else None
        text = str(number) + (("" if unit in ("%",) else " ") + unit if unit else "")
        return Quantity(_number(number), unit, Span.of(meta), text)

    # -- deal header
    def settle(self, meta, children):
        return ("settle", _date(children[0]), Span.of(children[0]))

    def first_payment(self, meta, children):
        return ("first_payment", _date(children[0]), Span.of(children[0]))

    def delay(self, meta, children):
        return ("delay", children[0], Span.of(meta))

    def day_count(self, meta, children):
        basis = str(children[0]).split()[-1].lower()
        return ("day_count", "30/360" if basis == "30/360" else "actual/360", Span.of(children[0]))

    def deal_block(self, meta, children):
        name_tok, *items = children
        header = DealHeader(_unquote(name_tok), Span.of(name_tok))
        seen: dict[str, Span | None] = {}
        for key, value, span in items:
            if key in seen:
                raise DealError(f"'{key.replace('_', ' ')}' is given twice in the deal header", span)
            seen[key] = span
            setattr(header, key, value)
            if key != "delay":
                setattr(header, key + "_span", span)
        return header

    # -- collateral
    def pool_key(self, meta, children):
        return children[0]

    def pool_attr(self, meta, children):
        return (str(children[0]), Span.of(children[0]), children[1])

    def pool(self, meta, children):
        name_tok, *attrs = children
        pool = PoolDecl(_unquote(name_tok), Span.of(name_tok))
        for key, key_span, quantity in attrs:
            if key in pool.attrs:
                raise DealError(f"pool \"{pool.name}\" gives '{key}' twice", key_span)
            pool.attrs[key] = quantity
            pool.key_spans[key] = key_span
        return pool

    def collateral_block(self, meta, children):
        return ("collateral", children)

    # -- classes
    def type_args(self, meta, children):
        return list(children)

    def type_word(self, meta, children):
        args = children[1] if len(children) > 1 else []
        return TypeWord(str(children[0]), args, Span.of(meta))

    def type_spec(self, meta, children):
        return list(children)

    def class_balance(self, meta, children):
        return ("balance", children[0], children[0].span)

    def rate_const(self, meta, children):
        return RateTerm(1, children[0], 0.0, None, Span.of(meta))

    def rate_index(self, meta, children):
        return RateTerm(1, None, _number(children[0]), str(children[1]), Span.of(meta))

    def rate_index1(self, meta, children):
        return RateTerm(1, None, 1.0, str(children[0]), Span.of(meta))

    def rate_expr(self, meta, children):
        terms: list[RateTerm] = [children[0]]
        for sign, term in zip(children[1::2], children[2::2], strict=True):
            term.sign = -1 if str(sign) == "-" else 1
            terms.append(term)
        return RateFormula(terms, Span.of(meta))

    def class_coupon(self, meta, children):
        formula = children[0]
        only = formula.terms[0]
        if len(formula.terms) == 1 and only.constant is not None:
            return ("coupon", only.constant, only.span)
        return ("coupon_formula", formula, formula.span)

    def class_cap(self, meta, children):
        return ("cap", children[0], children[0].span)

    def class_floor(self, meta, children):
        return ("floor", children[0], children[0].span)

    def class_parent(self, meta, children):
        return ("parent", str(children[0]), Span.of(children[0]))

    def notional_class(self, meta, children):
        return NotionalRef("class", str(children[0]), Span.of(children[0]))

    def notional_collateral(self, meta, children):
        return NotionalRef("collateral", None, Span.of(meta))

    def notional_pool(self, meta, children):
        return NotionalRef("pool", _unquote(children[0]), Span.of(children[0]))

    def class_notional(self, meta, children):
        amount = children[0] if isinstance(children[0], Quantity) else None
        refs = [c for c in children if isinstance(c, NotionalRef)]
        return ("notional", NotionalDecl(amount, refs, Span.of(meta)), Span.of(meta))

    def schedule_file(self, meta, children):
        return ("schedule", ScheduleDecl(None, _unquote(children[0]), Span.of(meta)), Span.of(meta))

    def schedule_list(self, meta, children):
        return ("schedule", ScheduleDecl(list(children), None, Span.of(meta)), Span.of(meta))

    def class_lockout(self, meta, children):
        return ("lockout", children[0], Span.of(meta))

    def class_shift(self, meta, children):
        return ("shift", list(children), Span.of(meta))

    def class_strip(self, meta, children):
        strip = StripDecl(_unquote(children[0]), Span.of(children[0]), children[1], Span.of(meta))
        return ("strip", strip, Span.of(meta))

    def class_decl(self, meta, children):
        name_tok, types, *attrs = children
        type_name = "/".join(w.name for w in types)
        decl = ClassDecl(str(name_tok), Span.of(name_tok), type_name, types[0].span, types=types)
        for key, value, span in attrs:
            if getattr(decl, key) is not None or (key == "coupon" and decl.coupon_formula) or (
                    key == "coupon_formula" and decl.coupon):
                raise DealError(f"class {decl.name} gives its {key.replace('_formula', '')} twice", span)
            setattr(decl, key, value)
            if key == "parent":
                decl.parent_span = span
            elif key == "shift":
                decl.shift_span = span
        return decl

    # -- waterfall
    def interest_rule(self, meta, children):
        return InterestRule("coupon", Span.of(meta))

    def interest_body(self, meta, children):
        return list(children)

    def interest_section(self, meta, children):
        rules = children[0] if children and isinstance(children[0], list) else list(children)
        return ("interest", rules, Span.of(meta))

    def principal_body(self, meta, children):
        return list(children)

    def principal_section(self, meta, children):
        rules = children[0] if children and isinstance(children[0], list) else list(children)
        return ("principal", rules, Span.of(meta))

    def until_retired(self, meta, children):
        return "until retired"

    def to_schedule(self, meta, children):
        return "to schedule"

    def its_share(self, meta, children):
        return "its share"

    def accretion_section(self, meta, children):
        name_tok, body = children[0], children[1:]
        rules = body[0] if body and isinstance(body[0], list) else list(body)
        decl = AccretionDecl(str(name_tok), Span.of(name_tok), rules, Span.of(meta))
        return ("accretion", decl, Span.of(meta))

    def principal_rule(self, meta, children):
        alloc = children[0]
        limit = children[1] if len(children) > 1 else None
        return PrincipalRule(alloc, limit, Span.of(meta))

    def alloc(self, meta, children):
        parts = [c for c in children if isinstance(c, ProAlloc)]
        return Alloc(parts, Span.of(meta))

    def pro_rata(self, meta, children):
        return "pro_rata"

    def sequentially(self, meta, children):
        return "sequentially"

    def pro_alloc(self, meta, children):
        mode = children[-1] if isinstance(children[-1], str) else None
        members = [c for c in children if isinstance(c, ClassRef | Group)]
        return ProAlloc(members, mode, Span.of(meta))

    def share(self, meta, children):
        return children[0]

    def class_ref(self, meta, children):
        name_tok = children[0]
        share = children[1] if len(children) > 1 else None
        return ClassRef(str(name_tok), Span.of(name_tok), share)

    def group(self, meta, children):
        share = children[1] if len(children) > 1 else None
        return Group(children[0], Span.of(meta), share)

    def waterfall_block(self, meta, children):
        decl = WaterfallDecl(Span.of(meta))
        for kind, rules, span in children:
            if kind == "accretion":
                if any(a.name == rules.name for a in decl.accretion):
                    raise DealError(f"the accretion of {rules.name} is given twice", span)
                decl.accretion.append(rules)
                continue
            if getattr(decl, kind + "_span") is not None:
                raise DealError(f"the waterfall has two {kind} sections; merge them into one", span)
            setattr(decl, kind, rules)
            setattr(decl, kind + "_span", span)
        return ("waterfall", decl)

    # -- scenarios
    def constant_speed(self, meta, children):
        return ConstantSpeed(children[0], Span.of(meta))

    def ramp_speed(self, meta, children):
        return RampSpeed(children[0], children[1], children[2], Span.of(meta))

    def vector_speed(self, meta, children):
        return VectorSpeed(list(children), Span.of(meta))

    def rate_level(self, meta, children):
        return RatePathDecl("level", [children[0]], [], Span.of(meta))

    def rate_vector(self, meta, children):
        return RatePathDecl("vector", list(children), [], Span.of(meta))

    def curve_point(self, meta, children):
        return (children[0], children[1])

    def rate_curve(self, meta, children):
        periods = [p for p, _ in children]
        for p in periods:
            if _number(p) != int(_number(p)) or _number(p) < 1:
                raise DealError("a curve point's period is a whole number from 1", Span.of(p))
        return RatePathDecl("curve", [q for _, q in children], [int(_number(p)) for p in periods],
                            Span.of(meta))

    def index_override(self, meta, children):
        return IndexSetting(str(children[0]), Span.of(children[0]), children[1])

    def index_default(self, meta, children):
        return ("index", IndexSetting(str(children[0]), Span.of(children[0]), children[1]), Span.of(meta))

    def pricing(self, meta, children):
        return ("pricing", (children[0], list(children[1:])), Span.of(meta))

    def decrement(self, meta, children):
        return ("decrement", list(children), Span.of(meta))

    def named_scenario(self, meta, children):
        named = (_unquote(children[0]), Span.of(children[0]), children[1], list(children[2:]))
        return ("named", named, Span.of(meta))

    def scenarios_block(self, meta, children):
        decl = ScenariosDecl(Span.of(meta))
        for kind, value, span in children:
            if kind == "pricing":
                if decl.pricing is not None:
                    raise DealError("the pricing speed is given twice", span)
                decl.pricing, decl.pricing_indices = value
            elif kind == "decrement":
                decl.decrement.extend(value)
                decl.decrement_lines.append(value)
            elif kind == "index":
                decl.indices.append(value)
            else:
                name, name_span, speed, overrides = value
                decl.named.append((name, name_span, speed))
                decl.named_indices[name] = overrides
        return ("scenarios", decl)

    # -- analytics
    def class_list(self, meta, children):
        return [(str(t), Span.of(t)) for t in children]

    def price_value(self, meta, children):
        return str(children[0])

    def curve_points(self, meta, children):
        name, *points = children
        return ("curve", CurveDecl(_unquote(name), Span.of(name), list(points)))

    def curve_file(self, meta, children):
        return ("curve", CurveDecl(_unquote(children[0]), Span.of(children[0]), path=_unquote(children[1])))

    def price_quote(self, meta, children):
        return ("quote", QuoteDecl("price", children[0], children[1], Span.of(meta)))

    def yield_quote(self, meta, children):
        return ("quote", QuoteDecl("yield", children[0], children[1], Span.of(meta)))

    def spread_quote(self, meta, children):
        return ("quote", QuoteDecl("spread", children[0], children[1], Span.of(meta)))

    def table_speeds(self, meta, children):
        return list(children)

    def price_table(self, meta, children):
        speeds = children[-1] if children and isinstance(children[-1], list) else []
        prices = [c for c in children if isinstance(c, str)]
        return ("table", TableDecl(prices, speeds, Span.of(meta)))

    def analytics_block(self, meta, children):
        decl = AnalyticsDecl(Span.of(meta))
        for kind, value in children:
            {"curve": decl.curves, "quote": decl.quotes, "table": decl.tables}[kind].append(value)
        return ("analytics", decl)

    def start(self, meta, children):
        return children


def _unquote(token: Token) -> str:
    return str(token)[1:-1]


def _date(token: Token) -> dt.date:
    try:
        return dt.date.fromisoformat(str(token))
    except ValueError:
        raise DealError(f"'{token}' is not a calendar date", Span.of(token),
                        "write dates as YYYY-MM-DD") from None


def parse(source: str, path: str | None = None) -> DealFile:
    """Parse deal text into a DealFile; raise DealError (with the source attached) if it is not one."""
    token = _SOURCE.set(source)
    try:
        tree = _parser().parse(source)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(exc, source).attach(source, path) from None
    except DealError as exc:
        raise exc.attach(source, path) from None
    finally:
        _SOURCE.reset(token)
    try:
        items = _ToAst().transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, DealError):
            raise exc.orig_exc.attach(source, path) from None
        raise
    header, *sections = items
    pools: list[PoolDecl] = []
    classes: list[ClassDecl] = []
    waterfall: WaterfallDecl | None = None
    scenarios: ScenariosDecl | None = None
    analytics: AnalyticsDecl | None = None
    for section in sections:
        if isinstance(section, ClassDecl):
            classes.append(section)
            continue
        kind, value = section
        if kind == "collateral":
            pools.extend(value)
        elif kind == "waterfall":
            if waterfall is not None:
                raise DealError("the deal has two waterfall blocks", value.span).attach(source, path)
            waterfall = value
        elif kind == "scenarios":
            if scenarios is not None:
                raise DealError("the deal has two scenarios blocks", value.span).attach(source, path)
            scenarios = value
        elif kind == "analytics":
            if analytics is not None:
                raise DealError("the deal has two analytics blocks", value.span).attach(source, path)
            analytics = value
    return DealFile(header, pools, classes, waterfall, scenarios, source, path, analytics)


# ---------------------------------------------------------------------------- syntax errors

# What each terminal means to a structurer, for "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a class name",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "DAY_COUNT": "'day count 30/360' or 'day count actual/360'",
    "PRICE32": "a price (99-16, 99-16+ or 99.5)",
    "STRING": 'a quoted name ("...")',
    "UNIT": "a unit (%, bp, PSA, CPR, SMM, days, mm)",
    "THEN": "'then'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COLON": "':'",
    "$END": "the end of the file",
}

# Named in the hint after "class NAME"; check.py holds the full vocabulary.
_CLASS_TYPES = ("SEQ", "PT", "R")

# The order in which alternatives are listed: the likely ones first.
_PRIORITY = ["NAME", "NUMBER", "UNIT", "DATE", "STRING"]


def _expected_words(expected: set[str], after_class_name: bool = False) -> str:
    parser = _parser()
    words: list[str] = []
    if after_class_name and "NAME" in expected:
        words.append("a class type (" + ", ".join(_CLASS_TYPES) + ")")
        expected = expected - {"NAME"}
    ordered = sorted(expected, key=lambda t: (_PRIORITY.index(t) if t in _PRIORITY else 99, t))
    for name in ordered:
        if name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        else:
            try:
                pattern = parser.get_terminal(name).pattern
            except KeyError:
                continue
            if pattern.type != "str":
                continue
            word = f"'{pattern.value}'"
        if word not in words:
            words.append(word)
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(exc: lark.exceptions.UnexpectedInput, source: str) -> DealError:
    line = getattr(exc, "line", None) or 1
    column = getattr(exc, "column", None) or 1
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else "?"
        span = Span(line, column, line, column + 1)
        bad_day_count = _bad_day_count(source, exc.pos_in_stream, line, column)
        if bad_day_count is not None:
            return bad_day_count
        allowed = _expected_words(_acceptable_before(source, exc.pos_in_stream) or set(exc.allowed or ()))
        return DealError(f"unexpected character '{char}'", span, f"expected {allowed}")
    if isinstance(exc, lark.exceptions.UnexpectedEOF):
        last = source.rstrip().splitlines() or [""]
        n = len(last)
        span = Span(n, len(last[-1]) + 1, n, len(last[-1]) + 2)
        return DealError("the deal file ends too early", span,
                         f"expected {_expected_words(set(exc.expected))}")
    assert isinstance(exc, lark.exceptions.UnexpectedToken)
    token = exc.token
    if token.type == "$END":
        last = source.rstrip().splitlines() or [""]
        n = len(last)
        span = Span(n, len(last[-1]) + 1, n, len(last[-1]) + 2)
        return DealError("the deal file ends too early", span,
                         f"expected {_expected_words(set(exc.expected))}")
    span = Span.of(token) or Span(line, column, line, column + 1)
    bad_day_count = _bad_day_count(source, token.start_pos or 0, line, column)
    if bad_day_count is not None:
        return bad_day_count
    expected = set(exc.expected)
    after_class_name = False
    parser_state = getattr(exc, "interactive_parser", None)
    if parser_state is not None:
        # The LALR table's expected set can include what only a reduction would allow;
        # accepts() tries each terminal and keeps the ones that really continue the deal.
        expected = parser_state.accepts() or expected
        stack = parser_state.parser_state.value_stack
        after_class_name = (len(stack) >= 2 and isinstance(stack[-2], Token)
                            and stack[-2].type == "CLASS")
        # "class A balance 5": the keyword was read as the class type, so the type is missing.
        if (len(stack) >= 3 and isinstance(stack[-3], Token) and stack[-3].type == "CLASS"
                and isinstance(stack[-1], Token) and str(stack[-1]) in ("balance", "coupon")):
            type_tok = stack[-1]
            return DealError(f"class {stack[-2]} has no type", Span.of(type_tok),
                             f"write the type before the {type_tok}: class {stack[-2]} SEQ {type_tok} ...")
    hint = f"expected {_expected_words(expected, after_class_name)}"
    keywords = [_keyword(t) for t in expected]
    suggestion = did_you_mean(str(token), [k for k in keywords if k])
    if suggestion and token.type in ("NAME", "UNIT"):
        hint = f"{suggestion} ({hint})"
    return DealError(f"unexpected '{token}'", span, hint)


def _bad_day_count(source: str, position: int, line: int, column: int) -> DealError | None:
    """'day count 30/365': the one-token day count did not match; say what it can be."""
    rest = source[position:position + 40]
    if not re.match(r"day\s+count\b", rest, re.IGNORECASE):
        return None
    written = rest.splitlines()[0].split("#")[0].strip()
    return DealError(f"'{written}' is not a day count", Span(line, column, line, column + len(written)),
                     "write: day count 30/360  or  day count actual/360")


def _acceptable_before(source: str, position: int) -> set[str]:
    """What the parser would accept after the text before `position` (the lexer's own list
    includes whatever a pending reduction might allow)."""
    try:
        interactive = _parser().parse_interactive(source[:position])
        interactive.exhaust_lexer()
        return set(interactive.accepts())
    except (lark.exceptions.LarkError, DealError):
        return set()


def _keyword(terminal: str) -> str | None:
    try:
        pattern = _parser().get_terminal(terminal).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" and pattern.value.isalpha() else None
