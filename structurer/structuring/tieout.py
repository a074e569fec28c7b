"""REMIC tie-out: the checks a deal's cash flows must pass before the numbers go out.

    tieout(deal)                    the deal's pricing and decrement speeds, plus the stress speeds
    tieout(deal, ["100 PSA", ...])  the speeds given, plus the stress speeds

Each check is a Check(name, passed, detail); TieOut holds them, with `passed` and a pandas
view (`frame()`). The checks read the engine's arrays (Results) and recompute nothing the
engine reports, so a broken run shows here as a failed check rather than a wrong report:

- principal: over the life, the principal paid to the classes (less accretion, which is
  interest turned into principal) equals the collateral's principal, in every scenario, to
  one part in a million; so no principal is left to the residual or paid twice. With
  overcollateralization or a reserve account: plus the turbo and the reserve's draws for
  losses, less what the residual was paid as principal (the OC release).
- interest: in every period, the interest the classes are paid (IO classes included) plus the
  interest accreted to accrual classes never exceeds the collateral's net interest.
- retirement: every class retires (principal or notional balance to zero) by its final
  distribution date, taken as the date it retires at 0 PSA (the latest it can, with no
  prepayments), and retires no later at 5000 PSA and at 100 CPR.
- balances: no class balance, payment or residual amount is negative.
- residual: the cash the residual class receives, reported per scenario (a REMIC's residual
  is normally little or nothing); it fails only if that cash is negative.
- groups (a deal with collateral groups): per group, in every period, its pools' cash plus the
  excess other groups directed to it equals its classes' cash plus the excess it passed on
  plus what it left to the residual, nothing it passed on is negative, and over the life its
  classes were paid their balances in principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..engine.run import resolve_scenarios
from ..model.deal import Deal
from ..model.prepayment import Prepayment
from ..model.scenarios import Scenario
from ..results.measures import PAYMENT_DUST
from ..results.results import Results

if TYPE_CHECKING:
    import pandas as pd

PRINCIPAL_RTOL = 1e-6  # relative to the collateral principal of the scenario
CASH_TOL = 1e-6  # dollars, plus CASH_RTOL of the period's cash: float rounding, not money
CASH_RTOL = 1e-9
STRESS = ("0 PSA", "5000 PSA", "100 CPR")  # the retirement speeds: none, and very fast


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class TieOut:
    deal: str
    scenarios: list[str]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def frame(self) -> pd.DataFrame:
        """One row per check: name, passed, detail."""
        import pandas as pd  # late: pandas is slow to import and only this table needs it

        return pd.DataFrame([{"check": c.name, "passed": c.passed, "detail": c.detail}
                             for c in self.checks]).set_index("check")

    def __bool__(self) -> bool:
        return self.passed


def _book(deal: Deal) -> np.ndarray:
    return np.array([c.on_books for c in deal.classes])


def _cash(deal: Deal) -> np.ndarray:
    return np.array([c.holds_cash for c in deal.classes])


def _money(x: float) -> str:
    """Dollars to the cent; a rounding residue of -0.001 shows as 0.00, not -0.00."""
    return f"{round(float(x), 2) + 0.0:,.2f}"


def _where(results: Results, s: int, t: int | None = None) -> str:
    text = results.scenarios[s]
    if t is not None:
        text += f", period {t + 1} ({results.dates[t].isoformat()})"
    return text


def check_principal(results: Results) -> Check:
    """Class principal less accretion equals collateral principal, per scenario (1e-6 relative)."""
    deal, f = results.deal, results.flows
    book = _book(deal)
    paid = f.principal[:, book, :].sum(axis=(1, 2)) - f.accrued[:, book, :].sum(axis=(1, 2))
    coll = results.collateral.principal.sum(axis=1)
    name = "total class principal = collateral principal"
    figures = results.enhancement()
    if figures:
        # Overcollateralization or a reserve: the classes are also paid excess interest (turbo) and
        # the reserve's draws for losses as principal, and the residual principal released.
        coll = coll - f.residual_principal.sum(axis=1)
        for key in ("turbo", "reserve_loss_draw"):
            if key in figures:
                coll = coll + figures[key].sum(axis=1)
        name = "total class principal = collateral principal + turbo + reserve draws - release"
    rel = np.abs(paid - coll) / np.maximum(coll, 1.0)
    worst = int(np.argmax(rel))
    passed = bool((rel <= PRINCIPAL_RTOL).all())
    detail = (f"worst {_where(results, worst)}: classes {paid[worst]:,.2f}, collateral {coll[worst]:,.2f} "
              f"(relative difference {rel[worst]:.1e})")
    return Check(name, passed, detail)


def check_interest(results: Results) -> Check:
    """Class interest (IO included) plus accretion never exceeds collateral interest, every period."""
    deal, f = results.deal, results.flows
    cash = _cash(deal)
    used = f.interest[:, cash, :].sum(axis=1) + f.accrued.sum(axis=1)
    avail = results.collateral.interest
    draws = results.enhancement().get("reserve_interest_draw")
    if draws is not None:
        avail = avail + draws  # the reserve pays interest shortfalls
    over = used - avail
    tol = CASH_TOL + CASH_RTOL * np.abs(avail)
    bad = over > tol
    if bad.any():
        s, t = np.argwhere(bad)[0]
        return Check("class interest + IO <= collateral interest", False,
                     f"{int(bad.sum())} period(s) over; first {_where(results, s, t)}: classes "
                     f"{used[s, t]:,.2f}, collateral {avail[s, t]:,.2f}")
    margin = float((avail - used).min())
    return Check("class interest + IO <= collateral interest", True,
                 f"every period of {len(results.scenarios)} scenario(s); least excess {_money(margin)}")


def check_balances(results: Results) -> Check:
    """No negative balance, payment or residual amount anywhere."""
    f = results.flows
    tol = CASH_TOL + CASH_RTOL * np.abs(results.collateral.cash)[:, None, :]
    names = [c.name for c in results.deal.classes]
    problems = []
    for label, arr in (("balance", f.ending_balance), ("beginning balance", f.beginning_balance),
                       ("principal", f.principal), ("interest", f.interest)):
        bad = arr < -tol
        if bad.any():
            s, k, t = np.argwhere(bad)[0]
            problems.append(f"{names[k]} {label} {arr[s, k, t]:,.2f} at {_where(results, s, t)}")
    for label, arr in (("interest", f.residual_interest), ("principal", f.residual_principal)):
        bad = arr < -tol[:, 0, :]
        if bad.any():
            s, t = np.argwhere(bad)[0]
            problems.append(f"residual {label} {arr[s, t]:,.2f} at {_where(results, s, t)}")
    if problems:
        return Check("no negative balances", False, "; ".join(problems))
    return Check("no negative balances", True, "no balance, payment or residual amount below zero")


def check_residual(results: Results) -> Check:
    """The residual's cash per scenario: reported; fails only if negative over the life."""
    f = results.flows
    interest = f.residual_interest.sum(axis=1)
    principal = f.residual_principal.sum(axis=1)
    name = results.deal.residual.name if results.deal.residual else "R"
    parts = [f"{label}: {_money(i)} interest, {_money(p)} principal"
             for label, i, p in zip(results.scenarios, interest, principal, strict=True)]
    tol = CASH_TOL + CASH_RTOL * results.collateral.cash.sum(axis=1)
    passed = bool(((interest >= -tol) & (principal >= -tol)).all())
    return Check(f"residual cash ({name})", passed, "; ".join(parts))


def _retired_by(balance: np.ndarray) -> np.ndarray:
    """The first period (1-based) after which the balance stays at zero, per row; 0 if never."""
    live = balance > PAYMENT_DUST
    n = balance.shape[-1]
    last_live = np.where(live.any(axis=-1), n - live[..., ::-1].argmax(axis=-1), 0)
    return np.where(live[..., -1], 0, np.maximum(last_live + 1, 1))


def check_retirement(results: Results, zero: int, fast: list[int]) -> list[Check]:
    """Final distribution dates from scenario `zero` (0 PSA), and retirement by them in the
    scenarios `fast`."""
    deal = results.deal
    end = results.flows.ending_balance
    out: list[Check] = []
    at_zero = _retired_by(end[zero])  # [class]
    classes = [c for c in deal.issued_classes if not c.is_residual]
    never = [c.name for c in classes if at_zero[c.index] == 0]
    finals = {c.name: int(at_zero[c.index]) for c in classes}
    label = results.scenarios[zero]
    if never:
        out.append(Check(f"every class retires at {label}", False,
                         f"{', '.join(never)} still outstanding after the last period"))
    else:
        shown = ", ".join(f"{n} {results.dates[p - 1]:%m/%Y}" for n, p in finals.items())
        out.append(Check(f"every class retires at {label}", True, f"final distribution dates: {shown}"))
    for s in fast:
        got = _retired_by(end[s])
        late = []
        for c in classes:
            final, when = finals[c.name], int(got[c.index])
            if final and (when == 0 or when > final):
                text = "never" if when == 0 else f"{results.dates[when - 1]:%m/%Y}"
                late.append(f"{c.name} retires {text}, final {results.dates[final - 1]:%m/%Y}")
        name = f"every class retires by its final date at {results.scenarios[s]}"
        if late:
            out.append(Check(name, False, "; ".join(late)))
        else:
            last = max((int(got[c.index]) for c in classes), default=0)
            out.append(Check(name, True, f"all retired by period {last}"
                             + (f" ({results.dates[last - 1]:%m/%Y})" if last else "")))
    return out


def check_groups(results: Results) -> list[Check]:
    """One check per collateral group: its books balance on their own (see the module notes)."""
    deal, f = results.deal, results.flows
    if not deal.groups:
        return []
    by_pool = results.collateral.by_pool
    pool_cash = by_pool["interest"] + by_pool["scheduled_principal"] + by_pool["prepayment"]
    if "recoveries" in by_pool:
        pool_cash = pool_cash + by_pool["recoveries"]  # a credit run: recoveries are principal
    tol = CASH_TOL + CASH_RTOL * np.abs(results.collateral.cash)  # [scenario, period]
    x_int, x_prin = f.cross_interest, f.cross_principal  # [scenario, group, period]
    r_int, r_prin = f.group_residual_interest, f.group_residual_principal
    out = []
    for i, g in enumerate(deal.groups):
        brought = np.zeros_like(tol)  # the excess donor groups directed to this one
        for j, d in enumerate(deal.groups):
            brought += ((x_int[:, j] if d.interest_to == i else 0.0)
                        + (x_prin[:, j] if d.principal_to == i else 0.0))
        cash_in = pool_cash[:, list(g.pools)].sum(axis=1) + brought
        cash = [k for k in g.classes if deal.classes[k].holds_cash]
        paid = (f.interest + f.principal)[:, cash].sum(axis=1)
        if f.reimbursed is not None:
            paid = paid + f.reimbursed[:, cash].sum(axis=1)  # write-downs paid back: class cash
        passed_on = x_int[:, i] + x_prin[:, i]
        left = r_int[:, i] + r_prin[:, i]
        gap = np.abs(cash_in - paid - passed_on - left)
        name = f"group {g.name}: cash in = cash out"
        problems = []
        if (gap > tol).any():
            s, t = np.argwhere(gap > tol)[0]
            problems.append(f"{_where(results, s, t)}: in {cash_in[s, t]:,.2f}, out "
                            f"{paid[s, t] + passed_on[s, t] + left[s, t]:,.2f}")
        negative = np.minimum(np.minimum(x_int[:, i], x_prin[:, i]), np.minimum(r_int[:, i], r_prin[:, i]))
        if (negative < -tol).any():
            s, t = np.argwhere(negative < -tol)[0]
            problems.append(f"{_where(results, s, t)}: a negative amount passed on or left")
        owed = sum(deal.classes[k].balance for k in g.classes if deal.classes[k].on_books)
        book = [k for k in g.classes if deal.classes[k].on_books]
        principal = (f.principal[:, book] - f.accrued[:, book]).sum(axis=(1, 2))
        # A credit run: a balance is retired by principal or written down by a loss.
        written = results.writedowns()[:, book].sum(axis=(1, 2))
        rel = np.abs(principal + written - owed) / max(owed, 1.0)
        if (rel > PRINCIPAL_RTOL).any():
            s = int(np.argmax(rel))
            problems.append(f"{_where(results, s)}: classes paid {principal[s]:,.2f} of principal"
                            + (f" and were written down {written[s]:,.2f}" if written[s] else "")
                            + f", their balances are {owed:,.2f}")
        if problems:
            out.append(Check(name, False, "; ".join(problems)))
            continue
        s = 0
        out.append(Check(name, True, (
            f"every period of {len(results.scenarios)} scenario(s); {_where(results, s)}: pools "
            f"{_money(pool_cash[s, list(g.pools)].sum())} + excess in {_money(brought[s].sum())}"
            f" = classes {_money(paid[s].sum())} + excess out {_money(passed_on[s].sum())}"
            f" + residual {_money(left[s].sum())}")))
    return out


def check_results(results: Results) -> list[Check]:
    """The checks that read the cash of one run: principal, interest, balances, residual, and
    each collateral group's books."""
    return [check_principal(results), check_interest(results), check_balances(results),
            check_residual(results), *check_groups(results)]


def tieout(deal: Deal, scenarios: list[Scenario | Prepayment | str] | None = None) -> TieOut:
    """Tie out the deal: the cash checks over the scenarios (default: the deal's pricing and
    decrement speeds) and the stress speeds, in one run; the retirement checks at the stress
    speeds."""
    if scenarios is None:
        scenarios = ([deal.pricing] if deal.pricing else []) + list(deal.decrement)
    wanted = resolve_scenarios(deal, list(scenarios)) if scenarios else []
    stress = resolve_scenarios(deal, list(STRESS))
    keys: list[tuple] = []
    run: list[Scenario] = []
    for s in wanted + stress:  # each speed once: the pricing speed is often a decrement speed too
        if (s.prepayment, s.indices) not in keys:
            keys.append((s.prepayment, s.indices))
            run.append(s)
    positions = [keys.index((s.prepayment, s.indices)) for s in stress]
    results = deal.run(*run)
    checks = check_results(results) + check_retirement(results, positions[0], positions[1:])
    return TieOut(deal.name, results.scenarios, checks)
