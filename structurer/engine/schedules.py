"""Scheduled balances of PAC, PAC II and TAC classes, derived from the collateral.

A tier is the set of classes that share one schedule: all PAC classes with the same band, all
PAC II classes with the same band, all TAC classes at the same speed, or one class with an
explicit schedule. Tiers are served in priority order (PAC, then PAC II, then TAC) and each
sees the principal the tiers above it leave:

    available_s[t] = collateral principal at band speed s in period t
                     - the scheduled payments of the higher tiers in period t
    payment[t]     = min over the tier's band speeds s of available_s[t]
    scheduled balance[t] = max(0, tier balance - sum of payment[1..t])

(SIFMA's PAC convention: the lower of the collateral principal at the two band speeds,
truncated at the PAC balance.) The classes of one tier take the tier's schedule in the order
they were declared, as sequential PACs do; `sum(payment)` is the largest tier the band supports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.classtypes import REGISTRY
from ..model.deal import Pool
from ..model.prepayment import Prepayment
from .collateral import collateral_flows
from .prepayment import smm_matrix

UNRANKED_TIER = 9  # after every registered band type


@dataclass
class Tier:
    """Classes that share one schedule. `explicit` is a given scheduled balance path instead."""

    kind: str
    band: tuple[Prepayment, ...]
    classes: list[int] = field(default_factory=list)
    balances: list[float] = field(default_factory=list)
    explicit: np.ndarray | None = None
    capacity: float = float("nan")  # the largest balance the band supports

    @property
    def balance(self) -> float:
        return sum(self.balances)

    @property
    def label(self) -> str:
        if self.explicit is not None:
            return f"{self.kind} (explicit schedule)"
        return f"{self.kind}({', '.join(p.label for p in self.band)})"

    def over_capacity(self, names: list[str], tolerance: float) -> tuple[str, str] | None:
        """(message, hint) when the tier's classes hold more than its band supports, else None:
        the one wording of this error, for the check and for the solvers' rebuilt deals."""
        if self.explicit is not None or self.balance <= self.capacity + tolerance:
            return None
        verb = "has" if len(names) == 1 else "have"
        return (f"{self.label} supports at most {self.capacity:,.2f}; {', '.join(names)} {verb} "
                f"{self.balance:,.2f}",
                f"lower the balance by {self.balance - self.capacity:,.2f} or widen the band")


def band_principal(pools: tuple[Pool, ...], strips: list[tuple[int, float]],
                   speeds: list[Prepayment], periods: int) -> np.ndarray:
    """Collateral principal [speed, period] at each speed, net of principal stripped off the top."""
    ages = np.array([p.age for p in pools], dtype=float)
    flows = collateral_flows(pools, smm_matrix(speeds, ages, periods))
    principal = flows.principal.copy()
    by_pool = flows.by_pool["scheduled_principal"] + flows.by_pool["prepayment"]
    for pool, share in strips:
        principal -= share * by_pool[:, pool, :]
    return principal


def serving_order(tiers: list[Tier]) -> list[Tier]:
    """Tiers in the order they are served: by the class-type registry's tier order (PAC, then
    PAC II, then TAC), tiers of one kind as declared."""
    return sorted(tiers, key=lambda t: REGISTRY[t.kind].tier_order if t.kind in REGISTRY else UNRANKED_TIER)


def compute_schedules(pools: tuple[Pool, ...], strips: list[tuple[int, float]], tiers: list[Tier],
                      periods: int) -> dict[int, np.ndarray]:
    """Scheduled balance after each period [period] for every class of every tier.

    Sets each tier's `capacity`. Tiers larger than their capacity still get a schedule (the
    caller reports the error).
    """
    ordered = serving_order(tiers)
    speeds = sorted({p for t in ordered for p in t.band}, key=lambda p: (p.unit, p.values))
    principal = band_principal(pools, strips, speeds, periods) if speeds else np.zeros((0, periods))
    return schedule_tiers(ordered, {p: principal[i] for i, p in enumerate(speeds)}, periods)


def schedule_tiers(ordered: list[Tier], at_speed: dict[Prepayment, np.ndarray],
                   periods: int) -> dict[int, np.ndarray]:
    """compute_schedules' tier loop, on the band speeds' principal [period] already projected
    (the solvers project it once and rebuild tiers many times). `ordered`: in serving order."""
    taken = np.zeros(periods)  # scheduled payments of the tiers served so far
    out: dict[int, np.ndarray] = {}
    for tier in ordered:
        if tier.explicit is not None:
            balance = tier.explicit
            tier.capacity = tier.balance
            payment = -np.diff(np.concatenate([[tier.balance], balance]))
        else:
            available = np.stack([np.maximum(at_speed[p] - taken, 0.0) for p in tier.band])
            least = available.min(axis=0)
            tier.capacity = float(least.sum())
            balance = np.maximum(tier.balance - np.cumsum(least), 0.0)
            payment = -np.diff(np.concatenate([[tier.balance], balance]))
        taken = taken + payment
        # Declaration order: the first class is scheduled down first, like sequential PACs.
        later = np.cumsum(tier.balances[::-1])[::-1]
        for k, cls in enumerate(tier.classes):
            after = later[k + 1] if k + 1 < len(tier.classes) else 0.0
            out[cls] = np.clip(balance - after, 0.0, tier.balances[k])
    return out
