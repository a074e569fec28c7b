"""The report's structuring ranges: each PAC/TAC tier's band, the balance the band supports
against the balance issued, and each scheduled class's effective band at the pricing speed.
The plan's figures are the solver's (structuring.solve), and the report shows them."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import structurer
from structurer.analysis.plan import EFFECTIVE_AFTER, EFFECTIVE_TOLERANCE, report_plan
from structurer.present.report import band_text, render
from structurer.structuring import solve

DEALS = Path(__file__).resolve().parent.parent / "deals"


@pytest.fixture(scope="module")
def pac() -> tuple[structurer.Deal, object, str]:
    deal = structurer.load(DEALS / "pac.waterfall")
    plan = report_plan(deal.run(deal.pricing), deal.run(*deal.decrement))
    return deal, plan, render(plan)


def _cell(html: str, table: str, tier: str, attr: str) -> str:
    """The text of the cell `attr` (data-field=... or data-after=...) of a range table."""
    start = html.index(f'<table class="{table}" data-tier="{tier}">')
    body = html[start:html.index("</table>", start)]
    return re.search(rf'{attr}">([^<]*)</td>', body).group(1)


def test_the_plan_holds_the_solvers_supported_balance(pac) -> None:
    deal, plan, _ = pac
    (r,) = plan.ranges
    assert r.names == ("P",)
    assert r.supported == solve.max_pac_balance(deal, "P").value
    assert math.floor(r.supported) == 243_896_875
    assert r.issued == 243_800_000


def test_the_plan_holds_the_solvers_effective_bands(pac) -> None:
    deal, plan, _ = pac
    (r,) = plan.ranges
    assert r.at == "165 PSA"
    assert [e.after for e in r.effective["P"]] == list(EFFECTIVE_AFTER)
    for e in r.effective["P"]:
        found = solve.effective_band(deal, "P", e.after, deal.pricing.prepayment, tol=EFFECTIVE_TOLERANCE)
        assert e.band == found.value
    # Today the band is the structuring band; it drifts up as the PAC seasons at 165 PSA.
    assert [round(x) for x in r.effective["P"][0].band] == [90, 300]
    assert r.effective["P"][-1].band[0] > r.effective["P"][1].band[0] > 90


def test_the_report_shows_the_band_and_the_figures(pac) -> None:
    deal, plan, html = pac
    (r,) = plan.ranges
    assert 'data-field="principal_type">PAC (90-300 PSA)</td>' in html
    assert _cell(html, "range", "P", 'data-field="band') == "90-300 PSA"
    assert _cell(html, "range", "P", 'data-field="supported') == "243,896,875"
    assert _cell(html, "range", "P", 'data-field="issued') == "243,800,000"
    assert _cell(html, "range", "P", 'data-field="headroom') == "96,875"
    for e in r.effective["P"]:
        assert _cell(html, "effective", "P", f'data-after="{e.after}') == f"{e.band[0]:.0f}-{e.band[1]:.0f}"
    assert "Today" in html and "After 60 periods" in html


def test_tiers_each_get_a_range_and_notes_say_why_a_band_is_missing() -> None:
    deal = structurer.load(DEALS / "pac_tiers.waterfall")
    plan = report_plan(deal.run(deal.pricing))
    html = render(plan)
    assert [r.names for r in plan.ranges] == [("PA", "PB", "PC"), ("P2",), ("T",)]
    assert [band_text(r.tier) for r in plan.ranges] == ["100-250 PSA", "130-200 PSA", "200 PSA"]
    for r in plan.ranges:
        assert r.supported == solve.max_pac_balance(deal, r.names[0]).value
        assert 'data-field="principal_type">' + r.tier.kind + f" ({band_text(r.tier)})</td>" in html
    # PA is paid off within five years at 165 PSA: no band, and the report says why.
    pa = {e.after: e for e in plan.ranges[0].effective["PA"]}
    assert pa[60].band is None and "retired" in pa[60].note
    assert _cell(html, "effective", "PA,PB,PC", 'data-after="60') == "\u2014"
    assert "PA after 60 periods: PA is retired by period 60" in html


def test_a_deal_without_schedules_has_no_ranges() -> None:
    deal = structurer.load(DEALS / "sequential.waterfall")
    plan = report_plan(deal.run(*deal.decrement))
    assert plan.ranges == []
    assert 'id="ranges"' not in render(plan)


def test_past_the_class_budget_the_report_names_the_classes_left_out(monkeypatch) -> None:
    from structurer.analysis import plan as planning

    monkeypatch.setattr(planning, "EFFECTIVE_CLASSES", 2)
    deal = structurer.load(DEALS / "pac_tiers.waterfall")
    plan = report_plan(deal.run(deal.pricing))
    first, second, third = plan.ranges
    assert sorted(first.effective) == ["PA", "PB"] and first.omitted == ("PC",)
    assert second.effective == {} and second.omitted == ("P2",)
    assert third.omitted == ("T",)
    assert first.supported == solve.max_pac_balance(deal, "PA").value  # still computed
    html = render(plan)
    assert 'data-class="PC"' not in html[html.index('<table class="effective"'):html.index("</section>",
                                                                                   html.index('id="ranges"'))]
    assert "many scheduled classes: PC (" in html and "many scheduled classes: P2 (" in html


def test_the_batched_searches_give_each_class_s_own_band() -> None:
    """solve.effective_bands runs every class's and horizon's search together; each result is the
    one effective_band finds for that class and horizon alone, retired and busted ones included."""
    deal = structurer.load(DEALS / "pac_tiers.waterfall")
    at = deal.pricing.prepayment
    names, horizons = ["PA", "PB", "P2", "T"], [0, 36, 60]
    found = solve.effective_bands(deal, names, horizons, at, tol=EFFECTIVE_TOLERANCE)
    assert set(found) == {(n, h) for n in names for h in horizons}
    for (name, after), result in found.items():
        try:
            alone = solve.effective_band(deal, name, after, at, tol=EFFECTIVE_TOLERANCE)
        except structurer.InputError as exc:
            assert isinstance(result, structurer.InputError) and str(result) == str(exc)
            continue
        assert result.value == alone.value and result.achieved == alone.achieved
        assert result.details == alone.details and result.message == alone.message
    assert isinstance(found[("PA", 60)], structurer.InputError)  # retired by then
