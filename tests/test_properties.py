"""Property tests: random deals at random speeds conserve cash and retire every class.

Deals are written as deal text (so the parser and the checks are exercised too): one to three
pools, one to six classes, principal rules that are sequential, pro rata by balance, fixed
percentages, or any nesting of the three, and speeds from 0 to 5000 PSA, 0 to 100 CPR, or CPR
ramps.
"""

from __future__ import annotations

from dataclasses import dataclass

from conftest import assert_classes_retire, assert_conserves_cash, build_deal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structurer.model.prepayment import Prepayment

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Generated:
    text: str
    speeds: list[Prepayment]


def _split(draw, items: list[str], max_parts: int) -> list[list[str]]:
    """Cut `items` into 2..max_parts non-empty runs, in order."""
    k = draw(st.integers(2, min(max_parts, len(items))))
    cuts = sorted(draw(st.lists(st.integers(1, len(items) - 1), min_size=k - 1, max_size=k - 1,
                                unique=True)))
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _shares(draw, n: int) -> list[int]:
    """n whole percentages of at least 1%, adding up to 100%."""
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 100]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


def _alloc(draw, names: list[str], depth: int) -> str:
    """Text for a principal allocation over `names`: a class, or a group of sub-allocations."""
    if len(names) == 1:
        return names[0]
    if depth >= 3:
        kind = draw(st.sampled_from(["then", "sequentially", "pro rata"]))
        parts = [[n] for n in names]
    else:
        kind = draw(st.sampled_from(["then", "sequentially", "pro rata", "fixed"]))
        parts = _split(draw, names, 4)
    members = []
    for part in parts:
        inner = _alloc(draw, part, depth + 1)
        members.append(inner if len(part) == 1 else f"({inner})")
    if kind == "then":
        return " then ".join(members)
    if kind == "sequentially":
        return ", ".join(members) + " sequentially"
    if kind == "pro rata":
        sep = draw(st.sampled_from([", ", " and "]))
        return sep.join(members) + " pro rata"
    shares = _shares(draw, len(members))
    return ", ".join(f"{m} {s}%" for m, s in zip(members, shares, strict=True)) + " pro rata"


@st.composite
def deals(draw, structure: str | None = None) -> Generated:
    # ---- collateral
    pools = []
    for i in range(draw(st.integers(1, 3))):
        balance = draw(st.integers(100_000, 500_000_000))
        wac_bp = draw(st.integers(0, 1500))
        net_bp = wac_bp - draw(st.integers(0, min(wac_bp, 100)))
        term = draw(st.sampled_from([12, 60, 120, 180, 240, 360]))
        age = draw(st.integers(0, term - 1))
        pools.append((f"P{i}", balance, wac_bp, net_bp, term, age))
    total = sum(p[1] for p in pools)

    # ---- classes: positive whole-dollar balances that add up to the collateral exactly
    n = draw(st.integers(2 if structure else 1, 6))
    weights = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    balances = [total * w // sum(weights) for w in weights]
    balances[-1] += total - sum(balances)
    # Coupons in thousandths of a percent, none above the lowest net coupon of the pools: the
    # check refuses a class whose coupon the collateral might not cover once others pay down.
    top = min(p[3] for p in pools) * 10
    coupons = draw(st.lists(st.integers(0, top), min_size=n, max_size=n))
    names = [f"C{i}" for i in range(n)]

    # ---- principal rules
    kind = structure or draw(st.sampled_from(["sequential", "pro rata", "fixed", "nested"]))
    if n == 1:
        rules = [f"pay {names[0]} until retired"]
    elif kind == "sequential":
        if draw(st.booleans()):
            rules = [f"pay {name} until retired" for name in names]
        else:
            rules = ["pay " + " then ".join(names)]
    elif kind == "pro rata":
        rules = ["pay " + ", ".join(names) + " pro rata"]
    elif kind == "fixed":
        shares = _shares(draw, n)
        rules = ["pay " + ", ".join(f"{m} {s}%" for m, s in zip(names, shares, strict=True))
                 + " pro rata until retired"]
    else:
        groups = _split(draw, names, 3) if n > 2 and draw(st.booleans()) else [names]
        rules = ["pay " + _alloc(draw, group, 0) for group in groups]

    # The residual is declared (an undeclared one is added by the check: test_check covers it).
    residual = True
    text = "\n".join([
        'deal "PROP" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }',
        "collateral {",
        *(f'  pool "{name}" {{ balance {bal:,}  wac {wac / 100:.2f}%  coupon {net / 100:.2f}%  '
          f"term {term}  age {age} }}" for name, bal, wac, net, term, age in pools),
        "}",
        *(f"class {name} SEQ balance {bal:_} coupon {cpn / 1000:.3f}%"
          for name, bal, cpn in zip(names, balances, coupons, strict=True)),
        *(["class RES R"] if residual else []),
        "waterfall {",
        "  interest: pay each class its coupon",
        "  principal {",
        *(f"    {rule}" for rule in rules),
        "  }",
        "}",
    ])
    speeds = draw(st.lists(
        st.one_of(
            st.floats(0, 5000, allow_nan=False).map(lambda v: Prepayment.constant(v, "PSA")),
            st.floats(0, 100, allow_nan=False).map(lambda v: Prepayment.constant(v, "CPR")),
            st.sampled_from([Prepayment.constant(v, u) for v, u in
                             [(0, "PSA"), (5000, "PSA"), (100, "CPR"), (0, "CPR")]]),
            st.builds(lambda a, b, m: Prepayment.ramp(a, b, m, "CPR"),
                      st.floats(0, 100), st.floats(0, 100), st.integers(1, 60)),
        ),
        min_size=1, max_size=3))
    return Generated(text, speeds)


def _run(g: Generated):
    deal = build_deal(g.text, "generated.waterfall")
    return deal.run(*g.speeds)


@SETTINGS
@given(deals())
def test_random_deals_conserve_cash_and_retire_every_class(g):
    results = _run(g)
    assert_conserves_cash(results)
    assert_classes_retire(results)


@SETTINGS
@given(deals("nested"))
def test_nested_deals(g):
    results = _run(g)
    assert_conserves_cash(results)
    assert_classes_retire(results)


@settings(max_examples=50, deadline=None)
@given(deals("fixed"))
def test_fixed_percentage_deals(g):
    results = _run(g)
    assert_conserves_cash(results)
    assert_classes_retire(results)


@settings(max_examples=50, deadline=None)
@given(deals("pro rata"))
def test_pro_rata_deals_keep_their_proportions(g):
    # Paid pro rata by balance, every class keeps its share of the total outstanding balance.
    results = _run(g)
    assert_conserves_cash(results)
    assert_classes_retire(results)
    f = results.flows
    originals = [c.balance for c in results.deal.classes if not c.is_residual]
    share0 = [b / sum(originals) for b in originals]
    paid = f.principal.sum(axis=1, keepdims=True)
    live = paid[:, 0, :] > 1.0
    shares = f.principal / paid.clip(min=1e-300)
    for j, s in enumerate(share0):
        got = shares[:, j, :][live]
        # Shares drift only by float rounding, compounded over up to 360 periods.
        assert abs(got - s).max(initial=0.0) <= 1e-6
