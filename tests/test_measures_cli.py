"""The measures of issue 14 as a user meets them: the analytics block's margin, mortgage yield
and horizon lines, the command line's --margin, --mortgage-yield, --horizon, and --json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import structurer as st
from structurer import valuation
from structurer.analysis.plan import report_plan
from structurer.cli import main
from structurer.present.report import render
from structurer.valuation import yields as pricing

ROOT = Path(__file__).resolve().parent.parent
FLOATER = (ROOT / "deals" / "floater.waterfall").read_text(encoding="utf-8")
ANALYTICS = """
analytics {
  curve "UST" (1: 4.1%, 2: 4.0%, 5: 4.0%, 10: 4.2%, 30: 4.5%)
  margin FL at 45bp
  mortgage yield A, B at 6.2%
  price IF at 60-00
  horizon A, FL 12 months reinvest at 4% sell at yield 6%
  horizon B 6 months reinvest 3.5% sell at price 101-08
  horizon A 24 months reinvest 4% sell at spread 120bp
}
"""


@pytest.fixture(scope="module")
def deal() -> st.Deal:
    return st.loads(FLOATER + ANALYTICS, "flt.waterfall")


def test_the_analytics_block_reads_margins_mortgage_yields_and_horizons(deal: st.Deal) -> None:
    kinds = {q.name: (q.kind, q.value) for q in deal.analytics.quotes}
    assert kinds["FL"] == ("margin", pytest.approx(0.0045))
    assert kinds["A"] == ("mortgage yield", pytest.approx(0.062))
    assert [(h.classes, h.months, h.sell) for h in deal.analytics.horizons] == [
        (("A", "FL"), 12, "yield"), (("B",), 6, "price"), (("A",), 24, "spread")]
    assert deal.analytics.horizons[1].value == pytest.approx(101.25)


def test_a_quote_from_a_margin_or_a_mortgage_yield_gives_it_back(deal: st.Deal) -> None:
    results = deal.run("165 PSA", "300 PSA")
    quotes = valuation.quote_classes(results, list(deal.analytics.quotes), deal.analytics.curve)
    np.testing.assert_allclose(quotes["FL"].floating.margin_mm, 0.0045, atol=1e-10)
    np.testing.assert_allclose(quotes["A"].mortgage_yield, 0.062, atol=1e-12)
    np.testing.assert_allclose(quotes["A"].yield_, pricing.bey_from_mortgage(0.062), atol=1e-12)
    # Repriced from the price the margin gave, the margin is the same.
    again = valuation.quote(results, "FL", price=float(quotes["FL"].price[0]))
    assert again.floating.margin_mm[0] == pytest.approx(0.0045, abs=1e-10)


@pytest.mark.parametrize("line, message", [
    ("margin A at 45bp", "class A has a fixed coupon"),
    ("horizon A 12 months reinvest 4% sell at yield 6%", "class A has a horizon but no price"),
    ("price A at 100\n  horizon A 12 months reinvest 4% sell at spread 100bp", "needs a curve"),
    ("price A at 100\n  horizon A 0 months reinvest 4% sell at yield 6%", "at least 1 month"),
])
def test_what_the_block_refuses(line: str, message: str) -> None:
    with pytest.raises(st.DealErrors) as exc:
        st.loads(FLOATER + "\nanalytics {\n  " + line + "\n}\n", "bad.waterfall")
    assert message in str(exc.value)


def test_the_report_shows_the_measures(deal: st.Deal) -> None:
    html = render(report_plan(deal.run("165 PSA")))
    for text in ("Floating-rate measures (SIFMA SF-52 to SF-54)", "Discount margin", "Yield<br>(mortgage %)",
                 "Total return (SIFMA SF-50/51)", "sold at a price of 101-08", "margin 45bp (money-market)"):
        assert text in html


def test_cli_margin_mortgage_yield_and_horizon_in_json(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "floater.waterfall"
    path.write_text(FLOATER, encoding="utf-8")
    code = main([str(path), "--psa", "100,165", "--margin", "FL=40", "--mortgage-yield", "A=6%",
                 "--horizon", "12", "--reinvest", "4%", "--sell", "yield=6%", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    fl = out["scenarios"][1]["classes"]["FL"]
    assert fl["discount_margin_mm_bp"] == pytest.approx(40.0, abs=1e-6)
    assert out["scenarios"][0]["classes"]["A"]["mortgage_yield"] == pytest.approx(6.0)
    total = out["scenarios"][0]["classes"]["A"]["total_return"][0]
    assert total["months"] == 12 and total["sell"] == "yield" and total["sell_at"] == pytest.approx(6.0)
    assert total["horizon_value"] == pytest.approx(total["cash_received"] + total["reinvestment_income"]
                                                   + total["sale_value"], abs=1e-3)


def test_cli_prints_the_tables_and_refuses_what_does_not_fit(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "floater.waterfall"
    path.write_text(FLOATER, encoding="utf-8")
    assert main([str(path), "--price", "99-16", "--horizon", "6", "--sell", "price=100", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "floating-rate measures" in out and "total return: 6 months" in out and "Mtg yield" in out
    assert main([str(path), "--margin", "A=40", "--no-report"]) == 2
    assert "class A has a fixed coupon" in capsys.readouterr().err
    assert main([str(path), "--horizon", "12", "--sell", "yield=6%", "--no-report"]) == 2
    assert "--horizon needs the classes priced" in capsys.readouterr().err
    assert main([str(path), "--price", "100", "--horizon", "12", "--no-report"]) == 2
    assert "--horizon needs --sell" in capsys.readouterr().err
    assert main([str(path), "--price", "100", "--horizon", "12", "--sell", "bogus", "--no-report"]) == 2
    assert "write --sell yield=6.5%" in capsys.readouterr().err
