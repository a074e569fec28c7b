"""Report charts as inline SVG (matplotlib, no network, text kept as text).

Each function takes figures the engine and analytics computed and draws them; none computes
a figure of its own beyond summing classes for a stacked area.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")  # no display: charts are files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..model.deal import Deal  # noqa: E402
from ..results.results import Results  # noqa: E402

plt.rcParams.update({
    "svg.fonttype": "none",  # text stays text: smaller files, searchable, prints crisply
    "text.parse_math": False,  # a '$' in a deal or scenario name is a dollar sign, not TeX
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 96,
})
_PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021",
            "#00808c", "#7f6000", "#595959"]
_SIZE = (7.2, 3.0)


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def _millions(ax: plt.Axes) -> None:
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1e6:,.0f}"))
    ax.set_ylabel("$ millions")


def principal_classes(results: Results) -> list:
    """The classes the charts draw: every issued class with principal (no residual, no notional)."""
    return [c for c in results.deal.issued_classes if not (c.is_residual or c.is_notional)]


# A chart draws one series per class up to this many (one colour each, one legend entry each);
# a deal with more classes gets its classes grouped (stacked charts) or its lines drawn as one
# image under text axes (the WAL chart), which keeps the page small and the chart legible.
MANY_SERIES = len(_PALETTE)


def class_groups(names: list[str], groups: int = MANY_SERIES) -> list[tuple[str, list[int]]]:
    """Consecutive classes (in the deal's order) in at most `groups` groups of nearly equal size,
    each labelled by its first and last class and its count: ('A000-A029 (30)', [0, ..., 29])."""
    if len(names) <= groups:
        return [(name, [k]) for k, name in enumerate(names)]
    out = []
    for part in np.array_split(np.arange(len(names)), groups):
        idx = [int(k) for k in part]
        out.append((f"{names[idx[0]]}\u2013{names[idx[-1]]} ({len(idx)})", idx))
    return out


def _stacked(results: Results, scenario: int, key: str, title: str, unit: str, fmt: str) -> str:
    """One series per principal class, stacked, against years from settlement; past MANY_SERIES
    classes, one series per group of consecutive classes (their sum)."""
    classes = principal_classes(results)
    years = np.arange(1, results.periods + 1) / 12.0
    values = [results.arrays(c.name)[key][scenario] for c in classes]
    groups = class_groups([c.name for c in classes])
    series = [np.sum([values[k] for k in idx], axis=0) for _, idx in groups]
    fig, ax = plt.subplots(figsize=_SIZE)
    areas = ax.stackplot(years, series, labels=[label for label, _ in groups], colors=_PALETTE, alpha=0.85)
    if len(classes) > MANY_SERIES:
        for area in areas:  # the areas as one image; axes, ticks and text stay text
            area.set_rasterized(True)
    ax.set_xlabel("years from settlement")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt.format(v / 1e6)))
    ax.set_ylabel(unit)
    ax.set_title(f"{title}, {results.scenarios[scenario]}", loc="left")
    ax.legend(loc="upper right", ncols=min(len(groups), 6 if len(classes) <= MANY_SERIES else 2),
              frameon=False, fontsize=None if len(classes) <= MANY_SERIES else 7)
    return _svg(fig)


def class_balances(results: Results, scenario: int = 0) -> str:
    """Class balances over time, stacked: how the collateral balance is carved up."""
    return _stacked(results, scenario, "ending_balance", "Class balances", "$ millions", "{:,.0f}")


def principal_by_class(results: Results, scenario: int = 0) -> str:
    """Principal paid each period to each class, stacked."""
    return _stacked(results, scenario, "principal", "Principal paid by class", "$ millions a month",
                    "{:,.1f}")


def schedule_vs_band(deal: Deal, band_run: Results, name: str) -> str:
    """A scheduled class's balance at its band speeds (and any others in the run) against its
    schedule, with the support classes' balance beneath at each speed."""
    tranche = deal.tranche(name)
    schedule = deal.schedules[tranche.index]
    years = np.arange(1, band_run.periods + 1) / 12.0
    supports = [c for c in deal.issued_classes if c.is_support]
    fig, ax = plt.subplots(figsize=_SIZE)
    ax.plot(years, schedule, color="black", lw=2.2, label=f"{name} schedule")
    for s, label in enumerate(band_run.scenarios):
        color = _PALETTE[(s + 1) % len(_PALETTE)]
        ax.plot(years, band_run.arrays(name)["ending_balance"][s], color=color, lw=1.2, ls="--",
                label=f"{name} at {label}")
        if supports:
            support = sum(band_run.arrays(c.name)["ending_balance"][s] for c in supports)
            ax.plot(years, support, color=color, lw=1.0, alpha=0.6, label=f"support at {label}")
    ax.set_xlabel("years from settlement")
    _millions(ax)
    ax.set_title(f"{name}: schedule against the band", loc="left")
    ax.legend(loc="upper right", frameon=False, fontsize=7)
    return _svg(fig)


def speed_axis(results: Results) -> tuple[np.ndarray, str | None]:
    """Where each scenario sits on the WAL chart's x axis: at its speed when every scenario is a
    different constant speed in one unit (0, 90, 165, 300, 500 PSA placed proportionally, so a
    PAC's flat stretch across its band shows as wide as it is), with that unit; else evenly,
    in run order, with None (ramps, vectors or mixed units have no one number to place)."""
    specs = [spec.prepayment for spec in results.scenario_specs]
    units = {p.unit for p in specs}
    if len(units) == 1 and all(p.kind == "constant" for p in specs):
        x = np.array([p.values[0] for p in specs], dtype=float)
        if len(np.unique(x)) == len(x):
            return x, units.pop()
    return np.arange(len(specs), dtype=float), None


def wal_by_speed(results: Results) -> str:
    """Each class's WAL across the run's speeds: how it shortens and extends."""
    classes = principal_classes(results)
    x, unit = speed_axis(results)
    order = np.argsort(x, kind="stable")
    fig, ax = plt.subplots(figsize=_SIZE)
    if len(classes) <= MANY_SERIES:
        for k, c in enumerate(classes):
            ax.plot(x[order], results.wal(c.name)[order], marker="o", lw=1.4,
                    color=_PALETTE[k % len(_PALETTE)], label=c.name)
        ax.legend(loc="upper right", ncols=min(len(classes), 6), frameon=False)
    else:
        # Hundreds of lines: shaded from the first class to the last, drawn as one image (the
        # axes, ticks and text stay text); the legend names the first and the last class.
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        shades = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, len(classes)))
        lines = [np.column_stack([x[order], results.wal(c.name)[order]]) for c in classes]
        ax.add_collection(LineCollection(lines, colors=shades, linewidths=0.8, rasterized=True))
        ax.autoscale_view()
        ends = [Line2D([], [], color=shades[k], lw=1.4, label=classes[k].name) for k in (0, -1)]
        ax.legend(handles=ends, loc="upper right", frameon=False, fontsize=7,
                  title=f"{len(classes)} classes, shaded in order", title_fontsize=7)
    ax.set_xticks(x, results.scenarios, rotation=0)
    if unit is not None:
        ax.set_xlabel(f"speed ({unit}, to scale)")
    ax.set_ylabel("WAL (years)")
    ax.set_title("WAL across speeds", loc="left")
    return _svg(fig)
