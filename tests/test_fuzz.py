"""Fuzz: a few hundred mutated deal files (benchmarks/fuzz_deals.py, seeded) give no traceback,
no hang and no error without a position, and every mutated deal that checks runs with its cash
conserved. The same generator runs 10,000 cases on demand: python benchmarks/fuzz_deals.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import script_module

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "fuzz_deals.py"
CASES = 300
# A case is a hang past this many seconds: the generator bounds every case's size, and the
# slowest case of a 10,000-case run takes well under a second.
BUDGET = 20.0


@pytest.fixture(scope="module")
def fuzz():
    with script_module(SCRIPT, "fuzz_deals") as module:
        yield module


def test_mutated_deals_give_positioned_errors_or_conserving_runs(fuzz):
    failures: list[str] = []

    def record(description: str, outcome) -> None:
        if outcome.kind not in ("ok", "rejected"):
            failures.append(f"{outcome.kind}: {description}\n{outcome.detail}")

    counts = fuzz.fuzz(CASES, seed=8, budget=BUDGET, on_case=record)
    assert not failures, "\n\n".join(failures[:5])
    assert sum(counts.values()) == CASES
    # The generator is not so destructive that nothing survives, nor so gentle that nothing fails.
    assert counts["ok"] > CASES // 20 and counts["rejected"] > CASES // 2


def test_the_generator_is_seeded(fuzz):
    deals = fuzz.base_deals()
    assert fuzz.make_case(8, 17, deals) == fuzz.make_case(8, 17, deals)
    assert fuzz.make_case(8, 17, deals) != fuzz.make_case(9, 17, deals)


def test_the_leaking_shape_is_among_the_deals(fuzz):
    names = [name for name, _ in fuzz.base_deals()]
    assert "leak.waterfall" in names and len(names) > 5


@pytest.mark.parametrize("mutation", ["delete_token", "huge_number", "nesting", "control", "truncate"])
def test_each_mutation_changes_the_deal(fuzz, mutation):
    text = (ROOT / "deals" / "sequential.waterfall").read_text(encoding="utf-8")
    mutate = getattr(fuzz, f"_m_{mutation}")
    changed = [mutate(random.Random(seed), text) != text for seed in range(20)]
    assert sum(changed) >= 15


def test_the_runner_reports_a_traceback_as_one(fuzz, tmp_path, monkeypatch):
    # The classifier must not mistake a crash for a refusal: a loader that raises KeyError is a
    # traceback, and one that never returns is a hang.
    import structurer.cli

    deal = tmp_path / "d.waterfall"
    deal.write_text((ROOT / "deals" / "sequential.waterfall").read_text(encoding="utf-8"))

    def crash(argv):
        raise KeyError("boom")

    monkeypatch.setattr(structurer.cli, "main", crash)
    assert fuzz.run_case(deal, BUDGET).kind == "traceback"

    def spin(argv):
        while True:
            pass

    monkeypatch.setattr(structurer.cli, "main", spin)
    assert fuzz.run_case(deal, 0.2).kind == "hang"


def test_every_base_deal_checks_before_it_is_mutated(fuzz, tmp_path):
    for name, content in fuzz.CSV_FILES.items():
        (tmp_path / name).write_bytes(content)
    for name, text in fuzz.base_deals():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert fuzz.run_case(path, BUDGET).kind == "ok", name
