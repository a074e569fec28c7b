"""The compiled engine: collateral, waterfall and audit per scenario in one numba loop.

The deal's rules are flattened once (model/rules/program.py, cached per deal by
engine/compiled.py); this module runs them. Per scenario (in parallel over scenarios, `prange`)
a scalar loop over periods: the pools amortize and prepay (SMM from the speed, computed here),
strips take their share, interest is paid pro rata when short, Z classes accrete, principal goes
through the program (a small stack machine, since numba has no recursion to speak of), and the
period's books are audited on the spot (engine/audit.py's checks, same tolerances).

It writes only what results need: each class's principal and interest paid, the accrual
classes' accretion and the residual's two flows; engine/flows.py derives the rest (balances,
and the collateral, which is a function of the speeds alone). The numpy interpreter
(engine/waterfall.py) is the fallback and the check.

numba is imported here only, when a deal first runs, so `structure check` never loads it.
Compiled code is cached on disk: in NUMBA_CACHE_DIR, which is set (when unset) to a user cache
directory so that a read-only install still caches.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "structurer" / "numba")


def _writable(folder: str) -> bool:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _choose_cache() -> bool:
    """Point NUMBA_CACHE_DIR at a folder this user can write (a user's own setting first, then
    the user cache directory, then the temp directory); False when none can be written, and
    then the kernel compiles in each process instead of failing (numba refuses `cache=True`
    with nowhere to write)."""
    tried = [os.environ.get("NUMBA_CACHE_DIR") or _cache_dir(),
             str(Path(tempfile.gettempdir()) / f"structurer-numba-{os.getuid()}")]
    for folder in tried:
        if _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = folder
            return True
    return False


# Before numba is imported: it reads the variable once.
CACHE = _choose_cache()

import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import numpy as np  # noqa: E402


@contextmanager
def _without_scipy() -> Iterator[None]:
    """numba imports scipy to check its version and, when it first loads compiled code, scipy's
    BLAS (for np.dot, which the kernel does not use); a run must not pay for scipy
    (tests/test_startup.py). While this holds, `import scipy` fails, so numba goes without.
    A process that imported scipy already keeps it."""
    if "scipy" in sys.modules:
        yield
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("scipy", 0) is None:
            del sys.modules["scipy"]


with _without_scipy():
    import numba

njit, prange = numba.njit, numba.prange

from ..model.rules.nas_share import kernel_nas_share  # noqa: E402
from ..model.rules.pay import kernel_pay  # noqa: E402
from ..model.rules.pro_rata import ROUNDING  # noqa: E402
from ..model.rules.program import (  # noqa: E402
    NAS_SHARE,
    PAY,
    PRO_RATA,
    SEQUENTIAL,
    SHIFTING,
    TO_SCHEDULE,
    TRIGGER,
)
from ..model.rules.sequential import kernel_flat_sequential  # noqa: E402
from ..model.rules.shifting import kernel_senior_amount  # noqa: E402
from ..model.rules.to_schedule import kernel_over_schedule  # noqa: E402
from ..model.rules.trigger import kernel_above  # noqa: E402
from .audit import CONSERVATION_RTOL  # noqa: E402
from .sums import (  # noqa: E402
    F_ACCRUED,
    F_FEE,
    F_FINAL,
    F_FIRST,
    F_INTEREST,
    F_LAST,
    F_PREPAID,
    F_PRINCIPAL,
    F_PV,
    F_SCHEDULED,
    F_WAL_PAID,
    F_WAL_WEIGHTED,
)

DUST = 1e-9  # as engine/waterfall.py: an accrual class's targets below this count as retired

# Each rule kind's step, compiled from the function next to its numpy allocate.
_pay = njit(cache=CACHE, error_model="numpy")(kernel_pay)
_flat_seq = njit(cache=CACHE, error_model="numpy")(kernel_flat_sequential)
_over = njit(cache=CACHE, error_model="numpy")(kernel_over_schedule)
_nas = njit(cache=CACHE, error_model="numpy")(kernel_nas_share)
_above = njit(cache=CACHE, error_model="numpy")(kernel_above)
_senior_amount = njit(cache=CACHE, error_model="numpy")(kernel_senior_amount)

BLOCK = 8  # scenarios per task: a task's call pays the arrays' reference counts once for all

# Audit failures, as bits (engine/compiled.py turns them into audit.py's words).
GAP, MOVED, OVERPAID, LEAKED, NEGATIVE_BALANCE, NEGATIVE_AMOUNT, LOSSES, NEGATIVE_WRITEDOWN = (
    1, 2, 4, 8, 16, 32, 64, 128)

# Why the hot loop is one function: numba increments and decrements the reference count of
# every array handed to a function (or bound to a new name, as inlining does), with an atomic
# instruction, and the program's arrays are shared by all threads, so those counts bounce
# between cores. Passing ~25 arrays to an allocation step once a period cost more than the
# waterfall itself. So the scenarios, the allocation (a stack machine) and the capacity walk
# are written inline below, reading only this function's own arguments; the rule steps called
# in the loop take and return scalars. error_model="numpy": a division is IEEE division, with
# no zero-divisor check (every division here is guarded as the interpreter's is).


@njit(cache=CACHE, parallel=True, error_model="numpy")
def run_kernel(
    # SMM: a constant speed's [scenario, pool, k] for k = min(period, its last column) (PSA
    # stops changing at loan age 30); any other speed's row of `paths` [row, pool, period]
    smm_const, path_row, paths,
    # pools
    pool_balance, pool_age, amort, net_m,
    # classes
    init_balance, begin0, fixed_coupon, f_index, f_const, f_mult, f_cap, f_floor, days,
    index_rates, direct, split_parent, owner, cash, book, cash_int,
    kid_k, kid_parent, kid_share, strip_k, strip_pool, strip_share,
    ntl_k, ntl_factor, ntl_first_class, ntl_n_class, ntl_classes, ntl_first_pool, ntl_n_pool,
    ntl_pools, ntl_all,
    acc_z, acc_root, acc_first_target, acc_n_target, acc_targets, acc_slot,
    has_nas, principal_root,
    # the program
    kind, pa, pb, first_child, n_children, first_member, n_members, children, members, weights,
    schedules, nas, thresholds, sticky_rows,
    # shifting interest: each rule's four rows [period] (model/rules/shifting.py `encode`)
    shift,
    store_paid, store_int,
    deal_scale,
    # summaries only (keep_rows False): fee rates, discount factors [rate, period], the residual
    # class (-1: none), what counts as a payment; the sums [scenario, class + collateral, field]
    keep_rows, fee_m, disc, resid_class, dust, sums,
    # a credit run (`ext`): the collateral as engine/credit.py computed it under defaults,
    # [scenario, pool, period] (beginning and ending balance, scheduled principal, prepayments,
    # interest) and [scenario, period] (recoveries, realized losses); the loss order as tiers of
    # classes; the write-downs [class, scenario, period] and the loss no class absorbed; the 60+ day
    # delinquent share each scenario assumes [scenario, period] (for shifting-interest triggers);
    # a deal that reimburses losses out of excess interest: the reimbursements [class, scenario,
    # period] (empty otherwise)
    ext, ext_b, ext_e, ext_sched, ext_prep, ext_int, ext_recov, ext_loss, ext_delinq,
    tier_first, tier_n, tier_members, wd_out, unalloc_out, rb_out,
    # outputs
    paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code,
):
    # Outputs are [class, scenario, period] (the residual's [scenario, period]): a scenario
    # writes each class's periods one after another, and a class whose rows are never written
    # (`store_paid`, `store_int`) leaves whole pages untouched. Results see [scenario, class,
    # period] views, each scenario's periods contiguous. Without `keep_rows` nothing per period is
    # written: each scenario's figures are summed as it runs (see SUM_FIELDS).
    n_scen = fail_t.shape[0]
    n_blocks = (n_scen + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        _scenarios(blk * BLOCK, min(n_scen, (blk + 1) * BLOCK), smm_const, path_row, paths,
                   pool_balance, amort, net_m, init_balance, begin0, fixed_coupon, f_index, f_const,
                   f_mult, f_cap, f_floor, days, index_rates, direct, owner, cash, book, cash_int,
                   kid_k, kid_parent, kid_share, strip_k, strip_pool, strip_share, ntl_k, ntl_factor,
                   ntl_first_class, ntl_n_class, ntl_classes, ntl_first_pool, ntl_n_pool, ntl_pools,
                   ntl_all, acc_z, acc_root, acc_first_target, acc_n_target, acc_targets, acc_slot,
                   has_nas, principal_root, kind, pa, pb, first_child, n_children, first_member,
                   n_members, children, members, weights, schedules, nas, thresholds, sticky_rows,
                   shift, store_paid, store_int, deal_scale, keep_rows, fee_m, disc, resid_class, dust,
                   sums, ext, ext_b, ext_e, ext_sched, ext_prep, ext_int, ext_recov, ext_loss,
                   ext_delinq, tier_first, tier_n, tier_members, wd_out, unalloc_out, rb_out,
                   paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code)


@njit(cache=CACHE, error_model="numpy")
def _scenarios(s0, s1, smm_const, path_row, paths, pool_balance, amort, net_m, init_balance, begin0,
               fixed_coupon, f_index, f_const, f_mult, f_cap, f_floor, days, index_rates, direct,
               owner, cash, book, cash_int, kid_k, kid_parent, kid_share, strip_k, strip_pool,
               strip_share, ntl_k, ntl_factor, ntl_first_class, ntl_n_class, ntl_classes,
               ntl_first_pool, ntl_n_pool, ntl_pools, ntl_all, acc_z, acc_root, acc_first_target,
               acc_n_target, acc_targets, acc_slot, has_nas, principal_root, kind, pa, pb,
               first_child, n_children, first_member, n_members, children, members, weights,
               schedules, nas, thresholds, sticky_rows, shift, store_paid, store_int, deal_scale,
               keep_rows, fee_m, disc, resid_class, dust, sums, ext, ext_b, ext_e, ext_sched, ext_prep,
               ext_int, ext_recov, ext_loss, ext_delinq, tier_first, tier_n, tier_members, wd_out,
               unalloc_out, rb_out,
               paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code):
    """Scenarios s0..s1-1, every period: collateral, waterfall, audit."""
    n_cls = init_balance.shape[0]
    periods = disc.shape[1]
    n_rate = disc.shape[0]
    coll = n_cls  # the collateral's row of `sums`
    n_pool = pool_balance.shape[0]
    n_nodes = kind.shape[0]
    n_trig = thresholds.shape[0]
    has_shift = shift.shape[0] > 0  # a shifting-interest rule: its per-period inputs are summed
    n_acc = acc_z.shape[0]
    n_kid = kid_k.shape[0]
    n_ntl = ntl_k.shape[0]
    n_strip = strip_k.shape[0]
    last = smm_const.shape[2] - 1
    # Working arrays, once per block of scenarios.
    bal = np.empty(n_cls)
    begin = np.empty(n_cls)
    due = np.empty(n_cls)
    carried = np.empty(n_cls)
    paid = np.empty(n_cls)
    intr = np.empty(n_cls)
    acc = np.zeros(n_cls)
    own_begin = np.zeros(n_cls)
    factor = np.empty(n_pool)  # each pool's balance as a fraction of its original
    pbeg = np.empty(n_pool)
    pend = np.empty(n_pool)
    pprin = np.empty(n_pool)
    tripped = np.zeros(max(n_trig, 1), dtype=np.bool_)
    at_speed = np.zeros(max(n_trig, 1))
    st_node = np.zeros(n_nodes + 1, dtype=np.int64)
    st_pos = np.zeros(n_nodes + 1, dtype=np.int64)
    st_pass = np.zeros(n_nodes + 1, dtype=np.int64)
    st_amount = np.zeros(n_nodes + 1)
    st_used = np.zeros(n_nodes + 1)
    st_rem = np.zeros(n_nodes + 1)
    st_step = np.zeros(n_nodes + 1)
    scratch = np.zeros(children.shape[0] + 1)
    chain = np.zeros(n_nodes + 1, dtype=np.int64)
    wd = np.zeros(n_cls)  # this period's write-downs (a credit run's)
    reimb = ext and rb_out.shape[0] > 0  # losses reimbursed out of excess interest
    owed = np.zeros(n_cls)  # write-downs not yet reimbursed
    rb = np.zeros(n_cls)  # this period's reimbursements
    for s in range(s0, s1):
        row = path_row[s]
        any_short = False
        for c in range(n_cls):
            bal[c] = init_balance[c]
            begin[c] = begin0[c]
            carried[c] = 0.0
            owed[c] = 0.0
            rb[c] = 0.0
        for p in range(n_pool):
            factor[p] = 1.0
        for g in range(n_trig):
            tripped[g] = False
        loss_before = 0.0  # realized losses before the period (shifting-interest triggers)
        coll0 = 0.0  # the collateral's balance at the start of period 1
        for t in range(periods):
            # ---- collateral: SIFMA formulas, pool by pool
            tc = min(t, last)
            sched_tot = 0.0
            prep_tot = 0.0
            int_tot = 0.0
            fee_tot = 0.0
            for g in range(n_trig):
                at_speed[g] = 0.0
            for p in range(n_pool):
                if ext:
                    b = ext_b[s, p, t]
                    sched = ext_sched[s, p, t]
                    prepay = ext_prep[s, p, t]
                    e = ext_e[s, p, t]
                    int_tot += ext_int[s, p, t]
                else:
                    smm = smm_const[s, p, tc] if row < 0 else paths[row, p, t]
                    # As engine/collateral.py computes it (the balance as a running product of
                    # survival factors), so both engines agree to the last bit.
                    a = amort[p, t]
                    b = pool_balance[p] * factor[p]
                    factor[p] = factor[p] * ((1.0 - a) * (1.0 - smm))
                    sched = b * a
                    prepay = smm * (b - sched)
                    e = b - sched - prepay
                    int_tot += b * net_m[p]
                pbeg[p] = b
                pend[p] = e
                pprin[p] = sched + prepay
                sched_tot += sched
                prep_tot += prepay
                fee_tot += b * fee_m[p]
                for g in range(n_trig):
                    at_speed[g] += (b - sched) * thresholds[g, p, t]
            available = int_tot
            principal_in = sched_tot + prep_tot
            unscheduled = prep_tot  # prepayments and recoveries (shifting interest)
            coll_begin = 0.0
            delinq_t = 0.0
            if has_shift:
                for p in range(n_pool):
                    coll_begin += pbeg[p]
                if t == 0:
                    coll0 = coll_begin
                if ext:
                    unscheduled = unscheduled + ext_recov[s, t]
                    delinq_t = ext_delinq[s, t]
            if ext:
                principal_in = principal_in + ext_recov[s, t]
            cash_in = principal_in + int_tot
            for g in range(n_trig):
                above = _above(prep_tot, at_speed[g])
                tripped[g] = (tripped[g] or above) if sticky_rows[g] else above
            # ---- notional balances at the start of the period (on the pools' beginning)
            for j in range(n_ntl):
                base = 0.0
                for q in range(ntl_first_class[j], ntl_first_class[j] + ntl_n_class[j]):
                    base += bal[ntl_classes[q]]
                if ntl_n_pool[j] > 0:
                    ps = 0.0
                    for q in range(ntl_first_pool[j], ntl_first_pool[j] + ntl_n_pool[j]):
                        ps += pbeg[ntl_pools[q]]
                    base = base + ps
                if ntl_all[j]:
                    ps = 0.0
                    for p in range(n_pool):
                        ps += pbeg[p]
                    base = base + ps
                begin[ntl_k[j]] = ntl_factor[j] * base
            # ---- 2. interest, pro rata to what is due when the collateral's is short
            total_due = 0.0
            for c in range(n_cls):
                fi = f_index[c]
                if fi < 0:
                    rate = fixed_coupon[c]
                else:
                    rate = min(max(f_const[c] + f_mult[c] * index_rates[s, fi, t], f_floor[c]), f_cap[c])
                    rate = rate * days[t]
                due[c] = begin[c] * rate * (1.0 / 12.0) + carried[c]
                if direct[c]:
                    total_due += due[c]
                paid[c] = 0.0  # here, not in a loop of its own: that one compiles to a memset call
            # (a / b >= 1 exactly when a >= b: no division in the usual period, where interest covers)
            ratio = 1.0 if total_due <= 0 or available >= total_due else available / total_due
            for c in range(n_cls):
                intr[c] = due[c] * ratio if direct[c] else 0.0
            for j in range(n_kid):
                parent = kid_parent[j]
                need = 0.0
                for q in range(n_kid):
                    if kid_parent[q] == parent:
                        need += due[kid_k[q]]
                scale = min(intr[parent] / need, 1.0) if need > 0 else 1.0
                intr[kid_k[j]] = due[kid_k[j]] * scale
            # ---- 1. strips off the top of their pools' principal (after the interest, which reads
            # none of what they move)
            for j in range(n_strip):
                k = strip_k[j]
                take = min(strip_share[j] * pprin[strip_pool[j]], bal[k])
                paid[k] = take
                bal[k] -= take
                principal_in -= take
            # ---- 3. accrual, 4. principal through the rules
            total_begin = 0.0
            if has_nas:
                for c in range(n_cls):
                    own_begin[c] = begin[c] if owner[c] else 0.0
                    total_begin += own_begin[c]
            principal_total = principal_in
            accrued_total = 0.0
            extra = 0.0
            # Allocation j < n_acc: accrual class j's accretion through its own rules; the last
            # one: the principal (with what the accrual rules could not place).
            for j in range(n_acc + 1):
                if j < n_acc:
                    z = acc_z[j]
                    live = 0.0
                    for q in range(acc_first_target[j], acc_first_target[j] + acc_n_target[j]):
                        live += bal[acc_targets[q]]
                    amount = intr[z] if live > DUST else 0.0
                    acc[z] = amount
                    intr[z] -= amount
                    bal[z] += amount
                    root = acc_root[j]
                    ptotal = principal_in
                else:
                    if n_acc > 0:
                        principal_total = principal_in + extra
                        for c in range(n_cls):
                            accrued_total += acc[c]
                    root = principal_root
                    amount = principal_total
                    ptotal = principal_total
                # ---- pay up to `amount` through node `root` (Rule.allocate): a stack machine;
                # each frame is a node being allocated, `st_pos` how far through its children
                # it is; a child's result comes back in `ret`.
                st_node[0] = root
                st_amount[0] = amount
                st_used[0] = 0.0
                st_pos[0] = 0
                st_pass[0] = 0
                sp = 1
                ret = 0.0
                while sp > 0:
                    f = sp - 1
                    n = st_node[f]
                    k = kind[n]
                    if k == PAY:
                        i = pa[n]
                        got = _pay(st_amount[f], bal[i])
                        bal[i] -= got
                        paid[i] += got
                        ret = got
                        sp -= 1
                        continue
                    if k == NAS_SHARE:
                        i = pa[n]
                        share = _nas(nas[pb[n], t], own_begin[i], total_begin, ptotal)
                        got = min(max(min(st_amount[f], share), 0.0), bal[i])
                        bal[i] -= got
                        paid[i] += got
                        ret = got
                        sp -= 1
                        continue
                    if k == SEQUENTIAL and pb[n] == 1:
                        # Every child one distinct class: each takes what the earlier ones leave.
                        cum = 0.0
                        used = 0.0
                        for q in range(first_child[n], first_child[n] + n_children[n]):
                            i = pa[children[q]]
                            b = bal[i]
                            cum += b
                            got = _flat_seq(st_amount[f], cum, b)
                            bal[i] = b - got
                            paid[i] += got
                            used += got
                        ret = used
                        sp -= 1
                        continue
                    if k == SEQUENTIAL:
                        pos = st_pos[f]
                        if pos > 0:
                            st_used[f] += ret
                        if pos < n_children[n]:
                            st_pos[f] = pos + 1
                            st_node[sp] = children[first_child[n] + pos]
                            st_amount[sp] = st_amount[f] - st_used[f]
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            ret = st_used[f]
                            sp -= 1
                        continue
                    if k == SHIFTING:
                        # ShiftingInterest.allocate: the seniors' amount, then the rest to the
                        # subordinates, then what they could not take back to the seniors.
                        pos = st_pos[f]
                        c0 = first_child[n]
                        if pos == 0:
                            st_amount[f] = max(st_amount[f], 0.0)
                            st_used[f] = 0.0
                            x = children[c0]
                            senior = 0.0
                            for m in range(first_member[x], first_member[x] + n_members[x]):
                                senior += begin[members[m]]
                            x = children[c0 + 1]
                            sub = 0.0
                            for m in range(first_member[x], first_member[x] + n_members[x]):
                                sub += begin[members[m]]
                            r0 = pa[n]
                            give = _senior_amount(st_amount[f], unscheduled, senior, sub, coll_begin,
                                                  coll0, loss_before, delinq_t, t, shift[r0, t],
                                                  shift[r0 + 1, t], shift[r0 + 2, t], shift[r0 + 3, t],
                                                  pb[n] // 2, pb[n] % 2 == 1)
                        else:
                            st_used[f] += ret
                            give = st_amount[f] - st_used[f]
                        if pos < 3:
                            st_pos[f] = pos + 1
                            st_node[sp] = children[c0 + (1 if pos == 1 else 0)]
                            st_amount[sp] = give
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            ret = st_used[f]
                            sp -= 1
                        continue
                    if k == TRIGGER:
                        if st_pos[f] == 0:
                            st_pos[f] = 1
                            st_node[sp] = children[first_child[n]]
                            st_amount[sp] = st_amount[f] if tripped[pa[n]] else 0.0
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            sp -= 1  # the child's result is this node's: `ret` passes through
                        continue
                    # To-schedule and pro rata nodes read their children's capacities.
                    c0 = first_child[n]
                    nc = n_children[n]
                    fixed = k == PRO_RATA and pb[n] != 0
                    pos = st_pos[f]
                    if fixed:
                        # Water-filling passes (ProRata._fixed), each offering what is left by
                        # weight among the children that can still take principal.
                        if pos == 0 and st_pass[f] == 0:
                            st_rem[f] = max(st_amount[f], 0.0)
                            st_used[f] = 0.0
                        if pos > 0:
                            st_step[f] += ret
                        if pos == nc:
                            st_rem[f] -= st_step[f]
                            st_used[f] += st_step[f]
                            st_pass[f] += 1
                            pos = 0
                            st_pos[f] = 0
                    if pos == 0:
                        # Each child's capacity (Rule.capacity) into scratch: walk down the
                        # to-schedule and trigger wrappers, then apply them back up.
                        for q in range(c0, c0 + nc):
                            x = children[q]
                            depth = 0
                            while kind[x] == TO_SCHEDULE or kind[x] == TRIGGER:
                                chain[depth] = x
                                depth += 1
                                x = children[first_child[x]]
                            kx = kind[x]
                            if kx == PAY:
                                v = bal[pa[x]]
                            elif kx == NAS_SHARE:
                                i = pa[x]
                                v = min(_nas(nas[pb[x], t], own_begin[i], total_begin, ptotal), bal[i])
                            else:
                                v = 0.0
                                for m in range(first_member[x], first_member[x] + n_members[x]):
                                    v += bal[members[m]]
                            for d in range(depth - 1, -1, -1):
                                w = chain[d]
                                if kind[w] == TO_SCHEDULE:
                                    v = _over(v, schedules[pa[w], t])
                                elif not tripped[pa[w]]:
                                    v = 0.0
                            scratch[q] = v
                    if k == TO_SCHEDULE:
                        if pos == 0:
                            st_pos[f] = 1
                            give = min(st_amount[f], _over(scratch[c0], schedules[pa[n], t]))
                            st_node[sp] = children[c0]
                            st_amount[sp] = give
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            sp -= 1  # `ret` passes through
                        continue
                    if not fixed:
                        # By balance: each child is offered its capacity x min(amount / total, 1).
                        if pos == 0:
                            total = 0.0
                            for q in range(nc):
                                total += scratch[c0 + q]
                            share = st_amount[f] / total if total > 0 else 0.0
                            share = min(share, 1.0)
                            for q in range(nc):
                                scratch[c0 + q] = scratch[c0 + q] * share
                        else:
                            st_used[f] += ret
                        if pos < nc:
                            st_pos[f] = pos + 1
                            st_node[sp] = children[c0 + pos]
                            st_amount[sp] = scratch[c0 + pos]
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            ret = st_used[f]
                            sp -= 1
                        continue
                    if pos == 0:
                        w0 = pa[n]
                        negligible = ROUNDING * max(max(st_amount[f], 0.0), 1.0)
                        w_sum = 0.0
                        for q in range(nc):
                            w = weights[w0 + q] if scratch[c0 + q] > 0.0 else 0.0
                            scratch[c0 + q] = w
                            w_sum += w
                        if st_pass[f] >= 2 * nc + 2 or not (w_sum > 0 and st_rem[f] > negligible):
                            ret = st_used[f]
                            st_pass[f] = 0
                            sp -= 1
                            continue
                        for q in range(nc):
                            scratch[c0 + q] = st_rem[f] * (scratch[c0 + q] / w_sum)
                        st_step[f] = 0.0
                    st_pos[f] = pos + 1
                    st_node[sp] = children[c0 + pos]
                    st_amount[sp] = scratch[c0 + pos]
                    st_used[sp] = 0.0
                    st_pos[sp] = 0
                    st_pass[sp] = 0
                    sp += 1
                if j < n_acc:
                    extra += amount - ret
            # ---- 4b. realized losses written down in the deal's loss order, without cash
            # (engine/credit.py `write_down`: a tier shares pro rata to balance; a tier wiped
            # out is written off exactly)
            unalloc = 0.0
            if ext:
                for c in range(n_cls):
                    wd[c] = 0.0
                left = ext_loss[s, t]
                for g in range(tier_first.shape[0]):
                    total = 0.0
                    for q in range(tier_first[g], tier_first[g] + tier_n[g]):
                        total += bal[tier_members[q]]
                    take = min(left, total)
                    whole = take >= total
                    share = take / total if total > 0 else 0.0
                    for q in range(tier_first[g], tier_first[g] + tier_n[g]):
                        m = tier_members[q]
                        held = bal[m]
                        w = held if whole else held * share
                        wd[m] = w
                        bal[m] = 0.0 if whole else held - w
                    left -= take
                    left = max(left, 0.0)
                unalloc = left
                loss_before += ext_loss[s, t]
            for j in range(n_kid):
                paid[kid_k[j]] = paid[kid_parent[j]] * kid_share[j]
                bal[kid_k[j]] = bal[kid_parent[j]] * kid_share[j]
                if ext:
                    wd[kid_k[j]] = wd[kid_parent[j]] * kid_share[j]
            # ---- 5. the residual takes what is left; carry what interest fell short; the
            # outputs; and the audit (engine/audit.py's checks) as the period is paid: one pass
            # over the classes.
            cash_int_paid = 0.0
            owner_paid = 0.0
            tol = CONSERVATION_RTOL * max(cash_in, 1.0)
            gap = -cash_in
            moved = 0.0
            owner_end = 0.0
            absorbed = unalloc
            code = 0
            for c in range(n_cls):
                pc = paid[c]
                ic = intr[c]
                e = bal[c]
                short = due[c] - ic - acc[c]
                carried[c] = short
                if short != 0.0:
                    any_short = True
                if cash_int[c]:
                    cash_int_paid += ic
                if owner[c]:
                    owner_paid += pc
                    owner_end += e
                if cash[c]:
                    gap += ic + pc
                if book[c]:
                    moved += begin[c] - e + acc[c] - pc - wd[c]
                    absorbed += wd[c]
                if not wd[c] >= -tol:
                    code |= NEGATIVE_WRITEDOWN
                if not e >= -tol:
                    code |= NEGATIVE_BALANCE
                if not min(pc, ic) >= -tol:
                    code |= NEGATIVE_AMOUNT
                if keep_rows:
                    if ext and wd[c] != 0.0:
                        wd_out[c, s, t] = wd[c]
                    if store_paid[c]:
                        paid_out[c, s, t] = pc
                    if store_int[c]:
                        int_out[c, s, t] = ic
                else:
                    k1 = t + 1.0
                    sums[s, c, F_INTEREST] += ic
                    sums[s, c, F_PRINCIPAL] += pc
                    sums[s, c, F_ACCRUED] += acc[c]
                    if store_paid[c]:
                        wp = max(pc, 0.0)
                        sums[s, c, F_WAL_PAID] += wp
                        sums[s, c, F_WAL_WEIGHTED] += k1 * wp
                    if pc > dust:
                        if sums[s, c, F_FIRST] == 0.0:
                            sums[s, c, F_FIRST] = k1
                        sums[s, c, F_LAST] = k1
                    for r in range(n_rate):
                        sums[s, c, F_PV + r] += (ic + pc) * disc[r, t]
                # A class that never holds principal (the residual, a notional class) keeps its
                # beginning balance: a notional's is set from the pools each period, and its
                # paydown (below) reads it.
                if store_paid[c]:
                    begin[c] = e
            r_int = available - cash_int_paid - accrued_total
            r_prin = principal_in + accrued_total - owner_paid
            if reimb:
                # 5b. excess interest pays back unreimbursed write-downs, the loss order read
                # backwards (engine/waterfall.py `reimburse`); rounding's dust stays residual.
                for c in range(n_cls):
                    owed[c] += wd[c]
                    rb[c] = 0.0
                left = r_int if r_int > DUST else 0.0
                cash_rb = left
                for g in range(tier_first.shape[0] - 1, -1, -1):
                    total = 0.0
                    for q in range(tier_first[g], tier_first[g] + tier_n[g]):
                        total += owed[tier_members[q]]
                    take = min(left, total)
                    whole = take >= total
                    share = take / total if total > 0 else 0.0
                    for q in range(tier_first[g], tier_first[g] + tier_n[g]):
                        m = tier_members[q]
                        held = owed[m]
                        w = held if whole else held * share
                        rb[m] = w
                        owed[m] = 0.0 if whole else held - w
                        if cash[m]:
                            gap += w
                        if not w >= -tol:
                            code |= NEGATIVE_AMOUNT
                        if keep_rows and w != 0.0:
                            rb_out[m, s, t] = w
                    left = max(left - take, 0.0)
                r_int -= cash_rb - left
            if keep_rows:
                if ext:
                    unalloc_out[s, t] = unalloc
                resid_int[s, t] = r_int
                resid_prin[s, t] = r_prin
                for j in range(n_acc):
                    acc_out[acc_slot[j], s, t] = acc[acc_z[j]]
            else:
                # (each class's row is summed in the pass above) the collateral's row, then
                # the residual's cash on the residual class's row (whose own payments are zero)
                k1 = t + 1.0
                for c in range(n_cls, n_cls + 2):
                    at = c
                    if c == n_cls:
                        pc = sched_tot + prep_tot
                        ic = int_tot
                        ac = 0.0
                        wp = max(pc, 0.0)
                        sums[s, coll, F_SCHEDULED] += sched_tot
                        sums[s, coll, F_PREPAID] += prep_tot
                        sums[s, coll, F_FEE] += fee_tot
                    else:
                        if resid_class < 0:
                            break
                        at = resid_class
                        pc = r_prin
                        ic = r_int
                        ac = 0.0
                        wp = 0.0
                    sums[s, at, F_INTEREST] += ic
                    sums[s, at, F_PRINCIPAL] += pc
                    sums[s, at, F_ACCRUED] += ac
                    sums[s, at, F_WAL_PAID] += wp
                    sums[s, at, F_WAL_WEIGHTED] += k1 * wp
                    if pc > dust:
                        if sums[s, at, F_FIRST] == 0.0:
                            sums[s, at, F_FIRST] = k1
                        sums[s, at, F_LAST] = k1
                    if c != n_cls:
                        for r in range(n_rate):
                            sums[s, at, F_PV + r] += (ic + pc) * disc[r, t]
            # notional ending balances, on the pools' ending balances (the sum above, on `pend`,
            # written out again since a call passing arrays costs refcounting per period): only
            # the audit reads them here, as the next period starts from the pools
            for j in range(n_ntl):
                base = 0.0
                for q in range(ntl_first_class[j], ntl_first_class[j] + ntl_n_class[j]):
                    base += bal[ntl_classes[q]]
                if ntl_n_pool[j] > 0:
                    ps = 0.0
                    for q in range(ntl_first_pool[j], ntl_first_pool[j] + ntl_n_pool[j]):
                        ps += pend[ntl_pools[q]]
                    base = base + ps
                if ntl_all[j]:
                    ps = 0.0
                    for p in range(n_pool):
                        ps += pend[p]
                    base = base + ps
                ne = ntl_factor[j] * base
                if not ne >= -tol:
                    code |= NEGATIVE_BALANCE
                if not keep_rows:
                    # a notional class's WAL is that of its notional balance's paydown
                    nk = ntl_k[j]
                    w = max(begin[nk] - ne, 0.0)
                    sums[s, nk, F_WAL_PAID] += w
                    sums[s, nk, F_WAL_WEIGHTED] += (t + 1.0) * w
                    sums[s, nk, F_FINAL] = ne
            if fail_t[s] < 0:
                gap += r_int + r_prin
                if not abs(gap) <= tol:
                    code |= GAP
                if not abs(moved) <= tol:
                    code |= MOVED
                if not (r_int >= -tol and r_prin >= -tol):
                    code |= OVERPAID
                if r_prin > deal_scale and owner_end > deal_scale:
                    code |= LEAKED
                if ext:
                    lost = ext_loss[s, t]
                    if not abs(absorbed - lost) <= CONSERVATION_RTOL * max(lost, 1.0):
                        code |= LOSSES
                if code:
                    fail_t[s] = t
                    fail_code[s] = code
        short_flag[s] = any_short
        if not keep_rows:
            for c in range(n_cls):
                if store_paid[c]:
                    sums[s, c, F_FINAL] = bal[c]
            pe = 0.0
            for p in range(n_pool):
                pe += pend[p]
            sums[s, coll, F_FINAL] = pe


@njit(cache=CACHE)
def derive_balances(init_balance, paid, accretion, writedown, accrual_classes, on_books, kid_k,
                    kid_parent, kid_share, begin, end):
    """Beginning and ending balances [class, scenario, period] from what the kernel stored
    (principal paid [class, scenario, period], accretion [slot, scenario, period], a credit run's
    write-downs [class, scenario, period] or an empty array), in the order
    it moved them: accretion added, principal paid taken off, split classes their parent's
    share. Notional rows are left to the caller (they follow the pools). `begin` may be `end`:
    each beginning balance is then overwritten by the period's ending one."""
    n_cls, n_scen, periods = paid.shape
    written = writedown.shape[1] > 0  # a credit run's write-downs [class, scenario, period]
    bal = np.empty(n_cls)
    for s in range(n_scen):
        for c in range(n_cls):
            bal[c] = init_balance[c]
        for t in range(periods):
            for c in range(n_cls):
                begin[c, s, t] = bal[c]
            for j in range(accrual_classes.shape[0]):
                bal[accrual_classes[j]] += accretion[j, s, t]
            for c in range(n_cls):
                if on_books[c]:
                    bal[c] -= paid[c, s, t]
                    if written:
                        bal[c] -= writedown[c, s, t]
            for j in range(kid_k.shape[0]):
                bal[kid_k[j]] = bal[kid_parent[j]] * kid_share[j]
            for c in range(n_cls):
                end[c, s, t] = bal[c]


@njit(cache=CACHE)
def derive_ending_rows(init_balance, paid, accretion, writedown, on_books, source, slot, share, kid, end):
    """Ending balances [row, scenario, period] of some classes only, as `derive_balances` moves
    them: row r follows class source[r] (accretion from its slot, -1: none; principal paid when
    on the books; write-downs), and a split class (kid[r]) is its parent's balance times its
    share, the parent being its source."""
    n_rows = source.shape[0]
    n_scen, periods = paid.shape[1], paid.shape[2]
    written = writedown.shape[1] > 0
    for r in range(n_rows):
        c = source[r]
        j = slot[r]
        for s in range(n_scen):
            b = init_balance[c]
            for t in range(periods):
                if j >= 0:
                    b += accretion[j, s, t]
                if on_books[c]:
                    b -= paid[c, s, t]
                    if written:
                        b -= writedown[c, s, t]
                end[r, s, t] = b * share[r] if kid[r] else b


def run(*args: object, scenarios: int | None = None) -> None:
    """`run_kernel(*args)`, without letting numba load scipy (see `_without_scipy`). A run of
    `scenarios` within one block (one scenario, a decrement table) stays on the calling thread:
    starting the parallel region costs microseconds on an idle machine, but when the other cores
    are busy it waits for a worker to be scheduled, often milliseconds, against ~0.1 ms for the
    run itself."""
    with _without_scipy():
        if scenarios is None or scenarios > BLOCK:
            run_kernel(*args)
            return
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            run_kernel(*args)
        finally:
            numba.set_num_threads(threads)
