"""What a run's drift is measured against, read from the database: the shares and customers of a reference, the
samples Evidently compares, the customers new since the reference, segment labels and stored reports.

Two references: 'previous', the published run just before it by as-of date, and 'training', the population of
the run the champion was trained in.

Shares are exact, from the counts kept per attempt over all its customers; the frames Evidently compares are the
attempts' stored samples (segflow.monitoring.run_sample), which outlive their per-customer rows. The training
reference counts its run's whole population too. The model's training snapshot holds clustered customers only, so
its shares come from (in this order):
1. the training run's own counts and sample, when they are there as this model scored it: exact;
2. else the training run's counts (segflow.run_attempts): inactive = customers_inactive / customers_known, and the
   model's segment shares (model_segments) scaled to the rest, 1 - inactive ('unscored' customers of that run,
   if any, are spread over the segments: the counts do not hold them);
3. a model with no training run on record (trained_in_attempt empty): nothing says how many of its population
   were inactive, so the comparison is over the model's own segments only (this run's customers in them,
   renormalised), the header says so, and no inactive verdict is given against it (the 'previous' reference
   still gives one).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from psycopg2 import sql

from segflow.modelling.segments import RULE_SEGMENTS, segment_key_order
from segflow.monitoring import drift_page, run_sample
from segflow.monitoring.drift_shares import INACTIVE_KEY, DriftInputInvalid, scaled_training_shares
from segflow.settings import Settings
from segflow.storage.db import Database, read_sql


def _copy_frame(db: Database, statement: sql.Composed) -> pd.DataFrame:
    with db.copy_out(statement) as spool:
        return pd.read_csv(spool, dtype={"customer_id": str, "segment_key": str})


def attempt_sample(
    db: Database,
    settings: Settings,
    attempt_id: int,
    size: int,
    under_model: int | None = None,
    everyone: bool = True,
) -> pd.DataFrame:
    """The first `size` customers of an attempt's stored sample (segflow.monitoring.run_sample; filled now if the
    attempt has none but still has its rows), all of them (inactive and other rule segments
    too) or, with everyone=False, the clustered ones: features and segment (as its own model scored them, or as
    `under_model` re-scored them)."""
    run_sample.ensure(db, settings, attempt_id)
    statement = sql.SQL(read_sql("queries/drift/drift_sample")).format(
        attempt_id=sql.Literal(attempt_id),
        under_model=sql.Literal(under_model),
        limit=sql.Literal(size),
        everyone=sql.Literal(everyone),
    )
    return _copy_frame(db, statement)


def training_sample(db: Database, version: int) -> pd.DataFrame:
    return _copy_frame(
        db, sql.SQL(read_sql("queries/drift/training_snapshot_sample")).format(version=sql.Literal(version))
    )


def reports_for_run(db: Database, run_id: int | None = None) -> list[tuple]:
    """The stored drift reports of a run (default: the run BI reads now): run_id, as_of, reference,
    reference_run, reference_model_version, dataset_drift, drift_share, segment_psi, segment_js, html_path,
    details, compared_under_model."""
    return db.run("queries/drift/drift_reports_for_run", {"run_id": run_id})


def scored_with(db: Database, attempt_id: int) -> int | None:
    """The model version an attempt's assignments come from (None before scoring)."""
    rows = db.run("queries/drift/attempt_scored_with", {"attempt_id": attempt_id})
    return rows[0][0] if rows else None


def segment_labels(db: Database, versions: list[int], keys: list[str]) -> dict[str, str]:
    """'S2 Loyal' per segment key (in key order), named by the newest of the model versions compared."""
    rules = {key: name for key, (name, _) in RULE_SEGMENTS.items()}  # e.g. 'lost' is 'Lost': not a model's segment
    names = rules | dict(db.run("queries/drift/segment_labels", {"versions": versions}))
    return {key: drift_page.segment_label(key, names.get(key, key)) for key in sorted(keys, key=segment_key_order)}


def _shares(rows: list[tuple]) -> dict[str, float]:
    return {key: float(share) for key, _, share in rows}


@dataclass(frozen=True)
class Reference:
    """What a run is compared with: shares of every population, customers counted, the sample for Evidently, the
    attempt whose customers were there 'then' (for new since the reference) and how its shares were counted."""

    shares: dict[str, float]
    customers: int | None
    sample: pd.DataFrame
    customers_of: int | None
    basis: str
    model_only: bool = False  # over the model's own segments only (a model with no training run on record)


def with_inactive_rows(sample: pd.DataFrame, inactive_share: float) -> pd.DataFrame:
    """A training snapshot (clustered customers only) with inactive rows added so that they make `inactive_share`
    of the frame: they carry the segment only, as inactive customers of any run's drift sample do."""
    if not 0 <= inactive_share < 1:
        raise DriftInputInvalid("an inactive share must be in [0, 1) to pad a sample", "", inactive_share)
    count = round(len(sample) * inactive_share / (1 - inactive_share))
    if count == 0:
        return sample
    rows = pd.DataFrame({"customer_id": [f"{INACTIVE_KEY}-{i}" for i in range(count)], "segment_key": INACTIVE_KEY})
    return pd.concat([sample, rows], ignore_index=True)


def counted(
    db: Database, settings: Settings, attempt_id: int, under_model: int | None = None
) -> tuple[dict[str, float], int]:
    """Every population's exact share of an attempt's customers (its counts kept with its sample, or as
    `under_model` re-scored them), and how many."""
    if under_model is None:
        run_sample.ensure(db, settings, attempt_id)
    rows = db.run("queries/drift/segment_shares", {"attempt_id": attempt_id, "under_model": under_model})
    return _shares(rows), sum(int(customers) for _, customers, _ in rows)


def training_reference(db: Database, settings: Settings, version: int) -> Reference:
    """The population model `version` was trained on, every customer counted (the module docstring's order)."""
    found = db.run("queries/drift/training_run_population", {"version": version})
    if found:
        attempt, run, as_of, known, inactive, scored = found[0]
        if scored:
            shares, customers = counted(db, settings, attempt)
            return Reference(
                shares,
                customers,
                attempt_sample(db, settings, attempt, settings.drift_sample),
                attempt,
                f"all {customers:,} customers of run {run} (as of {as_of}), the run it was trained in",
            )
        if known:
            shares = scaled_training_shares(
                _shares(db.run("queries/drift/training_segment_shares", {"version": version})), known, inactive or 0
            )
            return Reference(
                shares,
                known,
                with_inactive_rows(training_sample(db, version), shares.get(INACTIVE_KEY, 0.0)),
                attempt,
                f"the {known:,} customers of run {run} (as of {as_of}), the run it was trained in: "
                f"{inactive or 0:,} inactive, the model's segment shares scaled to the rest",
            )
    return Reference(
        _shares(db.run("queries/drift/training_segment_shares", {"version": version})),
        None,
        training_sample(db, version),
        None,
        f"model v{version} has no training run on record: compared over its own segments only (this run's "
        "customers in them); inactive is not compared against it",
        model_only=True,
    )


def previous_reference(
    db: Database, settings: Settings, reference_attempt: int, under_model: int | None = None
) -> Reference:
    """The published run before: its shares and customers (as `under_model` re-scored them, when given)."""
    shares, customers = counted(db, settings, reference_attempt, under_model)
    sample = attempt_sample(db, settings, reference_attempt, settings.drift_sample, under_model)
    return Reference(shares, customers, sample, reference_attempt, "")


def new_since(db: Database, attempt_id: int, reference_attempt: int | None) -> int | None:
    """Customers of an attempt who were not customers of the reference attempt (None when that is not known)."""
    if reference_attempt is None:
        return None
    (count,) = db.run(
        "queries/drift/new_since_reference", {"attempt_id": attempt_id, "reference_attempt": reference_attempt}
    )[0]
    return None if count is None else int(count)
