"""Segment history as ranges (issue 25): what writing a night into segflow.segment_ranges costs, and what the
ranges weigh against a night of per-customer assignment rows.

    python benchmarks/bench_history_ranges.py --customers 1000000 --home /tmp/ranges-home

Synthetic published nights go straight into segflow.segment_assignments (set-based, 5 segments; a --moved share of
the customers takes another segment each night and comes back the night after), then publish's step 5
(sql/queries/publish/5_segment_ranges.sql, and its merge statements when it asks for them) writes each into the
ranges: a first night (every range new), nightlies, a retrain night (every customer's cluster changes: a
whole-population write), and a backfill between the first two. The home gets an embedded PostgreSQL of its own:
stop it (`SEGFLOW_HOME=... segflow db stop`) and delete the folder afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

NIGHT = """
insert into segflow.segment_assignments (
    attempt_id, customer_id, segment_key, segment_name, action, model_version, cluster_key, distance, confidence
)
select %(attempt)s, 'c' || i, 'S' || k, 'name ' || k, 'act', null, %(model)s || k, random(), random()
from (
    select i, case when abs(hashint4(i + %(salt)s)) %% 1000 < %(moved)s then 1 + abs(hashint4(i * 7 + %(salt)s)) %% 5
        else 1 + abs(hashint4(i)) %% 5 end as k
    from generate_series(1, %(customers)s) as i
) as g
"""


def segflow(home: Path, *args: str) -> str:
    env = dict(os.environ, SEGFLOW_HOME=str(home))
    done = subprocess.run([sys.executable, "-m", "segflow", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--moved", type=float, default=0.02, help="share of customers given another segment a night")
    parser.add_argument("--home", type=Path, required=True)
    options = parser.parse_args()

    import psycopg2

    from segflow.stages.publish import MERGE_RANGES_STEP
    from segflow.storage.db import read_sql

    segflow(options.home, "db", "start")
    segflow(options.home, "db", "upgrade")
    conn = psycopg2.connect(segflow(options.home, "db", "url"))
    cur = conn.cursor()
    cur.execute("select count(*) from segflow.run_keys")
    if cur.fetchone()[0]:
        sys.exit(f"{options.home} already has runs: use a fresh --home")
    print(f"{options.customers:,} customers, ~{options.moved:.1%} given another segment a night")
    nights = [("2026-01-01", "first night"), ("2026-01-08", "nightly"), ("2026-01-15", "nightly")]
    nights += [("2026-01-22", "retrain"), ("2026-01-29", "nightly"), ("2026-01-04", "backfill")]
    for salt, (as_of, what) in enumerate(nights):
        cur.execute("insert into segflow.run_keys (as_of) values (%s)", (as_of,))
        cur.execute(
            "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start, "
            "published_at) select run_id, as_of, 'published', array['x'], 365, as_of - 365, now() "
            "from segflow.run_keys where as_of = %s returning attempt_id",
            (as_of,),
        )
        attempt = cur.fetchone()[0]
        moved = 0 if salt == 0 else round(options.moved * 1000)
        model = "v2-S" if as_of >= "2026-01-22" else "S"
        night = {"attempt": attempt, "salt": salt, "moved": moved, "customers": options.customers, "model": model}
        cur.execute(NIGHT, night)
        cur.execute("analyze segflow.segment_assignments")
        conn.commit()
        started = time.perf_counter()
        cur.execute(read_sql("queries/publish/5_segment_ranges"), {"attempt_id": attempt})
        merged = cur.fetchone()[0]
        if merged:
            cur.execute(read_sql(MERGE_RANGES_STEP), {"attempt_id": attempt})
        conn.commit()
        seconds = time.perf_counter() - started
        what += " +merge" if merged else ""
        cur.execute("select count(*), pg_total_relation_size('segflow.segment_ranges') from segflow.segment_ranges")
        rows, size = cur.fetchone()
        print(f"{as_of} {what:17s}  step 5 {seconds:6.2f} s   ranges {rows:>11,} rows {size / 1e6:7.0f} MB")
    cur.execute("select pg_total_relation_size('segflow.segment_assignments')")
    size = cur.fetchone()[0]
    per_night = size / len(nights) / 1e6
    print(f"segment_assignments of the {len(nights)} nights: {size / 1e6:.0f} MB ({per_night:.0f} MB a night)")
    conn.close()


if __name__ == "__main__":
    main()
