"""Small builders shared by tests (kept out of conftest so tests can import them by name)."""

import numpy as np
import pandas as pd

# One Online Retail II line with a distinct invoice per i.
LINE = "{i},S,D,1,2010-01-01 00:00:00,1.5,c{i},United Kingdom\n"

TRANSACTION_COLUMNS = ("invoice_id", "stock_code", "description", "quantity", "unit_price", "invoiced_at",
                       "customer_id", "country")


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
    ordinary = [np.c_[rng.normal(r, 5, 650).clip(0), rng.normal(f, 0.5, 650).clip(1), rng.normal(m, 20, 650).clip(1)]
                for r, f, m in ((10, 6, 300), (60, 3, 150), (200, 1, 40))]
    whales = np.c_[rng.normal(5, 1, 30).clip(0), rng.normal(60, 5, 30), rng.normal(300_000, 5_000, 30)]
    return pd.DataFrame(np.vstack([*ordinary, whales]), columns=["recency_days", "frequency", "monetary"])


def render_in_chromium(html_path, png_path, height: int = 2200) -> bool:
    """Screenshot a local HTML file in headless Chromium (Debian's package); False when it is not installed."""
    import shutil
    import subprocess
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--window-size=1400,{height}", "--virtual-time-budget=15000",
             f"--screenshot={png_path}", f"file://{html_path}"],
            check=True, capture_output=True, timeout=180,
        )
    return True


def png_ink_share(png_path) -> float:
    """Share of decoded scanline bytes that are neither 0 nor 255: about 0 for a blank page."""
    import struct
    import zlib
    from pathlib import Path

    data = Path(png_path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"IDAT":
            idat += data[position + 8:position + 8 + length]
        position += 12 + length
    pixels = zlib.decompress(idat)
    return sum(1 for b in pixels[::7] if b not in (0, 255)) / len(pixels[::7])
