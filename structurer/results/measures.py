"""Figures a prospectus supplement prints, from cash flow arrays. No formatting beyond the
prospectus's own rounding rule for decrement tables; no knowledge of the deal language.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..dates import days_30_360

# A principal payment smaller than this is rounding, not a payment (for windows and retirement).
PAYMENT_DUST = 0.005


def weighted_average_life(principal: np.ndarray) -> np.ndarray:
    """SIFMA WAL in years: sum(k x P_k) / (12 x sum P_k), k the period counted from settlement.

    `principal` is [..., period] with index 0 = period 1. Only positive principal counts (an
    accrual class's negative principal, its accretion, is not a payment). NaN if nothing is paid.
    """
    paid = np.maximum(np.asarray(principal, dtype=float), 0.0)
    k = np.arange(1, paid.shape[-1] + 1)
    total = paid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (paid * k).sum(axis=-1) / (12.0 * np.where(total > 0, total, 1.0)), np.nan)


def average_life_to_receipt(principal: np.ndarray, settle: dt.date, dates: list[dt.date]) -> np.ndarray:
    """BMA average life in years: time from settlement to each distribution (receipt) date,
    30/360, weighted by positive principal. The distribution dates already carry the delay."""
    paid = np.maximum(np.asarray(principal, dtype=float), 0.0)
    years = np.array([days_30_360(settle, d) / 360.0 for d in dates[: paid.shape[-1]]])
    total = paid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (paid * years).sum(axis=-1) / np.where(total > 0, total, 1.0), np.nan)


def principal_window(principal: np.ndarray, dust: float = PAYMENT_DUST) -> tuple[np.ndarray, np.ndarray]:
    """First and last period (1-based) with a principal payment, per row; 0 where none."""
    paid = np.asarray(principal) > dust
    any_paid = paid.any(axis=-1)
    first = np.where(any_paid, paid.argmax(axis=-1) + 1, 0)
    last = np.where(any_paid, paid.shape[-1] - paid[..., ::-1].argmax(axis=-1), 0)
    return first, last


def last_payment_period(cash: np.ndarray, dust: float = PAYMENT_DUST) -> np.ndarray:
    """Last period (1-based) in which any cash (interest or principal) is paid; 0 if never."""
    paying = np.asarray(cash) > dust
    return np.where(paying.any(axis=-1), paying.shape[-1] - paying[..., ::-1].argmax(axis=-1), 0)


def percent_outstanding(ending_balance: np.ndarray, original: float, periods: list[int]) -> np.ndarray:
    """Percent of the original balance outstanding after each of `periods` (1-based) [..., row]."""
    end = np.asarray(ending_balance, dtype=float)
    end = np.where(end < PAYMENT_DUST, 0.0, end)  # fractions of a cent left by rounding are retired
    idx = np.minimum(np.asarray(periods) - 1, end.shape[-1] - 1)
    return 100.0 * end[..., idx] / original


def decrement_cell(percent: float) -> str:
    """Prospectus rounding: whole percent, half up; '*' for a positive balance under 0.5%."""
    if percent <= 0.0 or not np.isfinite(percent):
        return "0"
    if percent < 0.5:
        return "*"
    return str(int(np.floor(percent + 0.5)))


def anniversary_periods(periods: int) -> list[int]:
    """Periods 12, 24, ... up to and including the first at or past the last period."""
    count = -(-periods // 12)
    return [12 * (k + 1) for k in range(count)]


def collateral_stats(pools: list | tuple) -> dict[str, float]:
    """Balance-weighted collateral figures of a prospectus summary, from the pools (rep-lines).

    Keys: pools (count), balance, wac, net_coupon (rates as decimals), original_term, wam
    (remaining term) and wala (loan age), the terms in months. Averages are NaN without balance.
    """
    pools = list(pools)
    balance = float(sum(p.balance for p in pools))

    def weighted(attr: str) -> float:
        if balance <= 0:
            return float("nan")
        return float(sum(p.balance * getattr(p, attr) for p in pools) / balance)

    return {
        "pools": len(pools),
        "balance": balance,
        "wac": weighted("wac"),
        # What the certificates share: a pool's excess servicing strip is not part of it.
        "net_coupon": weighted("coupon") - (weighted("excess") if all(hasattr(p, "excess") for p in pools)
                                            else 0.0),
        "original_term": weighted("term"),
        "wam": weighted("remaining"),
        "wala": weighted("age"),
    }
