"""The command line as a user meets it: several deals in one call, the help's usage lines, the
terminal's titles, --json's outputs, and the test run's own skip reasons."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from structurer.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"
BAD = 'deal "Broken" {\n  settle 2027-01-30\n  bogus\n}\n'


@pytest.fixture
def deals(tmp_path: Path) -> Path:
    """Two good deals and a bad one, copied so their default reports land in a throwaway folder."""
    for name in ("pac", "sequential"):
        shutil.copy(DEALS / f"{name}.waterfall", tmp_path)
    (tmp_path / "bad.waterfall").write_text(BAD, encoding="utf-8")
    return tmp_path


def test_several_deals_each_get_a_summary(deals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(deals / "pac.waterfall"), str(deals / "sequential.waterfall")]
    assert main(paths) == 0
    out = capsys.readouterr().out
    assert out.index("FJF-02") < out.index("FJF-01")  # in the order given
    assert out.count("collateral WAL") == 2
    assert (deals / "pac.html").exists() and (deals / "sequential.html").exists()


def test_a_failing_deal_does_not_stop_the_others(deals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(deals / n) for n in ("pac.waterfall", "bad.waterfall", "sequential.waterfall")]
    assert main([*paths, "--no-report"]) == 1
    captured = capsys.readouterr()
    assert "FJF-02" in captured.out and "FJF-01" in captured.out  # before and after the bad one
    assert "bad.waterfall:3:3" in captured.err and "unexpected 'bogus'" in captured.err
    assert "Traceback" not in captured.err
    assert "not every deal ran cleanly (3 given)" in captured.err


def test_check_takes_several_deals(deals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [str(deals / "pac.waterfall"), str(deals / "sequential.waterfall")]
    assert main(["check", *good]) == 0
    assert capsys.readouterr().out.count(" checks: ") == 2
    assert main(["check", str(deals / "bad.waterfall"), *good]) == 1
    captured = capsys.readouterr()
    assert captured.out.count(" checks: ") == 2 and "bad.waterfall:3:3" in captured.err


@pytest.mark.parametrize("option", [["--report", "x.html"], ["--cashflows", "x.csv"], ["--xlsx", "x.xlsx"]])
def test_one_output_file_for_several_deals_is_a_usage_error(
        deals: Path, option: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(deals / "pac.waterfall"), str(deals / "sequential.waterfall")]
    assert main([*paths, *option]) == 2
    assert f"{option[0]} names one file, and 2 deals were given" in capsys.readouterr().err
    assert not (deals / "pac.html").exists()  # refused before anything ran


def test_help_usage_lists_the_sub_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage == "usage: structure [-h] [--version] {" + ",".join(COMMANDS) + "} ..."


@pytest.mark.parametrize("command", COMMANDS)
def test_each_sub_command_help_names_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: structure {command} [-h]")


def test_the_installed_script_help_names_its_sub_command() -> None:
    """Through the console script, as a user runs it: argparse takes its name from argv[0]
    unless told, and `python -m` would say `__main__.py`."""
    script = Path(sys.executable).parent / "structure"
    if not script.exists():
        pytest.skip(f"no structure script beside {sys.executable} (the package is not installed there)")
    run = subprocess.run([str(script), "check", "--help"], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.startswith("usage: structure check "), run.stdout


@pytest.mark.parametrize(("deal", "args"), [
    ("pac", ["--psa", "100,165", "--price", "100", "--tables"]),
    ("sequential", ["--scenario", "slow", "--cpr", "6"]),
    ("floater", ["--scenario", "SOFR 8%"]),
])
def test_no_terminal_line_ends_in_spaces(deal: str, args: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DEALS / f"{deal}.waterfall"), "--no-report", *args]) == 0
    out = capsys.readouterr().out
    assert "collateral WAL" in out
    trailing = [line for line in out.splitlines() if line != line.rstrip()]
    assert trailing == []


@pytest.mark.parametrize("command", [["tieout"], ["solve", "--max-pac", "P"]])
def test_tieout_and_solve_titles_end_cleanly(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command[0], str(DEALS / "pac.waterfall"), *command[1:]]) == 0
    out = capsys.readouterr().out
    assert out.strip() and [line for line in out.splitlines() if line != line.rstrip()] == []


def test_json_writes_no_report_unless_asked(deals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = deals / "pac.waterfall"
    assert main([str(deal), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deal"] == "FJF-02"
    assert list(deals.glob("*.html")) == []
    report = deals / "asked.html"
    assert main([str(deal), "--json", "--report", str(report)]) == 0
    assert json.loads(capsys.readouterr().out)["deal"] == "FJF-02"
    assert report.exists() and list(deals.glob("*.html")) == [report]


def test_json_for_several_deals_is_a_list(deals: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(deals / n) for n in ("pac.waterfall", "bad.waterfall", "sequential.waterfall")]
    assert main([*paths, "--json"]) == 1
    captured = capsys.readouterr()
    assert [d["deal"] for d in json.loads(captured.out)] == ["FJF-02", "FJF-01"]
    assert "bad.waterfall:3:3" in captured.err
    assert list(deals.glob("*.html")) == []


def test_skipped_tests_say_why_without_being_asked(tmp_path: Path) -> None:
    """The project's pytest settings print each skip's reason, so a run without Chromium says
    that the browser tests were skipped and why (pytest hides reasons unless told)."""
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.skipif(True, reason='no Chromium on PATH: canary-reason-41')\n"
        "def test_skipped():\n    pass\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", str(tmp_path / "test_skips.py")],
        capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SKIPPED" in run.stdout and "canary-reason-41" in run.stdout, run.stdout
