"""A par yield curve given to the deal (its analytics block, or a CSV): the term structure
spreads are measured against."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..inputs import parse_cell_number, read_rows


@dataclass(frozen=True)
class Curve:
    """A par yield curve: BEY (decimal) at tenors (years), linear between points, flat beyond."""

    name: str
    tenors: tuple[float, ...]
    yields: tuple[float, ...]

    def par(self, years: np.ndarray | float) -> np.ndarray:
        return np.interp(years, self.tenors, self.yields)

    def spot(self, years: np.ndarray | float) -> np.ndarray:
        """Semiannual spot rates bootstrapped from the par curve at half-year steps, then linear."""
        grid, spots = self._spots()
        return np.interp(years, grid, spots)

    def _spots(self) -> tuple[np.ndarray, np.ndarray]:
        horizon = max(max(self.tenors), 0.5)
        grid = np.arange(1, int(np.ceil(horizon * 2)) + 1) / 2.0
        par = self.par(grid)
        spots = np.empty_like(par)
        disc = np.empty_like(par)
        for i, (t, c) in enumerate(zip(grid, par, strict=True)):
            coupon = c / 2.0
            annuity = disc[:i].sum()
            disc[i] = (1.0 - coupon * annuity) / (1.0 + coupon)
            spots[i] = 2.0 * (disc[i] ** (-1.0 / (2.0 * t)) - 1.0)
        return grid, spots


def read_curve_csv(path: Path) -> Curve:
    """A curve from a CSV file with the header 'tenor,yield' (years, percent); errors name the
    row and the column, and the points are checked as an in-deal curve's are (make_curve)."""
    rows = read_rows(path, ("tenor", "yield"), "curve", " (years, percent)")
    tenors: list[float] = []
    yields: list[float] = []
    for row_no, row in rows:
        cells = row[:2] + [""] * (2 - len(row[:2]))
        tenors.append(parse_cell_number(cells[0], f"{path}, row {row_no}, column 'tenor'"))
        yields.append(parse_cell_number(cells[1], f"{path}, row {row_no}, column 'yield'") / 100.0)
    return make_curve(path.stem, tenors, yields)


# Tenors beyond this are not Treasury points (the longest is 30 years); a huge one would make the
# bootstrap grid huge.
MAX_TENOR = 100.0


def make_curve(name: str, tenors: list[float], yields: list[float]) -> Curve:
    """A Curve, if its tenors are positive and increasing and its yields (decimals) are rates
    from 0 to 100%: the one validation for curves in a deal and in CSV files."""
    if not tenors or tenors[0] <= 0 or any(b <= a for a, b in zip(tenors, tenors[1:], strict=False)):
        raise InputError(f"curve \"{name}\" needs points at increasing positive tenors (years)")
    for tenor, value in zip(tenors, yields, strict=True):
        if not math.isfinite(tenor) or tenor > MAX_TENOR:
            raise InputError(f"curve \"{name}\": a tenor of {tenor:g} years is beyond any curve "
                             f"(at most {MAX_TENOR:g})")
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise InputError(f"curve \"{name}\": the yield at tenor {tenor:g} ({value * 100:g}%) must be "
                             "a rate from 0% to 100%")
    return Curve(name, tuple(tenors), tuple(yields))
