"""The independent check: a deal's cash flows one scenario at a time, in pure Python floats and
loops, written from the conventions (docs/language.md, SIFMA Uniform Practices).

It shares no code with the engine. It reads the checked `Deal` (pools, classes, coupons,
notionals, strips, the principal and accretion rule trees, the tiers' bands and classes, index
paths and speeds as data) and computes everything else itself: the prepayment speeds, the
level-pay collateral, the PAC/PAC II/TAC schedules from their bands, the interest allocation,
the accrual, every principal rule, the triggers and the residual. It never calls
`structurer.engine` nor a rule's own `allocate`/`capacity`. Rule nodes are read as data, by
their kind's name and fields: Pay.index, Sequential.children, ProRata.children and .weights,
ToSchedule.child, NasShare.index, PrepaymentTrigger.child, .speed and .sticky,
ShiftingInterest.senior, .subordinate, .percentage, .stepdown, .triggers,
.subordinate_original, .named and .step_test, When.child and .ops (a postfix condition: its op
codes and operands), DownTo.child and .ops (a postfix target), a named trigger's kind, limit,
sticky, classes, senior and original. The schedule a
ToSchedule carries and the percentages a NasShare carries are not read: both are derived here.

    from reference import reference_cashflows, reference_wals
    flows = reference_cashflows(deal, Prepayment.constant(165, "PSA"))
    flows["A"]["principal"]          # period 1..T
    reference_wals(deal, 300.0)      # a bare number is PSA

What it covers, each from the section of docs/language.md that defines it:
- collateral: several pools, each level-pay re-computed monthly on its WAC and remaining term,
  prepaying at PSA (on its own loan age), CPR or SMM; constant, ramp or vector speeds;
- strips: a discount PO takes its share of its pool's principal before the waterfall;
- interest: every class due balance x coupon / 12 (a WAC class: the pools' balance-weighted net
  coupon that period; a floater: its clamped formula on the
  period's index, scaled by the deal's day count) plus any shortfall, paid pro rata to what is
  due when the collateral's net interest falls short; classes split from a parent are paid out
  of the parent's interest; notional classes on their notional balance;
- accrual: a Z with outstanding accretion-directed classes adds its interest to its balance and
  pays it through its accretion rules; what they cannot use joins the principal;
- principal rules: pay, sequential, pro rata by balance, pro rata by fixed shares (water-filling
  when a class retires), to schedule, NAS share, prepayment triggers (sticky or not), shifting
  interest (the reference knows no defaults: its cumulative-loss and delinquency triggers never
  fail; its credit-support trigger is computed);
- the residual: what is left of interest and principal;
- collateral groups (docs/language.md, "Collateral groups"): each group's pools pay its own
  classes' interest and principal (its schedules from its own pools, its triggers on its own
  pools' prepayments, a NAS share of its own classes' balances); a group's excess interest
  first makes up the receiving group's interest shortfall, then is principal for its rules; its
  excess principal is principal for the receiving group's rules; the rest goes to the residual.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from typing import Any

from structurer.model import Deal
from structurer.model.prepayment import Prepayment, parse_speed
from structurer.model.scenarios import RatePath, Scenario

COLLATERAL = "COLLATERAL"
RETIRED = 1e-9  # dollars: a balance below this is a rounding remainder, not a class outstanding
CONDITION_RETIRED = 1e-6  # dollars: `when A retired` (docs/language.md, Conditions)
# The op codes of a condition or a target as the rule nodes carry them (data, not code):
# conditions: true, false, trigger (fails = 1), months [a, b), class retired (1) / outstanding (0),
# not, and, or; targets: number, balance of a class, collateral balance, + - x / min max.
OP_TRUE, OP_FALSE, OP_TRIGGER, OP_RANGE, OP_RETIRED, OP_NOT, OP_AND, OP_OR = range(8)
E_NUM, E_BAL, E_COLL, E_ADD, E_SUB, E_MUL, E_DIV, E_MIN, E_MAX = range(20, 29)
T_LOSS, T_DELINQUENCY, T_SUPPORT_BELOW, T_SUPPORT_AT_LEAST = range(4)
TRIGGER_MARGIN = 1e-9  # relative: a run at exactly the trigger speed is not "above" it
Speed = Prepayment | Scenario | str | float
TIER_ORDER = {"PAC": 0, "PAC II": 1, "TAC": 2}  # docs: tiers are served PAC, then PAC II, then TAC


# ---- speeds and the collateral (SIFMA standard formulas)


def speed_in_month(p: Prepayment, k: int) -> float:
    """The assumption's speed (its own unit) in projection month k = 1, 2, ..."""
    if p.kind == "constant":
        return p.values[0]
    if p.kind == "ramp":
        start, end = p.values
        # Month 1 runs at START; each month adds (END - START)/N; END from month N + 1 on.
        steps = min(k - 1, p.months)
        return start + (end - start) * steps / max(p.months, 1)
    return p.values[min(k, len(p.values)) - 1]  # a vector: its last speed holds


def smm_for(p: Prepayment, k: int, pool_age: int) -> float:
    """Single monthly mortality (decimal) of a pool of age `pool_age` in projection month k."""
    speed = speed_in_month(p, k)
    if p.unit == "SMM":
        return min(max(speed / 100.0, 0.0), 1.0)
    if p.unit == "PSA":
        age = max(1, min(pool_age + k, 30))  # AGE = pool age + k, on the PSA ramp to month 30
        cpr = min(speed / 100.0 * 0.002 * age, 1.0)
    else:
        cpr = min(max(speed / 100.0, 0.0), 1.0)
    return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)


@dataclass
class PoolFlows:
    """One pool's month-by-month flows (lists over periods 1..T)."""

    begin: list[float] = field(default_factory=list)
    scheduled: list[float] = field(default_factory=list)
    prepaid: list[float] = field(default_factory=list)
    interest: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)


def pool_flows(pool: Any, p: Prepayment, periods: int) -> PoolFlows:
    """Level-pay amortisation re-computed every month on the balance and the remaining term at
    the gross WAC; scheduled principal = payment - interest at the WAC (all of it in the last
    month); prepayment = SMM x (balance - scheduled principal); investor interest at the net
    coupon."""
    out = PoolFlows()
    b = pool.balance
    rate = pool.wac / 12.0
    net = pool.coupon / 12.0
    for k in range(1, periods + 1):
        n = pool.remaining - k + 1
        if n < 1:
            scheduled = prepaid = 0.0
            interest = 0.0
        else:
            if n == 1:
                scheduled = b
            elif rate > 0:
                payment = b * rate / (1.0 - (1.0 + rate) ** -n)
                scheduled = payment - b * rate
            else:
                scheduled = b / n
            prepaid = smm_for(p, k, pool.age) * (b - scheduled)
            interest = b * net
        out.begin.append(b)
        out.scheduled.append(scheduled)
        out.prepaid.append(prepaid)
        out.interest.append(interest)
        b = b - scheduled - prepaid
        out.end.append(b)
    return out


# ---- index rates and day counts


def rate_path(path: RatePath, periods: int) -> list[float]:
    """An index's rate in periods 1..T: a level, a vector (last rate held), or a curve (linear
    between its points, flat beyond them)."""
    if path.kind == "level":
        return [path.rates[0]] * periods
    if path.kind == "vector":
        return [path.rates[min(t, len(path.rates)) - 1] for t in range(1, periods + 1)]
    points = list(zip(path.periods, path.rates, strict=True))
    out = []
    for t in range(1, periods + 1):
        if t <= points[0][0]:
            out.append(points[0][1])
        elif t >= points[-1][0]:
            out.append(points[-1][1])
        else:
            for (t0, r0), (t1, r1) in zip(points, points[1:], strict=False):
                if t0 <= t <= t1:
                    out.append(r0 + (r1 - r0) * (t - t0) / (t1 - t0))
                    break
    return out


def floater_months(deal: Deal, periods: int) -> list[float]:
    """What a floater's monthly rate/12 is scaled by in each period: 1 on 30/360 (every month is
    30 days); on actual/360 the actual days of the accrual month (the calendar month before the
    distribution month) / 30."""
    basis = str(deal.day_count)
    if basis == "30/360":
        return [1.0] * periods
    if basis != "actual/360":
        raise ValueError(f"the reference knows 30/360 and actual/360, not {basis}")
    out = []
    first = deal.first_payment
    for k in range(periods):
        month_index = first.month - 1 + k - 1  # the month before the k-th distribution month
        year, month = first.year + month_index // 12, month_index % 12 + 1
        out.append(calendar.monthrange(year, month)[1] / 30.0)
    return out


# ---- PAC, PAC II and TAC schedules, derived from their bands


def derive_schedules(deal: Deal) -> dict[int, list[float]]:
    """Scheduled balance after periods 1..T for every class of every tier (docs/language.md,
    "How a schedule is derived"): each tier in priority order sees, at each of its band's
    speeds, the collateral's principal net of strips less the higher tiers' scheduled payments
    (never below 0); its payment is the least of those; its scheduled balance is its balance
    less the payments so far (never below 0); its classes take it in declaration order."""
    if deal.groups:
        # Each group's tiers on its own pools alone, as if the group were a deal of its own.
        out: dict[int, list[float]] = {}
        for g in deal.groups:
            tiers = [t for t in deal.tiers if t.classes[0] in g.classes]
            out.update(_derive_schedules(deal, tiers, g.pools))
        return out
    return _derive_schedules(deal, list(deal.tiers), tuple(range(len(deal.pools))))


def _derive_schedules(deal: Deal, tiers: list[Any], pool_set: tuple[int, ...]) -> dict[int, list[float]]:
    periods = deal.periods
    strips = [(c.strip[0], c.strip[1]) for c in deal.classes if c.strip is not None]
    cache: dict[Prepayment, list[float]] = {}

    def principal_at(speed: Prepayment) -> list[float]:
        if speed not in cache:
            total = [0.0] * periods
            for j, pool in enumerate(deal.pools):
                if j not in pool_set:
                    continue
                f = pool_flows(pool, speed, periods)
                off = sum(share for pool_j, share in strips if pool_j == j)
                for t in range(periods):
                    paid = f.scheduled[t] + f.prepaid[t]
                    total[t] += paid - off * paid
            cache[speed] = total
        return cache[speed]

    order = sorted(range(len(tiers)), key=lambda i: (TIER_ORDER.get(tiers[i].kind, 9), i))
    taken = [0.0] * periods
    out: dict[int, list[float]] = {}
    for i in order:
        tier = tiers[i]
        total_balance = sum(tier.balances)
        if tier.explicit is not None:
            balance = [float(x) for x in tier.explicit]
        else:
            paths = [principal_at(s) for s in tier.band]
            balance = []
            cum = 0.0
            for t in range(periods):
                cum += min(max(path[t] - taken[t], 0.0) for path in paths)
                balance.append(max(total_balance - cum, 0.0))
        prev = total_balance
        for t in range(periods):
            taken[t] += prev - balance[t]
            prev = balance[t]
        for k, cls in enumerate(tier.classes):
            after = sum(tier.balances[k + 1:])
            out[cls] = [min(max(b - after, 0.0), tier.balances[k]) for b in balance]
    return out


# ---- the waterfall of one scenario


class _Period:
    """The state the principal rules read and change within one period."""

    def __init__(self, balance: list[float], paid: list[float], schedules: dict[int, list[float]]):
        self.balance = balance
        self.paid = paid
        self.schedules = schedules
        self.t = 0
        self.principal_total = 0.0
        self.begin_owned: list[float] = []
        self.total_begin_owned = 0.0
        self.tripped: dict[int, bool] = {}
        self.nas_percent: dict[int, float] = {}
        # Shifting interest: class balances and the collateral's at the start of the period (and
        # of period 1), and this period's prepayments.
        self.begin: list[float] = []
        self.coll_begin = 0.0
        self.coll0 = 0.0
        self.unscheduled = 0.0
        self.fails: dict[int, bool] = {}  # id(named trigger) -> failing this period


def _classes_of(node: Any) -> list[int]:
    kind = type(node).__name__
    if kind in ("Pay", "NasShare"):
        return [node.index]
    if kind in ("ToSchedule", "PrepaymentTrigger", "When", "DownTo"):
        return _classes_of(node.child)
    return [i for child in node.children for i in _classes_of(child)]


def _holds(node: Any, st: _Period) -> bool:
    """A When's condition at the start of the period (docs/language.md, Conditions)."""
    stack: list[bool] = []
    for op, a, b in node.ops:
        if op in (OP_TRUE, OP_FALSE):
            stack.append(op == OP_TRUE)
        elif op == OP_TRIGGER:
            stack.append(st.fails[id(a)] == bool(b))
        elif op == OP_RANGE:
            stack.append(a <= st.t < b)
        elif op == OP_RETIRED:
            stack.append((st.begin[a] <= CONDITION_RETIRED) == bool(b))
        elif op == OP_NOT:
            stack.append(not stack.pop())
        else:
            right, left = stack.pop(), stack.pop()
            stack.append(left and right if op == OP_AND else left or right)
    return stack[-1] if stack else True


def _target(node: Any, st: _Period) -> float:
    """A DownTo's target at the start of the period (docs/language.md, Targets)."""
    stack: list[float] = []
    for op, a, x in node.ops:
        if op == E_NUM:
            stack.append(x)
        elif op == E_BAL:
            stack.append(st.begin[a])
        elif op == E_COLL:
            stack.append(st.coll_begin)
        else:
            right, left = stack.pop(), stack.pop()
            stack.append({E_ADD: left + right, E_SUB: left - right, E_MUL: left * right,
                          E_DIV: left / right if right != 0 else 0.0, E_MIN: min(left, right),
                          E_MAX: max(left, right)}[op])
    return stack[-1]


def _named_triggers(roots: list[Any]) -> list[Any]:
    """Every named trigger the rules read, once."""
    found: list[Any] = []
    for root in roots:
        for node in _walk(root):
            kind = type(node).__name__
            mine = ([a for op, a, _ in node.ops if op == OP_TRIGGER] if kind == "When" else
                    [*node.named, *([node.step_test] if node.step_test is not None else [])]
                    if kind == "ShiftingInterest" else [])
            found.extend(t for t in mine if all(t is not f for f in found))
    return found


def _trigger_fails(trig: Any, st: _Period) -> bool:
    """docs/language.md, named triggers (no defaults here: no losses, no delinquency)."""
    limit = float(trig.limit[st.t])
    if trig.kind in (T_LOSS, T_DELINQUENCY):
        return 0.0 > limit
    held = sum(st.begin[i] for i in trig.classes)
    if trig.senior:
        level = (st.coll_begin - held) / st.coll_begin if st.coll_begin > 0 else 0.0
        original = (st.coll0 - trig.original) / st.coll0 if st.coll0 > 0 else 0.0
    else:
        level = held / st.coll_begin if st.coll_begin > 0 else 0.0
        original = trig.original / st.coll0 if st.coll0 > 0 else 0.0
    threshold = original * limit * (1.0 - 1e-9)
    return level < threshold if trig.kind == T_SUPPORT_BELOW else level >= threshold


def _nas_due(node: Any, st: _Period) -> float:
    """percent[t] x the class's balance / all classes' balances (start of period) x principal."""
    own = st.begin_owned[node.index]
    fraction = own / st.total_begin_owned if st.total_begin_owned > 0 else 0.0
    return st.nas_percent[node.index] * fraction * st.principal_total


def _room(node: Any, st: _Period) -> float:
    """The most the rule could take now: a class its balance, a group the total balance of its
    classes, a scheduled rule its excess over the schedule, a NAS rule its share, a trigger
    nothing while it is off."""
    kind = type(node).__name__
    if kind == "Pay":
        return st.balance[node.index]
    if kind == "ToSchedule":
        members = _classes_of(node.child)
        target = sum(st.schedules[i][st.t] for i in members)
        return max(sum(st.balance[i] for i in members) - target, 0.0)
    if kind == "NasShare":
        return min(_nas_due(node, st), st.balance[node.index])
    if kind == "PrepaymentTrigger":
        return _room(node.child, st) if st.tripped[id(node)] else 0.0
    if kind == "When":
        return _room(node.child, st) if _holds(node, st) else 0.0
    if kind == "DownTo":
        return max(_room(node.child, st) - _target(node, st), 0.0)
    return sum(st.balance[i] for i in _classes_of(node))


def _pay(node: Any, amount: float, st: _Period) -> float:
    """Pay up to `amount` through a rule; return what it used."""
    kind = type(node).__name__
    if kind == "Pay":
        take = min(max(amount, 0.0), st.balance[node.index])
        st.balance[node.index] -= take
        st.paid[node.index] += take
        return take
    if kind == "Sequential":
        used = 0.0
        for child in node.children:
            used += _pay(child, amount - used, st)
        return used
    if kind == "ProRata":
        if node.weights is None:
            return _pro_rata_by_balance(node, amount, st)
        return _pro_rata_fixed(node, amount, st)
    if kind == "ToSchedule":
        return _pay(node.child, min(amount, _room(node, st)), st)
    if kind == "NasShare":
        take = min(max(min(amount, _nas_due(node, st)), 0.0), st.balance[node.index])
        st.balance[node.index] -= take
        st.paid[node.index] += take
        return take
    if kind == "PrepaymentTrigger":
        return _pay(node.child, amount, st) if st.tripped[id(node)] else 0.0
    if kind == "ShiftingInterest":
        return _shifting_interest(node, amount, st)
    if kind == "When":
        return _pay(node.child, amount, st) if _holds(node, st) else 0.0
    if kind == "DownTo":
        return _pay(node.child, min(amount, _room(node, st)), st)
    raise TypeError(f"the reference does not know the rule {kind}")


def _shifting_interest(node: Any, amount: float, st: _Period) -> float:
    """docs/language.md, shifting interest: the seniors take the senior percentage (their balance
    over the collateral's, at most 100%) of scheduled principal and the senior prepayment
    percentage (100% before the step-down or while the credit-support trigger fails) of
    prepayments; the subordinates the rest; what the subordinates cannot take, the seniors."""
    amount = max(amount, 0.0)
    unscheduled = min(st.unscheduled, amount)
    scheduled = amount - unscheduled
    senior = sum(st.begin[i] for i in _classes_of(node.senior))
    sub = sum(st.begin[i] for i in _classes_of(node.subordinate))
    pct = min(senior / st.coll_begin, 1.0) if st.coll_begin > 0 else 1.0
    failing = False  # no losses and no delinquency without defaults
    if "support" in node.triggers:
        level = sub / st.coll_begin if st.coll_begin > 0 else 0.0
        failing = level < node.subordinate_original / st.coll0 * (1.0 - 1e-9)
    failing = failing or any(st.fails[id(t)] for t in node.named)
    waiting = node.step_test is not None and not st.fails[id(node.step_test)]  # test not passed yet
    spp = 1.0 if st.t < node.stepdown or failing or waiting else float(node.percentage[st.t])
    used = _pay(node.senior, pct * scheduled + spp * unscheduled, st)
    used += _pay(node.subordinate, amount - used, st)
    return used + _pay(node.senior, amount - used, st)


def _pro_rata_by_balance(node: Any, amount: float, st: _Period) -> float:
    rooms = [_room(c, st) for c in node.children]
    total = sum(rooms)
    factor = min(amount / total, 1.0) if total > 0 else 0.0
    return sum(_pay(c, r * factor, st) for c, r in zip(node.children, rooms, strict=True))


def _pro_rata_fixed(node: Any, amount: float, st: _Period) -> float:
    """Fixed shares, what a retired or capped member cannot take going to the others by their
    shares: solved in closed form. Members are capped in order of room/share; the level L at
    which the others are paid share x L is what is left over their shares."""
    rooms = [_room(c, st) for c in node.children]
    weights = list(node.weights)
    left = max(amount, 0.0)
    give = [0.0] * len(rooms)
    if sum(rooms) <= left:
        give = rooms
    else:
        live = sorted((r / w, j) for j, (r, w) in enumerate(zip(rooms, weights, strict=True)) if r > 0)
        w_left = sum(weights[j] for _, j in live)
        pos = 0
        while pos < len(live) and live[pos][0] * w_left <= left:
            j = live[pos][1]
            give[j] = rooms[j]
            left -= rooms[j]
            w_left -= weights[j]
            pos += 1
        for _, j in live[pos:]:
            give[j] = left * weights[j] / w_left
    return sum(_pay(c, g, st) for c, g in zip(node.children, give, strict=True))


def _walk(node: Any) -> list[Any]:
    kind = type(node).__name__
    if kind in ("Pay", "NasShare"):
        return [node]
    if kind in ("ToSchedule", "PrepaymentTrigger", "When", "DownTo"):
        return [node, *_walk(node.child)]
    return [node] + [n for child in node.children for n in _walk(child)]


def _as_scenario(deal: Deal, speed: Speed) -> Scenario:
    if isinstance(speed, Scenario):
        return speed
    if isinstance(speed, Prepayment):
        return Scenario(speed)
    if isinstance(speed, str):
        return deal.scenarios[speed] if speed in deal.scenarios else Scenario(parse_speed(speed))
    return Scenario(Prepayment.constant(float(speed), "PSA"))  # a bare number is PSA


def nas_percent(tranche: Any, t: int) -> float:
    """A NAS class's percentage in period t (1-based): 0 in the lockout, then each shift step for
    12 periods, then 100%."""
    if t <= tranche.lockout:
        return 0.0
    year = (t - tranche.lockout - 1) // 12
    return tranche.shift[year] if year < len(tranche.shift) else 1.0


def reference_cashflows(deal: Deal, speed: Speed, indices: dict[str, RatePath] | None = None,
                        schedules: dict[int, list[float]] | None = None) -> dict[str, dict[str, list[float]]]:
    """Monthly cash flows of every class, the residual and the collateral in one scenario.

    `speed`: a Prepayment, a Scenario (its index overrides apply), a scenario name or speed text
    ('165 PSA'), or a bare number of PSA. `indices` replaces index paths (after the scenario's).
    `schedules` (from derive_schedules) saves re-deriving them for each scenario.

    Returns, per class name (and the residual's name): beginning_balance, interest, accrued,
    principal, ending_balance, shortfall, coupon; for COLLATERAL: beginning_balance, interest,
    scheduled_principal, prepayment, principal, ending_balance; each a list over periods 1..T.
    """
    scenario = _as_scenario(deal, speed)
    prepay = scenario.prepayment
    periods = deal.periods
    classes = deal.classes
    n = len(classes)
    if schedules is None:
        schedules = derive_schedules(deal) if deal.tiers else {}
    pools = [pool_flows(p, prepay, periods) for p in deal.pools]

    paths = dict(deal.indices)
    paths.update(dict(scenario.indices))
    paths.update(indices or {})
    index_rate = {name: rate_path(path, periods) for name, path in paths.items()}
    months = floater_months(deal, periods) if any(c.formula is not None for c in classes) else None

    split_parents = {c.parent for c in classes if c.parent is not None}
    owned = [c.in_waterfall for c in classes]  # paid by the principal rules
    kids = [(c.index, c.parent, c.balance / classes[c.parent].balance) for c in classes
            if c.parent is not None]
    zs = [(c.index, deal.accretion[c.index]) for c in classes if c.accrual]
    nas = [c for c in classes if c.is_nas]

    balance = [0.0 if c.is_notional or c.is_residual else c.balance for c in classes]
    carried = [0.0] * n
    roots = [deal.principal, *deal.accretion.values()]
    triggers = [node for root in roots for node in _walk(root) if type(node).__name__ == "PrepaymentTrigger"]
    latched = {id(tr): False for tr in triggers}
    named = _named_triggers(roots)
    failed = {id(tr): False for tr in named}

    # The deal's facts, looked up once (the period loop below runs T times).
    notionals = [(c.index, c.notional) for c in classes if c.notional is not None]
    floaters = [(c.index, c.formula) for c in classes if c.formula is not None]
    strips = [(c.index, c.strip[0], c.strip[1]) for c in classes if c.strip is not None]
    direct = [c.index for c in classes if c.parent is None]
    cash_paid = [i for i in range(n) if i not in split_parents]
    owners = [i for i in range(n) if owned[i]]
    residual = next((c.index for c in classes if c.is_residual), None)
    fixed = [c.coupon for c in classes]
    # WAC classes: the pools' net coupons (less excess servicing) weighted by their balances.
    wac_classes = [c.index for c in classes if c.net_wac]
    pool_net = [p.coupon - p.excess for p in deal.pools]
    wac_rate = sum(p.balance * r for p, r in zip(deal.pools, pool_net, strict=True)) / deal.collateral_balance
    z_targets = [(z, rule, _classes_of(rule)) for z, rule in zs]
    pieces_of = {parent: [k for k, p, _ in kids if p == parent] for parent in split_parents}
    # Collateral groups: the deal's pools and classes, paid group by group; without groups, one
    # group of everything, its excess to the residual.
    everything = (list(range(len(deal.pools))), set(range(n)), deal.principal, None, None)
    groups = [(list(g.pools), set(g.classes), Sequential(deal.principal.children[slice(*g.rules)]),
               g.interest_to, g.principal_to)
              for g in deal.groups] or [everything]
    interest_order = _donors_first([g[3] for g in groups])
    principal_order = _donors_first([g[4] for g in groups])
    trigger_pools = {id(node): g[0] for g in groups
                     for root in [g[2], *(deal.accretion[z] for z in g[1] if z in deal.accretion)]
                     for node in _walk(root)}

    # Overcollateralization and a reserve account (no defaults here: no losses, no trigger on losses
    # or delinquency can fail; the credit-support trigger can).
    oc, reserve_spec = deal.overcollateralization, deal.reserve
    original = deal.collateral_balance
    on_books = [i for i in range(n) if classes[i].on_books]
    oc_at_closing = original - sum(classes[i].balance for i in on_books)
    reserve = reserve_spec.initial if reserve_spec is not None else 0.0

    def share(p: Any, current: float) -> float:
        return p.fraction * (current if p.basis == "current" else original)

    keys = ("beginning_balance", "interest", "accrued", "principal", "ending_balance", "shortfall", "coupon")
    rows: dict[str, list[list[float]]] = {k: [] for k in keys}  # per period: a value per class
    coll: dict[str, list[float]] = {k: [] for k in ("beginning_balance", "interest", "scheduled_principal",
                                                     "prepayment", "principal", "ending_balance")}
    resid_rows: dict[str, list[float]] = {"interest": [], "principal": []}

    def notional(which: Any, cls_bal: list[float], pool_bal: list[float]) -> float:
        base = sum(cls_bal[i] for i in which.classes) + sum(pool_bal[j] for j in which.pools)
        if which.collateral:
            base += sum(pool_bal)
        return which.factor * base

    for t in range(periods):
        pool_begin = [f.begin[t] for f in pools]
        pool_end = [f.end[t] for f in pools]
        pool_principal = [f.scheduled[t] + f.prepaid[t] for f in pools]
        available = sum(f.interest[t] for f in pools)
        principal_in = sum(pool_principal)
        prepaid_now = sum(f.prepaid[t] for f in pools)
        coll["beginning_balance"].append(sum(pool_begin))
        coll["interest"].append(available)
        coll["scheduled_principal"].append(principal_in - prepaid_now)
        coll["prepayment"].append(prepaid_now)
        coll["principal"].append(principal_in)
        coll["ending_balance"].append(sum(pool_end))

        begin = list(balance)
        for i, which in notionals:
            begin[i] = notional(which, balance, pool_begin)
        paid = [0.0] * n
        st = _Period(balance, paid, schedules)
        st.t = t
        st.begin = begin
        st.coll_begin = coll["beginning_balance"][t]
        st.coll0 = coll["beginning_balance"][0]
        st.unscheduled = prepaid_now
        if nas:
            st.begin_owned = [begin[i] if owned[i] else 0.0 for i in range(n)]
            st.total_begin_owned = sum(st.begin_owned)
            for c in nas:
                st.nas_percent[c.index] = nas_percent(c, t + 1)
        # Triggers: the collateral's prepayment this period against what every pool would
        # prepay at the trigger speed on its balance after scheduled principal, at its own age.
        for tr in triggers:
            mine = trigger_pools[id(tr)]  # a group's trigger reads its own pools
            at_speed = sum((pools[j].begin[t] - pools[j].scheduled[t])
                           * smm_for(tr.speed, t + 1, deal.pools[j].age)
                           for j in mine if deal.pools[j].remaining - t >= 1)
            prepaid = sum(pools[j].prepaid[t] for j in mine)
            above = prepaid > at_speed * (1.0 + TRIGGER_MARGIN) + TRIGGER_MARGIN
            latched[id(tr)] = above or (tr.sticky and latched[id(tr)])
            st.tripped[id(tr)] = latched[id(tr)]
        # Named triggers, tested at the start of the period; a sticky one stays failed.
        for tr in named:
            failed[id(tr)] = _trigger_fails(tr, st) or (tr.sticky and failed[id(tr)])
            st.fails[id(tr)] = failed[id(tr)]

        # 1. strips: a discount PO takes its share of its pool's principal off the top
        for i, pool, share in strips:
            take = min(share * pool_principal[pool], balance[i])
            paid[i] += take
            balance[i] -= take
            principal_in -= take

        # 2. interest: what is due, paid pro rata to it when the collateral falls short
        coupon = list(fixed)
        if wac_classes and sum(pool_begin) > 0:
            wac_rate = sum(b * r for b, r in zip(pool_begin, pool_net, strict=True)) / sum(pool_begin)
        for i in wac_classes:
            coupon[i] = wac_rate
        for i, f in floaters:
            coupon[i] = min(f.cap, max(f.floor, f.constant + f.multiplier * index_rate[f.index][t]))
        due = [begin[i] * coupon[i] / 12.0 + carried[i] for i in range(n)]
        for i, _ in floaters:
            due[i] = begin[i] * coupon[i] * months[t] / 12.0 + carried[i]  # type: ignore[index]
        # Group by group (donors first): its pools' interest, then a donor's excess.
        interest = [0.0] * n
        incoming = [0.0] * len(groups)
        extra = [0.0] * len(groups)  # principal a group has this period beyond its pools'
        left_int = [0.0] * len(groups)
        for gi in interest_order:
            g_pools, members, _, int_to, _ = groups[gi]
            own = sum(pools[j].interest[t] for j in g_pools)
            have = own + incoming[gi]
            direct_due = sum(due[i] for i in direct if i in members)
            drawn = 0.0
            if reserve_spec is not None and reserve_spec.covers_interest:
                drawn = min(reserve, max(direct_due - have, 0.0))  # the reserve pays a shortfall
                have += drawn
                available += drawn
                reserve -= drawn
            ratio = min(have / direct_due, 1.0) if direct_due > 0 else 1.0
            for i in direct:
                if i in members:
                    interest[i] = due[i] * ratio
            for parent, pieces in pieces_of.items():
                if parent not in members:
                    continue
                need = sum(due[k] for k in pieces)
                scale = min(interest[parent] / need, 1.0) if need > 0 else 1.0
                for k in pieces:
                    interest[k] = due[k] * scale
            used = sum(interest[i] for i in cash_paid if i in members)
            if deal.groups:
                extra[gi] = incoming[gi] - max(used - own, 0.0)  # a donor's interest it did not need
            if int_to is None:
                left_int[gi] = max(own - used, 0.0)
            else:
                incoming[int_to] += max(own - used, 0.0)

        # 3. accrual: a Z whose accretion-directed classes are outstanding accretes its interest
        # and pays it as principal through its accretion rules
        accrued = [0.0] * n
        unused = 0.0
        st.principal_total = principal_in
        for z, rule, targets in z_targets:
            if sum(begin[i] for i in targets) > RETIRED:
                amount = interest[z]
                accrued[z] = amount
                interest[z] = 0.0
                balance[z] += amount
                left = amount - _pay(rule, amount, st)
                unused += left
                extra[next(gi for gi, g in enumerate(groups) if z in g[1])] += left

        # 4. principal through the rules, group by group (donors first)
        left_prin = [0.0] * len(groups)
        for gi in principal_order:
            g_pools, members, rules, _, prin_to = groups[gi]
            amount = sum(pool_principal[j] for j in g_pools) + extra[gi]
            amount -= sum(paid[i] for i, _, _ in strips if i in members)  # what its strips took
            if nas and deal.groups:
                st.total_begin_owned = sum(st.begin_owned[i] for i in members)
            turbo = 0.0
            if oc is not None:
                # OC: the target; turbo out of excess interest up to what OC falls short of it,
                # or the excess over it released (principal held back from the classes).
                c_end, c_begin = sum(pool_end), sum(pool_begin)
                held = sum(balance[i] for i in on_books)
                prelim = c_end - (held - amount)
                target = share(oc.target, c_end)
                if oc.step is not None and t >= oc.stepdown:
                    support = (c_begin - sum(begin[i] for i in on_books)) / c_begin if c_begin > 0 else 0.0
                    failing = "support" in oc.triggers and support < oc_at_closing / original * (1 - 1e-9)
                    if not failing:
                        floor = share(oc.floor, c_end) if oc.floor is not None else 0.0
                        target = max(min(target, share(oc.step, c_end)), floor)
                excess = available - sum(interest[i] for i in cash_paid) - sum(accrued)
                if oc.turbo and excess > 1e-9:
                    turbo = min(excess, max(target - prelim, 0.0))
                amount = amount - min(max(prelim - target, 0.0), amount) + turbo
            st.principal_total = amount
            left = amount - _pay(rules, amount, st)
            turbo -= min(left, turbo)  # what the classes could not take goes back
            if prin_to is None:
                left_prin[gi] = left
            else:
                extra[prin_to] += left
        for k, parent, share in kids:
            paid[k] = paid[parent] * share
            balance[k] = balance[parent] * share

        # 5. the residual: what the classes were not paid
        total_accrued = sum(accrued)
        if deal.groups:
            # What each group left: a donor's interest may have paid another group's principal.
            resid_rows["interest"].append(sum(left_int))
            resid_rows["principal"].append(sum(left_prin))
        else:
            r_int = available - sum(interest[i] for i in cash_paid) - total_accrued - turbo
            if reserve_spec is not None:
                # Topped up to its target out of what is left; the excess released, all of it
                # once the classes are retired or in the last period.
                if reserve_spec.target is not None:
                    wanted = share(reserve_spec.target, sum(pool_end))
                else:
                    wanted = reserve_spec.target_amount
                done = t == periods - 1 or sum(balance[i] for i in on_books) <= 1e-9
                deposit = 0.0 if done or r_int <= 1e-9 else min(r_int, max(wanted - reserve, 0.0))
                reserve += deposit
                released = reserve if done else max(reserve - wanted, 0.0)
                reserve -= released
                r_int += released - deposit
            resid_rows["interest"].append(r_int)
            resid_rows["principal"].append(principal_in + total_accrued - sum(paid[i] for i in owners)
                                           + turbo)

        end = list(balance)
        for i, which in notionals:
            end[i] = notional(which, balance, pool_end)
        carried = [due[i] - interest[i] - accrued[i] for i in range(n)]
        rows["beginning_balance"].append(begin)
        rows["interest"].append(interest)
        rows["accrued"].append(accrued)
        rows["principal"].append(paid)
        rows["ending_balance"].append(end)
        rows["shortfall"].append(carried)
        rows["coupon"].append(coupon)

    out: dict[str, dict[str, list[float]]] = {COLLATERAL: coll}
    zeros = [0.0] * periods
    for c in classes:
        if c.index == residual:
            out[c.name] = {k: list(zeros) for k in keys}
            out[c.name].update(resid_rows)
        else:
            out[c.name] = {k: [row[c.index] for row in rows[k]] for k in keys}
    return out


@dataclass(frozen=True)
class Sequential:
    """A group's principal rules (a slice of the deal's), paid in turn as a sequential node is."""

    children: tuple[Any, ...]


def _donors_first(targets: list[int | None]) -> list[int]:
    """Group positions, each after every group whose excess (of one kind) it receives."""
    order: list[int] = []
    while len(order) < len(targets):
        order.append(next(i for i in range(len(targets)) if i not in order
                          and all(j in order for j, to in enumerate(targets) if to == i)))
    return order


def wal(principal: list[float]) -> float:
    """SIFMA WAL: sum(k x P_k) / (12 x sum P_k), k the period; positive principal only."""
    total = weighted = 0.0
    for k, p in enumerate(principal, start=1):
        if p > 0:
            total += p
            weighted += k * p
    return weighted / (12.0 * total) if total > 0 else float("nan")


def reference_wals(deal: Deal, speed: Speed, indices: dict[str, RatePath] | None = None,
                   schedules: dict[int, list[float]] | None = None) -> dict[str, float]:
    """WAL (years, by period count) of every class with principal, in one scenario; NaN for
    notional classes."""
    flows = reference_cashflows(deal, speed, indices, schedules)
    return {c.name: (float("nan") if c.is_notional else wal(flows[c.name]["principal"]))
            for c in deal.classes if not c.is_residual}

