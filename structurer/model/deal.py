"""The checked deal: what is owed, to whom, in what order. No syntax, no cash flows.

check/ builds these from the syntax tree; the engine and the analytics read only these.
Rates are decimals (7.5% -> 0.075), money in dollars, terms in months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .. import hooks
from ..dates import STATED_DELAY_EXTRA, THIRTY_360, DayCount, payment_day
from ..errors import InputError, did_you_mean
from .classtypes import ClassType, cover_label, types_of
from .curve import Curve
from .prepayment import Prepayment
from .ratespec import RateSpec
from .rules import Rule, Sequential
from .scenarios import RatePath, Scenario

if TYPE_CHECKING:
    from ..analysis.summary import Summary
    from ..engine.schedules import Tier
    from ..results.results import Results
    from .enhancement import Overcollateralization, ReserveAccount
    from .groups import CollateralGroup
    from .tape import LoanTape


@dataclass(frozen=True)
class Pool:
    """One rep-line of agency collateral.

    `coupon` is what the trust collects: the net coupon plus any excess servicing it strips
    (`excess`, paid to an excess servicing class). Gross WAC = net coupon + servicing +
    guarantee fee; the servicer keeps servicing less excess, the guarantor the guarantee fee.
    """

    name: str
    balance: float
    wac: float
    coupon: float
    term: int
    remaining: int
    age: int
    servicing: float = 0.0
    guarantee: float = 0.0
    excess: float = 0.0

    @property
    def net_coupon(self) -> float:
        """The pass-through rate the certificates share: what the trust collects less the
        excess servicing strip."""
        return self.coupon - self.excess


@dataclass(frozen=True)
class CouponFormula:
    """A floating coupon: clamp(constant + multiplier x index, floor, cap), reset every period."""

    constant: float
    multiplier: float
    index: str
    cap: float
    floor: float

    def rate(self, index_rate: np.ndarray | float) -> np.ndarray:
        return np.clip(self.constant + self.multiplier * np.asarray(index_rate), self.floor, self.cap)

    @property
    def description(self) -> str:
        const = f"{self.constant * 100:.4g}%"
        mult = abs(self.multiplier)
        idx = self.index if mult == 1 else f"{mult:g} x {self.index}"
        if self.multiplier >= 0:
            return f"{idx} + {const}" if self.constant >= 0 else f"{idx} - {abs(self.constant) * 100:.4g}%"
        return f"{const} - {idx}"


@dataclass(frozen=True)
class Notional:
    """A notional balance: `factor` x the sum of what it follows, each period.

    `classes` are class indices, `pools` pool indices; `collateral` follows all pools.
    """

    classes: tuple[int, ...] = ()
    pools: tuple[int, ...] = ()
    collateral: bool = False
    factor: float = 1.0


@dataclass(frozen=True)
class Tranche:
    """One class of the deal, in the vocabulary of an agency cover table."""

    name: str
    principal_type: str
    interest_type: str
    balance: float
    coupon: float
    index: int
    formula: CouponFormula | None = None
    notional: Notional | None = None
    parent: int | None = None  # floaters and inverse floaters: the fixed-rate class they split
    issued: bool = True  # False for a parent that is split into floater and inverse floater
    accrual: bool = False  # a Z: interest accretes to the balance while its AD classes are out
    strip: tuple[int, float] | None = None  # (pool, share of its principal) for a discount PO
    lockout: int = 0
    shift: tuple[float, ...] = ()  # NAS shares by year after the lockout; 100% after

    @cached_property
    def types(self) -> tuple[ClassType, ...]:
        """Its class types, from the registry (model/classtypes.py): principal, then interest."""
        return types_of(self)

    def has(self, question: str) -> bool:
        """Whether any of its types answers yes to a ClassType flag ('support', 'nas', ...)."""
        return any(getattr(k, question) for k in self.types)

    @property
    def is_residual(self) -> bool:
        return self.has("residual")

    @property
    def is_support(self) -> bool:
        """Absorbs what the scheduled classes do not take (SUP)."""
        return self.has("support")

    @property
    def is_nas(self) -> bool:
        """Locked out of principal, then paid a growing share (NAS)."""
        return self.has("nas")

    @property
    def net_wac(self) -> bool:
        """Its coupon is the collateral's net WAC each period (a WAC class; `coupon` is the
        WAC at issue)."""
        return self.has("net_wac")

    @property
    def is_principal_only(self) -> bool:
        """Pays no interest (PO)."""
        return self.has("principal_only")

    @property
    def quote_kind(self) -> str | None:
        """The type desks tabulate this class's yields by (PO, INV, IO: by speed and index level)."""
        ranked = sorted((k for k in self.types if k.quote_rank), key=lambda k: k.quote_rank)
        return ranked[0].name if ranked else None

    @property
    def is_notional(self) -> bool:
        return self.notional is not None

    @property
    def on_books(self) -> bool:
        """Carries a principal balance of its own: not the residual, not notional, not split
        from a parent (the parent carries the balance its floaters share)."""
        return not (self.is_residual or self.is_notional or self.parent is not None)

    @property
    def in_waterfall(self) -> bool:
        """Paid by the principal rules: on the books and not a strip paid off its pool's top."""
        return self.on_books and self.strip is None

    @property
    def holds_cash(self) -> bool:
        """Paid cash as an investor: issued (a split parent is not) and not the residual."""
        return self.issued and not self.is_residual

    @property
    def principal_label(self) -> str:
        """Its principal type as the cover table labels it (each type's registry label)."""
        return cover_label(self.principal_type)

    @property
    def cover_type(self) -> str:
        """Principal type then interest type, as the two columns of a cover table: 'PAC/AD FIX'.

        The residual is just 'R'."""
        if self.is_residual:
            return cover_label("R")
        return f"{self.principal_label} {cover_label(self.interest_type)}"

    def nas_percent(self, periods: int) -> np.ndarray:
        """NAS share of its pro rata principal by period: 0 in the lockout, then the shift steps."""
        pct = np.ones(periods)
        pct[: self.lockout] = 0.0
        for year, share in enumerate(self.shift):
            start = self.lockout + 12 * year
            pct[start:start + 12] = share
        return pct


@dataclass(frozen=True)
class QuoteSpec:
    """What the deal file asks a class to be priced at: kind 'price' (clean, decimal), 'yield'
    (BEY, decimal), 'spread' (decimal, to the curve at the WAL), 'mortgage yield' (monthly
    compounded, decimal) or 'margin' (a floater's money-market discount margin, decimal)."""

    kind: str
    name: str
    value: float


@dataclass(frozen=True)
class TableSpec:
    """A price/yield table: rows are prices, columns speeds (the decrement speeds if none)."""

    prices: tuple[float, ...]
    speeds: tuple[Prepayment, ...]


@dataclass(frozen=True)
class HorizonSpec:
    """A total-return horizon (valuation/horizon.py): hold `classes` for `months`, reinvest at
    `reinvest` (decimal), sell at `sell` ('yield': BEY, 'price': clean per 100, 'spread': to
    the curve at the remaining WAL) `value` (decimal)."""

    classes: tuple[str, ...]
    months: int
    reinvest: float
    sell: str
    value: float


@dataclass(frozen=True)
class Analytics:
    curves: dict[str, Curve] = field(default_factory=dict)
    quotes: tuple[QuoteSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    horizons: tuple[HorizonSpec, ...] = ()
    # The rate model, prepayment model, rate shifts and OAS prices (model/ratespec.py); None:
    # the deal declares none of them.
    rates: RateSpec | None = None

    @property
    def curve(self) -> Curve | None:
        """The deal's curve (the first one given), for spreads."""
        return next(iter(self.curves.values()), None)


@dataclass(frozen=True, eq=False)
class Deal:
    """A deal that parsed and checked: every class is paid by some rule and cash adds up."""

    name: str
    settle: dt.date
    first_payment: dt.date
    delay_days: int
    pools: tuple[Pool, ...]
    classes: tuple[Tranche, ...]
    principal: Sequential
    pricing: Scenario | None = None
    decrement: tuple[Prepayment, ...] = ()
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    indices: dict[str, RatePath] = field(default_factory=dict)
    accretion: dict[int, Rule] = field(default_factory=dict)  # accrual class -> where it goes
    schedules: dict[int, np.ndarray] = field(default_factory=dict)  # class -> scheduled balances
    tiers: tuple[Tier, ...] = ()  # how the schedules were made: bands, classes, explicit paths
    analytics: Analytics = field(default_factory=Analytics)
    day_count: DayCount = THIRTY_360  # of floating-rate interest; fixed coupons accrue 30/360
    # Who takes realized losses, in order: tiers of class indices, a tier of several sharing pro
    # rata to balance (`losses: write down D, C, then A and B pro rata`); None: no loss section.
    losses: tuple[tuple[int, ...], ...] | None = None
    # `losses: write down ...; reimburse from excess interest`: interest that would go to the
    # residual pays the classes' unreimbursed write-downs, most senior first (engine/waterfall.py).
    reimburse_losses: bool = False
    # Credit enhancement beyond subordination (model/enhancement.py): overcollateralization with
    # turbo and release, a reserve account; None: the deal has none.
    overcollateralization: Overcollateralization | None = None
    reserve: ReserveAccount | None = None
    # The waterfall's named triggers (`triggers { ... }`, model/rules/triggers.py), in order.
    triggers: tuple = ()
    source: str = ""
    path: str | None = None
    tapes: dict[str, LoanTape] = field(default_factory=dict)  # pool name -> its loan tape
    agency: str | None = None  # the agency program named in the header (dates.AGENCIES), if any

    @property
    def stated_delay(self) -> int:
        """The delay as the agencies state it: counted from the first day of the accrual month
        (actual delay + 31: FNMA's 24 days are its 55-day delay)."""
        return self.delay_days + STATED_DELAY_EXTRA

    @property
    def payment_day(self) -> int:
        """The day of the month classes are paid on: the delay's day (delay + 1)."""
        return payment_day(self.delay_days)

    # Collateral groups (model/groups.py), each paying its own classes; () for one collateral.
    groups: tuple[CollateralGroup, ...] = ()

    def group_of(self, class_index: int) -> CollateralGroup | None:
        """The group a class belongs to (None: an ungrouped deal, or the residual)."""
        return next((g for g in self.groups if class_index in g.classes), None)

    @property
    def periods(self) -> int:
        """Projection periods: to the end of the longest pool's remaining term."""
        return max(p.remaining for p in self.pools)

    @property
    def has_wac_classes(self) -> bool:
        return any(c.net_wac for c in self.classes)

    @property
    def collateral_balance(self) -> float:
        return sum(p.balance for p in self.pools)

    @property
    def residual(self) -> Tranche | None:
        return next((c for c in self.classes if c.is_residual), None)

    @property
    def issued_classes(self) -> tuple[Tranche, ...]:
        """The classes investors hold (a split parent is not one of them)."""
        return tuple(c for c in self.classes if c.issued)

    @property
    def index_names(self) -> list[str]:
        return sorted({c.formula.index for c in self.classes if c.formula is not None})

    def tranche(self, name: str) -> Tranche:
        """The class called `name`; InputError, naming the classes there are, if none is."""
        for c in self.classes:
            if c.name == name:
                return c
        names = [c.name for c in self.classes]
        hint = did_you_mean(name, names)
        raise InputError(f"deal \"{self.name}\" has no class '{name}' (it has {', '.join(names)})"
                         + (f"; {hint}" if hint else ""))

    def _repr_html_(self) -> str:
        return hooks.deal_html(self)

    def run(self, *speeds: Scenario | Prepayment | str,
            progress: Callable[[int, int], None] | None = None) -> Results:
        """Run the deal at the given speeds ('165 PSA', a scenario name, Prepayment or Scenario
        objects); default: the pricing scenario. `progress(done, total)` hears of each period."""
        return hooks.run_deal(self, list(speeds) if speeds else None, progress)

    def summarise(self, *speeds: Scenario | Prepayment | str,
                  rates: Sequence[float | str] | float | str | None = None, chunk: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Summary:
        """Run a large grid of speeds a chunk of scenarios at a time, keeping only each class's
        WAL, principal window, totals, final balance and PVs at the flat yields `rates`
        (structurer.analysis.summary.summarise): memory bounded by the chunk, not the grid."""
        return hooks.summarise(self, list(speeds) if speeds else None, rates=rates, chunk=chunk,
                               progress=progress)
