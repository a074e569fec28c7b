"""Semantic checks: syntax tree -> checked deal model, or every problem found, each with its place.

A deal that passes is one the engine can run without creating or losing cash: class balances
add up to the collateral, class interest (coupons, IO strips, floaters at their caps) is
covered by the collateral's net interest in every period, every class with a balance is
reached by a principal rule, rule shares add up, and PAC/TAC schedules fit their bands.
The checks are small passes, one job each, run in the order listed in passes.py.
"""

from .passes import PASSES, check

__all__ = ["PASSES", "check"]
