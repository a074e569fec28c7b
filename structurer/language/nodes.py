"""The syntax tree: plain dataclasses, one per construct, that remember where they came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lark import Token

from ..errors import Span


@dataclass
class Quantity:
    """A number as written, with its unit (or None) and where it stands."""

    value: float
    unit: str | None
    span: Span | None
    text: str = ""


@dataclass
class CurveRef:
    """A curve of the analytics block named as a rate scenario: `rates curve "STEEP"`."""

    name: str
    span: Span | None


@dataclass
class DealHeader:
    name: str
    span: Span | None
    settle: dt.date | None = None
    settle_span: Span | None = None
    first_payment: dt.date | None = None
    first_payment_span: Span | None = None
    delay: Quantity | None = None
    # `agency FNMA | FHLMC | GNMA I | GNMA II`: the program's delay and payment day, as written.
    agency: str | None = None
    agency_span: Span | None = None
    day_count: str | None = None
    day_count_span: Span | None = None


@dataclass
class PoolDecl:
    name: str
    span: Span | None
    attrs: dict[str, Quantity] = field(default_factory=dict)
    key_spans: dict[str, Span | None] = field(default_factory=dict)
    # `pool "X" from "loans.csv" [aggregate by rate 0.25% age 12]`: a loan tape (path as
    # written, relative to the deal file) and its aggregation rule's steps.
    tape: str | None = None
    tape_span: Span | None = None
    rate_step: Quantity | None = None
    age_step: Quantity | None = None


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
class ExcessDecl:
    """`excess servicing [of pool "X"]`: an IO paid the excess servicing its pools strip."""

    pool: str | None
    pool_span: Span | None
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
    excess: ExcessDecl | None = None


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
class Condition:
    """When a principal rule applies: `when prepayments above 300 PSA [sticky]`."""

    kind: str  # "prepayments"
    speed: Quantity
    sticky: bool
    span: Span | None


@dataclass
class CondTrigger:
    """`trigger "NAME" fails` / `passes` in a `when` condition."""

    name: str
    failing: bool
    span: Span | None


@dataclass
class CondClass:
    """`A retired` / `A outstanding` in a `when` condition."""

    name: str
    retired: bool
    span: Span | None


@dataclass
class CondOp:
    """`not X`, `X and Y`, `X or Y` in a `when` condition."""

    op: str  # "not", "and", "or"
    items: list[CondExpr]
    span: Span | None


CondExpr = CondTrigger | CondClass | CondOp


@dataclass
class WhenCondition:
    """`when trigger "X" fails and A retired`: a rule that applies while the condition holds."""

    expr: CondExpr
    span: Span | None
    kind: str = "when"


@dataclass
class PeriodCondition:
    """`in months 1-36`, `in month 12`, `from month 37`: a rule that applies in those months."""

    first: int
    last: int | None  # None: to the end
    span: Span | None
    kind: str = "period"


@dataclass
class ExprNum:
    quantity: Quantity  # %, bp, mm or a plain number of dollars
    span: Span | None


@dataclass
class ExprBalance:
    """`balance of A` (original: `original balance of A`)."""

    name: str
    original: bool
    span: Span | None


@dataclass
class ExprCollateral:
    """`collateral balance` / `original collateral balance`."""

    original: bool
    span: Span | None


@dataclass
class ExprOp:
    """+ - x / of two operands, or min()/max() of two or more."""

    op: str  # "+", "-", "x", "/", "min", "max"
    args: list[Expr]
    span: Span | None


Expr = ExprNum | ExprBalance | ExprCollateral | ExprOp


@dataclass
class PrincipalRule:
    alloc: Alloc
    limit: str | None
    span: Span | None
    condition: Condition | None = None
    # Further conditions (`when ...`, `in months ...`), all of which must hold; and the target of
    # a `down to EXPR` limit.
    conditions: list[WhenCondition | PeriodCondition] = field(default_factory=list)
    target: Expr | None = None


@dataclass
class PctSchedule:
    """A percentage by month: `100% until month 60, then 70% 60% 40% 20% by year, then 0%`, or
    one percentage throughout (`until` None). Without `by year` the list after `then` is one
    percentage, held to the end."""

    first: Quantity
    until: int | None
    until_span: Span | None
    steps: list[Quantity]
    by_year: bool
    last: Quantity | None
    span: Span | None


@dataclass
class ShiftTrigger:
    """A shifting-interest trigger: 'loss' (cumulative loss above a schedule), 'delinquency'
    (60+ day delinquency above a schedule) or 'support' (credit support below its original)."""

    kind: str
    schedule: PctSchedule | None
    span: Span | None
    sticky: bool = False
    name: str | None = None  # kind "named": `trigger "NAME"`, a trigger of the waterfall's triggers


@dataclass
class StepDownTest:
    """`step-down after month 36 when credit support at least 2 x original`."""

    month: int
    month_span: Span | None
    multiple: float
    multiple_span: Span | None
    span: Span | None


@dataclass
class TriggerDecl:
    """A named trigger of the waterfall's `triggers { ... }` section."""

    name: str
    name_span: Span | None
    kind: str  # "loss", "delinquency", "support"
    schedule: PctSchedule | None
    classes: list[tuple[str, Span | None]]  # `credit support of A1, A2`: the seniors (empty: not said)
    sticky: bool
    span: Span | None


@dataclass
class ShiftingDecl:
    """`pay principal shifting interest: senior ... subordinate ...` with its senior prepayment
    percentage and triggers."""

    senior: Alloc
    subordinate: Alloc
    percentage: PctSchedule | None
    triggers: list[ShiftTrigger]
    span: Span | None
    percentage_spans: list[Span | None] = field(default_factory=list)
    stepdown_tests: list[StepDownTest] = field(default_factory=list)


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
    losses: LossesDecl | None = None
    overcollateralization: OcDecl | None = None
    reserve: ReserveDecl | None = None
    triggers: list[TriggerDecl] = field(default_factory=list)


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
class DefaultsDecl:
    """A scenario's loan defaults: `defaults 100 SDA severity 35% lag 12 advance on`. `options`
    holds (word, value, span): ('severity', [Quantity], span) (several for a vector),
    ('lag', Quantity, span), ('advance', bool, span), ('delinquency', [Quantity], span)."""

    rate: Speed
    options: list[tuple[str, object, Span | None]]
    span: Span | None


@dataclass
class LossesDecl:
    """The loss section: `losses: write down D, C, then A and B pro rata`."""

    alloc: Alloc
    span: Span | None
    # `; reimburse from excess interest`: its span, or None when the deal does not reimburse.
    reimburse: Span | None = None


@dataclass
class OcPct:
    """`3.1% of original balance` (basis None: not said)."""

    value: Quantity
    basis: str | None
    span: Span | None


@dataclass
class OcDecl:
    """`overcollateralization: target 3.1% of original balance, after month 36 6.2% of current
    balance, floor 0.5% of original balance; turbo from excess interest; release to R` and its
    triggers. Each clause as written, with its span (checked by check/enhancement.py)."""

    span: Span | None
    clauses: list[tuple[str, object, Span | None]] = field(default_factory=list)


@dataclass
class ReserveDecl:
    """`reserve account: initial 1,000,000; target 0.5% of current balance; covers interest
    shortfalls and losses`: each clause as written."""

    span: Span | None
    clauses: list[tuple[str, object, Span | None]] = field(default_factory=list)


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
    pricing_defaults: DefaultsDecl | None = None
    named_defaults: dict[str, DefaultsDecl] = field(default_factory=dict)
    prepay_model: ModelDecl | None = None  # prepay model OTS multiplier 1.2
    rate_shifts: list[Quantity | CurveRef] = field(default_factory=list)  # rates -100 bp, curve "X"
    rate_shifts_span: Span | None = None


@dataclass
class ModelDecl:
    """A model and its options: `rates hull-white mean reversion 0.03 ...` or `prepay model OTS
    multiplier 1.2`. `options` holds (word, Quantity or bool, span)."""

    name: str
    name_span: Span | None
    options: list[tuple[str, object, Span | None]]
    span: Span | None


@dataclass
class CurveDecl:
    name: str
    span: Span | None
    points: list[tuple[Token, Quantity]] = field(default_factory=list)
    path: str | None = None


@dataclass
class QuoteDecl:
    """price/yield/spread/mortgage yield/margin CLASS, CLASS at VALUE: what a class is priced at."""

    kind: str  # "price" | "yield" | "spread" | "mortgage yield" | "margin" (discount margin)
    classes: list[tuple[str, Span | None]]
    value: Quantity | str  # a price in 32nds stays text; others are quantities
    span: Span | None


@dataclass
class HorizonDecl:
    """horizon CLASS, CLASS 12 months reinvest at 4% sell at yield|price|spread VALUE."""

    classes: list[tuple[str, Span | None]]
    months: Quantity
    reinvest: Quantity
    sell: str  # "yield" | "price" | "spread"
    value: Quantity | str  # a price stays text
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
    horizons: list[HorizonDecl] = field(default_factory=list)
    rates: ModelDecl | None = None  # the short-rate model
    oas: list[QuoteDecl] = field(default_factory=list)  # oas A, B at 100-16


@dataclass
class GroupDecl:
    """`group 1 { pools; classes; waterfall }`: collateral that pays only its own classes.

    `pools` are declared in the group (they are also in DealFile.pools); `pool_refs` name pools
    of the collateral block (`pools "A", "B"`); `classes` are also in DealFile.classes."""

    name: str
    span: Span | None
    pools: list[PoolDecl] = field(default_factory=list)
    pool_refs: list[tuple[str, Span | None]] = field(default_factory=list)
    classes: list[ClassDecl] = field(default_factory=list)
    waterfall: WaterfallDecl | None = None


@dataclass
class CrossDecl:
    """`excess [principal|interest] of group 1 pays group 2`: cross-collateralization. `kind` is
    "principal", "interest" or None (both)."""

    source: str
    source_span: Span | None
    target: str
    target_span: Span | None
    kind: str | None
    span: Span | None


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
    groups: list[GroupDecl] = field(default_factory=list)
    crosses: list[CrossDecl] = field(default_factory=list)


