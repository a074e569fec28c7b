"""Exports: the Excel workbook reopens (pandas and openpyxl) with the numbers of Results, stored
as numbers with display formats; the long-form cash flows round-trip through CSV and Parquet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import structurer
from structurer.errors import InputError
from structurer.present import exports
from structurer.results.results import COLLATERAL
from structurer.valuation import quotes as valuation

DEALS = Path(__file__).resolve().parent.parent / "deals"
# A Z class (accretion), floaters (coupons by period), notional IO and a PO strip.
STEMS = ("accrual", "floater", "io_po")


@pytest.fixture(scope="module", params=STEMS)
def workbook(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    deal = structurer.load(DEALS / f"{request.param}.waterfall")
    results = deal.run(*([deal.pricing] + list(deal.scenarios.values())))
    decrement = deal.run(*deal.decrement)
    name = next(t.name for t in deal.issued_classes if not (t.is_residual or t.is_notional))
    extra = {f"Price yield {name}": valuation.price_yield_table(deal, name, [98, 100, 102],
                                                                list(deal.decrement))}
    path = tmp_path_factory.mktemp("xlsx") / f"{request.param}.xlsx"
    out = exports.write_xlsx(results, path, decrement, extra)
    assert out == path and path.exists()
    return results, decrement, extra, path


def sheets(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, engine="openpyxl")


def test_sheets_in_order(workbook) -> None:
    results, decrement, extra, path = workbook
    names = list(sheets(path))
    expected = (["Summary"] + [f"Collateral {label}" for label in results.scenarios] + ["Cash flows"]
                + [f"Decrement {t.name}" for t in results.deal.issued_classes if not t.is_residual]
                + list(extra))
    assert names == [e[:31] for e in expected]


def test_summary_sheet_has_the_cover_figures(workbook) -> None:
    results, _, _, path = workbook
    frame = sheets(path)["Summary"]
    assert len(frame) == len(results.scenarios) * len(results.deal.issued_classes)
    for s, label in enumerate(results.scenarios):
        summary = results.summary(s)
        rows = frame[frame["scenario"] == label].set_index("class")
        assert list(rows.index) == list(summary.index)
        for column in ("original_balance", "wal", "coupon", "first_coupon", "total_principal",
                       "total_interest", "total_accrued", "first_principal_period",
                       "last_principal_period"):
            np.testing.assert_allclose(rows[column].to_numpy(dtype=float),
                                       summary[column].to_numpy(dtype=float),
                                       rtol=1e-12, atol=0, equal_nan=True, err_msg=column)
        for name in summary.index:
            wal = results.wal(name)[s]
            shown = rows.loc[name, "wal"]
            assert (np.isnan(wal) and np.isnan(shown)) or shown == pytest.approx(wal, rel=1e-12)
            final = summary.loc[name, "final_date"]  # None: no cash (the residual), an empty cell
            shown_final = rows.loc[name, "final_date"]
            assert pd.isna(shown_final) if final is None else pd.Timestamp(shown_final).date() == final


def test_collateral_sheets_match_results(workbook) -> None:
    results, _, _, path = workbook
    book = sheets(path)
    for s, label in enumerate(results.scenarios):
        got = book[f"Collateral {label}"[:31]]
        want = results.collateral_cashflows(s)
        assert list(got.columns) == list(want.columns)
        assert [d.date() for d in pd.to_datetime(got["date"])] == results.dates
        for column in want.columns.drop("date"):
            np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                       want[column].to_numpy(dtype=float),
                                       rtol=1e-12, atol=1e-9, err_msg=column)
        assert got["ending_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
        assert got["principal"].sum() == pytest.approx(results.collateral.principal[s].sum(), rel=1e-12)
        assert results.wal(COLLATERAL)[s] > 0


def test_cash_flow_sheet_matches_results(workbook) -> None:
    results, _, _, path = workbook
    got = sheets(path)["Cash flows"]
    want = results.cashflows()
    assert list(got.columns) == list(want.columns)
    assert got["scenario"].tolist() == want["scenario"].tolist()
    assert got["class"].tolist() == want["class"].tolist()
    assert (pd.to_datetime(got["date"]).to_numpy() == pd.to_datetime(want["date"]).to_numpy()).all()
    for column in want.columns.drop(["scenario", "class", "date"]):
        np.testing.assert_allclose(got[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float),
                                   rtol=1e-12, atol=1e-9, err_msg=column)
    # Each class's principal and balances, as the engine's arrays have them.
    for tranche in results.deal.issued_classes:
        rows = got[(got["class"] == tranche.name) & (got["scenario"] == results.scenarios[0])]
        arrays = results.arrays(tranche.name)
        np.testing.assert_allclose(rows["principal"], arrays["principal"][0], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(rows["ending_balance"], arrays["ending_balance"][0],
                                   rtol=1e-12, atol=1e-9)


def test_decrement_and_extra_sheets(workbook) -> None:
    results, decrement, extra, path = workbook
    book = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    sheets = openpyxl.load_workbook(path)
    for tranche in decrement.deal.issued_classes:
        if tranche.is_residual:
            continue
        title = f"Decrement {tranche.name}"
        got = book[title]
        # Numbers as numbers: the unrounded percent outstanding, shown to whole percent.
        want = decrement.decrement_table(tranche.name, formatted=False).reset_index()
        assert got.columns.tolist() == want.columns.tolist()
        assert got.iloc[:, 0].tolist() == want.iloc[:, 0].tolist()
        np.testing.assert_allclose(got.iloc[:, 1:].to_numpy(dtype=float),
                                   want.iloc[:, 1:].to_numpy(dtype=float), rtol=1e-12, equal_nan=True)
        assert got.iloc[-1, 0] == "WAL (years)"
        np.testing.assert_allclose(got.iloc[-1, 1:].to_numpy(dtype=float), decrement.wal(tranche.name),
                                   rtol=1e-12, equal_nan=True)
        sheet = sheets[title]
        assert sheet.cell(row=3, column=2).number_format == "0"
        assert sheet.cell(row=len(got) + 1, column=2).number_format == "0.00"
    for title, frame in extra.items():
        got = pd.read_excel(path, sheet_name=title[:31], engine="openpyxl")
        want = frame.reset_index()
        assert got.columns.tolist() == [str(c) for c in want.columns]
        np.testing.assert_allclose(got.iloc[:3, 1:].to_numpy(dtype=float),
                                   want.iloc[:3, 1:].to_numpy(dtype=float), rtol=1e-12)


def test_number_formats(workbook) -> None:
    results, _, _, path = workbook
    book = openpyxl.load_workbook(path)
    seen = set()
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        headers = [c.value for c in sheet[1]]
        for j, header in enumerate(headers, start=1):
            if header in exports._MONEY_COLUMNS:
                want = exports.MONEY
            elif header in exports._RATE_COLUMNS:
                want = exports.RATE
            elif header in exports._YEAR_COLUMNS:
                want = exports.YEARS
            elif header in ("date", "final_date", "first_principal_date", "last_principal_date"):
                want = exports.DATE
            else:
                continue
            for row in range(2, min(sheet.max_row, 40) + 1):
                cell = sheet.cell(row=row, column=j)
                if cell.value is None:  # an empty cell: a class with no principal date
                    continue
                assert cell.number_format == want, (sheet.title, header, row)
                if want == exports.DATE:
                    assert isinstance(cell.value, dt.datetime), (sheet.title, header, row)
                else:
                    assert isinstance(cell.value, int | float), (sheet.title, header, row)
                seen.add(want)
    assert seen == {exports.MONEY, exports.RATE, exports.YEARS, exports.DATE}
    summary = book["Summary"]
    headers = [c.value for c in summary[1]]
    balance = summary.cell(row=2, column=headers.index("original_balance") + 1)
    assert balance.value == results.summary(0)["original_balance"].iloc[0]


def test_csv_round_trip(workbook, tmp_path: Path) -> None:
    results = workbook[0]
    path = exports.write_cashflows(results, tmp_path / "flows.csv")
    got = pd.read_csv(path, parse_dates=["date"])
    want = results.cashflows()
    assert got["date"].dt.strftime("%Y-%m-%d").tolist() == want["date"].dt.strftime("%Y-%m-%d").tolist()
    pd.testing.assert_frame_equal(got.drop(columns="date"), want.drop(columns="date"),
                                  check_dtype=False, rtol=1e-15, atol=0)


def test_parquet_round_trip(workbook, tmp_path: Path) -> None:
    results = workbook[0]
    path = exports.write_cashflows(results, tmp_path / "flows.parquet")
    got = pd.read_parquet(path)
    want = results.cashflows()
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    assert str(got["principal"].dtype) == "float64" and str(got["period"].dtype) == "int64"


def test_unwritable_paths_are_input_errors(tmp_path: Path) -> None:
    deal = structurer.load(DEALS / "sequential.waterfall")
    results = deal.run()
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(InputError, match="cannot write the cash flows"):
        exports.write_cashflows(results, missing / "flows.csv")
    with pytest.raises(InputError, match="cannot write the workbook"):
        exports.write_xlsx(results, missing / "book.xlsx")
