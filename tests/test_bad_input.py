"""Bad input a new user tries (issue 8, item 7): each gives a message in the desk's words, with
file, line and column where there is one, and exit 1 (bad deal or input) or 2 (usage); none a
traceback, a hang, or a silently overwritten file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import structurer
from structurer import cli
from structurer.errors import DealError, DealErrors, InputError
from structurer.model.curve import make_curve, read_curve_csv
from structurer.model.prepayment import MAX_PSA, Prepayment, parse_speed, parse_speeds

ROOT = Path(__file__).resolve().parent.parent
SEQUENTIAL = ROOT / "deals" / "sequential.waterfall"
SOURCE = SEQUENTIAL.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str | bytes, name: str = "deal.waterfall") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _check(capsys, path: Path) -> tuple[int, str]:
    code = cli.main(["check", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def _position(err: str) -> tuple[int, int]:
    match = re.search(r"--> .*:(\d+):(\d+)", err)
    assert match, err
    return int(match.group(1)), int(match.group(2))


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


# ---- the deal file's text


@pytest.mark.parametrize("depth", [50, 51, 200, 5000])
def test_deep_nesting_is_a_positioned_error_not_a_recursion_error(tmp_path, capsys, depth):
    text = SOURCE.replace("pay A until retired", "pay " + "(" * depth + "A" + ")" * depth + " until retired")
    code, err = _check(capsys, _write(tmp_path, text))
    if depth <= 50:
        assert code == 0, err
        return
    assert code == 1
    assert "nested too deeply (limit 50)" in err
    assert _position(err) == (_line_of(text, "pay ((("), len("    pay ") + 51)


@pytest.mark.parametrize("old, new", [
    ("delay 24 days", "delay {big} days"),
    ("term 360", "term {big}"),
    ("194,500,000", "{big}"),
    ("pricing 165 PSA", "pricing {big} PSA"),
])
def test_a_310_digit_number_is_too_large(tmp_path, capsys, old, new):
    big = "9" * 310
    text = SOURCE.replace(old, new.format(big=big))
    code, err = _check(capsys, _write(tmp_path, text))
    assert code == 1
    assert "number too large (310 digits)" in err
    line = _line_of(text, big)
    assert _position(err) == (line, text.splitlines()[line - 1].index(big) + 1)
    assert len(max(err.splitlines(), key=len)) < 400  # the line is shown as a window, not whole


def test_a_huge_curve_point_is_too_large():
    text = SOURCE + '\nanalytics {\n  curve "UST" (1: 4%, ' + "9" * 310 + ": 5%)\n}\n"
    with pytest.raises(DealError, match="number too large") as info:
        structurer.loads(text)
    assert info.value.span is not None and info.value.span.line == len(SOURCE.splitlines()) + 3


@pytest.mark.parametrize("name", ["FJ\x1b[2JF", "A\x00B", "tab\there", "right\u202eleft"])
def test_control_characters_in_a_quoted_name_are_refused(tmp_path, capsys, name):
    text = SOURCE.replace('deal "FJF-01"', f'deal "{name}"')
    code, err = _check(capsys, _write(tmp_path, text))
    assert code == 1
    assert "control character" in err
    assert "\x1b" not in err and "\u202e" not in err  # never echoed to the terminal
    at = next(i for i, ch in enumerate(name) if not ch.isprintable())
    assert _position(err) == (_line_of(text, "deal \""), len('deal "') + at + 1)


def test_a_control_character_in_a_scenario_name_never_reaches_the_workbook(tmp_path, capsys):
    text = SOURCE.replace('scenario "slow"', 'scenario "sl\x07ow"')
    deal = _write(tmp_path, text)
    code = cli.main([str(deal), "--scenario", "sl\x07ow", "--xlsx", str(tmp_path / "out.xlsx"),
                     "--no-report"])
    assert code == 1
    assert "control character U+0007" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_a_deal_that_is_not_utf8_names_the_line_and_column(tmp_path, capsys):
    data = SOURCE.replace("class C ", "class \u00c9 ").encode("latin-1")
    code, err = _check(capsys, _write(tmp_path, data))
    assert code == 1
    assert "not UTF-8" in err and "0xc9" in err
    assert "position" not in err
    assert _position(err) == (_line_of(SOURCE, "class C "), len("class ") + 1)


def test_a_deal_with_a_bom_is_read(tmp_path, capsys):
    code, err = _check(capsys, _write(tmp_path, b"\xef\xbb\xbf" + SOURCE.encode()))
    assert code == 0, err


def test_a_one_megabyte_line_is_refused_at_once(tmp_path, capsys):
    text = SOURCE + "class A SEQ balance 1 coupon 1% shift (" + ", ".join(["1"] * 200_000) + ")\n"
    code, err = _check(capsys, _write(tmp_path, text))
    assert code == 1
    assert "characters long (limit 20,000)" in err
    assert _position(err)[0] == len(SOURCE.splitlines()) + 1
    assert len(err) < 2_000


def test_a_long_schedule_on_one_line_is_still_read():
    balances = ", ".join(f"{1_000_000 - 2_000 * i:,}" for i in range(360))
    assert len(balances) > 3_000
    structurer.language.parser.parse(SOURCE.replace("class A  SEQ", f"class A  SEQ schedule ({balances})"))


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
def test_a_device_fifo_or_directory_is_refused(tmp_path, capsys, special):
    if special == "fifo":
        path = tmp_path / "deal.waterfall"
        os.mkfifo(path)
    elif special == "directory":
        path = tmp_path
    else:
        path = Path(special)
        if not path.exists():
            pytest.skip("no /dev/zero here")
    code, err = _check(capsys, path)
    assert code == 1
    assert "not a regular file" in err or "is a directory" in err


def test_a_huge_deal_file_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    from structurer import inputs

    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", 100)
    code, err = _check(capsys, _write(tmp_path, SOURCE))
    assert code == 1
    assert "a deal file is at most 100 bytes" in err


# ---- speeds


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "100001", "-5", "fast", ""])
def test_bad_psa_options_are_usage_errors(capsys, value):
    code = cli.main([str(SEQUENTIAL), "--psa", value, "--no-report"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--psa" in err and "Traceback" not in err


def test_the_sane_maximum_psa_is_documented_and_accepted(capsys):
    assert parse_speed(f"{MAX_PSA:g} PSA") == Prepayment.constant(MAX_PSA, "PSA")
    with pytest.raises(InputError, match="not a plausible speed"):
        parse_speed("1e308 PSA")
    assert cli.main([str(SEQUENTIAL), "--psa", "5000", "--cpr", "100", "--no-report", "--json"]) == 0


@pytest.mark.parametrize("text", ["nan PSA", "inf CPR", "NaN", "infinity SMM"])
def test_non_finite_speeds_are_refused_everywhere(text):
    with pytest.raises(InputError, match="finite"):
        parse_speed(text, "PSA")
    deal = structurer.load(SEQUENTIAL)
    with pytest.raises(InputError):
        deal.run(text)


def test_a_nan_assumption_object_is_refused_by_the_api():
    deal = structurer.load(SEQUENTIAL)
    with pytest.raises(InputError, match="finite"):
        deal.run(Prepayment.constant(float("nan"), "PSA"))


def test_speed_lists_share_the_parser():
    assert [p.values[0] for p in parse_speeds("0,100,165", "PSA")] == [0, 100, 165]
    assert parse_speeds("90 PSA, 6 CPR")[1] == Prepayment.constant(6, "CPR")
    with pytest.raises(InputError, match="empty"):
        parse_speeds("100,,165", "PSA")


@pytest.mark.parametrize("args", [["--psa", "nan"], ["--at", "inf", "--effective-band", "P", "--after", "3"]])
def test_solve_speed_options_are_usage_errors(capsys, args):
    goal = [] if "--effective-band" in args else ["--size", "A,B", "--wal", "3"]
    assert cli.main(["solve", str(SEQUENTIAL), *goal, *args]) == 2
    assert "finite" in capsys.readouterr().err


def test_tieout_speed_options_are_usage_errors(capsys):
    assert cli.main(["tieout", str(SEQUENTIAL), "--psa", "inf"]) == 2


# ---- CSV inputs


def _deal_with_schedule(tmp_path: Path, rows: str | bytes) -> Path:
    csv_path = tmp_path / "sched.csv"
    if isinstance(rows, bytes):
        csv_path.write_bytes(rows)
    else:
        csv_path.write_text(rows, encoding="utf-8")
    text = SOURCE.replace("class A  SEQ  balance 194,500,000",
                          'class A  PAC  balance 1,000 schedule from "sched.csv"')
    text = text.replace("class B  SEQ  balance  36,000,000", "class B  SUP  balance 230,499,000")
    return _write(tmp_path, text)


@pytest.mark.parametrize("rows, words", [
    ("period,balance\n1,nan\n", "row 2, column 'balance': 'nan' is not an amount"),
    ("period,balance\n1,inf\n", "row 2, column 'balance': 'inf' is not an amount"),
    ("period,balance\n1," + "9" * 310 + "\n", "too large"),
    ("period;balance\n1;500\n", "separated by semicolons"),
    (b"period,balance\n1,500\n2,4\xe90\n", "row 3, column 4: byte 0xe9 is not UTF-8"),
])
def test_bad_schedule_csv_rows_are_named(tmp_path, capsys, rows, words):
    code, err = _check(capsys, _deal_with_schedule(tmp_path, rows))
    assert code == 1
    assert words in err, err
    assert "sched.csv" in err


def test_a_schedule_csv_with_a_bom_is_read(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeffperiod,balance\n1,500\n2,0\n".encode())
    from structurer.inputs import read_schedule_csv

    assert read_schedule_csv(path) == [500.0, 0.0]


@pytest.mark.parametrize("rows, words", [
    ("tenor,yield\ninf,4\n", "row 2, column 'tenor': 'inf' is not a number"),
    ("tenor,yield\n1,nan\n", "row 2, column 'yield': 'nan' is not a number"),
    ("tenor,yield\n1,-4.1\n", "must be a rate from 0% to 100%"),
    ("tenor,yield\n1,150\n", "must be a rate from 0% to 100%"),
    ("tenor,yield\n1e300,4\n", "too large"),
    ("tenor,yield\n500,4\n", "beyond any curve"),
    ("tenor;yield\n1;4\n", "separated by semicolons"),
    ("tenor\tyield\n1\t4\n", "separated by tabs"),
])
def test_bad_curve_csvs_are_refused(tmp_path, capsys, rows, words):
    path = tmp_path / "ust.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(words)):
        read_curve_csv(path)
    code = cli.main([str(SEQUENTIAL), "--no-report", "--curve", str(path), "--spread", "100"])
    assert code == 1
    assert words in capsys.readouterr().err


def test_a_curve_csv_with_a_bom_is_read(tmp_path):
    path = tmp_path / "ust.csv"
    path.write_bytes("\ufefftenor,yield\n1,4\n10,4.5\n".encode())
    assert read_curve_csv(path).yields == (0.04, 0.045)


def test_in_deal_and_csv_curves_share_one_validation(tmp_path):
    with pytest.raises(InputError, match="from 0% to 100%"):
        make_curve("x", [1.0], [1.5])
    text = SOURCE + '\nanalytics {\n  curve "UST" (1: 4%, 500: 5%)\n}\n'
    with pytest.raises(DealErrors, match="beyond any curve"):
        structurer.loads(text)


# ---- outputs


def test_the_report_never_overwrites_the_deal(tmp_path, capsys):
    deal = _write(tmp_path, SOURCE, "x.waterfall")
    code = cli.main([str(deal), "--report", str(deal)])
    assert code == 2
    assert "never overwritten" in capsys.readouterr().err
    assert deal.read_text(encoding="utf-8") == SOURCE


def test_the_report_never_overwrites_an_input_by_another_name(tmp_path, capsys):
    deal = _write(tmp_path, SOURCE, "x.waterfall")
    link = tmp_path / "x.html"
    link.symlink_to(deal)
    assert cli.main([str(deal), "--report", str(link)]) == 2
    assert cli.main([str(deal)]) == 2  # the default report path x.html is the deal itself
    assert deal.read_text(encoding="utf-8") == SOURCE
    capsys.readouterr()


@pytest.mark.parametrize("option", ["--report", "--cashflows", "--xlsx"])
def test_an_empty_output_path_is_a_usage_error(tmp_path, capsys, option):
    deal = _write(tmp_path, SOURCE, "x.waterfall")
    assert cli.main([str(deal), option, ""]) == 2
    assert capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_cashflows_never_overwrite_the_curve(tmp_path, capsys):
    curve = tmp_path / "ust.csv"
    curve.write_text("tenor,yield\n1,4\n10,4.5\n", encoding="utf-8")
    deal = _write(tmp_path, SOURCE, "x.waterfall")
    code = cli.main([str(deal), "--no-report", "--curve", str(curve), "--cashflows", str(curve)])
    assert code == 2
    assert curve.read_text(encoding="utf-8").startswith("tenor,yield")
    capsys.readouterr()


# ---- sub-commands


def test_sub_commands_and_the_short_form(capsys):
    assert cli.main(["check", str(SEQUENTIAL)]) == 0
    assert cli.main(["run", str(SEQUENTIAL), "--no-report", "--json"]) == 0
    assert cli.main([str(SEQUENTIAL), "--no-report", "--json"]) == 0
    assert cli.main(["check"]) == 2
    assert cli.main([]) == 2
    assert cli.main(["--help"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("args", [["--index", "SOFR=nan%"], ["--yield", "nan"], ["--yield", "inf%"],
                                  ["--price", "nan"], ["--price", "1e308"], ["--spread", "inf"]])
def test_non_finite_quotes_and_index_levels_are_usage_errors(capsys, args):
    deal = ROOT / "deals" / "floater.waterfall"
    assert cli.main([str(deal), "--no-report", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("usable" in err or "index level" in err)


def test_a_list_of_200000_items_over_many_lines_is_refused_early(tmp_path, capsys):
    items = ",\n".join(", ".join(["100"] * 200) for _ in range(1_000))
    text = SOURCE.replace("decrement 0,", "decrement " + items + ", 0,")
    code, err = _check(capsys, _write(tmp_path, text))
    assert code == 1
    assert "a list of more than 10,000 items" in err
    line, _ = _position(err)
    assert line < _line_of(text, "scenario \"slow\"")  # found while reading the list, not after it


def test_a_scenario_named_through_the_api_cannot_hold_a_control_character():
    with pytest.raises(InputError, match="control character"):
        Prepayment.constant(165, "PSA").named("burn\x1b[2Jout")
    assert Prepayment.constant(165, "PSA").named("burnout").label == "burnout"


def test_a_bare_number_takes_the_unit_written_after_it():
    assert parse_speeds("0, 100, 165 PSA") == [Prepayment.constant(v, "PSA") for v in (0, 100, 165)]
    assert parse_speeds("6, 8 CPR, 200", "PSA") == [
        Prepayment.constant(6, "CPR"), Prepayment.constant(8, "CPR"), Prepayment.constant(200, "PSA")]
    with pytest.raises(InputError, match="not a prepayment speed"):
        parse_speeds("90, 300")


def test_a_speed_option_takes_its_own_unit_only(capsys):
    assert cli.main([str(SEQUENTIAL), "--no-report", "--psa", "100,6 CPR"]) == 2
    assert "--cpr" in capsys.readouterr().err
    assert cli.main([str(SEQUENTIAL), "--no-report", "--json", "--psa", "100 PSA,165"]) == 0
    capsys.readouterr()
