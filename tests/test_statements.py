"""Distribution statements and factor files: the statement lines are the run's cash flows, the
factor is the ending balance over the original to 8 decimals, per-1,000 figures scale by the
original face, record dates follow the documented rule, and the files and CLI write them."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.cli import main
from structurer.errors import InputError
from structurer.present import statements as writers
from structurer.results import statements

DEALS = Path(__file__).resolve().parent.parent / "deals"


@pytest.fixture(scope="module")
def run() -> structurer.Results:
    deal = structurer.load(DEALS / "accrual.waterfall")  # a Z class: accretion on the statement
    return deal.run(deal.pricing, *deal.decrement[:1])


def test_record_date_is_last_business_day_of_previous_month() -> None:
    assert statements.record_date(dt.date(2027, 2, 25)) == dt.date(2027, 1, 29)  # 31 Jan: Sunday
    assert statements.record_date(dt.date(2027, 4, 25)) == dt.date(2027, 3, 31)  # a Wednesday
    assert statements.record_date(dt.date(2027, 6, 25)) == dt.date(2027, 5, 31)  # a Monday
    assert statements.record_date(dt.date(2026, 9, 25)) == dt.date(2026, 8, 31)
    assert statements.record_date(dt.date(2026, 3, 25)) == dt.date(2026, 2, 27)  # 28 Feb: Saturday


def test_statement_lines_are_the_runs_cash_flows(run: structurer.Results) -> None:
    st = statements.statement(run)
    assert st.scenario == run.deal.pricing.label
    assert "zero" in st.writedown_source
    names = [t.name for t in run.deal.issued_classes]
    assert [line.class_name for line in st.lines] == [n for n in names for _ in range(run.periods)]
    s = run.scenario_index(run.deal.pricing.label)
    for name in names:
        lines = st.for_class(name)
        a = run.arrays(name)
        for key in ("beginning_balance", "interest", "principal", "accrued", "ending_balance"):
            np.testing.assert_array_equal([getattr(line, key) for line in lines], a[key][s])
        assert [line.payment_date for line in lines] == run.dates
        assert all(line.writedown == 0.0 for line in lines)
        assert all(line.distribution == line.interest + line.principal for line in lines)


def test_factor_and_per_1000(run: structurer.Results) -> None:
    st = statements.statement(run)
    z = next(t.name for t in run.deal.issued_classes if t.accrual)
    for name in {line.class_name for line in st.lines}:
        tranche = run.deal.tranche(name)
        for line in st.for_class(name):
            if tranche.is_residual:
                assert line.factor is None and line.per_1000 is None
                continue
            original = run.original_balance(name)
            assert line.factor == round(line.ending_balance / original, 8)
            assert line.per_1000["interest"] == pytest.approx(line.interest / original * 1000, rel=1e-15)
            assert line.per_1000["principal"] * original / 1000 == pytest.approx(line.principal, abs=1e-6)
            # The statement reconciles: end = begin - principal + accretion - write-down.
            assert line.ending_balance == pytest.approx(
                line.beginning_balance - line.principal + line.accrued - line.writedown, abs=1e-4)
    z_lines = st.for_class(z)
    assert z_lines[0].accrued > 0 and z_lines[0].factor > 1.0  # a Z class's factor grows while it accretes
    rows = statements.factors(run)
    assert all(len(r["factor"].split(".")[1]) == 8 for r in rows)
    assert {r["class"] for r in rows} == {t.name for t in run.deal.issued_classes if not t.is_residual}


def test_one_period_and_another_scenario(run: structurer.Results) -> None:
    one = statements.statement(run, period=7)
    assert {line.period for line in one.lines} == {7}
    other = statements.statement(run, scenario=1, period=7)
    assert other.scenario == run.scenarios[1]
    with pytest.raises(InputError, match="no period 0"):
        statements.statement(run, period=0)
    with pytest.raises(InputError, match="no period"):
        statements.statement(run, period=run.periods + 1)


def test_writedown_is_read_when_the_run_has_it(run: structurer.Results,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    name = run.deal.issued_classes[0].name
    base = dict(run.arrays(name))
    base["writedown"] = np.full_like(base["interest"], 12.5)
    monkeypatch.setattr(run, "arrays", lambda n: base if n == name else type(run).arrays(run, n))
    st = statements.statement(run, classes=[name])
    assert all(line.writedown == 12.5 for line in st.lines)
    assert st.writedown_source == "the run's writedown array"


def test_files(run: structurer.Results, tmp_path: Path) -> None:
    st = statements.statement(run)
    with writers.write_statement(st, tmp_path / "s.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(st.lines)
    assert float(rows[0]["interest"]) == st.lines[0].interest  # full precision, not rounded
    assert rows[0]["factor"] == f"{st.lines[0].factor:.8f}"
    doc = json.loads(writers.write_statement(st, tmp_path / "s.json").read_text())
    assert doc["scenario"] == st.scenario and len(doc["lines"]) == len(st.lines)
    assert doc["lines"][3]["principal_per_1000"] == st.lines[3].per_1000["principal"]
    html = writers.write_statement(st, tmp_path / "s.html").read_text()
    assert "per 1,000" in html and f"{st.lines[0].factor:.8f}" in html and "Class " in html
    factor_file = writers.write_factors(statements.factors(run), tmp_path / "f.csv")
    factor_rows = list(csv.DictReader(factor_file.open()))
    assert factor_rows == [{**r, "period": str(r["period"])} for r in statements.factors(run)]
    with pytest.raises(InputError, match="extension"):
        writers.write_statement(st, tmp_path / "s.txt")


def test_cli_statement_and_factors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = DEALS / "sequential.waterfall"
    out, factors = tmp_path / "st.csv", tmp_path / "f.json"
    assert main([str(deal), "--no-report", "--statement", str(out), "--period", "2",
                 "--factors", str(factors)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["period"] for r in rows} == {"2"}
    loaded = structurer.load(deal)
    results = loaded.run(loaded.pricing)
    assert float(rows[0]["principal"]) == results.arrays(rows[0]["class"])["principal"][0, 1]
    assert json.loads(factors.read_text())["factors"] == statements.factors(results)
    assert main([str(deal), "--no-report", "--statement", str(tmp_path / "x.txt")]) == 2
    assert main([str(deal), "--no-report", "--period", "2"]) == 2
    assert main([str(deal), "--no-report", "--statement", str(tmp_path / "y.csv"), "--period", "9999"]) == 1
    assert "no period 9999" in capsys.readouterr().err
