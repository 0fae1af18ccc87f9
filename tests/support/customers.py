"""Customer attribute files shaped like the Mall Customers data the seed apps use, built here (never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

MALL_HEADER = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]

# The five groups of the classic data: (income k$, spending score, mean age, customers). The centres are far apart
# against the spread below (income sd 6, score sd 7), so every clustering that passes the gates finds these five.
MALL_GROUPS = {
    "low income, low spending": (26, 20, 45, 23),
    "low income, high spending": (25, 79, 25, 22),
    "average income, average spending": (55, 50, 42, 81),
    "high income, low spending": (88, 17, 41, 35),
    "high income, high spending": (86, 82, 33, 39),
}


def make_mall_shaped_customers(seed: int = 7) -> pd.DataFrame:
    """200 customers in the five income/spending groups, with the Mall file's columns and whole-number values.

    The column `group` says which group each customer was drawn from (it is not written to the file).
    """
    rng = np.random.default_rng(seed)
    frames = []
    for group, (income, score, age, size) in MALL_GROUPS.items():
        frames.append(
            pd.DataFrame(
                {
                    "Gender": rng.choice(["Female", "Male"], size=size, p=[0.56, 0.44]),
                    "Age": rng.normal(age, 6, size).round().clip(18, 70).astype(int),
                    "Annual Income (k$)": rng.normal(income, 6, size).round().clip(15, 140).astype(int),
                    "Spending Score (1-100)": rng.normal(score, 7, size).round().clip(1, 100).astype(int),
                    "group": group,
                }
            )
        )
    # Shuffled, so that the file's order says nothing about the groups.
    customers = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    customers.insert(0, "CustomerID", [str(i) for i in range(1, len(customers) + 1)])
    return customers


def write_mall_shaped_csv(path: Path, seed: int = 7) -> pd.DataFrame:
    """Write the customers of `make_mall_shaped_customers(seed)` as a Mall-style CSV; return them."""
    customers = make_mall_shaped_customers(seed)
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MALL_HEADER)
        writer.writerows(customers[MALL_HEADER].itertuples(index=False, name=None))
    return customers
