"""Semantic checks: syntax tree -> checked deal model, or every problem found, each with its place."""

from .checker import check

__all__ = ["check"]
