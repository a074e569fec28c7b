"""The registry of class types: the one place that says what PAC, SUP, Z, NAS, IO, ... mean.

A class's type words ("PAC/AD", "SEQ/Z", "NTL/IO") are looked up here. Each `ClassType`
says which column of the cover table it belongs to (principal or interest), its label there,
what it means (for messages and docs), how the waterfall treats it (scheduled to a band? an
accrual class? notional? a NAS share? the support?) and any checks of its own. The checker,
the engine's schedules, the solvers, results, the report and the charts ask the registry
(`types_of(tranche)`, `tranche.is_support`, ...) instead of testing the type strings.

Adding a principal type is one `register(ClassType(...))` call: the grammar takes any word as
a type word, so no keyword is needed. See docs/architecture.md, "Adding a principal type".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..errors import Span
    from ..language.nodes import ClassDecl, TypeWord


class TypeChecks:
    """What a class type's own check may use: the class as written, its type words, and the
    checker's messages and quantities. `fields` collects Tranche fields the check derives."""

    def __init__(self, checker: Any, decl: ClassDecl, words: dict[str, TypeWord], principal: list[str]):
        self.checker = checker
        self.decl = decl
        self.words = words  # registered name -> the word as written
        self.principal = principal  # principal types, with those implied (NTL for a notional, PT for a PO)
        self.fields: dict[str, Any] = {}

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.checker.error(message, span, hint)


@dataclass(frozen=True)
class ClassType:
    """One word of the agency cover-table vocabulary.

    `band_speeds`: how many speeds its arguments give (2 for a PAC band, 1 for a TAC); a type
    with a band is paid to a schedule made at those speeds, in tier order `tier_order`.
    `floating`: +1 for a floater, -1 for an inverse floater (the coupon's sign against the index).
    `check`: constraints of its own, run when a class of this type is checked (after the
    constraints common to all classes).
    """

    name: str
    column: Literal["principal", "interest"]
    meaning: str
    label: str = ""
    aliases: tuple[str, ...] = ()
    band_speeds: int = 0
    tier_order: int = 0
    support: bool = False
    accrual: bool = False
    notional: bool = False
    nas: bool = False
    residual: bool = False
    principal_only: bool = False
    interest_only: bool = False
    floating: int = 0
    net_wac: bool = False  # its coupon is the collateral's net WAC, period by period
    # Desks tabulate yields of these by speed and index level (1 PO, 2 INV, 3 IO: a class that is
    # two of them is tabulated as the first); 0: not one of them.
    quote_rank: int = 0
    check: Callable[[TypeChecks], None] | None = field(default=None, compare=False)

    @property
    def cover_label(self) -> str:
        return self.label or self.name

    @property
    def scheduled(self) -> bool:
        return self.band_speeds > 0


class Registry:
    """Class types by word (and alias), in the order they were registered."""

    def __init__(self) -> None:
        self._types: dict[str, ClassType] = {}
        self._aliases: dict[str, str] = {}
        self._of: dict[str, tuple[ClassType, ...]] = {}  # type string -> types (asked per class, often)

    def register(self, kind: ClassType) -> ClassType:
        """Add a type (or replace one of the same name); returns it."""
        self._types[kind.name] = kind
        self._of.clear()
        for alias in kind.aliases:
            self._aliases[alias] = kind.name
        return kind

    def unregister(self, name: str) -> None:
        kind = self._types.pop(name)
        self._of.clear()
        for alias in kind.aliases:
            self._aliases.pop(alias, None)

    def canonical(self, word: str) -> str:
        """The registered name a word means (aliases and case folded); the word itself if none."""
        upper = word.upper()
        return self._aliases.get(upper, upper)

    def get(self, word: str) -> ClassType | None:
        return self._types.get(self.canonical(word))

    def __getitem__(self, name: str) -> ClassType:
        return self._types[name]

    def __contains__(self, word: str) -> bool:
        return self.canonical(word) in self._types

    def names(self, column: str | None = None) -> list[str]:
        return [k.name for k in self._types.values() if column is None or k.column == column]

    def any_of(self, words: Iterable[str], question: str) -> bool:
        for w in words:
            kind = self._types.get(w)
            if kind is not None and getattr(kind, question):
                return True
        return False

    def band_types(self) -> list[ClassType]:
        return [k for k in self._types.values() if k.band_speeds]

    def of(self, type_string: str) -> tuple[ClassType, ...]:
        """The registered types in a Tranche's type string ('PAC/AD', 'FIX/Z'); unknown words
        (none get past the checker) are skipped."""
        got = self._of.get(type_string)
        if got is None:
            found = (self._types.get(w) for w in type_string.split("/") if w)
            got = self._of[type_string] = tuple(k for k in found if k is not None)
        return got


REGISTRY = Registry()
register = REGISTRY.register


def types_of(tranche: Any) -> tuple[ClassType, ...]:
    """A class's types: its principal types, then its interest types."""
    return REGISTRY.of(tranche.principal_type) + REGISTRY.of(tranche.interest_type)


def has(tranche: Any, question: str) -> bool:
    """Whether any of a class's types answers yes to a ClassType flag ('support', 'nas', ...)."""
    return any(getattr(k, question) for k in types_of(tranche))


def cover_label(type_string: str) -> str:
    """The cover-table column for a type string: each word's label, joined by '/'."""
    return "/".join(REGISTRY[w].cover_label if w in REGISTRY else w for w in type_string.split("/"))


def any_of(words: Iterable[str], question: str) -> bool:
    """Whether any of these type words (registered names) answers yes to a ClassType flag."""
    return REGISTRY.any_of(words, question)


# ---- the checks particular to one type


def _check_residual(tc: TypeChecks) -> None:
    decl = tc.decl
    if len(tc.words) > 1:
        tc.error(f"the residual class {decl.name} has no other type", decl.type_span,
                 f"write: class {decl.name} R")
    if decl.balance is not None and decl.balance.value != 0:
        tc.error(f"the residual class {decl.name} has no balance of its own",
                 decl.balance.span, "it receives what is left; remove the balance")
    extra = decl.coupon or decl.coupon_formula or decl.notional or decl.cap or decl.floor
    if extra is not None:
        tc.error(f"the residual class {decl.name} has no coupon, notional, cap or floor",
                 extra.span, "it receives what is left; remove it")


def _check_nas(tc: TypeChecks) -> None:
    decl, ck = tc.decl, tc.checker
    if decl.lockout is None:
        tc.error(f"NAS class {decl.name} needs its lockout", tc.words["NAS"].span, "add: lockout 60 months")
    else:
        tc.fields["lockout"] = ck.months(decl.lockout, "the lockout") or 0
    if decl.shift:
        shares = [ck.rate(q, "a NAS share") for q in decl.shift]
        tc.fields["shift"] = tuple(x for x in shares if x is not None)


def _check_accrual(tc: TypeChecks) -> None:
    if any_of(tc.principal, "notional") or any_of(tc.words, "principal_only"):
        tc.error("an accrual class must have a principal balance and a coupon", tc.words["Z"].span)


# ---- the agency vocabulary

for _kind in (
    ClassType("SEQ", "principal", "sequential pay"),
    ClassType("PT", "principal", "pass-through: pro rata with other classes"),
    ClassType("PAC", "principal", "planned amortization class: paid to a schedule that holds over a PSA band",
              band_speeds=2, tier_order=0),
    ClassType("PAC II", "principal", "a PAC with a narrower band, carved out of the support",
              aliases=("PAC2", "PACII", "PAC-II"), band_speeds=2, tier_order=1),
    ClassType("TAC", "principal", "targeted amortization class: paid to a schedule at one speed",
              band_speeds=1, tier_order=2),
    ClassType("SUP", "principal", "support: absorbs what the scheduled classes do not take", support=True),
    ClassType("AD", "principal", "accretion directed: paid from an accrual class's accrued interest"),
    ClassType("NAS", "principal", "non-accelerating senior: locked out of principal, then a growing share",
              nas=True, check=_check_nas),
    ClassType("NTL", "principal", "notional: no principal, interest on a notional balance", notional=True),
    ClassType("R", "principal", "residual: receives whatever is left", residual=True, check=_check_residual),
    ClassType("FIX", "interest", "fixed rate"),
    ClassType("FLT", "interest", "floating rate: index + margin, with cap and floor", floating=1),
    ClassType("INV", "interest", "inverse floating rate: constant - multiplier x index, with cap and floor",
              floating=-1, quote_rank=2),
    ClassType("Z", "interest",
              "accrual: interest accretes to the balance while the AD classes are outstanding",
              accrual=True, check=_check_accrual),
    ClassType("WAC", "interest", "weighted average coupon: the collateral's net WAC each period, "
              "falling or rising as the pools pay down", net_wac=True),
    ClassType("IO", "interest", "interest only", interest_only=True, quote_rank=3),
    ClassType("PO", "interest",
              "principal only: no interest (a PO with no principal type is a pass-through, PT)",
              principal_only=True, quote_rank=1),
):
    register(_kind)
