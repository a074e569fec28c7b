"""The check passes, in the order they run, and `check()` which runs them.

Each pass is a function of the shared `Checker` (context.py): it reads what the passes before
it built and adds its part, reporting problems as it goes rather than stopping at the first.
A pass that needs a clean earlier stage tests the flag it needs (`ck.clean`, `ck.all_classes_ok`).
The order matters: messages come out in pass order.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import DealErrors
from ..language.nodes import DealFile
from ..memory import collector_paused
from ..model.deal import Deal
from .analytics import check_analytics
from .balances import check_balances
from .classes import check_classes
from .collateral import check_collateral
from .context import Checker
from .credit import check_losses
from .enhancement import check_enhancement
from .fees import check_fee_strips
from .groups import check_group_members, check_groups, prepare_groups
from .header import check_header
from .indices import check_indices
from .interest import check_interest
from .passthrough import check_pass_through
from .principal import check_principal
from .rates import check_rates
from .references import resolve_references
from .scenarios import check_scenarios
from .schedules import check_schedules

PASSES: list[Callable[[Checker], None]] = [
    check_header,        # settlement, first payment, delay, agency
    prepare_groups,      # collateral groups as written; their waterfalls read as the deal's
    check_collateral,    # pools, each on its own (fees: gross WAC -> net coupon)
    check_pass_through,  # collateral and no classes: the pass-through certificate
    check_fee_strips,    # excess servicing classes: IOs on their pools at the excess
    check_classes,       # each class on its own, by the class-type registry; the residual
    resolve_references,  # floaters' parents, notionals, PO strips
    check_group_members,  # each pool and class in one group, its references too; group balances
    check_indices,       # index rates for the floaters
    check_balances,      # class balances tie to the collateral
    check_interest,      # collateral interest covers class interest, every period
    check_schedules,     # PAC/TAC schedules and their bands
    check_principal,     # principal rules and accretion; every class can be retired
    check_groups,        # a group's rules pay only its classes; each group's rules
    check_scenarios,     # pricing, decrement and named scenarios
    check_losses,        # the loss order; scenarios with losses need one
    check_enhancement,   # overcollateralization and the reserve account
    check_analytics,     # curves, quotes, price/yield tables
    check_rates,         # the rate model, the prepayment model, rate shifts, OAS prices
]


def check(file: DealFile) -> Deal:
    """Turn a parsed deal file into a checked Deal, or raise DealErrors listing every problem."""
    ck = Checker(file)
    with collector_paused():
        for run in PASSES:
            run(ck)
    if ck.errors:
        raise DealErrors(ck.errors).attach(file.source, file.path)
    return Deal(
        name=file.header.name,
        settle=ck.settle,  # type: ignore[arg-type]
        first_payment=ck.first_payment,  # type: ignore[arg-type]
        delay_days=ck.delay,
        pools=tuple(ck.pools),
        classes=tuple(ck.classes),
        principal=ck.principal,
        triggers=tuple(ck.triggers.values()),
        pricing=ck.pricing,
        decrement=tuple(ck.decrement),
        scenarios=ck.scenarios,
        indices=ck.indices,
        accretion=ck.accretion,
        schedules=ck.schedules,
        tiers=tuple(ck.tiers),
        analytics=ck.analytics,
        day_count=ck.basis,
        losses=ck.losses,
        reimburse_losses=ck.reimburse_losses,
        overcollateralization=ck.overcollateralization,
        reserve=ck.reserve,
        source=file.source,
        path=file.path,
        tapes=ck.tapes,
        agency=ck.agency,
        groups=tuple(ck.groups),
    )
