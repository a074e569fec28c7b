"""The class-type registry (model/classtypes.py): one entry per type, asked by every stage.

A new principal type registered here, in the test, parses, checks, runs and shows its label in
the results with no other change to the package: the walk-through of docs/architecture.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from structured_helpers import assert_points_at, deal_errors, deal_text, error_matching, load

from structurer.model.classtypes import REGISTRY, ClassType, TypeChecks, cover_label

PACKAGE = Path(__file__).resolve().parent.parent / "structurer"


@contextmanager
def registered(kind: ClassType) -> Iterator[ClassType]:
    REGISTRY.register(kind)
    try:
        yield kind
    finally:
        REGISTRY.unregister(kind.name)


XYZ = ClassType("XYZ", "principal", "a made-up type: sequential pay under another label", label="XY")

SEQ_CLASSES = """
class A  {a}  balance 250,000,000  coupon 6.5%
class B  SEQ  balance 150,000,000  coupon 7.5%
class R  R
"""
SEQ_RULES = "  principal {\n    pay A then B\n  }"


def test_a_registered_principal_type_parses_checks_runs_and_is_labelled():
    with registered(XYZ):
        deal = load(deal_text(SEQ_CLASSES.format(a="XYZ"), SEQ_RULES))
        a = deal.tranche("A")
        assert a.principal_type == "XYZ"
        assert [k.name for k in a.types] == ["XYZ", "FIX"]
        assert a.cover_type == "XY FIX"
        results = deal.run("165 PSA", "300 PSA")
        summary = results.summary()
        assert summary.loc["A", "type"] == "XY FIX"
        assert summary.loc["A", "principal_type"] == "XYZ"
    # It behaves as SEQ does: the same cash flows as the deal written with SEQ.
    reference = load(deal_text(SEQ_CLASSES.format(a="SEQ"), SEQ_RULES)).run("165 PSA", "300 PSA")
    for name in ("A", "B"):
        for field in ("principal", "interest", "ending_balance"):
            np.testing.assert_array_equal(results.arrays(name)[field], reference.arrays(name)[field])


def test_an_unregistered_type_is_unknown_again():
    with registered(XYZ):
        load(deal_text(SEQ_CLASSES.format(a="XYZ"), SEQ_RULES))
    text = deal_text(SEQ_CLASSES.format(a="XYZ"), SEQ_RULES)
    err = error_matching(deal_errors(text), "unknown class type 'XYZ'")
    assert_points_at(text, err, "XYZ")


def test_the_unknown_type_hint_lists_registered_types():
    text = deal_text(SEQ_CLASSES.format(a="XYY"), SEQ_RULES)
    with registered(XYZ):
        err = error_matching(deal_errors(text), "unknown class type 'XYY'")
    assert "XYZ" in (err.hint or "")


SCH = ClassType("SCH", "principal", "scheduled at one speed, served after the TACs", band_speeds=1,
                tier_order=3)

SCH_CLASSES = """
class T  SCH(200 PSA)  balance 200,000,000  coupon 7.5%
class S  SUP           balance 200,000,000  coupon 7.5%
class R  R
"""
SCH_RULES = "  principal {\n    pay T to schedule\n    pay S until retired\n    pay T until retired\n  }"


def test_a_registered_band_type_gets_a_schedule_and_is_paid_to_it():
    with registered(SCH):
        deal = load(deal_text(SCH_CLASSES, SCH_RULES))
        t = deal.tranche("T")
        assert [tier.kind for tier in deal.tiers] == ["SCH"]
        schedule = deal.schedules[t.index]
        assert schedule[0] < t.balance and np.all(np.diff(schedule) <= 0)
        results = deal.run("200 PSA")
        balance = results.arrays("T")["ending_balance"][0]
        # At its own speed the class is paid exactly to its schedule while the support lasts.
        np.testing.assert_allclose(balance[:60], schedule[:60], atol=1e-6)
        assert results.summary().loc["S", "type"] == "SUP FIX"


def test_a_band_type_takes_as_many_speeds_as_it_says():
    text = deal_text(SCH_CLASSES.replace("SCH(200 PSA)", "SCH(100 PSA, 200 PSA)"), SCH_RULES)
    with registered(SCH):
        err = error_matching(deal_errors(text), "SCH takes 1 speed")
    assert_points_at(text, err, "SCH(100 PSA, 200 PSA)")


def _no_more_than_100mm(tc: TypeChecks) -> None:
    if tc.decl.balance is not None and tc.decl.balance.value > 100_000_000:
        tc.error(f"a SMALL class holds at most 100,000,000, not {tc.decl.balance.text}",
                 tc.decl.balance.span, "split it in two")


def test_a_registered_type_brings_its_own_check():
    kind = ClassType("SMALL", "principal", "sequential, at most 100mm", check=_no_more_than_100mm)
    text = deal_text(SEQ_CLASSES.format(a="SMALL"), SEQ_RULES)
    with registered(kind):
        err = error_matching(deal_errors(text), "a SMALL class holds at most")
        assert_points_at(text, err, "250,000,000")
        assert err.hint == "split it in two"


def test_registry_answers_for_the_agency_types():
    pac = load(Path(PACKAGE.parent / "deals" / "pac.waterfall").read_text(), "pac.waterfall")
    p, s, pi = pac.tranche("P"), pac.tranche("S"), pac.tranche("PI")
    assert s.is_support and not p.is_support
    assert REGISTRY["PAC"].scheduled and not REGISTRY["SUP"].scheduled
    assert pi.quote_kind == "IO" and p.quote_kind is None
    assert pi.is_notional and pac.residual is not None and pac.residual.is_residual
    nas = load(Path(PACKAGE.parent / "deals" / "nas.waterfall").read_text(), "nas.waterfall")
    assert [c.name for c in nas.classes if c.is_nas] == [c.name for c in nas.classes
                                                         if "NAS" in c.principal_type.split("/")]
    assert REGISTRY.get("pac2") is REGISTRY["PAC II"]
    assert cover_label("PAC/AD") == "PAC/AD"


@pytest.mark.parametrize("pattern", [
    r'"(SUP|NAS|PO|IO|INV|FLT|Z|R|PAC|TAC|NTL)"\s+(not\s+)?in\s+\w+(\.\w+)*\.(principal|interest)_type',
    r'(principal|interest)_type\s*[!=]=\s*"',
    r'(principal|interest)_type\.split\(',
])
def test_no_stage_tests_type_strings_itself(pattern):
    """Type knowledge is asked of the registry, not read off the type strings, anywhere."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "classtypes.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(pattern, line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
