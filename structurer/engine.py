"""Run a checked deal: scenarios -> collateral cash flows -> waterfall -> Results."""

from __future__ import annotations

import numpy as np

from .collateral import collateral_flows
from .errors import InputError
from .model import Deal
from .prepayment import Prepayment, parse_speed, smm_matrix
from .results import Results
from .waterfall import run_waterfall


def resolve_speeds(deal: Deal, speeds: list[Prepayment | str] | None) -> list[Prepayment]:
    """The speeds asked for, or the deal's pricing speed; names of the deal's scenarios work too."""
    if not speeds:
        if deal.pricing is None:
            raise InputError(f"deal \"{deal.name}\" has no pricing speed: add 'pricing 165 PSA' to "
                             "its scenarios block, or give speeds to run")
        return [deal.pricing]
    out = []
    for speed in speeds:
        if isinstance(speed, str) and speed in deal.scenarios:
            out.append(deal.scenarios[speed])
        else:
            out.append(parse_speed(speed))
    return out


def run_deal(deal: Deal, speeds: list[Prepayment | str] | None = None) -> Results:
    """Run every speed at once: arrays are [scenario, period] throughout."""
    prepayments = resolve_speeds(deal, speeds)
    periods = max(p.remaining for p in deal.pools)
    ages = np.array([p.age for p in deal.pools], dtype=float)
    smm = smm_matrix(prepayments, ages, periods)
    coll = collateral_flows(deal.pools, smm)
    flows = run_waterfall(deal, coll)
    return Results(deal, prepayments, coll, flows)
