"""Write the golden files for the example deals: tests/golden/<deal stem>.json.

    python tests/golden/regenerate.py            # every deal in deals/
    python tests/golden/regenerate.py sequential # just deals/sequential.waterfall

Each file holds what a run of the deal at its decrement speeds (its pricing speed if it has
none) produces: Results.to_dict() and the formatted decrement table of every class; for a deal
whose scenarios carry default assumptions, also the to_dict() of a run of those scenarios; for a
deal with `oas` prices, its OAS figures (structurer.oas). Review the
diff before committing regenerated files: a changed figure is a changed engine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import structurer

GOLDEN_DIR = Path(__file__).resolve().parent
DEALS_DIR = GOLDEN_DIR.parent.parent / "deals"


def golden_path(deal_path: Path) -> Path:
    return GOLDEN_DIR / f"{deal_path.stem}.json"


def snapshot(deal_path: Path) -> dict[str, Any]:
    """The golden record of one deal file, as plain JSON data."""
    deal = structurer.load(deal_path)
    speeds = list(deal.decrement) or ([deal.pricing] if deal.pricing else [])
    if not speeds:
        raise SystemExit(f"{deal_path}: no decrement or pricing speeds to run")
    results = deal.run(*speeds)
    tables = {}
    for tranche in deal.classes:
        if tranche.is_residual:
            continue
        table = results.decrement_table(tranche.name)
        tables[tranche.name] = {
            "index": [str(i) for i in table.index],
            "columns": [str(c) for c in table.columns],
            "rows": [[str(cell) for cell in row] for row in table.to_numpy().tolist()],
        }
    record = {
        "deal_file": deal_path.name,
        "speeds": list(results.scenarios),
        "results": results.to_dict(),
        "decrement_tables": tables,
    }
    # A deal whose scenarios carry default assumptions: those runs too (losses, write-downs).
    credit = [s for s in [deal.pricing, *deal.scenarios.values()] if s is not None and s.defaults is not None]
    if credit:
        record["credit"] = deal.run(*credit).to_dict()
    # A deal that values classes on OAS (`oas A at ...`): its OAS figures at its own rate model.
    if deal.analytics.rates is not None and deal.analytics.rates.oas_prices:
        record["oas"] = structurer.oas(deal).to_dict()
    return record


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def main(argv: list[str]) -> int:
    paths = sorted(DEALS_DIR.glob("*.waterfall"))
    if argv:
        wanted = {Path(a).stem for a in argv}
        paths = [p for p in paths if p.stem in wanted]
        missing = wanted - {p.stem for p in paths}
        if missing:
            print(f"no such deal in {DEALS_DIR}: {', '.join(sorted(missing))}", file=sys.stderr)
            return 1
    for path in paths:
        out = golden_path(path)
        out.write_text(dumps(snapshot(path)), encoding="utf-8")
        print(f"wrote {out}")
    stems = {p.stem for p in sorted(DEALS_DIR.glob("*.waterfall"))}
    for stale in sorted(GOLDEN_DIR.glob("*.json")):
        if stale.stem not in stems:
            print(f"note: {stale} has no deal in {DEALS_DIR}; delete it if the deal is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
