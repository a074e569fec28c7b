"""The report in a real browser: headless Chromium opens it from a file:// URL with no network,
logs no console message (no script error, no SVG the browser rejects), and shows the cover
table on a page that is not blank.

Chromium's own log (--enable-logging=stderr --v=0) carries every console message of the page
as an 'INFO:CONSOLE' line, uncaught exceptions included; the canary test below proves that on
a page made to fail, so that a quiet log means a clean page and not a deaf check.

Skipped, with the reason, when no Chromium is installed (CI installs Debian's: see .ci/run).
"""

from __future__ import annotations

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
