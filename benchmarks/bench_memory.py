"""Peak memory of each stage of a night (issue 11: every stage under 1 GB at 1M customers).

Run by hand (it is not a test), on a home that holds data, e.g. one that bench_nightly.py prepared:

    python benchmarks/bench_memory.py --home /tmp/bench-nightly-c1000000 --retrain always

It runs one night in this process, stage by stage and without Prefect (the stages are the same functions the
flow's tasks call), as of the day after the newest line. Before each stage it resets the process's peak resident
set (Linux: writing 5 to /proc/self/clear_refs) and after it reads VmHWM, so each figure is that stage's own peak:
what the process already held (interpreter, imports, earlier stages' leftovers) plus what the stage added at its
highest. PostgreSQL's memory is not included: the server is another process. The night is a real one (it
publishes); `--retrain always` trains a challenger, the stage that holds the most in Python.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a SEGFLOW_HOME that holds lines")
    parser.add_argument("--retrain", choices=["always", "never", "auto"], default="always")
    args = parser.parse_args()

    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.stages import nightly

    settings, db = open_database(Settings(_env_file=None, home=args.home))  # type: ignore[call-arg]
    as_of = db.run("queries/features/source_date_range")[0][1] + timedelta(days=1)
    with db.transaction() as cur:
        cur.execute("select count(*) from segflow.customer_firsts")
        customers = cur.fetchone()[0]
    print(f"home {args.home}: {customers:,} customers, night as of {as_of}, retrain={args.retrain}")
    print(f"after imports and connecting: {_status_mb('VmRSS'):.0f} MB resident")
    rows: list[tuple[str, float, float, float]] = []

    def runner(stage: Callable[..., Any], *stage_args: Any) -> Any:
        before = _status_mb("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        try:
            return stage(db, settings, *stage_args)
        finally:
            name = f"{stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__}"
            rows.append((name, time.perf_counter() - started, before, _status_mb("VmHWM")))

    nightly(runner, as_of, args.retrain)
    print(f"\n{'stage':<28} {'seconds':>8} {'RSS before':>11} {'peak':>8}")
    for name, seconds, before, peak in rows:
        print(f"{name:<28} {seconds:>8.2f} {before:>8.0f} MB {peak:>5.0f} MB")
    worst = max(rows, key=lambda row: row[3])
    print(f"\nlargest peak: {worst[0]} {worst[3]:.0f} MB ({'under' if worst[3] < 1024 else 'OVER'} 1 GB)")


if __name__ == "__main__":
    main()
