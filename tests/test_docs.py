"""The Python examples of the README and docs/guide.md run, and print what the page shows.

Each ```python block is run in a folder laid out as docs/guide.md says its examples were (a
copy of deals/, the Treasury curve file `ust.csv` and the example deals with an `analytics`
block, all taken from the page itself); where the page shows the output in the ```text block
that follows, the printed lines must match it exactly (lines ending in `...` are cut on the
page and match any continuation)."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in BLOCK.finditer(text)]


def _examples() -> list[tuple[Path, int, str, str | None]]:
    found = []
    for path in (ROOT / "README.md", GUIDE):
        blocks = _blocks(path)
        for i, (lang, body, line) in enumerate(blocks):
            if lang != "python":
                continue
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            is_output = following is not None and following[0] == "text" and not following[1].startswith("$")
            shown = following[1] if is_output else None
            found.append((path, line, body, shown))
    return found


def _analytics_block(after: str) -> str:
    """The ```waterfall block that follows the sentence `after` in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(after)
    return BLOCK.search(text, start).group(2)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The folder the guide's examples were run in."""
    where = tmp_path_factory.mktemp("guide")
    shutil.copytree(ROOT / "deals", where / "deals")
    text = GUIDE.read_text(encoding="utf-8")
    ust = text[text.index("$ cat ust.csv\n") + len("$ cat ust.csv\n"):]
    (where / "ust.csv").write_text(ust[: ust.index("```")], encoding="utf-8")
    for made, base, sentence in [
        ("priced", "sequential", "`deals/priced.waterfall` is"),
        ("io_po_priced", "io_po", "`deals/io_po_priced.waterfall` is"),
        ("floater_priced", "floater", "`deals/floater_priced.waterfall` is"),
    ]:
        source = (ROOT / "deals" / f"{base}.waterfall").read_text(encoding="utf-8")
        (where / "deals" / f"{made}.waterfall").write_text(source + "\n" + _analytics_block(sentence),
                                                            encoding="utf-8")
    (where / "out").mkdir()
    return where


def _matches(printed: str, shown: str) -> bool:
    """The printed lines equal the shown ones; a shown line `...` stands for any rows (cut on the
    page), a shown line ending in `...` for any line that starts like it."""
    got = [g.rstrip() for g in printed.rstrip("\n").splitlines()]
    want = [w.rstrip() for w in shown.rstrip("\n").splitlines()]

    def match(g: int, w: int) -> bool:
        if w == len(want):
            return g == len(got)
        if want[w] == "...":
            return any(match(k, w + 1) for k in range(g, len(got) + 1))
        if g == len(got):
            return False
        line, pattern = got[g], want[w]
        same = line.startswith(pattern[:-3]) if pattern.endswith("...") else line == pattern
        return same and match(g + 1, w + 1)

    return match(0, 0)


EXAMPLES = _examples()


@pytest.mark.parametrize("path, line, code, shown", EXAMPLES,
                         ids=[f"{p.name}:{line}" for p, line, _, _ in EXAMPLES])
def test_the_example_runs_and_prints_what_the_page_shows(folder, monkeypatch, path, line, code, shown):
    monkeypatch.chdir(folder)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{path.name}:{line}", "exec"), {"__name__": "__doc_example__"})
    if shown is not None:
        assert _matches(out.getvalue(), shown), f"{path.name}:{line} printed:\n{out.getvalue()}"
