"""Errors a structurer can act on: where in the deal file, what is wrong, what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A region of the deal file (1-based lines and columns, end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, meta_or_token: object) -> Span | None:
        """The span of a Lark token or tree meta, if it has one."""
        line = getattr(meta_or_token, "line", None)
        if line is None:
            return None
        return cls(
            line,
            meta_or_token.column,  # type: ignore[attr-defined]
            getattr(meta_or_token, "end_line", line) or line,
            getattr(meta_or_token, "end_column", None) or meta_or_token.column + 1,  # type: ignore[attr-defined]
        )


class StructurerError(Exception):
    """Base class of every error that is the user's input, never the engine's bug.

    The public API raises only these (tests/test_exceptions.py holds the package to it): a
    DealError or DealErrors for the deal text, positioned; an InputError for anything else."""


class DealError(StructurerError):
    """A problem in a deal file, with the place it was found."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source: str | None = None
        self.path: str | None = None

    def attach(self, source: str, path: str | None) -> DealError:
        """Remember the text the span points into, so the error can show it."""
        if self.source is None:
            self.source = source
            self.path = path
        return self

    def render(self) -> str:
        return render_error(self.message, self.span, self.hint, self.source, self.path)

    def __str__(self) -> str:
        return self.render() if self.source is not None else self.message


class DealErrors(StructurerError):
    """Several independent problems found in one pass, reported together."""

    def __init__(self, errors: list[DealError]):
        super().__init__(f"{len(errors)} problems")
        # In file order, as a reader fixes them.
        self.errors = sorted(errors, key=lambda e: (e.span.line, e.span.column) if e.span else (0, 0))

    def attach(self, source: str, path: str | None) -> DealErrors:
        for err in self.errors:
            err.attach(source, path)
        return self

    def render(self) -> str:
        return "\n\n".join(err.render() for err in self.errors)

    def __str__(self) -> str:
        return self.render()


class InputError(StructurerError, ValueError):
    """A problem with an input that is not the deal text: a missing file, a bad option value, a
    class or scenario the deal does not have, a goal no solver can reach.

    Also a ValueError, so that code written against the API before it had its own errors
    (`except ValueError` around a speed, a price or a lookup) still catches it."""


def render_error(
    message: str,
    span: Span | None,
    hint: str | None,
    source: str | None,
    path: str | None,
) -> str:
    """rustc-style: headline, file:line:col, the source line, a caret under the culprit."""
    where = path or "<deal>"
    lines = [f"error: {message}"]
    if span is None or source is None:
        lines.append(f"  --> {where}")
        if hint:
            lines.append(f"  = {hint}")
        return "\n".join(lines)
    src_lines = source.splitlines() or [""]
    line_no = min(max(span.line, 1), len(src_lines))
    text = src_lines[line_no - 1].expandtabs(1)
    gutter = " " * len(str(line_no))
    start = max(span.column, 1)
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    else:
        width = max(len(text) - start + 1, 1)
    lines.append(f"{gutter}--> {where}:{line_no}:{start}")
    lines.append(f"{gutter} |")
    lines.append(f"{line_no} | {text}")
    caret = " " * (start - 1) + "^" * max(width, 1)
    lines.append(f"{gutter} | {caret}" + (f" {hint}" if hint else ""))
    return "\n".join(lines)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A suggestion like "did you mean 'A2'?" when a close candidate exists."""
    # Only names of about the same length: 'XYZ' is not a misspelt 'Z'.
    pool = [c for c in candidates if abs(len(c) - len(name)) <= max(1, len(name) // 3)]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.5)
    if not close:
        upper = {c.upper(): c for c in pool}
        if name.upper() in upper:
            close = [upper[name.upper()]]
    return f"did you mean '{close[0]}'?" if close else None
