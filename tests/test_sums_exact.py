"""The kernel's summaries-only sums (engine/kernel.py with keep_rows False) are, bit for bit, the
full run's per-period flows added up period by period: a sum added in the wrong place, twice, in
another order or not at all shows here, where tests/test_summary.py's 1e-12 tolerance (needed
there against numpy's pairwise totals) might let a small one through. Every example deal that
sums on the kernel, over speeds from none to the whole pool in a month, at four discount rates."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEALS_DIR, deal_paths

import structurer
from structurer.engine import sums as field
from structurer.engine.run import resolve_scenarios, sum_deal
from structurer.results.measures import PAYMENT_DUST
from structurer.valuation import yields as pricing

SPEEDS = ["0 CPR", "1 CPR", "25 CPR", "100 CPR", "165 PSA", "1500 PSA", "0.0001 CPR", "99.9999 CPR"]
BEY = np.array([0.0, 0.055, 0.07, -0.005])


def _in_order(rows: np.ndarray) -> np.ndarray:
    """[scenario, period] -> each scenario's total, adding the periods one by one from the first
    (the kernel's order: one running sum per scenario)."""
    total = np.zeros(rows.shape[0])
    for t in range(rows.shape[1]):
        total = total + rows[:, t]
    return total


def _window(principal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last 1-based period paying principal above the dust (0: none)."""
    pays = principal > PAYMENT_DUST
    periods = np.arange(1, principal.shape[1] + 1)
    first = np.where(pays.any(axis=1), np.argmax(pays, axis=1) + 1, 0)
    last = np.where(pays, periods, 0).max(axis=1)
    return first, last


def _exact(got: np.ndarray, want: np.ndarray, what: str) -> None:
    np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(want, dtype=float), err_msg=what)


def _exact_paydown(row: np.ndarray, principal: np.ndarray, counted: np.ndarray, k: np.ndarray,
                   what: str) -> None:
    """The WAL sums (`counted`: the principal the WAL counts) and the principal window."""
    _exact(row[:, field.F_WAL_PAID], _in_order(counted), f"{what} WAL principal")
    _exact(row[:, field.F_WAL_WEIGHTED], _in_order(k * counted), f"{what} WAL weighted")
    first, last = _window(principal)
    _exact(row[:, field.F_FIRST], first, f"{what} first period")
    _exact(row[:, field.F_LAST], last, f"{what} last period")


@pytest.mark.parametrize("name", [p.name for p in deal_paths()])
def test_each_sum_is_the_full_runs_flows_added_period_by_period(name: str) -> None:
    deal = structurer.load(DEALS_DIR / name)
    scenarios = resolve_scenarios(deal, list(SPEEDS))
    results = deal.run(*SPEEDS)
    months = pricing.discount_months(deal.settle, results.dates)
    discount = (1.0 + pricing.mortgage_from_bey(BEY)[:, None] / 12.0) ** (-months)
    sums = sum_deal(deal, scenarios, discount, PAYMENT_DUST)
    if sums is None:
        pytest.skip("runs in full (the interpreter, or credit, OC or reserve figures): no kernel sums")
    k = np.arange(1.0, deal.periods + 1.0)
    for tranche in deal.issued_classes:
        row = sums[:, tranche.index, :]
        a = results.arrays(tranche.name)
        principal = np.ascontiguousarray(a["principal"])
        interest = np.ascontiguousarray(a["interest"])
        what = f"{name} {tranche.name}"
        _exact(row[:, field.F_INTEREST], _in_order(interest), f"{what} interest")
        _exact(row[:, field.F_PRINCIPAL], _in_order(principal), f"{what} principal")
        _exact(row[:, field.F_ACCRUED], _in_order(np.ascontiguousarray(a["accrued"])), f"{what} accrued")
        if tranche.is_notional:
            counted = np.maximum(a["beginning_balance"] - a["ending_balance"], 0.0)
        elif tranche.is_residual:
            counted = np.zeros_like(principal)
        else:
            counted = np.maximum(principal, 0.0)
        _exact_paydown(row, principal, counted, k, what)
        # (the full run derives balances from the stored flows, in another order: a retired
        # class's final balance is rounding dust of the deal's size either way)
        np.testing.assert_allclose(row[:, field.F_FINAL], a["ending_balance"][:, -1], rtol=1e-12,
                                   atol=1e-12 * deal.collateral_balance, err_msg=f"{what} final balance")
        for r in range(len(BEY)):
            _exact(row[:, field.F_PV + r], _in_order((interest + principal) * discount[r]), f"{what} pv {r}")
    c = results.collateral
    coll = sums[:, -1, :]
    scheduled, prepaid = np.ascontiguousarray(c.scheduled_principal), np.ascontiguousarray(c.prepayment)
    principal = scheduled + prepaid
    interest = np.ascontiguousarray(c.interest)
    _exact(coll[:, field.F_INTEREST], _in_order(interest), f"{name} collateral interest")
    _exact(coll[:, field.F_PRINCIPAL], _in_order(principal), f"{name} collateral principal")
    _exact(coll[:, field.F_SCHEDULED], _in_order(scheduled), f"{name} collateral scheduled")
    _exact(coll[:, field.F_PREPAID], _in_order(prepaid), f"{name} collateral prepaid")
    _exact(coll[:, field.F_FEE], _in_order(np.ascontiguousarray(c.servicing_fee)), f"{name} collateral fee")
    _exact_paydown(coll, principal, np.maximum(principal, 0.0), k, f"{name} collateral")
    np.testing.assert_allclose(coll[:, field.F_FINAL], c.ending_balance[:, -1], rtol=1e-12,
                               atol=1e-12 * deal.collateral_balance, err_msg=f"{name} collateral final")
