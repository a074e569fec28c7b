"""Compiled principal rules: a tree the interpreter walks every period."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pay:
    """Pay one class, up to its balance."""

    index: int


@dataclass(frozen=True)
class Sequential:
    """Pay each child in turn; a child gets what the earlier ones left."""

    children: tuple[Rule, ...]


@dataclass(frozen=True)
class ProRata:
    """Share among children by current balance (weights None) or by fixed weights summing to 1.

    With fixed weights, what a retired child cannot take goes to the others, in proportion
    to their weights, as a prospectus's "pro rata ... until retired" reads.
    """

    children: tuple[Rule, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True, eq=False)
class ToSchedule:
    """Pay `child` only down to `schedule` [period]: its classes' scheduled balance (PAC, TAC)."""

    child: Rule
    schedule: np.ndarray

    @property
    def children(self) -> tuple[Rule, ...]:
        return (self.child,)


@dataclass(frozen=True, eq=False)
class NasShare:
    """Pay a NAS class its share: percent[period] x its balance / all class balances x principal."""

    index: int
    percent: np.ndarray

    @property
    def children(self) -> tuple[Rule, ...]:
        return (Pay(self.index),)


Rule = Pay | Sequential | ProRata | ToSchedule | NasShare


def rule_classes(rule: Rule) -> list[int]:
    """Indices of the classes a rule can pay, in the order they appear."""
    if isinstance(rule, Pay):
        return [rule.index]
    found: list[int] = []
    for child in rule.children:
        found.extend(rule_classes(child))
    return found


