"""check/ as passes in a declared order, the scaling benchmark's deals, and the architecture
document's claims about them. Nothing here is timed (the benchmark script prints times)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import script_module

import structurer
from structurer.check import PASSES
from structurer.check.context import Checker
from structurer.errors import DealErrors
from structurer.language.parser import parse

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_check_scaling.py"


@pytest.fixture(scope="module")
def bench():
    with script_module(SCRIPT, "bench_check_scaling") as module:
        yield module


@pytest.mark.parametrize("variant", ["sequential", "pro rata", "lines"])
def test_scaling_deals_check_and_run(bench, variant: str) -> None:
    n = 60
    deal = structurer.loads(bench.deal_text(n, variant), "scale.waterfall")
    assert len(deal.classes) == n + 1 and deal.residual is not None
    results = deal.run("300 PSA")
    paid = sum(results.arrays(f"C{i}")["principal"][0] for i in range(1, n + 1))
    np.testing.assert_allclose(paid, results.collateral.principal[0], atol=1e-6)
    first = results.arrays("C1")["principal"][0]
    last = results.arrays(f"C{n}")["principal"][0]
    if variant == "pro rata":  # equal balances paid pro rata: every class is paid alike
        np.testing.assert_allclose(first, last, atol=1e-9)
    else:  # sequential: the last class is paid nothing while the first is outstanding
        assert last[0] == 0.0 and first[0] > 0.0


def test_scaling_script_runs_end_to_end(bench, capsys) -> None:
    bench.main(["--sizes", "20", "40", "--repeat", "1"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    # variant, classes, then four figures
    assert [(" ".join(r[:-5]), r[-5]) for r in rows] == [
        ("sequential", "20"), ("sequential", "40"), ("pro rata", "20"), ("pro rata", "40"),
        ("lines", "20"), ("lines", "40")]
    assert all(float(r[-2]) > 0 for r in rows)  # µs per class: "check s" rounds to 0.000 at 20 classes


def test_every_pass_runs_on_a_checker_in_the_documented_order() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"PASSES = \[(.*?)\]", doc, re.S)
    assert block is not None
    documented = [name.strip() for name in block.group(1).split(",") if name.strip()]
    assert documented == [p.__name__ for p in PASSES]


def test_the_passes_build_the_deal_step_by_step() -> None:
    tree = parse((ROOT / "deals" / "pac.waterfall").read_text(), "pac.waterfall")
    ck = Checker(tree)
    seen = {}
    for run in PASSES:
        run(ck)
        seen[run.__name__] = (len(ck.pools), len(ck.classes), len(ck.schedules), len(ck.principal.children))
    assert not ck.errors
    assert seen["check_header"] == (0, 0, 0, 0)
    assert seen["check_collateral"][0] == 1
    assert seen["check_classes"][1] == 4  # P, S, PI, R
    assert seen["resolve_references"][2] == 0
    assert seen["check_schedules"][2] == 1  # P's schedule
    assert seen["check_principal"][3] == 3  # three pay lines


def test_messages_come_out_in_pass_order() -> None:
    """A class's own problem (classes pass) before a scenario's (scenarios pass), though the
    scenario comes first in neither the file nor the alphabet."""
    text = (ROOT / "deals" / "sequential.waterfall").read_text()
    text = text.replace("pricing 165 PSA", "pricing 200000 PSA").replace(
        "class D  SEQ  balance  73,000,000  coupon 7.5%", "class D  SEQ  balance  73,000,000  coupon 7.5 PSA")
    with pytest.raises(DealErrors) as info:
        structurer.loads(text, "seq.waterfall")
    messages = [e.message for e in info.value.errors]
    assert len(messages) == 2
    assert "needs a rate unit" in messages[0] and "not a plausible speed" in messages[1]
