"""Property tests of collateral groups: random grouped deals, with and without
cross-collateralization, at random speeds from 0 to 100 CPR. Each group's cash is conserved on its
own, nothing is negative, every balance retires, and no group's classes are paid more than their
group's pools paid plus the excess the deal directs to it.

Deals are written as deal text, so the grammar and the group checks are exercised too.
"""

from __future__ import annotations

import numpy as np
from conftest import assert_conserves_cash, build_deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_groups import _group_books

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HEADER = 'deal "GP" {\n  settle 2027-01-30\n  first payment 2027-02-25\n  delay 24 days\n}\n'


@st.composite
def grouped_deals(draw) -> tuple[str, list[str]]:
    n_groups = draw(st.integers(2, 3))
    text = [HEADER]
    for g in range(1, n_groups + 1):
        pools, total, floor = [], 0, 100.0
        for p in range(draw(st.integers(1, 2))):
            balance = draw(st.integers(1, 50)) * 100_000
            coupon = draw(st.sampled_from([4.0, 4.5, 5.0, 5.5, 6.0, 6.5]))
            term = draw(st.sampled_from([120, 180, 240, 360]))
            age = draw(st.integers(0, 24))
            floor = min(floor, coupon)
            total += balance
            pools.append(f'  pool "G{g}P{p}" {{ balance {balance:,}  wac {coupon + 0.5}%  '
                         f'coupon {coupon}%  term {term}  age {age} }}')
        n_cls = draw(st.integers(1, 3))
        cuts = sorted(draw(st.lists(st.integers(1, total // 1000 - 1), min_size=n_cls - 1,
                                    max_size=n_cls - 1, unique=True)))
        bounds = [0, *[c * 1000 for c in cuts], total]
        names = [f"G{g}C{k}" for k in range(n_cls)]
        classes = []
        for name, a, b in zip(names, bounds, bounds[1:], strict=False):
            coupon = draw(st.sampled_from([floor - 0.5, floor - 0.25, floor]))
            classes.append(f"  class {name} SEQ balance {b - a:,} coupon {coupon}%")
        rule = draw(st.sampled_from(["then", "pro rata"]))
        alloc = " then ".join(names) if rule == "then" or n_cls == 1 else ", ".join(names) + " pro rata"
        waterfall = f"  waterfall {{ interest: pay each class its coupon  principal: pay {alloc} }}"
        text.append(f"group {g} {{\n" + "\n".join([*pools, *classes, waterfall]) + "\n}\n")
    text.append("class R R\n")
    # Crosses without cycles: each kind follows its own random order of the groups, a group's
    # excess going to a later one.
    for kind in ("principal", "interest"):
        order = draw(st.permutations(range(1, n_groups + 1)))
        for i, source in enumerate(order[:-1]):
            if draw(st.booleans()):
                target = order[draw(st.integers(i + 1, n_groups - 1))]
                text.append(f"excess {kind} of group {source} pays group {target}\n")
    speeds = [f"{s:g} CPR" for s in draw(st.lists(st.floats(0, 100).map(lambda x: round(x, 2)),
                                                   min_size=1, max_size=4))]
    return "".join(text), speeds


@SETTINGS
@given(grouped_deals())
def test_group_cash_is_conserved_and_every_class_retires(case: tuple[str, list[str]]):
    text, speeds = case
    results = build_deal(text).run(*speeds)
    _group_books(results)  # per group: cash in = cash out; nothing passed on negative; paid <= had
    assert_conserves_cash(results)  # the deal: cash conserved, nothing negative
    _groups_retire(results)


def _groups_retire(results) -> None:
    """Every class is retired by the collateral's last period, and no principal leaves a group
    (to the residual or to another group) while one of its classes has a balance. (A group whose
    classes a donor's excess interest retired early pays the residual while another group's
    classes are still out: the deal-wide rule of conftest's assert_classes_retire is per group.)"""
    f, deal = results.flows, results.deal
    assert np.all(f.ending_balance[:, :, -1] <= 1e-6 * np.maximum(f.beginning_balance[:, :, 0], 1.0))
    for i, g in enumerate(deal.groups):
        owners = [k for k in g.classes if deal.classes[k].in_waterfall]
        outstanding = f.ending_balance[:, owners].sum(axis=1) > 1e-6
        left = f.group_residual_principal[:, i] + f.cross_principal[:, i]
        assert not np.any(outstanding & (left > 1e-6)), f"principal left group {g.name} too early"
