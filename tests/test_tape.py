"""Loan tapes: reading, loud validation, statistics, stratification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import structurer
from structurer.engine.collateral import collateral_flows
from structurer.engine.prepayment import smm_matrix
from structurer.engine.tape import aggregation_wal_difference, project_tape
from structurer.errors import InputError, StructurerError
from structurer.model.deal import Pool
from structurer.model.prepayment import Prepayment
from structurer.model.tape import LoanTape, read_tape, rep_lines, statistics, stratify

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
    ("L4,1000,4.0,3.75,360,0,700,80,NY", "remaining_term", "no remaining term"),
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


# Projection loan by loan ---------------------------------------------------------------------



SPEEDS = [Prepayment.constant(0, "PSA"), Prepayment.constant(150, "PSA"), Prepayment.constant(400, "PSA"),
          Prepayment.constant(12, "CPR"), Prepayment.ramp(100, 300, 24, "PSA")]
FIELDS = ("beginning_balance", "interest", "scheduled_principal", "prepayment", "ending_balance",
          "servicing_fee")


def _array_tape(balance: list[float], rate: list[float], net: list[float], orig: list[int],
                rem: list[int]) -> LoanTape:
    n = len(balance)
    return LoanTape("<test>", np.array([f"L{i}" for i in range(n)], dtype=object), np.array(balance, float),
                    np.array(rate, float), np.array(net, float), np.array(orig, np.int64),
                    np.array(rem, np.int64))


def test_identical_loans_equal_their_rep_line() -> None:
    n = 37
    tape = _array_tape([250_000.0] * n, [4.5] * n, [4.0] * n, [360] * n, [340] * n)
    pool = Pool("P", 250_000.0 * n, 0.045, 0.040, 360, 340, 20)
    expected = collateral_flows([pool], smm_matrix(SPEEDS, np.array([20.0]), 340))
    # 37 loans in 16 blocks: the sum over blocks is exercised too.
    got = project_tape(tape, SPEEDS)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.smm[:, 0, :], expected.smm[:, 0, :], atol=1e-12)


def test_each_loan_ages_on_its_own() -> None:
    """Two loans of different ages: the tape's flows are the sum of each as its own pool."""
    tape = _array_tape([100_000.0, 300_000.0], [5.0, 3.5], [4.5, 3.25], [360, 180], [300, 170])
    pools = [Pool("A", 100_000.0, 0.05, 0.045, 360, 300, 60),
             Pool("B", 300_000.0, 0.035, 0.0325, 180, 170, 10)]
    expected = collateral_flows(pools, smm_matrix(SPEEDS, np.array([60.0, 10.0]), 300))
    got = project_tape(tape, SPEEDS)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=0, atol=1e-6)


loans = st.lists(st.tuples(st.floats(0, 2_000_000), st.floats(0, 25), st.floats(0, 1),
                           st.integers(1, 480), st.floats(0, 1)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(loans, st.floats(0, 100))
def test_random_tapes_conserve_principal(rows: list, cpr: float) -> None:
    tape = _array_tape([r[0] for r in rows], [r[1] for r in rows], [r[1] * (1 - r[2] / 4) for r in rows],
                       [r[3] for r in rows], [max(1, int(round(r[3] * r[4]))) for r in rows])
    flows = project_tape(tape, [Prepayment.constant(cpr, "CPR"), Prepayment.constant(cpr * 10, "PSA")])
    total = tape.balance.sum()
    np.testing.assert_allclose(flows.principal.sum(axis=1), total, rtol=1e-9, atol=1e-6)
    for name in FIELDS:
        assert (getattr(flows, name) >= -1e-9).all(), name
    assert abs(flows.ending_balance[:, -1]).max() <= 1e-6




def test_rep_lines_exact_and_by_rule() -> None:
    tape = _array_tape([100_000.0, 100_000.0, 300_000.0, 50_000.0],
                       [4.5, 4.5, 4.6, 6.0], [4.0, 4.0, 4.1, 5.5], [360, 360, 360, 360], [350, 350, 352, 300])
    exact = rep_lines(tape, "T")
    assert len(exact) == 3  # the two identical loans are one line
    assert sum(p.balance for p in exact) == pytest.approx(550_000.0)
    assert exact[0].wac == pytest.approx(0.06)  # highest rate first
    # Summing identical loans changes nothing: the WAL difference is zero at every speed.
    np.testing.assert_allclose(aggregation_wal_difference(tape, exact, SPEEDS), 0.0, atol=1e-9)

    ruled = rep_lines(tape, "T", rate_step=0.25, age_step=12)
    assert [round(p.balance) for p in ruled] == [50_000, 500_000]
    line = ruled[1]
    assert line.wac == pytest.approx((200_000 * 4.5 + 300_000 * 4.6) / 500_000 / 100)
    assert line.remaining == round((200_000 * 350 + 300_000 * 352) / 500_000)
    assert line.name == "T #2"
    diff = aggregation_wal_difference(tape, ruled, SPEEDS)
    assert np.all(np.abs(diff) < 0.05) and np.any(np.abs(diff) > 0)  # small but real
    with pytest.raises(InputError, match="positive rate step"):
        rep_lines(tape, "T", rate_step=0.25, age_step=0)


# The language: pool "X" from "loans.csv" --------------------------------------------------------


DEAL = """deal "T" {{
  settle 2027-01-30
  first payment 2027-02-25
}}
collateral {{
  pool "Loans" from "{path}"{rule}
}}
class A SEQ balance {balance} coupon 3%
class R R
waterfall {{
  interest: pay each class its coupon
  principal {{
    pay A until retired
  }}
}}
scenarios {{
  pricing 150 PSA
}}
"""


def _deal(tmp_path: Path, path: str, rule: str = "", balance: str = "600,000") -> Path:
    deal = tmp_path / "t.waterfall"
    deal.write_text(DEAL.format(path=path, rule=rule, balance=balance), encoding="utf-8")
    return deal


def test_deal_reads_its_tape_relative_to_the_deal_file(tmp_path: Path) -> None:
    _tape(tmp_path, GOOD)
    deal = structurer.load(_deal(tmp_path, "loans.csv"))
    assert len(deal.pools) == 3 and sum(p.balance for p in deal.pools) == pytest.approx(600_000)
    ruled = structurer.load(_deal(tmp_path, "loans.csv", " aggregate by rate 1% age 12"))
    assert len(ruled.pools) == 3  # 4.0% and 4.2% share a rate bucket but not an original term
    _tape(tmp_path, [*GOOD[:2], "L3,250000,4.2,3.95,240,240,760,90,CA"])
    same_term = structurer.load(_deal(tmp_path, "loans.csv", " aggregate by rate 1% age 12"))
    assert len(same_term.pools) == 2  # now 4.0% and 4.2% are one line
    results = ruled.run("150 PSA")
    assert results is not None


def test_missing_tape_points_at_the_from(tmp_path: Path) -> None:
    with pytest.raises(StructurerError) as info:
        structurer.load(_deal(tmp_path, "nope.csv"))
    text = str(info.value)
    assert "no such file" in text and "t.waterfall:6:" in text


def test_bad_tape_row_is_reported_at_the_from(tmp_path: Path) -> None:
    _tape(tmp_path, [*GOOD, "L4,1000,4.0,3.75,360,360,900,80,NY"])
    with pytest.raises(StructurerError) as info:
        structurer.load(_deal(tmp_path, "loans.csv"))
    text = str(info.value)
    assert "row 5, column 'fico'" in text and "t.waterfall:6:" in text


def test_cli_prints_and_jsons_the_collateral(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from structurer.cli import main

    deal = str(Path(__file__).resolve().parent.parent / "deals" / "tape.waterfall")
    assert main([deal, "--no-report"]) == 0
    text = capsys.readouterr().out
    assert 'Collateral "Tape": 200 loans' in text and "rep-lines; WAL rep-lines less loan by loan" in text
    assert "FICO" in text and "State" in text
    assert main([deal, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["collateral"]["Tape"]
    assert info["count"] == 200
    assert abs(info["wal_difference_years"]) < 0.01
    assert sum(r["balance"] for r in info["strata"]["state"]["rows"]) == pytest.approx(info["balance"])


def test_report_has_a_collateral_section(tmp_path: Path) -> None:
    from structurer.cli import main

    deal = str(Path(__file__).resolve().parent.parent / "deals" / "tape.waterfall")
    out = tmp_path / "r.html"
    assert main([deal, "--report", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'href="#collateral"' in html and 'id="collateral"' in html
    assert "<caption>FICO</caption>" in html and "<caption>State</caption>" in html
    assert "200 loans from" in html


def test_a_tape_deal_gets_the_deal_wide_checks(tmp_path: Path) -> None:
    """A loan tape is one pool declaration for many rep-lines: the class balances must still add
    up to the tape's balance, and the coupons must still be covered by the lowest net coupon."""
    deals = Path(__file__).resolve().parent.parent / "deals"
    (tmp_path / "tape_loans.csv").write_bytes((deals / "tape_loans.csv").read_bytes())
    text = (deals / "tape.waterfall").read_text(encoding="utf-8")
    too_big = tmp_path / "big.waterfall"
    too_big.write_text(text.replace("balance 30,000,000", "balance 99,999,999,999"), encoding="utf-8")
    with pytest.raises(StructurerError, match="more than the collateral balance of 57,258,359.19"):
        structurer.load(too_big)
    rich = tmp_path / "rich.waterfall"
    rich.write_text(text.replace("balance 30,000,000  coupon 2%", "balance 30,000,000  coupon 3.5%"),
                    encoding="utf-8")
    with pytest.raises(StructurerError, match="lowest collateral net coupon of 2%"):
        structurer.load(rich)


# The fast reader (whole columns at once) against the row-by-row reference: the same loans, or the
# same error, on tapes with odd but valid cells ('1,234.50', '4.5%', padded, '1_000') and bad ones.
# The first three cells of each list are valid together, so that most tapes read.
_CELLS = {
    "balance": ["200000", "1,234.50", " 99000.5 ", "0", "-5", "abc", "", "1e400", "nan", "1_000", "7%"],
    "note_rate": ["3.5", "4.25%", "5", "0", "25", "26", "x", "", "inf"],
    "net_rate": ["3.25", "3.0", "3.25%", "", "-1", "4.5"],
    "original_term": ["360", "240", "360.0", "360.5", "0", "481", "", "1,0"],
    "remaining_term": ["240", "12", "1", "0", "360", "361", "12.5", ""],
    "fico": ["720", "", "700.5", "299", "851", "n/a", " "],
    "ltv": ["80", "", "95.5", "201", "-1"],
    "state": ["ca", " TX ", "", "Ny"],
}


@st.composite
def _messy_tape(draw: st.DrawFn) -> list[str]:
    n = draw(st.integers(min_value=1, max_value=6))
    ids = draw(st.lists(st.sampled_from([*(f"L{k}" for k in range(1, 25)), " L8 ", ""]),
                        min_size=n, max_size=n))
    rows = []
    for loan_id in ids:
        cells = [draw(st.sampled_from(_CELLS[name][:3] if draw(st.integers(0, 11)) else _CELLS[name]))
                 for name in HEADER.split(",")[1:]]
        rows.append(",".join([loan_id, *(f'"{c}"' if "," in c else c for c in cells)]))
        if draw(st.integers(0, 9)) == 0:
            rows.append("")  # a blank line: skipped, but counted in the row numbers
    return rows


def _read(reader, path: Path):  # type: ignore[no-untyped-def]
    try:
        return reader(path)
    except InputError as exc:
        return str(exc)


@settings(max_examples=150, deadline=None)
@given(rows=_messy_tape())
def test_fast_reader_is_the_row_by_row_reader(tmp_path_factory: pytest.TempPathFactory,
                                              rows: list[str]) -> None:
    from structurer.model.tape import read_tape_by_rows

    path = _tape(tmp_path_factory.mktemp("tape"), rows)
    fast, slow = _read(read_tape, path), _read(read_tape_by_rows, path)
    if isinstance(slow, str):
        assert fast == slow
        return
    assert isinstance(fast, LoanTape)
    for name in ("loan_id", "balance", "note_rate", "net_rate", "original_term", "remaining_term",
                 "fico", "ltv", "state"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.dtype == b.dtype and a.tolist() == b.tolist() or np.array_equal(a, b, equal_nan=True), name


def test_fast_reader_on_parquet_is_the_row_by_row_reader(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from structurer.model.tape import read_tape_by_rows

    table = pa.table({"loan_id": ["A", "B", "C"], "balance": [100000.25, 2e5, 0.1 + 0.2],
                      "note_rate": [4.5, 5, 6.125], "servicing_fee": [0.25, 0.5, 0.375],
                      "original_term": [360, 360, 180], "age": [12, 0, 179], "fico": [700, None, 800],
                      "state": ["ca", None, "tx"]})
    path = tmp_path / "loans.parquet"
    pq.write_table(table, path)
    fast, slow = read_tape(path), read_tape_by_rows(path)
    for name in ("loan_id", "balance", "note_rate", "net_rate", "original_term", "remaining_term", "state"):
        assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name
    assert np.array_equal(fast.fico, slow.fico, equal_nan=True)
    pq.write_table(table.set_column(1, "balance", pa.array([1.0, -2.0, 3.0])), path)
    with pytest.raises(InputError, match="row 3, column 'balance'.*negative"):
        read_tape(path)
