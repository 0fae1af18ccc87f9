"""The nightly's per-customer work (features + scoring + assignment writes) in one process vs split into customer
partitions, in this process or on a Dask LocalCluster of worker processes.

    python benchmarks/bench_partitions.py --customers 1000000 --home /tmp/bench-1m --repeats 3

Each configuration is a real `segflow run --retrain never` (the champion scores, as on most nights) in a fresh
process reporting to the home's embedded Prefect server; the figures are the run's own stage seconds (features:
the partitions' wall time plus cut points; score: the partitions plus statistics), medians over the repeats, and the
whole process. The home's lines are generated once and its first champion trained once (reused by a later
invocation with the same --home). On a 2-core machine this shows correctness and overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

END = date(2024, 12, 30)
SEED = 42
# (label, SEGFLOW_PARTITIONS, SEGFLOW_DASK_ADDRESS)
CONFIGS = (
    ("one process, 1 partition", 1, ""),
    ("one process, 4 partitions", 4, ""),
    ("one process, 16 partitions", 16, ""),
    ("LocalCluster 2 workers, 2 partitions", 2, "local:2"),
    ("LocalCluster 2 workers, 4 partitions", 4, "local:2"),
    ("LocalCluster 2 workers, 16 partitions", 16, "local:2"),
)


def segflow(home: Path, *args: str, **env: str) -> tuple[float, str]:
    """Run the segflow command as a user would; its wall seconds and output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    full_env.update(SEGFLOW_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", **env)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "segflow", *args], env=full_env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"segflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, done.stdout


def query(home: Path, statement: str) -> object:
    """The first value of a query on the home's database."""
    import psycopg2

    _, url = segflow(home, "db", "url")
    with psycopg2.connect(url.strip()) as conn, conn.cursor() as cur:
        cur.execute(statement)
        row = cur.fetchone()
    conn.close()
    return row[0] if row else None


def prepare(home: Path, customers: int, days: int) -> None:
    """The home's lines and first champion, once."""
    start = END - timedelta(days=days - 1)
    seconds, out = segflow(home, "generate", "--customers", str(customers), "--days", str(days), "--start", str(start))
    print(f"generate: {seconds:.1f}s {out.strip().splitlines()[-1] if out.strip() else ''}", flush=True)
    if not query(home, "select count(*) from segflow.run_attempts where status = 'published'"):
        seconds, _ = segflow(home, "run", "--as-of", END.isoformat(), "--retrain", "always")
        print(f"first champion: {seconds:.1f}s", flush=True)


def stage_seconds(home: Path) -> dict[str, float]:
    """The newest attempt's stage seconds."""
    figures = query(home, "select stage_seconds from segflow.run_attempts order by attempt_id desc limit 1")
    assert isinstance(figures, dict)
    return {stage: float(seconds) for stage, seconds in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--home", type=Path, required=True, help="segflow home (reused when it has the lines)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prepare(args.home, args.customers, args.days)

    rows = []
    for label, partitions, address in CONFIGS:
        nights = []
        for _ in range(args.repeats):
            whole, _ = segflow(
                args.home,
                "run",
                "--as-of",
                END.isoformat(),
                "--retrain",
                "never",
                SEGFLOW_PARTITIONS=str(partitions),
                SEGFLOW_DASK_ADDRESS=address,
            )
            stages = stage_seconds(args.home)
            nights.append((stages["features"], stages["score"], whole))
            print(f"  {label}: features {stages['features']:.1f}s score {stages['score']:.1f}s run {whole:.1f}s")
        features, score, whole = (statistics.median(n[i] for n in nights) for i in range(3))
        rows.append((label, partitions, features, score, features + score, whole))

    base = rows[0][4]
    print(f"\n{args.customers:,} customers, medians of {args.repeats} runs (features + score + write, seconds)")
    print(f"{'configuration':40} {'features':>9} {'score':>7} {'f+s':>7} {'vs 1':>6} {'whole run':>10}")
    for label, _, features, score, both, whole in rows:
        print(f"{label:40} {features:9.1f} {score:7.1f} {both:7.1f} {both / base:5.2f}x {whole:10.1f}")
    in_process = {p: both for label, p, _, _, both, _ in rows if label.startswith("one process")}
    if 16 in in_process:
        per_partition = (in_process[16] - in_process[1]) / 15
        print(f"overhead per extra partition in one process: {per_partition:.2f}s ((16 partitions - 1) / 15)")


if __name__ == "__main__":
    main()
