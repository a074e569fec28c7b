"""Average-life conventions side by side (SIFMA / BMA), each with its label.

- `wal`: SIFMA weighted average life, sum(k x P_k) / (12 x sum P_k), k the period counted from
  settlement, P_k the principal paid (positive only). The figure every table shows as "WAL".
- `to_receipt`: BMA average life to the receipt date: 30/360 years from settlement to each
  distribution date (the payment delay included), weighted by the principal paid.
- For an accrual (Z) class, whose balance grows by its accretion before it is paid:
  - `z_bond`: the Z-bond convention: the principal actually paid (the accreted amounts
    included when they are paid), accretion not counted as principal; by construction the
    same figure as `wal`, said separately so that a reader knows which convention `wal` is.
  - `net_principal`: the GPM/ARM (negative amortisation) convention: each period's net change
    in balance, paydown less accretion, with accretion as negative principal, by period count:
    sum(k x (B_{k-1} - B_k)) / (12 x sum(B_{k-1} - B_k)). It is later than `wal`'s when the
    class accretes, because the months of accretion weigh against the payments.
- A notional class's figures are those of its notional balance's paydown.
NaN where the class pays no principal.
"""

from __future__ import annotations

import numpy as np

from . import measures
from .results import Results

LABELS = {
    "wal": "WAL: years by period count from settlement, principal paid (SIFMA)",
    "to_receipt": "to the receipt date: 30/360 years from settlement to each distribution date, "
                  "payment delay included (BMA)",
    "z_bond": "Z-bond convention: principal paid, accretion not counted as principal (the WAL's own)",
    "net_principal": "GPM/ARM convention: net principal, paydown less accretion (negative amortisation)",
}


def net_principal_average_life(beginning: np.ndarray, ending: np.ndarray) -> np.ndarray:
    """sum(k x (B_{k-1} - B_k)) / (12 x sum(B_{k-1} - B_k)) per row: the GPM/ARM convention, the
    balance's accretion counted as negative principal. NaN where the balance never falls."""
    net = np.asarray(beginning, dtype=float) - np.asarray(ending, dtype=float)
    k = np.arange(1, net.shape[-1] + 1)
    total = net.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (net * k).sum(axis=-1) / (12.0 * np.where(total > 0, total, 1.0)), np.nan)


def conventions(results: Results, name: str) -> dict[str, np.ndarray]:
    """The class's average life [scenario] under each convention that applies to it (LABELS):
    wal and to_receipt for every class with principal (or a notional paydown), and z_bond and
    net_principal for an accrual class. Empty for the residual."""
    tranche = results.deal.tranche(name)
    if tranche.is_residual:
        return {}
    a = results.arrays(name)
    if tranche.is_notional:
        paid = np.maximum(a["beginning_balance"] - a["ending_balance"], 0.0)
    else:
        paid = a["principal"]
    out = {"wal": measures.weighted_average_life(paid),
           "to_receipt": measures.average_life_to_receipt(paid, results.deal.settle, results.dates)}
    if tranche.accrual:
        out["z_bond"] = out["wal"]
        out["net_principal"] = net_principal_average_life(a["beginning_balance"], a["ending_balance"])
    return out


def rows(results: Results, s: int) -> dict[str, dict[str, float | None]]:
    """Every issued class's conventions at scenario s, years rounded to 10 places, None where the
    figure does not exist: the --json object and the report table read these."""
    out: dict[str, dict[str, float | None]] = {}
    for tranche in results.deal.issued_classes:
        figures = conventions(results, tranche.name)
        if figures:
            out[tranche.name] = {k: (round(float(v[s]), 10) if np.isfinite(v[s]) else None)
                                 for k, v in figures.items()}
    return out
