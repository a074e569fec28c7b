"""Fuzz the deal language: mutated deal files must never give a traceback, a hang, or an error
without a position, and a mutated deal that checks must run with its cash conserved.

    python benchmarks/fuzz_deals.py [--cases 10000] [--seed 8] [--budget 10]

prints the counts of each outcome and the wall time. tests/test_fuzz.py runs a few hundred of
the same cases in the normal suite.

The generator is seeded: case i of seed s is always the same bytes. Each case is one of the
example deals (deals/*.waterfall, plus a deal with a by-balance group inside a fixed-share group,
the shape of issue 8's principal leak) with one to three mutations: tokens and lines deleted,
duplicated or swapped, numbers made huge, parentheses nested deep, control characters and
non-UTF-8 bytes inserted, the file truncated, keywords dropped in at random; and a deal that
reads a schedule and a curve from CSV files has those files mutated too. Sizes are bounded
(no mutation adds more than a few kB), so a case that takes longer than the budget is a hang.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"

# A by-balance group inside a fixed-share group: at 100 CPR the fixed-share loop of issue 8 sent
# principal to the residual while C still had balance.
LEAKING_DEAL = """deal "LEAK" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }
collateral { pool "p" { balance 250,000,000  wac 6%  coupon 5.5%  term 360  age 0 } }
class A SEQ balance 53,446,788 coupon 5.5%
class B SEQ balance 15,000,492 coupon 5.5%
class C SEQ balance 181,552,720 coupon 5.5%
class R R
waterfall {
  interest: pay each class its coupon
  principal { pay (A and B pro rata) 50%, C 50% pro rata }
}
scenarios { pricing 1670 PSA }
"""

# Words of the language, dropped in at random.
KEYWORDS = ("deal", "class", "pool", "pay", "until", "retired", "pro", "rata", "then", "and",
            "waterfall", "principal", "interest", "scenarios", "pricing", "decrement", "scenario",
            "balance", "coupon", "schedule", "from", "to", "its", "share", "PAC", "SUP", "Z", "IO",
            "PO", "NAS", "FLT", "INV", "R", "SEQ", "ramp", "over", "months", "vector", "curve",
            "analytics", "PSA", "CPR", "SMM", "%", "bp", "mm", "days", "{", "}", "(", ")", ",", ":",
            "cap", "floor", "notional", "of", "lockout", "shift", "strip", "accretion", "when",
            "prepayments", "above", "sticky", "settle", "delay", "day count 30/360", "sequentially")
HUGE = ("9" * 310, "1" + "0" * 20, "999,999,999,999,999,999", "1e308", "0", "0.0000001",
        "4294967296", "100000", "99999999999999")
CONTROL = ("\x1b[2J", "\x00", "\x07", "\x7f", "\u202e", "\x0c", "\r")
BAD_BYTES = (b"\xe9", b"\xff", b"\xc3", b"\x80\x80", b"\xed\xa0\x80")

_TOKEN = re.compile(r'"[^"\n]*"|[A-Za-z_][\w/-]*|\d[\d,_.]*%?|\S')
_NUMBER = re.compile(r"\d[\d,_]*(\.\d+)?")


def _csv_deal() -> str:
    """The sequential deal with a PAC schedule and a curve read from CSV files (CSV_FILES)."""
    text = (DEALS / "sequential.waterfall").read_text(encoding="utf-8")
    text = text.replace("class A  SEQ  balance 194,500,000",
                        'class A  PAC  balance 194,500,000 schedule from "sched.csv"')
    text = text.replace("    pay D until retired", "    pay D until retired\n    pay A until retired")
    text = text.replace("pay A until retired\n    pay B", "pay A to schedule\n    pay B")
    return text + '\nanalytics {\n  curve "UST" from "curve.csv"\n}\n'


CSV_FILES = {
    "sched.csv": ("period,balance\n" + "".join(
        f'{k},"{max(194_500_000 - k * 5_402_778, 0):,}"\n' for k in range(1, 37))).encode(),
    "curve.csv": b"tenor,yield\n0.25,4.30\n1,4.10\n2,4.00\n5,4.00\n10,4.20\n30,4.50\n",
    # deals/tape.waterfall's loan tape, so that deal checks beside its copy (and the tape is fuzzed)
    "tape_loans.csv": (DEALS / "tape_loans.csv").read_bytes(),
}


def base_deals() -> list[tuple[str, str]]:
    """(name, text) of every deal the fuzzer mutates."""
    deals = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(DEALS.glob("*.waterfall"))]
    return deals + [("leak.waterfall", LEAKING_DEAL), ("csv.waterfall", _csv_deal())]


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _m_delete_token(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    if not toks:
        return text
    t = rng.choice(toks)
    return _splice(text, t.start(), t.end(), "")


def _m_duplicate_token(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    if not toks:
        return text
    t = rng.choice(toks)
    return _splice(text, t.start(), t.end(), t.group() + " " + t.group())


def _m_swap_tokens(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    if len(toks) < 2:
        return text
    i = rng.randrange(len(toks) - 1)
    a, b = toks[i], toks[i + 1]
    return text[:a.start()] + b.group() + text[a.end():b.start()] + a.group() + text[b.end():]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _m_delete_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def _m_duplicate_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return "\n".join(lines)


def _m_swap_lines(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _m_huge_number(rng: random.Random, text: str) -> str:
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return text
    n = rng.choice(numbers)
    return _splice(text, n.start(), n.end(), rng.choice(HUGE))


def _m_other_number(rng: random.Random, text: str) -> str:
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return text
    n = rng.choice(numbers)
    value = rng.choice([0, 1, 2, 12, 30, 100, 101, 360, 361, 600, 601, 1000, 5000, 100000, 100001])
    return _splice(text, n.start(), n.end(), str(value))


def _m_nesting(rng: random.Random, text: str) -> str:
    # Around a class name in a principal rule where there is one, else anywhere.
    pays = list(re.finditer(r"pay\s+([A-Za-z][\w-]*)", text))
    depth = rng.choice([2, 10, 49, 50, 51, 100, 200, 1000])
    if pays:
        m = rng.choice(pays)
        return _splice(text, m.start(1), m.end(1), "(" * depth + m.group(1) + ")" * depth)
    at = rng.randrange(len(text) + 1)
    return _splice(text, at, at, "(" * depth + ")" * depth)


def _m_control(rng: random.Random, text: str) -> str:
    strings = list(re.finditer(r'"[^"\n]*"', text))
    if strings and rng.random() < 0.7:
        s = rng.choice(strings)
        at = rng.randrange(s.start() + 1, s.end())
    else:
        at = rng.randrange(len(text) + 1)
    return _splice(text, at, at, rng.choice(CONTROL))


def _m_keyword(rng: random.Random, text: str) -> str:
    toks = _tokens(text)
    at = rng.choice(toks).start() if toks else 0
    return _splice(text, at, at, rng.choice(KEYWORDS) + " ")


def _m_truncate(rng: random.Random, text: str) -> str:
    return text[:rng.randrange(len(text) + 1)]


def _m_long_list(rng: random.Random, text: str) -> str:
    # A long one-line list (bounded: the parser is linear, the line limit stops the longest).
    m = re.search(r"decrement\s+", text)
    items = ", ".join(["100"] * rng.choice([10, 500, 4000, 8000]))
    if m:
        return _splice(text, m.end(), m.end(), items + ", ")
    return text + "\n# " + items + "\n"


MUTATIONS: tuple[Callable[[random.Random, str], str], ...] = (
    _m_delete_token, _m_duplicate_token, _m_swap_tokens, _m_delete_line, _m_duplicate_line,
    _m_swap_lines, _m_huge_number, _m_other_number, _m_nesting, _m_control, _m_keyword,
    _m_truncate, _m_long_list,
)


# What users do to CSV files: Excel's BOM, semicolons, Latin-1, nan and inf cells, huge numbers,
# rows lost or repeated, the file cut short.
CSV_MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    lambda rng, data: b"\xef\xbb\xbf" + data,
    lambda rng, data: data.replace(b",", b";"),
    lambda rng, data: data.replace(b"\n", b"\r\n"),
    lambda rng, data: _csv_cell(rng, data, rng.choice([b"nan", b"inf", b"-inf", b"-4.1", b"150", b"1e308",
                                                       b"9" * 310, b"", b"x", b"\xe9", b"0"])),
    lambda rng, data: b"\n".join(line for line in data.split(b"\n") if rng.random() > 0.2),
    lambda rng, data: data[:rng.randrange(len(data) + 1)],
    lambda rng, data: data + data.split(b"\n", 2)[1] + b"\n",
    lambda rng, data: b"",
)


def _csv_cell(rng: random.Random, data: bytes, new: bytes) -> bytes:
    lines = data.split(b"\n")
    row = rng.randrange(len(lines))
    cells = lines[row].split(b",")
    cells[rng.randrange(len(cells))] = new
    lines[row] = b",".join(cells)
    return b"\n".join(lines)


def make_case(seed: int, index: int, deals: list[tuple[str, str]]) -> tuple[str, bytes, dict[str, bytes]]:
    """Case `index` of `seed`: (description, the bytes of the deal file, the CSV files beside it)."""
    rng = random.Random(seed * 1_000_003 + index)
    name, text = deals[rng.randrange(len(deals))]
    files = dict(CSV_FILES)
    applied = []
    if name == "csv.waterfall" and rng.random() < 0.6:
        target = rng.choice(sorted(files))
        choice = rng.randrange(len(CSV_MUTATIONS))
        files[target] = CSV_MUTATIONS[choice](rng, files[target])
        applied.append(f"{target} mutation {choice}")
        if rng.random() < 0.5:
            return f"{name} case {index}: {', '.join(applied)}", text.encode("utf-8"), files
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        text = mutation(rng, text)
        applied.append(mutation.__name__.removeprefix("_m_"))
    data = text.encode("utf-8")
    if rng.random() < 0.04:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice(BAD_BYTES) + data[at:]
        applied.append("bad_byte")
    return f"{name} case {index}: {', '.join(applied)}", data, files


class _Hang(BaseException):
    """Raised by the alarm: BaseException, so no `except Exception` in the code under test eats it."""


@dataclass
class Outcome:
    kind: str  # ok | rejected | unpositioned | traceback | hang | not_conserved
    detail: str = ""


def _positioned(exc: BaseException) -> bool:
    from structurer.errors import DealError, DealErrors

    if isinstance(exc, DealErrors):
        return all(e.span is not None for e in exc.errors)
    return isinstance(exc, DealError) and exc.span is not None


def run_case(path: Path, budget: float, cli_run: bool = False) -> Outcome:
    """Check and run one deal file, through the CLI (`structure check`) and the API; with
    `cli_run`, a deal that runs is also run and printed by `structure DEAL --no-report`."""
    import structurer
    from structurer import cli
    from structurer.engine.audit import EngineError
    from structurer.errors import StructurerError

    def alarm(signum: int, frame: object) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["check", str(path)])
        if code not in (0, 1):
            return Outcome("traceback", f"structure check exited {code}: {err.getvalue()[-300:]}")
        try:
            deal = structurer.load(path)
        except StructurerError as exc:
            if code != 1:
                return Outcome("traceback", "the API refused a deal the CLI accepted")
            return Outcome("rejected") if _positioned(exc) else Outcome("unpositioned", str(exc)[:300])
        if code != 0:
            return Outcome("traceback", "the CLI refused a deal the API accepted")
        speeds = [deal.pricing if deal.pricing is not None else "165 PSA", "100 CPR"]
        try:
            deal.run(*speeds)
        except EngineError as exc:
            return Outcome("not_conserved", str(exc)[:300])
        except StructurerError as exc:
            return Outcome("unpositioned", "run: " + str(exc)[:300])
        if cli_run:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main([str(path), "--no-report", "--psa", "100,1000", "--cpr", "100"])
            if code != 0:
                return Outcome("traceback", f"structure DEAL exited {code}: {err.getvalue()[-300:]}")
        return Outcome("ok")
    except _Hang:
        return Outcome("hang", f"over {budget:g} s")
    except Exception:  # the point of the fuzzer: anything else is a traceback the user would see
        return Outcome("traceback", traceback.format_exc()[-1500:])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(cases: int, seed: int = 8, budget: float = 10.0, start: int = 0,
         on_case: Callable[[str, Outcome], None] | None = None) -> Counter[str]:
    """Run cases start..start+cases-1 of `seed`; the count of each outcome."""
    deals = base_deals()
    counts: Counter[str] = Counter()
    # The compiled code is built (or loaded from numba's cache) before the clock starts: a first
    # run that compiles for longer than the budget is not a hang, and an alarm in the middle of
    # a compilation would leave numba unable to compile that function again in this process.
    for example in sorted(DEALS.glob("*.waterfall")):
        run_case(example, 600.0, cli_run=True)
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(start, start + cases):
            description, data, files = make_case(seed, index, deals)
            path = Path(tmp) / f"case{index}.waterfall"
            path.write_bytes(data)
            for file_name, content in files.items():
                (Path(tmp) / file_name).write_bytes(content)
            try:
                # One case in four also goes through the printing command line.
                outcome = run_case(path, budget, cli_run=index % 4 == 0)
            finally:
                path.unlink(missing_ok=True)
            counts[outcome.kind] += 1
            if on_case is not None:
                on_case(description, outcome)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--start", type=int, default=0, help="the first case index")
    p.add_argument("--budget", type=float, default=10.0, help="seconds a case may take before it is a hang")
    p.add_argument("--show", type=int, default=5, help="failures printed in full")
    ns = p.parse_args(argv)
    shown = 0

    def report(description: str, outcome: Outcome) -> None:
        nonlocal shown
        if outcome.kind not in ("ok", "rejected") and shown < ns.show:
            shown += 1
            print(f"--- {outcome.kind}: {description}\n{outcome.detail}", file=sys.stderr)

    began = time.perf_counter()
    counts = fuzz(ns.cases, ns.seed, ns.budget, ns.start, report)
    wall = time.perf_counter() - began
    print(f"{ns.cases:,} mutated deals (seed {ns.seed}) in {wall:.1f} s")
    for kind in ("traceback", "hang", "unpositioned", "not_conserved", "rejected", "ok"):
        print(f"  {kind:<14} {counts.get(kind, 0):>7,}")
    bad = sum(counts.get(k, 0) for k in ("traceback", "hang", "unpositioned", "not_conserved"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
