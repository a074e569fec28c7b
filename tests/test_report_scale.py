"""The report of a large run: what it summarises, where (analysis.budget's sizes), what it says it
left out, and the figures of its summaries (checked against numpy on the run's own arrays). The
300-class deal's report size is asserted (a fact); its time is not (benchmarks/bench_report.py
prints it)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import script_module

import structurer
from structurer.analysis import budget
from structurer.analysis.plan import PERCENTILES, by_year, class_periods, report_plan, scenario_summary
from structurer.cli import main
from structurer.present.charts import MANY_SERIES, class_groups
from structurer.present.report import render
from structurer.results.results import COLLATERAL

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"


@pytest.fixture(scope="module")
def gen():
    with script_module(ROOT / "benchmarks" / "gen300.py", "gen300") as module:
        yield module


def _speeds(n: int) -> list[str]:
    return [f"{k * 5} PSA" for k in range(n)]


# ---- scenarios: one by one up to budget.SCENARIOS_LISTED, then measures and their distribution


@pytest.fixture(scope="module")
def sequential() -> structurer.Deal:
    return structurer.load(DEALS / "sequential.waterfall")


def test_a_run_at_the_budget_shows_every_scenario(sequential) -> None:
    run = sequential.run(*_speeds(budget.SCENARIOS_LISTED))
    plan = report_plan(run)
    assert plan.scenarios is None
    html = render(plan)
    assert html.count('<table class="cover"') == budget.SCENARIOS_LISTED
    assert "data-omitted" not in html


def test_one_scenario_over_the_budget_is_summarised(sequential) -> None:
    n = budget.SCENARIOS_LISTED + 1
    run = sequential.run(*_speeds(n))
    plan = report_plan(run)
    ss = plan.scenarios
    assert ss is not None and ss.total == n and ss.listed == tuple(range(budget.SCENARIOS_LISTED))
    html = render(plan)
    # One cover table in full: the pricing scenario's (165 PSA is one of the run's speeds).
    assert html.count('<table class="cover"') == 1
    assert '<table class="cover" data-scenario="165 PSA">' in html
    listed = html[html.index('<table class="measures by-scenario">'):]
    listed = listed[:listed.index("</table>")]
    assert listed.count("<tr>") == budget.SCENARIOS_LISTED + 1  # heading row + one per listed scenario
    assert f">{_speeds(n)[-1]}</th>" not in listed and f">{_speeds(n)[-2]}</th>" in listed


def test_many_classes_by_scenario_are_split_into_tables_that_fit_the_page(gen) -> None:
    from structurer.present.report import MEASURE_CLASSES_PER_TABLE

    deal = structurer.loads(gen.sequential_deal(25))
    html = render(report_plan(deal.run(*_speeds(budget.SCENARIOS_LISTED + 1))))
    tables = re.findall(r'<table class="measures by-scenario">(.*?)</table>', html, re.S)
    heads = [re.findall(r'<th class="num">(A\d+)', t) for t in tables]
    assert [len(h) for h in heads] == [MEASURE_CLASSES_PER_TABLE, MEASURE_CLASSES_PER_TABLE, 5]
    assert [name for h in heads for name in h] == [f"A{k:03d}" for k in range(25)]
    assert all(t.count("<tr>") == budget.SCENARIOS_LISTED + 1 for t in tables)


def test_the_report_says_what_it_left_out_and_where_to_find_it(sequential) -> None:
    n = budget.SCENARIOS_LISTED + 1
    html = render(report_plan(sequential.run(*_speeds(n))))
    note = re.search(r'<p class="note omitted" data-omitted="scenarios">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", note).split())
    assert f"This run has {n} scenarios, more than the {budget.SCENARIOS_LISTED}" in text
    assert "165 PSA, the pricing scenario" in text
    assert "Left out: the cover and quote tables of the other scenarios" in text
    assert "--json" in text and "--xlsx PATH" in text and "--cashflows PATH" in text
    assert "deals/sequential.waterfall" in text
    # Right where it was left out: in the offered-classes section, before its one cover table.
    cover = html.index('id="cover"')
    assert cover < html.index('data-omitted="scenarios"') < html.index('<table class="cover"')
    assert "in full; the run&rsquo;s 101 scenarios as measures" in html  # the assumptions say so too


def test_the_distribution_is_numpys_over_the_run(sequential) -> None:
    run = sequential.run(*_speeds(budget.SCENARIOS_LISTED + 37))
    ss = report_plan(run).scenarios
    found = {(d.name, d.measure): d for d in ss.distributions}
    for tranche in sequential.issued_classes:
        if tranche.is_residual:
            continue
        wal = run.wal(tranche.name)
        d = found[(tranche.name, "wal")]
        assert d.low == np.min(wal) and d.high == np.max(wal) and d.mean == pytest.approx(np.mean(wal), abs=0)
        assert d.percentiles == tuple(np.percentile(wal, PERCENTILES))
        assert d.at_low == int(np.argmin(wal)) and d.at_high == int(np.argmax(wal))
        assert d.count == len(wal)
        first, last = run.principal_window(tranche.name)
        assert found[(tranche.name, "first")].low == first.min()
        assert found[(tranche.name, "last")].high == last.max()
        assert found[(tranche.name, "final")].percentiles == tuple(
            np.percentile(run.final_period(tranche.name), PERCENTILES))
        np.testing.assert_array_equal(ss.wal[tranche.name], wal)
    # Slower speeds lengthen every class: the longest WAL is at 0 PSA, the shortest at the fastest.
    assert found[("A", "wal")].at_high == 0 and found[("A", "wal")].at_low == len(run.scenarios) - 1


def test_measures_a_scenario_lacks_are_left_out_of_its_distribution() -> None:
    # An IO has a notional WAL but no principal window: its distribution counts the WAL only.
    deal = structurer.load(DEALS / "io_po.waterfall")
    run = deal.run(*_speeds(budget.SCENARIOS_LISTED + 1))
    plan = report_plan(run)
    measures = {d.measure for d in plan.scenarios.distributions if d.name == "IX"}
    assert measures == {"wal", "final"}
    np.testing.assert_array_equal(plan.scenarios.wal["IX"], plan.notional_wal["IX"])
    assert scenario_summary(run, plan.notional_wal, listed=len(run.scenarios)) is None


def test_the_extremes_name_their_scenarios(sequential) -> None:
    run = sequential.run(*_speeds(budget.SCENARIOS_LISTED + 1))
    html = render(report_plan(run))
    row = re.search(r'<tr data-class="A" class="rule">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0].startswith("WAL (years)")
    assert cells[-2:] == ["500 PSA", "0 PSA"]  # min at the fastest, max at the slowest
    wal = run.wal("A")
    assert cells[1] == f"{wal.min():.2f}" and cells[len(PERCENTILES) + 2] == f"{wal.max():.2f}"


# ---- cash flows: month by month up to budget.CASHFLOW_CELLS_MONTHLY class-periods, then by year


def _just(gen, over: bool) -> structurer.Deal:
    """The generated sequential deal with the most classes under the budget, or one more."""
    periods = 360
    issued = budget.CASHFLOW_CELLS_MONTHLY // periods + (1 if over else 0)  # the residual included
    return structurer.loads(gen.sequential_deal(issued - 1))


def test_cash_flows_month_by_month_under_the_budget(gen) -> None:
    deal = _just(gen, over=False)
    run = deal.run(deal.pricing)
    assert class_periods(run) <= budget.CASHFLOW_CELLS_MONTHLY
    plan = report_plan(run)
    assert plan.yearly is None
    html = render(plan)
    assert 'data-omitted="monthly-cashflows"' not in html and 'class="flows by-year"' not in html


def test_cash_flows_by_year_over_the_budget(gen) -> None:
    deal = _just(gen, over=True)
    run = deal.run(deal.pricing)
    assert class_periods(run) > budget.CASHFLOW_CELLS_MONTHLY
    plan = report_plan(run)
    assert plan.yearly is not None
    by_name = {y.name: y for y in plan.yearly}
    assert set(by_name) == {COLLATERAL, *(t.name for t in deal.issued_classes)}
    for tranche in deal.issued_classes:
        a, y = run.arrays(tranche.name), by_name[tranche.name].columns
        final = int(run.final_period(tranche.name)[0])
        assert len(y["year"]) == -(-final // 12)
        # Nothing lost: the years' sums are the periods' (but for dust after the last cash).
        assert y["interest"].sum() == pytest.approx(a["interest"][0].sum(), rel=1e-12, abs=1e-3)
        assert y["principal"].sum() == pytest.approx(a["principal"][0].sum(), rel=1e-12, abs=1e-3)
        np.testing.assert_array_equal(y["ending_balance"], a["ending_balance"][0][y["last"] - 1])
        np.testing.assert_array_equal(y["beginning_balance"], a["beginning_balance"][0][y["first"] - 1])
    html = render(plan)
    note = re.search(r'data-omitted="monthly-cashflows">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", note).split())
    assert f"{class_periods(run):,} class-periods, more than the {budget.CASHFLOW_CELLS_MONTHLY:,}" in text
    assert "Left out: the monthly rows" in text and "--cashflows flows.csv" in text
    section = html[html.index('id="cashflows"'):]
    assert section.index('data-omitted="monthly-cashflows"') < section.index("<details")
    assert 'class="flows by-year"' in section and '<table class="flows">' not in section
    # The first class's first year, formatted: interest of periods 1-12.
    a = run.arrays("A000")
    first = re.search(r'<details data-class="A000">.*?<tbody>\s*<tr>(.*?)</tr>', section, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", first)
    assert cells[:2] == ["1", "1\u201312"]
    assert cells[4] == f"{a['interest'][0][:12].sum():,.0f}"


def test_by_year_sums_twelve_periods_and_stops_at_the_last_year_with_cash() -> None:
    flows = {"interest": np.arange(1.0, 31.0), "ending_balance": np.arange(30.0, 0.0, -1),
             "beginning_balance": np.arange(31.0, 1.0, -1)}
    y = by_year("X", flows, final=25).columns
    assert list(y["year"]) == [1, 2, 3]
    assert list(y["first"]) == [1, 13, 25] and list(y["last"]) == [12, 24, 30]
    assert list(y["interest"]) == [sum(range(1, 13)), sum(range(13, 25)), sum(range(25, 31))]
    assert list(y["ending_balance"]) == [19.0, 7.0, 1.0]
    assert list(y["beginning_balance"]) == [31.0, 19.0, 7.0]
    assert by_year("X", flows, final=0).years == 0


# ---- charts of many classes


def test_many_classes_are_grouped_in_order() -> None:
    names = [f"A{k:03d}" for k in range(300)]
    groups = class_groups(names)
    assert len(groups) == MANY_SERIES
    assert [k for _, idx in groups for k in idx] == list(range(300))
    assert groups[0][0] == "A000\u2013A029 (30)" and groups[-1][0] == "A270\u2013A299 (30)"
    few = names[:MANY_SERIES]
    assert class_groups(few) == [(name, [k]) for k, name in enumerate(few)]


# ---- the 300-class deal end to end


def test_a_300_class_deal_report_is_under_3_mb(gen, tmp_path: Path, capsys) -> None:
    deal_file = tmp_path / "big300.waterfall"
    deal_file.write_text(gen.sequential_deal(300), encoding="utf-8")
    out = tmp_path / "big300.html"
    assert main([str(deal_file), "--report", str(out)]) == 0
    capsys.readouterr()
    size = out.stat().st_size
    assert size < 3_000_000, size
    html = out.read_text(encoding="utf-8")
    # Every class is there: its cover row, its decrement table and its cash flows by year.
    for k in (0, 150, 299):
        assert f'<tr data-class="A{k:03d}">' in html
        assert f'<table class="decrement compact" data-class="A{k:03d}">' in html
        assert f'<details data-class="A{k:03d}">' in html
    # The charts: ten groups in the stacked charts' legends, the WAL lines one image under text axes.
    figures = re.findall(r'<figure class="chart (\w+)".*?</figure>', html, re.S)
    assert figures == ["balances", "principal", "wal"]
    wal = re.search(r'<figure class="chart wal".*?</figure>', html, re.S).group(0)
    assert "<image" in wal and "<text" in wal and "300 classes, shaded in order" in wal
    balances = re.search(r'<figure class="chart balances".*?</figure>', html, re.S).group(0)
    assert "A000\u2013A029 (30)" in balances and "A270\u2013A299 (30)" in balances
    assert "The 300 classes are drawn in 10 groups" in balances


def test_past_the_chart_budget_scheduled_classes_are_named_not_drawn(monkeypatch) -> None:
    from structurer.present import report

    deal = structurer.load(DEALS / "pac_tiers.waterfall")
    plan = report_plan(deal.run(deal.pricing))
    scheduled = [name for band in plan.band_runs for name in band.names]
    assert len(scheduled) == 5
    html = render(plan)
    assert html.count('data-chart="schedule"') == 5 and 'data-omitted="schedule-charts"' not in html
    monkeypatch.setattr(report, "SCHEDULE_CHARTS", 2)
    html = render(plan)
    assert html.count('data-chart="schedule"') == 2
    drawn = re.findall(r"<figcaption><strong>Figure \d+\.</strong> Class (\w+) against its", html)
    assert drawn == scheduled[:2]
    note = re.search(r'data-omitted="schedule-charts">(.*?)</p>', html, re.S).group(1)
    assert ", ".join(scheduled[2:]) in " ".join(note.split()) and "scheduled-balances table" in note


def test_the_report_benchmark_runs_end_to_end(capsys) -> None:
    """benchmarks/bench_report.py on a small deal and grid: it prints both reports' figures."""
    with script_module(ROOT / "benchmarks" / "bench_report.py", "bench_report") as bench:
        assert bench.main(["--classes", "12", "--scenarios", str(budget.SCENARIOS_LISTED + 1)]) == 0
    out = capsys.readouterr().out
    assert "12-class sequential deal: `structure DEAL --report`" in out
    assert f"deals/sequential.waterfall at {budget.SCENARIOS_LISTED + 1:,} scenarios" in out
    assert out.count("  size ") == 2 and "largest sections: " in out
