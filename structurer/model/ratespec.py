"""What a deal file asks of the rate model: the short-rate model (`rates hull-white ...` in the
analytics block), the prepayment model (`prepay model OTS ...` in the scenarios block), the
deterministic rate shifts to show (`rates -100, +300 bp`) and the classes to value on OAS
(`oas A at 100-16`). The OAS itself is computed by analysis/oas.py."""

from __future__ import annotations

from dataclasses import dataclass

from .prepaymodel import OTS, PrepayModel
from .ratemodel import OTS_MORTGAGE_RATE, HullWhite, MortgageRate

# A model for a deal that asks for OAS without declaring one: the example figures.
DEFAULT_RATE_MODEL = HullWhite(mean_reversion=0.03, volatility=0.01, paths=1000, seed=7)
# Rate shifts (bp) shown when the deal names none: the desk's usual -300 to +300.
DEFAULT_SHIFTS = (-300.0, -200.0, -100.0, 0.0, 100.0, 200.0, 300.0)
# Key-rate tenors (years).
KEY_RATES = (2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class RateSpec:
    """The rate-driven analytics a deal declares; every field may be left to its default."""

    model: HullWhite | None = None
    prepay: PrepayModel | None = None
    prepay_name: str = "OTS"
    shifts_bp: tuple[float, ...] = ()
    oas_prices: tuple[tuple[str, float], ...] = ()  # class name -> clean price
    shift_curves: tuple[str, ...] = ()  # analytics curves run as rate scenarios (rates curve "X")
    mortgage: MortgageRate = OTS_MORTGAGE_RATE

    @property
    def rate_model(self) -> HullWhite:
        return self.model if self.model is not None else DEFAULT_RATE_MODEL

    @property
    def prepay_model(self) -> PrepayModel:
        return self.prepay if self.prepay is not None else OTS

    @property
    def shifts(self) -> tuple[float, ...]:
        """The parallel shifts shown: those declared; the desk's usual ones when the deal names no
        rate scenario at all (a deal naming only curves shows those)."""
        return self.shifts_bp or (() if self.shift_curves else DEFAULT_SHIFTS)


def describe_model(model: HullWhite) -> str:
    """The model as the deal file writes it."""
    text = (f"hull-white mean reversion {model.mean_reversion:g} volatility "
            f"{model.volatility * 100:g}% paths {model.paths} seed {model.seed}")
    return text if model.antithetic else text + " antithetic off"


def describe_prepay(name: str, model: PrepayModel) -> str:
    text = f"prepay model {name} multiplier {model.multiplier:g}"
    if model.turnover:
        text += f" turnover {model.turnover * 100:g} CPR"
    if not model.refinancing:
        text += " refinancing off"
    return text
