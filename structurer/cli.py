"""`structure`: the command line over load -> run -> results -> report.

    structure deal.waterfall [more.waterfall ...] [--psa 0,100,165] [--cpr 6] [--smm 0.5]
                             [--scenario NAME] [--report PATH | --no-report] [--cashflows PATH] [--json]
                             [--sda 0,100,200] [--cdr 2] [--severity 35] [--lag 12] [--advance on|off]
    structure check deal.waterfall [more.waterfall ...]
    structure grid deals/*.waterfall [--psa ...] [--sda ... --severity ... --lag ...] [--oas --paths N]
                   [--out grid.parquet] [--workers N | --scheduler tcp://host:8786]

Exit codes: 0 ok, 1 a bad deal or input file, 2 bad usage. Given several deals, each one runs
and reports on its own; the exit code is the worst of theirs.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    import numpy as np
    from rich.table import Table

    from .analysis.oas import OasResult
    from .analysis.summary import Summary

from . import load
from .errors import DealError, DealErrors, InputError, did_you_mean
from .model.curve import Curve, read_curve_csv
from .model.deal import Deal, QuoteSpec
from .model.defaults import (
    DefaultAssumption,
    DefaultRate,
    parse_advancing,
    parse_default_rates,
    parse_delinquency,
    parse_lag,
    parse_severity,
    validate_lag,
)
from .model.prepayment import Prepayment, parse_speed, parse_speeds
from .model.scenarios import RatePath, Scenario, at_defaults, check_indices, with_index_levels
from .present import exports
from .results import average_life
from .results.results import COLLATERAL, Results
from .valuation import quotes as valuation
from .valuation.yields import format_32nds, parse_price, rate_with_unit
from .version import __version__

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


# A grid of speeds in a list: START..STOP/STEP (both ends included), e.g. 0..1000/0.01.
_RANGE = re.compile(r"^\s*([0-9][0-9_.]*)\s*\.\.\s*([0-9][0-9_.]*)\s*/\s*([0-9][0-9_.]*)\s*$")
MAX_GRID = 10_000_000


def _expand_ranges(text: str) -> str:
    """'0..1000/0.01' -> '0,0.01,...,1000': a range is counted in decimals, so its speeds (and
    their labels) are the numbers written, not sums of binary fractions."""
    items = []
    for item in text.split(","):
        match = _RANGE.match(item)
        if not match:
            items.append(item)
            continue
        try:
            start, stop, step = (Decimal(g.replace("_", "")) for g in match.groups())
        except InvalidOperation:
            raise InputError(f"'{item.strip()}' is not a range of speeds; write START..STOP/STEP, "
                             "e.g. 0..1000/0.01") from None
        if step <= 0 or stop < start:
            raise InputError(f"'{item.strip()}' is an empty range; write START..STOP/STEP with START "
                             "at most STOP and a STEP above 0, e.g. 0..1000/0.01")
        count = int((stop - start) / step) + 1
        if count > MAX_GRID:
            raise InputError(f"'{item.strip()}' has {count:,} speeds; at most {MAX_GRID:,} in one run")
        items.extend(format((start + i * step).normalize(), "f") for i in range(count))
    return ",".join(items)


def _speed_list(unit: str):
    """An argparse type: a comma-separated list of speeds in `unit` (ranges START..STOP/STEP
    included), parsed by the one speed parser."""
    def parse(text: str) -> list[Prepayment]:
        try:
            speeds = parse_speeds(_expand_ranges(text), unit)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        other = next((s for s in speeds if s.unit != unit), None)
        if other is not None:
            raise argparse.ArgumentTypeError(f"'{other.description}' is not in {unit}; give it with "
                                             f"--{other.unit.lower()}")
        return speeds

    parse.__name__ = f"{unit} speeds"
    return parse


def _default_rate_list(unit: str):
    """An argparse type: a comma-separated list of default rates in `unit` (ranges included)."""
    def parse(text: str) -> list[DefaultRate]:
        try:
            rates = parse_default_rates(_expand_ranges(text), unit)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        other = next((r for r in rates if r.unit != unit), None)
        if other is not None:
            raise argparse.ArgumentTypeError(f"'{other.description}' is not in {unit}; give it with "
                                             f"--{other.unit.lower()}")
        return rates

    parse.__name__ = f"{unit} rates"
    return parse


def _argument(parse: Callable[[str], object], name: str):
    """An argparse type from one of model/defaults.py's parsers (their messages, exit 2)."""
    def convert(text: str) -> object:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _one_speed(text: str) -> float:
    """An argparse type: one PSA speed (solve's --psa and --at)."""
    try:
        return parse_speed(text, "PSA").values[0]
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _index_levels(text: str) -> tuple[str, list[RatePath]]:
    name, sep, levels = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=LEVELS, e.g. SOFR=4.3%")
    paths = []
    for item in levels.split(","):
        item = item.strip().removesuffix("%")
        try:
            level = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{item}' is not a rate in percent") from None
        if not math.isfinite(level) or abs(level) > 100:
            raise argparse.ArgumentTypeError(f"'{item}%' is not an index level (a rate from -100% to 100%)")
        paths.append(RatePath.level(level / 100.0))
    return name.strip(), paths


COMMANDS = ("run", "check", "grid", "solve", "tieout", "convert", "speeds")


def _one_line_usage(prog: str) -> argparse.HelpFormatter:
    """The top-level help at least 100 columns wide: its usage line names every sub-command on
    one line (at 80 columns argparse would wrap it and drop the list)."""
    import shutil

    return argparse.HelpFormatter(prog, width=max(100, shutil.get_terminal_size().columns - 2))


def _parser() -> argparse.ArgumentParser:
    """`structure COMMAND ...`: argparse sub-commands; a deal file first means `run`."""
    p = argparse.ArgumentParser(
        prog="structure", formatter_class=_one_line_usage,
        description="Run a CMO/REMIC deal file: cash flows, WAL, windows, decrement tables, report. "
                    "'structure DEAL ...' is short for 'structure run DEAL ...'.",
    )
    p.add_argument("--version", action="version", version=f"structurer {__version__}")
    # No metavar: the usage line then names the sub-commands, {run,check,solve,tieout}.
    commands = p.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one or more deals (the default command)",
                              description="Run deal files and print each one's cash-flow summary; "
                                          "a deal that fails is reported and the others still run.")
    _run_arguments(run)
    run.set_defaults(handler=_run)
    check = commands.add_parser("check", help="parse and check deals without running them",
                                description="Parse and check deal files without running them.")
    check.add_argument("deals", nargs="+", metavar="deal", help="the deal files (*.waterfall)")
    check.set_defaults(handler=_check)
    _grid_arguments(commands.add_parser(
        "grid", help="run every deal under every scenario on several processes (or a Dask cluster)",
        description="Run every deal under every scenario (summaries only: WAL, window, totals, PVs), "
                    "and on OAS with --oas, on a local process pool or a Dask cluster; write one "
                    "long-form table (deal, scenario, class, measure, value). A deal that fails is "
                    "reported and the others still run; exit 1 if any failed."))
    _solve_arguments(commands.add_parser(
        "solve", help="run a structuring solver",
        description="Solve for one structuring figure; exit 1 (with the reason) when none exists."))
    _tieout_arguments(commands.add_parser(
        "tieout", help="print the REMIC tie-out checks",
        description="REMIC tie-out checks; exit 0 if all pass, 1 otherwise."))
    _convert_arguments(commands.add_parser(
        "convert", help="convert a prepayment speed between SMM, CPR, PSA and ABS",
        description="Convert a prepayment speed (percent) between SMM, CPR, PSA and ABS at a loan age "
                    "(month 1 is the first payment); SMM <-> CPR needs no age."))
    _speeds_arguments(commands.add_parser(
        "speeds", help="observed SMM, CPR and PSA from pool factors",
        description="Observed speeds from pool factors by the standard formulas (scheduled amortization "
                    "at the WAC taken out): each month's SMM, CPR and PSA and the average over the span. "
                    "Give a factor file (CSV 'month,factor') or two factors with --months."))
    return p


def _grid_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deals", nargs="+", metavar="deal", help="the deal files (*.waterfall)")
    _speed_arguments(p.add_argument_group("prepayment speeds (default: each deal's pricing speed)"),
                     "each deal's")
    credit = p.add_argument_group("loan defaults (every speed at every rate)")
    _default_rate_arguments(credit)
    _loss_terms(credit, defaults=True)
    g = p.add_argument_group("measures")
    g.add_argument("--discount", metavar="YIELDS",
                   help="flat yields to discount each class's cash at, e.g. 5.5%%,7%% (PV columns)")
    _oas_arguments(p)
    g.add_argument("--price", action="append", default=[], metavar="[CLASS=]PRICE",
                   help="with --oas: clean price, e.g. 99-16 or 99.5; without CLASS= for every class "
                        "(default each deal's 'oas A at ...')")
    g.add_argument("--curve", metavar="FILE",
                   help="with --oas: a Treasury curve CSV (tenor,yield) for deals without one")
    g.add_argument("--oas-only", action="store_true", help="with --oas: run no scenario grid, OAS only")
    run = p.add_argument_group("where it runs")
    run.add_argument("--workers", type=_positive_int("--workers", 0), metavar="N",
                     help="processes of the local pool, even with a scheduler in the environment "
                          "(default: the cores; 0 runs in this process)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="a Dask scheduler, e.g. tcp://host:8786 (default: $STRUCTURER_SCHEDULER, "
                          "else $DASK_SCHEDULER_ADDRESS, else the local pool; 'local' for the pool)")
    run.add_argument("--chunk", type=_positive_int("--chunk"), metavar="N",
                     help="scenarios per task (default: a few tasks per worker)")
    out = p.add_argument_group("outputs")
    out.add_argument("--out", metavar="PATH",
                     help="write the long-form table (deal, scenario, class, measure, value): "
                          ".parquet (or .csv)")
    p.set_defaults(handler=_grid)


def _grid(ns: argparse.Namespace, err: Console) -> int:
    """`structure grid`: usage checked first (exit 2), then every deal; exit 1 if any failed."""
    from .analysis.grid import OasRequest, run_grid

    inputs = [Path(d) for d in ns.deals]
    out = _output_path("--out", ns.out, inputs)
    if out is not None and out.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise _UsageError("--out writes .parquet (or .csv) files")
    oas_only = [o for o, v in (("--price", ns.price), ("--curve", ns.curve), ("--paths", ns.paths),
                               ("--volatility", ns.volatility), ("--mean-reversion", ns.mean_reversion),
                               ("--seed", ns.seed), ("--no-key-rates", ns.no_key_rates),
                               ("--oas-only", ns.oas_only)) if v not in (None, False, [])]
    if oas_only and not ns.oas:
        raise _UsageError(f"{', '.join(oas_only)} {'is' if len(oas_only) == 1 else 'are'} for OAS; add --oas")
    if ns.scheduler is not None and ns.workers is not None:
        raise _UsageError("--workers sizes the local pool; a Dask cluster (--scheduler) has its own workers")
    speeds: list[Any] = [s for group in ns.psa + ns.cpr + ns.smm for s in group] + list(ns.scenario)
    if ns.oas_only and speeds:
        raise _UsageError("--oas-only runs no scenario grid; drop the speeds or --oas-only")
    defaults = _default_assumptions(ns, None)
    discount = None if ns.discount is None else [_percent(r.strip()) for r in ns.discount.split(",")]
    request = None
    if ns.oas:
        prices: dict[str, str] = {}
        price: str | None = None
        for item in ns.price:
            name, text = _split_class(item)
            if name is None:
                price = text
            else:
                prices[name] = text
        changes = _rate_model_changes(ns, antithetic=False)
        curve = read_curve_csv(Path(ns.curve)) if ns.curve else None
        request = OasRequest(tuple(prices.items()), price, tuple(changes.items()), curve, not ns.no_key_rates)
    grid = _grid_with_progress(err, lambda progress: run_grid(
        ns.deals, speeds or None, defaults=defaults or None, rates=discount, oas=request,
        summaries=not ns.oas_only, workers=ns.workers, scheduler=ns.scheduler, chunk=ns.chunk,
        progress=progress))
    for failure in grid.failures:
        err.print(f"{failure.source}: deal failed", markup=False)
        err.print(failure.message, markup=False)
    _print_grid(_stdout(), grid)
    if out is not None and grid.deals:
        grid.write(out)
        err.print(f"grid written to {out}", markup=False)
    if grid.failures:
        err.print(f"structure: {len(grid.failures)} of {len(ns.deals)} deals failed; see the errors above",
                  markup=False)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _grid_with_progress(err: Console, run: Callable[[Callable[[int, int], None] | None], Any]) -> Any:
    """The grid, with a progress bar by tasks done on a terminal."""
    if not err.is_terminal:
        return run(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("grid"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("grid", total=None)
        return run(lambda done, total: bar.update(task, completed=done, total=total))


def _print_grid(console: Console, grid: Any) -> None:
    """One row per deal that ran: its scenarios, classes, the collateral's WAL across them, and
    on OAS the range of its classes' OAS."""
    import numpy as np
    from rich.table import Table  # late: only the printing commands draw tables

    how = {"pool": f"a local pool of {grid.workers} processes", "local": "this process",
           "dask": f"a Dask cluster of {grid.workers} workers"}[grid.backend]
    table = Table(title=f"Grid: {len(grid.deals)} deals, {grid.tasks} tasks on {how}", title_justify="left",
                  header_style="bold")
    heads = ("Deal", "Scenarios", "Classes", "Collateral WAL (years)", *(["OAS (bp)"] if grid.oas else []))
    for col in heads:
        table.add_column(col, justify="left" if col == "Deal" else "right")
    for name in grid.deals:
        summary = grid.summaries.get(name)
        cells = [_escape(name)]
        if summary is not None:
            wal = summary.collateral["wal"]
            shown = (f"{np.nanmin(wal):.2f} to {np.nanmax(wal):.2f}" if np.isfinite(wal).any() else "-")
            cells += [f"{len(summary):,}", str(len(summary.classes)), shown]
        else:
            cells += ["-", "-", "-"]
        if grid.oas:
            result = grid.oas.get(name)
            spreads = [c.oas * 1e4 for c in result.classes if math.isfinite(c.oas)] if result else []
            cells.append(f"{min(spreads):.1f} to {max(spreads):.1f}" if spreads else "-")
        table.add_row(*cells)
    if grid.deals:
        _print_table(console, table)


def _speeds_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("factors", nargs="+", metavar="FACTORS",
                   help="a CSV file 'month,factor', or two factors (earlier first)")
    p.add_argument("--wac", type=float, required=True, metavar="PERCENT", help="the pool's gross WAC")
    p.add_argument("--wam", type=int, required=True, metavar="MONTHS", help="the WAM at the first factor")
    p.add_argument("--age", type=int, metavar="MONTHS",
                   help="the WALA at the first factor (default 360 - WAM)")
    p.add_argument("--months", type=int, default=1, help="months between two factors given (default 1)")
    p.add_argument("--json", action="store_true", help="print the speeds as JSON")
    p.set_defaults(handler=_speeds)


def _speeds(ns: argparse.Namespace, err: Console) -> int:
    from .model import observed

    age = ns.age if ns.age is not None else max(0, 360 - ns.wam)
    if len(ns.factors) == 1:
        rows = observed.read_factors(Path(ns.factors[0]))
        monthly, average = observed.speeds_from_factors(rows, ns.wac, ns.wam, age)
    elif len(ns.factors) == 2:
        try:
            f1, f2 = (float(f) for f in ns.factors)
        except ValueError:
            raise _UsageError(f"'{' '.join(ns.factors)}' are not two factors; give a factor file or two "
                              "numbers like 0.85 0.84") from None
        monthly = []
        average = observed.observed_speed(f1, f2, ns.wac, ns.wam, age, ns.months)
    else:
        raise _UsageError("give a factor file, or two factors (earlier first)")
    if ns.json:
        out = {"monthly": [m.as_dict() for m in monthly], "average": average.as_dict()}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return EXIT_OK

    def psa(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [f"{'months':>11} {'SMM %':>9} {'CPR %':>8} {'PSA':>8}"]
    for m in monthly:
        lines.append(f"{m.start:>5}-{m.end:<5} {m.smm:>9.4f} {m.cpr:>8.3f} {psa(m.psa):>8}")
    lines.append(f"{'average':>11} {average.smm:>9.4f} {average.cpr:>8.3f} {psa(average.psa):>8}"
                 f"  ({average.end - average.start} months)")
    _stdout().print("\n".join(lines), markup=False, highlight=False)
    return EXIT_OK


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deals", nargs="+", metavar="deal", help="the deal files (*.waterfall)")
    speeds = p.add_argument_group("prepayment speeds (default: the deal's pricing speed)")
    _speed_arguments(speeds, "the deal's")
    speeds.add_argument("--index", type=_index_levels, action="append", default=[],
                        metavar="NAME=LEVELS",
                        help="index levels for floaters, e.g. SOFR=4.3%% or SOFR=2%%,4%%,6%% "
                             "(every speed is run at every level)")
    credit = p.add_argument_group("loan defaults (a grid with the speeds: every speed at every rate)")
    _default_rate_arguments(credit)
    _loss_terms(credit, defaults=True)
    credit.add_argument("--delinquency", type=_argument(parse_delinquency, "delinquency"), metavar="PCT",
                        help="loans 60+ days delinquent in percent of the balance, for the deal's "
                             "delinquency trigger: 3 or vector(1, 2, 4%%) (default 0)")
    quotes = p.add_argument_group("pricing (replaces the deal's analytics quotes for the classes named)")
    quotes.add_argument("--price", action="append", default=[], metavar="[CLASS=]PRICE",
                        help="clean price, e.g. 99-16, 99-16+ or 99.5; without CLASS= for every class")
    quotes.add_argument("--yield", dest="yield_", action="append", default=[], metavar="[CLASS=]YIELD",
                        help="bond-equivalent yield in percent, e.g. 6.5%% or A=6.25%%")
    quotes.add_argument("--spread", action="append", default=[], metavar="[CLASS=]BP",
                        help="spread in bp to the curve at each class's WAL, e.g. 120")
    quotes.add_argument("--mortgage-yield", action="append", default=[], metavar="[CLASS=]YIELD",
                        help="mortgage (monthly-compounded) yield in percent, e.g. 6.4%%")
    quotes.add_argument("--margin", action="append", default=[], metavar="[CLASS=]BP",
                        help="a floater's money-market discount margin in bp over its index, e.g. 45; "
                             "without CLASS= for every floating-rate class")
    quotes.add_argument("--curve", metavar="FILE",
                        help="a Treasury curve CSV (tenor,yield: years, percent) for spreads")
    quotes.add_argument("--horizon", type=int, metavar="MONTHS",
                        help="total return of every priced class held MONTHS months "
                             "(with --reinvest, --sell)")
    quotes.add_argument("--reinvest", metavar="RATE", default="0%",
                        help="the rate cash is reinvested at to the horizon, percent (default 0%%)")
    quotes.add_argument("--sell", metavar="KIND=VALUE",
                        help="how the class is sold at the horizon: yield=6.5%%, price=99-16 "
                             "or spread=120 (bp)")
    quotes.add_argument("--average-lives", action="store_true",
                        help="print each class's average life under every convention side by side")
    quotes.add_argument("--tables", action="store_true",
                        help="print the price/yield tables the deal's analytics block asks for")
    _oas_arguments(p)
    out = p.add_argument_group("outputs")
    out.add_argument("--report", metavar="PATH",
                     help="where to write the HTML report (default: next to the deal; none with --json)")
    out.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    out.add_argument("--cashflows", metavar="PATH",
                     help="write every cash flow in long form (.csv, or .parquet)")
    out.add_argument("--pools", metavar="PATH",
                     help="write the collateral pool by pool and in total (.csv, or .parquet): balances, "
                          "level payment, interest, principal, prepayments, fees, SMM and CPR by period")
    out.add_argument("--xlsx", metavar="PATH",
                     help="write an Excel workbook: summary, cash flows, decrement tables, one sheet each")
    out.add_argument("--summary", metavar="PATH",
                     help="summaries only (.csv or .parquet): each scenario's WAL, window, totals and "
                          "PVs per class, run a chunk of scenarios at a time in bounded memory; "
                          "for grids too large to keep every cash flow")
    out.add_argument("--discount", metavar="YIELDS",
                     help="with --summary: flat yields to discount each class's cash at, e.g. 5.5%%,7%%")
    _holder_arguments(p)
    out.add_argument("--json", action="store_true",
                     help="print a JSON summary instead of the table (a list of them for several "
                          "deals); writes no report unless --report is given")


def _oas_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("OAS on rate paths (the deal's rate and prepayment models; prices from "
                             "--price, else the deal's 'oas A at ...')")
    g.add_argument("--oas", action="store_true",
                   help="value the priced classes on OAS: ZV spread, option cost, effective duration "
                        "and convexity, key-rate durations, WAL and price across rate shifts")
    g.add_argument("--paths", type=_positive_int("--paths"), metavar="N",
                   help="Monte Carlo paths (even: antithetic pairs; default the deal's, or 1000)")
    g.add_argument("--volatility", type=_finite("BP"), metavar="BP",
                   help="the short rate's absolute volatility in bp a year (default the deal's, or 100)")
    g.add_argument("--mean-reversion", type=_finite("A"), metavar="A",
                   help="the short rate's mean reversion per year (default the deal's, or 0.03)")
    g.add_argument("--seed", type=_positive_int("--seed", 0), metavar="N", help="the random seed")
    g.add_argument("--no-key-rates", action="store_true", help="skip the key-rate durations (8 runs fewer)")


def _positive_int(option: str, least: int = 1):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{option} must be at least {least} (got {value})")
        return value

    return parse


def _oas_result(ns: argparse.Namespace, deal: Deal, curve: Curve | None) -> OasResult | None:
    """The OAS figures asked for by --oas or by the deal's `oas A at ...` lines; None if neither."""
    import dataclasses

    from .analysis.oas import oas_analysis
    from .model.ratespec import RateSpec

    spec = deal.analytics.rates or RateSpec()
    if not ns.oas and not spec.oas_prices:
        if (spec.shifts_bp or spec.shift_curves) and curve is not None:  # rate scenarios alone: their WALs
            from .analysis.oas import shift_table

            return shift_table(deal, curve)
        return None
    if curve is None:
        raise _UsageError("--oas needs a curve: --curve FILE, or a curve in the deal's analytics block")
    priced = [c.name for c in deal.issued_classes if not c.is_residual]
    prices: dict[str, float | str] = {}
    price: str | None = None
    if ns.oas:
        for item in ns.price:
            name, text = _split_class(item)
            if name is not None and name not in priced:
                raise _UsageError(f"--price: deal \"{deal.name}\" has no issued class '{name}'"
                                  f" (it has {', '.join(priced)})")
            if name is None:
                price = text
            else:
                prices[name] = text
        if not prices and price is None and not spec.oas_prices:
            raise _UsageError("--oas needs prices: --price 100 (every class), --price A=100-16, or "
                              "'oas A at 100-16' in the deal's analytics block")
    model = spec.rate_model
    changes = _rate_model_changes(ns, antithetic=model.antithetic)
    return oas_analysis(deal, prices, price, model=dataclasses.replace(model, **changes), curve=curve,
                        key_rates=not ns.no_key_rates)



def _rate_model_changes(ns: argparse.Namespace, antithetic: bool) -> dict[str, object]:
    """The rate model's fields the OAS flags change (--paths, --volatility in bp, --mean-reversion,
    --seed), checked; `antithetic`: the paths come in pairs, so --paths must be even."""
    changes: dict[str, object] = {}
    if ns.paths is not None:
        if antithetic and ns.paths % 2:
            raise _UsageError(f"--paths {ns.paths}: antithetic paths come in pairs; ask for {ns.paths + 1}")
        changes["paths"] = ns.paths
    if ns.volatility is not None:
        if ns.volatility < 0:
            raise _UsageError(f"--volatility {ns.volatility:g}: a volatility cannot be negative")
        changes["volatility"] = ns.volatility / 10_000.0
    if ns.mean_reversion is not None:
        if ns.mean_reversion < 0:
            raise _UsageError(f"--mean-reversion {ns.mean_reversion:g}: a mean reversion cannot be negative")
        changes["mean_reversion"] = ns.mean_reversion
    if ns.seed is not None:
        changes["seed"] = ns.seed
    return changes

def _print_oas(console: Console, result: OasResult) -> None:
    from rich.table import Table  # late: only the printing commands draw tables

    if result.classes:
        _print_oas_table(console, result)
    if result.shifts is not None:
        shifts = result.shifts
        priced = any(math.isfinite(p) for prices in shifts.price.values() for p in prices)
        title = ("WAL (years) / price across rate shifts (zero volatility, priced at the ZV spread)" if priced
                 else f"WAL (years) across rate shifts (zero volatility; {_escape(result.prepay)})")
        t2 = Table(title=title, title_justify="left", header_style="bold")
        t2.add_column("Class", justify="left")
        for label in shifts.labels:
            t2.add_column(_escape(label), justify="right")
        for name in shifts.wal:
            cells = []
            for w, p in zip(shifts.wal[name], shifts.price[name], strict=True):
                wal = f"{w:.2f}" if math.isfinite(w) else "-"
                cells.append(f"{wal} / {p:.2f}" if priced and math.isfinite(p) else wal)
            t2.add_row(_escape(name), *cells)
        _print_table(console, t2)


def _print_oas_table(console: Console, result: OasResult) -> None:
    from rich.table import Table  # late: only the printing commands draw tables

    table = Table(title=f"OAS  ({_escape(result.model_text)}; {_escape(result.prepay)}; curve "
                        f"{_escape(result.curve)})", title_justify="left", header_style="bold")
    rows = result.rows()
    keys = [k for k in rows[0] if k.startswith("krd_")] if rows else []
    columns = ["Class", "Price", "OAS bp", "ZV bp", "Opt cost bp", "SE bp", "Eff dur", "Eff conv",
               *[f"KRD {k[4:]}" for k in keys], "WAL"]
    for col in columns:
        table.add_column(col, justify="left" if col == "Class" else "right")

    def f(value: object, fmt: str) -> str:
        return "-" if value is None else fmt.format(value)

    for r in rows:
        table.add_row(_escape(str(r["class"])), f(r["price"], "{:.4f}"), f(r["oas"], "{:.1f}"),
                      f(r["zv_spread"], "{:.1f}"), f(r["option_cost"], "{:.1f}"),
                      f(r["oas_std_error"], "{:.2f}"),
                      f(r["effective_duration"], "{:.2f}"), f(r["effective_convexity"], "{:.2f}"),
                      *[f(r[k], "{:.2f}") for k in keys], f(r["wal"], "{:.2f}"))
    _print_table(console, table)
    console.print("spreads: continuously compounded over each path's short rate, with the payment delay; "
                  "durations: +/-25 bp par-curve shifts on the same paths; WAL: on the forward path",
                  style="dim")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if args and args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version"):
        args = ["run", *args]  # 'structure DEAL ...' is the run command
    try:
        ns = _parser().parse_args(args)
        return ns.handler(ns, err)
    except (DealError, DealErrors) as exc:
        err.print(exc.render(), markup=False)
        return EXIT_BAD_INPUT
    except InputError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_BAD_INPUT
    except _UsageError as exc:
        err.print(f"structure: error: {exc}", markup=False)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help (0) or bad usage (2)
        return int(exc.code or 0)


def _each_deal(paths: list[str], err: Console, one: Callable[[str], int]) -> int:
    """Run `one` on every deal path: a deal that fails is reported on stderr and the others still
    run; the exit code is the worst of theirs (a bad deal 1, a usage error 2)."""
    worst = EXIT_OK
    for path in paths:
        try:
            code = one(path)
        except (DealError, DealErrors) as exc:
            err.print(exc.render(), markup=False)
            code = EXIT_BAD_INPUT
        except InputError as exc:
            err.print(f"error: {exc}", markup=False)
            code = EXIT_BAD_INPUT
        except _UsageError as exc:
            err.print(f"structure: error: {exc}", markup=False)
            code = EXIT_USAGE
        worst = max(worst, code)
    if len(paths) > 1 and worst != EXIT_OK:
        err.print(f"structure: not every deal ran cleanly ({len(paths)} given); see the errors above",
                  markup=False)
    return worst


def _check(ns: argparse.Namespace, err: Console) -> int:
    return _each_deal(ns.deals, err, _check_one)


def _check_one(path: str) -> int:
    deal = load(path)
    offered = [c for c in deal.issued_classes if not c.is_residual]
    residual = deal.residual.name if deal.residual else "none"
    _stdout().print(
        f"{path}: deal \"{deal.name}\" checks: {len(deal.pools)} pool(s), "
        f"{len(offered)} classes and residual {residual}, collateral {deal.collateral_balance:,.0f}"
        + (f", in {len(deal.groups)} collateral groups" if deal.groups else ""),
        markup=False)
    return EXIT_OK


def _requested_scenarios(ns: argparse.Namespace, deal: Deal) -> list[Scenario]:
    scenarios = [Scenario(s) for group in ns.psa + ns.cpr + ns.smm for s in group]
    for name in ns.scenario:
        if name not in deal.scenarios:
            known = ", ".join(f'"{n}"' for n in deal.scenarios) or "none"
            raise _UsageError(f"deal \"{deal.name}\" has no scenario \"{name}\" (it has: {known})")
        scenarios.append(deal.scenarios[name])
    if not scenarios:
        if deal.pricing is None:
            raise InputError(f"deal \"{deal.name}\" has no pricing speed: add 'pricing 165 PSA' to "
                             "its scenarios block, or pass --psa/--cpr/--smm")
        scenarios = [deal.pricing]
    for index, levels in ns.index:
        try:
            check_indices(deal.name, deal.index_names, [index])
        except InputError as exc:
            raise _UsageError(str(exc)) from None  # a bad --index is a usage error (exit 2)
        scenarios = with_index_levels(scenarios, index, levels)
    return _with_defaults(ns, deal, scenarios)


def _with_defaults(ns: argparse.Namespace, deal: Deal, scenarios: list[Scenario]) -> list[Scenario]:
    """Every scenario at every --cdr/--sda rate (speed-major), with --severity, --lag, --advance."""
    assumptions = _default_assumptions(ns, max(p.term for p in deal.pools))
    return at_defaults(scenarios, assumptions) if assumptions else scenarios


def _default_assumptions(ns: argparse.Namespace, term: int | None) -> list[DefaultAssumption]:
    """One default assumption per --cdr/--sda rate, with --severity, --lag, --advance (and
    --delinquency where the command has it); a loss term without a rate is a usage error. `term`:
    the longest pool's, which a lag must not reach (None: checked per deal later)."""
    rates = [r for group in ns.cdr + ns.sda for r in group]
    terms = {"severity": ns.severity, "lag": ns.lag, "advancing": ns.advance,
             "delinquency": getattr(ns, "delinquency", None)}
    if not rates:
        flags = {"severity": "--severity", "lag": "--lag", "advancing": "--advance",
                 "delinquency": "--delinquency"}
        given = [flags[k] for k, v in terms.items() if v is not None]
        if given:
            raise _UsageError(f"{', '.join(given)} describe{'s' if len(given) == 1 else ''} loan defaults; "
                              "give the default rates with --cdr or --sda")
        return []
    if ns.lag is not None:
        try:
            validate_lag(ns.lag, term)
        except InputError as exc:
            raise _UsageError(f"--lag: {exc}") from None
    parts = {k: v for k, v in terms.items() if v is not None}
    return [DefaultAssumption(rate, **parts) for rate in rates]  # type: ignore[arg-type]


# Inputs by their suffix: an output path ending so would overwrite someone's deal or data.
_INPUT_SUFFIXES = (".waterfall",)


def _output_path(option: str, text: str | None, inputs: list[Path]) -> Path | None:
    """An output path that is not empty and would not overwrite an input (the deal, the curve)."""
    if text is None:
        return None
    if not text.strip():
        raise _UsageError(f"{option} needs a file path (it was given an empty one)")
    path = Path(text)
    if path.suffix.lower() in _INPUT_SUFFIXES or (option == "--report" and path.suffix.lower() == ".csv"):
        raise _UsageError(f"{option} {text}: that is the name of a deal or data file, which is never "
                          "overwritten; give a path ending .html" if option == "--report" else
                          f"{option} {text}: a .waterfall file is a deal, which is never overwritten")
    for source in inputs:
        try:
            same = path.exists() and path.samefile(source)
        except OSError:
            same = False
        if same:
            raise _UsageError(f"{option} {text} is an input of this run ({source}); it is never overwritten")
    return path


def _run(ns: argparse.Namespace, err: Console) -> int:
    if ns.report is not None and ns.no_report:
        raise _UsageError("--report and --no-report contradict each other")
    if len(ns.deals) > 1:
        # One output file for several deals would hold only the last: refuse before any runs.
        named = [o for o, v in (("--report", ns.report), ("--cashflows", ns.cashflows), ("--pools", ns.pools),
                                ("--xlsx", ns.xlsx), ("--summary", ns.summary), ("--statement", ns.statement),
                                ("--factors", ns.factors), ("--ledger", ns.ledger)) if v is not None]
        if named:
            raise _UsageError(f"{', '.join(named)} names one file, and {len(ns.deals)} deals were given; "
                              "run them one at a time (each deal's report goes next to it by default)")
    _check_holder_options(ns)
    if ns.summary is not None or ns.discount is not None:
        _check_summary_options(ns)
        return _each_deal(ns.deals, err, lambda path: _summarise_one(ns, path, err))
    if ns.cashflows and Path(ns.cashflows).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise _UsageError("--cashflows writes .csv or .parquet files")
    if ns.xlsx and Path(ns.xlsx).suffix.lower() != ".xlsx":
        raise _UsageError("--xlsx writes .xlsx files")
    if ns.pools and Path(ns.pools).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise _UsageError("--pools writes .csv or .parquet files")
    if not ns.json:
        return _each_deal(ns.deals, err, lambda path: _run_one(ns, path, err))
    summaries: list[dict] = []
    code = _each_deal(ns.deals, err, lambda path: _run_one(ns, path, err, summaries))
    out = summaries[0] if len(ns.deals) == 1 and summaries else summaries
    if out or len(ns.deals) > 1:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    return code


def _run_one(ns: argparse.Namespace, path: str, err: Console, summaries: list[dict] | None = None) -> int:
    """Run one deal; with --json its summary is appended to `summaries` instead of printed."""
    inputs = [Path(path)] + ([Path(ns.curve)] if ns.curve else [])
    for option, text in (("--report", ns.report), ("--cashflows", ns.cashflows), ("--xlsx", ns.xlsx),
                         ("--pools", ns.pools)):
        _output_path(option, text, inputs)
    deal = load(path)
    scenarios = _requested_scenarios(ns, deal)
    results = _run_with_progress(deal, scenarios, err, quiet=ns.json)

    curve = _curve(ns, deal)
    specs = _quote_specs(ns, deal)
    quotes = valuation.quote_classes(results, specs, curve) if specs else {}
    horizons = _horizons(ns, deal, results, quotes, curve)
    oas = _oas_result(ns, deal, curve)
    if ns.cashflows:
        exports.write_cashflows(results, Path(ns.cashflows))
    if ns.pools:
        exports.write_pool_cashflows(results, Path(ns.pools))
    written = _write_holder_outputs(ns, results, inputs)
    # A report by default, but not under --json: a script asking for JSON wants no file it did
    # not name.
    wants_report = not ns.no_report and (ns.report is not None or not ns.json)
    # The decrement speeds are run once, for whichever of the workbook and the report wants them.
    wants_decrement = deal.decrement and (ns.xlsx or wants_report)
    decrement = deal.run(*deal.decrement) if wants_decrement else None
    if ns.xlsx:
        exports.write_xlsx(results, Path(ns.xlsx), decrement)
    report_path = None
    if wants_report:
        report_path = Path(ns.report) if ns.report is not None else Path(path).with_suffix(".html")
        _output_path("--report", str(report_path), inputs)
        _write_report(results, decrement, report_path, quotes, specs, horizons, oas)

    if summaries is not None:
        out = results.to_dict()
        for s, scenario in enumerate(out["scenarios"]):
            for name, q in quotes.items():
                scenario["classes"][name].update(q.row(s))
            for h in horizons:
                scenario["classes"][h.name].setdefault("total_return", []).append(h.row(s))
            if ns.average_lives:
                for name, lives in average_life.rows(results, s).items():
                    scenario["classes"][name]["average_life"] = lives
        if ns.average_lives:  # asked for: --json's object is otherwise Results.to_dict()'s own
            out["average_life_conventions"] = dict(average_life.LABELS)
        if deal.tapes:
            out["collateral"] = _tape_summaries(deal)
        if deal.agency:
            # Only then: a deal's --json is otherwise exactly Results.to_dict(), which scripts compare.
            out["payment"] = payment_terms(deal)
        if oas is not None:
            out["oas"] = oas.to_dict()
        summaries.append(out)
    else:
        console = _stdout()
        if len(ns.deals) > 1:
            console.print(f"{path}", style="dim", markup=False)
        _print_summary(console, results)
        if deal.groups:
            _print_groups(console, results)
        if results.enhancement():
            _print_enhancement(console, results)
        if deal.tapes:
            _print_collateral(console, deal)
        if quotes:
            _print_quotes(console, results, quotes)
        if horizons:
            _print_horizons(console, horizons)
        if ns.average_lives:
            _print_average_lives(console, results)
        if ns.tables:
            _print_tables(console, deal)
        if oas is not None:
            _print_oas(console, oas)
    if ns.cashflows:
        err.print(f"cash flows written to {ns.cashflows}", markup=False)
    if ns.pools:
        err.print(f"pool cash flows written to {ns.pools}", markup=False)
    if ns.xlsx:
        err.print(f"workbook written to {ns.xlsx}", markup=False)
    if report_path is not None:
        err.print(f"report written to {report_path}", markup=False)
    for message in written:
        err.print(message, markup=False)
    return EXIT_OK


def payment_terms(deal: Deal) -> dict[str, object]:
    """The deal's payment convention for --json: both delays, the payment day, the program."""
    return {"agency": deal.agency, "delay_days": deal.delay_days, "stated_delay_days": deal.stated_delay,
            "payment_day": deal.payment_day, "first_payment": deal.first_payment.isoformat()}


def _check_summary_options(ns: argparse.Namespace) -> None:
    """--summary runs no full run: the outputs made from every cash flow do not go with it."""
    if ns.summary is None:
        raise _UsageError("--discount gives the yields of --summary's PVs; add --summary PATH")
    if not ns.summary.strip():
        raise _UsageError("--summary needs a file path (it was given an empty one)")
    if Path(ns.summary).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise _UsageError("--summary writes .csv or .parquet files")
    others = [o for o, v in (("--report", ns.report), ("--cashflows", ns.cashflows), ("--xlsx", ns.xlsx),
                             ("--pools", ns.pools),
                             ("--json", ns.json or None), ("--tables", ns.tables or None),
                             ("--price", ns.price or None), ("--yield", ns.yield_ or None),
                             ("--spread", ns.spread or None), ("--mortgage-yield", ns.mortgage_yield or None),
                             ("--margin", ns.margin or None), ("--horizon", ns.horizon)) if v is not None]
    if others:
        raise _UsageError(f"--summary keeps only each scenario's figures, not the cash flows that "
                          f"{', '.join(others)} need{'s' if len(others) == 1 else ''}; run them separately")


def _summarise_one(ns: argparse.Namespace, path: str, err: Console) -> int:
    """Summaries only: the scenarios a chunk at a time, each class's figures written to a file."""
    import numpy as np

    from .analysis.summary import summarise

    _output_path("--summary", ns.summary, [Path(path)])
    deal = load(path)
    scenarios = _requested_scenarios(ns, deal)
    # As --yield: a bare number is percent.
    rates = None if ns.discount is None else [_percent(r.strip()) for r in ns.discount.split(",")]
    summary = _with_chunk_progress(deal, scenarios, rates, err, summarise)
    out = Path(ns.summary)
    frame = summary.frame(collateral=True)
    try:
        if out.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
    except OSError as exc:
        raise InputError(f"cannot write the summaries to {out}: {exc.strerror or exc}") from None
    wal = summary.collateral["wal"]
    shown = (f"collateral WAL {np.nanmin(wal):.2f} to {np.nanmax(wal):.2f} years"
             if np.isfinite(wal).any() else "no collateral principal")
    _stdout().print(f"{deal.name}: {len(summary):,} scenarios, {len(summary.classes)} classes ({shown})",
                    markup=False)
    err.print(f"summaries written to {out}", markup=False)
    return EXIT_OK


def _percent(text: str) -> str:
    try:
        return f"{float(text)}%"
    except ValueError:
        return text  # with its unit, or not a number: summarise reads it or says why not


def _with_chunk_progress(deal: Deal, scenarios: list[Scenario], rates: list[str] | None, err: Console,
                         summarise: Callable[..., Summary]) -> Summary:
    """summarise, with a progress bar by chunks on a terminal for a grid as large as
    _run_with_progress shows one for."""
    if len(scenarios) * deal.periods < PROGRESS_THRESHOLD or not err.is_terminal:
        return summarise(deal, scenarios, rates=rates)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("summaries"), BarColumn(),
               TextColumn("scenario {task.completed:,}/{task.total:,}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("summaries", total=len(scenarios))
        return summarise(deal, scenarios, rates=rates,
                         progress=lambda done, total: bar.update(task, completed=done))


# Quotes a desk can mean (exclusive low, inclusive high): prices in points of par, yields and
# spreads as decimals. Past these the yield solver has nothing to find.
_QUOTE_RANGES = {"price": (0.0, 10_000.0), "yield": (-1.0, 10.0), "spread": (-1.0, 1.0),
                 "mortgage yield": (-1.0, 10.0), "margin": (-1.0, 1.0)}


def _split_class(text: str) -> tuple[str | None, str]:
    name, sep, value = text.partition("=")
    return (name.strip(), value.strip()) if sep else (None, text.strip())


def _quote_specs(ns: argparse.Namespace, deal: Deal) -> list[QuoteSpec]:
    """The deal's analytics quotes, replaced class by class by the command line's."""
    specs = {q.name: q for q in deal.analytics.quotes}
    priced = [c.name for c in deal.issued_classes if not c.is_residual]
    floaters = [c.name for c in deal.issued_classes if not c.is_residual and c.formula is not None]
    for kind, items in (("price", ns.price), ("yield", ns.yield_), ("spread", ns.spread),
                        ("mortgage yield", ns.mortgage_yield), ("margin", ns.margin)):
        option = "--" + kind.replace(" ", "-")
        for item in items:
            name, text = _split_class(item)
            if name is not None and name not in priced:
                raise _UsageError(f"{option}: deal \"{deal.name}\" has no issued class '{name}'"
                                  f" (it has {', '.join(priced)})")
            if kind == "margin" and name is not None and name not in floaters:
                raise _UsageError(f"--margin: class {name} has a fixed coupon; a discount margin is over a "
                                  f"floater's index (the floaters: {', '.join(floaters) or 'none'})")
            try:
                if kind == "price":
                    value = parse_price(text)
                else:
                    # A unit says what the number is; a bare yield is percent, a bare spread or
                    # margin bp.
                    value = rate_with_unit(text, bare=100.0 if "yield" in kind else 10000.0)
            except (InputError, ValueError, OverflowError):
                raise _UsageError(f"{option}: '{text}' is not a {kind}") from None
            low, high = _QUOTE_RANGES[kind]
            if not (math.isfinite(value) and low < value <= high):
                shown = f"{high:,.0f}" if kind == "price" else (
                    f"{high:.0%}" if "yield" in kind else f"{high * 1e4:,.0f} bp")
                raise _UsageError(f"{option}: '{text}' is not a usable {kind} (a finite number "
                                  f"{'above 0 and ' if kind == 'price' else ''}up to {shown})")
            targets = [name] if name else (floaters if kind == "margin" else priced)
            if not targets:
                raise _UsageError(f"--margin: deal \"{deal.name}\" has no floating-rate class")
            for target in targets:
                specs[target] = QuoteSpec(kind, target, value)
    if any(q.kind == "spread" for q in specs.values()) and _curve(ns, deal) is None:
        raise _UsageError("--spread needs a curve: --curve FILE, or a curve in the deal's analytics block")
    return list(specs.values())


def _horizons(ns: argparse.Namespace, deal: Deal, results: Results, quotes: dict[str, valuation.Quote],
              curve: Curve | None) -> list:
    """The total returns asked for: --horizon for every priced class, else the analytics block's."""
    from .analysis.plan import horizon_results
    from .model.deal import HorizonSpec

    if ns.horizon is None:
        if ns.sell is not None:
            raise _UsageError("--sell says how a class is sold at a horizon; add --horizon MONTHS")
        return horizon_results(results, quotes, deal.analytics.horizons, curve)
    if not quotes:
        raise _UsageError("--horizon needs the classes priced (their purchase price): --price, --yield, "
                          "--spread, or quotes in the deal's analytics block")
    if not 1 <= ns.horizon <= deal.periods:
        raise _UsageError(f"--horizon: {ns.horizon} months is not within the deal's {deal.periods} periods")
    if ns.sell is None:
        raise _UsageError("--horizon needs --sell yield=RATE, price=PRICE or spread=BP")
    kind, sep, text = ns.sell.partition("=")
    kind = kind.strip().lower()
    usage = _UsageError(f"--sell '{ns.sell}' / --reinvest '{ns.reinvest}': write --sell yield=6.5%, "
                        "price=99-16 or spread=120, and --reinvest 4%")
    if not sep or kind not in ("yield", "price", "spread"):
        raise usage
    try:
        value = parse_price(text) if kind == "price" else \
            rate_with_unit(text, bare=100.0 if kind == "yield" else 10000.0)
        reinvest = rate_with_unit(ns.reinvest, bare=100.0)
    except (InputError, ValueError):
        raise usage from None
    if kind == "spread" and curve is None:
        raise _UsageError("--sell spread=... needs a curve: --curve FILE, or a curve in the analytics block")
    spec = HorizonSpec(tuple(quotes), ns.horizon, reinvest, kind, value)
    return horizon_results(results, quotes, [spec], curve)


def _print_average_lives(console: Console, results: Results) -> None:
    """Each class's average life under every convention (results/average_life.py), a table per
    scenario shown; the conventions said under them."""
    from rich.table import Table  # late: only the printing commands draw tables

    from .analysis.budget import SCENARIOS_LISTED
    from .analysis.plan import chart_scenario

    count = len(results.scenario_specs)
    shown = range(count) if count <= SCENARIOS_LISTED else [chart_scenario(results)[0]]
    columns = (("wal", "WAL"), ("to_receipt", "To receipt"), ("z_bond", "Z-bond"),
               ("net_principal", "GPM/ARM net"))
    for s in shown:
        lives = average_life.rows(results, s)
        table = Table(title=f"{_escape(results.scenarios[s])}  average life (years) by convention",
                      title_justify="left", header_style="bold")
        table.add_column("Class", justify="left")
        for _, title in columns:
            table.add_column(title, justify="right")
        for name, row in lives.items():
            table.add_row(_escape(name), *["-" if row.get(key) is None else f"{row[key]:.2f}"
                                           for key, _ in columns])
        _print_table(console, table)
    for key, title in columns:
        console.print(f"{title}: {average_life.LABELS[key].split(': ', 1)[-1]}", style="dim")
    console.print("Z-bond and GPM/ARM: accrual classes only; a notional class: its notional balance's "
                  "paydown", style="dim")


def _print_horizons(console: Console, horizons: list) -> None:
    """Each class's total return, a row per scenario."""
    from rich.table import Table  # late: only the printing commands draw tables

    for h in horizons:
        sold = {"yield": f"yield {h.sell_at * 100:.3f}%", "spread": f"spread {h.sell_at * 1e4:.0f}bp",
                "price": f"price {format_32nds(h.sell_at)}"}[h.sell]
        table = Table(title=f"{_escape(h.name)}  total return: {h.months} months to {h.horizon.isoformat()}, "
                            f"reinvested at {h.reinvest * 100:.3f}%, sold at {sold}",
                      title_justify="left", header_style="bold")
        for col in ("Scenario", "Bought", "Received", "Reinvested", "Sale", "Horizon price", "Horizon yield",
                    "Total return", "Annual BEY", "Annual mtg"):
            table.add_column(col, justify="left" if col == "Scenario" else "right")
        for s, label in enumerate(h.scenarios):
            r = h.row(s)

            def f(key: str, fmt: str, row: dict = r) -> str:
                return "-" if row[key] is None else fmt.format(row[key])

            table.add_row(_escape(label), f("initial_value", "{:,.0f}"), f("cash_received", "{:,.0f}"),
                          f("reinvestment_income", "{:,.0f}"), f("sale_value", "{:,.0f}"),
                          f("horizon_price", "{:.4f}"), f("horizon_yield", "{:.3f}%"),
                          f("total_return", "{:.3f}%"), f("annualised_bey", "{:.3f}%"),
                          f("annualised_mortgage", "{:.3f}%"))
        _print_table(console, table)
    console.print("total return (SIFMA SF-50/51): cash reinvested to the horizon monthly (30/360), "
                  "the rest sold there at its full value;", style="dim")
    console.print("annualised: bond-equivalent 2[(1+TR)^(6/N)-1], monthly 12[(1+TR)^(1/N)-1], N months held",
                  style="dim")


def _curve(ns: argparse.Namespace, deal: Deal) -> Curve | None:
    if not ns.curve:
        return deal.analytics.curve
    return read_curve_csv(Path(ns.curve))


def _print_quotes(console: Console, results: Results, quotes: dict[str, valuation.Quote]) -> None:
    from rich.table import Table  # late: only the printing commands draw tables

    from .analysis.budget import SCENARIOS_LISTED
    from .analysis.plan import chart_scenario

    count = len(results.scenario_specs)
    # A large run prices every scenario (--json has them all) and prints the cover table's one.
    printed = range(count) if count <= SCENARIOS_LISTED else [chart_scenario(results)[0]]
    for s in printed:
        label = results.scenarios[s]
        table = Table(title=f"{_escape(label)}  price / yield  (settle {results.deal.settle.isoformat()})",
                      title_justify="left", header_style="bold")
        columns = ["Class", "Price", "Decimal", "Accrued", "Yield", "Mtg yield", "WAL", "Mod dur",
                   "Eff dur", "Convexity"]
        with_curve = any(q.spread is not None for q in quotes.values())
        if with_curve:
            columns += ["Spread bp", "Z-spread bp"]
        for col in columns:
            table.add_column(col, justify="left" if col == "Class" else "right")
        for name, q in quotes.items():
            r = q.row(s)

            def f(key: str, fmt: str = "{:.3f}", row: dict = r) -> str:
                return "-" if row[key] is None else fmt.format(row[key])

            cells = [_escape(name), str(r["price_32nds"]), f("price", "{:.4f}"), f("accrued", "{:.4f}"),
                     f("yield", "{:.3f}%"), f("mortgage_yield", "{:.3f}%"), f("wal", "{:.2f}"),
                     f("modified_duration", "{:.2f}"),
                     f("effective_duration", "{:.2f}") + ("" if not q.static else " s"),
                     f("convexity", "{:.2f}")]
            if with_curve:
                cells += [f("spread_bp", "{:.0f}"), f("z_spread_bp", "{:.0f}")]
            table.add_row(*cells)
        _print_table(console, table)
        _print_floating(console, label, quotes, s)
    console.print("yields: bond-equivalent, with the payment delay; durations: years against the BEY; "
                  "s: static (no cash flow here depends on rates)", style="dim")
    console.print("Mtg yield: the same yield compounded monthly, (1 + y/12)^6 = 1 + BEY/2", style="dim")
    if any(q.floating is not None for q in quotes.values()):
        console.print("floating-rate measures (SIFMA SF-52..54): index yield: the first period's index; "
                      "spread: the yield less the index yield, same basis;", style="dim")
        console.print("DM: the margin over each period's index that discounts the cash to the full price; "
                      f"BEY: semiannual, 30/360; MM: simple, {results.deal.day_count.name}", style="dim")
    if count > SCENARIOS_LISTED:
        console.print(f"left out: the price/yield tables of the other {count - 1:,} scenarios; --json "
                      "prints every scenario's", markup=False)


def _print_floating(console: Console, label: str, quotes: dict[str, valuation.Quote], s: int) -> None:
    """The floating-rate measures of the quoted floaters at scenario s, a row each."""
    from rich.table import Table  # late: only the printing commands draw tables

    floaters = {name: q.row(s) for name, q in quotes.items() if q.floating is not None}
    if not floaters:
        return
    table = Table(title=f"{_escape(label)}  floating-rate measures", title_justify="left",
                  header_style="bold")
    columns = ["Class", "Index BEY", "Index MM", "Yield MM", "Spread BEY bp", "Spread MM bp",
               "DM BEY bp", "DM MM bp"]
    for col in columns:
        table.add_column(col, justify="left" if col == "Class" else "right")
    for name, r in floaters.items():
        def f(key: str, fmt: str, row: dict = r) -> str:
            return "-" if row[key] is None else fmt.format(row[key])

        table.add_row(_escape(name), f("index_yield_bey", "{:.3f}%"), f("index_yield_mm", "{:.3f}%"),
                      f("yield_mm", "{:.3f}%"), f("spread_to_index_bey_bp", "{:.1f}"),
                      f("spread_to_index_mm_bp", "{:.1f}"), f("discount_margin_bey_bp", "{:.1f}"),
                      f("discount_margin_mm_bp", "{:.1f}"))
    _print_table(console, table)


def _print_tables(console: Console, deal: Deal) -> None:
    from rich.table import Table  # late: only the printing commands draw tables

    if not deal.analytics.tables:
        console.print("the deal's analytics block asks for no price/yield table", style="dim")
    for spec in deal.analytics.tables:
        run = deal.run(*spec.speeds)  # one run for every class's table, both ways
        for tranche in deal.issued_classes:
            if tranche.is_residual:
                continue
            frame, mortgage = valuation.price_yield_frames(run, tranche.name, list(spec.prices))
            for title, shown in ((f"{tranche.name}: yield (BEY %) by price and speed", frame),
                                 (f"{tranche.name}: the same as mortgage yields (%, monthly)",
                                  mortgage.iloc[:len(spec.prices)])):
                table = Table(title=_escape(title), title_justify="left", header_style="bold")
                table.add_column("Price", justify="left")
                for col in shown.columns:
                    table.add_column(_escape(str(col)), justify="right")
                for idx, row in shown.iterrows():
                    table.add_row(_escape(str(idx)), *[_cell(v) for v in row])
                _print_table(console, table)


# A grid this large gets a progress bar (scenarios x periods of waterfall work).
PROGRESS_THRESHOLD = 200_000


def _tape_summaries(deal: Deal) -> dict[str, dict]:
    """Each loan tape's statistics and strata (pool name -> plain data), for --json."""
    from .engine.tape import aggregation_wal_difference
    from .model.tape import collateral_summary

    out = {}
    for name, tape in deal.tapes.items():
        info = collateral_summary(tape)
        lines = [p for p in deal.pools if p.name == name or p.name.startswith(f"{name} #")]
        info["rep_lines"] = len(lines)
        if deal.pricing is not None and lines:
            # What summing the loans into rep-lines changed, at the pricing speed.
            diff = aggregation_wal_difference(tape, lines, [deal.pricing.prepayment])
            info["wal_difference_years"] = float(diff[0])
            info["wal_difference_speed"] = deal.pricing.prepayment.label
        out[name] = info
    return out


def _print_collateral(console: Console, deal: Deal) -> None:
    """A term sheet's collateral page for each loan tape: statistics, then stratification tables."""
    from rich.table import Table  # late: only the printing commands draw tables

    for name, info in _tape_summaries(deal).items():
        console.print(f"Collateral \"{name}\": {info['count']:,} loans, balance {info['balance']:,.2f}, "
                      f"average {info['average_balance']:,.0f}; WAC {info['wac']:.3f}%, net WAC "
                      f"{info['net_wac']:.3f}%, WAM {info['wam']:.0f}, WALA {info['wala']:.0f} months",
                      markup=False, highlight=False)
        if "wal_difference_years" in info:
            console.print(f"  {info['rep_lines']:,} rep-lines; WAL rep-lines less loan by loan at "
                          f"{info['wal_difference_speed']}: {info['wal_difference_years']:+.4f} years",
                          markup=False, highlight=False)
        for strat in info["strata"].values():
            table = Table(title=strat["title"], title_justify="left")
            for col in ("Bucket", "Loans", "Balance", "% of balance", "WAC", "WAM"):
                table.add_column(col, justify="left" if col == "Bucket" else "right")
            for r in strat["rows"]:
                table.add_row(_escape(r["bucket"]), f"{r['count']:,}", f"{r['balance']:,.2f}",
                              f"{r['percent']:.2f}", f"{r['wac']:.3f}", f"{r['wam']:.0f}")
            console.print(table)


def _run_with_progress(deal: Deal, scenarios: list[Scenario], err: Console, quiet: bool) -> Results:
    periods = deal.periods
    if quiet or len(scenarios) * periods < PROGRESS_THRESHOLD or not err.is_terminal:
        return deal.run(*scenarios)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"{len(scenarios):,} scenarios"), BarColumn(),
               TextColumn("period {task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("waterfall", total=periods)
        return deal.run(*scenarios, progress=lambda done, total: bar.update(task, completed=done))


def _write_report(results: Results, decrement: Results | None, path: Path,
                  quotes: dict[str, valuation.Quote] | None = None,
                  specs: list[QuoteSpec] | None = None, horizons: list | None = None,
                  oas: OasResult | None = None) -> None:
    """The HTML report, with the decrement tables and the quotes the run printed (the deal's
    analytics quotes, replaced class by class by --price/--yield/--spread), and the OAS figures."""
    from .analysis.plan import report_plan
    from .present.report import write

    plan = report_plan(results, decrement, quotes, specs, horizons)
    if oas is not None:
        import dataclasses

        plan = dataclasses.replace(plan, oas=oas)
    try:
        write(plan, path)
    except OSError as exc:
        raise InputError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _print_summary(console: Console, results: Results) -> None:
    """Each scenario's cover table; a run of more than budget.SCENARIOS_LISTED scenarios shows the
    pricing scenario's (or the first's) in full, the WALs of the first SCENARIOS_LISTED and their
    distribution over all, and says what it left out."""
    from .analysis.budget import SCENARIOS_LISTED
    from .analysis.plan import chart_scenario

    deal = results.deal
    console.print(f"[bold]{_escape(deal.name)}[/bold]  settle {deal.settle.isoformat()}  "
                  f"first payment {deal.first_payment.isoformat()}  delay {deal.delay_days} days "
                  f"(stated {deal.stated_delay}){'  ' + deal.agency if deal.agency else ''}  "
                  f"collateral {deal.collateral_balance:,.0f}")
    # As the report shows them: a PAC/TAC with its band, a notional class with its notional WAL.
    from .analysis.plan import notional_wal
    from .present.report import class_bands

    bands, notional, coll_wal = class_bands(deal), notional_wal(results), results.wal(COLLATERAL)
    count = len(results.scenario_specs)
    shown = range(count) if count <= SCENARIOS_LISTED else [chart_scenario(results)[0]]
    for s in shown:
        _print_cover(console, results, s, bands, notional, coll_wal)
    if count > SCENARIOS_LISTED:
        _print_wal_table(console, results, SCENARIOS_LISTED)
    console.print("WAL: years by period count from settlement, principal paid (SIFMA); --average-lives: "
                  "the other conventions", style="dim")


def _print_enhancement(console: Console, results: Results) -> None:
    """A deal with overcollateralization or a reserve account: per scenario (the first few), the
    OC at closing, its least and its end, turbo, release and the losses it took; the reserve's
    deposits, draws and release."""
    from rich.table import Table  # late: only the printing commands draw tables

    count = min(len(results.scenarios), 12)  # the first scenarios: one row each
    totals = [results.enhancement_totals(s) for s in range(count)]
    oc = results.deal.overcollateralization is not None
    res = results.deal.reserve is not None
    table = Table(title="Credit enhancement over the life (overcollateralization and reserve account)",
                  title_justify="left", header_style="bold")
    columns = ["Scenario"]
    if oc:
        columns += ["OC at closing", "OC least", "OC at end", "Turbo", "Released", "Losses taken"]
    if res:
        columns += ["Reserve deposits", "Drawn (interest)", "Drawn (losses)", "Reserve released"]
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for s, got in enumerate(totals):
        cells = [_escape(results.scenarios[s])]
        if oc:
            o = got["overcollateralization"]
            cells += [f"{o[k]:,.0f}" for k in ("initial", "minimum", "final", "turbo", "release",
                                               "losses_absorbed")]
        if res:
            r = got["reserve"]
            cells += [f"{r[k]:,.0f}" for k in ("deposits", "interest_draws", "loss_draws", "released")]
        table.add_row(*cells)
    _print_table(console, table)


def _print_groups(console: Console, results: Results) -> None:
    """A deal with collateral groups: each group's pools and classes, and its cash over the life
    at the pricing scenario (or the first): its pools', its classes', the excess it received and
    passed on, what it left to the residual."""
    from rich.table import Table  # late: only the printing commands draw tables

    from .analysis.plan import chart_scenario

    s = chart_scenario(results)[0]
    table = Table(title=f"Collateral groups at {_escape(results.scenarios[s])} (cash over the life)",
                  title_justify="left", header_style="bold")
    figures = results.group_figures(s)
    credit = any("collateral_losses" in g for g in figures)  # a credit run: losses per group too
    columns = [("Group", "left"), ("Pools", "left"), ("Classes", "left"), ("Pools' cash", "right"),
               ("Classes' cash", "right"), ("Excess in", "right"), ("Excess out", "right"),
               ("Residual", "right")]
    if credit:
        # One word each, so that a narrow terminal does not break the headings.
        columns += [("Losses", "right"), ("Write-downs", "right"), ("Unabsorbed", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def out(g: dict, kind: str) -> list[str]:
        target = g[f"excess_{kind}_to"]
        return [f"{g[f'excess_{kind}_out']:,.0f} {kind} to group {_escape(target)}"] if target else []

    for g in figures:
        cash_in = g["collateral_interest"] + g["collateral_principal"]
        # (write-downs paid back out of the group's excess interest are its classes' cash too)
        classes_cash = g["class_interest"] + g["class_principal"] + g.get("class_reimbursed", 0.0)
        received = g["excess_interest_in"] + g["excess_principal_in"]
        losses = ([f"{g['collateral_losses']:,.0f}", f"{g['class_writedown']:,.0f}",
                   f"{g['unallocated_loss']:,.0f}"] if credit else [])
        table.add_row(
            _escape(g["group"]), _escape(", ".join(g["pools"])), _escape(", ".join(g["classes"])),
            f"{cash_in:,.0f}", f"{classes_cash:,.0f}",
            f"{received:,.0f}", "\n".join(out(g, "interest") + out(g, "principal")) or "-",
            f"{g['residual_interest'] + g['residual_principal']:,.0f}", *losses)
    _print_table(console, table)


def _print_cover(console: Console, results: Results, s: int, bands: dict[str, str],
                 notional: dict[str, np.ndarray], coll_wal: np.ndarray) -> None:
    """One scenario's cover table: each class's types, balance, coupon, WAL, window and final date."""
    from rich.table import Table  # late: only the printing commands draw tables

    spec = results.scenario_specs[s]
    label = spec.label if spec.name is None else f"{spec.name}: {spec.description}"
    table = Table(title=f"{_escape(label)}  (collateral WAL {coll_wal[s]:.2f} years)",
                  title_justify="left", header_style="bold")
    for col, justify in (("Class", "left"), ("Prin type", "left"), ("Int type", "left"),
                         ("Balance", "right"), ("Coupon", "right"), ("WAL", "right"),
                         ("Window", "right"), ("Window dates", "left"), ("Final date", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    # A scenario with losses: each class's loss written down, in dollars and % of its original.
    losses = results.writedowns()[s].sum(axis=1) if results.is_credit else None
    if losses is not None and results.collateral.losses[s].sum() > 0:  # type: ignore[attr-defined]
        table.add_column("Loss", justify="right")
    else:
        losses = None
    # A deal that reimburses losses out of excess interest: what each class was paid back.
    paid_back = results.reimbursements()[s].sum(axis=1) if results.reimburses else None
    if paid_back is not None and paid_back.sum() > 0:
        table.add_column("Reimbursed", justify="right")
    else:
        paid_back = None
    summary = results.summary(s)
    for name, row in summary.iterrows():
        residual = row["principal_type"] == "R"
        window = dates = "-"
        if row["first_principal_period"] > 0 and not residual:
            window = f"{row['first_principal_period']}-{row['last_principal_period']}"
            dates = f"{row['first_principal_date']:%m/%Y}-{row['last_principal_date']:%m/%Y}"
        balance = f"{row['original_balance']:,.0f}" + (" (notional)" if row["notional"] else "")
        coupon = f"{row['coupon'] * 100:.3f}%"
        if isinstance(row["coupon_formula"], str):
            coupon = f"{row['coupon_formula']} ({row['first_coupon'] * 100:.3f}%)"
        elif row["interest_type"] == "PO":
            coupon = "-"
        wal = "-" if residual or row["wal"] != row["wal"] else f"{row['wal']:.2f}"
        if name in notional:
            wal = f"{notional[name][s]:.2f} (notional)"
        ptype = row["principal_type"] + (f" ({bands[name]})" if name in bands else "")
        table.add_row(
            _escape(str(name)),
            "R" if residual else ptype,
            "R" if residual else row["interest_type"],
            "-" if residual else balance,
            "-" if residual else coupon,
            wal,
            window,
            dates,
            row["final_date"].isoformat() if row["final_date"] else "-",
            *([_loss_cell(results, str(name), losses, residual)] if losses is not None else []),
            *([("-" if residual else f"{paid_back[results.deal.tranche(str(name)).index]:,.0f}")]
              if paid_back is not None else []),
        )
    _print_table(console, table)


def _loss_cell(results: Results, name: str, losses: np.ndarray, residual: bool) -> str:
    tranche = results.deal.tranche(name)
    if residual or tranche.is_notional:
        return "-"
    lost = float(losses[tranche.index])
    original = results.original_balance(name)
    share = lost / original * 100 if original > 0 else 0.0
    return f"{lost:,.0f} ({share:.2f}%)"


# Classes given a WAL column in the terminal's table of a large run (more would not fit a line).
WAL_COLUMNS = 8

# The distribution rows under a large run's WAL table: name, then the percentile (None: the mean).
_DISTRIBUTION = (("min", 0), ("5%", 5), ("25%", 25), ("median", 50), ("75%", 75), ("95%", 95),
                 ("max", 100), ("mean", None))


def wal_columns(results: Results) -> dict[str, np.ndarray]:
    """The WAL per scenario of the collateral and each offered class, as the cover table shows it
    (a notional class's notional WAL), by column title."""
    from .analysis.plan import notional_wal

    notional = notional_wal(results)
    columns = {"Collateral": results.wal(COLLATERAL)}
    for tranche in results.deal.issued_classes:
        if not tranche.is_residual:
            columns[tranche.name] = notional.get(tranche.name, results.wal(tranche.name))
    return columns


def _print_wal_table(console: Console, results: Results, listed: int) -> None:
    """The WALs of the first `listed` scenarios, a row each, then their distribution over every
    scenario (and the scenario at each extreme); then a line on what was left out."""
    import numpy as np
    from rich.table import Table  # late: only the printing commands draw tables

    count = len(results.scenario_specs)
    columns = wal_columns(results)
    classes = [c for c in columns if c != "Collateral"]
    shown = ["Collateral", *classes[:WAL_COLUMNS]]
    labels = results.scenarios
    table = Table(title=f"WAL (years) by scenario: the first {listed} of {count:,} scenarios, "
                        f"then all {count:,}", title_justify="left", header_style="bold")
    table.add_column("Scenario", justify="left")
    for name in shown:
        table.add_column(_escape(name), justify="right")

    def years(value: float) -> str:
        return "-" if not np.isfinite(value) else f"{value:.2f}"

    for s in range(min(listed, count)):
        table.add_row(_escape(labels[s]), *[years(columns[c][s]) for c in shown])
    table.add_section()
    for title, q in _DISTRIBUTION:
        cells = []
        for name in shown:
            wal = columns[name][np.isfinite(columns[name])]
            figure = np.nan if not len(wal) else float(np.mean(wal) if q is None else np.percentile(wal, q))
            cells.append(years(figure))
        table.add_row(title, *cells)
    for title, pick in (("at min", np.nanargmin), ("at max", np.nanargmax)):
        cells = []
        for name in shown:
            finite = np.isfinite(columns[name])
            cells.append(_escape(labels[int(pick(columns[name]))]) if finite.any() else "-")
        table.add_row(title, *cells)
    _print_table(console, table)
    more = len(classes) - (len(shown) - 1)
    console.print(f"left out: the cover tables of the other {count - 1:,} scenarios (a run of more than "
                  f"{listed} shows one)" + (f" and the WALs of {more} more classes" if more > 0 else ""),
                  markup=False)
    console.print("every scenario's figures: --json; every cash flow: --cashflows PATH; a workbook: "
                  "--xlsx PATH", markup=False)


def _print_table(console: Console, table: Table) -> None:
    """A table under its title; rich pads a table's title to the table's width, and a terminal
    line should not end in spaces (they show when copied, and break diffs of the output)."""
    title, table.title = table.title, None
    if title is not None:
        console.print(title, style="table.title")
    console.print(table)


def _cell(value: object) -> str:
    """A price/yield table cell: yields to 3 decimals, WAL and duration to 2, text as it is."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _stdout() -> Console:
    """The terminal, or a wide page when the output goes to a file or a pipe."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=140)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# ---- structure solve / structure tieout


def _solve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deal", help="the deal file (*.waterfall)")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--size", metavar="A,B", help="split A and B's combined balance for A's --wal")
    goal.add_argument("--max-pac", metavar="P|LOW,HIGH",
                      help="the largest balance P's band (or a band of two PSA speeds) supports")
    goal.add_argument("--par-coupon", metavar="CLASS", help="the coupon that prices CLASS at par at --spread")
    goal.add_argument("--effective-band", metavar="P",
                      help="the band P's schedule still holds --after periods --at a speed")
    goal.add_argument("--break", dest="break_class", metavar="CLASS",
                      help="the default rate at which CLASS takes its first dollar of loss (or, with "
                           "--criterion yield, its yield at par falls to 0)")
    goal.add_argument("--subordination", metavar="CLASS",
                      help="the least subordination (classes below CLASS in the loss order, as a share "
                           "of the collateral) at which CLASS takes no loss under --stress (or, with "
                           "--criterion yield, keeps a yield at par above 0)")
    p.add_argument("--wal", type=_finite("YEARS"), metavar="YEARS", help="target WAL for --size")
    p.add_argument("--spread", type=_finite("BP"), metavar="BP",
                   help="spread to the curve at the WAL, for --par-coupon")
    p.add_argument("--curve", metavar="FILE", help="a curve CSV (tenor,yield) for --par-coupon")
    p.add_argument("--after", type=int, metavar="PERIODS", help="periods run before the band is measured")
    p.add_argument("--at", type=_one_speed, metavar="PSA", help="the PSA speed of those periods")
    p.add_argument("--psa", type=_one_speed, metavar="PSA",
                   help="the speed for --size, --par-coupon and --break (default: the deal's pricing speed)")
    p.add_argument("--json", action="store_true", help="print the solver's answer as JSON")
    p.add_argument("--stress", metavar="SCENARIO",
                   help="the stress for --subordination: one of the deal's scenarios by name, or "
                        "'300 PSA 600 SDA severity 40%% lag 12'")
    brk = p.add_argument_group("--break: the default assumption searched (default: the pricing scenario's)")
    brk.add_argument("--unit", choices=("SDA", "CDR"), default="SDA", help="the rate searched (default SDA)")
    brk.add_argument("--criterion", choices=("loss", "yield"), default="loss",
                     help="the first dollar of loss (default) or a zero yield at par")
    _loss_terms(brk, defaults=False)
    p.set_defaults(handler=_solve)


def _speed_arguments(speeds: argparse._ArgumentGroup, whose: str) -> None:
    """--psa, --cpr, --smm and --scenario, for a run and for a grid (`whose`: whose scenarios block)."""
    speeds.add_argument("--psa", type=_speed_list("PSA"), action="append", default=[],
                        metavar="LIST", help="PSA speeds, e.g. 165 or 0,100,165,300,500; a grid "
                                             "START..STOP/STEP: 0..1000/0.01 (also in --cpr and --smm)")
    speeds.add_argument("--cpr", type=_speed_list("CPR"), action="append", default=[],
                        metavar="LIST", help="CPR speeds in percent, e.g. 6 or 6,12,20")
    speeds.add_argument("--smm", type=_speed_list("SMM"), action="append", default=[],
                        metavar="LIST", help="SMM speeds in percent, e.g. 0.5")
    speeds.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help=f"a scenario named in {whose} scenarios block")


def _default_rate_arguments(credit: argparse._ArgumentGroup) -> None:
    """--cdr and --sda: the default rates of a grid, for a run and for a grid."""
    credit.add_argument("--cdr", type=_default_rate_list("CDR"), action="append", default=[], metavar="LIST",
                        help="constant default rates in CDR: 0,1,2 or 0..10/2")
    credit.add_argument("--sda", type=_default_rate_list("SDA"), action="append", default=[], metavar="LIST",
                        help="multiples of the SDA default curve: 0,100,200")


def _loss_terms(group: argparse._ArgumentGroup, defaults: bool) -> None:
    """--severity, --lag and --advance: the terms of a default assumption, for a run's grid and
    for the credit solvers (`defaults`: say the values taken when the flag is left out)."""
    def note(text: str) -> str:
        return f" (default {text})" if defaults else ""

    group.add_argument("--severity", type=_argument(parse_severity, "severity"), metavar="PCT",
                       help="loss severity in percent of the defaulted balance" + note("0"))
    group.add_argument("--lag", type=_argument(parse_lag, "lag"), metavar="N",
                       help="months from default to liquidation" + note("0"))
    group.add_argument("--advance", type=_argument(parse_advancing, "advance"), metavar="on|off",
                       help="whether the servicer advances delinquent principal and interest" + note("on"))


def _plain(value: object) -> object:
    """A solver's figure as JSON data: numbers as floats (NaN and infinities as null), tuples and
    arrays as lists, anything else as its text."""
    import numpy as np  # late: the command line starts without numpy

    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def solve_json(result: Any, ns: argparse.Namespace, deal: Deal) -> dict[str, Any]:
    """`structure solve --json`: every field of the solver's SolveResult (structuring/solve.py),
    which solver ran and on what, and the solved deal's class balances and coupons where the
    solver rebuilt the deal."""
    solver = ("size" if ns.size else "max_pac" if ns.max_pac else "par_coupon" if ns.par_coupon
              else "break" if getattr(ns, "break_class", None)
              else "subordination" if getattr(ns, "subordination", None) else "effective_band")
    out: dict[str, Any] = {"deal": deal.name, "deal_file": ns.deal, "solver": solver}
    for key in ("goal", "variable", "value", "achieved", "target", "error", "iterations", "converged",
                "message", "details"):
        out[key] = _plain(getattr(result, key))
    solved = getattr(result, "deal", None)
    if solved is not None:
        out["classes"] = {c.name: {"balance": _plain(c.balance), "coupon": _plain(c.coupon)}
                          for c in solved.classes if not c.is_residual}
    return out


def _tieout_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deal", help="the deal file (*.waterfall)")
    p.add_argument("--psa", type=_speed_list("PSA"), action="append", default=[], metavar="LIST",
                   help="PSA speeds (default: the deal's pricing and decrement speeds); "
                        "0 PSA, 5000 PSA and 100 CPR are always run")
    p.set_defaults(handler=_tieout)


def _finite(what: str):
    """An argparse type: a finite number (nan and inf are not a WAL or a spread)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(value) or abs(value) > 1e9:
            raise argparse.ArgumentTypeError(f"'{text}' is not a usable number of {what}")
        return value

    parse.__name__ = what
    return parse


def _tieout(ns: argparse.Namespace, err: Console) -> int:
    from rich.table import Table  # late: only the printing commands draw tables

    from .structuring import tieout

    console = _stdout()
    speeds = [s for group in ns.psa for s in group] or None
    result = tieout.tieout(load(ns.deal), speeds)
    table = Table(title=f"{_escape(result.deal)}: tie-out", title_justify="left", header_style="bold")
    for col in ("Check", "Result", "Detail"):
        table.add_column(col)
    for c in result.checks:
        table.add_row(_escape(c.name), "[green]pass[/green]" if c.passed else "[red]FAIL[/red]",
                      _escape(c.detail))
    _print_table(console, table)
    console.print(f"{len(result.checks) - len(result.failures)} of {len(result.checks)} checks pass "
                  f"over {', '.join(result.scenarios)}", markup=False)
    return EXIT_OK if result.passed else EXIT_BAD_INPUT


def _solve(ns: argparse.Namespace, err: Console) -> int:
    from rich.table import Table  # late: only the printing commands draw tables

    from .structuring import solve

    console = _stdout()
    speed = Prepayment.constant(ns.psa, "PSA") if ns.psa is not None else None
    deal = load(ns.deal)
    if ns.size:
        names = [n.strip() for n in ns.size.split(",")]
        if len(names) != 2 or not all(names) or ns.wal is None:
            raise _UsageError("--size takes two classes, like --size A,B, and needs --wal YEARS")
        result = solve.size_for_wal(deal, names[0], names[1], ns.wal, speed)
    elif ns.max_pac:
        names = [c.name for c in deal.classes]
        if "," not in ns.max_pac and ns.max_pac not in names:
            hint = did_you_mean(ns.max_pac, names)
            raise _UsageError(f"--max-pac: deal \"{deal.name}\" has no class '{ns.max_pac}'"
                              + (f"; {hint}" if hint else "") + " (or give a band: LOW,HIGH in PSA)")
        if ns.max_pac in names:
            result = solve.max_pac_balance(deal, ns.max_pac)
        else:
            result = solve.max_pac_balance(deal, band=ns.max_pac)
    elif ns.par_coupon:
        if ns.spread is None:
            raise _UsageError("--par-coupon needs --spread BP")
        curve = read_curve_csv(Path(ns.curve)) if ns.curve else None
        result = solve.par_coupon(deal, ns.par_coupon, ns.spread, curve, speed)
    elif ns.break_class:
        from .structuring.credit import break_default

        if ns.break_class not in [c.name for c in deal.classes]:
            hint = did_you_mean(ns.break_class, [c.name for c in deal.classes])
            raise _UsageError(f"--break: deal \"{deal.name}\" has no class '{ns.break_class}'"
                              + (f"; {hint}" if hint else ""))
        constant = ns.severity is not None and ns.severity.kind == "constant"
        severity = ns.severity.values[0] if constant else None
        if ns.severity is not None and severity is None:
            raise _UsageError("--severity: a break rate is searched at one constant severity")
        result = break_default(deal, ns.break_class, ns.unit, speed, severity, ns.lag, ns.advance,
                               ns.criterion)
    elif ns.subordination:
        from .structuring.credit import subordination

        if ns.subordination not in [c.name for c in deal.classes]:
            hint = did_you_mean(ns.subordination, [c.name for c in deal.classes])
            raise _UsageError(f"--subordination: deal \"{deal.name}\" has no class '{ns.subordination}'"
                              + (f"; {hint}" if hint else ""))
        if not ns.stress:
            raise _UsageError("--subordination needs --stress: a scenario of the deal's by name, or "
                              "'300 PSA 600 SDA severity 40% lag 12'")
        result = subordination(deal, ns.subordination, ns.stress, ns.criterion)
    else:
        if ns.after is None or ns.at is None:
            raise _UsageError("--effective-band needs --after PERIODS and --at PSA")
        result = solve.effective_band(deal, ns.effective_band, ns.after, ns.at)
    if ns.json:
        sys.stdout.write(json.dumps(solve_json(result, ns, deal), indent=2) + "\n")
        return EXIT_OK
    table = Table(title=_escape(result.goal), title_justify="left", header_style="bold", show_header=False)
    table.add_column("", justify="left")
    table.add_column("", justify="right")
    for label, value in result.lines():
        table.add_row(_escape(label), _escape(value))
    _print_table(console, table)
    console.print(result.message, markup=False)
    return EXIT_OK




# ---- statements, factor files and holder ledgers (results/statements.py, results/holdings.py)

def _holder_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distribution statements and holders (the run's first scenario: the "
                             "pricing speed by default)")
    g.add_argument("--statement", metavar="PATH",
                   help="write each class's distribution statement: .csv, .json or .html (printable)")
    g.add_argument("--period", type=int, metavar="N", help="only period N in --statement and --ledger")
    g.add_argument("--factors", metavar="PATH", help="write the factor file of every class: .csv or .json")
    g.add_argument("--holders", metavar="CSV",
                   help="a holder register: columns holder,units (and optionally class, record_date)")
    g.add_argument("--class", dest="holder_class", metavar="NAME", help="the class --holders holds")
    g.add_argument("--units", type=int, metavar="N", help="the number of units the class is divided into")
    g.add_argument("--denomination", type=_finite("AMOUNT"), metavar="AMOUNT",
                   help="or: the face of one unit (it must divide the class's face exactly)")
    g.add_argument("--decimals", type=int, default=2, metavar="D",
                   help="decimals of the payment currency's smallest unit (2: cents; a token's, up to 18)")
    g.add_argument("--ledger", metavar="PATH", help="write each holder's distributions: .csv or .json")


def _check_holder_options(ns: argparse.Namespace) -> None:
    """Usage errors (exit 2) before anything runs."""
    from .present.statements import DATA_SUFFIXES, STATEMENT_SUFFIXES

    for option, text, allowed in (("--statement", ns.statement, STATEMENT_SUFFIXES),
                                  ("--factors", ns.factors, DATA_SUFFIXES),
                                  ("--ledger", ns.ledger, DATA_SUFFIXES)):
        if text is not None and Path(text).suffix.lower() not in allowed:
            raise _UsageError(f"{option} writes {', '.join(allowed)} files (chosen by the extension)")
    holder_options = [o for o, v in (("--class", ns.holder_class), ("--units", ns.units),
                                     ("--denomination", ns.denomination), ("--ledger", ns.ledger))
                      if v is not None]
    if ns.holders is None and holder_options:
        raise _UsageError(f"{', '.join(holder_options)} go{'es' if len(holder_options) == 1 else ''} with "
                          "--holders REGISTER.csv")
    if ns.holders is not None:
        missing = [o for o, v in (("--class", ns.holder_class), ("--ledger", ns.ledger)) if v is None]
        if missing:
            raise _UsageError(f"--holders needs {' and '.join(missing)}")
        if (ns.units is None) == (ns.denomination is None):
            raise _UsageError("--holders needs the class's --units or its --denomination (one of them)")
    if not 0 <= ns.decimals <= 18:
        raise _UsageError(f"--decimals is 0 to 18 (it was {ns.decimals})")
    if ns.period is not None and ns.statement is None and ns.ledger is None:
        raise _UsageError("--period picks the month of --statement or --ledger; add one of them")
    if ns.summary is not None and (ns.statement or ns.factors or ns.holders):
        raise _UsageError("--summary keeps no cash flows; run --statement, --factors and --holders "
                          "separately")


def _write_holder_outputs(ns: argparse.Namespace, results: Results, inputs: list[Path]) -> list[str]:
    """Write --statement, --factors and --ledger; the messages saying so, for after the summary."""
    if ns.statement is None and ns.factors is None and ns.holders is None:
        return []
    from .present import statements as writers
    from .results import holdings, statements

    written = []
    for option, text in (("--statement", ns.statement), ("--factors", ns.factors), ("--ledger", ns.ledger)):
        _output_path(option, text, inputs + ([Path(ns.holders)] if ns.holders else []))
    if ns.statement:
        writers.write_statement(statements.statement(results, period=ns.period), ns.statement)
        written.append(f"statement written to {ns.statement}")
    if ns.factors:
        writers.write_factors(statements.factors(results), ns.factors, results.deal.name,
                              results.scenarios[statements.statement_scenario(results, None)])
        written.append(f"factors written to {ns.factors}")
    if ns.holders:
        results.deal.tranche(ns.holder_class)  # an unknown class is named before the register is read
        units = holdings.units_for(results, ns.holder_class, ns.units, ns.denomination)
        register = holdings.read_register(ns.holders, ns.holder_class, units)
        ledger = holdings.ledger(results, register, ns.decimals, period=ns.period)
        writers.write_ledger(ledger, ns.ledger)
        written.append(f"ledger written to {ns.ledger}")
    return written


# ---- speed conversions (model/speeds.py)

def _convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("speed", nargs="+", metavar="SPEED",
                   help="a speed and its unit: 6 CPR, 165 PSA, 0.5 SMM, 1.5 ABS")
    p.add_argument("--age", type=int, metavar="MONTHS", help="the loan-age month (PSA and ABS need it)")
    p.add_argument("--json", action="store_true", help="print the speeds as JSON")
    p.set_defaults(handler=_convert)


def _convert(ns: argparse.Namespace, err: Console) -> int:
    from .model import speeds

    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-z]+)\s*", " ".join(ns.speed))
    if m is None:
        raise _UsageError(f"'{' '.join(ns.speed)}' is not a speed; write it like 6 CPR or 165 PSA")
    try:
        value = float(m.group(1))
    except ValueError:
        raise _UsageError(f"'{m.group(1)}' is not a number") from None
    if m.group(2).upper() in ("PSA", "ABS") and ns.age is None:
        raise _UsageError(f"{m.group(2).upper()} speeds depend on the loan's age: add --age MONTHS")
    result = speeds.convert(value, m.group(2), ns.age)
    if ns.json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
        return EXIT_OK
    lines = [f"age  {result.age}" if result.age is not None else "age  none given (PSA and ABS need one)"]
    for unit, figure in list(result.as_dict().items())[1:]:
        lines.append(f"{unit:<4} {'-' if figure is None else f'{figure:.8f}'}")
    _stdout().print("\n".join(lines), markup=False)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
