"""The package's shape: no import cycle between its modules, and data flows one way through
its layers. The import graph is read from the source with `ast`: every import statement,
at module level or inside a function, since a late import is still a dependency. Imports
under `if TYPE_CHECKING:` are left out: they only name types for annotations and never load
a module, so they can neither close a cycle nor make a layer load another.

LAYERS below is the one statement of the layer order (docs/architecture.md points here).
A module may import its own layer and the layers before it, never a later one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import structurer

PACKAGE = Path(structurer.__file__).resolve().parent

# First to last. Each entry: the layer's name and the modules it holds (a subpackage stands for
# every module in it). Why this order, where the code decided it:
# - results comes before engine: Results is the container the engine fills (engine.run builds
#   it); it reads arrays and never runs anything.
# - valuation comes before check: the checker reads prices in the analytics block with
#   valuation.yields.parse_price; and after engine, whose runs quotes price.
# - check comes after engine: checking a deal derives its PAC/TAC schedules by running the
#   collateral at the band speeds (engine.schedules).
# - analysis plans the report's runs (engine, valuation, tie-out), and present only renders.
# - the package's __init__ is the API layer: it binds Deal.run and the notebook views
#   (structurer.hooks) to the engine and the report, so that model and results need not
#   import them.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("structurer.errors", "structurer.inputs", "structurer.dates", "structurer.version",
                    "structurer.hooks", "structurer.memory")),
    ("language", ("structurer.language",)),
    ("model", ("structurer.model",)),
    ("results", ("structurer.results",)),
    ("engine", ("structurer.engine",)),
    ("valuation", ("structurer.valuation",)),
    ("check", ("structurer.check",)),
    ("structuring", ("structurer.structuring",)),
    ("analysis", ("structurer.analysis",)),
    ("present", ("structurer.present",)),
    ("api", ("structurer",)),
    ("cli", ("structurer.cli",)),
]


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of every node under an `if TYPE_CHECKING:` block."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                out.update(id(n) for n in ast.walk(statement))
    return out


def _imports(name: str, path: Path) -> Iterator[tuple[str, str, int]]:
    """(module imported, name imported from it or '', line) for each import the module can run."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, "", node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                # `from . import hooks` imports a module; `from .errors import X` a name.
                if submodule in MODULES:
                    yield submodule, "", node.lineno
                else:
                    yield module, alias.name, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    """module -> {module of the package it imports: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges: dict[str, int] = {}
        for target, _, line in _imports(name, path):
            if target in MODULES and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _layer(module: str) -> int:
    """Index in LAYERS of the layer holding `module`: the most specific entry that covers it."""
    best, best_len = None, -1
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            covers = module == member or (module.startswith(member + ".") and member != "structurer")
            if covers and len(member) > best_len:
                best, best_len = index, len(member)
    if best is None:
        raise LookupError(f"module {module} is in no layer: add it to LAYERS in {__file__}")
    return best


def _cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_graph_sees_the_package() -> None:
    # The reader must find the imports it is meant to police, late ones included.
    assert "structurer.check" in GRAPH["structurer"]  # a function-level import in load()
    assert "structurer.engine.run" in GRAPH["structurer"]  # inside the Deal.run hook
    assert "structurer.results.results" in GRAPH["structurer.engine.run"]
    assert "structurer.hooks" in GRAPH["structurer.model.deal"]  # `from .. import hooks`


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_no_import_cycle() -> None:
    cycle = _cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": 1}, "b": {}, "c": {"a": 1, "b": 1}}) is None


def test_layers_import_only_earlier_layers() -> None:
    wrong = []
    for module, edges in GRAPH.items():
        for target, line in edges.items():
            if _layer(target) > _layer(module):
                wrong.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {module} "
                             f"({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})")
    assert not wrong, "a layer imports a later one:\n" + "\n".join(wrong)


@pytest.mark.parametrize("low", ["structurer.model", "structurer.results"])
def test_model_and_results_reach_neither_the_engine_nor_the_report(low: str) -> None:
    for module, edges in GRAPH.items():
        if module == low or module.startswith(low + "."):
            for target in edges:
                assert not target.startswith(("structurer.present", "structurer.analysis")), (module, target)
                if low == "structurer.model":
                    assert not target.startswith("structurer.engine"), (module, target)


def test_no_private_name_crosses_a_subpackage() -> None:
    # A subpackage's _names are its own: another part of the package imports only public ones.
    def home(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else module

    wrong = []
    for module, path in MODULES.items():
        for target, name, line in _imports(module, path):
            private = name.startswith("_") and not name.startswith("__")
            if private and target in MODULES and home(target) != home(module):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}")
    assert not wrong, "\n".join(wrong)
