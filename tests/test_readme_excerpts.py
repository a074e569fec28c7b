"""The README's statement and ledger excerpts are what the commands write (an abridged line
shows some columns: each one shown must equal the file's)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from structurer.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _excerpts() -> list[list[dict[str, str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("A statement line of class A")
    blocks = re.findall(r"```csv\n(.*?)```", text[start:], re.S)[:2]
    return [list(csv.DictReader(io.StringIO(b))) for b in blocks]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _same(shown: dict[str, str], written: dict[str, str]) -> None:
    for key, value in shown.items():
        try:
            assert float(written[key]) == pytest.approx(float(value), rel=1e-12, abs=1e-9), key
        except ValueError:
            assert written[key] == value, key


def test_statement_and_ledger_excerpts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    statement, ledger = _excerpts()
    assert statement and ledger
    monkeypatch.chdir(ROOT)
    deal = "deals/sequential.waterfall"
    assert main([deal, "--no-report", "--statement", str(tmp_path / "s.csv"), "--period", "3"]) == 0
    assert main([deal, "--no-report", "--holders", "deals/holders_A.csv", "--class", "A", "--units", "1000",
                 "--decimals", "6", "--ledger", str(tmp_path / "l.csv")]) == 0
    capsys.readouterr()
    written = {(r["class"], r["period"]): r for r in _rows(tmp_path / "s.csv")}
    for line in statement:
        _same(line, written[(line["class"], line["period"])])
    held = {(r["period"], r["holder"]): r for r in _rows(tmp_path / "l.csv")}
    for line in ledger:
        _same(line, held[(line["period"], line["holder"])])
