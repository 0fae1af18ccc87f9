"""Online and batch scoring against their naive ways: `segflow api` latency and throughput, `score-file` of 100k.

Run by hand (it is not a test), on a home with a champion (it runs `segflow demo` there when it has none):

    python benchmarks/bench_api.py --home /tmp/segflow-bench

It measures, each against real processes on loopback:

* /score          — single-customer POST /score to a real uvicorn (1 worker): p50/p95 latency of sequential
                    requests, then requests/s with 4 concurrent clients (threads, one httpx client each);
* naive what-if   — one `segflow score` CLI call per customer (the way before the API), timed over --cli-calls
                    calls and extrapolated;
* score-file      — `segflow score-file` of a generated 100k-row features CSV: wall time and the process's peak
                    RSS (from wait4), beside the same run on 10k rows (flat memory means the peaks are close);
* naive file      — pandas read-all + one Scorer.score of the whole frame + to_csv, in a fresh process: wall time
                    and peak RSS.

Goals (issue 12): p50 <= 20 ms, >= 200 requests/s at 4 clients, score-file 100k <= 5 s with flat memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from api_server import running_api

ROOT = Path(__file__).resolve().parents[1]


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")}
    env.update(SEGFLOW_HOME=str(home), PYTHONPATH=str(ROOT), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, peak RSS in MB, and the finished process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    done = subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), stdout, stderr)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, done


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"b{i}" for i in range(n)],
            "recency_days": rng.integers(0, 365, n),
            "frequency": rng.integers(1, 40, n),
            "monetary": np.round(rng.lognormal(6, 1.2, n), 2),
        }
    )


def bench_api(env: dict[str, str], requests: int) -> tuple[float, float, float]:
    with running_api(env, wait_seconds=60) as (_server, base):
        bodies = [
            {
                "customer_id": r.customer_id,
                "features": {"recency_days": r.recency_days, "frequency": r.frequency, "monetary": r.monetary},
            }
            for r in customers(requests, 1).astype(object).itertuples()
        ]
        with httpx.Client(base_url=base) as client:
            for body in bodies[:50]:  # warm-up: the model's first load, connection set-up
                client.post("/score", json=body).raise_for_status()
            latencies = []
            for body in bodies:
                started = time.perf_counter()
                client.post("/score", json=body).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
        p50 = statistics.median(latencies)
        p95 = float(np.percentile(latencies, 95))

        def client_loop(part: list[dict]) -> None:
            with httpx.Client(base_url=base) as own:
                for body in part:
                    own.post("/score", json=body).raise_for_status()

        threads = [threading.Thread(target=client_loop, args=(bodies[i::4],)) for i in range(4)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rate = len(bodies) / (time.perf_counter() - started)
        return p50, p95, rate


NAIVE_FILE = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from segflow.storage.db import Database
    from segflow.modelling.scoring import Scorer
    from segflow.settings import Settings
    frame = pd.read_csv(sys.argv[1])
    batch = Scorer.load(Database(Settings())).score(frame)
    batch.rows.to_csv(sys.argv[2], index=False)
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cli-calls", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    env = env_for(args.home)
    if not (args.home / "models").exists():
        print(f"no model in {args.home}: running segflow demo there first")
        timed([sys.executable, "-m", "segflow", "demo"], env)

    p50, p95, rate = bench_api(env, args.requests)

    cli = []
    for r in customers(args.cli_calls, 2).itertuples():
        cli.append(
            timed(
                [
                    sys.executable,
                    "-m",
                    "segflow",
                    "score",
                    "--recency",
                    str(r.recency_days),
                    "--frequency",
                    str(r.frequency),
                    "--monetary",
                    str(r.monetary),
                    "--json",
                ],
                env,
            )[0]
        )
    cli_each = statistics.median(cli)

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        big, small = work / "big.csv", work / "small.csv"
        customers(args.rows, 3).to_csv(big, index=False)
        customers(args.rows // 10, 4).to_csv(small, index=False)
        file_seconds, file_rss, done = timed(
            [sys.executable, "-m", "segflow", "score-file", str(big), "-o", str(work / "big.out.csv")], env
        )
        _, small_rss, _ = timed(
            [sys.executable, "-m", "segflow", "score-file", str(small), "-o", str(work / "small.out.csv")], env
        )
        naive_seconds, naive_rss, _ = timed(
            [sys.executable, "-c", NAIVE_FILE, str(big), str(work / "naive.out.csv")], env
        )
        assert pd.read_csv(work / "big.out.csv")["segment_key"].equals(
            pd.read_csv(work / "naive.out.csv")["segment_key"]
        )

    rows = [
        ("POST /score p50 (sequential)", f"{p50:.1f} ms", "<= 20 ms"),
        ("POST /score p95 (sequential)", f"{p95:.1f} ms", ""),
        ("POST /score, 4 concurrent clients", f"{rate:.0f} requests/s", ">= 200 requests/s"),
        (f"naive: `segflow score` per customer (median of {args.cli_calls})", f"{cli_each:.2f} s each", ""),
        (f"naive: {args.rows:,} customers one CLI call each", f"{cli_each * args.rows / 3600:.1f} h", ""),
        (f"score-file {args.rows:,} customers", f"{file_seconds:.2f} s", "<= 5 s"),
        (
            f"score-file peak RSS at {args.rows:,} / {args.rows // 10:,} rows",
            f"{file_rss:.0f} / {small_rss:.0f} MB",
            "flat",
        ),
        (f"naive: pandas read-all + score + to_csv, {args.rows:,}", f"{naive_seconds:.2f} s, {naive_rss:.0f} MB", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>22}  {goal}")
    print(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
