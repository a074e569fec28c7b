"""structurer.valuation on the example deals: quote() round trips, the CLI's --json quote
fields, effective risk of floaters and inverse floaters, the static flag, price/yield tables
and index/yield tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DEALS_DIR, build_deal, deal_paths, script_module

import structurer
from structurer import cli
from structurer.errors import InputError
from structurer.model import Deal
from structurer.model import curve as curve_module
from structurer.model.prepayment import Prepayment
from structurer.model.scenarios import RatePath, Scenario
from structurer.valuation import quotes as valuation
from structurer.valuation import yields as pricing

ROOT = Path(__file__).resolve().parent.parent
CURVE_CSV = "tenor,yield\n1,4.1\n2,4.0\n5,4.0\n10,4.2\n30,4.5\n"
SPEEDS = ["0 PSA", "165 PSA", "500 PSA"]


def load(name: str) -> Deal:
    return structurer.load(DEALS_DIR / name)


def priced_classes(deal: Deal) -> list[str]:
    return [c.name for c in deal.issued_classes if not c.is_residual]


# ---------------------------------------------------------------------------- quote()


@pytest.mark.parametrize("path", deal_paths(), ids=lambda p: p.stem)
def test_price_yield_price_round_trip(path: Path) -> None:
    deal = structurer.load(path)
    results = deal.run(*SPEEDS)
    months = pricing.discount_months(deal.settle, results.dates)
    for name in priced_classes(deal):
        # 99-16 for every class, as `--price 99-16` does: deeply negative yields for the IOs
        q = valuation.quote(results, name, price="99-16")
        assert np.all(q.price == 99.5)
        assert np.all(np.isfinite(q.yield_)), name
        # the yield really prices the cash flows back to the full price
        cash = valuation.class_cash(results, name)
        pv = 100 * pricing.present_value(cash, months, q.yield_) / q.face
        assert np.allclose(pv, 99.5 + q.accrued, rtol=1e-10, atol=0), name
        back = valuation.quote(results, name, yield_=q.yield_)
        assert np.allclose(back.price, 99.5, rtol=0, atol=1e-8), name
        assert np.allclose(back.modified_duration, q.modified_duration, rtol=1e-8)


@pytest.mark.parametrize("path", deal_paths(), ids=lambda p: p.stem)
def test_yield_price_yield_round_trip(path: Path) -> None:
    deal = structurer.load(path)
    results = deal.run(*SPEEDS)
    for name in priced_classes(deal):
        q = valuation.quote(results, name, yield_=0.06)
        assert np.all(q.yield_ == 0.06)
        for s in range(len(SPEEDS)):
            back = valuation.quote(results, name, price=float(q.price[s]))
            assert back.yield_[s] == pytest.approx(0.06, abs=1e-10), (name, SPEEDS[s])


def test_fast_io_at_99_16_has_a_yield_that_prices_it() -> None:
    """Regression: Newton on PV crept for deeply negative yields and stopped after 200 steps
    with a yield whose PV was 1e59 times the price (FJF-02's PI at 500 PSA, 99-16)."""
    deal = load("pac.waterfall")
    results = deal.run("500 PSA")
    q = valuation.quote(results, "PI", price="99-16")
    cash = valuation.class_cash(results, "PI")
    months = pricing.discount_months(deal.settle, results.dates)
    full = 100 * float(pricing.present_value(cash, months, q.yield_)[0]) / q.face
    assert full == pytest.approx(99.5 + q.accrued, rel=1e-10)
    assert q.yield_[0] < -0.25  # 99-16 for a few points of cash (the old solver said -185%)


def test_quote_needs_exactly_one_of_price_yield_spread() -> None:
    results = load("sequential.waterfall").run()
    with pytest.raises(InputError):
        valuation.quote(results, "A")
    with pytest.raises(InputError):
        valuation.quote(results, "A", price=99.5, yield_=0.06)
    with pytest.raises(InputError, match="curve"):
        valuation.quote(results, "A", spread=0.01)
    with pytest.raises(InputError, match="residual"):
        valuation.quote(results, "R", price=99.5)


def test_quote_at_a_spread_prices_at_curve_plus_spread() -> None:
    deal = load("sequential.waterfall")
    results = deal.run(*SPEEDS)
    curve = curve_module.make_curve("ust", [1, 2, 5, 10, 30], [0.041, 0.040, 0.040, 0.042, 0.045])
    for name in priced_classes(deal):
        q = valuation.quote(results, name, spread=0.0125, curve=curve)
        assert np.allclose(q.yield_, curve.par(q.wal) + 0.0125, rtol=0, atol=1e-15)
        assert np.allclose(q.spread, 0.0125, rtol=0, atol=1e-12)
        again = valuation.quote(results, name, price=float(q.price[1]), curve=curve)
        assert again.spread[1] == pytest.approx(0.0125, abs=1e-10)


# ---------------------------------------------------------------------------- the CLI's JSON


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = cli.main([str(DEALS_DIR / "pac.waterfall"), *args, "--json", "--no-report"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_cli_json_price(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--price", "99-16")
    classes = out["scenarios"][0]["classes"]
    results = load("pac.waterfall").run()
    for name in ("P", "S", "PI"):
        c = classes[name]
        q = valuation.quote(results, name, price=99.5)
        assert c["price"] == 99.5
        assert c["price_32nds"] == "99-16"
        assert c["yield"] == pytest.approx(100 * float(q.yield_[0]), abs=1e-8)  # percent
        assert c["modified_duration"] == pytest.approx(float(q.modified_duration[0]), abs=1e-8)
        assert c["convexity"] == pytest.approx(float(q.convexity[0]), abs=1e-8)
        assert c["macaulay_duration"] == pytest.approx(
            c["modified_duration"] * (1 + c["yield"] / 200), abs=1e-8)
        assert c["accrued"] == pytest.approx(float(q.accrued[0]), abs=1e-9)
        assert c["spread_bp"] is None and c["z_spread_bp"] is None  # no curve
        # no floater in FJF-02: effective risk is the static risk
        assert c["effective_duration"] == c["modified_duration"]
    assert classes["P"]["accrued"] == pytest.approx(6.5 / 12 * 29 / 30, abs=1e-9)
    assert "price" not in classes["R"]


def test_cli_json_price_with_a_curve(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    curve_file = tmp_path / "ust.csv"
    curve_file.write_text(CURVE_CSV, encoding="utf-8")
    out = run_json(capsys, "--price", "99-16", "--curve", str(curve_file))
    curve = curve_module.read_curve_csv(curve_file)
    for name in ("P", "S", "PI"):
        c = out["scenarios"][0]["classes"][name]
        # spread = BEY - the curve at the WAL (an IO: the WAL of its notional)
        expected = (c["yield"] / 100 - float(curve.par(c["wal"]))) * 10000
        assert c["spread_bp"] == pytest.approx(expected, abs=1e-6)
        assert isinstance(c["z_spread_bp"], float)


def test_cli_json_yield(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--yield", "6.5%", "--psa", "100,300")
    results = load("pac.waterfall").run("100 PSA", "300 PSA")
    for s in range(2):
        for name in ("P", "S", "PI"):
            c = out["scenarios"][s]["classes"][name]
            assert c["yield"] == pytest.approx(6.5, abs=1e-12)
            q = valuation.quote(results, name, yield_=0.065)
            assert c["price"] == pytest.approx(float(q.price[s]), abs=1e-8)
            assert c["price_32nds"] == pricing.format_32nds(c["price"])


def test_cli_json_one_class(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--yield", "P=6.5%")
    classes = out["scenarios"][0]["classes"]
    assert classes["P"]["yield"] == pytest.approx(6.5)
    assert "yield" not in classes["S"]


# ---------------------------------------------------------------------------- effective risk


def test_effective_duration_of_floater_and_inverse() -> None:
    deal = load("floater.waterfall")
    results = deal.run()
    fl = valuation.quote(results, "FL", price=100.0)
    inv = valuation.quote(results, "IF", price=100.0)
    assert not fl.static and not inv.static
    # the floater's coupon follows the index: next to no rate risk, though its cash flows are long
    assert abs(fl.effective_duration[0]) < 0.5
    assert fl.modified_duration[0] > 5
    # the inverse's coupon falls 3 for 1 as the index rises: long and leveraged
    assert inv.effective_duration[0] > 10
    assert inv.effective_duration[0] > 3 * inv.modified_duration[0]
    months = pricing.discount_months(deal.settle, results.dates)
    shift = valuation.EFFECTIVE_SHIFT
    for name in ("A", "D"):  # fixed classes: the cash flows do not move, so effective = static
        q = valuation.quote(results, name, price=100.0)
        cash = valuation.class_cash(results, name)
        p0, up, down = (pricing.present_value(cash, months, q.yield_ + d) for d in (0.0, shift, -shift))
        assert q.effective_duration[0] == pytest.approx(float((down - up)[0] / (2 * shift * p0[0])),
                                                        rel=1e-12)
        assert q.effective_convexity[0] == pytest.approx(
            float((down + up - 2 * p0)[0] / (shift**2 * p0[0])), rel=1e-9)
        # and the 25bp finite differences are close to the analytic figures
        assert q.effective_duration[0] == pytest.approx(q.modified_duration[0], rel=1e-3)
        assert q.effective_convexity[0] == pytest.approx(q.convexity[0], rel=1e-2)


def test_floater_and_inverse_add_up_to_the_fixed_parent() -> None:
    """FL + IF pay C's 7.5% at every SOFR in the shifted range, so, priced at one yield, their
    dollar effective durations add up to the finite-difference duration of C's fixed cash."""
    deal = load("floater.waterfall")
    results = deal.run("100 PSA", "300 PSA")
    bey = 0.07
    fl = valuation.quote(results, "FL", yield_=bey)
    inv = valuation.quote(results, "IF", yield_=bey)
    cash = valuation.class_cash(results, "FL") + valuation.class_cash(results, "IF")
    months = pricing.discount_months(deal.settle, results.dates)
    shift = valuation.EFFECTIVE_SHIFT

    def pv(b: float) -> np.ndarray:
        return pricing.present_value(cash, months, np.full(2, b))

    p0, up, down = pv(bey), pv(bey + shift), pv(bey - shift)
    duration = (down - up) / (2 * shift * p0)
    fl_dollars = fl.full_price * fl.face / 100
    inv_dollars = inv.full_price * inv.face / 100
    assert np.allclose(fl_dollars + inv_dollars, p0, rtol=1e-12)
    combined = (fl_dollars * fl.effective_duration + inv_dollars * inv.effective_duration) / p0
    assert np.allclose(combined, duration, rtol=1e-9)
    convexity = (down + up - 2 * p0) / (shift**2 * p0)
    combined_c = (fl_dollars * fl.effective_convexity + inv_dollars * inv.effective_convexity) / p0
    assert np.allclose(combined_c, convexity, rtol=1e-7)


@pytest.mark.parametrize("path", deal_paths(), ids=lambda p: p.stem)
def test_static_flag(path: Path) -> None:
    deal = structurer.load(path)
    results = deal.run("165 PSA")
    floats = any(c.formula is not None for c in deal.classes)
    assert valuation.depends_on_rates(results) == floats
    for name in priced_classes(deal):
        q = valuation.quote(results, name, price=99.5)
        assert q.static == (not floats)
        if q.static:
            assert np.array_equal(q.effective_duration, q.modified_duration)
            assert np.array_equal(q.effective_convexity, q.convexity)
        assert np.all(np.isfinite(q.effective_duration))


# ---------------------------------------------------------------------------- price/yield tables


PRICES = [97.0, 98.5, 99.5, 100.0, 101.25]
TABLE_SPEEDS = ["100 PSA", "165 PSA", "300 PSA", "500 PSA"]


@pytest.mark.parametrize("deal_file", ["pac.waterfall", "floater.waterfall", "accrual.waterfall"])
def test_price_yield_table_cells_are_quote_yields(deal_file: str) -> None:
    deal = load(deal_file)
    results = deal.run(*TABLE_SPEEDS)
    for name in priced_classes(deal):
        frame = valuation.price_yield_table(deal, name, PRICES, TABLE_SPEEDS)
        assert frame.shape == (len(PRICES) + 3, len(TABLE_SPEEDS))
        assert list(frame.columns) == TABLE_SPEEDS
        labels = [pricing.format_32nds(p) for p in PRICES]
        assert list(frame.index) == labels + ["WAL (years)", "Mod. duration at 99-16", "Principal window"]
        for price, label in zip(PRICES, labels, strict=True):
            q = valuation.quote(results, name, price=price)
            expected = np.round(q.yield_ * 100, 3)
            assert np.allclose(frame.loc[label].to_numpy(dtype=float), expected, rtol=0, atol=1e-12)
        mid = valuation.quote(results, name, price=99.5)
        assert np.allclose(frame.loc["Mod. duration at 99-16"].to_numpy(dtype=float),
                           np.round(mid.modified_duration, 2), rtol=0, atol=1e-12)
        # cheaper is higher yielding, in every column
        cells = frame.loc[labels].to_numpy(dtype=float)
        assert np.all(np.diff(cells, axis=0) <= 0)


def test_price_yield_table_of_an_io() -> None:
    deal = load("pac.waterfall")
    frame = valuation.price_yield_table(deal, "PI", [3.0, 4.0, 5.0], TABLE_SPEEDS)
    assert list(frame.loc["Principal window"]) == ["-"] * len(TABLE_SPEEDS)
    yields = frame.loc[["3-00", "4-00", "5-00"]].to_numpy(dtype=float)
    # Inside the PAC's 90-300 PSA band its schedule, so its IO's cash, does not change; at 500
    # PSA the support is gone early and the PAC pays down faster: the IO yields less.
    assert np.all(yields[:, :3] == yields[:, :1])
    assert np.all(yields[:, 3] < yields[:, 2] - 5)
    assert np.all(np.diff(yields, axis=0) < 0)


# ---------------------------------------------------------------------------- index/yield tables


MIX = """
deal "MIX-1" {
  settle 2027-04-29
  first payment 2027-05-25
  delay 24 days
}

collateral {
  pool "FN 5.5" { balance 120mm  wac 6.10%  coupon 5.5%  term 360  age 6 }
  pool "FN 6.5" { balance 180mm  wac 7.10%  coupon 6.5%  term 360  age 1 }
}

class PO  PO      strip of pool "FN 5.5" to 6.0%
class A   SEQ     balance 150mm  coupon 5.0%
class AI  NTL/IO  notional of A  coupon 1.0%
class C   SEQ     balance 140mm  coupon 6.0%
class FL  FLT  from C  balance 105mm  coupon SOFR + 40bp  cap 8%  floor 0.4%
class IF  INV  from C  balance 35mm   coupon 22.8% - 3 x SOFR  cap 22.8%  floor 0%
class IX  NTL/IO  notional of pool "FN 6.5"  coupon 0.5%
class R   R

waterfall {
  interest: pay each class its coupon
  principal: pay A then C
}

scenarios {
  pricing 200 PSA
  index SOFR 4.3%
}
"""

LEVELS = [0.01, 0.02, 0.04, 0.06, 0.075]
IDX_SPEEDS = ["100 PSA", "200 PSA", "400 PSA"]


@pytest.fixture(scope="module")
def mix() -> Deal:
    return build_deal(MIX, "mix.waterfall")


def count_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = Deal.run

    def counting(self: Deal, *speeds):  # type: ignore[no-untyped-def]
        calls.append(len(speeds))
        return original(self, *speeds)

    monkeypatch.setattr(Deal, "run", counting)
    return calls


def test_index_yield_table_shape_and_one_run(mix: Deal, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_runs(monkeypatch)
    frame = valuation.index_yield_table(mix, "IF", "90-00", IDX_SPEEDS, "SOFR", LEVELS)
    assert calls == [len(LEVELS) * len(IDX_SPEEDS)]  # one engine run, every (level, speed)
    assert frame.shape == (len(LEVELS), len(IDX_SPEEDS))
    assert list(frame.columns) == IDX_SPEEDS
    assert list(frame.index) == ["SOFR 1%", "SOFR 2%", "SOFR 4%", "SOFR 6%", "SOFR 7.5%"]
    assert np.all(np.isfinite(frame.to_numpy()))


@pytest.mark.parametrize(("name", "price"), [("A", 99.5), ("PO", 70.0), ("AI", 4.0), ("IX", 2.0)])
def test_index_yield_table_rows_equal_when_nothing_floats(mix: Deal, name: str, price: float) -> None:
    frame = valuation.index_yield_table(mix, name, price, IDX_SPEEDS, "SOFR", LEVELS)
    cells = frame.to_numpy()
    assert np.all(np.isfinite(cells))
    assert np.all(cells == cells[0])  # the same cash flows at every level: the same yields


def test_index_yield_table_io_po_by_speed(mix: Deal) -> None:
    po = valuation.index_yield_table(mix, "PO", 70.0, IDX_SPEEDS, "SOFR", [0.04]).to_numpy()[0]
    io = valuation.index_yield_table(mix, "IX", 2.0, IDX_SPEEDS, "SOFR", [0.04]).to_numpy()[0]
    assert np.all(np.diff(po) > 0)  # a PO bought at a discount gains from speed
    assert np.all(np.diff(io) < 0)  # an IO loses


def test_index_yield_table_inverse_floater_falls_as_index_rises(mix: Deal) -> None:
    inv = valuation.index_yield_table(mix, "IF", 90.0, IDX_SPEEDS, "SOFR", LEVELS).to_numpy()
    assert np.all(np.diff(inv, axis=0) < 0)
    fl = valuation.index_yield_table(mix, "FL", 99.5, IDX_SPEEDS, "SOFR", LEVELS).to_numpy()
    assert np.all(np.diff(fl, axis=0) > 0)


def test_index_yield_table_on_the_example_floater_deal() -> None:
    deal = load("floater.waterfall")
    levels = [0.01, 0.03, 0.05, 0.07, 0.085]
    inv = valuation.index_yield_table(deal, "IF", "80-00", TABLE_SPEEDS, "SOFR", levels).to_numpy()
    assert np.all(np.diff(inv, axis=0) < 0)
    fixed = valuation.index_yield_table(deal, "D", "99-16", TABLE_SPEEDS, "SOFR", levels).to_numpy()
    assert np.all(fixed == fixed[0])


def test_index_yield_table_cell_is_a_quote_of_that_scenario(mix: Deal) -> None:
    frame = valuation.index_yield_table(mix, "IF", 90.0, IDX_SPEEDS, "SOFR", LEVELS)
    for i, level in enumerate(LEVELS):
        for j, speed in enumerate(IDX_SPEEDS):
            scenario = Scenario(Prepayment.constant(float(speed.split()[0]), "PSA"),
                                (("SOFR", RatePath.level(level)),))
            q = valuation.quote(mix.run(scenario), "IF", price=90.0)
            assert frame.iloc[i, j] == pytest.approx(100 * float(q.yield_[0]), abs=1e-9)


def test_index_yield_table_takes_paths_and_scenarios(mix: Deal) -> None:
    path = RatePath("curve", (0.02, 0.06), (1, 60))
    speed = Scenario(Prepayment.constant(200, "PSA"), (("SOFR", RatePath.level(0.09)),))
    frame = valuation.index_yield_table(mix, "IF", 90.0, [speed], "SOFR", [path, 0.04])
    assert list(frame.index) == ["SOFR curve(1: 2%, 60: 6%)", "SOFR 4%"]
    flat = valuation.index_yield_table(mix, "IF", 90.0, ["200 PSA"], "SOFR", [0.04])
    assert frame.iloc[1, 0] == flat.iloc[0, 0]  # the level replaced the scenario's 9%


def test_index_yield_table_errors(mix: Deal) -> None:
    with pytest.raises(InputError, match="floats on LIBOR"):
        valuation.index_yield_table(mix, "IF", 90.0, IDX_SPEEDS, "LIBOR", LEVELS)
    with pytest.raises(InputError, match="not an issued class"):
        valuation.index_yield_table(mix, "R", 90.0, IDX_SPEEDS, "SOFR", LEVELS)
    with pytest.raises(InputError, match="at least one"):
        valuation.index_yield_table(mix, "IF", 90.0, IDX_SPEEDS, "SOFR", [])
    with pytest.raises(InputError, match="no index"):
        valuation.index_yield_table(load("io_po.waterfall"), "PO", 70.0, IDX_SPEEDS, "SOFR", LEVELS)


# ---------------------------------------------------------------------------- the benchmark script


def test_bench_pricing_runs(capsys: pytest.CaptureFixture[str]) -> None:
    script = ROOT / "benchmarks" / "bench_pricing.py"
    with script_module(script, "bench_pricing") as module:
        code = module.main(["--repeat", "1", "--deal", str(DEALS_DIR / "pac.waterfall")])
    out = capsys.readouterr().out
    assert code == 0
    for name in ("P", "S", "PI"):
        assert f"\n  {name} " in out
    assert "best" in out and "median" in out


def test_price_yield_tables_show_mortgage_yields_too(tmp_path: Path) -> None:
    """Beside every grid of bond-equivalent yields, the same yields compounded monthly: converted
    from the unrounded BEY (valuation), shown in the terminal (--tables) and the report."""
    deal = load("pac.waterfall")
    results = deal.run(*TABLE_SPEEDS)
    frame = valuation.price_yield_table(deal, "P", PRICES, TABLE_SPEEDS, mortgage=True)
    assert frame.index.name == "P: price / mortgage yield"
    for price, label in zip(PRICES, [pricing.format_32nds(p) for p in PRICES], strict=True):
        q = valuation.quote(results, "P", price=price)
        expected = np.round(pricing.mortgage_from_bey(q.yield_) * 100, 3)
        assert np.allclose(frame.loc[label].to_numpy(dtype=float), expected, rtol=0, atol=1e-12)
        # monthly compounding of the same yield: a little below the semiannual BEY
        assert np.all(frame.loc[label].to_numpy(dtype=float) < np.round(q.yield_ * 100, 3) + 1e-12)
    priced = DEALS_DIR / "trust_io_po.waterfall"  # an example deal whose analytics ask for tables
    report = tmp_path / "priced.html"
    assert cli.main([str(priced), "--tables", "--report", str(report)]) == 0
    html = report.read_text()
    assert '<table class="grid price-yield-mortgage"' in html
