"""Credit runs: the collateral under default assumptions, in the shape the waterfall reads, and
the write-down of realized losses against the classes in the deal's loss order.

The collateral of a scenario with defaults comes from engine/defaults.py (`default_flows`, the
SIFMA standard formulas, unchanged); a scenario with no default assumption, or a zero default
rate, keeps engine/collateral.py's flows to the bit, so that adding a credit scenario to a run
changes nothing in the others. What the waterfall distributes:

    principal = scheduled principal of performing loans + advanced principal of delinquent loans
                + voluntary prepayments + recoveries
    interest  = net coupon paid by performing loans (+ advanced interest when advancing)

and the collateral balance (performing + delinquent) falls each period by that principal plus
the realized losses, which the classes absorb as write-downs (`write_down`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.deal import Deal, Pool
from ..model.defaults import DefaultAssumption, DefaultRate
from ..model.scenarios import Scenario, SpeedScenarios
from .collateral import CollateralFlows, collateral_flows
from .defaults import default_flows

# The credit columns, [scenario, period] (and [scenario, pool, period] in by_pool).
CREDIT_FIELDS = ("new_defaults", "liquidations", "recoveries", "losses", "performing_balance",
                 "delinquent_balance", "advanced_principal", "advanced_interest")


@dataclass(frozen=True)
class CreditCollateral(CollateralFlows):
    """CollateralFlows of a run in which some scenario carries a default assumption.

    `scheduled_principal` is the scheduled principal passed through (performing loans' plus what
    the servicer advances on delinquent ones, the latter also in `advanced_principal`);
    `prepayment` is voluntary prepayments; `beginning_balance`/`ending_balance` count performing
    and delinquent loans. Every period: beginning - ending = principal + losses."""

    new_defaults: np.ndarray = None  # type: ignore[assignment]
    liquidations: np.ndarray = None  # type: ignore[assignment]
    recoveries: np.ndarray = None  # type: ignore[assignment]
    losses: np.ndarray = None  # type: ignore[assignment]
    performing_balance: np.ndarray = None  # type: ignore[assignment]
    delinquent_balance: np.ndarray = None  # type: ignore[assignment]
    advanced_principal: np.ndarray = None  # type: ignore[assignment]
    advanced_interest: np.ndarray = None  # type: ignore[assignment]
    # The 60+ day delinquent share of the balance each scenario assumes [scenario, period]
    # (a trigger's input, not projected: model/defaults.py Delinquency).
    delinquency: np.ndarray = None  # type: ignore[assignment]

    @property
    def principal(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment + self.recoveries


def carries_defaults(scenarios: Sequence[Scenario]) -> bool:
    if isinstance(scenarios, SpeedScenarios):
        return False  # speeds alone (and no Scenario made to ask)
    return any(s.defaults is not None for s in scenarios)


def check_loss_order(deal: Deal, scenarios: Sequence[Scenario]) -> None:
    """A scenario whose loans lose money needs the deal to say who takes the losses."""
    if deal.losses is not None:
        return
    for s in scenarios:
        if s.has_losses:
            raise InputError(f"scenario \"{s.label}\" has defaults but the waterfall of deal "
                             f"\"{deal.name}\" says nowhere which classes take losses: add a loss "
                             "section, e.g. 'losses: write down D, C, B, A'")


def credit_collateral(pools: Sequence[Pool], smm: np.ndarray,
                      defaults: Sequence[DefaultAssumption | None]) -> CreditCollateral:
    """Collateral flows under SMM [scenario, pool, period] and one default assumption (or None)
    per scenario. Scenarios without defaults, or with a zero rate, take collateral_flows'."""
    smm = np.asarray(smm, dtype=float)
    n_scen, n_pool, periods = smm.shape
    if len(defaults) != n_scen:
        raise InputError(f"{len(defaults)} default assumptions for {n_scen} scenarios; give one for each")
    plain = collateral_flows(pools, smm)
    zero_rate = DefaultAssumption(DefaultRate.constant(0.0, "CDR"))
    credit = [i for i, d in enumerate(defaults) if d is not None and not d.rate.is_zero]

    def pool_array() -> np.ndarray:
        return np.zeros((n_scen, n_pool, periods))

    by_pool = {k: np.array(v) for k, v in plain.by_pool.items()}
    by_pool["interest"] = np.array(plain.by_pool["interest"])
    wac_m = np.array([p.wac for p in pools])[None, :, None] / 12.0
    net_m = np.array([p.coupon for p in pools])[None, :, None] / 12.0
    fee = plain.by_pool["beginning_balance"] * (wac_m - net_m)
    extra = {name: pool_array() for name in CREDIT_FIELDS}
    extra["performing_balance"] = np.array(plain.by_pool["ending_balance"])
    if credit:
        df = default_flows(pools, smm[credit], [defaults[i] or zero_rate for i in credit])
        got = df.by_pool
        original = np.array([p.balance for p in pools], dtype=float)[None, :, None]
        ending = got["performing_balance"] + got["delinquent_balance"]
        beginning = np.concatenate([np.broadcast_to(original, (len(credit), n_pool, 1)),
                                    ending[:, :, :-1]], axis=2)
        by_pool["beginning_balance"][credit] = beginning
        by_pool["ending_balance"][credit] = ending
        by_pool["scheduled_principal"][credit] = got["scheduled_principal"] + got["defaulted_amortization"]
        by_pool["prepayment"][credit] = got["prepayments"]
        by_pool["interest"][credit] = got["interest"]
        fee[credit] = got["servicing_fee"]
        for name in ("new_defaults", "liquidations", "recoveries", "losses", "performing_balance",
                     "delinquent_balance", "advanced_interest"):
            extra[name][credit] = got[name]
        extra["advanced_principal"][credit] = got["defaulted_amortization"]
    by_pool.update(extra)

    def total(a: np.ndarray) -> np.ndarray:
        return a[:, 0, :] if n_pool == 1 else a.sum(axis=1)

    return CreditCollateral(
        beginning_balance=total(by_pool["beginning_balance"]),
        interest=total(by_pool["interest"]),
        scheduled_principal=total(by_pool["scheduled_principal"]),
        prepayment=total(by_pool["prepayment"]),
        ending_balance=total(by_pool["ending_balance"]),
        servicing_fee=total(fee),
        smm=smm,
        by_pool=by_pool,
        **{name: total(extra[name]) for name in CREDIT_FIELDS},
        delinquency=np.array([d.delinquency.fractions(periods) if d is not None and d.delinquency is not None
                              else np.zeros(periods) for d in defaults]).reshape(n_scen, periods),
    )


def write_down(balance: np.ndarray, loss: np.ndarray, tiers: Sequence[Sequence[int]],
               out: np.ndarray) -> np.ndarray:
    """Write `loss` [scenario] down against `balance` [class, scenario] in place, tier by tier
    (a tier of several classes shares pro rata to their balances), recording each class's
    write-down in `out` [class, scenario]. Returns the loss no class's balance could absorb."""
    left = np.array(loss, dtype=float)
    for tier in tiers:
        idx = list(tier)
        held = balance[idx]  # [k, scenario], a copy
        total = held.sum(axis=0)
        take = np.minimum(left, total)
        whole = take >= total  # the tier is wiped out: write off each balance exactly
        share = np.divide(take, total, out=np.zeros_like(take), where=total > 0)
        written = np.where(whole[None, :], held, held * share[None, :])
        out[idx] = written
        balance[idx] = np.where(whole[None, :], 0.0, held - written)
        left -= take
        left = np.maximum(left, 0.0)
    return left
