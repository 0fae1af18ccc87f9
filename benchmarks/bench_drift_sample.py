"""What the monitor stage costs at a customer count, before and after drift on a stored per-run sample (issue 25).

Run by hand (it is not a test), once per code version on the same home:

    python benchmarks/bench_drift_sample.py --home /tmp/ds-100k --customers 100000 prepare
    python benchmarks/bench_drift_sample.py --home /tmp/ds-100k measure            # repeat: medians by hand

`prepare` generates the home's lines (365 days ending 2025-12-31) and runs two nights (the first trains), so the
latest run has a 'previous' and a 'training' reference. `measure`, in a fresh process, times on the latest
published attempt: the drift check (both Evidently reports and their figures, monitor.check_drift), the publish
summary statement (queries/publish/4_segment_summary: per-segment medians) and the segment page
(monitor.segment_report); with the sample code it first fills the attempts' samples when they have none (timed
apart: in a night that is part of score.finish). It prints one JSON line: seconds per part and the process's peak
RSS after imports and at the end (ru_maxrss; PostgreSQL's own memory is not included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

END = date(2025, 12, 31)
SEED = 7


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def prepare(home: Path, customers: int) -> dict[str, Any]:
    from segflow.data.generate import GeneratorSpec, generate_transactions
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.stages import run_nightly

    settings, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    started = time.perf_counter()
    generate_transactions(db, GeneratorSpec(customers=customers, days=365, seed=SEED, start=END - timedelta(364)))
    generated = time.perf_counter() - started
    run_nightly(db, settings, END - timedelta(days=1), retrain="always")
    run_nightly(db, settings, END, retrain="never")
    return {"generate_s": round(generated, 2), "prepared_s": round(time.perf_counter() - started, 2)}


def measure(home: Path) -> dict[str, Any]:
    import evidently.presets  # noqa: F401

    import segflow.monitoring.drift_evidently  # noqa: F401  (Evidently's import is not the stage's cost)
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings
    from segflow.stages import monitor
    from segflow.storage.db import run_named

    settings, db = open_database(Settings(_env_file=None, home=home))  # type: ignore[call-arg]
    rss_imports = _rss_mb()
    (attempt_id,) = db.run("queries/runs/current_run_summary")[0][:1]
    figures: dict[str, Any] = {"attempt_id": attempt_id, "rss_after_imports_mb": rss_imports}
    try:
        from segflow.monitoring import run_sample
    except ImportError:  # the code before issue 25's sample
        run_sample = None  # type: ignore[assignment]
    if run_sample is not None:
        started = time.perf_counter()
        filled = run_sample.ensure_all(db, settings)
        figures["sample_fill_s"] = round(time.perf_counter() - started, 3)
        figures["samples_filled"] = filled
    started = time.perf_counter()
    results = monitor.check_drift(db, settings, attempt_id)
    figures["drift_check_s"] = round(time.perf_counter() - started, 3)
    figures["drift"] = {r.reference: [r.shares.psi, r.drift_share] for r in results}
    for result in results:
        if result.html_path is not None:
            result.html_path.unlink(missing_ok=True)
    started = time.perf_counter()
    with db.transaction() as cur:
        run_named(cur, "queries/publish/4_segment_summary", {"attempt_id": attempt_id})
    figures["summary_s"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    monitor.segment_report(db, settings, attempt_id)
    figures["segment_report_s"] = round(time.perf_counter() - started, 3)
    figures["monitor_s"] = round(figures["drift_check_s"] + figures["summary_s"] + figures["segment_report_s"], 3)
    figures["rss_peak_mb"] = _rss_mb()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("step", choices=("prepare", "measure"))
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", str(args.home.parent / f"{args.home.name}-xdg"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    figures = prepare(args.home, args.customers) if args.step == "prepare" else measure(args.home)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
