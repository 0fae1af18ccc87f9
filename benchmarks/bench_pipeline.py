"""Benchmark the nightly scoring run against the naive way and a plain SQL aggregate + COPY.

Run by hand (it is not a test):

    python benchmarks/bench_pipeline.py --customers 100000 --customers 1000000 --repeats 3

For each size it generates customers into an embedded PostgreSQL under --home (kept between runs
so a second invocation skips generation), trains once, then measures, each in a fresh process:

* segflow    — a nightly scoring run (features + score + publish, no training), per stage, and peak RSS;
* naive      — read_sql of every transaction line, pandas groupby for R/F/M, to_sql of the result;
* sql+copy   — segflow's line-based feature query (queries/features/compute_rfm_features_from_lines: the same
               rules, duplicates once, returns, tenure, over every line; what nights ran before the aggregates of
               issue 11) as a bare SELECT, COPY of its rows out, COPY of as many assignment rows back in: the floor
               for "aggregate every line where the data is, then write back";
* plain+copy — the simplest RFM GROUP BY (no de-duplication, no returns), COPY out, COPY back in.

It prints medians, the ratios the issue asks about, and peak RSS of each process. For the nightly's cost when one
day of lines arrived (issue 11), whole processes against the plain aggregate, see bench_nightly.py.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

START = date(2025, 1, 1)
DAYS = 365
AS_OF = START + timedelta(days=DAYS - 1)

PLAIN_AGGREGATE = """
copy (
    select customer_id,
           %(as_of)s::date - max(invoiced_at)::date as recency_days,
           count(distinct invoice_id) as frequency,
           sum(quantity * unit_price) as monetary
    from segflow.transactions
    where customer_id is not null and quantity > 0 and unit_price > 0 and invoice_id not like 'C%%'
      and invoiced_at < (%(as_of)s::date + 1)
    group by customer_id
) to stdout with (format csv)
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings_for(home: Path):
    from segflow.settings import Settings

    return Settings(_env_file=None, home=home)


def step_prepare(home: Path, customers: int) -> dict:
    from segflow.data.features import transactions_summary
    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.orchestration.runtime import open_database
    from segflow.stages import run_nightly

    settings, db = open_database(settings_for(home))
    started = time.perf_counter()
    result = generate_transactions(db, GeneratorSpec(customers=customers, days=DAYS, seed=7, start=START))
    generated = time.perf_counter() - started
    lines = transactions_summary(db)["lines"]
    with db.transaction() as cur:
        cur.execute("analyze segflow.transactions")
    trained = 0.0
    if not db.run("queries/registry/champion_version"):
        started = time.perf_counter()
        run_nightly(db, settings, AS_OF, retrain="auto")
        trained = time.perf_counter() - started
    return {
        "lines": lines,
        "generate_s": None if result.already_generated else generated,
        "train_run_s": trained,
        "rss_mb": peak_rss_mb(),
    }


def step_segflow(home: Path) -> dict:
    from segflow.orchestration.runtime import open_database
    from segflow.stages import run_nightly

    settings, db = open_database(settings_for(home))
    started = time.perf_counter()
    attempt = run_nightly(db, settings, AS_OF, retrain="never")
    wall = time.perf_counter() - started
    with db.transaction() as cur:
        cur.execute("select stage_seconds from segflow.run_attempts where attempt_id = %s", (attempt,))
        seconds = cur.fetchone()[0]
    core = seconds.get("fold", 0.0) + seconds["features"] + seconds["score"] + seconds["publish"]
    return {"wall_s": wall, "core_s": core, "stages": seconds, "rss_mb": peak_rss_mb()}


def step_naive(home: Path) -> dict:
    import pandas as pd

    from segflow.orchestration.runtime import open_database

    _, db = open_database(settings_for(home))
    engine = db.engine()
    started = time.perf_counter()
    lines = pd.read_sql("select * from segflow.transactions", engine)
    lines = lines[
        lines["customer_id"].notna()
        & (lines["quantity"] > 0)
        & (lines["unit_price"] > 0)
        & ~lines["invoice_id"].str.startswith("C")
    ].drop_duplicates()
    lines["amount"] = lines["quantity"].astype(float) * lines["unit_price"].astype(float)
    rfm = lines.groupby("customer_id").agg(
        last=("invoiced_at", "max"), frequency=("invoice_id", "nunique"), monetary=("amount", "sum")
    )
    rfm["recency_days"] = (pd.Timestamp(AS_OF, tz="UTC") - rfm["last"]).dt.days
    rfm.drop(columns="last").reset_index().to_sql(
        "naive_rfm", engine, schema="public", if_exists="replace", index=False, chunksize=50_000
    )
    return {"wall_s": time.perf_counter() - started, "rows": len(rfm), "rss_mb": peak_rss_mb()}


def same_rules_aggregate(home: Path):  # returns a psycopg2 Composed
    """segflow's line-based feature query without its INSERT, over the configured source: the same rules over every
    line, as a plain SELECT."""
    from psycopg2 import sql

    from segflow.data.features import source_parts
    from segflow.storage.sqlfiles import read_sql

    text = read_sql("queries/features/compute_rfm_features_from_lines")
    select = text[text.index("with params as") :]
    return sql.SQL("copy (" + select + ") to stdout with (format csv)").format(**source_parts(settings_for(home)))


def step_sql_copy(home: Path) -> dict:
    return _aggregate_and_copy(home, same_rules_aggregate(home), tune=True)


def step_plain_copy(home: Path) -> dict:
    return _aggregate_and_copy(home, PLAIN_AGGREGATE, tune=False)


def _aggregate_and_copy(home: Path, query, tune: bool) -> dict:  # query: str or psycopg2 Composed
    from segflow.orchestration.runtime import open_database
    from segflow.storage.db import run_named

    _, db = open_database(settings_for(home))
    started = time.perf_counter()
    out = io.StringIO()
    conn = db.raw_connection()
    try:
        with conn, conn.cursor() as cur:
            if tune:
                run_named(cur, "queries/features/tune_feature_aggregation")
            params = {"as_of": AS_OF, "attempt_id": 0, "lookback_days": 365}
            text = query if isinstance(query, str) else query.as_string(cur)
            cur.copy_expert(cur.mogrify(text, params).decode(), out)
            rows = out.getvalue().count("\n")
            cur.execute(
                "create temporary table bench_assignments (customer_id text, segment_key text,"
                " distance float8, confidence float8) on commit drop"
            )
            out.seek(0)
            column = 1 if tune else 0  # the same-rules query starts with the attempt id
            back = io.StringIO("".join(f"{line.split(',')[column]}\tS1\t0.5\t0.5\n" for line in out))
            cur.copy_expert("copy bench_assignments from stdin", back)
    finally:
        conn.close()
    return {"wall_s": time.perf_counter() - started, "rows": rows, "rss_mb": peak_rss_mb()}


STEPS = {
    "prepare": step_prepare,
    "segflow": step_segflow,
    "naive": step_naive,
    "sql_copy": step_sql_copy,
    "plain_copy": step_plain_copy,
}


def run_step(step: str, home: Path, customers: int) -> dict:
    command = [sys.executable, __file__, "--step", step, "--home", str(home), "--customers", str(customers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, action="append", help="customer counts (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-naive-above",
        type=int,
        default=2_000_000,
        help="customer counts above this skip the naive way (it needs several GB)",
    )
    parser.add_argument("--home", type=Path, default=Path("/tmp/segflow-bench"))
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        customers = args.customers[0]
        result = STEPS[args.step](args.home, customers) if args.step == "prepare" else STEPS[args.step](args.home)
        print(json.dumps(result, default=str))
        return
    for customers in args.customers or [100_000]:
        home = args.home / f"c{customers}"
        home.mkdir(parents=True, exist_ok=True)
        prepared = run_step("prepare", home, customers)
        print(
            f"\n== {customers:,} customers, {prepared['lines']:,} lines "
            f"(generate {prepared['generate_s'] or 'reused'} s, training run {prepared['train_run_s']:.1f} s)"
        )
        results: dict[str, list[dict]] = {"segflow": [], "naive": [], "sql_copy": [], "plain_copy": []}
        for _ in range(args.repeats):
            for step in results:
                if step == "naive" and customers > args.skip_naive_above:
                    continue
                results[step].append(run_step(step, home, customers))
        report(results)
        from segflow.storage import embedded

        embedded.stop(home / "pg")


def report(results: dict[str, list[dict]]) -> None:
    def median(step: str, key: str) -> float:
        return statistics.median(r[key] for r in results[step]) if results[step] else float("nan")

    core, sql_copy, naive = median("segflow", "core_s"), median("sql_copy", "wall_s"), median("naive", "wall_s")
    plain = median("plain_copy", "wall_s")
    stages = {k: statistics.median(r["stages"][k] for r in results["segflow"]) for k in results["segflow"][0]["stages"]}
    print("segflow stages (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items())))
    print(
        f"segflow fold+features+score+publish: {core:.2f} s   (whole run {median('segflow', 'wall_s'):.2f} s, "
        f"peak RSS {median('segflow', 'rss_mb'):.0f} MB)"
    )
    print(
        f"same-rules SQL aggregate + COPY out/in: {sql_copy:.2f} s   (peak RSS {median('sql_copy', 'rss_mb'):.0f} MB)"
    )
    print(f"plain SQL aggregate + COPY out/in:      {plain:.2f} s   (peak RSS {median('plain_copy', 'rss_mb'):.0f} MB)")
    print(f"naive read_sql+groupby+to_sql:  {naive:.2f} s   (peak RSS {median('naive', 'rss_mb'):.0f} MB)")
    print(
        f"ratios: segflow / same-rules sql+copy = {core / sql_copy:.2f}x, segflow / plain sql+copy = "
        f"{core / plain:.2f}x, naive / segflow = {naive / core:.1f}x (medians of {len(results['segflow'])} runs)"
    )


if __name__ == "__main__":
    main()
