"""Pass: the deal header (settlement date, first payment date, payment delay, agency, day count).

The payment delay and the payment day are one thing: a class paid `delay` actual days after its
accrual month ends is paid on day `delay + 1` of the next month (dates.payment_day). An agency
program sets the delay; the check derives what is not written from what is (the delay from the
first payment date, or the first payment date from settlement and the delay) and rejects a pair
that disagrees, at the place it was written.
"""

from __future__ import annotations

import datetime as dt

from ..dates import THIRTY_360, AgencyConvention, agency_convention, day_count, delay_of, first_payment_after
from ..errors import InputError
from .context import Checker


def check_header(ck: Checker) -> None:
    h = ck.file.header
    agency = _agency(ck)
    delay = _written_delay(ck)
    if agency is not None and delay is not None and delay != agency.delay:
        ck.error(f"{agency.name} pays {agency.delay} days after the accrual month (stated delay "
                 f"{agency.stated_delay}); the deal says {delay} days", h.delay.span,  # type: ignore[union-attr]
                 f"remove the delay (agency {agency.name} sets it) or write: delay {agency.delay} days")
        delay = None  # one message: the first payment is not compared with a delay in doubt
    elif agency is not None:
        delay = agency.delay
    first_payment = h.first_payment
    if h.settle is None:
        ck.error(f"deal \"{h.name}\" has no settlement date", h.span, "add: settle YYYY-MM-DD")
    if first_payment is None:
        if delay is not None and h.settle is not None:
            # Dated the 1st of the settlement month: paid `delay` days after that month ends.
            first_payment = first_payment_after(h.settle, delay)
        elif delay is None and (h.agency is not None or h.delay is not None):
            pass  # the delay was written but is in doubt: that message is the one to fix first
        else:
            ck.error(f"deal \"{h.name}\" has no first payment date", h.span,
                     "add: first payment YYYY-MM-DD (or an agency: agency FNMA)")
    elif delay is not None:
        _agree(ck, first_payment, delay, agency)
    if h.settle and first_payment and first_payment <= h.settle:
        ck.error("the first payment date must come after settlement",
                 h.first_payment_span or h.settle_span, f"settlement is {h.settle.isoformat()}")
    if delay is None and first_payment is not None:
        delay = delay_of(first_payment)
    ck.settle, ck.first_payment, ck.delay = h.settle, first_payment, delay or 0
    ck.agency = agency.name if agency is not None else None
    ck.basis = day_count(h.day_count or THIRTY_360)


def _agency(ck: Checker) -> AgencyConvention | None:
    h = ck.file.header
    if h.agency is None:
        return None
    try:
        return agency_convention(h.agency)
    except InputError as exc:
        ck.error(str(exc), h.agency_span, "write: agency FNMA, agency FHLMC, agency GNMA I or agency GNMA II")
        return None


def _written_delay(ck: Checker) -> int | None:
    d = ck.file.header.delay
    if d is None:
        return None
    if d.unit not in (None, "days", "day") or d.value != int(d.value):
        ck.error("the payment delay is a whole number of days", d.span, "write it like: delay 24 days")
    elif d.value < 0:
        ck.error("the payment delay cannot be negative", d.span)
    else:
        return int(d.value)
    return None


def _agree(ck: Checker, first_payment: dt.date, delay: int, agency: AgencyConvention | None) -> None:
    """The first payment falls `delay` days after its accrual month, or the pair is rejected: at
    the delay when one is written, else at the first payment date (the agency's day)."""
    h = ck.file.header
    paid = delay_of(first_payment)
    if paid == delay:
        return
    accrual_month = first_payment.replace(day=1) - dt.timedelta(days=1)
    want = first_payment_after(accrual_month, delay)
    on = f"the {_ordinal(first_payment.day)} ({paid} days after its accrual month)"
    if h.delay is not None or agency is None:
        span = h.delay.span if h.delay is not None else h.first_payment_span
        ck.error(f"a payment delay of {delay} days pays on the {_ordinal(want.day)}, but the first "
                 f"payment {first_payment.isoformat()} is on {on}", span,
                 f"write: delay {paid} days, or first payment {want.isoformat()}")
    else:
        ck.error(f"{agency.name} pays on the {_ordinal(want.day)} ({agency.delay}-day delay), but the "
                 f"first payment {first_payment.isoformat()} is on {on}", h.first_payment_span,
                 f"write: first payment {want.isoformat()}")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
