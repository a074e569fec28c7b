"""The kernel's compiled variants (engine/kernel.py): the plain one, the same source with credit
runs, OC and reserve, collateral groups, WAC classes, triggers, named triggers, conditions,
targets and shifting interest dropped at compile time, and the lean one (`_lean_blocks`, for the
usual agency CMO: fixed coupons, IO classes among them, pay, sequential, pro rata and
to-schedule rules, no accrual, split or strip classes or NAS shares) give every example deal
they serve the general one's figures to the bit, full runs and summaries, as they do random lean
deals at random speeds; the dispatch gives them no deal with a feature they lack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import build_deal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_properties import deals

import structurer
from structurer.engine import kernel
from structurer.model.rules.program import NAS_SHARE

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"
SPEEDS = ["0 PSA", "100 PSA", "165 PSA", "400 PSA", "1000 PSA", "6 CPR", "100 CPR"]
# Deals with none of the dropped features (pac, io_po, trust_io_po and tape: IO and notional
# classes; accrual: Z classes; nas: NAS shares; oas, floater: floating coupons).
PLAIN = ("accrual", "floater", "io_po", "nas", "oas", "pac", "pac_tiers", "passthrough", "prorata",
         "senior_sub", "sequential", "tape", "trust_io_po", "two_pool")
# ... of which the lean kernel serves these (the others: accrual, floating, zero-coupon or split
# classes, strips, NAS shares: see `kernel._lean`)
LEAN = ("pac", "pac_tiers", "passthrough", "prorata", "senior_sub", "sequential", "tape", "two_pool")
FLOWS = ("beginning_balance", "interest", "accrued", "principal", "ending_balance", "shortfall", "coupon",
         "residual_interest", "residual_principal")
COLLATERAL = ("beginning_balance", "interest", "scheduled_principal", "prepayment", "ending_balance",
              "servicing_fee", "principal")


@pytest.fixture
def ran(monkeypatch) -> list[str]:
    """The variants the runs launched, in order."""
    seen: list[str] = []
    for name, label in (("_run_blocks", "general"), ("_run_blocks_plain", "plain"), ("_lean_blocks", "lean")):
        compiled = getattr(kernel, name)

        def launch(*args, _compiled=compiled, _label=label):
            seen.append(_label)
            _compiled(*args)

        monkeypatch.setattr(kernel, name, launch)
    return seen


def _figures(results) -> dict[str, np.ndarray]:
    out = {name: getattr(results.flows, name) for name in FLOWS}
    out.update({f"collateral {name}": getattr(results.collateral, name) for name in COLLATERAL})
    return out


def _summary(summary) -> dict[str, np.ndarray]:
    out = {name: getattr(summary, name) for name in ("wal", "first_principal_period", "last_principal_period",
                                                     "total_interest", "total_principal", "total_accrued",
                                                     "final_balance", "pv")}
    out.update({f"collateral {k}": v for k, v in summary.collateral.items()})
    return out


def test_the_variants_are_one_source_under_two_names():
    """Numba's cache files are named after the qualified name: the plain variant needs its own,
    or a process could load one variant's machine code for the other."""
    assert kernel._scenarios_plain.py_func.__code__ is kernel._scenarios.py_func.__code__
    assert kernel._scenarios_plain.py_func.__qualname__ != kernel._scenarios.py_func.__qualname__
    assert kernel._run_blocks_plain.py_func.__qualname__ != kernel._run_blocks.py_func.__qualname__
    assert kernel._scenarios_plain.py_func.__globals__["PLAIN"] is True
    assert kernel._scenarios.py_func.__globals__["PLAIN"] is False
    assert kernel._run_blocks_plain.py_func.__globals__["_scenarios"] is kernel._scenarios_plain
    assert kernel._run_blocks_plain.targetoptions == kernel._run_blocks.targetoptions


@pytest.mark.parametrize("name", PLAIN)
def test_the_plain_kernel_gives_the_general_kernels_figures(name, ran, monkeypatch):
    deal = structurer.load(DEALS / f"{name}.waterfall")
    speeds = [*SPEEDS, *(n for n, s in deal.scenarios.items() if s.defaults is None)]
    chosen = "lean" if name in LEAN else "plain"
    caps = ("auto", "plain", "general") if name in LEAN else ("auto", "general")
    figures = {}
    for cap in caps:
        monkeypatch.setenv("STRUCTURER_KERNEL", cap)
        figures[cap] = (_figures(deal.run(*speeds)),
                        _summary(structurer.summarise(deal, speeds, rates=[0.04, 0.07])))
    assert ran == [k for k in (chosen, *caps[1:]) for _ in range(2)]
    general, general_sums = figures["general"]
    for cap in caps[:-1]:
        got, got_sums = figures[cap]
        for key, want in general.items():
            np.testing.assert_array_equal(got[key], want, err_msg=f"{name} {cap} {key}")
        for key, want in general_sums.items():
            np.testing.assert_array_equal(got_sums[key], want, err_msg=f"{name} {cap} summary {key}")


# A WAC class (docs/language.md "WAC classes"), the only feature no example deal has alone.
WAC_DEAL = """
deal "W-1" {
  settle 2027-01-30
  first payment 2027-02-25
  delay 24 days
}
collateral {
  pool "FN 6.0" { balance 60,000,000  wac 6.5%  coupon 6%  term 360 }
  pool "FN 5.0" { balance 40,000,000  wac 5.5%  coupon 5%  term 180 }
}
class A  SEQ      balance 50,000,000  coupon 4.5%
class B  SEQ/WAC  balance 50,000,000
class R  R
waterfall {
  interest: pay each class its coupon
  principal: pay A then B
}
scenarios {
  pricing 100 PSA
}
"""


@pytest.mark.parametrize("name, feature", [
    ("conditions", "named triggers, conditions and targets"),
    ("jump_z", "a prepayment trigger and a condition"),
    ("home_equity", "overcollateralization and a reserve account"),
    ("private_label", "shifting interest"),
    ("two_groups", "collateral groups"),
    ("two_groups_credit", "collateral groups"),
    ("wac", "a WAC class"),
])
def test_a_deal_with_a_dropped_feature_runs_on_the_general_kernel(name, feature, ran):
    deal = build_deal(WAC_DEAL) if name == "wac" else structurer.load(DEALS / f"{name}.waterfall")
    deal.run("100 PSA")
    structurer.summarise(deal, ["100 PSA"])
    assert ran == ["general", "general"], feature


def test_a_credit_run_of_a_plain_deal_runs_on_the_general_kernel(ran):
    deal = structurer.load(DEALS / "senior_sub.waterfall")
    credit = [n for n, s in deal.scenarios.items() if s.defaults is not None]
    assert credit
    deal.run("100 PSA")
    deal.run(credit[0])
    assert ran == ["lean", "general"]


def test_each_dropped_feature_alone_sends_a_run_to_the_general_kernel(monkeypatch):
    """`kernel.variant` on a plain deal's arguments with one feature's argument set: general, for
    every flag the plain variant holds constant."""
    args = _arguments(monkeypatch, "sequential")
    assert kernel.variant(args) == "lean"
    for name in ("ext", "enh"):
        changed = list(args)
        changed[kernel._AT[name]] = True
        assert kernel.variant(tuple(changed)) == "general", name
    for name in ("thresholds", "shift", "trig", "cond_ops", "oc_p", "res_p", "g_int_to", "wac_init"):
        changed = list(args)
        empty = args[kernel._AT[name]]
        assert empty.shape[0] == 0, name
        changed[kernel._AT[name]] = np.zeros((1, *empty.shape[1:]), dtype=empty.dtype)
        assert kernel.variant(tuple(changed)) == "general", name


def test_the_environment_forces_the_general_kernel(ran, monkeypatch):
    deal = structurer.load(DEALS / "sequential.waterfall")
    monkeypatch.setenv("STRUCTURER_KERNEL", "general")
    deal.run("100 PSA")
    monkeypatch.setenv("STRUCTURER_KERNEL", "plain")
    deal.run("100 PSA")
    monkeypatch.setenv("STRUCTURER_KERNEL", "auto")
    deal.run("100 PSA")
    assert ran == ["general", "plain", "lean"]


def _arguments(monkeypatch, name: str) -> tuple:
    """The kernel's arguments for a run of an example deal at two speeds."""
    captured: list[tuple] = []
    launch = kernel.run_kernel
    monkeypatch.setattr(kernel, "run_kernel", lambda *args: (captured.append(args), launch(*args)))
    structurer.load(DEALS / f"{name}.waterfall").run("100 PSA", "300 PSA")
    monkeypatch.setattr(kernel, "run_kernel", launch)
    (args,) = captured
    return args


def _with(args: tuple, **changes: object) -> tuple:
    out = list(args)
    for name, value in changes.items():
        out[kernel._AT[name]] = value
    return tuple(out)


def test_each_feature_the_lean_kernel_lacks_sends_a_run_to_the_plain_one(monkeypatch):
    args = _arguments(monkeypatch, "sequential")
    assert kernel.variant(args) == "lean"
    n = args[kernel._AT["init_balance"]].shape[0]
    one = np.zeros(1, dtype=np.int64)
    owner = args[kernel._AT["owner"]]
    residual = int(np.flatnonzero(~owner)[0])
    regular = int(np.flatnonzero(owner)[0])
    lacking = {
        "a NAS share": _with(args, has_nas=True),
        "a floating coupon": _with(args, f_index=np.array([0] + [-1] * (n - 1))),
        "an accrual class": _with(args, acc_z=one),
        "a split class": _with(args, kid_k=one),
        "a class both notional and owning principal": _with(args, ntl_k=one),
        "a strip": _with(args, strip_k=one),
        "another rule kind": _with(args, kind=np.append(args[kernel._AT["kind"]], NAS_SHARE)),
    }
    for name in ("cash", "book", "store_paid", "store_int"):
        flags = args[kernel._AT[name]].copy()
        flags[regular] = False
        lacking[f"a class that owns principal without {name}"] = _with(args, **{name: flags})
        flags = args[kernel._AT[name]].copy()
        flags[residual] = True
        lacking[f"a residual with {name}"] = _with(args, **{name: flags})
    balances = args[kernel._AT["init_balance"]].copy()
    balances[residual] = 1.0
    lacking["a residual with a balance"] = _with(args, init_balance=balances)
    for feature, changed in lacking.items():
        assert kernel.variant(changed) == "plain", feature


@st.composite
def deals_with_io(draw):
    """test_properties.py's random deals, some with an IO class notional on a class or a pool."""
    g = draw(deals())
    where = draw(st.sampled_from([None, "class", "pool"]))
    if where is not None:
        of = "C0" if where == "class" else 'pool "P0"'
        cpn = draw(st.sampled_from(["0.25%", "1%"]))
        g.text = g.text.replace("class RES R", f"class IOX NTL/IO notional of {of} coupon {cpn}\nclass RES R")
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(deals_with_io())
def test_random_deals_get_the_general_kernels_figures_from_the_lean_one(g):
    """Random deals (test_properties.py: one to three pools, sequential, pro rata, fixed
    percentages and nestings, zero coupons among them, here some with an IO class) at random
    speeds: the kernel the dispatch picks (lean but for a zero-coupon class) gives the general
    kernel's figures to the bit, full runs and summaries."""
    try:
        deal = build_deal(g.text, "generated.waterfall")
    except (structurer.DealError, structurer.DealErrors):
        assume(False)  # an IO coupon the collateral's interest may not cover: refused by the check
    speeds = g.speeds
    seen: list[str] = []
    picked = kernel.variant
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernel, "variant", lambda args: seen.append(picked(args)) or seen[-1])
        auto = _figures(deal.run(*speeds)), _summary(structurer.summarise(deal, speeds, rates=[0.05]))
        mp.setenv("STRUCTURER_KERNEL", "general")
        general = _figures(deal.run(*speeds)), _summary(structurer.summarise(deal, speeds, rates=[0.05]))
    assert seen[2:] == ["general", "general"] and seen[0] == seen[1] in ("lean", "plain")
    zero_coupon = " coupon 0.000%" in g.text
    assert seen[0] == ("plain" if zero_coupon else "lean")
    for got, want in zip(auto, general, strict=True):
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_the_lean_answer_is_kept_for_the_arrays_it_read_only(monkeypatch):
    """`kernel._lean` keeps its answer per deal (a deal's arrays are made once); another array in
    any place it reads is asked afresh, and what it keeps stays bounded."""
    args = _arguments(monkeypatch, "sequential")
    kernel._LEAN_SEEN.clear()
    assert kernel._lean(args) and len(kernel._LEAN_SEEN) == 1
    assert kernel._lean(args) and len(kernel._LEAN_SEEN) == 1
    flags = args[kernel._AT["store_int"]].copy()
    flags[0] = False
    assert not kernel._lean(_with(args, store_int=flags)) and len(kernel._LEAN_SEEN) == 2
    assert kernel._lean(args)
    for _ in range(100):
        kernel._lean(_with(args, kind=args[kernel._AT["kind"]].copy()))
    assert len(kernel._LEAN_SEEN) <= 64
