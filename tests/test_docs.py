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
import shlex
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
    return _lay_out(tmp_path_factory.mktemp("guide"))


def _lay_out(where: Path) -> Path:
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
    sequential = (ROOT / "deals" / "sequential.waterfall").read_text(encoding="utf-8")
    (where / "deals" / "bad.waterfall").write_text(
        sequential.replace("pay D until retired", "pay E until retired"), encoding="utf-8")
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


# --- The commands: every ```text block that starts with `$ structure ...` -------------------------

COMMAND_PAGES = (ROOT / "README.md", GUIDE, ROOT / "docs" / "language.md")
ANY_BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
EXIT = re.compile(r"\[exit (\d+)\]")


def _commands() -> list[tuple[Path, int, str, str]]:
    """(page, line, command, shown output) for each `$ structure ...` line of the pages; a block may
    hold several commands, each followed by its output up to the next `$` line."""
    found = []
    for path in COMMAND_PAGES:
        text = path.read_text(encoding="utf-8")
        for m in ANY_BLOCK.finditer(text):
            if m.group(1) not in ("", "text") or not m.group(2).startswith("$ "):
                continue
            first = text.count("\n", 0, m.start()) + 2
            lines = m.group(2).rstrip("\n").split("\n")
            starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
            for k, i in enumerate(starts):
                if not lines[i].startswith("$ structure "):
                    continue
                end = starts[k + 1] if k + 1 < len(starts) else len(lines)
                shown = "\n".join(lines[i + 1:end]).rstrip("\n")
                found.append((path, first + i, lines[i][2:], shown))
    return found


def _run(command: str) -> tuple[int, str]:
    """Run a `structure ...` line in-process, stdout and stderr together as a pipe would show them;
    piped, the CLI prints 140 characters wide, as the guide's outputs were captured."""
    from structurer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(shlex.split(command)[1:])
        except SystemExit as exc:  # argparse's own usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue()


COMMANDS = _commands()


@pytest.mark.parametrize("path, line, command, shown", COMMANDS,
                         ids=[f"{p.name}:{line}" for p, line, _, _ in COMMANDS])
def test_the_command_prints_what_the_page_shows(folder, monkeypatch, path, line, command, shown):
    monkeypatch.chdir(folder)
    monkeypatch.setenv("COLUMNS", "140")
    code, printed = _run(command)
    want_code = 0
    lines = shown.split("\n")
    if lines and EXIT.fullmatch(lines[-1].strip()):
        want_code = int(EXIT.fullmatch(lines[-1].strip()).group(1))
        shown = "\n".join(lines[:-1])
    assert code == want_code, f"{path.name}:{line} `{command}` exited {code}:\n{printed}"
    assert _matches(printed, shown), f"{path.name}:{line} `{command}` printed:\n{printed}"


def test_every_page_has_its_commands_tested():
    """The extraction finds the commands the pages show (a change of fence would silently drop them)."""
    pages = {p.name for p, _, _, _ in COMMANDS}
    assert {"README.md", "guide.md"} <= pages
    assert len(COMMANDS) >= 25


# --- The deals: every ```waterfall block of the language page -----------------------------------

LANGUAGE = ROOT / "docs" / "language.md"
AMOUNT = re.compile(r"balance\s+([\d,.]+)(mm)?")
HEADER = 'deal "DOC" {\n  settle 2027-01-30\n  first payment 2027-02-25\n  delay 24 days\n}\n'
POOL = 'collateral {{\n  pool {name} {{ balance {balance}  wac {wac}%  coupon {coupon}%  term 360 }}\n}}\n'


def _amount(m: re.Match) -> float:
    return float(m.group(1).replace(",", "")) * (1e6 if m.group(2) else 1)


def _section(text: str, name: str) -> str:
    """The `name { ... }` block of a deal text, braces balanced, or ''."""
    m = re.search(rf"(?m)^{name}\s*\{{", text)
    if not m:
        return ""
    depth, i = 0, m.end() - 1
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[m.start():i] + "\n"


def _classes_for(waterfall: str) -> list[str]:
    """A class for every name the rules pay, typed as the rules use it, sharing 400mm."""
    names: list[str] = []
    for name in re.findall(r"\b([A-Z][A-Z0-9]*)\b", re.sub(r"PSA|CPR|SMM", "", waterfall)):
        if name not in names:
            names.append(name)
    scheduled = set(re.findall(r"pay ([A-Z]\w*) to schedule", waterfall))
    share = set(re.findall(r"pay ([A-Z]\w*) its share", waterfall))
    accrual = set(re.findall(r"accretion ([A-Z]\w*)", waterfall))
    each = 400_000_000 // len(names)
    classes = []
    for k, n in enumerate(names):
        kind = ("PAC(90 PSA, 300 PSA)" if n in scheduled else "SEQ/NAS  lockout 60 months" if n in share
                else "SEQ/Z" if n in accrual else "SEQ")
        size = each if k < len(names) - 1 else 400_000_000 - each * (len(names) - 1)
        classes.append(f"class {n}  {kind}  balance {size:,}  coupon 7.5%")
    return [*classes, "class R  R"]


def minimal_deal(fragment: str) -> str:
    """The fragment placed into a minimal deal: FJF-01's header (unless the fragment is a header),
    and the collateral, classes, waterfall and scenarios it lacks, made to fit what it has (class
    balances that add up to the collateral, a class for each name its rules pay)."""
    text = re.sub(r"(?m)^\s*#.*\n", "", fragment)
    scenarios = _section(text, "scenarios")
    if re.search(r"(?m)^\s*index ", scenarios):
        # Index paths need a floater to follow them: the floater example deal, with these scenarios.
        floater = (ROOT / "deals" / "floater.waterfall").read_text(encoding="utf-8")
        return floater.replace(_section(floater, "scenarios"), scenarios)
    header = _section(text, "deal") or HEADER
    collateral, waterfall, analytics = (_section(text, s) for s in ("collateral", "waterfall", "analytics"))
    scenarios = scenarios or "scenarios {\n  pricing 165 PSA\n}\n"
    classes = re.findall(r"(?m)^class .*$", text)
    strip = re.search(r'strip of pool ("[^"]*?([\d.]+)") to ([\d.]+)%', text)
    if strip:
        # A discount pool stripped to the target coupon: the rest of its principal is class A's.
        rate, target = float(strip.group(2)), float(strip.group(3))
        collateral = POOL.format(name=strip.group(1), balance="120,000,000", wac=rate + 0.6, coupon=rate)
        classes.append(f"class A  SEQ  balance {120e6 * rate / target:,.2f}  coupon {target}%")
    if waterfall and not classes:
        classes = _classes_for(waterfall)
    elif classes:
        own = [c for c in classes if not re.search(r"\sfrom [A-Za-z]", c)]
        total = sum(_amount(m) for c in own for m in [AMOUNT.search(c)] if m)
        coupon = max(float(c) for c in re.findall(r"coupon\s+([\d.]+)%", text) or ["7.5"])
        collateral = collateral or POOL.format(name='"FN"', balance=f"{total:,.2f}", wac=coupon + 0.6,
                                               coupon=coupon)
        paid = [c.split()[1] for c in own if AMOUNT.search(c) and " notional" not in c]
        waterfall = waterfall or ("waterfall {\n  interest: pay each class its coupon\n  principal {\n"
                                  + "".join(f"    pay {n} until retired\n" for n in paid) + "  }\n}\n")
        if not any(c.split()[2].upper() == "R" for c in classes):
            classes.append("class R  R")
    else:
        collateral = collateral or POOL.format(name='"FN 7.5"', balance="400,000,000", wac=8.125, coupon=7.5)
        total = sum(_amount(m) for m in AMOUNT.finditer(collateral))
        coupon = min(float(c) for c in re.findall(r"coupon\s+([\d.]+)%", collateral))
        classes = [f"class {n}  SEQ  balance {total / 4:,.2f}  coupon {coupon}%" for n in "ABCD"]
        classes.append("class R  R")
        waterfall = ("waterfall {\n  interest: pay each class its coupon\n"
                     "  principal: pay A then B then C then D\n}\n")
    collateral = collateral or POOL.format(name='"FN 7.5"', balance="400,000,000", wac=8.125, coupon=7.5)
    return "\n".join([header, collateral, "\n".join(classes) + "\n", waterfall, scenarios, analytics])


def _deals() -> list[tuple[int, str, dict[str, str]]]:
    """(line, deal text, files it reads) for each ```waterfall block of the language page. A file the
    block reads (`from "schedules/A.csv"`) is the next ```text block that shows a CSV of that kind."""
    blocks = _blocks(LANGUAGE)
    found = []
    for i, (lang, body, line) in enumerate(blocks):
        if lang != "waterfall":
            continue
        files = {}
        for name in re.findall(r'from "([^"]+\.csv)"', body):
            header = "tenor,yield" if "curve" in body.split(name)[0].splitlines()[-1] else "period,balance"
            files[name] = next(b for lng, b, _ in blocks[i + 1:] if lng == "text" and b.startswith(header))
        found.append((line, body, files))
    return found


DEALS = _deals()


@pytest.mark.parametrize("line, body, files", DEALS, ids=[f"language.md:{line}" for line, _, _ in DEALS])
def test_the_deal_example_checks(tmp_path, line, body, files):
    """A whole deal checks as it is; a fragment checks placed into a minimal deal."""
    import structurer

    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    whole = re.search(r"(?m)^deal ", body) and re.search(r"(?m)^(waterfall|group )", body)
    text = body if whole else minimal_deal(body)
    structurer.loads(text, path=tmp_path / "doc.waterfall")


def test_the_language_page_has_its_deals_tested():
    assert len(DEALS) >= 45


# --- The errors the language page quotes ---------------------------------------------------------

def _deal(name: str, *changes: tuple[str, str]) -> str:
    text = (ROOT / "deals" / f"{name}.waterfall").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, f"deals/{name}.waterfall has no {old!r}"
        text = text.replace(old, new, 1)
    return text


def _page_deal(first_line: str, *changes: tuple[str, str]) -> str:
    """The deal the page shows in a ```text block starting with `first_line`, changed."""
    text = next(b for lang, b, _ in _blocks(LANGUAGE) if lang == "text" and b.startswith(first_line))
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    return text


# (what the page says the deal is, the deal) for each error message the page quotes in full.
QUOTED_ERRORS = [
    ("decrement line of deals/sequential.waterfall written without spaces",
     _deal("sequential", ("decrement 0, 100, 165, 300, 500 PSA", "decrement 0,100,165,300,500 PSA"))),
    ("the pool on line 8 of a deal", minimal_deal(
        'collateral {\n  pool "FN 7.5" { balance 400,000,000  wac 8.125%  coupon 7.5%  term 360  age 10  '
        'remaining 355 }\n}\n')),
    ("deals/pac.waterfall without its last rule", _deal("pac", ("    pay P until retired\n", ""))),
    ("a P too large for its band", _deal("pac", ("balance 243,800,000", "balance 253,800,000"),
                                          ("balance 156,200,000", "balance 146,200,000"))),
    ("a cap set too high", _deal("floater", ("cap 9.5%   floor 0.5%", "cap 11%   floor 0.5%"))),
    ("a constant that is off", _deal("floater", ("coupon 28.5% - 3 x SOFR", "coupon 28% - 3 x SOFR"))),
    ("FJF-01 with C split in two, C2 at 7.5%", _deal("sequential", ("coupon 7.5%\nclass D", (
        "coupon 7.5%\nclass C1  FIX  from C  balance 48,250,000  coupon 7%\n"
        "class C2  FIX  from C  balance 48,250,000  coupon 7.5%\nclass D")))),
    ("IP-07 with A at 5%, B at 5.9%, no AI and an IO on the collateral", _deal(
        "io_po", ("class AI  NTL/IO  notional of A  coupon 1.0%\n", ""),
        ("class B   SEQ     balance 140mm  coupon 6.0%\n",
         "class B   SEQ     balance 140mm  coupon 5.9%\n"
         "class C   NTL/IO  notional of collateral  coupon 0.1%\n"))),
    ("FJF-01 with B at 8.5%", _deal("sequential", ("balance  36,000,000  coupon 7.5%",
                                                   "balance  36,000,000  coupon 8.5%"))),
    ("HE-01 with a floor above its target",
     _deal("home_equity", ("target 3.1% of original", "target 3% of original"),
           ("floor 0.5% of original", "floor 4% of original"))),
    ("the deal T", _page_deal('deal "T"')),
    ("the deal PR-09", _page_deal('deal "PR-09"')),
    ("PR-09 with line 20 `pay B until retird`",
     _page_deal('deal "PR-09"', ("    pay b until retired\n", "    pay B until retird\n"))),
    ("PR-09 with line 19 `pay A1 and A2 prorata`",
     _page_deal('deal "PR-09"', ("    pay A1 60%, A2 45% pro rata\n", "    pay A1 and A2 prorata\n"))),
]


def _quoted() -> list[str]:
    """The ```text blocks of the page that start with an error, dedented."""
    import textwrap

    return [textwrap.dedent(b).rstrip("\n") for lang, b, _ in _blocks(LANGUAGE)
            if lang == "text" and b.lstrip().startswith("error:")]


@pytest.mark.parametrize("what, text", QUOTED_ERRORS, ids=[w for w, _ in QUOTED_ERRORS])
def test_the_deal_fails_with_the_error_the_page_quotes(what, text):
    """The error a changed deal gives is quoted on the page in full, or its first line where the
    page quotes only that."""
    import structurer
    from structurer.errors import StructurerError

    with pytest.raises(StructurerError) as raised:
        structurer.loads(text)
    rendered = "\n".join(line.rstrip() for line in str(raised.value).rstrip("\n").splitlines())
    quoted = _quoted()
    shown = rendered in quoted or rendered.splitlines()[0] in quoted
    assert shown, f"{what}: the page does not show\n{rendered}"


# (the deal, the only error it gives) for what the page's Errors and Index rates sections say in prose.
PROSE_ERRORS = [
    (_deal("sequential", ("  pricing 165 PSA", "  pricing 165 PSA\n  index SOFR 4%")),
     "error: no class floats on index 'SOFR'"),
    (_deal("sequential", ("  pricing 165 PSA", "  pricing 165 PSA with SOFR 6%")),
     "error: no class floats on index 'SOFR'"),
    (_deal("nas", ("    pay N until retired\n", "")),
     "error: class N is only paid to its schedule, its share or when a trigger holds: principal it cannot "
     "take would go to the residual"),
    (_deal("pac", ("delay 24 days", "delay 24 months")),
     "error: the payment delay is a whole number of days"),
    (_deal("pac", ("balance 243,800,000", "balance 243,800,001")),
     "error: the class balances add up to 400,000,001.00, 1.00 more than the collateral balance of "
     "400,000,000.00"),
]


@pytest.mark.parametrize("text, headline", PROSE_ERRORS, ids=[h[7:40] for _, h in PROSE_ERRORS])
def test_the_deal_gives_only_the_error_the_page_names(text, headline):
    import structurer
    from structurer.errors import StructurerError

    with pytest.raises(StructurerError) as raised:
        structurer.loads(text)
    headlines = [line for line in str(raised.value).splitlines() if line.startswith("error:")]
    assert headlines == [headline]
    assert headline[7:] in re.sub(r"\s+", " ", LANGUAGE.read_text(encoding="utf-8"))


def test_a_schedule_file_that_skips_a_period_gives_the_error_the_page_quotes(tmp_path, monkeypatch):
    """deals/x.waterfall (the page's schedule-file class on line 9) with the page's CSV less period 2."""
    import structurer
    from structurer.errors import StructurerError

    monkeypatch.chdir(tmp_path)
    line, body, files = next(d for d in DEALS if 'schedule from "schedules/A.csv"' in d[1])
    (tmp_path / "deals" / "schedules").mkdir(parents=True)
    csv = files["schedules/A.csv"]
    assert "2,98000000\n" in csv
    (tmp_path / "deals" / "schedules" / "A.csv").write_text(csv.replace("2,98000000\n", ""), encoding="utf-8")
    deal = "\n".join(x for x in minimal_deal(body).splitlines() if x.strip())
    with pytest.raises(StructurerError) as raised:
        structurer.loads(deal, path=Path("deals/x.waterfall"))
    rendered = "\n".join(x.rstrip() for x in str(raised.value).rstrip("\n").splitlines())
    assert rendered in _quoted(), rendered
