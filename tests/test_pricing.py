"""structurer.pricing against closed forms worked out by hand, not against the code's own output.

Conventions (pricing.py's docstring, DESIGN.md section 3): a cash flow t months (30/360) after
settlement is worth CF / (1 + y/12)^t at the mortgage yield y, and (1 + y/12)^6 = 1 + BEY/2, so
CF / (1 + y/12)^t = CF / (1 + BEY/2)^(t/6): a cash flow T = t/12 years out is discounted
semiannually over 2T half-years at the BEY. Durations and convexity are with respect to the BEY.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import build_deal, deal_text
from hypothesis import given
from hypothesis import strategies as st

from structurer.dates import payment_dates
from structurer.errors import InputError
from structurer.model import curve as curve_module
from structurer.valuation import yields as pricing
from structurer.valuation.quotes import accrued_per_100, quote


def bullet_price(cash: float, months: float, bey: float) -> float:
    """By hand: one payment `months` (30/360) after settlement, discounted semiannually."""
    return cash * (1.0 + bey / 2.0) ** (-months / 6.0)


def bullet_yield(cash: float, months: float, value: float) -> float:
    """By hand: the BEY of one payment bought for `value`: value = cash (1 + b/2)^(-t/6)."""
    return 2.0 * ((cash / value) ** (6.0 / months) - 1.0)


def level_pay(balance: float, rate: float, n: int, prepay: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A mortgage-like bond by hand: interest rate/12 x balance, the level payment's principal
    plus `prepay` of what is left each month. Returns (interest, principal) by month."""
    r = rate / 12.0
    interest, principal = [], []
    for k in range(n):
        remaining = n - k
        pay = balance * r / (1.0 - (1.0 + r) ** -remaining) if r else balance / remaining
        sched = pay - balance * r
        prep = prepay * (balance - sched)
        interest.append(balance * r)
        principal.append(sched + prep)
        balance -= sched + prep
    return np.array(interest), np.array(principal)


# ---------------------------------------------------------------------------- 32nds


@pytest.mark.parametrize(("text", "value"), [
    ("99-16", 99.5),
    ("99-16+", 99.515625),
    ("99-162", 99 + 16.25 / 32),
    ("99-164", 99 + 16.5 / 32),
    ("99-167", 99 + 16.875 / 32),
    ("100-00", 100.0),
    ("0-01", 1 / 32),
    ("101-31+", 101 + 31.5 / 32),
    ("  98-08 ", 98.25),
    ("99.5", 99.5),
    ("102", 102.0),
])
def test_parse_price(text: str, value: float) -> None:
    assert pricing.parse_price(text) == value


def test_parse_price_passes_numbers_through() -> None:
    assert pricing.parse_price(99.5) == 99.5
    assert pricing.parse_price(100) == 100.0


@pytest.mark.parametrize("text", ["99-32", "99-1", "99-168", "99-16++", "99/16", "abc", "", "-0-16"])
def test_parse_price_rejects(text: str) -> None:
    # 32 32nds make a point; 32nds are two digits; eighths run 0-7. A negative price in 32nds is
    # not a quote (format_32nds writes one, for differences; see the round trip test below).
    with pytest.raises(InputError):
        pricing.parse_price(text)


@pytest.mark.parametrize(("value", "text", "eighths"), [
    (99.5, "99-16", False),
    (99.515625, "99-16+", False),
    (99 + 16.25 / 32, "99-162", True),
    (99 + 16.5 / 32, "99-16+", True),  # four eighths is a half: written '+'
    (99 + 16.75 / 32, "99-166", True),
    (100.0, "100-00", False),
    (0.0, "0-00", False),
    (5.0 + 1 / 32, "5-01", False),
])
def test_format_32nds(value: float, text: str, eighths: bool) -> None:
    assert pricing.format_32nds(value, eighths=eighths) == text


@pytest.mark.parametrize(("value", "text"), [
    (99.5 + 1 / 128 - 1e-9, "99-16"),  # just under half a 64th: down
    (99.5 + 1 / 128, "99-16+"),  # exactly half a 64th: up
    (99.99, "99-31+"),  # 6399.36 64ths
    (99.999, "100-00"),  # rounds up into the next point: 100-00, not 99-32
    (99 + 31.75 / 32, "100-00"),
    (-0.5, "-0-16"),
    (-99.515625, "-99-16+"),
    (-1e-9, "0-00"),  # rounds to zero: no sign
    (-0.0, "0-00"),
    (float("nan"), "-"),
    (float("inf"), "-"),
])
def test_format_32nds_rounding_and_sign(value: float, text: str) -> None:
    assert pricing.format_32nds(value) == text


def test_format_32nds_eighths_rounds_to_a_256th() -> None:
    assert pricing.format_32nds(99.5 + 1 / 512, eighths=True) == "99-161"  # half a 256th: up
    assert pricing.format_32nds(99.5 + 1 / 512 - 1e-9, eighths=True) == "99-16"


@given(st.integers(min_value=0, max_value=200 * 64))
def test_32nds_round_trip_on_64ths(k: int) -> None:
    price = k / 64
    text = pricing.format_32nds(price)
    assert pricing.parse_price(text) == price
    assert pricing.format_32nds(pricing.parse_price(text)) == text
    assert pricing.format_32nds(-price) == ("-" + text if k else text)


@given(st.integers(min_value=0, max_value=200 * 256))
def test_32nds_round_trip_on_256ths(k: int) -> None:
    price = k / 256
    text = pricing.format_32nds(price, eighths=True)
    assert pricing.parse_price(text) == price
    assert pricing.format_32nds(pricing.parse_price(text), eighths=True) == text


@given(st.floats(min_value=0, max_value=500, allow_nan=False))
def test_32nds_format_is_within_half_a_64th(price: float) -> None:
    assert abs(pricing.parse_price(pricing.format_32nds(price)) - price) <= 1 / 128 + 1e-12
    assert abs(pricing.parse_price(pricing.format_32nds(price, eighths=True)) - price) <= 1 / 512 + 1e-12


# ---------------------------------------------------------------------------- BEY <-> mortgage


def test_bey_from_mortgage_by_hand() -> None:
    # 6% mortgage: 1.005^6 exactly, by fractions.
    growth = Fraction(201, 200) ** 6
    assert float(pricing.bey_from_mortgage(0.06)) == pytest.approx(float(2 * (growth - 1)), abs=1e-14)
    assert float(pricing.bey_from_mortgage(0.06)) == pytest.approx(0.0607550187875, abs=1e-12)
    assert float(pricing.bey_from_mortgage(0.0)) == 0.0


def test_mortgage_from_bey_by_hand() -> None:
    # 8% BEY: (1 + y/12)^6 = 1.04, y = 12 (1.04^(1/6) - 1).
    assert float(pricing.mortgage_from_bey(0.08)) == pytest.approx(12 * (1.04 ** (1 / 6) - 1), abs=1e-15)
    assert float(pricing.mortgage_from_bey(0.08)) == pytest.approx(0.0786984, abs=1e-7)


def test_bey_mortgage_round_trip_and_order() -> None:
    grid = np.linspace(-0.5, 1.0, 301)
    bey = pricing.bey_from_mortgage(grid)
    assert np.allclose(pricing.mortgage_from_bey(bey), grid, rtol=0, atol=1e-13)
    assert np.allclose(pricing.bey_from_mortgage(pricing.mortgage_from_bey(grid)), grid, rtol=0, atol=1e-13)
    # monthly compounding earns more per year than semiannual at the same quoted rate
    assert np.all(bey[grid > 0] > grid[grid > 0])
    # the defining identity, at every point
    assert np.allclose((1 + grid / 12) ** 6, 1 + bey / 2, rtol=1e-14)


# ---------------------------------------------------------------------------- a single payment


@pytest.mark.parametrize("months", [0.8333333333333334, 1.0, 12.0, 60.0, 359.8333333333333])
@pytest.mark.parametrize("bey", [-0.02, 0.0, 0.035, 0.0725, 0.20])
def test_bullet_price_is_closed_form(months: float, bey: float) -> None:
    pv = pricing.present_value(np.array([250.0]), np.array([months]), bey)
    assert float(pv) == pytest.approx(bullet_price(250.0, months, bey), rel=1e-13)


BULLET_YIELD_CASES = [(m, v) for m in (25 / 30, 6.0, 12.0, 120.0, 360.0)
                      for v in (5.0, 62.5, 90.0, 100.0, 112.0)
                      if not (m < 1 and v == 5.0)]  # 20x in 25 days: see the next test


@pytest.mark.parametrize(("months", "value"), BULLET_YIELD_CASES)
def test_bullet_yield_is_closed_form(months: float, value: float) -> None:
    y = pricing.yield_from_price(np.array([100.0]), np.array([months]), np.array(value))
    assert float(y) == pytest.approx(bullet_yield(100.0, months, value), rel=1e-9, abs=1e-12)


def test_yield_beyond_the_bracket_is_nan_not_the_bracket_edge() -> None:
    # 100 in 25 days bought for 5: monthly growth 20^(1.2) - 1, about 3,500% a month, beyond the
    # solver's +1000% a month. No number beats a wrong one.
    y = pricing.yield_from_price(np.array([100.0]), np.array([25 / 30]), np.array(5.0))
    assert np.isnan(y)


def test_bullet_one_year_by_hand() -> None:
    # 100 in 12 months bought for 90: (1 + b/2)^2 = 100/90.
    y = float(pricing.yield_from_price(np.array([100.0]), np.array([12.0]), np.array(90.0)))
    assert y == pytest.approx(2 * (math.sqrt(100 / 90) - 1), abs=1e-12)
    assert y == pytest.approx(0.1081851067789, abs=1e-11)


# ---------------------------------------------------------------------------- par bond


def test_level_pay_bond_at_its_coupon_is_par() -> None:
    """Interest at c/12 on the balance each month, settled on an accrual date, no delay: at the
    mortgage yield c each month's cash discounts the balance back exactly, so PV = balance."""
    settle = dt.date(2027, 1, 1)
    dates = payment_dates(dt.date(2027, 2, 1), 360)
    months = pricing.discount_months(settle, dates)
    assert np.array_equal(months, np.arange(1, 361))
    for coupon in (0.03, 0.055, 0.08):
        for prepay in (0.0, 0.01, 0.05):
            interest, principal = level_pay(1_000_000.0, coupon, 360, prepay)
            pv = pricing.present_value(interest + principal, months, pricing.bey_from_mortgage(coupon))
            assert 100 * float(pv) / 1_000_000.0 == pytest.approx(100.0, abs=1e-9)
            assert pricing.accrued_fraction(settle, dates[0]) == 0.0


PAR_DEAL = dict(
    pools='pool "P" { balance 1,000,000  wac 6%  coupon 5.5%  term 360  age 0 }',
    classes="class A SEQ balance 600,000 coupon 5.5%\nclass B SEQ balance 400,000 coupon 5.5%",
    scenarios="pricing 100 PSA",
)


def test_deal_classes_at_their_coupon_price_at_par() -> None:
    deal = build_deal(deal_text(header="settle 2027-01-01\n  first payment 2027-02-01\n  delay 0 days",
                                **PAR_DEAL))
    results = deal.run("0 PSA", "165 PSA", "600 PSA")
    bey = float(pricing.bey_from_mortgage(0.055))
    for name in ("A", "B"):
        q = quote(results, name, yield_=bey)
        assert np.all(q.accrued == 0.0)
        assert np.allclose(q.price, 100.0, rtol=0, atol=1e-8)
        back = quote(results, name, price=100.0)
        assert np.allclose(back.yield_, bey, rtol=0, atol=1e-10)


def test_par_bond_settled_mid_period() -> None:
    """Settle on the 15th: the first payment is 16 days (30/360) away, payment k at k - 14/30
    months, so the full price is 100 (1 + c/12)^(14/30) and the accrued is 14 days of coupon."""
    deal = build_deal(deal_text(header="settle 2027-01-15\n  first payment 2027-02-01\n  delay 0 days",
                                **PAR_DEAL))
    results = deal.run("0 PSA", "300 PSA")
    c = 0.055
    full = 100 * (1 + c / 12) ** (14 / 30)
    accrued = 100 * c / 12 * 14 / 30
    q = quote(results, "A", yield_=float(pricing.bey_from_mortgage(c)))
    assert q.accrued == pytest.approx(accrued, abs=1e-13)
    assert np.allclose(q.price, full - accrued, rtol=0, atol=1e-9)
    assert np.all(q.price < 100.0)  # compounding within the period costs a little


# ---------------------------------------------------------------------------- accrued interest


@pytest.mark.parametrize(("first_payment", "start"), [
    (dt.date(2027, 2, 25), dt.date(2027, 1, 1)),
    (dt.date(2027, 1, 25), dt.date(2026, 12, 1)),  # across the year
    (dt.date(2027, 3, 1), dt.date(2027, 2, 1)),
])
def test_accrual_start_is_first_of_month_before(first_payment: dt.date, start: dt.date) -> None:
    assert pricing.accrual_start(first_payment) == start


@pytest.mark.parametrize(("settle", "first_payment", "days"), [
    (dt.date(2027, 1, 30), dt.date(2027, 2, 25), 29),
    (dt.date(2027, 1, 1), dt.date(2027, 2, 25), 0),
    (dt.date(2027, 1, 31), dt.date(2027, 2, 25), 30),  # 30/360: the 31st counts as the 30th+1
    (dt.date(2027, 1, 15), dt.date(2027, 2, 25), 14),
    (dt.date(2026, 12, 20), dt.date(2027, 2, 25), 0),  # settled before the accrual period starts
    (dt.date(2027, 2, 10), dt.date(2027, 2, 25), 39),  # into the month of the first payment
    (dt.date(2026, 12, 28), dt.date(2027, 1, 25), 27),
])
def test_accrued_fraction_30_360(settle: dt.date, first_payment: dt.date, days: int) -> None:
    assert pricing.accrued_fraction(settle, first_payment) == pytest.approx(days / 30, abs=1e-15)


def test_accrued_per_100_on_a_deal() -> None:
    # FJF-01 settles 2027-01-30, first payment 2027-02-25: 29 days of 7.5% on 100.
    deal = build_deal(deal_text(header="settle 2027-01-30\n  first payment 2027-02-25\n  delay 24 days",
                                classes="class A SEQ balance 600,000 coupon 5%\n"
                                        "class B SEQ balance 400,000 coupon 4.25%"))
    results = deal.run("100 PSA")
    assert accrued_per_100(results, "A") == pytest.approx(5.0 / 12 * 29 / 30, abs=1e-13)
    assert accrued_per_100(results, "B") == pytest.approx(4.25 / 12 * 29 / 30, abs=1e-13)
    assert accrued_per_100(results, "R") == 0.0


# ---------------------------------------------------------------------------- duration, convexity


@pytest.mark.parametrize("months", [6.0, 12.0, 60.0, 120.0, 357.0])
@pytest.mark.parametrize("bey", [0.0, 0.04, 0.09])
def test_zero_duration_and_convexity(months: float, bey: float) -> None:
    """A zero T years out: P = CF h^(-2T), h = 1 + b/2. dP/db = -T CF h^(-2T-1), so
    modified = T/h and Macaulay = T; d2P/db2 = T(2T+1)/2 CF h^(-2T-2), so C = T(2T+1)/(2 h^2)."""
    t = months / 12.0
    h = 1.0 + bey / 2.0
    r = pricing.risk(np.array([[80.0]]), np.array([months]), np.array([bey]), face=100.0)
    assert float(r.macaulay_duration[0]) == pytest.approx(t, rel=1e-12)
    assert float(r.modified_duration[0]) == pytest.approx(t / h, rel=1e-12)
    assert float(r.convexity[0]) == pytest.approx(t * (2 * t + 1) / (2 * h * h), rel=1e-12)
    assert float(r.full_price[0]) == pytest.approx(80.0 * h ** (-2 * t), rel=1e-13)


def test_duration_and_convexity_match_finite_differences() -> None:
    interest, principal = level_pay(1_000_000.0, 0.065, 357, prepay=0.012)
    cash = (interest + principal)[None, :]
    months = np.arange(357) + 25 / 30
    h = 1e-5
    for bey in (0.02, 0.055, 0.11):
        r = pricing.risk(cash, months, np.array([bey]), face=1_000_000.0)

        def pv(b: float) -> float:
            return float(pricing.present_value(cash, months, np.array([b]))[0])

        p0, up, down = pv(bey), pv(bey + h), pv(bey - h)
        assert float(r.full_price[0]) == pytest.approx(100 * p0 / 1_000_000.0, rel=1e-13)
        assert float(r.modified_duration[0]) == pytest.approx(-(up - down) / (2 * h * p0), rel=1e-8)
        assert float(r.convexity[0]) == pytest.approx((up + down - 2 * p0) / (h * h * p0), rel=1e-4)
        assert float(r.macaulay_duration[0]) == pytest.approx(
            float(r.modified_duration[0]) * (1 + bey / 2), rel=1e-14)


# ---------------------------------------------------------------------------- curves and spreads


def test_flat_par_curve_spot_equals_par() -> None:
    curve = curve_module.make_curve("flat", [0.5, 1, 2, 5, 10, 30], [0.045] * 6)
    years = np.array([0.1, 0.5, 1.0, 3.7, 10.0, 29.9, 40.0])
    assert np.allclose(curve.spot(years), 0.045, rtol=0, atol=1e-14)
    assert np.allclose(curve.par(years), 0.045, rtol=0, atol=0)


def test_bootstrapped_spot_by_hand() -> None:
    """Par 4% at 6 months and 5% at a year: d1 = 1/1.02; 1 = 0.025 d1 + 1.025 d2; spot(1y) =
    2 (d2^(-1/2) - 1)."""
    curve = curve_module.make_curve("two", [0.5, 1.0], [0.04, 0.05])
    d1 = 1 / 1.02
    d2 = (1 - 0.025 * d1) / 1.025
    assert float(curve.spot(0.5)) == pytest.approx(0.04, abs=1e-15)
    assert float(curve.spot(1.0)) == pytest.approx(2 * (d2 ** -0.5 - 1), abs=1e-15)
    assert float(curve.spot(1.0)) == pytest.approx(0.0501256, abs=1e-7)


def test_z_spread_on_a_flat_curve_is_the_yield_spread() -> None:
    curve = curve_module.make_curve("flat", [1, 2, 5, 10, 30], [0.045] * 5)
    interest, principal = level_pay(1_000_000.0, 0.07, 357, prepay=0.01)
    cash = np.stack([interest + principal, interest, principal])  # a bond, an IO, a PO
    months = np.arange(357) + 25 / 30
    for bey in (0.03, 0.045, 0.0725, 0.12):
        full = pricing.present_value(cash, months, np.full(3, bey))
        z = pricing.z_spread(cash, months, full, curve)
        assert np.allclose(z, bey - 0.045, rtol=0, atol=1e-8)


def test_z_spread_of_a_one_year_zero_by_hand() -> None:
    curve = curve_module.make_curve("two", [0.5, 1.0], [0.04, 0.05])
    d1 = 1 / 1.02
    spot = 2 * (((1 - 0.025 * d1) / 1.025) ** -0.5 - 1)
    z = pricing.z_spread(np.array([[100.0]]), np.array([12.0]), np.array([94.0]), curve)
    # 94 = 100 (1 + (s + z)/2)^(-2)
    assert float(z[0]) == pytest.approx(2 * ((100 / 94) ** 0.5 - 1) - spot, abs=1e-9)


def test_z_spread_of_no_cash_is_nan() -> None:
    curve = curve_module.make_curve("flat", [1, 30], [0.04, 0.04])
    z = pricing.z_spread(np.zeros((1, 5)), np.arange(1.0, 6.0), np.array([10.0]), curve)
    assert np.isnan(z[0])


def test_spread_to_curve_at_the_wal() -> None:
    curve = curve_module.make_curve("ust", [1, 5, 10], [0.04, 0.05, 0.06])
    bey = np.array([0.07, 0.07, 0.07, 0.07, 0.03])
    wal = np.array([7.5, 5.0, 0.5, 25.0, 3.0])
    # by hand: par(7.5) = 5.5%, par(5) = 5%, flat below 1 (4%) and above 10 (6%), par(3) = 4.5%
    expected = np.array([0.015, 0.02, 0.03, 0.01, -0.015])
    assert np.allclose(pricing.spread_to_curve(bey, wal, curve), expected, rtol=0, atol=1e-15)


def test_make_curve_rejects_bad_tenors() -> None:
    with pytest.raises(InputError):
        curve_module.make_curve("x", [1, 1], [0.04, 0.05])
    with pytest.raises(InputError):
        curve_module.make_curve("x", [0, 1], [0.04, 0.05])
    with pytest.raises(InputError):
        curve_module.make_curve("x", [], [])


def test_read_curve_csv(tmp_path) -> None:
    path = tmp_path / "ust.csv"
    path.write_text("tenor,yield\n1,4.1\n5,4.0%\n\n30,4.5\n", encoding="utf-8")
    curve = curve_module.read_curve_csv(path)
    assert curve.tenors == (1.0, 5.0, 30.0)
    assert np.allclose(curve.yields, (0.041, 0.040, 0.045), rtol=0, atol=1e-15)
    bad = tmp_path / "bad.csv"
    bad.write_text("tenor,yield\n1,4.1\n5,four\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 3, column 'yield'"):
        curve_module.read_curve_csv(bad)


# ---------------------------------------------------------------------------- yield_from_price


def _grid_round_trip(cash: np.ndarray, months: np.ndarray, beys: np.ndarray) -> None:
    """yield_from_price inverts present_value both ways over a grid of yields."""
    cash_g = np.broadcast_to(cash, (len(beys), len(cash)))
    pv = pricing.present_value(cash_g, months, beys)
    back = pricing.yield_from_price(cash_g, months, pv)
    assert np.allclose(back, beys, rtol=0, atol=1e-9)
    assert np.allclose(pricing.present_value(cash_g, months, back), pv, rtol=1e-10, atol=0)


MONTHS = np.arange(357) + 25 / 30  # FNMA delay, settled at the end of the month


def test_yield_from_price_inverts_pv_for_a_bond() -> None:
    interest, principal = level_pay(1_000_000.0, 0.065, 357, prepay=0.01)
    _grid_round_trip(interest + principal, MONTHS, np.linspace(-0.05, 0.40, 91))


def test_yield_from_price_inverts_pv_for_an_io_including_negative_yields() -> None:
    # An IO: 1% on a notional paying down fast. Rich prices give negative yields.
    interest, _ = level_pay(1_000_000.0, 0.01, 357, prepay=0.04)
    _grid_round_trip(interest, MONTHS, np.linspace(-0.60, 0.80, 141))
    total = interest.sum()
    # priced above its undiscounted cash, an IO yields below zero; at exactly its cash, zero
    y = pricing.yield_from_price(interest, MONTHS, np.array([1.2 * total, total, 0.8 * total]))
    assert y[0] < 0 and abs(y[1]) < 1e-12 and y[2] > 0


def test_yield_from_price_for_deep_discount_pos() -> None:
    _, principal = level_pay(1_000_000.0, 0.065, 357, prepay=0.002)
    prices = np.array([3.0, 5.0, 10.0, 25.0, 40.0, 60.0, 80.0, 99.0])
    full = prices * 1_000_000.0 / 100
    cash = np.broadcast_to(principal, (len(prices), len(principal)))
    y = pricing.yield_from_price(cash, MONTHS, full)
    assert np.all(np.diff(y) < 0)  # cheaper POs yield more
    assert np.allclose(pricing.present_value(cash, MONTHS, y), full, rtol=1e-10, atol=0)
    _grid_round_trip(principal, MONTHS, np.linspace(0.0, 0.5, 51))


def test_yield_from_price_without_cash_or_price_is_nan() -> None:
    cash = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 101.0], [1.0, 1.0, 101.0]])
    y = pricing.yield_from_price(cash, np.array([1.0, 2.0, 3.0]), np.array([100.0, 0.0, -5.0]))
    assert np.all(np.isnan(y))
