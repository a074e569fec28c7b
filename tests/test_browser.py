"""The report in a real browser: headless Chromium opens it from a file:// URL with no network,
logs no console message (no script error, no SVG the browser rejects), and shows the cover
table on a page that is not blank.

Chromium's own log (--enable-logging=stderr --v=0) carries every console message of the page
as an 'INFO:CONSOLE' line, uncaught exceptions included; the canary test below proves that on
a page made to fail, so that a quiet log means a clean page and not a deaf check.

The printed report is read back from a PDF with pdftotext (poppler-utils): every cash-flow
table, collapsed on screen, is on paper in full.

Skipped, with the reason, when no Chromium is installed (CI installs Debian's: see .ci/run); the
print test also when pdftotext is missing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.present.report import write_report

DEALS = Path(__file__).resolve().parent.parent / "deals"
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
PDFTOTEXT = shutil.which("pdftotext")
TIMEOUT = 120  # seconds for one browser run; a cold start in CI takes a few

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on PATH (chromium, chromium-browser or google-chrome): "
           "apt-get install chromium to run the browser tests")


def chromium(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on `url` with a throwaway profile and no network services."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
            "--hide-scrollbars", *args, url,
        ]
        env = {**os.environ, "LANG": "C.UTF-8"}
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)


def console_messages(stderr: str) -> list[str]:
    """The page's console lines in Chromium's log: console.* calls and uncaught exceptions."""
    return [line for line in stderr.splitlines()
            if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    deal = structurer.load(DEALS / "pac.waterfall")
    path = tmp_path_factory.mktemp("browser") / "pac.html"
    return write_report(deal.run(), path, decrement=deal.run(*deal.decrement))


def test_console_is_heard(tmp_path: Path) -> None:
    """The canary: a page with a console error and an uncaught exception is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><p>x</p><script>console.error("canary-7");'
                    "notDefinedAnywhere();</script></body></html>", encoding="utf-8")
    run = chromium(page.as_uri(), "--dump-dom", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    messages = console_messages(run.stderr)
    assert any("canary-7" in line for line in messages), run.stderr[-2000:]
    assert any("Uncaught ReferenceError" in line for line in messages), run.stderr[-2000:]


def test_report_opens_without_console_messages(report: Path) -> None:
    run = chromium(report.as_uri(), "--dump-dom", cwd=report.parent)
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    dom = run.stdout
    # The browser parsed the whole document: the cover table, every chart, the last section.
    assert '<table class="cover" data-scenario="165 PSA">' in dom
    for name in ("P", "S", "PI", "R"):
        assert f'<tr data-class="{name}">' in dom
    assert dom.count("<svg ") == len(re.findall(r"<figure class=\"chart", dom)) >= 4
    assert 'id="source"' in dom and "</footer>" in dom


def test_screenshot_shows_the_report(report: Path, tmp_path: Path) -> None:
    import matplotlib.image

    shot = tmp_path / "report.png"
    run = chromium(report.as_uri(), f"--screenshot={shot}", "--window-size=1280,1400",
                   cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    assert shot.exists() and shot.stat().st_size > 10_000
    image = matplotlib.image.imread(shot)  # float RGB(A) in [0, 1], rows top down
    assert image.shape[:2] == (1400, 1280)
    top = image[:700, :, :3].reshape(-1, 3)
    colours = np.unique(np.round(top * 255).astype(np.uint8), axis=0)
    assert len(colours) > 50  # text, rules and shading, not a blank or one-colour page
    # The page's white sheet and its dark ink are both there.
    assert (top.min(axis=1) > 0.97).mean() > 0.3
    assert (top.max(axis=1) < 0.35).any()


def _words(text: str) -> str:
    return " ".join(text.split())


def cash_flow_tables(page: str) -> dict[str, list[list[str]]]:
    """Each cash-flow table of the report's HTML by its <details>' name ('collateral' for the
    first): its body rows as lists of cell text."""
    section = page[page.index('<section class="flows"'):]
    section = section[:section.index("</section>")]
    tables = {}
    for block in re.findall(r"<details(?: data-class=\"([^\"]+)\")?>(.*?)</details>", section, re.S):
        name, body = block
        rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[-1], re.S)
        tables[name or "collateral"] = [
            [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]
    return tables


@pytest.mark.skipif(PDFTOTEXT is None,
                    reason="no pdftotext on PATH: apt-get install poppler-utils to run the print test")
def test_printed_report_holds_every_cash_flow_row(report: Path, tmp_path: Path) -> None:
    """Printed to PDF, the report holds each cash-flow table's rows though they are collapsed on
    screen: the first and last period of each table, cell for cell, and as many rows as periods."""
    pdf = tmp_path / "report.pdf"
    run = chromium(report.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer", cwd=tmp_path)
    assert run.returncode == 0 and pdf.exists(), run.stderr[-2000:]
    read = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert read.returncode == 0, read.stderr
    lines = [_words(line) for line in read.stdout.splitlines()]
    printed = set(lines)
    tables = cash_flow_tables(report.read_text(encoding="utf-8"))
    assert set(tables) == {"collateral", "P", "S", "PI", "R"}
    assert tables["R"] == []  # the residual has no cash at the pricing speed: no table to print
    del tables["R"]
    for name, rows in tables.items():
        body = [row for row in rows if row]
        assert len(body) > 100, name  # a 30-year deal's table, not an empty one
        for row in (body[0], body[1], body[-1]):
            assert " ".join(row) in printed, f"{name}: row {row} is not in the printed report"
        # Every period of the table, not only its ends: its period numbers in order in the text.
        periods = [row[0] for row in body]
        assert periods == [str(p) for p in range(1, len(body) + 1)], name
    # Each table's first row was matched above; all rows together: one printed line per row.
    every_row = [" ".join(row) for rows in tables.values() for row in rows if row]
    assert sum(line in printed for line in every_row) == len(every_row)


@pytest.mark.skipif(PDFTOTEXT is None,
                    reason="no pdftotext on PATH: apt-get install poppler-utils to run the print test")
def test_a_summarised_report_prints_its_tables_by_year_and_by_scenario(tmp_path: Path) -> None:
    """A deal over the cash-flow budget run at more scenarios than the report lists: opened, it
    logs nothing; printed, its notes of what was left out, every row of its cash flows by year and
    of its WAL by scenario are on paper."""
    from conftest import script_module

    from structurer.analysis import budget
    from structurer.analysis.plan import report_plan
    from structurer.present.report import write

    with script_module(DEALS.parent / "benchmarks" / "gen300.py", "gen300") as gen:
        deal = structurer.loads(gen.sequential_deal(budget.CASHFLOW_CELLS_MONTHLY // 360))
    run = deal.run(*[f"{k * 5} PSA" for k in range(budget.SCENARIOS_LISTED + 1)])
    plan = report_plan(run, deal.run(*deal.decrement))
    assert plan.yearly is not None and plan.scenarios is not None
    page = write(plan, tmp_path / "large.html")
    shown = chromium(page.as_uri(), "--screenshot=" + str(tmp_path / "large.png"), "--window-size=1280,1400",
                     cwd=tmp_path)
    assert shown.returncode == 0 and console_messages(shown.stderr) == [], shown.stderr[-2000:]
    pdf = tmp_path / "large.pdf"
    printed_run = chromium(page.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer", cwd=tmp_path)
    assert printed_run.returncode == 0 and pdf.exists(), printed_run.stderr[-2000:]
    read = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    text = _words(read.stdout)
    printed = {_words(line) for line in read.stdout.splitlines()}
    assert "This run has 101 scenarios" in text and "By year: this deal has" in text
    source = page.read_text(encoding="utf-8")
    section = source[source.index('<section class="flows"'):]
    rows = [[html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(<td>.*?)</tr>", section[:section.index("</section>")])]
    assert len(rows) > 100
    assert all(" ".join(row) in printed for row in rows), [r for r in rows if " ".join(r) not in printed][:3]
    by_scenario = "".join(re.findall(r'<table class="measures by-scenario">(.*?)</table>', source, re.S))
    listed = re.findall(r'<tr><th scope="row">([^<]*)</th>((?:<td>[^<]*</td>)+)</tr>', by_scenario)
    assert len(listed) == budget.SCENARIOS_LISTED * 6  # 55 classes: 6 tables of 10 classes or fewer
    for key, cells in listed[:3] + listed[-3:]:
        assert " ".join([key, *re.findall(r"<td>([^<]*)</td>", cells)]) in printed
