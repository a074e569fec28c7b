"""`pay principal shifting interest: senior A subordinate M1, M2, B1 sequentially ...`: the
private-label senior/subordinate allocation of principal (shifting interest).

Each period the principal the rule distributes is split in two parts:

- scheduled principal (everything that is not a prepayment or a recovery) goes to the seniors in
  the *senior percentage*: the seniors' balance over the collateral balance, both at the start of
  the period, capped at 100%. This is the standard private-label definition (e.g. the
  "Senior Percentage" of a prime jumbo pooling and servicing agreement: "the aggregate class
  principal balance of the senior certificates immediately before the distribution date divided
  by the aggregate stated principal balance of the mortgage loans");
- voluntary prepayments and recoveries of defaulted loans go to the seniors in the *senior
  prepayment percentage*, written in the deal by month (100% for the first years, then stepping
  down: `100% until month 60, then 70% 60% 40% 20% by year, then 0%`). The month of `until` is
  the step-down date: before it the percentage is what the schedule starts with, which must be
  100%. (The standard agreements give the seniors min(senior percentage x the liquidated loans'
  balance, senior prepayment percentage x the net liquidation proceeds) of a liquidation; here
  recoveries are simply shared like prepayments.)

What the seniors do not take goes to the subordinates; what the subordinates cannot take (they
are retired) goes back to the seniors, so once the seniors are retired all principal goes to
the subordinates and no principal is left over while a class has a balance. The seniors among
themselves and the subordinates among themselves are paid as their lists say (`A1, A2
sequentially`, `M1, M2 pro rata`, or any nesting the `pay` lines allow).

Triggers, tested every period (a `sticky` one stays failed once it fails, and `trigger "NAME"`
reads one of the waterfall's named triggers: both through model/rules/triggers.py); when any
fails, the senior prepayment percentage is 100% that period (the step-down stops). A step-down
test (`step-down after month 36 when credit support at least 2 x original`) delays the step-down
to the first period after the month when the senior enhancement is at least that multiple of its
original (a sticky test of triggers.py: once passed, stepped down):
- `trigger cumulative loss above SCHEDULE`: realized losses to the end of the previous period,
  as a share of the collateral's original balance, above the schedule's percentage for the month;
- `trigger delinquency above SCHEDULE`: loans 60+ days delinquent as a share of the collateral
  balance (the scenario's `delinquency` assumption) above the schedule's percentage;
- `trigger credit support below original`: the senior enhancement (subordinates' balance over
  the collateral balance, at the start of the period) below its level at closing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import did_you_mean
from .base import Book, Rule, RunInputs
from .program import SHIFTING, Program
from .triggers import (
    DELINQUENCY,
    LOSS,
    OP_AND,
    OP_TRIGGER,
    SUPPORT_AT_LEAST,
    SUPPORT_BELOW,
    NamedTrigger,
    TriggerTrack,
    history,
    prior_cumulative,
)

if TYPE_CHECKING:
    from ...language.nodes import PctSchedule, ShiftingDecl, ShiftTrigger
    from .compile import RuleContext

MARGIN = 1e-9  # relative: credit support equal to its original (to rounding) is not below it

TRIGGER_NAMES = {"loss": "cumulative loss", "delinquency": "delinquency", "support": "credit support"}


def schedule_path(first: float, until: int | None, steps: tuple[float, ...], by_year: bool,
                  last: float | None, periods: int) -> np.ndarray:
    """A percentage schedule as fractions by period: `first` to month `until`, then each of
    `steps` for twelve months (`by_year`) and `last` after, or the one step held to the end."""
    out = np.full(periods, first, dtype=float)
    if until is None:
        return out
    t = min(until, periods)
    if by_year:
        for v in steps:
            out[t:t + 12] = v
            t = min(t + 12, periods)
        out[t:] = last if last is not None else (steps[-1] if steps else first)
    else:
        out[t:] = steps[0] if steps else first
    return out


def trigger_fails(kinds: tuple[str, ...], loss: np.ndarray, delinquency: np.ndarray,
                  support: np.ndarray, original_support: np.ndarray | float,
                  loss_limit: np.ndarray | float,
                  delinquency_limit: np.ndarray | float) -> dict[str, np.ndarray]:
    """Each trigger's failure (True: failing) from the cumulative loss fraction, the delinquent
    share and the credit support, elementwise (a period's [scenario] or a whole run's
    [scenario, period] with the limits broadcast over periods). One function for the run and for
    the results' trigger table, so the two cannot disagree."""
    out: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind == "loss":
            out[kind] = loss > loss_limit
        elif kind == "delinquency":
            out[kind] = delinquency > delinquency_limit
        else:
            out[kind] = support < original_support * (1.0 - MARGIN)
    return out


def collateral_trigger_fails(kinds: tuple[str, ...], balance: np.ndarray, losses: np.ndarray,
                             delinquency: np.ndarray, loss_limit: np.ndarray | None,
                             delinquency_limit: np.ndarray | None) -> np.ndarray:
    """[scenario, period] True where a trigger the collateral alone decides fails: the cumulative
    loss (realized losses before the period over the original balance, `balance[:, 0]`) or the
    delinquent share above its limit by period. The credit-support test needs the classes'
    balances and is made as the run goes. Shared by shifting interest and the
    overcollateralization step-down (model/enhancement.py)."""
    original = balance[:, :1]
    loss = np.divide(prior_cumulative(losses), original, out=np.zeros_like(losses), where=original > 0)
    fails = trigger_fails(tuple(k for k in kinds if k != "support"), loss, delinquency,
                          np.zeros_like(losses), 0.0, _limit(loss_limit), _limit(delinquency_limit))
    out = np.zeros(losses.shape, dtype=bool)
    for f in fails.values():
        out |= f
    return out


def _limit(limit: np.ndarray | None) -> np.ndarray | float:
    return limit[None, :] if limit is not None else np.inf


@dataclass(frozen=True, eq=False)
class ShiftingInterest(Rule):
    """The senior/subordinate split of principal (see the module's docstring).

    `percentage`, `loss_limit`, `delinquency_limit`: fractions by period (the limits None when the
    deal has no such trigger); `stepdown`: the first period (0-based) at which the schedule may
    step down; `senior_original`/`subordinate_original`: the classes' balances at closing."""

    senior: Rule
    subordinate: Rule
    percentage: np.ndarray
    stepdown: int
    triggers: tuple[str, ...] = ()
    loss_limit: np.ndarray | None = None
    delinquency_limit: np.ndarray | None = None
    senior_original: float = 0.0
    subordinate_original: float = 0.0
    # Triggers read through triggers.py: the sticky ones written here and the waterfall's named
    # ones the rule refers to (`trigger "NAME"`), and the step-down test (None: none).
    named: tuple[NamedTrigger, ...] = ()
    step_test: NamedTrigger | None = None

    @property
    def children(self) -> tuple[Rule, ...]:  # type: ignore[override]
        return (self.senior, self.subordinate)

    def with_children(self, children: tuple[Rule, ...]) -> Rule:
        return replace(self, senior=children[0], subordinate=children[1])

    def retiring(self) -> set[int]:
        # All principal goes to one side once the other is retired: both sides retire.
        return self.senior.retiring() | self.subordinate.retiring()

    @property
    def tracked(self) -> tuple[NamedTrigger, ...]:
        return self.named + ((self.step_test,) if self.step_test is not None else ())

    def initial_state(self, inputs: RunInputs) -> Any:
        track = TriggerTrack(self.tracked, inputs) if self.tracked else None
        return [self._collateral_state(inputs), track]

    def begin_period(self, book: Book) -> None:
        track = book.state[id(self)][1]
        if track is not None:
            track.update(book.t, book.owners_begin)

    # ---- state: what the period's split reads of the collateral, [row, period, scenario]
    def _collateral_state(self, inputs: RunInputs) -> np.ndarray:
        n, periods = inputs.n_scen, inputs.periods
        zeros = np.zeros((n, periods))
        balance = inputs.balance if inputs.balance is not None else zeros
        recoveries = inputs.recoveries if inputs.recoveries is not None else zeros
        losses = inputs.losses if inputs.losses is not None else zeros
        delinquent = inputs.delinquency if inputs.delinquency is not None else zeros
        original = balance[:, :1]
        static = collateral_trigger_fails(self.triggers, balance, losses, delinquent, self.loss_limit,
                                          self.delinquency_limit)
        support0 = np.divide(self.subordinate_original, original[:, 0], out=np.zeros(n),
                             where=original[:, 0] > 0)
        rows = [inputs.prepayment + recoveries, balance, static.astype(float),
                np.broadcast_to(support0[:, None], (n, periods))]
        return np.ascontiguousarray(np.stack(rows).transpose(0, 2, 1))

    def senior_prepayment_percentage(self, t: int, failing: np.ndarray,
                                     stepped: np.ndarray | bool = True) -> np.ndarray:
        """The percentage of prepayments and recoveries the seniors are due in period t [scenario]."""
        if t < self.stepdown:
            return np.ones_like(failing, dtype=float)
        return np.where(failing | ~np.asarray(stepped), 1.0, self.percentage[t])

    def allocate(self, amount: np.ndarray, book: Book) -> np.ndarray:
        st, track = book.state[id(self)]
        t = book.t
        amount = np.maximum(amount, 0.0)
        unscheduled = np.minimum(st[0, t], amount)
        scheduled = amount - unscheduled
        coll = st[1, t]
        senior = book.owners_begin[self.senior.members].sum(axis=0)
        subordinate = book.owners_begin[self.subordinate.members].sum(axis=0)
        senior_pct = np.minimum(np.divide(senior, coll, out=np.ones_like(coll), where=coll > 0), 1.0)
        failing = st[2, t] > 0
        if "support" in self.triggers:
            support = np.divide(subordinate, coll, out=np.zeros_like(coll), where=coll > 0)
            failing = failing | (support < st[3, t] * (1.0 - MARGIN))
        stepped: np.ndarray | bool = True
        if track is not None:
            for j, _ in enumerate(self.named):
                failing = failing | track.failed[j]
            if self.step_test is not None:
                stepped = track.failed[len(self.named)]
        spp = self.senior_prepayment_percentage(t, failing, stepped)
        used = self.senior.allocate(senior_pct * scheduled + spp * unscheduled, book)
        used = used + self.subordinate.allocate(amount - used, book)
        # The subordinates retired: the rest is the seniors' (and none is left while one holds a balance).
        return used + self.senior.allocate(amount - used, book)

    def trigger_table(self, senior_begin: np.ndarray, subordinate_begin: np.ndarray,
                      collateral_begin: np.ndarray, losses: np.ndarray,
                      delinquency: np.ndarray, begin: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """After a run: each trigger's failure [scenario, period] (True: failing), and under
        "senior prepayment percentage" the percentage applied, from the classes' and the
        collateral's beginning balances, the realized losses and the delinquent share
        [scenario, period] (and every class's beginning balance [scenario, class, period], for the
        triggers of triggers.py). The arithmetic of the run (`trigger_fails`, `history`)."""
        original = collateral_begin[:, :1]
        loss = np.divide(prior_cumulative(losses), original, out=np.zeros_like(losses), where=original > 0)
        support = np.divide(subordinate_begin, collateral_begin, out=np.zeros_like(collateral_begin),
                            where=collateral_begin > 0)
        support0 = np.divide(self.subordinate_original, original, out=np.zeros_like(original),
                             where=original > 0)
        fails = trigger_fails(self.triggers, loss, delinquency, support, support0,
                              _limit(self.loss_limit), _limit(self.delinquency_limit))
        failing = np.zeros(collateral_begin.shape, dtype=bool)
        for f in fails.values():
            failing |= f
        out = {TRIGGER_NAMES[k]: v for k, v in fails.items()}
        if self.tracked:
            for trig in self.tracked:
                status = history(trig, begin, collateral_begin, losses, delinquency)
                if trig is self.step_test:
                    failing |= ~status  # not stepped down yet
                else:
                    failing |= status
                    out[trig.name] = status
        periods = collateral_begin.shape[1]
        spp = np.where(failing, 1.0, self.percentage[None, :periods])
        spp[:, :self.stepdown] = 1.0
        out["senior prepayment percentage"] = spp
        return out

    def encode(self, program: Program) -> int:
        # a: the first of its four rows of program.shift [period]: the senior prepayment
        # percentage, the cumulative loss limit, the delinquency limit (inf: no such trigger) and
        # the subordinates' original balance (held in every column); b: the step-down period x 2,
        # + 1 with the credit-support trigger.
        row = len(program.shift)
        periods = len(self.percentage)
        for limit in (self.percentage, self.loss_limit, self.delinquency_limit):
            row_values = limit if limit is not None else np.full(periods, np.inf)
            program.shift.append(np.asarray(row_values, dtype=float))
        program.shift.append(np.full(periods, self.subordinate_original))
        n = program.node(self, SHIFTING, row, 2 * self.stepdown + int("support" in self.triggers))
        # Its first program: whether every tracked trigger passes; its second: whether the
        # step-down test has passed. The kernel runs both at the start of each period (an empty
        # program holds: no trigger fails, no test to wait for).
        if self.tracked:
            passing = [(OP_TRIGGER, program.trigger_id(t), 0, 0.0) for t in self.named]
            passing += [(OP_AND, 0, 0, 0.0)] * max(len(self.named) - 1, 0)
            test = ([] if self.step_test is None else
                    [(OP_TRIGGER, program.trigger_id(self.step_test), 1, 0.0)])
            program.set_programs(n, program.program(passing), program.program(test))
        return n

    def describe(self, names: list[str]) -> str:
        triggers = "".join(f", trigger {TRIGGER_NAMES[k]}" for k in self.triggers)
        triggers += "".join(f', trigger "{t.name}"' for t in self.named)
        return (f"principal shifting interest: senior {self.senior.describe(names)} "
                f"subordinate {self.subordinate.describe(names)}{triggers}")


def kernel_senior_amount(amount: float, unscheduled: float, senior: float, subordinate: float,
                         collateral: float, collateral0: float, loss_before: float, delinquency: float,
                         t: int, percentage: float, loss_limit: float, delinquency_limit: float,
                         subordinate0: float, stepdown: int, support: bool, extra_failing: bool = False,
                         stepped: bool = True) -> float:
    """The compiled step (engine/kernel.py): what the seniors are due of `amount` this period, as
    `ShiftingInterest.allocate` computes it for one scenario: the senior percentage of scheduled
    principal and the senior prepayment percentage (100% before the step-down or while a trigger
    fails) of prepayments and recoveries. `extra_failing`: a trigger of triggers.py fails;
    `stepped`: the step-down test has passed (True without one)."""
    unscheduled = min(unscheduled, amount)
    scheduled = amount - unscheduled
    senior_pct = min(senior / collateral, 1.0) if collateral > 0 else 1.0
    loss = loss_before / collateral0 if collateral0 > 0 else 0.0
    failing = loss > loss_limit or delinquency > delinquency_limit
    if support:
        level = subordinate / collateral if collateral > 0 else 0.0
        original = subordinate0 / collateral0 if collateral0 > 0 else 0.0
        failing = failing or level < original * (1.0 - MARGIN)
    spp = 1.0 if t < stepdown or failing or extra_failing or not stepped else percentage
    return senior_pct * scheduled + spp * unscheduled


def _schedule(ctx: RuleContext, sched: PctSchedule, what: str, periods: int) -> tuple[np.ndarray, int] | None:
    """A written percentage schedule as fractions by period, and its step-down month (0: none)."""
    quantities = [sched.first, *sched.steps, *([sched.last] if sched.last is not None else [])]
    ok = True
    for q in quantities:
        if q.unit != "%":
            what_unit = f"'{q.unit}'" if q.unit else "a bare number"
            ctx.checks.error(f"{what} is a percentage, not {what_unit}", q.span,
                             f"write it like {q.value:g}%")
            ok = False
        elif not 0.0 <= q.value <= 100.0:
            ctx.checks.error(f"{what} of {q.value:g}% is not between 0% and 100%", q.span)
            ok = False
    if sched.until is not None and len(sched.steps) > 1 and not sched.by_year:
        ctx.checks.error(f"{what} lists {len(sched.steps)} percentages after month {sched.until}: say how "
                         "they step", sched.steps[1].span,
                         "add 'by year' and the last percentage: ... 40% 20% by year, then 0%")
        ok = False
    if sched.until is not None and sched.until >= periods:
        ctx.checks.error(f"month {sched.until} is after the deal's last payment (month {periods})",
                         sched.until_span)
        ok = False
    if not ok:
        return None
    path = schedule_path(sched.first.value / 100.0, sched.until, tuple(q.value / 100.0 for q in sched.steps),
                         sched.by_year, sched.last.value / 100.0 if sched.last is not None else None, periods)
    return path, sched.until or 0


def compile_triggers(ctx: RuleContext, decls: list[ShiftTrigger]
                     ) -> tuple[tuple[str, ...], dict[str, np.ndarray]] | None:
    """Written triggers (`trigger cumulative loss above SCHEDULE`, `trigger delinquency above
    SCHEDULE`, `trigger credit support below original`) as their kinds and their limits by period
    (fractions), or None after reporting what is wrong. Shared by shifting interest and the
    overcollateralization step-down."""
    kinds: list[str] = []
    limits: dict[str, np.ndarray] = {}
    ok = True
    for trig in decls:
        if trig.kind in kinds:
            ctx.checks.error(f"the {TRIGGER_NAMES[trig.kind]} trigger is given twice", trig.span)
            ok = False
            continue
        kinds.append(trig.kind)
        read, limit = _trigger_limit(ctx, trig)
        ok = ok and read
        if limit is not None:
            limits[trig.kind] = limit
    return (tuple(kinds), limits) if ok else None


def _trigger_limit(ctx: RuleContext, trig: ShiftTrigger) -> tuple[bool, np.ndarray | None]:
    """A written trigger's limit by period (fractions; None for the support test, which has
    none), and False after reporting a schedule that does not read."""
    if trig.schedule is None:
        return True, None
    what = ("a cumulative loss limit" if trig.kind == "loss" else "a delinquency limit")
    got = _schedule(ctx, trig.schedule, what, ctx.periods)
    return (False, None) if got is None else (True, got[0])


def compile_shifting_interest(ctx: RuleContext, decl: ShiftingDecl,
                              compile_alloc: Callable[..., Rule | None]) -> Rule | None:
    """`pay principal shifting interest: senior ... subordinate ... senior prepayment percentage
    ... [trigger ...]*`. `compile_alloc` is compile.py's (passed in: compile.py imports this
    module)."""
    seen: dict = {}
    senior = compile_alloc(ctx, decl.senior, seen)
    subordinate = compile_alloc(ctx, decl.subordinate, seen)
    ok = senior is not None and subordinate is not None
    if len(decl.percentage_spans) > 1:
        ctx.checks.error("the senior prepayment percentage is given twice", decl.percentage_spans[1])
        ok = False
    percentage = None
    stepdown = 0
    if decl.percentage is None:
        ctx.checks.error("a shifting-interest rule needs its senior prepayment percentage", decl.span,
                         "add: senior prepayment percentage 100% until month 60, then 70% 60% 40% 20% "
                         "by year, then 0%")
        ok = False
    else:
        got = _schedule(ctx, decl.percentage, "a senior prepayment percentage", ctx.periods)
        if got is None:
            ok = False
        else:
            percentage, stepdown = got
            if stepdown and decl.percentage.first.value != 100.0:
                ctx.checks.error("before the step-down date the seniors take every prepayment",
                                 decl.percentage.first.span,
                                 f"write: 100% until month {stepdown}, then ...")
                ok = False
    kinds: list[str] = []
    limits: dict[str, np.ndarray] = {}
    sticky: list[tuple[str, np.ndarray | None]] = []  # inline sticky triggers: kind, limit
    named: list[NamedTrigger] = []
    for trig in decl.triggers:
        if trig.kind == "named":
            found = ctx.triggers.get(trig.name or "")
            if found is None:
                if trig.name not in ctx.failed_triggers:
                    ctx.checks.error(f'unknown trigger "{trig.name}"', trig.span,
                                     did_you_mean(trig.name or "", ctx.triggers) or
                                     'declare it in the waterfall: triggers { "NAME": delinquency above 4% }')
                ok = False
            elif any(t is found for t in named):
                ctx.checks.error(f'the trigger "{trig.name}" is given twice', trig.span)
                ok = False
            else:
                named.append(found)
            continue
        if trig.kind in kinds or trig.kind in (k for k, _ in sticky):
            ctx.checks.error(f"the {TRIGGER_NAMES[trig.kind]} trigger is given twice", trig.span)
            ok = False
            continue
        if TRIGGER_NAMES[trig.kind] in ctx.triggers:
            ctx.checks.error(f'a named trigger is called "{TRIGGER_NAMES[trig.kind]}" too: the results '
                             "would show both under one name", trig.span,
                             f'rename the named trigger, or write: trigger "{TRIGGER_NAMES[trig.kind]}"')
            ok = False
            continue
        read, limit = _trigger_limit(ctx, trig)
        if not read:
            ok = False
            continue
        if trig.sticky:
            sticky.append((trig.kind, limit))
            continue
        kinds.append(trig.kind)
        if limit is not None:
            limits[trig.kind] = limit
    step_month, multiple = None, None
    for i, test in enumerate(decl.stepdown_tests):
        if i:
            ctx.checks.error("the step-down test is given twice", test.span)
            ok = False
        elif test.month >= ctx.periods:
            ctx.checks.error(f"month {test.month} is after the deal's last payment (month {ctx.periods})",
                             test.month_span)
            ok = False
        elif test.multiple <= 0:
            ctx.checks.error("the step-down test needs a multiple above 0", test.multiple_span,
                             "write e.g.: credit support at least 2 x original")
            ok = False
        else:
            step_month, multiple = test.month, test.multiple
    if not ok or senior is None or subordinate is None or percentage is None:
        return None
    if not senior.classes() or not subordinate.classes():
        ctx.checks.error("a shifting-interest rule needs senior and subordinate classes", decl.span)
        return None

    def original(rule: Rule) -> float:
        return float(sum(ctx.tranche(i).balance for i in rule.classes()))

    # Sticky inline triggers and the step-down test measure the subordinates, as the rule's own
    # support trigger does.
    subs = tuple(subordinate.classes())
    codes = {"loss": LOSS, "delinquency": DELINQUENCY, "support": SUPPORT_BELOW}
    for kind, limit in sticky:
        named.append(NamedTrigger(TRIGGER_NAMES[kind], codes[kind],
                                  limit if limit is not None else np.ones(ctx.periods), True, subs, False,
                                  original(subordinate)))
    step_test = None
    if step_month is not None:
        limit = np.full(ctx.periods, np.inf)
        limit[step_month:] = multiple
        step_test = NamedTrigger("step-down test", SUPPORT_AT_LEAST, limit, True, subs, False,
                                 original(subordinate))
        stepdown = max(stepdown, step_month)
    return ShiftingInterest(senior, subordinate, percentage, stepdown, tuple(kinds), limits.get("loss"),
                            limits.get("delinquency"), original(senior), original(subordinate),
                            tuple(named), step_test)
