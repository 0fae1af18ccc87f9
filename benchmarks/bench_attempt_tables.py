"""Features and score seconds of scoring nights, and the bytes the per-customer tables hold (issue 25, per-attempt
tables). Runs against an existing home whose champion is trained (`segflow generate`, then one night), with whatever
segflow is on PYTHONPATH, so the same copy of a home measures main and this branch side by side:

    SEGFLOW_HOME=/tmp/h python benchmarks/bench_attempt_tables.py --as-of 2025-12-31 --nights 3

Each night reruns the same as-of date with the champion (retrain never): features and score write every customer.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from segflow.settings import Settings
from segflow.stages import run_nightly
from segflow.storage.db import Database
from segflow.storage.migrations import ensure_migrated

SIZES = """
select coalesce(sum(pg_total_relation_size(c.oid)), 0)
from pg_class as c
where c.relnamespace = 'segflow'::regnamespace and c.relkind = 'r'
    and (c.relname like 'customer_features%%' or c.relname like 'segment_assignments%%')
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--nights", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    db = Database(settings)
    started = time.perf_counter()
    ensure_migrated(db)
    print(f"migrate: {time.perf_counter() - started:.1f} s")
    seconds: dict[str, list[float]] = {"features": [], "score": [], "publish": [], "night": []}
    for night in range(args.nights):
        started = time.perf_counter()
        attempt = run_nightly(db, settings, args.as_of, "never", allow_stale_source=True)
        seconds["night"].append(time.perf_counter() - started)
        with db.transaction() as cur:
            cur.execute("select stage_seconds from segflow.run_attempts where attempt_id = %s", (attempt,))
            stages = cur.fetchone()[0]
            cur.execute(SIZES, {})
            size = cur.fetchone()[0]
        for stage in ("features", "score", "publish"):
            seconds[stage].append(float(stages.get(stage, 0.0)))
        print(
            f"night {night + 1}: attempt {attempt}, features {seconds['features'][-1]:.2f} s, score "
            f"{seconds['score'][-1]:.2f} s, publish {seconds['publish'][-1]:.2f} s, whole {seconds['night'][-1]:.1f} s;"
            f" per-customer tables {size / 2**20:.0f} MiB"
        )
    medians = {stage: statistics.median(values) for stage, values in seconds.items()}
    print(
        f"median of {args.nights}: features {medians['features']:.2f} s, score {medians['score']:.2f} s, "
        f"features+score {medians['features'] + medians['score']:.2f} s, publish {medians['publish']:.2f} s, "
        f"whole night {medians['night']:.1f} s"
    )


if __name__ == "__main__":
    main()
