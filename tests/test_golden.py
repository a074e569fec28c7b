"""Golden tests: the example deals in deals/ against tests/golden/<deal stem>.json.

Regenerate after an intended change with `python tests/golden/regenerate.py` and review the
diff. Every golden deal must also conserve cash and retire its classes at every speed it names.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN_DIR, assert_classes_retire, assert_conserves_cash, deal_paths

import structurer

# Floats must agree to 1e-9 relative. Amounts are dollars summed over up to 360 periods of
# balances near 1e8, where one float64 ulp is ~1e-8: values below a millionth of a dollar
# (a residual's "principal" of 2e-7, a shortfall of 1e-8) are rounding noise, not figures, and
# are compared with that absolute floor.
RTOL = 1e-9
ATOL = 1e-6


def _load_regenerate():
    spec = importlib.util.spec_from_file_location("golden_regenerate", GOLDEN_DIR / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


regenerate = _load_regenerate()
DEALS = deal_paths()


def compare(got: Any, want: Any, where: str = "$") -> list[str]:
    """Differences between two JSON values, floats within RTOL/ATOL, everything else exact."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected an object, got {got!r}"]
        problems = []
        if list(got) != list(want):
            problems.append(f"{where}: keys {list(got)} != {list(want)}")
        for key in want:
            if key in got:
                problems += compare(got[key], want[key], f"{where}.{key}")
        return problems
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: expected {want!r}, got {got!r}"]
        return [p for i, (g, w) in enumerate(zip(got, want, strict=True))
                for p in compare(g, w, f"{where}[{i}]")]
    if isinstance(want, float) or (isinstance(got, float) and isinstance(want, int)
                                   and not isinstance(want, bool)):
        if not isinstance(got, int | float) or isinstance(got, bool):
            return [f"{where}: expected {want!r}, got {got!r}"]
        if not math.isclose(got, want, rel_tol=RTOL, abs_tol=ATOL):
            return [f"{where}: {got!r} != {want!r}"]
        return []
    if got != want or type(got) is not type(want):
        return [f"{where}: {got!r} != {want!r}"]
    return []


def test_there_are_example_deals():
    assert DEALS, "no deals/*.waterfall found next to the tests directory"


@pytest.mark.parametrize("deal_path", DEALS, ids=[p.stem for p in DEALS])
def test_golden(deal_path: Path):
    golden = regenerate.golden_path(deal_path)
    assert golden.exists(), f"no golden file for {deal_path.name}: run tests/golden/regenerate.py"
    want = json.loads(golden.read_text(encoding="utf-8"))
    got = json.loads(regenerate.dumps(regenerate.snapshot(deal_path)))
    problems = compare(got, want)
    assert not problems, f"{deal_path.name} differs from {golden.name}:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("deal_path", DEALS, ids=[p.stem for p in DEALS])
def test_golden_deals_conserve_cash(deal_path: Path):
    deal = structurer.load(deal_path)
    speeds = [*deal.decrement, *([deal.pricing] if deal.pricing else []), *deal.scenarios.values()]
    results = deal.run(*speeds)
    assert_conserves_cash(results)
    assert_classes_retire(results)


@pytest.mark.parametrize("deal_path", DEALS, ids=[p.stem for p in DEALS])
def test_decrement_tables_end_retired(deal_path: Path):
    # The last anniversary row comes at or after every class's last principal payment, so it
    # reads 0 at every speed: never '*' for the fraction of a cent that rounding leaves.
    deal = structurer.load(deal_path)
    results = deal.run(*(deal.decrement or [deal.pricing]))
    for tranche in deal.classes:
        if tranche.is_residual or not getattr(tranche, "issued", True):
            continue
        table = results.decrement_table(tranche.name)
        assert table.iloc[0].tolist() == ["100"] * len(table.columns)
        assert table.iloc[-2].tolist() == ["0"] * len(table.columns), (tranche.name, table)


def test_every_golden_file_has_its_deal():
    stems = {p.stem for p in DEALS}
    stale = [g.name for g in GOLDEN_DIR.glob("*.json") if g.stem not in stems]
    assert not stale, f"golden files without a deal: {stale}"


def test_compare_tolerances():
    assert compare({"a": [1.0, "x", None, 3]}, {"a": [1.0 + 1e-12, "x", None, 3]}) == []
    assert compare(1000.0, 1000.0 + 1e-4) != []
    assert compare(1e-7, 5e-7) == []           # both below the noise floor
    assert compare("12", "13") != []
    assert compare({"a": 1}, {"b": 1}) != []
    assert compare([1, 2], [1, 2, 3]) != []
