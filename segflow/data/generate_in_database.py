"""Synthetic lines generated inside PostgreSQL in one set-based statement, for large benchmark homes.

`segflow generate` (segflow/data/generate.py) draws lines in Python and COPYs them in; this draws them in the
database (sql/queries/generate/insert_generated_lines.sql) from the same archetypes, catalog, season and
shares, passed as arrays, with every draw a hash of (seed, what it is for, which draw) instead of a numpy stream.
The distributions match; the lines do not (benchmarks/README.md says how close each distribution is). A data set
is recorded as an import batch like `segflow generate`'s, under its own content key, so the same spec twice
adds nothing.

In parallel: the customers are split into ranges, each inserted by its own connection and committed; no draw
depends on the range, so any number of parts gives the same lines. The batch is 'importing' meanwhile
(migration 019); one last transaction folds the lines and marks it 'imported'. A failed part takes every part's
lines back (the batch becomes 'failed'); a generation that died midway is taken back by the next one of the same
spec, and an advisory lock keeps two generations of one spec from running at once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict
from datetime import UTC, datetime
from datetime import time as clock
from functools import cache
from typing import Any

import numpy as np
from scipy.stats import poisson

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
    InvalidSpec,
    build_catalog,
    fold_and_finish_batch,
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


def generate_in_database(db: Database, spec: GeneratorSpec, parts: int | None = None) -> GeneratorResult:
    """Write the spec's lines into segflow.transactions, its customers split into `parts` ranges (default: the
    CPU count) each inserted by its own connection, then fold them and mark the batch imported in one
    transaction; the same spec twice adds nothing, and a failed part leaves no line behind."""
    spec.validate()
    parts = (os.cpu_count() or 1) if parts is None else parts
    if parts < 1:
        raise InvalidSpec("parts", "must be at least 1", parts)
    parts = min(parts, spec.customers)
    started = time.perf_counter()
    result = GeneratorResult(customers=spec.customers, chunks=parts)
    key = content_key(spec)
    coordinator = db.raw_connection()
    try:
        coordinator.autocommit = True
        with coordinator.cursor() as cur:
            run_named(cur, "queries/generate/lock_generation", {"sha256": key})
        skip_capture = _begin(db, spec, key, result)
        if result.already_generated:
            return result
        assert result.batch_id is not None
        try:
            result.lines = _write_parts(db, spec, result.batch_id, parts, skip_capture)
        except BaseException as exc:
            with db.transaction() as cur:
                error = f"a part failed: {type(exc).__name__}: {str(exc).strip()[:500]}"
                run_named(
                    cur,
                    "queries/generate/fail_unfinished_batches",
                    {"batch_id": result.batch_id, "sha256": None, "error": error},
                )
            raise
        written = time.perf_counter()
        _finish(db, result, skip_capture)
        log.info(
            "parts wrote %d lines in %.1fs (change capture %s); folded in %.1fs",
            result.lines,
            written - started,
            "skipped" if skip_capture else "on",
            time.perf_counter() - written,
        )
    finally:
        coordinator.close()
    result.seconds = time.perf_counter() - started
    log.info(
        "generated %d lines in the database for %d customers in %d parts in %.1fs",
        result.lines,
        spec.customers,
        parts,
        result.seconds,
    )
    return result


def _begin(db: Database, spec: GeneratorSpec, key: str, result: GeneratorResult) -> bool:
    """Fill in the spec's imported batch (already_generated), or record a new 'importing' one after taking back
    what an interrupted generation of the spec left; whether the parts may skip change capture (the fresh-home
    path: the table is empty, so the aggregates are rebuilt from all lines, which is asked for here already)."""
    with db.transaction() as cur:
        run_named(
            cur,
            "queries/generate/fail_unfinished_batches",
            {"batch_id": None, "sha256": key, "error": "interrupted before it finished"},
        )
        existing = run_named(cur, "queries/ingest/import_batch_by_sha", {"sha256": key})
        if existing:
            result.batch_id, _, result.lines = existing[0][:3]
            result.already_generated = True
            return False
        name = f"generate in database customers={spec.customers} days={spec.days} seed={spec.seed} start={spec.start}"
        result.batch_id = run_named(
            cur,
            "queries/generate/insert_importing_batch",
            {
                "name": name,
                "sha256": key,
                "layout": f"generator-sql-v{SQL_GENERATOR_VERSION}",
                "options": json.dumps(asdict(spec), default=str),
            },
        )[0][0]
        skip_capture = bool(run_named(cur, "queries/generate/can_skip_change_capture")[0][0])
        if skip_capture:
            run_named(cur, "queries/generate/request_rebuild_after_generation")
    return skip_capture


def _write_parts(db: Database, spec: GeneratorSpec, batch_id: int, parts: int, skip_capture: bool) -> int:
    """Insert the customer ranges concurrently, one connection and transaction each; the lines written. The
    first failure cancels the other parts' statements and is raised."""
    parameters = generator_parameters(spec, batch_id)
    bounds = [spec.customers * i // parts for i in range(parts + 1)]
    connections = [db.raw_connection() for _ in range(parts)]

    def write(part: int) -> int:
        conn = connections[part]
        with conn, conn.cursor() as cur:
            run_named(cur, "queries/generate/tune_generation")
            if skip_capture:
                run_named(cur, "queries/generate/skip_change_capture")
            range_ = {"first_customer": bounds[part], "last_customer": bounds[part + 1] - 1}
            run_named(cur, "queries/generate/insert_generated_lines", {**parameters, **range_})
            return int(cur.rowcount)

    try:
        with ThreadPoolExecutor(max_workers=parts) as pool:
            futures = [pool.submit(write, part) for part in range(parts)]
            wait(futures, return_when=FIRST_EXCEPTION)
            failures = [e for f in futures if f.done() and (e := f.exception()) is not None]
            if failures:
                for conn in connections:
                    conn.cancel()
        if failures:
            raise failures[0]  # the first to fail, not the cancellations it caused
        return sum(f.result() for f in futures)
    finally:
        for conn in connections:
            conn.close()


def _finish(db: Database, result: GeneratorResult, skip_capture: bool) -> None:
    """Fold the batch's lines and make it its content's imported batch, in one transaction."""
    with db.transaction() as cur:
        if skip_capture:  # again: a night's fold may have rebuilt (and cleared the request) while parts wrote
            run_named(cur, "queries/generate/request_rebuild_after_generation")
        fold_and_finish_batch(cur, result)
        run_named(cur, "queries/generate/mark_batch_imported", {"batch_id": result.batch_id})


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
