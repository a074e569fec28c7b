"""Fractional holdings: every period the holders' amounts add up exactly, in integer smallest
units, to the class's rounded distribution (property tests over random registers, unit counts,
decimals 0-18 and amounts); one holder gets everything; transfers take effect on record dates;
registers are validated loudly; the ledger files and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structurer
from structurer.cli import main
from structurer.errors import InputError
from structurer.present import statements as writers
from structurer.results import holdings

DEALS = Path(__file__).resolve().parent.parent / "deals"


@pytest.fixture(scope="module")
def run() -> structurer.Results:
    deal = structurer.load(DEALS / "sequential.waterfall")
    return deal.run(deal.pricing)


def unit_lists(max_holders: int = 12) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=max_holders).filter(
        lambda units: sum(units) > 0)


@given(amount=st.integers(min_value=0, max_value=10**36), units=unit_lists())
def test_allocation_sums_exactly(amount: int, units: list[int]) -> None:
    holders = [(f"h{i:02d}", n) for i, n in enumerate(units)]
    shares = holdings.allocate(amount, holders)
    assert sum(shares.values()) == amount
    total = sum(units)
    for holder, n in holders:
        floor = amount * n // total
        # Largest remainder: each share is its exact share rounded down or up, never further off.
        assert floor <= shares[holder] <= floor + 1
        if n == 0:
            assert shares[holder] == 0


@given(amount=st.floats(min_value=0, max_value=1e12, allow_nan=False), decimals=st.integers(0, 18),
       units=unit_lists())
def test_float_amounts_at_any_decimals(amount: float, decimals: int, units: list[int]) -> None:
    smallest = holdings.to_smallest_units(amount, decimals)
    assert isinstance(smallest, int)
    with localcontext(prec=80):
        error = abs(Decimal(smallest).scaleb(-decimals) - Decimal(repr(amount)))
        assert error <= Decimal(1).scaleb(-decimals) / 2
    shares = holdings.allocate(smallest, [(str(i), n) for i, n in enumerate(units)])
    assert sum(shares.values()) == smallest


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=unit_lists(8), decimals=st.integers(0, 18))
def test_ledger_sums_to_class_distribution_every_period(run: structurer.Results, units: list[int],
                                                         decimals: int) -> None:
    reg = holdings.register("B", sum(units), [(f"holder-{i}", n) for i, n in enumerate(units)])
    ledger = holdings.ledger(run, reg, decimals)
    a = run.arrays("B")
    for p in range(1, run.periods + 1):
        entries = [e for e in ledger.entries if e.period == p]
        assert sum(e.interest for e in entries) == ledger.class_interest[p]
        assert sum(e.principal for e in entries) == ledger.class_principal[p]
        assert ledger.class_interest[p] == holdings.to_smallest_units(a["interest"][0, p - 1], decimals)
        assert ledger.class_principal[p] == holdings.to_smallest_units(a["principal"][0, p - 1], decimals)


def test_rounding_reads_the_shortest_decimal() -> None:
    assert holdings.to_smallest_units(0.1, 18) == 10**17  # not 100000000000000006
    assert holdings.to_smallest_units(1.005, 2) == 101  # '1.005' half up, though the binary is below
    assert holdings.to_smallest_units(2.5, 0) == 3
    assert holdings.format_units(1234, 2) == "12.34"
    assert holdings.format_units(5, 6) == "0.000005"
    assert holdings.format_units(7, 0) == "7"
    with pytest.raises(InputError, match="0 to 18"):
        holdings.to_smallest_units(1.0, 19)
    assert holdings.to_smallest_units(1e40, 18) == 10**58
    for bad in (float("nan"), float("inf"), 1e300):
        with pytest.raises(InputError, match="cannot distribute"):
            holdings.to_smallest_units(bad, 2)


def test_ties_go_by_holder_identifier() -> None:
    # 10 units over three equal holders: 3 each and one left, with equal remainders: 'a' gets it,
    # whatever order the register lists them in.
    assert holdings.allocate(10, [("c", 1), ("a", 1), ("b", 1)]) == {"c": 3, "a": 4, "b": 3}
    assert holdings.allocate(11, [("c", 1), ("b", 1), ("a", 1)]) == {"c": 3, "b": 4, "a": 4}
    # The largest remainder wins before the identifier: 7 * 2/3 = 4.67 beats 7 * 1/3 = 2.33.
    assert holdings.allocate(7, [("a", 1), ("z", 2)]) == {"a": 2, "z": 5}


def test_one_holder_gets_everything(run: structurer.Results) -> None:
    reg = holdings.register("A", 1, [("only", 1)])
    ledger = holdings.ledger(run, reg, decimals=6)
    a = run.arrays("A")
    for e in ledger.entries:
        assert e.interest == holdings.to_smallest_units(a["interest"][0, e.period - 1], 6)
        assert e.principal == holdings.to_smallest_units(a["principal"][0, e.period - 1], 6)
    paying = [p for p in range(1, run.periods + 1) if ledger.class_interest[p] + ledger.class_principal[p]]
    assert [e.period for e in ledger.entries] == paying  # one row a paying month, none after retirement
    assert paying == list(range(1, int(run.final_period("A")[0]) + 1))


def test_transfers_take_effect_on_record_dates(run: structurer.Results, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    # alice sells 500 units to carol; the new register is dated the record date of period 3.
    path.write_text("holder,units,record_date\nalice,600,\nbob,400,\n"
                    "alice,100,2027-03-31\nbob,400,2027-03-31\ncarol,500,2027-03-31\n")
    reg = holdings.read_register(path, "A", 1000)
    ledger = holdings.ledger(run, reg, decimals=2)
    by_period: dict[int, dict[str, int]] = {}
    for e in ledger.entries:
        by_period.setdefault(e.period, {})[e.holder] = e.units
    assert by_period[1] == by_period[2] == {"alice": 600, "bob": 400}
    assert ledger.entries[4].record_date == dt.date(2027, 3, 31)
    assert by_period[3] == by_period[max(by_period)] == {"alice": 100, "bob": 400, "carol": 500}
    for p in (2, 3):
        entries = [e for e in ledger.entries if e.period == p]
        assert sum(e.total for e in entries) == ledger.class_interest[p] + ledger.class_principal[p]
    # A transfer dated between record dates is in force from the next record date on.
    path.write_text("holder,units,record_date\nalice,1000,2027-01-15\nbob,1000,2027-02-10\n")
    later = holdings.ledger(run, holdings.read_register(path, "A", 1000), decimals=2, period=2)
    assert [e.holder for e in later.entries] == ["bob"]
    # No register in force on the first record date: said, with the date.
    path.write_text("holder,units,record_date\nalice,1000,2027-02-10\n")
    with pytest.raises(InputError, match="no register is in force on record date 2027-01-29"):
        holdings.ledger(run, holdings.read_register(path, "A", 1000), decimals=2)


@pytest.mark.parametrize(("text", "message"), [
    ("holder,units\nalice,-5\nbob,1005\n", "row 2, column 'units': negative units"),
    ("holder,units\nalice,500\nbob,400\n", "the units sum to 900, and class A is divided into 1,000"),
    ("holder,units\nalice,500\nalice,500\n", "row 3, column 'holder': 'alice' is already on row 2"),
    ("holder,units,class\nalice,1000,Q\n", "row 2, column 'class': 'Q' is not class A"),
    ("holder,units\nalice,1.5\n", "row 2, column 'units': '1.5' is not a whole number"),
    ("holder,units\n,1000\n", "row 2, column 'holder': empty"),
    ("name,units\nalice,1000\n", "lacks holder"),
    ("holder,units,memo\nalice,1000,x\n", "unknown column 'memo'"),
    ("holder,units,record_date\nalice,1000,31/03/2027\n", "column 'record_date': '31/03/2027' is not a date"),
    ("holder,units,record_date\nalice,1000,2027-03-31\nalice,1000,2027-03-31\n",
     "'alice' is already on row 2 for record date 2027-03-31"),
])
def test_registers_are_validated_loudly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "register.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        holdings.read_register(path, "A", 1000)


def test_units_from_a_denomination(run: structurer.Results) -> None:
    assert holdings.units_for(run, "A", denomination=1000) == 194_500
    assert holdings.units_for(run, "A", units=7) == 7
    with pytest.raises(InputError, match="not a whole number of"):
        holdings.units_for(run, "A", denomination=3000)
    with pytest.raises(InputError, match="one of them"):
        holdings.units_for(run, "A")


def test_ledger_files(run: structurer.Results, tmp_path: Path) -> None:
    reg = holdings.register("A", 3, [("x", 1), ("y", 1), ("z", 1)])
    ledger = holdings.ledger(run, reg, decimals=18, period=1)
    rows = list(csv.DictReader(writers.write_ledger(ledger, tmp_path / "l.csv").open()))
    assert [r["holder"] for r in rows] == ["x", "y", "z"]
    assert sum(int(r["total_units"]) for r in rows) == ledger.class_interest[1] + ledger.class_principal[1]
    assert rows[0]["total"] == holdings.format_units(int(rows[0]["total_units"]), 18)
    doc = json.loads(writers.write_ledger(ledger, tmp_path / "l.json").read_text())
    assert doc["decimals"] == 18 and doc["class"] == "A"
    class_total = int(doc["class_distributions"][0]["total_units"])
    assert sum(int(e["total_units"]) for e in doc["entries"]) == class_total


def test_cli_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = str(DEALS / "sequential.waterfall")
    reg = tmp_path / "register.csv"
    reg.write_text("holder,units\n0xabc,600\n0xdef,400\n")
    out = tmp_path / "ledger.csv"
    assert main([deal, "--no-report", "--holders", str(reg), "--class", "A", "--units", "1000",
                 "--decimals", "6", "--ledger", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["holder"] for r in rows} == {"0xabc", "0xdef"}
    assert all(len(r["total"].split(".")[1]) == 6 for r in rows)
    base = [deal, "--no-report", "--holders", str(reg), "--ledger", str(out)]
    assert main(base + ["--class", "Q", "--units", "1000"]) == 1
    assert "no class 'Q'" in capsys.readouterr().err
    assert main(base + ["--class", "A", "--units", "999"]) == 1
    assert "sum to 1,000" in capsys.readouterr().err
    assert main(base + ["--class", "A"]) == 2  # neither --units nor --denomination
    assert main(base + ["--class", "A", "--units", "1000", "--decimals", "19"]) == 2
    assert main([deal, "--no-report", "--ledger", str(out)]) == 2  # --ledger without --holders
