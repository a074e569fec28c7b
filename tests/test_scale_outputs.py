"""Large runs on the terminal and in the exports: the summary just under and just over the budget,
scenario lookups, the streamed cash-flow files against the writer they replace, and the workbook's
summarised sheets within Excel's rows."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

import structurer
from structurer.analysis import budget
from structurer.cli import main, wal_columns
from structurer.errors import InputError
from structurer.model.prepayment import Prepayment
from structurer.present import exports, xlsx
from structurer.results.results import COLLATERAL

DEALS = Path(__file__).resolve().parent.parent / "deals"


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def _speeds(count: int) -> str:
    return ",".join(str(5 * k) for k in range(count))


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    """A budget of 3 scenarios, so that a run just over it is quick to make."""
    monkeypatch.setattr(budget, "SCENARIOS_LISTED", 3)
    return 3


# ---- the terminal


def test_up_to_the_budget_every_scenario_has_its_cover_table(small_budget, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    code, out = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(small_budget), "--no-report")
    assert code == 0
    for k in range(small_budget):
        assert f"\n{5 * k} PSA  (collateral WAL " in out
    assert "WAL (years) by scenario" not in out and "left out" not in out


def test_over_the_budget_one_cover_table_the_wals_and_their_distribution(small_budget, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    deal = structurer.load(DEALS / "sequential.waterfall")
    count = small_budget + 2
    code, out = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(count) + ",165", "--no-report")
    assert code == 0
    # The pricing scenario (165 PSA, last here) in full, and no other cover table.
    assert "\n165 PSA  (collateral WAL " in out and "\n0 PSA  (collateral WAL" not in out
    total = count + 1
    assert f"WAL (years) by scenario: the first {small_budget} of {total} scenarios, then all {total}" in out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in out.splitlines() if line.startswith("│")}
    listed = [k for k in rows if k.endswith(" PSA") and k.split()[0].isdigit()]
    assert listed == [f"{5 * k} PSA" for k in range(small_budget)]  # the first `small_budget` only
    results = deal.run(*[Prepayment.constant(5 * k, "PSA") for k in range(count)], deal.pricing)
    columns = wal_columns(results)
    assert list(columns) == ["Collateral", "A", "B", "C", "D"]
    for title, q in (("min", 0), ("5%", 5), ("25%", 25), ("median", 50), ("75%", 75), ("95%", 95),
                     ("max", 100), ("mean", None)):
        want = [f"{np.mean(w) if q is None else np.percentile(w, q):.2f}" for w in columns.values()]
        assert rows[title] == want, title
    assert rows["at min"] == [results.scenarios[int(np.argmin(w))] for w in columns.values()]
    assert rows["at max"] == ["0 PSA"] * 5
    assert (f"left out: the cover tables of the other {count:,} scenarios (a run of more than {small_budget} "
            "shows one)") in out
    assert ("every scenario's figures: --json; every cash flow: --cashflows PATH; a workbook: "
            "--xlsx PATH") in out
    assert not any(line != line.rstrip() for line in out.splitlines())


def test_json_over_the_budget_has_every_scenario(small_budget) -> None:
    count = small_budget + 3
    code, out = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(count), "--json")
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data["scenarios"]] == [f"{5 * k} PSA" for k in range(count)]
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run(*[Prepayment.constant(5 * k, "PSA") for k in range(count)])
    assert data == json.loads(json.dumps(results.to_dict()))
    for s, scenario in enumerate(data["scenarios"]):
        assert scenario["collateral"]["total_principal"] == pytest.approx(
            float(results.collateral.principal[s].sum()), rel=1e-15)


def test_over_the_budget_the_quotes_of_one_scenario(small_budget, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    code, out = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(small_budget + 1),
                     "--price", "100", "--no-report")
    assert code == 0
    assert out.count("price / yield") == 1 and "\n0 PSA  price / yield" in out
    assert f"left out: the price/yield tables of the other {small_budget:,} scenarios" in out


def test_the_real_budget_is_where_the_terminal_summarises(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "140")
    listed = budget.SCENARIOS_LISTED
    _, under = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(listed), "--no-report")
    _, over = _run(str(DEALS / "sequential.waterfall"), "--psa", _speeds(listed + 1), "--no-report")
    assert under.count("(collateral WAL") == listed and "left out" not in under
    assert over.count("(collateral WAL") == 1 and "left out" in over


# ---- scenario lookups


def test_scenario_lookup_by_label_is_the_first_with_it() -> None:
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run("100 PSA", "165 PSA", "100 PSA")
    assert results.scenario_index("165 PSA") == 1
    assert results.scenario_index("100 PSA") == 0
    assert results.scenarios is results.scenarios  # built once
    with pytest.raises(InputError, match="no scenario '7 PSA'; the run has 100 PSA, 165 PSA, 100 PSA"):
        results.scenario_index("7 PSA")


def test_a_missing_scenario_in_a_large_run_names_a_few() -> None:
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run(*[Prepayment.constant(k, "PSA") for k in range(30)])
    with pytest.raises(InputError, match=r"the run has 0 PSA, .*, 19 PSA, \.\.\. \(30 in all\)$"):
        results.scenario_index("nope")


# ---- streamed cash flows


def _cashflows_as_before(results) -> pd.DataFrame:
    """The long form as Results.cashflows() built it before it was streamed: a frame per scenario
    and class, concatenated (the reference the streamed writer must equal)."""
    frames = []
    for s, label in enumerate(results.scenarios):
        coll = results.collateral_cashflows(s)
        coll = coll[["period", "date", "beginning_balance", "interest", "principal", "cash_flow",
                     "ending_balance"]].assign(interest_shortfall=0.0)
        coll.insert(0, "class", COLLATERAL)
        coll.insert(0, "scenario", label)
        frames.append(coll)
        for tranche in results.deal.issued_classes:
            frame = results.class_cashflows(tranche.name, s)
            frame.insert(0, "class", tranche.name)
            frame.insert(0, "scenario", label)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module", params=("floater", "io_po", "accrual", "two_pool"))
def run(request):
    deal = structurer.load(DEALS / f"{request.param}.waterfall")
    return deal.run(deal.pricing, *deal.scenarios.values(), "300 PSA", "0 PSA")


def test_the_long_form_equals_the_one_built_before(run) -> None:
    before = _cashflows_as_before(run)
    pd.testing.assert_frame_equal(run.cashflows(), before, check_exact=True)
    chunks = list(run.cashflow_chunks(2))
    assert len(chunks) == -(-len(run.scenarios) // 2)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), before, check_exact=True)


def test_csv_streamed_by_chunks_is_the_file_written_before(run, tmp_path: Path, monkeypatch) -> None:
    before = tmp_path / "before.csv"
    _cashflows_as_before(run).to_csv(before, index=False, date_format="%Y-%m-%d")
    one = exports.write_cashflows(run, tmp_path / "one.csv", chunk=len(run.scenarios))
    many = exports.write_cashflows(run, tmp_path / "many.csv", chunk=1)
    assert one.read_bytes() == before.read_bytes()
    assert many.read_bytes() == before.read_bytes()
    monkeypatch.setattr(exports, "CSV_ROWS", 1000)  # a chunk formatted in several runs of rows
    parts = exports.write_cashflows(run, tmp_path / "parts.csv", chunk=len(run.scenarios))
    assert parts.read_bytes() == before.read_bytes()


def test_csv_quotes_a_label_with_a_comma(tmp_path: Path) -> None:
    deal = structurer.load(DEALS / "floater.waterfall")
    code, _ = _run(str(DEALS / "floater.waterfall"), "--psa", "100,165", "--index", "SOFR=1%,2.5%",
                   "--no-report", "--cashflows", str(tmp_path / "flows.csv"))
    assert code == 0
    results = deal.run(*_index_scenarios())
    before = tmp_path / "before.csv"
    _cashflows_as_before(results).to_csv(before, index=False, date_format="%Y-%m-%d")
    text = (tmp_path / "flows.csv").read_text()
    assert text == before.read_text()
    assert text.splitlines()[1].startswith('"100 PSA, SOFR 1%",COLLATERAL,1,2027-02-25,')


def _index_scenarios() -> list:
    from structurer.model.scenarios import RatePath, Scenario, with_index_levels

    speeds = [Scenario(Prepayment.constant(v, "PSA")) for v in (100, 165)]
    return with_index_levels(speeds, "SOFR", [RatePath.level(0.01), RatePath.level(0.025)])


def test_parquet_streamed_by_chunks_reads_back_as_before(run, tmp_path: Path) -> None:
    before = tmp_path / "before.parquet"
    _cashflows_as_before(run).to_parquet(before, index=False)
    one = exports.write_cashflows(run, tmp_path / "one.parquet", chunk=len(run.scenarios))
    many = exports.write_cashflows(run, tmp_path / "many.parquet", chunk=1)
    assert pq.ParquetFile(many).num_row_groups == len(run.scenarios)
    want = pd.read_parquet(before)
    for path in (one, many):
        pd.testing.assert_frame_equal(pd.read_parquet(path), want, check_exact=True)
        assert pq.read_schema(path).equals(pq.read_schema(before))


def test_a_chunk_is_bounded_by_rows_for_a_wide_deal(monkeypatch) -> None:
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run("100 PSA")
    per_scenario = (len(deal.issued_classes) + 1) * results.periods
    assert exports.chunk_scenarios(results) == min(budget.EXPORT_CHUNK, exports.CHUNK_ROWS // per_scenario)
    monkeypatch.setattr(exports, "CHUNK_ROWS", per_scenario * 2 + 1)
    assert exports.chunk_scenarios(results) == 2
    monkeypatch.setattr(exports, "CHUNK_ROWS", 10)
    assert exports.chunk_scenarios(results) == 1


# ---- the workbook of a large run


@pytest.fixture(scope="module")
def large_book(tmp_path_factory):
    """FJF-01 at one scenario more than the budget (monkeypatched to 3), the pricing speed among them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget, "SCENARIOS_LISTED", 3)
        deal = structurer.load(DEALS / "sequential.waterfall")
        results = deal.run("0 PSA", "100 PSA", deal.pricing, "300 PSA")
        decrement = deal.run(*deal.decrement)
        path = exports.write_xlsx(results, tmp_path_factory.mktemp("large") / "large.xlsx", decrement)
    return results, decrement, path


def test_a_large_workbook_has_the_pricing_scenario_in_full_and_says_what_it_left_out(large_book) -> None:
    results, decrement, path = large_book
    book = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    assert list(book) == (["Left out", "Summary", "Collateral 165 PSA", "Cash flows"]
                          + [f"Decrement {c}" for c in "ABCD"])
    note = book["Left out"]
    assert note.columns.tolist() == ["left out of this workbook", "where it is"]
    assert note.iloc[0, 0] == ("The collateral and cash flows of every scenario but 165 PSA, the pricing "
                               "scenario (4 scenarios, more than the 3 a workbook shows in full)")
    assert "--cashflows PATH" in note.iloc[0, 1] and "every cash flow of every scenario" in note.iloc[0, 1]
    # Measures of every scenario; the cash flows of the pricing scenario, as the long form has them.
    assert book["Summary"]["scenario"].unique().tolist() == results.scenarios
    flows = book["Cash flows"]
    want = results.cashflow_block(2, 3)
    assert flows["scenario"].unique().tolist() == ["165 PSA"] and len(flows) == len(want)
    for column in want.columns.drop(["scenario", "class", "date"]):
        np.testing.assert_allclose(flows[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float),
                                   rtol=1e-15, atol=0, equal_nan=True, err_msg=column)
    np.testing.assert_allclose(book["Collateral 165 PSA"]["principal"], results.collateral.principal[2],
                               rtol=1e-15)


def test_a_workbook_keeps_within_excels_rows(monkeypatch, tmp_path: Path) -> None:
    """With a sheet of 500 rows: the summary keeps the scenarios that fit, the cash flows the rows
    that fit, and the note says where the rest is."""
    monkeypatch.setattr(xlsx, "MAX_ROWS", 500)
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run(*[Prepayment.constant(k, "PSA") for k in range(1, 500, 5)])  # 100, not 165
    tables = exports.workbook_tables(results)
    assert len(tables["Summary"]) == (499 // 5) * 5 <= 499
    assert len(tables["Cash flows"]) == 499
    assert tables["Cash flows"]["scenario"].unique().tolist() == ["1 PSA"]
    notes = tables["Left out"]["left out of this workbook"].tolist()
    assert notes[0] == ("The collateral and cash flows of every scenario but 1 PSA, the first scenario "
                        "(214,200 rows of cash flows, more than a sheet's 500)")
    assert notes[1] == ("Summary: the cover tables of scenarios 100 to 100 (496 PSA on); a sheet holds "
                        "500 rows")
    assert notes[2] == "Cash flows: rows 500 to 2,142 of 1 PSA, the first scenario"
    path = exports.write_xlsx(results, tmp_path / "capped.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    assert all(sheet.max_row <= 500 for sheet in book.worksheets)


# ---- the .xlsx writer


def test_the_writer_stores_numbers_dates_text_and_empty_cells(tmp_path: Path) -> None:
    import datetime as dt

    sheet = xlsx.Sheet("A & <b>", ["text", "number", "date", "flag"],
                       [[" lead & <tag>", "x\x01y", None], [1.5, float("nan"), 7],
                        [dt.datetime(2027, 2, 25), dt.date(2000, 1, 1), None], [True, False, None]],
                       [None, "#,##0.00", "yyyy-mm-dd", None], [12, 12, 12, 12], last_row_format="0.00")
    path = tmp_path / "w.xlsx"
    xlsx.write(path, [sheet])
    book = openpyxl.load_workbook(path)
    ws = book["A & <b>"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert [c.value for c in ws[1]] == ["text", "number", "date", "flag"]
    assert ws["A2"].value == " lead & <tag>" and ws["A3"].value == "xy" and ws["A4"].value is None
    assert ws["B2"].value == 1.5 and ws["B2"].number_format == "#,##0.00"
    assert ws["B3"].value is None and ws["B3"].number_format == "#,##0.00"  # NaN: empty, formatted
    assert ws["B4"].value == 7 and ws["B4"].number_format == "0.00"  # the last row's format
    assert ws["C2"].value == dt.datetime(2027, 2, 25) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["C3"].value == dt.datetime(2000, 1, 1) and ws["C3"].number_format == "yyyy-mm-dd"
    assert ws["D2"].value is True and ws["D3"].value is False
    assert [xlsx.column_letter(j) for j in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None


# ---- the benchmark script


def test_the_scale_benchmark_runs_each_case(capsys) -> None:
    """benchmarks/bench_scale.py end to end on a tiny grid: every case runs and exits 0 (the
    figures it prints are not checked: nothing is asserted on time)."""
    from conftest import script_module

    with script_module(Path(__file__).resolve().parent.parent / "benchmarks" / "bench_scale.py",
                       "bench_scale") as bench:
        assert bench.main(["--scenarios", "3", "--classes", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "terminal, 3 scenarios", "--json, 3 scenarios", "--cashflows .csv, 3 scenarios",
        "--cashflows .parquet, 3 scenarios", "--xlsx, 2 classes"]
    assert all(float(line.split()[-2 if "cashflows" in line or "xlsx" in line else -1]) > 0
               for line in lines[1:])
