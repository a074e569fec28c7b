"""The compiled kernel (engine/kernel.py) against the numpy interpreter (engine/waterfall.py).

Every example deal at speeds from 0 to 100 CPR, every output array; random speeds and class
sizes; the audit inside the kernel; the automatic fallback for a rule kind with no compiled form.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_on_interpreter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structurer
from structurer.engine import compiled as compiled_mod
from structurer.engine.audit import EngineError
from structurer.engine.flows import LeanClassFlows
from structurer.model import Pay, Sequential
from structurer.model.prepayment import Prepayment
from structurer.model.rules import Rule

ROOT = Path(__file__).resolve().parent.parent
# Every example deal, collateral groups and WAC classes included.
DEALS = sorted((ROOT / "deals").glob("*.waterfall"))
SPEEDS = ["0 PSA", "25 PSA", "50 PSA", "100 PSA", "165 PSA", "250 PSA", "300 PSA", "400 PSA", "600 PSA",
          "1000 PSA", "3000 PSA", "0 CPR", "6 CPR", "20 CPR", "100 CPR", "0.5 SMM"]
FLOWS = ("beginning_balance", "interest", "accrued", "principal", "ending_balance", "shortfall", "coupon",
         "residual_interest", "residual_principal")
COLLATERAL = ("beginning_balance", "interest", "scheduled_principal", "prepayment", "ending_balance",
              "servicing_fee", "principal")
RTOL = 1e-9
GROUP_FLOWS = ("group_residual_interest", "group_residual_principal", "cross_interest", "cross_principal",
               "cross_interest_principal", "group_unallocated_loss", "reimbursed")


def assert_same(deal, *speeds) -> None:
    kernel = deal.run(*speeds)
    numpy = run_on_interpreter(deal, *speeds)
    assert isinstance(kernel.flows.source, LeanClassFlows) and numpy.flows.source is None
    # Relative to each figure, with a floor far below a cent on the deal's size: figures that
    # should be zero differ by float rounding only.
    atol = 1e-12 * deal.collateral_balance
    for name in FLOWS:
        np.testing.assert_allclose(getattr(kernel.flows, name), getattr(numpy.flows, name), rtol=RTOL,
                                   atol=atol, err_msg=f"{deal.name} {name}")
    for name in COLLATERAL:
        np.testing.assert_allclose(getattr(kernel.collateral, name), getattr(numpy.collateral, name),
                                   rtol=RTOL, atol=atol, err_msg=f"{deal.name} collateral {name}")
    for key, got in kernel.collateral.by_pool.items():
        np.testing.assert_allclose(got, numpy.collateral.by_pool[key], rtol=RTOL, atol=atol)
    for tranche in deal.classes:
        np.testing.assert_allclose(kernel.wal(tranche.name), numpy.wal(tranche.name), rtol=RTOL, atol=1e-12)
    # A credit run: the write-downs and the loss no class absorbed.
    assert (kernel.flows.writedown is None) == (numpy.flows.writedown is None)
    if numpy.flows.writedown is not None:
        np.testing.assert_allclose(kernel.flows.writedown, numpy.flows.writedown, rtol=RTOL, atol=atol)
        np.testing.assert_allclose(kernel.flows.unallocated_loss, numpy.flows.unallocated_loss, rtol=RTOL,
                                   atol=atol)
    # A grouped deal: what each group left and passed on; reimbursements.
    for name in GROUP_FLOWS:
        got, want = getattr(kernel.flows, name), getattr(numpy.flows, name)
        assert (got is None) == (want is None), name
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=f"{deal.name} {name}")


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_kernel_matches_the_interpreter_on_every_example_deal(path):
    deal = structurer.load(path)
    assert compiled_mod.compiled(deal) is not None, "every rule kind of the examples has a compiled form"
    assert_same(deal, *SPEEDS, *deal.scenarios)
    credit = [n for n, s in deal.scenarios.items() if s.defaults is not None]
    if credit:
        assert_same(deal, *credit)  # a credit run: the kernel pays out the collateral under defaults


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=st.lists(st.tuples(st.floats(0, 100), st.floats(0, 60), st.floats(0, 100), st.integers(0, 24),
                               st.booleans()), min_size=1, max_size=5))
def test_kernel_matches_the_interpreter_under_defaults(runs):
    """Random speeds, default rates, severities, lags and advancing on the senior/subordinate
    example: the kernel's write-downs, balances and cash equal the interpreter's."""
    deal = structurer.load(ROOT / "deals" / "senior_sub.waterfall")
    assert_same(deal, *[f"{cpr:.6g} CPR defaults {cdr:.6g} CDR severity {sev:.6g}% lag {lag} "
                        f"advance {'on' if adv else 'off'}" for cpr, cdr, sev, lag, adv in runs])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(DEALS),
       speeds=st.lists(st.one_of(
           st.floats(0, 2000).map(lambda v: Prepayment.constant(v, "PSA")),
           st.floats(0, 100).map(lambda v: Prepayment.constant(v, "CPR")),
           st.tuples(st.floats(0, 60), st.floats(0, 60), st.integers(1, 60)).map(
               lambda r: Prepayment.ramp(r[0], r[1], r[2], "CPR")),
           st.lists(st.floats(0, 1500), min_size=1, max_size=30).map(lambda v: Prepayment.vector(v, "PSA")),
       ), min_size=1, max_size=6))
def test_kernel_matches_the_interpreter_at_random_speeds(path, speeds):
    assert_same(structurer.load(path), *speeds)


@settings(max_examples=15, deadline=None)
@given(a=st.floats(10e6, 300e6), first=st.floats(0.05, 0.95), speed=st.floats(0, 1500))
def test_kernel_matches_the_interpreter_at_random_class_sizes(a, first, speed):
    from structurer.structuring.solve import rebuild

    seq = structurer.load(ROOT / "deals" / "sequential.waterfall")
    # A and B resized in a pair (they must still add up to the collateral).
    pair = seq.tranche("A").balance + seq.tranche("B").balance
    a = min(a, pair - 1e6)
    assert_same(rebuild(seq, balances={"A": a, "B": pair - a}), Prepayment.constant(speed, "PSA"))
    pro = structurer.load(ROOT / "deals" / "prorata.waterfall")
    names = [c.name for c in pro.classes if c.in_waterfall][:2]
    total = sum(pro.tranche(n).balance for n in names)
    x = round(total * first, 2)
    assert_same(rebuild(pro, balances={names[0]: x, names[1]: total - x}), Prepayment.constant(speed, "PSA"))


def test_one_scenario_and_many_scenarios_agree():
    deal = structurer.load(ROOT / "deals" / "jump_z.waterfall")
    many = deal.run(*SPEEDS)
    for s, speed in enumerate(SPEEDS):
        one = deal.run(speed)
        for name in ("interest", "ending_balance", "residual_principal"):
            assert np.array_equal(getattr(one.flows, name)[0], getattr(many.flows, name)[s])


def test_buffers_a_deal_cannot_use_take_no_memory():
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    flows = deal.run("100 PSA", "300 PSA").flows
    for name in ("accrued", "coupon"):
        a = getattr(flows, name)
        assert a.shape == flows.ending_balance.shape and a.strides[0] == 0, name  # a broadcast view
    assert not np.any(flows.accrued)
    # Interest falls short only by float rounding here (a class's coupon equals the pools'
    # net coupon), so its shortfall is derived, not kept; a CPR-only PAC deal has none at all.
    assert flows.shortfall.max() < 1e-6
    pac = structurer.load(ROOT / "deals" / "pac.waterfall").run("100 PSA").flows
    kept = {name for name in ("accrued", "shortfall", "coupon") if getattr(pac, name).strides[0] != 0}
    assert "accrued" not in kept and "coupon" not in kept


def test_a_broken_kernel_output_raises_naming_scenario_and_period():
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    cd = compiled_mod.compiled(deal)
    # The kernel starts class A with a million dollars more than the deal has: more principal
    # is paid out than the collateral provides.
    balances = cd.class_args[0].copy()
    balances[0] += 1e6
    broken = dataclasses.replace(cd, class_args=(balances, *cd.class_args[1:]))
    with pytest.raises(EngineError, match=r"scenario \d+, period \d+"):
        compiled_mod.run_compiled(deal, broken, [Prepayment.constant(500, "PSA")] * 3,
                                  np.zeros((3, 0, deal.periods)))


def test_a_kernel_that_creates_cash_raises():
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    cd = compiled_mod.compiled(deal)
    # Class A's principal is no longer counted as paid by the rules, so the residual is handed
    # it too: the same dollars paid twice.
    owner = cd.flag_args[2].copy()
    owner[0] = False
    broken = dataclasses.replace(cd, flag_args=(*cd.flag_args[:2], owner, *cd.flag_args[3:]))
    with pytest.raises(EngineError, match=r"cash in differs from cash out \(scenario 1, period 1\)"):
        compiled_mod.run_compiled(deal, broken, [Prepayment.constant(100, "PSA")],
                                  np.zeros((1, 0, deal.periods)))


@dataclasses.dataclass(frozen=True)
class _Uncompiled(Rule):
    """A rule kind with no `encode`: the deal must run on the numpy interpreter."""

    index: int

    def classes(self) -> list[int]:
        return [self.index]

    def allocate(self, amount, book):
        return Pay(self.index).allocate(amount, book)

    def describe(self, names: list[str]) -> str:
        return names[self.index]


def test_a_rule_kind_without_a_compiled_form_runs_on_the_interpreter():
    deal = structurer.load(ROOT / "deals" / "sequential.waterfall")
    odd = dataclasses.replace(deal, principal=Sequential((_Uncompiled(0), Pay(1), Pay(2), Pay(3))))
    assert compiled_mod.compiled(odd) is None
    got = odd.run("165 PSA")
    assert got.flows.source is None  # the interpreter's flows
    assert got.wal("A")[0] == pytest.approx(deal.run("165 PSA").wal("A")[0], rel=1e-12)


def test_the_program_is_built_once_per_deal():
    deal = structurer.load(ROOT / "deals" / "pac.waterfall")
    assert compiled_mod.compiled(deal) is compiled_mod.compiled(deal)


def test_numba_cache_goes_to_the_user_cache(monkeypatch, tmp_path):
    from structurer.engine import kernel

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert kernel._cache_dir() == str(tmp_path / "structurer" / "numba")


def test_checking_a_deal_does_not_import_numba():
    deal = str(ROOT / "deals" / "pac.waterfall")
    code = (f"import sys, structurer; structurer.load({deal!r}); "
            "print(any(m == 'numba' or m.startswith('numba.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_an_unwritable_cache_falls_back_then_compiles_without_one(monkeypatch, tmp_path):
    from structurer.engine import kernel

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocked / "numba"))  # cannot be created
    monkeypatch.setattr(kernel.tempfile, "gettempdir", lambda: str(tmp_path))
    assert kernel._choose_cache()
    assert kernel.os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / f"structurer-numba-{kernel.os.getuid()}")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocked / "numba"))
    monkeypatch.setattr(kernel.tempfile, "gettempdir", lambda: str(blocked))
    assert not kernel._choose_cache()


def test_a_run_of_one_block_stays_on_the_calling_thread(monkeypatch):
    """A run of at most one block of scenarios runs the kernel with one thread (no parallel launch,
    which waits for a worker on a busy machine), then gives numba its threads back; its figures
    are those of the same scenarios in a larger, parallel run."""
    import numba

    from structurer.engine import kernel

    deal = structurer.load(ROOT / "deals" / "pac.waterfall")
    speeds = [f"{v} PSA" for v in range(0, 1000, 40)]  # more than one block
    assert len(speeds) > kernel.BLOCK
    before = numba.get_num_threads()
    threads: list[int] = []
    launch = kernel.run_kernel

    def counted(*args):
        threads.append(numba.get_num_threads())
        launch(*args)

    monkeypatch.setattr(kernel, "run_kernel", counted)
    one = deal.run(speeds[3])
    some = deal.run(*speeds[:kernel.BLOCK])
    many = deal.run(*speeds)
    assert threads == [1, 1, before]
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(one.flows.principal[0], many.flows.principal[3])
    for name in ("P", "S", "PI"):
        np.testing.assert_array_equal(some.wal(name), many.wal(name)[:kernel.BLOCK])
        np.testing.assert_array_equal(one.arrays(name)["interest"][0], many.arrays(name)["interest"][3])


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.stem)
def test_ending_balances_of_some_classes_are_those_of_all(path):
    """The solvers' ending balances of a few classes, derived for them alone (split classes from
    their parent, accrual classes with their accretion), equal the full derivation's to the bit."""
    deal = structurer.load(path)
    rows = [c.index for c in deal.classes if not c.is_notional][::-1]  # any order, every class
    first = deal.run("100 PSA", "400 PSA").flows
    some = first.ending_principal(rows)
    full = deal.run("100 PSA", "400 PSA").flows.ending_balance
    assert some.shape == (2, len(rows), full.shape[2])
    np.testing.assert_array_equal(some, full[:, rows, :])
    np.testing.assert_array_equal(first.ending_principal(rows[:1]), full[:, rows[:1], :])
