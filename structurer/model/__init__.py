"""The checked deal: what is owed, to whom, in what order, and the assumptions it is run under.
No syntax and no cash flows: the check package builds these; the engine and analytics read them."""

from .curve import Curve
from .deal import Analytics, CouponFormula, Deal, Notional, Pool, QuoteSpec, TableSpec, Tranche
from .prepayment import Prepayment
from .rules import NasShare, Pay, ProRata, Rule, Sequential, ToSchedule, rule_classes
from .scenarios import RatePath, Scenario

__all__ = [
    "Analytics", "CouponFormula", "Curve", "Deal", "NasShare", "Notional", "Pay", "Pool", "Prepayment",
    "ProRata", "QuoteSpec", "RatePath", "Rule", "Scenario", "Sequential", "TableSpec", "ToSchedule",
    "Tranche", "rule_classes",
]
