"""Total return / horizon analysis (SIFMA Standard Formulas, total rate of return, SF-50/51).

Hold a class bought at settlement for N months, reinvest what it pays until the horizon, sell
what is left at the horizon:

- Bought: V0 = full price at settlement (clean + accrued) x face / 100, dollars.
- Received: each cash flow CF_k paid on a distribution date d_k (payment delay included) on
  or before the horizon H = settlement + N months, reinvested at the rate r (an annual rate
  compounded monthly, 30/360) from d_k to H:  R = sum CF_k (1 + r/12)^(m_k),
  m_k = days_30_360(d_k, H) / 30.
- Sold: S = the full value at H of the cash flows paid after H, from
  - a horizon yield y (BEY, its mortgage yield y_m = 12((1 + y/2)^(1/6) - 1)):
    S = sum_{d_k > H} CF_k (1 + y_m/12)^(-days_30_360(H, d_k)/30), the yield convention of
    valuation.yields moved to the horizon;
  - a horizon spread: y = the curve's par yield at the remaining WAL (periods counted from
    the horizon) + spread;
  - a horizon price P (clean, per 100): S = (P + accrued at H) x B_H / 100, B_H the balance
    (notional, for an IO) that earns the next distribution after H, the accrued interest at
    that period's coupon from its accrual start to H on the class's basis.
- Horizon value HV = R + S. Total return TR = HV / V0 - 1 (SF-50), annualised (SF-51) as a
  bond-equivalent rate 2[(HV/V0)^(6/N) - 1] and as a monthly (mortgage) rate
  12[(HV/V0)^(1/N) - 1].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..dates import THIRTY_360, accrual_periods, add_months, days_30_360
from ..errors import InputError
from ..model.curve import Curve
from ..results.results import Results
from . import yields as pricing

if TYPE_CHECKING:
    import pandas as pd

    from .quotes import Quote

SELL_KINDS = ("yield", "price", "spread")


@dataclass(frozen=True)
class HorizonResult:
    """One class held to a horizon in every scenario of a run; arrays [scenario], dollars or
    decimals. `sell` says how it was sold ('yield', 'price' or 'spread') and `sell_at` at what."""

    name: str
    scenarios: list[str]
    months: int
    horizon: dt.date
    reinvest: float
    sell: str
    sell_at: float
    initial_value: np.ndarray
    cash_received: np.ndarray
    reinvestment_income: np.ndarray
    sale_value: np.ndarray
    horizon_price: np.ndarray  # clean, per 100 of the balance at the horizon; NaN when retired
    horizon_yield: np.ndarray  # BEY the sale is at
    total_return: np.ndarray
    annualised_bey: np.ndarray
    annualised_mortgage: np.ndarray

    @property
    def horizon_value(self) -> np.ndarray:
        return self.cash_received + self.reinvestment_income + self.sale_value

    def row(self, s: int) -> dict[str, float | str | int | None]:
        def num(x: np.ndarray, scale: float = 1.0, places: int = 10) -> float | None:
            return round(float(x[s]) * scale, places) if np.isfinite(x[s]) else None

        return {"months": self.months, "horizon": self.horizon.isoformat(),
                "reinvest": round(self.reinvest * 100.0, 10), "sell": self.sell,
                "sell_at": round(self.sell_at * (1.0 if self.sell == "price" else
                                                 10000.0 if self.sell == "spread" else 100.0), 10),
                "initial_value": num(self.initial_value, places=4),
                "cash_received": num(self.cash_received, places=4),
                "reinvestment_income": num(self.reinvestment_income, places=4),
                "sale_value": num(self.sale_value, places=4),
                "horizon_value": num(self.horizon_value, places=4),
                "horizon_price": num(self.horizon_price), "horizon_yield": num(self.horizon_yield, 100.0),
                "total_return": num(self.total_return, 100.0),
                "annualised_bey": num(self.annualised_bey, 100.0),
                "annualised_mortgage": num(self.annualised_mortgage, 100.0)}

    def frame(self) -> pd.DataFrame:
        """The scenarios as rows, the figures as columns (percent for rates)."""
        import pandas as pd

        rows = [self.row(s) for s in range(len(self.scenarios))]
        keep = ["initial_value", "cash_received", "reinvestment_income", "sale_value", "horizon_value",
                "horizon_price", "horizon_yield", "total_return", "annualised_bey", "annualised_mortgage"]
        frame = pd.DataFrame([{k: r[k] for k in keep} for r in rows], index=self.scenarios)
        frame.index.name = f"{self.name}: total return over {self.months} months"
        return frame


def reinvested(cash: np.ndarray, dates: list[dt.date], horizon: dt.date,
               rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(cash received by the horizon, the income of reinvesting it to the horizon) [scenario]:
    flows paid on or before `horizon`, compounded monthly at `rate` on 30/360 (module docstring)."""
    paid = np.array([d <= horizon for d in dates[: cash.shape[-1]]])
    months = np.array([days_30_360(d, horizon) / 30.0 if p else 0.0
                       for d, p in zip(dates, paid, strict=False)])
    growth = np.where(paid, (1.0 + rate / 12.0) ** months, 0.0)
    received = (cash * paid).sum(axis=-1)
    return received, (cash * growth).sum(axis=-1) - received


def value_at(cash: np.ndarray, dates: list[dt.date], horizon: dt.date, bey: np.ndarray | float) -> np.ndarray:
    """Full value at `horizon` [scenario] of the flows paid after it, at a BEY (module docstring)."""
    after = np.array([d > horizon for d in dates[: cash.shape[-1]]])
    months = np.array([days_30_360(horizon, d) / 30.0 for d in dates[: cash.shape[-1]]])
    return pricing.present_value(np.where(after, cash, 0.0), months, bey)


def annualise(growth: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray]:
    """(bond-equivalent, monthly) annual rates of a growth factor HV/V0 over `months` (SF-51)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2.0 * (growth ** (6.0 / months) - 1.0), 12.0 * (growth ** (1.0 / months) - 1.0)


def horizon_return(results: Results, quote: Quote, months: int, reinvest: float, sell: str,
                   sell_at: float | str, curve: Curve | None = None) -> HorizonResult:
    """Total return of the class `quote` prices (bought at its full price in each scenario),
    held `months` months with its cash reinvested at `reinvest` (decimal) and sold at a horizon
    yield (BEY, decimal), clean price (decimal or 32nds) or spread (decimal, to `curve` at the
    remaining WAL): module docstring (SF-50/51)."""
    from .quotes import class_cash

    if months < 1 or months > results.periods:
        raise InputError(f"a horizon of {months} months is not within the deal's {results.periods} periods")
    if sell not in SELL_KINDS:
        raise InputError(f"'{sell}' is not a way to sell; sell at a {', a '.join(SELL_KINDS)}")
    if sell == "spread" and curve is None:
        raise InputError("selling at a spread needs a curve")
    name = quote.name
    deal = results.deal
    tranche = deal.tranche(name)
    face = quote.face
    horizon = add_months(deal.settle, months)
    cash = class_cash(results, name)
    dates = results.dates
    v0 = quote.full_price * face / 100.0
    received, income = reinvested(cash, dates, horizon, reinvest)

    # The balance earning the next distribution after the horizon, and that period's accrual.
    after = [k for k, d in enumerate(dates) if d > horizon]
    a = results.arrays(name)
    n = len(quote.scenarios)
    if after:
        j = after[0]
        balance = np.asarray(a["beginning_balance"][:, j], dtype=float)
        start = accrual_periods(deal.first_payment, j + 1)[j][0]
        basis = deal.day_count if tranche.formula is not None else THIRTY_360
        no_coupon = tranche.is_principal_only or tranche.is_residual
        accrued = 0.0 if no_coupon else \
            100.0 * a["coupon"][:, j] / 12.0 * max(basis.months(start, horizon), 0.0)
    else:
        j, balance, accrued = len(dates), np.zeros(n), np.zeros(n)
    accrued = np.broadcast_to(np.asarray(accrued, dtype=float), (n,))

    price_value = pricing.parse_price(sell_at) if sell == "price" else float(sell_at)
    if sell == "price":
        sale = (price_value + accrued) * balance / 100.0
        after_horizon = np.array([d > horizon for d in dates])
        bey = pricing.yield_from_price(cash * after_horizon,
                                       np.array([days_30_360(horizon, d) / 30.0 for d in dates]), sale)
    else:
        if sell == "yield":
            bey = np.full(n, price_value)
        else:
            principal = np.maximum(a["principal"], 0.0)[:, j:]
            k = np.arange(j + 1, len(dates) + 1) - months
            total = principal.sum(axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                wal = np.where(total > 0, (principal * k).sum(axis=-1)
                               / (12.0 * np.where(total > 0, total, 1)), np.nan)
            bey = curve.par(np.nan_to_num(wal, nan=0.0)) + price_value  # type: ignore[union-attr]
        sale = value_at(cash, dates, horizon, bey)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_100 = 100.0 * sale / np.where(balance > 0, balance, 1.0)
        clean = np.where(balance > 0.005, per_100 - accrued, np.nan)
        growth = (received + income + sale) / v0
    total_return = growth - 1.0
    ann_bey, ann_mtg = annualise(growth, months)
    return HorizonResult(name, list(quote.scenarios), months, horizon, reinvest, sell, price_value, v0,
                         received, income, sale, clean, np.asarray(bey, dtype=float), total_return,
                         ann_bey, ann_mtg)
