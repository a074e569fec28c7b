"""Structuring solvers: each on a deal whose answer is known before the solver runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.cli import main
from structurer.errors import DealErrors, InputError
from structurer.model.curve import make_curve
from structurer.model.prepayment import Prepayment
from structurer.structuring import solve
from structurer.valuation import quotes as valuation

DEALS = Path(__file__).resolve().parent.parent / "deals"
SEQUENTIAL = DEALS / "sequential.waterfall"
PAC = DEALS / "pac.waterfall"
CURVE = make_curve("UST", [1, 2, 5, 10, 30], [0.041, 0.040, 0.041, 0.042, 0.045])


def text_with(path: Path, **balances: str) -> str:
    """The deal text with the balances of some classes rewritten, so the expected answer comes
    from the checks and the engine alone, not from the solver's own rebuilding."""
    text = path.read_text()
    for name, balance in balances.items():
        text, n = re.subn(rf"^(class {name}\s+.*?balance\s+)[0-9,_.]+", rf"\g<1>{balance}", text,
                          count=1, flags=re.MULTILINE)
        assert n == 1, name
    return text


def same_flows(a: structurer.Results, b: structurer.Results) -> None:
    for field in ("principal", "interest", "ending_balance", "accrued"):
        np.testing.assert_allclose(getattr(a.flows, field), getattr(b.flows, field), rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- root finding


def test_brent_finds_a_root_to_tolerance_and_refuses_an_unbracketed_one():
    x, fx, iterations = solve.brent(lambda x: x**3 - 2.0, 0.0, 2.0, -2.0, 6.0, xtol=1e-14, ftol=1e-15)
    assert x == pytest.approx(2 ** (1 / 3), abs=1e-12)
    assert iterations < 20
    with pytest.raises(ValueError):
        solve.brent(lambda x: x * x + 1, -1.0, 1.0, 2.0, 2.0, xtol=1e-9, ftol=1e-9)


# ---------------------------------------------------------------------------- a. size for WAL


def test_rebuilt_deal_runs_exactly_as_the_same_deal_written_out():
    deal = structurer.load(SEQUENTIAL)
    written = structurer.loads(text_with(SEQUENTIAL, A="150,000,000", B="80,500,000"))
    assert written.tranche("B").balance == 80_500_000  # the regex hit the right line
    rebuilt = solve.rebuild(deal, balances={"A": 150e6, "B": 80.5e6})
    same_flows(rebuilt.run("165 PSA", "300 PSA"), written.run("165 PSA", "300 PSA"))


def test_size_for_wal_finds_a_split_known_in_advance():
    deal = structurer.load(SEQUENTIAL)
    known = structurer.loads(text_with(SEQUENTIAL, A="150,000,000", B="80,500,000"))
    target = float(known.run().wal("A")[0])
    assert abs(target - float(deal.run().wal("A")[0])) > 0.3  # the solver starts far away

    result = solve.size_for_wal(deal, "A", "B", target)
    assert result.converged
    assert abs(result.achieved - target) <= 1e-8
    assert result.error == pytest.approx(result.achieved - target)
    # dWAL/dbalance is about 1.6e-8 years per dollar here, so 1e-8 years is within a dollar
    assert result.value == pytest.approx(150e6, abs=2.0)
    assert result.details["B_balance"] == pytest.approx(230.5e6 - result.value, abs=1e-6)
    assert 0 < result.iterations <= 20
    assert result.deal.tranche("A").balance + result.deal.tranche("B").balance == pytest.approx(230.5e6)
    assert float(result.deal.run().wal("A")[0]) == pytest.approx(target, abs=1e-8)


def test_size_for_wal_at_another_speed():
    deal = structurer.load(SEQUENTIAL)
    known = structurer.loads(text_with(SEQUENTIAL, A="100,000,000", B="130,500,000"))
    target = float(known.run("300 PSA").wal("A")[0])
    result = solve.size_for_wal(deal, "A", "B", target, scenario="300 PSA")
    assert result.value == pytest.approx(100e6, abs=2.0)
    assert "300 PSA" in result.goal


def test_size_for_wal_recomputes_pac_schedules():
    deal = structurer.load(PAC)
    known = structurer.loads(text_with(PAC, P="230,000,000", S="170,000,000"))
    rebuilt = solve.rebuild(deal, balances={"P": 230e6, "S": 170e6})
    p = known.tranche("P").index
    np.testing.assert_array_equal(rebuilt.schedules[p], known.schedules[p])
    same_flows(rebuilt.run("90 PSA", "165 PSA", "500 PSA"), known.run("90 PSA", "165 PSA", "500 PSA"))

    target = float(known.run().wal("P")[0])
    result = solve.size_for_wal(deal, "P", "S", target)
    assert result.converged
    assert result.value == pytest.approx(230e6, abs=5.0)


def test_size_for_wal_out_of_reach_says_the_reachable_range():
    deal = structurer.load(SEQUENTIAL)
    with pytest.raises(InputError, match=r"between 0\.0833 and 4\.11\d\d years.*9 years is out of reach"):
        solve.size_for_wal(deal, "A", "B", 9.0)
    # The PAC band caps P's balance, so P's WAL cannot reach what an unscheduled split could.
    with pytest.raises(InputError, match=r"bands allow P at most 243,896,87"):
        solve.size_for_wal(structurer.load(PAC), "P", "S", 12.0)


def test_size_for_wal_refuses_classes_whose_balance_is_not_free():
    deal = structurer.load(PAC)
    with pytest.raises(InputError, match="notional"):
        solve.size_for_wal(deal, "PI", "S", 5.0)
    with pytest.raises(InputError, match="no class 'Q'"):
        solve.size_for_wal(deal, "Q", "S", 5.0)


# ---------------------------------------------------------------------------- b. max PAC balance


def band_capacity_independently(deal: structurer.Deal, low: str, high: str) -> float:
    """Sum over periods of the lesser collateral principal of the two band runs, from the
    engine's collateral cash flows (not the schedules module)."""
    principal = deal.run(low, high).collateral.principal
    return float(np.minimum(principal[0], principal[1]).sum())


def test_max_pac_balance_of_fjf02():
    deal = structurer.load(PAC)
    result = solve.max_pac_balance(deal, "P")
    expected = band_capacity_independently(deal, "90 PSA", "300 PSA")
    assert result.value >= 243.8e6
    assert result.value == pytest.approx(expected, rel=1e-12)
    assert result.details["support"] == pytest.approx(400e6 - result.value, rel=1e-12)
    assert result.details["headroom"] == pytest.approx(result.value - 243.8e6)
    # Rebuilt at capacity, P is paid exactly on schedule at both band speeds.
    assert result.converged and result.error < 1e-3
    by_band = solve.max_pac_balance(deal, band=("90 PSA", "300 PSA"))
    assert by_band.value == pytest.approx(result.value, rel=1e-12)
    assert solve.max_pac_balance(deal, band="90,300").value == pytest.approx(result.value, rel=1e-12)


def test_max_pac_balance_is_where_the_checks_draw_the_line():
    cap = solve.max_pac_balance(structurer.load(PAC), "P").value
    below, above = np.floor(cap), np.ceil(cap) + 1
    structurer.loads(text_with(PAC, P=f"{below:.0f}", S=f"{400e6 - below:.0f}"))
    with pytest.raises(DealErrors, match="supports at most"):
        structurer.loads(text_with(PAC, P=f"{above:.0f}", S=f"{400e6 - above:.0f}"))


def test_max_pac_balance_of_a_lower_tier_sees_the_tiers_above():
    deal = structurer.load(DEALS / "pac_tiers.waterfall")
    pac = solve.max_pac_balance(deal, "PA")
    assert pac.value >= 310e6  # PA + PB + PC fit their band
    assert pac.value == pytest.approx(band_capacity_independently(deal, "100 PSA", "250 PSA"), rel=1e-12)
    pac2 = solve.max_pac_balance(deal, "P2")
    assert 40e6 <= pac2.value < solve.max_pac_balance(deal, band="130 PSA, 200 PSA").value


def test_max_pac_balance_needs_a_scheduled_class():
    with pytest.raises(InputError, match="no schedule"):
        solve.max_pac_balance(structurer.load(PAC), "S")


# ---------------------------------------------------------------------------- c. par coupon


@pytest.mark.parametrize("name", ["A", "C"])
def test_par_coupon_prices_at_par_at_the_curve_plus_spread(name):
    deal = structurer.load(SEQUENTIAL)
    result = solve.par_coupon(deal, name, 80, CURVE)
    assert result.converged
    assert result.achieved == pytest.approx(100.0, abs=1e-8)
    assert 0.0 < result.value < 0.075
    # Independently: at a clean price of 100 the class yields the curve at its WAL + 80bp.
    q = valuation.quote(result.deal.run(), name, price=100.0, curve=CURVE)
    assert float(q.yield_[0]) == pytest.approx(float(CURVE.par(q.wal[0])) + 0.0080, abs=1e-9)
    assert float(q.spread[0]) * 1e4 == pytest.approx(80.0, abs=1e-6)
    # The coupon written into the deal text gives the same price.
    text, n = re.subn(rf"^(class {name}\s+SEQ\s+balance\s+[0-9,]+\s+coupon\s+)7\.5%",
                      rf"\g<1>{result.value * 100:.12f}%", SEQUENTIAL.read_text(), flags=re.MULTILINE)
    assert n == 1
    written = structurer.loads(text)
    assert written.tranche(name).coupon == pytest.approx(result.value, abs=1e-13)
    price = valuation.quote(written.run(), name, spread=0.0080, curve=CURVE).price[0]
    assert price == pytest.approx(100.0, abs=1e-8)


def test_par_coupon_of_an_accrual_class():
    result = solve.par_coupon(structurer.load(DEALS / "accrual.waterfall"), "Z", 100, CURVE)
    q = valuation.quote(result.deal.run(), "Z", price=100.0, curve=CURVE)
    assert float(q.spread[0]) * 1e4 == pytest.approx(100.0, abs=1e-5)


def test_par_coupon_beyond_the_collateral_fails_clearly():
    deal = structurer.load(SEQUENTIAL)
    with pytest.raises(InputError, match=r"needs a coupon above 7\.5%, the most the collateral"):
        solve.par_coupon(deal, "D", 500, CURVE)
    with pytest.raises(InputError, match="no curve"):
        solve.par_coupon(deal, "A", 80)
    with pytest.raises(InputError, match="notional"):
        solve.par_coupon(structurer.load(PAC), "PI", 80, CURVE)


def test_max_coupon_leaves_room_for_io_strips():
    deal = structurer.load(DEALS / "io_po.waterfall")
    # A's 1% IO (AI) comes out of the 6.0% both pools pay after their strips.
    assert solve.max_coupon(deal, "A") == pytest.approx(0.05, abs=1e-12)
    assert solve.max_coupon(deal, "B") == pytest.approx(0.06, abs=1e-12)
    assert solve.max_coupon(structurer.load(PAC), "P") == pytest.approx(0.065, abs=1e-12)


# ---------------------------------------------------------------------------- d. effective band


def holds(deal: structurer.Deal, name: str, after: int, at: float, speed: float) -> bool:
    """Whether the PAC is on schedule (to a cent) in every period after `after`, with the deal
    run through its public API at a PSA vector: `at` for `after` months, then `speed`."""
    prepay = Prepayment.vector([at] * after + [speed], "PSA")
    balance = deal.run(prepay).arrays(name)["ending_balance"][0]
    schedule = deal.schedules[deal.tranche(name).index]
    return bool(np.abs(balance[after:] - schedule[after:]).max() <= 0.01)


def test_effective_band_after_no_periods_is_the_band():
    # Tolerance: each edge is pinned to 1e-6 PSA, and "on schedule" allows a cent, which moves an
    # edge by well under 1e-5 PSA (a PSA point changes a period's principal by thousands of
    # dollars); 1e-4 PSA covers both with room to spare. FJF-02's P is 96,875 below capacity,
    # which shortens the schedule's tail but cannot let the PAC fall behind early (below 90 PSA)
    # or in the late periods the 300 PSA run defines (above 300 PSA), so the band is exact.
    deal = structurer.load(PAC)
    result = solve.effective_band(deal, "P", 0, 165)
    low, high = result.value
    assert low == pytest.approx(90.0, abs=1e-4)
    assert high == pytest.approx(300.0, abs=1e-4)
    assert result.converged and result.details["monotonic"]
    assert result.error <= solve.BAND_TOLERANCE
    assert result.achieved <= 0.01


def test_effective_band_drifts_after_fast_prepayments():
    deal = structurer.load(PAC)
    result = solve.effective_band(deal, "P", 36, 300)
    low, high = result.value
    assert 90.0 < low < high <= 300.0 + 1e-4
    # Support was used up: less of it is left than at issue.
    assert result.details["support_then"] < 156.2e6
    # The edges, checked through the public API with a prepayment vector.
    assert holds(deal, "P", 36, 300, low + 0.01) and not holds(deal, "P", 36, 300, low - 0.01)
    assert holds(deal, "P", 36, 300, high - 0.01) and not holds(deal, "P", 36, 300, high + 0.01)
    assert holds(deal, "P", 36, 300, (low + high) / 2)


def test_effective_band_of_a_busted_pac_fails():
    with pytest.raises(InputError, match="busted"):
        solve.effective_band(structurer.load(PAC), "P", 60, 500)
    with pytest.raises(InputError, match="no schedule"):
        solve.effective_band(structurer.load(PAC), "S", 0, 165)


# ---------------------------------------------------------------------------- CLI


def test_cli_size(capsys):
    assert main(["solve", str(SEQUENTIAL), "--size", "A,B", "--wal", "3.0"]) == 0
    out = capsys.readouterr().out
    assert "A's WAL = 3 years at 165 PSA" in out and "163,830,4" in out


def test_cli_size_out_of_reach_exits_1_with_the_reason(capsys):
    assert main(["solve", str(SEQUENTIAL), "--size", "A,B", "--wal", "9"]) == 1
    assert "out of reach" in capsys.readouterr().err


def test_cli_max_pac(capsys):
    assert main(["solve", str(PAC), "--max-pac", "P"]) == 0
    out = capsys.readouterr().out
    assert "243,896,875.51" in out and "156,103,124.49" in out


def test_cli_par_coupon_with_a_curve_file(tmp_path, capsys):
    curve = tmp_path / "ust.csv"
    curve.write_text("tenor,yield\n1,4.1\n2,4.0\n5,4.1\n10,4.2\n30,4.5\n")
    assert main(["solve", str(SEQUENTIAL), "--par-coupon", "A", "--spread", "80", "--curve", str(curve)]) == 0
    assert "prices at par" in capsys.readouterr().out
    assert main(["solve", str(SEQUENTIAL), "--par-coupon", "A", "--spread", "80"]) == 1  # no curve
    assert "no curve" in capsys.readouterr().err


def test_cli_effective_band(capsys):
    assert main(["solve", str(PAC), "--effective-band", "P", "--after", "36", "--at", "300"]) == 0
    assert "holds its schedule from 197.6" in capsys.readouterr().out


@pytest.mark.parametrize("args", [
    [],  # no goal
    ["--size", "A,B"],  # no --wal
    ["--size", "A", "--wal", "3"],
    ["--par-coupon", "A"],  # no --spread
    ["--effective-band", "P", "--after", "36"],  # no --at
    ["--size", "A,B", "--wal", "3", "--max-pac", "P"],  # two goals
    ["--size", "A,B", "--wal", "x"],
])
def test_cli_bad_usage_exits_2(args, capsys):
    assert main(["solve", str(SEQUENTIAL), *args]) == 2
    assert capsys.readouterr().err
