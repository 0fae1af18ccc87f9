"""Synthetic retail transactions with realistic behaviour, written straight into PostgreSQL by COPY.

Customers are drawn from behavioural archetypes; orders follow a seasonal curve (a November/December
peak, quiet Sundays); a small share of lines is dirty in every way the cleaning rules handle. Work
goes chunk by chunk of customers, each from its own seeded generator, so memory stays flat and the
same seed always gives the same lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from segflow.data import aggregates
from segflow.errors import SegflowError, joined
from segflow.storage.db import Database, copy_frame, run_named

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
CUSTOMERS_PER_CHUNK = 20_000
COLUMNS = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "invoiced_at",
    "customer_id",
    "country",
    "batch_id",
)


@dataclass(frozen=True)
class Archetype:
    """How one kind of customer buys."""

    name: str
    share: float
    orders_per_30_days: float
    basket_lines: float
    quantity: float
    price_factor: float
    # Fraction of the period in which the customer is active: [start, end) drawn in these ranges.
    start_range: tuple[float, float]
    end_range: tuple[float, float]
    one_order: bool = False


ARCHETYPES = (
    Archetype("loyal_big_spender", 0.06, 1.2, 5, 14, 1.3, (0.0, 0.05), (1.0, 1.0)),
    Archetype("regular", 0.24, 0.35, 3, 6, 1.0, (0.0, 0.3), (1.0, 1.0)),
    Archetype("one_time", 0.25, 0.0, 2, 4, 1.0, (0.0, 1.0), (1.0, 1.0), one_order=True),
    Archetype("lapsing", 0.15, 0.45, 3, 6, 1.0, (0.0, 0.1), (0.3, 0.65)),
    Archetype("bargain_hunter", 0.15, 0.3, 3.5, 12, 0.45, (0.0, 0.3), (1.0, 1.0)),
    Archetype("new", 0.15, 0.8, 2.5, 5, 1.0, (0.8, 0.97), (1.0, 1.0)),
)

# Shares of dirty data, per order or per line, matching what the data-quality rules count.
GUEST_ORDER_SHARE = 0.03  # orders with no customer id
CANCELLED_ORDER_SHARE = 0.02  # orders followed by a "C" invoice with negative quantities
ADJUSTMENT_LINE_SHARE = 0.003  # zero or negative unit price (postage refunds, bad-debt adjustments)
DUPLICATE_LINE_SHARE = 0.005  # exact copies of a line

COUNTRIES = np.array(
    [
        "United Kingdom",
        "Germany",
        "France",
        "EIRE",
        "Netherlands",
        "Spain",
        "Belgium",
        "Switzerland",
        "Portugal",
        "Australia",
        "Norway",
        "Italy",
    ]
)
COUNTRY_WEIGHTS = np.array([0.86, 0.025, 0.022, 0.02, 0.012, 0.01, 0.01, 0.008, 0.007, 0.006, 0.005, 0.005])

_ADJECTIVES = [
    "RED",
    "WHITE",
    "PINK",
    "BLUE",
    "VINTAGE",
    "RETRO",
    "HEART",
    "STAR",
    "GLASS",
    "WOODEN",
    "PAPER",
    "SET OF 3",
    "JUMBO",
    "REGENCY",
    "PARTY",
    "CHRISTMAS",
    "GARDEN",
    "LOVE",
]
_NOUNS = [
    "LUNCH BAG",
    "TEA LIGHT HOLDER",
    "CAKE STAND",
    "BUNTING",
    "PHOTO FRAME",
    "MUG",
    "CUSHION COVER",
    "DOORMAT",
    "WATER BOTTLE",
    "ALARM CLOCK",
    "NAPKINS",
    "CANDLE",
    "NOTEBOOK",
    "STORAGE TIN",
    "BOWL",
]


@dataclasses.dataclass(eq=False)
class InvalidSpec(SegflowError):
    """A generator parameter out of range; `field` names it."""

    template = "{field} {rule}, got {value}"
    field: str
    rule: str
    value: int


@dataclasses.dataclass(eq=False)
class UnknownArchetypes(SegflowError):
    """Archetype names the generator does not know."""

    template = "unknown archetype(s) {unknown_text}; choose from {known_text}"
    unknown: list[str]
    known: list[str]

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "unknown_text": joined(self.unknown), "known_text": joined(self.known)}


@dataclass(frozen=True)
class GeneratorSpec:
    """Parameters of one generated data set; the same spec always gives the same lines."""

    customers: int
    days: int
    seed: int
    start: date
    catalog_size: int = 2_000
    # Only these archetypes (names from ARCHETYPES); empty means the usual mix of all of them.
    archetypes: tuple[str, ...] = ()

    def validate(self) -> None:
        known = {a.name for a in ARCHETYPES}
        unknown = [a for a in self.archetypes if a not in known]
        if unknown:
            raise UnknownArchetypes(unknown, sorted(known))
        if self.customers < 1:
            raise InvalidSpec("customers", "must be at least 1", self.customers)
        if self.days < 7:
            raise InvalidSpec("days", "must be at least 7", self.days)
        if self.seed < 0:
            raise InvalidSpec("seed", "must not be negative", self.seed)

    @property
    def content_key(self) -> str:
        payload = {**asdict(self), "start": self.start.isoformat(), "version": GENERATOR_VERSION}
        if not self.archetypes:
            payload.pop("archetypes")  # keeps the key of data sets generated before the option existed
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class GeneratorResult:
    lines: int = 0
    customers: int = 0
    chunks: int = 0
    seconds: float = 0.0
    batch_id: int | None = None
    already_generated: bool = False


def build_catalog(seed: int, size: int) -> pd.DataFrame:
    """Products with stock code, description, list price and popularity weight."""
    rng = np.random.default_rng([seed, 0xCA7])
    codes = np.char.add(
        rng.choice(np.arange(10000, 99999), size=size, replace=False).astype(str),
        rng.choice(["", "", "", "A", "B", "L"], size=size),
    )
    names = [
        f"{_ADJECTIVES[a]} {_NOUNS[n]}"
        for a, n in zip(rng.integers(len(_ADJECTIVES), size=size), rng.integers(len(_NOUNS), size=size), strict=True)
    ]
    price = np.round(np.exp(rng.normal(0.9, 0.75, size=size)), 2).clip(0.1, 120)
    popularity = 1.0 / np.arange(1, size + 1) ** 0.9  # Zipf-like: a few best sellers, a long tail
    return pd.DataFrame(
        {"stock_code": codes, "description": names, "price": price, "weight": popularity / popularity.sum()}
    )


def season_cdf(start: date, days: int) -> np.ndarray:
    """Cumulative order weight per day: a Nov/Dec peak, a January dip and quiet Sundays."""
    day_numbers = np.arange(days)
    dates = pd.Timestamp(start) + pd.to_timedelta(day_numbers, unit="D")
    doy = dates.dayofyear.to_numpy()
    weight = 1.0 + 0.9 * np.exp(-(((doy - 325) / 28.0) ** 2)) - 0.25 * np.exp(-(((doy - 20) / 15.0) ** 2))
    weight = weight * np.where(dates.dayofweek.to_numpy() == 6, 0.35, 1.0)
    return np.cumsum(weight)


def generate_chunk(spec: GeneratorSpec, chunk: int, catalog: pd.DataFrame, cdf: np.ndarray) -> pd.DataFrame:
    """All lines of customers [chunk*CUSTOMERS_PER_CHUNK, ...) as a frame with the transaction columns."""
    rng = np.random.default_rng([spec.seed, chunk + 1])
    first = chunk * CUSTOMERS_PER_CHUNK
    n = min(CUSTOMERS_PER_CHUNK, spec.customers - first)
    days = spec.days

    # Customers: archetype, active window, country.
    shares = np.array([a.share if not spec.archetypes or a.name in spec.archetypes else 0.0 for a in ARCHETYPES])
    kind = rng.choice(len(ARCHETYPES), size=n, p=shares / shares.sum())
    arch = {
        f: np.array([getattr(a, f) for a in ARCHETYPES])
        for f in ("orders_per_30_days", "basket_lines", "quantity", "price_factor")
    }
    starts = np.array([a.start_range for a in ARCHETYPES])[kind]
    ends = np.array([a.end_range for a in ARCHETYPES])[kind]
    active_from = (rng.uniform(starts[:, 0], starts[:, 1]) * (days - 1)).astype(int)
    active_to = np.maximum(active_from + 1, (rng.uniform(ends[:, 0], ends[:, 1]) * days).astype(int))
    one_order = np.array([a.one_order for a in ARCHETYPES])[kind]
    # Spending differs between customers of the same kind, too.
    appetite = np.exp(rng.normal(0.0, 0.35, size=n))
    expected = arch["orders_per_30_days"][kind] * appetite * (active_to - active_from) / 30.0
    orders = np.where(one_order, 1, 1 + rng.poisson(np.maximum(expected - 1, 0)))
    country = rng.choice(COUNTRIES, size=n, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    customer_ids = np.char.add(f"G{spec.seed}-", np.char.zfill((first + np.arange(n)).astype(str), 7))

    # Orders: a seasonal day inside the customer's window, a time of day, a basket size.
    owner = np.repeat(np.arange(n), orders)
    low = np.where(active_from[owner] > 0, cdf[np.maximum(active_from[owner] - 1, 0)], 0.0)
    high = cdf[active_to[owner] - 1]
    order_day = np.searchsorted(cdf, rng.uniform(low, high)).clip(0, days - 1)
    # A customer's first order always opens its window, so tenure matches its archetype.
    first_of_customer = np.r_[True, owner[1:] != owner[:-1]]
    order_day = np.where(first_of_customer & ~one_order[owner], active_from[owner], order_day)
    seconds = order_day * 86_400 + rng.integers(7 * 3600, 20 * 3600, size=owner.size) // 60 * 60
    lines_per_order = 1 + rng.poisson(arch["basket_lines"][kind][owner] - 1)

    # Guest orders (no customer id) come on top of the customers' own.
    guests = rng.binomial(owner.size, GUEST_ORDER_SHARE)
    guest_day = np.searchsorted(cdf, rng.uniform(0, cdf[-1], size=guests)).clip(0, days - 1)
    seconds = np.r_[seconds, guest_day * 86_400 + 36_000]
    lines_per_order = np.r_[lines_per_order, 1 + rng.poisson(5, size=guests)]
    order_customer = np.r_[owner, np.full(guests, -1)]
    n_orders = order_customer.size
    invoice_numbers = np.char.add(
        f"G{spec.seed}-", np.char.zfill((chunk * 10_000_000 + np.arange(n_orders)).astype(str), 9)
    )

    # Lines: products by popularity (bargain hunters from the cheap end), quantities by appetite.
    line_order = np.repeat(np.arange(n_orders), lines_per_order)
    line_owner = order_customer[line_order]
    known = line_owner >= 0
    owner_kind = np.where(known, kind[np.maximum(line_owner, 0)], 1)
    weight = catalog["weight"].to_numpy()
    price_list = catalog["price"].to_numpy()
    product = rng.choice(len(catalog), size=line_order.size, p=weight)
    cheap = arch["price_factor"][owner_kind] < 1
    cheap_products = np.flatnonzero(price_list < np.median(price_list))
    cheap_weight = weight[cheap_products] / weight[cheap_products].sum()
    product[cheap] = rng.choice(cheap_products, size=int(cheap.sum()), p=cheap_weight)
    price = price_list[product]
    qty_mean = arch["quantity"][owner_kind] * np.where(known, appetite[np.maximum(line_owner, 0)], 1.0)
    quantity = 1 + rng.poisson(np.maximum(qty_mean - 1, 0.1))

    frame = pd.DataFrame(
        {
            "invoice_id": invoice_numbers[line_order],
            "stock_code": catalog["stock_code"].to_numpy()[product],
            "description": catalog["description"].to_numpy()[product],
            "quantity": quantity,
            "unit_price": price,
            "seconds": seconds[line_order],
            "customer_id": np.where(known, customer_ids[np.maximum(line_owner, 0)], None),
            "country": np.where(known, country[np.maximum(line_owner, 0)], "United Kingdom"),
        }
    )
    frame = pd.concat([frame, _cancellations(rng, frame, days), _adjustments(rng, frame)], ignore_index=True)
    duplicates = frame.iloc[rng.choice(len(frame), size=rng.binomial(len(frame), DUPLICATE_LINE_SHARE))]
    frame = pd.concat([frame, duplicates], ignore_index=True)
    frame = frame.sort_values(["seconds", "invoice_id"], kind="stable", ignore_index=True)
    start = np.datetime64(spec.start.isoformat(), "s")
    stamps = np.datetime_as_string(start + frame.pop("seconds").to_numpy().astype("timedelta64[s]"), unit="s")
    frame.insert(5, "invoiced_at", np.char.add(stamps.astype(str), "Z"))
    return frame


def _cancellations(rng: np.random.Generator, lines: pd.DataFrame, days: int) -> pd.DataFrame:
    """'C' invoices that take back some lines of a few known customers' orders a few days later."""
    invoices = lines.loc[lines["customer_id"].notna(), "invoice_id"].unique()
    chosen = rng.choice(invoices, size=rng.binomial(invoices.size, CANCELLED_ORDER_SHARE), replace=False)
    taken = lines[lines["invoice_id"].isin(chosen)]
    taken = taken[rng.random(len(taken)) < 0.6].copy()
    taken["invoice_id"] = "C" + taken["invoice_id"]
    taken["quantity"] = -taken["quantity"]
    later = taken["seconds"] + rng.integers(1, 5, size=len(taken)) * 86_400
    taken["seconds"] = np.minimum(later, days * 86_400 - 60)
    return taken


def _adjustments(rng: np.random.Generator, lines: pd.DataFrame) -> pd.DataFrame:
    """Lines with zero or negative unit price, as bookkeeping adjustments appear in real exports."""
    picked = lines.iloc[rng.choice(len(lines), size=rng.binomial(len(lines), ADJUSTMENT_LINE_SHARE))].copy()
    kind = rng.integers(0, 3, size=len(picked))
    picked["stock_code"] = np.array(["M", "B", "POST"])[kind]
    picked["description"] = np.array(["Manual", "Adjust bad debt", "POSTAGE"])[kind]
    picked["quantity"] = 1
    picked["unit_price"] = np.where(kind == 1, -np.round(rng.uniform(5, 200, len(picked)), 2), 0.0)
    return picked


def iter_chunks(spec: GeneratorSpec) -> Iterator[pd.DataFrame]:
    """The generated lines, chunk by chunk."""
    spec.validate()
    catalog = build_catalog(spec.seed, spec.catalog_size)
    cdf = season_cdf(spec.start, spec.days)
    for chunk in range((spec.customers + CUSTOMERS_PER_CHUNK - 1) // CUSTOMERS_PER_CHUNK):
        yield generate_chunk(spec, chunk, catalog, cdf)


def fold_and_finish_batch(cur: Any, result: GeneratorResult) -> None:
    """Fold a generator batch's lines into the aggregates and record the batch as finished (every line loaded), on
    the caller's transaction: both generators end this way."""
    aggregates.fold_imported_lines(cur)
    run_named(
        cur,
        "queries/ingest/finish_import_batch",
        {
            "batch_id": result.batch_id,
            "lines_read": result.lines,
            "lines_loaded": result.lines,
            "lines_rejected": 0,
            "rejected_by_reason": "{}",
        },
    )


def generate_transactions(
    db: Database, spec: GeneratorSpec, progress: Callable[[int, int], None] | None = None
) -> GeneratorResult:
    """Write the spec's lines into segflow.transactions in one transaction; the same spec twice adds nothing."""
    spec.validate()
    started = time.perf_counter()
    result = GeneratorResult(customers=spec.customers)
    total_chunks = (spec.customers + CUSTOMERS_PER_CHUNK - 1) // CUSTOMERS_PER_CHUNK
    with db.transaction() as cur:
        existing = run_named(cur, "queries/ingest/import_batch_by_sha", {"sha256": spec.content_key})
        if existing:
            result.batch_id, _, result.lines = existing[0][:3]
            result.already_generated = True
            return result
        name = f"generate customers={spec.customers} days={spec.days} seed={spec.seed} start={spec.start}"
        result.batch_id = run_named(
            cur,
            "queries/ingest/insert_import_batch",
            {
                "kind": "generator",
                "name": name,
                "sha256": spec.content_key,
                "layout": f"generator-v{GENERATOR_VERSION}",
                "options": json.dumps(asdict(spec), default=str),
            },
        )[0][0]
        for frame in iter_chunks(spec):
            frame["batch_id"] = result.batch_id
            copy_frame(cur, "transactions", frame, float_format="%.2f")
            result.lines += len(frame)
            result.chunks += 1
            if progress:
                progress(result.chunks, total_chunks)
        fold_and_finish_batch(cur, result)
    result.seconds = time.perf_counter() - started
    log.info("generated %d lines for %d customers in %.1fs", result.lines, spec.customers, result.seconds)
    return result
