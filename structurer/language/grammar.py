"""The grammar, built once per process, and the lexical rules Lark cannot state: keywords are
whole words, and the words of the language are reserved."""

from __future__ import annotations

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


class _WholeWords:
    """Post-lexer: every keyword token must end at a word boundary."""

    always_accept: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.terminals: frozenset[str] = frozenset()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        for token in stream:
            if token.type in self.terminals:
                _whole_word(token)
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
