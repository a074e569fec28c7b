"""The waterfall interpreter: collateral cash in, class cash out, period by period.

Steps over periods and is vectorised across scenarios: every quantity in a period is an
array [scenario] (or [scenario, class]). A pure function of (deal, collateral flows, index
rates), so it can be cached, tested and distributed freely.

Each period:
1. Strips: discount-strip PO classes take their share of their pool's principal first.
2. Interest: every class is due its coupon (fixed, or its floater formula on this period's
   index) x its balance (a notional class: its notional balance) / 12, plus any interest it
   was short before. The collateral's net interest pays what is due, pro rata to the amounts
   due when it is not enough; what a class is not paid is carried as a shortfall. Classes split
   from a parent (floater, inverse floater) are paid their formula interest out of the
   parent's.
3. Accrual: an accrual (Z) class whose accretion-directed classes are still outstanding is
   not paid its interest; the amount is added to its balance and paid as principal through its
   accretion rule. What those classes cannot take joins the principal of step 4.
4. Principal: the collateral's principal goes through the compiled principal rules; no class
   is paid more than its balance, a `to schedule` rule no more than its classes' excess over
   their scheduled balance, a NAS share no more than its share, and a rule with a condition
   (`when prepayments above 300 PSA`) only in periods when it holds. Rules that keep state
   across periods (a sticky trigger) hold it in arrays over scenarios (model.rules.Book.state).
5. What is left of interest or principal goes to the residual; in a credit run of a deal that
   reimburses losses, the interest left first pays each class its write-downs not yet
   reimbursed, most senior first (`reimburse`).
After the last period the books are audited over every period at once: cash in must equal
cash out, class balances must move by exactly what was paid and accrued, nothing may go
negative, and no principal may reach the residual while a class still has a balance. A
violation is a bug in the engine and raises EngineError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.deal import Deal
from ..model.enhancement import ENHANCEMENT_FIELDS, oc_targets, reserve_targets
from ..model.groups import serving_order
from ..model.rules import Book, NasShare, Rule, RunInputs, initial_states
from .audit import audit
from .collateral import CollateralFlows
from .credit import write_down
from .prepayment import smm_matrix

DUST = 1e-9  # dollars below which an accrual class's targets count as retired


@dataclass(frozen=True)
class ClassFlows:
    """Arrays [scenario, class, period] (index 0 is period 1), plus the residual [scenario, period].

    `beginning_balance`/`ending_balance` are principal balances, or the notional balance of a
    notional class. `interest` is interest paid in cash; `accrued` is interest added to an
    accrual class's balance instead; `principal` is principal paid in cash.

    The compiled engine stores a few of them and leaves the others None: `source`
    (engine/flows.py) derives each on first access, and it is kept from then on.
    """

    beginning_balance: np.ndarray = None  # type: ignore[assignment]
    interest: np.ndarray = None  # type: ignore[assignment]
    accrued: np.ndarray = None  # type: ignore[assignment]
    principal: np.ndarray = None  # type: ignore[assignment]
    ending_balance: np.ndarray = None  # type: ignore[assignment]
    shortfall: np.ndarray = None  # type: ignore[assignment]
    coupon: np.ndarray = None  # type: ignore[assignment]
    residual_interest: np.ndarray = None  # type: ignore[assignment]
    residual_principal: np.ndarray = None  # type: ignore[assignment]
    source: Any = field(default=None, repr=False, compare=False)
    # Credit runs only (None otherwise): realized losses written down against each class
    # [scenario, class, period], and the losses no class's balance was left to absorb
    # [scenario, period].
    writedown: np.ndarray | None = field(default=None, compare=False)
    unallocated_loss: np.ndarray | None = field(default=None, compare=False)
    # Credit runs of a deal that reimburses losses only (`; reimburse from excess interest`;
    # the kernel's step 5b pays the same):
    # cash [scenario, class, period] paid out of excess interest against unreimbursed
    # write-downs. It does not reinstate the balance.
    reimbursed: np.ndarray | None = field(default=None, compare=False)
    # Deals with collateral groups only (None otherwise), [scenario, group, period]: what each
    # group left to the residual, and what its excess paid the group the deal directs it to.
    group_residual_interest: np.ndarray | None = field(default=None, compare=False)
    group_residual_principal: np.ndarray | None = field(default=None, compare=False)
    cross_interest: np.ndarray | None = field(default=None, compare=False)
    cross_principal: np.ndarray | None = field(default=None, compare=False)
    # ... of which the part of a donor's excess interest a group paid as principal, and in a
    # credit run, the losses of each group's pools none of its classes was left to absorb.
    cross_interest_principal: np.ndarray | None = field(default=None, compare=False)
    group_unallocated_loss: np.ndarray | None = field(default=None, compare=False)
    # Deals with overcollateralization or a reserve account only (None otherwise): each of
    # model/enhancement.py's ENHANCEMENT_FIELDS [scenario, period] (OC amount and target, turbo,
    # release, losses the OC absorbed; the reserve's balance, deposits, draws, release).
    enhancement: dict[str, np.ndarray] | None = field(default=None, compare=False)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if value is None and name in _FLOW_FIELDS:
            source = object.__getattribute__(self, "source")
            if source is not None:
                value = getattr(source, name)
                object.__setattr__(self, name, value)
        return value

    def ending_principal(self, classes: list[int] | None = None) -> np.ndarray:
        """Ending principal balances [scenario, class, period], the notional classes' rows left
        unspecified: what a solver comparing balances with schedules reads, without deriving the
        notional balances (which need the collateral's). `classes`: those classes' rows only,
        in that order (derived for them alone)."""
        if object.__getattribute__(self, "ending_balance") is None:
            source = object.__getattribute__(self, "source")
            if source is not None and hasattr(source, "ending_principal"):
                return source.ending_principal(classes)
        return self.ending_balance if classes is None else self.ending_balance[:, classes, :]

    @property
    def interest_due(self) -> np.ndarray:
        """What each class was due: paid in cash, accrued, or still short."""
        return self.interest + self.accrued + self.shortfall


_FLOW_FIELDS = frozenset(("beginning_balance", "interest", "accrued", "principal", "ending_balance",
                          "shortfall", "coupon", "residual_interest", "residual_principal"))


def coupon_rates(deal: Deal, index_rates: np.ndarray, periods: int,
                 coll: CollateralFlows | None = None) -> np.ndarray:
    """Annual coupon [period, class, scenario]: fixed, each floater's formula on its index, or
    (a WAC class) the net WAC of `coll`, the collateral it is paid from.

    Without floaters or WAC classes it is a broadcast view of the fixed coupons (no memory per
    period)."""
    n_scen = index_rates.shape[0]
    fixed = np.array([c.coupon for c in deal.classes])[None, :, None]
    shape = (periods, len(deal.classes), n_scen)
    floaters = [c for c in deal.classes if c.formula is not None]
    wac = [c.index for c in deal.classes if c.net_wac] if coll is not None else []
    if not floaters and not wac:
        return np.broadcast_to(fixed, shape)
    rates = np.empty(shape)
    rates[...] = fixed
    names = deal.index_names
    for c in floaters:
        rates[:, c.index, :] = c.formula.rate(index_rates[:, names.index(c.formula.index), :].T)
    # A WAC class of a collateral group is paid the net WAC of its group's pools.
    sources = ([(g.pools, [k for k in wac if k in g.classes]) for g in deal.groups] if deal.groups
               else [(None, wac)])
    for pools, members in sources:
        if members:
            rates[:, members, :] = net_wac(deal, coll, pools).T[:, None, :]  # type: ignore[arg-type]
    return rates


def net_wac(deal: Deal, coll: CollateralFlows, pools: tuple[int, ...] | None = None) -> np.ndarray:
    """The collateral's net WAC [scenario, period] (of the pools `pools` only, a collateral
    group's): the pools' net coupons (excess servicing stripped) weighted by their balances at the
    start of each period. Once every pool is paid off the last rate is carried (there is no
    balance left to pay it on)."""
    begin = coll.by_pool["beginning_balance"]
    chosen = deal.pools
    if pools is not None:
        begin = begin[:, list(pools)]
        chosen = tuple(deal.pools[p] for p in pools)
    net = np.array([p.net_coupon for p in chosen])
    total = begin.sum(axis=1)
    weighted = np.einsum("spt,p->st", begin, net)
    last = np.full(total.shape[0], float(net @ [p.balance for p in chosen]) / sum(p.balance for p in chosen))
    rate = np.empty_like(total)
    for t in range(total.shape[1]):
        live = total[:, t] > 0
        last = np.where(live, weighted[:, t] / np.where(live, total[:, t], 1.0), last)
        rate[:, t] = last
    return rate


def run_waterfall(deal: Deal, coll: CollateralFlows, index_rates: np.ndarray | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ClassFlows:
    """Distribute the collateral cash of every scenario to the deal's classes.

    `index_rates` is [scenario, index, period] for the deal's index names (sorted), or None
    when no class floats. `progress(done, total)` is called after each period.
    """
    n_scen, periods = coll.interest.shape
    classes = deal.classes
    n_cls = len(classes)
    if index_rates is None:
        index_rates = np.zeros((n_scen, 0, periods))
    rates = coupon_rates(deal, index_rates, periods, coll)  # [period, class, scenario], annual
    accrue = rates  # the rate each class accrues at: its coupon, scaled by its day count
    floating = [c.index for c in classes if c.formula is not None]
    # A floater earns its day count's share of a year: on actual/360 days/30 twelfths of its rate.
    days = deal.day_count.accrual_months(deal.first_payment, periods) if floating else None
    if days is not None and np.any(days != 1.0):
        accrue = np.array(rates)
        accrue[:, floating, :] *= days[:, None, None]

    child = np.array([c.parent is not None for c in classes])
    split_parent = np.zeros(n_cls, dtype=bool)
    split_parent[[c.parent for c in classes if c.parent is not None]] = True
    owner = np.array([c.in_waterfall for c in classes])
    # Who is paid interest out of the collateral's interest directly (children: from the parent).
    direct = ~child
    accruals = [(c.index, deal.accretion[c.index], deal.accretion[c.index].members)
                for c in classes if c.accrual]
    children = [(c.index, c.parent, c.balance / classes[c.parent].balance)
                for c in classes if c.parent is not None]

    # Period-major copies, so each period reads contiguous memory: [period, (pool,) scenario].
    coll_interest = np.ascontiguousarray(coll.interest.T)
    coll_principal = np.ascontiguousarray(coll.principal.T)
    strips = [(c.index, c.strip[0], c.strip[1]) for c in classes if c.strip is not None]
    notionals = [(c.index, c.notional) for c in classes if c.notional is not None]
    by_pool = coll.by_pool
    pool_begin = pool_end = pool_principal = None
    if notionals:
        pool_begin = np.ascontiguousarray(by_pool["beginning_balance"].transpose(2, 1, 0))
        pool_end = np.ascontiguousarray(by_pool["ending_balance"].transpose(2, 1, 0))
    if strips:
        pool_principal = np.ascontiguousarray(
            (by_pool["scheduled_principal"] + by_pool["prepayment"]).transpose(2, 1, 0))

    balance = np.repeat(np.array([0.0 if c.is_notional else c.balance for c in classes])[:, None],
                        n_scen, axis=1)  # [class, scenario]
    shape = (periods, n_cls, n_scen)
    # Five [period, class, scenario] buffers; what is due is rebuilt from them when asked for.
    begin_out, int_out, prin_out, end_out, short_out = (np.empty(shape) for _ in range(5))
    due = np.empty((n_cls, n_scen))
    acc_out = np.zeros(shape)
    resid_int = np.empty((periods, n_scen))
    resid_prin = np.empty((periods, n_scen))
    carried = np.zeros((n_cls, n_scen))
    # A credit run's realized losses [period, scenario], when the deal says who takes them.
    coll_losses = getattr(coll, "losses", None)
    losses = wd_out = unalloc = None
    loss_tiers = deal.losses or ()
    if coll_losses is not None:
        losses = np.ascontiguousarray(coll_losses.T)
        wd_out = np.zeros(shape)
        unalloc = np.zeros((periods, n_scen))
    rb_out = owed = None
    if losses is not None and deal.reimburse_losses:
        rb_out = np.zeros(shape)
        owed = np.zeros((n_cls, n_scen))  # write-downs not yet reimbursed
    # Overcollateralization and a reserve account (model/enhancement.py), [field, period, scenario].
    enh = _Enhancement(deal, coll) if (deal.overcollateralization is not None
                                       or deal.reserve is not None) else None
    # Class masks as float vectors: a sum over some classes is one vector-matrix product.
    direct_f = direct.astype(float)
    cash_int_f = (~split_parent).astype(float)
    owner_f = owner.astype(float)
    roots: list[Rule] = [deal.principal, *deal.accretion.values()]
    nas = any(isinstance(r, NasShare) for root in roots for r in root.walk())
    # Rules that keep state across periods (triggers, ...) start from the run's inputs.
    state = initial_states(roots, _run_inputs(deal, coll)) if _stateful(roots) else {}
    for g in deal.groups if state else ():
        # A group's stateful rules (a trigger) read its own pools' prepayments, not the deal's.
        own = [g.principal(deal.principal), *(deal.accretion[k] for k in g.classes if k in deal.accretion)]
        state.update(initial_states(own, _run_inputs(deal, coll, g.pools)))
    stateful = [n for root in roots for n in root.walk() if type(n).begin_period is not Rule.begin_period]
    grouped = _Groups(deal, coll, classes, direct, children, strips, owed) if deal.groups else None

    def notional_balance(bal: np.ndarray, pools: np.ndarray | None, out: np.ndarray) -> None:
        for k, n in notionals:
            base = bal[list(n.classes)].sum(axis=0) if n.classes else 0.0
            if n.pools:
                base = base + pools[list(n.pools)].sum(axis=0)  # type: ignore[index]
            if n.collateral:
                base = base + pools.sum(axis=0)  # type: ignore[union-attr]
            out[k] = n.factor * base

    for t in range(periods):
        begin = begin_out[t]
        begin[:] = balance
        if notionals:
            notional_balance(begin, pool_begin[t], begin)  # type: ignore[index]
        available = coll_interest[t]
        # 1. strips off the top of their pools' principal
        principal_in = coll_principal[t].copy() if strips else coll_principal[t]
        paid = prin_out[t]
        paid[:] = 0.0
        for k, pool, share in strips:
            take = np.minimum(share * pool_principal[t][pool], balance[k])  # type: ignore[index]
            paid[k] = take
            balance[k] -= take
            principal_in -= take
        # 2. interest, pro rata to what is due when the collateral's interest falls short
        np.multiply(begin, accrue[t], out=due)
        due *= 1.0 / 12.0  # 30/360: a month is a twelfth of a year
        due += carried
        interest = int_out[t]
        if grouped is not None:
            # Each group's pools pay its own classes, plus what a donor group's excess adds.
            np.multiply(due, grouped.interest_ratio(t, due), out=interest)
        else:
            total_due = direct_f @ due
            if enh is not None:
                # The reserve pays what the collateral's interest leaves short, when it covers that.
                available = enh.draw_for_interest(t, available, total_due)
            ratio = np.minimum(np.divide(available, total_due, out=np.ones_like(available),
                                         where=total_due > 0), 1.0)
            np.multiply(due, ratio, out=interest)
        if children:
            interest *= direct_f[:, None]
            for parent in np.nonzero(split_parent)[0]:
                kids = [k for k, p, _ in children if p == parent]
                kid_due = due[kids]
                need = kid_due.sum(axis=0)
                scale = np.minimum(np.divide(interest[parent], need, out=np.ones_like(need),
                                             where=need > 0), 1.0)
                interest[kids] = kid_due * scale
        # 3. accrual: a Z's interest becomes principal for its accretion-directed classes
        book = Book(t, balance, paid, principal_in, begin * owner_f[:, None] if nas else begin, state)
        for node in stateful:
            node.begin_period(book)
        principal_total = principal_in
        accrued_total = 0.0
        if accruals:
            accrued = acc_out[t]
            extra = np.zeros(n_scen)
            for z, rule, targets in accruals:
                accruing = balance[targets].sum(axis=0) > DUST
                amount = np.where(accruing, interest[z], 0.0)
                accrued[z] = amount
                interest[z] -= amount
                balance[z] += amount
                used = rule.allocate(amount, book)
                extra += amount - used
                if grouped is not None:
                    grouped.accretion_left(z, amount - used)
            principal_total = principal_in + extra
            accrued_total = accrued.sum(axis=0)
        # 4. principal through the rules
        book.principal_total = principal_total
        if grouped is not None:
            grouped.pay_principal(t, book)
        elif enh is not None:
            # OC: the release held back, turbo out of excess interest and the reserve's draw for
            # losses added; what the rules cannot place is given back in that order.
            excess = available - cash_int_f @ interest - accrued_total
            amount = enh.principal_amount(t, balance, begin, principal_total, excess,
                                          losses[t] if losses is not None else 0.0)
            book.principal_total = amount
            enh.placed(t, amount, deal.principal.allocate(amount, book))
        else:
            deal.principal.allocate(principal_total, book)
        # 4b. realized losses: written down in the deal's loss order, without cash (a grouped
        # deal's: each group's pools' losses in that group's own loss order)
        if losses is not None:
            if grouped is not None:
                unalloc[t] = grouped.write_down(t, balance, wd_out[t])
            elif enh is not None:
                owing = enh.to_write_down(t, balance, losses[t])
                unalloc[t] = write_down(balance, owing, loss_tiers, wd_out[t])
                enh.written(t, losses[t], wd_out[t], unalloc[t])
            else:
                unalloc[t] = write_down(balance, losses[t], loss_tiers, wd_out[t])
        # Split classes follow their parent's principal in proportion to their balances.
        for k, parent, share in children:
            paid[k] = paid[parent] * share
            balance[k] = balance[parent] * share
            if losses is not None:
                wd_out[t][k] = wd_out[t][parent] * share
        carried = short_out[t]
        np.subtract(due, interest, out=carried)
        if accruals:
            carried -= acc_out[t]
        # 5. the residual takes what is left
        resid_int[t] = available - cash_int_f @ interest - accrued_total
        if enh is not None:
            resid_int[t] -= enh.turbo_paid(t)
        if owed is not None and grouped is None:
            owed += wd_out[t]  # type: ignore[index]
            # Rounding's dust of excess interest (~1e-9 dollars) stays with the residual.
            excess = np.where(resid_int[t] > DUST, resid_int[t], 0.0)
            resid_int[t] -= reimburse(excess, owed, loss_tiers, rb_out[t])  # type: ignore[index]
        resid_prin[t] = principal_in + accrued_total - owner_f @ paid
        if enh is not None:
            # Turbo and the reserve's draw for losses are principal paid out of other cash; the
            # reserve is topped up out of, and releases its excess to, the residual's interest.
            resid_prin[t] += enh.turbo_paid(t) + enh.loss_draw(t)
            resid_int[t] = enh.settle(t, resid_int[t], balance)
        if grouped is not None:
            if owed is not None:
                owed += wd_out[t]  # type: ignore[index]
                grouped.reimburse(t, owed, rb_out[t])  # type: ignore[index]
            # A donor's excess interest may pay another group's classes as principal: the deal's
            # residual is what every group left, of each kind.
            resid_int[t], resid_prin[t] = grouped.residuals(t)

        end_out[t] = balance
        if notionals:
            notional_balance(end_out[t], pool_end[t], end_out[t])  # type: ignore[index]
        if progress is not None:
            progress(t + 1, periods)

    def scenario_major(a: np.ndarray) -> np.ndarray:
        return a.transpose(2, 1, 0)  # a view: [scenario, class, period]

    flows = ClassFlows(
        beginning_balance=scenario_major(begin_out),
        interest=scenario_major(int_out),
        accrued=scenario_major(acc_out),
        principal=scenario_major(prin_out),
        ending_balance=scenario_major(end_out),
        shortfall=scenario_major(short_out),
        coupon=scenario_major(rates),
        residual_interest=resid_int.T,
        residual_principal=resid_prin.T,
        writedown=scenario_major(wd_out) if wd_out is not None else None,
        reimbursed=scenario_major(rb_out) if rb_out is not None else None,
        unallocated_loss=unalloc.T if unalloc is not None else None,
        **(grouped.outputs() if grouped is not None else {}),
        enhancement=enh.outputs() if enh is not None else None,
    )
    audit(deal, coll, flows)
    return flows


class _Enhancement:
    """Overcollateralization and the reserve account in the interpreter's period loop, vectorised
    over scenarios (model/enhancement.py says what each figure is; engine/kernel.py computes the
    same for one scenario at a time). Each period's figures are kept [field, period, scenario]."""

    def __init__(self, deal: Deal, coll: CollateralFlows):
        self.oc = deal.overcollateralization
        self.reserve = deal.reserve
        n_scen, periods = coll.interest.shape
        self.books_f = np.array([c.on_books for c in deal.classes], dtype=float)
        self.coll_begin = np.ascontiguousarray(coll.beginning_balance.T)
        self.coll_end = np.ascontiguousarray(coll.ending_balance.T)
        self.original = float(deal.collateral_balance)
        self.out = np.zeros((len(ENHANCEMENT_FIELDS), periods, n_scen))
        self.fields = {name: self.out[i] for i, name in enumerate(ENHANCEMENT_FIELDS)}
        self.fail = np.zeros((periods, n_scen), dtype=bool)
        if self.oc is not None and self.oc.triggers:
            zeros = np.zeros((n_scen, periods))
            lost = getattr(coll, "losses", None)
            delinquent = getattr(coll, "delinquency", None)
            self.fail = np.ascontiguousarray(self.oc.static_fails(
                coll.beginning_balance, lost if lost is not None else zeros,
                delinquent if delinquent is not None else zeros).T)
        self.balance = np.full(n_scen, self.reserve.initial if self.reserve is not None else 0.0)
        self.draw_i = np.zeros(n_scen)
        self.draw_l = np.zeros(n_scen)
        self.turbo = np.zeros(n_scen)
        self.last = periods - 1

    def draw_for_interest(self, t: int, available: np.ndarray, total_due: np.ndarray) -> np.ndarray:
        self.draw_i = np.zeros_like(available)
        if self.reserve is not None and self.reserve.covers_interest:
            self.draw_i = np.minimum(self.balance, np.maximum(total_due - available, 0.0))
            return available + self.draw_i
        return available

    def principal_amount(self, t: int, balance: np.ndarray, begin: np.ndarray, principal: np.ndarray,
                         excess: np.ndarray, lost: np.ndarray | float) -> np.ndarray:
        """What the principal rules are offered: the principal, less the OC release, plus turbo
        and the reserve's draw for losses."""
        oc, f = self.oc, self.fields
        c_end = self.coll_end[t]
        release = np.zeros_like(principal)
        turbo = np.zeros_like(principal)
        need = np.zeros_like(principal)
        if oc is not None:
            prelim = c_end - (self.books_f @ balance - principal)  # OC if all principal is paid
            failing = self.fail[t] | oc.support_fails(self.coll_begin[t] - self.books_f @ begin,
                                                      self.coll_begin[t])
            target = oc_targets(oc, t, c_end, failing)
            f["oc_trigger_failing"][t] = failing
            f["oc_target"][t] = target
            release = np.minimum(np.maximum(prelim - target, 0.0), principal)
            if oc.turbo:
                cash = np.where(excess > DUST, excess, 0.0)
                turbo = np.minimum(cash, np.maximum(target - prelim, 0.0))
            need = np.maximum(-(prelim + turbo), 0.0)  # what the classes would be written down
        self.draw_l = np.zeros_like(principal)
        if self.reserve is not None and self.reserve.covers_losses:
            if oc is None:
                need = need + lost
            self.draw_l = np.minimum(self.balance - self.draw_i, need)
        f["oc_release"][t] = release
        self.turbo = turbo
        return principal - release + turbo + self.draw_l

    def placed(self, t: int, amount: np.ndarray, used: np.ndarray) -> None:
        """What the rules could not place goes back: to the reserve first, then to excess interest."""
        unused = np.maximum(amount - used, 0.0)
        back = np.minimum(unused, self.draw_l)
        self.draw_l = self.draw_l - back
        unused = unused - back
        self.turbo = self.turbo - np.minimum(unused, self.turbo)
        self.fields["turbo"][t] = self.turbo

    def turbo_paid(self, t: int) -> np.ndarray:
        return self.turbo

    def loss_draw(self, t: int) -> np.ndarray:
        return self.draw_l

    def to_write_down(self, t: int, balance: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """The loss to write down against the classes: with OC, what their balances exceed the
        collateral's; without, the period's loss less what the reserve paid against it."""
        if self.oc is not None:
            return np.maximum(self.books_f @ balance - self.coll_end[t], 0.0)
        return np.maximum(lost - self.draw_l, 0.0)

    def written(self, t: int, lost: np.ndarray, wd: np.ndarray, unallocated: np.ndarray) -> None:
        self.fields["oc_absorbed"][t] = lost - self.books_f @ wd - unallocated

    def settle(self, t: int, residual_interest: np.ndarray, balance: np.ndarray) -> np.ndarray:
        """The period's end: the OC amount; the reserve topped up to its target out of the
        residual's interest, its excess (all of it once the classes are retired or the deal
        ends) released to it. Returns the residual's interest."""
        f = self.fields
        held = self.books_f @ balance
        c_end = self.coll_end[t]
        if self.oc is not None:
            f["oc_amount"][t] = c_end - held
        if self.reserve is None:
            return residual_interest
        r = self.reserve
        bal = self.balance - self.draw_i - self.draw_l
        target = reserve_targets(r, c_end, self.original)
        # The classes retired (or the run's last period): nothing more to hold it for.
        done = np.full(held.shape, t == self.last) | (held <= DUST)
        cash = np.where((residual_interest > DUST) & ~done, residual_interest, 0.0)
        deposit = np.minimum(cash, np.maximum(target - bal, 0.0))
        bal = bal + deposit
        over = np.where(done, bal, np.maximum(bal - target, 0.0))
        bal = bal - over
        self.balance = bal
        f["reserve_balance"][t] = bal
        f["reserve_deposit"][t] = deposit
        f["reserve_interest_draw"][t] = self.draw_i
        f["reserve_loss_draw"][t] = self.draw_l
        f["reserve_release"][t] = over
        return residual_interest - deposit + over

    def outputs(self) -> dict[str, np.ndarray]:
        return {name: self.out[i].T for i, name in enumerate(ENHANCEMENT_FIELDS)}


def reimburse(cash: np.ndarray, owed: np.ndarray, tiers: Sequence[Sequence[int]],
              out: np.ndarray) -> np.ndarray:
    """Pay `cash` [scenario] against `owed` [class, scenario] (write-downs not yet reimbursed),
    in place: the loss order read backwards, so the most senior class first (a pro rata tier
    shares in proportion to what each is owed), recording each class's payment in `out`
    [class, scenario]. Returns what was paid in all [scenario]."""
    left = cash.copy()
    for tier in reversed(tiers):
        idx = list(tier)
        held = owed[idx]  # a copy
        total = held.sum(axis=0)
        take = np.minimum(left, total)
        whole = take >= total  # everything owed is paid: pay each exactly, leave no dust owed
        share = np.divide(take, total, out=np.zeros_like(take), where=total > 0)
        paid = np.where(whole[None, :], held, held * share[None, :])
        out[idx] = paid
        owed[idx] = np.where(whole[None, :], 0.0, held - paid)
        left = np.maximum(left - take, 0.0)
    return cash - left


def _stateful(roots: list[Rule]) -> bool:
    return any(type(n).initial_state is not Rule.initial_state for root in roots for n in root.walk())


def _run_inputs(deal: Deal, coll: CollateralFlows, pools: tuple[int, ...] | None = None) -> RunInputs:
    """What stateful rules may read before the run: the collateral's own flows and speeds (of
    the pools `pools` only, for a collateral group's rules)."""
    n_scen, periods = coll.interest.shape
    by_pool = coll.by_pool
    ages = np.array([p.age for p in deal.pools], dtype=float)
    if pools is None:
        return RunInputs(
            n_scen=n_scen, periods=periods,
            pool_amortized=by_pool["beginning_balance"] - by_pool["scheduled_principal"],
            prepayment=coll.prepayment,
            smm_of=lambda speed: smm_matrix([speed], ages, periods)[0],
            balance=coll.beginning_balance,
            recoveries=getattr(coll, "recoveries", None),
            losses=getattr(coll, "losses", None),
            delinquency=getattr(coll, "delinquency", None),
        )
    own = list(pools)

    def group_sum(name: str) -> np.ndarray | None:
        return by_pool[name][:, own].sum(axis=1) if name in by_pool else None

    return RunInputs(
        n_scen=n_scen, periods=periods,
        pool_amortized=(by_pool["beginning_balance"] - by_pool["scheduled_principal"])[:, own],
        prepayment=group_sum("prepayment"),  # type: ignore[arg-type]
        smm_of=lambda speed: smm_matrix([speed], ages[own], periods)[0],
        # A group's credit tests (a shifting-interest trigger) read its own pools' balance and
        # losses; the delinquent share is an assumption of the scenario, the same for all.
        balance=group_sum("beginning_balance"),
        recoveries=group_sum("recoveries"),
        losses=group_sum("losses"),
        delinquency=getattr(coll, "delinquency", None),
    )


class _Groups:
    """A grouped deal's period steps (model/groups.py): each group's pools pay its own classes'
    interest and principal; what a group has left pays the group the deal directs its excess to
    (`excess of group 1 pays group 2`), donors first, or else goes to the residual."""

    def __init__(self, deal: Deal, coll: CollateralFlows, classes: tuple, direct: np.ndarray,
                 children: list[tuple[int, int, float]], strips: list[tuple[int, int, float]],
                 owed: np.ndarray | None = None):
        self.groups = deal.groups
        # A credit run of a deal whose groups reimburse losses: the write-downs not yet paid back
        # [class, scenario] (the waterfall's own array), and what each group holds back of its
        # excess interest for them this period before the rest goes on to another group.
        self.owed = owed
        self.hold = np.zeros((len(deal.groups), coll.interest.shape[0]))
        self.owed_members = [[k for tier in g.losses for k in tier] for g in deal.groups]
        self.interest_order = serving_order(deal.groups, "interest")
        self.principal_order = serving_order(deal.groups, "principal")
        n_scen, periods = coll.interest.shape
        n_grp = len(self.groups)
        n_cls = len(classes)
        by_pool = coll.by_pool
        pool_interest = by_pool["interest"]
        pool_principal = by_pool["scheduled_principal"] + by_pool["prepayment"]
        # A credit run: a group's pools' recoveries are its principal, their realized losses
        # are written down against its classes in its own loss order (write_down).
        credit = "losses" in by_pool and getattr(coll, "losses", None) is not None
        recoveries = by_pool["recoveries"] if credit else None
        # Per group, period-major [period, scenario]: its pools' interest and principal, the
        # principal less what its PO strips take off the top (strips of its own pools).
        self.interest_in = [np.ascontiguousarray(pool_interest[:, list(g.pools)].sum(axis=1).T)
                            for g in self.groups]
        self.principal_in = [np.ascontiguousarray(pool_principal[:, list(g.pools)].sum(axis=1).T)
                             for g in self.groups]
        if recoveries is not None:
            for i, g in enumerate(self.groups):
                self.principal_in[i] += recoveries[:, list(g.pools)].sum(axis=1).T
        self.losses = ([np.ascontiguousarray(by_pool["losses"][:, list(g.pools)].sum(axis=1).T)
                        for g in self.groups] if credit else None)
        self.unallocated = np.zeros((periods, n_grp, n_scen)) if credit else None
        # Each group's PO strip classes (on its own pools).
        self.strips = [[k for k, pool, _ in strips if pool in g.pools] for g in self.groups]
        self.pool_principal = pool_principal
        self.members = [np.array(g.classes, dtype=int) for g in self.groups]
        self.group_of = np.full(n_cls, -1)
        for i, g in enumerate(self.groups):
            self.group_of[list(g.classes)] = i
        self.direct_f = [np.isin(np.arange(n_cls), g.classes) & direct for g in self.groups]
        self.direct_f = [m.astype(float) for m in self.direct_f]
        # A NAS class's share is of its own group's balances and principal (book.owners_begin
        # masked to the group while the group's rules pay).
        self.rules = [g.principal(deal.principal) for g in self.groups]
        self.nas = any(isinstance(r, NasShare) for rules in self.rules for r in rules.walk())
        self.member_f = [np.isin(np.arange(n_cls), g.classes).astype(float)[:, None] for g in self.groups]
        self.kids = [[(k, p) for k, p, _ in children if self.group_of[p] == i] for i in range(n_grp)]
        self.split = [sorted({p for _, p in kids}) for kids in self.kids]
        self.ratio = np.ones((n_cls, n_scen))
        self.extra = np.zeros((n_grp, n_scen))  # principal of each group this period beyond its pools
        self.resid_int = np.zeros((periods, n_grp, n_scen))
        self.resid_prin = np.zeros((periods, n_grp, n_scen))
        self.cross_int = np.zeros((periods, n_grp, n_scen))
        self.cross_prin = np.zeros((periods, n_grp, n_scen))
        self.int_as_prin = np.zeros((periods, n_grp, n_scen))

    def interest_ratio(self, t: int, due: np.ndarray) -> np.ndarray:
        """The share of what is due [class, scenario] each class is paid: its group's interest
        (and any donor's excess) over what the group's classes are due, at most 1. A donor's
        excess interest first makes up what the group's own interest leaves short; the rest
        is principal for the group's rules this period."""
        incoming = np.zeros_like(self.extra)
        for i in self.interest_order:
            g = self.groups[i]
            own = self.interest_in[i][t]
            available = own + incoming[i]
            owed = self.direct_f[i] @ due
            r = np.minimum(np.divide(available, owed, out=np.ones_like(available), where=owed > 0), 1.0)
            self.ratio[self.members[i]] = r
            paid = r * owed
            # Classes split from a parent share its interest: what they cannot take stays over.
            for parent in self.split[i]:
                kids = [k for k, p in self.kids[i] if p == parent]
                need = due[kids].sum(axis=0)
                paid -= np.maximum(r * due[parent] - need, 0.0)
            left = np.maximum(own - paid, 0.0)  # its own interest beyond its classes' needs
            spare = incoming[i] - np.maximum(paid - own, 0.0)  # a donor's, not needed for interest
            self.extra[i] += spare
            self.int_as_prin[t, i] = spare
            if g.interest_to is not None and g.reimburse and self.owed is not None:
                # Its own classes' write-downs come first: it holds back what they are owed (as
                # the period starts; this period's losses are written down after principal) and
                # passes on the rest.
                self.hold[i] = np.minimum(left, self.owed[self.owed_members[i]].sum(axis=0))
                left = left - self.hold[i]
            if g.interest_to is not None:
                self.cross_int[t, i] = left
                incoming[g.interest_to] += left
            else:
                self.resid_int[t, i] = left
        return self.ratio

    def accretion_left(self, z: int, left: np.ndarray) -> None:
        """What an accrual class's accretion rule could not take: principal of its group."""
        self.extra[self.group_of[z]] += left

    def pay_principal(self, t: int, book: Book) -> None:
        """Each group's principal through its own rules, donors first; its excess on."""
        incoming = self.extra.copy()
        self.extra[:] = 0.0
        owners_begin = book.owners_begin
        for i in self.principal_order:
            g = self.groups[i]
            if self.nas:
                book.owners_begin = owners_begin * self.member_f[i]
            amount = self.principal_in[i][t] + incoming[i]
            for k in self.strips[i]:
                amount -= book.paid[k]  # the strip took its share of its pool's principal
            book.principal_total = amount
            left = amount - self.rules[i].allocate(amount, book)
            if g.principal_to is not None:
                self.cross_prin[t, i] = left
                incoming[g.principal_to] += left
            else:
                self.resid_prin[t, i] = left
        book.owners_begin = owners_begin

    def write_down(self, t: int, balance: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Each group's pools' realized losses of period t written down against its own classes
        (`balance` [class, scenario] in place, `out` the write-downs), in its loss order. What a
        group's classes cannot absorb stays that group's (not passed to another group: the
        deal's cross lines direct cash, not losses). Returns the deal's unabsorbed loss."""
        losses, unallocated = self.losses or [], self.unallocated
        for i, g in enumerate(self.groups):
            unallocated[t, i] = write_down(balance, losses[i][t], g.losses, out)  # type: ignore[index]
        return unallocated[t].sum(axis=0)  # type: ignore[index]

    def reimburse(self, t: int, owed: np.ndarray, out: np.ndarray) -> None:
        """After the period's write-downs: each reimbursing group's excess interest it kept (what
        it leaves to the residual, or holds back from the group it passes its excess to) pays back
        its own classes' write-downs, in its loss order read backwards (`reimburse`); `owed`
        [class, scenario] in place, each class's payment in `out` [class, scenario]."""
        for i, g in enumerate(self.groups):
            if not g.reimburse:
                continue
            keep = self.resid_int[t, i] + self.hold[i]
            # Rounding's dust of excess interest (~1e-9 dollars) stays with the residual.
            excess = np.where(keep > DUST, keep, 0.0)
            self.resid_int[t, i] = keep - reimburse(excess, owed, g.losses, out)
            self.hold[i] = 0.0

    def residuals(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """What the groups left to the residual in period t: (interest, principal) [scenario]."""
        return self.resid_int[t].sum(axis=0), self.resid_prin[t].sum(axis=0)

    def outputs(self) -> dict[str, np.ndarray | None]:
        return {"group_residual_interest": self.resid_int.transpose(2, 1, 0),
                "group_residual_principal": self.resid_prin.transpose(2, 1, 0),
                "cross_interest": self.cross_int.transpose(2, 1, 0),
                "cross_principal": self.cross_prin.transpose(2, 1, 0),
                "cross_interest_principal": self.int_as_prin.transpose(2, 1, 0),
                "group_unallocated_loss": (self.unallocated.transpose(2, 1, 0)
                                           if self.unallocated is not None else None)}
