"""Notional classes' WAL is shown the same way everywhere: the WAL of the notional balance's
paydown, the average life their pricing uses, labelled notional. Results.decrement_table and
the golden files keep '-' for them (no principal of their own); the plan carries the notional
WAL and the report renders it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import structurer
from structurer.analysis.plan import report_plan
from structurer.model.deal import QuoteSpec
from structurer.present.report import render
from structurer.valuation import quotes as valuation

IO_PO = Path(__file__).resolve().parent.parent / "deals" / "io_po.waterfall"


def test_the_plan_holds_the_wal_pricing_uses() -> None:
    deal = structurer.load(IO_PO)
    results = deal.run(*deal.decrement)
    io = [t.name for t in deal.issued_classes if t.is_notional]
    assert io  # the example deal has notional classes
    priced = valuation.quote_classes(results, [QuoteSpec("price", n, 10.0) for n in io], None)
    plan = report_plan(results, results, priced, [])
    assert sorted(plan.notional_wal) == sorted(io)
    for name in io:
        assert np.array_equal(plan.notional_wal[name], priced[name].wal)
        assert np.array_equal(plan.decrement_notional_wal[name], priced[name].wal)
        assert all(math.isfinite(v) and v > 0 for v in plan.notional_wal[name])
        assert np.isnan(results.wal(name)).all()  # Results itself is unchanged


def test_the_report_shows_it_in_the_cover_and_decrement_tables() -> None:
    deal = structurer.load(IO_PO)
    results = deal.run(*deal.decrement)
    plan = report_plan(results, results)
    html = render(plan)
    name = next(t.name for t in deal.issued_classes if t.is_notional)
    wal = plan.notional_wal[name]
    start = html.index(f'<table class="decrement" data-class="{name}">')
    block = html[start:html.index("</table>", start)]
    row = block[block.index('<th scope="row">WAL (notional)</th>'):]
    assert [f"{v:.2f}" for v in wal] == [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
    assert f'data-field="wal">{wal[0]:.2f} <span class="ntl">(notional)</span>' in html
    # The golden decrement table is untouched: Results still gives '-'.
    assert list(results.decrement_table(name).iloc[-1]) == ["-"] * len(results.scenarios)


def test_the_terminal_summary_shows_it_and_the_pac_band(capsys) -> None:
    from structurer import cli

    deal = structurer.load(IO_PO)
    results = deal.run(deal.pricing)
    wal = report_plan(results).notional_wal
    assert cli.main([str(IO_PO), "--no-report"]) == 0
    out = capsys.readouterr().out
    for name, values in wal.items():
        row = next(line for line in out.splitlines() if line.startswith(f"\u2502 {name} "))
        assert f"{values[0]:.2f} (notional)" in row
    pac = IO_PO.parent / "pac.waterfall"
    assert cli.main([str(pac), "--no-report"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("\u2502 P "))
    assert "PAC (90-300 PSA)" in row
