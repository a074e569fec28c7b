"""Syntax errors in the desk's words: what was found, where, and what could stand there."""

from __future__ import annotations

import re
from typing import cast

import lark

from ..errors import DealError, Span, did_you_mean
from .grammar import SOURCE, parser

# What each terminal means to a structurer, for "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a class name",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "DAY_COUNT": "'day count 30/360' or 'day count actual/360'",
    "PRICE32": "a price (99-16, 99-16+ or 99.5)",
    "STRING": 'a quoted name ("...")',
    "UNIT": "a unit (%, bp, PSA, CPR, SMM, days, mm)",
    "THEN": "'then'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COLON": "':'",
    "$END": "the end of the file",
}

# Named in the hint after "class NAME"; model/classtypes.py holds the full vocabulary.
_CLASS_TYPES = ("SEQ", "PT", "R")

# The order in which alternatives are listed: the likely ones first.
_PRIORITY = ["NAME", "NUMBER", "UNIT", "DATE", "STRING"]


def _expected_words(expected: set[str], after_class_name: bool = False) -> str:
    lalr = parser()
    words: list[str] = []
    if after_class_name and "NAME" in expected:
        words.append("a class type (" + ", ".join(_CLASS_TYPES) + ")")
        expected = expected - {"NAME"}
    ordered = sorted(expected, key=lambda t: (_PRIORITY.index(t) if t in _PRIORITY else 99, t))
    for name in ordered:
        if name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        else:
            try:
                pattern = lalr.get_terminal(name).pattern
            except KeyError:
                continue
            if pattern.type != "str":
                continue
            word = f"'{pattern.value}'"
        if word not in words:
            words.append(word)
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def syntax_error(exc: lark.exceptions.UnexpectedInput, source: str) -> DealError:
    line = getattr(exc, "line", None) or 1
    column = getattr(exc, "column", None) or 1
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else "?"
        if not char.isprintable():
            char = f"U+{ord(char):04X}"  # a control character is named, never echoed
        span = Span(line, column, line, column + 1)
        bad_day_count = _bad_day_count(source, exc.pos_in_stream, line, column)
        if bad_day_count is not None:
            return bad_day_count
        allowed = _expected_words(_acceptable_before(source, exc.pos_in_stream) or set(exc.allowed or ()))
        return DealError(f"unexpected character '{char}'", span, f"expected {allowed}")
    if isinstance(exc, lark.exceptions.UnexpectedEOF):
        last = source.rstrip().splitlines() or [""]
        n = len(last)
        span = Span(n, len(last[-1]) + 1, n, len(last[-1]) + 2)
        return DealError("the deal file ends too early", span,
                         f"expected {_expected_words(set(exc.expected))}")
    exc = cast(lark.exceptions.UnexpectedToken, exc)  # the other kinds have returned above
    token = exc.token
    if token.type == "$END":
        last = source.rstrip().splitlines() or [""]
        n = len(last)
        span = Span(n, len(last[-1]) + 1, n, len(last[-1]) + 2)
        return DealError("the deal file ends too early", span,
                         f"expected {_expected_words(set(exc.expected))}")
    span = Span.of(token) or Span(line, column, line, column + 1)
    bad_day_count = _bad_day_count(source, token.start_pos or 0, line, column)
    if bad_day_count is not None:
        return bad_day_count
    expected = set(exc.expected)
    if exc.interactive_parser is not None:
        # The LALR table's expected set can include what only a reduction would allow;
        # accepts() tries each terminal and keeps the ones that really continue the deal.
        expected = exc.interactive_parser.accepts() or expected
    kind = _classify(exc)
    after_class_name = kind == "after_class_name"
    if kind == "class_without_type":
        # "class A balance 5": the keyword was read as the class type, so the type is missing.
        found = _CLASS_WITHOUT_TYPE.search(source.splitlines()[line - 1] if source else "")
        if found:
            name, word = found.group(1), found.group(2)
            start = found.start(2) + 1
            return DealError(f"class {name} has no type", Span(line, start, line, start + len(word)),
                             f"write the type before the {word}: class {name} SEQ {word} ...")
    hint = f"expected {_expected_words(expected, after_class_name)}"
    keywords = [_keyword(t) for t in expected]
    suggestion = did_you_mean(str(token), [k for k in keywords if k])
    if suggestion and token.type in ("NAME", "UNIT"):
        hint = f"{suggestion} ({hint})"
    return DealError(f"unexpected '{token}'", span, hint)


# Syntax errors recognised by example (Lark's UnexpectedInput.match_examples): an error whose
# parser state is the state of one of these snippets' errors gets that label's message.
# Each snippet is tried as the deal's first section and as a later one (the parser's stack differs).
_SNIPPETS = {
    "class_without_type": ["class A balance 5", "class A coupon 5%", "class A balance 5mm coupon 5%"],
    "after_class_name": ["class A 5", "class A {", 'class A "B"'],
}
_EXAMPLES = {label: [f'deal "x" {{}}\n{before}{snippet}' for snippet in snippets
                     for before in ("", "class B R\n")]
             for label, snippets in _SNIPPETS.items()}
_CLASS_WITHOUT_TYPE = re.compile(r"\bclass\s+(\S+)\s+(balance|coupon)\b")


def _parse_example(text: str) -> object:
    token = SOURCE.set(text)  # the whole-word check reads the text being parsed
    try:
        return parser().parse(text)
    finally:
        SOURCE.reset(token)


def _classify(exc: lark.exceptions.UnexpectedInput) -> str | None:
    try:
        return exc.match_examples(_parse_example, _EXAMPLES, use_accepts=True)
    except DealError:
        return None


def _bad_day_count(source: str, position: int, line: int, column: int) -> DealError | None:
    """'day count 30/365': the one-token day count did not match; say what it can be."""
    rest = source[position:position + 40]
    if not re.match(r"day\s+count\b", rest, re.IGNORECASE):
        return None
    written = rest.splitlines()[0].split("#")[0].strip()
    return DealError(f"'{written}' is not a day count", Span(line, column, line, column + len(written)),
                     "write: day count 30/360  or  day count actual/360")


def _acceptable_before(source: str, position: int) -> set[str]:
    """What the parser would accept after the text before `position` (the lexer's own list
    includes whatever a pending reduction might allow)."""
    try:
        interactive = parser().parse_interactive(source[:position])
        interactive.exhaust_lexer()
        return set(interactive.accepts())
    except (lark.exceptions.LarkError, DealError):
        return set()


def _keyword(terminal: str) -> str | None:
    try:
        pattern = parser().get_terminal(terminal).pattern
    except KeyError:
        return None
    return pattern.value if pattern.type == "str" and pattern.value.isalpha() else None
