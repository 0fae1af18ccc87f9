"""What a CLI run costs beyond its work: the embedded Prefect server's first start, and a run when it is warm.

Run by hand (it is not a test):

    python benchmarks/bench_cli_startup.py --home /tmp/segflow-bench --repeats 3
    python benchmarks/bench_cli_startup.py --home /tmp/segflow-bench --compare-with /tmp/segflow-before

With an empty --home it first runs `segflow demo` there (5,000 demo customers). Then it measures, each a fresh
`python -m segflow` process timed from the outside:

* first start — `segflow prefect start` on a folder with no Prefect data (creates the SQLite schema, copies the
  UI), after `segflow prefect stop`;
* restart     — `segflow prefect start` after a stop, on the data the first start left;
* reuse       — `segflow prefect start` with the server running (imports + one health check);
* warm run    — `segflow run --as-of <the demo's last day>` with the server running (medians of --repeats).

--compare-with DIR runs the same `segflow run` with DIR's segflow and flows first on the import path (a checkout
of an older commit, e.g. `git archive e563d7c | tar -x -C DIR`, which used a throwaway Prefect API per command),
interleaved with this checkout's runs so both see the same machine load. The server listens on a free port
(SEGFLOW_PREFECT_PORT=0) unless the environment sets one. It stops the server at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def segflow(home: Path, *args: str, checkout: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # The commands' own Prefect files (not the server's) in the home too, away from the user's ~/.prefect.
    env.update(
        SEGFLOW_HOME=str(home), PREFECT_HOME=str(home / "prefect-client"), PREFECT_SERVER_ANALYTICS_ENABLED="false"
    )
    env.setdefault("SEGFLOW_PREFECT_PORT", "0")
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "segflow", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"segflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return elapsed, done


def last_day(home: Path) -> str:
    from segflow.data.features import transactions_summary
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings

    _, db = open_database(Settings(_env_file=None, home=home))
    return transactions_summary(db)["last_line_at"].date().isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="SEGFLOW_HOME to use (demo data made if empty)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-with", type=Path, help="a checkout of the segflow to compare with")
    options = parser.parse_args()
    home = options.home.resolve()
    os.environ["SEGFLOW_HOME"] = str(home)
    figures: dict[str, object] = {}
    try:
        if not (home / "pg").exists():
            figures["demo_seconds"] = round(segflow(home, "demo")[0], 2)
        as_of = last_day(home)

        segflow(home, "prefect", "stop")
        shutil.rmtree(home / "prefect", ignore_errors=True)
        figures["first_start_seconds"] = round(segflow(home, "prefect", "start")[0], 2)
        segflow(home, "prefect", "stop")
        figures["restart_seconds"] = round(segflow(home, "prefect", "start")[0], 2)
        figures["reuse_seconds"] = round(segflow(home, "prefect", "start")[0], 2)

        segflow(home, "run", "--as-of", as_of)  # the first run against a new server registers the flow
        warm, before = [], []
        for _ in range(options.repeats):
            if options.compare_with:
                before.append(segflow(home, "run", "--as-of", as_of, checkout=options.compare_with)[0])
            warm.append(segflow(home, "run", "--as-of", as_of)[0])
        figures["warm_run_seconds"] = [round(t, 2) for t in warm]
        figures["warm_run_median"] = round(statistics.median(warm), 2)
        if before:
            figures["compared_run_seconds"] = [round(t, 2) for t in before]
            figures["compared_run_median"] = round(statistics.median(before), 2)
        figures["load_average"] = os.getloadavg()
    finally:
        segflow(home, "prefect", "stop")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
