"""Property: pro rata groups nested in any way (fixed shares holding by-balance groups and the
reverse, sequences inside either) retire every class and send no principal to the residual,
at any speed up to 100 CPR. The engine's audit checks cash and the early-residual rule on
every run; these tests check the outcome directly as well."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structurer

HEADER = """deal "NEST" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }
collateral { pool "p" { balance 250,000,000  wac 6%  coupon 5.5%  term 360  age AGE } }
"""


@st.composite
def groups(draw, names: list[str], depth: int = 0) -> str:
    """A member list over `names`: a class, or a parenthesised group joined pro rata (by
    balance or with shares adding to 100%) or sequentially."""
    if len(names) == 1:
        return names[0]
    cut = sorted(draw(st.sets(st.integers(1, len(names) - 1), min_size=1,
                              max_size=min(3, len(names) - 1))))
    parts = [names[a:b] for a, b in zip([0, *cut], [*cut, len(names)], strict=True)]
    members = [draw(groups(p, depth + 1)) for p in parts]
    members = [m if " " not in m else f"({m})" for m in members]
    mode = draw(st.sampled_from(["by balance", "fixed", "sequentially"]))
    if mode == "sequentially":
        return ", ".join(members) + " sequentially"
    if mode == "by balance":
        return " and ".join(members) + " pro rata"
    weights = draw(st.lists(st.integers(1, 97), min_size=len(members), max_size=len(members)))
    total = sum(weights)
    percents = [w * 100 // total for w in weights]
    percents[-1] += 100 - sum(percents)
    if min(percents) <= 0:
        return " and ".join(members) + " pro rata"
    return ", ".join(f"{m} {p}%" for m, p in zip(members, percents, strict=True)) + " pro rata"


@st.composite
def nested_deals(draw) -> str:
    n = draw(st.integers(2, 6))
    names = [f"A{i}" for i in range(n)]
    # Balances from a dollar to most of the pool, adding up to the collateral exactly.
    raw = draw(st.lists(st.floats(1e-8, 1.0), min_size=n, max_size=n))
    cents = [max(1, int(r / sum(raw) * 25_000_000_000)) for r in raw]
    cents[-1] = 25_000_000_000 - sum(cents[:-1])
    if cents[-1] <= 0:
        cents = [25_000_000_000 // n] * (n - 1) + [25_000_000_000 - 25_000_000_000 // n * (n - 1)]
    age = draw(st.integers(0, 60))
    rule = draw(groups(names))
    lines = [f"class {name} SEQ balance {c / 100:.2f} coupon 5.5%"
             for name, c in zip(names, cents, strict=True)]
    return (HEADER.replace("AGE", str(age)) + "\n".join(lines) + "\nclass R R\n"
            + "waterfall {\n  interest: pay each class its coupon\n"
            + f"  principal {{ pay {rule} }}\n}}\n")


speeds = st.one_of(
    st.floats(0, 100).map(lambda v: f"{v:.4f} CPR"),
    st.sampled_from(["100 CPR", "99.99 CPR", "50 CPR"]),
    st.floats(0, 5000).map(lambda v: f"{v:.2f} PSA"),
    st.sampled_from(["1670 PSA", "5000 PSA", "1000 PSA"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested_deals(), st.lists(speeds, min_size=1, max_size=4))
def test_nested_shares_retire_every_class_and_leak_nothing(text, run_speeds):
    deal = structurer.loads(text)
    flows = deal.run(*run_speeds).flows  # the audit raises on any leak or imbalance
    issued = np.array([c.balance for c in deal.classes if not c.is_residual])
    n = len(issued)
    # A millionth of a dollar per hundred million: float rounding, never a payment.
    tol = 1e-6 * max(1.0, issued.sum() / 1e8)
    assert np.all(np.abs(flows.residual_principal) <= tol)
    assert np.all(np.abs(flows.ending_balance[:, :n, -1]) <= tol)
    assert np.all(flows.ending_balance[:, :n] >= -tol)
    assert np.allclose(flows.principal[:, :n].sum(axis=2), issued[None, :], rtol=1e-9, atol=tol)
    assert np.all(flows.shortfall <= tol)


@st.composite
def group_in_shares(draw) -> str:
    """The shape that leaked: a by-balance group inside a fixed-share group (and the reverse)."""
    n_inner = draw(st.integers(2, 4))
    n_outer = draw(st.integers(1, 3))
    inner = [f"G{i}" for i in range(n_inner)]
    outer = [f"H{i}" for i in range(n_outer)]
    names = inner + outer
    dollars = draw(st.lists(st.integers(1, 200_000_000), min_size=len(names), max_size=len(names)))
    cents = [d * 100 for d in dollars]
    total = sum(cents)
    weights = draw(st.lists(st.integers(1, 99), min_size=n_outer + 1, max_size=n_outer + 1))
    percents = [w * 100 // sum(weights) for w in weights]
    percents[-1] += 100 - sum(percents)
    if min(percents) <= 0:
        percents = [100 // (n_outer + 1)] * n_outer + [100 - 100 // (n_outer + 1) * n_outer]
    group = "(" + " and ".join(inner) + " pro rata)"
    members = [group, *outer]
    rule = ", ".join(f"{m} {p}%" for m, p in zip(members, percents, strict=True)) + " pro rata"
    if draw(st.booleans()):  # the reverse: fixed shares inside a by-balance group
        inner_fixed = ", ".join(f"{m} {p}%" for m, p in zip(inner, _split(len(inner)), strict=True))
        rule = "(" + inner_fixed + " pro rata) and " + " and ".join(outer) + " pro rata"
    lines = [f"class {n} SEQ balance {c / 100:.2f} coupon 5.5%" for n, c in zip(names, cents, strict=True)]
    pool = f"{total / 100:.2f}"
    return (HEADER.replace("AGE", "0").replace("250,000,000", pool) + "\n".join(lines) + "\nclass R R\n"
            + "waterfall {\n  interest: pay each class its coupon\n"
            + f"  principal {{ pay {rule} }}\n}}\n")


def _split(n: int) -> list[int]:
    shares = [100 // n] * n
    shares[-1] += 100 - sum(shares)
    return shares


fast = st.one_of(st.floats(90, 100).map(lambda v: f"{v:.4f} CPR"), st.just("100 CPR"),
                 st.floats(1600, 5000).map(lambda v: f"{v:.1f} PSA"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_in_shares(), st.lists(fast, min_size=1, max_size=3))
def test_a_group_inside_fixed_shares_retires_at_the_fastest_speeds(text, run_speeds):
    # 100 CPR pays the whole pool in period 1: every group must retire exactly, at once.
    check = test_nested_shares_retire_every_class_and_leak_nothing.hypothesis.inner_test
    check(text, ["100 CPR", *run_speeds])
