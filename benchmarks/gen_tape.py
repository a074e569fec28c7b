"""Write a loan tape of any size, seeded: `python benchmarks/gen_tape.py N out.csv [--seed S]`.

Loans look like an agency 30-year pool: balances around 250,000, note rates 2.5-7%, a 0.25-0.5%
servicing fee, mostly 360-month terms at ages 0-60, FICO 620-820, LTV 40-97, ten states.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

STATES = ("CA", "TX", "FL", "NY", "IL", "WA", "NJ", "GA", "CO", "AZ")
STATE_WEIGHTS = (0.22, 0.12, 0.11, 0.09, 0.07, 0.07, 0.06, 0.06, 0.1, 0.1)


def generate(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Columns of an n-loan tape (rates in percent, terms in months)."""
    rng = np.random.default_rng(seed)
    original = rng.choice(np.array([360, 360, 360, 360, 240, 180]), size=n)
    age = np.minimum(rng.integers(0, 61, size=n), original - 1)
    note = np.round(rng.normal(4.5, 0.9, size=n).clip(2.5, 7.0) * 8) / 8  # eighths, as notes are
    fee = rng.choice(np.array([0.25, 0.375, 0.5]), size=n)
    return {
        "loan_id": np.array([f"L{i + 1:07d}" for i in range(n)]),
        "balance": np.round(rng.lognormal(np.log(250_000), 0.45, size=n).clip(20_000, 1_500_000), 2),
        "note_rate": note,
        "net_rate": note - fee,
        "original_term": original,
        "remaining_term": original - age,
        "fico": rng.integers(620, 821, size=n),
        "ltv": np.round(rng.uniform(40, 97, size=n), 1),
        "state": rng.choice(np.array(STATES), size=n, p=STATE_WEIGHTS),
        "occupancy": rng.choice(np.array(["owner", "second", "investor"]), size=n, p=(0.88, 0.04, 0.08)),
        "purpose": rng.choice(np.array(["purchase", "refinance", "cashout"]), size=n, p=(0.5, 0.3, 0.2)),
    }


def write(columns: dict[str, np.ndarray], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*(c.tolist() for c in columns.values()), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of loans")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write(generate(args.n, args.seed), args.out)
    print(f"wrote {args.n:,} loans to {args.out}")


if __name__ == "__main__":
    main()
