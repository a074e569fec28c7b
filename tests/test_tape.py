"""Loan tapes: reading, loud validation, statistics, stratification."""

from __future__ import annotations

from pathlib import Path

import pytest

from structurer.errors import InputError
from structurer.model.tape import read_tape, statistics, stratify

HEADER = "loan_id,balance,note_rate,net_rate,original_term,remaining_term,fico,ltv,state"
GOOD = ["L1,200000,3.5,3.25,360,360,720,80,CA",
        "L2,150000,4.0,3.75,240,240,680,75,TX",
        "L3,250000,4.2,3.95,300,300,760,90,CA"]


def _tape(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "loans.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_issue_example_statistics(tmp_path: Path) -> None:
    tape = read_tape(_tape(tmp_path, GOOD))
    stats = statistics(tape)
    assert stats.count == 3
    assert round(stats.wac, 2) == 3.92
    assert stats.wam == pytest.approx(305.0)
    assert stats.wala == pytest.approx(0.0)
    assert stats.average_balance == pytest.approx(200_000.0)
    assert stats.net_wac == pytest.approx(stats.wac - 0.25)


def test_servicing_fee_and_age_columns(tmp_path: Path) -> None:
    path = _tape(tmp_path, ["A,100000,4.5,0.25,360,12", "B,300000,5.0,0.5,360,24"],
                 header="loan_id,balance,note_rate,servicing_fee,original_term,age")
    tape = read_tape(path)
    assert tape.net_rate.tolist() == [4.25, 4.5]
    assert tape.remaining_term.tolist() == [348, 336]
    assert statistics(tape).wala == pytest.approx((100_000 * 12 + 300_000 * 24) / 400_000)


@pytest.mark.parametrize(("row", "column", "words"), [
    ("L4,-5,4.0,3.75,360,360,700,80,NY", "balance", "negative"),
    ("L4,1000,26,3.75,360,360,700,80,NY", "note_rate", "between 0% and 25%"),
    ("L4,1000,4.0,3.75,481,360,700,80,NY", "original_term", "480"),
    ("L4,1000,4.0,3.75,300,360,700,80,NY", "remaining_term", "more than the original term"),
    ("L4,1000,4.0,3.75,360,360,299,80,NY", "fico", "between 300 and 850"),
    ("L4,1000,4.0,3.75,360,360,851,80,NY", "fico", "between 300 and 850"),
    ("L4,1000,4.0,3.75,360,360,700,201,NY", "ltv", "between 0 and 200"),
    ("L4,1000,4.0,3.75,360,360,700,-1,NY", "ltv", "between 0 and 200"),
    ("L4,abc,4.0,3.75,360,360,700,80,NY", "balance", "'abc' is not a balance"),
    ("L4,1000,4.0,4.5,360,360,700,80,NY", "net_rate", "above the note rate"),
    ("L4,1000,4.0,3.75,360.5,360,700,80,NY", "original_term", "whole number"),
    ("L4,1000,,3.75,360,360,700,80,NY", "note_rate", "blank"),
    ("L1,1000,4.0,3.75,360,360,700,80,NY", "loan_id", "appears twice (rows 2 and 5)"),
    (",1000,4.0,3.75,360,360,700,80,NY", "loan_id", "blank"),
])
def test_bad_rows_name_row_and_column(tmp_path: Path, row: str, column: str, words: str) -> None:
    path = _tape(tmp_path, [*GOOD, row])
    with pytest.raises(InputError) as info:
        read_tape(path)
    message = str(info.value)
    assert f"{path}, row 5, column '{column}'" in message
    assert words in message


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = _tape(tmp_path, ["A,100,4"], header="loan_id,balance,note_rate")
    with pytest.raises(InputError, match=r"'original_term', 'net_rate \(or servicing_fee\)', "
                                         r"'remaining_term \(or age\)'"):
        read_tape(path)


def test_unknown_column_is_not_ignored(tmp_path: Path) -> None:
    path = _tape(tmp_path, ["A,100,4,3.5,360,360,700"],
                 header="loan_id,balance,note_rate,net_rate,original_term,remaining_term,fico_score")
    with pytest.raises(InputError, match="unknown column 'fico_score'"):
        read_tape(path)


def test_missing_file_and_empty_tape(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_tape(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="no loans"):
        read_tape(_tape(tmp_path, []))


def test_too_many_cells(tmp_path: Path) -> None:
    path = _tape(tmp_path, [*GOOD, "L4,1,000,4.0,3.75,360,360,700,80,NY"])
    with pytest.raises(InputError, match="row 5: 10 cells"):
        read_tape(path)


def test_stratification_adds_up(tmp_path: Path) -> None:
    tape = read_tape(_tape(tmp_path, [*GOOD, "L4,50000,6.1,5.85,360,300,,,"]))
    total = float(tape.balance.sum())
    for by in ("balance", "note_rate", "age", "remaining_term", "fico", "ltv", "state"):
        rows = stratify(tape, by)
        assert sum(r.count for r in rows) == 4, by
        assert sum(r.balance for r in rows) == pytest.approx(total), by
        assert sum(r.percent for r in rows) == pytest.approx(100.0), by
    states = {r.bucket: r for r in stratify(tape, "state")}
    assert states["CA"].count == 2 and states["CA"].balance == 450_000
    assert states["CA"].wac == pytest.approx((200_000 * 3.5 + 250_000 * 4.2) / 450_000)
    assert states["not given"].count == 1
    fico = {r.bucket: r for r in stratify(tape, "fico")}
    assert fico["not given"].balance == 50_000
    with pytest.raises(InputError, match="no stratification by 'colour'"):
        stratify(tape, "colour")


def test_parquet_tape_reads_the_same(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    csv_tape = read_tape(_tape(tmp_path, GOOD))
    table = pa.table({
        "loan_id": ["L1", "L2", "L3"], "balance": [200000.0, 150000.0, 250000.0],
        "note_rate": [3.5, 4.0, 4.2], "net_rate": [3.25, 3.75, 3.95],
        "original_term": [360, 240, 300], "remaining_term": [360, 240, 300],
    })
    pq.write_table(table, tmp_path / "loans.parquet")
    pq_tape = read_tape(tmp_path / "loans.parquet")
    assert statistics(pq_tape) == statistics(csv_tape)
