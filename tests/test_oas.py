"""OAS on Hull-White paths (valuation/oas.py, analysis/oas.py): zero volatility collapses OAS to
the ZV spread, which is the valuation module's Z-spread on a flat curve; a zero-coupon bond on the
paths reproduces the curve; the model at constant turnover is the CPR run; the signs of IO, PO,
PAC and support risk; convergence in the paths; the language, its errors, the CLI and the API."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

import structurer
from structurer.analysis.oas import ZERO_VOL, bumped_curve, model_run, mortgage_rates, oas_analysis, refit
from structurer.cli import main
from structurer.engine.ratepaths import curve_discount, simulate
from structurer.errors import DealErrors, InputError
from structurer.model.curve import make_curve
from structurer.model.prepayment import parse_speed
from structurer.model.prepaymodel import OTS, constant_turnover
from structurer.model.ratemodel import OTS_MORTGAGE_RATE, HullWhite
from structurer.model.scenarios import RatePath, Scenario
from structurer.valuation import oas as val
from structurer.valuation.yields import discount_months, z_spread

DEALS = Path(__file__).resolve().parent.parent / "deals"
OAS_DEAL = DEALS / "oas.waterfall"


@pytest.fixture(scope="module")
def deal():
    return structurer.load(OAS_DEAL)


@pytest.fixture(scope="module")
def result(deal):
    """The example deal at its declared model (1,000 paths), once for the module."""
    return {c.name: c for c in oas_analysis(deal, key_rates=True).classes}


def test_zero_volatility_gives_oas_equal_to_the_zv_spread(deal):
    model = HullWhite(0.03, 0.0, 4)
    got = oas_analysis(deal, model=model, key_rates=False, shifts=())
    for c in got.classes:
        assert math.isfinite(c.oas), c.name
        assert abs(c.oas - c.zv_spread) * 1e4 < 0.1, c.name
        assert abs(c.option_cost) * 1e4 < 0.1
        assert c.price_std_error == pytest.approx(0.0, abs=1e-9)


def test_the_zv_spread_is_the_z_spread_on_a_flat_curve(deal):
    """On a flat par curve y the spot curve is y too, so the valuation module's Z-spread z
    (semiannual, over spot) and the ZV spread s (continuous, over the forward short rate) price
    the same cash flows exactly when 2 ln(1 + (y + z)/2) = 2 ln(1 + y/2) + s."""
    y = 0.045
    flat = make_curve("flat", [1, 30], [y, y])
    rows = np.array([deal.tranche(n).index for n in ("PA", "T", "Z", "PO")])
    run = model_run(deal, [simulate(flat, ZERO_VOL, deal.periods)], OTS, OTS_MORTGAGE_RATE, rows=rows)
    cash = run.cash[:, 0]
    months = discount_months(deal.settle, structurer.load(OAS_DEAL).run().dates)
    full = 0.97 * cash.sum(axis=1) * np.exp(-0.05 * months.mean() / 12)  # some value in range
    zv = val.solve_spread(val.mean_discounted(run.cash, run.discount), months / 12.0, full)
    z = z_spread(cash, months, full, flat)
    want = 2 * np.log1p((y + z) / 2) - 2 * np.log1p(y / 2)
    np.testing.assert_allclose(zv, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("months", [18.8, 60.8, 119.8, 359.8])
def test_a_zero_coupon_bond_on_the_paths_reproduces_the_discount_factor(months):
    curve = make_curve("ust", [0.25, 1, 2, 5, 10, 30], [0.043, 0.041, 0.040, 0.041, 0.042, 0.045])
    paths = simulate(curve, HullWhite(0.03, 0.012, 2000, seed=3), 360)
    disc = val.path_discount(paths, np.array([months]))  # [path, 1]
    cash = np.full((1, 2000, 1), 100.0)
    mean = val.mean_discounted(cash, disc)[0, 0]
    se = val.standard_error(100.0 * disc, antithetic=True)[0]
    want = 100.0 * float(curve_discount(curve, months / 12.0))
    assert se > 0
    # Between whole months the short rate is held, the curve's spot is interpolated: 1e-6 apart.
    assert abs(mean - want) < 3 * se + 1e-4


def test_antithetic_paths_have_mean_shock_zero():
    curve = make_curve("ust", [1, 30], [0.04, 0.045])
    paths = simulate(curve, HullWhite(0.03, 0.01, 500, seed=11), 120)
    np.testing.assert_allclose(paths.factor.mean(axis=0), 0.0, atol=1e-15)


def test_constant_turnover_with_refinancing_off_is_the_cpr_run(deal):
    paths = simulate(deal.analytics.curve, HullWhite(0.03, 0.01, 6, seed=1), deal.periods)
    run = model_run(deal, [paths], constant_turnover(0.06), OTS_MORTGAGE_RATE)
    # The floaters read each path's short rate: the CPR run is given the same index path.
    for p in range(6):
        index = RatePath("vector", tuple(paths.short[p, :deal.periods].tolist()))
        cpr = deal.run(Scenario(parse_speed("6 CPR"), (("SOFR", index),)))
        for tranche in deal.issued_classes:
            a = cpr.arrays(tranche.name)
            want = a["interest"][0] + a["principal"][0]
            np.testing.assert_allclose(run.cash[tranche.index, p], want, rtol=1e-12, atol=1e-6)


def test_io_po_pac_and_support_risk_have_the_desks_signs(result):
    assert result["IX"].effective_duration < 0  # an IO on the collateral: prepayments rise as rates fall
    assert result["PO"].effective_duration > 5  # a PO gains from faster prepayments
    assert result["PA"].effective_convexity > result["T"].effective_convexity  # PAC vs its support
    assert result["T"].effective_convexity < 0


def test_key_rates_add_up_to_about_the_effective_duration(result):
    for name in ("PA", "PB", "PO"):
        c = result[name]
        assert sum(c.key_rates.values()) == pytest.approx(c.effective_duration, rel=0.1, abs=0.3), name


def test_the_option_costs_a_support_more_than_a_pac(result):
    assert result["T"].option_cost > result["PA"].option_cost > 0


def test_oas_converges_as_paths_grow(deal):
    """The OAS moves less than a few standard errors from 500 to 4,000 paths, and the standard
    error falls about as 1/sqrt(paths)."""
    figures = {}
    for n in (500, 4000):
        got = oas_analysis(deal, {"T": 98, "PO": 72}, model=HullWhite(0.03, 0.01, n, seed=5),
                           key_rates=False, shifts=())
        figures[n] = {c.name: c for c in got.classes if c.name in ("T", "PO")}
    for name in ("T", "PO"):
        small, large = figures[500][name], figures[4000][name]
        assert abs(small.oas - large.oas) < 4 * small.oas_std_error, name
        assert large.oas_std_error < 0.6 * small.oas_std_error


def test_curve_shifts_extend_classes_as_rates_rise(deal):
    got = oas_analysis(deal, {"Z": 88, "PO": 72}, model=HullWhite(0.03, 0.01, 2), key_rates=False,
                       shifts=(-100.0, 0.0, 300.0))
    wal, price = got.shifts.wal, got.shifts.price
    assert wal["Z"][0] < wal["Z"][1] < wal["Z"][2]
    assert price["PO"][1] == pytest.approx(72.0)  # at no shift, the ZV spread gives back the price
    assert price["PO"][0] > price["PO"][1] > price["PO"][2]


def test_the_key_rate_bumps_add_up_to_the_parallel_one():
    curve = make_curve("ust", [1, 3, 7, 20, 30], [0.04, 0.041, 0.042, 0.044, 0.045])
    parallel = bumped_curve(curve, 25.0)
    grid = np.linspace(0.5, 30, 60)
    total = sum(bumped_curve(curve, 25.0, key).par(grid) - curve.par(grid) for key in (2.0, 5.0, 10.0, 30.0))
    np.testing.assert_allclose(total, parallel.par(grid) - curve.par(grid), atol=1e-12)


# ---- the language and its errors


BASE = OAS_DEAL.read_text()


@pytest.mark.parametrize("old, new, words", [
    ("volatility 1%", "volatility -1%", "volatility (-1%) cannot be negative"),
    ("paths 1000", "paths 0", "at least one"),
    ("paths 1000", "paths 999", "come in pairs"),
    ("mean reversion 0.03", "mean reversion -0.03", "cannot be negative"),
    ("20: 4.50%, 30: 4.55%)", "20: 4.50%)", "reaches 20 years"),
    ("multiplier 1.0", "multiplier -1", "cannot be negative"),
    ("rates -200 bp", "rates -200", "needs its unit"),
    ("oas PA at 99-16", "oas QQ at 99-16", "unknown class 'QQ'"),
    ("oas PA at 99-16", "oas S at 99-16", "not an issued class"),
    ("hull-white", "vasicek", "unknown rate model"),
])
def test_bad_rate_input_is_reported_at_its_position(old, new, words):
    assert old in BASE
    with pytest.raises(DealErrors) as exc:
        structurer.loads(BASE.replace(old, new, 1), str(OAS_DEAL))
    text = str(exc.value)
    assert any(w in text for w in words.split("|")), text
    assert "oas.waterfall:" in text  # positioned


def test_the_language_declares_the_models(deal):
    spec = deal.analytics.rates
    assert spec.rate_model == HullWhite(0.03, 0.01, 1000, seed=7)
    assert spec.prepay_model == OTS
    assert spec.shifts == (-200.0, -100.0, 0.0, 100.0, 300.0)
    assert dict(spec.oas_prices)["PA"] == pytest.approx(99.5)
    changed = structurer.loads(BASE.replace("multiplier 1.0", "multiplier 1.5 turnover 2 CPR"), "x.waterfall")
    assert changed.analytics.rates.prepay_model == dataclasses.replace(OTS.scaled(1.5), turnover=0.02)


def test_a_deal_without_a_curve_is_refused_in_words(deal):
    bare = dataclasses.replace(deal, analytics=dataclasses.replace(deal.analytics, curves={}))
    with pytest.raises(InputError, match="no curve"):
        oas_analysis(bare, price=100)


# ---- the CLI and the API


def test_cli_json_has_oas_per_class(tmp_path, capsys):
    code = main(["run", str(OAS_DEAL), "--oas", "--paths", "200", "--no-key-rates", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    pa = out["oas"]["classes"]["PA"]
    for key in ("oas", "zv_spread", "option_cost", "effective_duration", "effective_convexity",
                "oas_std_error"):
        assert isinstance(pa[key], float), key
    assert pa["option_cost"] == pytest.approx(pa["zv_spread"] - pa["oas"], abs=1e-6)
    assert out["oas"]["paths"] == 200


def test_cli_price_for_every_class_and_usage_errors(capsys):
    assert main(["run", str(OAS_DEAL), "--oas", "--paths", "100", "--price", "PA=100", "--no-key-rates",
                 "--no-report"]) == 0
    printed = capsys.readouterr().out
    assert "OAS" in printed and "across rate shifts" in printed
    assert main(["run", str(OAS_DEAL), "--oas", "--paths", "7", "--no-report"]) != 0
    assert "pairs" in capsys.readouterr().err


def test_api(deal):
    got = structurer.oas(deal, {"PA": "99-16"}, paths=100, key_rates=False, shifts=())
    names = [c.name for c in got.classes]
    assert "PA" in names and got.model.paths == 100
    assert got.to_dict()["classes"]["PA"]["price"] == pytest.approx(99.5)


def test_report_has_the_oas_table_and_chart(tmp_path):
    path = tmp_path / "r.html"
    args = ["run", str(OAS_DEAL), "--oas", "--paths", "100", "--no-key-rates", "--report", str(path)]
    assert main(args) == 0
    html = path.read_text()
    assert "Option-adjusted spread" in html and "WAL and price across rate shifts" in html
    assert "<svg" in html


def test_refitting_the_paths_to_a_shifted_curve_is_simulating_it_with_the_same_seed():
    curve = make_curve("ust", [1, 2, 10, 30], [0.041, 0.040, 0.042, 0.045])
    moved = bumped_curve(curve, 25.0)
    model = HullWhite(0.05, 0.012, 40, seed=9)
    base = simulate(curve, model, 360)
    again = refit(base, moved)
    want = simulate(moved, model, 360)
    np.testing.assert_allclose(again.short, want.short, rtol=0, atol=1e-15)
    shared: dict = {}
    mortgage_rates(base, OTS_MORTGAGE_RATE, shared)  # fills the shared random part
    np.testing.assert_allclose(mortgage_rates(again, OTS_MORTGAGE_RATE, shared), want.mortgage_rate(),
                               rtol=1e-12, atol=1e-14)


def test_the_benchmark_runs(monkeypatch, capsys):
    from conftest import script_module

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_oas.py"
    with script_module(script, "bench_oas") as bench:
        monkeypatch.setattr("sys.argv", ["bench_oas.py", "--paths", "20", "--repeat", "1",
                                         "--convergence", "20,40"])
        bench.main()
    out = capsys.readouterr().out
    assert "OAS + ZV + effective duration/convexity (1 + 3 x 20 paths)" in out
    assert "as the paths grow" in out and out.rstrip().splitlines()[-1].split()[0] == "40"


def test_the_numpy_interpreter_gives_the_kernels_oas(deal, monkeypatch):
    kernel = oas_analysis(deal, model=HullWhite(0.03, 0.01, 4, seed=2), key_rates=False, shifts=())
    monkeypatch.setenv("STRUCTURER_ENGINE", "numpy")
    numpy = oas_analysis(deal, model=HullWhite(0.03, 0.01, 4, seed=2), key_rates=False, shifts=())
    for a, b in zip(kernel.classes, numpy.classes, strict=True):
        assert a.oas == pytest.approx(b.oas, abs=1e-12)
        assert a.effective_duration == pytest.approx(b.effective_duration, abs=1e-9)


def test_declared_rate_shifts_alone_show_each_class_wal(tmp_path, capsys):
    """`rates -200 bp, ...` without `oas` prices: a plain run shows every class's WAL on the
    shifted curves (and prices nothing)."""
    path = tmp_path / "shifts.waterfall"
    path.write_text("\n".join(line for line in BASE.splitlines() if not line.strip().startswith("oas ")))
    assert main(["run", str(path), "--json", "--no-report"]) == 0
    out = json.loads(capsys.readouterr().out)["oas"]
    assert out["classes"] == {}
    wal = out["rate_shifts"]["wal"]["Z"]
    assert out["rate_shifts"]["shifts_bp"] == [-200.0, -100.0, 0.0, 100.0, 300.0]
    assert wal == sorted(wal)  # Z extends as rates rise
    assert all(p is None for p in out["rate_shifts"]["price"]["Z"])


def test_a_richer_price_is_a_lower_oas_and_the_cli_model_options(deal, capsys):
    model = HullWhite(0.03, 0.01, 20, seed=4)
    cheap = oas_analysis(deal, {"T": 97, "PO": 70}, model=model, key_rates=False, shifts=())
    rich = oas_analysis(deal, {"T": 99, "PO": 74}, model=model, key_rates=False, shifts=())
    by_cheap, by_rich = ({c.name: c for c in r.classes} for r in (cheap, rich))
    for name in ("T", "PO"):
        assert by_rich[name].oas < by_cheap[name].oas
        assert by_rich[name].zv_spread < by_cheap[name].zv_spread
    args = ["run", str(OAS_DEAL), "--oas", "--paths", "10", "--volatility", "150", "--mean-reversion", "0.1",
            "--seed", "3", "--no-key-rates", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["oas"]["rate_model"] == (
        "hull-white mean reversion 0.1 volatility 1.5% paths 10 seed 3")
    assert main(["run", str(OAS_DEAL), "--oas", "--volatility", "-5", "--no-report"]) != 0
    assert "cannot be negative" in capsys.readouterr().err


# ---- a named curve as a rate scenario (rates curve "X")

UST = 'curve "UST" (1: 4.10%, 2: 4.00%, 3: 3.95%, 5: 4.00%, 7: 4.10%, 10: 4.25%, 20: 4.50%, 30: 4.55%)'
# The same curve 100 bp higher, written out: as a named scenario it must be the +100 bp shift.
UP100 = 'curve "UP100" (1: 5.10%, 2: 5.00%, 3: 4.95%, 5: 5.00%, 7: 5.10%, 10: 5.25%, 20: 5.50%, 30: 5.55%)'
SHIFTS = "rates -200 bp, -100 bp, 0 bp, +100 bp, +300 bp"


def _with_curves(shift_line: str, *curves: str) -> str:
    assert UST in BASE and SHIFTS in BASE
    return BASE.replace(UST, "\n  ".join([UST, *curves]), 1).replace(SHIFTS, shift_line, 1)


def test_a_named_curve_is_a_rate_scenario_like_the_shift_it_equals():
    deal = structurer.loads(_with_curves(SHIFTS + ', curve "UP100"', UP100), str(OAS_DEAL))
    assert deal.analytics.rates.shift_curves == ("UP100",)
    got = oas_analysis(deal, {"PA": "99-16", "Z": "88-00"}, model=HullWhite(0.03, 0.01, 4, seed=2),
                       key_rates=False)
    t = got.shifts
    assert t.labels == ["-200 bp", "-100 bp", "+0 bp", "+100 bp", "+300 bp", 'curve "UP100"']
    for name in t.wal:
        assert len(t.wal[name]) == 6
        assert t.wal[name][5] == pytest.approx(t.wal[name][3], rel=1e-12)
        if math.isfinite(t.price[name][3]):
            assert t.price[name][5] == pytest.approx(t.price[name][3], rel=1e-12)
    record = t.to_dict()
    assert record["curves"] == ["UP100"] and len(record["wal"]["Z"]) == 6


def test_named_curves_alone_show_their_wal_in_the_terminal_and_the_report(tmp_path, capsys):
    steep = 'curve "STEEP" (1: 3.00%, 2: 3.20%, 5: 4.00%, 10: 5.00%, 30: 6.00%)'
    text = "\n".join(line for line in _with_curves('rates curve "STEEP"', steep).splitlines()
                     if not line.strip().startswith("oas "))
    path = tmp_path / "steep.waterfall"
    path.write_text(text)
    report = tmp_path / "steep.html"
    assert main(["run", str(path), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert 'curve "STEEP"' in printed and "-300 bp" not in printed  # only the named curve
    html = report.read_text()
    assert "curve &#34;STEEP&#34;" in html or 'curve "STEEP"' in html or "curve &quot;STEEP&quot;" in html


@pytest.mark.parametrize("line, curves, words", [
    ('rates curve "STEP"', ('curve "STEEP" (1: 3%, 30: 6%)',), 'no curve "STEP" in the analytics block'),
    ('rates curve "UP100", curve "UP100"', (UP100,), 'named twice as a rate scenario'),
    ('rates curve "SHORT"', ('curve "SHORT" (1: 3%, 10: 4%)',), "reaches 10 years"),
])
def test_a_bad_scenario_curve_is_reported_where_it_is_named(line, curves, words):
    with pytest.raises(DealErrors) as exc:
        structurer.loads(_with_curves(line, *curves), str(OAS_DEAL))
    text = str(exc.value)
    assert words in text, text
    assert "oas.waterfall:50:" in text  # on the scenarios line that names it
