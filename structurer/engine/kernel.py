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

import inspect
import os
import tempfile
import types
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
# OpenMP's worker threads, once a parallel run ends, sleep rather than spin (unless the user
# says otherwise). The engine runs in many short parallel launches separated by Python work (a
# solver's rounds): with spinning threads a machine with other load on it ran effective_band 2.5x
# slower on two threads than on one (45 against 18 ms); waking a sleeping thread costs
# microseconds. Read by the OpenMP runtime when numba first loads it, at the first parallel run.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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

from ..model.enhancement import oc_target, reserve_target  # noqa: E402
from ..model.rules.down_to import E_BAL, E_COLL, E_NUM, kernel_combine  # noqa: E402
from ..model.rules.nas_share import kernel_nas_share  # noqa: E402
from ..model.rules.pay import kernel_pay  # noqa: E402
from ..model.rules.pro_rata import ROUNDING  # noqa: E402
from ..model.rules.program import (  # noqa: E402
    DOWN_TO,
    NAS_SHARE,
    PAY,
    PRO_RATA,
    SEQUENTIAL,
    SHIFTING,
    TO_SCHEDULE,
    TRIGGER,
    WHEN,
)
from ..model.rules.sequential import kernel_flat_sequential  # noqa: E402
from ..model.rules.shifting import MARGIN, kernel_senior_amount  # noqa: E402
from ..model.rules.to_schedule import kernel_over_schedule  # noqa: E402
from ..model.rules.trigger import kernel_above  # noqa: E402
from ..model.rules.triggers import (  # noqa: E402
    DUST as RETIRED_DUST,
)
from ..model.rules.triggers import (  # noqa: E402
    OP_AND,
    OP_FALSE,
    OP_NOT,
    OP_OR,
    OP_RANGE,
    OP_RETIRED,
    OP_TRIGGER,
    OP_TRUE,
    kernel_trigger_fails,
)
from .audit import BALANCE_DUST, CONSERVATION_RTOL  # noqa: E402
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
_oc_target = njit(cache=CACHE, error_model="numpy")(oc_target)
_res_target = njit(cache=CACHE, error_model="numpy")(reserve_target)
_trigger_fails = njit(cache=CACHE, error_model="numpy")(kernel_trigger_fails)
_combine = njit(cache=CACHE, error_model="numpy")(kernel_combine)

BLOCK = 8  # scenarios per task: a task's call pays the arrays' reference counts once for all
# ... and its working arrays' allocations: a large run takes blocks of up to BLOCK_MAX scenarios
# (16 tasks or more), so those costs stop showing per scenario
BLOCK_MAX = 32

# Audit failures, as bits (engine/compiled.py turns them into audit.py's words).
GAP, MOVED, OVERPAID, LEAKED, NEGATIVE_BALANCE, NEGATIVE_AMOUNT, LOSSES, NEGATIVE_WRITEDOWN = (
    1, 2, 4, 8, 16, 32, 64, 128)
# ... and a collateral group's own books (the group: `fail_grp`)
G_GAP, G_MOVED, G_LOSSES, G_UNABSORBED, G_OVERPAID, G_LEAKED = 256, 512, 1024, 2048, 4096, 8192

# What each class is (`_scenarios`' `cflag`), as bits of one integer read once per class in the
# per-class loops: the booleans as separate arrays cost a load of each array's address (spilled,
# in a function this size) and of each flag, every class every period.
C_CASH, C_BOOK, C_OWNER, C_CASH_INT, C_STORE_PAID, C_STORE_INT, C_IN_GROUP, C_DIRECT, C_FIXED = (
    1, 2, 4, 8, 16, 32, 64, 128, 256)

# The general kernel reads this False; the plain variant (see `run_kernel`) is the same source
# compiled with it True.
PLAIN = False

# Why the hot loop is one function: numba increments and decrements the reference count of
# every array handed to a function (or bound to a new name, as inlining does), with an atomic
# instruction, and the program's arrays are shared by all threads, so those counts bounce
# between cores. Passing ~25 arrays to an allocation step once a period cost more than the
# waterfall itself. So the scenarios, the allocation (a stack machine) and the capacity walk
# are written inline below, reading only this function's own arguments; the rule steps called
# in the loop take and return scalars. error_model="numpy": a division is IEEE division, with
# no zero-divisor check (every division here is guarded as the interpreter's is).


@njit(cache=CACHE)
def _block_size(n_scen):
    """Scenarios per task: BLOCK at least, BLOCK_MAX at most, 16 tasks or more between."""
    return min(max(BLOCK, (n_scen + 15) // 16), BLOCK_MAX)


@njit(cache=CACHE, parallel=True, error_model="numpy")
def _run_blocks(
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
    # shifting interest: each rule's four rows [period] (model/rules/shifting.py `encode`), then
    # the named triggers' limit rows; the named triggers (model/rules/program.py `trig`); the
    # postfix programs of conditions and targets, and each node's two programs
    shift, trig, cond_ops, cond_num, node_cond,
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
    # collateral groups (engine/compiled.py `_group_arrays`; no groups: -1 rows and empty arrays):
    # each pool's and class's group, the groups' serving orders for interest and principal, where
    # each group's excess interest / principal goes (-1: the residual), its principal rules' root,
    # its loss order's tiers, whether it reimburses losses, each trigger's group; WAC classes: each
    # class's net WAC (-1: none, 0: of all pools, 1 + g: of group g's pools), the pools' net
    # coupons, each net WAC at issue; a grouped credit run's recoveries and losses by pool
    # [scenario, pool, period]; the group outputs [what, group, scenario, period] (see
    # `G_OUTPUTS` in engine/compiled.py) and which of them can be other than zero [what, group]
    pool_grp, class_grp, g_int_order, g_prin_order, g_int_to, g_prin_to, g_root, g_tier_first, g_tier_n,
    g_reimb, trig_grp, wac_src, pool_netc, wac_init, ext_precov, ext_ploss, g_out, g_store,
    # overcollateralization and a reserve account (model/enhancement.py): whether the deal has
    # either, the OC's scalars (empty: none; `Overcollateralization.params`), the reserve's
    # (`ReserveAccount.params`), the OC triggers the collateral decides failing [scenario, period]
    # (empty: none), the figures [field, scenario, period] (ENHANCEMENT_FIELDS)
    enh, oc_p, res_p, oc_fail, enh_out,
    # outputs
    paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code, fail_grp,
):
    # Outputs are [class, scenario, period] (the residual's [scenario, period]): a scenario
    # writes each class's periods one after another, and a class whose rows are never written
    # (`store_paid`, `store_int`) leaves whole pages untouched. Results see [scenario, class,
    # period] views, each scenario's periods contiguous. Without `keep_rows` nothing per period is
    # written: each scenario's figures are summed as it runs (see SUM_FIELDS).
    n_scen = fail_t.shape[0]
    size = _block_size(n_scen)
    n_blocks = (n_scen + size - 1) // size
    for blk in prange(n_blocks):
        _scenarios(blk * size, min(n_scen, (blk + 1) * size), smm_const, path_row, paths,
                   pool_balance, amort, net_m, init_balance, begin0, fixed_coupon, f_index, f_const,
                   f_mult, f_cap, f_floor, days, index_rates, direct, owner, cash, book, cash_int,
                   kid_k, kid_parent, kid_share, strip_k, strip_pool, strip_share, ntl_k, ntl_factor,
                   ntl_first_class, ntl_n_class, ntl_classes, ntl_first_pool, ntl_n_pool, ntl_pools,
                   ntl_all, acc_z, acc_root, acc_first_target, acc_n_target, acc_targets, acc_slot,
                   has_nas, principal_root, kind, pa, pb, first_child, n_children, first_member,
                   n_members, children, members, weights, schedules, nas, thresholds, sticky_rows,
                   shift, trig, cond_ops, cond_num, node_cond, store_paid, store_int, deal_scale,
                   keep_rows, fee_m, disc, resid_class, dust,
                   sums, ext, ext_b, ext_e, ext_sched, ext_prep, ext_int, ext_recov, ext_loss,
                   ext_delinq, tier_first, tier_n, tier_members, wd_out, unalloc_out, rb_out,
                   pool_grp, class_grp, g_int_order, g_prin_order, g_int_to, g_prin_to, g_root,
                   g_tier_first, g_tier_n, g_reimb, trig_grp, wac_src, pool_netc, wac_init, ext_precov,
                   ext_ploss, g_out, g_store, enh, oc_p, res_p, oc_fail, enh_out,
                   paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code,
                   fail_grp)


@njit(cache=CACHE, error_model="numpy")
def _scenarios(s0, s1, smm_const, path_row, paths, pool_balance, amort, net_m, init_balance, begin0,
               fixed_coupon, f_index, f_const, f_mult, f_cap, f_floor, days, index_rates, direct,
               owner, cash, book, cash_int, kid_k, kid_parent, kid_share, strip_k, strip_pool,
               strip_share, ntl_k, ntl_factor, ntl_first_class, ntl_n_class, ntl_classes,
               ntl_first_pool, ntl_n_pool, ntl_pools, ntl_all, acc_z, acc_root, acc_first_target,
               acc_n_target, acc_targets, acc_slot, has_nas, principal_root, kind, pa, pb,
               first_child, n_children, first_member, n_members, children, members, weights,
               schedules, nas, thresholds, sticky_rows, shift, trig, cond_ops, cond_num, node_cond,
               store_paid, store_int, deal_scale,
               keep_rows, fee_m, disc, resid_class, dust, sums, ext, ext_b, ext_e, ext_sched, ext_prep,
               ext_int, ext_recov, ext_loss, ext_delinq, tier_first, tier_n, tier_members, wd_out,
               unalloc_out, rb_out, pool_grp, class_grp, g_int_order, g_prin_order, g_int_to, g_prin_to,
               g_root, g_tier_first, g_tier_n, g_reimb, trig_grp, wac_src, pool_netc, wac_init,
               ext_precov, ext_ploss, g_out, g_store, enh, oc_p, res_p, oc_fail, enh_out,
               paid_out, int_out, acc_out, resid_int, resid_prin, short_flag, fail_t, fail_code,
               fail_grp):
    """Scenarios s0..s1-1, every period: collateral, waterfall, audit."""
    n_cls = init_balance.shape[0]
    periods = disc.shape[1]
    n_rate = disc.shape[0]
    coll = n_cls  # the collateral's row of `sums`
    n_pool = pool_balance.shape[0]
    n_nodes = kind.shape[0]
    # The plain variant (PLAIN: see `run_kernel`) has these features' flags as constants, the
    # values a deal without them gives, so LLVM drops their code from the period loop.
    ext = False if PLAIN else ext
    enh = False if PLAIN else enh
    n_trig = 0 if PLAIN else thresholds.shape[0]
    # a shifting-interest rule: its per-period inputs are summed
    has_shift = False if PLAIN else shift.shape[0] > 0
    n_named = 0 if PLAIN else trig.shape[0]  # named triggers, tested at the start of each period
    # conditions or targets, computed at the start of each period
    has_cond = False if PLAIN else cond_ops.shape[0] > 0
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
    tfail = np.zeros(max(n_named, 1), dtype=np.bool_)
    flag_a = np.ones(n_nodes + 1, dtype=np.bool_)  # each node's first program: a condition
    flag_b = np.ones(n_nodes + 1, dtype=np.bool_)  # ... its second (an empty program holds)
    node_val = np.zeros(n_nodes + 1)  # a DOWN_TO node's target this period
    bstack = np.zeros(cond_ops.shape[0] + 1, dtype=np.bool_)
    fstack = np.zeros(cond_ops.shape[0] + 1)
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
    has_oc = False if PLAIN else oc_p.shape[0] > 0
    has_res = False if PLAIN else res_p.shape[0] > 0
    has_oc_fail = oc_fail.shape[0] > 0
    rb = np.zeros(n_cls)  # this period's reimbursements
    # Summaries only: the scenario's running sums, one 1-D row per field over the classes (the
    # collateral's in scalars), added in one loop a period after the audit's pass and written to
    # `sums` once the scenario ends (adding into the 3-D `sums` inside the audit's pass cost as
    # much on the sequential deal and more on the PAC one). Each field is added in the same
    # order as before, so the sums are bit for bit the same (tests/test_sums_exact.py).
    sw = n_cls if not keep_rows else 0
    s_int = np.zeros(sw)
    s_prin = np.zeros(sw)
    s_acc = np.zeros(sw)
    s_wp = np.zeros(sw)  # principal counted for the WAL
    s_ww = np.zeros(sw)  # ... weighted by the period
    s_first = np.zeros(sw)
    s_last = np.zeros(sw)
    s_fin = np.zeros(sw)  # a notional class's last ending balance
    s_pv = np.zeros((n_rate, sw))
    cs_int = cs_prin = cs_wp = cs_ww = cs_first = cs_last = cs_sched = cs_prep = cs_fee = 0.0
    # Collateral groups: per group, this period's figures (engine/waterfall.py `_Groups`).
    n_grp = 0 if PLAIN else g_int_to.shape[0]
    ng = max(n_grp, 1)
    g_int = np.zeros(ng)  # its pools' interest
    g_prin = np.zeros(ng)  # its pools' principal (scheduled and prepaid)
    g_rec = np.zeros(ng)  # its pools' recoveries
    g_loss = np.zeros(ng)  # its pools' realized losses
    g_beg = np.zeros(ng)  # its pools' beginning balance
    g_prep = np.zeros(ng)  # its pools' prepayments
    g_coll0 = np.zeros(ng)  # its pools' balance at the start of period 1
    g_lossb = np.zeros(ng)  # its pools' losses before the period
    g_inc = np.zeros(ng)  # excess interest donors passed it
    g_pin = np.zeros(ng)  # principal beyond its pools': donors' excess, accretion left over
    g_extra = np.zeros(ng)
    g_ratio = np.ones(ng)  # the share of what its classes are due that they are paid
    g_hold = np.zeros(ng)  # excess interest held back for its classes' write-downs
    g_rint = np.zeros(ng)
    g_rprin = np.zeros(ng)
    g_xint = np.zeros(ng)
    g_xprin = np.zeros(ng)
    g_iap = np.zeros(ng)  # donors' excess interest it paid as principal
    g_unal = np.zeros(ng)
    g_tb = np.zeros(ng)  # its classes' beginning balances (a NAS share's total)
    g_owed = np.zeros(ng)  # what its classes are due this period
    g_cash = np.zeros(ng)  # cash its classes were paid
    g_fell = np.zeros(ng)  # what its classes' balances fell by
    g_wd = np.zeros(ng)
    g_oend = np.zeros(ng)  # its principal classes' ending balance
    n_ws = 0 if PLAIN else wac_init.shape[0]
    wac_rate = np.zeros(max(n_ws, 1))
    cflag = np.zeros(n_cls, dtype=np.int64)
    for c in range(n_cls):
        cflag[c] = ((C_CASH if cash[c] else 0) | (C_BOOK if book[c] else 0)
                    | (C_OWNER if owner[c] else 0) | (C_CASH_INT if cash_int[c] else 0)
                    | (C_STORE_PAID if store_paid[c] else 0) | (C_STORE_INT if store_int[c] else 0)
                    | (C_IN_GROUP if n_grp > 0 and class_grp[c] >= 0 else 0)
                    | (C_DIRECT if direct[c] else 0)
                    | (C_FIXED if f_index[c] < 0 and wac_src[c] < 0 else 0))
    # A plain deal (no credit run, groups, triggers, conditions, WAC classes) skips the start-of-
    # period blocks with one test: each loop that runs zero times still costs its test every
    # period. (A second, plain copy of the pools' loop was ~3% faster but LLVM's work on it made
    # the first run's compile ~9 s longer.)
    starts = n_trig > 0 or n_grp > 0 or n_ws > 0 or has_shift or has_cond or n_named > 0 or ext
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
        for g in range(n_grp):
            g_lossb[g] = 0.0
        for w in range(n_ws):
            wac_rate[w] = wac_init[w]
        for g in range(n_named):
            tfail[g] = False
        loss_before = 0.0  # realized losses before the period (shifting-interest triggers)
        res_bal = res_p[4] if has_res else 0.0  # the reserve: its deposit at closing
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
            for g in range(n_grp):
                g_int[g] = 0.0
                g_prin[g] = 0.0
                g_rec[g] = 0.0
                g_loss[g] = 0.0
                g_beg[g] = 0.0
                g_prep[g] = 0.0
            c_end = 0.0
            c_beg = 0.0
            held_b = 0.0
            turbo = 0.0
            draw_l = 0.0
            release = 0.0
            oc_tgt = 0.0
            oc_abs = 0.0
            oc_failing = 0.0
            for p in range(n_pool):
                if ext:
                    b = ext_b[s, p, t]
                    sched = ext_sched[s, p, t]
                    prepay = ext_prep[s, p, t]
                    e = ext_e[s, p, t]
                    int_tot += ext_int[s, p, t]
                    if n_grp > 0:
                        gp = pool_grp[p]
                        g_int[gp] += ext_int[s, p, t]
                        g_rec[gp] += ext_precov[s, p, t]
                        g_loss[gp] += ext_ploss[s, p, t]
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
                    if n_grp > 0:
                        g_int[pool_grp[p]] += b * net_m[p]
                pbeg[p] = b
                pend[p] = e
                pprin[p] = sched + prepay
                sched_tot += sched
                prep_tot += prepay
                fee_tot += b * fee_m[p]
                if n_grp > 0:
                    gp = pool_grp[p]
                    g_prin[gp] += pprin[p]
                    g_beg[gp] += b
                    g_prep[gp] += prepay
                for g in range(n_trig):
                    # a group's trigger reads its own pools only
                    if trig_grp[g] < 0 or trig_grp[g] == pool_grp[p]:
                        at_speed[g] += (b - sched) * thresholds[g, p, t]
            available = int_tot
            principal_in = sched_tot + prep_tot
            unscheduled = prep_tot  # prepayments and recoveries (shifting interest)
            coll_begin = 0.0
            delinq_t = 0.0
            if starts or n_ntl > 0:
                # WAC classes' coupons: the net WAC of their pools at the start of the period (the
                # last one carried once the pools are paid off)
                for w in range(n_ws):
                    num = 0.0
                    den = 0.0
                    for p in range(n_pool):
                        if w == 0 or pool_grp[p] == w - 1:
                            num += pbeg[p] * pool_netc[p]
                            den += pbeg[p]
                    if den > 0:
                        wac_rate[w] = num / den
                if has_shift or has_cond:
                    for p in range(n_pool):
                        coll_begin += pbeg[p]
                    if t == 0:
                        coll0 = coll_begin
                    if ext:
                        unscheduled = unscheduled + ext_recov[s, t]
                        delinq_t = ext_delinq[s, t]
                if ext:
                    principal_in = principal_in + ext_recov[s, t]
                if t == 0:
                    for g in range(n_grp):
                        g_coll0[g] = g_beg[g]
                for g in range(n_trig):
                    above = _above(prep_tot if trig_grp[g] < 0 else g_prep[trig_grp[g]], at_speed[g])
                    tripped[g] = (tripped[g] or above) if sticky_rows[g] else above
                # ---- named triggers, then each node's conditions and targets, on what is known at
                # the start of the period (model/rules/triggers.py, conditions.py, down_to.py)
                for g in range(n_named):
                    held = 0.0
                    held0 = shift[trig[g, 2] + 1, 0]
                    for m in range(trig[g, 3], trig[g, 3] + trig[g, 4]):
                        held += begin[members[m]]
                    now = _trigger_fails(trig[g, 0], loss_before, coll0, delinq_t, held, coll_begin, held0,
                                         trig[g, 5] == 1, shift[trig[g, 2], t])
                    tfail[g] = (tfail[g] or now) if trig[g, 1] == 1 else now
                if has_cond:
                    for n in range(n_nodes):
                        if node_cond[n, 1] == 0 and node_cond[n, 3] == 0:
                            continue
                        for half in range(2):
                            q0 = node_cond[n, 2 * half]
                            q1 = q0 + node_cond[n, 2 * half + 1]
                            if kind[n] == DOWN_TO:
                                if half == 1:
                                    continue
                                top = 0
                                for q in range(q0, q1):
                                    op = cond_ops[q, 0]
                                    if op == E_NUM:
                                        fstack[top] = cond_num[q]
                                        top += 1
                                    elif op == E_BAL:
                                        fstack[top] = begin[cond_ops[q, 1]]
                                        top += 1
                                    elif op == E_COLL:
                                        fstack[top] = coll_begin
                                        top += 1
                                    else:
                                        fstack[top - 2] = _combine(op, fstack[top - 2], fstack[top - 1])
                                        top -= 1
                                node_val[n] = fstack[0] if top > 0 else 0.0
                                continue
                            top = 0
                            for q in range(q0, q1):
                                op = cond_ops[q, 0]
                                if op == OP_TRUE or op == OP_FALSE:
                                    bstack[top] = op == OP_TRUE
                                    top += 1
                                elif op == OP_TRIGGER:
                                    bstack[top] = tfail[cond_ops[q, 1]] == (cond_ops[q, 2] == 1)
                                    top += 1
                                elif op == OP_RANGE:
                                    bstack[top] = cond_ops[q, 1] <= t < cond_ops[q, 2]
                                    top += 1
                                elif op == OP_RETIRED:
                                    retired = begin[cond_ops[q, 1]] <= RETIRED_DUST
                                    bstack[top] = retired == (cond_ops[q, 2] == 1)
                                    top += 1
                                elif op == OP_NOT:
                                    bstack[top - 1] = not bstack[top - 1]
                                elif op == OP_AND:
                                    bstack[top - 2] = bstack[top - 2] and bstack[top - 1]
                                    top -= 1
                                elif op == OP_OR:
                                    bstack[top - 2] = bstack[top - 2] or bstack[top - 1]
                                    top -= 1
                            value = bstack[0] if top > 0 else True
                            if half == 0:
                                flag_a[n] = value
                            else:
                                flag_b[n] = value
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
            cash_in = principal_in + int_tot
            # ---- 2. interest, pro rata to what is due when the collateral's is short
            total_due = 0.0
            for c in range(n_cls):
                cf = cflag[c]
                if cf & C_FIXED:
                    rate = fixed_coupon[c]
                elif f_index[c] < 0:
                    rate = wac_rate[wac_src[c]]
                else:
                    fi = f_index[c]
                    rate = min(max(f_const[c] + f_mult[c] * index_rates[s, fi, t], f_floor[c]), f_cap[c])
                    rate = rate * days[t]
                dc = begin[c] * rate * (1.0 / 12.0) + carried[c]
                due[c] = dc
                if cf & C_DIRECT:
                    total_due += dc
                paid[c] = 0.0  # here, not in a loop of its own: that one compiles to a memset call
            draw_i = 0.0  # the reserve's draw for interest shortfalls
            if has_res and res_p[5] > 0.5:
                draw_i = min(res_bal, max(total_due - available, 0.0))
                available = available + draw_i
            # (a / b >= 1 exactly when a >= b: no division in the usual period, where interest covers)
            ratio = 1.0 if total_due <= 0 or available >= total_due else available / total_due
            if n_grp > 0:
                # Each group's pools pay its own classes, with what donors' excess interest adds;
                # what a donor's excess does not make up of interest is principal for the group
                # (engine/waterfall.py `_Groups.interest_ratio`).
                for i in range(n_grp):
                    g_inc[i] = 0.0
                    g_extra[i] = 0.0
                    g_hold[i] = 0.0
                    g_owed[i] = 0.0
                for c in range(n_cls):
                    # what each group's classes are due (each group's sum in class order)
                    if direct[c] and class_grp[c] >= 0:
                        g_owed[class_grp[c]] += due[c]
                for q in range(n_grp):
                    i = g_int_order[q]
                    own = g_int[i]
                    avail_g = own + g_inc[i]
                    owed_g = g_owed[i]
                    r = min(avail_g / owed_g, 1.0) if owed_g > 0 else 1.0
                    g_ratio[i] = r
                    paid_g = r * owed_g
                    for c in range(n_cls if n_kid > 0 else 0):
                        if not cash_int[c] and class_grp[c] == i:
                            # a split parent: what its classes cannot take stays over
                            need = 0.0
                            for jk in range(n_kid):
                                if kid_parent[jk] == c:
                                    need += due[kid_k[jk]]
                            paid_g -= max(r * due[c] - need, 0.0)
                    left_g = max(own - paid_g, 0.0)
                    spare = g_inc[i] - max(paid_g - own, 0.0)
                    g_extra[i] += spare
                    g_iap[i] = spare
                    to = g_int_to[i]
                    if to >= 0 and reimb and g_reimb[i]:
                        # its own classes' write-downs first (as owed when the period starts)
                        ow = 0.0
                        for g in range(g_tier_first[i], g_tier_first[i] + g_tier_n[i]):
                            for qq in range(tier_first[g], tier_first[g] + tier_n[g]):
                                ow += owed[tier_members[qq]]
                        g_hold[i] = min(left_g, ow)
                        left_g = left_g - g_hold[i]
                    if to >= 0:
                        g_xint[i] = left_g
                        g_rint[i] = 0.0
                        g_inc[to] += left_g
                    else:
                        g_rint[i] = left_g
                        g_xint[i] = 0.0
                for c in range(n_cls):
                    gc = class_grp[c]
                    intr[c] = (due[c] * (g_ratio[gc] if gc >= 0 else 1.0)) if direct[c] else 0.0
            else:
                for c in range(n_cls):
                    intr[c] = due[c] * ratio if cflag[c] & C_DIRECT else 0.0
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
                for g in range(n_grp):
                    g_tb[g] = 0.0
                for c in range(n_cls):
                    own_begin[c] = begin[c] if owner[c] else 0.0
                    total_begin += own_begin[c]
                    if n_grp > 0 and class_grp[c] >= 0:
                        g_tb[class_grp[c]] += own_begin[c]
            principal_total = principal_in
            accrued_total = 0.0
            extra = 0.0
            # Allocation j < n_acc: accrual class j's accretion through its own rules; the last
            # one: the principal (with what the accrual rules could not place).
            n_alloc = n_acc + (n_grp if n_grp > 0 else 1)
            gi = -1  # the group whose principal is being paid
            for j in range(n_alloc):
                # What a NAS share and a shifting-interest split read: the deal's figures, or in
                # a grouped deal those of the group paying (an accrual class's own group).
                tb_now = total_begin
                sh_unsch = unscheduled
                sh_coll = coll_begin
                sh_coll0 = coll0
                sh_lossb = loss_before
                if n_grp > 0:
                    gs = class_grp[acc_z[j]] if j < n_acc else g_prin_order[j - n_acc]
                    if j >= n_acc:
                        tb_now = g_tb[gs]
                    sh_unsch = g_prep[gs] + g_rec[gs]
                    sh_coll = g_beg[gs]
                    sh_coll0 = g_coll0[gs]
                    sh_lossb = g_lossb[gs]
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
                elif n_grp > 0:
                    # Each group's principal through its own rules, donors first
                    # (`_Groups.pay_principal`).
                    if j == n_acc:
                        for c in range(n_cls):
                            accrued_total += acc[c]
                        for g in range(n_grp):
                            g_pin[g] = g_extra[g]
                            g_extra[g] = 0.0
                    gi = g_prin_order[j - n_acc]
                    amount = (g_prin[gi] + g_rec[gi]) + g_pin[gi]
                    for jj in range(n_strip):
                        if pool_grp[strip_pool[jj]] == gi:
                            amount -= paid[strip_k[jj]]  # the strip took its share first
                    root = g_root[gi]
                    ptotal = amount
                else:
                    if n_acc > 0:
                        principal_total = principal_in + extra
                        for c in range(n_cls):
                            accrued_total += acc[c]
                    root = principal_root
                    amount = principal_total
                    if enh:
                        # OC (engine/waterfall.py `_Enhancement.principal_amount`): the release
                        # held back, turbo out of excess interest, the reserve's draw for losses.
                        c_end = 0.0
                        c_beg = 0.0
                        for p in range(n_pool):
                            c_end += pend[p]
                            c_beg += pbeg[p]
                        held = 0.0
                        held_b = 0.0
                        cip = 0.0
                        for c in range(n_cls):
                            if book[c]:
                                held += bal[c]
                                held_b += begin[c]
                            if cash_int[c]:
                                cip += intr[c]
                        excess = available - cip - accrued_total
                        prelim = c_end - (held - principal_total)
                        release = 0.0
                        turbo = 0.0
                        need = 0.0
                        oc_tgt = 0.0
                        if has_oc:
                            failing = has_oc_fail and oc_fail[s, t] > 0.5
                            if oc_p[9] > 0.5:
                                level = (c_beg - held_b) / c_beg if c_beg > 0 else 0.0
                                failing = failing or level < oc_p[10] * (1.0 - MARGIN)
                            oc_failing = 1.0 if failing else 0.0
                            oc_tgt = _oc_target(t, c_end, failing, oc_p[0], oc_p[1], oc_p[2], oc_p[3],
                                                oc_p[4], oc_p[5], oc_p[6], oc_p[8])
                            release = min(max(prelim - oc_tgt, 0.0), principal_total)
                            if oc_p[7] > 0.5:
                                cash_x = excess if excess > DUST else 0.0
                                turbo = min(cash_x, max(oc_tgt - prelim, 0.0))
                            need = max(-(prelim + turbo), 0.0)
                        draw_l = 0.0
                        if has_res and res_p[6] > 0.5:
                            if not has_oc:
                                need = need + (ext_loss[s, t] if ext else 0.0)
                            draw_l = min(res_bal - draw_i, need)
                        amount = principal_total - release + turbo + draw_l
                    ptotal = amount
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
                    nd = np.uint64(st_node[f])  # (unsigned: see the flat path below)
                    k = kind[nd]
                    if k == PAY:
                        i = np.uint64(pa[nd])
                        got = _pay(st_amount[f], bal[i])
                        bal[i] -= got
                        paid[i] += got
                        ret = got
                        sp -= 1
                        continue
                    if k == NAS_SHARE:
                        i = np.uint64(pa[nd])
                        share = _nas(nas[pb[nd], t], own_begin[i], tb_now, ptotal)
                        got = min(max(min(st_amount[f], share), 0.0), bal[i])
                        bal[i] -= got
                        paid[i] += got
                        ret = got
                        sp -= 1
                        continue
                    if k == SEQUENTIAL and pb[nd] == 1:
                        # Every child one distinct class: each takes what the earlier ones leave.
                        cum = 0.0
                        used = 0.0
                        offer = st_amount[f]  # (read once: the stores below could alias it)
                        for q in range(first_child[nd], first_child[nd] + n_children[nd]):
                            # (unsigned: an index read from an array is never negative, and
                            # numba adds the length to a signed one that is, 3 instructions
                            # each time)
                            i = np.uint64(pa[np.uint64(children[np.uint64(q)])])
                            b = bal[i]
                            cum += b
                            got = _flat_seq(offer, cum, b)
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
                        if pos < n_children[nd]:
                            st_pos[f] = pos + 1
                            st_node[sp] = children[first_child[nd] + pos]
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
                        c0 = first_child[nd]
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
                            r0 = pa[nd]
                            give = _senior_amount(st_amount[f], sh_unsch, senior, sub, sh_coll,
                                                  sh_coll0, sh_lossb, delinq_t, t, shift[r0, t],
                                                  shift[r0 + 1, t], shift[r0 + 2, t], shift[r0 + 3, t],
                                                  pb[nd] // 2, pb[nd] % 2 == 1, not flag_a[nd], flag_b[nd])
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
                    if k == TRIGGER or k == WHEN:
                        if st_pos[f] == 0:
                            st_pos[f] = 1
                            on = tripped[pa[nd]] if k == TRIGGER else flag_a[nd]
                            st_node[sp] = children[first_child[nd]]
                            st_amount[sp] = st_amount[f] if on else 0.0
                            st_used[sp] = 0.0
                            st_pos[sp] = 0
                            st_pass[sp] = 0
                            sp += 1
                        else:
                            sp -= 1  # the child's result is this node's: `ret` passes through
                        continue
                    # To-schedule and pro rata nodes read their children's capacities.
                    c0 = first_child[nd]
                    nc = n_children[nd]
                    fixed = k == PRO_RATA and pb[nd] != 0
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
                            while (kind[x] == TO_SCHEDULE or kind[x] == TRIGGER or kind[x] == WHEN
                                   or kind[x] == DOWN_TO):
                                chain[depth] = x
                                depth += 1
                                x = children[first_child[x]]
                            kx = kind[x]
                            if kx == PAY:
                                v = bal[pa[x]]
                            elif kx == NAS_SHARE:
                                i = pa[x]
                                v = min(_nas(nas[pb[x], t], own_begin[i], tb_now, ptotal), bal[i])
                            else:
                                v = 0.0
                                for m in range(first_member[x], first_member[x] + n_members[x]):
                                    v += bal[members[m]]
                            for d in range(depth - 1, -1, -1):
                                w = chain[d]
                                if kind[w] == TO_SCHEDULE:
                                    v = _over(v, schedules[pa[w], t])
                                elif kind[w] == DOWN_TO:
                                    v = _over(v, node_val[w])
                                elif kind[w] == WHEN:
                                    if not flag_a[w]:
                                        v = 0.0
                                elif not tripped[pa[w]]:
                                    v = 0.0
                            scratch[q] = v
                    if k == TO_SCHEDULE or k == DOWN_TO:
                        if pos == 0:
                            st_pos[f] = 1
                            target = schedules[pa[nd], t] if k == TO_SCHEDULE else node_val[nd]
                            give = min(st_amount[f], _over(scratch[c0], target))
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
                        w0 = pa[nd]
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
                    if n_grp > 0:
                        g_extra[class_grp[acc_z[j]]] += amount - ret  # its group's principal
                    else:
                        extra += amount - ret
                elif n_grp > 0:
                    left_g = amount - ret
                    to = g_prin_to[gi]
                    if to >= 0:
                        g_xprin[gi] = left_g
                        g_rprin[gi] = 0.0
                        g_pin[to] += left_g
                    else:
                        g_rprin[gi] = left_g
                        g_xprin[gi] = 0.0
                elif enh:
                    # what the rules could not place goes back: to the reserve, then to interest
                    unused = max(amount - ret, 0.0)
                    back = min(unused, draw_l)
                    draw_l -= back
                    unused -= back
                    turbo -= min(unused, turbo)
            # ---- 4b. realized losses written down in the deal's loss order, without cash
            # (engine/credit.py `write_down`: a tier shares pro rata to balance; a tier wiped
            # out is written off exactly)
            unalloc = 0.0
            if ext:
                for c in range(n_cls):
                    wd[c] = 0.0
                # A grouped deal: each group's pools' losses in its own loss order (its tiers).
                for gg in range(n_grp if n_grp > 0 else 1):
                    if n_grp > 0:
                        left = g_loss[gg]
                        t0 = g_tier_first[gg]
                        t1 = t0 + g_tier_n[gg]
                    else:
                        left = ext_loss[s, t]
                        if enh:
                            if has_oc:
                                # the classes are written down by what they exceed the collateral
                                held = 0.0
                                for c in range(n_cls):
                                    if book[c]:
                                        held += bal[c]
                                left = max(held - c_end, 0.0)
                            else:
                                left = max(left - draw_l, 0.0)
                        t0 = 0
                        t1 = tier_first.shape[0]
                    for g in range(t0, t1):
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
                    if n_grp > 0:
                        g_unal[gg] = left
                        unalloc += left
                        g_lossb[gg] += g_loss[gg]
                    else:
                        unalloc = left
                if enh:
                    oc_abs = ext_loss[s, t] - unalloc
                    for c in range(n_cls):
                        if book[c]:
                            oc_abs -= wd[c]
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
            book_end = 0.0
            absorbed += oc_abs
            code = 0
            for g in range(n_grp):
                g_cash[g] = 0.0
                g_fell[g] = 0.0
                g_wd[g] = 0.0
                g_oend[g] = 0.0
            for c in range(n_cls):
                # (each figure read once: a store to an array may alias any other, so a second
                # read of the same element would be a second load)
                pc = paid[c]
                ic = intr[c]
                e = bal[c]
                ac = acc[c]
                w = wd[c] if ext else 0.0  # (write-downs: a credit run's only)
                b0 = begin[c]
                cf = cflag[c]
                if n_grp > 0 and cf & C_IN_GROUP:
                    gc = class_grp[c]
                    if cf & C_CASH:
                        g_cash[gc] += ic + pc
                    if cf & C_BOOK:
                        g_fell[gc] += b0 - e
                        g_wd[gc] += w
                    if cf & C_OWNER:
                        g_oend[gc] += e
                short = due[c] - ic - ac
                carried[c] = short
                if short != 0.0:
                    any_short = True
                if cf & C_CASH_INT:
                    cash_int_paid += ic
                if cf & C_OWNER:
                    owner_paid += pc
                    owner_end += e
                if cf & C_CASH:
                    gap += ic + pc
                if cf & C_BOOK:
                    moved += b0 - e + ac - pc - w
                    book_end += e
                    absorbed += w
                if ext and not w >= -tol:
                    code |= NEGATIVE_WRITEDOWN
                if not e >= -tol:
                    code |= NEGATIVE_BALANCE
                if not min(pc, ic) >= -tol:
                    code |= NEGATIVE_AMOUNT
                if keep_rows:
                    if ext and w != 0.0:
                        wd_out[c, s, t] = w
                    if cf & C_STORE_PAID:
                        paid_out[c, s, t] = pc
                    if cf & C_STORE_INT:
                        int_out[c, s, t] = ic
                # A class that never holds principal (the residual, a notional class) keeps its
                # beginning balance: a notional's is set from the pools each period, and its
                # paydown (below) reads it.
                if cf & C_STORE_PAID:
                    begin[c] = e
            r_int = available - cash_int_paid - accrued_total
            r_prin = principal_in + accrued_total - owner_paid
            if enh:
                r_int -= turbo
                r_prin += turbo + draw_l
            if reimb:
                # 5b. excess interest pays back unreimbursed write-downs, the loss order read
                # backwards (engine/waterfall.py `reimburse`); rounding's dust stays residual. A
                # grouped deal: each reimbursing group out of the excess interest it kept, its
                # own classes (`_Groups.reimburse`).
                for c in range(n_cls):
                    owed[c] += wd[c]
                    rb[c] = 0.0
                for gg in range(n_grp if n_grp > 0 else 1):
                    if n_grp > 0:
                        if not g_reimb[gg]:
                            continue
                        keep = g_rint[gg] + g_hold[gg]
                        t0 = g_tier_first[gg]
                        t1 = t0 + g_tier_n[gg]
                    else:
                        keep = r_int
                        t0 = 0
                        t1 = tier_first.shape[0]
                    left = keep if keep > DUST else 0.0
                    cash_rb = left
                    for g in range(t1 - 1, t0 - 1, -1):
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
                                if n_grp > 0:
                                    g_cash[gg] += w
                            if not w >= -tol:
                                code |= NEGATIVE_AMOUNT
                            if keep_rows and w != 0.0:
                                rb_out[m, s, t] = w
                        left = max(left - take, 0.0)
                    if n_grp > 0:
                        g_rint[gg] = keep - (cash_rb - left)
                        g_hold[gg] = 0.0
                    else:
                        r_int -= cash_rb - left
            if n_grp > 0:
                # the deal's residual: what every group left, of each kind
                r_int = 0.0
                r_prin = 0.0
                for g in range(n_grp):
                    r_int += g_rint[g]
                    r_prin += g_rprin[g]
                    if keep_rows and g_out.shape[1] > 0:
                        # (a row that is always zero is not written: its pages stay untouched)
                        if g_store[0, g]:
                            g_out[0, g, s, t] = g_rint[g]
                        if g_store[1, g]:
                            g_out[1, g, s, t] = g_rprin[g]
                        if g_store[2, g]:
                            g_out[2, g, s, t] = g_xint[g]
                        if g_store[3, g]:
                            g_out[3, g, s, t] = g_xprin[g]
                        if g_store[4, g]:
                            g_out[4, g, s, t] = g_iap[g]
                        if g_store[5, g]:
                            g_out[5, g, s, t] = g_unal[g]
            if enh:
                # 5c. the reserve topped up out of the residual's interest, its excess over target
                # (all of it once the classes are retired or the run ends) released to it
                # (engine/waterfall.py `_Enhancement.settle`); the books count its change as cash out.
                dep = 0.0
                over = 0.0
                res_begin = res_bal
                if has_res:
                    rb_now = res_bal - draw_i - draw_l
                    rt = _res_target(c_end, res_p[0], res_p[1], res_p[2], res_p[3])
                    done = t == periods - 1 or book_end <= DUST
                    cash_x = r_int if r_int > DUST and not done else 0.0
                    dep = min(cash_x, max(rt - rb_now, 0.0))
                    rb_now = rb_now + dep
                    over = rb_now if done else max(rb_now - rt, 0.0)
                    rb_now = rb_now - over
                    r_int = r_int - dep + over
                    res_bal = rb_now
                    gap += res_bal - res_begin
                if keep_rows:
                    enh_out[0, s, t] = c_end - book_end if has_oc else 0.0
                    enh_out[1, s, t] = oc_tgt
                    enh_out[2, s, t] = turbo
                    enh_out[3, s, t] = release
                    enh_out[4, s, t] = oc_abs
                    enh_out[5, s, t] = res_bal
                    enh_out[6, s, t] = dep
                    enh_out[7, s, t] = draw_i
                    enh_out[8, s, t] = draw_l
                    enh_out[9, s, t] = over
                    enh_out[10, s, t] = oc_failing
            if keep_rows:
                if ext:
                    unalloc_out[s, t] = unalloc
                resid_int[s, t] = r_int
                resid_prin[s, t] = r_prin
                for j in range(n_acc):
                    acc_out[acc_slot[j], s, t] = acc[acc_z[j]]
            else:
                # each class's row (the sums' rows), then the collateral's, then the residual's
                # cash on the residual class's row. A class that is never paid principal (a
                # notional class, the residual: not `store_paid`) adds zeros to its principal
                # and WAL sums, which leaves them as they are; only accrual classes accrete.
                k1 = t + 1.0
                for c in range(n_cls):
                    pc = paid[c]
                    s_int[c] += intr[c]
                    s_prin[c] += pc
                    wp = max(pc, 0.0)
                    s_wp[c] += wp
                    s_ww[c] += k1 * wp
                    if pc > dust:
                        if s_first[c] == 0.0:
                            s_first[c] = k1
                        s_last[c] = k1
                for j in range(n_acc):
                    s_acc[acc_z[j]] += acc[acc_z[j]]
                for r in range(n_rate):
                    d = disc[r, t]
                    for c in range(n_cls):
                        s_pv[r, c] += (intr[c] + paid[c]) * d
                pc = sched_tot + prep_tot
                wp = max(pc, 0.0)
                cs_int += int_tot
                cs_prin += pc
                cs_wp += wp
                cs_ww += k1 * wp
                if pc > dust:
                    if cs_first == 0.0:
                        cs_first = k1
                    cs_last = k1
                cs_sched += sched_tot
                cs_prep += prep_tot
                cs_fee += fee_tot
                if resid_class >= 0:
                    # (its WAL sums take nothing: zero added to zero)
                    at = resid_class
                    s_int[at] += r_int
                    s_prin[at] += r_prin
                    if r_prin > dust:
                        if s_first[at] == 0.0:
                            s_first[at] = k1
                        s_last[at] = k1
                    for r in range(n_rate):
                        s_pv[r, at] += (r_int + r_prin) * disc[r, t]
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
                    s_wp[nk] += w
                    s_ww[nk] += (t + 1.0) * w
                    s_fin[nk] = ne
            if fail_t[s] < 0:
                gap += r_int + r_prin
                if not abs(gap) <= tol:
                    code |= GAP
                if not abs(moved) <= tol:
                    code |= MOVED
                if not (r_int >= -tol and r_prin >= -tol):
                    code |= OVERPAID
                if r_prin - release > deal_scale and owner_end > deal_scale and n_grp == 0:
                    code |= LEAKED  # (a grouped deal's leaks are judged group by group)
                if ext:
                    lost = ext_loss[s, t]
                    if enh:
                        # the losses as the books see them (audit.py `_oc_identity`): the fall in
                        # overcollateralization, the write-downs, the turbo and the reserve's draw
                        # for losses, less the residual's principal
                        seen = (c_beg - held_b) - (c_end - book_end) + turbo + draw_l - r_prin
                        for c in range(n_cls):
                            if book[c]:
                                seen += wd[c]
                        if not abs(seen - lost) <= tol + BALANCE_DUST:
                            code |= LOSSES
                    if not abs(absorbed - lost) <= CONSERVATION_RTOL * max(lost, 1.0):
                        code |= LOSSES
                for i in range(n_grp):
                    # Each group's books on their own (engine/audit.py `_group_checks`).
                    g_in = g_int[i] + (g_prin[i] + g_rec[i])
                    g_mv = g_fell[i] + g_rprin[i] + g_xprin[i] - g_iap[i]
                    for q in range(n_grp):
                        if g_int_to[q] == i:
                            g_in += g_xint[q]
                        if g_prin_to[q] == i:
                            g_in += g_xprin[q]
                            g_mv -= g_xprin[q]
                    g_code = 0
                    if not abs(g_cash[i] + g_rint[i] + g_rprin[i] + g_xint[i] + g_xprin[i] - g_in) <= tol:
                        g_code |= G_GAP
                    c_fell = g_prin[i] + g_rec[i]
                    if ext:
                        c_fell += g_loss[i]
                        g_mv += g_unal[i]
                        if not abs(g_wd[i] + g_unal[i] - g_loss[i]) <= tol:
                            g_code |= G_LOSSES
                        if not g_unal[i] >= -tol:
                            g_code |= G_UNABSORBED
                    if not abs(g_mv - c_fell) <= tol:
                        g_code |= G_MOVED
                    if not min(min(g_rint[i], g_rprin[i]), min(g_xint[i], g_xprin[i])) >= -tol:
                        g_code |= G_OVERPAID
                    if g_rprin[i] + g_xprin[i] > deal_scale and g_oend[i] > deal_scale:
                        g_code |= G_LEAKED
                    if g_code and fail_grp[s] < 0:
                        fail_grp[s] = i  # the first group that fails
                    code |= g_code
                if code:
                    fail_t[s] = t
                    fail_code[s] = code
        short_flag[s] = any_short
        if not keep_rows:
            # the scenario's sums, written once; the rows zeroed for the next scenario
            for c in range(n_cls):
                sums[s, c, F_INTEREST] = s_int[c]
                sums[s, c, F_PRINCIPAL] = s_prin[c]
                sums[s, c, F_ACCRUED] = s_acc[c]
                sums[s, c, F_WAL_PAID] = s_wp[c]
                sums[s, c, F_WAL_WEIGHTED] = s_ww[c]
                sums[s, c, F_FIRST] = s_first[c]
                sums[s, c, F_LAST] = s_last[c]
                sums[s, c, F_FINAL] = bal[c] if store_paid[c] else s_fin[c]
                for r in range(n_rate):
                    sums[s, c, F_PV + r] = s_pv[r, c]
                    s_pv[r, c] = 0.0
                s_int[c] = 0.0
                s_prin[c] = 0.0
                s_acc[c] = 0.0
                s_wp[c] = 0.0
                s_ww[c] = 0.0
                s_first[c] = 0.0
                s_last[c] = 0.0
                s_fin[c] = 0.0
            pe = 0.0
            for p in range(n_pool):
                pe += pend[p]
            sums[s, coll, F_FINAL] = pe
            sums[s, coll, F_INTEREST] = cs_int
            sums[s, coll, F_PRINCIPAL] = cs_prin
            sums[s, coll, F_WAL_PAID] = cs_wp
            sums[s, coll, F_WAL_WEIGHTED] = cs_ww
            sums[s, coll, F_FIRST] = cs_first
            sums[s, coll, F_LAST] = cs_last
            sums[s, coll, F_SCHEDULED] = cs_sched
            sums[s, coll, F_PREPAID] = cs_prep
            sums[s, coll, F_FEE] = cs_fee
            cs_int = cs_prin = cs_wp = cs_ww = cs_first = cs_last = cs_sched = cs_prep = cs_fee = 0.0


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


# ---- the lean kernel: a deal with pools, fixed-coupon classes (IO classes among them) and a
# residual, whose principal rules are pay, sequential, pro rata and to-schedule only (no credit
# run, groups, OC or reserve, triggers, conditions, targets, shifting interest, WAC or floating
# coupons, accrual, split, strip or zero-coupon classes, NAS shares): the usual agency CMO.
# `variant` sends it here. The same arithmetic as `_scenarios`, each sum in the same order, so its
# figures are the general kernel's to the bit (tests/test_kernel_variants.py). What makes it ~25%
# faster per scenario-month: a class is of one of three kinds (it owns principal, holds cash, is
# on the books and writes both its rows; or it is notional, holds cash and writes its interest
# row; or it is the residual), so the audit sums the classes that own principal, and those that
# hold cash, in loops over lists of them, without a test of each class's flags (those tests, and
# the stores under them, cost ~10 ns a scenario-month on the sequential example, a fifth of the
# whole); and a program that is one sequential list of classes is paid inline, without the stack
# machine's first frame. (The same function with the general kernel's flag tests was only ~6%
# faster than the plain variant: the size of `_scenarios` is not the cost.) A rule kind added to
# the general kernel needs nothing here: `variant` sends a program with any other kind to the
# plain one.


@njit(cache=CACHE, error_model="numpy")
def _lean_scenarios(s0, s1, smm_const, path_row, paths, pool_balance, amort, net_m, fee_m, init_balance,
                    begin0, coupon, owner, cash, ntl_k, ntl_factor, ntl_first_class, ntl_n_class,
                    ntl_classes, ntl_first_pool, ntl_n_pool, ntl_pools, ntl_all, kind, pa, pb, first_child,
                    n_children, first_member, n_members, children, members, weights, schedules, root,
                    deal_scale, keep_rows, disc, resid_class, dust, sums, paid_out, int_out, resid_int,
                    resid_prin, short_flag, fail_t, fail_code):
    """Scenarios s0..s1-1 of a lean deal (see above), every period: collateral, waterfall, audit.
    A class owns principal (and holds cash, is on the books, writes both rows), or is notional
    (holds cash and writes its interest row only), or is the residual (none of those; no
    balance)."""
    n_cls = init_balance.shape[0]
    periods = disc.shape[1]
    n_rate = disc.shape[0]
    coll = n_cls
    n_pool = pool_balance.shape[0]
    n_nodes = kind.shape[0]
    last = smm_const.shape[2] - 1
    bal = np.empty(n_cls)
    begin = np.empty(n_cls)
    due = np.empty(n_cls)
    carried = np.empty(n_cls)
    paid = np.empty(n_cls)
    intr = np.empty(n_cls)
    factor = np.empty(n_pool)
    pbeg = np.empty(n_pool)
    pend = np.empty(n_pool)
    n_ntl = ntl_k.shape[0]
    st_node = np.zeros(n_nodes + 1, dtype=np.int64)
    st_pos = np.zeros(n_nodes + 1, dtype=np.int64)
    st_pass = np.zeros(n_nodes + 1, dtype=np.int64)
    st_amount = np.zeros(n_nodes + 1)
    st_used = np.zeros(n_nodes + 1)
    st_rem = np.zeros(n_nodes + 1)
    st_step = np.zeros(n_nodes + 1)
    scratch = np.zeros(children.shape[0] + 1)
    chain = np.zeros(n_nodes + 1, dtype=np.int64)
    sw = n_cls if not keep_rows else 0
    s_int = np.zeros(sw)
    s_prin = np.zeros(sw)
    s_wp = np.zeros(sw)
    s_ww = np.zeros(sw)
    s_first = np.zeros(sw)
    s_last = np.zeros(sw)
    s_fin = np.zeros(sw)  # a notional class's last ending balance
    s_pv = np.zeros((n_rate, sw))
    cs_int = cs_prin = cs_wp = cs_ww = cs_first = cs_last = cs_sched = cs_prep = cs_fee = 0.0
    flat_root = kind[root] == SEQUENTIAL and pb[root] == 1  # a list of classes, paid in order
    reg = np.empty(n_cls, dtype=np.uint64)  # the classes that own principal, in class order
    held = np.empty(n_cls, dtype=np.uint64)  # ... and those that hold cash (notional ones too)
    n_reg = 0
    n_held = 0
    for c in range(n_cls):
        if owner[c]:
            reg[n_reg] = c
            n_reg += 1
        if cash[c]:
            held[n_held] = c
            n_held += 1
    for s in range(s0, s1):
        row = path_row[s]
        any_short = False
        for c in range(n_cls):
            bal[c] = init_balance[c]
            begin[c] = begin0[c]
            carried[c] = 0.0
        for p in range(n_pool):
            factor[p] = 1.0
        for t in range(periods):
            tc = min(t, last)
            sched_tot = 0.0
            prep_tot = 0.0
            int_tot = 0.0
            fee_tot = 0.0
            for p in range(n_pool):
                smm = smm_const[s, p, tc] if row < 0 else paths[row, p, t]
                a = amort[p, t]
                b = pool_balance[p] * factor[p]
                factor[p] = factor[p] * ((1.0 - a) * (1.0 - smm))
                sched = b * a
                prepay = smm * (b - sched)
                pbeg[p] = b
                pend[p] = b - sched - prepay
                int_tot += b * net_m[p]
                sched_tot += sched
                prep_tot += prepay
                fee_tot += b * fee_m[p]
            available = int_tot
            principal_in = sched_tot + prep_tot
            for j in range(n_ntl):
                # notional balances at the start of the period, on the pools' beginning balances
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
            cash_in = principal_in + int_tot
            total_due = 0.0
            for c in range(n_cls):
                dc = begin[c] * coupon[c] * (1.0 / 12.0) + carried[c]
                due[c] = dc
                total_due += dc
                paid[c] = 0.0
            ratio = 1.0 if total_due <= 0 or available >= total_due else available / total_due
            for c in range(n_cls):
                intr[c] = due[c] * ratio
            amount = principal_in
            # ---- principal through the rules: `_scenarios`' stack machine, these kinds only
            sp = 0
            if flat_root:
                # the usual deal: one sequential list of classes, paid without the stack (~3%)
                cum = 0.0
                for q in range(first_child[root], first_child[root] + n_children[root]):
                    i = np.uint64(pa[np.uint64(children[np.uint64(q)])])
                    b = bal[i]
                    cum += b
                    got = _flat_seq(amount, cum, b)
                    bal[i] = b - got
                    paid[i] += got
            else:
                st_node[0] = root
                st_amount[0] = amount
                st_used[0] = 0.0
                st_pos[0] = 0
                st_pass[0] = 0
                sp = 1
            ret = 0.0
            while sp > 0:
                f = sp - 1
                nd = np.uint64(st_node[f])
                k = kind[nd]
                if k == PAY:
                    i = np.uint64(pa[nd])
                    got = _pay(st_amount[f], bal[i])
                    bal[i] -= got
                    paid[i] += got
                    ret = got
                    sp -= 1
                    continue
                if k == SEQUENTIAL and pb[nd] == 1:
                    cum = 0.0
                    used = 0.0
                    offer = st_amount[f]
                    for q in range(first_child[nd], first_child[nd] + n_children[nd]):
                        i = np.uint64(pa[np.uint64(children[np.uint64(q)])])
                        b = bal[i]
                        cum += b
                        got = _flat_seq(offer, cum, b)
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
                    if pos < n_children[nd]:
                        st_pos[f] = pos + 1
                        st_node[sp] = children[first_child[nd] + pos]
                        st_amount[sp] = st_amount[f] - st_used[f]
                        st_used[sp] = 0.0
                        st_pos[sp] = 0
                        st_pass[sp] = 0
                        sp += 1
                    else:
                        ret = st_used[f]
                        sp -= 1
                    continue
                c0 = first_child[nd]
                nc = n_children[nd]
                fixed = k == PRO_RATA and pb[nd] != 0
                pos = st_pos[f]
                if fixed:
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
                    for q in range(c0, c0 + nc):
                        x = children[q]
                        depth = 0
                        while kind[x] == TO_SCHEDULE:
                            chain[depth] = x
                            depth += 1
                            x = children[first_child[x]]
                        if kind[x] == PAY:
                            v = bal[pa[x]]
                        else:
                            v = 0.0
                            for m in range(first_member[x], first_member[x] + n_members[x]):
                                v += bal[members[m]]
                        for d in range(depth - 1, -1, -1):
                            v = _over(v, schedules[pa[chain[d]], t])
                        scratch[q] = v
                if k == TO_SCHEDULE:
                    if pos == 0:
                        st_pos[f] = 1
                        give = min(st_amount[f], _over(scratch[c0], schedules[pa[nd], t]))
                        st_node[sp] = children[c0]
                        st_amount[sp] = give
                        st_used[sp] = 0.0
                        st_pos[sp] = 0
                        st_pass[sp] = 0
                        sp += 1
                    else:
                        sp -= 1
                    continue
                if not fixed:
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
                    w0 = pa[nd]
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
            # ---- the residual, the carried shortfalls, the outputs and the audit (no accretion or
            # write-down to add: the general kernel's sums with those zero)
            cash_int_paid = 0.0
            owner_paid = 0.0
            tol = CONSERVATION_RTOL * max(cash_in, 1.0)
            gap = -cash_in
            moved = 0.0
            owner_end = 0.0
            code = 0
            for c in range(n_cls):
                pc = paid[c]
                ic = intr[c]
                e = bal[c]
                short = due[c] - ic
                carried[c] = short
                any_short |= short != 0.0
                cash_int_paid += ic
                if not e >= -tol:
                    code |= NEGATIVE_BALANCE
                if not min(pc, ic) >= -tol:
                    code |= NEGATIVE_AMOUNT
            for j in range(n_reg):  # the sums over the classes that own principal, flag-free
                c = reg[j]
                pc = paid[c]
                e = bal[c]
                owner_paid += pc
                owner_end += e
                moved += begin[c] - e - pc
                if keep_rows:
                    paid_out[c, s, t] = pc
                begin[c] = e
                if n_ntl == 0:
                    # (the classes that hold cash are these: one loop, not two, ~3% faster)
                    ic = intr[c]
                    gap += ic + pc
                    if keep_rows:
                        int_out[c, s, t] = ic
            for j in range(n_held if n_ntl > 0 else 0):  # ... and over those that hold cash
                c = held[j]
                ic = intr[c]
                gap += ic + paid[c]
                if keep_rows:
                    int_out[c, s, t] = ic
            r_int = available - cash_int_paid
            r_prin = principal_in - owner_paid
            if keep_rows:
                resid_int[s, t] = r_int
                resid_prin[s, t] = r_prin
            else:
                k1 = t + 1.0
                for c in range(n_cls):
                    pc = paid[c]
                    s_int[c] += intr[c]
                    s_prin[c] += pc
                    wp = max(pc, 0.0)
                    s_wp[c] += wp
                    s_ww[c] += k1 * wp
                    if pc > dust:
                        if s_first[c] == 0.0:
                            s_first[c] = k1
                        s_last[c] = k1
                for r in range(n_rate):
                    d = disc[r, t]
                    for c in range(n_cls):
                        s_pv[r, c] += (intr[c] + paid[c]) * d
                pc = sched_tot + prep_tot
                wp = max(pc, 0.0)
                cs_int += int_tot
                cs_prin += pc
                cs_wp += wp
                cs_ww += k1 * wp
                if pc > dust:
                    if cs_first == 0.0:
                        cs_first = k1
                    cs_last = k1
                cs_sched += sched_tot
                cs_prep += prep_tot
                cs_fee += fee_tot
                if resid_class >= 0:
                    at = resid_class
                    s_int[at] += r_int
                    s_prin[at] += r_prin
                    if r_prin > dust:
                        if s_first[at] == 0.0:
                            s_first[at] = k1
                        s_last[at] = k1
                    for r in range(n_rate):
                        s_pv[r, at] += (r_int + r_prin) * disc[r, t]
            for j in range(n_ntl):
                # notional ending balances, on the pools' ending balances: the audit's, and a
                # notional class's WAL (that of its notional balance's paydown)
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
                    nk = ntl_k[j]
                    w = max(begin[nk] - ne, 0.0)
                    s_wp[nk] += w
                    s_ww[nk] += (t + 1.0) * w
                    s_fin[nk] = ne
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
                if code:
                    fail_t[s] = t
                    fail_code[s] = code
        short_flag[s] = any_short
        if not keep_rows:
            for c in range(n_cls):
                sums[s, c, F_INTEREST] = s_int[c]
                sums[s, c, F_PRINCIPAL] = s_prin[c]
                sums[s, c, F_ACCRUED] = 0.0
                sums[s, c, F_WAL_PAID] = s_wp[c]
                sums[s, c, F_WAL_WEIGHTED] = s_ww[c]
                sums[s, c, F_FIRST] = s_first[c]
                sums[s, c, F_LAST] = s_last[c]
                sums[s, c, F_FINAL] = bal[c] if owner[c] else s_fin[c]
                for r in range(n_rate):
                    sums[s, c, F_PV + r] = s_pv[r, c]
                    s_pv[r, c] = 0.0
                s_int[c] = 0.0
                s_prin[c] = 0.0
                s_wp[c] = 0.0
                s_ww[c] = 0.0
                s_first[c] = 0.0
                s_last[c] = 0.0
                s_fin[c] = 0.0
            pe = 0.0
            for p in range(n_pool):
                pe += pend[p]
            sums[s, coll, F_FINAL] = pe
            sums[s, coll, F_INTEREST] = cs_int
            sums[s, coll, F_PRINCIPAL] = cs_prin
            sums[s, coll, F_WAL_PAID] = cs_wp
            sums[s, coll, F_WAL_WEIGHTED] = cs_ww
            sums[s, coll, F_FIRST] = cs_first
            sums[s, coll, F_LAST] = cs_last
            sums[s, coll, F_SCHEDULED] = cs_sched
            sums[s, coll, F_PREPAID] = cs_prep
            sums[s, coll, F_FEE] = cs_fee
            cs_int = cs_prin = cs_wp = cs_ww = cs_first = cs_last = cs_sched = cs_prep = cs_fee = 0.0


@njit(cache=CACHE, parallel=True, error_model="numpy")
def _lean_blocks(smm_const, path_row, paths, pool_balance, amort, net_m, fee_m, init_balance, begin0,
                 coupon, owner, cash, ntl_k, ntl_factor, ntl_first_class, ntl_n_class, ntl_classes,
                 ntl_first_pool, ntl_n_pool, ntl_pools, ntl_all, kind, pa, pb, first_child, n_children,
                 first_member, n_members, children, members, weights, schedules, root, deal_scale,
                 keep_rows, disc, resid_class, dust, sums, paid_out, int_out, resid_int, resid_prin,
                 short_flag, fail_t, fail_code):
    """`_lean_scenarios` over all scenarios, in blocks in parallel (as `_run_blocks`)."""
    n_scen = fail_t.shape[0]
    size = _block_size(n_scen)
    n_blocks = (n_scen + size - 1) // size
    for blk in prange(n_blocks):
        _lean_scenarios(blk * size, min(n_scen, (blk + 1) * size), smm_const, path_row, paths,
                        pool_balance, amort, net_m, fee_m, init_balance, begin0, coupon, owner, cash,
                        ntl_k, ntl_factor, ntl_first_class, ntl_n_class, ntl_classes, ntl_first_pool,
                        ntl_n_pool, ntl_pools, ntl_all, kind, pa, pb, first_child, n_children,
                        first_member, n_members, children, members, weights, schedules, root,
                        deal_scale, keep_rows, disc, resid_class, dust, sums, paid_out, int_out,
                        resid_int, resid_prin, short_flag, fail_t, fail_code)


# `_lean_blocks`' arguments, as names of `_run_blocks`' (a few under other names there).
_LEAN_ARGS = tuple({"coupon": "fixed_coupon", "root": "principal_root"}.get(n, n)
                   for n in inspect.signature(_lean_blocks.py_func).parameters)


def _variant(general, name: str, **globals_: object):
    """`general`'s source compiled again as `name`, reading `globals_` in place of its module's
    globals of those names (numba takes a global as a compile-time constant). Its own name
    matters: numba's cache file is named after the function's qualified name and first line,
    and its cache key hashes only the bytecode, so a variant under the general one's name would
    be handed the general one's machine code."""
    py = general.py_func
    func = types.FunctionType(py.__code__, {**py.__globals__, **globals_}, name, py.__defaults__,
                              py.__closure__)
    func.__qualname__ = name
    func.__doc__ = py.__doc__
    return numba.jit(cache=CACHE, **general.targetoptions)(func)  # (its options include nopython)


# The plain kernel: credit runs, OC and reserve, collateral groups, WAC classes, triggers,
# named triggers, conditions, targets and shifting interest are dropped at compile time (13-16%
# fewer instructions per scenario-month on the sequential and PAC examples; dropping kids,
# strips, notionals and NAS too saved 2% more on the sequential one, and would have taken IO
# deals off it). Compiled on its first call, as the general one is: a process that runs only
# plain deals never compiles the general one.
_scenarios_plain = _variant(_scenarios, "_scenarios_plain", PLAIN=True)
_run_blocks_plain = _variant(_run_blocks, "_run_blocks_plain", _scenarios=_scenarios_plain)

# `_run_blocks`' arguments by name, for `variant`.
_AT = {name: i for i, name in enumerate(inspect.signature(_run_blocks.py_func).parameters)}


def variant(args: tuple) -> str:
    """The kernel that computes what the general one would for these arguments (`_run_blocks`'),
    to the bit, at the least cost: "lean" (`_lean_blocks`) for a deal it serves (see it), else
    "plain" when each flag the plain variant holds constant has that value here, else "general".
    STRUCTURER_KERNEL=general or =plain caps the choice (the checks of one against another)."""
    cap = os.environ.get("STRUCTURER_KERNEL", "").strip().lower()
    if cap == "general":
        return "general"
    if args[_AT["ext"]] or args[_AT["enh"]]:
        return "general"
    for name in ("thresholds", "shift", "trig", "cond_ops", "oc_p", "res_p", "g_int_to", "wac_init"):
        if args[_AT[name]].shape[0] > 0:
            return "general"
    return "plain" if cap == "plain" or not _lean(args) else "lean"


def _lean(args: tuple) -> bool:
    """Whether `_lean_blocks` serves a plain run with these arguments: fixed coupons, no accrual,
    split or strip classes, no NAS share, the rule kinds it knows, and every class of one of three
    kinds: owning principal, holding cash, on the books and writing both its rows; notional,
    holding cash and writing its interest row only; or none of those and without a balance (the
    residual)."""
    # A deal's arrays are made once (engine/compiled.py caches them), so the answer is kept for
    # the very arrays it read (held here, so no other array can take their ids): a run of one
    # scenario takes ~250 us, and this answer ~15 us.
    read = tuple(args[_AT[name]] for name in _LEAN_READS)
    key = tuple(map(id, read))
    kept = _LEAN_SEEN.get(key)
    if kept is None or any(x is not y for x, y in zip(kept[0], read, strict=True)):
        if len(_LEAN_SEEN) >= 64:
            _LEAN_SEEN.clear()
        kept = _LEAN_SEEN[key] = (read, _lean_of(args))
    return kept[1]


def _lean_of(args: tuple) -> bool:
    """`_lean`, worked out."""
    get = lambda name: args[_AT[name]]  # noqa: E731
    if get("has_nas") or get("acc_z").shape[0] or get("kid_k").shape[0] or get("strip_k").shape[0]:
        return False
    kinds = get("kind")
    if kinds.shape[0] and (kinds.max() >= _LEAN_KIND.shape[0] or not _LEAN_KIND[kinds].all()):
        return False
    if get("f_index").max(initial=-1) >= 0:
        return False
    # each class's flags as bits (owner, cash, book, paid row, interest row, notional)
    code = get("owner") + 2 * get("cash").view(np.uint8) + 4 * get("book").view(np.uint8)
    code += 8 * get("store_paid").view(np.uint8) + 16 * get("store_int").view(np.uint8)
    code[get("ntl_k")] += 32
    return bool(_LEAN_CLASS[code].all() and not get("init_balance")[code == 0].any())


_LEAN_READS = ("has_nas", "acc_z", "kid_k", "strip_k", "kind", "f_index", "owner", "cash", "book",
               "store_paid", "store_int", "ntl_k", "init_balance")
_LEAN_SEEN: dict[tuple[int, ...], tuple[tuple, bool]] = {}
_LEAN_KINDS = (PAY, SEQUENTIAL, PRO_RATA, TO_SCHEDULE)
_LEAN_KIND = np.isin(np.arange(16), _LEAN_KINDS)  # by rule kind: one the lean kernel runs
# by class flags (`_lean`'s bits): a class that owns principal (31), a notional one (2 + 16 + 32),
# the residual (0)
_LEAN_CLASS = np.isin(np.arange(64), (31, 2 + 16 + 32, 0))


def run_kernel(*args: object) -> None:
    """Run the kernel (`_run_blocks`' arguments) that `variant` picks. (Each looked up by name
    when called, so that tests can stand in for them.)"""
    chosen = variant(args)
    if chosen == "lean":
        globals()["_lean_blocks"](*(args[_AT[name]] for name in _LEAN_ARGS))
    else:
        globals()["_run_blocks_plain" if chosen == "plain" else "_run_blocks"](*args)


def run(*args: object, scenarios: int | None = None) -> None:
    """`run_kernel(*args)`, without letting numba load scipy (see `_without_scipy`). A run of
    `scenarios` within one block (one scenario, a decrement table) stays on the calling thread:
    starting the parallel region costs microseconds on an idle machine, but when the other cores
    are busy it waits for a worker to be scheduled, often milliseconds, against ~0.1 ms for the
    run itself."""
    with _without_scipy():
        # (one thread already, or a run of several blocks: nothing to set, nor to set back)
        threads = 1 if scenarios is None or scenarios > BLOCK else numba.get_num_threads()
        if threads == 1:
            run_kernel(*args)
            return
        numba.set_num_threads(1)
        try:
            run_kernel(*args)
        finally:
            numba.set_num_threads(threads)
