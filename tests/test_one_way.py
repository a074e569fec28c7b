"""One way to do each thing: one scenario-by-index expansion and its message, one tier capacity
message, scipy.optimize for every root."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.cli import main
from structurer.errors import DealErrors, InputError
from structurer.model import curve as curve_module
from structurer.model.prepayment import Prepayment
from structurer.model.scenarios import RatePath, Scenario, check_indices, with_index_levels
from structurer.structuring import solve
from structurer.valuation import quotes as valuation
from structurer.valuation import yields as pricing

DEALS = Path(__file__).resolve().parent.parent / "deals"
FLOATER = DEALS / "floater.waterfall"
PAC = DEALS / "pac.waterfall"


# ---------------------------------------------------------------------------- scenarios x index


def test_with_index_levels_is_scenario_major_and_replaces_the_index():
    slow = Scenario(Prepayment.constant(100, "PSA"),
                    (("SOFR", RatePath.level(0.09)), ("X", RatePath.level(1))))
    fast = Scenario(Prepayment.constant(300, "PSA"))
    levels = [RatePath.level(0.02), RatePath.level(0.04)]
    out = with_index_levels([slow, fast], "SOFR", levels)
    assert [(s.prepayment.values[0], dict(s.indices)["SOFR"].rates[0]) for s in out] == [
        (100, 0.02), (100, 0.04), (300, 0.02), (300, 0.04)]
    assert dict(out[0].indices)["X"] == RatePath.level(1)  # other indices are kept


def test_one_message_for_an_index_no_class_follows(capsys):
    deal = structurer.load(FLOATER)
    want = 'no class of deal "FLT-05" floats on LIBOR (they follow SOFR)'
    with pytest.raises(InputError) as api:
        check_indices(deal.name, deal.index_names, ["SOFR", "LIBOR"])
    assert str(api.value) == want
    with pytest.raises(InputError) as run:
        deal.run(Scenario(Prepayment.constant(100, "PSA"), (("LIBOR", RatePath.level(0.04)),)))
    assert str(run.value) == want
    with pytest.raises(InputError) as table:
        valuation.index_yield_table(deal, "FL", 100.0, ["100 PSA"], "LIBOR", [0.04])
    assert str(table.value) == want
    assert main(["run", str(FLOATER), "--index", "LIBOR=4%", "--no-report"]) == 2  # a usage error
    assert want in capsys.readouterr().err.replace("\n", " ")


def test_index_yield_table_cells_follow_the_cli_expansion():
    deal = structurer.load(FLOATER)
    speeds, levels = ["100 PSA", "300 PSA"], [0.02, 0.05, 0.08]
    table = valuation.index_yield_table(deal, "IF", 90.0, speeds, "SOFR", levels)
    scenarios = with_index_levels([Scenario(Prepayment.constant(v, "PSA")) for v in (100, 300)], "SOFR",
                                  [RatePath.level(v) for v in levels])
    results = deal.run(*scenarios)
    for k, scenario in enumerate(scenarios):
        i, j = k % len(levels), k // len(levels)
        one = valuation.quote(deal.run(scenario), "IF", price=90.0)
        assert table.iloc[i, j] == pytest.approx(100 * float(one.yield_[0]), abs=1e-9)
        assert results.scenarios[k] == scenario.label


# ---------------------------------------------------------------------------- tier capacity


def test_the_solver_and_the_check_say_the_same_about_capacity():
    deal = structurer.load(PAC)
    cap = solve.max_pac_balance(deal, "P").value
    over = np.ceil(cap) + 1000
    text = PAC.read_text()
    for name, value in (("P", over), ("S", 400e6 - over)):
        text = re.sub(rf"(class {name} .*?balance )[\d,]+", rf"\g<1>{value:,.0f}", text, count=1)
    with pytest.raises(DealErrors) as checked:
        structurer.loads(text)
    with pytest.raises(InputError) as rebuilt:
        solve.rebuild(deal, balances={"P": over, "S": 400e6 - over})
    (error,) = checked.value.errors
    assert str(rebuilt.value) == f"{error.message}: {error.hint}"
    assert error.message.startswith("PAC(90 PSA, 300 PSA) supports at most") and " has " in error.message


# ---------------------------------------------------------------------------- roots by scipy


def test_brent_stops_within_ftol_and_reuses_the_ends():
    calls: list[float] = []

    def f(x: float) -> float:
        calls.append(x)
        return x**3 - 2.0

    x, fx, iterations = solve.brent(f, 0.0, 2.0, -2.0, 6.0, xtol=1e-14, ftol=1e-6)
    assert abs(fx) <= 1e-6 and fx == f(x)
    assert 0.0 not in calls[:-1] and 2.0 not in calls[:-1]  # the caller's f(a), f(b) are used
    assert iterations == len(calls) - 1
    with pytest.raises(InputError, match="no root between -1 and 1"):
        solve.brent(lambda x: x * x + 1, -1.0, 1.0, 2.0, 2.0, xtol=1e-9, ftol=1e-9)


def test_yield_from_price_solves_every_cell_to_tolerance():
    months = np.arange(1, 121) + 25 / 30
    cash = np.vstack([np.full(120, 1_000.0), np.r_[np.zeros(119), 100_000.0], np.linspace(5e3, 0, 120)])
    beys = np.array([[-0.2, 0.0, 0.05], [0.3, 0.07, 1.5], [0.01, -0.05, 0.12]])  # [row, cell]
    full = np.stack([pricing.present_value(cash, months, beys[:, k]) for k in range(3)], axis=-1)
    got = pricing.yield_from_price(np.repeat(cash[:, None, :], 3, axis=1), months, full)
    assert np.allclose(got, beys, rtol=0, atol=1e-11)


def test_z_spread_out_of_range_is_nan_not_the_edge():
    curve = curve_module.make_curve("flat", [1, 30], [0.04, 0.04])
    # 100 in a year cannot be worth 1e-9 at any spread up to 500%, nor 1,000 at any down to -50%.
    z = pricing.z_spread(np.array([[100.0], [100.0], [100.0]]), np.array([12.0]),
                         np.array([1e-9, 1_000.0, 94.0]), curve)
    assert np.isnan(z[0]) and np.isnan(z[1]) and np.isfinite(z[2])
