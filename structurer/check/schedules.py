"""Pass: schedules of the scheduled classes (PAC, PAC II, TAC bands, or a schedule given in
the deal or a CSV file), grouped in tiers, and whether each band supports its classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.schedules import Tier, compute_schedules
from ..errors import InputError
from ..inputs import read_schedule_csv
from ..language.nodes import ClassDecl, ScheduleDecl, TypeWord
from ..model.classtypes import REGISTRY
from ..model.deal import Pool, Tranche
from ..model.prepayment import Prepayment
from .context import MONEY_TOLERANCE, Checker
from .groups import group_view


def check_schedules(ck: Checker) -> None:
    if not ck.clean:
        return
    if ck.file.groups:
        # Collateral groups: each group's schedules come from its own pools (check/groups.py).
        if not ck.groups_ok:
            return
        for i in range(len(ck.group_members)):
            classes, pools, deal_index = group_view(ck, i)
            schedules, tiers = _schedules(ck, ck.decls, classes, pools, ck.periods, ck.file.path)
            ck.schedules.update({deal_index[k]: s for k, s in schedules.items()})
            for tier in tiers:
                tier.classes = [deal_index[k] for k in tier.classes]
            ck.tiers.extend(tiers)
        ck.schedules_known = True
        return
    ck.schedules, ck.tiers = _schedules(ck, ck.decls, ck.classes, ck.pools, ck.periods, ck.file.path)
    ck.schedules_known = True


def _read_schedule(ck: Checker, decl: ScheduleDecl, deal_path: str | None) -> list[float] | None:
    """Scheduled balances after periods 1, 2, ... from the deal or a CSV file (period, balance)."""
    if decl.balances is not None:
        values = [ck.money(q, "a scheduled balance") for q in decl.balances]
        return None if any(v is None for v in values) else values  # type: ignore[return-value]
    base = Path(deal_path).parent if deal_path else Path.cwd()
    path = base / (decl.path or "")
    try:
        return read_schedule_csv(path)
    except InputError as exc:
        ck.error(str(exc), decl.span)
        return None


def _schedules(ck: Checker, decls: dict[str, ClassDecl], classes: list[Tranche], pools: list[Pool],
               periods: int, deal_path: str | None) -> tuple[dict[int, np.ndarray], list[Tier]]:
    """Tiers of scheduled classes, their schedules, and whether the bands support them."""
    tiers: dict[tuple, Tier] = {}
    reported, last = len(ck.errors), None
    for c in classes:
        if last is not None and len(ck.errors) > reported:
            ck.failed.add(last)  # its band or schedule was reported: its rules need not be
        reported, last = len(ck.errors), c.name
        decl = decls.get(c.name)
        if decl is None:  # the residual the checker added
            continue
        words = {REGISTRY.canonical(w.name): w for w in decl.types}
        kind = next((k.name for k in REGISTRY.band_types() if k.name in words), None)
        if decl.schedule is not None:
            values = _read_schedule(ck, decl.schedule, deal_path)
            if values is None:
                continue
            arr = np.zeros(periods)
            arr[: min(len(values), periods)] = values[:periods]
            if np.any(arr < 0) or np.any(np.diff(np.concatenate([[c.balance], arr])) > MONEY_TOLERANCE):
                ck.error(f"the schedule of {c.name} must fall from its balance and never rise",
                         decl.schedule.span)
                continue
            if kind and words[kind].args:
                ck.error(f"class {c.name} has both a band and a schedule; give one", words[kind].span)
                continue
            tiers[("explicit", c.index)] = Tier(kind or "PAC", (), [c.index], [c.balance], explicit=arr)
            continue
        if kind is None:
            continue
        word: TypeWord = words[kind]
        speeds = [ck.speed(q) for q in word.args]
        if any(s is None for s in speeds):
            continue
        band = tuple(Prepayment.constant(v, u) for v, u in speeds)  # type: ignore[misc]
        want = REGISTRY[kind].band_speeds
        if len(band) != want:
            example = f"{kind}(200 PSA)" if want == 1 else f"{kind}(90 PSA, 300 PSA)"
            ck.error(f"{kind} takes {want} speed{'s' if want > 1 else ''}", word.span, f"like {example}")
            continue
        if want == 2:
            if band[0].unit != band[1].unit:
                ck.error("a band's two speeds must be in one unit", word.span)
                continue
            if band[0].values[0] > band[1].values[0]:
                ck.error(f"the band's lower speed {band[0].label} is above its upper speed "
                         f"{band[1].label}", word.span,
                         f"write it as {kind}({band[1].label}, {band[0].label})")
                continue
        key = (kind, band)
        tiers.setdefault(key, Tier(kind, band))
        tiers[key].classes.append(c.index)
        tiers[key].balances.append(c.balance)
    if last is not None and len(ck.errors) > reported:
        ck.failed.add(last)
    if not tiers:
        return {}, []
    strips = [c.strip for c in classes if c.strip is not None]
    schedules = compute_schedules(tuple(pools), strips, list(tiers.values()), periods)  # type: ignore[arg-type]
    for tier in tiers.values():
        over = tier.over_capacity([classes[i].name for i in tier.classes], MONEY_TOLERANCE)
        if over is not None:
            first = decls[classes[tier.classes[0]].name]
            ck.error(over[0], first.balance.span if first.balance else first.span, over[1])
    return schedules, list(tiers.values())

