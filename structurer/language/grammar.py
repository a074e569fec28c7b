"""The grammar, built once per process, and the lexical rules Lark cannot state: keywords are
whole words, and the words of the language are reserved."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token

from ..errors import DealError, Span, did_you_mean

# Two-word phrases of the language, as they are mistyped glued together.
_PHRASES = {p.replace(" ", ""): p for p in (
    "pro rata", "until retired", "to schedule", "its share", "first payment", "each class")}

# The text being parsed, for the keyword check below (the lexer hands callbacks tokens only).
SOURCE: ContextVar[str] = ContextVar("SOURCE", default="")


def _whole_word(token: Token) -> Token:
    """Keywords are whole words: 'prorata' is not 'pro' + 'rata', 'untill' is not 'until'."""
    source = SOURCE.get()
    end = token.end_pos or 0
    if end < len(source) and (source[end].isalnum() or source[end] == "_"):
        stop = end
        while stop < len(source) and (source[stop].isalnum() or source[stop] in "_-"):
            stop += 1
        word = source[token.start_pos:stop]
        span = Span(token.line or 1, token.column or 1, token.line or 1, (token.column or 1) + len(word))
        glued = _PHRASES.get(word.lower().replace("-", "").replace("_", ""))
        hint = (f"write '{glued}' as two words" if glued
                else did_you_mean(word, KEYWORDS) or "check the spelling")
        raise DealError(f"unknown word '{word}'", span, hint)
    return token


# Limits that keep a mistyped or hostile file from exhausting the process; each far beyond any deal.
MAX_NESTING = 50  # parentheses inside parentheses: deals nest groups two or three deep
MAX_NUMBER = 1e15  # a quadrillion: no balance, term, delay or rate is larger
MAX_LINE = 20_000  # characters: a 360-balance schedule on one line is about 5,000
MAX_LIST = 10_000  # items in one list: schedules and vectors run to a few hundred
_LIST_TOKENS = frozenset({"NUMBER", "UNIT", "COMMA", "COLON"})


def control_character(text: str) -> int | None:
    """The index of the first control character in `text` (ESC, NUL, bidi overrides...), if any."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d":
            return i
    return None


def _token_span(token: Token, width: int | None = None) -> Span:
    line, column = token.line or 1, token.column or 1
    return Span(line, column, line, column + (width if width is not None else len(str(token))))


def _check_number(token: Token) -> None:
    text = str(token).replace(",", "").replace("_", "")
    value = float(text)
    if not math.isfinite(value) or value > MAX_NUMBER:
        digits = len(text.split(".")[0])
        raise DealError(f"number too large ({digits:,} digits)", _token_span(token),
                        f"no figure in a deal exceeds {MAX_NUMBER:,.0f}")


def _check_string(token: Token) -> None:
    at = control_character(str(token))
    if at is not None:
        # Echoed to a terminal, ESC[2J would clear the screen; in a workbook it is illegal.
        code = ord(str(token)[at])
        line, column = token.line or 1, (token.column or 1) + at
        raise DealError(f"a quoted name holds the control character U+{code:04X}",
                        Span(line, column, line, column + 1),
                        "names are printable text; remove the character")


class _WholeWords:
    """Post-lexer: every keyword token must end at a word boundary; numbers, quoted names and
    nesting are kept within the limits above."""

    always_accept: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.terminals: frozenset[str] = frozenset()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        items = 0  # commas in the current run of numbers: the length of a list being read
        terminals = self.terminals
        for token in stream:
            kind = token.type
            if kind in _LIST_TOKENS:
                if kind == "COMMA":
                    items += 1
                    if items >= MAX_LIST:
                        # Parsing is linear but not free: 200,000 items take seconds to refuse.
                        raise DealError(f"a list of more than {MAX_LIST:,} items", _token_span(token),
                                        "no schedule, vector or list of speeds is this long")
            else:
                items = 0
            if kind in terminals:
                _whole_word(token)
            elif kind == "NUMBER":
                _check_number(token)
            elif kind == "STRING":
                _check_string(token)
            elif kind == "LPAR":
                depth += 1
                if depth > MAX_NESTING:
                    # Deeper nesting would exhaust the recursion of the tree walks that follow.
                    raise DealError(f"parentheses nested too deeply (limit {MAX_NESTING})",
                                    _token_span(token), "no allocation needs groups nested this deep")
            elif kind == "RPAR":
                depth -= 1
            yield token


def grammar_text() -> str:
    """The grammar: shipped in the package as structurer/grammars (mapped from the repository's
    top-level grammars/ by pyproject.toml), or read from the checkout when run from source."""
    try:
        return resources.files("structurer.grammars").joinpath("waterfall.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        checkout = Path(__file__).resolve().parents[2] / "grammars" / "waterfall.lark"
        return checkout.read_text(encoding="utf-8")


def _cache_file(grammar: str) -> str | bool:
    """Where Lark keeps the analysed grammar between processes: building the LALR tables takes
    ~0.4 s, loading them ~20 ms. The user's cache directory, one file per grammar text (Lark also
    checks a hash of the grammar, its options and its own version before it trusts the file);
    False, no cache, where that directory cannot be made."""
    import hashlib
    import os

    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "structurer"
        base.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return False
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return str(base / f"waterfall-{digest}.lark-cache")


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The LALR parser, built once per process (and its tables cached on disk between processes)."""
    whole_words = _WholeWords()
    text = grammar_text()
    built = Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                 postlex=whole_words, cache=_cache_file(text))
    keywords = {t.name: t.pattern.value for t in built.terminals
                if t.pattern.type == "str" and t.pattern.value[:1].isalpha()}
    whole_words.terminals = frozenset(keywords)
    KEYWORDS.update(keywords.values())
    return built


# Every word of the language (filled from the grammar): not usable as a class name.
KEYWORDS: set[str] = set()
