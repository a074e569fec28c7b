"""The deal language: text -> syntax tree (nodes with positions), with syntax errors in the desk's
words. Nothing here judges meaning; that is the check package's job."""

from .grammar import KEYWORDS
from .parser import parse

__all__ = ["KEYWORDS", "parse"]
