"""The night's feature query from the lookback window's invoice-days (before issue 25) against the same features
from the per-customer rollups (segflow/data/rollups.py), side by side on one home, one new day at a time.

Run by hand (it is not a test), on a home that bench_nightly.py prepared (generated and trained):

    python benchmarks/bench_rollups.py --home /tmp/bench-nightly-c1000000 --repeats 3

Opening the home applies pending migrations (018 adds the rollups). Then, once: the aggregates are folded and the
rollups built as of the newest day (what the first night after the migration, or after a rebuild, pays). Each
repeat adds one new day of lines by plain SQL (bench_nightly.NEW_DAY: the same weekday a week earlier, about 0.3 %
of all lines) and times, in one process:

1. **fold**: the aggregates brought current (segflow.data.aggregates.bring_current), as a night's fold does;
2. **roll**: the rollups brought to the new day (the part of the fold stage issue 25 adds);
3. **window query**: queries/features/compute_rfm_features into segflow.customer_features (today's features stage);
4. **rollup query**: queries/features/compute_rfm_features_from_rollups into segflow.customer_features;

both queries write every known customer (under attempt ids no run has) in one transaction that is rolled back, and
their rows are compared: the benchmark fails if any customer differs. The order of 3 and 4 alternates per repeat;
segflow.customer_features is vacuumed after each (untimed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_nightly import LAST_DAY, LINES, NEW_DAY
from psycopg2 import sql

from segflow.data import aggregates, rollups
from segflow.orchestration.runtime import open_database
from segflow.settings import Settings
from segflow.storage.db import Database, run_composed_named

WINDOW = "queries/features/compute_rfm_features"
ROLLUPS = "queries/features/compute_rfm_features_from_rollups"
DIFFERING = """
with w as (select * from segflow.customer_features where attempt_id = %(window)s),
r as (select * from segflow.customer_features where attempt_id = %(rollups)s)
select count(*)
from w
full outer join r on r.customer_id = w.customer_id
where w.customer_id is null
    or r.customer_id is null
    or (w.recency_days, w.frequency, w.monetary, w.tenure_days, w.avg_order_value, w.return_rate)
    is distinct from (r.recency_days, r.frequency, r.monetary, r.tenure_days, r.avg_order_value, r.return_rate)
"""
WINDOW_ATTEMPT, ROLLUP_ATTEMPT = -1, -2


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def one_value(db: Database, statement: str, params: dict[str, Any] | None = None) -> Any:
    with db.transaction() as cur:
        cur.execute(statement, params)
        return cur.fetchone()[0] if cur.description else cur.rowcount


def both_queries(db: Database, day: Any, lookback_days: int, rollups_first: bool) -> dict[str, float]:
    """Both feature queries into segflow.customer_features in one transaction, rolled back; their seconds."""
    seconds: dict[str, float] = {}
    conn = db.raw_connection()
    try:
        with conn.cursor() as cur:
            assert rollups.usable(cur, day, lookback_days), "the rollups do not describe the day"
            order = [(ROLLUPS, ROLLUP_ATTEMPT), (WINDOW, WINDOW_ATTEMPT)]
            target = sql.Identifier("segflow", "customer_features")
            for name, attempt in order if rollups_first else order[::-1]:
                params = {"attempt_id": attempt, "as_of": day, "lookback_days": lookback_days, "partition": 0}
                params["partitions"] = 1
                started = time.perf_counter()
                run_composed_named(cur, name, params, target=target)
                seconds[name] = time.perf_counter() - started
            cur.execute(DIFFERING, {"window": WINDOW_ATTEMPT, "rollups": ROLLUP_ATTEMPT})
            differing = cur.fetchone()[0]
            cur.execute("select count(*) from segflow.customer_features where attempt_id = %s", (ROLLUP_ATTEMPT,))
            seconds["customers"] = cur.fetchone()[0]
        if differing:
            raise SystemExit(f"{day}: {differing} customers differ between the two queries")
    finally:
        conn.rollback()
        conn.close()
    return seconds


def vacuum_features(db: Database) -> None:
    """The rolled-back 2M rows of a repeat are dead tuples in customer_features and its key: cleared before the
    next repeat writes there again (untimed)."""
    conn = db.raw_connection()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("vacuum segflow.customer_features")
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    settings, db = open_database(Settings(_env_file=None, home=args.home))  # type: ignore[call-arg]
    lookback = settings.lookback_days
    fold_s, fold = timed(lambda: aggregates.bring_current(db, settings))
    day = one_value(db, LAST_DAY)
    build_s, built = timed(lambda: rollups.bring_to(db, day, lookback))
    lines = one_value(db, LINES)
    print(
        f"{args.home}: {lines:,} lines; first fold {fold_s:.2f} s ({fold.action}); rollups as of {day}: "
        f"{built.action} in {build_s:.2f} s ({built.customers:,} customers; {built.reason or ''})",
        flush=True,
    )

    rows = []
    for repeat in range(args.repeats):
        day = day + timedelta(days=1)
        new_lines = one_value(db, NEW_DAY, {"day": day})
        fold_s, fold = timed(lambda: aggregates.bring_current(db, settings))
        roll_s, roll = timed(lambda: rollups.bring_to(db, day, lookback))  # noqa: B023
        queries = both_queries(db, day, lookback, rollups_first=repeat % 2 == 0)
        vacuum_features(db)
        row = {
            "day": day,
            "new_lines": new_lines,
            "keys": fold.keys,
            "fold": fold_s,
            "roll": roll_s,
            "rolled_customers": roll.customers,
            "window": queries[WINDOW],
            "rollups": queries[ROLLUPS],
            "customers": queries["customers"],
        }
        rows.append(row)
        print(
            f"{day}: {new_lines:,} new lines, {fold.keys:,} keys folded in {fold_s:.2f} s; rolled "
            f"{roll.customers:,} customers in {roll_s:.2f} s; features of {queries['customers']:,} customers: "
            f"window {queries[WINDOW]:.2f} s, rollups {queries[ROLLUPS]:.2f} s; equal",
            flush=True,
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    before = med("window")
    after = med("roll") + med("rollups")
    print(
        f"\nmedians of {len(rows)}: fold {med('fold'):.2f} s; before: window query {before:.2f} s; after: roll "
        f"{med('roll'):.2f} s + rollup query {med('rollups'):.2f} s = {after:.2f} s ({after / before:.2f}x)"
    )
    print(f"command: {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
