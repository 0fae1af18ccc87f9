"""Training time of model selection with each choice of algorithms (issue 12: is spectral cheap enough?).

Run by hand (it is not a test) on a home with at least one run, e.g. after `segflow generate --customers 100000`
and `segflow run`:

    python benchmarks/bench_training.py --home /tmp/model-options-home --repeats 2

It reads the newest run's training sample once (the same customers the train stage uses), then times
`select_model` in this process for each algorithm list, PCA off and on; the database is not involved in the timing.
Printed: median wall and CPU seconds (CPU time is steadier on a shared machine), the winner, its silhouette.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="a SEGFLOW_HOME with at least one run")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from segflow.data import features as feature_store
    from segflow.modelling.algorithms import DEFAULT_ALGORITHMS
    from segflow.modelling.selection import select_model
    from segflow.orchestration.runs import current_run
    from segflow.orchestration.runtime import open_database
    from segflow.settings import Settings

    settings, db = open_database(Settings(_env_file=None, home=args.home))  # type: ignore[call-arg]
    current = current_run(db)
    if current is None:
        raise SystemExit(f"no published run in {args.home}: run `segflow run` there first")
    attempt_id = current[0]
    names = ("recency_days", "frequency", "monetary")
    sample = feature_store.training_sample(
        db, attempt_id, feature_store.FeatureSet(names), settings.max_train_customers, settings.seed
    )
    print(f"training sample: {len(sample):,} customers of attempt {attempt_id}")
    cases = [
        ("default", DEFAULT_ALGORITHMS, 0.0),
        ("default + spectral", (*DEFAULT_ALGORITHMS, "spectral"), 0.0),
        ("spectral only", ("spectral",), 0.0),
        ("default, PCA 0.95", DEFAULT_ALGORITHMS, 0.95),
    ]
    for label, algorithms, pca in cases:
        seconds, cpu_seconds = [], []
        for _ in range(args.repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            selection = select_model(sample, list(names), seed=settings.seed, algorithms=algorithms, pca_components=pca)
            seconds.append(time.perf_counter() - started)
            cpu_seconds.append(time.process_time() - cpu_started)
        chosen = selection.chosen
        print(
            f"{label:<22} {statistics.median(seconds):7.1f} s wall {statistics.median(cpu_seconds):7.1f} s CPU   "
            f"winner {chosen.algorithm} k={chosen.k} silhouette {chosen.metrics['silhouette']:.3f}   "
            f"candidates {len(selection.candidates)}"
        )


if __name__ == "__main__":
    main()
