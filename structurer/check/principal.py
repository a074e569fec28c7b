"""Pass: the waterfall's principal rules and accretion, compiled by the rule kinds of
model/rules/ (model/rules/compile.py maps each `pay ...` syntax to its rule kind), and the proof
that every class with a balance is reached by a rule that can retire it.
"""

from __future__ import annotations

from ..errors import did_you_mean
from ..model.rules import Sequential, rule_classes
from ..model.rules.compile import RuleContext, compile_principal_rule
from ..model.rules.conditions import compile_triggers, shifting_seniors
from .context import Checker


def check_principal(ck: Checker) -> None:
    file, classes, names, decls = ck.file, ck.classes, ck.names, ck.decls
    schedules, periods = ck.schedules, ck.periods
    wf = file.waterfall
    if wf is None:
        ck.error("the deal has no waterfall", file.header.span,
                 "add: waterfall { interest: pay each class its coupon  principal { pay ... } }")
        return
    if not ck.all_classes_ok:
        return
    if not wf.principal:
        ck.error("the waterfall has no principal rules", wf.principal_span or wf.span,
                 "add: principal { pay A until retired ... }")
    if any(c.coupon > 0 or c.formula for c in classes) and not wf.interest:
        ck.error("the waterfall has no interest section, but classes bear coupons",
                 wf.span, "add: interest: pay each class its coupon")
    ctx = RuleContext(ck, names, schedules, periods)  # built once per deal: it indexes every class
    ctx.collateral_balance = float(sum(p.balance for p in ck.pools))
    if file.groups:  # refused by check/groups.py: no "unknown trigger" for the rules naming one
        ctx.failed_triggers.update(t.name for t in wf.triggers)
    else:
        ctx.triggers = ck.triggers = compile_triggers(ctx, wf.triggers, shifting_seniors(ctx, wf.principal))
    rules = [compile_principal_rule(ctx, r) for r in wf.principal]
    principal = Sequential(tuple(r for r in rules if r is not None))
    ck.principal = principal
    accretion = ck.accretion
    for acc in wf.accretion:
        z = names.get(acc.name)
        if z is None:
            ck.error(f"unknown class '{acc.name}'", acc.name_span, did_you_mean(acc.name, names))
            continue
        if not z.accrual:
            ck.error(f"class {z.name} does not accrue, so it has no accretion to direct", acc.name_span,
                     f"type it as an accrual class: class {z.name} SEQ/Z ...")
            continue
        acc_rules = [compile_principal_rule(ctx, r) for r in acc.rules]
        if any(r is None for r in acc_rules):
            continue
        rule = Sequential(tuple(acc_rules))  # type: ignore[arg-type]
        if z.index in rule_classes(rule):
            ck.error(f"class {z.name}'s accretion cannot pay {z.name} itself", acc.span)
            continue
        if not rule_classes(rule):
            ck.error(f"class {z.name}'s accretion pays no class", acc.span)
            continue
        accretion[z.index] = rule
    directed = {a.name for a in wf.accretion}
    for c in classes:
        if c.accrual and c.index not in accretion and c.name not in directed:
            ck.error(f"accrual class {c.name} does not say where its accrued interest goes",
                     decls[c.name].span, f"add to the waterfall: accretion {c.name}: pay A then B")
    if len(principal.children) == len(wf.principal):
        paid = set(rule_classes(principal))
        retiring = principal.retiring()
        for c in classes:
            if not c.in_waterfall or c.balance <= 0 or c.name in ck.failed:
                continue
            if c.index not in paid:
                ck.error(f"class {c.name} has a balance that no principal rule ever pays",
                         decls[c.name].span, f"add a rule like: pay {c.name} until retired")
            elif c.index not in retiring:
                ck.error(f"class {c.name} is only paid to its schedule, its share or when a trigger "
                         "holds: principal it cannot take would go to the residual", decls[c.name].span,
                         f"add a last rule: pay {c.name} until retired")
