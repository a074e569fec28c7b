"""Shared helpers for the structurer test suite.

Paths are taken relative to this file, never to the working directory, so the suite runs the
same from the checkout, from another directory, or against an installed wheel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import structurer
from structurer.engine.collateral import CollateralFlows
from structurer.errors import DealError, DealErrors
from structurer.model import Deal, Pool, Rule, Sequential, Tranche

TESTS_DIR = Path(__file__).resolve().parent
DEALS_DIR = TESTS_DIR.parent / "deals"
GOLDEN_DIR = TESTS_DIR / "golden"
# The pure-Python per-scenario reference the engines are checked against (not in a wheel).
REFERENCE = TESTS_DIR.parent / "benchmarks" / "reference.py"

# The conservation standard of the suite (DESIGN.md): cash in and cash out agree to one part in
# a million of the period's cash. The absolute floor of a billionth of a dollar covers periods
# whose cash is zero (after the collateral is retired), where a relative test means nothing.
CONSERVATION_RTOL = 1e-6
CONSERVATION_ATOL = 1e-9

# `pytest --hypothesis-profile=stress` searches each property a hundred times wider, to flush out a
# case the default run meets once in many CI runs (a rare draw failed CI once); no deadline,
# because a wide search on a loaded machine is slow, not wrong.
settings.register_profile("stress", max_examples=10_000, deadline=None)


def deal_paths() -> list[Path]:
    """The example deals shipped in deals/, which double as golden tests."""
    return sorted(DEALS_DIR.glob("*.waterfall"))


def build_deal(text: str, path: str | None = "test.waterfall") -> Deal:
    """Parse and check deal text (the public API's `loads`)."""
    return structurer.loads(text, path)


RESIDUAL_DECL = re.compile(r"^\s*class\s+\S+\s+R\b", re.MULTILINE)


def prepayment_of(scenario):
    """The prepayment assumption of a scenario (or the assumption itself)."""
    return getattr(scenario, "prepayment", scenario)


def deal_text(
    *,
    pools: str = 'pool "P" { balance 1,000,000  wac 6%  coupon 5.5%  term 360  age 0 }',
    classes: str = "class A SEQ balance 600,000 coupon 5%\nclass B SEQ balance 400,000 coupon 5%",
    principal: str = "pay A until retired\n    pay B until retired",
    interest: str | None = "interest: pay each class its coupon",
    scenarios: str | None = "pricing 100 PSA\n  decrement 0, 100, 300 PSA",
    header: str = "settle 2027-01-30\n  first payment 2027-02-25\n  delay 24 days",
    name: str = "T-1",
    residual: bool = True,
) -> str:
    """A complete deal file from its parts; each part is the text inside its block.

    A residual class R is declared unless `residual` is False or the classes declare one.
    """
    if residual and not RESIDUAL_DECL.search(classes):
        classes += "\nclass R R"
    parts = [
        f'deal "{name}" {{\n  {header}\n}}',
        f"collateral {{\n  {pools}\n}}",
        classes,
        "waterfall {\n"
        + (f"  {interest}\n" if interest else "")
        + f"  principal {{\n    {principal}\n  }}\n}}",
    ]
    if scenarios is not None:
        parts.append(f"scenarios {{\n  {scenarios}\n}}")
    return "\n\n".join(parts) + "\n"


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of `text` containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


def column_of(text: str, needle: str, within: str | None = None) -> int:
    """1-based column of `needle` on the first line containing `within` (default: `needle`)."""
    line = text.splitlines()[line_of(text, within or needle) - 1]
    return line.index(needle) + 1


def deal_errors(text: str) -> list[DealError]:
    """The problems check/parse finds in `text` (fails the test if there are none)."""
    with pytest.raises((DealError, DealErrors)) as info:
        build_deal(text)
    exc = info.value
    return list(exc.errors) if isinstance(exc, DealErrors) else [exc]


def only_error(text: str) -> DealError:
    """The single problem in `text`."""
    errors = deal_errors(text)
    assert len(errors) == 1, "expected one error, got:\n" + "\n".join(e.render() for e in errors)
    return errors[0]


TOKEN_NAME = re.compile(r"__ANON|\$END|\b(?:LBRACE|RBRACE|LPAR|RPAR|COMMA|COLON|NUMBER|STRING|"
                        r"NAME|DATE|UNIT|THEN|WS|COMMENT)\b")


# ---- model-level builders: waterfall tests with small, hand-checkable numbers


def tranche(index: int, name: str, balance: float, coupon: float = 0.0, ptype: str = "SEQ") -> Tranche:
    if ptype == "R":
        return Tranche(name, "R", "R", 0.0, 0.0, index)
    return Tranche(name, ptype, "FIX", float(balance), float(coupon), index)


def model_deal(classes: list[Tranche], principal: Rule | list[Rule]) -> Deal:
    """A Deal built from model objects, bypassing the checks (the waterfall needs no pools)."""
    rules = tuple(principal) if isinstance(principal, list) else (principal,)
    total = sum(c.balance for c in classes)
    pool = Pool("P", total, 0.06, 0.06, 360, 360, 0)
    return Deal(
        name="MODEL",
        settle=dt.date(2027, 1, 30),
        first_payment=dt.date(2027, 2, 25),
        delay_days=24,
        pools=(pool,),
        classes=tuple(classes),
        principal=Sequential(rules),
    )


def flows(interest, principal) -> CollateralFlows:
    """Collateral flows with the given interest and principal, [scenario, period] (1-D: one
    scenario), as one pool whose balance is the principal still to come. All principal is
    booked as scheduled; the waterfall reads the sums."""
    interest = np.atleast_2d(np.asarray(interest, dtype=float))
    principal = np.atleast_2d(np.asarray(principal, dtype=float))
    zeros = np.zeros_like(interest)
    ending = principal[:, ::-1].cumsum(axis=1)[:, ::-1] - principal
    beginning = ending + principal
    by_pool = {
        "beginning_balance": beginning[:, None, :],
        "interest": interest[:, None, :],
        "scheduled_principal": principal[:, None, :],
        "prepayment": zeros[:, None, :],
        "ending_balance": ending[:, None, :],
    }
    return CollateralFlows(
        beginning_balance=beginning,
        interest=interest,
        scheduled_principal=principal,
        prepayment=zeros.copy(),
        ending_balance=ending,
        servicing_fee=zeros.copy(),
        smm=zeros[:, None, :],
        by_pool=by_pool,
    )


# ---- invariants shared by the property and golden tests


def _roles(deal: Deal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks over the deal's classes: who is paid cash (issued, not the residual); whose
    balance is principal of its own (not notional, not split from a parent, not the residual);
    the residual."""
    classes = deal.classes
    residual = np.array([c.is_residual for c in classes])
    issued = np.array([getattr(c, "issued", True) for c in classes])
    notional = np.array([getattr(c, "is_notional", False) for c in classes])
    child = np.array([getattr(c, "parent", None) is not None for c in classes])
    return issued & ~residual, ~(notional | child | residual), residual


def assert_conserves_cash(results: structurer.Results) -> None:
    """Every period of every scenario: collateral cash == class cash + residual; balances
    never negative; class principal equals the fall in class balances (plus any accrual)."""
    coll, f = results.collateral, results.flows
    paid_cash, own_balance, _ = _roles(results.deal)
    cash_in = coll.interest + coll.principal
    cash_out = ((f.interest + f.principal)[:, paid_cash, :].sum(axis=1)
                + f.residual_interest + f.residual_principal)
    reimbursed = getattr(f, "reimbursed", None)
    if reimbursed is not None:  # write-downs paid back: class cash out of excess interest
        cash_out = cash_out + reimbursed[:, paid_cash, :].sum(axis=1)
    figures = getattr(f, "enhancement", None)
    reserve = getattr(results.deal, "reserve", None)
    if figures is not None and reserve is not None:
        # A reserve account: its deposit at closing is cash in, its change each period cash out.
        cash_in = cash_in.copy()
        cash_in[:, 0] += reserve.initial
        cash_out = cash_out + np.diff(figures["reserve_balance"], axis=1, prepend=0.0)
    tol = CONSERVATION_RTOL * np.abs(cash_in) + CONSERVATION_ATOL
    gap = np.abs(cash_in - cash_out)
    assert np.all(gap <= tol), f"cash not conserved: worst gap {gap.max():.3e}"
    # Principal as the balances see it, not only as the payments say.
    accrued = getattr(f, "accrued", np.zeros_like(f.principal))
    moved = (f.beginning_balance - f.ending_balance + accrued)[:, own_balance, :]
    writedown = getattr(f, "writedown", None)  # a credit run: losses move balances without cash
    if writedown is not None:
        moved = moved - writedown[:, own_balance, :]
    scale = np.maximum(f.beginning_balance[:, :, :1], 1.0)   # each class's first balance
    assert np.all(np.abs(moved - f.principal[:, own_balance, :])
                  <= CONSERVATION_RTOL * scale[:, own_balance, :] + CONSERVATION_ATOL)
    # Nothing negative: a billionth of the original balance is float noise, not a debt.
    assert np.all(f.ending_balance >= -1e-9 * scale)
    assert np.all(f.principal >= -1e-9 * scale)
    assert np.all(f.interest >= -1e-9 * scale)
    assert np.all(f.residual_interest >= -tol)
    assert np.all(f.residual_principal >= -tol)


def assert_classes_retire(results: structurer.Results) -> None:
    """By the collateral's last period (its balance is zero) every class is retired, to one
    part in a million of its original (or notional) balance, and no principal reached the
    residual while a class with a balance of its own was still outstanding."""
    coll, f = results.collateral, results.flows
    _, own_balance, residual = _roles(results.deal)
    for s in range(coll.interest.shape[0]):
        done = np.flatnonzero(coll.ending_balance[s] <= 0.0)
        last = int(done[0]) if done.size else coll.periods - 1
        original = np.maximum(f.beginning_balance[s, :, 0], 1.0)
        end = f.ending_balance[s, :, last]
        late = ~residual & (end > CONSERVATION_RTOL * original)
        assert not late.any(), f"scenario {s}: balances {end[late]} left at period {last + 1}"
        if results.deal.groups:
            # A grouped deal's rule is per group: a group whose classes another group's excess
            # retired early leaves its pools' principal while other groups' classes are out.
            for i, g in enumerate(results.deal.groups):
                mine = [k for k in g.classes if own_balance[k]]
                outstanding = (f.ending_balance[s, mine, :].sum(axis=0)
                               > CONSERVATION_RTOL * original[mine].sum())
                left = f.group_residual_principal[s, i] + f.cross_principal[s, i]
                leak = left > (CONSERVATION_RTOL * coll.principal[s] + CONSERVATION_ATOL)
                assert not np.any(outstanding & leak), f"principal left group {g.name} too early"
            continue
        owners = f.ending_balance[s, own_balance, :].sum(axis=0)
        outstanding = owners > CONSERVATION_RTOL * original[own_balance].sum()
        residual_principal = f.residual_principal[s]
        figures = getattr(f, "enhancement", None)
        if figures is not None and "oc_release" in figures:
            # An overcollateralization release is principal the residual is due meanwhile.
            residual_principal = residual_principal - figures["oc_release"][s]
        leak = residual_principal > (CONSERVATION_RTOL * coll.principal[s] + CONSERVATION_ATOL)
        assert not np.any(outstanding & leak), "principal went to the residual too early"


@contextlib.contextmanager
def script_module(path: Path, name: str) -> Iterator:
    """A script (a benchmark, the golden regenerator) imported as a module for the duration."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses in the script look their module up here
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def ref():
    """benchmarks/reference.py as a module (skips where the benchmarks are not shipped)."""
    if not REFERENCE.exists():
        pytest.skip("the benchmarks are not shipped with an installed package")
    with script_module(REFERENCE, "reference") as module:
        yield module


def run_on_interpreter(deal: Deal, *runs) -> structurer.Results:
    """deal.run on the numpy interpreter (STRUCTURER_ENGINE=numpy for the call only): for
    comparisons with the kernel inside hypothesis tests, where monkeypatch does not reset."""
    before = os.environ.get("STRUCTURER_ENGINE")
    os.environ["STRUCTURER_ENGINE"] = "numpy"
    try:
        return deal.run(*runs)
    finally:
        if before is None:
            del os.environ["STRUCTURER_ENGINE"]
        else:
            os.environ["STRUCTURER_ENGINE"] = before
