"""Parsing: deal text -> syntax tree of plain dataclasses that remember where they came from.

The grammar (grammars/waterfall.lark) is LALR(1), so parsing is linear and a syntax error is
found at the first token that cannot continue the deal. Nothing here judges meaning (unknown
classes, balances that do not add up): that is check.py's job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import lark
from lark import Token, Transformer, v_args

from ..dates import day_count
from ..errors import DealError, Span
from ..memory import collector_paused
from .diagnostics import syntax_error
from .grammar import MAX_LINE, SOURCE, parser
from .nodes import (
    AccretionDecl,
    Alloc,
    AnalyticsDecl,
    ClassDecl,
    ClassRef,
    CondClass,
    Condition,
    CondOp,
    CondTrigger,
    ConstantSpeed,
    CrossDecl,
    CurveDecl,
    CurveRef,
    DealFile,
    DealHeader,
    DefaultsDecl,
    ExcessDecl,
    ExprBalance,
    ExprCollateral,
    ExprNum,
    ExprOp,
    Group,
    GroupDecl,
    HorizonDecl,
    IndexSetting,
    InterestRule,
    LossesDecl,
    ModelDecl,
    NotionalDecl,
    NotionalRef,
    OcDecl,
    OcPct,
    PctSchedule,
    PeriodCondition,
    PoolDecl,
    PrincipalRule,
    ProAlloc,
    Quantity,
    QuoteDecl,
    RampSpeed,
    RateFormula,
    RatePathDecl,
    RateTerm,
    ReserveDecl,
    ScenariosDecl,
    ScheduleDecl,
    ShiftingDecl,
    ShiftTrigger,
    StepDownTest,
    StripDecl,
    TableDecl,
    TriggerDecl,
    TypeWord,
    VectorSpeed,
    WaterfallDecl,
    WhenCondition,
)


def _number(token: Token) -> float:
    text = str(token)
    if "," in text and text.startswith("0"):
        # "0,100,165" is a list someone wrote without spaces, never a number.
        raise DealError(f"'{text}' is not a number", Span.of(token),
                        "separate the items of a list with a comma and a space: 0, 100, 165")
    return float(text.replace(",", "").replace("_", ""))


def _option(word: str):
    """A transformer method for a model option: (word, its quantity, span)."""
    def method(self, meta, children):
        return (word, children[0], Span.of(meta))

    return method


def _word(text: str):
    """A transformer method for a rule that stands for a fixed phrase ('until retired')."""
    def method(self, meta, children):
        return text

    return method


@v_args(meta=True)
class _ToAst(Transformer):
    """One method per grammar rule; each builds the dataclass for it."""

    # Rules that only pass their children on, or stand for a fixed word.
    def _children(self, meta, children):
        return list(children)

    def _first(self, meta, children):
        return children[0]

    type_args = _children
    type_spec = _children
    interest_body = _children
    principal_body = _children
    table_speeds = _children
    pool_key = _first
    share = _first
    until_retired = _word("until retired")
    to_schedule = _word("to schedule")
    its_share = _word("its share")
    pro_rata = _word("pro_rata")
    sequentially = _word("sequentially")

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

    def agency(self, meta, children):
        # "GNMA II" is two words; the checker looks the program up (dates.agency_convention).
        return ("agency", " ".join(str(c) for c in children), Span.of(meta))

    def day_count(self, meta, children):
        # The grammar admits only the conventions the engine accrues; the registry names them.
        basis = day_count(str(children[0]).split()[-1])
        return ("day_count", basis.name, Span.of(children[0]))

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

    def tape_rule(self, meta, children):
        return children[0], children[1]

    def pool_tape(self, meta, children):
        name_tok, path_tok, *rule = children
        pool = PoolDecl(_unquote(name_tok), Span.of(name_tok), tape=_unquote(path_tok),
                        tape_span=Span.of(path_tok))
        if rule:
            pool.rate_step, pool.age_step = rule[0]
        return pool

    def collateral_block(self, meta, children):
        return ("collateral", children)

    # -- classes
    def type_word(self, meta, children):
        args = children[1] if len(children) > 1 else []
        return TypeWord(str(children[0]), args, Span.of(meta))

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

    def class_excess(self, meta, children):
        pool = _unquote(children[0]) if children else None
        excess = ExcessDecl(pool, Span.of(children[0]) if children else None, Span.of(meta))
        return ("excess", excess, Span.of(meta))

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

    def interest_section(self, meta, children):
        rules = children[0] if children and isinstance(children[0], list) else list(children)
        return ("interest", rules, Span.of(meta))

    def principal_section(self, meta, children):
        rules = children[0] if children and isinstance(children[0], list) else list(children)
        return ("principal", rules, Span.of(meta))

    def accretion_section(self, meta, children):
        name_tok, body = children[0], children[1:]
        rules = body[0] if body and isinstance(body[0], list) else list(body)
        decl = AccretionDecl(str(name_tok), Span.of(name_tok), rules, Span.of(meta))
        return ("accretion", decl, Span.of(meta))

    def principal_rule(self, meta, children):
        alloc = children[0]
        limit = next((c for c in children[1:] if isinstance(c, str)), None)
        target = next((c[1] for c in children[1:] if isinstance(c, tuple) and c[0] == "down to"), None)
        if target is not None:
            limit = "down to"
        condition = next((c for c in children[1:] if isinstance(c, Condition)), None)
        more = [c for c in children[1:] if isinstance(c, WhenCondition | PeriodCondition)]
        return PrincipalRule(alloc, limit, Span.of(meta), condition, more, target)

    # -- conditions on a rule (model/rules/conditions.py)
    def when_condition(self, meta, children):
        return WhenCondition(children[0], Span.of(meta))

    def _month(self, token):
        month = _number(token)
        if month != int(month) or month < 1:
            raise DealError("a month is a whole number from 1", Span.of(token))
        return int(month)

    def in_months(self, meta, children):
        return PeriodCondition(self._month(children[0]), self._month(children[1]), Span.of(meta))

    def in_month(self, meta, children):
        month = self._month(children[0])
        return PeriodCondition(month, month, Span.of(meta))

    def from_month(self, meta, children):
        return PeriodCondition(self._month(children[0]), None, Span.of(meta))

    def cond_or(self, meta, children):
        return CondOp("or", list(children), Span.of(meta))

    def cond_and(self, meta, children):
        return CondOp("and", list(children), Span.of(meta))

    def cond_not(self, meta, children):
        return CondOp("not", [children[0]], Span.of(meta))

    def cond_trigger(self, meta, children):
        return CondTrigger(_unquote(children[0]), children[1] == "fails", Span.of(meta))

    def trigger_state(self, meta, children):
        return str(children[0])

    def cond_retired(self, meta, children):
        return CondClass(str(children[0]), True, Span.of(children[0]))

    def cond_outstanding(self, meta, children):
        return CondClass(str(children[0]), False, Span.of(children[0]))

    # -- `down to EXPR` (model/rules/down_to.py)
    def down_to(self, meta, children):
        return ("down to", children[0])

    def expr_num(self, meta, children):
        return ExprNum(children[0], Span.of(meta))

    def expr_of(self, meta, children):
        return ExprOp("x", [ExprNum(children[0], children[0].span), children[1]], Span.of(meta))

    def expr_add(self, meta, children):
        return ExprOp(str(children[1]), [children[0], children[2]], Span.of(meta))

    def expr_mul(self, meta, children):
        return ExprOp("x", [children[0], children[1]], Span.of(meta))

    def expr_div(self, meta, children):
        return ExprOp("/", [children[0], children[1]], Span.of(meta))

    def expr_balance(self, meta, children):
        return ExprBalance(str(children[0]), False, Span.of(children[0]))

    def expr_original(self, meta, children):
        return ExprBalance(str(children[0]), True, Span.of(children[0]))

    def expr_collateral(self, meta, children):
        return ExprCollateral(False, Span.of(meta))

    def expr_original_collateral(self, meta, children):
        return ExprCollateral(True, Span.of(meta))

    def expr_min(self, meta, children):
        return ExprOp("min", list(children), Span.of(meta))

    def expr_max(self, meta, children):
        return ExprOp("max", list(children), Span.of(meta))

    # -- named triggers: `triggers { "NAME": TEST [sticky] ... }`
    def triggers_section(self, meta, children):
        return ("triggers", list(children), Span.of(meta))

    def trigger_decl(self, meta, children):
        name_tok, (kind, schedule, classes), *rest = children
        return TriggerDecl(_unquote(name_tok), Span.of(name_tok), kind, schedule, classes, bool(rest),
                           Span.of(meta))

    def test_loss(self, meta, children):
        return ("loss", children[0], [])

    def test_delinquency(self, meta, children):
        return ("delinquency", children[0], [])

    def test_support(self, meta, children):
        return ("support", None, children[0] if children else [])

    def support_of(self, meta, children):
        return [(str(c), Span.of(c)) for c in children]

    def shifting_rule(self, meta, children):
        senior, subordinate, *clauses = children
        percentage, spans, triggers, tests = None, [], [], []
        for c in clauses:
            if isinstance(c, ShiftTrigger):
                triggers.append(c)
            elif isinstance(c, StepDownTest):
                tests.append(c)
            else:
                percentage = c
                spans.append(c.span)
        return ShiftingDecl(senior, subordinate, percentage, triggers, Span.of(meta), spans, tests)

    def shift_percentage(self, meta, children):
        return children[0]

    def shift_loss_trigger(self, meta, children):
        return ShiftTrigger("loss", children[0], Span.of(meta), len(children) > 1)

    def shift_delinquency_trigger(self, meta, children):
        return ShiftTrigger("delinquency", children[0], Span.of(meta), len(children) > 1)

    def shift_support_trigger(self, meta, children):
        return ShiftTrigger("support", None, Span.of(meta), bool(children))

    def shift_named_trigger(self, meta, children):
        return ShiftTrigger("named", None, Span.of(meta), False, _unquote(children[0]))

    def shift_stepdown_test(self, meta, children):
        month_tok, multiple_tok = children
        return StepDownTest(self._month(month_tok), Span.of(month_tok), _number(multiple_tok),
                            Span.of(multiple_tok), Span.of(meta))

    def by_year(self, meta, children):
        return ("by_year", children[-1])

    def pct_schedule(self, meta, children):
        first, rest = children[0], list(children[1:])
        if not rest:
            return PctSchedule(first, None, None, [], False, None, Span.of(meta))
        month_tok = rest[0]
        month = _number(month_tok)
        if month != int(month) or month < 1:
            raise DealError("a month is a whole number from 1", Span.of(month_tok))
        tail = [c for c in rest[1:] if not (isinstance(c, Token) and c.type == "THEN")]
        last = next((c[1] for c in tail if isinstance(c, tuple)), None)
        steps = [c for c in tail if not isinstance(c, tuple)]
        return PctSchedule(first, int(month), Span.of(month_tok), steps, last is not None, last,
                           Span.of(meta))

    def condition(self, meta, children):
        return Condition("prepayments", children[0], len(children) > 1, Span.of(meta))

    def sticky(self, meta, children):
        return True

    def alloc(self, meta, children):
        parts = [c for c in children if isinstance(c, ProAlloc)]
        return Alloc(parts, Span.of(meta))

    def pro_alloc(self, meta, children):
        mode = children[-1] if isinstance(children[-1], str) else None
        members = [c for c in children if isinstance(c, ClassRef | Group)]
        return ProAlloc(members, mode, Span.of(meta))

    def class_ref(self, meta, children):
        name_tok = children[0]
        share = children[1] if len(children) > 1 else None
        return ClassRef(str(name_tok), Span.of(name_tok), share)

    def group(self, meta, children):
        share = children[1] if len(children) > 1 else None
        return Group(children[0], Span.of(meta), share)

    def losses_section(self, meta, children):
        reimburse = children[1] if len(children) > 1 else None
        return ("losses", LossesDecl(children[0], Span.of(meta), reimburse), Span.of(meta))

    def loss_reimburse(self, meta, children):
        return Span.of(meta)

    # overcollateralization and the reserve account: clauses as written (check/enhancement.py)
    def oc_section(self, meta, children):
        return ("overcollateralization", OcDecl(Span.of(meta), list(children)), Span.of(meta))

    def reserve_section(self, meta, children):
        return ("reserve", ReserveDecl(Span.of(meta), list(children)), Span.of(meta))

    def oc_pct(self, meta, children):
        negative = False
        if isinstance(children[0], Token):
            sign, children = children[0], children[1:]
            negative = sign == "-"
        q = children[0]
        if negative:
            q = dataclasses.replace(q, value=-q.value, text="-" + q.text)
        return OcPct(q, children[1] if len(children) > 1 else None, Span.of(meta))

    def basis_original(self, meta, children):
        return "original"

    def basis_current(self, meta, children):
        return "current"

    def oc_target(self, meta, children):
        return ("target", children[0], Span.of(meta))

    def oc_stepdown(self, meta, children):
        return ("after", (children[0], children[1]), Span.of(meta))

    def oc_floor(self, meta, children):
        return ("floor", children[0], Span.of(meta))

    def oc_turbo(self, meta, children):
        return ("turbo", True, Span.of(meta))

    def oc_release(self, meta, children):
        return ("release", children[0], Span.of(meta))

    def reserve_initial(self, meta, children):
        return ("initial", children[0], Span.of(meta))

    def reserve_target(self, meta, children):
        return ("target", children[0], Span.of(meta))

    def reserve_covers(self, meta, children):
        return ("covers", list(children), Span.of(meta))

    def cover_interest(self, meta, children):
        return ("interest", Span.of(meta))

    def cover_losses(self, meta, children):
        return ("losses", Span.of(meta))

    def waterfall_block(self, meta, children):
        decl = WaterfallDecl(Span.of(meta))
        for kind, rules, span in children:
            if kind in ("overcollateralization", "reserve"):
                if getattr(decl, kind) is not None:
                    what = "overcollateralization" if kind == "overcollateralization" else "reserve account"
                    raise DealError(f"the waterfall has two {what} sections; merge them into one", span)
                setattr(decl, kind, rules)
                continue
            if kind == "triggers":
                decl.triggers.extend(rules)
                continue
            if kind == "losses":
                if decl.losses is not None:
                    raise DealError("the waterfall has two loss sections; merge them into one", span)
                decl.losses = rules
                continue
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

    def default_clause(self, meta, children):
        return DefaultsDecl(children[0], list(children[1:]), Span.of(meta))

    def severity_constant(self, meta, children):
        return ("severity", [children[0]], Span.of(meta))

    def severity_vector(self, meta, children):
        return ("severity", list(children), Span.of(meta))

    def recovery_lag(self, meta, children):
        return ("lag", children[0], Span.of(meta))

    def advance_on(self, meta, children):
        return ("advance", True, Span.of(meta))

    def advance_off(self, meta, children):
        return ("advance", False, Span.of(meta))

    def delinquency_constant(self, meta, children):
        return ("delinquency", [children[0]], Span.of(meta))

    def delinquency_vector(self, meta, children):
        return ("delinquency", list(children), Span.of(meta))

    @staticmethod
    def _defaults(rest: list) -> tuple[DefaultsDecl | None, list]:
        if rest and isinstance(rest[0], DefaultsDecl):
            return rest[0], rest[1:]
        return None, rest

    prepay_multiplier = _option("multiplier")
    prepay_turnover = _option("turnover")
    mean_reversion = _option("mean reversion")
    volatility = _option("volatility")
    paths_option = _option("paths")
    seed_option = _option("seed")

    def refinancing_off(self, meta, children):
        return ("refinancing", False, Span.of(meta))

    def refinancing_on(self, meta, children):
        return ("refinancing", True, Span.of(meta))

    def antithetic_on(self, meta, children):
        return ("antithetic", True, Span.of(meta))

    def antithetic_off(self, meta, children):
        return ("antithetic", False, Span.of(meta))

    def prepay_model(self, meta, children):
        name, *options = children
        return ("prepay", ModelDecl(str(name), Span.of(name), list(options), Span.of(meta)), Span.of(meta))

    def signed(self, meta, children):
        q = children[-1]
        if len(children) == 2 and str(children[0]) == "-":
            return Quantity(-q.value, q.unit, Span.of(meta), "-" + q.text)
        return Quantity(q.value, q.unit, Span.of(meta), q.text)

    def shift_curve(self, meta, children):
        return CurveRef(_unquote(children[0]), Span.of(children[0]))

    def rate_shifts(self, meta, children):
        return ("shifts", list(children), Span.of(meta))

    def pricing(self, meta, children):
        defaults, overrides = self._defaults(list(children[1:]))
        return ("pricing", (children[0], overrides, defaults), Span.of(meta))

    def decrement(self, meta, children):
        return ("decrement", list(children), Span.of(meta))

    def named_scenario(self, meta, children):
        defaults, overrides = self._defaults(list(children[2:]))
        named = (_unquote(children[0]), Span.of(children[0]), children[1], overrides, defaults)
        return ("named", named, Span.of(meta))

    def scenarios_block(self, meta, children):
        decl = ScenariosDecl(Span.of(meta))
        for kind, value, span in children:
            if kind == "pricing":
                if decl.pricing is not None:
                    raise DealError("the pricing speed is given twice", span)
                decl.pricing, decl.pricing_indices, decl.pricing_defaults = value
            elif kind == "decrement":
                decl.decrement.extend(value)
                decl.decrement_lines.append(value)
            elif kind == "index":
                decl.indices.append(value)
            elif kind == "prepay":
                if decl.prepay_model is not None:
                    raise DealError("the prepayment model is given twice", span)
                decl.prepay_model = value
            elif kind == "shifts":
                decl.rate_shifts.extend(value)
                decl.rate_shifts_span = decl.rate_shifts_span or span
            else:
                name, name_span, speed, overrides, defaults = value
                decl.named.append((name, name_span, speed))
                decl.named_indices[name] = overrides
                if defaults is not None:
                    decl.named_defaults[name] = defaults
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

    def mortgage_yield_quote(self, meta, children):
        return ("quote", QuoteDecl("mortgage yield", children[0], children[1], Span.of(meta)))

    def margin_quote(self, meta, children):
        return ("quote", QuoteDecl("margin", children[0], children[1], Span.of(meta)))

    def horizon_item(self, meta, children):
        classes, months, reinvest, (sell, value) = children
        return ("horizon", HorizonDecl(classes, months, reinvest, sell, value, Span.of(meta)))

    def sell_yield(self, meta, children):
        return ("yield", children[0])

    def sell_price(self, meta, children):
        return ("price", children[0])

    def sell_spread(self, meta, children):
        return ("spread", children[0])

    def price_table(self, meta, children):
        speeds = children[-1] if children and isinstance(children[-1], list) else []
        prices = [c for c in children if isinstance(c, str)]
        return ("table", TableDecl(prices, speeds, Span.of(meta)))

    def rate_model(self, meta, children):
        name, *options = children
        return ("rates", ModelDecl(str(name), Span.of(name), list(options), Span.of(meta)))

    def oas_quote(self, meta, children):
        return ("oas", QuoteDecl("oas", children[0], children[1], Span.of(meta)))

    def analytics_block(self, meta, children):
        decl = AnalyticsDecl(Span.of(meta))
        for kind, value in children:
            if kind == "rates":
                if decl.rates is not None:
                    raise DealError("the rate model is given twice", value.span)
                decl.rates = value
                continue
            lists = {"curve": decl.curves, "quote": decl.quotes, "table": decl.tables, "oas": decl.oas,
                     "horizon": decl.horizons}
            lists[kind].append(value)
        return ("analytics", decl)

    # -- collateral groups
    def group_name(self, meta, children):
        return (str(children[0]), Span.of(children[0]))

    def group_pools(self, meta, children):
        return ("pool_refs", [(_unquote(t), Span.of(t)) for t in children])

    def group_block(self, meta, children):
        (name, span), *items = children
        group = GroupDecl(name, span)
        for item in items:
            if isinstance(item, PoolDecl):
                group.pools.append(item)
            elif isinstance(item, ClassDecl):
                group.classes.append(item)
            elif item[0] == "collateral":
                group.pools.extend(item[1])
            elif item[0] == "pool_refs":
                group.pool_refs.extend(item[1])
            else:  # ("waterfall", decl)
                if group.waterfall is not None:
                    raise DealError(f"group {name} has two waterfall blocks; merge them into one",
                                    item[1].span)
                group.waterfall = item[1]
        return ("group", group)

    def excess_kind(self, meta, children):
        return str(children[0])

    def cross_decl(self, meta, children):
        kind = children[0] if isinstance(children[0], str) else None
        (source, source_span), (target, target_span) = children[-2], children[-1]
        return ("cross", CrossDecl(source, source_span, target, target_span, kind, Span.of(meta)))

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


def _check_lines(source: str, path: str | None) -> None:
    """Refuse a line too long to be written by hand before the parser spends seconds on it."""
    if len(source) <= MAX_LINE:
        return
    for line_no, line in enumerate(source.split("\n"), start=1):
        if len(line) > MAX_LINE:
            raise DealError(f"line {line_no} is {len(line):,} characters long (limit {MAX_LINE:,})",
                            Span(line_no, MAX_LINE + 1, line_no, MAX_LINE + 2),
                            "split long lists over several lines").attach(source, path)


def parse(source: str, path: str | None = None) -> DealFile:
    """Parse deal text into a DealFile; raise DealError (with the source attached) if it is not one."""
    _check_lines(source, path)
    with collector_paused():
        return _parse(source, path)


def _parse(source: str, path: str | None) -> DealFile:
    token = SOURCE.set(source)
    try:
        tree = parser().parse(source)
    except lark.exceptions.UnexpectedInput as exc:
        raise syntax_error(exc, source).attach(source, path) from None
    except DealError as exc:
        raise exc.attach(source, path) from None
    finally:
        SOURCE.reset(token)
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
    groups: list[GroupDecl] = []
    crosses: list[CrossDecl] = []
    for section in sections:
        if isinstance(section, ClassDecl):
            classes.append(section)
            continue
        kind, value = section
        if kind == "group":
            # A group's pools and classes are the deal's too; the group says whose they are.
            groups.append(value)
            pools.extend(value.pools)
            classes.extend(value.classes)
        elif kind == "cross":
            crosses.append(value)
        elif kind == "collateral":
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
    return DealFile(header, pools, classes, waterfall, scenarios, source, path, analytics,
                    groups, crosses)


