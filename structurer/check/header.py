"""Pass: the deal header (settlement date, first payment date, payment delay, day count)."""

from __future__ import annotations

from ..dates import THIRTY_360, day_count
from .context import Checker


def check_header(ck: Checker) -> None:
    h = ck.file.header
    if h.settle is None:
        ck.error(f"deal \"{h.name}\" has no settlement date", h.span, "add: settle YYYY-MM-DD")
    if h.first_payment is None:
        ck.error(f"deal \"{h.name}\" has no first payment date", h.span,
                 "add: first payment YYYY-MM-DD")
    if h.settle and h.first_payment and h.first_payment <= h.settle:
        ck.error("the first payment date must come after settlement", h.first_payment_span,
                 f"settlement is {h.settle.isoformat()}")
    delay = 0
    if h.delay is not None:
        if h.delay.unit not in (None, "days", "day") or h.delay.value != int(h.delay.value):
            ck.error("the payment delay is a whole number of days", h.delay.span,
                     "write it like: delay 24 days")
        elif h.delay.value < 0:
            ck.error("the payment delay cannot be negative", h.delay.span)
        else:
            delay = int(h.delay.value)
    ck.settle, ck.first_payment, ck.delay = h.settle, h.first_payment, delay
    ck.basis = day_count(h.day_count or THIRTY_360)
