"""Start-up: importing the package, and parsing and checking a deal, load none of the heavy
libraries (pandas, matplotlib, pyarrow, openpyxl, jinja2, scipy); they are imported when a
table, chart or file needs them. Each case runs in a fresh interpreter, since this process has
long imported everything. Behaviour only: how long start-up takes is measured by
benchmarks/bench_startup.py, not asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import structurer

DEALS = Path(__file__).resolve().parent.parent / "deals"
HEAVY = ("pandas", "matplotlib", "pyarrow", "openpyxl", "jinja2", "scipy")
# The probe prints the heavy top-level packages the interpreter holds, as JSON on its last line.
PROBE = f"""
import json, sys
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def _fresh(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run `code` in a new interpreter (this test's structurer on its path); the heavy modules
    it imported."""
    full_env = dict(os.environ, **(env or {}))
    # The same package this process imported: the checkout, or an installed wheel.
    full_env["PYTHONPATH"] = str(Path(structurer.__file__).resolve().parent.parent)
    out = subprocess.run([sys.executable, "-c", code + PROBE], capture_output=True, text=True,
                         env=full_env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_structurer_is_light() -> None:
    assert _fresh("import structurer") == []


def test_the_public_names_still_resolve_lazily() -> None:
    code = ("import structurer\n"
            "assert structurer.Deal.__name__ == 'Deal'\n"
            "assert structurer.Results.__name__ == 'Results'\n"
            "assert structurer.Prepayment.__name__ == 'Prepayment'\n"
            "assert set(structurer.__all__) <= set(dir(structurer))\n")
    assert _fresh(code) == []


@pytest.mark.parametrize("deal", ["sequential", "pac_tiers", "floater", "nas"])
def test_parse_and_check_a_deal_is_light(deal: str) -> None:
    path = DEALS / f"{deal}.waterfall"
    code = f"import structurer\nd = structurer.load({str(path)!r})\nassert d.classes\n"
    assert _fresh(code) == []


def test_structure_check_is_light() -> None:
    path = DEALS / "sequential.waterfall"
    code = (f"import contextlib, io\nfrom structurer.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['check', {str(path)!r}]) == 0\n")
    assert _fresh(code) == []


def test_a_run_without_tables_is_light() -> None:
    # The engine's arrays need numpy only; pandas comes with the first table.
    code = (f"import structurer\nr = structurer.load({str(DEALS / 'pac.waterfall')!r}).run('100 PSA')\n"
            "assert r.wal(r.deal.classes[0].name).shape == (1,)\n")
    assert _fresh(code) == []


def test_a_table_imports_pandas() -> None:
    # The probe sees what was imported: asking for a table does bring pandas in.
    code = (f"import structurer\nr = structurer.load({str(DEALS / 'sequential.waterfall')!r}).run()\n"
            "r.summary()\n")
    assert "pandas" in _fresh(code)


@pytest.mark.parametrize("cache", ["blocked", "garbage"])
def test_a_broken_grammar_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                cache: str) -> None:
    # The analysed grammar is cached under XDG_CACHE_HOME/structurer; an unusable cache (a file
    # where the directory should be, or a cache file that is not one) costs start-up time, never
    # a failure.
    from structurer.language.grammar import _cache_file, grammar_text

    if cache == "garbage":
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        Path(str(_cache_file(grammar_text()))).write_bytes(b"not a cache\n\x00\x01")
        home = tmp_path
    else:
        home = tmp_path / "blocked"
        home.write_text("a file, not a directory")
    deal = DEALS / "sequential.waterfall"
    code = f"import structurer\nd = structurer.load({str(deal)!r})\nassert d.classes\n"
    assert _fresh(code, {"XDG_CACHE_HOME": str(home)}) == []


def test_the_startup_benchmark_runs() -> None:
    # benchmarks/bench_startup.py end to end, once per command: it prints its three commands,
    # each importing no heavy module. Its times are printed, not asserted.
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_startup.py"
    if not script.exists():
        pytest.skip("the benchmarks are not shipped with an installed package")
    out = subprocess.run([sys.executable, str(script), "--repeat", "1"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines()
            if line.startswith(("import structurer", "structure check", "structure --help"))]
    assert len(rows) == 3
    assert all(row.rstrip().endswith("none") for row in rows), out.stdout
