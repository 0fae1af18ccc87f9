"""Score a run's customers with its model and write their assignments back."""

from __future__ import annotations

import time
from typing import NamedTuple

from psycopg2 import sql

from segflow.data import features as feature_store
from segflow.modelling.scoring import Scorer, copy_assignments
from segflow.modelling.segments import INACTIVE, MEMBER_TOLERANCE, NAMES, RETURNED_ALL, UNSCORED
from segflow.monitoring import run_sample
from segflow.orchestration.partitions import Partition, partitions_of
from segflow.orchestration.runs import NoModelVersion, record_stage_seconds, run_info
from segflow.settings import Settings
from segflow.storage import attempt_tables
from segflow.storage.db import SCHEMA, Database, run_composed_named


class Scored(NamedTuple):
    """How many customers the model scored (rule segments aside), and which model version."""

    customers: int
    model_version: int


def score(db: Database, settings: Settings, attempt_id: int) -> Scored:
    """Every partition of the run's assignments, then the run's figures (a runner without fan-out)."""
    started = time.perf_counter()
    for part in partitions_of(settings):
        score_partition(db, settings, attempt_id, part)
    return finish(db, settings, attempt_id, time.perf_counter() - started)


def score_partition(db: Database, settings: Settings, attempt_id: int, partition: Partition) -> dict[str, object]:
    """Assign the run's customers of one partition a segment with the run's model, streaming features out and
    assignments in by COPY into the attempt's own table (attached by `finish`), in one transaction that first deletes
    the partition's earlier rows: a partition run again (a retry, a worker lost mid-write, a newly trained model)
    replaces its rows, never adds to them."""
    info = run_info(db, attempt_id)
    if info.model_version is None:
        raise NoModelVersion(attempt_id)
    started = time.perf_counter()
    # The model's cut points (else this run's own), so scores mean the same in every run it scores.
    scorer = Scorer.load(db, info.model_version, fallback_cut_points=info.rfm_cut_points)
    feature_set = feature_store.FeatureSet(tuple(scorer.features))
    scope = {"attempt_id": attempt_id, **partition.params()}
    table = attempt_tables.prepare(db, "segment_assignments", attempt_id)
    target = sql.Identifier(SCHEMA, table)
    with db.transaction() as cur:
        run_composed_named(cur, "queries/score/delete_run_assignments", scope, target=target)
        chunks = feature_store.export_features(
            db, attempt_id, feature_set, chunk_rows=settings.score_chunk_rows, partition=partition
        )
        scored = copy_assignments(cur, scorer, attempt_id, chunks, table=table)
        run_composed_named(
            cur,
            "queries/score/assign_rule_segments",
            {
                **scope,
                "model_version": info.model_version,
                "uses_transactions": feature_store.FeatureSet(tuple(info.features)).uses_transactions,
                "inactive_key": INACTIVE[0],
                "inactive_name": INACTIVE[1],
                "inactive_action": INACTIVE[2],
                "unscored_key": UNSCORED[0],
                "unscored_name": UNSCORED[1],
                "unscored_action": UNSCORED[2],
            },
            complete=feature_store.completeness(feature_set),
            target=target,
        )
    return {
        "partition": str(partition),
        "customers": scored,
        "model_version": info.model_version,
        "seconds": round(time.perf_counter() - started, 3),
    }


def record_member_names(db: Database, attempt_id: int) -> tuple[int, int, int]:
    """Store with the attempt how many members moved to a name that fits them, how many returned everything, and how
    many still carry a name their own scores contradict (0 unless rows were written another way)."""
    prototypes = [prototype for prototype, _ in NAMES.values()]
    moved, returned_all, contradictions = db.run(
        "queries/score/record_member_names",
        {
            "attempt_id": attempt_id,
            "names": list(NAMES),
            "r": [p[0] for p in prototypes],
            "f": [p[1] for p in prototypes],
            "m": [p[2] for p in prototypes],
            "tolerance": MEMBER_TOLERANCE,
            "returned_all_key": RETURNED_ALL[0],
        },
    )[0]
    return moved, returned_all, contradictions


def finish(db: Database, settings: Settings, attempt_id: int, partitions_seconds: float) -> Scored:
    """After every partition: the attempt's table indexed, attached and analyzed, the run's counts per segment and its
    drift sample (segflow.monitoring.run_sample, timed as 'sample'), the score stage's seconds (the partitions' wall
    time plus the rest), and how many customers the model scored."""
    started = time.perf_counter()
    info = run_info(db, attempt_id)
    if info.model_version is None:
        raise NoModelVersion(attempt_id)
    attempt_tables.attach(db, "segment_assignments", attempt_id)
    scored = db.run("queries/score/model_scored", {"attempt_id": attempt_id})[0][0]
    record_member_names(db, attempt_id)
    sampling = time.perf_counter()
    run_sample.fill_for_run(db, settings, attempt_id)
    record_stage_seconds(db, attempt_id, "sample", time.perf_counter() - sampling)
    record_stage_seconds(db, attempt_id, "score", partitions_seconds + sampling - started)
    return Scored(scored, info.model_version)
