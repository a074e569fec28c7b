"""`structure`: the command line over load -> run -> results -> report.

    structure deal.waterfall [--psa 0,100,165] [--cpr 6] [--smm 0.5] [--scenario NAME]
                             [--report PATH | --no-report] [--cashflows PATH] [--json]
    structure check deal.waterfall

Exit codes: 0 ok, 1 a bad deal or input file, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import __version__, load
from .errors import DealError, DealErrors, InputError
from .model import Deal
from .prepayment import Prepayment, validate_speed
from .results import COLLATERAL, Results
from .scenarios import RatePath, Scenario

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


def _speed_list(unit: str):
    def parse(text: str) -> list[Prepayment]:
        speeds = []
        for item in text.split(","):
            item = item.strip()
            try:
                value = float(item)
                validate_speed(value, unit)
            except (ValueError, InputError) as exc:
                detail = str(exc) if isinstance(exc, InputError) else f"'{item}' is not a number"
                raise argparse.ArgumentTypeError(detail) from None
            speeds.append(Prepayment.constant(value, unit))
        return speeds

    parse.__name__ = f"{unit} speeds"
    return parse


def _index_levels(text: str) -> tuple[str, list[RatePath]]:
    name, sep, levels = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=LEVELS, e.g. SOFR=4.3%")
    paths = []
    for item in levels.split(","):
        item = item.strip().removesuffix("%")
        try:
            paths.append(RatePath.level(float(item) / 100.0))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{item}' is not a rate in percent") from None
    return name.strip(), paths


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="structure",
        description="Run a CMO/REMIC deal file: cash flows, WAL, windows, decrement tables, report.",
        epilog="'structure check DEAL' parses and checks a deal without running it.",
    )
    p.add_argument("deal", help="the deal file (*.waterfall)")
    speeds = p.add_argument_group("prepayment speeds (default: the deal's pricing speed)")
    speeds.add_argument("--psa", type=_speed_list("PSA"), action="append", default=[],
                        metavar="LIST", help="PSA speeds, e.g. 165 or 0,100,165,300,500")
    speeds.add_argument("--cpr", type=_speed_list("CPR"), action="append", default=[],
                        metavar="LIST", help="CPR speeds in percent, e.g. 6 or 6,12,20")
    speeds.add_argument("--smm", type=_speed_list("SMM"), action="append", default=[],
                        metavar="LIST", help="SMM speeds in percent, e.g. 0.5")
    speeds.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help="a scenario named in the deal's scenarios block")
    speeds.add_argument("--index", type=_index_levels, action="append", default=[],
                        metavar="NAME=LEVELS",
                        help="index levels for floaters, e.g. SOFR=4.3%% or SOFR=2%%,4%%,6%% "
                             "(every speed is run at every level)")
    out = p.add_argument_group("outputs")
    out.add_argument("--report", metavar="PATH",
                     help="where to write the HTML report (default: next to the deal)")
    out.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    out.add_argument("--cashflows", metavar="PATH",
                     help="write every cash flow in long form (.csv, or .parquet)")
    out.add_argument("--json", action="store_true",
                     help="print a JSON summary instead of the table")
    p.add_argument("--version", action="version", version=f"structurer {__version__}")
    return p


def _check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="structure check",
                                description="Parse and check a deal file without running it.")
    p.add_argument("deal", help="the deal file (*.waterfall)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args and args[0] == "check":
            return _check(_check_parser().parse_args(args[1:]), err)
        if args and args[0] == "run":
            args = args[1:]
        return _run(_parser().parse_args(args), err)
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


def _check(ns: argparse.Namespace, err: Console) -> int:
    deal = load(ns.deal)
    _stdout().print(
        f"{ns.deal}: deal \"{deal.name}\" checks: {len(deal.pools)} pool(s), "
        f"{len(deal.issued_classes)} classes, collateral {deal.collateral_balance:,.0f}", markup=False)
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
        if index not in deal.index_names:
            floats = ", ".join(deal.index_names) or "no index"
            raise _UsageError(f"no class of deal \"{deal.name}\" floats on {index} (they follow {floats})")
        scenarios = [
            Scenario(s.prepayment, tuple((k, v) for k, v in s.indices if k != index) + ((index, level),))
            for s in scenarios for level in levels
        ]
    return scenarios


def _run(ns: argparse.Namespace, err: Console) -> int:
    if ns.report and ns.no_report:
        raise _UsageError("--report and --no-report contradict each other")
    if ns.cashflows and Path(ns.cashflows).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise _UsageError("--cashflows writes .csv or .parquet files")
    deal = load(ns.deal)
    results = deal.run(*_requested_scenarios(ns, deal))

    if ns.cashflows:
        _write_cashflows(results, Path(ns.cashflows))
    report_path = None
    if not ns.no_report:
        report_path = Path(ns.report) if ns.report else Path(ns.deal).with_suffix(".html")
        _write_report(deal, results, report_path)

    if ns.json:
        sys.stdout.write(json.dumps(results.to_dict(), indent=2) + "\n")
    else:
        _print_summary(_stdout(), results)
    if ns.cashflows:
        err.print(f"cash flows written to {ns.cashflows}", markup=False)
    if report_path is not None:
        err.print(f"report written to {report_path}", markup=False)
    return EXIT_OK


def _write_cashflows(results: Results, path: Path) -> None:
    frame = results.cashflows()
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                frame.to_parquet(path, index=False)
            except ImportError:
                raise InputError("writing Parquet needs pyarrow: pip install 'structurer[parquet]'") from None
        else:
            frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    except OSError as exc:
        raise InputError(f"cannot write the cash flows to {path}: {exc.strerror or exc}") from None


def _write_report(deal: Deal, results: Results, path: Path) -> None:
    from .report import write_report

    decrement = deal.run(*deal.decrement) if deal.decrement else None
    try:
        write_report(results, path, decrement=decrement)
    except OSError as exc:
        raise InputError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _print_summary(console: Console, results: Results) -> None:
    deal = results.deal
    console.print(f"[bold]{_escape(deal.name)}[/bold]  settle {deal.settle.isoformat()}  "
                  f"first payment {deal.first_payment.isoformat()}  delay {deal.delay_days} days  "
                  f"collateral {deal.collateral_balance:,.0f}")
    coll_wal = results.wal(COLLATERAL)
    for s, spec in enumerate(results.scenario_specs):
        label = spec.label if spec.name is None else f"{spec.name}: {spec.description}"
        table = Table(title=f"{_escape(label)}  (collateral WAL {coll_wal[s]:.2f} years)",
                      title_justify="left", header_style="bold")
        for col, justify in (("Class", "left"), ("Principal", "left"), ("Interest", "left"),
                             ("Balance", "right"), ("Coupon", "right"), ("WAL", "right"),
                             ("Window", "right"), ("Window dates", "left"), ("Final date", "left")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
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
            table.add_row(
                _escape(str(name)),
                "R" if residual else row["principal_type"],
                "R" if residual else row["interest_type"],
                "-" if residual else balance,
                "-" if residual else coupon,
                "-" if residual or row["wal"] != row["wal"] else f"{row['wal']:.2f}",
                window,
                dates,
                row["final_date"].isoformat() if row["final_date"] else "-",
            )
        console.print(table)


def _stdout() -> Console:
    """The terminal, or a wide page when the output goes to a file or a pipe."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=140)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
