"""A deal made ready for the compiled kernel: its rule program and every per-class and per-pool
array the kernel reads, built once per deal and cached (a run then builds no set-up arrays).

No numba here: building the program needs none, and a deal whose rules cannot be compiled
(`NotCompiled`) runs on the numpy interpreter.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..model.deal import Deal
from ..model.enhancement import ENHANCEMENT_FIELDS
from ..model.groups import serving_order
from ..model.prepayment import ConstantGrid
from ..model.rules.program import NAS_SHARE, TRIGGER, NotCompiled, Program, encode
from . import buffers
from .audit import CONSERVATION_RTOL
from .collateral import pool_amortization
from .prepayment import constant_smm, constant_speeds, smm_matrix
from .sums import SUM_FIELDS

if TYPE_CHECKING:
    from .credit import CreditCollateral

_CACHE: weakref.WeakKeyDictionary[Deal, CompiledDeal | None] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class CompiledDeal:
    """What the kernel needs of one deal, as arrays (see engine/kernel.py `run_kernel`)."""

    periods: int
    n_classes: int
    accrual_classes: np.ndarray  # class indices whose accretion is stored, in slot order
    notional_classes: np.ndarray
    floating: bool
    pool_balance: np.ndarray
    pool_age: np.ndarray
    amort: np.ndarray  # [pool, period]: scheduled principal as a fraction of the balance
    net_m: np.ndarray
    fee_m: np.ndarray
    begin0: np.ndarray  # [class]: balances (notional ones too) at the start of period 1
    class_args: tuple
    flag_args: tuple
    program_args: tuple
    store_args: tuple  # ([class] paid rows, [class] interest rows) that can be other than zero
    deal_scale: float
    group_args: tuple = ()  # collateral groups and WAC classes (`_group_arrays`)
    group_labels: tuple[str, ...] = ()  # "group 1", ... (the audit's words)

    @functools.cached_property
    def launch_parts(self) -> tuple[tuple, tuple, tuple]:
        """The kernel's arguments that are the deal's, in their three runs between the per-run
        ones (engine/kernel.py `run_kernel`; `_launch`): packed once, not on every run."""
        return ((self.pool_balance, self.pool_age, self.amort, self.net_m, *self.class_args),
                (*self.flag_args, *self.program_args, *self.store_args, self.deal_scale),
                tuple(self.group_args))


def compiled(deal: Deal) -> CompiledDeal | None:
    """The deal's compiled form, built on first use; None when a rule kind has no compiled form."""
    try:
        return _CACHE[deal]
    except KeyError:
        pass
    try:
        got: CompiledDeal | None = _build(deal)
    except NotCompiled:
        got = None
    _CACHE[deal] = got
    return got


def adopt(deal: Deal, program: CompiledDeal | None) -> None:
    """Take `program` as the deal's compiled form: a grid's worker process is sent each deal with
    the program built once in the driver (analysis/grid.py), rather than building it again."""
    _CACHE[deal] = program


def _ints(values: list[int] | tuple[int, ...]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _floats(values: list[float] | tuple[float, ...]) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _build(deal: Deal) -> CompiledDeal:
    periods = deal.periods
    classes = deal.classes
    pools = deal.pools
    ages = np.array([p.age for p in pools], dtype=float)
    program = Program(periods, len(pools),
                      smm_of=lambda speed: smm_matrix([speed], ages, periods)[0])
    trig_grp: list[int] = []  # each trigger's group (-1: the deal's)

    def encode_for(rule, group: int) -> int:
        first = len(program.thresholds)
        root = encode(rule, program)
        trig_grp.extend([group] * (len(program.thresholds) - first))
        return root

    # A grouped deal: each group's principal rules are a program of their own (their root in
    # `g_root`), paid from its own pools (engine/waterfall.py `_Groups`).
    group_of = {k: i for i, g in enumerate(deal.groups) for k in g.classes}
    g_roots = [encode_for(g.principal(deal.principal), i) for i, g in enumerate(deal.groups)]
    principal_root = g_roots[0] if g_roots else encode_for(deal.principal, -1)
    acc = [(c.index, encode_for(deal.accretion[c.index], group_of.get(c.index, -1)),
            list(deal.accretion[c.index].members)) for c in classes if c.accrual]
    arrays = program.arrays()

    amort = np.ascontiguousarray(pool_amortization(pools, periods))
    net_m = _floats([p.coupon / 12.0 for p in pools])
    fee_m = _floats([p.wac / 12.0 - p.coupon / 12.0 for p in pools])

    floaters = [c for c in classes if c.formula is not None]
    names = deal.index_names
    days = np.ones(periods)
    if floaters:
        days = np.asarray(deal.day_count.accrual_months(deal.first_payment, periods), dtype=float)
    f_index = _ints([names.index(c.formula.index) if c.formula is not None else -1 for c in classes])
    def formula(attr: str) -> np.ndarray:
        return _floats([getattr(c.formula, attr) if c.formula is not None else 0.0 for c in classes])

    split_parent = np.zeros(len(classes), dtype=np.bool_)
    split_parent[[c.parent for c in classes if c.parent is not None]] = True
    kids = [(c.index, c.parent, c.balance / classes[c.parent].balance)
            for c in classes if c.parent is not None]
    strips = [(c.index, c.strip[0], c.strip[1]) for c in classes if c.strip is not None]
    notionals = [(c.index, c.notional) for c in classes if c.notional is not None]
    ntl_classes: list[int] = []
    ntl_pools: list[int] = []
    ntl_first_class, ntl_n_class, ntl_first_pool, ntl_n_pool = [], [], [], []
    for _, n in notionals:
        ntl_first_class.append(len(ntl_classes))
        ntl_n_class.append(len(n.classes))
        ntl_classes.extend(n.classes)
        ntl_first_pool.append(len(ntl_pools))
        ntl_n_pool.append(len(n.pools))
        ntl_pools.extend(n.pools)
    init_balance = _floats([0.0 if c.is_notional else c.balance for c in classes])
    begin0 = init_balance.copy()
    pool0 = _floats([p.balance for p in pools])
    for k, n in notionals:
        base = init_balance[list(n.classes)].sum() if n.classes else 0.0
        if n.pools:
            base = base + pool0[list(n.pools)].sum()
        if n.collateral:
            base = base + pool0.sum()
        begin0[k] = n.factor * base
    targets: list[int] = []
    first_target, n_target = [], []
    for _, _, members in acc:
        first_target.append(len(targets))
        n_target.append(len(members))
        targets.extend(members)
    has_nas = NAS_SHARE in program.kind  # the owners' beginning balances are needed

    def mask(pred) -> np.ndarray:
        return np.array([bool(pred(c)) for c in classes], dtype=np.bool_)

    class_args = (
        init_balance, begin0, _floats([c.coupon for c in classes]), f_index, formula("constant"),
        formula("multiplier"), formula("cap"), formula("floor"), days,
    )
    flags = (
        mask(lambda c: c.parent is None), split_parent, mask(lambda c: c.in_waterfall),
        mask(lambda c: c.holds_cash), mask(lambda c: c.on_books), ~split_parent,
        _ints([k for k, _, _ in kids]), _ints([p for _, p, _ in kids]), _floats([s for _, _, s in kids]),
        _ints([k for k, _, _ in strips]), _ints([p for _, p, _ in strips]),
        _floats([s for _, _, s in strips]),
        _ints([k for k, _ in notionals]), _floats([n.factor for _, n in notionals]),
        _ints(ntl_first_class), _ints(ntl_n_class), _ints(ntl_classes), _ints(ntl_first_pool),
        _ints(ntl_n_pool), _ints(ntl_pools), np.array([n.collateral for _, n in notionals], dtype=np.bool_),
        _ints([z for z, _, _ in acc]), _ints([r for _, r, _ in acc]), _ints(first_target), _ints(n_target),
        _ints(targets), _ints(list(range(len(acc)))), bool(has_nas), int(principal_root),
    )
    sticky = np.zeros(len(program.thresholds), dtype=np.bool_)
    for n, k in enumerate(program.kind):
        if k == TRIGGER:  # its `b` says sticky
            sticky[program.a[n]] = bool(program.b[n])
    program_args = (
        arrays["kind"], arrays["a"], arrays["b"], arrays["first_child"], arrays["n_children"],
        arrays["first_member"], arrays["n_members"], arrays["children"], arrays["members"],
        arrays["weights"], arrays["schedules"], arrays["nas"], arrays["thresholds"], sticky,
        arrays["shift"], arrays["trig"], arrays["cond_ops"], arrays["cond_num"], arrays["node_cond"],
    )
    # Rows the waterfall can never fill are not written: run_compiled has them read zero without
    # writing pages that are zero already, so the pages of a residual's or a notional class's
    # principal are never touched.
    # A class without a balance (and no accrual to give it one) is paid no principal and owes
    # no interest; a fixed zero coupon owes none either.
    accrues = mask(lambda c: c.accrual)
    holds = (init_balance != 0.0) | accrues
    zero_rate = (f_index < 0) & (_floats([c.coupon for c in classes]) == 0.0)
    store_paid = holds | split_parent
    store_int = ~zero_rate & (holds | mask(lambda c: c.is_notional) | split_parent)
    return CompiledDeal(
        periods=periods, n_classes=len(classes),
        accrual_classes=_ints([z for z, _, _ in acc]), notional_classes=_ints([k for k, _ in notionals]),
        floating=bool(floaters), pool_balance=pool0, pool_age=ages, amort=amort, net_m=net_m, fee_m=fee_m,
        begin0=begin0, class_args=class_args, flag_args=flags, program_args=program_args,
        store_args=(store_paid, store_int),
        deal_scale=CONSERVATION_RTOL * max(sum(p.balance for p in pools), 1.0),
        group_args=_group_arrays(deal, g_roots, trig_grp),
        group_labels=tuple(g.label for g in deal.groups),
    )


def _group_arrays(deal: Deal, g_roots: list[int], trig_grp: list[int]) -> tuple:
    """The kernel's arguments for collateral groups and WAC classes (see engine/kernel.py
    `run_kernel`): -1 rows and empty arrays for a deal without groups."""
    groups = deal.groups
    pool_grp = np.full(len(deal.pools), -1, dtype=np.int64)
    class_grp = np.full(len(deal.classes), -1, dtype=np.int64)
    for i, g in enumerate(groups):
        pool_grp[list(g.pools)] = i
        class_grp[list(g.classes)] = i
    tier_n = [len(g.losses) for g in groups]  # Deal.losses is the groups' tiers end to end
    # WAC classes: 0, the net WAC of every pool; 1 + g, of group g's pools.
    wac_src = np.array([-1 if not c.net_wac else (0 if not groups else 1 + group_of)
                        for c, group_of in zip(deal.classes, class_grp, strict=True)], dtype=np.int64)
    sets = [tuple(range(len(deal.pools))), *(g.pools for g in groups)] if deal.has_wac_classes else []
    net = np.array([p.net_coupon for p in deal.pools])
    # At issue, as engine/waterfall.py `net_wac` starts (the rate carried if no balance is left).
    wac_init = _floats([float(net[list(ps)] @ [deal.pools[p].balance for p in ps])
                        / sum(deal.pools[p].balance for p in ps) for ps in sets])
    return (
        pool_grp, class_grp, _ints(serving_order(groups, "interest")),
        _ints(serving_order(groups, "principal")),
        _ints([-1 if g.interest_to is None else g.interest_to for g in groups]),
        _ints([-1 if g.principal_to is None else g.principal_to for g in groups]), _ints(g_roots),
        _ints(list(np.cumsum([0, *tier_n])[:-1])), _ints(tier_n),
        np.array([g.reimburse for g in groups], dtype=np.bool_), _ints(trig_grp), wac_src, _floats(list(net)),
        wac_init,
    )


# The kernel's group outputs [what, group, scenario, period], in this order, as ClassFlows names them.
G_OUTPUTS = ("group_residual_interest", "group_residual_principal", "cross_interest", "cross_principal",
             "cross_interest_principal", "group_unallocated_loss")


def smm_arrays(prepayments: list, ages: np.ndarray, periods: int,
               grid: ConstantGrid | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SMM for the kernel, computed by engine/prepayment.py so that both engines use the very same
    numbers (numpy's vectorised power differs from the C library's in the last bit).

    A constant speed needs only its first periods: from loan age 30 a PSA speed is flat, and a
    CPR or SMM speed is flat throughout. Returns ([scenario, pool, k] for constant speeds, each
    scenario's row of the full [row, pool, period] array of the others (-1: constant), that array).
    `grid`: the same speeds as arrays, when they are all constant (read while validating them).
    """
    n = len(prepayments)
    width = int(min(periods, max(1, 30 - int(ages.min(initial=30)))))
    if grid is not None or {p.kind for p in prepayments} <= {"constant"}:
        # the usual grid: no rows to scatter (`grid`: its speeds read already)
        if grid is not None:
            smm_const = constant_smm(grid.speed, grid.units, ages, width, bounds=(grid.low, grid.high))
        else:
            smm_const = (constant_smm(*constant_speeds(prepayments), ages, width) if n
                         else np.zeros((0, len(ages), width)))
        return smm_const, np.full(n, -1, dtype=np.int64), np.zeros((0, len(ages), periods))
    constant = [s for s, p in enumerate(prepayments) if p.kind == "constant"]
    other = [s for s, p in enumerate(prepayments) if p.kind != "constant"]
    smm_const = np.zeros((n, len(ages), width))
    if constant:
        smm_const[constant] = smm_matrix([prepayments[s] for s in constant], ages, width)
    row = np.full(n, -1, dtype=np.int64)
    row[other] = np.arange(len(other))
    paths = (smm_matrix([prepayments[s] for s in other], ages, periods) if other
             else np.zeros((0, len(ages), periods)))
    return smm_const, row, paths


def _smm_inputs(cd: CompiledDeal, prepayments: list | np.ndarray,
                grid: ConstantGrid | None = None) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """(scenarios, periods, and the kernel's three SMM arguments) for speeds or an SMM array."""
    n = len(prepayments)
    if isinstance(prepayments, np.ndarray):
        smm_const = np.zeros((n, len(cd.pool_age), 1))
        row = np.arange(n, dtype=np.int64)
        return n, prepayments.shape[2], smm_const, row, np.ascontiguousarray(prepayments, dtype=float)
    return n, cd.periods, *smm_arrays(prepayments, cd.pool_age, cd.periods, grid)


def _launch(cd: CompiledDeal, smm: tuple, index_rates: np.ndarray, summary: tuple, credit: tuple,
            outputs: tuple, n: int, grouped: tuple | None = None,
            enhancement: tuple | None = None) -> None:
    """Run the kernel; raise EngineError naming the first failing scenario and period of each
    audit check."""
    from . import kernel  # numba: only once a deal runs
    from .audit import EngineError

    fail_t = np.full(n, -1, dtype=np.int64)
    fail_code = np.zeros(n, dtype=np.int64)
    fail_grp = np.full(n, -1, dtype=np.int64)
    deal_args, flag_args, group_args = cd.launch_parts
    kernel.run(*smm, *deal_args, np.ascontiguousarray(index_rates, dtype=float), *flag_args, *summary,
               *credit, *group_args, *(grouped or _no_groups()), *(enhancement or _no_enhancement()),
               *outputs, fail_t, fail_code, fail_grp, scenarios=n)
    # (the kernel writes a scenario's period only where a check fails: comparing the bytes asks no
    # ufunc, whose first call after the kernel has run costs ~60 us of cold caches here)
    if fail_t.tobytes() != b"\xff" * fail_t.nbytes and (fail_t >= 0).any():
        raise EngineError("the waterfall does not balance: "
                          + audit_message(fail_t, fail_code, fail_grp, cd.group_labels))


@functools.cache
def _no_groups() -> tuple:
    """The kernel's group arguments of a run with no grouped credit (a grouped credit run's
    recoveries and losses by pool; the group outputs): empty arrays, one set for every run."""
    p3 = np.zeros((0, 0, 0))
    return (p3, p3, np.zeros((6, 0, 0, 0)), np.zeros((6, 0), dtype=np.bool_))


def run_compiled(deal: Deal, cd: CompiledDeal, prepayments: list | np.ndarray, index_rates: np.ndarray,
                 credit: CreditCollateral | None = None, grid: ConstantGrid | None = None):
    """Run the kernel over the scenarios; return (collateral, class flows), audited.

    `prepayments`: one speed per scenario, or the SMM itself [scenario, pool, period] (the
    solvers' speeds that change after some periods), whose periods may be the deal's first ones
    only: the run then stops there (`index_rates` covers the same periods). `credit`: a credit
    run's collateral (engine/credit.py), which the kernel pays out instead of projecting its
    own, writing realized losses down in the deal's loss order. `grid`: the speeds as arrays,
    when they are all constant (model/prepayment.py `constant_grid`)."""
    from .flows import LeanClassFlows, LeanCollateralFlows
    from .waterfall import ClassFlows

    n, t, *smm = _smm_inputs(cd, prepayments, grid)
    c = cd.n_classes
    # [class, scenario, period] (see run_kernel), from the buffer pool (engine/buffers.py): memory
    # an earlier run used, so dirty. What the kernel writes in full is taken as it is; the rest
    # must read zero: the rows of a class whose principal or interest it never writes
    # (`store_args`: left untouched when still zero, so no memory), the write-downs and
    # reimbursements it writes only where they are not zero, a group output it never writes
    # (`_group_rows`).
    store_paid, store_int = cd.store_args
    paid = buffers.zeros((c, n, t), written=store_paid)
    interest = buffers.zeros((c, n, t), written=store_int)
    accretion = buffers.empty((len(cd.accrual_classes), n, t))
    resid_int = buffers.empty((n, t))
    resid_prin = buffers.empty((n, t))
    short = np.zeros(n, dtype=np.bool_)
    summary = (True, cd.fee_m, np.zeros((0, t)), -1, 0.0, np.zeros((0, 0, 0)))
    outputs = (paid, interest, accretion, resid_int, resid_prin, short)
    # (a deal with neither OC nor a reserve account: no [field, scenario, period] block at all;
    # a deal with either: every field written every period)
    enhanced = deal.overcollateralization is not None or deal.reserve is not None
    enh_out = buffers.empty((len(ENHANCEMENT_FIELDS), n, t) if enhanced else (0, 0, 0))
    enhancement = _enhancement_args(deal, credit, enh_out)
    figures = ({name: enh_out[i] for i, name in enumerate(ENHANCEMENT_FIELDS)}
               if enhancement is not None else None)
    # A grouped deal: what each group left and passed on [what, group, scenario, period]
    # (G_OUTPUTS); in a credit run, its pools' recoveries and losses [scenario, pool, period].
    n_grp = len(deal.groups)
    store = _group_rows(deal, credit is not None)
    g_out = buffers.zeros((len(G_OUTPUTS), n_grp, n, t) if n_grp else (len(G_OUTPUTS), 0, 0, 0),
                          written=store)
    p3 = np.zeros((0, 0, 0))
    groups = {name: g_out[k].transpose(1, 0, 2) for k, name in enumerate(G_OUTPUTS)} if n_grp else {}
    if credit is None:
        groups.pop("group_unallocated_loss", None)
        _launch(cd, tuple(smm), index_rates, summary, _no_credit(), outputs, n, (p3, p3, g_out, store),
                enhancement)
        coll = LeanCollateralFlows(deal, prepayments)
        source = LeanClassFlows(deal, cd, coll, paid, interest, accretion, short, index_rates)
        flows = ClassFlows(interest=interest.transpose(1, 0, 2), principal=paid.transpose(1, 0, 2),
                           residual_interest=resid_int, residual_principal=resid_prin, source=source,
                           enhancement=figures, **groups)
        return coll, flows
    writedown = buffers.zeros((c, n, t))
    unallocated = buffers.empty((n, t))  # (written every period of a credit run)
    # A deal that reimburses losses: what each class is paid back (empty: the kernel pays none).
    reimbursed = buffers.zeros((c, n, t) if deal.reimburse_losses else (0, 0, 0))
    by_pool = credit.by_pool
    grouped = ((np.ascontiguousarray(by_pool["recoveries"], dtype=float),
                np.ascontiguousarray(by_pool["losses"], dtype=float), g_out, store) if n_grp
               else (p3, p3, g_out, store))
    _launch(cd, tuple(smm), index_rates, summary,
            _credit_args(deal, credit, writedown, unallocated, reimbursed), outputs, n, grouped, enhancement)
    source = LeanClassFlows(deal, cd, credit, paid, interest, accretion, short, index_rates, writedown)
    flows = ClassFlows(interest=interest.transpose(1, 0, 2), principal=paid.transpose(1, 0, 2),
                       residual_interest=resid_int, residual_principal=resid_prin, source=source,
                       writedown=writedown.transpose(1, 0, 2), unallocated_loss=unallocated,
                       reimbursed=reimbursed.transpose(1, 0, 2) if deal.reimburse_losses else None,
                       enhancement=figures, **groups)
    return credit, flows


def _group_rows(deal: Deal, credit: bool) -> np.ndarray:
    """Which group outputs (G_OUTPUTS) [what, group] can be other than zero: what a group leaves
    to the residual of a kind it does not pass on, what it passes on, a donor's excess interest
    it pays as principal (when one directs it there), a credit run's unabsorbed loss."""
    groups = deal.groups
    rows = np.zeros((len(G_OUTPUTS), len(groups)), dtype=np.bool_)
    for i, g in enumerate(groups):
        rows[0, i] = g.interest_to is None or (credit and g.reimburse)  # (a reimbursing donor: its dust)
        rows[1, i] = g.principal_to is None
        rows[2, i] = g.interest_to is not None
        rows[3, i] = g.principal_to is not None
        rows[4, i] = any(d.interest_to == i for d in groups)
        rows[5, i] = credit
    return rows


@functools.cache
def _no_credit() -> tuple:
    """The kernel's credit arguments of a run without defaults (empty arrays, so one set serves
    every run: ~10 microseconds a run less)."""
    p3, p2, i1 = np.zeros((0, 0, 0)), np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return (False, p3, p3, p3, p3, p3, p2, p2, p2, i1, i1, i1, p3, p2, p3)


@functools.cache
def _no_enhancement() -> tuple:
    """The kernel's enhancement arguments of a deal with no OC and no reserve account (empty
    arrays: one set for every run)."""
    return (False, np.zeros(0), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0, 0)))


def _enhancement_args(deal: Deal, credit: CreditCollateral | None, out: np.ndarray) -> tuple | None:
    """The kernel's OC and reserve arguments (model/enhancement.py), None for a deal with
    neither: the OC's scalars, the reserve's, the triggers the collateral decides, the outputs."""
    oc, reserve = deal.overcollateralization, deal.reserve
    if oc is None and reserve is None:
        return None
    fail = np.zeros((0, 0))
    if oc is not None and oc.triggers and credit is not None:
        # Without defaults no loss or delinquency trigger can fail: nothing to pass.
        fail = np.ascontiguousarray(oc.static_fails(credit.beginning_balance, credit.losses,
                                                    credit.delinquency if credit.delinquency is not None
                                                    else np.zeros_like(credit.losses)), dtype=float)
    return (True, oc.params() if oc is not None else np.zeros(0),
            reserve.params(deal.collateral_balance) if reserve is not None else np.zeros(0), fail, out)


def _credit_args(deal: Deal, credit: CreditCollateral, writedown: np.ndarray,
                 unallocated: np.ndarray, reimbursed: np.ndarray) -> tuple:
    """The kernel's credit arguments: the collateral engine/credit.py computed, the loss order's
    tiers, and the outputs."""
    by_pool = credit.by_pool

    def pools(name: str) -> np.ndarray:
        return np.ascontiguousarray(by_pool[name], dtype=float)

    tiers = deal.losses or ()
    first = np.cumsum([0, *(len(t) for t in tiers)])[:-1]
    return (True, pools("beginning_balance"), pools("ending_balance"), pools("scheduled_principal"),
            pools("prepayment"), pools("interest"), np.ascontiguousarray(credit.recoveries, dtype=float),
            np.ascontiguousarray(credit.losses, dtype=float),
            np.ascontiguousarray(credit.delinquency if credit.delinquency is not None
                                 else np.zeros_like(credit.losses), dtype=float), _ints(list(first)),
            _ints([len(t) for t in tiers]), _ints([c for t in tiers for c in t]), writedown, unallocated,
            reimbursed)




def sum_compiled(deal: Deal, cd: CompiledDeal, prepayments: list | np.ndarray, index_rates: np.ndarray,
                 discount: np.ndarray, dust: float, grid: ConstantGrid | None = None) -> np.ndarray:
    """A summaries-only run: each scenario's sums as the kernel adds them up while it runs,
    [scenario, class (then the collateral), field]: the fields of engine/sums.py, then the present
    values at each row of `discount` [rate, period] (the discount factors of each period's
    cash). Nothing per period is kept; audited as a full run is."""
    n, t, *smm = _smm_inputs(cd, prepayments, grid)
    # (a copy: a broadcast view is read-only, and numba compiles the kernel again for a read-only
    # array, ~40 s on the first summary of a process that ran the deal)
    discount = np.array(np.broadcast_to(discount, (discount.shape[0], t)), dtype=float, order="C")
    # (reused memory: no faults. The kernel adds into every scenario's sums, so every page of
    # them is written anyway: cleared with one fill, not read first as `zeros` would)
    sums = buffers.empty((n, cd.n_classes + 1, SUM_FIELDS + discount.shape[0]))
    sums.fill(0.0)
    resid = deal.residual.index if deal.residual is not None else -1
    empty3, empty2 = np.zeros((0, 0, 0)), np.zeros((0, 0))
    summary = (False, cd.fee_m, discount, resid, float(dust), sums)
    outputs = (empty3, empty3, empty3, empty2, empty2, np.zeros(n, dtype=np.bool_))
    _launch(cd, tuple(smm), index_rates, summary, _no_credit(), outputs, n)
    return sums


AUDIT_WORDS = (
    (1, "cash in differs from cash out"),
    (2, "class principal paid differs from the fall in class balances"),
    (4, "classes were paid more than the collateral provided"),
    (8, "principal went to the residual while a class still had a balance"),
    (16, "a class balance went negative"),
    (32, "a class was paid a negative amount"),
    (64, "the collateral's losses differ from the classes' write-downs"),
    (128, "a class was written down by a negative amount"),
    # a collateral group's own books (engine/audit.py `_group_checks`), prefixed "group NAME: "
    (256, "cash in differs from cash out"),
    (512, "its pools' principal differs from the fall in its classes' balances"),
    (1024, "its pools' losses differ from its classes' write-downs"),
    (2048, "a negative loss was left unabsorbed"),
    (4096, "classes were paid more than the group provided"),
    (8192, "principal left the group while one of its classes had a balance"),
)


def audit_message(fail_t: np.ndarray, fail_code: np.ndarray, fail_grp: np.ndarray | None = None,
                  groups: tuple[str, ...] = ()) -> str:
    """engine/audit.py's words for the kernel's failures: each check at the first period (and
    the first scenario there) that fails it; a group's, with the first group that fails it."""
    bad = np.nonzero(fail_t >= 0)[0]
    problems = []
    for bit, what in AUDIT_WORDS:
        hit = [s for s in bad if fail_code[s] & bit]
        if hit:
            s = min(hit, key=lambda s: (fail_t[s], s))
            if bit >= 256 and fail_grp is not None and 0 <= fail_grp[s] < len(groups):
                what = f"{groups[fail_grp[s]]}: {what}"
            problems.append(f"{what} (scenario {s + 1}, period {fail_t[s] + 1})")
    return "; ".join(problems)
