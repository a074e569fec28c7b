"""Run a checked deal: scenarios -> collateral cash flows -> waterfall -> Results."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InputError
from ..model.deal import Deal
from ..model.defaults import parse_defaults, validate_defaults
from ..model.prepayment import Prepayment, all_valid, constant_grid, parse_speed, validate_assumption
from ..model.scenarios import (
    Scenario,
    SpeedScenarios,
    check_indices,
    constant_grid_of,
    indices_named,
    prepayments_of,
)
from ..results.results import Results
from .collateral import CollateralFlows, collateral_flows
from .compiled import CompiledDeal, compiled, run_compiled, sum_compiled
from .credit import carries_defaults, check_loss_order, credit_collateral
from .prepayment import smm_matrix
from .waterfall import ClassFlows, run_waterfall


def resolve_scenarios(deal: Deal, speeds: list[Scenario | Prepayment | str] | None) -> list[Scenario]:
    """The scenarios asked for ('165 PSA', a scenario name, objects), or the deal's pricing one."""
    return list(scenario_list(deal, speeds))


def scenario_list(deal: Deal, speeds: list[Scenario | Prepayment | str] | None) -> Sequence[Scenario]:
    """resolve_scenarios without a Scenario object per speed when every speed is a Prepayment
    (the API's grids): those are validated as arrays and read as a SpeedScenarios."""
    if isinstance(speeds, SpeedScenarios):
        return speeds  # (resolved already: a summary's chunk)
    if speeds and set(map(type, speeds)) == {Prepayment}:
        prepayments = list(speeds)  # type: ignore[arg-type]
        grid = constant_grid(prepayments)  # (the usual grid: validated and read in one pass)
        if grid is not None or all_valid(prepayments):  # (else the loop below raises the first bad
            return SpeedScenarios(prepayments, grid)     # speed's message)
    if not speeds:
        if deal.pricing is None:
            raise InputError(f"deal \"{deal.name}\" has no pricing speed: add 'pricing 165 PSA' to "
                             "its scenarios block, or give speeds to run")
        return [deal.pricing]
    out = []
    for speed in speeds:
        if isinstance(speed, Scenario):
            validate_assumption(speed.prepayment)
            out.append(speed)
        elif isinstance(speed, str) and speed in deal.scenarios:
            out.append(deal.scenarios[speed])
        elif isinstance(speed, Prepayment):
            out.append(Scenario(validate_assumption(speed)))
        else:
            # Text is validated as it is read; '165 PSA defaults 100 SDA severity 35% lag 12'
            # adds a default assumption (model/defaults.py's parser, its messages).
            speed_text, sep, default_text = (_split_defaults(speed) if isinstance(speed, str)
                                             else (speed, "", ""))
            defaults = parse_defaults(default_text, max(p.term for p in deal.pools)) if sep else None
            out.append(Scenario(parse_speed(speed_text), defaults=defaults))
    return out


def _split_defaults(text: str) -> tuple[str, str, str]:
    """'165 PSA defaults 100 SDA ...' -> ('165 PSA', 'defaults', '100 SDA ...'); without: (text, '', '')."""
    m = re.search(r"(?i)\bdefaults\b", text)
    if m is None:
        return text, "", ""
    return text[:m.start()].strip(), m.group(0), text[m.end():].strip()


def run_deal(deal: Deal, speeds: list[Scenario | Prepayment | str] | None = None,
             progress: Callable[[int, int], None] | None = None) -> Results:
    """Run every scenario at once: arrays are [scenario, period] throughout.

    `progress(done, total)` hears of each period the waterfall finishes (for long grids)."""
    scenarios = scenario_list(deal, speeds)
    periods = deal.periods
    index_rates = scenario_index_rates(deal, scenarios)
    prepayments = prepayments_of(scenarios)
    if carries_defaults(scenarios):
        # Defaults: the collateral by the standard formulas (engine/credit.py), paid out by the
        # kernel or the interpreter, losses written down in the deal's loss order.
        check_loss_order(deal, scenarios)
        ages = np.array([p.age for p in deal.pools], dtype=float)
        smm = smm_matrix(prepayments, ages, periods)
        term = max(p.term for p in deal.pools)
        for s in scenarios:
            if s.defaults is not None:
                validate_defaults(s.defaults, term)
        credit = credit_collateral(deal.pools, smm, [s.defaults for s in scenarios])
        cd = _compiled(deal)
        if cd is not None:
            # The kernel pays out the collateral engine/credit.py computed.
            _, flows = run_compiled(deal, cd, prepayments, index_rates, credit)
            if progress is not None:
                progress(periods, periods)
        else:
            flows = run_waterfall(deal, credit, index_rates, progress)
        return Results(deal, scenarios, credit, flows)
    cd = _compiled(deal)
    if cd is not None:
        coll, flows = run_compiled(deal, cd, prepayments, index_rates, grid=constant_grid_of(scenarios))
        if progress is not None:
            progress(periods, periods)  # the kernel runs every period at once
        return Results(deal, scenarios, coll, flows)  # type: ignore[arg-type]
    # The numpy interpreter: for a rule kind with no compiled form, or when asked for by
    # STRUCTURER_ENGINE=numpy (the cross-check of the kernel).
    ages = np.array([p.age for p in deal.pools], dtype=float)
    smm = smm_matrix(prepayments, ages, periods)
    coll = collateral_flows(deal.pools, smm)
    flows = run_waterfall(deal, coll, index_rates, progress)
    return Results(deal, scenarios, coll, flows)


def scenario_index_rates(deal: Deal, scenarios: Sequence[Scenario]) -> np.ndarray:
    """Each scenario's index paths [scenario, index, period] (the deal's index names, sorted),
    checked: an index the deal does not use is an InputError."""
    names = deal.index_names
    check_indices(deal.name, names, indices_named(scenarios))
    plain = isinstance(scenarios, SpeedScenarios)  # (no scenario of it names an index)
    if not names:
        return np.zeros((len(scenarios), 0, deal.periods))
    # Each distinct set of index paths computed once (a grid's scenarios mostly share the deal's)
    # and copied to its scenarios; in the order they first appear, so a missing rate is found at
    # the same scenario as one by one.
    if plain:
        first = {(): scenarios[0]} if len(scenarios) else {}
        which = np.zeros(len(scenarios), dtype=np.int64)
    else:
        first = {}
        for s in scenarios:
            first.setdefault(s.indices, s)
        slot = {k: j for j, k in enumerate(first)}
        which = np.fromiter((slot[s.indices] for s in scenarios), dtype=np.int64, count=len(scenarios))
    if not first:
        return np.zeros((0, len(names), deal.periods))
    paths = np.stack([s.index_paths(deal.indices, names, deal.periods) for s in first.values()])
    return paths[which]


def sum_deal(deal: Deal, scenarios: Sequence[Scenario], discount: np.ndarray,
             dust: float) -> np.ndarray | None:
    """A summaries-only run of resolved scenarios through the compiled kernel: each scenario's
    sums [scenario, class (then the collateral), field] (engine/compiled.py `sum_compiled`),
    nothing per period kept. None when the deal runs on the numpy interpreter (a rule kind with
    no compiled form, or STRUCTURER_ENGINE=numpy) or a scenario carries defaults: the caller then
    runs it in full."""
    cd = _compiled(deal)
    if cd is None or carries_defaults(scenarios) or deal.overcollateralization is not None \
            or deal.reserve is not None:
        # (nor OC or reserve figures: such a deal runs in full as well)
        return None  # the kernel's sums count no recoveries or write-downs: a credit grid runs in full
    index_rates = scenario_index_rates(deal, scenarios)
    return sum_compiled(deal, cd, prepayments_of(scenarios), index_rates, discount, dust,
                        grid=constant_grid_of(scenarios))


def _compiled(deal: Deal) -> CompiledDeal | None:
    """The deal's kernel form; None for the numpy interpreter (a rule kind with no compiled form,
    or STRUCTURER_ENGINE=numpy, the cross-check of the kernel)."""
    if os.environ.get("STRUCTURER_ENGINE", "compiled") == "numpy":
        return None
    return compiled(deal)


def run_smm(deal: Deal, smm: np.ndarray, index_rates: np.ndarray,
            collateral: CollateralFlows | None = None) -> tuple[CollateralFlows, ClassFlows]:
    """Collateral and class flows at a given SMM [scenario, pool, period] and index paths
    [scenario, index, period], audited: the solvers' runs, whose speeds may change after some
    periods and whose deals are rebuilt each time. The SMM may cover the deal's first periods
    only (the index paths the same ones): the run stops there. The kernel computes the collateral as it
    goes; the interpreter takes `collateral` (those SMM's flows) when the caller has it."""
    cd = _compiled(deal)
    if cd is not None:
        return run_compiled(deal, cd, smm, index_rates)  # type: ignore[return-value]
    coll = collateral if collateral is not None else collateral_flows(deal.pools, smm)
    return coll, run_waterfall(deal, coll, np.array(index_rates, dtype=float))
