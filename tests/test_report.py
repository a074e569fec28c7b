"""The HTML tranche report: renders every example deal, shows what Results computed, escapes
deal text, and stands alone (no external resources, not even a namespace URL).

Structured classes: the cover table has principal and interest types as separate columns,
notional classes are marked as such, floaters show their formula, cap, floor and first coupon,
Z classes their accretion, the split parent of a floater/inverse floater is not offered, and
deals with PAC/TAC schedules show them next to the actual balances at the pricing speed.

Sections that appear with their data: inline SVG charts (balances, principal, WAL across the
decrement speeds, each scheduled class against its band), pricing (quotes from the analytics
block or the caller, price/yield tables, yield by speed and index level for IO, PO and inverse
floaters), and the tie-out checks. The notebook views (_repr_html_) come from the same
templates."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape

import structurer
from structurer.present.report import (
    band_text,
    environment,
    fmt_date,
    fmt_money,
    fmt_month,
    fmt_rate,
    fmt_years,
    render_report,
    write_report,
)
from structurer.results import measures
from structurer.results.results import COLLATERAL
from structurer.valuation.quotes import average_life

DEALS = sorted((Path(__file__).resolve().parent.parent / "deals").glob("*.waterfall"))
SEQUENTIAL = next(p for p in DEALS if p.name == "sequential.waterfall")


def tier_of(deal, tranche):
    """The PAC/TAC tier a scheduled class belongs to."""
    return next(t for t in deal.tiers if tranche.index in t.classes)


class CoverTables(HTMLParser):
    """Collects the named cells (data-field) of every row of every cover table:
    {(scenario, class, field): text}, the text with runs of whitespace made one space.
    `wal` is the WAL cells: {(scenario, class): text}."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str, str], str] = {}
        self.rows: dict[str, list[str]] = {}  # scenario -> classes in table order
        self.scenario: str | None = None
        self.row: str | None = None
        self.field: str | None = None
        self.cell: list[str] | None = None

    @property
    def wal(self) -> dict[tuple[str, str], str]:
        return {(sc, row): text for (sc, row, field), text in self.cells.items() if field == "wal"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "cover" in (a.get("class") or "").split():
            self.scenario = a["data-scenario"]
            self.rows[self.scenario] = []
        elif tag == "tr" and self.scenario is not None:
            self.row = a.get("data-class")
            if self.row is not None:
                self.rows[self.scenario].append(self.row)
        elif tag == "td" and self.row is not None and a.get("data-field"):
            self.field = a["data-field"]
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            assert self.scenario is not None and self.row is not None and self.field is not None
            text = " ".join("".join(self.cell).split())
            self.cells[(self.scenario, self.row, self.field)] = text
            self.cell = None
            self.field = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.scenario = None


def cover(html: str) -> CoverTables:
    parser = CoverTables()
    parser.feed(html)
    return parser


def run_all(deal: structurer.Deal) -> structurer.Results:
    """The pricing speed and every named scenario of the deal, in one run."""
    speeds = ([deal.pricing] if deal.pricing else []) + list(deal.scenarios.values())
    return deal.run(*speeds)


@pytest.fixture(scope="module", params=DEALS, ids=lambda p: p.stem)
def rendered(request: pytest.FixtureRequest) -> tuple[structurer.Deal, structurer.Results, str]:
    deal = structurer.load(request.param)
    results = run_all(deal)
    decrement = deal.run(*deal.decrement) if deal.decrement else None
    return deal, results, render_report(results, decrement)


def test_example_deals_exist() -> None:
    assert len(DEALS) >= 3
    # The structured-class examples are among them, so each feature below is exercised.
    assert {"pac", "pac_tiers", "accrual", "floater", "io_po", "nas"} <= {p.stem for p in DEALS}


def test_renders_a_complete_document(rendered) -> None:
    deal, _, html = rendered
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    assert f"<h1>{deal.name}</h1>" in html
    for section in ("summary", "cover", "charts", "decrement", "tieout", "cashflows",
                    "assumptions", "source"):
        assert f'id="{section}"' in html


def test_every_issued_class_appears(rendered) -> None:
    deal, results, html = rendered
    parser = cover(html)
    expected = [t.name for t in deal.issued_classes] + [COLLATERAL]
    assert set(parser.rows) == set(results.scenarios)
    for label in results.scenarios:
        assert parser.rows[label] == expected  # the cover lists the issued classes, in order
    for tranche in deal.issued_classes:
        assert f'<td class="name">{tranche.name}</td>' in html
        assert f'<details data-class="{tranche.name}">' in html
        if not tranche.is_residual:
            assert f'<table class="decrement" data-class="{tranche.name}">' in html


def test_split_parent_is_not_offered(rendered) -> None:
    deal, results, html = rendered
    parents = [c for c in deal.classes if not c.issued]
    if deal.path and Path(deal.path).stem == "floater":
        assert [c.name for c in parents] == ["C"]
    parser = cover(html)
    for parent in parents:
        for label in results.scenarios:
            assert parent.name not in parser.rows[label]
        assert f'<details data-class="{parent.name}">' not in html
        assert f'<table class="decrement" data-class="{parent.name}">' not in html
        assert f"class {parent.name} ({fmt_money(parent.balance)} at {fmt_rate(parent.coupon)})" in html


def test_principal_and_interest_types_are_separate_columns(rendered) -> None:
    deal, results, html = rendered
    assert "<th>Principal<br>type</th>" in html
    assert "<th>Interest<br>type</th>" in html
    parser = cover(html)
    for s, label in enumerate(results.scenarios):
        summary = results.summary(s)
        for tranche in deal.issued_classes:
            # A scheduled class's principal type carries its band: "PAC (90-300 PSA)".
            band = f" ({band_text(tier_of(deal, tranche))})" if tranche.index in deal.schedules else ""
            assert parser.cells[(label, tranche.name, "principal_type")] == \
                summary.loc[tranche.name, "principal_type"] + band == tranche.principal_type + band
            assert parser.cells[(label, tranche.name, "interest_type")] == \
                summary.loc[tranche.name, "interest_type"] == tranche.interest_type


def test_notional_classes_are_marked(rendered) -> None:
    deal, results, html = rendered
    parser = cover(html)
    for s, label in enumerate(results.scenarios):
        summary = results.summary(s)
        for tranche in deal.issued_classes:
            cell = parser.cells[(label, tranche.name, "balance")]
            if tranche.is_residual:
                assert cell == "\u2014"
                continue
            balance = fmt_money(results.original_balance(tranche.name))
            assert fmt_money(summary.loc[tranche.name, "original_balance"]) == balance
            if tranche.is_notional:
                assert cell == f"{balance} (notional)"
            else:
                assert cell == balance
    for tranche in deal.issued_classes:
        if tranche.is_notional:
            start = html.index(f'<details data-class="{tranche.name}">')
            block = html[start:html.index("</details>", start)]
            assert "notional balance" in block
            assert "Beginning notional" in block and "Ending notional" in block


def test_floaters_show_formula_cap_floor_and_first_coupon(rendered) -> None:
    deal, results, html = rendered
    floaters = [t for t in deal.issued_classes if t.formula is not None]
    if deal.path and Path(deal.path).stem == "floater":
        assert {t.name for t in floaters} == {"FL", "IF"}
    if not floaters:
        assert 'id="floaters"' not in html
        return
    assert 'id="floaters"' in html
    parser = cover(html)
    for s, label in enumerate(results.scenarios):
        summary = results.summary(s)
        for tranche in floaters:
            f = tranche.formula
            first = float(results.arrays(tranche.name)["coupon"][s, 0])
            assert summary.loc[tranche.name, "coupon_formula"] == f.description
            assert summary.loc[tranche.name, "first_coupon"] == first
            assert parser.cells[(label, tranche.name, "coupon")] == (
                f"{f.description} cap {fmt_rate(f.cap)} \u00b7 floor {fmt_rate(f.floor)} "
                f"first period {fmt_rate(first)}")
    for tranche in floaters:
        start = html.index(f'<details data-class="{tranche.name}">')
        block = html[start:html.index("</details>", start)]
        assert tranche.formula.description in block
        assert ">Coupon</th>" in block  # the coupon of every period
        coupons = results.class_cashflows(tranche.name, 0)["coupon"]
        assert f'<td class="num">{fmt_rate(coupons.iloc[0])}</td>' in block


def test_floater_deal_first_coupons() -> None:
    """FLT-05 at its index paths: SOFR 4.30% in period 1, 8% and 1% in its named scenarios."""
    deal = structurer.load(next(p for p in DEALS if p.stem == "floater"))
    html = render_report(run_all(deal))
    parser = cover(html)
    shown = {label: parser.cells[(label, "FL", "coupon")].rsplit(" ", 1)[-1]
             for label in parser.rows}
    assert shown == {"165 PSA": "4.800%", "SOFR 8%": "8.500%", "SOFR 1%": "1.500%"}
    inverse = {label: parser.cells[(label, "IF", "coupon")].rsplit(" ", 1)[-1]
               for label in parser.rows}
    assert inverse == {"165 PSA": "15.600%", "SOFR 8%": "4.500%", "SOFR 1%": "25.500%"}
    assert "SOFR curve(1: 4.3%, 24: 3.8%, 60: 4%)" in html


def test_accrual_classes_show_their_accretion(rendered) -> None:
    deal, results, html = rendered
    summary = results.summary(0)
    for tranche in deal.issued_classes:
        start = html.index(f'<details data-class="{tranche.name}">')
        block = html[start:html.index("</details>", start)]
        accrued = results.class_cashflows(tranche.name, 0)["accrued"]
        if accrued.abs().sum() > 0:
            assert tranche.accrual
            assert ">Accrued</th>" in block
            assert f'<td class="num">{fmt_money(accrued.iloc[0])}</td>' in block
            assert f"{fmt_money(summary.loc[tranche.name, 'total_accrued'])} accreted" in block
        else:
            assert ">Accrued</th>" not in block
    if deal.path and Path(deal.path).stem == "accrual":
        assert summary.loc["Z", "total_accrued"] > 0
        assert "accreted" in html


def test_schedules_next_to_actual_balances(rendered) -> None:
    deal, results, html = rendered
    if not deal.schedules:
        assert 'id="schedules"' not in html
        return
    assert 'id="schedules"' in html
    section = html[html.index('id="schedules"'):html.index("</section>", html.index('id="schedules"'))]
    s = results.scenarios.index(deal.pricing.label)
    assert f"actual balance at {deal.pricing.label}, the pricing scenario" in section
    for index, schedule in deal.schedules.items():
        tranche = deal.classes[index]
        assert f'data-class="{tranche.name}">Class {tranche.name}' in section
        actual = results.arrays(tranche.name)["ending_balance"][s]
        for period in (12, 24, 36):
            cells = (f'<td class="center">{period}</td>')
            assert cells in section
            assert (f'<td class="num first">{fmt_money(schedule[period - 1])}</td>\n'
                    f'  <td class="num">{fmt_money(actual[period - 1])}</td>') in section
    if deal.path and Path(deal.path).stem == "pac":
        assert "Class P <span" in section and "Class S <span" not in section


def test_schedules_without_the_pricing_scenario() -> None:
    deal = structurer.load(next(p for p in DEALS if p.stem == "pac"))
    html = render_report(deal.run("300 PSA", "500 PSA"))
    assert "actual balance at 300 PSA, the first scenario of this run" in html


def test_wal_matches_results(rendered) -> None:
    deal, results, html = rendered
    parser = cover(html)
    names = [t.name for t in deal.issued_classes] + [COLLATERAL]
    assert len(parser.wal) == len(results.scenarios) * len(names)
    for s, label in enumerate(results.scenarios):
        for name in names:
            shown = parser.wal[(label, name)]
            if name != COLLATERAL and deal.tranche(name).is_residual:
                # The residual has no principal, so no average life (summary() gives NaN).
                assert math.isnan(results.summary(s).loc[name, "wal"])
                assert shown == "\u2014"
                continue
            if name != COLLATERAL and deal.tranche(name).is_notional:
                # A notional class shows the WAL of its notional balance, marked so: the
                # average life its pricing uses (summary() has NaN, no principal of its own).
                assert math.isnan(results.summary(s).loc[name, "wal"])
                assert shown == f"{average_life(results, name)[s]:.2f} (notional)"
                continue
            wal = float(results.wal(name)[s])
            if math.isnan(wal):
                # A class written off by losses before it was paid any principal has no WAL.
                assert results.writedowns()[s, deal.tranche(name).index].sum() > 0
                assert shown == "\u2014"
                continue
            assert shown == f"{wal:.2f}"
            assert abs(float(shown) - wal) <= 0.005 + 1e-12


def test_cover_table_figures(rendered) -> None:
    deal, results, html = rendered
    parser = cover(html)
    label = results.scenarios[0]
    summary = results.summary(0)
    for tranche in deal.issued_classes:
        if tranche.is_residual:
            continue
        assert fmt_money(summary.loc[tranche.name, "original_balance"]) in \
            parser.cells[(label, tranche.name, "balance")]
        if tranche.formula is None:
            assert parser.cells[(label, tranche.name, "coupon")] == \
                fmt_rate(summary.loc[tranche.name, "coupon"])
        else:
            assert parser.cells[(label, tranche.name, "coupon")].endswith(
                fmt_rate(summary.loc[tranche.name, "first_coupon"]))
        assert fmt_date(summary.loc[tranche.name, "final_date"]) in html
        first = summary.loc[tranche.name, "first_principal_period"]
        last = summary.loc[tranche.name, "last_principal_period"]
        if tranche.is_notional:
            assert first == last == 0  # no principal: the window shows a dash
            continue
        assert f"{first}&ndash;{last}" in html
        assert fmt_month(summary.loc[tranche.name, "first_principal_date"]) in html


def test_deal_summary(rendered) -> None:
    deal, _, html = rendered
    stats = measures.collateral_stats(deal.pools)
    assert f"<dt>WAC</dt><dd>{fmt_rate(stats['wac'])}</dd>" in html
    assert f"<dt>Net coupon</dt><dd>{fmt_rate(stats['net_coupon'])}</dd>" in html
    assert f"<dt>Number of pools</dt><dd>{len(deal.pools)}</dd>" in html
    assert f"<dt>Settlement date</dt><dd>{deal.settle.isoformat()}</dd>" in html
    for pool in deal.pools:
        assert f'<td class="name">{pool.name}</td>' in html


def test_decrement_tables_come_from_results(rendered) -> None:
    deal, _, html = rendered
    decrement = deal.run(*deal.decrement)
    for tranche in deal.issued_classes:
        if tranche.is_residual:
            continue
        table = decrement.decrement_table(tranche.name)
        start = html.index(f'<table class="decrement" data-class="{tranche.name}">')
        block = html[start:html.index("</table>", start)]
        cells = re.findall(r'<td class="num">([^<]*)</td>', block)
        expected = [list(row) for row in table.itertuples(index=False)]
        if tranche.is_notional:
            # The WAL row of a notional class is its notional balance's (Results gives '-').
            assert expected[-1] == ["-"] * len(table.columns)
            expected[-1] = [f"{v:.2f}" for v in average_life(decrement, tranche.name)]
            assert '<th scope="row">WAL (notional)</th>' in block
        assert cells == [cell for row in expected for cell in row]


def test_cash_flow_tables_stop_at_the_last_distribution(rendered) -> None:
    deal, results, html = rendered
    final = int(results.final_period(COLLATERAL)[0])
    assert f"{final} periods, last" in html
    assert html.count("<details") == len(deal.issued_classes) + 1
    assert "<details open" not in html
    for tranche in deal.issued_classes:
        rows = html.count(f'<details data-class="{tranche.name}">')
        assert rows == 1


def test_no_external_resources(rendered) -> None:
    _, _, html = rendered
    # Strictly no URL, not even the SVG namespace name http://www.w3.org/2000/svg that
    # matplotlib writes: the report drops it (report.inline_svg), since the HTML parser puts an
    # inline <svg> in the SVG namespace by itself. So nothing here even looks like a fetch.
    assert "http://" not in html
    assert "https://" not in html
    assert "xmlns" not in html
    assert not re.search(r"\b(?:https?|ftp|file|data):", html, re.IGNORECASE)
    assert "//" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S).replace("<!--", "")
    # The only url() and href are references inside the page: chart clip paths and markers,
    # and the contents' anchors.
    assert re.findall(r"url\((?!#)", html) == []
    assert re.findall(r'href="(?!#)', html) == []
    assert "<link" not in html
    assert "<script" not in html
    assert not re.search(r"\bsrc\s*=", html)
    assert "@import" not in html
    assert "<style>" in html
    assert "@media print" in html


def test_source_with_line_numbers(rendered) -> None:
    deal, _, html = rendered
    lines = deal.source.splitlines()
    assert f'<td class="ln">{len(lines)}</td>' in html
    assert f'<td class="ln">{len(lines) + 1}</td>' not in html
    assert html.count('<td class="ln">') == len(lines)


def test_deal_name_is_escaped() -> None:
    source = SEQUENTIAL.read_text().replace('"FJF-01"', '"<script>alert(1)</script> & co"')
    deal = structurer.loads(source)
    assert deal.name == "<script>alert(1)</script> & co"
    results = deal.run()
    html = render_report(results, deal.run(*deal.decrement))
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_pool_name_and_source_are_escaped() -> None:
    source = SEQUENTIAL.read_text().replace('"FN 7.5 rep-line"', '"<b>pool</b>"')
    deal = structurer.loads(source)
    html = render_report(deal.run())
    assert "<b>pool</b>" not in html
    assert "&lt;b&gt;pool&lt;/b&gt;" in html


def test_without_decrement_run() -> None:
    deal = structurer.load(SEQUENTIAL)
    html = render_report(deal.run("100 PSA", "300 PSA"))
    assert "No decrement-speed run was supplied" in html
    assert '<table class="decrement"' not in html
    assert html.count('<table class="cover"') == 2
    # 165 PSA is the pricing speed; neither run scenario is tagged as it.
    assert "Pricing speed</span>" not in html


def test_pricing_scenario_is_tagged() -> None:
    deal = structurer.load(SEQUENTIAL)
    html = render_report(deal.run("100 PSA", "165 PSA"))
    assert html.count('<span class="tag">Pricing speed</span>') == 1


def test_decrement_run_of_another_deal_is_refused() -> None:
    one = structurer.load(SEQUENTIAL)
    other = structurer.load(next(p for p in DEALS if p != SEQUENTIAL))
    with pytest.raises(ValueError, match="decrement run"):
        render_report(one.run(), other.run(*other.decrement))


def test_write_report(tmp_path: Path) -> None:
    deal = structurer.load(SEQUENTIAL)
    path = tmp_path / "out" / "report.html"
    out = write_report(deal.run(), path, decrement=deal.run(*deal.decrement))
    assert out == path
    assert isinstance(out, Path) and out.exists()
    text = out.read_text(encoding="utf-8")
    assert "FJF-01" in text and "\u2014" in text  # UTF-8 written and read back


def test_environment_is_autoescaped_package_templates() -> None:
    env = environment()
    assert isinstance(env.loader, jinja2.PackageLoader)
    assert env.autoescape is True
    assert {"base.html.j2", "report.html.j2", "macros.html.j2"} <= set(env.list_templates())


@pytest.mark.parametrize(("value", "text"), [
    (194_500_000.0, "194,500,000"),
    (1_234_567.5, "1,234,568"),
    (-0.3, "0"),
    (3.7e-7, "0"),
    (float("nan"), "\u2014"),
    (None, "\u2014"),
])
def test_fmt_money(value, text) -> None:
    assert fmt_money(value) == text


def test_other_formats() -> None:
    import datetime as dt

    assert fmt_rate(0.075) == "7.500%"
    assert fmt_rate(0.08125) == "8.125%"
    assert fmt_rate(-1e-12) == "0.000%"
    assert fmt_years(3.4861) == "3.49"
    assert fmt_years(float("nan")) == "\u2014"
    assert fmt_date(dt.date(2027, 2, 25)) == "2027-02-25"
    assert fmt_month(dt.date(2027, 2, 25)) == "Feb 2027"
    assert fmt_date(None) == "\u2014"


# ---- charts


def expected_figures(deal: structurer.Deal) -> list[str]:
    """The charts a report of the deal with its decrement run draws, by kind."""
    kinds = ["balances", "principal"]
    if len(deal.decrement) > 1:
        kinds.append("wal")
    kinds += ["schedule"] * sum(1 for tier in deal.tiers for i in tier.classes if i in deal.schedules)
    return kinds


def test_charts_are_inline_svg(rendered) -> None:
    deal, results, html = rendered
    section = html[html.index('id="charts"'):html.index("</section>", html.index('id="charts"'))]
    kinds = re.findall(r'<figure class="chart [a-z]+" id="fig\d+" data-chart="([a-z]+)">', section)
    assert kinds == expected_figures(deal)
    assert section.count("<svg ") == len(kinds) == html.count("<svg ")
    assert section.count("</svg>") == len(kinds)
    assert "<figcaption><strong>Figure 1.</strong> Class balances at" in section
    s = results.scenarios.index(deal.pricing.label)
    assert f"Class balances at {results.scenarios[s]}, the pricing scenario" in section
    # matplotlib's own text is text (svg.fonttype none): the class names are in the legend.
    for tranche in deal.issued_classes:
        if not (tranche.is_residual or tranche.is_notional):
            assert f">{tranche.name}</text>" in section


def test_chart_ids_are_unique_and_references_resolve(rendered) -> None:
    _, _, html = rendered
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r'url\(#([^)]+)\)', html)) | set(re.findall(r'href="#([^"]+)"', html))
    assert refs and refs <= set(ids)


def test_schedule_charts_at_the_band_speeds() -> None:
    deal = structurer.load(next(p for p in DEALS if p.stem == "pac_tiers"))
    html = render_report(deal.run(), deal.run(*deal.decrement))
    for name, schedule in (("PA", "PAC(100 PSA, 250 PSA)"), ("P2", "PAC II(130 PSA, 200 PSA)"),
                           ("T", "TAC(200 PSA)")):
        assert f"Class {name} against its {schedule} schedule." in html
    assert "balance at the band speeds, 100 PSA and 250 PSA (dashed)" in html
    assert "balance at the TAC speed, 200 PSA (dashed)" in html
    assert "support classes\u2019 combined balance" in html


def test_charts_without_a_decrement_run() -> None:
    deal = structurer.load(SEQUENTIAL)
    html = render_report(deal.run("100 PSA", "300 PSA"))
    assert re.findall(r'data-chart="([a-z]+)"', html) == ["balances", "principal"]
    assert "Class balances at 100 PSA." in html  # the first scenario: pricing was not run


def test_chart_text_is_escaped_and_literal() -> None:
    """A scenario's name reaches the charts' titles: it is escaped, and a '$' is a dollar sign
    (matplotlib would read '$...$' as mathtext, and fail on what it cannot parse)."""
    source = SEQUENTIAL.read_text().replace('scenario "slow"', 'scenario "<b>up</b> $\\foo{ $5"')
    deal = structurer.loads(source)
    html = render_report(deal.run("<b>up</b> $\\foo{ $5"))
    assert "<b>up</b>" not in html
    assert "Class balances, &lt;b&gt;up&lt;/b&gt; $\\foo{ $5</text>" in html


def test_inline_svg() -> None:
    from structurer.present.report import inline_svg

    svg = ('<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" viewBox="0 0 1 1" '
           'xmlns="http://www.w3.org/2000/svg" version="1.1">\n<!-- a comment -->\n'
           '<defs><style type="text/css">*{stroke-linecap: butt}</style></defs>\n'
           '<g id="figure_1"><clipPath id="p1"><rect/></clipPath>'
           '<path clip-path="url(#p1)"/><use xlink:href="#m1"/></g></svg>')
    out = str(inline_svg(svg, "fig3", 'A "chart" & <more>'))
    assert out.startswith('<svg class="chart" role="img" '
                          'aria-label="A &#34;chart&#34; &amp; &lt;more&gt;" width="10pt"')
    assert "http" not in out and "<style" not in out and "comment" not in out
    assert 'id="fig3-figure_1"' in out and 'id="fig3-p1"' in out
    assert 'clip-path="url(#fig3-p1)"' in out and 'xlink:href="#fig3-m1"' in out


# ---- tie-out


def test_tieout_section(rendered) -> None:
    deal, _, html = rendered
    from structurer.structuring.tieout import tieout

    result = tieout(deal)
    start = html.index('id="tieout"')
    section = html[start:html.index("</section>", start)]
    assert html.count('<tr data-passed="') == len(result.checks)
    for check in result.checks:
        assert f'<td class="check">{escape(check.name)}</td>' in section
        for line in check.detail.split("; "):
            assert str(escape(line)) in section
    assert result.passed  # the example deals tie out
    assert f"All {len(result.checks)} checks pass" in section
    assert section.count('<span class="result pass">Pass</span>') == len(result.checks)
    assert f"Tie-out:\n    {len(result.checks)} of {len(result.checks)} checks pass" in html
    assert f"over {', '.join(result.scenarios)}." in section


def test_tieout_failure_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    from structurer.structuring import tieout as tieout_module

    real = tieout_module.tieout

    def failing(deal):
        result = real(deal)
        checks = [tieout_module.Check("made to fail", False, "one; two")] + result.checks
        return tieout_module.TieOut(result.deal, result.scenarios, checks)

    monkeypatch.setattr(tieout_module, "tieout", failing)
    deal = structurer.load(SEQUENTIAL)
    html = render_report(deal.run())
    assert '<span class="result fail">FAIL</span>' in html
    assert f"1 of {html.count('<tr data-passed=')} checks fail" in html
    assert '<a class="badge fail" href="#tieout">' in html
    assert '<td class="detail">one<br>two</td>' in html


# ---- pricing

PRICED_FLOATER = '''
analytics {
  curve "UST" (1: 4.10%, 2: 4.00%, 5: 4.00%, 10: 4.20%, 30: 4.50%)
  price A, B at 99-16+
  price IF at 80-00
  yield D at 7.25%
  spread FL at 150bp
  table prices(98, 99-16, 101) speeds(100, 165, 300 PSA)
}
'''


def deal_file(stem: str) -> Path:
    return next(p for p in DEALS if p.stem == stem)


def quote_cells(html: str) -> dict[tuple[str, str, str], str]:
    """{(scenario, class, field): text} of the pricing tables."""
    cells = {}
    for table in re.finditer(r'<table class="quotes" data-scenario="([^"]*)">(.*?)</table>', html, re.S):
        for row in re.finditer(r'<tr data-class="([^"]+)">(.*?)</tr>', table.group(2), re.S):
            for field, text in re.findall(r'data-field="([a-z_0-9]+)">([^<]*)', row.group(2)):
                cells[(table.group(1), row.group(1), field)] = text
    return cells


def test_pricing_section_only_with_quotes(rendered) -> None:
    deal, _, html = rendered
    priced = bool(deal.analytics.quotes or deal.analytics.tables)
    assert ('id="pricing"' in html) == priced
    assert ('href="#pricing"' in html) == priced


def test_pricing_from_the_analytics_block() -> None:
    from structurer.valuation import quotes as valuation

    deal = structurer.loads(deal_file("floater").read_text() + PRICED_FLOATER, "priced.waterfall")
    results = run_all(deal)
    html = render_report(results, deal.run(*deal.decrement))
    assert 'id="pricing"' in html and 'href="#pricing"' in html
    quotes = valuation.quote_classes(results, list(deal.analytics.quotes), deal.analytics.curve)
    cells = quote_cells(html)
    assert {k[0] for k in cells} == set(results.scenarios)
    for s, label in enumerate(results.scenarios):
        for name, q in quotes.items():
            row = q.row(s)
            assert cells[(label, name, "price_32nds")] == row["price_32nds"]
            assert cells[(label, name, "price")] == f"{row['price']:.4f}"
            assert cells[(label, name, "yield")] == f"{row['yield']:.3f}"
            assert cells[(label, name, "wal")] == f"{row['wal']:.2f}"
            assert cells[(label, name, "modified_duration")] == f"{row['modified_duration']:.2f}"
            assert cells[(label, name, "effective_duration")] == f"{row['effective_duration']:.2f}"
            assert cells[(label, name, "z_spread_bp")] == f"{row['z_spread_bp']:,.0f}"
    assert cells[("165 PSA", "D", "yield")] == "7.250"
    assert cells[("165 PSA", "FL", "spread_bp")] == "150"
    assert '<td class="basis">price 99-16+</td>' in html
    assert '<td class="basis">spread 150bp</td>' in html
    # A price/yield table per class, cells as valuation computes them.
    for tranche in deal.issued_classes:
        if tranche.is_residual:
            continue
        frame = valuation.price_yield_table(deal, tranche.name, [98, 99.5, 101],
                                            list(deal.analytics.tables[0].speeds))
        start = html.index(f'<table class="grid price-yield" data-class="{tranche.name}">')
        block = html[start:html.index("</table>", start)]
        assert f"<th scope=\"row\">99-16</th>\n  <td class=\"num\">{frame.iloc[1, 0]:.3f}</td>" in block
        assert "Mod. duration at 99-16" in block and "Principal window" in block
    # The inverse floater has a quote: its yield by SOFR level (4.30% at period 1, +/-100, 200bp).
    start = html.index('<table class="grid index" data-class="IF">')
    block = html[start:html.index("</table>", start)]
    levels = re.findall(r'<th scope="row">([^<]+)</th>', block)
    assert levels == ["SOFR 2.3%", "SOFR 3.3%", "SOFR 4.3%", "SOFR 5.3%", "SOFR 6.3%"]
    frame = valuation.index_yield_table(deal, "IF", 80.0, list(deal.decrement), "SOFR",
                                        [0.023, 0.033, 0.043, 0.053, 0.063])
    shown = re.findall(r'<td class="num">([^<]+)</td>', block)
    assert shown == [f"{v:.3f}" for v in frame.to_numpy().ravel()]
    assert '<table class="grid index" data-class="FL">' not in html  # not an IO, PO or inverse


def test_pricing_from_given_quotes_without_an_index() -> None:
    """Quotes passed in (as the CLI does) replace the analytics block; an IO or PO in a deal with
    no index gets its yield by speed alone."""
    from structurer.model import QuoteSpec
    from structurer.valuation import quotes as valuation

    deal = structurer.load(deal_file("io_po"))
    results = deal.run()
    specs = [QuoteSpec("price", "PO", 72.5), QuoteSpec("price", "AI", 4.25),
             QuoteSpec("yield", "A", 0.0575)]
    quotes = valuation.quote_classes(results, specs, None)
    html = render_report(results, deal.run(*deal.decrement), quotes, specs)
    cells = quote_cells(html)
    assert {k[1] for k in cells} == {"PO", "A", "AI"}
    assert cells[("200 PSA", "PO", "price_32nds")] == "72-16"
    assert cells[("200 PSA", "A", "yield")] == "5.750"
    assert "Spread" not in html.split('id="pricing"')[1].split("</section>")[0]  # no curve
    for name, price in (("PO", "72-16"), ("AI", "4-08")):
        start = html.index(f'<table class="grid index" data-class="{name}">')
        block = html[start:html.index("</table>", start)]
        assert f"yield (BEY %) at {price} by speed</caption>" in block
        price_at_pricing = float(quotes[name].price[0])
        assert price_at_pricing == {"PO": 72.5, "AI": 4.25}[name]
        frame = valuation.price_yield_table(deal, name, [price_at_pricing], list(deal.decrement))
        first = re.findall(r'<td class="num">([^<]+)</td>', block)[:len(deal.decrement)]
        assert first == [f"{v:.3f}" for v in frame.iloc[0]]
    assert "The deal has no index, so the yield moves with the speed alone." in html
    assert '<table class="grid price-yield"' not in html  # no analytics tables


def test_cli_report_carries_the_command_line_quotes(tmp_path: Path) -> None:
    from structurer import cli

    out = tmp_path / "pac.html"
    code = cli.main([str(deal_file("pac")), "--report", str(out), "--price", "P=99-16",
                     "--price", "PI=4-00"])
    assert code == 0
    html = out.read_text(encoding="utf-8")
    cells = quote_cells(html)
    assert cells[("165 PSA", "P", "price_32nds")] == "99-16"
    assert cells[("165 PSA", "PI", "price_32nds")] == "4-00"
    assert '<table class="grid index" data-class="PI">' in html  # an IO: yield by speed
    assert '<table class="grid index" data-class="P">' not in html


# ---- notebook views


def test_results_repr_html(rendered) -> None:
    deal, results, _ = rendered
    html = results._repr_html_()
    assert html.startswith('<div class="structurer-nb">') and html.rstrip().endswith("</div>")
    assert "<html" not in html and "<script" not in html
    parser = cover(html)
    assert list(parser.rows) == results.scenarios
    for s, label in enumerate(results.scenarios):
        assert parser.rows[label] == [t.name for t in deal.issued_classes] + [COLLATERAL]
        for tranche in deal.issued_classes:
            if tranche.is_notional:  # the notional balance's WAL, marked so
                shown = f"{fmt_years(average_life(results, tranche.name)[s])} (notional)"
            else:
                shown = fmt_years(results.wal(tranche.name)[s])
            assert parser.wal[(label, tranche.name)] == shown
    stats = measures.collateral_stats(deal.pools)
    assert f"Collateral ${fmt_money(stats['balance'])} &middot;\n{fmt_rate(stats['net_coupon'])} net" in html


def test_deal_repr_html(rendered) -> None:
    deal, _, _ = rendered
    html = deal._repr_html_()
    assert html.startswith('<div class="structurer-nb">')
    assert f'<span class="nb-name">{deal.name}</span>' in html
    assert f"<dt>Settlement date</dt><dd>{deal.settle.isoformat()}</dd>" in html
    assert '<table class="pools">' in html
    parser = cover(html)
    assert list(parser.rows) == [deal.pricing.label]
    assert parser.rows[deal.pricing.label] == [t.name for t in deal.issued_classes] + [COLLATERAL]
    assert '<span class="tag">pricing speed</span>' in html


def test_repr_html_of_a_grid_is_cut_short() -> None:
    from structurer.present.report import NOTEBOOK_SCENARIOS

    deal = structurer.load(SEQUENTIAL)
    results = deal.run(*[f"{10 * k} PSA" for k in range(NOTEBOOK_SCENARIOS + 3)])
    html = results._repr_html_()
    assert html.count('<table class="cover"') == NOTEBOOK_SCENARIOS
    assert "and 3 more scenarios" in html


def test_repr_html_escapes() -> None:
    source = SEQUENTIAL.read_text().replace('"FJF-01"', '"<script>alert(1)</script> & co"')
    deal = structurer.loads(source)
    for html in (deal._repr_html_(), deal.run()._repr_html_()):
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_deal_repr_html_without_speeds() -> None:
    source = re.sub(r"scenarios \{.*?\n\}", "", SEQUENTIAL.read_text(), flags=re.S)
    deal = structurer.loads(source)
    assert deal.pricing is None and not deal.decrement
    html = deal._repr_html_()
    assert '<table class="cover"' not in html
    assert "names no pricing or decrement speed" in html
