"""Data builders: transaction lines, feature frames, and where the real Online Retail II export lives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# ../shared/data beside the repository; tests that need the real export skip when it is absent.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_II_2009_2010.csv.gz"

ONLINE_RETAIL_II_HEADER = [
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
]
ONLINE_RETAIL_HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]

# One Online Retail II line with a distinct invoice per i.
LINE = "{i},S,D,1,2010-01-01 00:00:00,1.5,c{i},United Kingdom\n"

TRANSACTION_COLUMNS = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "invoiced_at",
    "customer_id",
    "country",
)


def insert_lines(db, rows) -> None:
    """Insert transaction lines (tuples in TRANSACTION_COLUMNS order) straight into segflow.transactions."""
    with db.transaction() as cur:
        cur.executemany(
            "insert into segflow.transactions (invoice_id, stock_code, description, quantity, unit_price,"
            " invoiced_at, customer_id, country) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def make_rfm_lines():
    """Hand-built lines covering every data-quality rule; expected values are in test_features.py."""
    return [
        # customer A
        ("A1", "S1", "D", 2, 5.00, "2024-03-10T10:00:00Z", "A", "UK"),
        ("A1", "S2", "D", 1, 3.00, "2024-03-10T10:00:00Z", "A", "UK"),
        ("A1", "S2", "D", 1, 3.00, "2024-03-10T10:00:00Z", "A", "UK"),  # exact duplicate: counts once
        ("A2", "S3", "D", 4, 2.50, "2024-03-25T09:00:00Z", "A", "UK"),
        ("CA3", "S1", "D", -1, 5.00, "2024-03-26T09:00:00Z", "A", "UK"),  # cancellation: a return of 5.00
        ("A4", "POST", "D", 1, 0.00, "2024-03-27T09:00:00Z", "A", "UK"),  # zero price
        ("A5", "S1", "D", 2, 1.00, "2024-04-01T00:00:00Z", "A", "UK"),  # after the as-of date
        ("A0", "S9", "D", 1, 7.00, "2024-01-15T12:00:00Z", "A", "UK"),  # before the window: tenure only
        # customer B: bought only before the window
        ("B1", "S1", "D", 1, 10.00, "2024-02-01T12:00:00Z", "B", "UK"),
        # customer C: on the as-of day itself, one line given in UTC+2, and a return without a C invoice
        ("N1", "S1", "D", 3, 1.50, "2024-03-31T23:59:59Z", "C", "UK"),
        ("N2", "S1", "D", -3, 1.50, "2024-03-31T12:00:00Z", "C", "UK"),
        ("N3", "S1", "D", 1, 2.00, "2024-04-01T01:00:00+02:00", "C", "UK"),
        # customer D: nothing but a cancellation
        ("CD1", "S1", "D", -1, 3.00, "2024-03-20T09:00:00Z", "D", "UK"),
        # no customer
        ("U1", "S1", "D", 1, 1.00, "2024-03-15T09:00:00Z", None, "UK"),
    ]


def make_mall_customers(seed: int = 4) -> pd.DataFrame:
    """200 customers in the five well-known groups of the Mall Customers data (income k$, score 1-100)."""
    rng = np.random.default_rng(seed)
    groups = [((26, 20), 23), ((25, 79), 22), ((55, 50), 81), ((88, 17), 35), ((86, 82), 39)]
    rows = [np.c_[rng.normal(income, 6, n), rng.normal(score, 7, n)] for (income, score), n in groups]
    return pd.DataFrame(np.vstack(rows), columns=["annual_income", "spending_score"])


def make_rfm_with_whales(seed: int = 1) -> pd.DataFrame:
    """2,000 ordinary customers in three groups and 30 'whales' who spend a thousand times more."""
    rng = np.random.default_rng(seed)
    ordinary = [
        np.c_[rng.normal(r, 5, 650).clip(0), rng.normal(f, 0.5, 650).clip(1), rng.normal(m, 20, 650).clip(1)]
        for r, f, m in ((10, 6, 300), (60, 3, 150), (200, 1, 40))
    ]
    whales = np.c_[rng.normal(5, 1, 30).clip(0), rng.normal(60, 5, 30), rng.normal(300_000, 5_000, 30)]
    return pd.DataFrame(np.vstack([*ordinary, whales]), columns=["recency_days", "frequency", "monetary"])
