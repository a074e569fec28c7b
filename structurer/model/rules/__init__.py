"""Compiled waterfall rules: one module per rule kind (see docs/architecture.md)."""

from .base import Book, Rule, RunInputs, initial_states
from .nas_share import NasShare
from .pay import Pay
from .pro_rata import ProRata
from .sequential import Sequential
from .shifting import ShiftingInterest
from .to_schedule import ToSchedule
from .trigger import PrepaymentTrigger


def rule_classes(rule: Rule) -> list[int]:
    """Indices of the classes a rule can pay, in the order they appear."""
    return rule.classes()


__all__ = [
    "Book", "NasShare", "Pay", "PrepaymentTrigger", "ProRata", "Rule", "RunInputs", "Sequential",
    "ShiftingInterest", "ToSchedule", "initial_states", "rule_classes",
]
