"""Property tests: random structured deals at random speeds and index levels.

Each deal is written as deal text from the structured types: a PAC with its support, a Z with
its accretion, an IO on a class (or on the collateral), a floater/inverse pair split from a
parent, a NAS class, a discount PO strip. The figures are chosen so that every deal checks:
PAC balances within what their band supports (computed here by the hand level-pay loop),
coupons plus IO strips within the collateral's net coupon, floater/inverse pairs that add up
to their parent. Then, independently of the engine's own audit:

- every period of every scenario, collateral interest + principal = the issued classes'
  interest + principal + the residual's interest + principal (to 1e-6 relative);
- no balance is ever negative (beyond 1e-6 of the class's original balance);
- every class is retired by the last period;
- a PAC run at a constant speed inside its band pays exactly its schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structured_helpers import load, pass_through

from structurer.model.prepayment import Prepayment
from structurer.model.scenarios import RatePath, Scenario

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# The suite's conservation standard: one part in a million of the period's cash; the absolute
# floor of a millionth of a dollar covers periods with no cash at all (after the collateral).
RTOL = 1e-6
ATOL = 1e-6


@dataclass
class Generated:
    text: str
    scenarios: list[Scenario]
    pac: tuple[float, float] | None = None  # the PAC's band, when the deal has one
    in_band: list[int] = field(default_factory=list)  # scenarios whose speed is inside it


def _weights(draw, n: int) -> list[int]:
    return draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))


def _split(total: int, weights: list[int]) -> list[int]:
    """Whole-dollar parts of `total` in proportion to `weights`, at least $1,000 each."""
    parts = [1000 + (total - 1000 * len(weights)) * w // sum(weights) for w in weights]
    parts[-1] += total - sum(parts)
    return parts


@st.composite
def structured_deals(draw, pac: bool | None = None) -> Generated:
    # ---- collateral: one rep-line (rates in whole basis points)
    coupon_bp = draw(st.integers(300, 900))
    wac_bp = coupon_bp + draw(st.integers(0, 100))
    term = draw(st.sampled_from([180, 240, 360]))
    age = draw(st.integers(0, 60))
    strip = draw(st.booleans())
    if strip:
        target_bp = coupon_bp + draw(st.integers(25, 150))
        k = draw(st.integers(2_000, 500_000))
        pool_balance, owned = k * target_bp, k * coupon_bp  # the PO takes 1 - coupon/target
        floor_bp = target_bp
    else:
        target_bp = 0
        pool_balance = owned = draw(st.integers(1_000_000, 500_000_000))
        floor_bp = coupon_bp
    remaining = term - age

    has_pac = draw(st.booleans()) if pac is None else pac
    has_z, has_nas, has_pair = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    io_on = draw(st.sampled_from(["none", "class", "collateral"] if not strip else ["none", "class"]))
    io_bp = draw(st.integers(1, 100)) if io_on != "none" else 0
    # An IO on the collateral draws on every dollar: every class's coupon makes room for it.
    room_bp = floor_bp - (io_bp if io_on == "collateral" else 0)

    # ---- the PAC: a share of what its band supports
    band = None
    pac_balance = 0
    if has_pac:
        low = draw(st.integers(25, 250))
        high = low + draw(st.integers(25, 400))
        band = (float(low), float(high))
        keep = 1.0 - (1.0 - coupon_bp / target_bp if strip else 0.0)
        runs = [pass_through(pool_balance, wac_bp / 1e4, coupon_bp / 1e4, remaining, age, s).principal
                for s in band]
        capacity = keep * np.minimum(*runs).sum()
        pac_balance = int(min(capacity, 0.9 * owned) * draw(st.floats(0.2, 0.95)))

    # ---- the other classes share the rest
    names = (["N"] if has_nas else []) + ["A", "S"] + (["Z"] if has_z else [])
    balances = dict(zip(names, _split(owned - pac_balance, _weights(draw, len(names))), strict=True))
    if has_pac:
        balances["P"] = pac_balance

    # Floater/inverse pair: r dollars of floater per dollar of inverse, margin m over SOFR.
    parent = draw(st.sampled_from(["A", "S"] + (["P"] if has_pac else []))) if has_pair else None
    ratio = draw(st.integers(1, 4))
    if parent is not None:
        excess = balances[parent] % (ratio + 1)
        balances[parent] -= excess
        balances["S" if parent != "S" else "A"] += excess

    io_target = draw(st.sampled_from(sorted(balances))) if io_on == "class" else None
    coupons = {}
    for name in balances:
        top = room_bp - (io_bp if name == io_target else 0)
        coupons[name] = draw(st.integers(1 if name == "Z" else 0, top))

    # ---- text
    lines = []
    if strip:
        lines.append(f'class PO PO strip of pool "C" to {target_bp}bp')
    types = {"P": f"PAC({low} PSA, {high} PSA)" if has_pac else "", "N": "SEQ/NAS", "A": "SEQ/AD",
             "S": "SUP" if has_pac else "SEQ", "Z": "SEQ/Z"}
    for name in ["P", "N", "A", "S", "Z"]:
        if name not in balances:
            continue
        extra = ""
        if name == "N":
            steps = draw(st.lists(st.integers(1, 99), max_size=4))
            extra = f" lockout {draw(st.integers(0, 120))} months"
            if steps:
                extra += " shift(" + ", ".join(f"{s}%" for s in steps) + ")"
        lines.append(f"class {name} {types[name]} balance {balances[name]:_} coupon {coupons[name]}bp{extra}")
    if parent is not None:
        cp = coupons[parent]
        margin = draw(st.integers(0, cp // 2))
        constant = (ratio + 1) * cp - ratio * margin  # per dollar: r (S + m) + (K - r S) = (r + 1) cp
        cap = cp + (cp * draw(st.integers(0, 100))) // (100 * ratio)  # at most (r + 1) cp / r
        fl_floor = draw(st.integers(0, margin))
        unit = balances[parent] // (ratio + 1)
        lines.append(f"class FL FLT from {parent} balance {unit * ratio:_} coupon SOFR + {margin}bp "
                     f"cap {cap}bp floor {fl_floor}bp")
        lines.append(f"class IF INV from {parent} balance {unit:_} coupon {constant}bp - {ratio} x SOFR "
                     f"cap {constant}bp floor 0bp")
    if io_on == "class":
        lines.append(f"class IO NTL/IO notional of {io_target} coupon {io_bp}bp")
    elif io_on == "collateral":
        lines.append(f"class IO NTL/IO notional of collateral coupon {io_bp}bp")
    lines.append("class R R")

    rules = []
    if has_pac:
        rules.append("pay P to schedule")
    if has_nas:
        rules.append("pay N its share")
    rules.append("pay " + " then ".join(n for n in ["A", "S", "Z"] if n in balances))
    if has_nas:
        rules.append("pay N until retired")
    if has_pac:
        rules.append("pay P until retired")
    waterfall = ["waterfall {", "  interest: pay each class its coupon"]
    if has_z:
        waterfall.append("  accretion Z: pay A then S")
    waterfall += ["  principal {", *(f"    {r}" for r in rules), "  }", "}"]
    text = "\n".join([
        'deal "PROP-S" { settle 2027-01-30  first payment 2027-02-25  delay 24 days }',
        f'collateral {{ pool "C" {{ balance {pool_balance:_}  wac {wac_bp}bp  coupon {coupon_bp}bp  '
        f"term {term}  age {age} }} }}",
        *lines,
        *waterfall,
        "scenarios {\n  pricing 165 PSA\n" + ("  index SOFR 4.3%\n" if parent else "") + "}",
    ]) + "\n"

    # ---- scenarios: random constant speeds (one inside the PAC's band), random SOFR levels
    speeds = draw(st.lists(st.floats(0, 5000, allow_nan=False), min_size=1, max_size=3))
    in_band = []
    if band is not None:
        speeds.append(draw(st.floats(*band, allow_nan=False)))
        in_band.append(len(speeds) - 1)
    scenarios = []
    for speed in speeds:
        sofr = draw(st.floats(0, 0.15, allow_nan=False))
        indices = (("SOFR", RatePath.level(sofr)),) if parent else ()
        scenarios.append(Scenario(Prepayment.constant(speed, "PSA"), indices))
    return Generated(text, scenarios, band, in_band)


def _check(g: Generated) -> None:
    deal = load(g.text, "generated.waterfall")
    results = deal.run(*g.scenarios)  # raises EngineError if the engine's own audit fails
    coll, f = results.collateral, results.flows

    # Cash: collateral in = issued classes + residual out, every period and scenario.
    issued = [c.index for c in deal.issued_classes if not c.is_residual]
    cash_in = coll.interest + coll.principal
    cash_out = (f.interest[:, issued, :].sum(axis=1) + f.principal[:, issued, :].sum(axis=1)
                + f.residual_interest + f.residual_principal)
    gap = np.abs(cash_in - cash_out)
    assert np.all(gap <= RTOL * np.abs(cash_in) + ATOL), f"cash not conserved: {gap.max():.3e}"
    # The residual is never paid a negative amount.
    assert np.all(f.residual_interest >= -(RTOL * np.abs(cash_in) + ATOL))
    assert np.all(f.residual_principal >= -(RTOL * np.abs(cash_in) + ATOL))

    # Balances: never negative, all retired by the last period (notionals too: they follow).
    for c in deal.issued_classes:
        if c.is_residual:
            continue
        original = results.original_balance(c.name)
        end = f.ending_balance[:, c.index, :]
        assert np.all(end >= -1e-6 * original), f"{c.name} negative: {end.min()}"
        assert np.all(f.principal[:, c.index, :] >= -1e-6 * original)
        assert np.all(f.interest[:, c.index, :] >= -ATOL)
        assert np.all(end[:, -1] <= 1e-6 * original), f"{c.name} not retired: {end[:, -1]}"

    # The PAC pays its schedule exactly at a speed inside its band.
    if g.pac is not None:
        p = deal.tranche("P").index
        schedule = deal.schedules[p]
        for s in g.in_band:
            # 1e-6 dollars on balances up to $500mm is float noise of a few hundred operations.
            gap = np.abs(f.ending_balance[s, p, :] - schedule).max()
            assert gap <= max(1e-6, 1e-14 * deal.tranche("P").balance), (
                f"PAC off schedule by {gap} at {g.scenarios[s].label}")


@SETTINGS
@given(structured_deals())
def test_random_structured_deals_conserve_cash_and_retire(g):
    _check(g)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(structured_deals(pac=True))
def test_random_pac_deals_pay_the_schedule_inside_the_band(g):
    _check(g)
