"""One exception family in the public API: structurer raises its own errors (structurer/errors.py),
never a bare KeyError, ValueError or TypeError, and uses no `assert` for control flow (asserts
vanish under `python -O`; a type-narrowing one becomes an explicit check or typing.cast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import structurer
from structurer.errors import InputError, StructurerError

PACKAGE = Path(structurer.__file__).resolve().parent
DEALS = Path(__file__).resolve().parent.parent / "deals"  # beside the tests, not the installed package
MODULES = sorted(PACKAGE.rglob("*.py"))
BUILTIN = {"KeyError", "ValueError", "TypeError"}


def offences(tree: ast.AST) -> list[str]:
    """`raise KeyError/ValueError/TypeError[(...)]` and `assert` statements, with their lines."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append(f"line {node.lineno}: assert")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in BUILTIN:
                found.append(f"line {node.lineno}: raise {target.id}")
    return found


def test_the_package_has_modules_to_check():
    names = {p.relative_to(PACKAGE).as_posix() for p in MODULES}
    assert {"errors.py", "cli.py", "valuation/quotes.py", "structuring/solve.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_builtin_errors_raised_and_no_asserts(path: Path):
    assert offences(ast.parse(path.read_text(encoding="utf-8"), str(path))) == []


def test_the_checker_catches_what_it_should():
    bad = "def f(x):\n    assert x\n    raise ValueError('no')\n\ndef g():\n    raise KeyError\n"
    assert offences(ast.parse(bad)) == ["line 2: assert", "line 3: raise ValueError",
                                        "line 6: raise KeyError"]
    good = "def f(x):\n    raise InputError('no')\n\ndef g():\n    raise\n"
    assert offences(ast.parse(good)) == []


def test_unknown_names_are_input_errors_in_words():
    deal = structurer.load(DEALS / "sequential.waterfall")
    with pytest.raises(InputError, match="has no class 'Q'"):
        deal.tranche("Q")
    results = deal.run("100 PSA")
    with pytest.raises(InputError, match="no scenario 'fast'"):
        results.scenario_index("fast")
    # The project's errors stay ValueErrors for callers who caught those before.
    assert issubclass(InputError, ValueError) and issubclass(InputError, StructurerError)


def test_api_misuse_is_an_input_error():
    from structurer.valuation import quotes

    deal = structurer.load(DEALS / "floater.waterfall")
    results = deal.run("100 PSA")
    with pytest.raises(InputError, match="no scenario 5: the run has 1"):
        results.scenario_index(5)
    with pytest.raises(InputError, match="'x' is not an index level"):
        quotes.index_yield_table(deal, "FL", 100, ["100 PSA"], "SOFR", ["x"])  # type: ignore[list-item]
    with pytest.raises(InputError, match="has no class 'Q'"):
        quotes.quote(results, "Q", price=100)
