"""How fast the set-based generator fills a home, and how close its distributions are to `segflow generate`'s.

Run by hand (it is not a test):

    python benchmarks/bench_generator.py --customers 100000 --customers 1000000      # lines/s, SQL generator
    python benchmarks/bench_generator.py --customers 100000 --parts 1 --parts 2      # one part vs two
    python benchmarks/bench_generator.py --customers 20000 --compare                 # both generators side by side

Each size (and number of parts; default the CPU count) gets a fresh embedded home (<home-prefix>g<N>[p<parts>],
deleted afterwards unless --keep) with the spec bench_nightly.py uses (365 days ending 2025-12-31, seed 7). The SQL
generator's time includes recording the import batch and folding the lines into the aggregates, as `segflow
generate`'s does. With --compare the Python generator writes the same spec into the same home (another batch) and
both batches' per-customer frequency (distinct invoices) and monetary (purchase amount) quantiles, lines per order,
quantities, prices, dirty-line shares and month/weekday shares are printed side by side. For a home to benchmark
nights on, use `bench_nightly.py --generator sql`, which keeps it. A fresh home takes the fresh-home path (no change
capture: the aggregates are rebuilt anyway); --one-line-first writes one line before, so the parts capture their
changes as into any home with lines.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

END = date(2025, 12, 31)
DAYS = 365
SEED = 7
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)

DISTRIBUTIONS = """
with lines as (select * from segflow.transactions where batch_id = %(batch_id)s),
per_customer as (
    select
        count(distinct invoice_id) filter (where invoice_id not like 'C%%') as frequency,
        coalesce(sum(quantity * unit_price) filter (where invoice_id not like 'C%%' and unit_price > 0), 0) as monetary
    from lines where customer_id is not null group by customer_id
),
orders as (select count(*) as lines from lines where invoice_id not like 'C%%' group by invoice_id)
select
    (select percentile_cont(%(q)s) within group (order by frequency) from per_customer) as frequency,
    (select percentile_cont(%(q)s) within group (order by monetary) from per_customer) as monetary,
    (select avg(lines) from orders) as lines_per_order,
    (select percentile_cont(%(q)s) within group (order by quantity) from lines where quantity > 0) as quantity,
    (select percentile_cont(%(q)s) within group (order by unit_price) from lines where unit_price > 0) as price,
    (select 100 * avg((customer_id is null)::int) from lines) as guest_line_pct,
    (select 100 * avg((invoice_id like 'C%%')::int) from lines) as cancelled_line_pct,
    (select 100 * avg((unit_price <= 0)::int) from lines) as adjustment_line_pct,
    (select array_agg(share order by m) from (
        select extract(month from invoiced_at at time zone 'UTC') as m,
            round(100.0 * count(*) / sum(count(*)) over (), 1) as share
        from lines group by 1) as s) as month_pct,
    (select array_agg(share order by d) from (
        select extract(dow from invoiced_at at time zone 'UTC') as d,
            round(100.0 * count(*) / sum(count(*)) over (), 1) as share
        from lines group by 1) as s) as weekday_pct_sun_first
"""


ONE_LINE = """
insert into segflow.transactions (invoice_id, quantity, unit_price, invoiced_at) values ('X1', 1, 1, '2024-01-01')
"""


def measure(home: Path, customers: int, parts: int | None, compare: bool, one_line_first: bool) -> None:
    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.data.generate_in_database import generate_in_database
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings

    _, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    spec = GeneratorSpec(customers=customers, days=DAYS, seed=SEED, start=END - timedelta(days=DAYS - 1))
    if one_line_first:
        with db.transaction() as cur:
            cur.execute(ONE_LINE)
    started = time.perf_counter()
    in_db = generate_in_database(db, spec, parts)
    seconds = time.perf_counter() - started
    print(
        f"{customers:>10,} customers  sql generator, {in_db.chunks} parts: {in_db.lines:>12,} lines "
        f"in {seconds:8.1f} s "
        f"= {in_db.lines / seconds:>9,.0f} lines/s ({in_db.lines / customers:.2f} lines per customer)",
        flush=True,
    )
    if not compare:
        return
    started = time.perf_counter()
    python = generate_transactions(db, spec)
    seconds = time.perf_counter() - started
    print(
        f"{customers:>10,} customers  segflow generate: {python.lines:>9,} lines in {seconds:8.1f} s "
        f"= {python.lines / seconds:>9,.0f} lines/s ({python.lines / customers:.2f} lines per customer)",
        flush=True,
    )
    sql_figures = _distributions(db, in_db.batch_id)
    python_figures = _distributions(db, python.batch_id)
    print(f"{'':22} {'segflow generate':>44}   {'in the database':>44}")
    for name in sql_figures:
        print(f"{name:22} {_shown(python_figures[name]):>44}   {_shown(sql_figures[name]):>44}")
    print(f"(quantiles at {', '.join(str(q) for q in QUANTILES)})")


def _distributions(db: Any, batch_id: int | None) -> dict[str, Any]:
    with db.transaction() as cur:
        cur.execute(DISTRIBUTIONS, {"batch_id": batch_id, "q": list(QUANTILES)})
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(f"{float(v):.4g}" for v in value)
    return f"{float(value):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, action="append", help="customer counts (repeatable)")
    parser.add_argument("--parts", type=int, action="append", help="parts written at once (repeatable)")
    parser.add_argument("--one-line-first", action="store_true", help="not the fresh-home path: capture changes")
    parser.add_argument("--compare", action="store_true", help="also run segflow generate and compare distributions")
    parser.add_argument("--home-prefix", default="/tmp/bench-generator-", help="homes are <prefix>g<N>")
    parser.add_argument("--keep", action="store_true", help="keep the homes (their PostgreSQL stopped)")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(message)s")
    logging.getLogger("segflow.data.generate_in_database").setLevel(logging.INFO)
    from segflow.storage import embedded

    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(f"{args.home_prefix}xdg")))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    for customers in args.customers or [20_000]:
        for parts in args.parts or [None]:
            home = Path(f"{args.home_prefix}g{customers}" + (f"p{parts}" if parts else ""))
            try:
                measure(home, customers, parts, args.compare, args.one_line_first)
            finally:
                embedded.stop(home / "pg")
                if not args.keep:
                    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
