"""What every check pass shares: the deal file, the messages found so far, the quantities in
the units the deal needs, and what earlier passes built (pools, classes, schedules, ...).

Each pass reads what the passes before it left on the `Checker` and adds its own part; the
order is the list in check/passes.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..dates import THIRTY_360, DayCount
from ..engine.schedules import Tier
from ..errors import DealError, InputError, Span
from ..language.nodes import ClassDecl, DealFile, Quantity
from ..model.deal import Analytics, Pool, Tranche
from ..model.prepayment import MAX_PSA, UNITS, Prepayment, validate_speed
from ..model.rules import Rule, Sequential
from ..model.scenarios import RatePath, Scenario

MAX_TERM = 600  # months: 50 years, beyond any agency mortgage (40-year modifications are 480)
MONEY_TOLERANCE = 0.005  # half a cent: balances that add up to the cent add up
RATE_UNITS = {"%": 0.01, "bp": 0.0001}


class Checker:
    """The state of one check: messages, unit helpers, and the deal as far as it is built."""

    def __init__(self, file: DealFile):
        self.file = file
        self.errors: list[DealError] = []
        # Classes already reported: later checks that would only repeat the problem skip them.
        self.failed: set[str] = set()
        # Whether schedules were derived (they are not when earlier errors stop the checks).
        self.schedules_known = False

        # What the passes build, in pass order.
        self.settle: dt.date | None = None
        self.first_payment: dt.date | None = None
        self.delay = 0
        self.agency: str | None = None  # the agency program, when the header names one
        self.basis: DayCount = THIRTY_360  # the day count of floating-rate interest
        self.pools: list[Pool] = []
        self.pools_declared_ok = 0  # pool declarations that gave pools (a loan tape: its rep-lines)
        self.tapes: dict = {}  # pool name -> LoanTape, for the collateral tables
        self.periods = 0
        self.decls: dict[str, ClassDecl] = {}
        self.classes: list[Tranche] = []
        self.all_classes_ok = False  # every class declared once and checked without error
        self.names: dict[str, Tranche] = {}
        self.known_indices: set[str] = set()
        self.indices: dict[str, RatePath] = {}
        self.clean = False  # no error so far: the deal-wide proofs (balances, interest) can run
        self.balanced = False  # the class balances add up to the collateral
        self.schedules: dict[int, np.ndarray] = {}
        self.tiers: list[Tier] = []
        self.principal: Sequential = Sequential(())
        self.accretion: dict[int, Rule] = {}
        self.triggers: dict = {}  # the waterfall's named triggers (model/rules/triggers.py)
        self.pricing: Scenario | None = None
        self.decrement: list[Prepayment] = []
        self.scenarios: dict[str, Scenario] = {}
        self.losses: tuple[tuple[int, ...], ...] | None = None  # the loss order (check/credit.py)
        self.reimburse_losses = False  # `; reimburse from excess interest` (check/credit.py)
        # The waterfall's overcollateralization and reserve account (check/enhancement.py).
        self.overcollateralization = None
        self.reserve = None
        self.analytics = Analytics()
        # Collateral groups (check/groups.py): pool declaration -> its pools' indices (a tape has
        # several rep-lines), each group's (pools, classes), where excess goes, the model groups.
        self.pool_lines: dict[str, list[int]] = {}
        self.group_members: list[tuple[list[int], list[int]]] = []
        self.groups_ok = False
        self.cross_to: dict[tuple[int, str], int] = {}
        self.groups: list = []

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
