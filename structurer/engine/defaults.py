"""Collateral cash flows under prepayment and default assumptions, by the BMA/SIFMA standard
formulas (Uniform Practices, chapter SF, SF-18 to SF-38), for many scenarios at once.

Every month t, for each pool (PB the performing balance, a_t the scheduled amortization fraction
of a level-pay loan on the remaining term at the gross WAC, engine/collateral.py's):

    new defaults              NEWDEF  = MDR x PB(t-1)
    expected amortization     EXPAM   = a_t x PB(t-1)
    actual amortization       ACTAM   = a_t x (PB(t-1) - NEWDEF)    the loans that still pay
    voluntary prepayments     VOL     = SMM x (PB(t-1) - EXPAM)      as the standard prints it
    performing balance        PB(t)   = PB(t-1) - NEWDEF - ACTAM - VOL

The loans that default in month d wait `lag` months for liquidation, in month d + lag. While
they wait (months d .. d + lag - 1) a servicer who advances pays their scheduled principal (the
amortization from defaulted loans, a_t on their balance; in month d that is EXPAM - ACTAM) and
their interest; so they are liquidated at their scheduled balance, NEWDEF(d) x S(d + lag) / S(d)
with S the scheduled balance factor. Without advancing nothing is paid on them and they are
liquidated at NEWDEF(d). At liquidation:

    principal loss            LOSS    = min(severity x NEWDEF(d), liquidated balance)
    principal recovery        RECOV   = liquidated balance - LOSS

No new defaults in the last `lag` months of the remaining term, so every defaulted loan is
liquidated by the pool's last month. Interest is the net coupon on the loans that paid (PB(t-1)
- NEWDEF), plus, when advancing, on the delinquent loans not liquidated this month.

Two readings where the printed formulas leave a gap, chosen because they reproduce every figure
of the standard's Cash Flows A and B to the dollar (tests/test_defaults.py):
- VOL is SMM x (PB(t-1) - EXPAM), not of the balance net of defaults: 999,329 = 1% x
  (100,000,000 - 67,098) in Cash Flow A's month 1. When MDR + SMM > 1 that would prepay more
  than is left; VOL is then capped at what is left (PB(t-1) - NEWDEF - ACTAM).
- The loss is severity x the balance at default, capped at the balance liquidated: with
  advancing, loans defaulting near maturity have amortized below it (Cash Flow A's total loss
  is 9,515,314, 14 dollars under 20% of its defaults).

The period loop runs over [scenario, pool] arrays; each line is a scalar formula, so the compiled
engine can run the same loop per scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model.deal import Pool
from ..model.defaults import DefaultAssumption, DefaultRate, validate_defaults
from ..model.prepayment import Prepayment
from .collateral import pool_amortization
from .prepayment import smm_from_cpr, smm_matrix


def cdr_from_sda(sda: np.ndarray | float, age: np.ndarray | float) -> np.ndarray:
    """The SDA curve: CDR (decimal) at loan-age month AGE for a multiple of 100 SDA. 100 SDA is
    0.02% x AGE to 0.60% at 30, flat to 60, down 0.0095% a month to 0.03% at 120, flat after;
    capped at 100% CDR."""
    age = np.maximum(np.asarray(age, dtype=float), 1.0)
    base = np.where(age <= 30, 0.0002 * age,
                    np.where(age <= 60, 0.006,
                             np.where(age <= 120, 0.006 - 0.000095 * (age - 60), 0.0003)))
    return np.minimum(np.asarray(sda, dtype=float) / 100.0 * base, 1.0)


def mdr_from_cdr(cdr: np.ndarray | float) -> np.ndarray:
    """MDR = 1 - (1 - CDR)^(1/12), decimals: the SMM/CPR relation."""
    return smm_from_cpr(cdr)


def mdr_matrix(rates: Sequence[DefaultRate], pools: Sequence[Pool], lags: Sequence[int],
               periods: int) -> np.ndarray:
    """MDR (decimal) as an array [scenario, pool, period]: each scenario's rate on each pool's
    loan age, zero in the last `lag` months of the pool's remaining term."""
    ages = np.array([p.age for p in pools], dtype=float)
    loan_age = ages[:, None] + np.arange(1, periods + 1)[None, :]  # [pool, period]
    speed = np.stack([r.path(periods) for r in rates])[:, None, :] if rates else np.zeros((0, 1, periods))
    units = np.array([r.unit for r in rates] or ["CDR"])[:len(rates), None, None]
    cdr = np.where(units == "SDA", cdr_from_sda(speed, loan_age[None, :, :]), speed / 100.0)
    mdr = np.where(units == "MDR", np.clip(speed / 100.0, 0.0, 1.0), mdr_from_cdr(cdr))
    remaining = np.array([p.remaining for p in pools])[None, :, None]
    month = np.arange(1, periods + 1)[None, None, :]
    lag = np.asarray(lags, dtype=int)[:, None, None]
    # A loan defaulting in the last `lag` months would mature before it could be liquidated.
    return np.where(month > remaining - lag, 0.0, mdr)


@dataclass(frozen=True)
class DefaultFlows:
    """Arrays [scenario, period] for period 1..T (index 0 is period 1), summed over pools; the
    balances are at the end of the period. `by_pool` keeps each as [scenario, pool, period].

    Principal paid = scheduled_principal + defaulted_amortization + prepayments + recoveries;
    the original balance = performing_balance + delinquent_balance + cumulative (scheduled_principal
    + defaulted_amortization + prepayments + recoveries + losses), every period."""

    beginning_balance: np.ndarray      # performing balance at the start of the period
    performing_balance: np.ndarray     # at the end
    new_defaults: np.ndarray
    expected_amortization: np.ndarray  # scheduled amortization of the whole prior performing balance
    scheduled_principal: np.ndarray    # amortization paid by the loans that still perform
    defaulted_amortization: np.ndarray  # amortization of delinquent loans, advanced by the servicer
    prepayments: np.ndarray            # voluntary prepayments
    delinquent_balance: np.ndarray     # loans in the liquidation pipeline, at the end
    liquidations: np.ndarray           # balance liquidated: recoveries + losses
    recoveries: np.ndarray
    losses: np.ndarray
    interest: np.ndarray               # net coupon paid by performing loans plus advanced interest
    advanced_interest: np.ndarray      # the part of `interest` advanced on delinquent loans
    servicing_fee: np.ndarray
    smm: np.ndarray                    # [scenario, pool, period]
    mdr: np.ndarray                    # [scenario, pool, period]
    by_pool: dict[str, np.ndarray]

    @property
    def principal(self) -> np.ndarray:
        """Principal passed through: scheduled, advanced, prepaid and recovered."""
        return self.scheduled_principal + self.defaulted_amortization + self.prepayments + self.recoveries

    @property
    def cash(self) -> np.ndarray:
        return self.interest + self.principal

    @property
    def ending_balance(self) -> np.ndarray:
        """Performing plus delinquent balance at the end of the period."""
        return self.performing_balance + self.delinquent_balance

    @property
    def periods(self) -> int:
        return self.interest.shape[1]

    def totals(self) -> dict[str, np.ndarray]:
        """Each flow summed over the periods, per scenario (the standard's total row)."""
        flows = ("new_defaults", "expected_amortization", "scheduled_principal", "defaulted_amortization",
                 "prepayments", "liquidations", "recoveries", "losses", "interest", "advanced_interest",
                 "servicing_fee")
        return {name: getattr(self, name).sum(axis=1) for name in flows}


_FLOWS = ("beginning_balance", "performing_balance", "new_defaults", "expected_amortization",
          "scheduled_principal", "defaulted_amortization", "prepayments", "delinquent_balance",
          "liquidations", "recoveries", "losses", "interest", "advanced_interest", "servicing_fee")


def default_flows(pools: Sequence[Pool], smm: np.ndarray,
                  defaults: Sequence[DefaultAssumption]) -> DefaultFlows:
    """Cash flows of the pools under SMM [scenario, pool, period] and one default assumption per
    scenario (the i-th assumption goes with the i-th row of `smm`)."""
    smm = np.asarray(smm, dtype=float)
    n_scen, n_pool, periods = smm.shape
    if len(defaults) != n_scen:
        raise InputError(f"{len(defaults)} default assumptions for {n_scen} prepayment scenarios; "
                         "give one for each")
    term = max(p.term for p in pools)
    for d in defaults:
        validate_defaults(d, term)
    lags = np.array([d.lag for d in defaults], dtype=int)
    mdr = mdr_matrix([d.rate for d in defaults], pools, lags, periods)
    severity = (np.stack([d.severity.fractions(periods) for d in defaults]) if n_scen
                else np.zeros((0, periods)))
    advancing = np.array([d.advancing for d in defaults], dtype=float)[:, None]  # [scenario, 1]

    amort = pool_amortization(pools, periods)  # [pool, period]
    # S: the scheduled balance factor at the start of each period, which the defaulted loans
    # follow while the servicer advances their principal.
    scheduled_factor = np.concatenate([np.ones((n_pool, 1)), np.cumprod(1.0 - amort, axis=1)], axis=1)
    net_m = np.array([p.coupon for p in pools])[None, :] / 12.0
    fee_m = np.array([p.wac for p in pools])[None, :] / 12.0 - net_m

    # The recursion, period by period, over [scenario, pool] slices of period-major arrays (each
    # slice contiguous); what follows from its states without recursion is computed after it.
    mdr_by_t = np.ascontiguousarray(mdr.transpose(2, 0, 1))
    smm_by_t = np.ascontiguousarray(smm.transpose(2, 0, 1))
    amort_by_t = np.ascontiguousarray(amort.T)  # [period, pool]
    states = {name: np.zeros((periods, n_scen, n_pool))
              for name in ("begin", "new", "cohort", "liquidated", "waiting")}
    performing = np.broadcast_to(np.array([p.balance for p in pools], dtype=float), (n_scen, n_pool)).copy()
    pending = np.zeros((n_scen, n_pool))
    one_lag = n_scen > 0 and bool((lags == lags[0]).all())
    scen = np.arange(n_scen)
    # Where a cohort's balance is on schedule at liquidation, relative to its default month: the
    # ratio of the scheduled factors (a pool past its term has a zero factor and no cohorts).
    safe_factor = np.where(scheduled_factor > 0, scheduled_factor, 1.0)
    for t in range(periods):
        a = amort_by_t[t]
        begin = performing
        new = mdr_by_t[t] * begin
        expected = a * begin
        actual = a * (begin - new)
        # Capped at what is left: only binds when MDR + SMM > 1.
        prepaid = np.minimum(smm_by_t[t] * (begin - expected), begin - new - actual)
        performing = begin - new - actual - prepaid
        states["begin"][t] = begin
        states["new"][t] = new

        # The cohort that defaulted `lag` months ago is liquidated now (this month's own, if lag 0).
        if one_lag:
            month = t - int(lags[0])
            cohort = states["new"][month] if month >= 0 else np.zeros((n_scen, n_pool))
            factor = (scheduled_factor[:, t] / safe_factor[:, month])[None, :] if month >= 0 else 1.0
        else:
            months = t - lags
            due = months >= 0
            month_of = np.where(due, months, t)
            cohort = np.where(due[:, None], states["new"][month_of, scen, :], 0.0)
            factor = (scheduled_factor[:, t][:, None] / safe_factor[:, month_of]).T
        liquidated = cohort * np.where(advancing > 0, factor, 1.0)
        # Delinquent this month and not liquidated; clamped at zero because the pipeline's last
        # liquidation leaves only rounding dust (of either sign).
        waiting = np.maximum(pending + new - liquidated, 0.0)
        pending = waiting - advancing * a * waiting
        states["cohort"][t] = cohort
        states["liquidated"][t] = liquidated
        states["waiting"][t] = waiting

    begin, new, cohort, liquidated, waiting = (np.ascontiguousarray(states[k].transpose(1, 2, 0))
                                               for k in ("begin", "new", "cohort", "liquidated", "waiting"))
    del states
    a = amort[None, :, :]
    expected = a * begin
    actual = a * (begin - new)
    prepaid = np.minimum(smm * (begin - expected), begin - new - actual)  # as in the loop, to the bit
    advanced_principal = advancing[:, :, None] * a * waiting
    lost = np.minimum(severity[:, None, :] * cohort, liquidated)
    paying = begin - new
    advanced = advancing[:, :, None] * waiting
    out = {
        "beginning_balance": begin,
        "performing_balance": begin - new - actual - prepaid,
        "new_defaults": new,
        "expected_amortization": expected,
        "scheduled_principal": actual,
        "defaulted_amortization": advanced_principal,
        "prepayments": prepaid,
        "delinquent_balance": waiting - advanced_principal,
        "liquidations": liquidated,
        "recoveries": liquidated - lost,
        "losses": lost,
        "interest": (paying + advanced) * net_m[:, :, None],
        "advanced_interest": advanced * net_m[:, :, None],
        "servicing_fee": (paying + advanced) * fee_m[:, :, None],
    }

    def total(x: np.ndarray) -> np.ndarray:
        return x[:, 0, :] if n_pool == 1 else x.sum(axis=1)  # one pool: a view, no copy

    return DefaultFlows(**{name: total(out[name]) for name in _FLOWS}, smm=smm, mdr=mdr, by_pool=out)


def project(pools: Sequence[Pool], prepayments: Sequence[Prepayment],
            defaults: Sequence[DefaultAssumption], periods: int | None = None) -> DefaultFlows:
    """Cash flows of the pools for scenarios paired one to one: the i-th prepayment speed with
    the i-th default assumption, to the end of the longest remaining term unless `periods`."""
    if len(prepayments) != len(defaults):
        raise InputError(f"{len(prepayments)} prepayment speeds and {len(defaults)} default assumptions; "
                         "pair them one to one")
    periods = periods or max(p.remaining for p in pools)
    smm = smm_matrix(list(prepayments), np.array([p.age for p in pools]), periods)
    return default_flows(pools, smm, defaults)
