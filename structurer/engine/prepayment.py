"""SMM arrays [scenario, pool, period] from prepayment assumptions (SIFMA standard formulas)."""

from __future__ import annotations

import functools

import numpy as np

from ..model.prepayment import Prepayment
from . import buffers


def cpr_from_psa(psa: np.ndarray | float, age: np.ndarray | float,
                 out: np.ndarray | None = None) -> np.ndarray:
    """SIFMA PSA curve: CPR (decimal) at loan-age month AGE; arrays broadcast (the engine's
    [scenario, pool, period] grid goes through here, into `out` when given)."""
    age = np.maximum(1.0, np.minimum(np.asarray(age, dtype=float), 30.0))
    return np.minimum(np.multiply(np.asarray(psa, dtype=float) / 100.0 * 0.002, age, out=out), 1.0, out=out)


def smm_from_cpr(cpr: np.ndarray | float, out: np.ndarray | None = None) -> np.ndarray:
    """SMM = 1 - (1 - CPR)^(1/12), CPR and SMM as decimals (computed in `out` when given: it may
    be `cpr` itself)."""
    cpr = np.clip(np.asarray(cpr, dtype=float), 0.0, 1.0, out=out)
    left = np.power(np.subtract(1.0, cpr, out=out), 1.0 / 12.0, out=out)
    return np.subtract(1.0, left, out=out)


def smm_matrix(prepayments: list[Prepayment], ages: np.ndarray, periods: int) -> np.ndarray:
    """SMM (decimal) as an array [scenario, pool, period] for pools of the given loan ages.

    A constant speed's SMM stops changing once every pool is 30 months old (the PSA curve is
    flat from there; CPR and SMM speeds are flat throughout): those rows are computed up to that
    month and the last column repeated, the same numbers as computing every column."""
    ages = np.asarray(ages, dtype=float)
    # (from the buffer pool: every element is written below)
    out = buffers.empty((len(prepayments), len(ages), periods))
    if {p.kind for p in prepayments} <= {"constant"}:  # the usual grid: straight into the output
        if prepayments:
            speed, units = constant_speeds(prepayments)
            constant_smm(speed, units, ages, periods, out)
        return out
    constant = [i for i, p in enumerate(prepayments) if p.kind == "constant"]
    other = [i for i, p in enumerate(prepayments) if p.kind != "constant"]
    if constant:
        speed, units = constant_speeds([prepayments[i] for i in constant])
        out[constant] = constant_smm(speed, units, ages, periods)
    speed = np.stack([prepayments[i].path(periods) for i in other])
    out[other] = _smm([prepayments[i].unit for i in other], speed, ages, periods)
    return out


def constant_speeds(prepayments: list[Prepayment]) -> tuple[np.ndarray, str | list[str]]:
    """Constant assumptions' speeds [scenario] and units: one unit when all share it."""
    speed = np.array([p.values[0] for p in prepayments], dtype=float)
    units = [p.unit for p in prepayments]
    return speed, units[0] if units.count(units[0]) == len(units) else units


def constant_smm(speeds: np.ndarray, units: str | list[str], ages: np.ndarray, periods: int,
                 out: np.ndarray | None = None, bounds: tuple[float, float] | None = None) -> np.ndarray:
    """SMM [scenario, pool, period] of constant speeds [scenario] in their units (one for all,
    or one per speed), computed in `out` when given. The rows stop changing once every pool is
    30 months old (the PSA curve is flat from there; CPR and SMM speeds are flat throughout):
    they are computed up to that month and the last column repeated, the same numbers as
    computing every column. Takes numbers, not Prepayments: a band search makes hundreds.
    `bounds`: the smallest and largest speed, when the caller knows them (a ConstantGrid's)."""
    ages = np.asarray(ages, dtype=float)
    speeds = np.asarray(speeds, dtype=float)
    flat_from = int(np.ceil(30.0 - ages.min(initial=30.0))) + 1
    width = min(periods, max(1, flat_from))
    if out is None:
        out = buffers.empty((len(speeds), len(ages), periods))
    if isinstance(units, str) and units == "PSA" and len(speeds):
        part = _psa_smm(speeds, ages, width, out[:, :, :width], bounds)
    else:
        part = _smm(units, speeds[:, None], ages, width, out[:, :, :width])
    if width < periods:  # (the kernel's SMM is these columns alone)
        out[:, :, width:] = part[:, :, width - 1:]
    return out


def _psa_smm(speeds: np.ndarray, ages: np.ndarray, periods: int, out: np.ndarray,
             bounds: tuple[float, float] | None = None) -> np.ndarray:
    """`_smm` of PSA speeds [scenario] (at least one), the same operations on the same numbers,
    less two that change nothing here: the cap at 100 CPR when no product reaches it, and the
    clip of CPR into [0, 1] when no speed is negative (nor NaN): then every CPR is in [0, 1]
    already, or -0.0, which 1 - CPR makes 1.0 as 0.0 does. `bounds`: the speeds' smallest and
    largest, when known."""
    age, top_age = _psa_ages(ages.tobytes(), periods)
    factor = speeds / 100.0 * 0.002  # (cpr_from_psa's)
    np.multiply(factor[:, None, None], age[None, :, :], out=out)
    # (x / 100 * 0.002 rounds monotonically: the largest speed's factor is the largest factor,
    # and no product of these factors and ages is above this one's)
    low, high = bounds if bounds is not None else (speeds.min(), speeds.max())
    if not high / 100.0 * 0.002 * top_age <= 1.0:
        np.minimum(out, 1.0, out=out)
    if not low >= 0.0:
        np.clip(out, 0.0, 1.0, out=out)
    left = np.power(np.subtract(1.0, out, out=out), 1.0 / 12.0, out=out)
    return np.subtract(1.0, left, out=out)


@functools.lru_cache(maxsize=64)
def _psa_ages(ages: bytes, periods: int) -> tuple[np.ndarray, float]:
    """cpr_from_psa's loan ages [pool, period] of pools of these ages (float64 bytes) over their
    first `periods`, and the largest (read-only: shared by every run)."""
    pool_ages = np.frombuffer(ages, dtype=float)
    loan_age = pool_ages[:, None] + np.arange(1, periods + 1)[None, :]  # [pool, period]
    age = np.maximum(1.0, np.minimum(loan_age, 30.0))
    age.flags.writeable = False
    return age, float(age.max(initial=1.0))


def _smm(units: np.ndarray | list[str], speed: np.ndarray, ages: np.ndarray, periods: int,
         out: np.ndarray | None = None) -> np.ndarray:
    """SMM [scenario, pool, period] for speeds [scenario, period] (or [scenario, 1]) in each
    scenario's unit, computed in `out` when given (no other array of that size is made)."""
    loan_age = ages[:, None] + np.arange(1, periods + 1)[None, :]  # [pool, period]
    speed = speed[:, None, :]  # [scenario, 1, period]
    units = np.asarray(units)
    if out is None:
        out = np.empty((len(speed), len(ages), periods))
    # Each unit's formula over the whole grid at once; the scenario's own unit picks its row.
    # The same tested formulas as for one number, broadcast over [scenario, pool, period], in
    # place: PSA's CPR, a CPR speed's own, then SMM from CPR, then an SMM speed's own. A unit no
    # scenario has is skipped (one unit for all, the usual grid: one formula).
    psa = units == "PSA"
    if psa.all():
        cpr_from_psa(speed, loan_age[None, :, :], out=out)
    elif not psa.any():
        np.copyto(out, speed / 100.0)
    else:
        cpr_from_psa(speed, loan_age[None, :, :], out=out)
        np.copyto(out, speed / 100.0, where=~np.broadcast_to(psa, len(speed))[:, None, None])
    smm_from_cpr(out, out=out)
    smm = units == "SMM"
    if smm.all():
        np.copyto(out, np.clip(speed / 100.0, 0.0, 1.0))
    elif smm.any():
        np.copyto(out, np.clip(speed / 100.0, 0.0, 1.0), where=smm[:, None, None])
    return out
