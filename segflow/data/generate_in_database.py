"""Synthetic lines generated inside PostgreSQL in one set-based statement, for large benchmark homes.

`segflow generate` (segflow/data/generate.py) draws lines in Python and COPYs them in; this draws them in the
database (sql/queries/generate/insert_generated_lines.sql) from the same archetypes, catalog, season and
shares, passed as arrays, with every draw a hash of (seed, what it is for, which draw) instead of a numpy stream.
The distributions match; the lines do not (benchmarks/README.md says how close each distribution is). A data set
is recorded as an import batch like `segflow generate`'s, under its own content key, so the same spec twice
adds nothing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from datetime import time as clock
from functools import cache
from typing import Any

import numpy as np
from scipy.stats import poisson

from segflow.data import aggregates
from segflow.data.generate import (
    ADJUSTMENT_LINE_SHARE,
    ARCHETYPES,
    CANCELLED_ORDER_SHARE,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DUPLICATE_LINE_SHARE,
    GUEST_ORDER_SHARE,
    GeneratorResult,
    GeneratorSpec,
    build_catalog,
    season_cdf,
)
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)

SQL_GENERATOR_VERSION = 1
# Poisson draws below this mean come from a quantile table (means in tenths, 1024 slices); above, a rounded normal.
_POISSON_TABLE_MEAN = 40
_POISSON_SLICES = 1024


def content_key(spec: GeneratorSpec) -> str:
    """The import key of a spec generated in the database: never the key of the same spec from Python."""
    return f"sql-v{SQL_GENERATOR_VERSION}:{spec.content_key}"


def generate_in_database(db: Database, spec: GeneratorSpec) -> GeneratorResult:
    """Write the spec's lines into segflow.transactions with one INSERT ... SELECT in one transaction, recorded as
    an import batch; the same spec twice adds nothing."""
    spec.validate()
    started = time.perf_counter()
    result = GeneratorResult(customers=spec.customers, chunks=1)
    key = content_key(spec)
    with db.transaction() as cur:
        existing = run_named(cur, "queries/ingest/import_batch_by_sha", {"sha256": key})
        if existing:
            result.batch_id, _, result.lines = existing[0][:3]
            result.already_generated = True
            return result
        name = f"generate in database customers={spec.customers} days={spec.days} seed={spec.seed} start={spec.start}"
        result.batch_id = run_named(
            cur,
            "queries/ingest/insert_import_batch",
            {
                "kind": "generator",
                "name": name,
                "sha256": key,
                "layout": f"generator-sql-v{SQL_GENERATOR_VERSION}",
                "options": json.dumps(asdict(spec), default=str),
            },
        )[0][0]
        run_named(cur, "queries/generate/tune_generation")
        run_named(cur, "queries/generate/insert_generated_lines", generator_parameters(spec, result.batch_id))
        result.lines = cur.rowcount
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
    result.seconds = time.perf_counter() - started
    log.info(
        "generated %d lines in the database for %d customers in %.1fs", result.lines, spec.customers, result.seconds
    )
    return result


def generator_parameters(spec: GeneratorSpec, batch_id: int | None) -> dict[str, Any]:
    """The bound parameters of insert_generated_lines.sql: the spec, and generate.py's tables as arrays."""
    shares = np.array([a.share if not spec.archetypes or a.name in spec.archetypes else 0.0 for a in ARCHETYPES])
    catalog = build_catalog(spec.seed, spec.catalog_size)
    weight = catalog["weight"].to_numpy()
    price = catalog["price"].to_numpy()
    cheap = np.flatnonzero(price < np.median(price))
    start = datetime.combine(spec.start, clock(0), tzinfo=UTC)
    return {
        "seed": spec.seed,
        "customers": spec.customers,
        "days": spec.days,
        "start_epoch": int(start.timestamp()),
        "batch_id": batch_id,
        "poisson": _poisson_quantiles(),
        "season_cdf": season_cdf(spec.start, spec.days).tolist(),
        "kind_thresholds": _thresholds(shares),
        "orders_per_30_days": [a.orders_per_30_days for a in ARCHETYPES],
        "basket_lines": [float(a.basket_lines) for a in ARCHETYPES],
        "quantity": [float(a.quantity) for a in ARCHETYPES],
        "bargain": [a.price_factor < 1 for a in ARCHETYPES],
        "start_low": [a.start_range[0] for a in ARCHETYPES],
        "start_high": [a.start_range[1] for a in ARCHETYPES],
        "end_low": [a.end_range[0] for a in ARCHETYPES],
        "end_high": [a.end_range[1] for a in ARCHETYPES],
        "one_order": [a.one_order for a in ARCHETYPES],
        "countries": COUNTRIES.tolist(),
        "country_thresholds": _thresholds(COUNTRY_WEIGHTS),
        "stock_codes": catalog["stock_code"].tolist(),
        "descriptions": catalog["description"].tolist(),
        "prices": [round(float(p), 2) for p in price],
        "product_thresholds": _thresholds(weight),
        # 1-based product numbers of the cheaper half, and their popularity among themselves
        "cheap_products": (cheap + 1).tolist(),
        "cheap_thresholds": _thresholds(weight[cheap]),
        "guest_share": GUEST_ORDER_SHARE,
        "cancelled_share": CANCELLED_ORDER_SHARE,
        "adjustment_share": ADJUSTMENT_LINE_SHARE,
        "duplicate_share": DUPLICATE_LINE_SHARE,
    }


def _thresholds(weights: np.ndarray) -> list[float]:
    """Inner cut points of the cumulative shares: width_bucket(u, cuts) + 1 is the 1-based choice."""
    cumulative = np.cumsum(weights) / np.sum(weights)
    return [float(c) for c in cumulative[:-1]]


@cache
def _poisson_quantiles() -> list[int]:
    """Elements m * 1024 + 1 .. m * 1024 + 1024: the Poisson(m / 10) quantiles at the middles of 1024
    equal-probability slices, for m = 0 .. 400."""
    means = np.arange(_POISSON_TABLE_MEAN * 10 + 1)[:, None] / 10
    levels = (np.arange(_POISSON_SLICES) + 0.5) / _POISSON_SLICES
    return [int(k) for k in poisson.ppf(levels, means).ravel()]
