"""The run plan (structurer/analysis/plan.py) computes everything a report shows; the report
(structurer/present/report.py) renders a plan and computes nothing: with the engine, the
valuation and the tie-out all made to refuse, a plan still renders, to the same page."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

import structurer
from structurer import hooks
from structurer.analysis.plan import deal_view, report_plan, results_view
from structurer.present.report import deal_html, render, render_report, results_html

DEALS = Path(__file__).resolve().parent.parent / "deals"

PRICED_FLOATER = """
analytics {
  curve "UST" (1: 4.10%, 2: 4.00%, 5: 4.00%, 10: 4.20%, 30: 4.50%)
  price A, B at 99-16+
  price IF at 80-00
  yield D at 7.25%
  table prices(98, 99-16, 101) speeds(100, 165, 300 PSA)
}
"""


def _deal(stem: str) -> structurer.Deal:
    if stem == "priced floater":
        source = (DEALS / "floater.waterfall").read_text() + PRICED_FLOATER
        return structurer.loads(source, "priced.waterfall")
    return structurer.load(DEALS / f"{stem}.waterfall")


@pytest.fixture
def refuse_to_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way of computing something raise: a run (Deal.run and the engine), a quote or
    a valuation table, the tie-out."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report computed something")

    monkeypatch.setattr(hooks, "run_deal", refuse)
    monkeypatch.setattr("structurer.engine.run.run_deal", refuse)
    monkeypatch.setattr("structurer.structuring.tieout.tieout", refuse)
    for name in ("quote", "quote_classes", "price_yield_table", "index_yield_table"):
        monkeypatch.setattr(f"structurer.valuation.quotes.{name}", refuse)


@pytest.fixture
def fixed_svg_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    # matplotlib salts its SVG ids at random per figure; fixed, two renders can be compared.
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "structurer-test")


@pytest.mark.parametrize("stem", ["pac_tiers", "trust_io_po", "priced floater", "sequential"])
def test_a_plan_renders_without_computing(stem: str, fixed_svg_ids: None,
                                          request: pytest.FixtureRequest) -> None:
    deal = _deal(stem)
    results = deal.run()
    decrement = deal.run(*deal.decrement) if deal.decrement else None
    expected = render_report(results, decrement)
    plan = report_plan(results, decrement)
    request.getfixturevalue("refuse_to_compute")
    assert render(plan) == expected


def test_the_plan_holds_the_runs_the_report_draws() -> None:
    deal = _deal("pac_tiers")
    plan = report_plan(deal.run(), deal.run(*deal.decrement))
    scheduled = {deal.classes[i].name for i in deal.schedules}
    assert plan.band_runs and {n for band in plan.band_runs for n in band.names} == scheduled
    for band in plan.band_runs:
        assert band.results.scenarios == [s.label for s in band.tier.band] or not band.tier.band
    assert plan.tieout.checks
    assert plan.stats == pytest.approx(structurer.results.measures.collateral_stats(deal.pools))


def test_the_plan_prices_the_analytics_block() -> None:
    deal = _deal("trust_io_po")
    plan = report_plan(deal.run())
    assert plan.pricing is not None
    assert set(plan.pricing.quotes) == {spec.name for spec in deal.analytics.quotes}
    # One table per class per 'table' line; an index table for each quoted IO and PO.
    assert len(plan.pricing.tables) == len(deal.analytics.tables) * sum(
        1 for c in deal.issued_classes if not c.is_residual)
    assert {t.kind for t in plan.pricing.index_tables} == {"IO", "PO"}


def test_a_deal_without_pricing_plans_none() -> None:
    deal = _deal("sequential")
    assert not deal.analytics.quotes and not deal.analytics.tables
    assert report_plan(deal.run()).pricing is None


def test_notebook_views_render_without_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    deal = _deal("pac")
    results = deal.run("100 PSA", "300 PSA")
    deal_expected, results_expected = deal._repr_html_(), results._repr_html_()
    views = deal_view(deal), results_view(results)
    monkeypatch.setattr(hooks, "run_deal", lambda *a, **k: pytest.fail("the view ran the deal"))
    assert deal_html(views[0]) == deal_expected
    assert results_html(views[1]) == results_expected
