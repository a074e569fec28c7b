"""Agency payment conventions: the delay and the payment day are one thing, and pricing uses it.

`agency FNMA | FHLMC | GNMA I | GNMA II` sets the actual delay (24, 14, 14, 19 days) and so the
payment day (25th, 15th, 15th, 20th); the stated delay is the actual one + 31. A header that
writes a delay, an agency and a first payment date that disagree is rejected where it disagrees.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from conftest import build_deal, column_of, deal_text, line_of, only_error
from hypothesis import given, settings
from hypothesis import strategies as st

from structurer.dates import AGENCIES, agency_convention, days_30_360, delay_of, first_payment_after
from structurer.valuation.quotes import quote


def at(err, text: str, needle: str) -> bool:
    return (err.span.line, err.span.column) == (line_of(text, needle), column_of(text, needle))


PASS_THROUGH = dict(
    pools='pool "P" { balance 1,000,000  wac 6%  coupon 5.5%  term 360  age 0 }',
    classes="class A SEQ balance 1,000,000 coupon 5.5%",
    principal="pay A until retired",
)


def header(*items: str) -> str:
    return "settle 2027-01-30\n  " + "\n  ".join(items)


@pytest.mark.parametrize("agency, delay, day", [("FNMA", 24, 25), ("FHLMC", 14, 15), ("GNMA I", 14, 15),
                                                ("GNMA II", 19, 20)])
def test_the_agency_sets_the_delay_and_the_payment_day(agency, delay, day):
    deal = build_deal(deal_text(header=header(f"agency {agency}")))
    got = (deal.agency, deal.delay_days, deal.stated_delay, deal.payment_day)
    assert got == (agency, delay, delay + 31, day)
    # No first payment written: the month after settlement, on the agency's day.
    assert deal.first_payment == dt.date(2027, 2, day)


def test_stated_delays_as_the_agencies_state_them():
    assert {name: a.stated_delay for name, a in AGENCIES.items()} == {
        "FNMA": 55, "FHLMC": 45, "GNMA I": 45, "GNMA II": 50}
    assert agency_convention("gnma ii") is AGENCIES["GNMA II"]
    assert agency_convention("GNMA2") is AGENCIES["GNMA II"]


def test_the_delay_is_derived_from_the_first_payment_date():
    deal = build_deal(deal_text(header=header("first payment 2027-02-20")))
    assert (deal.delay_days, deal.stated_delay, deal.agency) == (19, 50, None)


def test_a_written_delay_and_agency_that_agree_with_the_date_check():
    deal = build_deal(deal_text(header=header("first payment 2027-02-15", "delay 14 days", "agency GNMA I")))
    assert (deal.delay_days, deal.first_payment) == (14, dt.date(2027, 2, 15))


def test_a_delay_that_disagrees_with_the_payment_day_is_rejected_at_the_delay():
    # The example: 'delay 14 days' on a deal that pays on the 25th priced with 24 days.
    text = deal_text(header=header("first payment 2027-02-25", "delay 14 days"))
    err = only_error(text)
    assert err.message == ("a payment delay of 14 days pays on the 15th, but the first payment "
                           "2027-02-25 is on the 25th (24 days after its accrual month)")
    assert at(err, text, "14 days")
    assert "delay 24 days" in err.hint and "first payment 2027-02-15" in err.hint


def test_an_agency_that_disagrees_with_the_payment_day_is_rejected_at_the_date():
    text = deal_text(header=header("first payment 2027-02-25", "agency GNMA II"))
    err = only_error(text)
    assert err.message.startswith("GNMA II pays on the 20th (19-day delay), but the first payment 2027-02-25")
    assert at(err, text, "2027-02-25")
    assert err.hint == "write: first payment 2027-02-20"


def test_an_agency_that_disagrees_with_the_delay_is_rejected_at_the_delay():
    text = deal_text(header=header("first payment 2027-02-25", "agency FNMA", "delay 14 days"))
    err = only_error(text)
    assert err.message == "FNMA pays 24 days after the accrual month (stated delay 55); the deal says 14 days"
    assert at(err, text, "14 days")


def test_an_unknown_agency_is_named():
    text = deal_text(header=header("first payment 2027-02-25", "agency FNMX"))
    err = only_error(text)
    assert "'FNMX' is not an agency program" in err.message and "did you mean 'FNMA'" in err.message
    assert at(err, text, "agency FNMX")


def test_no_first_payment_and_no_delay_is_still_an_error():
    err = only_error(deal_text(header="settle 2027-01-30"))
    assert err.message == 'deal "T-1" has no first payment date'


@settings(deadline=None, max_examples=30)
@given(settle=st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31)), delay=st.integers(0, 27))
def test_delay_and_payment_day_are_one_thing(settle, delay):
    """The first payment derived from a delay is paid that delay after its accrual month, on day
    delay + 1, in the month after settlement; every later payment too."""
    first = first_payment_after(settle, delay)
    assert delay_of(first) == delay and first.day == delay + 1
    assert (first.year * 12 + first.month) - (settle.year * 12 + settle.month) == 1
    deal = build_deal(deal_text(header=f"settle {settle.isoformat()}\n  delay {delay} days",
                                scenarios="pricing 100 PSA"))
    dates = deal.run().dates
    assert all(delay_of(d) == delay for d in dates[:24])


@settings(deadline=None)
@given(day=st.integers(1, 28), delay=st.integers(0, 27))
def test_a_pair_is_accepted_exactly_when_it_agrees(day, delay):
    text = deal_text(header=header(f"first payment 2027-02-{day:02d}", f"delay {delay} days"),
                     scenarios=None)
    if day == delay + 1:
        assert build_deal(text).delay_days == delay
    else:
        assert "payment delay of" in only_error(text).message


def test_pricing_discounts_to_the_agency_payment_day():
    """The same cash flows priced at one yield under FNMA (25th) and GNMA I (15th): each is the
    closed form with payment k at k - 1 + (delay + 1)/30 months (30/360) after a settlement on
    the 30th; the longer delay is worth less."""
    bey = 0.06
    prices = {}
    for agency in ("FNMA", "GNMA I"):
        deal = build_deal(deal_text(header=header(f"agency {agency}"), **PASS_THROUGH,
                                    scenarios="pricing 150 PSA"))
        results = deal.run()
        q = quote(results, "A", yield_=bey)
        cash = results.arrays("A")["interest"][0] + results.arrays("A")["principal"][0]
        k = np.arange(1, len(cash) + 1)
        t = k - 1 + (deal.delay_days + 1) / 30.0
        assert np.allclose([days_30_360(deal.settle, d) / 30.0 for d in results.dates], t)
        full = 100.0 * np.sum(cash * (1.0 + bey / 2.0) ** (-t / 6.0)) / 1_000_000
        assert q.full_price[0] == pytest.approx(full, rel=1e-12)
        prices[agency] = float(q.price[0])
    assert prices["GNMA I"] > prices["FNMA"]


def test_the_terminal_and_json_show_both_delays(tmp_path, capsys):
    from structurer.cli import main

    path = tmp_path / "g2.waterfall"
    path.write_text(deal_text(header=header("agency GNMA II"), **PASS_THROUGH, scenarios="pricing 100 PSA"))
    assert main([str(path), "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "first payment 2027-02-20  delay 19 days (stated 50)  GNMA II" in out
    assert main([str(path), "--json"]) == 0
    terms = json.loads(capsys.readouterr().out)["payment"]
    assert terms == {"agency": "GNMA II", "delay_days": 19, "stated_delay_days": 50, "payment_day": 20,
                     "first_payment": "2027-02-20"}
