"""SMM arrays [scenario, pool, period] from prepayment assumptions (SIFMA standard formulas)."""

from __future__ import annotations

import numpy as np

from ..model.prepayment import Prepayment


def cpr_from_psa(psa: np.ndarray | float, age: np.ndarray | float) -> np.ndarray:
    """SIFMA PSA curve: CPR (decimal) at loan-age month AGE; arrays broadcast (the engine's
    [scenario, pool, period] grid goes through here)."""
    age = np.maximum(1.0, np.minimum(np.asarray(age, dtype=float), 30.0))
    return np.minimum(np.asarray(psa, dtype=float) / 100.0 * 0.002 * age, 1.0)


def smm_from_cpr(cpr: np.ndarray | float) -> np.ndarray:
    """SMM = 1 - (1 - CPR)^(1/12), CPR and SMM as decimals."""
    cpr = np.clip(np.asarray(cpr, dtype=float), 0.0, 1.0)
    return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)


def smm_matrix(prepayments: list[Prepayment], ages: np.ndarray, periods: int) -> np.ndarray:
    """SMM (decimal) as an array [scenario, pool, period] for pools of the given loan ages.

    A constant speed's SMM stops changing once every pool is 30 months old (the PSA curve is
    flat from there; CPR and SMM speeds are flat throughout): those rows are computed up to that
    month and the last column repeated, the same numbers as computing every column."""
    ages = np.asarray(ages, dtype=float)
    out = np.empty((len(prepayments), len(ages), periods))
    constant = [i for i, p in enumerate(prepayments) if p.kind == "constant"]
    other = [i for i, p in enumerate(prepayments) if p.kind != "constant"]
    if constant:
        flat_from = int(np.ceil(30.0 - ages.min(initial=30.0))) + 1
        width = min(periods, max(1, flat_from))
        speed = np.array([prepayments[i].values[0] for i in constant])[:, None]
        part = _smm([prepayments[i] for i in constant], speed, ages, width)
        # Every scenario constant (the usual grid): slices, not a list of rows to scatter into.
        rows = slice(None) if not other else constant
        out[rows, :, :width] = part
        out[rows, :, width:] = part[:, :, width - 1:]
    if other:
        speed = np.stack([prepayments[i].path(periods) for i in other])
        out[other] = _smm([prepayments[i] for i in other], speed, ages, periods)
    return out


def _smm(prepayments: list[Prepayment], speed: np.ndarray, ages: np.ndarray, periods: int) -> np.ndarray:
    """SMM [scenario, pool, period] for speeds [scenario, period] (or [scenario, 1]) in each
    assumption's unit."""
    loan_age = ages[:, None] + np.arange(1, periods + 1)[None, :]  # [pool, period]
    speed = speed[:, None, :]  # [scenario, 1, period]
    units = np.array([p.unit for p in prepayments])[:, None, None]
    # Each unit's formula over the whole grid at once; the scenario's own unit picks its row.
    # The same tested formulas as for one number, broadcast over [scenario, pool, period].
    cpr = np.where(units == "PSA", cpr_from_psa(speed, loan_age[None, :, :]), speed / 100.0)
    from_cpr = smm_from_cpr(cpr)
    return np.where(units == "SMM", np.clip(speed / 100.0, 0.0, 1.0), from_cpr)
