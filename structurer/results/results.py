"""Results of a run: cash flow arrays, with the tables a structurer reads, as pandas DataFrames.

Everything here is a view over the engine's arrays plus the analytics' figures; nothing is
recomputed from the deal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import hooks
from ..dates import add_months, payment_dates
from ..errors import InputError
from ..model.scenarios import labels_of, prepayments_of
from . import measures as analytics

# pandas is imported inside the table methods: it costs ~0.35 s and `structure check` and a
# plain run never build a table.
if TYPE_CHECKING:
    import pandas as pd

    from ..engine.collateral import CollateralFlows
    from ..engine.waterfall import ClassFlows
    from ..model.deal import Deal, Tranche
    from ..model.prepayment import Prepayment
    from ..model.scenarios import Scenario

COLLATERAL = "COLLATERAL"
CLASS_ARRAYS = ("beginning_balance", "interest", "accrued", "principal", "ending_balance", "shortfall",
                "coupon")

_READ = {name: attrgetter(name) for name in CLASS_ARRAYS}


class ClassArrays(Mapping[str, np.ndarray]):
    """One class's arrays [scenario, period], each read off the flows when asked for: a kernel
    run derives balances, shortfalls and coupons only on demand, and a WAL needs none of them."""

    def __init__(self, flows: ClassFlows, index: int):
        self._flows = flows
        self._index = index

    def __getitem__(self, key: str) -> np.ndarray:
        # A credit run's write-downs; a run without defaults has none (KeyError below, as a dict).
        wd = getattr(self._flows, "writedown", None)
        if key == "writedown" and wd is not None:
            return wd[:, self._index, :]
        rb = getattr(self._flows, "reimbursed", None)
        if key == "reimbursed" and rb is not None:
            return rb[:, self._index, :]
        return _READ[key](self._flows)[:, self._index, :]  # an unknown key: KeyError, as a dict

    def __iter__(self) -> Iterator[str]:
        return iter(CLASS_ARRAYS)

    def __len__(self) -> int:
        return len(CLASS_ARRAYS)


class Results:
    """Cash flows of one deal under one or more prepayment scenarios."""

    def __init__(self, deal: Deal, scenarios: Sequence[Scenario], collateral: CollateralFlows,
                 flows: ClassFlows):
        self.deal = deal
        self.scenario_specs = scenarios
        self.collateral = collateral
        self.flows = flows

    @property
    def prepayments(self) -> list[Prepayment]:
        return list(prepayments_of(self.scenario_specs))

    # ---- shape and labels

    @property
    def scenarios(self) -> list[str]:
        """The scenarios' labels, in run order (built once: a run may have 10,000; do not mutate)."""
        return self._labels

    @cached_property
    def _labels(self) -> list[str]:
        return labels_of(self.scenario_specs)

    @cached_property
    def _positions(self) -> dict[str, int]:
        # Label -> first scenario with it, as list.index finds it: a lookup by name costs O(1).
        positions: dict[str, int] = {}
        for s, label in enumerate(self._labels):
            positions.setdefault(label, s)
        return positions

    @property
    def periods(self) -> int:
        return self.collateral.periods

    @cached_property
    def dates(self) -> list[dt.date]:
        return payment_dates(self.deal.first_payment, self.periods)

    def scenario_index(self, scenario: int | str) -> int:
        if isinstance(scenario, int):
            if not -len(self.scenarios) <= scenario < len(self.scenarios):
                raise InputError(f"no scenario {scenario}: the run has {len(self.scenarios)}, "
                                 "numbered from 0")
            return scenario
        if scenario not in self._positions:
            labels = self.scenarios
            shown = ", ".join(labels[:20]) + (f", ... ({len(labels):,} in all)" if len(labels) > 20 else "")
            raise InputError(f"no scenario '{scenario}'; the run has {shown}")
        return self._positions[scenario]

    # ---- per-class arrays [scenario, period]

    def arrays(self, name: str) -> Mapping[str, np.ndarray]:
        """beginning_balance, interest, accrued, principal, ending_balance, shortfall, coupon of
        a class. A notional class's balances are its notional balances."""
        tranche = self.deal.tranche(name)
        f = self.flows
        if tranche.is_residual:
            zeros = np.zeros_like(f.residual_interest)
            return {"beginning_balance": zeros, "interest": f.residual_interest, "accrued": zeros,
                    "principal": f.residual_principal, "ending_balance": zeros, "shortfall": zeros,
                    "coupon": zeros}
        return ClassArrays(f, tranche.index)

    def wal(self, name: str) -> np.ndarray:
        """SIFMA WAL (years from settlement by period count) of a class, per scenario.

        NaN for the residual and for notional classes, which have no principal of their own.
        """
        if name == COLLATERAL:
            return analytics.weighted_average_life(self.collateral.principal)
        tranche = self.deal.tranche(name)
        if tranche.is_residual or tranche.is_notional:
            return np.full(len(self.scenario_specs), np.nan)
        return analytics.weighted_average_life(self.arrays(name)["principal"])

    def original_balance(self, name: str) -> float:
        """The class's balance at issue; a notional class's notional balance at issue."""
        tranche = self.deal.tranche(name)
        if tranche.is_notional:
            return float(self.flows.beginning_balance[0, tranche.index, 0])
        return tranche.balance

    def average_life_to_receipt(self, name: str) -> np.ndarray:
        """BMA average life to the distribution dates (30/360 from settlement), per scenario."""
        principal = self.collateral.principal if name == COLLATERAL else self.arrays(name)["principal"]
        return analytics.average_life_to_receipt(principal, self.deal.settle, self.dates)

    def principal_window(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        principal = self.collateral.principal if name == COLLATERAL else self.arrays(name)["principal"]
        return analytics.principal_window(principal)

    def final_period(self, name: str) -> np.ndarray:
        """The last period with cash for the class, per scenario (its final distribution)."""
        if name == COLLATERAL:
            return analytics.last_payment_period(self.collateral.cash)
        a = self.arrays(name)
        return analytics.last_payment_period(a["interest"] + a["principal"])

    def date_of(self, period: int) -> dt.date | None:
        return self.dates[period - 1] if period >= 1 else None

    # ---- DataFrames

    def class_cashflows(self, name: str, scenario: int | str = 0) -> pd.DataFrame:
        """Monthly cash flows of one class: period, date, balances, interest, principal."""
        import pandas as pd

        s = self.scenario_index(scenario)
        a = self.arrays(name)
        frame = pd.DataFrame({
            "period": np.arange(1, self.periods + 1),
            "date": pd.to_datetime(self.dates),
            "beginning_balance": a["beginning_balance"][s],
            "interest": a["interest"][s],
            "principal": a["principal"][s],
            "cash_flow": a["interest"][s] + a["principal"][s],
            "accrued": a["accrued"][s],
            "ending_balance": a["ending_balance"][s],
            "coupon": a["coupon"][s],
            "interest_shortfall": a["shortfall"][s],
        })
        if self.is_credit:
            tranche = self.deal.tranche(name)
            wd = (np.zeros(self.periods) if tranche.is_residual
                  else self.writedowns()[s, tranche.index])
            frame["writedown"] = wd
            frame["cumulative_loss"] = np.cumsum(wd)
            if self.reimburses:
                # Cash out of excess interest against earlier write-downs: part of the cash flow.
                rb = self.reimbursements()[s, tranche.index]
                frame["reimbursed"] = rb
                frame["cash_flow"] += rb
        return frame

    def collateral_cashflows(self, scenario: int | str = 0) -> pd.DataFrame:
        """Monthly collateral cash flows (all pools) for one scenario."""
        import pandas as pd

        s = self.scenario_index(scenario)
        c = self.collateral
        smm = self._collateral_smm()[s]
        return pd.DataFrame({
            "period": np.arange(1, self.periods + 1),
            "date": pd.to_datetime(self.dates),
            "beginning_balance": c.beginning_balance[s],
            "interest": c.interest[s],
            "scheduled_principal": c.scheduled_principal[s],
            "prepayment": c.prepayment[s],
            "principal": c.principal[s],
            "cash_flow": c.cash[s],
            "ending_balance": c.ending_balance[s],
            "servicing_fee": c.servicing_fee[s],
            "scheduled_payment": self._scheduled_payment()[s],
            "smm": smm,
            "cpr": 1.0 - (1.0 - smm) ** 12,
            **({name: getattr(c, name)[s] for name in CREDIT_COLUMNS} if self.is_credit else {}),
            **self._trigger_columns(s),
            **self._enhancement_columns(s),
        })

    def _scheduled_payment(self) -> np.ndarray:
        """The pools' level payments summed [scenario, period]: scheduled principal plus gross
        interest at each pool's WAC."""
        c = self.collateral.by_pool
        wac = np.array([p.wac for p in self.deal.pools])[None, :, None] / 12.0
        return (c["scheduled_principal"] + c["beginning_balance"] * wac).sum(axis=1)

    def _trigger_columns(self, s: int | slice) -> dict[str, np.ndarray]:
        """The triggers' status ('pass'/'fail') and a shifting-interest deal's senior prepayment
        percentage (in percent) by period, for scenario(s) `s`, named as the cash flow columns."""
        out = {}
        for name, values in self.trigger_arrays().items():
            key = name.replace(" ", "_")
            if values.dtype == bool:
                out["trigger_" + key] = np.where(values[s], "fail", "pass").astype(object)
            else:
                out[key.replace("_percentage", "_pct")] = values[s] * 100.0
        return out

    # ---- overcollateralization and the reserve account (model/enhancement.py)

    def enhancement(self) -> dict[str, np.ndarray]:
        """The deal's OC and reserve figures by period [scenario, period], each named as in
        model/enhancement.py's ENHANCEMENT_FIELDS: those of the OC (`oc_amount` at the period's
        end, `oc_target`, `turbo` paid out of excess interest, `oc_release` to the residual,
        `oc_absorbed`: realized losses not written down against a class, `oc_trigger_failing`: 1.0
        in a period a trigger failed, so the target did not step down) when the deal has an OC
        section, those of the reserve (`reserve_balance` at the period's end, `reserve_deposit`,
        `reserve_interest_draw`, `reserve_loss_draw`, `reserve_release`) when it has a reserve
        account. Empty for a deal with neither."""
        figures = getattr(self.flows, "enhancement", None)
        if figures is None:
            return {}
        deal = self.deal
        keep = [k for k in figures if (k.startswith("reserve") and deal.reserve is not None)
                or (not k.startswith("reserve") and deal.overcollateralization is not None)]
        return {k: figures[k] for k in keep}

    def enhancement_frame(self, scenario: int | str = 0):  # -> pd.DataFrame
        """By period for one scenario: the OC and reserve figures (`enhancement`)."""
        import pandas as pd

        s = self.scenario_index(scenario)
        frame = pd.DataFrame({"period": np.arange(1, self.periods + 1), "date": pd.to_datetime(self.dates)})
        for name, values in self.enhancement().items():
            frame[name] = values[s]
        return frame

    def enhancement_totals(self, s: int) -> dict[str, dict[str, float | int | None]]:
        """One scenario's OC and reserve summary: the JSON's `"overcollateralization"` and
        `"reserve"` (amounts at closing and at the end, the least, totals of the flows)."""
        figures = self.enhancement()
        out: dict[str, dict[str, float | int | None]] = {}
        deal = self.deal
        if deal.overcollateralization is not None and figures:
            oc = deal.overcollateralization
            amount = figures["oc_amount"][s]
            # While classes are outstanding (after, OC is all the collateral there is); a release
            # counts from half a cent (below it is rounding's dust of a target met exactly).
            live = self.collateral.ending_balance[s] - amount > HALF_CENT
            below = np.flatnonzero(figures["oc_release"][s] > HALF_CENT)
            out["overcollateralization"] = {
                "initial": float(oc.initial_amount),
                "initial_target": float(figures["oc_target"][s, 0]),
                "minimum": float(amount[live].min() if live.any() else amount.min()),
                "final": float(amount[-1]),
                "turbo": float(figures["turbo"][s].sum()),
                "release": float(figures["oc_release"][s].sum()),
                "losses_absorbed": float(figures["oc_absorbed"][s].sum()),
                "first_release_period": int(below[0]) + 1 if below.size else None,
                "target_reached_period": _first(amount >= figures["oc_target"][s] * (1.0 - 1e-9)),
                # periods a trigger failed, holding the target at its step-down's start
                "trigger_failing_periods": _fail_ranges(figures["oc_trigger_failing"][s] > 0.5),
            }
        if deal.reserve is not None and figures:
            bal = figures["reserve_balance"][s]
            out["reserve"] = {
                "initial": float(deal.reserve.initial),
                "maximum": float(bal.max()),
                "final": float(bal[-1]),
                "deposits": float(figures["reserve_deposit"][s].sum()),
                "interest_draws": float(figures["reserve_interest_draw"][s].sum()),
                "loss_draws": float(figures["reserve_loss_draw"][s].sum()),
                "released": float(figures["reserve_release"][s].sum()),
            }
        return out

    def _enhancement_columns(self, s: int | slice) -> dict[str, np.ndarray]:
        """The OC and reserve figures by period for scenario(s) `s`, as cash flow file columns."""
        return {name: values[s] for name, values in self.enhancement().items()}

    def _collateral_smm(self) -> np.ndarray:
        # Balance-weighted SMM across pools: the pool-level SMMs as one pass-through would show.
        # In a month where every pool is in its last month (nothing is left to prepay once the
        # scheduled principal is paid) the assumed SMMs weighted by balance: the rate assumed
        # does not fall to 0 because nothing is left to apply it to.
        c = self.collateral.by_pool
        base = c["beginning_balance"] - c["scheduled_principal"]
        total = base.sum(axis=1)
        assumed = self._pool_smm()
        begin = c["beginning_balance"]
        begin_total = begin.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            last = np.where(begin_total > 0, (assumed * begin).sum(axis=1)
                            / np.where(begin_total > 0, begin_total, 1.0), 0.0)
            return np.where(total > 0, c["prepayment"].sum(axis=1) / np.where(total > 0, total, 1.0), last)

    def _pool_smm(self) -> np.ndarray:
        """Each pool's assumed SMM [scenario, pool, period] while it has a balance (its last
        month included), 0 once it is paid off."""
        smm = np.asarray(self.collateral.smm, dtype=float)[:, :, : self.periods]
        return np.where(self.collateral.by_pool["beginning_balance"] > 0, smm, 0.0)

    POOL_COLUMNS = ("beginning_balance", "scheduled_payment", "interest", "scheduled_principal",
                    "prepayment", "principal", "cash_flow", "ending_balance", "servicing_fee", "smm", "cpr")

    def pool_arrays(self) -> dict[str, np.ndarray]:
        """The collateral pool by pool, [scenario, pool, period]: balances, the level payment
        (scheduled principal and gross interest at the WAC), net interest, scheduled principal,
        prepayments, servicing and guarantee fees, and the assumed SMM and its CPR."""
        c = self.collateral.by_pool
        wac = np.array([p.wac for p in self.deal.pools])[None, :, None] / 12.0
        trust = np.array([p.coupon for p in self.deal.pools])[None, :, None] / 12.0
        begin = c["beginning_balance"]
        principal = c["scheduled_principal"] + c["prepayment"]
        smm = self._pool_smm()
        return {
            "beginning_balance": begin,
            "scheduled_payment": c["scheduled_principal"] + begin * wac,
            "interest": c["interest"],
            "scheduled_principal": c["scheduled_principal"],
            "prepayment": c["prepayment"],
            "principal": principal,
            "cash_flow": c["interest"] + principal,
            "ending_balance": c["ending_balance"],
            "servicing_fee": begin * (wac - trust),
            "smm": smm,
            "cpr": 1.0 - (1.0 - smm) ** 12,
        }

    def pool_columns(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The collateral in long form, for scenarios start..stop-1: one row per scenario, pool
        and period, the total ('COLLATERAL') first, then each pool by name; columns as
        `pool_arrays` (the total's SMM as `collateral_cashflows` shows it)."""
        import pandas as pd

        pools = self.pool_arrays()
        names = np.array([COLLATERAL] + [p.name for p in self.deal.pools], dtype=object)
        rows, p, count = len(names), self.periods, max(0, stop - start)
        sl = slice(start, stop)
        labels = np.empty(count, dtype=object)
        labels[:] = self.scenarios[start:stop]
        columns: dict[str, np.ndarray] = {
            "scenario": np.repeat(labels, rows * p),
            "pool": np.tile(np.repeat(names, p), count),
            "period": np.tile(np.arange(1, p + 1, dtype=np.int64), count * rows),
            "date": np.tile(pd.to_datetime(self.dates).to_numpy(), count * rows),
        }
        total_smm = self._collateral_smm()[sl]
        for name in self.POOL_COLUMNS:
            out = np.empty((count, rows, p))
            out[:, 1:, :] = pools[name][sl]
            if name == "smm":
                out[:, 0, :] = total_smm
            elif name == "cpr":
                out[:, 0, :] = 1.0 - (1.0 - total_smm) ** 12
            else:
                out[:, 0, :] = pools[name][sl].sum(axis=1)
            columns[name] = out.reshape(-1)
        return columns

    def pool_cashflows(self, scenario: int | str | None = None) -> pd.DataFrame:
        """The collateral pool by pool and in total (`pool_columns`), for one scenario or (None)
        every scenario."""
        import pandas as pd

        if scenario is None:
            return pd.DataFrame(self.pool_columns(0, len(self.scenario_specs)))
        s = self.scenario_index(scenario) % len(self.scenario_specs)
        return pd.DataFrame(self.pool_columns(s, s + 1))

    def cashflows(self) -> pd.DataFrame:
        """Every scenario's cash flows in long form: one row per scenario, class and period.

        The collateral appears as class 'COLLATERAL'; the residual under its class name. A large
        run is better read chunk by chunk (`cashflow_chunks`), as `--cashflows` writes it.
        """
        return self.cashflow_block(0, len(self.scenario_specs))

    def cashflow_chunks(self, scenarios: int) -> Iterator[pd.DataFrame]:
        """The long-form cash flows of `scenarios` scenarios at a time, in run order: together
        the rows of `cashflows()`, without ever holding all of them."""
        total = len(self.scenario_specs)
        for start in range(0, total, max(1, scenarios)):
            yield self.cashflow_block(start, min(total, start + max(1, scenarios)))

    def cashflow_block(self, start: int, stop: int) -> pd.DataFrame:
        """The long-form cash flows of scenarios start..stop-1 (see `cashflows`), built from the
        arrays at once rather than a frame per scenario and class."""
        import pandas as pd

        return pd.DataFrame(self.cashflow_columns(start, stop))

    def cashflow_columns(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The columns of `cashflow_block` as arrays (text columns as object arrays, dates as
        datetime64), for a writer that needs no DataFrame."""
        import pandas as pd

        c, p = self.collateral, self.periods
        classes = self.deal.issued_classes
        rows = len(classes) + 1  # the collateral first, then each issued class
        count = max(0, stop - start)

        def block(collateral: np.ndarray | float, key: str) -> np.ndarray:
            out = np.empty((count, rows, p))
            out[:, 0, :] = collateral
            for j, tranche in enumerate(classes, start=1):
                out[:, j, :] = self.arrays(tranche.name)[key][start:stop]
            return out.reshape(-1)

        sl = slice(start, stop)
        # collateral.principal (and .cash, their sum with interest) are properties computed over the
        # whole run on each access: the chunk's slice is summed here instead.
        coll_principal = c.scheduled_principal[sl] + c.prepayment[sl]
        credit = self.is_credit
        if credit:
            coll_principal = coll_principal + c.recoveries[sl]  # type: ignore[attr-defined]
        interest, principal = block(c.interest[sl], "interest"), block(coll_principal, "principal")
        labels = np.empty(count, dtype=object)
        labels[:] = self.scenarios[start:stop]
        names = np.array([COLLATERAL] + [t.name for t in classes], dtype=object)
        dates = pd.to_datetime(self.dates).to_numpy()
        columns = {
            "scenario": np.repeat(labels, rows * p),
            "class": np.tile(np.repeat(names, p), count),
            "period": np.tile(np.arange(1, p + 1, dtype=np.int64), count * rows),
            "date": np.tile(dates, count * rows),
            "beginning_balance": block(c.beginning_balance[sl], "beginning_balance"),
            "interest": interest,
            "principal": principal,
            "cash_flow": interest + principal,
            "ending_balance": block(c.ending_balance[sl], "ending_balance"),
            "interest_shortfall": block(0.0, "shortfall"),
            "accrued": block(np.nan, "accrued"),
            "coupon": block(np.nan, "coupon"),
        }
        if credit:
            # The collateral row's write-down is its realized loss; the collateral's own credit
            # columns are NaN on the class rows.
            wd = np.empty((count, rows, p))
            wd[:, 0, :] = c.losses[sl]  # type: ignore[attr-defined]
            all_wd = self.writedowns()
            for j, tranche in enumerate(classes, start=1):
                wd[:, j, :] = 0.0 if tranche.is_residual else all_wd[sl, tranche.index]
            columns["writedown"] = wd.reshape(-1)
            columns["cumulative_loss"] = np.cumsum(wd, axis=2).reshape(-1)
            if self.reimburses:
                # Class cash out of excess interest (none on the collateral's row).
                rb = np.zeros((count, rows, p))
                all_rb = self.reimbursements()
                for j, tranche in enumerate(classes, start=1):
                    rb[:, j, :] = all_rb[sl, tranche.index]
                columns["reimbursed"] = rb.reshape(-1)
                columns["cash_flow"] = columns["cash_flow"] + columns["reimbursed"]
            for name in CREDIT_COLUMNS:
                col = np.full((count, rows, p), np.nan)
                col[:, 0, :] = getattr(c, name)[sl]
                columns[name] = col.reshape(-1)
        # Shifting interest: the triggers' status on the collateral's rows ('' on the classes').
        for name, values in {**self._trigger_columns(sl), **self._enhancement_columns(sl)}.items():
            text = values.dtype == object
            col = np.full((count, rows, p), "" if text else np.nan, dtype=object if text else float)
            col[:, 0, :] = values
            columns[name] = col.reshape(-1)
        return columns

    def summary(self, scenario: int | str = 0) -> pd.DataFrame:
        """One row per issued class, as a prospectus cover table reads, for one scenario."""
        import pandas as pd

        s = self.scenario_index(scenario)
        rows = [self._summary_row(t, s) for t in self.deal.issued_classes]
        return pd.DataFrame(rows).set_index("class")

    def _class_figures(self, name: str) -> dict[str, np.ndarray]:
        """A class's summary figures for every scenario at once, computed once per Results."""
        cache = self.__dict__.setdefault("_figures", {})
        if name not in cache:
            first, last = self.principal_window(name)
            a = self.arrays(name)
            cache[name] = {
                "wal": self.wal(name),
                "first": first,
                "last": last,
                "final": self.final_period(name),
                "first_coupon": a["coupon"][:, 0],
                "total_interest": a["interest"].sum(axis=-1),
                "total_principal": a["principal"].sum(axis=-1),
                "total_accrued": a["accrued"].sum(axis=-1),
                "interest_shortfall": a["shortfall"][:, -1],
            }
        return cache[name]

    def _summary_row(self, tranche: Tranche, s: int) -> dict[str, Any]:
        f = self._class_figures(tranche.name)
        first, last = int(f["first"][s]), int(f["last"][s])
        return {
            "class": tranche.name,
            "type": tranche.cover_type,
            "principal_type": tranche.principal_type,
            "interest_type": tranche.interest_type,
            "notional": tranche.is_notional,
            "original_balance": self.original_balance(tranche.name),
            "coupon": tranche.coupon,
            "coupon_formula": tranche.formula.description if tranche.formula else None,
            "first_coupon": float(f["first_coupon"][s]),
            "wal": float(f["wal"][s]),
            "first_principal_period": first,
            "last_principal_period": last,
            "first_principal_date": self.date_of(first),
            "last_principal_date": self.date_of(last),
            "final_date": self.date_of(int(f["final"][s])),
            "total_interest": float(f["total_interest"][s]),
            "total_principal": float(f["total_principal"][s]),
            "total_accrued": float(f["total_accrued"][s]),
            "interest_shortfall": float(f["interest_shortfall"][s]),
        }

    def decrement_table(self, name: str, formatted: bool = True) -> pd.DataFrame:
        """Percent of original balance outstanding on each anniversary, one column per scenario.

        Rows: 'Initial', then the distribution date of periods 12, 24, ... until every scenario
        has retired the class; last row the WAL in years. With `formatted`, cells follow the
        prospectus rule (whole percent, '*' under 0.5%); otherwise unrounded floats. A notional
        class is measured against its original notional balance; an accrual class can exceed 100.
        """
        import pandas as pd

        index, data = self.decrement_rows(name, formatted)
        return pd.DataFrame(data, index=pd.Index(index, name="Distribution date"))

    def decrement_rows(self, name: str, formatted: bool = True) -> tuple[list[str], dict[str, list[Any]]]:
        """decrement_table's row labels and its columns (scenario label -> cells), without the
        DataFrame: a report of hundreds of classes reads them directly."""
        tranche = self.deal.tranche(name)
        if tranche.is_residual:
            raise InputError(f"class {name} is the residual; it has no balance to decrement")
        end = self.arrays(name)["ending_balance"]
        # Rows run until the first anniversary at which every scenario has retired the class.
        horizon = min(int(analytics.last_payment_period(end).max()) + 1, self.periods)
        rows = analytics.anniversary_periods(horizon)
        pct = analytics.percent_outstanding(end, self.original_balance(name), rows)  # [scenario, row]
        wal = self.wal(name)
        index = ["Initial"] + [add_months(self.deal.first_payment, p - 1).strftime("%b %Y") for p in rows]
        index.append("WAL (years)")
        data: dict[str, list[Any]] = {}
        for s, label in enumerate(self.scenarios):
            if formatted:
                cells = ["100"] + [analytics.decrement_cell(v) for v in pct[s]]
                cells.append(f"{wal[s]:.2f}" if np.isfinite(wal[s]) else "-")
            else:
                cells = [100.0, *pct[s].tolist(), float(wal[s])]
            data[label] = cells
        return index, data

    def _repr_html_(self) -> str:
        return hooks.results_html(self)

    # ---- machine-readable summary

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json object: per scenario, collateral and per-class figures."""
        out: dict[str, Any] = {"deal": self.deal.name, "scenarios": []}
        coll_wal = self.wal(COLLATERAL)
        # Totals of every scenario at once: collateral.principal is computed afresh on each access.
        coll_principal = self.collateral.principal.sum(axis=-1)
        coll_interest = self.collateral.interest.sum(axis=-1)
        credit = self._credit_totals()
        triggers = self.trigger_arrays()
        for s, label in enumerate(self.scenarios):
            classes = {}
            for tranche in self.deal.issued_classes:
                row = self._summary_row(tranche, s)
                classes[tranche.name] = {
                    "type": row["type"],
                    "principal_type": row["principal_type"],
                    "interest_type": row["interest_type"],
                    "notional": row["notional"],
                    "original_balance": row["original_balance"],
                    "coupon": _num(row["first_coupon"] * 100),
                    "coupon_formula": row["coupon_formula"],
                    "wal": _num(row["wal"]),
                    "principal_window": [row["first_principal_period"], row["last_principal_period"]],
                    "total_principal": row["total_principal"],
                    "total_interest": row["total_interest"],
                    "final_date": row["final_date"].isoformat() if row["final_date"] else None,
                }
                if credit is not None:
                    classes[tranche.name]["writedown"] = float(credit["writedown"][s, tranche.index])
                    classes[tranche.name]["interest_shortfall"] = float(credit["shortfall"][s, tranche.index])
                    if "reimbursed" in credit:
                        classes[tranche.name]["reimbursed"] = float(credit["reimbursed"][s, tranche.index])
            collateral = {
                "wal": _num(coll_wal[s]),
                "total_principal": float(coll_principal[s]),
                "total_interest": float(coll_interest[s]),
            }
            if credit is not None:
                collateral["cumulative_loss"] = float(credit["loss"][s])
                collateral["cumulative_default"] = float(credit["default"][s])
            collateral.update(self.enhancement_totals(s))
            entry = {"name": label, "collateral": collateral, "classes": classes}
            if triggers:
                # The periods each trigger fails, and (shifting interest) when the seniors' share
                # of prepayments first stepped below 100%.
                entry["triggers"] = {
                    "failing_periods": {k: _fail_ranges(v[s]) for k, v in triggers.items()
                                        if v.dtype == bool},
                }
                if "senior prepayment percentage" in triggers:
                    below = np.flatnonzero(triggers["senior prepayment percentage"][s] < 1.0)
                    entry["triggers"]["first_step_down_period"] = int(below[0]) + 1 if below.size else None
            if self.deal.groups:
                entry["groups"] = {
                    g["group"]: {k: (_num(v) if isinstance(v, float) else v)
                                 for k, v in g.items() if k != "group"}
                    for g in self.group_figures(s)}
            out["scenarios"].append(entry)
        return out

    # ---- collateral groups (model/groups.py)

    def group_of(self, name: str) -> str | None:
        """The name of the collateral group class `name` belongs to (None: no groups, the residual)."""
        group = self.deal.group_of(self.deal.tranche(name).index)
        return group.name if group is not None else None

    def group_figures(self, scenario: int | str = 0) -> list[dict[str, Any]]:
        """One record per collateral group for one scenario ([] for a deal without groups): its
        pools and classes, its pools' cash, what its classes were paid, what its excess paid the
        group the deal directs it to (`excess_*_out`) or brought from a donor (`excess_*_in`),
        and what it left to the residual. Per group, cash in (pools + excess in) equals cash out
        (classes + excess out + residual): the engine's audit holds it, this reports it."""
        groups = self.deal.groups
        if not groups:
            return []
        s = self.scenario_index(scenario)
        f, by_pool, classes = self.flows, self.collateral.by_pool, self.deal.classes
        principal = by_pool["scheduled_principal"] + by_pool["prepayment"]
        if "recoveries" in by_pool:
            principal = principal + by_pool["recoveries"]  # a credit run: a group's principal too
        x_int = f.cross_interest[s].sum(axis=-1)  # type: ignore[index]
        x_prin = f.cross_principal[s].sum(axis=-1)  # type: ignore[index]
        out = []
        for i, g in enumerate(groups):
            pools = list(g.pools)
            cash = [k for k in g.classes if classes[k].holds_cash]
            out.append({
                "group": g.name,
                "pools": [self.deal.pools[p].name for p in pools],
                "classes": [classes[k].name for k in g.classes if classes[k].issued],
                "collateral_balance": float(sum(self.deal.pools[p].balance for p in pools)),
                "collateral_interest": float(by_pool["interest"][s, pools].sum()),
                "collateral_principal": float(principal[s, pools].sum()),
                "class_interest": float(f.interest[s, cash].sum()),
                "class_principal": float(f.principal[s, cash].sum()),
                "excess_interest_to": None if g.interest_to is None else groups[g.interest_to].name,
                "excess_interest_out": float(x_int[i]),
                "excess_interest_in": float(sum(x_int[j] for j, d in enumerate(groups)
                                                if d.interest_to == i)),
                "excess_principal_to": None if g.principal_to is None else groups[g.principal_to].name,
                "excess_principal_out": float(x_prin[i]),
                "excess_principal_in": float(sum(x_prin[j] for j, d in enumerate(groups)
                                                 if d.principal_to == i)),
                "residual_interest": float(f.group_residual_interest[s, i].sum()),  # type: ignore[index]
                "residual_principal": float(f.group_residual_principal[s, i].sum()),  # type: ignore[index]
            })
            if self.is_credit and f.group_unallocated_loss is not None:
                # A credit run: its pools' realized losses = its classes' write-downs + what none
                # of its classes was left to absorb.
                out[-1].update({
                    "collateral_losses": float(by_pool["losses"][s, pools].sum()),
                    "class_writedown": float(self.writedowns()[s, list(g.classes)].sum()),
                    "unallocated_loss": float(f.group_unallocated_loss[s, i].sum()),
                })
            if f.reimbursed is not None:
                # Write-downs paid back out of the group's excess interest: its classes' cash too.
                out[-1]["class_reimbursed"] = float(f.reimbursed[s, cash].sum())
        return out

    @property
    def is_credit(self) -> bool:
        """Whether the run carried default assumptions (its collateral has credit columns)."""
        return getattr(self.collateral, "losses", None) is not None

    def writedowns(self) -> np.ndarray:
        """Losses written down against each class [scenario, class, period]: zero in a run
        without defaults."""
        wd = getattr(self.flows, "writedown", None)
        return wd if wd is not None else np.zeros_like(self.flows.principal)

    @property
    def reimburses(self) -> bool:
        """Whether the run reimbursed write-downs (a credit run of a deal that says so)."""
        return getattr(self.flows, "reimbursed", None) is not None

    def reimbursements(self) -> np.ndarray:
        """Cash paid to each class against its earlier write-downs, out of excess interest
        [scenario, class, period]: zero unless the deal reimburses losses."""
        rb = getattr(self.flows, "reimbursed", None)
        return rb if rb is not None else np.zeros_like(self.flows.principal)

    def cumulative_loss(self, name: str) -> np.ndarray:
        """A class's losses written down so far [scenario, period]."""
        return np.cumsum(self.writedowns()[:, self.deal.tranche(name).index, :], axis=1)

    def _credit_totals(self) -> dict[str, np.ndarray] | None:
        if not self.is_credit:
            return None
        coll = self.collateral
        extra = {"reimbursed": self.reimbursements().sum(axis=2)} if self.reimburses else {}
        return {
            **extra,
            "writedown": self.writedowns().sum(axis=2),
            # The shortfall is carried: what is still owed after the last period.
            "shortfall": self.flows.shortfall[:, :, -1],
            "loss": coll.losses.sum(axis=1),  # type: ignore[attr-defined]
            "default": coll.new_defaults.sum(axis=1),  # type: ignore[attr-defined]
        }


    # ---- shifting interest: trigger status and credit enhancement by period

    def shifting_rules(self) -> list[Any]:
        """The deal's shifting-interest rules (model/rules/shifting.py), in the waterfall's order."""
        from ..model.rules.shifting import ShiftingInterest

        return [n for n in self.deal.principal.walk() if isinstance(n, ShiftingInterest)]

    def trigger_arrays(self) -> dict[str, np.ndarray]:
        """Each trigger's status [scenario, period] (True: failing): a shifting-interest rule's
        (failing stops the step-down) and the waterfall's named triggers (`triggers { ... }`), by
        name; and, for a shifting-interest deal, under "senior prepayment percentage" the percentage
        the seniors were due of prepayments and recoveries. Computed by the rules' own arithmetic
        from the run's balances, losses and delinquency. Empty when the deal has neither."""
        cache = self.__dict__.setdefault("_triggers", None)
        if cache is not None:
            return cache
        rules = self.shifting_rules()
        out: dict[str, np.ndarray] = {}
        if rules or self.deal.triggers:
            from ..model.rules.triggers import history

            begin = self.flows.beginning_balance
            coll = self.collateral
            zeros = np.zeros_like(coll.beginning_balance)
            losses = getattr(coll, "losses", None)
            losses = zeros if losses is None else losses
            delinquency = getattr(coll, "delinquency", None)
            delinquency = zeros if delinquency is None else delinquency
            if rules:
                rule = rules[0]  # a deal has one shifting-interest split of its principal
                out = rule.trigger_table(begin[:, rule.senior.members, :].sum(axis=1),
                                         begin[:, rule.subordinate.members, :].sum(axis=1),
                                         coll.beginning_balance, losses, delinquency, begin)
            for trig in self.deal.triggers:
                if trig.name not in out:
                    out[trig.name] = history(trig, begin, coll.beginning_balance, losses, delinquency)
        self.__dict__["_triggers"] = out
        return out

    def triggers(self, scenario: int | str = 0) -> pd.DataFrame:
        """By period for one scenario: each trigger's status ('pass'/'fail') and the senior
        prepayment percentage applied (in percent). Empty without a shifting-interest rule or
        named triggers."""
        import pandas as pd

        s = self.scenario_index(scenario)
        arrays = self.trigger_arrays()
        frame = pd.DataFrame({"period": np.arange(1, self.periods + 1), "date": pd.to_datetime(self.dates)})
        for name, values in arrays.items():
            if values.dtype == bool:
                frame[name] = np.where(values[s], "fail", "pass")
            else:
                frame[name] = values[s] * 100.0
        return frame if arrays else frame.iloc[:0]

    def credit_enhancement(self) -> np.ndarray:
        """Each class's credit enhancement [scenario, class, period]: the ending balance of the
        classes that take losses before it (earlier in the deal's loss order) over the collateral's
        ending balance; NaN for a class outside the loss order (or once the collateral is paid off).
        In a deal with collateral groups: the classes of its group below it over its group's
        pools' ending balance (a group's pools' losses are written down against its classes only)."""
        end = self.flows.ending_balance
        out = np.full(end.shape, np.nan)
        if self.deal.groups:
            by_pool = self.collateral.by_pool["ending_balance"]
            for g in self.deal.groups:
                self._enhancement(g.losses, by_pool[:, list(g.pools)].sum(axis=1), out)
        else:
            # Overcollateralization is below every class: losses reach it first.
            oc = self.enhancement().get("oc_amount")
            self._enhancement(self.deal.losses or (), self.collateral.ending_balance, out, oc)
        return out

    def _enhancement(self, tiers: tuple[tuple[int, ...], ...], coll_end: np.ndarray, out: np.ndarray,
                     oc: np.ndarray | None = None) -> None:
        end = self.flows.ending_balance
        below = np.zeros(coll_end.shape) if oc is None else np.maximum(oc, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            for tier in tiers:
                ce = np.where(coll_end > 0, below / np.where(coll_end > 0, coll_end, 1.0), np.nan)
                for c in tier:
                    out[:, c, :] = ce
                below = below + end[:, list(tier), :].sum(axis=1)


HALF_CENT = 0.005


def _first(flags: np.ndarray) -> int | None:
    """The first period (from 1) where `flags` holds, or None."""
    hit = np.flatnonzero(flags)
    return int(hit[0]) + 1 if hit.size else None


def _fail_ranges(failing: np.ndarray) -> list[list[int]]:
    """Periods (from 1) where a trigger fails, as [first, last] ranges."""
    padded = np.concatenate([[False], failing, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [[int(a) + 1, int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]


# The collateral's credit columns in a run with default assumptions (engine/credit.py).
CREDIT_COLUMNS = ("new_defaults", "liquidations", "recoveries", "losses", "performing_balance",
                  "delinquent_balance")


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 10)
