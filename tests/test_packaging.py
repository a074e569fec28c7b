"""The wheel ships every package of structurer/ and the grammar: pyproject.toml lists packages
by hand (the grammar is mapped in from the top-level grammars/), so a new subpackage must be
added there, or an installed `structure` fails to import it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _listed() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_is_listed_for_the_wheel():
    inits = (ROOT / "structurer").rglob("__init__.py")
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in inits}
    assert found - _listed() == set()


def test_the_grammar_and_the_templates_ship_inside_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"]["structurer.grammars"] == "grammars"
    assert (ROOT / "grammars" / "waterfall.lark").is_file()
    assert "*.lark" in config["package-data"]["structurer.grammars"]
    assert "templates/*.j2" in config["package-data"]["structurer.present"]
    assert "structurer.grammars" in _listed()
