"""What consecutive nights leave on disk (issue 25): bytes per night beside the transactions they come from.

Run by hand (it is not a test):

    python benchmarks/bench_storage.py --customers 100000 --nights 30

In one home (<home-prefix>c<N>, or <home-prefix>c<N>-sql with --generator sql; generated and trained once by
bench_nightly.py's prepare step, kept between invocations), after one untimed warm-up night, each night adds one
new day of lines by plain SQL (bench_nightly's NEW_DAY: about 0.3 % of all lines) and runs `segflow run --as-of
DAY --retrain never` (a whole process, warm servers). After every night it reads the size of each table of the
segflow schema (pg_total_relation_size: heap, indexes, TOAST; a partitioned table's partitions counted under their
parent) and prints what grew.

The goal compares what segflow itself keeps with its input: the growth of everything except the transaction lines
themselves (segflow.transactions grows by the new days' lines whatever segflow does) must stay <= 10 % of the
transactions table's size over 30 nights. Groups printed: transactions (input), aggregates (kept current from the
lines), per-run rows (assignments, features, ranges, samples), everything else.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nightly import Bench, Home, prefect_server, private_runtime_dir

# Every table of the schema with its partitions' and indexes' bytes under the top-level table's name.
TABLE_SIZES = """
with recursive tree as (
    select c.oid as top, c.oid as rel
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'segflow' and c.relkind in ('r', 'p') and not c.relispartition
    union all
    select t.top, i.inhrelid from tree as t join pg_inherits as i on i.inhparent = t.rel
)
select top::regclass::text, sum(pg_total_relation_size(rel))::bigint
from tree
group by top
"""
DATABASE_SIZE = "select pg_database_size(current_database())"
INPUT = ("segflow.transactions",)
AGGREGATES = (
    "segflow.invoice_day_totals",
    "segflow.customer_firsts",
    "segflow.daily_line_totals",
    "segflow.changed_line_keys",
    "segflow.aggregate_state",
)
PER_RUN = ("segflow.segment_assignments", "segflow.customer_features", "segflow.segment_ranges", "segflow.run_samples")
GOAL_SHARE = 0.10  # of the transactions table, over the nights measured (the issue: 30 nights)


@dataclass(frozen=True)
class Sizes:
    """Bytes per top-level table of the segflow schema, and the whole database's."""

    tables: dict[str, int]
    database: int

    def group(self, names: tuple[str, ...]) -> int:
        return sum(size for table, size in self.tables.items() if table in names)

    @property
    def other(self) -> int:
        return sum(self.tables.values()) - self.group(INPUT + AGGREGATES + PER_RUN)


def sizes(bench: Bench, home: Path) -> Sizes:
    import psycopg2

    conn = psycopg2.connect(bench.urls[home])
    try:
        with conn, conn.cursor() as cur:
            cur.execute(TABLE_SIZES)
            tables = {name: int(size) for name, size in cur.fetchall()}
            cur.execute(DATABASE_SIZE)
            row = cur.fetchone()
            assert row is not None  # an aggregate without GROUP BY always returns one row
            database = row[0]
    finally:
        conn.close()
    return Sizes(tables, int(database))


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f}"


def growth_line(label: str, before: Sizes, after: Sizes) -> str:
    parts = [
        ("input", INPUT),
        ("aggregates", AGGREGATES),
        ("per-run", PER_RUN),
    ]
    cells = [f"{name} {mb(after.group(names) - before.group(names))}" for name, names in parts]
    cells.append(f"other {mb(after.other - before.other)}")
    return f"{label}: database +{mb(after.database - before.database)} MB ({', '.join(cells)} MB)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument(
        "--generator",
        choices=["python", "sql"],
        default="python",
        help="as bench_nightly.py's: segflow generate, or inside PostgreSQL (the home is <prefix>c<N>-sql)",
    )
    parser.add_argument("--home-prefix", default="/tmp/bench-nightly-", help="the home is <prefix>c<N>")
    args = parser.parse_args()

    private_runtime_dir(args.home_prefix)
    suffix = "-sql" if args.generator == "sql" else ""  # the same home bench_nightly.py --generator sql builds
    home = Home(Path(f"{args.home_prefix}c{args.customers}{suffix}"), args.customers, 365, args.generator)
    prefect_home = Path(
        tempfile.mkdtemp(prefix=f"{Path(args.home_prefix).name}prefect-", dir=Path(args.home_prefix).parent)
    )
    started = time.perf_counter()
    try:
        with prefect_server(prefect_home) as api_url:
            bench = Bench(api_url, prefect_home)
            try:
                print(f"{home.path}: {bench.prepare(home)}", flush=True)
                print(f"warm-up night: {bench.warm_up(home.path):.1f} s", flush=True)
                first = previous = sizes(bench, home.path)
                walls = []
                for night in range(1, args.nights + 1):
                    day = bench.last_day(home.path) + timedelta(days=1)
                    figures = bench.night(home.path, day)
                    walls.append(figures.wall_s)
                    now = sizes(bench, home.path)
                    print(f"{growth_line(f'night {night} ({day}, {figures.wall_s:.1f} s)', previous, now)}", flush=True)
                    previous = now
                report(first, previous, args.nights, walls)
            finally:
                if home.path in bench.urls:
                    bench.stop_database(home.path)
    finally:
        shutil.rmtree(prefect_home, ignore_errors=True)
    print(f"\ncommand: {' '.join(sys.argv)}  ({time.perf_counter() - started:.0f} s in all)")


def report(first: Sizes, last: Sizes, nights: int, walls: list[float]) -> None:
    transactions = first.group(INPUT)
    kept = (last.database - first.database) - (last.group(INPUT) - first.group(INPUT))
    print(f"\n{growth_line(f'{nights} nights', first, last)}")
    print(f"transactions table before the nights: {mb(transactions)} MB")
    print(f"segflow's own growth (database minus the new lines' table): {mb(kept)} MB, {mb(kept / nights)} MB a night")
    share = kept / transactions if transactions else float("nan")
    verdict = "met" if share <= GOAL_SHARE * nights / 30 else "missed"
    print(
        f"goal: <= {GOAL_SHARE:.0%} of the transactions table over 30 nights; measured {share:.1%} over {nights} "
        f"({share * 30 / nights:.1%} scaled to 30): {verdict}"
    )
    largest = sorted(last.tables.items(), key=lambda item: -item[1])[:8]
    print("largest tables now: " + ", ".join(f"{name} {mb(size)} MB" for name, size in largest))
    if walls:
        walls = sorted(walls)
        print(f"nights' wall time: median {walls[len(walls) // 2]:.1f} s")


if __name__ == "__main__":
    main()
