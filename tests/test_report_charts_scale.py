"""Charts that do not mislead: WAL across speeds places each speed at its value (0, 90, 165,
300, 500 PSA proportionally), and the report shows months as whole months."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import structurer
from structurer.present.charts import speed_axis, wal_by_speed
from structurer.present.report import render_report

DEALS = Path(__file__).resolve().parent.parent / "deals"


def _xtick_positions(svg: str) -> list[float]:
    """The x of each x-axis tick mark in matplotlib's SVG, in tick order."""
    out = []
    for n in range(1, 100):
        start = svg.find(f'id="xtick_{n}"')
        if start < 0:
            break
        out.append(float(re.search(r'<use [^>]*x="([-\d.]+)"', svg[start:]).group(1)))
    return out


def test_speeds_sit_at_their_values() -> None:
    deal = structurer.load(DEALS / "pac.waterfall")
    run = deal.run(*deal.decrement)
    x, unit = speed_axis(run)
    assert unit == "PSA" and list(x) == [0, 90, 165, 300, 500]
    ticks = np.array(_xtick_positions(wal_by_speed(run)))
    assert len(ticks) == 5
    # Proportional: the gaps between ticks are in the ratio of the gaps between speeds.
    assert np.allclose(np.diff(ticks) / (ticks[-1] - ticks[0]), np.diff(x) / 500, atol=1e-3)


def test_speeds_with_no_one_scale_are_spaced_evenly() -> None:
    deal = structurer.load(DEALS / "pac.waterfall")
    run = deal.run("100 PSA", "6 CPR", "300 PSA")
    x, unit = speed_axis(run)
    assert unit is None and list(x) == [0, 1, 2]
    ticks = np.array(_xtick_positions(wal_by_speed(run)))
    assert np.allclose(np.diff(ticks), np.diff(ticks)[0], atol=1e-3)


def test_months_are_whole_months() -> None:
    deal = structurer.load(DEALS / "pac.waterfall")
    html = render_report(deal.run(deal.pricing))
    assert "<dt>WAM (months)</dt><dd>357</dd>" in html
    assert "<dt>WALA (months)</dt><dd>3</dd>" in html
    assert "<dt>Original term (months)</dt><dd>360</dd>" in html
    assert not re.search(r"\(months\)</dt><dd>\d+\.\d", html)
